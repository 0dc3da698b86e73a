// The rules the console derives from observations: version order, per-version summaries and
// a service's health.

#include "fleet.h"

#include <QTest>

using namespace sb;

namespace {

Instance instance(const char *id, const char *version, InstanceState state)
{
    return {QString::fromLatin1(id), QString::fromLatin1(version), state, {}, QStringLiteral("a")};
}

// A service from a compact picture of its fleet: "R" ready, "S" starting, "D" draining,
// "F" failed, "T" terminated, per version.
ServiceStatus service(const QMap<QString, QString> &fleet,
                      const QMap<QString, double> &weights = {},
                      const QMap<QString, double> &errorRatios = {})
{
    ServiceStatus status;
    status.key = {QStringLiteral("web"), QStringLiteral("production")};
    FleetSnapshot snapshot;
    int n = 0;
    for (auto it = fleet.cbegin(); it != fleet.cend(); ++it) {
        for (QChar c : it.value()) {
            const InstanceState state = c == 'R'   ? InstanceState::Ready
                                        : c == 'S' ? InstanceState::Starting
                                        : c == 'D' ? InstanceState::Draining
                                        : c == 'F' ? InstanceState::Failed
                                                   : InstanceState::Terminated;
            snapshot.instances.append(
                instance(qPrintable(QStringLiteral("i%1").arg(n++)), qPrintable(it.key()), state));
        }
    }
    status.fleet = snapshot;
    if (!weights.isEmpty())
        status.traffic = TrafficSplit{weights, {}};
    if (!errorRatios.isEmpty()) {
        MetricsSnapshot metrics;
        for (auto it = errorRatios.cbegin(); it != errorRatios.cend(); ++it)
            metrics.versions.append(
                VersionMetrics{it.key(), 100, it.value(), 20, 90, 1000, {}, {}, {}});
        status.metrics = metrics;
    }
    return status;
}

} // namespace

class TestFleet : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void versionOrder_data();
    void versionOrder();
    void health_data();
    void health();
    void verdictsNameTheCause();
    void summariesCountLiveInstancesPerVersion();
    void aRoutedVersionWithoutInstancesIsShown();
    void metricsWithoutAValueStayUnknown();
};

void TestFleet::versionOrder_data()
{
    QTest::addColumn<QString>("lower");
    QTest::addColumn<QString>("higher");
    const char *rows[][3] = {
        {"numeric, not textual", "2.9.1", "2.10.0"},
        {"patch", "1.0.0", "1.0.1"},
        {"longer run of digits", "9", "10"},
        {"a pre-release comes before its release", "7.3.0-rc.1", "7.3.0"},
        {"a pre-release comes after the previous release", "7.2.9", "7.3.0-rc.1"},
        {"pre-release numbers", "7.3.0-rc.2", "7.3.0-rc.10"},
        {"beta before rc", "1.0.0-beta.2", "1.0.0-rc.1"},
        {"digit runs longer than 64 bits", "1.99999999999999999999", "1.100000000000000000000"},
        {"leading zeros do not count", "1.02", "1.3"},
    };
    for (const auto &[name, lower, higher] : rows)
        QTest::newRow(name) << QString::fromLatin1(lower) << QString::fromLatin1(higher);
}

void TestFleet::versionOrder()
{
    QFETCH(QString, lower);
    QFETCH(QString, higher);
    QVERIFY(versionLessThan(lower, higher));
    QVERIFY(!versionLessThan(higher, lower));
    QVERIFY(!versionLessThan(lower, lower));
}

void TestFleet::health_data()
{
    QTest::addColumn<ServiceStatus>("status");
    QTest::addColumn<QString>("expected");

    QTest::newRow("no fleet observed") << ServiceStatus{} << "unknown";
    QTest::newRow("all ready, no metrics") << service({{"1", "RRRR"}}) << "healthy";
    QTest::newRow("a release under way is not a problem")
        << service({{"1", "RRRD"}, {"2", "RS"}}) << "healthy";
    QTest::newRow("one failed instance") << service({{"1", "RRRRRRRRRF"}}) << "degraded";
    QTest::newRow("half failed") << service({{"1", "RRFFF"}}) << "critical";
    QTest::newRow("nothing ready yet") << service({{"1", "SSS"}}) << "critical";
    QTest::newRow("only terminated instances") << service({{"1", "TT"}}) << "critical";
    QTest::newRow("error ratio 1 %") << service({{"1", "RR"}}, {}, {{"1", 0.01}}) << "degraded";
    QTest::newRow("error ratio 0.9 %") << service({{"1", "RR"}}, {}, {{"1", 0.009}}) << "healthy";
    QTest::newRow("error ratio 5 %") << service({{"1", "RR"}}, {}, {{"1", 0.05}}) << "critical";
    QTest::newRow("errors weighted by requests")
        << service({{"1", "RR"}, {"2", "R"}}, {}, {{"1", 0.0}, {"2", 0.03}}) << "degraded";
    QTest::newRow("traffic routed to a version with no ready instance")
        << service({{"1", "RRRR"}, {"2", "S"}}, {{"1", 90}, {"2", 10}}) << "critical";
    ServiceStatus metricsDown = service({{"1", "RRRR"}});
    metricsDown.metricsError = QStringLiteral("metrics backend refused the connection");
    QTest::newRow("a backend error") << metricsDown << "degraded";
}

void TestFleet::health()
{
    QFETCH(ServiceStatus, status);
    QFETCH(QString, expected);
    QCOMPARE(toString(healthOf(status)), expected);
}

void TestFleet::verdictsNameTheCause()
{
    QCOMPARE(assessHealth(service({{"1", "RR"}}, {}, {{"1", 0.069}})).reason,
             QStringLiteral("error rate 6.9 % is at or above 5.0 %"));
    QCOMPARE(assessHealth(service({{"1", "RRRRRF"}})).reason, QStringLiteral("1 instance failed"));
    QCOMPARE(assessHealth(service({{"1", "RRRR"}, {"2", "S"}}, {{"1", 90}, {"2", 10}})).reason,
             QStringLiteral("traffic is routed to 2, which has no ready instance"));
    QVERIFY(assessHealth(service({{"1", "RRRR"}})).reason.isEmpty());
}

void TestFleet::summariesCountLiveInstancesPerVersion()
{
    const ServiceStatus status
        = service({{"2.10.0", "RSD"}, {"2.9.1", "RRFT"}}, {{"2.9.1", 75}, {"2.10.0", 25}},
                  {{"2.9.1", 0.002}, {"2.10.0", 0.01}});
    const QList<VersionSummary> summaries = summarizeVersions(status);
    QCOMPARE(summaries.size(), 2);
    QCOMPARE(summaries[0].version, QStringLiteral("2.9.1"));
    QCOMPARE(summaries[0].total, 3); // the terminated one is history
    QCOMPARE(summaries[0].ready, 2);
    QCOMPARE(summaries[0].failed, 1);
    QCOMPARE(summaries[0].weightPercent, 75.0);
    QCOMPARE(summaries[1].version, QStringLiteral("2.10.0"));
    QCOMPARE(summaries[1].starting, 1);
    QCOMPARE(summaries[1].draining, 1);
    QCOMPARE(*summaries[1].errorRatio, 0.01);
    QCOMPARE(*summaries[1].observedSharePercent, 50.0); // both versions served 100 req/s
}

void TestFleet::aRoutedVersionWithoutInstancesIsShown()
{
    const QList<VersionSummary> summaries
        = summarizeVersions(service({{"1", "RR"}}, {{"1", 95}, {"2", 5}}));
    QCOMPARE(summaries.size(), 2);
    QCOMPARE(summaries[1].version, QStringLiteral("2"));
    QCOMPARE(summaries[1].total, 0);
    QCOMPARE(summaries[1].weightPercent, 5.0);
    QVERIFY(!summaries[1].errorRatio);
}

void TestFleet::metricsWithoutAValueStayUnknown()
{
    // Prometheus answers NaN for a ratio or a quantile over a version that served nothing of
    // note; that must neither show as "nan %" nor pull the service's error rate anywhere.
    ServiceStatus status
        = service({{"1", "RR"}, {"2", "R"}}, {{"1", 90}, {"2", 10}}, {{"1", 0.02}, {"2", 0}});
    VersionMetrics &unknown = status.metrics->versions[1];
    unknown.errorRatio = std::numeric_limits<double>::quiet_NaN();
    unknown.p99Ms = std::numeric_limits<double>::quiet_NaN();
    unknown.noData.insert(QStringLiteral("error_rate"), QStringLiteral("Prometheus returned NaN"));
    QCOMPARE(status.metrics->overallErrorRatio().value_or(-1), 0.02);
    const QList<VersionSummary> summaries = summarizeVersions(status);
    QCOMPARE(summaries.size(), 2);
    QVERIFY(!summaries[1].errorRatio);
    QVERIFY(!summaries[1].p99Ms);
    QCOMPARE(summaries[0].errorRatio.value_or(-1), 0.02);
}

QTEST_GUILESS_MAIN(TestFleet)
#include "tst_fleet.moc"
