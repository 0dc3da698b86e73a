#include "releasecontroller.h"

#include "workspacesession.h"

#include <QLoggingCategory>
#include <QPointer>

namespace sb {

namespace {

// Every event at info level, off unless QT_LOGGING_RULES="signalbox.release.info=true".
Q_LOGGING_CATEGORY(releaseLog, "signalbox.release", QtWarningMsg)

// A scheduled release waits this long at most for its service's first observations.
constexpr int scheduleAttempts = 60;
constexpr Duration scheduleRetry = std::chrono::seconds(1);
// Who starts the workspace's own `releases:`.
const QString workspaceActor = QStringLiteral("workspace");

QString serviceTitle(const ServiceKey &key)
{
    return QStringLiteral("%1 (%2)").arg(key.name, key.environment);
}

template <typename Status>
struct RunOf;
template <>
struct RunOf<CanaryStatus> {
    using Type = CanaryRun;
};
template <>
struct RunOf<BlueGreenStatus> {
    using Type = BlueGreenRun;
};
template <>
struct RunOf<RollingStatus> {
    using Type = RollingRun;
};

// What a strategy needs bound besides a fleet source, and why, for the refusal.
struct Needs {
    bool traffic = false;
    bool metrics = false;
    QString what;
};

} // namespace

Strategy ReleaseController::Release::strategy() const
{
    if (canary())
        return Strategy::Canary;
    return blueGreen() ? Strategy::BlueGreen : Strategy::Rolling;
}

const QString &ReleaseController::Release::id() const
{
    return std::visit([](const auto &run) -> const QString & { return run.status.id; }, run);
}

const QString &ReleaseController::Release::version() const
{
    if (const CanaryRun *c = canary())
        return c->status.canaryVersion;
    if (const BlueGreenRun *b = blueGreen())
        return b->status.newVersion;
    return rolling()->status.toVersion;
}

bool ReleaseController::Release::finished() const
{
    return std::visit([](const auto &run) { return run.status.finished(); }, run);
}

struct ReleaseController::Running {
    Release release;
    Clock::TimerId wake = 0;
};

ReleaseController::ReleaseController(WorkspaceSession *session, QString operatorName,
                                     QObject *parent)
    : QObject(parent)
    , m_session(session)
    , m_clock(session->clock())
    , m_operator(std::move(operatorName))
{
    connect(m_session, &WorkspaceSession::snapshotChanged, this, &ReleaseController::evaluateAll);
}

ReleaseController::~ReleaseController()
{
    for (const auto &running : std::as_const(m_releases))
        m_clock->cancel(running->wake);
}

QString ReleaseController::osUser()
{
    for (const char *variable : {"USER", "USERNAME"}) {
        const QString user = qEnvironmentVariable(variable).trimmed();
        if (!user.isEmpty())
            return user;
    }
    return QStringLiteral("operator");
}

const ReleaseController::Release *ReleaseController::release(const ServiceKey &service) const
{
    const auto it = m_releases.constFind(service);
    return it == m_releases.cend() ? nullptr : &(*it)->release;
}

QList<ServiceKey> ReleaseController::activeServices() const
{
    QList<ServiceKey> services;
    for (auto it = m_releases.cbegin(); it != m_releases.cend(); ++it) {
        if (!(*it)->release.finished())
            services.append(it.key());
    }
    std::sort(services.begin(), services.end());
    return services;
}

const ServiceStatus *ReleaseController::observed(const ServiceKey &service) const
{
    for (const ServiceStatus &status : m_session->snapshot().services) {
        if (status.key == service)
            return &status;
    }
    return nullptr;
}

Result<Done, QString> ReleaseController::start(const ServiceKey &service, const QString &version,
                                               const QString &planName, const QString &reason)
{
    return startAs(m_operator, service, version, planName, reason);
}

Result<Done, QString> ReleaseController::startAs(const QString &actor, const ServiceKey &service,
                                                 const QString &version, const QString &planName,
                                                 const QString &reason)
{
    const ServiceSpec *spec = m_session->workspace().service(service);
    if (!spec)
        return QStringLiteral("there is no service %1 in this workspace")
            .arg(serviceTitle(service));
    const QString chosen = planName.trimmed().isEmpty() ? spec->plan : planName.trimmed();
    const CanaryPlan *canaryPlan = nullptr;
    Needs needs;
    switch (spec->strategy) {
    case Strategy::None:
        return QStringLiteral("%1 has no release strategy; set 'strategy' to canary, blue-green "
                              "or rolling in the workspace")
            .arg(serviceTitle(service));
    case Strategy::Canary:
        canaryPlan = m_session->workspace().plan(chosen);
        if (!canaryPlan)
            return QStringLiteral("there is no plan '%1' in this workspace").arg(chosen);
        needs = {true, true, QStringLiteral("a canary needs traffic, deploy and metrics")};
        break;
    case Strategy::BlueGreen:
        needs = {true,
                 !spec->blueGreen.preSwitchGates.isEmpty()
                     || !spec->blueGreen.postSwitchGates.isEmpty(),
                 QStringLiteral("a blue-green release needs traffic and deploy, and metrics for "
                                "its gates")};
        break;
    case Strategy::Rolling:
        needs = {false, false, QStringLiteral("a rolling release needs deploy")};
    }
    if (spec->strategy != Strategy::Canary && !planName.trimmed().isEmpty()) {
        return QStringLiteral("%1 is a %2 service; plans are for canary releases")
            .arg(serviceTitle(service), toString(spec->strategy));
    }

    QStringList missing;
    Adapter *fleet = m_session->adapterFor(service, Capability::Fleet);
    Adapter *traffic = m_session->adapterFor(service, Capability::Traffic);
    Adapter *deploy = m_session->adapterFor(service, Capability::Deploy);
    Adapter *metrics = m_session->adapterFor(service, Capability::Metrics);
    if (!fleet || !fleet->fleetSource())
        missing.append(QStringLiteral("fleet"));
    if (needs.traffic && (!traffic || !traffic->trafficRouter()))
        missing.append(QStringLiteral("traffic"));
    if (!deploy || !deploy->deployer())
        missing.append(QStringLiteral("deploy"));
    if (needs.metrics && (!metrics || !metrics->metricsSource()))
        missing.append(QStringLiteral("metrics"));
    if (!missing.isEmpty()) {
        return QStringLiteral("%1 has no %2 adapter; %3 adapters bound in the workspace, and a "
                              "fleet to watch")
            .arg(serviceTitle(service), missing.join(QStringLiteral(" or ")), needs.what);
    }
    if (const Release *current = release(service); current && !current->finished()) {
        return QStringLiteral("%1 already has a release of %2 in progress; finish it first")
            .arg(serviceTitle(service), current->version());
    }
    const ServiceStatus *now = observed(service);
    Q_ASSERT(now); // every workspace service has a row in the snapshot
    if (!now)
        return QStringLiteral("nothing is known of %1 yet").arg(serviceTitle(service));

    auto running = std::make_shared<Running>();
    auto begin = [&](auto run, auto started) -> Result<Done, QString> {
        if (!started)
            return started.error();
        if (auto old = m_releases.take(service))
            m_clock->cancel(old->wake);
        running->release.run = std::move(run);
        running->release.trace.startedAt = m_clock->now();
        m_releases.insert(service, running);
        apply(service, std::move(started).value());
        return Done{};
    };
    const TimePoint at = m_clock->now();
    switch (spec->strategy) {
    case Strategy::Canary:
        return begin(CanaryRun{*canaryPlan, {}},
                     canary::start(*canaryPlan, *now, version, actor, reason, at));
    case Strategy::BlueGreen:
        return begin(BlueGreenRun{spec->blueGreen, {}},
                     bluegreen::start(spec->blueGreen, *now, version, actor, reason, at));
    case Strategy::Rolling:
        return begin(RollingRun{spec->rolling, {}},
                     rolling::start(spec->rolling, *now, version, actor, reason, at));
    case Strategy::None: break;
    }
    return QString(); // refused above
}

QString ReleaseController::refusal(const ServiceKey &service, ReleaseCommand command) const
{
    const Release *current = release(service);
    if (!current)
        return QStringLiteral("%1 has no release to %2")
            .arg(serviceTitle(service), toString(command));
    const ServiceStatus *now = observed(service);
    if (!now)
        return QStringLiteral("nothing is known of %1 yet").arg(serviceTitle(service));
    if (const CanaryRun *run = current->canary())
        return canary::refusal(run->plan, run->status, command);
    if (const BlueGreenRun *run = current->blueGreen())
        return bluegreen::refusal(run->plan, run->status, *now, command, m_clock->now());
    const RollingRun *run = current->rolling();
    return rolling::refusal(run->plan, run->status, command);
}

Result<Done, QString> ReleaseController::command(const ServiceKey &service, ReleaseCommand command,
                                                 const QString &reason)
{
    if (const QString refused = refusal(service, command); !refused.isEmpty())
        return refused;
    const Release &current = *release(service);
    const ServiceStatus &now = *observed(service);
    const TimePoint at = m_clock->now();
    return std::visit(
        [&](const auto &run) -> Result<Done, QString> {
            using Run = std::decay_t<decltype(run)>;
            auto decided = [&] {
                if constexpr (std::is_same_v<Run, CanaryRun>)
                    return canary::command(run.plan, run.status, command, m_operator, reason, now,
                                           at);
                else if constexpr (std::is_same_v<Run, BlueGreenRun>)
                    return bluegreen::command(run.plan, run.status, command, m_operator, reason,
                                              now, at);
                else
                    return rolling::command(run.plan, run.status, command, m_operator, reason, now,
                                            at);
            }();
            if (!decided)
                return decided.error();
            apply(service, std::move(decided).value());
            return Done{};
        },
        current.run);
}

void ReleaseController::evaluateAll()
{
    for (const ServiceKey &service : activeServices())
        evaluate(service);
}

void ReleaseController::evaluate(const ServiceKey &service)
{
    const auto it = m_releases.constFind(service);
    if (it == m_releases.cend() || (*it)->release.finished())
        return;
    const ServiceStatus *now = observed(service);
    if (!now)
        return;
    Release &release = (*it)->release;
    const TimePoint at = m_clock->now();
    if (const CanaryRun *run = release.canary()) {
        if (now->metrics)
            release.trace.record(run->plan, *now->metrics, run->status.canaryVersion,
                                 run->status.stableVersion);
        apply(service, canary::decide(run->plan, run->status, *now, at));
    } else if (const BlueGreenRun *run = release.blueGreen()) {
        apply(service, bluegreen::decide(run->plan, run->status, *now, at));
    } else if (const RollingRun *run = release.rolling()) {
        apply(service, rolling::decide(run->plan, run->status, *now, at));
    }
}

template <typename Status>
void ReleaseController::apply(const ServiceKey &service, ReleaseDecision<Status> decision)
{
    const std::shared_ptr<Running> running = m_releases.value(service);
    if (!running)
        return;
    Release &release = running->release;
    auto *run = std::get_if<typename RunOf<Status>::Type>(&release.run);
    Q_ASSERT(run); // a decision comes from the engine of the release's own strategy
    if (!run) {
        qCWarning(releaseLog) << "dropped a decision for" << service.id()
                              << "from another strategy's engine";
        return;
    }
    const bool changed = run->status != decision.status || release.reason != decision.reason
                         || !decision.events.isEmpty();
    run->status = std::move(decision.status);
    release.reason = decision.reason;
    for (const ReleaseEvent &event : std::as_const(decision.events))
        record(release, event);
    if constexpr (std::is_same_v<Status, CanaryStatus>) {
        if (run->status.endedAt)
            release.trace.endedAt = run->status.endedAt;
    }
    for (const ReleaseAction &action : std::as_const(decision.actions))
        execute(service, action);

    m_clock->cancel(running->wake);
    running->wake = 0;
    if (decision.wakeAt && !run->status.finished()) {
        const Duration delay = std::max(Duration(0), *decision.wakeAt - m_clock->now());
        running->wake = m_clock->schedule(delay, this, [this, service] { evaluate(service); });
    }
    if (changed)
        Q_EMIT releaseChanged(service);
}

void ReleaseController::record(Release &release, const ReleaseEvent &event)
{
    release.events.append(event);
    if (const CanaryRun *run = release.canary(); run && event.kind == ReleaseEvent::Kind::WeightSet)
        release.trace.stages.append(
            {event.at, event.stage, run->plan.stage(event.stage).weightPercent});
    qCInfo(releaseLog).noquote() << event.service.id() << toString(event.kind) << event.reason;
    Q_EMIT eventRecorded(event);
}

void ReleaseController::execute(const ServiceKey &service, const ReleaseAction &action)
{
    const QString releaseId = m_releases.value(service)->release.id();
    // The first of the answer and the timeout wins; the other finds `settled` set.
    auto settled = std::make_shared<bool>(false);
    auto timeout = std::make_shared<Clock::TimerId>(0);
    QPointer<ReleaseController> self(this);
    auto finish = [self, service, releaseId, action, settled, timeout](const auto &result) {
        if (!self || *settled)
            return;
        *settled = true;
        self->m_clock->cancel(*timeout);
        if (!result)
            self->failed(service, releaseId, action, result.error());
    };
    *timeout = m_clock->schedule(actionTimeout, this, [this, service, releaseId, action, settled] {
        if (*settled)
            return;
        *settled = true;
        failed(service, releaseId, action,
               Error{Error::Kind::Timeout,
                     QStringLiteral("no answer within %1").arg(formatDuration(actionTimeout))});
    });

    switch (action.kind) {
    case ReleaseAction::Kind::SetWeights:
        m_session->adapterFor(service, Capability::Traffic)
            ->trafficRouter()
            ->setWeights(service, action.weights, finish);
        break;
    case ReleaseAction::Kind::Scale:
        m_session->adapterFor(service, Capability::Deploy)
            ->deployer()
            ->scale(service, action.version, action.instances, finish);
        break;
    case ReleaseAction::Kind::Switch:
        m_session->adapterFor(service, Capability::Traffic)
            ->trafficRouter()
            ->switchTo(service, action.version, finish);
        break;
    }
}

void ReleaseController::failed(const ServiceKey &service, const QString &releaseId,
                               const ReleaseAction &action, const Error &error)
{
    const std::shared_ptr<Running> running = m_releases.value(service);
    const ServiceStatus *now = observed(service);
    // A release replaced meanwhile does not inherit the old one's failures.
    if (!running || running->release.id() != releaseId || !now)
        return;
    const TimePoint at = m_clock->now();
    const Release &release = running->release;
    if (const CanaryRun *run = release.canary())
        apply(service, canary::actionFailed(run->plan, run->status, action, error, *now, at));
    else if (const BlueGreenRun *run = release.blueGreen())
        apply(service, bluegreen::actionFailed(run->plan, run->status, action, error, *now, at));
    else if (const RollingRun *run = release.rolling())
        apply(service, rolling::actionFailed(run->plan, run->status, action, error, *now, at));
}

void ReleaseController::startScheduled()
{
    const QList<ScheduledRelease> &releases = m_session->workspace().releases;
    for (int i = 0; i < releases.size(); ++i)
        m_clock->schedule(releases.at(i).at, this, [this, i] { trySchedule(i, scheduleAttempts); });
}

void ReleaseController::trySchedule(int index, int attemptsLeft)
{
    const ScheduledRelease &scheduled = m_session->workspace().releases.at(index);
    const ServiceStatus *now = observed(scheduled.service);
    // The adapters answer their first requests a moment after the workspace opens. A rolling
    // release never asks the router, so it does not wait for one that may not be bound.
    const ServiceSpec *spec = m_session->workspace().service(scheduled.service);
    const bool needsTraffic = spec && spec->strategy != Strategy::Rolling;
    const bool trafficPending = needsTraffic && now && !now->traffic && now->trafficError.isEmpty();
    if (now && (!now->fleet || trafficPending) && attemptsLeft > 1) {
        m_clock->schedule(scheduleRetry, this,
                          [this, index, attemptsLeft] { trySchedule(index, attemptsLeft - 1); });
        return;
    }
    const Result<Done, QString> started
        = startAs(workspaceActor, scheduled.service, scheduled.version, scheduled.plan,
                  QStringLiteral("scheduled in %1 (line %2)")
                      .arg(m_session->workspace().file)
                      .arg(scheduled.line));
    if (!started) {
        qCWarning(releaseLog).noquote()
            << "scheduled release of" << scheduled.service.id() << "refused:" << started.error();
        Q_EMIT scheduledReleaseRefused(scheduled.service, started.error());
    }
}

} // namespace sb
