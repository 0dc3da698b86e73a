#include "bluegreenpanel.h"

#include "badgeline.h"
#include "bluegreenengine.h"
#include "clock.h"
#include "gatemodel.h"
#include "reasondialog.h"
#include "releasecontroller.h"
#include "releaseeventmodel.h"
#include "releasepanel.h"
#include "tablestyle.h"
#include "textline.h"
#include "theme.h"

#include <QFrame>
#include <QGridLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QPainter>
#include <QPushButton>
#include <QSplitter>
#include <QStackedWidget>
#include <QTableView>
#include <QVBoxLayout>

#include <iterator>

namespace sb {

// One colour of a blue-green pair: its version and part (live, idle, warm, retired) on top, its
// figures below, framed in the version's colour, heavier when it takes the traffic.
class ColourCard : public QFrame
{
public:
    explicit ColourCard(QWidget *parent)
        : QFrame(parent)
    {
        auto *layout = new QVBoxLayout(this);
        layout->setContentsMargins(14, 10, 12, 10);
        layout->setSpacing(6);
        auto *top = new QHBoxLayout;
        m_version = new QLabel(this);
        QFont big = m_version->font();
        big.setBold(true);
        big.setPointSizeF(big.pointSizeF() * 1.3);
        m_version->setFont(big);
        m_version->setTextInteractionFlags(Qt::TextSelectableByMouse);
        top->addWidget(m_version);
        m_role = new BadgeLine(Qt::AlignLeft, this);
        top->addWidget(m_role, 1);
        layout->addLayout(top);
        auto *figures = new QGridLayout;
        figures->setHorizontalSpacing(12);
        figures->setVerticalSpacing(3);
        const QString names[]
            = {tr("Instances"), tr("Weight"), tr("Observed"), tr("Error rate"), tr("p99")};
        for (int i = 0; i < figureCount; ++i) {
            auto *name = new QLabel(names[i], this);
            name->setForegroundRole(QPalette::PlaceholderText);
            if (i == observedRow)
                name->setToolTip(tr("The share of all requests this colour answered in the "
                                    "metrics source's last interval; it follows a switch "
                                    "within one interval"));
            figures->addWidget(name, i, 0);
            m_figures[i] = new TextLine(this);
            figures->addWidget(m_figures[i], i, 1);
        }
        figures->setColumnStretch(1, 1);
        layout->addLayout(figures);
        setSizePolicy(QSizePolicy::Expanding, QSizePolicy::Fixed);
    }

    // `summary` is null when the colour has no instance left.
    void setColour(const QString &version, const VersionSummary *summary, const Badge &role,
                   const QColor &accent, bool live)
    {
        m_version->setText(version);
        m_role->setBadges({role});
        const QString none(QChar(0x2014));
        QString instances = tr("none running");
        QString weight = tr("0 %");
        QString share = none;
        QString errors = none;
        QString p99 = none;
        if (summary) {
            instances = tr("%1 of %2 ready").arg(summary->ready).arg(summary->total);
            QStringList others;
            if (summary->starting > 0)
                others << tr("%1 starting").arg(summary->starting);
            if (summary->draining > 0)
                others << tr("%1 draining").arg(summary->draining);
            if (summary->failed > 0)
                others << tr("%1 failed").arg(summary->failed);
            if (!others.isEmpty())
                instances += QStringLiteral(" · ") + others.join(QStringLiteral(", "));
            weight = QStringLiteral("%1 %").arg(summary->weightPercent, 0, 'g', 4);
            if (summary->observedSharePercent)
                share = tr("%1 % of requests").arg(*summary->observedSharePercent, 0, 'f', 1);
            if (summary->errorRatio)
                errors = QStringLiteral("%1 %").arg(100 * *summary->errorRatio, 0, 'f', 2);
            if (summary->p99Ms)
                p99 = tr("%1 ms").arg(*summary->p99Ms, 0, 'f', 0);
        }
        const QString values[] = {instances, weight, share, errors, p99};
        for (int i = 0; i < figureCount; ++i)
            m_figures[i]->setText(values[i]);
        if (accent != m_accent || live != m_live) {
            m_accent = accent;
            m_live = live;
            update();
        }
    }

    QString text() const
    {
        QStringList parts{m_version->text(), m_role->text()};
        for (const TextLine *figure : m_figures)
            parts << figure->text();
        return parts.join(QStringLiteral(" | "));
    }

protected:
    void paintEvent(QPaintEvent *) override
    {
        QPainter painter(this);
        painter.setRenderHint(QPainter::Antialiasing);
        const qreal width = m_live ? 2.5 : 1;
        painter.setPen(QPen(m_accent, width));
        painter.setBrush(theme::tint(m_accent, palette(), m_live ? 0.12 : 0.05));
        painter.drawRoundedRect(
            QRectF(rect()).adjusted(width / 2, width / 2, -width / 2, -width / 2), 6, 6);
    }

private:
    static constexpr int figureCount = 5;
    static constexpr int observedRow = 2;
    QLabel *m_version;
    BadgeLine *m_role;
    TextLine *m_figures[figureCount];
    QColor m_accent;
    bool m_live = false;
};

namespace {

using Release = ReleaseController::Release;

QString phaseWord(BlueGreenPhase phase, const BlueGreenStatus &status)
{
    switch (phase) {
    case BlueGreenPhase::Deploying: return QObject::tr("Deploying %1").arg(status.newVersion);
    case BlueGreenPhase::Verifying: return QObject::tr("Verifying");
    case BlueGreenPhase::AwaitingSwitch: return QObject::tr("Ready to switch");
    case BlueGreenPhase::Switching: return QObject::tr("Switching");
    case BlueGreenPhase::Warm: return QObject::tr("Live, old colour warm");
    case BlueGreenPhase::Paused: return QObject::tr("Paused");
    case BlueGreenPhase::SwitchingBack: return QObject::tr("Switching back");
    case BlueGreenPhase::Retiring: return QObject::tr("Retiring %1").arg(status.oldVersion);
    case BlueGreenPhase::Succeeded: return QObject::tr("Succeeded");
    case BlueGreenPhase::Undoing: return QObject::tr("Scaling %1 down").arg(status.newVersion);
    case BlueGreenPhase::RolledBack:
        return status.switchedBack ? QObject::tr("Switched back") : QObject::tr("Aborted");
    }
    return {};
}

QColor phaseColor(BlueGreenPhase phase, const QPalette &palette)
{
    switch (phase) {
    case BlueGreenPhase::Warm:
    case BlueGreenPhase::Retiring:
    case BlueGreenPhase::Succeeded: return theme::healthColor(Health::Healthy, palette);
    case BlueGreenPhase::AwaitingSwitch:
    case BlueGreenPhase::Paused: return theme::healthColor(Health::Degraded, palette);
    case BlueGreenPhase::SwitchingBack:
    case BlueGreenPhase::Undoing:
    case BlueGreenPhase::RolledBack: return theme::healthColor(Health::Critical, palette);
    case BlueGreenPhase::Deploying:
    case BlueGreenPhase::Verifying:
    case BlueGreenPhase::Switching: return theme::stateColor(InstanceState::Starting, palette);
    }
    return palette.color(QPalette::Mid);
}

// What a colour that takes no traffic is doing, in the phase the release is in.
QString standbyWord(BlueGreenPhase phase, const BlueGreenStatus &status, bool oldColour)
{
    // Paused, a colour does what it did before the pause: the switch tells which part it has.
    if (phase == BlueGreenPhase::Paused) {
        if (!status.switchedAt)
            return oldColour ? QObject::tr("Not live") : QObject::tr("Idle, paused");
        phase = BlueGreenPhase::Warm;
    }
    if (oldColour) {
        switch (phase) {
        case BlueGreenPhase::Warm:
        case BlueGreenPhase::SwitchingBack: return QObject::tr("Warm standby");
        case BlueGreenPhase::Retiring: return QObject::tr("Retiring");
        case BlueGreenPhase::Succeeded: return QObject::tr("Retired");
        default: return QObject::tr("Not live");
        }
    }
    switch (phase) {
    case BlueGreenPhase::Deploying: return QObject::tr("Idle, coming up");
    case BlueGreenPhase::Verifying: return QObject::tr("Idle, verifying");
    case BlueGreenPhase::AwaitingSwitch:
    case BlueGreenPhase::Switching: return QObject::tr("Idle, ready");
    case BlueGreenPhase::Undoing: return QObject::tr("Scaling down");
    case BlueGreenPhase::RolledBack: return QObject::tr("Scaled down");
    default: return QObject::tr("Not live");
    }
}

} // namespace

BlueGreenPanel::BlueGreenPanel(Clock *clock, QWidget *parent)
    : StrategyPanel(clock, parent)
    , m_gates(new GateModel(this))
    , m_events(new ReleaseEventModel(this))
{
    setPages(buildReleasePage());
}

QWidget *BlueGreenPanel::buildReleasePage()
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
    m_phase->setMinimumWidth(fontMetrics().horizontalAdvance(tr("Live, old colour warm")) + 20);
    top->addWidget(m_phase);
    top->addStretch(1);
    m_pause = new QPushButton(tr("Resume"), page);
    // As wide as its longer word, so the row does not shift when it turns into Resume.
    m_pause->setMinimumWidth(m_pause->sizeHint().width());
    m_pause->setText(tr("Pause"));
    m_extend = new QPushButton(tr("Extend %1").arg(formatDuration(bluegreen::extendStep)), page);
    m_abort = new QPushButton(tr("Abort…"), page);
    for (QPushButton *button : {m_pause, m_extend, m_abort}) {
        button->setAutoDefault(false);
        top->addWidget(button);
    }
    theme::markDestructive(m_abort);
    connect(m_pause, &QPushButton::clicked, this, [this] {
        const Release *release = m_controller ? m_controller->release(m_observed.key) : nullptr;
        runCommand(release && release->blueGreen() && release->blueGreen()->status.pausedAt
                       ? ReleaseCommand::Resume
                       : ReleaseCommand::Pause,
                   QString());
    });
    connect(m_extend, &QPushButton::clicked, this,
            [this] { runCommand(ReleaseCommand::Extend, QString()); });
    connect(m_abort, &QPushButton::clicked, this,
            [this] { confirmCommand(ReleaseCommand::Abort); });
    layout->addLayout(top);
    m_meta = new QLabel(page);
    m_meta->setForegroundRole(QPalette::PlaceholderText);
    m_meta->setSizePolicy(QSizePolicy::Ignored, QSizePolicy::Preferred);
    layout->addWidget(m_meta);

    // Old colour, the switch between them, new colour: the way traffic moves, left to right.
    auto *colours = new QHBoxLayout;
    colours->setSpacing(12);
    m_oldCard = new ColourCard(page);
    colours->addWidget(m_oldCard, 1);
    auto *middle = new QVBoxLayout;
    middle->setSpacing(6);
    m_switch = new QPushButton(page);
    QFont big = m_switch->font();
    big.setBold(true);
    big.setPointSizeF(big.pointSizeF() * 1.15);
    m_switch->setFont(big);
    m_switch->setMinimumHeight(44);
    m_switch->setAutoDefault(false);
    connect(m_switch, &QPushButton::clicked, this,
            [this] { confirmCommand(ReleaseCommand::Switch); });
    middle->addWidget(m_switch);
    m_switchBack = new QPushButton(page);
    m_switchBack->setMinimumHeight(30);
    m_switchBack->setAutoDefault(false);
    theme::markDestructive(m_switchBack);
    connect(m_switchBack, &QPushButton::clicked, this,
            [this] { confirmCommand(ReleaseCommand::SwitchBack); });
    middle->addWidget(m_switchBack);
    m_switchHint = new QLabel(page);
    m_switchHint->setWordWrap(true);
    m_switchHint->setTextFormat(Qt::RichText);
    m_switchHint->setAlignment(Qt::AlignHCenter | Qt::AlignTop);
    // Three lines, so a countdown that changes every second never lays the window out again.
    m_switchHint->setFixedHeight(3 * fontMetrics().lineSpacing() + 2);
    middle->addWidget(m_switchHint);
    middle->addStretch();
    auto *middleBox = new QWidget(page);
    middleBox->setLayout(middle);
    middle->setContentsMargins(0, 0, 0, 0);
    middleBox->setFixedWidth(
        std::max(190, fontMetrics().horizontalAdvance(tr("Switch Back to 10.10.10…")) + 40));
    colours->addWidget(middleBox);
    m_newCard = new ColourCard(page);
    colours->addWidget(m_newCard, 1);
    layout->addLayout(colours);

    m_capacity = new TextLine(page);
    layout->addWidget(m_capacity);
    m_retired = new QLabel(page);
    m_retired->setWordWrap(true);
    m_retired->setTextFormat(Qt::PlainText);
    m_retired->setMargin(6);
    m_retired->setAutoFillBackground(true);
    m_retired->hide();
    layout->addWidget(m_retired);
    m_reason = new QLabel(page);
    m_reason->setWordWrap(true);
    m_reason->setTextFormat(Qt::PlainText);
    m_reason->setTextInteractionFlags(Qt::TextSelectableByMouse);
    layout->addWidget(m_reason);
    layout->addWidget(m_message);

    auto *splitter = new QSplitter(Qt::Vertical, page);
    splitter->setChildrenCollapsible(false);
    m_gatesBox = new QWidget(splitter);
    auto *gatesBox = m_gatesBox;
    auto *gatesLayout = new QVBoxLayout(gatesBox);
    gatesLayout->setContentsMargins(0, 0, 0, 0);
    gatesLayout->addWidget(sectionLabel(tr("Gates"), gatesBox));
    m_gateView = panelparts::createGateView(m_gates, gatesBox);
    m_gateView->setColumnWidth(GateModel::MetricColumn, 165);
    m_gateView->setColumnWidth(GateModel::CanaryColumn, 62);
    m_gateView->setColumnWidth(GateModel::BaselineColumn, 62);
    m_gateView->setColumnWidth(GateModel::BoundColumn, 172);
    m_gateView->setColumnWidth(GateModel::VerdictColumn, 112);
    gatesLayout->addWidget(m_gateView);
    splitter->addWidget(gatesBox);
    m_eventView = panelparts::addEventsSection(m_events, splitter);
    splitter->setStretchFactor(0, 1);
    splitter->setStretchFactor(1, 2);
    splitter->setSizes({150, 260});
    layout->addWidget(splitter, 1);
    return page;
}

void BlueGreenPanel::forgetShown()
{
    m_gates->clear();
    m_events->clear();
}

void BlueGreenPanel::refresh()
{
    const ServiceKey &key = m_observed.key;
    const Release *release = m_controller ? m_controller->release(key) : nullptr;
    if (!release || !release->blueGreen()) {
        m_pages->setCurrentIndex(0);
        m_emptyTitle->setText(
            tr("No blue-green release of %1 (%2) yet").arg(key.name, key.environment));
        m_emptyText->setText(
            tr("Start one to bring a new version up beside the live one as the idle colour, "
               "check it, and move all traffic to it in one router call. The old colour stays "
               "warm for a while afterwards, so going back is a switch of seconds, not a "
               "deploy."));
        m_start->setEnabled(m_controller && m_observed.strategy == Strategy::BlueGreen);
        m_gates->clear();
        m_events->clear();
        return;
    }
    m_pages->setCurrentIndex(1);
    const BlueGreenPlan &plan = release->blueGreen()->plan;
    const BlueGreenStatus &status = release->blueGreen()->status;
    const TimePoint now = m_clock->now();
    const BlueGreenPhase phase = bluegreen::phase(plan, status, m_observed, now);
    const QPalette pal = palette();
    const QString &oldVersion = status.oldVersion;
    const QString &newVersion = status.newVersion;

    m_title->setText(tr("%1 → %2").arg(oldVersion, newVersion));
    m_phase->setBadges({{Badge::Style::Chip, phaseWord(phase, status), phaseColor(phase, pal)}});
    m_meta->setText(tr("blue-green · warm window %1 · %2 switch · started %3 UTC by %4")
                        .arg(formatDuration(plan.warmWindow),
                             plan.autoSwitch ? tr("automatic") : tr("manual"),
                             formatTimeOfDay(status.startedAt), status.startedBy));
    m_meta->setToolTip(tr("Release %1 (%2)").arg(status.id, plan.origin));

    // Each colour's figures as observed, and which one the router points at.
    const QString live = bluegreen::liveColour(m_observed);
    std::optional<VersionSummary> oldSummary;
    std::optional<VersionSummary> newSummary;
    for (const VersionSummary &summary : summarizeVersions(m_observed)) {
        if (summary.version == oldVersion && summary.total > 0)
            oldSummary = summary;
        else if (summary.version == newVersion && summary.total > 0)
            newSummary = summary;
    }
    const QColor liveColor = theme::healthColor(Health::Healthy, pal);
    const QColor neutral = pal.color(QPalette::PlaceholderText);
    auto role = [&](const QString &version, bool oldColour) -> Badge {
        if (version == live)
            return {Badge::Style::Chip, tr("Live"), liveColor};
        return {Badge::Style::Chip, standbyWord(phase, status, oldColour), neutral};
    };
    m_oldCard->setColour(oldVersion, oldSummary ? &*oldSummary : nullptr, role(oldVersion, true),
                         theme::oldVersionColor(pal), oldVersion == live);
    m_newCard->setColour(newVersion, newSummary ? &*newSummary : nullptr, role(newVersion, false),
                         theme::newVersionColor(pal), newVersion == live);

    m_switch->setText(tr("Switch to %1…").arg(newVersion));
    m_switchBack->setText(tr("Switch Back to %1…").arg(oldVersion));
    const bool paused = status.pausedAt.has_value();
    m_pause->setText(paused ? tr("Resume") : tr("Pause"));
    struct Button {
        QPushButton *button;
        ReleaseCommand command;
    };
    const Button buttons[] = {{m_switch, ReleaseCommand::Switch},
                              {m_switchBack, ReleaseCommand::SwitchBack},
                              {m_extend, ReleaseCommand::Extend},
                              {m_abort, ReleaseCommand::Abort},
                              {m_pause, paused ? ReleaseCommand::Resume : ReleaseCommand::Pause}};
    constexpr int buttonCount = int(std::size(buttons));
    QString refusals[buttonCount];
    for (int i = 0; i < buttonCount; ++i) {
        refusals[i] = m_controller->refusal(key, buttons[i].command);
        buttons[i].button->setEnabled(refusals[i].isEmpty());
        buttons[i].button->setToolTip(panelparts::sentence(refusals[i], key));
    }
    // What a pause holds is not obvious from the word alone.
    if (refusals[buttonCount - 1].isEmpty()) {
        m_pause->setToolTip(paused ? tr("Let the release move on by itself again")
                                   : tr("Hold the automatic switch and the retirement of %1; gates "
                                        "keep measuring, and a failing one still switches back")
                                         .arg(oldVersion));
    }
    // Under the buttons, in a few words: how long Switch Back stays a switch while the old
    // colour is warm, what is happening, or why Switch cannot apply yet; the whole refusal is
    // in the tooltips.
    const bool switched = status.switchedAt.has_value();
    const std::optional<Duration> warmLeft = bluegreen::warmRemaining(plan, status, now);
    QString hint;
    if (warmLeft && !status.switchedBack) {
        hint = tr("%1 stays warm for <b>%2</b> more, until %3 UTC")
                   .arg(oldVersion.toHtmlEscaped(), formatDuration(*warmLeft),
                        formatTimeOfDay(now + *warmLeft));
        if (status.extended > Duration(0))
            hint += tr(" (extended by %1)").arg(formatDuration(status.extended));
    } else {
        QString words;
        switch (phase) {
        case BlueGreenPhase::Switching:
            words = tr("Moving all traffic to %1").arg(newVersion);
            break;
        case BlueGreenPhase::SwitchingBack:
            words = tr("Moving all traffic back to %1").arg(oldVersion);
            break;
        case BlueGreenPhase::Retiring:
        case BlueGreenPhase::Succeeded:
            words = tr("%1 is retired: going back is a new deploy").arg(oldVersion);
            break;
        case BlueGreenPhase::Undoing:
        case BlueGreenPhase::RolledBack:
            words = status.switchedBack ? tr("All traffic is back on %1").arg(oldVersion)
                                        : tr("Aborted; traffic stayed on %1").arg(oldVersion);
            break;
        case BlueGreenPhase::Paused:
            // Before the window's end the countdown above shows; past it, what holds it warm.
            if (switched)
                words = tr("Window over; %1 held warm while paused").arg(oldVersion);
            else
                words = panelparts::sentence(refusals[0], key);
            if (words.isEmpty())
                words = plan.autoSwitch ? tr("Paused: no switch by itself until Resume")
                                        : tr("Waiting for your Switch");
            break;
        case BlueGreenPhase::Deploying:
        case BlueGreenPhase::Verifying:
        case BlueGreenPhase::AwaitingSwitch:
        case BlueGreenPhase::Warm:
            words = panelparts::sentence(switched ? refusals[1] : refusals[0], key);
            if (words.isEmpty() && !switched)
                words = plan.autoSwitch ? tr("Switches by itself once its gates pass")
                                        : tr("Waiting for your Switch");
            else if (words.isEmpty())
                // Past the window, held while a post-switch gate has its say.
                words = tr("The window is over; %1 stays warm until the gates let it go")
                            .arg(oldVersion);
            break;
        }
        hint = words.toHtmlEscaped();
    }
    m_switchHint->setText(hint);

    const int oldRunning = oldSummary ? oldSummary->total : 0;
    const int newRunning = newSummary ? newSummary->total : 0;
    QString capacity;
    if (oldRunning > 0 && newRunning > 0)
        capacity = tr("Doubled capacity while both colours run: %1 instances for a service of "
                      "%2 (%3 on %4, %5 on %6).")
                       .arg(oldRunning + newRunning)
                       .arg(status.replicas)
                       .arg(oldRunning)
                       .arg(oldVersion)
                       .arg(newRunning)
                       .arg(newVersion);
    m_capacity->setText(capacity);
    m_capacity->setVisible(!capacity.isEmpty());

    // Once the old colour is going, a rollback is a deploy: say so where Switch back was.
    QString retired;
    if (status.retiredAt && !status.switchedBack) {
        const std::optional<Duration> estimate = bluegreen::redeployEstimate(status);
        retired = tr("%1 was retired at %2 UTC, so going back is no longer a switch: it is a "
                     "new deploy of %1 to %3 instances, ")
                      .arg(oldVersion, formatTimeOfDay(*status.retiredAt))
                      .arg(status.replicas);
        retired += estimate ? tr("which would take about %1 (as long as %2 took to come up).")
                                  .arg(formatDuration(*estimate), newVersion)
                            : tr("for which no time was measured here: %1 was already running "
                                 "when the release began.")
                                  .arg(newVersion);
        QPalette banner = m_retired->palette();
        banner.setColor(QPalette::Window,
                        theme::bannerColor(theme::healthColor(Health::Degraded, pal), pal));
        m_retired->setPalette(banner);
    }
    m_retired->setText(retired);
    m_retired->setVisible(!retired.isEmpty());

    m_reason->setText(panelparts::sentence(release->reason, key));
    m_gates->setRelease(plan, status);
    // A plan without gates leaves the room to the events.
    m_gatesBox->setVisible(m_gates->rowCount() > 0);
    m_events->setEvents(status.id, release->events);
}

void BlueGreenPanel::confirmCommand(ReleaseCommand command)
{
    const Release *release = m_controller ? m_controller->release(m_observed.key) : nullptr;
    if (!release || !release->blueGreen())
        return;
    const BlueGreenPlan &plan = release->blueGreen()->plan;
    const BlueGreenStatus &status = release->blueGreen()->status;
    const QString service = tr("%1 (%2)").arg(m_observed.key.name, m_observed.key.environment);
    const TimePoint now = m_clock->now();
    ReasonDialog::Request request;
    request.reasonRequired = true;
    switch (command) {
    case ReleaseCommand::Switch: {
        request.title = tr("Switch %1 to %2").arg(service, status.newVersion);
        request.text = tr("Move all traffic of %1 from %2 to %3 now, in one router call? %2 "
                          "stays warm for %4 afterwards: until then Switch Back returns "
                          "every request to it in seconds.")
                           .arg(service, status.oldVersion, status.newVersion,
                                formatDuration(plan.warmWindow));
        // A manual Switch goes ahead without gates that failed or have not measured yet: say so.
        const QStringList blockers = bluegreen::preSwitchBlockers(plan, status);
        if (!blockers.isEmpty()) {
            request.text += QStringLiteral("\n\n")
                            + tr("The pre-switch gates have not passed (%1). Switching now "
                                 "overrides them.")
                                  .arg(blockers.join(QStringLiteral("; ")));
        }
        request.acceptLabel = tr("Switch to %1").arg(status.newVersion);
        break;
    }
    case ReleaseCommand::SwitchBack: {
        const std::optional<Duration> left = bluegreen::warmRemaining(plan, status, now);
        request.title = tr("Switch %1 back to %2").arg(service, status.oldVersion);
        request.text
            = tr("Move all traffic of %1 from %2 back to %3 now, in one router call? "
                 "%3 is still warm%4; %2 is scaled down afterwards.")
                  .arg(service, status.newVersion, status.oldVersion,
                       left ? tr(" for another %1").arg(formatDuration(*left)) : QString());
        request.acceptLabel = tr("Switch back to %1").arg(status.oldVersion);
        request.destructive = true;
        break;
    }
    case ReleaseCommand::Abort:
        request.title = tr("Abort the release of %1").arg(service);
        request.text = tr("Stop releasing %1 %2? Traffic stays on %3, which never stopped "
                          "serving; %2 is scaled down.")
                           .arg(service, status.newVersion, status.oldVersion);
        request.acceptLabel = tr("Abort and scale %1 down").arg(status.newVersion);
        request.reasonRequired = false;
        request.destructive = true;
        break;
    default: return;
    }
    auto *dialog = new ReasonDialog(request, this);
    dialog->setObjectName(QStringLiteral("confirm-%1")
                              .arg(toString(command).replace(QLatin1Char(' '), QLatin1Char('-'))));
    connect(dialog, &QDialog::accepted, this,
            [this, dialog, command] { runCommand(command, dialog->reason()); });
    dialog->open();
}

QString BlueGreenPanel::phaseText() const
{
    return m_phase->text();
}

QString BlueGreenPanel::oldColourText() const
{
    return m_oldCard->text();
}

QString BlueGreenPanel::newColourText() const
{
    return m_newCard->text();
}

QString BlueGreenPanel::switchHintText() const
{
    return m_switchHint->text();
}

QString BlueGreenPanel::capacityText() const
{
    return !m_capacity->isHidden() ? m_capacity->text() : QString();
}

QString BlueGreenPanel::retiredText() const
{
    return !m_retired->isHidden() ? m_retired->text() : QString();
}

QString BlueGreenPanel::reasonText() const
{
    return m_reason->text();
}

} // namespace sb
