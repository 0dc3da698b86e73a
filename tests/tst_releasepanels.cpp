// The blue-green and rolling panels as an operator uses them, offscreen, on small simulated
// workspaces and on the demo: the buttons, their confirmations and what the fleet and the
// router do afterwards.

#include "adapterregistry.h"
#include "bluegreenpanel.h"
#include "builtinadapters.h"
#include "canarypanel.h"
#include "clock.h"
#include "gatemodel.h"
#include "instancegridview.h"
#include "mainwindow.h"
#include "reasondialog.h"
#include "releasecontroller.h"
#include "releaseeventmodel.h"
#include "releasepanel.h"
#include "rollingpanel.h"
#include "startreleasedialog.h"
#include "workspacesession.h"

#include <QComboBox>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QStandardPaths>
#include <QTabWidget>
#include <QTemporaryDir>
#include <QTest>

using namespace sb;
using namespace std::chrono_literals;

namespace {

const ServiceKey payments{QStringLiteral("payments"), QStringLiteral("production")};
const ServiceKey search{QStringLiteral("search"), QStringLiteral("production")};

// Four instances a colour that start in 20 s exactly, a manual switch and a five-minute window;
// six instances rolled one at a time. Each test adds what it needs (faults, a deadline).
QByteArray workspace(const QByteArray &faults = QByteArray(),
                     const QByteArray &rolling = "{max_surge: 1, max_unavailable: 0}")
{
    return "environments: [production]\n"
           "adapters:\n"
           "  - name: sim\n"
           "    type: simulator\n"
           "    settings:\n"
           "      defaults: {requests_per_second: 200, startup: 20s, startup_jitter: 0s, "
           "drain: 5s}\n"
           "      services:\n"
           "        - service: payments\n"
           "          environment: production\n"
           "          active: 1.0.0\n"
           "          versions:\n"
           "            - {version: 1.0.0, instances: 4, error_rate: 0.1%, p50_ms: 50, p99_ms: "
           "200}\n"
           "            - {version: 1.1.0, instances: 0, error_rate: 0.1%, p50_ms: 45, p99_ms: "
           "180}\n"
           "        - service: search\n"
           "          environment: production\n"
           "          versions:\n"
           "            - {version: 2.0.0, instances: 6, error_rate: 0.1%, p50_ms: 30, p99_ms: "
           "150}\n"
           "            - {version: 2.1.0, instances: 0, error_rate: 0.1%, p50_ms: 30, p99_ms: "
           "150}\n"
           + (faults.isEmpty() ? QByteArray() : "      faults:\n" + faults)
           + "services:\n"
             "  - name: payments\n"
             "    environment: production\n"
             "    strategy: blue-green\n"
             "    adapter: sim\n"
             "    blue_green: {warm_window: 5m, switch: manual, post_switch_gates: []}\n"
             "  - name: search\n"
             "    environment: production\n"
             "    strategy: rolling\n"
             "    adapter: sim\n"
             "    rolling: "
           + rolling + "\n";
}

void run(VirtualClock &clock, Duration length)
{
    const TimePoint end = clock.now() + length;
    while (clock.now() < end) {
        clock.advanceTo(std::min(end, clock.now() + Duration(1s)));
        for (int i = 0; i < 3; ++i)
            QCoreApplication::processEvents();
    }
}

// The confirmation a panel opened, by the command's name ("switch-back"), or null.
ReasonDialog *confirmation(const MainWindow &window, const char *command)
{
    return window.findChild<ReasonDialog *>(
        QStringLiteral("confirm-%1").arg(QLatin1StringView(command)));
}

// Types a reason into the open confirmation and accepts it.
bool confirm(ReasonDialog *dialog, const char *reason)
{
    if (!dialog || !dialog->isVisible())
        return false;
    QTest::keyClicks(dialog->reasonEdit(), reason);
    if (!dialog->acceptButton()->isEnabled())
        return false;
    QTest::mouseClick(dialog->acceptButton(), Qt::LeftButton);
    return true;
}

struct Console {
    explicit Console(const AdapterRegistry &registry)
        : clock(VirtualClock::defaultStart())
        , window(registry, &clock)
    {
        window.setRemembersState(false);
        window.setOperatorName(QStringLiteral("ana"));
    }
    // Opens a workspace written here, or the demo when `yaml` is empty.
    bool open(const QByteArray &yaml, Duration after)
    {
        QString path = QStringLiteral(":/workspaces/demo.yaml");
        if (!yaml.isEmpty()) {
            path = dir.filePath(QStringLiteral("signalbox.yaml"));
            QFile file(path);
            if (!file.open(QIODevice::WriteOnly) || file.write(yaml) != yaml.size())
                return false;
        }
        if (window.openWorkspace(path))
            return false;
        window.resize(1440, 900);
        window.show();
        run(clock, after);
        return true;
    }
    const ServiceStatus &observed(const ServiceKey &service) const
    {
        for (const ServiceStatus &status : window.session()->snapshot().services) {
            if (status.key == service)
                return status;
        }
        qFatal("no such service");
    }
    const BlueGreenRun &blueGreen(const ServiceKey &service) const
    {
        return *window.releases()->release(service)->blueGreen();
    }
    const RollingRun &rolling(const ServiceKey &service) const
    {
        return *window.releases()->release(service)->rolling();
    }
    // Live instances of `version`, and those of them ready.
    QPair<int, int> instances(const ServiceKey &service, const QString &version) const
    {
        QPair<int, int> counts;
        for (const VersionSummary &summary : summarizeVersions(observed(service))) {
            if (summary.version == version)
                counts = {summary.total, summary.ready};
        }
        return counts;
    }

    QTemporaryDir dir;
    VirtualClock clock;
    MainWindow window;
};

bool hasEvent(const QList<ReleaseEvent> &events, ReleaseEvent::Kind kind)
{
    return std::any_of(events.cbegin(), events.cend(),
                       [kind](const ReleaseEvent &event) { return event.kind == kind; });
}

} // namespace

class TestReleasePanels : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void initTestCase()
    {
        QStandardPaths::setTestModeEnabled(true);
        registerBuiltinAdapters(m_registry);
    }
    void startsABlueGreenReleaseFromTheDialog();
    void switchesOnlyOnceTheIdleColourIsReady();
    void switchesBackInsideTheWindowAfterExtending();
    void afterTheWindowGoingBackIsARedeploy();
    void aPausedBlueGreenReleaseKeepsTheOldColourWarm();
    void showsTheDemoBlueGreenWarm();
    void rollingPanelMatchesTheFleet();
    void pausesResumesAndRollsBack();
    void aStalledReleaseRaisesTheBanner();
    void aServiceWithoutStrategyExplainsItself();

private:
    AdapterRegistry m_registry;
};

void TestReleasePanels::startsABlueGreenReleaseFromTheDialog()
{
    Console console(m_registry);
    QVERIFY(console.open(workspace(), 3s));
    MainWindow &window = console.window;
    window.openStartRelease(payments);
    auto *dialog = window.findChild<StartReleaseDialog *>();
    QVERIFY(dialog);
    QCOMPARE(dialog->serviceCombo()->currentText(), payments.id());
    // Plans are for canaries: the dialog does not ask for one.
    QVERIFY(dialog->planCombo()->isHidden());
    dialog->versionCombo()->setEditText(QStringLiteral("1.1.0"));
    QVERIFY2(dialog->durationText().contains(QStringLiteral("comes up beside 1.0.0 as the idle "
                                                            "colour, 4 instances")),
             qPrintable(dialog->durationText()));
    QVERIFY2(dialog->durationText().contains(QStringLiteral("when you press Switch")),
             qPrintable(dialog->durationText()));
    QVERIFY2(dialog->rollbackText().contains(QStringLiteral("switch back in seconds")),
             qPrintable(dialog->rollbackText()));
    QVERIFY2(dialog->rollbackText().contains(QStringLiteral("5 min after the switch")),
             qPrintable(dialog->rollbackText()));
    QCOMPARE(dialog->startButton()->text(), QStringLiteral("Start Blue-Green Release"));

    // The version already live is refused before the click.
    dialog->versionCombo()->setEditText(QStringLiteral("1.0.0"));
    QVERIFY(!dialog->startButton()->isEnabled());
    QVERIFY(!dialog->problemText().isEmpty());

    dialog->versionCombo()->setEditText(QStringLiteral("1.1.0"));
    QVERIFY(dialog->startButton()->isEnabled());
    QTest::keyClicks(dialog->reasonEdit(), "CHG-7");
    QTest::mouseClick(dialog->startButton(), Qt::LeftButton);
    const ReleaseController::Release *release = window.releases()->release(payments);
    QVERIFY(release);
    QCOMPARE(release->version(), QStringLiteral("1.1.0"));
    QCOMPARE(release->events.first().actor, QStringLiteral("ana"));
    QCOMPARE(window.detailTabs()->currentWidget(), window.releasePanel());
    QCOMPARE(window.releasePanel()->currentPanel(), window.releasePanel()->blueGreenPanel());
}

void TestReleasePanels::switchesOnlyOnceTheIdleColourIsReady()
{
    Console console(m_registry);
    QVERIFY(console.open(workspace(), 3s));
    MainWindow &window = console.window;
    QVERIFY(window.releases()->start(payments, QStringLiteral("1.1.0"), QString(), QString()));
    QVERIFY(window.selectService(payments));
    BlueGreenPanel *panel = window.releasePanel()->blueGreenPanel();
    run(console.clock, 5s);

    // Starting instances: Switch is refused, and the refusal shows under it, not in a modal.
    QVERIFY(!panel->switchButton()->isEnabled());
    QVERIFY2(panel->switchHintText().contains(QStringLiteral("of 4 instances ready")),
             qPrintable(panel->switchHintText()));
    QVERIFY2(panel->switchButton()->toolTip().contains(QStringLiteral("of 4 instances ready")),
             qPrintable(panel->switchButton()->toolTip()));
    QTest::mouseClick(panel->switchButton(), Qt::LeftButton);
    QVERIFY(!confirmation(window, "switch"));
    QVERIFY2(panel->newColourText().contains(QStringLiteral("starting")),
             qPrintable(panel->newColourText()));
    QVERIFY2(panel->capacityText().contains(QStringLiteral("8 instances for a service of 4")),
             qPrintable(panel->capacityText()));
    // Before the switch the old colour is live and Abort applies; Switch back does not.
    QVERIFY2(panel->oldColourText().startsWith(QStringLiteral("1.0.0 | Live")),
             qPrintable(panel->oldColourText()));
    QVERIFY(panel->abortButton()->isEnabled());
    QVERIFY(!panel->switchBackButton()->isEnabled());

    // Ready: a manual switch waits for the operator, then takes one click and one confirmation.
    run(console.clock, 25s);
    QCOMPARE(console.instances(payments, QStringLiteral("1.1.0")).second, 4);
    QVERIFY2(panel->switchButton()->isEnabled(), qPrintable(panel->switchButton()->toolTip()));
    QVERIFY(!console.blueGreen(payments).status.switchedAt);
    QTest::mouseClick(panel->switchButton(), Qt::LeftButton);
    ReasonDialog *dialog = confirmation(window, "switch");
    QVERIFY(dialog);
    QVERIFY2(dialog->windowTitle().contains(QStringLiteral("payments (production)")),
             qPrintable(dialog->windowTitle()));
    QVERIFY(!dialog->acceptButton()->isEnabled()); // a reason is required
    QVERIFY(confirm(dialog, "smoke tests green"));
    run(console.clock, 3s);
    const ServiceStatus &observed = console.observed(payments);
    QVERIFY(observed.traffic);
    QCOMPARE(observed.traffic->weightOf(QStringLiteral("1.1.0")), 100.0);
    QCOMPARE(bluegreen::liveColour(observed), QStringLiteral("1.1.0"));
    QVERIFY2(panel->newColourText().startsWith(QStringLiteral("1.1.0 | Live")),
             qPrintable(panel->newColourText()));
    QVERIFY2(panel->oldColourText().contains(QStringLiteral("Warm standby")),
             qPrintable(panel->oldColourText()));
    QVERIFY(panel->switchBackButton()->isEnabled());
    QVERIFY(!panel->abortButton()->isEnabled());
    const QList<ReleaseEvent> &events = window.releases()->release(payments)->events;
    QVERIFY(std::any_of(events.cbegin(), events.cend(), [](const ReleaseEvent &event) {
        return event.actor == QLatin1String("ana")
               && event.reason.contains(QLatin1String("smoke tests green"));
    }));
    QVERIFY(hasEvent(events, ReleaseEvent::Kind::Switched));
}

void TestReleasePanels::switchesBackInsideTheWindowAfterExtending()
{
    Console console(m_registry);
    QVERIFY(console.open(workspace(), 3s));
    MainWindow &window = console.window;
    QVERIFY(window.releases()->start(payments, QStringLiteral("1.1.0"), QString(), QString()));
    QVERIFY(window.selectService(payments));
    BlueGreenPanel *panel = window.releasePanel()->blueGreenPanel();
    run(console.clock, 30s);
    QTest::mouseClick(panel->switchButton(), Qt::LeftButton);
    QVERIFY(confirm(confirmation(window, "switch"), "ready"));
    run(console.clock, 60s);

    // The countdown under Switch Back, and Extend moving it by a quarter of an hour.
    const auto warmLeft = [&] {
        const BlueGreenRun &run = console.blueGreen(payments);
        return bluegreen::warmRemaining(run.plan, run.status, console.clock.now());
    };
    const std::optional<Duration> before = warmLeft();
    QVERIFY(before);
    QVERIFY(*before < 5min && *before > 3min);
    QVERIFY2(panel->switchHintText().contains(formatDuration(*before)),
             qPrintable(panel->switchHintText()));
    QVERIFY(panel->extendButton()->isEnabled());
    QCOMPARE(panel->extendButton()->text(), QStringLiteral("Extend 15 min"));
    QTest::mouseClick(panel->extendButton(), Qt::LeftButton);
    const std::optional<Duration> after = warmLeft();
    QVERIFY(after);
    QCOMPARE(*after, *before + 15min);
    QVERIFY2(panel->switchHintText().contains(formatDuration(*after))
                 && panel->switchHintText().contains(QStringLiteral("extended by 15 min")),
             qPrintable(panel->switchHintText()));
    QVERIFY(
        hasEvent(window.releases()->release(payments)->events, ReleaseEvent::Kind::WindowExtended));

    // Switch back: the rollback, one click and one confirmation naming both versions.
    QVERIFY(panel->switchBackButton()->isEnabled());
    QTest::mouseClick(panel->switchBackButton(), Qt::LeftButton);
    ReasonDialog *dialog = confirmation(window, "switch-back");
    QVERIFY(dialog);
    QVERIFY(!dialog->acceptButton()->isDefault()); // Enter must not roll back by accident
    QVERIFY2(dialog->acceptButton()->text().contains(QStringLiteral("1.0.0")),
             qPrintable(dialog->acceptButton()->text()));
    QVERIFY(confirm(dialog, "INC-9 checkout errors"));
    run(console.clock, 3s);
    QCOMPARE(bluegreen::liveColour(console.observed(payments)), QStringLiteral("1.0.0"));
    QCOMPARE(console.observed(payments).traffic->weightOf(QStringLiteral("1.0.0")), 100.0);
    QVERIFY2(panel->oldColourText().startsWith(QStringLiteral("1.0.0 | Live")),
             qPrintable(panel->oldColourText()));
    QVERIFY(console.blueGreen(payments).status.switchedBack);

    // Then the new colour goes away and the release ends switched back.
    run(console.clock, 30s);
    QVERIFY(window.releases()->release(payments)->finished());
    QCOMPARE(panel->phaseText(), QStringLiteral("Switched back"));
    QCOMPARE(console.instances(payments, QStringLiteral("1.1.0")).first, 0);
    QCOMPARE(console.instances(payments, QStringLiteral("1.0.0")), qMakePair(4, 4));
}

void TestReleasePanels::afterTheWindowGoingBackIsARedeploy()
{
    Console console(m_registry);
    QVERIFY(console.open(workspace(), 3s));
    MainWindow &window = console.window;
    QVERIFY(window.releases()->start(payments, QStringLiteral("1.1.0"), QString(), QString()));
    QVERIFY(window.selectService(payments));
    BlueGreenPanel *panel = window.releasePanel()->blueGreenPanel();
    run(console.clock, 30s);
    QVERIFY(window.releases()->command(payments, ReleaseCommand::Switch, QStringLiteral("go")));
    QVERIFY(panel->retiredText().isEmpty());
    run(console.clock, 5min + 40s);

    const BlueGreenStatus &status = console.blueGreen(payments).status;
    QVERIFY(status.retiredAt);
    QVERIFY(!panel->switchBackButton()->isEnabled());
    QVERIFY(!panel->switchBackButton()->toolTip().isEmpty());
    QVERIFY(!panel->extendButton()->isEnabled());
    const std::optional<Duration> estimate = bluegreen::redeployEstimate(status);
    QVERIFY(estimate);
    QVERIFY2(panel->retiredText().contains(QStringLiteral("new deploy of 1.0.0 to 4 instances"))
                 && panel->retiredText().contains(
                     QStringLiteral("would take about %1").arg(formatDuration(*estimate))),
             qPrintable(panel->retiredText()));
    QVERIFY2(panel->switchHintText().contains(QStringLiteral("1.0.0 is retired")),
             qPrintable(panel->switchHintText()));
    QVERIFY2(panel->oldColourText().contains(QStringLiteral("Retired"))
                 || panel->oldColourText().contains(QStringLiteral("Retiring")),
             qPrintable(panel->oldColourText()));
    QVERIFY(panel->capacityText().isEmpty());
}

void TestReleasePanels::aPausedBlueGreenReleaseKeepsTheOldColourWarm()
{
    Console console(m_registry);
    QVERIFY(console.open(workspace(), 3s));
    MainWindow &window = console.window;
    QVERIFY(window.releases()->start(payments, QStringLiteral("1.1.0"), QString(), QString()));
    QVERIFY(window.selectService(payments));
    BlueGreenPanel *panel = window.releasePanel()->blueGreenPanel();
    // An action runs once its intent is in the journal, written on a thread of its own in real
    // time: each virtual second here leaves that thread the real time QTRY waits between tries.
    const auto tick = [&console] {
        run(console.clock, 1s);
        return true;
    };
    QTRY_VERIFY_WITH_TIMEOUT(tick() && panel->phaseText() == QLatin1String("Ready to switch"),
                             20000);

    // Pause sits beside Extend and Abort and turns into Resume; Switch stays at hand.
    QVERIFY(panel->pauseButton()->isVisible());
    QCOMPARE(panel->pauseButton()->text(), QStringLiteral("Pause"));
    QVERIFY(panel->pauseButton()->isEnabled());
    QVERIFY2(panel->pauseButton()->toolTip().contains(QStringLiteral("retirement of 1.0.0")),
             qPrintable(panel->pauseButton()->toolTip()));
    QTest::mouseClick(panel->pauseButton(), Qt::LeftButton);
    QCOMPARE(panel->phaseText(), QStringLiteral("Paused"));
    QCOMPARE(panel->pauseButton()->text(), QStringLiteral("Resume"));
    QVERIFY(panel->pauseButton()->isEnabled());
    const QList<ReleaseEvent> &events = window.releases()->release(payments)->events;
    QCOMPARE(toString(events.last().kind), QStringLiteral("paused"));
    QCOMPARE(events.last().actor, QStringLiteral("ana"));
    QVERIFY2(panel->reasonText().startsWith(QStringLiteral("Paused: 1.1.0 is ready (all 4 "
                                                           "instances)")),
             qPrintable(panel->reasonText()));
    QVERIFY2(panel->newColourText().contains(QStringLiteral("Idle, paused")),
             qPrintable(panel->newColourText()));
    QVERIFY(panel->switchButton()->isEnabled());
    QVERIFY(panel->abortButton()->isEnabled());

    // An operator's Switch goes ahead while paused, and the release stays paused.
    QTest::mouseClick(panel->switchButton(), Qt::LeftButton);
    QVERIFY(confirm(confirmation(window, "switch"), "checked by hand"));
    QTRY_VERIFY_WITH_TIMEOUT(tick() && console.blueGreen(payments).status.switchedAt, 20000);
    QCOMPARE(bluegreen::liveColour(console.observed(payments)), QStringLiteral("1.1.0"));
    QCOMPARE(panel->phaseText(), QStringLiteral("Paused"));
    QVERIFY2(panel->oldColourText().contains(QStringLiteral("Warm standby")),
             qPrintable(panel->oldColourText()));

    // Past the five-minute window the old colour is still up, and going back is still a switch.
    run(console.clock, 5min + 30s);
    QVERIFY(!console.blueGreen(payments).status.retiredAt);
    QCOMPARE(console.instances(payments, QStringLiteral("1.0.0")), qMakePair(4, 4));
    QCOMPARE(panel->switchHintText(), QStringLiteral("Window over; 1.0.0 held warm while paused"));
    QVERIFY(panel->switchBackButton()->isEnabled());
    QVERIFY(panel->extendButton()->isEnabled());
    QVERIFY(panel->retiredText().isEmpty());

    // Resumed, the old colour is retired at once; there is nothing left to pause.
    QTest::mouseClick(panel->pauseButton(), Qt::LeftButton);
    QCOMPARE(panel->phaseText(), QStringLiteral("Retiring 1.0.0"));
    QVERIFY(hasEvent(events, ReleaseEvent::Kind::Resumed));
    QCOMPARE(panel->pauseButton()->text(), QStringLiteral("Pause"));
    QVERIFY(!panel->pauseButton()->isEnabled());
    QVERIFY2(panel->pauseButton()->toolTip().contains(QStringLiteral("nothing left to pause")),
             qPrintable(panel->pauseButton()->toolTip()));
    QTRY_VERIFY_WITH_TIMEOUT(tick() && panel->phaseText() == QLatin1String("Succeeded"), 20000);
    QCOMPARE(console.instances(payments, QStringLiteral("1.0.0")).first, 0);
}

void TestReleasePanels::showsTheDemoBlueGreenWarm()
{
    // Two and a half minutes in, the demo's payments 3.9.0 has switched and 3.8.0 is warm.
    Console console(m_registry);
    QVERIFY(console.open(QByteArray(), 150s));
    MainWindow &window = console.window;
    QVERIFY(window.selectService(payments));
    QCOMPARE(window.detailTabs()->currentWidget(), window.releasePanel());
    BlueGreenPanel *panel = window.releasePanel()->blueGreenPanel();
    QCOMPARE(window.releasePanel()->currentPanel(), panel);
    QVERIFY2(panel->phaseText().contains(QStringLiteral("warm")), qPrintable(panel->phaseText()));
    QVERIFY2(panel->newColourText().startsWith(QStringLiteral("3.9.0 | Live | 10 of 10 ready")),
             qPrintable(panel->newColourText()));

    // The smoke gate before the switch and the two after it, arms named for colours.
    const GateModel *gates = panel->gateModel();
    QCOMPARE(gates->rowCount(), 3);
    QCOMPARE(gates->index(0, GateModel::MetricColumn).data().toString(),
             QStringLiteral("Pre-switch · Error rate"));
    QCOMPARE(gates->index(0, 0).data(GateModel::GateRole).toString(),
             QStringLiteral("smoke-errors"));
    QVERIFY(gates->index(0, GateModel::VerdictColumn)
                .data()
                .toString()
                .startsWith(QStringLiteral("Pass")));
    QCOMPARE(gates->index(2, 0).data(GateModel::GateRole).toString(),
             QStringLiteral("p99-latency"));
    QCOMPARE(gates->headerData(GateModel::CanaryColumn, Qt::Horizontal).toString(),
             QStringLiteral("New"));
    QVERIFY(panel->eventModel()->rowCount() >= 3);
    QVERIFY(!window.grab().isNull());
}

void TestReleasePanels::rollingPanelMatchesTheFleet()
{
    Console console(m_registry);
    QVERIFY(console.open(workspace(), 3s));
    MainWindow &window = console.window;
    window.openStartRelease(search);
    auto *dialog = window.findChild<StartReleaseDialog *>();
    QVERIFY(dialog);
    dialog->versionCombo()->setEditText(QStringLiteral("2.1.0"));
    QVERIFY2(dialog->durationText().contains(
                 QStringLiteral("the 6 instances of 2.0.0 are replaced by 2.1.0"))
                 && dialog->durationText().contains(
                     QStringLiteral("at most 1 extra running (max surge 1)")),
             qPrintable(dialog->durationText()));
    QVERIFY2(dialog->rollbackText().contains(QStringLiteral("rolling update back to 2.0.0")),
             qPrintable(dialog->rollbackText()));
    QTest::mouseClick(dialog->startButton(), Qt::LeftButton);
    QVERIFY(window.releases()->release(search));
    RollingPanel *panel = window.releasePanel()->rollingPanel();
    QCOMPARE(window.releasePanel()->currentPanel(), panel);

    // Every few seconds, what the panel says is what the fleet shows.
    bool sawSurge = false;
    for (int step = 0; step < 20; ++step) {
        run(console.clock, 7s);
        const int newReady = console.instances(search, QStringLiteral("2.1.0")).second;
        int running = 0;
        for (const VersionSummary &summary : summarizeVersions(console.observed(search)))
            running += summary.total;
        const int surge = std::max(0, running - 6);
        sawSurge = sawSurge || surge > 0;
        QCOMPARE(panel->progressText(), QStringLiteral("%1 of 6 instances on 2.1.0").arg(newReady));
        QVERIFY2(panel->budgetText().contains(QStringLiteral("Surge: %1 of 1 allowed").arg(surge)),
                 qPrintable(panel->budgetText()));
        QVERIFY2(panel->countsText().startsWith(QStringLiteral("2.1.0: %1 ready").arg(newReady)),
                 qPrintable(panel->countsText()));
        const auto &marking = panel->grid()->releaseMarking();
        QVERIFY(marking);
        QCOMPARE(marking->newVersion, QStringLiteral("2.1.0"));
        QCOMPARE(marking->oldVersion, QStringLiteral("2.0.0"));
        QCOMPARE(int(marking->surge.size()), surge);
    }
    QVERIFY(sawSurge);
    run(console.clock, 3min);
    QCOMPARE(panel->phaseText(), QStringLiteral("Succeeded"));
    QCOMPARE(panel->progressText(), QStringLiteral("6 of 6 instances on 2.1.0"));
    QCOMPARE(console.instances(search, QStringLiteral("2.0.0")).first, 0);
    QVERIFY(!panel->rollBackButton()->isEnabled());
}

void TestReleasePanels::pausesResumesAndRollsBack()
{
    Console console(m_registry);
    QVERIFY(console.open(workspace(), 3s));
    MainWindow &window = console.window;
    QVERIFY(window.releases()->start(search, QStringLiteral("2.1.0"), QString(), QString()));
    QVERIFY(window.selectService(search));
    RollingPanel *panel = window.releasePanel()->rollingPanel();
    run(console.clock, 50s);
    QVERIFY2(panel->etaText().startsWith(QStringLiteral("ETA")), qPrintable(panel->etaText()));

    QCOMPARE(panel->pauseButton()->text(), QStringLiteral("Pause"));
    QTest::mouseClick(panel->pauseButton(), Qt::LeftButton);
    QCOMPARE(panel->phaseText(), QStringLiteral("Paused"));
    QCOMPARE(panel->pauseButton()->text(), QStringLiteral("Resume"));
    QCOMPARE(panel->etaText(), QStringLiteral("No ETA while paused"));
    // Paused, nothing new is started: instances already starting may still become ready.
    run(console.clock, 2s);
    const int pausedLive = console.instances(search, QStringLiteral("2.1.0")).first;
    run(console.clock, 60s);
    QCOMPARE(console.instances(search, QStringLiteral("2.1.0")).first, pausedLive);
    const int pausedReady = console.instances(search, QStringLiteral("2.1.0")).second;

    QTest::mouseClick(panel->pauseButton(), Qt::LeftButton);
    QCOMPARE(panel->phaseText(), QStringLiteral("Progressing"));
    run(console.clock, 50s);
    QVERIFY(console.instances(search, QStringLiteral("2.1.0")).second > pausedReady);

    // Roll back: its confirmation says how long going back takes, and a reason is required.
    QVERIFY(panel->rollBackButton()->isEnabled());
    QTest::mouseClick(panel->rollBackButton(), Qt::LeftButton);
    ReasonDialog *dialog = confirmation(window, "roll-back");
    QVERIFY(dialog);
    const auto *text = dialog->findChild<QLabel *>();
    QVERIFY(text);
    QVERIFY2(text->text().contains(QStringLiteral("takes about")), qPrintable(text->text()));
    QVERIFY(!dialog->acceptButton()->isEnabled());
    QVERIFY(confirm(dialog, "latency regression"));
    QVERIFY2(panel->phaseText().startsWith(QStringLiteral("Rolling back to 2.0.0")),
             qPrintable(panel->phaseText()));
    QVERIFY(!panel->rollBackButton()->isEnabled());
    QVERIFY(
        hasEvent(window.releases()->release(search)->events, ReleaseEvent::Kind::RollbackStarted));
    run(console.clock, 4min);
    QCOMPARE(panel->phaseText(), QStringLiteral("Rolled back"));
    QCOMPARE(console.instances(search, QStringLiteral("2.1.0")).first, 0);
    QCOMPARE(console.instances(search, QStringLiteral("2.0.0")), qMakePair(6, 6));
}

void TestReleasePanels::aStalledReleaseRaisesTheBanner()
{
    // Every 2.1.0 instance fails as it finishes starting: nothing can progress.
    Console console(m_registry);
    QVERIFY(console.open(workspace("        - {at: 0s, service: search, environment: production, "
                                   "version: 2.1.0, kind: start_failure, duration: 30m}\n",
                                   "{max_surge: 1, max_unavailable: 0, progress_deadline: 2m}"),
                         3s));
    MainWindow &window = console.window;
    QVERIFY(window.releases()->start(search, QStringLiteral("2.1.0"), QString(), QString()));
    QVERIFY(window.selectService(search));
    RollingPanel *panel = window.releasePanel()->rollingPanel();
    run(console.clock, 60s);
    QVERIFY(panel->bannerText().isEmpty());
    QCOMPARE(panel->phaseText(), QStringLiteral("Progressing"));

    run(console.clock, 2min);
    QCOMPARE(panel->phaseText(), QStringLiteral("Stalled"));
    const QString banner = panel->bannerText();
    QVERIFY2(banner.contains(QStringLiteral("Stalled")) && banner.contains(QStringLiteral("2 min"))
                 && banner.contains(QStringLiteral("Resume"))
                 && banner.contains(QStringLiteral("Roll Back")),
             qPrintable(banner));
    QVERIFY(hasEvent(window.releases()->release(search)->events, ReleaseEvent::Kind::Stalled));
    // Both ways out are a click away; the old version still serves everything.
    QCOMPARE(panel->pauseButton()->text(), QStringLiteral("Resume"));
    QVERIFY(panel->pauseButton()->isEnabled());
    QVERIFY(panel->rollBackButton()->isEnabled());
    QCOMPARE(console.instances(search, QStringLiteral("2.0.0")), qMakePair(6, 6));

    QTest::mouseClick(panel->rollBackButton(), Qt::LeftButton);
    QVERIFY(confirm(confirmation(window, "roll-back"), "2.1.0 does not start"));
    QVERIFY(panel->bannerText().isEmpty());
    run(console.clock, 60s);
    QCOMPARE(panel->phaseText(), QStringLiteral("Rolled back"));
    QCOMPARE(console.instances(search, QStringLiteral("2.1.0")).first, 0);
}

void TestReleasePanels::aServiceWithoutStrategyExplainsItself()
{
    Console console(m_registry);
    QVERIFY(console.open("environments: [production]\n"
                         "adapters:\n"
                         "  - {name: sim, type: simulator}\n"
                         "services:\n"
                         "  - {name: web, environment: production, adapter: sim}\n",
                         2s));
    MainWindow &window = console.window;
    QVERIFY(window.selectService({QStringLiteral("web"), QStringLiteral("production")}));
    ReleasePanel *release = window.releasePanel();
    QVERIFY(release->currentPanel() != release->canaryPanel());
    QVERIFY(release->currentPanel() != release->blueGreenPanel());
    QVERIFY(release->currentPanel() != release->rollingPanel());
    QVERIFY2(release->noStrategyText().contains(QStringLiteral("strategy is none")),
             qPrintable(release->noStrategyText()));
    // Ctrl+4 shows it.
    QTest::keyClick(&window, Qt::Key_4, Qt::ControlModifier);
    QCOMPARE(window.detailTabs()->currentWidget(), release);
}

QTEST_MAIN(TestReleasePanels)
#include "tst_releasepanels.moc"
