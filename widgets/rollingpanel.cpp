#include "rollingpanel.h"

#include "badgeline.h"
#include "clock.h"
#include "instancegridview.h"
#include "instancemodel.h"
#include "reasondialog.h"
#include "releasecontroller.h"
#include "releaseeventmodel.h"
#include "releasepanel.h"
#include "rollingengine.h"
#include "tablestyle.h"
#include "textline.h"
#include "theme.h"

#include <QHBoxLayout>
#include <QLabel>
#include <QProgressBar>
#include <QPushButton>
#include <QScrollArea>
#include <QSplitter>
#include <QStackedWidget>
#include <QTableView>
#include <QVBoxLayout>

#include <algorithm>

namespace sb {

namespace {

using Release = ReleaseController::Release;

QString phaseWord(RollingPhase phase, const RollingStatus &status)
{
    switch (phase) {
    case RollingPhase::Progressing: return QObject::tr("Progressing");
    case RollingPhase::Paused: return QObject::tr("Paused");
    case RollingPhase::Stalled: return QObject::tr("Stalled");
    case RollingPhase::RollingBack:
        return QObject::tr("Rolling back to %1").arg(status.fromVersion);
    case RollingPhase::Succeeded: return QObject::tr("Succeeded");
    case RollingPhase::RolledBack: return QObject::tr("Rolled back");
    }
    return {};
}

QColor phaseColor(RollingPhase phase, const QPalette &palette)
{
    switch (phase) {
    case RollingPhase::Progressing: return theme::stateColor(InstanceState::Starting, palette);
    case RollingPhase::Paused: return theme::healthColor(Health::Degraded, palette);
    case RollingPhase::Stalled:
    case RollingPhase::RollingBack:
    case RollingPhase::RolledBack: return theme::healthColor(Health::Critical, palette);
    case RollingPhase::Succeeded: return theme::healthColor(Health::Healthy, palette);
    }
    return palette.color(QPalette::Mid);
}

// Which instances are "the extra ones" is a way of looking at the count: those about to go
// (draining) first, then the newest of the version rolling out, which the surge allowance paid
// for.
QSet<QString> surgeInstances(const ServiceStatus &observed, const QString &target, int surge)
{
    if (surge <= 0 || !observed.fleet)
        return {};
    auto rank = [&target](const Instance &instance) {
        if (instance.state == InstanceState::Draining)
            return 0;
        if (instance.version == target && instance.state != InstanceState::Ready)
            return 1;
        return instance.version == target ? 2 : 3;
    };
    QList<const Instance *> live;
    for (const Instance &instance : observed.fleet->instances) {
        if (isLive(instance.state))
            live.append(&instance);
    }
    std::stable_sort(live.begin(), live.end(), [&rank](const Instance *a, const Instance *b) {
        const int ra = rank(*a);
        const int rb = rank(*b);
        return ra != rb ? ra < rb : a->since > b->since;
    });
    QSet<QString> ids;
    for (int i = 0; i < std::min(surge, int(live.size())); ++i)
        ids.insert(live[i]->id);
    return ids;
}

} // namespace

RollingPanel::RollingPanel(Clock *clock, QWidget *parent)
    : StrategyPanel(clock, parent)
    , m_instances(new InstanceModel(this))
    , m_events(new ReleaseEventModel(this))
{
    setPages(buildReleasePage());
}

QWidget *RollingPanel::buildReleasePage()
{
    auto *page = new QWidget(this);
    auto *layout = new QVBoxLayout(page);
    layout->setContentsMargins(0, 4, 0, 0);
    layout->setSpacing(6);

    auto *top = new QHBoxLayout;
    m_title = sectionLabel(QString(), page);
    top->addWidget(m_title);
    m_phase = new BadgeLine(Qt::AlignLeft, page);
    // Wide enough for the longest phase words: the line repaints without asking for layout.
    m_phase->setMinimumWidth(fontMetrics().horizontalAdvance(tr("Rolling back to 10.10.10")) + 20);
    top->addWidget(m_phase);
    top->addStretch(1);
    m_pause = new QPushButton(tr("Pause"), page);
    m_rollBack = new QPushButton(tr("Roll Back…"), page);
    for (QPushButton *button : {m_pause, m_rollBack}) {
        button->setAutoDefault(false);
        top->addWidget(button);
    }
    theme::markDestructive(m_rollBack);
    connect(m_pause, &QPushButton::clicked, this, [this] {
        const Release *release = m_controller ? m_controller->release(m_observed.key) : nullptr;
        runCommand(release && release->rolling() && release->rolling()->status.pausedAt
                       ? ReleaseCommand::Resume
                       : ReleaseCommand::Pause,
                   QString());
    });
    connect(m_rollBack, &QPushButton::clicked, this, &RollingPanel::confirmRollBack);
    layout->addLayout(top);
    m_meta = new QLabel(page);
    m_meta->setForegroundRole(QPalette::PlaceholderText);
    m_meta->setSizePolicy(QSizePolicy::Ignored, QSizePolicy::Preferred);
    layout->addWidget(m_meta);

    m_banner = new QLabel(page);
    m_banner->setWordWrap(true);
    m_banner->setTextFormat(Qt::RichText);
    m_banner->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_banner->setAutoFillBackground(true);
    m_banner->setMargin(8);
    m_banner->setAccessibleName(tr("Release alert"));
    m_banner->hide();
    layout->addWidget(m_banner);

    // The count before the bar, the ETA after it: text over a bar's two colours reads badly.
    auto *progressRow = new QHBoxLayout;
    progressRow->setSpacing(12);
    m_progressLine = new TextLine(page);
    m_progressLine->setWidthFromSample(tr("16 of 16 instances back on 10.10.10"));
    progressRow->addWidget(m_progressLine);
    m_progress = new QProgressBar(page);
    m_progress->setTextVisible(false);
    m_progress->setMaximumHeight(12);
    m_progress->setAccessibleName(tr("Progress"));
    progressRow->addWidget(m_progress, 1);
    m_eta = new TextLine(page);
    m_eta->setWidthFromSample(tr("ETA 10 min 59 s, about 23:59 UTC"));
    progressRow->addWidget(m_eta);
    layout->addLayout(progressRow);

    auto *budgetRow = new QHBoxLayout;
    auto *budgetName = new QLabel(tr("Capacity budget:"), page);
    budgetName->setForegroundRole(QPalette::PlaceholderText);
    budgetRow->addWidget(budgetName);
    m_budget = new BadgeLine(Qt::AlignLeft, page);
    budgetRow->addWidget(m_budget, 1);
    layout->addLayout(budgetRow);
    m_counts = new TextLine(page);
    layout->addWidget(m_counts);
    m_reason = new QLabel(page);
    m_reason->setWordWrap(true);
    m_reason->setTextFormat(Qt::PlainText);
    m_reason->setTextInteractionFlags(Qt::TextSelectableByMouse);
    layout->addWidget(m_reason);
    layout->addWidget(m_message);

    auto *splitter = new QSplitter(Qt::Vertical, page);
    splitter->setChildrenCollapsible(false);
    auto *gridBox = new QWidget(splitter);
    auto *gridLayout = new QVBoxLayout(gridBox);
    gridLayout->setContentsMargins(0, 0, 0, 0);
    gridLayout->addWidget(sectionLabel(tr("Instances"), gridBox));
    m_grid = new InstanceGridView(gridBox);
    m_grid->setModel(m_instances);
    auto *scroll = new QScrollArea(gridBox);
    scroll->setWidget(m_grid);
    scroll->setWidgetResizable(true);
    scroll->setFrameShape(QFrame::NoFrame);
    gridLayout->addWidget(scroll, 1);
    splitter->addWidget(gridBox);
    m_eventView = panelparts::addEventsSection(m_events, splitter);
    splitter->setStretchFactor(0, 1);
    splitter->setStretchFactor(1, 1);
    // Two versions of a few dozen instances fit; a larger fleet scrolls or takes the handle.
    splitter->setSizes({200, 260});
    layout->addWidget(splitter, 1);
    return page;
}

void RollingPanel::forgetShown()
{
    m_events->clear();
    m_instances->clear();
}

void RollingPanel::refresh()
{
    const ServiceKey &key = m_observed.key;
    const Release *release = m_controller ? m_controller->release(key) : nullptr;
    if (!release || !release->rolling()) {
        m_pages->setCurrentIndex(0);
        m_emptyTitle->setText(
            tr("No rolling release of %1 (%2) yet").arg(key.name, key.environment));
        m_emptyText->setText(
            tr("Start one to replace its instances with a new version a few at a time, within "
               "the surge and unavailable budgets the workspace sets for it. Going back is a "
               "rolling update to the previous version, under the same budgets."));
        m_start->setEnabled(m_controller && m_observed.strategy == Strategy::Rolling);
        m_events->clear();
        m_instances->clear();
        return;
    }
    m_pages->setCurrentIndex(1);
    const RollingPlan &plan = release->rolling()->plan;
    const RollingStatus &status = release->rolling()->status;
    const TimePoint now = m_clock->now();
    const RollingPhase phase = rolling::phase(plan, status);
    const RollingProgress progress = rolling::progress(plan, status, m_observed, now);
    const QPalette pal = palette();

    m_title->setText(tr("%1 → %2").arg(status.fromVersion, status.toVersion));
    m_phase->setBadges({{Badge::Style::Chip, phaseWord(phase, status), phaseColor(phase, pal)}});
    m_meta->setText(tr("rolling · max surge %1, max unavailable %2 · progress deadline %3 · "
                       "started %4 UTC by %5")
                        .arg(plan.maxSurge.text(), plan.maxUnavailable.text(),
                             formatDuration(plan.progressDeadline),
                             formatTimeOfDay(status.startedAt), status.startedBy));
    m_meta->setToolTip(tr("Release %1 (%2)").arg(status.id, plan.origin));

    // What is stuck is the engine's sentence, below; the banner says what to do about it.
    if (phase == RollingPhase::Stalled) {
        m_banner->setText(
            tr("<b>Stalled: nothing moved for %1, so the release paused itself.</b><br>"
               "Find out why %2 instances do not become ready (failed ones are crossed in the "
               "grid below; hover one for its details) and fix that, then press "
               "<b>Resume</b> to try again, or <b>Roll Back</b> to return every instance to "
               "%3.")
                .arg(formatDuration(plan.progressDeadline), status.targetVersion().toHtmlEscaped(),
                     status.retiringVersion().toHtmlEscaped()));
        QPalette banner = m_banner->palette();
        banner.setColor(QPalette::Window,
                        theme::bannerColor(theme::healthColor(Health::Critical, pal), pal));
        m_banner->setPalette(banner);
    }
    m_banner->setVisible(phase == RollingPhase::Stalled);

    m_progress->setRange(0, std::max(1, progress.replicas));
    m_progress->setValue(std::min(progress.targetReady, progress.replicas));
    m_progressLine->setText(status.rollingBack() ? tr("%1 of %2 instances back on %3")
                                                       .arg(progress.targetReady)
                                                       .arg(progress.replicas)
                                                       .arg(status.targetVersion())
                                                 : tr("%1 of %2 instances on %3")
                                                       .arg(progress.targetReady)
                                                       .arg(progress.replicas)
                                                       .arg(status.targetVersion()));
    QString eta;
    if (status.finished())
        eta = tr("Ended %1 UTC, after %2")
                  .arg(formatTimeOfDay(*status.endedAt),
                       formatDuration(*status.endedAt - status.startedAt));
    else if (status.pausedAt)
        eta = tr("No ETA while paused");
    else if (progress.eta)
        eta = tr("ETA %1, about %2 UTC")
                  .arg(formatDuration(*progress.eta), formatTimeOfDay(now + *progress.eta));
    else
        eta = tr("ETA once the first instance is replaced");
    m_eta->setText(eta);

    const ResolvedBudget &budget = progress.budget;
    auto chip = [&](const QString &text, bool over) -> Badge {
        return {Badge::Style::Chip, text,
                theme::healthColor(over ? Health::Critical : Health::Healthy, pal)};
    };
    m_budget->setBadges(
        {chip(tr("Unavailable: %1 of %2 allowed")
                  .arg(progress.unavailableNow)
                  .arg(budget.unavailable),
              progress.unavailableNow > budget.unavailable),
         chip(tr("Surge: %1 of %2 allowed").arg(progress.surgeNow).arg(budget.surge),
              progress.surgeNow > budget.surge)});
    m_budget->setToolTip(
        tr("The service keeps %1 instances: at least %2 ready (max unavailable %3) and at most "
           "%4 running, draining ones included (max surge %5).")
            .arg(progress.replicas)
            .arg(progress.replicas - budget.unavailable)
            .arg(plan.maxUnavailable.text())
            .arg(progress.replicas + budget.surge)
            .arg(plan.maxSurge.text()));
    m_counts->setText(tr("%1: %2 ready, %3 starting · %4: %5 left · %6 draining · %7 failed · "
                         "%8 of %9 ready in all")
                          .arg(status.targetVersion())
                          .arg(progress.targetReady)
                          .arg(progress.targetStarting)
                          .arg(status.retiringVersion())
                          .arg(progress.retiringLive)
                          .arg(progress.draining)
                          .arg(progress.failed)
                          .arg(progress.ready)
                          .arg(progress.replicas));
    m_reason->setText(panelparts::sentence(release->reason, key));

    if (m_observed.fleet)
        m_instances->setFleet(*m_observed.fleet);
    else
        m_instances->setFleet(FleetSnapshot{key, now, {}});
    m_grid->setNow(now);
    m_grid->setReleaseMarking(InstanceGridView::ReleaseMarking{
        status.fromVersion, status.toVersion,
        surgeInstances(m_observed, status.targetVersion(), progress.surgeNow)});
    m_events->setEvents(status.id, release->events);

    const bool paused = status.pausedAt.has_value();
    m_pause->setText(paused ? tr("Resume") : tr("Pause"));
    struct Button {
        QPushButton *button;
        ReleaseCommand command;
    };
    const Button buttons[] = {{m_pause, paused ? ReleaseCommand::Resume : ReleaseCommand::Pause},
                              {m_rollBack, ReleaseCommand::RollBack}};
    for (const Button &b : buttons) {
        const QString refused = m_controller->refusal(key, b.command);
        b.button->setEnabled(refused.isEmpty());
        b.button->setToolTip(panelparts::sentence(refused, key));
    }
}

void RollingPanel::confirmRollBack()
{
    const Release *release = m_controller ? m_controller->release(m_observed.key) : nullptr;
    if (!release || !release->rolling())
        return;
    const RollingPlan &plan = release->rolling()->plan;
    const RollingStatus &status = release->rolling()->status;
    const TimePoint now = m_clock->now();
    int replacing = 0;
    for (const VersionSummary &summary : summarizeVersions(m_observed)) {
        if (summary.version == status.toVersion)
            replacing = summary.total;
    }
    const std::optional<Duration> estimate
        = rolling::rollbackEstimate(plan, status, m_observed, now);
    const QString service = tr("%1 (%2)").arg(m_observed.key.name, m_observed.key.environment);
    ReasonDialog::Request request;
    request.title = tr("Roll %1 back to %2").arg(service, status.fromVersion);
    request.text
        = tr("Roll %1 out again on %2? The %3 instances of %4 are replaced by %1 a few at a "
             "time, under the same budgets (max surge %5, max unavailable %6). ")
              .arg(status.fromVersion, service)
              .arg(replacing)
              .arg(status.toVersion, plan.maxSurge.text(), plan.maxUnavailable.text());
    request.text += estimate ? tr("At the pace this release has kept that takes about %1.")
                                   .arg(formatDuration(*estimate))
                             : tr("How long that takes is not known yet: no instance has been "
                                  "replaced so far.");
    request.acceptLabel = tr("Roll Back to %1").arg(status.fromVersion);
    request.reasonRequired = true;
    request.destructive = true;
    auto *dialog = new ReasonDialog(request, this);
    dialog->setObjectName(QStringLiteral("confirm-roll-back"));
    connect(dialog, &QDialog::accepted, this,
            [this, dialog] { runCommand(ReleaseCommand::RollBack, dialog->reason()); });
    dialog->open();
}

QString RollingPanel::phaseText() const
{
    return m_phase->text();
}

QString RollingPanel::progressText() const
{
    return m_progressLine->text();
}

QString RollingPanel::etaText() const
{
    return m_eta->text();
}

QString RollingPanel::budgetText() const
{
    return m_budget->text();
}

QString RollingPanel::countsText() const
{
    return m_counts->text();
}

QString RollingPanel::bannerText() const
{
    return m_banner->isHidden() ? QString() : m_banner->text();
}

QString RollingPanel::reasonText() const
{
    return m_reason->text();
}

} // namespace sb
