#include "rollingengine.h"

#include <QDateTime>

#include <algorithm>
#include <cmath>

namespace sb {

int InstanceBudget::resolve(int replicas, bool roundUp) const
{
    if (!percent)
        return value;
    const qint64 scaled = qint64(value) * replicas;
    return int(roundUp ? (scaled + 99) / 100 : scaled / 100);
}

QString InstanceBudget::text() const
{
    return percent ? QStringLiteral("%1%").arg(value) : QString::number(value);
}

Result<InstanceBudget, QString> parseInstanceBudget(const QString &text)
{
    const QString written = text.trimmed();
    if (written.isEmpty()) {
        return QStringLiteral("no value: write a number of instances, such as 1, or a percentage "
                              "of them, such as 25%");
    }
    const bool percent = written.endsWith(QLatin1Char('%'));
    const QString number = percent ? written.chopped(1) : written;
    auto digitsOnly = [](QStringView s) {
        return !s.isEmpty()
               && std::all_of(s.begin(), s.end(), [](QChar c) { return c >= u'0' && c <= u'9'; });
    };
    if (!digitsOnly(number)) {
        if (number.startsWith(QLatin1Char('-')) && digitsOnly(QStringView(number).mid(1)))
            return QStringLiteral("%1 is negative; allow 0 or more").arg(written);
        return QStringLiteral("'%1' is neither a whole number of instances, such as 1, nor a "
                              "percentage of them, such as 25%")
            .arg(written);
    }
    bool ok = false;
    const int value = number.toInt(&ok);
    if (!ok)
        return QStringLiteral("%1 is too large").arg(written);
    if (percent && value > 100)
        return QStringLiteral("%1 is over 100%").arg(written);
    return InstanceBudget{value, percent};
}

ResolvedBudget resolveBudget(const RollingPlan &plan, int replicas)
{
    ResolvedBudget budget;
    budget.surge = plan.maxSurge.resolve(replicas, true);
    // More than the whole service cannot be unavailable.
    budget.unavailable = std::min(plan.maxUnavailable.resolve(replicas, false), replicas);
    if (budget.surge == 0 && budget.unavailable == 0)
        budget.unavailable = 1;
    return budget;
}

QString checkPlan(const RollingPlan &plan)
{
    auto check = [](const char *name, const InstanceBudget &budget) -> QString {
        if (budget.value < 0)
            return QStringLiteral("%1 %2 is negative; allow 0 or more")
                .arg(QLatin1StringView(name), budget.text());
        if (budget.percent && budget.value > 100)
            return QStringLiteral("%1 %2 is over 100%").arg(QLatin1StringView(name), budget.text());
        return {};
    };
    if (const QString problem = check("max_surge", plan.maxSurge); !problem.isEmpty())
        return problem;
    if (const QString problem = check("max_unavailable", plan.maxUnavailable); !problem.isEmpty())
        return problem;
    if (plan.maxSurge.value == 0 && plan.maxUnavailable.value == 0) {
        return QStringLiteral("max_surge and max_unavailable are both 0, so no instance could ever "
                              "be replaced; allow at least one");
    }
    if (plan.progressDeadline <= Duration(0)) {
        return QStringLiteral("progress_deadline %1 is not positive; give instances time to become "
                              "ready, such as 10 min")
            .arg(formatDuration(plan.progressDeadline));
    }
    return {};
}

QString toString(RollingPhase phase)
{
    switch (phase) {
    case RollingPhase::Progressing: return QStringLiteral("progressing");
    case RollingPhase::Paused: return QStringLiteral("paused");
    case RollingPhase::Stalled: return QStringLiteral("stalled");
    case RollingPhase::RollingBack: return QStringLiteral("rolling back");
    case RollingPhase::Succeeded: return QStringLiteral("succeeded");
    case RollingPhase::RolledBack: return QStringLiteral("rolled back");
    }
    return {};
}

namespace rolling {

namespace {

// The observed fleet, from the release's point of view: the version it moves to (target) and the
// one it retires, as the roles stand now.
struct Counts {
    int targetReady = 0;
    int targetStarting = 0;
    int targetFailed = 0;
    int retiringReady = 0;
    int retiringStarting = 0;
    int retiringFailed = 0;
    int retiringDraining = 0;
    int ready = 0; // of any version
    int draining = 0;
    int failed = 0;
    int total = 0; // every live instance

    int targetHolding() const { return targetReady + targetStarting + targetFailed; }
    int retiringHolding() const { return retiringReady + retiringStarting + retiringFailed; }
};

Counts countFleet(const RollingStatus &status, const FleetSnapshot &fleet)
{
    Counts c;
    const QString &target = status.targetVersion();
    const QString &retiring = status.retiringVersion();
    for (const Instance &instance : fleet.instances) {
        const bool isTarget = instance.version == target;
        const bool isRetiring = instance.version == retiring;
        switch (instance.state) {
        case InstanceState::Starting:
            c.targetStarting += isTarget;
            c.retiringStarting += isRetiring;
            break;
        case InstanceState::Ready:
            ++c.ready;
            c.targetReady += isTarget;
            c.retiringReady += isRetiring;
            break;
        case InstanceState::Failed:
            ++c.failed;
            c.targetFailed += isTarget;
            c.retiringFailed += isRetiring;
            break;
        case InstanceState::Draining:
            ++c.draining;
            c.retiringDraining += isRetiring;
            break;
        case InstanceState::Terminated: continue;
        }
        ++c.total;
    }
    return c;
}

// The next scale targets: the retiring version down as far as the ready floor allows, then the
// target version up into whatever room the surge leaves.
struct Step {
    int target = 0;
    int retiring = 0;
};

struct Limits {
    int minReady = 0;
    int maxTotal = 0;
};

Limits limitsOf(const RollingPlan &plan, int replicas)
{
    const ResolvedBudget budget = resolveBudget(plan, replicas);
    return {std::max(0, replicas - budget.unavailable), replicas + budget.surge};
}

Step nextStep(const RollingPlan &plan, const RollingStatus &status, const Counts &c)
{
    const Limits limits = limitsOf(plan, status.replicas);
    // Failed and starting instances serve nothing, so they may go at once; ready ones only as
    // far as keeps the floor. A scale-down takes failed, then starting, then ready instances.
    const int spareReady = std::max(0, c.ready - limits.minReady);
    Step next;
    next.retiring = std::max(0, c.retiringReady - spareReady);
    // Retiring a ready instance frees nothing until it has drained; the others stop at once.
    const int freed
        = std::min(c.retiringHolding() - next.retiring, c.retiringFailed + c.retiringStarting);
    const int room = limits.maxTotal - (c.total - freed);
    next.target = std::min(status.replicas, c.targetHolding() + std::max(0, room));
    return next;
}

std::optional<Request> &targetRequest(RollingStatus &status)
{
    return status.rollingBack() ? status.fromScaleRequest : status.toScaleRequest;
}

std::optional<Request> &retiringRequest(RollingStatus &status)
{
    return status.rollingBack() ? status.toScaleRequest : status.fromScaleRequest;
}

const std::optional<Request> &retiringRequest(const RollingStatus &status)
{
    return status.rollingBack() ? status.toScaleRequest : status.fromScaleRequest;
}

const std::optional<Request> &targetRequest(const RollingStatus &status)
{
    return status.rollingBack() ? status.fromScaleRequest : status.toScaleRequest;
}

bool &refusedForGood(RollingStatus &status, const QString &version)
{
    return version == status.toVersion ? status.toScaleRefusedForGood
                                       : status.fromScaleRefusedForGood;
}

// The retiring version holds nothing, drains nothing, and the deployer refused its last scale
// for good: a scale to zero could only be refused again, and there is nothing left for it to
// do, so the version counts as retired without it.
bool retiredForGood(const RollingStatus &status, const Counts &c)
{
    const bool refused
        = status.rollingBack() ? status.toScaleRefusedForGood : status.fromScaleRefusedForGood;
    return refused && retiringRequest(status) && c.retiringHolding() == 0
           && c.retiringDraining == 0;
}

// The retiring version's request, as far as the release still waits on it or may ask it again.
std::optional<Request> awaitedRetiringRequest(const RollingStatus &status, const Counts &c)
{
    return retiredForGood(status, c) ? std::nullopt : retiringRequest(status);
}

// Instances of the target version serving in place of the retiring one's: the smaller of the
// target's ready instances and the retiring version's ready instances gone. Only ready ones
// count on both sides, as starting and failed ones leave at once and cost no time.
int replacedSoFar(const RollingStatus &status, const Counts &c)
{
    return std::clamp(std::min(c.targetReady, status.replicas - c.retiringReady), 0,
                      status.replicas);
}

std::optional<Duration> atPace(Duration elapsed, int done, int left)
{
    if (done <= 0 || elapsed <= Duration(0))
        return std::nullopt;
    return Duration(std::llround(double(elapsed.count()) * std::max(0, left) / done));
}

// How long a new release of the old version would take after this one succeeded: all of its
// instances again, at the pace it kept, which is as long as it took.
std::optional<Duration> succeededPace(const RollingStatus &status)
{
    if (!status.succeeded())
        return std::nullopt;
    return atPace(*status.endedAt - status.startedAt, status.replicas, status.replicas);
}

QString serviceText(const ServiceKey &key)
{
    return QStringLiteral("%1 (%2)").arg(key.name, key.environment);
}

QString instancesText(int count)
{
    return count == 1 ? QStringLiteral("1 instance") : QStringLiteral("%1 instances").arg(count);
}

// The release as refusals name it: the version it was started for.
QString releaseTitle(const RollingStatus &status)
{
    return QStringLiteral("%1 %2").arg(serviceText(status.service), status.toVersion);
}

// The release as it runs now, so a rollback's messages say where it is going. Events and
// reasons carry the service beside them, so unlike refusals they do not name it.
QString activeTitle(const RollingStatus &status)
{
    if (status.rollingBack())
        return QStringLiteral("rolling back to %1").arg(status.fromVersion);
    return status.toVersion;
}

ReleaseEvent makeEvent(const RollingStatus &status, ReleaseEvent::Kind kind, TimePoint now,
                       const QString &reason, const QString &actor = automaticActor)
{
    ReleaseEvent event;
    event.at = now;
    event.actor = actor;
    event.service = status.service;
    event.releaseId = status.id;
    event.kind = kind;
    event.reason = reason;
    return event;
}

QMap<QString, double> fleetValues(const RollingStatus &status, const Counts &c)
{
    return {{QStringLiteral("replicas"), status.replicas},
            {QStringLiteral("ready"), c.ready},
            {QStringLiteral("total"), c.total},
            {QStringLiteral("target_ready"), c.targetReady},
            {QStringLiteral("retiring_left"), c.retiringHolding()}};
}

// "3 of 10 ready on 2.0.0, 8 left on 1.0.0"
QString whereText(const RollingStatus &status, const Counts &c)
{
    return QStringLiteral("%1 of %2 ready on %3, %4 left on %5")
        .arg(c.targetReady)
        .arg(status.replicas)
        .arg(status.targetVersion())
        .arg(c.retiringHolding())
        .arg(status.retiringVersion());
}

// Remembers what was seen, and whether it was progress: an instance of the target version
// became ready, one of the retiring version gave up its slot, or one finished draining.
void track(RollingStatus &status, const FleetSnapshot &fleet, const Counts &c, TimePoint now)
{
    const bool progressed = c.targetReady > status.readyTarget
                            || c.retiringHolding() < status.remainingOther
                            || c.draining < status.draining;
    status.readyTarget = c.targetReady;
    status.remainingOther = c.retiringHolding();
    status.draining = c.draining;
    if (progressed)
        status.lastProgressAt = now;
    // Paused, the tally stands still: a stall's reason keeps saying what its event said, and a
    // resume or a rollback starts the count again from its own moment.
    if (status.pausedAt)
        return;
    if (progressed)
        status.failedSinceProgress = 0;
    TimePoint latest = status.failuresCountedTo;
    for (const Instance &instance : fleet.instances) {
        if (instance.version == status.targetVersion() && instance.state == InstanceState::Failed
            && instance.since > status.failuresCountedTo) {
            ++status.failedSinceProgress;
            latest = std::max(latest, instance.since);
        }
    }
    status.failuresCountedTo = latest;
}

// The deadline counts from now, as after a resume or at the start of a rollback.
void restartDeadline(RollingStatus &status, const ServiceStatus &observed, TimePoint now)
{
    status.lastProgressAt = now;
    status.failedSinceProgress = 0;
    status.failuresCountedTo = std::max(status.failuresCountedTo, now);
    if (observed.fleet) {
        const Counts c = countFleet(status, *observed.fleet);
        status.readyTarget = c.targetReady;
        status.remainingOther = c.retiringHolding();
        status.draining = c.draining;
    }
}

// A request the backend has not shown the result of, or refused.
bool unsettled(const std::optional<Request> &request, int holding)
{
    return request && (request->failed || int(request->target) != holding);
}

// What keeps the release from progressing, for a stall's alert.
QString stuckText(const RollingStatus &status, const Counts &c)
{
    const QString &target = status.targetVersion();
    if (status.failedSinceProgress > 0)
        return QStringLiteral("%1 of %2 failed and none became ready")
            .arg(instancesText(status.failedSinceProgress), target);
    for (const auto &[request, version, holding] :
         {std::tuple(awaitedRetiringRequest(status, c), status.retiringVersion(),
                     c.retiringHolding()),
          std::tuple(targetRequest(status), target, c.targetHolding())}) {
        if (unsettled(request, holding)) {
            return QStringLiteral("the deployer has not brought %1 to %2 (%3 now)")
                .arg(version, instancesText(int(request->target)))
                .arg(holding);
        }
    }
    if (c.targetStarting > 0)
        return QStringLiteral("%1 of %2 still starting")
            .arg(instancesText(c.targetStarting), target);
    if (c.targetFailed > 0)
        return QStringLiteral("%1 of %2 failed and not replaced")
            .arg(instancesText(c.targetFailed), target);
    if (c.draining > 0)
        return QStringLiteral("%1 still draining").arg(instancesText(c.draining));
    return QStringLiteral("nothing changed (%1)").arg(whereText(status, c));
}

QString pausedReason(const RollingPlan &plan, const RollingStatus &status, const Counts &c)
{
    if (status.stalled) {
        return QStringLiteral("%1: stalled, no progress in %2: %3. Fix the cause and resume, or "
                              "roll back.")
            .arg(activeTitle(status), formatDuration(plan.progressDeadline), stuckText(status, c));
    }
    return QStringLiteral("%1: paused with %2. Resume to go on, or roll back.")
        .arg(activeTitle(status), whereText(status, c));
}

QString endedReason(const RollingStatus &status)
{
    const QString took = formatDuration(*status.endedAt - status.startedAt);
    if (status.rollingBack()) {
        return QStringLiteral("Rolled back in %1: %2 runs %3 again (%4).")
            .arg(took, serviceText(status.service), status.fromVersion, status.rollbackReason);
    }
    return QStringLiteral("Succeeded in %1: %2 runs %3 on all %4.")
        .arg(took, serviceText(status.service), status.toVersion, instancesText(status.replicas));
}

// The sentence for a release that is moving, from its status and the fleet alone, so deciding
// again at the same moment says the same.
QString movingReason(const RollingPlan &plan, const RollingStatus &status, const Counts &c,
                     TimePoint now)
{
    const QString where = QStringLiteral("%1: %2").arg(activeTitle(status), whereText(status, c));
    for (const auto &[request, version, holding] :
         {std::tuple(awaitedRetiringRequest(status, c), status.retiringVersion(),
                     c.retiringHolding()),
          std::tuple(targetRequest(status), status.targetVersion(), c.targetHolding())}) {
        if (request && request->failed) {
            return QStringLiteral("%1; the deployer refused to scale %2 to %3, asking again in %4.")
                .arg(where, version, instancesText(int(request->target)),
                     formatDuration(std::max(Duration(0), request->at + actionRetryAfter - now)));
        }
        if (unsettled(request, holding)) {
            return QStringLiteral("%1; waiting for the deployer to bring %2 to %3 (%4 now).")
                .arg(where, version, instancesText(int(request->target)))
                .arg(holding);
        }
    }
    const QString &target = status.targetVersion();
    if (c.targetStarting > 0)
        return QStringLiteral("%1; waiting for %2 of %3 to become ready.")
            .arg(where, instancesText(c.targetStarting), target);
    if (c.targetFailed > 0)
        return QStringLiteral("%1; %2 of %3 failed, waiting for replacements.")
            .arg(where, instancesText(c.targetFailed), target);
    if (c.draining > 0)
        return QStringLiteral("%1; waiting for %2 to finish draining.")
            .arg(where, instancesText(c.draining));
    if (c.retiringHolding() == 0)
        return QStringLiteral("%1; %2 is retired, finishing.").arg(where, status.retiringVersion());
    const ResolvedBudget budget = resolveBudget(plan, status.replicas);
    return QStringLiteral("%1; nothing can move within max_surge %2 and max_unavailable %3.")
        .arg(where)
        .arg(budget.surge)
        .arg(budget.unavailable);
}

void requestScale(RollingDecision &decision, const QString &version, int instances,
                  std::optional<Request> &request, TimePoint now)
{
    ReleaseAction action;
    action.kind = ReleaseAction::Kind::Scale;
    action.version = version;
    action.instances = instances;
    decision.actions.append(action);
    request = Request{double(instances), now, false, {}};
    refusedForGood(decision.status, version) = false;
}

// Whether to ask for `target` now. The previous step has settled or its retry is due, so a
// request still differing from what is wanted, or refused, is asked over; the scale to zero is
// asked for even when nothing is left, because the end waits for it.
bool shouldAsk(const std::optional<Request> &request, int target, int holding, bool zeroNeedsAsking)
{
    if (request && (request->failed || int(request->target) != target))
        return true;
    if (target != holding)
        return true;
    return !request && zeroNeedsAsking && target == 0;
}

void step(const RollingPlan &plan, RollingDecision &decision, const Counts &c, TimePoint now)
{
    RollingStatus &status = decision.status;
    std::optional<Request> &targetAsk = targetRequest(status);
    std::optional<Request> &retiringAsk = retiringRequest(status);
    auto pending = [now](const std::optional<Request> &request, int holding) {
        return unsettled(request, holding) && now < request->at + actionRetryAfter;
    };
    const bool retiringGone = retiredForGood(status, c);
    const bool waiting = pending(targetAsk, c.targetHolding())
                         || (!retiringGone && pending(retiringAsk, c.retiringHolding()));
    if (!waiting) {
        const Step next = nextStep(plan, status, c);
        QStringList changes;
        auto ask = [&](std::optional<Request> &request, const QString &version, int target,
                       int holding, bool zeroNeedsAsking) {
            if (!shouldAsk(request, target, holding, zeroNeedsAsking))
                return;
            if (!request || int(request->target) != target)
                changes.append(QStringLiteral("%1 to %2").arg(version, instancesText(target)));
            requestScale(decision, version, target, request, now);
        };
        // Down first: the room the scale-up uses counts the slots this frees. A version retired
        // for good is not asked again: it has nothing left, and the answer would be the same.
        if (!retiringGone)
            ask(retiringAsk, status.retiringVersion(), next.retiring, c.retiringHolding(), true);
        ask(targetAsk, status.targetVersion(), next.target, c.targetHolding(), false);
        if (!changes.isEmpty()) {
            const Limits limits = limitsOf(plan, status.replicas);
            ReleaseEvent event = makeEvent(
                status, ReleaseEvent::Kind::Scaled, now,
                QStringLiteral("%1scaling %2, with %3 of %4 ready and %5 running (at least %6 "
                               "ready, at most %7 running)")
                    .arg(status.rollingBack() ? activeTitle(status) + QStringLiteral(": ")
                                              : QString(),
                         changes.join(QStringLiteral(" and ")))
                    .arg(c.ready)
                    .arg(status.replicas)
                    .arg(c.total)
                    .arg(limits.minReady)
                    .arg(limits.maxTotal));
            event.values = fleetValues(status, c);
            event.values.insert(QStringLiteral("min_ready"), limits.minReady);
            event.values.insert(QStringLiteral("max_total"), limits.maxTotal);
            event.values.insert(QStringLiteral("target_size"), next.target);
            event.values.insert(QStringLiteral("retiring_size"), next.retiring);
            decision.events.append(event);
        }
    }
    decision.reason = movingReason(plan, status, c, now);
}

void stall(const RollingPlan &plan, RollingDecision &decision, const Counts &c, TimePoint now)
{
    RollingStatus &status = decision.status;
    status.pausedAt = now;
    status.stalled = true;
    ReleaseEvent event = makeEvent(
        status, ReleaseEvent::Kind::Stalled, now,
        QStringLiteral("%1: %2 in the last %3; paused. Fix the cause and resume, or roll back.")
            .arg(activeTitle(status), stuckText(status, c), formatDuration(plan.progressDeadline)));
    event.values = fleetValues(status, c);
    event.values.insert(QStringLiteral("failed"), status.failedSinceProgress);
    event.values.insert(QStringLiteral("starting"), c.targetStarting);
    event.values.insert(QStringLiteral("draining"), c.draining);
    decision.events.append(event);
    decision.reason = pausedReason(plan, status, c);
}

bool doneNow(const RollingStatus &status, const Counts &c, TimePoint now)
{
    if (c.targetReady < status.replicas || c.retiringHolding() > 0 || c.retiringDraining > 0)
        return false;
    if (retiredForGood(status, c))
        return true;
    const std::optional<Request> &retired = retiringRequest(status);
    return retired && retired->target == 0 && !retired->failed && retired->at < now;
}

void finish(RollingDecision &decision, const Counts &c, TimePoint now)
{
    RollingStatus &status = decision.status;
    status.endedAt = now;
    status.pausedAt.reset();
    status.stalled = false;
    ReleaseEvent event;
    if (status.rollingBack()) {
        event = makeEvent(status, ReleaseEvent::Kind::RolledBack, now,
                          QStringLiteral("%1: %2 runs on all %3 again and %4 is retired; the "
                                         "rollback took %5")
                              .arg(serviceText(status.service), status.fromVersion,
                                   instancesText(status.replicas), status.toVersion,
                                   formatDuration(now - *status.rollbackStartedAt)));
    } else {
        event = makeEvent(status, ReleaseEvent::Kind::Succeeded, now,
                          QStringLiteral("%1: %2 runs on all %3 and %4 is retired, %5 after the "
                                         "start")
                              .arg(serviceText(status.service), status.toVersion,
                                   instancesText(status.replicas), status.fromVersion,
                                   formatDuration(now - status.startedAt)));
    }
    event.values = fleetValues(status, c);
    decision.events.append(event);
    decision.reason = endedReason(status);
}

// Versions with instances holding a slot, oldest first.
QStringList holdingVersions(const FleetSnapshot &fleet)
{
    QStringList versions;
    for (const Instance &instance : fleet.instances) {
        const InstanceState s = instance.state;
        if ((s == InstanceState::Starting || s == InstanceState::Ready
             || s == InstanceState::Failed)
            && !versions.contains(instance.version))
            versions.append(instance.version);
    }
    std::sort(versions.begin(), versions.end(), versionLessThan);
    return versions;
}

} // namespace

Result<RollingDecision, QString> start(const RollingPlan &plan, const ServiceStatus &observed,
                                       const QString &version, const QString &actor,
                                       const QString &reason, TimePoint now)
{
    const QString service = serviceText(observed.key);
    const QString wanted = version.trimmed();
    if (const QString problem = checkPlan(plan); !problem.isEmpty()) {
        return QStringLiteral("%1%2 cannot take a rolling release: %3")
            .arg(plan.origin.isEmpty() ? QString() : plan.origin + QStringLiteral(": "), service,
                 problem);
    }
    if (wanted.isEmpty())
        return QStringLiteral("name the version to release");
    if (!observed.fleet) {
        return QStringLiteral("nothing is known of %1's fleet yet%2; wait for its fleet adapter")
            .arg(service, observed.fleetError.isEmpty()
                              ? QString()
                              : QStringLiteral(" (%1)").arg(observed.fleetError));
    }
    const QStringList versions = holdingVersions(*observed.fleet);
    if (versions.size() > 1) {
        return QStringLiteral("%1 runs %2; a rolling release replaces one version, so finish or "
                              "roll back that mix first")
            .arg(service, versions.join(QStringLiteral(" and ")));
    }
    if (versions.isEmpty())
        return QStringLiteral("%1 has no live instances to replace; scale it up first")
            .arg(service);
    if (versions.front() == wanted)
        return QStringLiteral("%1 already runs %2; pick a new version").arg(service, wanted);

    RollingDecision decision;
    RollingStatus &status = decision.status;
    status.service = observed.key;
    status.fromVersion = versions.front();
    status.toVersion = wanted;
    status.startedAt = now;
    status.startedBy = actor;
    status.id = QStringLiteral("%1/%2:%3@%4")
                    .arg(observed.key.name, observed.key.environment, wanted,
                         QDateTime::fromMSecsSinceEpoch(toMSecsSinceEpoch(now), Qt::UTC)
                             .toString(QStringLiteral("yyyyMMdd'T'HHmmss'Z'")));
    const Counts c = countFleet(status, *observed.fleet);
    status.replicas = c.retiringHolding();
    restartDeadline(status, observed, now);

    const ResolvedBudget budget = resolveBudget(plan, status.replicas);
    const QString why = reason.trimmed();
    ReleaseEvent started = makeEvent(
        status, ReleaseEvent::Kind::Started, now,
        QStringLiteral("%1: rolling %2 out over %3 on %4, at most %5 extra (max_surge %6) and %7 "
                       "unavailable (max_unavailable %8) at a time%9")
            .arg(service, wanted, status.fromVersion, instancesText(status.replicas))
            .arg(budget.surge)
            .arg(plan.maxSurge.text())
            .arg(budget.unavailable)
            .arg(plan.maxUnavailable.text(),
                 why.isEmpty() ? QString() : QStringLiteral(": %1").arg(why)),
        actor);
    started.values = fleetValues(status, c);
    started.values.insert(QStringLiteral("surge"), budget.surge);
    started.values.insert(QStringLiteral("unavailable"), budget.unavailable);

    RollingDecision next = decide(plan, status, observed, now);
    next.events.prepend(started);
    return next;
}

RollingDecision decide(const RollingPlan &plan, const RollingStatus &status,
                       const ServiceStatus &observed, TimePoint now)
{
    RollingDecision decision;
    decision.status = status;
    if (status.finished()) {
        decision.reason = endedReason(status);
        return decision;
    }
    if (!observed.fleet) {
        decision.reason
            = QStringLiteral("%1: waiting to see the fleet%2.")
                  .arg(activeTitle(status), observed.fleetError.isEmpty()
                                                ? QString()
                                                : QStringLiteral(" (%1)").arg(observed.fleetError));
        return decision;
    }
    RollingStatus &next = decision.status;
    const Counts c = countFleet(next, *observed.fleet);
    track(next, *observed.fleet, c, now);
    if (doneNow(next, c, now)) {
        finish(decision, c, now);
        return decision;
    }
    if (next.pausedAt) {
        decision.reason = pausedReason(plan, next, c);
        return decision;
    }
    if (now >= next.lastProgressAt + plan.progressDeadline) {
        stall(plan, decision, c, now);
        return decision;
    }
    step(plan, decision, c, now);
    wakeNoLaterThan(decision, next.lastProgressAt + plan.progressDeadline);
    for (const std::optional<Request> &request : {next.fromScaleRequest, next.toScaleRequest}) {
        if (request && request->at + actionRetryAfter > now)
            wakeNoLaterThan(decision, request->at + actionRetryAfter);
    }
    return decision;
}

QString refusal(const RollingPlan &, const RollingStatus &status, ReleaseCommand command)
{
    const QString title = releaseTitle(status);
    switch (command) {
    case ReleaseCommand::Promote:
    case ReleaseCommand::PromoteFully:
        return QStringLiteral("%1 is a rolling release; it has no stages to promote and moves as "
                              "fast as max_surge and max_unavailable allow")
            .arg(title);
    case ReleaseCommand::Abort:
        return QStringLiteral("%1 is a rolling release; roll it back to return to %2")
            .arg(title, status.fromVersion);
    case ReleaseCommand::Retry:
        return QStringLiteral("%1 is a rolling release; start a new release to try again")
            .arg(title);
    case ReleaseCommand::Switch:
    case ReleaseCommand::SwitchBack:
    case ReleaseCommand::Extend:
        return QStringLiteral("%1 is a rolling release; it has no colours to switch").arg(title);
    default: break;
    }
    if (status.finished()) {
        // This engine rolls back only what it is still rolling; once finished, the old version
        // comes back through a release of its own.
        if (command == ReleaseCommand::RollBack && status.succeeded()) {
            const std::optional<Duration> estimate = succeededPace(status);
            return QStringLiteral("%1 has finished and %2 is retired; going back means a new "
                                  "rolling release of %2%3")
                .arg(title, status.fromVersion,
                     estimate ? QStringLiteral(", about %1 at this release's pace")
                                    .arg(formatDuration(*estimate))
                              : QString());
        }
        return QStringLiteral("%1 has finished (%2); there is nothing to %3")
            .arg(title,
                 status.succeeded() ? QStringLiteral("succeeded") : QStringLiteral("rolled back"),
                 toString(command));
    }
    switch (command) {
    case ReleaseCommand::Pause:
        if (status.pausedAt) {
            return status.stalled ? QStringLiteral("%1 is already paused: it stalled").arg(title)
                                  : QStringLiteral("%1 is already paused").arg(title);
        }
        return {};
    case ReleaseCommand::Resume:
        if (!status.pausedAt)
            return QStringLiteral("%1 is not paused").arg(title);
        return {};
    case ReleaseCommand::RollBack:
        if (status.rollingBack())
            return QStringLiteral("%1 is already rolling back to %2")
                .arg(title, status.fromVersion);
        return {};
    default: break;
    }
    return {};
}

Result<RollingDecision, QString> command(const RollingPlan &plan, const RollingStatus &status,
                                         ReleaseCommand command, const QString &actor,
                                         const QString &reason, const ServiceStatus &observed,
                                         TimePoint now)
{
    if (const QString refused = refusal(plan, status, command); !refused.isEmpty())
        return refused;
    const QString why = reason.trimmed();
    if (command == ReleaseCommand::RollBack && why.isEmpty())
        return QStringLiteral("say why you roll back: a reason is required");

    RollingStatus next = status;
    QList<ReleaseEvent> events;
    auto record = [&](ReleaseEvent::Kind kind, const QString &text) {
        ReleaseEvent event = makeEvent(next, kind, now, text, actor);
        if (observed.fleet)
            event.values = fleetValues(next, countFleet(next, *observed.fleet));
        return event;
    };
    auto withWhy = [&why](const QString &text) {
        return why.isEmpty() ? text : QStringLiteral("%1: %2").arg(text, why);
    };
    switch (command) {
    case ReleaseCommand::Pause:
        next.pausedAt = now;
        next.stalled = false;
        events.append(record(ReleaseEvent::Kind::Paused,
                             withWhy(QStringLiteral("%1: paused").arg(activeTitle(next)))));
        break;
    case ReleaseCommand::Resume:
        events.append(record(ReleaseEvent::Kind::Resumed,
                             withWhy(QStringLiteral("%1: resumed%2")
                                         .arg(activeTitle(next), status.stalled ? QStringLiteral(
                                                                     " after a stall; the progress "
                                                                     "deadline starts again")
                                                                                : QString()))));
        next.pausedAt.reset();
        next.stalled = false;
        restartDeadline(next, observed, now);
        break;
    case ReleaseCommand::RollBack: {
        const std::optional<Duration> estimate = rollbackEstimate(plan, status, observed, now);
        next.rollbackStartedAt = now;
        next.rollbackReason = why;
        next.pausedAt.reset();
        next.stalled = false;
        restartDeadline(next, observed, now);
        if (observed.fleet)
            next.replacedAtRollback = replacedSoFar(next, countFleet(next, *observed.fleet));
        ReleaseEvent event
            = record(ReleaseEvent::Kind::RollbackStarted,
                     QStringLiteral("%1: rolling %2 out again in place of %3%4: %5")
                         .arg(serviceText(next.service), next.fromVersion, next.toVersion,
                              estimate ? QStringLiteral(", about %1 at this release's pace")
                                             .arg(formatDuration(*estimate))
                                       : QString(),
                              why));
        if (estimate)
            event.values.insert(QStringLiteral("estimate_s"),
                                std::chrono::duration<double>(*estimate).count());
        events.append(event);
        break;
    }
    default: Q_UNREACHABLE(); // refused above
    }
    RollingDecision decision = decide(plan, next, observed, now);
    decision.events = events + decision.events;
    return decision;
}

RollingDecision actionFailed(const RollingPlan &plan, const RollingStatus &status,
                             const ReleaseAction &action, const Error &error,
                             const ServiceStatus &observed, TimePoint now)
{
    RollingStatus next = status;
    std::optional<Request> *request = nullptr;
    if (action.kind == ReleaseAction::Kind::Scale) {
        if (action.version == status.toVersion)
            request = &next.toScaleRequest;
        else if (action.version == status.fromVersion)
            request = &next.fromScaleRequest;
    }
    const bool permanent
        = error.kind == Error::Kind::Invalid || error.kind == Error::Kind::Unsupported;
    // A late answer to an older request leaves the newer one alone.
    const bool current = request && *request && int((*request)->target) == action.instances;
    if (current) {
        (*request)->failed = true;
        (*request)->at = now;
        refusedForGood(next, action.version) = permanent;
    }
    // Refused for good, a scale of the retiring version with nothing of it left changes nothing:
    // that version counts as retired, and the release goes on without asking again.
    const bool moot = current && permanent && action.version == next.retiringVersion()
                      && observed.fleet && retiredForGood(next, countFleet(next, *observed.fleet));
    const bool retried = !permanent && !next.finished() && !next.pausedAt;
    QList<ReleaseEvent> events;
    events.append(makeEvent(
        next, ReleaseEvent::Kind::ActionFailed, now,
        QStringLiteral("%1: %2 failed: %3%4")
            .arg(activeTitle(next), action.describe(), error.message,
                 retried ? QStringLiteral("; retrying in %1").arg(formatDuration(actionRetryAfter))
                 : moot  ? QStringLiteral("; nothing of %1 is left, so it counts as retired")
                              .arg(action.version)
                        : QString())));
    // Asking again cannot change a refusal like this; an operator has to look.
    if (permanent && !moot && !next.finished() && !next.pausedAt) {
        next.pausedAt = now;
        next.stalled = false;
        events.append(makeEvent(next, ReleaseEvent::Kind::Paused, now,
                                QStringLiteral("%1: paused: the deployer refused to %2: %3. Fix "
                                               "it and resume, or roll back.")
                                    .arg(activeTitle(next), action.describe(), error.message)));
    }
    RollingDecision decision = decide(plan, next, observed, now);
    decision.events = events + decision.events;
    return decision;
}

RollingPhase phase(const RollingPlan &, const RollingStatus &status)
{
    if (status.finished())
        return status.rollingBack() ? RollingPhase::RolledBack : RollingPhase::Succeeded;
    if (status.pausedAt)
        return status.stalled ? RollingPhase::Stalled : RollingPhase::Paused;
    return status.rollingBack() ? RollingPhase::RollingBack : RollingPhase::Progressing;
}

RollingProgress progress(const RollingPlan &plan, const RollingStatus &status,
                         const ServiceStatus &observed, TimePoint now)
{
    RollingProgress p;
    p.replicas = status.replicas;
    p.budget = resolveBudget(plan, status.replicas);
    if (!observed.fleet)
        return p;
    const Counts c = countFleet(status, *observed.fleet);
    p.targetReady = c.targetReady;
    p.targetStarting = c.targetStarting;
    p.retiringLive = c.retiringHolding();
    p.draining = c.draining;
    p.failed = c.failed;
    p.ready = c.ready;
    p.total = c.total;
    p.unavailableNow = std::max(0, status.replicas - c.ready);
    p.surgeNow = std::max(0, c.total - status.replicas);
    if (!status.finished()) {
        const int replaced = replacedSoFar(status, c);
        const TimePoint since = status.rollingBack() ? *status.rollbackStartedAt : status.startedAt;
        const int baseline = status.rollingBack() ? status.replacedAtRollback : 0;
        p.eta = atPace(now - since, replaced - baseline, status.replicas - replaced);
    }
    return p;
}

std::optional<Duration> rollbackEstimate(const RollingPlan &, const RollingStatus &status,
                                         const ServiceStatus &observed, TimePoint now)
{
    if (status.succeeded())
        return succeededPace(status);
    if (status.rollingBack() || !observed.fleet)
        return std::nullopt;
    const Counts c = countFleet(status, *observed.fleet);
    // What a rollback would count as already replaced: the previous version's ready instances
    // serving in place of the new version's.
    const int back = std::clamp(std::min(c.retiringReady, status.replicas - c.targetReady), 0,
                                status.replicas);
    return atPace(status.endedAt.value_or(now) - status.startedAt, replacedSoFar(status, c),
                  status.replicas - back);
}

} // namespace rolling

QDebug operator<<(QDebug debug, const RollingStatus &status)
{
    QDebugStateSaver saver(debug);
    debug.nospace() << "RollingStatus(" << status.id << ' ' << status.fromVersion << " -> "
                    << status.toVersion << " on " << status.replicas;
    if (status.rollingBack())
        debug << " rolling back: " << status.rollbackReason;
    if (status.pausedAt)
        debug << (status.stalled ? " stalled" : " paused");
    if (status.endedAt)
        debug << " ended " << formatUtc(*status.endedAt);
    debug << ')';
    return debug;
}

} // namespace sb
