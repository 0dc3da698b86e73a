#include "simulatorharness.h"

#include <QTest>

using namespace sb;
using namespace std::chrono_literals;
using sb::testing::SimulatedWorkspace;

namespace {

// What a test adds to the workspace below, each in its place.
struct Extra {
    QByteArray simulator = {}; // after the services: metrics_window, script, faults
    QByteArray defaults = {};  // under defaults, after zones
    QByteArray service = {};   // under shop, before its versions
    QByteArray stable = {};    // inside version 1.0.0's braces, like ", memory_mb: 512"
    int seed = 7;
};

// One service, two versions, no random failures: every change in it is one the test caused.
QByteArray workspaceYaml(const Extra &extra = {})
{
    return QByteArray(R"(
environments: [production]
adapters:
  - name: sim
    type: simulator
    settings:
      seed: )")
           + QByteArray::number(extra.seed) + R"(
      defaults:
        zones: [a, b]
)" + extra.defaults
           + R"(      services:
        - service: shop
          environment: production
          requests_per_second: 500
          startup: 20s
          startup_jitter: 4s
          drain: 15s
          replace_after: 30s
)" + extra.service
           + R"(
          versions:
            - {version: 1.0.0, instances: 4, weight: 100, error_rate: 1%, p50_ms: 50, p99_ms: 400)"
           + extra.stable + R"(}
            - {version: 1.1.0, instances: 0, weight: 0, error_rate: 10%, p50_ms: 50, p99_ms: 400}
)" + extra.simulator
           + R"(
services:
  - {name: shop, environment: production, adapter: sim}
)";
}

const ServiceKey shop{QStringLiteral("shop"), QStringLiteral("production")};
const QString stable = QStringLiteral("1.0.0");
const QString canary = QStringLiteral("1.1.0");

FleetSnapshot fleetOf(SimulatedWorkspace &w)
{
    auto answer = SimulatedWorkspace::await<FleetSnapshot>(
        [&](Callback<FleetSnapshot> done) { w.simulator()->fleet(shop, done); });
    if (!answer || !*answer)
        qFatal("the simulator did not report the fleet");
    return answer->value();
}

MetricsSnapshot metricsOf(SimulatedWorkspace &w)
{
    auto answer = SimulatedWorkspace::await<MetricsSnapshot>(
        [&](Callback<MetricsSnapshot> done) { w.simulator()->metrics(shop, done); });
    if (!answer || !*answer)
        qFatal("the simulator did not report metrics");
    return answer->value();
}

void scaleTo(SimulatedWorkspace &w, const QString &version, int instances)
{
    auto scaled = SimulatedWorkspace::await<Done>(
        [&](Callback<Done> done) { w.simulator()->scale(shop, version, instances, done); });
    if (!scaled || !*scaled)
        qFatal("the simulator did not scale %s", qPrintable(version));
}

void setCanaryWeight(SimulatedWorkspace &w, double percent)
{
    auto split = SimulatedWorkspace::await<TrafficSplit>([&](Callback<TrafficSplit> done) {
        w.simulator()->setWeights(shop, {{stable, 100 - percent}, {canary, percent}}, done);
    });
    if (!split || !*split)
        qFatal("the simulator did not take a canary weight of %g", percent);
}

TrafficSplit trafficOf(SimulatedWorkspace &w)
{
    auto answer = SimulatedWorkspace::await<TrafficSplit>(
        [&](Callback<TrafficSplit> done) { w.simulator()->traffic(shop, done); });
    if (!answer || !*answer)
        qFatal("the simulator did not report the traffic split");
    return answer->value();
}

void switchTo(SimulatedWorkspace &w, const QString &version)
{
    auto split = SimulatedWorkspace::await<TrafficSplit>(
        [&](Callback<TrafficSplit> done) { w.simulator()->switchTo(shop, version, done); });
    if (!split || !*split)
        qFatal("the simulator did not switch to %s", qPrintable(version));
}

// Zero for a version the snapshot leaves out, as it does one with nothing running or served.
qint64 requestsOf(const MetricsSnapshot &metrics, const QString &version)
{
    const VersionMetrics *measured = metrics.find(version);
    return measured ? measured->requests : 0;
}

// Errors as a sequential judge counts them from a snapshot.
qint64 errorsOf(const VersionMetrics &metrics)
{
    return std::llround(double(metrics.requests) * metrics.errorRatio);
}

int countIn(const FleetSnapshot &fleet, const QString &version, InstanceState state)
{
    int count = 0;
    for (const Instance &i : fleet.instances)
        count += i.version == version && i.state == state;
    return count;
}

} // namespace

class TestSimulator : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void sameSeedSameRun();
    void otherSeedOtherRun();
    void instancesStartBecomeReadyDrainAndGo();
    void crashedInstancesAreReplaced();
    void trafficFollowsWeightsAndSwitches();
    void badRoutingIsRefused();
    void metricsFollowTheConfiguredDistributions();
    void unreachableVersionFailsItsRequests();
    void requestRateIsRightFromTheFirstTick();
    void resourceMetricsFollowLoad_data();
    void resourceMetricsFollowLoad();
    void resourceMetricsNeedReadyInstances();
    void businessMetricsConvergeToTheirRatio_data();
    void businessMetricsConvergeToTheirRatio();
    void countsAreThoseOfTheInterval();
    void errorRateFaults_data();
    void errorRateFaults();
    void faultsShowInTheirVersionsCountsOnly_data();
    void faultsShowInTheirVersionsCountsOnly();
    void weightTriggeredFaultsWaitForTheirStage_data();
    void weightTriggeredFaultsWaitForTheirStage();
    void smokeTrafficReachesIdleColours_data();
    void smokeTrafficReachesIdleColours();
    void smokeTrafficNeedsReadyInstances();
    void startFailuresFailTheNextInstances_data();
    void startFailuresFailTheNextInstances();
    void startFailuresWithinADuration();
    void crashFaultsHitAVersionMidRelease_data();
    void crashFaultsHitAVersionMidRelease();
    void badSettingsAreLocated_data();
    void badSettingsAreLocated();
};

void TestSimulator::sameSeedSameRun()
{
    const QByteArray yaml = workspaceYaml({
        .simulator = R"(
      script:
        - {at: 30s, service: shop, environment: production, scale: {version: 1.1.0, instances: 3}}
        - {at: 90s, service: shop, environment: production, weights: {1.0.0: 75, 1.1.0: 25}}
      faults:
        - {at: 50s, service: shop, environment: production, version: 1.0.0, kind: crash, instances: 1}
        - {from_weight: 25, service: shop, environment: production, version: 1.1.0, kind: error_rate, factor: 3}
        - {at: 20s, service: shop, environment: production, version: 1.1.0, kind: start_failure, instances: 1}
)",
        .service = "          failures_per_instance_hour: 20\n          active: 1.0.0\n"
                   "          smoke_requests_per_second: 20\n",
        .stable = ", business: {orders_per_request: 3%}",
    });
    SimulatedWorkspace first, second;
    QVERIFY(!first.open(yaml));
    QVERIFY(!second.open(yaml));
    first.session->start();
    second.session->start();
    for (int checkpoint = 0; checkpoint < 6; ++checkpoint) {
        first.run(40s);
        second.run(40s);
        QCOMPARE(fleetOf(first), fleetOf(second));
        QCOMPARE(metricsOf(first), metricsOf(second));
    }
    // The comparison covered the drawn figures, not just their absence.
    const MetricsSnapshot metrics = metricsOf(first);
    QVERIFY(metrics.find(stable)->custom.contains(QStringLiteral("orders_per_request")));
    QVERIFY(metrics.find(canary)->custom.contains(QStringLiteral("cpu")));
}

void TestSimulator::otherSeedOtherRun()
{
    SimulatedWorkspace first, second;
    QVERIFY(!first.open(workspaceYaml({.seed = 1})));
    QVERIFY(!second.open(workspaceYaml({.seed = 2})));
    first.session->start();
    second.session->start();
    first.run(20s);
    second.run(20s);
    QVERIFY(fleetOf(first).instances.constFirst().id != fleetOf(second).instances.constFirst().id);
    QVERIFY(metricsOf(first) != metricsOf(second));
}

void TestSimulator::instancesStartBecomeReadyDrainAndGo()
{
    SimulatedWorkspace w;
    QVERIFY(!w.open(workspaceYaml()));
    w.session->start();
    QCOMPARE(countIn(fleetOf(w), QStringLiteral("1.0.0"), InstanceState::Ready), 4);

    auto scaled = SimulatedWorkspace::await<Done>(
        [&](Callback<Done> done) { w.simulator()->scale(shop, QStringLiteral("1.1.0"), 3, done); });
    QVERIFY(scaled && *scaled);
    FleetSnapshot fleet = fleetOf(w);
    QCOMPARE(countIn(fleet, QStringLiteral("1.1.0"), InstanceState::Starting), 3);
    for (const Instance &i : fleet.instances) {
        if (i.version == QLatin1String("1.1.0"))
            QCOMPARE(i.since, w.clock.now());
    }

    // Start-up is 20 s give or take 4 s: none ready before 16 s, all ready by 25 s.
    w.run(15s);
    QCOMPARE(countIn(fleetOf(w), QStringLiteral("1.1.0"), InstanceState::Ready), 0);
    w.run(10s);
    QCOMPARE(countIn(fleetOf(w), QStringLiteral("1.1.0"), InstanceState::Ready), 3);
    // Spread over both zones.
    QSet<QString> zones;
    for (const Instance &i : fleetOf(w).instances)
        zones.insert(i.zone);
    QCOMPARE(zones, (QSet<QString>{QStringLiteral("a"), QStringLiteral("b")}));

    // Scaling down drains for 15 s, then the instance is terminated and soon forgotten.
    scaled = SimulatedWorkspace::await<Done>(
        [&](Callback<Done> done) { w.simulator()->scale(shop, QStringLiteral("1.0.0"), 1, done); });
    QVERIFY(scaled && *scaled);
    QCOMPARE(countIn(fleetOf(w), QStringLiteral("1.0.0"), InstanceState::Draining), 3);
    QCOMPARE(countIn(fleetOf(w), QStringLiteral("1.0.0"), InstanceState::Ready), 1);
    w.run(14s);
    QCOMPARE(countIn(fleetOf(w), QStringLiteral("1.0.0"), InstanceState::Draining), 3);
    w.run(2s);
    QCOMPARE(countIn(fleetOf(w), QStringLiteral("1.0.0"), InstanceState::Terminated), 3);
    w.run(61s);
    QCOMPARE(fleetOf(w).instances.size(), 4);
}

void TestSimulator::crashedInstancesAreReplaced()
{
    SimulatedWorkspace w;
    QVERIFY(!w.open(workspaceYaml({.simulator = R"(
      faults:
        - {at: 10s, service: shop, environment: production, version: 1.0.0, kind: crash, instances: 2}
)"})));
    w.session->start();
    w.run(10s);
    FleetSnapshot fleet = fleetOf(w);
    QCOMPARE(countIn(fleet, QStringLiteral("1.0.0"), InstanceState::Failed), 2);
    QCOMPARE(countIn(fleet, QStringLiteral("1.0.0"), InstanceState::Ready), 2);
    QCOMPARE(countIn(fleet, QStringLiteral("1.0.0"), InstanceState::Starting), 0);

    // Failed instances hold their place for replace_after (30 s), then make way for new ones.
    w.run(30s);
    fleet = fleetOf(w);
    QCOMPARE(countIn(fleet, QStringLiteral("1.0.0"), InstanceState::Terminated), 2);
    QCOMPARE(countIn(fleet, QStringLiteral("1.0.0"), InstanceState::Starting), 2);
    w.run(25s);
    QCOMPARE(countIn(fleetOf(w), QStringLiteral("1.0.0"), InstanceState::Ready), 4);
}

void TestSimulator::trafficFollowsWeightsAndSwitches()
{
    SimulatedWorkspace w;
    QVERIFY(!w.open(workspaceYaml()));
    w.session->start();
    SimulatedWorkspace::await<Done>(
        [&](Callback<Done> done) { w.simulator()->scale(shop, QStringLiteral("1.1.0"), 2, done); });
    w.run(30s);

    auto split = SimulatedWorkspace::await<TrafficSplit>([&](Callback<TrafficSplit> done) {
        w.simulator()->setWeights(
            shop, {{QStringLiteral("1.0.0"), 80}, {QStringLiteral("1.1.0"), 20}}, done);
    });
    QVERIFY(split && *split);
    QCOMPARE(split->value().weightOf(QStringLiteral("1.1.0")), 20.0);
    w.run(60s);
    const MetricsSnapshot metrics = metricsOf(w);
    const double canaryRate = metrics.find(QStringLiteral("1.1.0"))->requestsPerSecond;
    const double stableRate = metrics.find(QStringLiteral("1.0.0"))->requestsPerSecond;
    QVERIFY2(std::abs(canaryRate / (canaryRate + stableRate) - 0.2) < 0.03,
             qPrintable(QString::number(canaryRate / (canaryRate + stableRate))));

    split = SimulatedWorkspace::await<TrafficSplit>([&](Callback<TrafficSplit> done) {
        w.simulator()->switchTo(shop, QStringLiteral("1.1.0"), done);
    });
    QVERIFY(split && *split);
    QCOMPARE(split->value().activeVersion, QStringLiteral("1.1.0"));
    QCOMPARE(split->value().weightOf(QStringLiteral("1.0.0")), 0.0);
    QCOMPARE(split->value().weightOf(QStringLiteral("1.1.0")), 100.0);
}

void TestSimulator::badRoutingIsRefused()
{
    SimulatedWorkspace w;
    QVERIFY(!w.open(workspaceYaml()));
    w.session->start();

    auto split = SimulatedWorkspace::await<TrafficSplit>([&](Callback<TrafficSplit> done) {
        w.simulator()->switchTo(shop, QStringLiteral("1.1.0"), done);
    });
    QVERIFY(split && !*split);
    QVERIFY2(split->error().message.contains(QLatin1String("no ready instance")),
             qPrintable(split->error().message));

    split = SimulatedWorkspace::await<TrafficSplit>([&](Callback<TrafficSplit> done) {
        w.simulator()->setWeights(
            shop, {{QStringLiteral("1.0.0"), 70}, {QStringLiteral("1.1.0"), 20}}, done);
    });
    QVERIFY(split && !*split);
    QVERIFY(split->error().message.contains(QLatin1String("add up to 90")));

    split = SimulatedWorkspace::await<TrafficSplit>([&](Callback<TrafficSplit> done) {
        w.simulator()->setWeights(shop, {{QStringLiteral("9.9.9"), 100}}, done);
    });
    QVERIFY(split && !*split);
    QCOMPARE(int(split->error().kind), int(Error::Kind::Invalid));

    // Nothing changed: all traffic still on the stable version.
    auto current = SimulatedWorkspace::await<TrafficSplit>(
        [&](Callback<TrafficSplit> done) { w.simulator()->traffic(shop, done); });
    QVERIFY(current && *current);
    QCOMPARE(current->value().weightOf(QStringLiteral("1.0.0")), 100.0);

    auto scaled = SimulatedWorkspace::await<Done>(
        [&](Callback<Done> done) { w.simulator()->scale(shop, QStringLiteral("2.0.0"), 1, done); });
    QVERIFY(scaled && !*scaled);
    QVERIFY(scaled->error().message.contains(QLatin1String("declare it")));
}

void TestSimulator::metricsFollowTheConfiguredDistributions()
{
    SimulatedWorkspace w;
    QVERIFY(!w.open(workspaceYaml({.simulator = "      metrics_window: 5m\n"})));
    w.session->start();
    w.run(5min);
    const MetricsSnapshot metrics = metricsOf(w);
    const VersionMetrics *stable = metrics.find(QStringLiteral("1.0.0"));
    QVERIFY(stable);
    // 500 req/s for 300 s: 150,000 requests, so the estimates are tight.
    QVERIFY2(std::abs(stable->requestsPerSecond - 500) < 10,
             qPrintable(QString::number(stable->requestsPerSecond)));
    QVERIFY2(std::abs(stable->errorRatio - 0.01) < 0.001,
             qPrintable(QString::number(stable->errorRatio)));
    // Quantiles come from histogram buckets, interpolated as Prometheus does: within 15 %.
    QVERIFY2(std::abs(stable->p50Ms - 50) < 7.5, qPrintable(QString::number(stable->p50Ms)));
    QVERIFY2(std::abs(stable->p99Ms - 400) < 60, qPrintable(QString::number(stable->p99Ms)));
}

void TestSimulator::unreachableVersionFailsItsRequests()
{
    SimulatedWorkspace w;
    QVERIFY(!w.open(workspaceYaml()));
    w.session->start();
    // Weight on a version with no instance: the balancer has nowhere to send those requests.
    SimulatedWorkspace::await<TrafficSplit>([&](Callback<TrafficSplit> done) {
        w.simulator()->setWeights(
            shop, {{QStringLiteral("1.0.0"), 50}, {QStringLiteral("1.1.0"), 50}}, done);
    });
    w.run(20s);
    const MetricsSnapshot metrics = metricsOf(w);
    const VersionMetrics *canary = metrics.find(QStringLiteral("1.1.0"));
    QVERIFY(canary);
    QVERIFY(canary->requests > 0);
    QCOMPARE(canary->errorRatio, 1.0);
    QCOMPARE(toString(healthOf(w.session->snapshot().services.constFirst())),
             toString(Health::Critical));
}

void TestSimulator::requestRateIsRightFromTheFirstTick()
{
    // Two ticks into a ten-second window: the rate is over two seconds, not ten.
    SimulatedWorkspace w;
    QVERIFY(!w.open(workspaceYaml()));
    w.session->start();
    w.run(2s);
    const MetricsSnapshot metrics = metricsOf(w);
    const VersionMetrics *stable = metrics.find(QStringLiteral("1.0.0"));
    QVERIFY(stable);
    QVERIFY2(std::abs(stable->requestsPerSecond - 500) < 50,
             qPrintable(QString::number(stable->requestsPerSecond)));
}

void TestSimulator::resourceMetricsFollowLoad_data()
{
    QTest::addColumn<QByteArray>("defaults");
    QTest::addColumn<QByteArray>("service");
    QTest::addColumn<QByteArray>("version");
    QTest::addColumn<int>("instances");
    QTest::addColumn<double>("cores");
    QTest::addColumn<double>("memoryMb");

    // 500 requests a second at 6 ms each keep 3 cores busy, shared by the ready instances, each
    // idling at 0.02 cores on top.
    QTest::newRow("default cost on four instances")
        << QByteArray() << QByteArray() << QByteArray() << 4 << 0.77 << 256.0;
    QTest::newRow("ten instances share the load")
        << QByteArray() << QByteArray() << QByteArray() << 10 << 0.32 << 256.0;
    QTest::newRow("two instances carry it all")
        << QByteArray() << QByteArray() << QByteArray() << 2 << 1.52 << 256.0;
    QTest::newRow("free requests leave the idle floor")
        << QByteArray() << QByteArray() << QByteArray(", cpu_ms_per_request: 0") << 4 << 0.02
        << 256.0;
    QTest::newRow("cost from the defaults")
        << QByteArray("        cpu_ms_per_request: 20\n        memory_mb: 1024\n") << QByteArray()
        << QByteArray() << 4 << 2.52 << 1024.0;
    QTest::newRow("the service overrides the defaults")
        << QByteArray("        cpu_ms_per_request: 20\n        memory_mb: 1024\n")
        << QByteArray("          cpu_ms_per_request: 2\n") << QByteArray() << 4 << 0.27 << 1024.0;
    QTest::newRow("the version overrides the service")
        << QByteArray() << QByteArray("          cpu_ms_per_request: 2\n          memory_mb: 512\n")
        << QByteArray(", cpu_ms_per_request: 12, memory_mb: 2048") << 4 << 1.52 << 2048.0;
}

void TestSimulator::resourceMetricsFollowLoad()
{
    QFETCH(QByteArray, defaults);
    QFETCH(QByteArray, service);
    QFETCH(QByteArray, version);
    QFETCH(int, instances);
    QFETCH(double, cores);
    QFETCH(double, memoryMb);

    SimulatedWorkspace w;
    QVERIFY(!w.open(workspaceYaml({.simulator = "      metrics_window: 1m\n",
                                   .defaults = defaults,
                                   .service = service,
                                   .stable = version})));
    w.session->start();
    scaleTo(w, stable, instances);
    // Started (up to 24 s) or drained (15 s) before the window opens.
    w.run(30s);
    w.run(1min);

    const MetricsSnapshot metrics = metricsOf(w);
    // Noise is drawn as the simulation advances, never when it is asked.
    QCOMPARE(metricsOf(w), metrics);
    const VersionMetrics *measured = metrics.find(stable);
    QVERIFY(measured);
    QVERIFY(measured->custom.contains(QStringLiteral("cpu")));
    QVERIFY(measured->custom.contains(QStringLiteral("memory")));
    const double cpu = measured->custom.value(QStringLiteral("cpu"));
    const double memory = measured->custom.value(QStringLiteral("memory"));
    QVERIFY2(std::abs(cpu - cores) < 0.05 * cores, qPrintable(QString::number(cpu)));
    QVERIFY2(std::abs(memory - memoryMb) < 0.06 * memoryMb, qPrintable(QString::number(memory)));
    // The same CPU per request however many instances share it: what gates compare.
    const double perRequest = measured->custom.value(QStringLiteral("cpu_per_request"));
    const double expected = 1000 * cores * instances / measured->requestsPerSecond;
    QVERIFY2(
        std::abs(perRequest - expected) < 0.05 * expected,
        qPrintable(QStringLiteral("%1 ms per request, expected %2").arg(perRequest).arg(expected)));

    // Memory drifts a little from one tick to the next.
    w.run(1s);
    const MetricsSnapshot next = metricsOf(w);
    const double later = next.find(stable)->custom.value(QStringLiteral("memory"));
    QVERIFY(later != memory);
    QVERIFY2(std::abs(later - memoryMb) < 0.06 * memoryMb, qPrintable(QString::number(later)));
}

void TestSimulator::resourceMetricsNeedReadyInstances()
{
    SimulatedWorkspace w;
    QVERIFY(!w.open(workspaceYaml({.simulator = R"(
      faults:
        - {at: 40s, service: shop, environment: production, version: 1.0.0, kind: crash, instances: 4}
)"})));
    w.session->start();
    scaleTo(w, canary, 2);
    w.run(5s);
    // Starting instances: the version is reported, with no resource figures rather than zeros.
    MetricsSnapshot metrics = metricsOf(w);
    QVERIFY(metrics.find(canary));
    QVERIFY(!metrics.find(canary)->custom.contains(QStringLiteral("cpu")));
    QVERIFY(!metrics.find(canary)->custom.contains(QStringLiteral("memory")));

    // Ready with no traffic (weight 0): idle, not absent.
    w.run(25s);
    metrics = metricsOf(w);
    QCOMPARE(metrics.find(canary)->requests, 0);
    const double idle = metrics.find(canary)->custom.value(QStringLiteral("cpu"), -1);
    QVERIFY2(std::abs(idle - 0.02) < 0.005, qPrintable(QString::number(idle)));
    QVERIFY(metrics.find(canary)->custom.contains(QStringLiteral("memory")));

    // Every stable instance crashed: requests still in the window, but nothing to measure on.
    w.run(11s);
    QCOMPARE(countIn(fleetOf(w), stable, InstanceState::Ready), 0);
    metrics = metricsOf(w);
    QVERIFY(metrics.find(stable)->requests > 0);
    QVERIFY(!metrics.find(stable)->custom.contains(QStringLiteral("cpu")));
    QVERIFY(!metrics.find(stable)->custom.contains(QStringLiteral("memory")));
}

void TestSimulator::businessMetricsConvergeToTheirRatio_data()
{
    QTest::addColumn<QByteArray>("version");
    QTest::addColumn<QVariantMap>("ratios");

    QTest::newRow("percent") << QByteArray(", business: {orders_per_request: 3.1%}")
                             << QVariantMap{{QStringLiteral("orders_per_request"), 0.031}};
    QTest::newRow("fraction") << QByteArray(", business: {signups_per_request: 0.2}")
                              << QVariantMap{{QStringLiteral("signups_per_request"), 0.2}};
    QTest::newRow("two metrics") << QByteArray(
        ", business: {orders_per_request: 2%, refunds_per_request: 0.1%}")
                                 << QVariantMap{{QStringLiteral("orders_per_request"), 0.02},
                                                {QStringLiteral("refunds_per_request"), 0.001}};
    QTest::newRow("never converts") << QByteArray(", business: {orders_per_request: 0}")
                                    << QVariantMap{{QStringLiteral("orders_per_request"), 0.0}};
    QTest::newRow("none declared") << QByteArray() << QVariantMap();
}

void TestSimulator::businessMetricsConvergeToTheirRatio()
{
    QFETCH(QByteArray, version);
    QFETCH(QVariantMap, ratios);

    SimulatedWorkspace w;
    QVERIFY(!w.open(workspaceYaml({.simulator = "      metrics_window: 5m\n", .stable = version})));
    w.session->start();
    w.run(5min);
    const MetricsSnapshot metrics = metricsOf(w);
    const VersionMetrics *measured = metrics.find(stable);
    QVERIFY(measured);
    QMap<QString, double> business = measured->custom;
    for (const char *resource : {"cpu", "cpu_per_request", "memory"})
        business.remove(QLatin1StringView(resource));
    QCOMPARE(business.keys(), ratios.keys());
    for (auto it = ratios.cbegin(); it != ratios.cend(); ++it) {
        // Four standard deviations of a binomial ratio over the window's 150,000 requests.
        const double p = it->toDouble();
        const double tolerance = 4 * std::sqrt(p * (1 - p) / double(measured->requests));
        QVERIFY2(std::abs(business.value(it.key()) - p) <= tolerance,
                 qPrintable(QStringLiteral("%1 %2").arg(it.key()).arg(business.value(it.key()))));
    }
}

void TestSimulator::countsAreThoseOfTheInterval()
{
    // Both versions serving, one with errors and a latency of its own, looked at tick after tick
    // over a window of several ticks.
    SimulatedWorkspace w;
    QVERIFY(!w.open(workspaceYaml({.simulator = "      metrics_window: 5s\n"})));
    w.session->start();
    scaleTo(w, canary, 2);
    w.run(30s);
    setCanaryWeight(w, 30);
    w.run(5s); // a window of the canary at its weight
    const auto bounds = LatencyHistogram::defaultBoundsMs();
    const QList<double> expectedBounds(bounds.begin(), bounds.end());
    for (int tick = 0; tick < 20; ++tick) {
        w.run(1s);
        const MetricsSnapshot metrics = metricsOf(w);
        QCOMPARE(metrics.versions.size(), 2);
        for (const VersionMetrics &version : metrics.versions) {
            const QByteArray what
                = version.version.toUtf8() + " at tick " + QByteArray::number(tick);
            QVERIFY2(version.requests > 500, what.constData());
            QVERIFY2(version.latency, what.constData());
            const LatencyHistogram &latency = *version.latency;
            QCOMPARE(latency.boundsMs, expectedBounds);
            QCOMPARE(latency.cumulativeCounts.size(), latency.boundsMs.size() + 1);
            // The histogram counts the requests the snapshot reports, each once.
            QCOMPARE(latency.total(), version.requests);
            QVERIFY2(latency.cumulativeCounts.constFirst() >= 0, what.constData());
            for (qsizetype i = 1; i < latency.cumulativeCounts.size(); ++i)
                QVERIFY2(latency.cumulativeCounts[i] >= latency.cumulativeCounts[i - 1],
                         what.constData());
            // The quantiles the snapshot reports are this histogram's ...
            QCOMPARE(version.p99Ms, latency.quantileMs(0.99));
            QCOMPARE(version.p50Ms, latency.quantileMs(0.5));
            // ... so a bound at or above the p99 has at most 1 % of the requests above it, and
            // one below it more (the configured p99 of 400 ms is far below the highest bound).
            const double onePercent = double(version.requests) - 0.99 * double(version.requests);
            for (const double bound : latency.boundsMs) {
                const std::optional<qint64> slower = latency.slowerThan(bound);
                QVERIFY2(slower, what.constData());
                QVERIFY2(bound >= version.p99Ms ? double(*slower) <= onePercent
                                                : double(*slower) > onePercent,
                         qPrintable(QStringLiteral("%1: %2 slower than %3 ms, p99 %4 ms")
                                        .arg(QString::fromUtf8(what))
                                        .arg(*slower)
                                        .arg(bound)
                                        .arg(version.p99Ms)));
            }
            // The error ratio is errors over requests of the same ticks: a whole count.
            const double errors = double(version.requests) * version.errorRatio;
            QVERIFY2(std::abs(errors - double(errorsOf(version))) < 1e-6,
                     qPrintable(QString::number(errors, 'g', 17)));
            QVERIFY2(errorsOf(version) >= 0 && errorsOf(version) <= version.requests,
                     what.constData());
        }
        // The canary fails a tenth of its requests, the stable version a hundredth.
        QVERIFY2(errorsOf(*metrics.find(canary)) > errorsOf(*metrics.find(stable)),
                 qPrintable(QStringLiteral("canary %1 of %2, stable %3 of %4")
                                .arg(errorsOf(*metrics.find(canary)))
                                .arg(metrics.find(canary)->requests)
                                .arg(errorsOf(*metrics.find(stable)))
                                .arg(metrics.find(stable)->requests)));
    }
}

void TestSimulator::errorRateFaults_data()
{
    QTest::addColumn<QByteArray>("change");
    QTest::addColumn<double>("errorRatio");

    // The stable version's own error_rate is 1 %.
    QTest::newRow("absolute") << QByteArray("error_rate: 7%") << 0.07;
    QTest::newRow("factor of its own") << QByteArray("factor: 3") << 0.03;
    QTest::newRow("factor below one") << QByteArray("factor: 0.5") << 0.005;
    QTest::newRow("factor capped at every request") << QByteArray("factor: 500") << 1.0;
}

void TestSimulator::errorRateFaults()
{
    QFETCH(QByteArray, change);
    QFETCH(double, errorRatio);

    SimulatedWorkspace w;
    QVERIFY(!w.open(workspaceYaml(
        {.simulator = "      metrics_window: 2m\n      faults:\n        - {at: 10s, service: shop, "
                      "environment: production, version: 1.0.0, kind: error_rate, duration: 5m, "
                      + change + "}\n"})));
    w.session->start();
    w.run(10s);
    w.run(2min);
    const MetricsSnapshot metrics = metricsOf(w);
    const VersionMetrics *measured = metrics.find(stable);
    QVERIFY(measured);
    const double tolerance
        = 4 * std::sqrt(errorRatio * (1 - errorRatio) / double(measured->requests)) + 1e-9;
    QVERIFY2(std::abs(measured->errorRatio - errorRatio) <= tolerance,
             qPrintable(QString::number(measured->errorRatio)));
}

void TestSimulator::weightTriggeredFaultsWaitForTheirStage_data()
{
    QTest::addColumn<QByteArray>("fault");
    QTest::addColumn<QString>("measure");
    QTest::addColumn<double>("quietBelow");
    QTest::addColumn<double>("faultyAbove");
    QTest::addColumn<int>("endsAfterSeconds"); // 0: lasts to the end of the run

    // The canary's own error_rate is 10 % and its p50 50 ms.
    QTest::newRow("error rate by factor, to the end")
        << QByteArray("kind: error_rate, factor: 9") << QStringLiteral("error_rate") << 0.4 << 0.6
        << 0;
    QTest::newRow("absolute error rate for 30 s")
        << QByteArray("kind: error_rate, error_rate: 95%, duration: 30s")
        << QStringLiteral("error_rate") << 0.4 << 0.6 << 30;
    QTest::newRow("latency, to the end")
        << QByteArray("kind: latency, factor: 10") << QStringLiteral("p50") << 100.0 << 250.0 << 0;
    // Failed instances make way for replacements after replace_after, 30 s.
    QTest::newRow("crash") << QByteArray("kind: crash, instances: 2") << QStringLiteral("failed")
                           << 0.5 << 1.5 << 30;
}

void TestSimulator::weightTriggeredFaultsWaitForTheirStage()
{
    QFETCH(QByteArray, fault);
    QFETCH(QString, measure);
    QFETCH(double, quietBelow);
    QFETCH(double, faultyAbove);
    QFETCH(int, endsAfterSeconds);

    // A one-second window holds exactly the last tick.
    SimulatedWorkspace w;
    QVERIFY(!w.open(workspaceYaml(
        {.simulator = "      metrics_window: 1s\n      faults:\n        - {from_weight: 20, "
                      "service: shop, environment: production, version: 1.1.0, "
                      + fault + "}\n"})));
    auto measured = [&] {
        if (measure == QLatin1String("failed"))
            return double(countIn(fleetOf(w), canary, InstanceState::Failed));
        const MetricsSnapshot metrics = metricsOf(w);
        const VersionMetrics *version = metrics.find(canary);
        if (!version || version->requests == 0)
            qFatal("the canary served nothing");
        return measure == QLatin1String("p50") ? version->p50Ms : version->errorRatio;
    };
    w.session->start();
    scaleTo(w, canary, 2);
    w.run(30s);
    QCOMPARE(countIn(fleetOf(w), canary, InstanceState::Ready), 2);

    // The stage before: 10 % of the traffic, tick after tick, and the canary behaves.
    setCanaryWeight(w, 10);
    for (int tick = 0; tick < 20; ++tick) {
        w.run(1s);
        QVERIFY2(measured() < quietBelow, qPrintable(QString::number(measured())));
    }

    // The tick the 20 % stage begins already serves the fault.
    setCanaryWeight(w, 20);
    w.run(1s);
    QVERIFY2(measured() > faultyAbove, qPrintable(QString::number(measured())));

    if (endsAfterSeconds > 0) {
        w.run(std::chrono::seconds(endsAfterSeconds));
        QVERIFY2(measured() < quietBelow, qPrintable(QString::number(measured())));
    } else {
        // Even back at a lower weight: the version regressed, the stage only revealed it.
        setCanaryWeight(w, 10);
        w.run(10min);
        QVERIFY2(measured() > faultyAbove, qPrintable(QString::number(measured())));
    }
}

void TestSimulator::faultsShowInTheirVersionsCountsOnly_data()
{
    QTest::addColumn<QByteArray>("fault");
    QTest::addColumn<QString>("count");       // "errors", or "slow": requests slower than 400 ms
    QTest::addColumn<double>("stableShare");  // of the stable version's requests, throughout
    QTest::addColumn<double>("canaryBefore"); // of the canary's, before the fault
    QTest::addColumn<double>("canaryDuring"); // and while it lasts

    // The stable version fails 1 % of its requests, the canary 10 %; both have a p99 of 400 ms,
    // so 1 % of their requests are slower than that.
    QTest::newRow("error rate") << QByteArray("kind: error_rate, error_rate: 50%")
                                << QStringLiteral("errors") << 0.01 << 0.1 << 0.5;
    // Four times slower: a median of 200 ms, and 22 % of the requests above 400 ms.
    QTest::newRow("latency") << QByteArray("kind: latency, factor: 4") << QStringLiteral("slow")
                             << 0.01 << 0.01 << 0.22;
}

void TestSimulator::faultsShowInTheirVersionsCountsOnly()
{
    QFETCH(QByteArray, fault);
    QFETCH(QString, count);
    QFETCH(double, stableShare);
    QFETCH(double, canaryBefore);
    QFETCH(double, canaryDuring);

    SimulatedWorkspace w;
    QVERIFY(!w.open(workspaceYaml(
        {.simulator
         = "      metrics_window: 30s\n      faults:\n        - {at: 80s, service: shop, "
           "environment: production, version: 1.1.0, duration: 5m, "
           + fault + "}\n"})));
    auto counted = [&](const VersionMetrics &version) {
        if (count == QLatin1String("errors"))
            return errorsOf(version);
        const std::optional<qint64> slow = version.latency->slowerThan(400);
        if (!slow)
            qFatal("400 ms is not a bucket bound of the simulator's histogram");
        return *slow;
    };
    // Within four standard deviations of the expected share of the interval's requests.
    auto near = [](qint64 events, qint64 requests, double share) {
        const double expected = share * double(requests);
        const double tolerance = 4 * std::sqrt(expected * (1 - share)) + 1;
        return std::abs(double(events) - expected) <= tolerance;
    };
    auto describe = [](qint64 events, qint64 requests) {
        return QByteArray::number(events) + " of " + QByteArray::number(requests);
    };

    w.session->start();
    scaleTo(w, canary, 2);
    w.run(30s);
    setCanaryWeight(w, 50);
    w.run(30s);
    const MetricsSnapshot before = metricsOf(w);
    w.run(60s); // the fault began at 80 s: the window from 90 s to 120 s is all fault
    const MetricsSnapshot during = metricsOf(w);

    for (const MetricsSnapshot *metrics : {&before, &during}) {
        const VersionMetrics &baseline = *metrics->find(stable);
        QVERIFY2(near(counted(baseline), baseline.requests, stableShare),
                 describe(counted(baseline), baseline.requests).constData());
    }
    const VersionMetrics &canaryBeforeMetrics = *before.find(canary);
    const VersionMetrics &canaryDuringMetrics = *during.find(canary);
    QVERIFY(canaryBeforeMetrics.requests > 5000 && canaryDuringMetrics.requests > 5000);
    QVERIFY2(near(counted(canaryBeforeMetrics), canaryBeforeMetrics.requests, canaryBefore),
             describe(counted(canaryBeforeMetrics), canaryBeforeMetrics.requests).constData());
    QVERIFY2(near(counted(canaryDuringMetrics), canaryDuringMetrics.requests, canaryDuring),
             describe(counted(canaryDuringMetrics), canaryDuringMetrics.requests).constData());
}

void TestSimulator::smokeTrafficReachesIdleColours_data()
{
    QTest::addColumn<QByteArray>("defaults");
    QTest::addColumn<QByteArray>("service");
    QTest::addColumn<QString>("switchedTo"); // after the canary is ready; empty: no switch
    QTest::addColumn<QString>("live");       // the router's active version then; empty: none
    QTest::addColumn<double>("stableRate");
    QTest::addColumn<double>("canaryRate");

    // The service takes 500 requests a second, all on 1.0.0 by its weights, until a switch.
    const QByteArray active("          active: 1.0.0\n");
    const QByteArray smoke("          smoke_requests_per_second: 20\n");
    const QByteArray smokeDefault("        smoke_requests_per_second: 20\n");
    QTest::newRow("idle colour beside the active one")
        << QByteArray() << active + smoke << QString() << stable << 500.0 << 20.0;
    QTest::newRow("idle colour once a switch made one active")
        << QByteArray() << smoke << stable << stable << 500.0 << 20.0;
    QTest::newRow("old colour once switched to the new")
        << QByteArray() << active + smoke << canary << canary << 20.0 << 500.0;
    QTest::newRow("from the defaults")
        << smokeDefault << active << QString() << stable << 500.0 << 20.0;
    QTest::newRow("the service overrides the defaults")
        << smokeDefault << active + "          smoke_requests_per_second: 5\n"
        << QString() << stable << 500.0 << 5.0;
    QTest::newRow("none by default")
        << QByteArray() << active << QString() << stable << 500.0 << 0.0;
    QTest::newRow("none without an active version")
        << QByteArray() << smoke << QString() << QString() << 500.0 << 0.0;
}

void TestSimulator::smokeTrafficReachesIdleColours()
{
    QFETCH(QByteArray, defaults);
    QFETCH(QByteArray, service);
    QFETCH(QString, switchedTo);
    QFETCH(QString, live);
    QFETCH(double, stableRate);
    QFETCH(double, canaryRate);

    SimulatedWorkspace w;
    QVERIFY(!w.open(workspaceYaml(
        {.simulator = "      metrics_window: 5m\n", .defaults = defaults, .service = service})));
    w.session->start();
    scaleTo(w, canary, 2);
    w.run(30s);
    QCOMPARE(countIn(fleetOf(w), canary, InstanceState::Ready), 2);
    if (!switchedTo.isEmpty())
        switchTo(w, switchedTo);
    w.run(5min);

    // Smoke traffic goes beside the router: the routed version keeps every bit of the weight.
    const TrafficSplit split = trafficOf(w);
    QCOMPARE(split.activeVersion, live);
    const QString routed = live.isEmpty() ? stable : live;
    QCOMPARE(split.weightOf(routed), 100.0);
    QCOMPARE(split.weightOf(routed == stable ? canary : stable), 0.0);

    // 1.0.0 fails 1 % of its requests and 1.1.0 10 %, whichever traffic they serve.
    const MetricsSnapshot metrics = metricsOf(w);
    for (const auto &[version, rate, errorRatio] :
         {std::tuple(stable, stableRate, 0.01), std::tuple(canary, canaryRate, 0.1)}) {
        const VersionMetrics *measured = metrics.find(version);
        QVERIFY(measured);
        if (rate == 0) {
            QCOMPARE(measured->requests, 0);
            continue;
        }
        // Five standard deviations of a Poisson rate over the window's 300 s: about 6.5 requests
        // a second at 500, so the live colour giving up the smoke traffic's 20 would show.
        QVERIFY2(std::abs(measured->requestsPerSecond - rate) < 5 * std::sqrt(rate / 300),
                 qPrintable(QStringLiteral("%1 serves %2 requests a second, expected %3")
                                .arg(version)
                                .arg(measured->requestsPerSecond)
                                .arg(rate)));
        const double tolerance
            = 4 * std::sqrt(errorRatio * (1 - errorRatio) / double(measured->requests));
        QVERIFY2(std::abs(measured->errorRatio - errorRatio) <= tolerance,
                 qPrintable(QStringLiteral("%1 fails %2").arg(version).arg(measured->errorRatio)));
    }
}

void TestSimulator::smokeTrafficNeedsReadyInstances()
{
    // A one-second window holds exactly the last tick.
    SimulatedWorkspace w;
    QVERIFY(!w.open(workspaceYaml({.simulator = R"(      metrics_window: 1s
      faults:
        - {at: 40s, service: shop, environment: production, version: 1.1.0, kind: latency, factor: 10, duration: 1m}
)",
                                   .service = "          active: 1.0.0\n"
                                              "          smoke_requests_per_second: 20\n"})));
    w.session->start();
    scaleTo(w, canary, 2);

    // Starting: nothing to smoke-test, and nothing failing at the balancer either.
    w.run(10s);
    QCOMPARE(countIn(fleetOf(w), canary, InstanceState::Ready), 0);
    QCOMPARE(requestsOf(metricsOf(w), canary), 0);

    w.run(20s);
    QCOMPARE(countIn(fleetOf(w), canary, InstanceState::Ready), 2);
    MetricsSnapshot metrics = metricsOf(w);
    QVERIFY(requestsOf(metrics, canary) > 0);
    QVERIFY2(metrics.find(canary)->p50Ms < 100,
             qPrintable(QString::number(metrics.find(canary)->p50Ms)));

    // The idle colour's faults show in its smoke traffic as in any other.
    w.run(11s);
    metrics = metricsOf(w);
    QVERIFY(requestsOf(metrics, canary) > 0);
    QVERIFY2(metrics.find(canary)->p50Ms > 250,
             qPrintable(QString::number(metrics.find(canary)->p50Ms)));

    // Draining instances are leaving: the smoke tests stop with the idle colour's last ready one.
    scaleTo(w, canary, 0);
    w.run(2s);
    QCOMPARE(countIn(fleetOf(w), canary, InstanceState::Draining), 2);
    QCOMPARE(requestsOf(metricsOf(w), canary), 0);
}

void TestSimulator::startFailuresFailTheNextInstances_data()
{
    QTest::addColumn<QByteArray>("begins");
    QTest::addColumn<double>("canaryWeight"); // set before the canary is deployed

    QTest::newRow("at a time") << QByteArray("at: 5s") << 0.0;
    QTest::newRow("from a weight") << QByteArray("from_weight: 10") << 10.0;
}

void TestSimulator::startFailuresFailTheNextInstances()
{
    QFETCH(QByteArray, begins);
    QFETCH(double, canaryWeight);

    SimulatedWorkspace w;
    QVERIFY(!w.open(workspaceYaml(
        {.simulator = "      faults:\n        - {" + begins
                      + ", service: shop, environment: production, version: 1.1.0, kind: "
                        "start_failure, instances: 3}\n"})));
    w.session->start();
    if (canaryWeight > 0)
        setCanaryWeight(w, canaryWeight);
    scaleTo(w, canary, 2);

    // Both first instances fail as they finish starting (16 s to 24 s), hold their slots for
    // replace_after (30 s), and make way for replacements; of those one more fails.
    QMap<QString, TimePoint> failedAt;
    QSet<QString> replaced;
    for (int tick = 0; tick < 150; ++tick) {
        w.run(1s);
        for (const Instance &i : fleetOf(w).instances) {
            if (i.version != canary)
                continue;
            if (i.state == InstanceState::Failed)
                failedAt.insert(i.id, i.since);
            if (i.state == InstanceState::Terminated && !replaced.contains(i.id)) {
                QVERIFY2(failedAt.contains(i.id), qPrintable(i.id));
                QCOMPARE(i.since, failedAt.value(i.id) + 30s);
                replaced.insert(i.id);
            }
        }
    }
    QCOMPARE(failedAt.size(), 3);
    QCOMPARE(replaced.size(), 3);
    // The fault spent, replacements start as usual.
    const FleetSnapshot fleet = fleetOf(w);
    QCOMPARE(countIn(fleet, canary, InstanceState::Ready), 2);
    QCOMPARE(countIn(fleet, canary, InstanceState::Failed), 0);
}

void TestSimulator::startFailuresWithinADuration()
{
    SimulatedWorkspace w;
    QVERIFY(!w.open(workspaceYaml({.simulator = R"(
      faults:
        - {at: 10s, service: shop, environment: production, version: 1.1.0, kind: start_failure, duration: 2m}
)"})));
    w.session->start();
    const TimePoint start = w.clock.now();
    scaleTo(w, canary, 2);

    // Every instance finishing its startup from 10 s to 130 s fails, replacements included, as
    // a crash-looping pod does; the first to finish after that stay.
    QSet<QString> failed;
    for (int tick = 0; tick < 240; ++tick) {
        w.run(1s);
        for (const Instance &i : fleetOf(w).instances) {
            if (i.version != canary)
                continue;
            if (i.state == InstanceState::Failed) {
                QVERIFY2(i.since >= start + 10s && i.since < start + 130s,
                         qPrintable(formatDuration(i.since - start)));
                failed.insert(i.id);
            } else if (i.state == InstanceState::Ready) {
                QVERIFY2(i.since >= start + 130s, qPrintable(formatDuration(i.since - start)));
            }
        }
    }
    // Two rounds at least: the first instances and their replacements, 30 s later.
    QVERIFY2(failed.size() >= 4, qPrintable(QString::number(failed.size())));
    QCOMPARE(countIn(fleetOf(w), canary, InstanceState::Ready), 2);
}

void TestSimulator::crashFaultsHitAVersionMidRelease_data()
{
    QTest::addColumn<int>("atSeconds");
    QTest::addColumn<int>("instances");
    QTest::addColumn<int>("failed");

    // The new version's four instances finish starting between 16 s and 24 s.
    QTest::newRow("all still starting") << 10 << 2 << 2;
    QTest::newRow("some ready, some starting") << 20 << 3 << 3;
    QTest::newRow("more than are running") << 20 << 6 << 4;
    QTest::newRow("all ready") << 30 << 3 << 3;
}

void TestSimulator::crashFaultsHitAVersionMidRelease()
{
    QFETCH(int, atSeconds);
    QFETCH(int, instances);
    QFETCH(int, failed);

    SimulatedWorkspace w;
    QVERIFY(!w.open(workspaceYaml(
        {.simulator = QByteArray("      faults:\n        - {at: ") + QByteArray::number(atSeconds)
                      + "s, service: shop, environment: production, version: 1.1.0, kind: "
                        "crash, instances: "
                      + QByteArray::number(instances) + "}\n"})));
    w.session->start();
    const TimePoint start = w.clock.now();
    // A rolling release by hand: the new version comes up beside the old one.
    scaleTo(w, canary, 4);
    w.run(std::chrono::seconds(atSeconds));
    FleetSnapshot fleet = fleetOf(w);
    QCOMPARE(countIn(fleet, canary, InstanceState::Failed), failed);
    QCOMPARE(countIn(fleet, canary, InstanceState::Ready)
                 + countIn(fleet, canary, InstanceState::Starting),
             4 - failed);
    for (const Instance &i : fleet.instances) {
        if (i.state == InstanceState::Failed)
            QCOMPARE(i.since, start + std::chrono::seconds(atSeconds));
    }

    // The release goes on: the old version is retired while the failed instances still hold
    // their slots, and their replacements bring the new version back to four.
    scaleTo(w, stable, 0);
    w.run(30s);
    fleet = fleetOf(w);
    QCOMPARE(countIn(fleet, canary, InstanceState::Failed), 0);
    QCOMPARE(countIn(fleet, canary, InstanceState::Terminated), failed);
    QCOMPARE(countIn(fleet, canary, InstanceState::Starting), failed);
    w.run(25s);
    fleet = fleetOf(w);
    QCOMPARE(countIn(fleet, canary, InstanceState::Ready), 4);
    QCOMPARE(countIn(fleet, stable, InstanceState::Ready), 0);
}

void TestSimulator::badSettingsAreLocated_data()
{
    QTest::addColumn<QByteArray>("simulatorExtra");
    QTest::addColumn<QByteArray>("serviceExtra");
    QTest::addColumn<QByteArray>("stableExtra");
    QTest::addColumn<int>("line");
    QTest::addColumn<int>("column");
    QTest::addColumn<QString>("message");

    const QByteArray fault("      faults:\n        - {service: shop, environment: production, "
                           "version: 1.1.0, ");
    QTest::newRow("unknown service key")
        << QByteArray() << QByteArray("          requests_per_secnd: 5\n") << QByteArray() << 18
        << 11 << QStringLiteral("did you mean 'requests_per_second'?");
    QTest::newRow("negative drain") << QByteArray() << QByteArray("          drain: -5s\n")
                                    << QByteArray() << 18 << 11 << QStringLiteral("drain");
    QTest::newRow("unknown fault kind")
        << QByteArray("      faults:\n        - {at: 5s, service: shop, environment: production, "
                      "version: 1.0.0, kind: crsh}\n")
        << QByteArray() << QByteArray() << 23 << 82 << QStringLiteral("did you mean 'crash'?");
    QTest::newRow("fault on an undeclared version")
        << QByteArray("      faults:\n        - {at: 5s, service: shop, environment: production, "
                      "version: 3.0.0}\n")
        << QByteArray() << QByteArray() << 23 << 69
        << QStringLiteral("version '3.0.0' of shop/production is not declared");
    QTest::newRow("script for an unknown service")
        << QByteArray("      script:\n        - {at: 5s, service: shp, environment: production, "
                      "switch: 1.0.0}\n")
        << QByteArray() << QByteArray() << 23 << 29 << QStringLiteral("did you mean 'shop'?");
    QTest::newRow("script step with two actions")
        << QByteArray("      script:\n        - {at: 5s, service: shop, environment: production, "
                      "switch: 1.0.0, scale: {version: 1.0.0, instances: 2}}\n")
        << QByteArray() << QByteArray() << 23 << 11
        << QStringLiteral("exactly one of scale, weights or switch");
    QTest::newRow("weights not adding up")
        << QByteArray("      script:\n        - {at: 5s, service: shop, environment: production, "
                      "weights: {1.0.0: 50, 1.1.0: 20}}\n")
        << QByteArray() << QByteArray() << 23 << 69 << QStringLiteral("add up to 70, not 100");

    QTest::newRow("fault with both at and from_weight")
        << fault + "kind: crash, at: 5s, from_weight: 5}\n"
        << QByteArray() << QByteArray() << 23 << 89 << QStringLiteral("give exactly one of them");
    QTest::newRow("fault with neither at nor from_weight")
        << fault + "kind: crash}\n"
        << QByteArray() << QByteArray() << 23 << 11
        << QStringLiteral("either at a time (at: 2m) or when its version's traffic weight");
    QTest::newRow("from_weight of nothing")
        << fault + "kind: crash, from_weight: 0}\n"
        << QByteArray() << QByteArray() << 23 << 94
        << QStringLiteral("from_weight 0 would begin the fault before the version gets any "
                          "traffic");
    QTest::newRow("from_weight above everything")
        << fault + "kind: crash, from_weight: 120}\n"
        << QByteArray() << QByteArray() << 23 << 94
        << QStringLiteral("from_weight 120 is above the maximum 100");
    QTest::newRow("error_rate fault with error_rate and factor")
        << fault + "at: 5s, kind: error_rate, error_rate: 5%, factor: 3}\n"
        << QByteArray() << QByteArray() << 23 << 110 << QStringLiteral("exactly one of error_rate");
    QTest::newRow("error_rate fault with neither error_rate nor factor")
        << fault + "at: 5s, kind: error_rate}\n"
        << QByteArray() << QByteArray() << 23 << 11
        << QStringLiteral("or factor (times the version's own error_rate, like 3)");
    QTest::newRow("error_rate factor out of range")
        << fault + "from_weight: 5, kind: error_rate, factor: -2}\n"
        << QByteArray() << QByteArray() << 23 << 110
        << QStringLiteral("factor -2 is below the minimum 0");
    QTest::newRow("business metric name with a dash")
        << QByteArray() << QByteArray() << QByteArray(", business: {orders-per-request: 3%}") << 20
        << 111 << QStringLiteral("business metric name 'orders-per-request' is not valid");
    QTest::newRow("business metric named like a built-in")
        << QByteArray() << QByteArray() << QByteArray(", business: {cpu: 3%}") << 20 << 111
        << QStringLiteral("would hide the built-in metric");
    QTest::newRow("business ratio above one")
        << QByteArray() << QByteArray() << QByteArray(", business: {orders_per_request: 3.1}") << 20
        << 131 << QStringLiteral("orders_per_request 3.1 is above 1; write a ratio");
    QTest::newRow("business as a list")
        << QByteArray() << QByteArray() << QByteArray(", business: [orders_per_request]") << 20
        << 110 << QStringLiteral("business must map metric names to ratios");
    QTest::newRow("cpu_ms_per_request out of range")
        << QByteArray() << QByteArray("          cpu_ms_per_request: 20000\n") << QByteArray() << 18
        << 31 << QStringLiteral("cpu_ms_per_request 20000 is above the maximum 10000");
    QTest::newRow("memory_mb of nothing")
        << QByteArray() << QByteArray() << QByteArray(", memory_mb: 0") << 20 << 111
        << QStringLiteral("memory_mb 0 is below the minimum 1");
    QTest::newRow("negative smoke traffic")
        << QByteArray() << QByteArray("          smoke_requests_per_second: -5\n") << QByteArray()
        << 18 << 38 << QStringLiteral("smoke_requests_per_second -5 is below the minimum 0");
    QTest::newRow("smoke traffic that is not a number")
        << QByteArray() << QByteArray("          smoke_requests_per_second: lots\n") << QByteArray()
        << 18 << 38 << QStringLiteral("smoke_requests_per_second must be a number, got 'lots'");
    QTest::newRow("start_failure with instances and a duration")
        << fault + "at: 5s, kind: start_failure, instances: 3, duration: 5m}\n"
        << QByteArray() << QByteArray() << 23 << 111 << QStringLiteral("exactly one of instances");
    QTest::newRow("start_failure with neither instances nor a duration")
        << fault + "at: 5s, kind: start_failure}\n"
        << QByteArray() << QByteArray() << 23 << 11
        << QStringLiteral("or duration (how long every one finishing its startup fails, like 5m)");
    QTest::newRow("start_failure of no instances")
        << fault + "at: 5s, kind: start_failure, instances: 0}\n"
        << QByteArray() << QByteArray() << 23 << 108
        << QStringLiteral("instances 0 is below the minimum 1");
    QTest::newRow("start_failure for a duration that is not one")
        << fault + "at: 5s, kind: start_failure, duration: soon}\n"
        << QByteArray() << QByteArray() << 23 << 107
        << QStringLiteral("duration must be a duration such as");
    QTest::newRow("crash with a duration")
        << fault + "at: 5s, kind: crash, instances: 2, duration: 5m}\n"
        << QByteArray() << QByteArray() << 23 << 103
        << QStringLiteral("a crash fault fails its instances once and takes no duration");
}

void TestSimulator::badSettingsAreLocated()
{
    QFETCH(QByteArray, simulatorExtra);
    QFETCH(QByteArray, serviceExtra);
    QFETCH(QByteArray, stableExtra);
    QFETCH(int, line);
    QFETCH(int, column);
    QFETCH(QString, message);

    SimulatedWorkspace w;
    const std::optional<Diagnostic> problem = w.open(workspaceYaml(
        {.simulator = simulatorExtra, .service = serviceExtra, .stable = stableExtra}));
    QVERIFY(problem);
    QVERIFY(!w.session);
    QCOMPARE(problem->file, w.path);
    QVERIFY2(problem->message.contains(message), qPrintable(problem->toString()));
    QCOMPARE(problem->line, line);
    QCOMPARE(problem->column, column);
}

QTEST_GUILESS_MAIN(TestSimulator)
#include "tst_simulator.moc"
