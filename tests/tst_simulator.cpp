#include "simulatorharness.h"

#include <QTest>

using namespace sb;
using namespace std::chrono_literals;
using sb::testing::SimulatedWorkspace;

namespace {

// One service, two versions, no random failures: every change in it is one the test caused.
QByteArray workspaceYaml(const QByteArray &simulatorExtra = {}, const QByteArray &serviceExtra = {},
                         int seed = 7)
{
    return QByteArray(R"(
environments: [production]
adapters:
  - name: sim
    type: simulator
    settings:
      seed: )")
           + QByteArray::number(seed) + R"(
      defaults:
        zones: [a, b]
      services:
        - service: shop
          environment: production
          requests_per_second: 500
          startup: 20s
          startup_jitter: 4s
          drain: 15s
          replace_after: 30s
)" + serviceExtra
           + R"(
          versions:
            - {version: 1.0.0, instances: 4, weight: 100, error_rate: 1%, p50_ms: 50, p99_ms: 400}
            - {version: 1.1.0, instances: 0, weight: 0, error_rate: 10%, p50_ms: 50, p99_ms: 400}
)" + simulatorExtra
           + R"(
services:
  - {name: shop, environment: production, adapter: sim}
)";
}

const ServiceKey shop{QStringLiteral("shop"), QStringLiteral("production")};

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
    void badSettingsAreLocated_data();
    void badSettingsAreLocated();
};

void TestSimulator::sameSeedSameRun()
{
    const QByteArray yaml = workspaceYaml(R"(
      script:
        - {at: 30s, service: shop, environment: production, scale: {version: 1.1.0, instances: 3}}
      faults:
        - {at: 50s, service: shop, environment: production, version: 1.0.0, kind: crash, instances: 1}
)",
                                          "          failures_per_instance_hour: 20\n");
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
}

void TestSimulator::otherSeedOtherRun()
{
    SimulatedWorkspace first, second;
    QVERIFY(!first.open(workspaceYaml({}, {}, 1)));
    QVERIFY(!second.open(workspaceYaml({}, {}, 2)));
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
    QVERIFY(!w.open(workspaceYaml(R"(
      faults:
        - {at: 10s, service: shop, environment: production, version: 1.0.0, kind: crash, instances: 2}
)")));
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
    QVERIFY(!w.open(workspaceYaml("      metrics_window: 5m\n")));
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

void TestSimulator::badSettingsAreLocated_data()
{
    QTest::addColumn<QByteArray>("simulatorExtra");
    QTest::addColumn<QByteArray>("serviceExtra");
    QTest::addColumn<int>("line");
    QTest::addColumn<QString>("message");

    QTest::newRow("unknown service key")
        << QByteArray() << QByteArray("          requests_per_secnd: 5\n") << 18
        << QStringLiteral("did you mean 'requests_per_second'?");
    QTest::newRow("negative drain")
        << QByteArray() << QByteArray("          drain: -5s\n") << 18 << QStringLiteral("drain");
    QTest::newRow("unknown fault kind")
        << QByteArray("      faults:\n        - {at: 5s, service: shop, environment: production, "
                      "version: 1.0.0, kind: crsh}\n")
        << QByteArray() << 23 << QStringLiteral("did you mean 'crash'?");
    QTest::newRow("fault on an undeclared version")
        << QByteArray("      faults:\n        - {at: 5s, service: shop, environment: production, "
                      "version: 3.0.0}\n")
        << QByteArray() << 23
        << QStringLiteral("version '3.0.0' of shop/production is not declared");
    QTest::newRow("script for an unknown service")
        << QByteArray("      script:\n        - {at: 5s, service: shp, environment: production, "
                      "switch: 1.0.0}\n")
        << QByteArray() << 23 << QStringLiteral("did you mean 'shop'?");
    QTest::newRow("script step with two actions")
        << QByteArray("      script:\n        - {at: 5s, service: shop, environment: production, "
                      "switch: 1.0.0, scale: {version: 1.0.0, instances: 2}}\n")
        << QByteArray() << 23 << QStringLiteral("exactly one of scale, weights or switch");
    QTest::newRow("weights not adding up")
        << QByteArray("      script:\n        - {at: 5s, service: shop, environment: production, "
                      "weights: {1.0.0: 50, 1.1.0: 20}}\n")
        << QByteArray() << 23 << QStringLiteral("add up to 70, not 100");
}

void TestSimulator::badSettingsAreLocated()
{
    QFETCH(QByteArray, simulatorExtra);
    QFETCH(QByteArray, serviceExtra);
    QFETCH(int, line);
    QFETCH(QString, message);

    SimulatedWorkspace w;
    const std::optional<Diagnostic> problem = w.open(workspaceYaml(simulatorExtra, serviceExtra));
    QVERIFY(problem);
    QVERIFY(!w.session);
    QCOMPARE(problem->file, w.path);
    QCOMPARE(problem->line, line);
    QVERIFY2(problem->message.contains(message), qPrintable(problem->toString()));
}

QTEST_GUILESS_MAIN(TestSimulator)
#include "tst_simulator.moc"
