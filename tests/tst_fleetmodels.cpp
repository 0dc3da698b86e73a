#include "instancemodel.h"
#include "modeldump.h"
#include "servicefilterproxy.h"
#include "servicelistmodel.h"
#include "versionmodel.h"

#include <QAbstractItemModelTester>
#include <QRegularExpression>
#include <QSignalSpy>
#include <QTest>

#include <algorithm>
#include <limits>

using namespace sb;

namespace {

const TimePoint t0 = fromMSecsSinceEpoch(1'763'888'045'000);

Instance inst(const QString &id, const QString &version, InstanceState state = InstanceState::Ready,
              const QString &zone = QStringLiteral("eu-1a"))
{
    return Instance{id, version, state, t0, zone};
}

// `count` instances named prefix-00, prefix-01, ...
QList<Instance> instances(const QString &prefix, const QString &version, int count,
                          InstanceState state = InstanceState::Ready, int firstNumber = 0)
{
    QList<Instance> result;
    for (int i = 0; i < count; ++i)
        result << inst(
            QStringLiteral("%1-%2").arg(prefix).arg(firstNumber + i, 2, 10, QLatin1Char('0')),
            version, state);
    return result;
}

FleetSnapshot makeFleet(const ServiceKey &key, QList<Instance> list)
{
    std::sort(list.begin(), list.end(),
              [](const Instance &a, const Instance &b) { return a.id < b.id; });
    return FleetSnapshot{key, t0, list};
}

ServiceStatus makeService(const QString &name, const QString &environment,
                          const QList<Instance> &list, Strategy strategy = Strategy::Rolling)
{
    ServiceStatus status;
    status.key = {name, environment};
    status.strategy = strategy;
    status.fleet = makeFleet(status.key, list);
    return status;
}

// A service whose fleet adapter has not answered: health unknown.
ServiceStatus blindService(const QString &name, const QString &environment)
{
    ServiceStatus status;
    status.key = {name, environment};
    status.fleetError = QStringLiteral("fleet source timed out");
    return status;
}

ServiceStatus healthyService(const QString &name, const QString &env = QStringLiteral("prod"))
{
    return makeService(name, env, instances(name, QStringLiteral("1.0.0"), 3));
}
ServiceStatus degradedService(const QString &name, const QString &env = QStringLiteral("prod"))
{
    return makeService(name, env,
                       instances(name, QStringLiteral("1.0.0"), 2)
                           + instances(name, QStringLiteral("1.0.0"), 1, InstanceState::Failed, 2));
}
ServiceStatus criticalService(const QString &name, const QString &env = QStringLiteral("prod"))
{
    return makeService(name, env,
                       instances(name, QStringLiteral("1.0.0"), 2, InstanceState::Starting));
}

ConsoleSnapshot console(const QList<ServiceStatus> &services)
{
    return ConsoleSnapshot{t0, services};
}

QStringList lines(const QAbstractItemModel &model, int role = Qt::DisplayRole)
{
    return dumpModel(model, role).split(QLatin1Char('\n'));
}

// The first column of every row, for asserting which rows a filter kept.
QStringList firstColumn(const QAbstractItemModel &model)
{
    QStringList result;
    for (int row = 0; row < model.rowCount(); ++row)
        result << model.index(row, 0).data().toString() + QLatin1Char('/')
                      + model.index(row, 1).data().toString();
    return result;
}

// Rows named by rowsInserted / rowsRemoved emissions, as "first-last".
QStringList ranges(const QSignalSpy &spy)
{
    QStringList result;
    for (const QList<QVariant> &args : spy)
        result << QStringLiteral("%1-%2").arg(args.at(1).toInt()).arg(args.at(2).toInt());
    return result;
}

// dataChanged emissions as "row,col-row,col".
QStringList changes(const QSignalSpy &spy)
{
    QStringList result;
    for (const QList<QVariant> &args : spy) {
        const auto topLeft = args.at(0).value<QModelIndex>();
        const auto bottomRight = args.at(1).value<QModelIndex>();
        result << QStringLiteral("%1,%2-%3,%4")
                      .arg(topLeft.row())
                      .arg(topLeft.column())
                      .arg(bottomRight.row())
                      .arg(bottomRight.column());
    }
    return result;
}

const QString dash = QString(QChar(0x2014));

// The four services most tests start from: one of each health.
ServiceStatus payments()
{
    // The terminated 2.2.0 instance is history: it must count toward nothing.
    return makeService(QStringLiteral("payments"), QStringLiteral("prod"),
                       instances(QStringLiteral("p"), QStringLiteral("2.3.1"), 3)
                           + QList<Instance>{inst(QStringLiteral("p-03"), QStringLiteral("2.4.0")),
                                             inst(QStringLiteral("p-04"), QStringLiteral("2.2.0"),
                                                  InstanceState::Terminated)},
                       Strategy::Canary);
}
ServiceStatus search(bool fixed = false)
{
    return makeService(QStringLiteral("search"), QStringLiteral("prod"),
                       instances(QStringLiteral("s"), QStringLiteral("1.9.0"), 2)
                           + instances(QStringLiteral("s"), QStringLiteral("1.9.0"), 1,
                                       fixed ? InstanceState::Ready : InstanceState::Failed, 2));
}
ServiceStatus checkout(InstanceState state = InstanceState::Starting)
{
    return makeService(QStringLiteral("checkout"), QStringLiteral("staging"),
                       instances(QStringLiteral("c"), QStringLiteral("5.0.0"), 2, state),
                       Strategy::BlueGreen);
}
ServiceStatus ledger()
{
    return blindService(QStringLiteral("ledger"), QStringLiteral("prod"));
}

// payments/prod mid-canary, with traffic and metrics.
ServiceStatus canaryService()
{
    ServiceStatus status = makeService(
        QStringLiteral("payments"), QStringLiteral("prod"),
        instances(QStringLiteral("a"), QStringLiteral("2.3.1"), 3)
            + instances(QStringLiteral("a"), QStringLiteral("2.3.1"), 1, InstanceState::Draining, 3)
            + instances(QStringLiteral("b"), QStringLiteral("2.4.0"), 1)
            + instances(QStringLiteral("b"), QStringLiteral("2.4.0"), 1, InstanceState::Starting,
                        1),
        Strategy::Canary);
    TrafficSplit split;
    split.weightPercent = {{QStringLiteral("2.3.1"), 90.0},
                           {QStringLiteral("2.4.0"), 5.0},
                           {QStringLiteral("2.5.0"), 5.0}};
    status.traffic = split;
    MetricsSnapshot metrics;
    metrics.at = t0;
    metrics.interval = Duration(60'000);
    metrics.versions
        = {VersionMetrics{QStringLiteral("2.3.1"), 94.8, 0.0021, 40, 182.4, 5688, {}, {}, {}},
           VersionMetrics{QStringLiteral("2.4.0"), 5.2, 0.01, 45, 240, 312, {}, {}, {}}};
    status.metrics = metrics;
    return status;
}

} // namespace

class TestFleetModels : public QObject
{
    Q_OBJECT

private slots:
    void serviceListShowsOneRowPerService();
    void serviceListRefreshDiffsInsteadOfResetting();
    void serviceListInsertsAndRemovesServices();
    void serviceListFollowsAReorderedWorkspace();
    void serviceListAppliesALargeConsoleQuickly();

    void proxyFiltersByNameEnvironmentAndHealth();
    void proxySortsByHealthThenName();

    void versionModelShowsSetAndObservedTraffic();
    void versionModelRefreshDiffsAndSwitchResets();

    void instanceModelOrdersByVersionThenId();
    void instanceModelDiffsById();
    void instanceModelAppliesALargeFleetWithoutReset();
};

void TestFleetModels::serviceListShowsOneRowPerService()
{
    ServiceListModel model;
    QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
    model.setSnapshot(console({payments(), search(), checkout(), ledger()}));

    QCOMPARE(lines(model),
             QStringList({
                 QStringLiteral("Service | Environment | Versions | Health | Strategy | Instances"),
                 QStringLiteral("payments | prod | 2.3.1, 2.4.0 | Healthy | Canary | 4/4"),
                 QStringLiteral("search | prod | 1.9.0 | Degraded | Rolling | 2/3"),
                 QStringLiteral("checkout | staging | 5.0.0 | Critical | Blue-green | 0/2"),
                 QStringLiteral("ledger | prod | %1 | Unknown | %1 | %1").arg(dash),
             }));
    QCOMPARE(lines(model, ServiceListModel::SortRole),
             QStringList({
                 QStringLiteral("Service | Environment | Versions | Health | Strategy | Instances"),
                 QStringLiteral("payments | prod | 2 | 0 | 3 | 4"),
                 QStringLiteral("search | prod | 1 | 2 | 1 | 3"),
                 QStringLiteral("checkout | staging | 1 | 3 | 2 | 2"),
                 QStringLiteral("ledger | prod | 0 | 1 | 0 | 0"),
             }));

    const QModelIndex searchRow = model.index(1, ServiceListModel::NameColumn);
    QCOMPARE(searchRow.data(ServiceListModel::ServiceIdRole).toString(),
             QStringLiteral("search/prod"));
    QCOMPARE(searchRow.data(ServiceListModel::HealthRole).toInt(), int(Health::Degraded));
    QCOMPARE(searchRow.data(ServiceListModel::ReadyCountRole).toInt(), 2);
    QCOMPARE(searchRow.data(ServiceListModel::LiveCountRole).toInt(), 3);
    QCOMPARE(searchRow.data(ServiceListModel::StrategyRole).toInt(), int(Strategy::Rolling));
    QCOMPARE(searchRow.data(ServiceListModel::ServiceKeyRole).value<ServiceKey>(),
             (ServiceKey{QStringLiteral("search"), QStringLiteral("prod")}));
    QCOMPARE(model.index(3, ServiceListModel::HealthColumn).data(Qt::ToolTipRole).toString(),
             QStringLiteral("Fleet: fleet source timed out"));

    QCOMPARE(model.keyAt(2), (ServiceKey{QStringLiteral("checkout"), QStringLiteral("staging")}));
    QCOMPARE(model.rowOf({QStringLiteral("ledger"), QStringLiteral("prod")}), 3);
    QCOMPARE(model.rowOf({QStringLiteral("ledger"), QStringLiteral("staging")}), -1);
}

void TestFleetModels::serviceListRefreshDiffsInsteadOfResetting()
{
    ServiceListModel model;
    QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
    model.setSnapshot(console({payments(), search(), checkout(), ledger()}));

    QSignalSpy resets(&model, &QAbstractItemModel::modelReset);
    QSignalSpy layouts(&model, &QAbstractItemModel::layoutChanged);
    QSignalSpy inserts(&model, &QAbstractItemModel::rowsInserted);
    QSignalSpy removals(&model, &QAbstractItemModel::rowsRemoved);
    QSignalSpy changed(&model, &QAbstractItemModel::dataChanged);
    const QPersistentModelIndex ledgerRow = model.index(3, ServiceListModel::NameColumn);
    const QPersistentModelIndex searchRow = model.index(1, ServiceListModel::HealthColumn);

    // The same snapshot again: nothing to say.
    model.setSnapshot(console({payments(), search(), checkout(), ledger()}));
    QCOMPARE(changed.size(), 0);

    // A timestamp nobody displays changes: still nothing.
    ServiceStatus laterPayments = payments();
    laterPayments.fleet->takenAt = t0 + Duration(5000);
    laterPayments.fleet->instances[0].since = t0 + Duration(5000);
    model.setSnapshot(console({laterPayments, search(), checkout(), ledger()}));
    QCOMPARE(changed.size(), 0);

    // search recovers (health and counts) and ledger's fleet answers (all but name and
    // environment); payments and checkout in between stay as they were.
    const ServiceStatus ledgerSeen = healthyService(QStringLiteral("ledger"));
    model.setSnapshot(console({payments(), search(true), checkout(), ledgerSeen}));
    QCOMPARE(changes(changed), QStringList({QStringLiteral("1,3-1,5"), QStringLiteral("3,2-3,5")}));
    QCOMPARE(lines(model).mid(1),
             QStringList({
                 QStringLiteral("payments | prod | 2.3.1, 2.4.0 | Healthy | Canary | 4/4"),
                 QStringLiteral("search | prod | 1.9.0 | Healthy | Rolling | 3/3"),
                 QStringLiteral("checkout | staging | 5.0.0 | Critical | Blue-green | 0/2"),
                 QStringLiteral("ledger | prod | 1.0.0 | Healthy | Rolling | 3/3"),
             }));

    // Only the strategy of payments changes: one cell.
    changed.clear();
    ServiceStatus rolling = payments();
    rolling.strategy = Strategy::Rolling;
    model.setSnapshot(console({rolling, search(true), checkout(), ledgerSeen}));
    QCOMPARE(changes(changed), QStringList({QStringLiteral("0,4-0,4")}));

    // Adjacent rows that changed the same columns share one signal.
    changed.clear();
    model.setSnapshot(console({rolling, search(), checkout(InstanceState::Ready), ledgerSeen}));
    QCOMPARE(changes(changed), QStringList({QStringLiteral("1,3-2,5")}));

    QCOMPARE(resets.size(), 0);
    QCOMPARE(layouts.size(), 0);
    QCOMPARE(inserts.size(), 0);
    QCOMPARE(removals.size(), 0);
    QVERIFY(ledgerRow.isValid());
    QCOMPARE(ledgerRow.row(), 3);
    QCOMPARE(ledgerRow.data().toString(), QStringLiteral("ledger"));
    QCOMPARE(searchRow.row(), 1);
    QCOMPARE(searchRow.data().toString(), QStringLiteral("Degraded"));
}

void TestFleetModels::serviceListInsertsAndRemovesServices()
{
    ServiceListModel model;
    QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
    model.setSnapshot(console({payments(), search(), checkout()}));

    QSignalSpy resets(&model, &QAbstractItemModel::modelReset);
    QSignalSpy inserts(&model, &QAbstractItemModel::rowsInserted);
    QSignalSpy removals(&model, &QAbstractItemModel::rowsRemoved);
    QSignalSpy changed(&model, &QAbstractItemModel::dataChanged);
    const QPersistentModelIndex searchRow = model.index(1, ServiceListModel::NameColumn);

    // ledger joins the workspace between payments and search.
    model.setSnapshot(console({payments(), ledger(), search(), checkout()}));
    QCOMPARE(ranges(inserts), QStringList({QStringLiteral("1-1")}));
    QCOMPARE(removals.size(), 0);
    QCOMPARE(searchRow.row(), 2);
    QCOMPARE(searchRow.data().toString(), QStringLiteral("search"));
    QCOMPARE(model.rowOf({QStringLiteral("search"), QStringLiteral("prod")}), 2);

    // payments leaves and two services arrive at the end, in one snapshot.
    inserts.clear();
    model.setSnapshot(
        console({ledger(), search(), checkout(), healthyService(QStringLiteral("orders")),
                 healthyService(QStringLiteral("orders"), QStringLiteral("staging"))}));
    QCOMPARE(ranges(removals), QStringList({QStringLiteral("0-0")}));
    QCOMPARE(ranges(inserts), QStringList({QStringLiteral("3-4")}));
    QCOMPARE(searchRow.row(), 1);
    QCOMPARE(searchRow.data().toString(), QStringLiteral("search"));
    QCOMPARE(firstColumn(model),
             QStringList({QStringLiteral("ledger/prod"), QStringLiteral("search/prod"),
                          QStringLiteral("checkout/staging"), QStringLiteral("orders/prod"),
                          QStringLiteral("orders/staging")}));
    QCOMPARE(model.rowOf({QStringLiteral("payments"), QStringLiteral("prod")}), -1);
    QCOMPARE(model.rowOf({QStringLiteral("orders"), QStringLiteral("staging")}), 4);
    QCOMPARE(changed.size(), 0);
    QCOMPARE(resets.size(), 0);

    // Everything goes.
    removals.clear();
    model.setSnapshot(console({}));
    QCOMPARE(ranges(removals), QStringList({QStringLiteral("0-4")}));
    QCOMPARE(model.rowCount(), 0);
    QVERIFY(!searchRow.isValid());
    QCOMPARE(resets.size(), 0);
}

void TestFleetModels::serviceListFollowsAReorderedWorkspace()
{
    ServiceListModel model;
    QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
    model.setSnapshot(console({payments(), search(), checkout(), ledger()}));

    QSignalSpy resets(&model, &QAbstractItemModel::modelReset);
    QSignalSpy layouts(&model, &QAbstractItemModel::layoutChanged);
    const QPersistentModelIndex paymentsRow = model.index(0, ServiceListModel::NameColumn);

    model.setSnapshot(console({ledger(), search(), checkout(), payments()}));
    QCOMPARE(layouts.size(), 1);
    QCOMPARE(resets.size(), 0);
    QCOMPARE(paymentsRow.row(), 3);
    QCOMPARE(paymentsRow.data().toString(), QStringLiteral("payments"));
    QCOMPARE(firstColumn(model),
             QStringList({QStringLiteral("ledger/prod"), QStringLiteral("search/prod"),
                          QStringLiteral("checkout/staging"), QStringLiteral("payments/prod")}));
    QCOMPARE(model.rowOf({QStringLiteral("payments"), QStringLiteral("prod")}), 3);
}

void TestFleetModels::serviceListAppliesALargeConsoleQuickly()
{
    // 200 services of 50 instances; each refresh moves one instance per tenth service.
    auto snapshot = [](int generation) {
        QList<ServiceStatus> services;
        for (int s = 0; s < 200; ++s) {
            QList<Instance> list
                = instances(QStringLiteral("svc%1").arg(s), QStringLiteral("3.1.0"), 45)
                  + instances(QStringLiteral("svc%1").arg(s), QStringLiteral("3.2.0"), 5,
                              InstanceState::Ready, 45);
            if (s % 10 == 0 && generation % 2 == 1)
                list[7].state = InstanceState::Draining;
            services << makeService(QStringLiteral("svc%1").arg(s, 3, 10, QLatin1Char('0')),
                                    QStringLiteral("prod"), list);
        }
        return console(services);
    };
    const ConsoleSnapshot first = snapshot(0);
    const ConsoleSnapshot second = snapshot(1);

    ServiceListModel model;
    QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
    model.setSnapshot(first);
    QSignalSpy resets(&model, &QAbstractItemModel::modelReset);
    QSignalSpy changed(&model, &QAbstractItemModel::dataChanged);
    model.setSnapshot(second);
    QCOMPARE(resets.size(), 0);
    QCOMPARE(changed.size(), 20);
    QCOMPARE(model.index(10, ServiceListModel::InstancesColumn).data().toString(),
             QStringLiteral("49/50"));
}

void TestFleetModels::proxyFiltersByNameEnvironmentAndHealth()
{
    ServiceListModel source;
    ServiceFilterProxy proxy;
    proxy.setSourceModel(&source);
    QAbstractItemModelTester sourceTester(&source,
                                          QAbstractItemModelTester::FailureReportingMode::QtTest);
    QAbstractItemModelTester proxyTester(&proxy,
                                         QAbstractItemModelTester::FailureReportingMode::QtTest);
    source.setSnapshot(console(
        {healthyService(QStringLiteral("payments")),
         degradedService(QStringLiteral("payments"), QStringLiteral("staging")),
         criticalService(QStringLiteral("search")), healthyService(QStringLiteral("PayGate")),
         blindService(QStringLiteral("ledger"), QStringLiteral("prod")),
         criticalService(QStringLiteral("billing"))}));
    QCOMPARE(proxy.rowCount(), 6);

    proxy.setNameFilter(QStringLiteral("PAY"));
    QCOMPARE(firstColumn(proxy),
             QStringList({QStringLiteral("payments/prod"), QStringLiteral("payments/staging"),
                          QStringLiteral("PayGate/prod")}));

    proxy.setEnvironmentFilter(QStringLiteral("staging"));
    QCOMPARE(firstColumn(proxy), QStringList({QStringLiteral("payments/staging")}));

    proxy.setNameFilter(QString());
    proxy.setEnvironmentFilter(QString());
    proxy.setHealthFilter(ServiceFilterProxy::HealthFilter::NeedsAttention);
    QCOMPARE(firstColumn(proxy),
             QStringList({QStringLiteral("payments/staging"), QStringLiteral("search/prod"),
                          QStringLiteral("ledger/prod"), QStringLiteral("billing/prod")}));

    proxy.setHealthFilter(ServiceFilterProxy::HealthFilter::Critical);
    QCOMPARE(firstColumn(proxy),
             QStringList({QStringLiteral("search/prod"), QStringLiteral("billing/prod")}));

    proxy.setNameFilter(QStringLiteral("bill"));
    QCOMPARE(firstColumn(proxy), QStringList({QStringLiteral("billing/prod")}));

    // A live refresh that makes search healthy again takes it out of a "critical" view...
    proxy.setNameFilter(QString());
    source.setSnapshot(console(
        {healthyService(QStringLiteral("payments")),
         degradedService(QStringLiteral("payments"), QStringLiteral("staging")),
         healthyService(QStringLiteral("search")), healthyService(QStringLiteral("PayGate")),
         blindService(QStringLiteral("ledger"), QStringLiteral("prod")),
         criticalService(QStringLiteral("billing"))}));
    QCOMPARE(firstColumn(proxy), QStringList({QStringLiteral("billing/prod")}));

    // ...and into a "healthy" one.
    proxy.setHealthFilter(ServiceFilterProxy::HealthFilter::Healthy);
    QCOMPARE(firstColumn(proxy),
             QStringList({QStringLiteral("payments/prod"), QStringLiteral("search/prod"),
                          QStringLiteral("PayGate/prod")}));
    proxy.setHealthFilter(ServiceFilterProxy::HealthFilter::Unknown);
    QCOMPARE(firstColumn(proxy), QStringList({QStringLiteral("ledger/prod")}));
}

void TestFleetModels::proxySortsByHealthThenName()
{
    ServiceListModel source;
    ServiceFilterProxy proxy;
    proxy.setSourceModel(&source);
    QAbstractItemModelTester sourceTester(&source,
                                          QAbstractItemModelTester::FailureReportingMode::QtTest);
    QAbstractItemModelTester proxyTester(&proxy,
                                         QAbstractItemModelTester::FailureReportingMode::QtTest);
    auto services = [](bool payGateCritical) {
        return console({healthyService(QStringLiteral("payments")),
                        degradedService(QStringLiteral("payments"), QStringLiteral("staging")),
                        criticalService(QStringLiteral("search")),
                        payGateCritical ? criticalService(QStringLiteral("PayGate"))
                                        : healthyService(QStringLiteral("PayGate")),
                        blindService(QStringLiteral("ledger"), QStringLiteral("prod")),
                        criticalService(QStringLiteral("billing"))});
    };
    source.setSnapshot(services(false));

    // Worst first; equal health keeps names A to Z even though the column sorts descending.
    proxy.sort(ServiceListModel::HealthColumn, Qt::DescendingOrder);
    const QString header
        = QStringLiteral("Service | Environment | Versions | Health | Strategy | Instances");
    QCOMPARE(lines(proxy),
             QStringList({
                 header,
                 QStringLiteral("billing | prod | 1.0.0 | Critical | Rolling | 0/2"),
                 QStringLiteral("search | prod | 1.0.0 | Critical | Rolling | 0/2"),
                 QStringLiteral("payments | staging | 1.0.0 | Degraded | Rolling | 2/3"),
                 QStringLiteral("ledger | prod | %1 | Unknown | %1 | %1").arg(dash),
                 QStringLiteral("PayGate | prod | 1.0.0 | Healthy | Rolling | 3/3"),
                 QStringLiteral("payments | prod | 1.0.0 | Healthy | Rolling | 3/3"),
             }));

    proxy.sort(ServiceListModel::HealthColumn, Qt::AscendingOrder);
    QCOMPARE(firstColumn(proxy),
             QStringList({QStringLiteral("PayGate/prod"), QStringLiteral("payments/prod"),
                          QStringLiteral("ledger/prod"), QStringLiteral("payments/staging"),
                          QStringLiteral("billing/prod"), QStringLiteral("search/prod")}));

    // The order follows a live refresh: PayGate falls over and joins the critical group.
    proxy.sort(ServiceListModel::HealthColumn, Qt::DescendingOrder);
    source.setSnapshot(services(true));
    QCOMPARE(firstColumn(proxy),
             QStringList({QStringLiteral("billing/prod"), QStringLiteral("PayGate/prod"),
                          QStringLiteral("search/prod"), QStringLiteral("payments/staging"),
                          QStringLiteral("ledger/prod"), QStringLiteral("payments/prod")}));

    // Sorting by name alone is case-insensitive, environment breaking the tie.
    proxy.sort(ServiceListModel::NameColumn, Qt::AscendingOrder);
    QCOMPARE(firstColumn(proxy),
             QStringList({QStringLiteral("billing/prod"), QStringLiteral("ledger/prod"),
                          QStringLiteral("PayGate/prod"), QStringLiteral("payments/prod"),
                          QStringLiteral("payments/staging"), QStringLiteral("search/prod")}));
}

void TestFleetModels::versionModelShowsSetAndObservedTraffic()
{
    VersionModel model;
    QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
    model.setService(canaryService());

    // 2.5.0 has router weight but no instance: exactly what the operator must see.
    const QString header
        = QStringLiteral("Version | Instances | Traffic set | Traffic observed | Error rate | p99");
    QCOMPARE(lines(model),
             QStringList({
                 header,
                 QStringLiteral("2.3.1 | 3 ready / 4 | 90 % | 94.8 % | 0.21 % | 182 ms"),
                 QStringLiteral("2.4.0 | 1 ready / 2 | 5 % | 5.2 % | 1.00 % | 240 ms"),
                 QStringLiteral("2.5.0 | 0 ready / 0 | 5 % | %1 | %1 | %1").arg(dash),
             }));

    const QModelIndex stable = model.index(0, VersionModel::InstancesColumn);
    QCOMPARE(stable.data(VersionModel::VersionRole).toString(), QStringLiteral("2.3.1"));
    QCOMPARE(stable.data(VersionModel::ReadyRole).toInt(), 3);
    QCOMPARE(stable.data(VersionModel::TotalRole).toInt(), 4);
    QCOMPARE(stable.data(VersionModel::DrainingRole).toInt(), 1);
    QCOMPARE(stable.data(VersionModel::StartingRole).toInt(), 0);
    QCOMPARE(stable.data(VersionModel::FailedRole).toInt(), 0);
    QCOMPARE(stable.data(Qt::ToolTipRole).toString(),
             QStringLiteral("3 ready, 0 starting, 1 draining, 0 failed"));
    QCOMPARE(stable.data(VersionModel::WeightRole).toDouble(), 90.0);
    QCOMPARE(stable.data(VersionModel::ObservedShareRole).toDouble(), 94.8);
    QCOMPARE(stable.data(VersionModel::ErrorRatioRole).toDouble(), 0.0021);
    QCOMPARE(stable.data(VersionModel::P99Role).toDouble(), 182.4);
    QCOMPARE(model.index(1, 0).data(VersionModel::StartingRole).toInt(), 1);
    QCOMPARE(model.data(model.index(0, VersionModel::P99Column), Qt::TextAlignmentRole)
                 .value<Qt::Alignment>(),
             Qt::AlignRight | Qt::AlignVCenter);

    const QModelIndex unrouted = model.index(2, 0);
    QVERIFY(!unrouted.data(VersionModel::ObservedShareRole).isValid());
    QVERIFY(!unrouted.data(VersionModel::ErrorRatioRole).isValid());
    QVERIFY(!unrouted.data(VersionModel::P99Role).isValid());
    QCOMPARE(unrouted.data(VersionModel::WeightRole).toDouble(), 5.0);
    QCOMPARE(model.rowOf(QStringLiteral("2.5.0")), 2);
    QCOMPARE(model.versionAt(1), QStringLiteral("2.4.0"));

    // A service without metrics or traffic: no invented numbers.
    model.setService(makeService(QStringLiteral("search"), QStringLiteral("prod"),
                                 instances(QStringLiteral("s"), QStringLiteral("1.10.0"), 2)
                                     + instances(QStringLiteral("t"), QStringLiteral("1.9.2"), 1)));
    QCOMPARE(lines(model),
             QStringList({
                 header,
                 QStringLiteral("1.9.2 | 1 ready / 1 | 0 % | %1 | %1 | %1").arg(dash),
                 QStringLiteral("1.10.0 | 2 ready / 2 | 0 % | %1 | %1 | %1").arg(dash),
             }));
}

void TestFleetModels::versionModelRefreshDiffsAndSwitchResets()
{
    VersionModel model;
    QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
    model.setService(canaryService());

    QSignalSpy resets(&model, &QAbstractItemModel::modelReset);
    QSignalSpy changed(&model, &QAbstractItemModel::dataChanged);
    QSignalSpy inserts(&model, &QAbstractItemModel::rowsInserted);
    QSignalSpy removals(&model, &QAbstractItemModel::rowsRemoved);
    const QPersistentModelIndex canaryRow = model.index(1, VersionModel::VersionColumn);

    // The canary's error rate rises and a 2.6.0 gets a sliver of weight; 2.5.0 loses its weight
    // and, having no instances, leaves.
    ServiceStatus next = canaryService();
    next.metrics->versions[1].errorRatio = 0.03;
    next.traffic->weightPercent.remove(QStringLiteral("2.5.0"));
    next.traffic->weightPercent.insert(QStringLiteral("2.6.0"), 2.5);
    model.setService(next);

    QCOMPARE(resets.size(), 0);
    QCOMPARE(changes(changed), QStringList({QStringLiteral("1,4-1,4")}));
    QCOMPARE(ranges(removals), QStringList({QStringLiteral("2-2")}));
    QCOMPARE(ranges(inserts), QStringList({QStringLiteral("2-2")}));
    QCOMPARE(canaryRow.row(), 1);
    QCOMPARE(lines(model).mid(2),
             QStringList({
                 QStringLiteral("2.4.0 | 1 ready / 2 | 5 % | 5.2 % | 3.00 % | 240 ms"),
                 QStringLiteral("2.6.0 | 0 ready / 0 | 2.5 % | %1 | %1 | %1").arg(dash),
             }));

    // Another service is another table.
    model.setService(ledger());
    QCOMPARE(resets.size(), 1);
    QCOMPARE(model.rowCount(), 0);
    QCOMPARE(model.service(), (ServiceKey{QStringLiteral("ledger"), QStringLiteral("prod")}));
}

void TestFleetModels::instanceModelOrdersByVersionThenId()
{
    InstanceModel model;
    QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
    const ServiceKey key{QStringLiteral("payments"), QStringLiteral("prod")};
    // Deliberately not in id order: the model must not depend on the adapter's order.
    FleetSnapshot fleet{key,
                        t0,
                        {inst(QStringLiteral("a-3"), QStringLiteral("2.10.0")),
                         inst(QStringLiteral("a-1"), QStringLiteral("2.10.0")),
                         inst(QStringLiteral("a-4"), QStringLiteral("2.9.1"),
                              InstanceState::Terminated, QStringLiteral("eu-1b")),
                         inst(QStringLiteral("a-2"), QStringLiteral("2.9.1"))}};
    model.setFleet(fleet);

    QCOMPARE(lines(model),
             QStringList({QStringLiteral("Instance"), QStringLiteral("a-2"), QStringLiteral("a-4"),
                          QStringLiteral("a-1"), QStringLiteral("a-3")}));
    QCOMPARE(
        lines(model, InstanceModel::VersionRole),
        QStringList({QStringLiteral("Instance"), QStringLiteral("2.9.1"), QStringLiteral("2.9.1"),
                     QStringLiteral("2.10.0"), QStringLiteral("2.10.0")}));
    const QModelIndex terminated = model.index(1);
    QCOMPARE(terminated.data(InstanceModel::IdRole).toString(), QStringLiteral("a-4"));
    QCOMPARE(terminated.data(InstanceModel::StateRole).toInt(), int(InstanceState::Terminated));
    QCOMPARE(terminated.data(InstanceModel::SinceRole).toLongLong(), toMSecsSinceEpoch(t0));
    QCOMPARE(terminated.data(InstanceModel::ZoneRole).toString(), QStringLiteral("eu-1b"));
    QCOMPARE(model.rowOf(QStringLiteral("a-1")), 2);
    QCOMPARE(model.instanceAt(3).id, QStringLiteral("a-3"));

    // An adapter that reports one instance twice: the first report wins.
    QTest::ignoreMessage(QtWarningMsg, QRegularExpression(QStringLiteral("duplicate row.*a-2")));
    fleet.instances << inst(QStringLiteral("a-2"), QStringLiteral("2.10.0"));
    model.setFleet(fleet);
    QCOMPARE(model.rowCount(), 4);
    QCOMPARE(model.index(0).data(InstanceModel::VersionRole).toString(), QStringLiteral("2.9.1"));
}

void TestFleetModels::instanceModelDiffsById()
{
    InstanceModel model;
    QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
    const ServiceKey key{QStringLiteral("payments"), QStringLiteral("prod")};
    QList<Instance> list = {inst(QStringLiteral("a-1"), QStringLiteral("2.3.1")),
                            inst(QStringLiteral("a-2"), QStringLiteral("2.3.1")),
                            inst(QStringLiteral("a-3"), QStringLiteral("2.3.1")),
                            inst(QStringLiteral("b-1"), QStringLiteral("2.4.0")),
                            inst(QStringLiteral("b-2"), QStringLiteral("2.4.0"))};
    model.setFleet(makeFleet(key, list));

    QSignalSpy resets(&model, &QAbstractItemModel::modelReset);
    QSignalSpy layouts(&model, &QAbstractItemModel::layoutChanged);
    QSignalSpy changed(&model, &QAbstractItemModel::dataChanged);
    QSignalSpy inserts(&model, &QAbstractItemModel::rowsInserted);
    QSignalSpy removals(&model, &QAbstractItemModel::rowsRemoved);
    const QPersistentModelIndex b2 = model.index(4);

    // One instance starts draining: one dataChanged, for its row only.
    list[1].state = InstanceState::Draining;
    model.setFleet(makeFleet(key, list));
    QCOMPARE(changes(changed), QStringList({QStringLiteral("1,0-1,0")}));
    QCOMPARE(model.index(1).data(InstanceModel::StateRole).toInt(), int(InstanceState::Draining));
    QCOMPARE(inserts.size() + removals.size(), 0);

    // a-2 is gone, b-3 starts, a-0 appears before everything.
    changed.clear();
    list.removeAt(1);
    list << inst(QStringLiteral("b-3"), QStringLiteral("2.4.0"), InstanceState::Starting)
         << inst(QStringLiteral("a-0"), QStringLiteral("2.3.1"));
    model.setFleet(makeFleet(key, list));
    QCOMPARE(ranges(removals), QStringList({QStringLiteral("1-1")}));
    QCOMPARE(ranges(inserts), QStringList({QStringLiteral("0-0"), QStringLiteral("5-5")}));
    QCOMPARE(changed.size(), 0);
    QCOMPARE(lines(model),
             QStringList({QStringLiteral("Instance"), QStringLiteral("a-0"), QStringLiteral("a-1"),
                          QStringLiteral("a-3"), QStringLiteral("b-1"), QStringLiteral("b-2"),
                          QStringLiteral("b-3")}));
    QCOMPARE(b2.row(), 4);
    QCOMPARE(b2.data().toString(), QStringLiteral("b-2"));

    // a-1 is redeployed as 2.4.0 under the same id: it leaves the 2.3.1 group for the 2.4.0 one.
    removals.clear();
    inserts.clear();
    for (Instance &instance : list) {
        if (instance.id == QStringLiteral("a-1"))
            instance.version = QStringLiteral("2.4.0");
    }
    model.setFleet(makeFleet(key, list));
    QCOMPARE(ranges(removals), QStringList({QStringLiteral("1-1")}));
    QCOMPARE(ranges(inserts), QStringList({QStringLiteral("2-2")}));
    QCOMPARE(
        lines(model, InstanceModel::VersionRole).mid(1),
        QStringList({QStringLiteral("2.3.1"), QStringLiteral("2.3.1"), QStringLiteral("2.4.0"),
                     QStringLiteral("2.4.0"), QStringLiteral("2.4.0"), QStringLiteral("2.4.0")}));
    QCOMPARE(lines(model).mid(1),
             QStringList({QStringLiteral("a-0"), QStringLiteral("a-3"), QStringLiteral("a-1"),
                          QStringLiteral("b-1"), QStringLiteral("b-2"), QStringLiteral("b-3")}));
    QCOMPARE(model.rowOf(QStringLiteral("a-1")), 2);
    QCOMPARE(b2.row(), 4);

    QCOMPARE(resets.size(), 0);
    QCOMPARE(layouts.size(), 0);

    // Another service resets.
    model.setFleet(makeFleet({QStringLiteral("search"), QStringLiteral("prod")}, list.mid(0, 2)));
    QCOMPARE(resets.size(), 1);
    QCOMPARE(model.rowCount(), 2);
    QVERIFY(!b2.isValid());
}

void TestFleetModels::instanceModelAppliesALargeFleetWithoutReset()
{
    const ServiceKey key{QStringLiteral("payments"), QStringLiteral("prod")};
    constexpr int count = 10'000;
    QList<Instance> before;
    for (int i = 0; i < count; ++i)
        before << inst(QStringLiteral("i-%1").arg(i, 5, 10, QLatin1Char('0')),
                       i % 3 == 0 ? QStringLiteral("2.4.0") : QStringLiteral("2.3.1"));

    // 5 % of the fleet changes: 400 state changes, 50 instances retired, 50 started.
    QList<Instance> after;
    int stateChanges = 0;
    for (int i = 0; i < count; ++i) {
        Instance instance = before[i];
        if (i % 200 == 7)
            continue;
        if (i % 25 == 1) {
            instance.state = InstanceState::Draining;
            ++stateChanges;
        }
        after << instance;
    }
    for (int i = 0; i < 50; ++i)
        after << inst(QStringLiteral("i-%1a").arg(i * 200 + 100, 5, 10, QLatin1Char('0')),
                      QStringLiteral("2.4.0"), InstanceState::Starting);
    QCOMPARE(stateChanges, 400);
    const FleetSnapshot first = makeFleet(key, before);
    const FleetSnapshot second = makeFleet(key, after);

    InstanceModel model;
    QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
    model.setFleet(first);
    const QPersistentModelIndex watched = model.index(model.rowOf(QStringLiteral("i-09998")));

    QSignalSpy resets(&model, &QAbstractItemModel::modelReset);
    QSignalSpy layouts(&model, &QAbstractItemModel::layoutChanged);
    QSignalSpy changed(&model, &QAbstractItemModel::dataChanged);
    QSignalSpy inserts(&model, &QAbstractItemModel::rowsInserted);
    QSignalSpy removals(&model, &QAbstractItemModel::rowsRemoved);
    model.setFleet(second);
    QCOMPARE(resets.size(), 0);
    QCOMPARE(layouts.size(), 0);
    QCOMPARE(model.rowCount(), count);
    QVERIFY(!changed.isEmpty());
    qsizetype changedRows = 0;
    for (const QList<QVariant> &args : changed)
        changedRows
            += args.at(1).value<QModelIndex>().row() - args.at(0).value<QModelIndex>().row() + 1;
    QCOMPARE(changedRows, 400);
    qsizetype insertedRows = 0, removedRows = 0;
    for (const QList<QVariant> &args : inserts)
        insertedRows += args.at(2).toInt() - args.at(1).toInt() + 1;
    for (const QList<QVariant> &args : removals)
        removedRows += args.at(2).toInt() - args.at(1).toInt() + 1;
    QCOMPARE(insertedRows, 50);
    QCOMPARE(removedRows, 50);
    QCOMPARE(watched.data().toString(), QStringLiteral("i-09998"));

    // The diffed model shows exactly what a freshly loaded one does.
    InstanceModel fresh;
    fresh.setFleet(second);
    QCOMPARE(lines(model), lines(fresh));
    QCOMPARE(lines(model, InstanceModel::StateRole), lines(fresh, InstanceModel::StateRole));
    QCOMPARE(model.rowOf(QStringLiteral("i-00100a")), fresh.rowOf(QStringLiteral("i-00100a")));
}

QTEST_MAIN(TestFleetModels)
#include "tst_fleetmodels.moc"
