// The canary panel as an operator uses it, on the demo workspace, offscreen: the demo's two
// canaries (one healthy, one that regresses at 5 %), the buttons and their confirmations, and
// the dialog that starts a canary; and a canary judged by a sequential gate, with its
// confidence intervals for k.

#include "adapterregistry.h"
#include "builtinadapters.h"
#include "canarypanel.h"
#include "clock.h"
#include "gatemodel.h"
#include "mainwindow.h"
#include "ratiointervalstrip.h"
#include "reasondialog.h"
#include "releasecharts.h"
#include "releasecontroller.h"
#include "releaseeventmodel.h"
#include "releasepanel.h"
#include "rollingpanel.h"
#include "servicelistmodel.h"
#include "stagestepper.h"
#include "startreleasedialog.h"
#include "theme.h"
#include "versionmodel.h"
#include "workspacesession.h"

#include <QComboBox>
#include <QFile>
#include <QLineEdit>
#include <QMessageBox>
#include <QPushButton>
#include <QRegularExpression>
#include <QStandardPaths>
#include <QTabWidget>
#include <QTableView>
#include <QTemporaryDir>
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

const ServiceKey shop{QStringLiteral("shop"), QStringLiteral("production")};

// A canary of shop judged by the built-in sequential gate alone, at 400 requests a second;
// `fault` is a line of the simulator's faults.
QByteArray judgedWorkspace(const QByteArray &fault)
{
    return "environments: [production]\n"
           "adapters:\n"
           "  - name: sim\n"
           "    type: simulator\n"
           "    settings:\n"
           "      seed: 11\n"
           "      defaults: {requests_per_second: 400, startup: 5s, startup_jitter: 0s, drain: "
           "5s}\n"
           "      services:\n"
           "        - service: shop\n"
           "          environment: production\n"
           "          versions:\n"
           "            - {version: 1.0.0, instances: 10, error_rate: 0.5%, p50_ms: 50, p99_ms: "
           "250}\n"
           "            - {version: 1.1.0, instances: 0, error_rate: 0.5%, p50_ms: 50, p99_ms: "
           "250}\n"
           "      faults:\n"
           "        - "
           + fault
           + "\n"
             "plans:\n"
             "  - name: judged\n"
             "    stages:\n"
             "      - {weight: 10, bake: 20m, gates: [judge]}\n"
             "      - {weight: 100}\n"
             "releases:\n"
             "  - {service: shop, environment: production, version: 1.1.0, plan: judged}\n"
             "services:\n"
             "  - {name: shop, environment: production, strategy: canary, adapter: sim, plan: "
             "judged}\n";
}

// The row of `gate` in the gates table, or -1.
int gateRow(const GateModel *gates, const QString &gate)
{
    for (int row = 0; row < gates->rowCount(); ++row) {
        if (gates->index(row, 0).data(GateModel::GateRole).toString() == gate)
            return row;
    }
    return -1;
}

// Saves `widget` as a PNG in $SIGNALBOX_GRAB_DIR when set, to look at how it renders.
void grabFor(QWidget *widget, const QString &name)
{
    const QString dir = qEnvironmentVariable("SIGNALBOX_GRAB_DIR");
    if (!dir.isEmpty())
        QVERIFY(widget->grab().save(dir + QLatin1Char('/') + name + QStringLiteral(".png")));
}

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
    void showsASequentialGateWithItsIntervals();
    void theJudgeCatchesARegression();

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
    // Recommendations 12.1.0 triples its errors when it reaches 5 %: the sequential judge of
    // its plan aborts it.
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
                 QStringLiteral("gate judge showed a regression at 5 %: errors: regression, k ")),
             qPrintable(panel->reasonText()));
    // Within two one-minute metrics intervals at 5 %, where three failing measurements of a
    // threshold gate would take three.
    std::optional<TimePoint> atFivePercent, aborted;
    for (const ReleaseEvent &event : release->events) {
        if (event.kind == ReleaseEvent::Kind::WeightSet && event.stage == 1)
            atFivePercent = event.at;
        if (event.kind == ReleaseEvent::Kind::Aborted)
            aborted = event.at;
    }
    QVERIFY(atFivePercent && aborted);
    QVERIFY2(*aborted - *atFivePercent <= std::chrono::minutes(2),
             qPrintable(formatDuration(*aborted - *atFivePercent)));
    QCOMPARE(canaryWeight(window, recommendations), 0.0);
    // The judge's row says so.
    const GateModel *gates = panel->gateModel();
    QCOMPARE(gates->index(0, GateModel::VerdictColumn).data().toString(),
             QStringLiteral("regression"));
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

void TestCanaryPanel::showsASequentialGateWithItsIntervals()
{
    // checkout's canary at 5 %, its stage judged by the built-in sequential gate as well. The
    // gates are given the stage as the engine would record it, with evidence of known figures:
    // the canary errs five times as often as the baseline (a regression); its slow requests
    // are as frequent (safe to promote).
    Console console(m_registry);
    QVERIFY(console.open(240s));
    MainWindow &window = console.window;
    QVERIFY(window.selectService(checkout));
    CanaryPanel *panel = window.canaryPanel();
    // Threshold gates only: no intervals to show.
    QVERIFY(panel->intervalStrip()->isHidden());

    CanaryPlan plan = window.releases()->release(checkout)->canary()->plan;
    CanaryStatus status = window.releases()->release(checkout)->canary()->status;
    const GateSpec judge = builtInJudge();
    plan.gates.insert(judge.name, judge);
    plan.stages[status.stage].gates.append(judge.name);
    SequentialGateState evidence;
    evidence.evidence = startJudge(judge.sequential.settings, judge.sequential.counts);
    for (int i = 0; i < 600; ++i) {
        addInterval(evidence.evidence, CountedEvent::Errors, {95, i % 2}, {5, i % 8 == 0 ? 1 : 0});
        addInterval(evidence.evidence, CountedEvent::SlowRequests, {95, 1},
                    {5, i % 19 == 0 ? 1 : 0});
    }
    evidence.slowerThanMs = 250;
    const JudgeReading reading = readJudge(evidence.evidence, judge.sequential.settings.alpha);
    QCOMPARE(toString(reading.decision), QStringLiteral("rollback"));
    status.judges.insert(judge.name, evidence);
    Measurement failed;
    failed.at = console.clock.now();
    failed.verdict = Verdict::Fail;
    failed.why = describe(reading);
    status.gates.append({judge.name, 1, 1, failed});
    panel->gateModel()->setRelease(plan, status);

    const GateModel *gates = panel->gateModel();
    const int row = gateRow(gates, judge.name);
    QCOMPARE(row, gates->rowCount() - 1);
    QStringList cells;
    for (int column = 0; column < GateModel::ColumnCount; ++column)
        cells << gates->index(row, column).data().toString();
    QCOMPARE(
        cells.mid(0, GateModel::WhyColumn),
        (QStringList{QStringLiteral("judge"), QStringLiteral("errors k 3.0–7.6\nslow k 0.49–1.7"),
                     QString(), QStringLiteral("regression if k > 1\nsafe if k < 2, α 5 %"),
                     QStringLiteral("regression")}));
    // The intervals take the canary's and the baseline's cells; the threshold gates keep theirs.
    QTableView *view = panel->gateView();
    QCOMPARE(view->columnSpan(row, GateModel::CanaryColumn), 2);
    QCOMPARE(view->columnSpan(0, GateModel::CanaryColumn), 1);
    // A line per counted event, and every gate in view above the strip.
    QVERIFY(view->rowHeight(row) >= 2 * view->fontMetrics().lineSpacing());
    QTRY_VERIFY(view->viewport()->height()
                >= view->rowViewportPosition(row) + view->rowHeight(row));

    // Under the table, a bar per counted event on the axis of k, in its decision's colour.
    RatioIntervalStrip *strip = panel->intervalStrip();
    QVERIFY(strip->isVisible());
    QCOMPARE(strip->text(),
             QStringLiteral("errors k 3.0–7.6, regression\nslow (> 250 ms) k 0.49–1.7, safe to "
                            "promote"));
    // Laid out in full once the layout has run.
    QTRY_VERIFY(strip->height() >= strip->sizeHint().height());
    const QImage image = strip->grab().toImage();
    const qreal scale = image.devicePixelRatio();
    const auto colourAt
        = [&](QPointF point) { return image.pixelColor((point * scale).toPoint()); };
    const QRectF errors = strip->barRect(0);
    const QRectF slow = strip->barRect(1);
    // On a log axis: equal ratios take equal widths.
    const RatioInterval &errorRatio = reading.events.at(0).ratio;
    const RatioInterval &slowRatio = reading.events.at(1).ratio;
    const double perLog = errors.width() / std::log(*errorRatio.upper / *errorRatio.lower);
    QVERIFY(qAbs(slow.width() - perLog * std::log(*slowRatio.upper / *slowRatio.lower)) < 1.5);
    QVERIFY(
        qAbs(errors.left() - slow.left() - perLog * std::log(*errorRatio.lower / *slowRatio.lower))
        < 1.5);
    QCOMPARE(colourAt(errors.center()), theme::verdictColor(Verdict::Fail, strip->palette()));
    QCOMPARE(colourAt(slow.center()), theme::verdictColor(Verdict::Pass, strip->palette()));
    // Nothing is drawn beyond the bar on its bounded sides.
    QVERIFY(colourAt({errors.left() - 6, errors.center().y()})
            != theme::verdictColor(Verdict::Fail, strip->palette()));
    grabFor(panel, QStringLiteral("canarypanel-judge"));
    grabFor(strip, QStringLiteral("canarypanel-judge-strip"));

    // Back to the release as it runs: the threshold gates only, no strip.
    panel->gateModel()->setRelease(window.releases()->release(checkout)->canary()->plan,
                                   window.releases()->release(checkout)->canary()->status);
    QVERIFY(strip->isHidden());
    QCOMPARE(view->columnSpan(gates->rowCount() - 1, GateModel::CanaryColumn), 1);
}

void TestCanaryPanel::theJudgeCatchesARegression()
{
    // shop 1.1.0 errs four times as often as 1.0.0 once it takes 10 % of traffic: the judge
    // shows the regression within minutes, and the panel shows what it saw.
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const QString path = dir.filePath(QStringLiteral("signalbox.yaml"));
    QFile file(path);
    QVERIFY(file.open(QIODevice::WriteOnly));
    file.write(judgedWorkspace("{from_weight: 10, service: shop, environment: production, "
                               "version: 1.1.0, kind: error_rate, factor: 4}"));
    file.close();
    VirtualClock clock(VirtualClock::defaultStart());
    MainWindow window(m_registry, &clock);
    window.setRemembersState(false);
    QVERIFY(!window.openWorkspace(path));
    window.resize(1440, 900);
    window.show();
    QVERIFY(window.selectService(shop));
    CanaryPanel *panel = window.canaryPanel();
    const GateModel *gates = panel->gateModel();
    run(clock, 30s);
    QCOMPARE(gates->rowCount(), 1);
    QVERIFY(panel->intervalStrip()->isVisible());

    const TimePoint started = clock.now();
    while (!window.releases()->release(shop)->canary()->status.aborted
           && clock.now() - started < 10min)
        run(clock, 10s);
    const CanaryStatus &status = window.releases()->release(shop)->canary()->status;
    QVERIFY2(status.aborted, qPrintable(panel->reasonText()));
    QCOMPARE(gates->index(0, GateModel::MetricColumn).data().toString(), QStringLiteral("judge"));
    QCOMPARE(gates->index(0, GateModel::VerdictColumn).data().toString(),
             QStringLiteral("regression"));
    QCOMPARE(gates->index(0, 0).data(GateModel::VerdictRole).toInt(), int(Verdict::Fail));
    const QString intervals = gates->index(0, GateModel::CanaryColumn).data().toString();
    QVERIFY2(QRegularExpression(QStringLiteral("^errors k [0-9.]+–[0-9.]+\nslow k "))
                 .match(intervals)
                 .hasMatch(),
             qPrintable(intervals));
    const GateModel::Judge judge = panel->intervalStrip()->judge().value();
    QVERIFY(judge.slowerThanMs.has_value());
    QVERIFY(judge.reading.events.at(0).ratio.lower.value() > 1);
    const QString strip = panel->intervalStrip()->text();
    QVERIFY2(strip.startsWith(QStringLiteral("errors ")
                              + GateModel::intervalText(judge.reading.events.at(0).ratio)
                              + QStringLiteral(", regression\nslow (> ")),
             qPrintable(strip));
    grabFor(panel, QStringLiteral("canarypanel-judge-regression"));
}

QTEST_MAIN(TestCanaryPanel)
#include "tst_canarypanel.moc"
