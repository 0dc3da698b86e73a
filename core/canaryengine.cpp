#include "canaryengine.h"

#include "sequentialgate.h"

#include <QDateTime>

#include <algorithm>
#include <cmath>

namespace sb {

QString toString(CanaryPhase phase)
{
    switch (phase) {
    case CanaryPhase::Scaling: return QStringLiteral("scaling");
    case CanaryPhase::Shifting: return QStringLiteral("shifting");
    case CanaryPhase::Baking: return QStringLiteral("baking");
    case CanaryPhase::Holding: return QStringLiteral("holding");
    case CanaryPhase::Paused: return QStringLiteral("paused");
    case CanaryPhase::Completing: return QStringLiteral("completing");
    case CanaryPhase::Succeeded: return QStringLiteral("succeeded");
    case CanaryPhase::Aborting: return QStringLiteral("aborting");
    case CanaryPhase::Aborted: return QStringLiteral("aborted");
    }
    return {};
}

namespace canary {

namespace {

// Routers store weights with limited precision; closer than this is the weight asked for.
constexpr double weightTolerance = 0.05;

std::optional<double> observedWeight(const ServiceStatus &observed, const QString &version)
{
    if (!observed.traffic)
        return std::nullopt;
    return observed.traffic->weightOf(version);
}

bool weightIs(const ServiceStatus &observed, const QString &version, double weight)
{
    const std::optional<double> seen = observedWeight(observed, version);
    return seen && std::abs(*seen - weight) <= weightTolerance;
}

QString percentText(double weight)
{
    return QStringLiteral("%1 %").arg(weight, 0, 'g', 4);
}

QString stageText(const CanaryPlan &plan, int stage)
{
    return QStringLiteral("stage %1 of %2 (%3)")
        .arg(stage + 1)
        .arg(plan.stages.size())
        .arg(percentText(plan.stage(stage).weightPercent));
}

QString releaseTitle(const CanaryStatus &status)
{
    return QStringLiteral("%1 (%2) %3")
        .arg(status.service.name, status.service.environment, status.canaryVersion);
}

ReleaseEvent makeEvent(const CanaryStatus &status, ReleaseEvent::Kind kind, TimePoint now,
                       const QString &reason, const QString &actor = automaticActor)
{
    ReleaseEvent event;
    event.at = now;
    event.actor = actor;
    event.service = status.service;
    event.releaseId = status.id;
    event.kind = kind;
    event.stage = status.stage;
    event.reason = reason;
    return event;
}

// Every gate's latest values, for the events of operator decisions.
QMap<QString, double> latestValues(const CanaryPlan &plan, const CanaryStatus &status)
{
    QMap<QString, double> values;
    for (const GateState &gate : status.gates) {
        const GateSpec spec = plan.gates.value(gate.gate);
        if (spec.method == GateMethod::Sequential && status.judges.contains(gate.gate))
            addJudgeValues(values, readJudge(status.judges.value(gate.gate).evidence,
                                             spec.sequential.settings.alpha));
        else if (gate.last)
            addGateValues(values, spec, *gate.last, QStringLiteral("canary"),
                          QStringLiteral("baseline"));
    }
    return values;
}

void enterStage(const CanaryPlan &plan, CanaryStatus &status, int stage, TimePoint now)
{
    status.stage = stage;
    status.stageStartedAt = now;
    status.bakeStartedAt.reset();
    status.pausedDuringBake = Duration(0);
    status.holdReason.clear();
    status.gates.clear();
    if (stage != plan.finalStage()) {
        for (const QString &gate : plan.stage(stage).gates)
            status.gates.append(GateState{gate, 0, 0, std::nullopt});
    }
}

// Bake time that counts: from the bake's start, minus the time spent paused.
Duration bakeElapsed(const CanaryStatus &status, TimePoint now)
{
    if (!status.bakeStartedAt)
        return Duration(0);
    Duration paused = status.pausedDuringBake;
    if (status.pausedAt)
        paused += now - std::max(*status.pausedAt, *status.bakeStartedAt);
    return std::max(Duration(0), now - *status.bakeStartedAt - paused);
}

// Whether to ask for `target` now: never asked, asked for something else, or asked a while ago
// without the result showing (or with a refusal).
bool shouldRequest(const std::optional<Request> &request, double target, bool satisfied,
                   TimePoint now)
{
    if (!request || request->target != target)
        return true;
    if (satisfied && !request->failed)
        return false;
    return now >= request->at + retryAfter;
}

// Retries of requests that have not shown up yet.
void wakeForRetries(CanaryDecision &decision, TimePoint now)
{
    for (const std::optional<Request> &request :
         {decision.status.weightRequest, decision.status.canaryScaleRequest,
          decision.status.stableScaleRequest}) {
        if (request && request->at + retryAfter > now)
            wakeNoLaterThan(decision, request->at + retryAfter);
    }
}

// A scale-down is done when nothing of the version is left and the backend took the request in
// an earlier decision: one issued just now may still be refused.
bool scaledAway(const std::optional<Request> &request, int left, TimePoint now)
{
    return left == 0 && request && request->target == 0 && !request->failed && request->at < now;
}

void requestWeight(CanaryDecision &decision, double canaryWeight, TimePoint now)
{
    CanaryStatus &status = decision.status;
    ReleaseAction action;
    action.kind = ReleaseAction::Kind::SetWeights;
    action.weights.insert(status.stableVersion, 100 - canaryWeight);
    action.weights.insert(status.canaryVersion, canaryWeight);
    decision.actions.append(action);
    status.weightRequest = Request{canaryWeight, now, false, {}};
}

void requestScale(CanaryDecision &decision, const QString &version, int instances,
                  std::optional<Request> &request, TimePoint now)
{
    ReleaseAction action;
    action.kind = ReleaseAction::Kind::Scale;
    action.version = version;
    action.instances = instances;
    decision.actions.append(action);
    request = Request{double(instances), now, false, {}};
}

void abortRelease(CanaryDecision &decision, const QString &reason, const QString &actor,
                  QMap<QString, double> values, TimePoint now)
{
    CanaryStatus &status = decision.status;
    status.aborted = true;
    status.abortReason = reason;
    status.pausedAt.reset();
    ReleaseEvent event = makeEvent(status, ReleaseEvent::Kind::Aborted, now, reason, actor);
    event.values = std::move(values);
    decision.events.append(event);
}

// After an abort: all traffic back to the stable version, then the canary scaled to nothing.
void rollBack(CanaryDecision &decision, const ServiceStatus &observed, TimePoint now)
{
    CanaryStatus &status = decision.status;
    const bool trafficBack = weightIs(observed, status.canaryVersion, 0);
    if (!trafficBack) {
        if (shouldRequest(status.weightRequest, 0, false, now))
            requestWeight(decision, 0, now);
        decision.reason = QStringLiteral("Aborted: %1. Moving all traffic back to %2.")
                              .arg(status.abortReason, status.stableVersion);
        wakeForRetries(decision, now);
        return;
    }
    const int canaryLeft = heldCount(observed, status.canaryVersion);
    if (shouldRequest(status.canaryScaleRequest, 0, canaryLeft == 0, now))
        requestScale(decision, status.canaryVersion, 0, status.canaryScaleRequest, now);
    if (!scaledAway(status.canaryScaleRequest, canaryLeft, now)) {
        decision.reason = QStringLiteral("Aborted: %1. %2 serves all traffic; scaling %3 down "
                                         "(%4 left).")
                              .arg(status.abortReason, status.stableVersion, status.canaryVersion)
                              .arg(canaryLeft);
        wakeForRetries(decision, now);
        return;
    }
    status.endedAt = now;
    decision.events.append(makeEvent(status, ReleaseEvent::Kind::RolledBack, now,
                                     QStringLiteral("%1 serves all traffic again; %2 is scaled "
                                                    "down")
                                         .arg(status.stableVersion, status.canaryVersion)));
    decision.reason = QStringLiteral("Rolled back: %1. %2 serves all traffic.")
                          .arg(status.abortReason, status.stableVersion);
}

// The final stage: the canary at full size, then all traffic, then the stable version retired.
void complete(CanaryDecision &decision, const ServiceStatus &observed, TimePoint now)
{
    CanaryStatus &status = decision.status;
    const int ready = readyCount(observed, status.canaryVersion);
    const bool paused = status.pausedAt.has_value();
    if (!paused
        && shouldRequest(status.canaryScaleRequest, status.replicas,
                         heldCount(observed, status.canaryVersion) == status.replicas, now))
        requestScale(decision, status.canaryVersion, status.replicas, status.canaryScaleRequest,
                     now);
    if (ready < status.replicas) {
        decision.reason = QStringLiteral("Completing: starting %1 at full size, %2 of %3 "
                                         "instances ready.")
                              .arg(status.canaryVersion)
                              .arg(ready)
                              .arg(status.replicas);
        wakeForRetries(decision, now);
        return;
    }
    const bool allTraffic = weightIs(observed, status.canaryVersion, 100);
    if (!allTraffic) {
        if (!paused && shouldRequest(status.weightRequest, 100, false, now))
            requestWeight(decision, 100, now);
        decision.reason
            = QStringLiteral("Completing: moving all traffic to %1.").arg(status.canaryVersion);
        wakeForRetries(decision, now);
        return;
    }
    const int stableLeft = heldCount(observed, status.stableVersion);
    if (!paused && shouldRequest(status.stableScaleRequest, 0, stableLeft == 0, now))
        requestScale(decision, status.stableVersion, 0, status.stableScaleRequest, now);
    if (!scaledAway(status.stableScaleRequest, stableLeft, now)) {
        decision.reason = QStringLiteral("Completing: %1 serves all traffic; scaling %2 down (%3 "
                                         "left).")
                              .arg(status.canaryVersion, status.stableVersion)
                              .arg(stableLeft);
        wakeForRetries(decision, now);
        return;
    }
    status.endedAt = now;
    decision.events.append(makeEvent(status, ReleaseEvent::Kind::Succeeded, now,
                                     QStringLiteral("%1 serves all traffic; %2 is scaled down")
                                         .arg(status.canaryVersion, status.stableVersion)));
    decision.reason = QStringLiteral("Succeeded: %1 serves all traffic.").arg(status.canaryVersion);
}

// A sequential gate's look at the newest interval. Announces a change of its verdict or of the
// judge's decision; returns false when it showed a regression and aborted the release. A gate
// without fresh data joins `waiting` while the metrics source fails.
bool judgeSequentially(const CanaryPlan &plan, CanaryDecision &decision, GateState &state,
                       const ServiceStatus &observed, TimePoint now, QStringList &waiting)
{
    CanaryStatus &status = decision.status;
    const GateSpec &gate = plan.gates[state.gate];
    auto judge = status.judges.find(state.gate);
    if (judge == status.judges.end()) // a record written before releases kept their judges
        judge = status.judges.insert(state.gate, freshJudges(plan).value(state.gate));
    std::optional<Measurement> m
        = readSequentialGate(gate, *judge, state, *status.bakeStartedAt, observed.metrics,
                             status.canaryVersion, status.stableVersion, now);
    if (!m) {
        const bool failing = !observed.metricsError.isEmpty();
        if (failing || !observed.metrics)
            waiting.append(state.gate);
        // Evidence stops growing while the source fails: say so once, and hold the stage on it.
        if (!failing || (state.last && state.last->verdict == Verdict::Inconclusive))
            return true;
        Measurement stalled;
        stalled.at = now;
        stalled.canaryRequests = state.last ? state.last->canaryRequests : 0;
        stalled.baselineRequests = state.last ? state.last->baselineRequests : 0;
        stalled.why = QStringLiteral("no metrics: %1").arg(observed.metricsError);
        m = stalled;
    }
    const bool verdictChanged = !state.last || state.last->verdict != m->verdict;
    recordMeasurement(state, *m);
    const JudgeReading reading = readJudge(judge->evidence, gate.sequential.settings.alpha);
    // Safe to promote stands once shown, as in signalbox-ctl judge: anytime-valid evidence may
    // be acted on when it first suffices. Only a regression overrides it.
    const bool keepsPromote
        = judge->decision == JudgeDecision::Promote && reading.decision == JudgeDecision::Continue;
    const bool decisionChanged = !keepsPromote && judge->decision != reading.decision;
    if (decisionChanged)
        judge->decision = reading.decision;
    if (!verdictChanged && !decisionChanged)
        return true;

    ReleaseEvent event = makeEvent(
        status, ReleaseEvent::Kind::GateMeasured, now,
        QStringLiteral("gate %1: %2: %3").arg(state.gate, toString(m->verdict), m->why));
    addJudgeValues(event.values, reading);
    decision.events.append(event);
    if (m->verdict != Verdict::Fail)
        return true;
    // The reason names only what regressed; the event above keeps the whole reading.
    QStringList regressed;
    for (const EventReading &counted : reading.events) {
        if (counted.decision == JudgeDecision::Rollback)
            regressed.append(describe(counted));
    }
    abortRelease(decision,
                 QStringLiteral("gate %1 showed a regression at %2: %3")
                     .arg(state.gate, percentText(plan.stage(status.stage).weightPercent),
                          regressed.join(QStringLiteral("; "))),
                 automaticActor, event.values, now);
    return false;
}

// Takes the measurements that are due. Returns false when a gate failed and aborted the release.
bool measureGates(const CanaryPlan &plan, CanaryDecision &decision, const ServiceStatus &observed,
                  TimePoint now, QStringList &waiting)
{
    CanaryStatus &status = decision.status;
    if (!status.bakeStartedAt)
        return true;
    for (GateState &state : status.gates) {
        const GateSpec &gate = plan.gates[state.gate];
        if (gate.method == GateMethod::Sequential) {
            if (!judgeSequentially(plan, decision, state, observed, now, waiting))
                return false;
            continue;
        }
        // Only an interval measured wholly at this stage's weight counts.
        const GateTurn turn
            = gateTurn(gate, state, *status.bakeStartedAt, observed.metrics, observed.metricsError,
                       status.canaryVersion, status.stableVersion,
                       QStringLiteral("at this stage's weight"), now);
        wakeNoLaterThan(decision, turn.next);
        if (turn.waitingForData)
            waiting.append(state.gate);
        if (!turn.measurement)
            continue;
        const Measurement &m = *turn.measurement;
        recordMeasurement(state, m);

        ReleaseEvent event = makeEvent(
            status, ReleaseEvent::Kind::GateMeasured, now,
            QStringLiteral("gate %1: %2: %3").arg(state.gate, toString(m.verdict), m.why));
        addGateValues(event.values, gate, m, QStringLiteral("canary"), QStringLiteral("baseline"));
        decision.events.append(event);

        if (state.failures >= gate.failureLimit) {
            QMap<QString, double> values;
            addGateValues(values, gate, m, QStringLiteral("canary"), QStringLiteral("baseline"));
            abortRelease(decision,
                         QStringLiteral("gate %1 failed %2 of %3 allowed measurements at %4: %5")
                             .arg(state.gate)
                             .arg(state.failures)
                             .arg(gate.failureLimit)
                             .arg(percentText(plan.stage(status.stage).weightPercent), m.why),
                         automaticActor, values, now);
            return false;
        }
    }
    return true;
}

// What keeps a baked stage from advancing; empty when nothing does.
QStringList blockers(const CanaryPlan &plan, const CanaryStatus &status)
{
    QStringList found;
    for (const GateState &state : status.gates) {
        if (!state.last) {
            found.append(QStringLiteral("gate %1 not measured yet").arg(state.gate));
        } else if (state.last->verdict == Verdict::Inconclusive) {
            found.append(
                QStringLiteral("gate %1 inconclusive: %2").arg(state.gate, state.last->why));
        } else if (state.last->verdict == Verdict::Fail) {
            found.append(QStringLiteral("gate %1 failed its last measurement (%2 of %3 allowed "
                                        "failures): %4")
                             .arg(state.gate)
                             .arg(state.failures)
                             .arg(plan.gates.value(state.gate).failureLimit)
                             .arg(state.last->why));
        }
    }
    if (plan.stage(status.stage).approval)
        found.append(QStringLiteral("awaiting an operator's approval (Promote)"));
    return found;
}

// The hold's kind without the numbers that change every measurement, so it is announced once.
QString holdKey(const QStringList &found)
{
    QStringList keys;
    for (const QString &blocker : found)
        keys.append(blocker.section(QLatin1Char(':'), 0, 0).section(QLatin1Char('('), 0, 0));
    return keys.join(QLatin1Char(';'));
}

void runStage(const CanaryPlan &plan, CanaryDecision &decision, const ServiceStatus &observed,
              TimePoint now)
{
    CanaryStatus &status = decision.status;
    const CanaryStage &stage = plan.stage(status.stage);
    const bool paused = status.pausedAt.has_value();
    const int wanted = canaryInstancesFor(stage.weightPercent, status.replicas);
    const int ready = readyCount(observed, status.canaryVersion);

    if (!status.bakeStartedAt) {
        if (!paused
            && shouldRequest(status.canaryScaleRequest, wanted,
                             heldCount(observed, status.canaryVersion) == wanted, now))
            requestScale(decision, status.canaryVersion, wanted, status.canaryScaleRequest, now);
        if (weightIs(observed, status.canaryVersion, stage.weightPercent) && ready > 0) {
            status.bakeStartedAt = now;
            ReleaseEvent event
                = makeEvent(status, ReleaseEvent::Kind::WeightSet, now,
                            QStringLiteral("%1 of traffic on %2; baking for %3")
                                .arg(percentText(stage.weightPercent), status.canaryVersion,
                                     formatDuration(stage.bake)));
            event.values.insert(QStringLiteral("weight.canary"), stage.weightPercent);
            decision.events.append(event);
        } else if (paused) {
            decision.reason = QStringLiteral("Paused at %1 before its weight was set.")
                                  .arg(stageText(plan, status.stage));
            return;
        } else if (ready < wanted) {
            decision.reason = QStringLiteral("%1: starting %2, %3 of %4 instances ready.")
                                  .arg(stageText(plan, status.stage), status.canaryVersion)
                                  .arg(ready)
                                  .arg(wanted);
            wakeForRetries(decision, now);
            return;
        } else {
            if (shouldRequest(status.weightRequest, stage.weightPercent, false, now))
                requestWeight(decision, stage.weightPercent, now);
            decision.reason = QStringLiteral("%1: asking the router for %2 to %3.")
                                  .arg(stageText(plan, status.stage),
                                       percentText(stage.weightPercent), status.canaryVersion);
            wakeForRetries(decision, now);
            return;
        }
    }

    // Throughout the bake, a weight changed behind the release's back is set again.
    if (!paused && observed.traffic
        && !weightIs(observed, status.canaryVersion, stage.weightPercent)
        && shouldRequest(status.weightRequest, stage.weightPercent, false, now))
        requestWeight(decision, stage.weightPercent, now);

    QStringList waiting;
    if (!measureGates(plan, decision, observed, now, waiting)) {
        rollBack(decision, observed, now);
        return;
    }

    const Duration left = stage.bake - bakeElapsed(status, now);
    if (paused) {
        decision.reason
            = QStringLiteral("Paused at %1 with %2 of bake left; gates keep "
                             "measuring and still abort on failure.")
                  .arg(stageText(plan, status.stage), formatDuration(std::max(left, Duration(0))));
        return;
    }
    if (left > Duration(0)) {
        wakeNoLaterThan(decision, now + left);
        decision.reason = QStringLiteral("%1: baking, %2 left.")
                              .arg(stageText(plan, status.stage), formatDuration(left));
        if (!waiting.isEmpty())
            decision.reason += QStringLiteral(" Waiting for metrics at this weight for %1.")
                                   .arg(waiting.join(QStringLiteral(", ")));
        return;
    }

    const QStringList found = blockers(plan, status);
    if (!found.isEmpty()) {
        const QString key = holdKey(found);
        if (status.holdReason != key) {
            status.holdReason = key;
            decision.events.append(
                makeEvent(status, ReleaseEvent::Kind::Held, now, found.join(QStringLiteral("; "))));
        }
        decision.reason = QStringLiteral("%1: bake done; holding: %2.")
                              .arg(stageText(plan, status.stage), found.join(QStringLiteral("; ")));
        return;
    }

    const int next = status.stage + 1;
    QStringList passed;
    for (const GateState &state : status.gates)
        passed.append(state.gate);
    const QString reason = QStringLiteral("stage %1 passed after %2 (gates: %3); going to %4")
                               .arg(status.stage + 1)
                               .arg(formatDuration(stage.bake), passed.join(QStringLiteral(", ")),
                                    percentText(plan.stage(next).weightPercent));
    ReleaseEvent event = makeEvent(status, ReleaseEvent::Kind::StageStarted, now, reason);
    event.values = latestValues(plan, status);
    enterStage(plan, status, next, now);
    event.stage = next;
    decision.events.append(event);
    // Decide the new stage at once, so its first actions go out with this decision.
    if (status.stage == plan.finalStage())
        complete(decision, observed, now);
    else
        runStage(plan, decision, observed, now);
}

// The version taking the traffic now, if exactly one does; otherwise why there is none.
struct StableVersion {
    QString version;
    QString problem;
};

StableVersion stableVersionOf(const ServiceStatus &observed)
{
    const QString service
        = QStringLiteral("%1 (%2)").arg(observed.key.name, observed.key.environment);
    if (observed.traffic && !observed.traffic->weightPercent.isEmpty()) {
        QStringList serving;
        QStringList described;
        for (auto it = observed.traffic->weightPercent.cbegin();
             it != observed.traffic->weightPercent.cend(); ++it) {
            if (it.value() > weightTolerance) {
                serving.append(it.key());
                described.append(QStringLiteral("%1 (%2)").arg(it.key(), percentText(it.value())));
            }
        }
        if (serving.size() == 1)
            return {serving.front(), {}};
        if (serving.size() > 1) {
            return {{},
                    QStringLiteral("%1 already splits traffic between %2; finish or roll back "
                                   "that split before starting a canary")
                        .arg(service, described.join(QStringLiteral(" and ")))};
        }
    }
    if (observed.fleet) {
        const QStringList versions = liveVersions(*observed.fleet);
        if (versions.size() == 1)
            return {versions.front(), {}};
        if (versions.size() > 1) {
            return {{},
                    QStringLiteral("%1 runs %2 and the router does not say which serves traffic; "
                                   "a canary needs one stable version")
                        .arg(service, versions.join(QStringLiteral(", ")))};
        }
        return {{},
                QStringLiteral("%1 has no live instances to compare a canary with").arg(service)};
    }
    return {{},
            QStringLiteral("nothing is known of %1's fleet yet%2; wait for its fleet adapter")
                .arg(service, observed.fleetError.isEmpty()
                                  ? QString()
                                  : QStringLiteral(" (%1)").arg(observed.fleetError))};
}

} // namespace

Result<CanaryDecision, QString> start(const CanaryPlan &plan, const ServiceStatus &observed,
                                      const QString &version, const QString &actor,
                                      const QString &reason, TimePoint now)
{
    int badStage = -1;
    if (const QString problem = checkPlan(plan, &badStage); !problem.isEmpty())
        return QStringLiteral("plan '%1' cannot run: %2").arg(plan.name, problem);
    const QString wanted = version.trimmed();
    if (wanted.isEmpty())
        return QStringLiteral("name the version to release");
    const StableVersion stable = stableVersionOf(observed);
    if (!stable.problem.isEmpty())
        return stable.problem;
    if (stable.version == wanted) {
        return QStringLiteral("%1 already serves all traffic of %2 (%3); pick a new version")
            .arg(wanted, observed.key.name, observed.key.environment);
    }
    const int replicas
        = countInState(observed, stable.version, {InstanceState::Starting, InstanceState::Ready});
    if (replicas == 0) {
        return QStringLiteral("%1 has no starting or ready instance of %2 to compare with")
            .arg(observed.key.name, stable.version);
    }

    CanaryDecision decision;
    CanaryStatus &status = decision.status;
    status.service = observed.key;
    status.stableVersion = stable.version;
    status.canaryVersion = wanted;
    status.replicas = replicas;
    status.startedAt = now;
    status.startedBy = actor;
    status.judges = freshJudges(plan);
    status.id = QStringLiteral("%1/%2:%3@%4")
                    .arg(observed.key.name, observed.key.environment, wanted,
                         QDateTime::fromMSecsSinceEpoch(toMSecsSinceEpoch(now), Qt::UTC)
                             .toString(QStringLiteral("yyyyMMdd'T'HHmmss'Z'")));
    enterStage(plan, status, 0, now);

    ReleaseEvent started = makeEvent(
        status, ReleaseEvent::Kind::Started, now,
        QStringLiteral("canary of %1 from %2 with plan '%3' (%4 stages, %5 of bake)%6")
            .arg(wanted, status.stableVersion, plan.name)
            .arg(plan.stages.size())
            .arg(formatDuration(plan.totalBake()))
            .arg(reason.trimmed().isEmpty() ? QString()
                                            : QStringLiteral(": %1").arg(reason.trimmed())),
        actor);
    started.values.insert(QStringLiteral("replicas"), replicas);
    // Pin the canary at 0 % before any of its instances is up: a router that spreads requests
    // over ready instances would otherwise give the first one its instance share at once.
    CanaryDecision pinned;
    pinned.status = status;
    requestWeight(pinned, 0, now);
    CanaryDecision next = decide(plan, pinned.status, observed, now);
    next.actions = pinned.actions + next.actions;
    next.events.prepend(
        makeEvent(status, ReleaseEvent::Kind::StageStarted, now,
                  QStringLiteral("%1: start %2 instances of %3")
                      .arg(stageText(plan, 0))
                      .arg(canaryInstancesFor(plan.stage(0).weightPercent, replicas))
                      .arg(wanted)));
    next.events.prepend(started);
    return next;
}

CanaryDecision decide(const CanaryPlan &plan, const CanaryStatus &status,
                      const ServiceStatus &observed, TimePoint now)
{
    CanaryDecision decision;
    decision.status = status;
    if (status.finished()) {
        decision.reason
            = status.aborted
                  ? QStringLiteral("Rolled back: %1. %2 serves all traffic.")
                        .arg(status.abortReason, status.stableVersion)
                  : QStringLiteral("Succeeded: %1 serves all traffic.").arg(status.canaryVersion);
        return decision;
    }
    if (status.aborted)
        rollBack(decision, observed, now);
    else if (status.stage == plan.finalStage())
        complete(decision, observed, now);
    else
        runStage(plan, decision, observed, now);
    return decision;
}

QString refusal(const CanaryPlan &plan, const CanaryStatus &status, Command command)
{
    const QString title = releaseTitle(status);
    switch (command) {
    case Command::Switch:
    case Command::SwitchBack:
    case Command::Extend:
        return QStringLiteral("%1 is a canary; it has no colours to switch").arg(title);
    case Command::RollBack:
        return QStringLiteral("%1 is a canary; abort it to send all traffic back to %2")
            .arg(title, status.stableVersion);
    default: break;
    }
    if (command == Command::Retry) {
        if (!status.aborted)
            return QStringLiteral("%1 was not aborted; only an aborted release can be retried")
                .arg(title);
        if (!status.finished())
            return QStringLiteral("%1 is still rolling back; retry once %2 serves all traffic")
                .arg(title, status.stableVersion);
        return {};
    }
    if (status.finished()) {
        return QStringLiteral("%1 has finished (%2); there is nothing to %3")
            .arg(title,
                 status.aborted ? QStringLiteral("rolled back") : QStringLiteral("succeeded"),
                 toString(command));
    }
    if (status.aborted) {
        return QStringLiteral("%1 was aborted and is rolling back; there is nothing to %2")
            .arg(title, toString(command));
    }
    switch (command) {
    case Command::Promote:
    case Command::PromoteFully:
        if (status.pausedAt)
            return QStringLiteral("%1 is paused; resume it before promoting").arg(title);
        if (status.stage == plan.finalStage())
            return QStringLiteral("%1 is already completing at 100 %").arg(title);
        return {};
    case Command::Pause:
        if (status.pausedAt)
            return QStringLiteral("%1 is already paused").arg(title);
        return {};
    case Command::Resume:
        if (!status.pausedAt)
            return QStringLiteral("%1 is not paused").arg(title);
        return {};
    case Command::Abort:
        if (status.stableScaleRequest) {
            return QStringLiteral("%1 already serves all traffic and %2 is being scaled down; "
                                  "going back now means deploying %2 again")
                .arg(title, status.stableVersion);
        }
        return {};
    default: break;
    }
    return {};
}

Result<CanaryDecision, QString> command(const CanaryPlan &plan, const CanaryStatus &status,
                                        Command command, const QString &actor,
                                        const QString &reason, const ServiceStatus &observed,
                                        TimePoint now)
{
    if (const QString refused = refusal(plan, status, command); !refused.isEmpty())
        return refused;
    const QString why = reason.trimmed();
    if ((command == Command::Promote || command == Command::PromoteFully) && why.isEmpty())
        return QStringLiteral("say why you %1: a reason is required").arg(toString(command));

    CanaryStatus next = status;
    QList<ReleaseEvent> events;
    auto record = [&](ReleaseEvent::Kind kind, const QString &text) {
        ReleaseEvent event = makeEvent(next, kind, now, text, actor);
        event.values = latestValues(plan, status);
        events.append(event);
    };
    switch (command) {
    case Command::Promote: {
        const int target = status.stage + 1;
        record(ReleaseEvent::Kind::Promoted,
               QStringLiteral("promoted from %1 to %2: %3")
                   .arg(stageText(plan, status.stage), stageText(plan, target), why));
        enterStage(plan, next, target, now);
        break;
    }
    case Command::PromoteFully:
        record(ReleaseEvent::Kind::PromotedFully,
               QStringLiteral("promoted from %1 straight to 100 %: %2")
                   .arg(stageText(plan, status.stage), why));
        enterStage(plan, next, plan.finalStage(), now);
        break;
    case Command::Pause:
        next.pausedAt = now;
        record(ReleaseEvent::Kind::Paused,
               why.isEmpty() ? QStringLiteral("paused") : QStringLiteral("paused: %1").arg(why));
        break;
    case Command::Resume:
        if (next.bakeStartedAt)
            next.pausedDuringBake += now - std::max(*next.pausedAt, *next.bakeStartedAt);
        next.pausedAt.reset();
        record(ReleaseEvent::Kind::Resumed,
               why.isEmpty() ? QStringLiteral("resumed") : QStringLiteral("resumed: %1").arg(why));
        break;
    case Command::Abort: {
        CanaryDecision aborted;
        aborted.status = next;
        abortRelease(aborted,
                     why.isEmpty() ? QStringLiteral("aborted by %1").arg(actor)
                                   : QStringLiteral("aborted by %1: %2").arg(actor, why),
                     actor, latestValues(plan, status), now);
        next = aborted.status;
        events += aborted.events;
        break;
    }
    case Command::Retry:
        record(ReleaseEvent::Kind::Retried,
               why.isEmpty() ? QStringLiteral("retried from stage 1")
                             : QStringLiteral("retried from stage 1: %1").arg(why));
        next.aborted = false;
        next.abortReason.clear();
        next.endedAt.reset();
        next.weightRequest.reset();
        next.canaryScaleRequest.reset();
        // A new attempt is judged afresh: the evidence that aborted the last one would abort it.
        next.judges = freshJudges(plan);
        enterStage(plan, next, 0, now);
        break;
    default: Q_UNREACHABLE(); // refused above
    }
    CanaryDecision decision = decide(plan, next, observed, now);
    decision.events = events + decision.events;
    return decision;
}

CanaryDecision actionFailed(const CanaryPlan &plan, const CanaryStatus &status,
                            const ReleaseAction &action, const Error &error,
                            const ServiceStatus &observed, TimePoint now)
{
    CanaryDecision decision;
    decision.status = status;
    CanaryStatus &next = decision.status;
    std::optional<Request> *request = nullptr;
    if (action.kind == ReleaseAction::Kind::SetWeights)
        request = &next.weightRequest;
    else if (action.version == status.canaryVersion)
        request = &next.canaryScaleRequest;
    else if (action.version == status.stableVersion)
        request = &next.stableScaleRequest;
    if (request && *request) {
        (*request)->failed = true;
        (*request)->at = now;
    }
    const bool permanent
        = error.kind == Error::Kind::Invalid || error.kind == Error::Kind::Unsupported;
    decision.events.append(makeEvent(
        next, ReleaseEvent::Kind::ActionFailed, now,
        QStringLiteral("%1 failed: %2%3")
            .arg(action.describe(), error.message,
                 permanent || next.finished()
                     ? QString()
                     : QStringLiteral("; retrying in %1").arg(formatDuration(retryAfter)))));
    // A refusal that asking again cannot change ends the release, unless it is already ending.
    if (permanent && !next.aborted && !next.finished()) {
        abortRelease(
            decision,
            QStringLiteral("the backend refused to %1: %2").arg(action.describe(), error.message),
            automaticActor, {}, now);
    }
    CanaryDecision after = decide(plan, next, observed, now);
    after.events = decision.events + after.events;
    return after;
}

CanaryPhase phase(const CanaryPlan &plan, const CanaryStatus &status, const ServiceStatus &observed,
                  TimePoint now)
{
    if (status.finished())
        return status.aborted ? CanaryPhase::Aborted : CanaryPhase::Succeeded;
    if (status.aborted)
        return CanaryPhase::Aborting;
    if (status.pausedAt)
        return CanaryPhase::Paused;
    if (status.stage == plan.finalStage())
        return CanaryPhase::Completing;
    if (!status.bakeStartedAt) {
        const int wanted
            = canaryInstancesFor(plan.stage(status.stage).weightPercent, status.replicas);
        return readyCount(observed, status.canaryVersion) < wanted ? CanaryPhase::Scaling
                                                                   : CanaryPhase::Shifting;
    }
    return bakeElapsed(status, now) < plan.stage(status.stage).bake ? CanaryPhase::Baking
                                                                    : CanaryPhase::Holding;
}

double desiredWeight(const CanaryPlan &plan, const CanaryStatus &status)
{
    if (status.aborted)
        return 0;
    return plan.stage(status.stage).weightPercent;
}

std::optional<Duration> bakeRemaining(const CanaryPlan &plan, const CanaryStatus &status,
                                      TimePoint now)
{
    if (!status.bakeStartedAt || status.aborted || status.finished()
        || status.stage == plan.finalStage())
        return std::nullopt;
    return std::max(Duration(0), plan.stage(status.stage).bake - bakeElapsed(status, now));
}

} // namespace canary

QDebug operator<<(QDebug debug, const CanaryStatus &status)
{
    QDebugStateSaver saver(debug);
    debug.nospace() << "CanaryStatus(" << status.id << " stage " << status.stage + 1;
    if (status.pausedAt)
        debug << " paused";
    if (status.aborted)
        debug << " aborted: " << status.abortReason;
    if (status.endedAt)
        debug << " ended " << formatUtc(*status.endedAt);
    debug << ')';
    return debug;
}

} // namespace sb
