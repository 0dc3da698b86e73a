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

} // namespace

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
        if (!(*it)->release.status.finished())
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
    if (spec->strategy != Strategy::Canary) {
        return QStringLiteral("%1 is released with the %2 strategy; canary releases are for "
                              "services whose strategy is canary")
            .arg(serviceTitle(service), toString(spec->strategy));
    }
    const QString chosen = planName.trimmed().isEmpty() ? spec->plan : planName.trimmed();
    const CanaryPlan *plan = m_session->workspace().plan(chosen);
    if (!plan)
        return QStringLiteral("there is no plan '%1' in this workspace").arg(chosen);

    QStringList missing;
    Adapter *traffic = m_session->adapterFor(service, Capability::Traffic);
    Adapter *deploy = m_session->adapterFor(service, Capability::Deploy);
    Adapter *metrics = m_session->adapterFor(service, Capability::Metrics);
    if (!traffic || !traffic->trafficRouter())
        missing.append(QStringLiteral("traffic"));
    if (!deploy || !deploy->deployer())
        missing.append(QStringLiteral("deploy"));
    if (!metrics || !metrics->metricsSource())
        missing.append(QStringLiteral("metrics"));
    if (!missing.isEmpty()) {
        return QStringLiteral("%1 has no %2 adapter; a canary needs traffic, deploy and metrics "
                              "adapters bound in the workspace")
            .arg(serviceTitle(service), missing.join(QStringLiteral(" or ")));
    }
    if (const Release *current = release(service); current && !current->status.finished()) {
        return QStringLiteral("%1 already has a release in progress (%2, stage %3 of %4); "
                              "finish or abort it first")
            .arg(serviceTitle(service), current->status.canaryVersion)
            .arg(current->status.stage + 1)
            .arg(current->plan.stages.size());
    }
    const ServiceStatus *now = observed(service);
    Q_ASSERT(now); // every workspace service has a row in the snapshot
    if (!now)
        return QStringLiteral("nothing is known of %1 yet").arg(serviceTitle(service));

    Result<CanaryDecision, QString> started
        = canary::start(*plan, *now, version, actor, reason, m_clock->now());
    if (!started)
        return started.error();

    if (auto old = m_releases.take(service))
        m_clock->cancel(old->wake);
    auto running = std::make_shared<Running>();
    running->release.plan = *plan;
    running->release.trace.startedAt = m_clock->now();
    m_releases.insert(service, running);
    apply(service, std::move(started).value());
    return Done{};
}

QString ReleaseController::refusal(const ServiceKey &service, canary::Command command) const
{
    const Release *current = release(service);
    if (!current)
        return QStringLiteral("%1 has no release to %2")
            .arg(serviceTitle(service), canary::toString(command));
    return canary::refusal(current->plan, current->status, command);
}

Result<Done, QString> ReleaseController::command(const ServiceKey &service, canary::Command command,
                                                 const QString &reason)
{
    if (const QString refused = refusal(service, command); !refused.isEmpty())
        return refused;
    const Release &current = *release(service);
    const ServiceStatus *now = observed(service);
    if (!now)
        return QStringLiteral("nothing is known of %1 yet").arg(serviceTitle(service));
    Result<CanaryDecision, QString> decided = canary::command(
        current.plan, current.status, command, m_operator, reason, *now, m_clock->now());
    if (!decided)
        return decided.error();
    apply(service, std::move(decided).value());
    return Done{};
}

void ReleaseController::evaluateAll()
{
    for (const ServiceKey &service : activeServices())
        evaluate(service);
}

void ReleaseController::evaluate(const ServiceKey &service)
{
    const auto it = m_releases.constFind(service);
    if (it == m_releases.cend() || (*it)->release.status.finished())
        return;
    const ServiceStatus *now = observed(service);
    if (!now)
        return;
    Release &release = (*it)->release;
    if (now->metrics)
        release.trace.record(release.plan, *now->metrics, release.status.canaryVersion,
                             release.status.stableVersion);
    apply(service, canary::decide(release.plan, release.status, *now, m_clock->now()));
}

void ReleaseController::apply(const ServiceKey &service, CanaryDecision decision)
{
    const std::shared_ptr<Running> running = m_releases.value(service);
    if (!running)
        return;
    Release &release = running->release;
    const bool changed = release.status != decision.status || release.reason != decision.reason
                         || !decision.events.isEmpty();
    release.status = std::move(decision.status);
    release.reason = decision.reason;
    for (const ReleaseEvent &event : std::as_const(decision.events)) {
        release.events.append(event);
        if (event.kind == ReleaseEvent::Kind::WeightSet) {
            release.trace.stages.append(
                {event.at, event.stage, release.plan.stage(event.stage).weightPercent});
        }
        qCInfo(releaseLog).noquote() << event.service.id() << toString(event.kind) << event.reason;
        Q_EMIT eventRecorded(event);
    }
    if (release.status.endedAt)
        release.trace.endedAt = release.status.endedAt;
    for (const ReleaseAction &action : std::as_const(decision.actions))
        execute(service, action);

    m_clock->cancel(running->wake);
    running->wake = 0;
    if (decision.wakeAt && !release.status.finished()) {
        const Duration delay = std::max(Duration(0), *decision.wakeAt - m_clock->now());
        running->wake = m_clock->schedule(delay, this, [this, service] { evaluate(service); });
    }
    if (changed)
        Q_EMIT releaseChanged(service);
}

void ReleaseController::execute(const ServiceKey &service, const ReleaseAction &action)
{
    const QString releaseId = m_releases.value(service)->release.status.id;
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
    }
}

void ReleaseController::failed(const ServiceKey &service, const QString &releaseId,
                               const ReleaseAction &action, const Error &error)
{
    const std::shared_ptr<Running> running = m_releases.value(service);
    const ServiceStatus *now = observed(service);
    // A release replaced meanwhile does not inherit the old one's failures.
    if (!running || running->release.status.id != releaseId || !now)
        return;
    apply(service, canary::actionFailed(running->release.plan, running->release.status, action,
                                        error, *now, m_clock->now()));
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
    // The adapters answer their first requests a moment after the workspace opens.
    if (now && (!now->fleet || (!now->traffic && now->trafficError.isEmpty()))
        && attemptsLeft > 1) {
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
