// The canary panel as an operator uses it, on the demo workspace, offscreen: the demo's two
// canaries (one healthy, one that regresses at 5 %), the buttons and their confirmations, and
// the dialog that starts a canary.

#include "adapterregistry.h"
#include "builtinadapters.h"
#include "canarypanel.h"
#include "clock.h"
#include "gatemodel.h"
#include "mainwindow.h"
#include "reasondialog.h"
#include "releasecharts.h"
#include "releasecontroller.h"
#include "releaseeventmodel.h"
#include "releasepanel.h"
#include "rollingpanel.h"
#include "servicelistmodel.h"
#include "stagestepper.h"
#include "startreleasedialog.h"
#include "versionmodel.h"
#include "workspacesession.h"

#include <QComboBox>
#include <QLineEdit>
#include <QMessageBox>
#include <QPushButton>
#include <QStandardPaths>
#include <QTabWidget>
#include <QTest>

using namespace sb;
using namespace std::chrono_literals;

namespace {

const auto demo = QStringLiteral(":/workspaces/demo.yaml");
const ServiceKey checkout{QStringLiteral("checkout"), QStringLiteral("production")};
const ServiceKey recommendations{QStringLiteral("recommendations"), QStringLiteral("production")};
const ServiceKey stagingRecommendations{QStringLiteral("recommendations"),
                                        QStringLiteral("staging")};

void run(VirtualClock &clock, Duration length)
{
    const TimePoint end = clock.now() + length;
    while (clock.now() < end) {
        clock.advanceTo(std::min(end, clock.now() + Duration(1s)));
        for (int i = 0; i < 3; ++i)
            QCoreApplication::processEvents();
    }
}

QList<StageStepper::Step::State> states(const StageStepper *stepper)
{
    QList<StageStepper::Step::State> out;
    for (const StageStepper::Step &step : stepper->steps())
        out.append(step.state);
    return out;
}

double canaryWeight(const MainWindow &window, const ServiceKey &service)
{
    for (const ServiceStatus &status : window.session()->snapshot().services) {
        if (status.key == service && status.traffic)
            return status.traffic->weightOf(
                window.releases()->release(service)->canary()->status.canaryVersion);
    }
    return -1;
}

// The confirmation the panel opened for `command`, or null.
ReasonDialog *confirmation(const MainWindow &window, const char *command)
{
    return window.findChild<ReasonDialog *>(
        QStringLiteral("confirm-%1").arg(QLatin1StringView(command)));
}

struct Console {
    explicit Console(const AdapterRegistry &registry)
        : clock(VirtualClock::defaultStart())
        , window(registry, &clock)
    {
        window.setRemembersState(false);
        window.setOperatorName(QStringLiteral("ana"));
    }
    bool open(Duration after)
    {
        if (window.openWorkspace(demo))
            return false;
        window.resize(1440, 900);
        window.show();
        run(clock, after);
        return true;
    }
    VirtualClock clock;
    MainWindow window;
};

using State = StageStepper::Step::State;

} // namespace

class TestCanaryPanel : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void initTestCase()
    {
        QStandardPaths::setTestModeEnabled(true);
        registerBuiltinAdapters(m_registry);
    }
    void showsTheDemoCanaryMidRelease();
    void promoteAndAbortThroughTheirConfirmations();
    void showsTheAutomaticAbort();
    void startsACanaryFromTheDialog();
    void aServiceOfAnotherStrategyShowsItsOwnPanel();
    void reloadingAsksWhileReleasesRun();

private:
    AdapterRegistry m_registry;
};

void TestCanaryPanel::showsTheDemoCanaryMidRelease()
{
    // Four minutes in, checkout's canary bakes at 5 % and its gates have measured.
    Console console(m_registry);
    QVERIFY(console.open(240s));
    MainWindow &window = console.window;
    QVERIFY(window.selectService(checkout));
    QCOMPARE(window.detailTabs()->currentWidget(), window.releasePanel());
    QCOMPARE(window.releasePanel()->currentPanel(), window.canaryPanel());
    CanaryPanel *panel = window.canaryPanel();

    QCOMPARE(states(panel->stepper()), (QList<State>{State::Done, State::Current, State::Pending,
                                                     State::Pending, State::Pending}));
    QVERIFY2(panel->stepper()->steps().at(1).subtitle.endsWith(QStringLiteral("left")),
             qPrintable(panel->stepper()->steps().at(1).subtitle));
    QVERIFY2(panel->factsText().contains(QStringLiteral("weight wanted 5 %, set 5 %, observed")),
             qPrintable(panel->factsText()));
    QVERIFY2(panel->reasonText().startsWith(QStringLiteral("Stage 2 of 5 (5 %): baking")),
             qPrintable(panel->reasonText()));

    // The 5 % stage's gates, each measured and passing on the healthy canary.
    const GateModel *gates = panel->gateModel();
    QCOMPARE(gates->rowCount(), 3);
    QCOMPARE(gates->index(0, 0).data(GateModel::GateRole).toString(), QStringLiteral("error-rate"));
    QCOMPARE(gates->index(0, GateModel::MetricColumn).data().toString(),
             QStringLiteral("Error rate"));
    QCOMPARE(gates->index(2, 0).data(GateModel::GateRole).toString(), QStringLiteral("orders"));
    QCOMPARE(gates->index(0, GateModel::BoundColumn).data().toString(),
             QStringLiteral("≤ 1.5 × baseline + 0.10 pt"));
    for (int row = 0; row < gates->rowCount(); ++row) {
        const QString verdict = gates->index(row, GateModel::VerdictColumn).data().toString();
        QVERIFY2(verdict.startsWith(QStringLiteral("Pass")), qPrintable(verdict));
    }
    QVERIFY(!panel->charts()->isEmpty());
    QVERIFY(panel->eventModel()->rowCount() > 5);
    QCOMPARE(panel->eventModel()->eventAt(panel->eventModel()->rowCount() - 1).actor,
             QStringLiteral("workspace"));

    // Buttons follow the engine: promote, pause and abort apply, retry does not.
    QVERIFY(panel->promoteButton()->isEnabled());
    QVERIFY(panel->pauseButton()->isEnabled());
    QVERIFY(panel->abortButton()->isEnabled());
    QVERIFY(panel->retryButton()->isHidden());
    QVERIFY(!window.grab().isNull());
}

void TestCanaryPanel::promoteAndAbortThroughTheirConfirmations()
{
    Console console(m_registry);
    QVERIFY(console.open(200s));
    MainWindow &window = console.window;
    QVERIFY(window.selectService(checkout));
    CanaryPanel *panel = window.canaryPanel();
    const ReleaseController::Release *release = window.releases()->release(checkout);
    QCOMPARE(release->canary()->status.stage, 1);

    // Promote asks for a reason first; without one it cannot be confirmed.
    QTest::mouseClick(panel->promoteButton(), Qt::LeftButton);
    ReasonDialog *promote = confirmation(window, "promote");
    QVERIFY(promote);
    QVERIFY(promote->isVisible());
    QVERIFY(!promote->acceptButton()->isEnabled());
    QCOMPARE(promote->acceptButton()->text(), QStringLiteral("Promote to 25 %"));
    QTest::keyClicks(promote->reasonEdit(), "error budget fine, INC-42 closed");
    QVERIFY(promote->acceptButton()->isEnabled());
    QTest::mouseClick(promote->acceptButton(), Qt::LeftButton);
    QCOMPARE(window.releases()->release(checkout)->canary()->status.stage, 2);
    const ReleaseEvent &promoted = window.releases()->release(checkout)->events.last();
    QCOMPARE(promoted.actor, QStringLiteral("ana"));
    QVERIFY(promoted.reason.endsWith(QStringLiteral("INC-42 closed")));
    // 25 % needs five canary instances; once they are up the router follows.
    run(console.clock, 60s);
    QCOMPARE(canaryWeight(window, checkout), 25.0);
    QCOMPARE(states(panel->stepper()).mid(0, 3),
             (QList<State>{State::Done, State::Done, State::Current}));

    // Abort: one confirmation, the reason optional; traffic goes back at once.
    QTest::mouseClick(panel->abortButton(), Qt::LeftButton);
    ReasonDialog *abort = confirmation(window, "abort");
    QVERIFY(abort);
    QVERIFY(abort->acceptButton()->isEnabled());
    QVERIFY(!abort->acceptButton()->isDefault()); // Enter must not abort by accident
    QTest::mouseClick(abort->acceptButton(), Qt::LeftButton);
    QVERIFY(window.releases()->release(checkout)->canary()->status.aborted);
    QVERIFY(!panel->promoteButton()->isEnabled());
    QVERIFY2(panel->promoteButton()->toolTip().contains(QStringLiteral("was aborted")),
             qPrintable(panel->promoteButton()->toolTip()));
    // The router call and the scale-down take a moment; draining instances get no traffic.
    run(console.clock, 2s);
    QCOMPARE(canaryWeight(window, checkout), 0.0);
    QVERIFY(window.releases()->release(checkout)->canary()->status.finished());
    QCOMPARE(states(panel->stepper()).at(2), State::Failed);
    QCOMPARE(panel->stepper()->steps().at(2).subtitle, QStringLiteral("rolled back"));
    QVERIFY(panel->reasonText().startsWith(QStringLiteral("Rolled back: aborted by ana")));
    QVERIFY(panel->retryButton()->isVisible());
    QVERIFY(panel->retryButton()->isEnabled());
}

void TestCanaryPanel::showsTheAutomaticAbort()
{
    // Recommendations 12.1.0 triples its errors when it reaches 5 %: its gate aborts it.
    Console console(m_registry);
    QVERIFY(console.open(9min));
    MainWindow &window = console.window;
    QVERIFY(window.selectService(recommendations));
    CanaryPanel *panel = window.canaryPanel();
    const ReleaseController::Release *release = window.releases()->release(recommendations);
    QVERIFY(release->canary()->status.finished());
    QVERIFY(release->canary()->status.aborted);
    QCOMPARE(states(panel->stepper()), (QList<State>{State::Done, State::Failed, State::Pending,
                                                     State::Pending, State::Pending}));
    QVERIFY2(panel->reasonText().contains(
                 QStringLiteral("gate error-rate failed 3 of 3 allowed measurements at 5 %")),
             qPrintable(panel->reasonText()));
    QCOMPARE(canaryWeight(window, recommendations), 0.0);
    // The failing gate is shown with its failures against the limit.
    const GateModel *gates = panel->gateModel();
    QCOMPARE(gates->index(0, GateModel::VerdictColumn).data().toString(),
             QStringLiteral("Fail · 3/3"));
    for (QPushButton *button : {panel->promoteButton(), panel->pauseButton(), panel->abortButton()})
        QVERIFY(!button->isEnabled());
    QVERIFY(panel->retryButton()->isEnabled());
    QVERIFY(!window.releases()->activeServices().contains(recommendations));
    // The service list tells how it ended without opening it.
    const QModelIndex strategy = window.serviceModel()->index(
        window.serviceModel()->rowOf(recommendations), ServiceListModel::StrategyColumn);
    QCOMPARE(strategy.data().toString(), QStringLiteral("Canary · aborted"));
}

void TestCanaryPanel::startsACanaryFromTheDialog()
{
    Console console(m_registry);
    QVERIFY(console.open(5s));
    MainWindow &window = console.window;
    window.openStartRelease(stagingRecommendations);
    auto *dialog = window.findChild<StartReleaseDialog *>();
    QVERIFY(dialog);
    QCOMPARE(dialog->serviceCombo()->currentText(), stagingRecommendations.id());
    QCOMPARE(dialog->planCombo()->currentData().toString(), QStringLiteral("demo"));
    // Before anyone clicks: how long it takes and how fast it can be undone.
    QVERIFY2(dialog->durationText().contains(QStringLiteral("Takes at least 11 min")),
             qPrintable(dialog->durationText()));
    QVERIFY2(dialog->rollbackText().contains(QStringLiteral("Worst case to roll back: 3 min")),
             qPrintable(dialog->rollbackText()));

    // The version already serving is refused before the click, with the reason.
    dialog->versionCombo()->setEditText(QStringLiteral("12.1.0"));
    QVERIFY(!dialog->startButton()->isEnabled());
    QVERIFY2(dialog->problemText().contains(QStringLiteral("12.1.0 already serves all traffic")),
             qPrintable(dialog->problemText()));
    QVERIFY(!window.releases()->release(stagingRecommendations));

    dialog->versionCombo()->setEditText(QStringLiteral("12.2.0"));
    QVERIFY(dialog->startButton()->isEnabled());
    QVERIFY2(dialog->rollbackText().contains(QStringLiteral("12.1.0 keeps its 4 instances")),
             qPrintable(dialog->rollbackText()));
    QTest::mouseClick(dialog->startButton(), Qt::LeftButton);
    const ReleaseController::Release *release = window.releases()->release(stagingRecommendations);
    QVERIFY(release);
    QCOMPARE(release->canary()->status.canaryVersion, QStringLiteral("12.2.0"));
    QCOMPARE(release->events.first().actor, QStringLiteral("ana"));
    QCOMPARE(window.selectedService(), std::optional(stagingRecommendations));
    QCOMPARE(window.detailTabs()->currentWidget(), window.releasePanel());
    QCOMPARE(window.releasePanel()->currentPanel(), window.canaryPanel());
    run(console.clock, 40s);
    QCOMPARE(canaryWeight(window, stagingRecommendations), 1.0);
}

void TestCanaryPanel::aServiceOfAnotherStrategyShowsItsOwnPanel()
{
    Console console(m_registry);
    QVERIFY(console.open(5s));
    MainWindow &window = console.window;
    QVERIFY(window.selectService({QStringLiteral("search"), QStringLiteral("production")}));
    // No release yet: the fleet shows first; the release tab offers a rolling release.
    QCOMPARE(window.detailTabs()->currentIndex(), 0);
    QCOMPARE(window.releasePanel()->currentPanel(), window.releasePanel()->rollingPanel());
    QVERIFY(window.releasePanel()->rollingPanel()->startButton()->isEnabled());
}

void TestCanaryPanel::reloadingAsksWhileReleasesRun()
{
    Console console(m_registry);
    QVERIFY(console.open(60s));
    MainWindow &window = console.window;
    WorkspaceSession *before = window.session();
    QTest::keyClick(&window, Qt::Key_R, Qt::ControlModifier);
    auto *box = window.findChild<QMessageBox *>();
    QVERIFY(box);
    QVERIFY2(box->text().contains(QStringLiteral("checkout/production")), qPrintable(box->text()));
    // Cancel keeps the releases driven; nothing was reloaded.
    box->button(QMessageBox::Cancel)->click();
    QCOMPARE(window.session(), before);
    QVERIFY(window.releases()->release(checkout));
}

QTEST_MAIN(TestCanaryPanel)
#include "tst_canarypanel.moc"
