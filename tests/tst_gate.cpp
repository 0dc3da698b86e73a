// Gate bounds as written in a workspace, the verdict of one measurement, gate methods, and the
// rules a canary plan's stages and gates follow.

#include "canaryplan.h"
#include "gate.h"

#include <QTest>

using namespace sb;

Q_DECLARE_METATYPE(sb::MetricUnit)
Q_DECLARE_METATYPE(sb::Verdict)
Q_DECLARE_METATYPE(sb::GateSpec)
Q_DECLARE_METATYPE(sb::MetricsSnapshot)
Q_DECLARE_METATYPE(QList<QStringList>)

namespace {

const QString canaryVersion = QStringLiteral("2.4.0");
const QString stableVersion = QStringLiteral("2.3.1");

MetricDefinition metric(const char *name)
{
    return *findMetric(builtInMetrics(), QString::fromLatin1(name));
}

GateSpec gate(const char *metricName, const char *bound, qint64 minRequests = 100)
{
    GateSpec spec;
    spec.name = QStringLiteral("g");
    spec.metric = metric(metricName);
    spec.bound = std::get<GateBound>(parseGateBound(QString::fromLatin1(bound), spec.metric.unit));
    spec.minRequests = minRequests;
    return spec;
}

VersionMetrics version(const QString &name, qint64 requests, double errorRatio, double p99Ms)
{
    VersionMetrics m;
    m.version = name;
    m.requests = requests;
    m.requestsPerSecond = double(requests) / 60;
    m.errorRatio = errorRatio;
    m.p50Ms = p99Ms / 4;
    m.p99Ms = p99Ms;
    return m;
}

MetricsSnapshot snapshot(QList<VersionMetrics> versions)
{
    MetricsSnapshot s;
    s.interval = std::chrono::minutes(1);
    s.versions = std::move(versions);
    return s;
}

// Counted events by name, for QCOMPARE.
QStringList countNames(const QList<CountedEvent> &counts)
{
    QStringList names;
    for (CountedEvent event : counts)
        names.append(toString(event));
    return names;
}

} // namespace

class TestGate : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void parsesBounds_data();
    void parsesBounds();
    void rejectsBadBounds_data();
    void rejectsBadBounds();
    void verdicts_data();
    void verdicts();
    void describesBounds();
    void missingValuesAreNoDataNotZero();
    void planRules_data();
    void planRules();
    void playbookPlanAddsGatesByGroup();
    void gateMethodsByName();
    void theBuiltInJudge();
    void sequentialGatesInPlans_data();
    void sequentialGatesInPlans();
    void worstCaseLeavesSequentialGatesOut();
    void canaryInstancesRoundUp_data();
    void canaryInstancesRoundUp();
};

void TestGate::parsesBounds_data()
{
    QTest::addColumn<QString>("text");
    QTest::addColumn<MetricUnit>("unit");
    QTest::addColumn<int>("comparison");
    QTest::addColumn<bool>("relative");
    QTest::addColumn<double>("factor");
    QTest::addColumn<double>("offset");

    using C = GateBound::Comparison;
    auto row = [](const char *name, const char *text, MetricUnit unit, C comparison, bool relative,
                  double factor, double offset) {
        QTest::newRow(name) << QString::fromUtf8(text) << unit << int(comparison) << relative
                            << factor << offset;
    };
    row("absolute latency in ms", "< 400ms", MetricUnit::Milliseconds, C::Below, false, 1, 400);
    row("absolute latency in s", "<= 0.4s", MetricUnit::Milliseconds, C::AtMost, false, 1, 400);
    row("bare number is ms", "<400", MetricUnit::Milliseconds, C::Below, false, 1, 400);
    row("ratio as percent", "<= 2%", MetricUnit::Ratio, C::AtMost, false, 1, 0.02);
    row("ratio as fraction", "<= 0.02", MetricUnit::Ratio, C::AtMost, false, 1, 0.02);
    row("relative with points", "<= 1.5 x baseline + 0.1%", MetricUnit::Ratio, C::AtMost, true, 1.5,
        0.001);
    row("relative with star", "<=1.5*baseline+0.1%", MetricUnit::Ratio, C::AtMost, true, 1.5,
        0.001);
    row("relative with times sign", "≤ 1.2 × baseline + 25ms", MetricUnit::Milliseconds, C::AtMost,
        true, 1.2, 25);
    row("bare baseline", ">= baseline", MetricUnit::Number, C::AtLeast, true, 1, 0);
    row("minus offset", ">= 0.9 x baseline - 0.5%", MetricUnit::Ratio, C::AtLeast, true, 0.9,
        -0.005);
    row("megabytes", "<= 1.25 x baseline + 1GB", MetricUnit::Megabytes, C::AtMost, true, 1.25,
        1024);
    row("above", "> 10", MetricUnit::PerSecond, C::Above, false, 1, 10);
    row("surrounding space", "  <  400ms  ", MetricUnit::Milliseconds, C::Below, false, 1, 400);
}

void TestGate::parsesBounds()
{
    QFETCH(QString, text);
    QFETCH(MetricUnit, unit);
    const auto parsed = parseGateBound(text, unit);
    if (const auto *error = std::get_if<BoundError>(&parsed))
        QFAIL(qPrintable(error->message));
    const GateBound bound = std::get<GateBound>(parsed);
    QTEST(int(bound.comparison), "comparison");
    QTEST(bound.relative, "relative");
    QFETCH(double, factor);
    QFETCH(double, offset);
    if (bound.relative)
        QCOMPARE(bound.factor, factor);
    QVERIFY2(qFuzzyCompare(1 + bound.offset, 1 + offset),
             qPrintable(QString::number(bound.offset)));
    QCOMPARE(bound.text, text.trimmed());
}

void TestGate::rejectsBadBounds_data()
{
    QTest::addColumn<QString>("text");
    QTest::addColumn<MetricUnit>("unit");
    QTest::addColumn<int>("offset");
    QTest::addColumn<QString>("message");

    auto row
        = [](const char *name, const char *text, MetricUnit unit, int offset, const char *message) {
              QTest::newRow(name) << QString::fromUtf8(text) << unit << offset
                                  << QString::fromUtf8(message);
          };
    row("no comparison", "400ms", MetricUnit::Milliseconds, 0, "starts with <, <=, > or >=");
    row("empty", "", MetricUnit::Milliseconds, 0, "starts with");
    row("nothing after comparison", "<=", MetricUnit::Milliseconds, 2, "expected a number");
    row("unit of another metric", "< 400MB", MetricUnit::Milliseconds, 5,
        "'MB' is not a unit of this metric; write a latency");
    row("ratio above 100%", "< 120%", MetricUnit::Ratio, 2, "at most 100%");
    row("factor without baseline", "<= 1.5 x", MetricUnit::Ratio, 8, "expected 'baseline'");
    row("zero factor", "<= 0 x baseline", MetricUnit::Ratio, 3, "must be above 0");
    row("garbage after baseline", "<= baseline * 2", MetricUnit::Ratio, 12, "'+ amount'");
    row("missing amount", "<= baseline +", MetricUnit::Ratio, 13, "expected an amount");
    row("trailing words", "< 400ms please", MetricUnit::Milliseconds, 8, "unexpected 'please'");
    row("unit on a plain number metric", "< 5 things", MetricUnit::Number, 4,
        "'things' is not a unit");
}

void TestGate::rejectsBadBounds()
{
    QFETCH(QString, text);
    QFETCH(MetricUnit, unit);
    QFETCH(int, offset);
    QFETCH(QString, message);
    const auto parsed = parseGateBound(text, unit);
    QVERIFY(std::holds_alternative<BoundError>(parsed));
    const BoundError error = std::get<BoundError>(parsed);
    QVERIFY2(error.message.contains(message), qPrintable(error.message));
    QCOMPARE(int(error.offset), offset);
}

void TestGate::verdicts_data()
{
    QTest::addColumn<GateSpec>("spec");
    QTest::addColumn<MetricsSnapshot>("metrics");
    QTest::addColumn<Verdict>("verdict");
    QTest::addColumn<QString>("why");

    const GateSpec errors = gate("error_rate", "<= 1.5 x baseline + 0.1%", 200);
    const GateSpec latency = gate("p99_latency", "< 400ms", 200);

    QTest::newRow("relative pass")
        << errors
        << snapshot(
               {version(stableVersion, 5000, 0.002, 210), version(canaryVersion, 500, 0.004, 230)})
        << Verdict::Pass << QStringLiteral("0.40 % ≤ 0.40 % (baseline 0.20 %)");
    QTest::newRow("relative fail")
        << errors
        << snapshot(
               {version(stableVersion, 5000, 0.002, 210), version(canaryVersion, 500, 0.006, 230)})
        << Verdict::Fail << QStringLiteral("0.60 % > 0.40 % (baseline 0.20 %)");
    QTest::newRow("absolute pass") << latency
                                   << snapshot({version(stableVersion, 5000, 0.002, 210),
                                                version(canaryVersion, 500, 0.002, 399)})
                                   << Verdict::Pass << QStringLiteral("399 ms < 400 ms");
    QTest::newRow("absolute fail at the bound itself")
        << latency
        << snapshot(
               {version(stableVersion, 5000, 0.002, 210), version(canaryVersion, 500, 0.002, 400)})
        << Verdict::Fail << QStringLiteral("400 ms ≥ 400 ms");
    QTest::newRow("too few canary requests")
        << errors
        << snapshot(
               {version(stableVersion, 5000, 0.002, 210), version(canaryVersion, 199, 0.5, 230)})
        << Verdict::Inconclusive << QStringLiteral("canary served 199 requests, needs 200");
    QTest::newRow("too few baseline requests for a relative bound")
        << errors
        << snapshot(
               {version(stableVersion, 150, 0.002, 210), version(canaryVersion, 500, 0.5, 230)})
        << Verdict::Inconclusive << QStringLiteral("baseline served 150 requests, needs 200");
    QTest::newRow("absolute bound needs no baseline")
        << latency << snapshot({version(canaryVersion, 500, 0.002, 230)}) << Verdict::Pass
        << QStringLiteral("230 ms < 400 ms");
    QTest::newRow("canary missing")
        << errors << snapshot({version(stableVersion, 5000, 0.002, 210)}) << Verdict::Inconclusive
        << QStringLiteral("no data for canary 2.4.0");
    QTest::newRow("baseline missing")
        << errors << snapshot({version(canaryVersion, 500, 0.002, 230)}) << Verdict::Inconclusive
        << QStringLiteral("no data for baseline 2.3.1");
    QTest::newRow("custom metric not reported")
        << gate("cpu", "<= 1.3 x baseline + 0.05")
        << snapshot(
               {version(stableVersion, 5000, 0.002, 210), version(canaryVersion, 500, 0.002, 230)})
        << Verdict::Inconclusive << QStringLiteral("canary 2.4.0 reported no cpu per instance");
}

void TestGate::verdicts()
{
    QFETCH(GateSpec, spec);
    QFETCH(MetricsSnapshot, metrics);
    const Measurement m = measureGate(spec, metrics, canaryVersion, stableVersion, TimePoint());
    QFETCH(Verdict, verdict);
    QCOMPARE(toString(m.verdict), toString(verdict));
    QTEST(m.why, "why");
}

void TestGate::describesBounds()
{
    QCOMPARE(describeBound(gate("error_rate", "<= 1.5 x baseline + 0.1%").bound, MetricUnit::Ratio),
             QStringLiteral("≤ 1.5 × baseline + 0.10 pt"));
    QCOMPARE(describeBound(gate("p99_latency", "< 0.4s").bound, MetricUnit::Milliseconds),
             QStringLiteral("< 400 ms"));
    QCOMPARE(
        describeBound(gate("p99_latency", ">= baseline - 5ms").bound, MetricUnit::Milliseconds),
        QStringLiteral("≥ baseline − 5.0 ms"));
}

void TestGate::missingValuesAreNoDataNotZero()
{
    const GateSpec spec = gate("error_rate", "<= 1%");
    Measurement m = measureGate(spec, std::nullopt, canaryVersion, stableVersion, TimePoint(),
                                QStringLiteral("metrics backend refused the connection"));
    QCOMPARE(toString(m.verdict), toString(Verdict::Inconclusive));
    QCOMPARE(m.why, QStringLiteral("no metrics: metrics backend refused the connection"));
    QVERIFY(!m.canary);

    // A version that served nothing has no error rate and no latency, rather than 0.
    VersionMetrics idle = version(canaryVersion, 0, 0, 0);
    QVERIFY(!metricValue(idle, QStringLiteral("error_rate")));
    QVERIFY(!metricValue(idle, QStringLiteral("p99_latency")));
    idle.custom.insert(QStringLiteral("cpu"), std::nan(""));
    QVERIFY(!metricValue(idle, QStringLiteral("cpu")));
}

void TestGate::planRules_data()
{
    QTest::addColumn<QList<double>>("weights");
    QTest::addColumn<bool>("gated");
    QTest::addColumn<int>("stage");
    QTest::addColumn<QString>("problem");

    QTest::newRow("playbook weights")
        << QList<double>{1, 5, 25, 50, 100} << true << -1 << QString();
    QTest::newRow("weights do not increase")
        << QList<double>{1, 25, 5, 100} << true << 2
        << QStringLiteral("stage 3 weight 5 does not increase on stage 2's 25");
    QTest::newRow("repeated weight")
        << QList<double>{5, 5, 100} << true << 1 << QStringLiteral("does not increase");
    QTest::newRow("weight above 100") << QList<double>{5, 120} << true << 1
                                      << QStringLiteral("stage 2 weight 120 is outside 0-100");
    QTest::newRow("weight 0") << QList<double>{0, 100} << true << 0
                              << QStringLiteral("stage 1 weight 0 is outside 0-100");
    QTest::newRow("negative weight")
        << QList<double>{-5, 100} << true << 0 << QStringLiteral("outside 0-100");
    QTest::newRow("does not end at 100")
        << QList<double>{1, 50} << true << 1 << QStringLiteral("must send 100 %");
    QTest::newRow("stage without gates")
        << QList<double>{1, 100} << false << 0 << QStringLiteral("has no gates");
    QTest::newRow("no stages") << QList<double>{} << true << -1 << QStringLiteral("has no stages");
}

void TestGate::planRules()
{
    QFETCH(QList<double>, weights);
    QFETCH(bool, gated);
    CanaryPlan plan;
    plan.name = QStringLiteral("p");
    const GateSpec errors = gate("error_rate", "<= 1%");
    plan.gates.insert(errors.name, errors);
    for (double weight : weights)
        plan.stages.append({weight, std::chrono::minutes(1),
                            gated ? QStringList{errors.name} : QStringList{}, false});
    int stage = -2;
    const QString found = checkPlan(plan, &stage);
    QFETCH(QString, problem);
    if (problem.isEmpty()) {
        QCOMPARE(found, QString());
    } else {
        QVERIFY2(found.contains(problem), qPrintable(found));
        QTEST(stage, "stage");
    }
}

void TestGate::playbookPlanAddsGatesByGroup()
{
    GateSpec orders = gate("error_rate", "<= 1%");
    orders.name = QStringLiteral("orders");
    orders.metric = {QStringLiteral("orders_per_request"),
                     QStringLiteral("Orders per request"),
                     MetricUnit::Ratio,
                     true,
                     MetricGroup::Business,
                     false};
    const CanaryPlan plan = playbookPlan(builtInGates() << builtInJudge() << orders);
    QCOMPARE(checkPlan(plan), QString());
    QCOMPARE(plan.stages.size(), 5);
    const QList<double> weights{1, 5, 25, 50, 100};
    const QList<int> bakes{10, 20, 30, 30, 0};
    for (int i = 0; i < 5; ++i) {
        QCOMPARE(plan.stage(i).weightPercent, weights[i]);
        QCOMPARE(plan.stage(i).bake, Duration(std::chrono::minutes(bakes[i])));
    }
    QCOMPARE(plan.stage(0).gates, (QStringList{"error-rate", "p99-latency"}));
    QCOMPARE(plan.stage(1).gates, (QStringList{"error-rate", "p99-latency", "orders"}));
    QCOMPARE(plan.stage(2).gates,
             (QStringList{"error-rate", "p99-latency", "orders", "cpu", "memory"}));
    QCOMPARE(plan.stage(3).gates, plan.stage(2).gates);
    QCOMPARE(plan.totalBake(), Duration(std::chrono::minutes(90)));
    // Three failing measurements a minute apart, at the latest.
    QCOMPARE(plan.worstCaseDetection(), Duration(std::chrono::minutes(3)));
    // The built-in sequential gate is left for plans to name.
    QVERIFY(!plan.gates.contains(builtInJudgeName));
}

void TestGate::gateMethodsByName()
{
    QCOMPARE(toString(GateMethod::Threshold), QStringLiteral("threshold"));
    QCOMPARE(toString(GateMethod::Sequential), QStringLiteral("sequential"));
    for (GateMethod method : {GateMethod::Threshold, GateMethod::Sequential}) {
        const std::optional<GateMethod> parsed = gateMethodFromString(toString(method));
        QVERIFY(parsed);
        QCOMPARE(toString(*parsed), toString(method));
    }
    for (const char *text : {"", "Sequential", "thresholds", " threshold", "bayesian"})
        QVERIFY2(!gateMethodFromString(QString::fromLatin1(text)), text);
}

void TestGate::theBuiltInJudge()
{
    const GateSpec judge = builtInJudge();
    QCOMPARE(judge.name, QStringLiteral("judge"));
    QCOMPARE(toString(judge.method), toString(GateMethod::Sequential));
    QCOMPARE(countNames(judge.sequential.counts), (QStringList{"errors", "slow_requests"}));
    QCOMPARE(judge.sequential.settings.alpha, 0.05);
    QCOMPARE(judge.sequential.settings.k0, 1.0);
    QCOMPARE(judge.sequential.settings.promoteBelow, 2.0);
    QVERIFY(!judge.sequential.slowerThanMs);
    QCOMPARE(judge.minRequests, 200);
    QCOMPARE(judge.origin, QStringLiteral("built-in"));
    // The other built-in gates are threshold gates.
    for (const GateSpec &gate : builtInGates())
        QCOMPARE(toString(gate.method), toString(GateMethod::Threshold));
}

void TestGate::sequentialGatesInPlans_data()
{
    QTest::addColumn<QList<QStringList>>("stageGates"); // the last stage is added at 100 %
    QTest::addColumn<GateSpec>("judge");
    QTest::addColumn<int>("stage");
    QTest::addColumn<QString>("problem");

    GateSpec judge;
    judge.name = QStringLiteral("judge");
    judge.method = GateMethod::Sequential;
    const QStringList errors{QStringLiteral("errors")};
    const QStringList judged{QStringLiteral("judge")};
    const QStringList both{QStringLiteral("judge"), QStringLiteral("errors")};
    const QStringList other{QStringLiteral("other")};
    const QStringList two{QStringLiteral("judge"), QStringLiteral("other")};

    QTest::newRow("one sequential gate in every stage")
        << QList<QStringList>{judged, both, judged} << judge << -1 << QString();
    QTest::newRow("one sequential gate in some stages")
        << QList<QStringList>{errors, judged, errors} << judge << -1 << QString();
    QTest::newRow("two in one stage")
        << QList<QStringList>{errors, two} << judge << 1
        << QStringLiteral("sequential gates 'judge' and 'other' (the second from "
                          "stage 2) in one plan: their false-alarm bounds add up; judge all "
                          "counts in one gate");
    QTest::newRow("two in different stages")
        << QList<QStringList>{judged, errors, other} << judge << 2
        << QStringLiteral("sequential gates 'judge' and 'other' (the second from stage 3)");

    GateSpec bad = judge;
    bad.sequential.settings.alpha = 0.7;
    QTest::newRow("alpha out of range")
        << QList<QStringList>{errors, judged} << bad << 1
        << QStringLiteral("stage 2 names gate 'judge', whose alpha must be above 0 and at most "
                          "0.5");
    bad = judge;
    bad.sequential.settings.promoteBelow = 1;
    QTest::newRow("promote_below not above k0")
        << QList<QStringList>{judged} << bad << 0
        << QStringLiteral("whose promote_below must be above k0 (1)");
    bad = judge;
    bad.sequential.counts.clear();
    QTest::newRow("counting nothing") << QList<QStringList>{judged} << bad << 0
                                      << QStringLiteral("gate 'judge', which counts nothing");
    bad = judge;
    bad.sequential.counts = {CountedEvent::SlowRequests, CountedEvent::SlowRequests};
    QTest::newRow("counting one event twice")
        << QList<QStringList>{judged} << bad << 0
        << QStringLiteral("gate 'judge', which counts slow_requests twice");
    bad = judge;
    bad.sequential.slowerThanMs = 0;
    QTest::newRow("slow at 0 ms") << QList<QStringList>{judged} << bad << 0
                                  << QStringLiteral("slower than 0 ms");
}

void TestGate::sequentialGatesInPlans()
{
    QFETCH(QList<QStringList>, stageGates);
    QFETCH(GateSpec, judge);
    CanaryPlan plan;
    plan.name = QStringLiteral("p");
    GateSpec errors = gate("error_rate", "<= 1%");
    errors.name = QStringLiteral("errors");
    GateSpec other;
    other.name = QStringLiteral("other");
    other.method = GateMethod::Sequential;
    other.sequential.counts = {CountedEvent::SlowRequests};
    for (const GateSpec &spec : {errors, other, judge})
        plan.gates.insert(spec.name, spec);
    double weight = 1;
    for (const QStringList &gates : stageGates) {
        plan.stages.append({weight, std::chrono::minutes(1), gates, false});
        weight *= 2;
    }
    plan.stages.append({100, Duration(0), {}, false});

    int stage = -2;
    const QString found = checkPlan(plan, &stage);
    QFETCH(QString, problem);
    if (problem.isEmpty()) {
        QCOMPARE(found, QString());
    } else {
        QVERIFY2(found.contains(problem), qPrintable(found));
        QTEST(stage, "stage");
    }
}

void TestGate::worstCaseLeavesSequentialGatesOut()
{
    CanaryPlan plan;
    plan.name = QStringLiteral("p");
    GateSpec judge;
    judge.name = QStringLiteral("judge");
    judge.method = GateMethod::Sequential;
    // Unused on a sequential gate: they must not make a worst case up.
    judge.interval = std::chrono::hours(1);
    judge.failureLimit = 10;
    GateSpec errors = gate("error_rate", "<= 1%");
    errors.name = QStringLiteral("errors");
    errors.interval = std::chrono::seconds(30);
    errors.failureLimit = 4;
    plan.gates = {{judge.name, judge}, {errors.name, errors}};
    plan.stages
        = {{5, std::chrono::minutes(10), {judge.name}, false}, {100, Duration(0), {}, false}};
    QCOMPARE(checkPlan(plan), QString());
    QCOMPARE(plan.worstCaseDetection(), Duration(0));

    plan.stages.insert(1, {25, std::chrono::minutes(10), {judge.name, errors.name}, false});
    QCOMPARE(checkPlan(plan), QString());
    QCOMPARE(plan.worstCaseDetection(), Duration(std::chrono::minutes(2)));
}

void TestGate::canaryInstancesRoundUp_data()
{
    QTest::addColumn<double>("weight");
    QTest::addColumn<int>("replicas");
    QTest::addColumn<int>("instances");
    QTest::newRow("1 % of 18 is one") << 1.0 << 18 << 1;
    QTest::newRow("5 % of 18 rounds up") << 5.0 << 18 << 1;
    QTest::newRow("25 % of 18") << 25.0 << 18 << 5;
    QTest::newRow("50 % of 18") << 50.0 << 18 << 9;
    QTest::newRow("100 % of 18") << 100.0 << 18 << 18;
    QTest::newRow("exact share does not round up") << 25.0 << 20 << 5;
    QTest::newRow("a single replica") << 1.0 << 1 << 1;
}

void TestGate::canaryInstancesRoundUp()
{
    QFETCH(double, weight);
    QFETCH(int, replicas);
    QTEST(canaryInstancesFor(weight, replicas), "instances");
}

QTEST_GUILESS_MAIN(TestGate)
#include "tst_gate.moc"
