#include "releasecontroller.h"

#include "journal.h"
#include "releasecodec.h"
#include "rollback.h"
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
// Recorded when an operator gives no reason for a rollback, which must never wait on typing.
const QString unexplainedRollback = QStringLiteral("rollback; no reason given");

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
                                                 const QString &reason, Pace pace)
{
    if (const QString refused = journalRefusal(); !refused.isEmpty())
        return refused;
    const bool rollback = pace == Pace::Rollback;
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
        canaryPlan = rollback ? nullptr : m_session->workspace().plan(chosen);
        if (!canaryPlan && !rollback)
            return QStringLiteral("there is no plan '%1' in this workspace").arg(chosen);
        needs = {true, !rollback, QStringLiteral("a canary needs traffic, deploy and metrics")};
        break;
    case Strategy::BlueGreen:
        needs = {true,
                 !rollback
                     && (!spec->blueGreen.preSwitchGates.isEmpty()
                         || !spec->blueGreen.postSwitchGates.isEmpty()),
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
        apply(service, std::move(started).value(), actor);
        return Done{};
    };
    const TimePoint at = m_clock->now();
    switch (spec->strategy) {
    case Strategy::Canary: {
        const CanaryPlan plan = rollback ? rollbackCanaryPlan() : *canaryPlan;
        return begin(CanaryRun{plan, {}}, canary::start(plan, *now, version, actor, reason, at));
    }
    case Strategy::BlueGreen: {
        const BlueGreenPlan plan
            = rollback ? rollbackBlueGreenPlan(spec->blueGreen) : spec->blueGreen;
        return begin(BlueGreenRun{plan, {}},
                     bluegreen::start(plan, *now, version, actor, reason, at));
    }
    case Strategy::Rolling: {
        const RollingPlan plan = rollback ? rollbackRollingPlan(spec->rolling) : spec->rolling;
        return begin(RollingRun{plan, {}}, rolling::start(plan, *now, version, actor, reason, at));
    }
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
    return commandAs(m_operator, service, command, reason);
}

Result<Done, QString> ReleaseController::commandAs(const QString &actor, const ServiceKey &service,
                                                   ReleaseCommand command, const QString &reason)
{
    if (const QString refused = journalRefusal(); !refused.isEmpty())
        return refused;
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
                    return canary::command(run.plan, run.status, command, actor, reason, now, at);
                else if constexpr (std::is_same_v<Run, BlueGreenRun>)
                    return bluegreen::command(run.plan, run.status, command, actor, reason, now,
                                              at);
                else
                    return rolling::command(run.plan, run.status, command, actor, reason, now, at);
            }();
            if (!decided)
                return decided.error();
            apply(service, std::move(decided).value(), actor);
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
        apply(service, canary::decide(run->plan, run->status, *now, at), automaticActor);
    } else if (const BlueGreenRun *run = release.blueGreen()) {
        apply(service, bluegreen::decide(run->plan, run->status, *now, at), automaticActor);
    } else if (const RollingRun *run = release.rolling()) {
        apply(service, rolling::decide(run->plan, run->status, *now, at), automaticActor);
    }
}

template <typename Status>
void ReleaseController::apply(const ServiceKey &service, ReleaseDecision<Status> decision,
                              const QString &actor)
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
    const bool statusChanged = run->status != decision.status || !decision.events.isEmpty();
    const bool changed = statusChanged || release.reason != decision.reason;
    run->status = std::move(decision.status);
    release.reason = decision.reason;
    for (const ReleaseEvent &event : std::as_const(decision.events))
        record(release, event);
    if constexpr (std::is_same_v<Status, CanaryStatus>) {
        if (run->status.endedAt)
            release.trace.endedAt = run->status.endedAt;
    }
    if (m_readOnly) {
        m_preface.clear();
    } else if (!m_journal) {
        m_preface.clear();
        for (const ReleaseAction &action : std::as_const(decision.actions))
            execute(service, release.id(), action, actor, 0);
    } else if (statusChanged || !decision.actions.isEmpty() || !m_preface.isEmpty()) {
        // Intent first: an action whose intent is not on disk never runs. The engines ask again
        // for what did not happen, so a failed write loses no step, only waits.
        QList<JournalEntry> entries = std::exchange(m_preface, {});
        for (const ReleaseEvent &event : std::as_const(decision.events))
            entries.append(journalEntry(event));
        const qsizetype firstIntent = entries.size();
        for (const ReleaseAction &action : std::as_const(decision.actions)) {
            JournalEntry intent;
            intent.at = m_clock->now();
            intent.actor = actor;
            intent.service = service;
            intent.releaseId = release.id();
            intent.kind = journalkind::intent;
            intent.action = action.describe();
            entries.append(intent);
        }
        // A new sentence alone (a countdown) is not worth a disk flush; the next decision
        // after a restart writes its own. Kept once finished too, so a console or
        // signalbox-ctl started later can still roll it back.
        QList<ReleaseRecord> records;
        if (statusChanged)
            records.append({service, release.id(), encodeRelease(release)});
        QPointer<ReleaseController> self(this);
        m_journal->append(std::move(entries), std::move(records),
                          [self, service, releaseId = release.id(), actor,
                           actions = decision.actions,
                           firstIntent](const Result<QList<JournalEntry>, QString> &stored) {
                              if (!self)
                                  return;
                              self->m_journalError = stored ? QString() : stored.error();
                              if (!stored) {
                                  Q_EMIT self->journalFailed(stored.error());
                                  return;
                              }
                              for (qsizetype i = 0; i < actions.size(); ++i)
                                  self->execute(service, releaseId, actions.at(i), actor,
                                                stored.value().at(firstIntent + i).sequence);
                          });
    }

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

void ReleaseController::execute(const ServiceKey &service, const QString &releaseId,
                                const ReleaseAction &action, const QString &actor, qint64 intent)
{
    // What the backend answered, after its intent; the outcome's time is the answer's.
    auto outcome = [this, service, releaseId, action, actor, intent](const QString &text) {
        if (!m_journal || intent == 0)
            return;
        JournalEntry entry;
        entry.at = m_clock->now();
        entry.actor = actor;
        entry.service = service;
        entry.releaseId = releaseId;
        entry.kind = journalkind::outcome;
        entry.action = action.describe();
        entry.outcome = text;
        entry.intent = intent;
        journalOnly({entry});
    };
    // The first of the answer and the timeout wins; the other finds `settled` set.
    auto settled = std::make_shared<bool>(false);
    auto timeout = std::make_shared<Clock::TimerId>(0);
    QPointer<ReleaseController> self(this);
    auto finish
        = [self, service, releaseId, action, settled, timeout, outcome](const auto &result) {
              if (!self || *settled)
                  return;
              *settled = true;
              self->m_clock->cancel(*timeout);
              outcome(result ? QStringLiteral("ok") : result.error().message);
              if (!result)
                  self->failed(service, releaseId, action, result.error());
          };
    *timeout = m_clock->schedule(
        actionTimeout, this, [this, service, releaseId, action, settled, outcome] {
            if (*settled)
                return;
            *settled = true;
            const Error error{
                Error::Kind::Timeout,
                QStringLiteral("no answer within %1").arg(formatDuration(actionTimeout))};
            outcome(error.message);
            failed(service, releaseId, action, error);
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
        apply(service, canary::actionFailed(run->plan, run->status, action, error, *now, at),
              automaticActor);
    else if (const BlueGreenRun *run = release.blueGreen())
        apply(service, bluegreen::actionFailed(run->plan, run->status, action, error, *now, at),
              automaticActor);
    else if (const RollingRun *run = release.rolling())
        apply(service, rolling::actionFailed(run->plan, run->status, action, error, *now, at),
              automaticActor);
}

void ReleaseController::setJournal(Journal *journal)
{
    if (m_journal)
        disconnect(m_journal, nullptr, this, nullptr);
    m_journal = journal;
    m_journalError.clear();
    if (m_journal) {
        connect(m_journal, &Journal::openFailed, this,
                [this](const QString &error) { m_journalError = error; });
    }
}

QString ReleaseController::journalRefusal() const
{
    if (!m_journal || m_journalError.isEmpty())
        return {};
    return QStringLiteral("the journal cannot be written (%1), and every action is recorded "
                          "before it runs; free the disk or fix the file, then try again")
        .arg(m_journalError);
}

void ReleaseController::journalOnly(QList<JournalEntry> entries)
{
    if (!m_journal || m_readOnly)
        return;
    QPointer<ReleaseController> self(this);
    m_journal->append(std::move(entries), {},
                      [self](const Result<QList<JournalEntry>, QString> &stored) {
                          if (!self)
                              return;
                          self->m_journalError = stored ? QString() : stored.error();
                          if (!stored)
                              Q_EMIT self->journalFailed(stored.error());
                      });
}

QStringList ReleaseController::restore(const QList<ReleaseRecord> &records,
                                       QList<ServiceKey> *inFlight)
{
    QStringList problems;
    QStringList restoredIds;
    for (const ReleaseRecord &record : records) {
        const QString title = serviceTitle(record.service);
        Result<Release, QString> decoded = decodeRelease(record.state);
        if (!decoded) {
            problems.append(QStringLiteral("the release %1 of %2 could not be taken up: %3; its "
                                           "history stays in the journal")
                                .arg(record.releaseId, title, decoded.error()));
            continue;
        }
        const ServiceSpec *spec = m_session->workspace().service(record.service);
        // A finished release is kept only so it can still be rolled back: one the workspace no
        // longer fits, or a newer one has replaced, is of no use and no concern.
        const bool finished = decoded.value().finished();
        const Release *current = release(record.service);
        if (finished && (!spec || spec->strategy != decoded.value().strategy() || current))
            continue;
        if (!spec || spec->strategy != decoded.value().strategy()) {
            problems.append(
                QStringLiteral("the release %1 of %2 could not be taken up: the "
                               "workspace no longer has %2 as a %3 service")
                    .arg(record.releaseId, title, toString(decoded.value().strategy())));
            continue;
        }
        if (current && !current->finished()) {
            problems.append(QStringLiteral("the release %1 of %2 was not taken up: %3 is already "
                                           "in progress")
                                .arg(record.releaseId, title, current->id()));
            continue;
        }
        auto running = std::make_shared<Running>();
        running->release = std::move(decoded).value();
        running->release.trace.startedAt = m_clock->now();
        if (auto old = m_releases.take(record.service))
            m_clock->cancel(old->wake);
        m_releases.insert(record.service, running);
        restoredIds.append(record.releaseId);
        if (inFlight && !finished)
            inFlight->append(record.service);
    }
    // Queued before anything the restore writes, so the history read is what came before it.
    loadHistory(restoredIds);
    for (const ServiceKey &service : activeServices()) {
        const Release &taken = *release(service);
        if (m_readOnly || !restoredIds.contains(taken.id()))
            continue;
        JournalEntry restored;
        restored.at = m_clock->now();
        restored.actor = automaticActor;
        restored.service = service;
        restored.releaseId = taken.id();
        restored.kind = journalkind::restored;
        restored.reason = QStringLiteral("in flight when the console stopped; taken up paused");
        m_preface.append(restored);
        // Paused, so a restart never promotes. A rollback carries on, since it only takes the
        // new version away; so does anything the engine will not pause (aborting, retiring).
        const QString pause = QStringLiteral(
            "the console restarted; paused until an operator has checked the release");
        const RollingRun *rollingRun = taken.rolling();
        const bool rollingBack
            = isRollback(taken) || (rollingRun && rollingRun->status.rollingBack());
        if (!rollingBack && refusal(service, ReleaseCommand::Pause).isEmpty())
            commandAs(automaticActor, service, ReleaseCommand::Pause, pause);
        if (!m_preface.isEmpty())
            journalOnly(std::exchange(m_preface, {}));
        Q_EMIT releaseChanged(service);
    }
    evaluateAll();
    return problems;
}

void ReleaseController::loadHistory(const QStringList &releaseIds)
{
    if (!m_journal || releaseIds.isEmpty())
        return;
    auto history = std::make_shared<QHash<QString, QList<ReleaseEvent>>>();
    m_journal->run(
        [history, releaseIds](JournalStore *store) {
            if (!store)
                return;
            for (const QString &id : releaseIds) {
                JournalFilter filter;
                filter.releaseId = id;
                QList<ReleaseEvent> &events = (*history)[id];
                store->forEach(filter, [&events](const JournalEntry &entry) {
                    if (const std::optional<ReleaseEvent> event = releaseEvent(entry))
                        events.append(*event);
                    return true;
                });
            }
        },
        [self = QPointer<ReleaseController>(this), history] {
            if (!self)
                return;
            for (auto it = self->m_releases.begin(); it != self->m_releases.end(); ++it) {
                Release &release = (*it)->release;
                const auto found = history->constFind(release.id());
                if (found == history->cend())
                    continue;
                release.events = *found + release.events;
                Q_EMIT self->releaseChanged(it.key());
            }
        });
}

RollbackOption ReleaseController::rollbackOption(const ServiceKey &service) const
{
    RollbackOption option
        = sb::rollbackOption(service, release(service), observed(service), m_clock->now());
    QString refused;
    if (option.kind == RollbackOption::Kind::Command)
        refused = refusal(service, option.command);
    else if (option.kind == RollbackOption::Kind::Redeploy)
        refused = redeployRefusal(service, option.toVersion);
    if (!refused.isEmpty()) {
        option.kind = RollbackOption::Kind::Unavailable;
        option.why = refused;
    }
    return option;
}

QString ReleaseController::redeployRefusal(const ServiceKey &service, const QString &version) const
{
    // The engines' start is a pure function: asking it now tells whether the button may promise.
    const ServiceSpec *spec = m_session->workspace().service(service);
    const ServiceStatus *now = observed(service);
    if (!spec || !now)
        return QStringLiteral("nothing is known of %1 yet").arg(serviceTitle(service));
    const TimePoint at = m_clock->now();
    auto why = [&](const auto &started) {
        return started ? QString()
                       : QStringLiteral("a new release of %1 cannot start: %2")
                             .arg(version, started.error());
    };
    switch (spec->strategy) {
    case Strategy::Canary:
        return why(canary::start(rollbackCanaryPlan(), *now, version, m_operator, {}, at));
    case Strategy::BlueGreen:
        return why(bluegreen::start(rollbackBlueGreenPlan(spec->blueGreen), *now, version,
                                    m_operator, {}, at));
    case Strategy::Rolling:
        return why(
            rolling::start(rollbackRollingPlan(spec->rolling), *now, version, m_operator, {}, at));
    case Strategy::None: break;
    }
    return QStringLiteral("%1 has no release strategy").arg(serviceTitle(service));
}

Result<Done, QString> ReleaseController::rollBack(const ServiceKey &service, const QString &reason)
{
    const RollbackOption option = rollbackOption(service);
    const QString why = reason.trimmed().isEmpty() ? unexplainedRollback : reason.trimmed();
    JournalEntry requested;
    requested.at = m_clock->now();
    requested.actor = m_operator;
    requested.service = service;
    requested.releaseId = option.releaseId;
    requested.kind = journalkind::rollbackRequested;
    requested.action = option.label;
    requested.reason = why;
    if (!option.available()) {
        requested.outcome = QStringLiteral("refused: %1").arg(option.why);
        journalOnly({requested});
        return option.why;
    }
    m_preface.append(requested);
    const Result<Done, QString> done
        = option.kind == RollbackOption::Kind::Command
              ? commandAs(m_operator, service, option.command, why)
              : startAs(m_operator, service, option.toVersion, {}, why, Pace::Rollback);
    if (!done) {
        m_preface.clear();
        requested.outcome = QStringLiteral("refused: %1").arg(done.error());
        journalOnly({requested});
    }
    return done;
}

QList<RollbackOption> ReleaseController::rollbacksSince(TimePoint since) const
{
    QList<RollbackOption> options;
    const QList<ServiceKey> services = [this] {
        QList<ServiceKey> keys = m_releases.keys();
        std::sort(keys.begin(), keys.end());
        return keys;
    }();
    for (const ServiceKey &service : services) {
        const Release &current = m_releases.value(service)->release;
        const auto [startedAt, endedAt] = std::visit(
            [](const auto &run) { return std::pair(run.status.startedAt, run.status.endedAt); },
            current.run);
        // A release still running counts however long ago it began: its traffic may have moved
        // a minute ago.
        if (endedAt && startedAt < since && *endedAt < since)
            continue;
        if (RollbackOption option = rollbackOption(service); option.available())
            options.append(std::move(option));
    }
    return options;
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
