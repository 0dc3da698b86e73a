// The console as a user meets it: the demo workspace opened in the main window, offscreen.

#include "adapterregistry.h"
#include "builtinadapters.h"
#include "clock.h"
#include "instancegridview.h"
#include "instancemodel.h"
#include "mainwindow.h"
#include "servicefilterproxy.h"
#include "servicelistmodel.h"
#include "versionmodel.h"
#include "workspacesession.h"

#include <QComboBox>
#include <QLabel>
#include <QLineEdit>
#include <QScrollArea>
#include <QScrollBar>
#include <QSignalSpy>
#include <QStandardPaths>
#include <QTableView>
#include <QTemporaryDir>
#include <QTest>

using namespace sb;
using namespace std::chrono_literals;

namespace {

const auto demo = QStringLiteral(":/workspaces/demo.yaml");

ServiceKey key(const char *name, const char *environment)
{
    return {QString::fromLatin1(name), QString::fromLatin1(environment)};
}

// Simulated seconds, one at a time, with the adapters' answers delivered in between.
void run(VirtualClock &clock, Duration length)
{
    const TimePoint end = clock.now() + length;
    while (clock.now() < end) {
        clock.advanceTo(std::min(end, clock.now() + Duration(1s)));
        for (int i = 0; i < 3; ++i)
            QCoreApplication::processEvents();
    }
}

QStringList column(const QAbstractItemModel *model, int column, int role = Qt::DisplayRole)
{
    QStringList values;
    for (int row = 0; row < model->rowCount(); ++row)
        values << model->index(row, column).data(role).toString();
    return values;
}

int liveInstancesOf(const InstanceModel *model, const QString &version)
{
    int count = 0;
    for (int row = 0; row < model->rowCount(); ++row) {
        const QModelIndex index = model->index(row, 0);
        count += index.data(InstanceModel::VersionRole).toString() == version
                 && InstanceState(index.data(InstanceModel::StateRole).toInt())
                        != InstanceState::Terminated;
    }
    return count;
}

bool writeFile(const QString &path, const QByteArray &content)
{
    QFile file(path);
    return file.open(QIODevice::WriteOnly | QIODevice::Truncate)
           && file.write(content) == content.size();
}

QByteArray smallWorkspace(const char *serviceKey = "environment")
{
    return QByteArray("environments: [production]\n"
                      "adapters:\n"
                      "  - {name: sim, type: simulator}\n"
                      "services:\n"
                      "  - name: web\n"
                      "    ")
           + serviceKey
           + ": production\n"
             "    adapter: sim\n";
}

// A console on the virtual clock that remembers nothing between tests.
struct Console {
    explicit Console(const AdapterRegistry &registry)
        : clock(VirtualClock::defaultStart())
        , window(registry, &clock)
    {
        window.setRemembersState(false);
    }

    // Opens the workspace, shows the window and lets `after` of simulated time pass.
    bool open(const QString &path, Duration after)
    {
        if (window.openWorkspace(path))
            return false;
        window.show();
        run(clock, after);
        return true;
    }

    VirtualClock clock;
    MainWindow window;
};

} // namespace

class TestMainWindow : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void showsEveryServiceOfTheDemo();
    void showsTheSelectedServicePerVersion();
    void followsTheSimulationLive();
    void filtersByNameEnvironmentAndHealth();
    void keyboardMovesTheSelection();
    void aBadWorkspaceShowsWhereAndWhy();
    void aBadReloadKeepsTheLastGoodWorkspace();
    void remembersTheLastSelection();
    void aLargeFleetScrolls();
    void theCurrentInstanceStaysPutWhileRowsChange();

private:
    AdapterRegistry m_registry;
};

void TestMainWindow::initTestCase()
{
    // Settings go to a throwaway location, never the developer's own.
    QStandardPaths::setTestModeEnabled(true);
    registerBuiltinAdapters(m_registry);
}

void TestMainWindow::showsEveryServiceOfTheDemo()
{
    Console console(m_registry);
    QVERIFY(console.open(demo, 5s));
    MainWindow &window = console.window;

    QCOMPARE(window.serviceModel()->rowCount(), 16);
    QCOMPARE(column(window.serviceProxy(), ServiceListModel::NameColumn).mid(0, 8),
             (QStringList{"checkout", "payments", "search", "catalog", "auth", "notifications",
                          "recommendations", "gateway"}));
    // payments 3.9.0 and search 5.1.0 are declared, but their releases have not begun.
    QCOMPARE(column(window.serviceProxy(), ServiceListModel::VersionsColumn).mid(0, 3),
             (QStringList{"2.3.1, 2.4.0", "3.8.0", "5.0.3"}));
    // The demo's canary of checkout is under way: its stage shows beside the strategy.
    QCOMPARE(column(window.serviceProxy(), ServiceListModel::StrategyColumn).mid(0, 3),
             (QStringList{"Canary · 1 %", "Blue-green", "Rolling"}));
    // The first service is selected so the fleet pane is never empty.
    QCOMPARE(window.selectedService(), std::optional(key("checkout", "production")));
    QVERIFY(window.loadErrorText().isEmpty());
    QVERIFY(!window.grab().isNull());
}

void TestMainWindow::showsTheSelectedServicePerVersion()
{
    // Over three minutes in, the demo's canary of checkout has had a minute at its 5 % stage.
    Console console(m_registry);
    QVERIFY(console.open(demo, 215s));
    MainWindow &window = console.window;

    QVERIFY(window.selectService(key("checkout", "production")));
    const VersionModel *versions = window.versionModel();
    QCOMPARE(column(versions, VersionModel::VersionColumn), (QStringList{"2.3.1", "2.4.0"}));
    QCOMPARE(column(versions, VersionModel::TrafficSetColumn), (QStringList{"95 %", "5 %"}));
    // Observed share follows the set weights within sampling noise.
    const double canaryShare
        = versions->index(1, 0).data(VersionModel::ObservedShareRole).toDouble();
    QVERIFY2(canaryShare > 3.5 && canaryShare < 6.5, qPrintable(QString::number(canaryShare)));
    QVERIFY(versions->index(0, 0).data(VersionModel::P99Role).toDouble() > 0);
    QCOMPARE(liveInstancesOf(window.instanceModel(), QStringLiteral("2.3.1")), 18);
    QCOMPARE(liveInstancesOf(window.instanceModel(), QStringLiteral("2.4.0")), 1);

    const QString described = window.instanceGrid()->describe(0);
    QVERIFY2(described.contains(QLatin1String("version 2.3.1"))
                 && described.contains(QLatin1String("zone eu-west-1")),
             qPrintable(described));
}

void TestMainWindow::followsTheSimulationLive()
{
    Console console(m_registry);
    QVERIFY(console.open(demo, 2s));
    MainWindow &window = console.window;
    VirtualClock &clock = console.clock;
    QVERIFY(window.selectService(key("search", "production")));
    QSignalSpy listResets(window.serviceModel(), &QAbstractItemModel::modelReset);
    QSignalSpy instanceResets(window.instanceModel(), &QAbstractItemModel::modelReset);
    QSignalSpy instancesAdded(window.instanceModel(), &QAbstractItemModel::rowsInserted);

    // The demo's rolling release of 5.1.0 begins at 30 s with two surge instances, which start
    // before they are ready; none of 5.0.3 goes until they are.
    run(clock, 40s);
    QCOMPARE(liveInstancesOf(window.instanceModel(), QStringLiteral("5.1.0")), 2);
    QCOMPARE(liveInstancesOf(window.instanceModel(), QStringLiteral("5.0.3")), 16);
    QVERIFY(instancesAdded.size() > 0);
    // Two at a time: by 200 s several steps have replaced instances, never more than two extra.
    run(clock, 160s);
    const int added = liveInstancesOf(window.instanceModel(), QStringLiteral("5.1.0"));
    const int remaining = liveInstancesOf(window.instanceModel(), QStringLiteral("5.0.3"));
    QVERIFY2(added >= 6 && added + remaining <= 18,
             qPrintable(QStringLiteral("%1 new, %2 old").arg(added).arg(remaining)));
    // Live refreshes diff; nothing was reset and the selection held.
    QCOMPARE(listResets.size(), 0);
    QCOMPARE(instanceResets.size(), 0);
    QCOMPARE(window.selectedService(), std::optional(key("search", "production")));

    // The blue-green switch at 3 minutes moves all of payments to 3.9.0.
    QVERIFY(window.selectService(key("payments", "production")));
    QCOMPARE(column(window.versionModel(), VersionModel::TrafficSetColumn),
             (QStringList{"0 %", "100 %"}));
}

void TestMainWindow::filtersByNameEnvironmentAndHealth()
{
    Console console(m_registry);
    QVERIFY(console.open(demo, 3s));
    MainWindow &window = console.window;
    VirtualClock &clock = console.clock;

    auto *filter = window.findChild<QLineEdit *>(QStringLiteral("serviceFilter"));
    QVERIFY(filter);
    QTest::keyClicks(filter, "pay");
    QCOMPARE(column(window.serviceProxy(), ServiceListModel::NameColumn),
             (QStringList{"payments", "payments"}));

    QComboBox *environment = nullptr;
    QComboBox *health = nullptr;
    for (QComboBox *combo : window.findChildren<QComboBox *>()) {
        if (combo->accessibleName().contains(QLatin1String("environment")))
            environment = combo;
        else if (combo->accessibleName().contains(QLatin1String("health")))
            health = combo;
    }
    QVERIFY(environment && health);
    environment->setCurrentIndex(environment->findData(QStringLiteral("staging")));
    QCOMPARE(column(window.serviceProxy(), ServiceListModel::EnvironmentColumn),
             QStringList{"staging"});

    filter->clear();
    environment->setCurrentIndex(0);
    QCOMPARE(window.serviceProxy()->rowCount(), 16);
    // Auth's error spike starts at 2 minutes and makes it critical once it fills the minute
    // its metrics cover.
    run(clock, 200s);
    health->setCurrentIndex(health->findData(int(ServiceFilterProxy::HealthFilter::Critical)));
    QVERIFY2(column(window.serviceProxy(), ServiceListModel::NameColumn)
                 .contains(QStringLiteral("auth")),
             qPrintable(column(window.serviceProxy(), ServiceListModel::NameColumn).join(',')));
    for (const QString &text : column(window.serviceProxy(), ServiceListModel::HealthColumn))
        QCOMPARE(text, QStringLiteral("Critical"));
}

void TestMainWindow::keyboardMovesTheSelection()
{
    Console console(m_registry);
    QVERIFY(console.open(demo, 2s));
    MainWindow &window = console.window;
    QVERIFY(QTest::qWaitForWindowExposed(&window));

    window.serviceView()->setFocus();
    QTest::keyClick(window.serviceView(), Qt::Key_Down);
    QCOMPARE(window.selectedService(), std::optional(key("payments", "production")));
    QCOMPARE(column(window.versionModel(), VersionModel::VersionColumn), QStringList{"3.8.0"});
    QTest::keyClick(window.serviceView(), Qt::Key_End, Qt::ControlModifier);
    QCOMPARE(window.selectedService(), std::optional(key("gateway", "staging")));

    // Ctrl+3 reaches the instance grid, whose arrow keys walk the instances.
    QTest::keyClick(&window, Qt::Key_3, Qt::ControlModifier);
    QCOMPARE(QApplication::focusWidget(), window.instanceGrid());
    QTest::keyClick(window.instanceGrid(), Qt::Key_Right);
    QTest::keyClick(window.instanceGrid(), Qt::Key_Right);
    QCOMPARE(window.instanceGrid()->currentRow(), 1);
}

void TestMainWindow::aBadWorkspaceShowsWhereAndWhy()
{
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("signalbox.yaml"));
    QVERIFY(writeFile(path, smallWorkspace("enviroment")));

    VirtualClock clock(VirtualClock::defaultStart());
    MainWindow window(m_registry, &clock);
    window.setRemembersState(false);
    const std::optional<Diagnostic> problem = window.openWorkspace(path);
    QVERIFY(problem);
    QCOMPARE(problem->line, 6);
    QVERIFY(!window.session());
    QCOMPARE(window.serviceModel()->rowCount(), 0);
    const QString shown = window.loadErrorText();
    QVERIFY2(shown.startsWith(path + QStringLiteral(":6:")), qPrintable(shown));
    QVERIFY2(shown.contains(QLatin1String("did you mean 'environment'?")), qPrintable(shown));
}

void TestMainWindow::aBadReloadKeepsTheLastGoodWorkspace()
{
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("signalbox.yaml"));
    QVERIFY(writeFile(path, smallWorkspace()));

    Console console(m_registry);
    QVERIFY(console.open(path, 2s));
    MainWindow &window = console.window;
    VirtualClock &clock = console.clock;
    WorkspaceSession *working = window.session();
    QCOMPARE(window.serviceModel()->rowCount(), 1);

    QVERIFY(writeFile(path, "environments: [production\n"));
    const std::optional<Diagnostic> problem = window.openWorkspace(path);
    QVERIFY(problem);
    QCOMPARE(window.session(), working);
    QCOMPARE(window.serviceModel()->rowCount(), 1);
    QVERIFY(window.loadErrorText().isEmpty());
    bool bannerShown = false;
    for (QLabel *label : window.findChildren<QLabel *>())
        bannerShown |= label->isVisible()
                       && label->text().contains(QLatin1String("still showing the last good"));
    QVERIFY(bannerShown);
    // And the console goes on updating from the workspace that works.
    run(clock, 3s);
    QCOMPARE(liveInstancesOf(window.instanceModel(), QStringLiteral("1.0.0")), 4);
}

void TestMainWindow::remembersTheLastSelection()
{
    {
        VirtualClock clock(VirtualClock::defaultStart());
        MainWindow window(m_registry, &clock);
        QVERIFY(!window.openWorkspace(demo));
        window.show();
        run(clock, 2s);
        QVERIFY(window.selectService(key("gateway", "staging")));
        window.resize(1100, 700);
        window.close();
    }
    VirtualClock clock(VirtualClock::defaultStart());
    MainWindow window(m_registry, &clock);
    QVERIFY(!window.openWorkspace(demo));
    window.restoreLayout();
    run(clock, 2s);
    QCOMPARE(window.selectedService(), std::optional(key("gateway", "staging")));
    QCOMPARE(window.size(), QSize(1100, 700));
}

void TestMainWindow::aLargeFleetScrolls()
{
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("signalbox.yaml"));
    QVERIFY(writeFile(path,
                      "environments: [production]\n"
                      "adapters:\n"
                      "  - name: sim\n"
                      "    type: simulator\n"
                      "    settings:\n"
                      "      services:\n"
                      "        - service: web\n"
                      "          environment: production\n"
                      "          versions: [{version: 1.0.0, instances: 1000}, {version: 1.1.0, "
                      "instances: 1000}, {version: 1.2.0, instances: 1000}]\n"
                      "services: [{name: web, environment: production, adapter: sim}]\n"));
    Console console(m_registry);
    QVERIFY(console.open(path, 2s));
    MainWindow &window = console.window;
    auto *scroll
        = qobject_cast<QScrollArea *>(window.instanceGrid()->parentWidget()->parentWidget());
    QVERIFY(scroll);
    QVERIFY2(scroll->verticalScrollBar()->maximum() > 0,
             qPrintable(QString::number(window.instanceGrid()->height())));
    QCOMPARE(window.instanceGrid()->height(),
             window.instanceGrid()->heightForWidth(window.instanceGrid()->width()));
}

void TestMainWindow::theCurrentInstanceStaysPutWhileRowsChange()
{
    Console console(m_registry);
    QVERIFY(console.open(demo, 2s));
    MainWindow &window = console.window;
    VirtualClock &clock = console.clock;
    // The demo's rolling release of search replaces 5.0.3 with 5.1.0 two at a time. Instances
    // are ordered by version, then id: the last 5.1.0 instance moves up as 5.0.3 rows leave
    // ahead of it, and down as 5.1.0 rows arrive ahead of it.
    QVERIFY(window.selectService(key("search", "production")));
    run(clock, 150s);
    InstanceGridView *grid = window.instanceGrid();
    grid->setFocus();
    QTest::keyClick(grid, Qt::Key_End);
    const int before = grid->currentRow();
    const QString id
        = window.instanceModel()->index(before, 0).data(InstanceModel::IdRole).toString();
    QCOMPARE(window.instanceModel()->index(before, 0).data(InstanceModel::VersionRole).toString(),
             QStringLiteral("5.1.0"));
    run(clock, 120s);
    QVERIFY(grid->currentRow() != before); // rows did change ahead of it (the run is seeded)
    QCOMPARE(
        window.instanceModel()->index(grid->currentRow(), 0).data(InstanceModel::IdRole).toString(),
        id);
}

QTEST_MAIN(TestMainWindow)
#include "tst_mainwindow.moc"
