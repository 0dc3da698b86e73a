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
