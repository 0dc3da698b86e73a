#include "canarypanel.h"

#include "badgeline.h"
#include "clock.h"
#include "gatemodel.h"
#include "ratiointervalstrip.h"
#include "reasondialog.h"
#include "releasecharts.h"
#include "releasecontroller.h"
#include "releaseeventmodel.h"
#include "releasepanel.h"
#include "stagestepper.h"
#include "tablestyle.h"
#include "textline.h"
#include "theme.h"

#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QPushButton>
#include <QSplitter>
#include <QStackedWidget>
#include <QTableView>
#include <QVBoxLayout>

namespace sb {

namespace {

using Release = ReleaseController::Release;

QString percentText(double percent)
{
    return QStringLiteral("%1 %").arg(percent, 0, 'g', 4);
}

QString phaseWord(CanaryPhase phase)
{
    switch (phase) {
    case CanaryPhase::Scaling: return QObject::tr("Starting instances");
    case CanaryPhase::Shifting: return QObject::tr("Shifting traffic");
    case CanaryPhase::Baking: return QObject::tr("Baking");
    case CanaryPhase::Holding: return QObject::tr("Holding");
    case CanaryPhase::Paused: return QObject::tr("Paused");
    case CanaryPhase::Completing: return QObject::tr("Completing");
    case CanaryPhase::Succeeded: return QObject::tr("Succeeded");
    case CanaryPhase::Aborting: return QObject::tr("Rolling back");
    case CanaryPhase::Aborted: return QObject::tr("Aborted");
    }
    return {};
}

QColor phaseColor(CanaryPhase phase, const QPalette &palette)
{
    switch (phase) {
    case CanaryPhase::Succeeded:
    case CanaryPhase::Baking: return theme::healthColor(Health::Healthy, palette);
    case CanaryPhase::Holding:
    case CanaryPhase::Paused: return theme::healthColor(Health::Degraded, palette);
    case CanaryPhase::Aborting:
    case CanaryPhase::Aborted: return theme::healthColor(Health::Critical, palette);
    case CanaryPhase::Scaling:
    case CanaryPhase::Shifting:
    case CanaryPhase::Completing: return theme::stateColor(InstanceState::Starting, palette);
    }
    return palette.color(QPalette::Mid);
}

} // namespace

CanaryPanel::CanaryPanel(Clock *clock, QWidget *parent)
    : StrategyPanel(clock, parent)
    , m_gates(new GateModel(this))
    , m_events(new ReleaseEventModel(this))
{
    setPages(buildReleasePage(), tr("Start Canary…"),
             tr("Choose a version and a plan, and see how long it takes and how fast it can be "
                "rolled back, before anything changes (Ctrl+Shift+N)"));
}

QWidget *CanaryPanel::buildReleasePage()
{
    auto *page = new QWidget(this);
    auto *layout = new QVBoxLayout(page);
    layout->setContentsMargins(0, 4, 0, 0);
    layout->setSpacing(6);

    auto *top = new QHBoxLayout;
    m_title = sectionLabel(QString(), page);
    top->addWidget(m_title);
    m_phase = new BadgeLine(Qt::AlignLeft, page);
    // Wide enough for the longest phase word: the line repaints without asking for layout.
    int widest = 0;
    for (int phase = 0; phase <= int(CanaryPhase::Aborted); ++phase)
        widest = std::max(widest, fontMetrics().horizontalAdvance(phaseWord(CanaryPhase(phase))));
    m_phase->setMinimumWidth(widest + 20);
    top->addWidget(m_phase);
    top->addStretch(1);
    m_promote = new QPushButton(tr("Promote…"), page);
    m_promoteFully = new QPushButton(tr("Promote Fully…"), page);
    m_pause = new QPushButton(tr("Pause"), page);
    m_abort = new QPushButton(tr("Abort…"), page);
    m_retry = new QPushButton(tr("Retry…"), page);
    for (QPushButton *button : {m_promote, m_promoteFully, m_pause, m_abort, m_retry}) {
        button->setAutoDefault(false);
        top->addWidget(button);
    }
    theme::markDestructive(m_abort);
    connect(m_promote, &QPushButton::clicked, this,
            [this] { confirmCommand(canary::Command::Promote); });
    connect(m_promoteFully, &QPushButton::clicked, this,
            [this] { confirmCommand(canary::Command::PromoteFully); });
    connect(m_pause, &QPushButton::clicked, this, [this] {
        const Release *release = m_controller ? m_controller->release(m_observed.key) : nullptr;
        runCommand(release && release->canary() && release->canary()->status.pausedAt
                       ? canary::Command::Resume
                       : canary::Command::Pause,
                   QString());
    });
    connect(m_abort, &QPushButton::clicked, this,
            [this] { confirmCommand(canary::Command::Abort); });
    connect(m_retry, &QPushButton::clicked, this,
            [this] { confirmCommand(canary::Command::Retry); });
    layout->addLayout(top);
    m_meta = new QLabel(page);
    m_meta->setForegroundRole(QPalette::PlaceholderText);
    // A long plan name may be cut short rather than widen the window.
    m_meta->setSizePolicy(QSizePolicy::Ignored, QSizePolicy::Preferred);
    layout->addWidget(m_meta);

    m_stepper = new StageStepper(page);
    layout->addWidget(m_stepper);
    m_facts = new TextLine(page);
    layout->addWidget(m_facts);
    m_reason = new QLabel(page);
    m_reason->setWordWrap(true);
    m_reason->setTextFormat(Qt::PlainText);
    m_reason->setTextInteractionFlags(Qt::TextSelectableByMouse);
    layout->addWidget(m_reason);
    layout->addWidget(m_message);

    auto *splitter = new QSplitter(Qt::Vertical, page);
    splitter->setChildrenCollapsible(false);
    auto *gatesBox = new QWidget(splitter);
    auto *gatesLayout = new QVBoxLayout(gatesBox);
    gatesLayout->setContentsMargins(0, 0, 0, 0);
    gatesLayout->addWidget(sectionLabel(tr("Gates"), gatesBox));
    m_gateView = panelparts::createGateView(m_gates, gatesBox);
    // The canary's bounds are the longest the table shows.
    m_gateView->setColumnWidth(GateModel::BoundColumn, 178);
    gatesLayout->addWidget(m_gateView);
    m_intervals = new RatioIntervalStrip(gatesBox);
    m_intervals->setModel(m_gates);
    gatesLayout->addWidget(m_intervals);
    connect(m_gates, &QAbstractItemModel::modelReset, this, &CanaryPanel::layOutJudgeRows);
    connect(m_gates, &QAbstractItemModel::layoutChanged, this, &CanaryPanel::layOutJudgeRows);
    connect(m_gates, &QAbstractItemModel::rowsInserted, this, &CanaryPanel::layOutJudgeRows);
    connect(m_gates, &QAbstractItemModel::rowsRemoved, this, &CanaryPanel::layOutJudgeRows);
    splitter->addWidget(gatesBox);

    m_charts = new ReleaseCharts(splitter);
    splitter->addWidget(m_charts);

    m_eventView = panelparts::addEventsSection(m_events, splitter);
    splitter->setStretchFactor(0, 2);
    splitter->setStretchFactor(1, 5);
    splitter->setStretchFactor(2, 2);
    // Room for the five gates of the playbook's later stages without scrolling.
    splitter->setSizes({178, 262, 140});
    layout->addWidget(splitter, 1);
    return page;
}

// A sequential gate's row has a line per counted event; its intervals compare the two arms, so
// they take the canary's and the baseline's cells together.
void CanaryPanel::layOutJudgeRows()
{
    m_gateView->clearSpans();
    bool judged = false;
    int rowsHeight = 0;
    for (int row = 0; row < m_gates->rowCount(); ++row) {
        const QModelIndex index = m_gates->index(row, GateModel::CanaryColumn);
        int height = tableRowHeight;
        if (index.data(GateModel::JudgeRole).isValid()) {
            judged = true;
            m_gateView->setSpan(row, GateModel::CanaryColumn, 1, 2);
            int lines = 1;
            for (int column = 0; column < GateModel::ColumnCount; ++column) {
                const QString text = index.siblingAtColumn(column).data().toString();
                lines = std::max(lines, int(text.count(QLatin1Char('\n'))) + 1);
            }
            height = std::max(height, lines * m_gateView->fontMetrics().lineSpacing() + 10);
        }
        m_gateView->setRowHeight(row, height);
        rowsHeight += height;
    }
    // The judge's row could scroll out of sight below the other gates, and its strip of
    // intervals takes room from them: with a judge, every gate stays in view, the splitter
    // taking the room from the charts and the events.
    m_gateView->setMinimumHeight(judged ? m_gateView->horizontalHeader()->sizeHint().height()
                                              + rowsHeight + 2 * m_gateView->frameWidth()
                                        : 0);
}

void CanaryPanel::forgetShown()
{
    m_gates->clear();
    m_events->clear();
    m_charts->clear();
    m_shownTraceOf.clear();
    m_shownTraceAt.reset();
}

void CanaryPanel::refresh()
{
    const ServiceKey &key = m_observed.key;
    const Release *release = m_controller ? m_controller->release(key) : nullptr;
    if (!release || !release->canary()) {
        m_pages->setCurrentIndex(0);
        m_emptyTitle->setText(
            tr("No canary release of %1 (%2) yet").arg(key.name, key.environment));
        QString text = tr("Start one to send a new version a small share of traffic, stage by "
                          "stage, with gates comparing it to the version serving now.");
        if (m_controller && m_observed.strategy != Strategy::Canary)
            text = tr("%1 is released with the %2 strategy; canaries are for services whose "
                      "strategy is canary.")
                       .arg(key.name, toString(m_observed.strategy));
        m_emptyText->setText(text);
        m_start->setEnabled(m_controller && m_observed.strategy == Strategy::Canary);
        m_gates->clear();
        m_events->clear();
        m_charts->clear();
        m_shownTraceOf.clear();
        return;
    }
    m_pages->setCurrentIndex(1);
    const CanaryPlan &plan = release->canary()->plan;
    const CanaryStatus &status = release->canary()->status;
    const TimePoint now = m_clock->now();
    const CanaryPhase phase = canary::phase(plan, status, m_observed, now);

    m_title->setText(tr("%1 → %2").arg(status.stableVersion, status.canaryVersion));
    m_phase->setBadges({{Badge::Style::Chip, phaseWord(phase), phaseColor(phase, palette())}});
    m_meta->setText(tr("plan %1 · started %2 UTC by %3")
                        .arg(plan.name, formatTimeOfDay(status.startedAt), status.startedBy));
    m_meta->setToolTip(tr("Release %1, plan %2 (%3)").arg(status.id, plan.name, plan.origin));

    QList<StageStepper::Step> steps;
    for (int i = 0; i < plan.stages.size(); ++i) {
        const CanaryStage &stage = plan.stage(i);
        StageStepper::Step step;
        step.title = percentText(stage.weightPercent);
        if (i == plan.finalStage())
            step.subtitle = tr("complete");
        else
            step.subtitle = tr("bake %1%2")
                                .arg(formatDuration(stage.bake),
                                     stage.approval ? tr(" + approval") : QString());
        if (status.succeeded() || i < status.stage) {
            step.state = StageStepper::Step::State::Done;
        } else if (i == status.stage) {
            step.state = status.aborted ? StageStepper::Step::State::Failed
                                        : StageStepper::Step::State::Current;
            if (status.aborted)
                step.subtitle = status.finished() ? tr("rolled back") : tr("rolling back");
            else if (const auto left = canary::bakeRemaining(plan, status, now))
                step.subtitle = *left > Duration(0) ? tr("%1 left").arg(formatDuration(*left))
                                                    : phaseWord(phase).toLower();
            else
                step.subtitle = phaseWord(phase).toLower();
        }
        steps.append(step);
    }
    m_stepper->setSteps(steps);

    const QString canaryVersion = status.canaryVersion;
    std::optional<double> observedShare;
    int canaryReady = 0;
    int baselineReady = 0;
    for (const VersionSummary &summary : summarizeVersions(m_observed)) {
        if (summary.version == canaryVersion) {
            observedShare = summary.observedSharePercent;
            canaryReady = summary.ready;
        } else if (summary.version == status.stableVersion) {
            baselineReady = summary.ready;
        }
    }
    const double routed = m_observed.traffic ? m_observed.traffic->weightOf(canaryVersion) : 0;
    m_facts->setText(
        tr("Stage %1 of %2 · weight wanted %3, set %4, observed %5 · canary %6 ready · "
           "baseline %7 ready")
            .arg(status.stage + 1)
            .arg(plan.stages.size())
            .arg(percentText(canary::desiredWeight(plan, status)),
                 m_observed.traffic ? percentText(routed) : tr("unknown"),
                 observedShare ? QStringLiteral("%1 %").arg(*observedShare, 0, 'f', 2)
                               : tr("no data"))
            .arg(canaryReady)
            .arg(baselineReady));
    QString reason = release->reason;
    if (!reason.isEmpty())
        reason[0] = reason[0].toUpper();
    m_reason->setText(reason);

    m_gates->setRelease(plan, status);
    m_events->setEvents(status.id, release->events);
    // The charts redraw only when the trace has something new.
    if (m_shownTraceOf != status.id || m_shownTraceAt != release->trace.lastSampleAt
        || release->trace.endedAt) {
        m_charts->setTrace(release->trace, status.canaryVersion, status.stableVersion);
        m_shownTraceOf = status.id;
        m_shownTraceAt = release->trace.lastSampleAt;
    }
    // After the trace, which clears the charts' markers when it has no samples yet.
    m_charts->setEvents(release->events);

    struct Button {
        QPushButton *button;
        canary::Command command;
    };
    const bool paused = status.pausedAt.has_value();
    m_pause->setText(paused ? tr("Resume") : tr("Pause"));
    const Button buttons[] = {{m_promote, canary::Command::Promote},
                              {m_promoteFully, canary::Command::PromoteFully},
                              {m_pause, paused ? canary::Command::Resume : canary::Command::Pause},
                              {m_abort, canary::Command::Abort},
                              {m_retry, canary::Command::Retry}};
    for (const Button &b : buttons) {
        const QString refused = m_controller->refusal(m_observed.key, b.command);
        b.button->setEnabled(refused.isEmpty());
        b.button->setToolTip(refused);
    }
    m_retry->setVisible(status.aborted);
}

void CanaryPanel::confirmCommand(canary::Command command)
{
    const Release *release = m_controller ? m_controller->release(m_observed.key) : nullptr;
    if (!release || !release->canary())
        return;
    const CanaryPlan &plan = release->canary()->plan;
    const CanaryStatus &status = release->canary()->status;
    const QString service = tr("%1 (%2)").arg(m_observed.key.name, m_observed.key.environment);
    ReasonDialog::Request request;
    switch (command) {
    case canary::Command::Promote: {
        const int next = status.stage + 1;
        request.title = tr("Promote %1").arg(service);
        request.text = tr("Move %1 %2 from %3 to %4 of traffic now? This cuts the current stage "
                          "short: its remaining bake and its gates' verdicts are skipped.")
                           .arg(service, status.canaryVersion,
                                percentText(plan.stage(status.stage).weightPercent),
                                percentText(plan.stage(next).weightPercent));
        request.acceptLabel = tr("Promote to %1").arg(percentText(plan.stage(next).weightPercent));
        request.reasonRequired = true;
        break;
    }
    case canary::Command::PromoteFully:
        request.title = tr("Promote %1 fully").arg(service);
        request.text = tr("Send all traffic of %1 to %2 now, skipping every remaining stage and "
                          "gate? %3 is scaled down once %2 serves everything.")
                           .arg(service, status.canaryVersion, status.stableVersion);
        request.acceptLabel = tr("Send all traffic to %1").arg(status.canaryVersion);
        request.reasonRequired = true;
        request.destructive = true;
        break;
    case canary::Command::Abort:
        request.title = tr("Abort the canary of %1").arg(service);
        request.text = tr("Stop the canary of %1 %2? All traffic goes back to %3 in one router "
                          "call, then %2 is scaled down.")
                           .arg(service, status.canaryVersion, status.stableVersion);
        request.acceptLabel = tr("Abort and roll back");
        request.destructive = true;
        break;
    case canary::Command::Retry:
        request.title = tr("Retry the canary of %1").arg(service);
        request.text
            = tr("Start the canary of %1 %2 again from its first stage (%3)?")
                  .arg(service, status.canaryVersion, percentText(plan.stage(0).weightPercent));
        request.acceptLabel = tr("Retry from %1").arg(percentText(plan.stage(0).weightPercent));
        break;
    default: return; // Pause and Resume need no confirmation; the rest are not a canary's
    }
    auto *dialog = new ReasonDialog(request, this);
    dialog->setObjectName(QStringLiteral("confirm-%1").arg(toString(command)));
    connect(dialog, &QDialog::accepted, this,
            [this, dialog, command] { runCommand(command, dialog->reason()); });
    dialog->open();
}

QString CanaryPanel::factsText() const
{
    return m_facts->text();
}

QString CanaryPanel::reasonText() const
{
    return m_reason->text();
}

} // namespace sb
