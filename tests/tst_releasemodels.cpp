// The canary panel's models: the gates of the current stage and the release's events. Each is
// checked by QAbstractItemModelTester while it loads and refreshes, and compared as text.

#include "gatemodel.h"
#include "modeldump.h"
#include "releaseeventmodel.h"

#include <QAbstractItemModelTester>
#include <QSignalSpy>
#include <QTest>

using namespace sb;
using namespace std::chrono_literals;

namespace {

const TimePoint t0 = fromMSecsSinceEpoch(1'767'603'600'000); // 2026-01-05 09:00 UTC

CanaryPlan plan()
{
    CanaryPlan p;
    p.name = QStringLiteral("test");
    for (const GateSpec &gate : builtInGates())
        p.gates.insert(gate.name, gate);
    p.gates.insert(builtInJudgeName, builtInJudge());
    p.stages = {{5, 10min, {QStringLiteral("error-rate"), QStringLiteral("p99-latency")}, false},
                {100, 0min, {}, false}};
    return p;
}

CanaryStatus status()
{
    CanaryStatus s;
    s.id = QStringLiteral("web/production:2.4.0@20260105T090000Z");
    s.stableVersion = QStringLiteral("2.3.1");
    s.canaryVersion = QStringLiteral("2.4.0");
    s.gates = {GateState{QStringLiteral("error-rate"), 0, 0, std::nullopt},
               GateState{QStringLiteral("p99-latency"), 0, 0, std::nullopt}};
    return s;
}

Measurement measured(Verdict verdict, double canary, double baseline, double limit, const char *why)
{
    Measurement m;
    m.at = t0 + 1min;
    m.verdict = verdict;
    m.canary = canary;
    m.baseline = baseline;
    m.limit = limit;
    m.why = QString::fromUtf8(why);
    return m;
}

// A sequential gate's evidence over `intervals` intervals of 100 requests, 5 of them the
// canary's: the baseline errs once every other interval and the canary once in forty, as
// often per request; every interval has one slow baseline request, and every `slowEvery`-th
// one a slow canary request.
SequentialGateState judgeEvidence(int intervals, int slowEvery)
{
    SequentialGateState judge;
    judge.evidence
        = startJudge(SequentialSettings(), {CountedEvent::Errors, CountedEvent::SlowRequests});
    for (int i = 0; i < intervals; ++i) {
        addInterval(judge.evidence, CountedEvent::Errors, {95, i % 2}, {5, i % 40 == 0 ? 1 : 0});
        addInterval(judge.evidence, CountedEvent::SlowRequests, {95, 1},
                    {5, i % slowEvery == 0 ? 1 : 0});
    }
    judge.slowerThanMs = 250;
    return judge;
}

// One row's texts, as dumpModel() writes them.
QString rowText(const QAbstractItemModel &model, int row)
{
    QStringList cells;
    for (int column = 0; column < model.columnCount(); ++column)
        cells << model.index(row, column).data().toString();
    return cells.join(QStringLiteral(" | "));
}

ReleaseEvent makeEvent(ReleaseEvent::Kind kind, int minute, const char *reason)
{
    ReleaseEvent e;
    e.at = t0 + std::chrono::minutes(minute);
    e.actor = QStringLiteral("signalbox");
    e.kind = kind;
    e.reason = QString::fromUtf8(reason);
    return e;
}

} // namespace

class TestReleaseModels : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void gatesRefreshInPlaceWithinAStage();
    void aSequentialGateShowsItsJudge();
    void aSequentialGateBeforeItsFirstLook();
    void eventsArriveNewestFirst();
};

void TestReleaseModels::gatesRefreshInPlaceWithinAStage()
{
    GateModel model;
    QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
    CanaryStatus s = status();
    model.setRelease(plan(), s);
    QCOMPARE(dumpModel(model),
             QStringLiteral("Metric | Canary | Baseline | Bound | Verdict | Why\n"
                            "Error rate | — | — | ≤ 1.5 × baseline + 0.10 pt | Not measured | "
                            "first measurement 1 min after the weight is set\n"
                            "p99 latency | — | — | ≤ 1.2 × baseline + 25 ms | Not measured | "
                            "first measurement 1 min after the weight is set"));

    // A measurement changes cells, never the rows.
    QSignalSpy resets(&model, &QAbstractItemModel::modelReset);
    QSignalSpy changes(&model, &QAbstractItemModel::dataChanged);
    s.gates[0]
        = {QStringLiteral("error-rate"), 1, 1,
           measured(Verdict::Fail, 0.006, 0.002, 0.004, "0.60 % > 0.40 % (baseline 0.20 %)")};
    s.gates[1] = {QStringLiteral("p99-latency"), 1, 0,
                  measured(Verdict::Pass, 230, 210, 277, "230 ms ≤ 277 ms (baseline 210 ms)")};
    model.setRelease(plan(), s);
    QCOMPARE(resets.size(), 0);
    QVERIFY(!changes.isEmpty());
    QCOMPARE(dumpModel(model),
             QStringLiteral("Metric | Canary | Baseline | Bound | Verdict | Why\n"
                            "Error rate | 0.60 % | 0.20 % | ≤ 1.5 × baseline + 0.10 pt | "
                            "Fail · 1/3 | 0.60 % > 0.40 % (baseline 0.20 %)\n"
                            "p99 latency | 230 ms | 210 ms | ≤ 1.2 × baseline + 25 ms | Pass | "
                            "230 ms ≤ 277 ms (baseline 210 ms)"));
    QCOMPARE(model.index(0, 0).data(GateModel::VerdictRole).toInt(), int(Verdict::Fail));
    QCOMPARE(model.index(1, 0).data(GateModel::GateRole).toString(), QStringLiteral("p99-latency"));
    QVERIFY(!model.index(0, 0).data(Qt::ToolTipRole).toString().isEmpty());

    // The next stage has other gates: a reset.
    s.stage = 1;
    s.gates.clear();
    model.setRelease(plan(), s);
    QCOMPARE(resets.size(), 1);
    QCOMPARE(model.rowCount(), 0);
}

void TestReleaseModels::aSequentialGateShowsItsJudge()
{
    GateModel model;
    QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
    CanaryPlan p = plan();
    p.stages[0].gates = {QStringLiteral("error-rate"), QStringLiteral("judge")};
    CanaryStatus s = status();
    s.gates[1].gate = QStringLiteral("judge");
    s.gates[0]
        = {QStringLiteral("error-rate"), 1, 0,
           measured(Verdict::Pass, 0.002, 0.002, 0.003, "0.20 % ≤ 0.30 % (baseline 0.20 %)")};
    // Healthy errors; slow canary requests as often as the baseline's (one in 95), then twice
    // as often.
    s.judges.insert(QStringLiteral("judge"), judgeEvidence(300, 19));
    const JudgeReading healthy = readJudge(s.judges.value(QStringLiteral("judge")).evidence, 0.05);
    model.setRelease(p, s);

    // The threshold gate reads as it always did; the judge's row has its intervals for k
    // where the arms' values go, a line per counted event, and what the bounds on k mean.
    QCOMPARE(dumpModel(model),
             QStringLiteral("Metric | Canary | Baseline | Bound | Verdict | Why\n"
                            "Error rate | 0.20 % | 0.20 % | ≤ 1.5 × baseline + 0.10 pt | Pass | "
                            "0.20 % ≤ 0.30 % (baseline 0.20 %)\n"
                            "judge | errors k 0.27–2.5\nslow k 0.4–2.0 |  | regression if k > 1\n"
                            "safe if k < 2, α 5 % | no evidence yet | reads every metrics "
                            "interval once the weight is set"));
    QCOMPARE(model.index(1, GateModel::VerdictColumn).data(GateModel::VerdictRole).toInt(),
             int(Verdict::Inconclusive));
    QCOMPARE(model.index(1, GateModel::CanaryColumn).data(Qt::TextAlignmentRole).toInt(),
             int(Qt::AlignLeft | Qt::AlignVCenter));
    QVERIFY(!model.index(0, 0).data(GateModel::JudgeRole).isValid());
    const auto judge = model.index(1, 0).data(GateModel::JudgeRole).value<GateModel::Judge>();
    QCOMPARE(judge.gate, QStringLiteral("judge"));
    QCOMPARE(judge.slowerThanMs, std::optional<double>(250));
    QCOMPARE(judge.reading.events.size(), 2);
    QCOMPARE(judge.reading.events.at(1).ratio, healthy.events.at(1).ratio);
    // The tooltip has the test in words, every figure of the reading and the slow threshold.
    const QString tip = model.index(1, GateModel::BoundColumn).data(Qt::ToolTipRole).toString();
    QVERIFY2(tip.startsWith(QStringLiteral("Gate judge: a sequential test of errors and slow "
                                           "requests")),
             qPrintable(tip));
    for (const EventReading &event : healthy.events)
        QVERIFY2(tip.contains(describe(event)), qPrintable(tip));
    QVERIFY2(tip.endsWith(QStringLiteral("\nslow: slower than 250 ms")), qPrintable(tip));

    // With enough requests seen at this stage, "no evidence yet" passes the stage at the end of
    // its bake, and the row says so; "safe to promote" stands once the engine announced it.
    s.gates[1].last = measured(Verdict::Pass, 0, 0, 0, "errors: no evidence yet");
    model.setRelease(p, s);
    QCOMPARE(model.index(1, GateModel::VerdictColumn).data().toString(),
             QStringLiteral("no evidence yet\npasses"));
    s.judges[QStringLiteral("judge")].decision = JudgeDecision::Promote;
    model.setRelease(p, s);
    QCOMPARE(model.index(1, GateModel::VerdictColumn).data().toString(),
             QStringLiteral("safe to promote"));
    s.gates[1].last.reset();
    s.judges[QStringLiteral("judge")].decision = JudgeDecision::Continue;
    model.setRelease(p, s);

    // The canary's slow requests double: a regression, refreshed in place.
    QSignalSpy resets(&model, &QAbstractItemModel::modelReset);
    QSignalSpy changes(&model, &QAbstractItemModel::dataChanged);
    s.judges.insert(QStringLiteral("judge"), judgeEvidence(600, 10));
    const JudgeReading regressed
        = readJudge(s.judges.value(QStringLiteral("judge")).evidence, 0.05);
    Measurement failed;
    failed.at = t0 + 10min;
    failed.verdict = Verdict::Fail;
    failed.why = describe(regressed);
    s.gates[1] = {QStringLiteral("judge"), 1, 1, failed};
    model.setRelease(p, s);
    QCOMPARE(resets.size(), 0);
    QVERIFY(!changes.isEmpty());
    QCOMPARE(rowText(model, 1),
             QStringLiteral("judge | errors k 0.36–2.0\nslow k 1.1–3.0 |  | regression if k > 1\n"
                            "safe if k < 2, α 5 % | regression | ")
                 + failed.why);
    QCOMPARE(model.index(1, 0).data(GateModel::VerdictRole).toInt(), int(Verdict::Fail));
    // The why column's tooltip is the engine's whole sentence, as for every gate.
    QCOMPARE(model.index(1, GateModel::WhyColumn).data(Qt::ToolTipRole).toString(), failed.why);
}

void TestReleaseModels::aSequentialGateBeforeItsFirstLook()
{
    // A judge that has read nothing yet, counting errors only, with its own bounds.
    GateModel model;
    QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
    CanaryPlan p = plan();
    GateSpec gate = p.gates.value(QStringLiteral("judge"));
    gate.name = QStringLiteral("errors-judge");
    gate.sequential.settings = {0.01, 1.2, 3};
    gate.sequential.counts = {CountedEvent::Errors};
    gate.origin = QStringLiteral("signalbox.yaml:40");
    p.gates.insert(gate.name, gate);
    p.stages[0].gates = {gate.name};
    CanaryStatus s = status();
    s.gates = {GateState{gate.name, 0, 0, std::nullopt}};
    model.setRelease(p, s);
    QCOMPARE(dumpModel(model),
             QStringLiteral("Metric | Canary | Baseline | Bound | Verdict | Why\n"
                            "errors-judge | errors k unbounded |  | regression if k > 1.2\nsafe if "
                            "k < 3, α 1 % | no evidence yet | reads every metrics interval once "
                            "the weight is set"));
    const QString tip = model.index(0, 0).data(Qt::ToolTipRole).toString();
    QVERIFY2(tip.contains(QStringLiteral("a probability of at most 1 % over the release")),
             qPrintable(tip));
    QVERIFY2(tip.contains(QStringLiteral("(signalbox.yaml:40)")), qPrintable(tip));
    QVERIFY2(!tip.contains(QStringLiteral("slow")), qPrintable(tip));

    // Slow requests before the threshold is fixed: the tooltip says where it will come from.
    s.gates = {GateState{QStringLiteral("judge"), 0, 0, std::nullopt}};
    p.stages[0].gates = {QStringLiteral("judge")};
    s.judges.insert(
        QStringLiteral("judge"),
        {startJudge(SequentialSettings(), {CountedEvent::Errors, CountedEvent::SlowRequests}),
         std::nullopt, std::nullopt, JudgeDecision::Continue});
    s.id += QStringLiteral("-retry");
    model.setRelease(p, s);
    QCOMPARE(model.index(0, GateModel::CanaryColumn).data().toString(),
             QStringLiteral("errors k unbounded\nslow k unbounded"));
    QVERIFY2(
        model.index(0, 0)
            .data(Qt::ToolTipRole)
            .toString()
            .endsWith(QStringLiteral("slow: slower than the baseline's p99 in the first interval "
                                     "with enough baseline requests, once there is one")),
        qPrintable(model.index(0, 0).data(Qt::ToolTipRole).toString()));
}

void TestReleaseModels::eventsArriveNewestFirst()
{
    ReleaseEventModel model;
    QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
    QList<ReleaseEvent> events{makeEvent(ReleaseEvent::Kind::Started, 0, "canary of 2.4.0"),
                               makeEvent(ReleaseEvent::Kind::WeightSet, 1, "5 % of traffic")};
    model.setEvents(QStringLiteral("a"), events);
    QSignalSpy resets(&model, &QAbstractItemModel::modelReset);
    QSignalSpy inserts(&model, &QAbstractItemModel::rowsInserted);
    events.append(makeEvent(ReleaseEvent::Kind::Aborted, 4, "gate error-rate failed"));
    model.setEvents(QStringLiteral("a"), events);
    QCOMPARE(resets.size(), 0);
    QCOMPARE(inserts.size(), 1);
    QCOMPARE(dumpModel(model),
             QStringLiteral("Time (UTC) | Who | What | Details\n"
                            "09:04:00 | signalbox | Aborted | gate error-rate failed\n"
                            "09:01:00 | signalbox | Weight set | 5 % of traffic\n"
                            "09:00:00 | signalbox | Started | canary of 2.4.0"));
    // Another release starts afresh.
    model.setEvents(QStringLiteral("b"), {events.first()});
    QCOMPARE(resets.size(), 1);
    QCOMPARE(model.rowCount(), 1);
}

QTEST_GUILESS_MAIN(TestReleaseModels)
#include "tst_releasemodels.moc"
