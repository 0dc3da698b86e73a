#include "bluegreenengine.h"

#include <QDateTime>

#include <algorithm>
#include <cmath>

namespace sb {

QString toString(BlueGreenPhase phase)
{
    switch (phase) {
    case BlueGreenPhase::Deploying: return QStringLiteral("deploying");
    case BlueGreenPhase::Verifying: return QStringLiteral("verifying");
    case BlueGreenPhase::AwaitingSwitch: return QStringLiteral("awaiting-switch");
    case BlueGreenPhase::Switching: return QStringLiteral("switching");
    case BlueGreenPhase::Warm: return QStringLiteral("warm");
    case BlueGreenPhase::Paused: return QStringLiteral("paused");
    case BlueGreenPhase::SwitchingBack: return QStringLiteral("switching-back");
    case BlueGreenPhase::Retiring: return QStringLiteral("retiring");
    case BlueGreenPhase::Succeeded: return QStringLiteral("succeeded");
    case BlueGreenPhase::Undoing: return QStringLiteral("undoing");
    case BlueGreenPhase::RolledBack: return QStringLiteral("rolled-back");
    }
    return {};
}

namespace bluegreen {

namespace {

// Routers store weights with limited precision; closer than this is the weight asked for.
constexpr double weightTolerance = 0.05;

QString serviceTitle(const ServiceKey &key)
{
    return QStringLiteral("%1 (%2)").arg(key.name, key.environment);
}

// Ready to take all traffic: exactly `replicas` ready, none starting or failed beside them.
bool allReady(const ServiceStatus &observed, const QString &version, int replicas)
{
    return readyCount(observed, version) == replicas && heldCount(observed, version) == replicas;
}

// "7 of 10 instances ready (2 starting, 1 failed)"
QString readiness(const ServiceStatus &observed, const QString &version, int replicas)
{
    QString text = QStringLiteral("%1 of %2 instances ready")
                       .arg(readyCount(observed, version))
                       .arg(replicas);
    QStringList others;
    if (const int starting = countInState(observed, version, {InstanceState::Starting}))
        others.append(QStringLiteral("%1 starting").arg(starting));
    if (const int failed = countInState(observed, version, {InstanceState::Failed}))
        others.append(QStringLiteral("%1 failed").arg(failed));
    if (!others.isEmpty())
        text += QStringLiteral(" (%1)").arg(others.join(QStringLiteral(", ")));
    return text;
}

QString percentText(double weight)
{
    return QStringLiteral("%1 %").arg(weight, 0, 'g', 4);
}

ReleaseEvent makeEvent(const BlueGreenStatus &status, ReleaseEvent::Kind kind, TimePoint now,
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

QMap<QString, double> latestValues(const BlueGreenPlan &plan, const QList<GateState> &gates)
{
    QMap<QString, double> values;
    for (const GateState &gate : gates) {
        if (gate.last)
            addGateValues(values, plan.gates.value(gate.gate), *gate.last, QStringLiteral("new"),
                          QStringLiteral("old"));
    }
    return values;
}

// The health figures of one version's interval, under `suffix`.
void addMetrics(QMap<QString, double> &values, const VersionMetrics &metrics, const QString &suffix)
{
    for (const char *name : {"request_rate", "error_rate", "p99_latency"}) {
        if (const std::optional<double> value = metricValue(metrics, QString::fromLatin1(name)))
            values.insert(QStringLiteral("%1.%2").arg(QLatin1StringView(name), suffix), *value);
    }
    values.insert(QStringLiteral("requests.") + suffix, double(metrics.requests));
}

TimePoint windowEnd(const BlueGreenPlan &plan, const BlueGreenStatus &status)
{
    Q_ASSERT(status.switchedAt);
    return status.switchedAt.value_or(status.startedAt) + plan.warmWindow + status.extended;
}

bool switchAskedFor(const BlueGreenStatus &status, const QString &version)
{
    return status.switchRequest && status.switchRequest->version == version;
}

// Whether to ask for `target` (instances, or the colour of a switch) now: never asked, asked for
// something else, or asked a while ago without the result showing (or with a refusal).
bool shouldRequest(const std::optional<Request> &request, double target, const QString &version,
                   bool satisfied, TimePoint now)
{
    if (!request || request->target != target || request->version != version)
        return true;
    if (satisfied && !request->failed)
        return false;
    return now >= request->at + actionRetryAfter;
}

void wakeForRetries(BlueGreenDecision &decision, TimePoint now)
{
    const BlueGreenStatus &status = decision.status;
    for (const std::optional<Request> &request : {status.pinRequest, status.newScaleRequest,
                                                  status.switchRequest, status.oldScaleRequest}) {
        if (request && request->at + actionRetryAfter > now)
            wakeNoLaterThan(decision, request->at + actionRetryAfter);
    }
}

ReleaseAction scaleAction(const QString &version, int instances)
{
    ReleaseAction action;
    action.kind = ReleaseAction::Kind::Scale;
    action.version = version;
    action.instances = instances;
    return action;
}

ReleaseAction switchAction(const QString &version)
{
    ReleaseAction action;
    action.kind = ReleaseAction::Kind::Switch;
    action.version = version;
    return action;
}

bool isRefused(const BlueGreenStatus &status, const ReleaseAction &action)
{
    return status.refusedAction && *status.refusedAction == action;
}

// The permanent refusal standing in the way, for the panel; empty when there is none.
QString refusedText(const BlueGreenStatus &status, const ReleaseAction &action)
{
    if (!isRefused(status, action))
        return {};
    return QStringLiteral(" The backend refused to %1 for good (%2); do it by hand and the "
                          "release goes on once it shows.")
        .arg(action.describe(), status.refusedBecause);
}

// Returns whether the action went out: one refused for good is not asked again.
bool requestScale(BlueGreenDecision &decision, const QString &version, int instances,
                  std::optional<Request> &request, TimePoint now)
{
    const ReleaseAction action = scaleAction(version, instances);
    if (isRefused(decision.status, action))
        return false;
    decision.actions.append(action);
    request = Request{double(instances), now, false, {}};
    return true;
}

bool requestSwitch(BlueGreenDecision &decision, const QString &version,
                   std::optional<Request> &request, const ServiceStatus &observed, TimePoint now)
{
    BlueGreenStatus &status = decision.status;
    const ReleaseAction action = switchAction(version);
    if (isRefused(status, action))
        return false;
    decision.actions.append(action);
    request = Request{0, now, false, version};
    // The observation the switch is asked on still has all traffic on the old colour: the
    // baseline the new one is held to once it takes over.
    if (version == status.newVersion && observed.metrics) {
        if (const VersionMetrics *old = observed.metrics->find(status.oldVersion))
            status.oldBefore = *old;
    }
    return true;
}

// A scale-down is done when nothing of the colour is left and the request was made in an
// earlier decision: one issued just now may still be refused. One refused for good counts once
// the colour is seen gone, since an operator did it by hand.
bool scaledAway(const BlueGreenStatus &status, const std::optional<Request> &request,
                const QString &version, int left, TimePoint now)
{
    if (left != 0 || !request || request->target != 0 || request->at >= now)
        return false;
    return !request->failed || isRefused(status, scaleAction(version, 0));
}

// Announces a hold once per kind: `key` leaves out the numbers that change every decision.
void hold(BlueGreenDecision &decision, const QString &key, const QString &text, TimePoint now,
          const QMap<QString, double> &values = {})
{
    BlueGreenStatus &status = decision.status;
    if (status.holdReason == key)
        return;
    status.holdReason = key;
    ReleaseEvent event = makeEvent(status, ReleaseEvent::Kind::Held, now, text);
    event.values = values;
    decision.events.append(event);
}

void abortRelease(BlueGreenDecision &decision, const QString &reason, const QString &actor,
                  QMap<QString, double> values, TimePoint now)
{
    BlueGreenStatus &status = decision.status;
    status.aborted = true;
    status.abortReason = reason;
    status.holdReason.clear();
    // Going back is never held, so there is nothing left for a pause to hold.
    status.pausedAt.reset();
    ReleaseEvent event = makeEvent(status, ReleaseEvent::Kind::Aborted, now, reason, actor);
    event.values = std::move(values);
    decision.events.append(event);
}

// "about 45 s to bring 10 instances up, then a switch"
QString redeployText(const BlueGreenStatus &status)
{
    if (const std::optional<Duration> estimate = redeployEstimate(status)) {
        return QStringLiteral("about %1 to bring %2 instances up, then a switch")
            .arg(formatDuration(*estimate))
            .arg(status.replicas);
    }
    return QStringLiteral("as long as starting %1 instances takes, then a switch")
        .arg(status.replicas);
}

// Once the old colour's scale-down was asked for (retiredAt).
QString retiredRefusal(const BlueGreenStatus &status)
{
    Q_ASSERT(status.retiredAt);
    return QStringLiteral("%1: %2 was scaled down at %3 when the warm window ended; going back "
                          "now is a new deploy of %2, %4")
        .arg(serviceTitle(status.service), status.oldVersion,
             formatUtc(status.retiredAt.value_or(status.startedAt)), redeployText(status));
}

QString endedText(const BlueGreenStatus &status)
{
    if (status.aborted) {
        return QStringLiteral("Rolled back: %1. %2 serves all traffic.")
            .arg(status.abortReason, status.oldVersion);
    }
    return QStringLiteral("Succeeded: %1 serves all traffic; %2 is scaled down, so going back is "
                          "a new deploy.")
        .arg(status.newVersion, status.oldVersion);
}

// The pre-switch snapshot does for the gates as observed; after the switch the old colour's
// figures are those it had before it, since it no longer serves production traffic.
std::optional<MetricsSnapshot> postSwitchMetrics(const BlueGreenStatus &status,
                                                 const ServiceStatus &observed)
{
    if (!observed.metrics)
        return std::nullopt;
    MetricsSnapshot snapshot;
    snapshot.at = observed.metrics->at;
    snapshot.interval = observed.metrics->interval;
    if (const VersionMetrics *current = observed.metrics->find(status.newVersion))
        snapshot.versions.append(*current);
    if (status.oldBefore)
        snapshot.versions.append(*status.oldBefore);
    return snapshot;
}

// Where a gate's data is recorded to reach, and up to where it must (see warm()).
struct DataEnds {
    QMap<QString, TimePoint> *until = nullptr; // per gate: the end of the data last measured on
    // A gate short of it measures only data reaching it, for an interval and finalMetricsLag.
    std::optional<TimePoint> mustReach;
};

bool reaches(const QMap<QString, TimePoint> &until, const QString &gate, TimePoint end)
{
    const auto it = until.constFind(gate);
    return it != until.cend() && *it >= end;
}

// Takes the measurements that are due, on data wholly after `since`; `when` says which side of
// the switch they are on. Returns false when a gate reached its failure limit: the release is
// then aborted with the gate's reason.
bool measureGates(const BlueGreenPlan &plan, BlueGreenDecision &decision, QList<GateState> &gates,
                  TimePoint since, const std::optional<MetricsSnapshot> &metrics,
                  const QString &metricsError, const QString &when, TimePoint now,
                  QStringList &waiting, const DataEnds &ends = {})
{
    BlueGreenStatus &status = decision.status;
    for (GateState &state : gates) {
        const GateSpec gate = plan.gates.value(state.gate);
        // Past the window's end, a gate that has not judged its last interval waits for metrics
        // that reach it rather than measure an interval that stops short; after the wait it
        // measures as before, so a failure without new data does not hold the old colour forever.
        if (ends.until && ends.mustReach && !reaches(*ends.until, state.gate, *ends.mustReach)
            && now < *ends.mustReach + gate.interval + finalMetricsLag
            && (!metrics || metrics->at < *ends.mustReach))
            continue;
        const GateTurn turn = gateTurn(
            gate, state, since, metrics, metricsError, status.newVersion, status.oldVersion,
            QStringLiteral("wholly after %1").arg(formatUtc(since)), now);
        wakeNoLaterThan(decision, turn.next);
        if (turn.waitingForData)
            waiting.append(state.gate);
        if (!turn.measurement)
            continue;
        // As gateTurn decides: on the snapshot when it is wholly after `since` and newer than the
        // last measurement, otherwise inconclusive for want of data.
        const bool onData = metrics && metrics->at - metrics->interval >= since
                            && (!state.last || metrics->at > state.last->at);
        const Measurement &m = *turn.measurement;
        recordMeasurement(state, m);
        if (ends.until && onData)
            ends.until->insert(state.gate, metrics->at);

        ReleaseEvent event = makeEvent(
            status, ReleaseEvent::Kind::GateMeasured, now,
            QStringLiteral("gate %1 %2: %3: %4").arg(state.gate, when, toString(m.verdict), m.why));
        addGateValues(event.values, gate, m, QStringLiteral("new"), QStringLiteral("old"));
        decision.events.append(event);

        if (state.failures >= gate.failureLimit) {
            QMap<QString, double> values;
            addGateValues(values, gate, m, QStringLiteral("new"), QStringLiteral("old"));
            abortRelease(decision,
                         QStringLiteral("gate %1 failed %2 of %3 allowed measurements %4: %5")
                             .arg(state.gate)
                             .arg(state.failures)
                             .arg(gate.failureLimit)
                             .arg(when, m.why),
                         automaticActor, values, now);
            return false;
        }
    }
    return true;
}

// What keeps a ready colour from switching on its own; empty when nothing does.
QStringList gateBlockers(const BlueGreenPlan &plan, const QList<GateState> &gates)
{
    QStringList found;
    for (const GateState &state : gates) {
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
    return found;
}

bool anyUnmeasured(const QList<GateState> &gates)
{
    return std::any_of(gates.cbegin(), gates.cend(),
                       [](const GateState &state) { return !state.last; });
}

const GateState *lastFailed(const QList<GateState> &gates)
{
    for (const GateState &state : gates) {
        if (state.last && state.last->verdict == Verdict::Fail)
            return &state;
    }
    return nullptr;
}

// The hold's kind: each gate's name and verdict, without the values that change every time.
QString gatesKey(const QList<GateState> &gates)
{
    QStringList parts;
    for (const GateState &state : gates) {
        parts.append(state.gate + QLatin1Char('=')
                     + (state.last ? toString(state.last->verdict) : QStringLiteral("none")));
    }
    return QStringLiteral("gates:") + parts.join(QLatin1Char(','));
}

QList<GateState> freshGates(const QStringList &names)
{
    QList<GateState> gates;
    for (const QString &name : names)
        gates.append(GateState{name, 0, 0, std::nullopt});
    return gates;
}

void undo(const BlueGreenPlan &plan, BlueGreenDecision &decision, const ServiceStatus &observed,
          TimePoint now);
void warm(const BlueGreenPlan &plan, BlueGreenDecision &decision, const ServiceStatus &observed,
          TimePoint now);

void markSwitched(const BlueGreenPlan &plan, BlueGreenDecision &decision,
                  const ServiceStatus &observed, TimePoint now)
{
    BlueGreenStatus &status = decision.status;
    status.switchedAt = now;
    status.holdReason.clear();
    status.postSwitchGates = freshGates(plan.postSwitchGates);
    QString text
        = QStringLiteral("all traffic on %1 (%2); %3 stays warm for %4, until %5")
              .arg(status.newVersion, readiness(observed, status.newVersion, status.replicas),
                   status.oldVersion, formatDuration(plan.warmWindow + status.extended),
                   formatUtc(windowEnd(plan, status)));
    if (!status.switchReason.isEmpty())
        text += QStringLiteral(": %1").arg(status.switchReason);
    ReleaseEvent event
        = makeEvent(status, ReleaseEvent::Kind::Switched, now, text,
                    status.switchedBy.isEmpty() ? automaticActor : status.switchedBy);
    event.values = latestValues(plan, status.preSwitchGates);
    event.values.insert(QStringLiteral("ready.new"), readyCount(observed, status.newVersion));
    if (status.oldBefore)
        addMetrics(event.values, *status.oldBefore, QStringLiteral("old_before"));
    decision.events.append(event);
}

// Paused before the switch, what the switch waits for: Resume only matters to an automatic one.
QString pausedSwitchWait(const BlueGreenPlan &plan)
{
    return plan.autoSwitch ? QStringLiteral("the switch waits for Resume or an operator's Switch")
                           : QStringLiteral("the switch waits for an operator's Switch");
}

// Before the switch: pin the router, bring the idle colour up, verify it, switch.
void beforeSwitch(const BlueGreenPlan &plan, BlueGreenDecision &decision,
                  const ServiceStatus &observed, TimePoint now)
{
    BlueGreenStatus &status = decision.status;
    const QString &oldVersion = status.oldVersion;
    const QString &newVersion = status.newVersion;
    const QString live = liveColour(observed);
    const bool switchAsked = switchAskedFor(status, newVersion);
    const bool paused = status.pausedAt.has_value();
    if (switchAsked && live == newVersion) {
        markSwitched(plan, decision, observed, now);
        warm(plan, decision, observed, now);
        return;
    }

    if (!status.deployAskedAt) {
        const QString pausedText = QStringLiteral("Paused before %2 starts: %1 serves all "
                                                  "traffic; %2 is started once the release is "
                                                  "resumed.")
                                       .arg(oldVersion, newVersion);
        const bool pinned = live == oldVersion && observed.traffic->activeVersion == oldVersion;
        if (!pinned) {
            // The pin keeps traffic where it is, so it is kept up while paused too.
            if (shouldRequest(status.pinRequest, 0, oldVersion, false, now))
                requestSwitch(decision, oldVersion, status.pinRequest, observed, now);
            decision.reason = paused ? pausedText
                                     : QStringLiteral("Pinning the router on %1 before %2 starts, "
                                                      "so no request reaches %2 before the "
                                                      "switch.")
                                           .arg(oldVersion, newVersion);
            return;
        }
        // Starting the new colour is a step forward even without traffic: its instances run its
        // code (consumers, caches, start-up migrations), which whoever paused has not agreed to.
        // A scale-up asked for before the pause is kept below: it changes nothing not yet seen.
        if (paused) {
            decision.reason = pausedText;
            return;
        }
    }
    if (shouldRequest(status.newScaleRequest, status.replicas, {},
                      heldCount(observed, newVersion) == status.replicas, now)) {
        requestScale(decision, newVersion, status.replicas, status.newScaleRequest, now);
        if (!status.deployAskedAt) {
            status.deployAskedAt = now;
            status.newHeldAtDeploy = heldCount(observed, newVersion);
            ReleaseEvent event = makeEvent(
                status, ReleaseEvent::Kind::Scaled, now,
                QStringLiteral("starting %1 instances of %2 as the idle colour; %3 keeps all "
                               "traffic until the switch")
                    .arg(status.replicas)
                    .arg(newVersion, oldVersion));
            event.values.insert(QStringLiteral("instances"), status.replicas);
            decision.events.append(event);
        }
    }

    const bool ready = allReady(observed, newVersion, status.replicas);
    if (ready && !status.readyAt)
        status.readyAt = now;
    QStringList waiting;
    // The gates decide the switch; once it is asked for they have had their say.
    if (status.readyAt && !switchAsked
        && !measureGates(plan, decision, status.preSwitchGates, *status.readyAt, observed.metrics,
                         observed.metricsError, QStringLiteral("before the switch"), now,
                         waiting)) {
        undo(plan, decision, observed, now);
        return;
    }
    if (!ready) {
        decision.reason
            = paused ? QStringLiteral("Paused while %1 comes up beside %2 (%3): the scale-up "
                                      "already asked for goes on; %4; %2 serves all traffic.")
                           .arg(newVersion, oldVersion,
                                readiness(observed, newVersion, status.replicas),
                                pausedSwitchWait(plan))
                     : QStringLiteral("Deploying %1 beside %2: %3; %2 serves all traffic.")
                           .arg(newVersion, oldVersion,
                                readiness(observed, newVersion, status.replicas));
        if (const int failed = countInState(observed, newVersion, {InstanceState::Failed})) {
            hold(decision, QStringLiteral("deploy:failed"),
                 QStringLiteral("%1 has %2 failed %3; the switch waits until all %4 are ready")
                     .arg(newVersion)
                     .arg(failed)
                     .arg(failed == 1 ? QStringLiteral("instance") : QStringLiteral("instances"))
                     .arg(status.replicas),
                 now);
        }
        return;
    }
    if (switchAsked && paused) {
        // Asked for before the pause (or by an operator during it): asking again would be the
        // release moving forward on its own, which a console taken up paused must never do.
        decision.reason
            = status.switchRequest->failed
                  ? QStringLiteral("Paused: the switch to %2 failed and is not asked again until "
                                   "the release is resumed or an operator switches; %1 serves all "
                                   "traffic.")
                        .arg(oldVersion, newVersion)
                  : QStringLiteral("Paused with the switch to %2 asked for at %3 and not yet on "
                                   "the router: it may still land, but it is not asked again until "
                                   "the release is resumed; %1 serves all traffic.")
                        .arg(oldVersion, newVersion, formatUtc(status.switchRequest->at));
        return;
    }
    if (switchAsked) {
        if (shouldRequest(status.switchRequest, 0, newVersion, false, now))
            requestSwitch(decision, newVersion, status.switchRequest, observed, now);
        decision.reason = QStringLiteral("Switching all traffic from %1 to %2%3.")
                              .arg(oldVersion, newVersion,
                                   status.switchReason.isEmpty()
                                       ? QString()
                                       : QStringLiteral(": %1").arg(status.switchReason));
        return;
    }

    const QStringList blockers = gateBlockers(plan, status.preSwitchGates);
    if (paused) {
        QString state
            = QStringLiteral("%1 is ready (all %2 instances)").arg(newVersion).arg(status.replicas);
        if (!blockers.isEmpty()) {
            state += QStringLiteral("; ") + blockers.join(QStringLiteral("; "));
        } else if (!status.preSwitchGates.isEmpty()) {
            QStringList passed;
            for (const GateState &gate : std::as_const(status.preSwitchGates))
                passed.append(gate.gate);
            state += QStringLiteral(" and its gates passed (%1)")
                         .arg(passed.join(QStringLiteral(", ")));
        }
        decision.reason = QStringLiteral("Paused: %1; %2; %3 serves all traffic.")
                              .arg(state, pausedSwitchWait(plan), oldVersion);
        if (!waiting.isEmpty())
            decision.reason += QStringLiteral(" Waiting for metrics since it was ready for %1.")
                                   .arg(waiting.join(QStringLiteral(", ")));
        return;
    }
    if (plan.autoSwitch && blockers.isEmpty()) {
        QStringList passed;
        for (const GateState &state : std::as_const(status.preSwitchGates))
            passed.append(state.gate);
        status.switchedBy = automaticActor;
        status.switchReason = passed.isEmpty()
                                  ? QStringLiteral("every instance ready; no pre-switch gates")
                                  : QStringLiteral("every instance ready and gates passed (%1)")
                                        .arg(passed.join(QStringLiteral(", ")));
        requestSwitch(decision, newVersion, status.switchRequest, observed, now);
        decision.reason = QStringLiteral("Switching all traffic from %1 to %2: %3.")
                              .arg(oldVersion, newVersion, status.switchReason);
        return;
    }
    if (anyUnmeasured(status.preSwitchGates)) {
        decision.reason
            = QStringLiteral("Verifying %1 (all %2 instances ready) before the switch; %3 serves "
                             "all traffic.")
                  .arg(newVersion)
                  .arg(status.replicas)
                  .arg(oldVersion);
        if (!waiting.isEmpty())
            decision.reason += QStringLiteral(" Waiting for metrics since it was ready for %1.")
                                   .arg(waiting.join(QStringLiteral(", ")));
        return;
    }
    QStringList found = blockers;
    if (!plan.autoSwitch)
        found.append(QStringLiteral("waiting for an operator's Switch"));
    else
        found.append(QStringLiteral("an operator's Switch goes ahead without them"));
    const QString text = QStringLiteral("%1 is ready (all %2 instances); holding the switch: %3")
                             .arg(newVersion)
                             .arg(status.replicas)
                             .arg(found.join(QStringLiteral("; ")));
    hold(decision, gatesKey(status.preSwitchGates), text, now,
         latestValues(plan, status.preSwitchGates));
    decision.reason = text + QLatin1Char('.');
}

// "3 left", or "0 left, 2 draining"
QString leftText(int left, int draining)
{
    if (draining == 0)
        return QStringLiteral("%1 left").arg(left);
    return QStringLiteral("%1 left, %2 draining").arg(left).arg(draining);
}

int drainingCount(const ServiceStatus &observed, const QString &version)
{
    return countInState(observed, version, {InstanceState::Draining});
}

// After the switch and before the retirement, the router shows all traffic on the old colour
// although the release asked for no switch back: someone moved it. Recorded as a switch back, so
// the new colour is scaled down and the release ends rolled back.
void noticeSwitchBack(const BlueGreenPlan &plan, BlueGreenDecision &decision,
                      const ServiceStatus &observed, TimePoint now)
{
    BlueGreenStatus &status = decision.status;
    status.aborted = true;
    status.switchedBack = true;
    status.abortReason = QStringLiteral("the router was switched back to %1 outside the release")
                             .arg(status.oldVersion);
    status.holdReason.clear();
    status.pausedAt.reset();
    ReleaseEvent event = makeEvent(
        status, ReleaseEvent::Kind::SwitchedBack, now,
        QStringLiteral("the router shows all traffic on %1 again; it was switched back outside "
                       "the release after %2 on %3, so %3 is scaled down")
            .arg(status.oldVersion, formatDuration(now - status.switchedAt.value_or(now)),
                 status.newVersion));
    event.values = latestValues(plan, status.postSwitchGates);
    event.values.insert(QStringLiteral("ready.old"), readyCount(observed, status.oldVersion));
    decision.events.append(event);
}

// Switched: the old colour stays warm while post-switch gates watch, then it is retired.
void warm(const BlueGreenPlan &plan, BlueGreenDecision &decision, const ServiceStatus &observed,
          TimePoint now)
{
    BlueGreenStatus &status = decision.status;
    const QString &oldVersion = status.oldVersion;
    const QString &newVersion = status.newVersion;
    const QString live = liveColour(observed);
    // The release asks for a switch back only once aborted (undo()), and its switch to the new
    // colour has landed: all traffic on the old colour here was moved there by someone else.
    const bool ownSwitchBackAsked = switchAskedFor(status, oldVersion);
    if (!status.retiredAt && live == oldVersion && !ownSwitchBackAsked) {
        noticeSwitchBack(plan, decision, observed, now);
        undo(plan, decision, observed, now);
        return;
    }
    // The live colour is kept at full size, paused or not: it serves every request.
    if (shouldRequest(status.newScaleRequest, status.replicas, {},
                      heldCount(observed, newVersion) == status.replicas, now))
        requestScale(decision, newVersion, status.replicas, status.newScaleRequest, now);

    if (!status.retiredAt) {
        const TimePoint end = windowEnd(plan, status);
        QStringList waiting;
        DataEnds ends;
        ends.until = &status.postSwitchDataUntil;
        if (now >= end)
            ends.mustReach = end;
        if (!measureGates(plan, decision, status.postSwitchGates, *status.switchedAt,
                          postSwitchMetrics(status, observed), observed.metricsError,
                          QStringLiteral("after the switch"), now, waiting, ends)) {
            undo(plan, decision, observed, now);
            return;
        }
        if (status.pausedAt) {
            // The window keeps counting: a pause is no way to extend it unseen, and Extend is
            // there for that. What waits is the retirement at its end.
            if (now < end) {
                wakeNoLaterThan(decision, end);
                decision.reason
                    = QStringLiteral("Paused: %1 serves all traffic; %2 stays warm for "
                                     "%3 more (until %4), and past then until the "
                                     "release is resumed; switching back takes "
                                     "seconds.")
                          .arg(newVersion, oldVersion, formatDuration(end - now), formatUtc(end));
            } else {
                decision.reason = QStringLiteral("Paused: %1 serves all traffic; the warm window "
                                                 "ended at %2, but %3 is held warm while paused "
                                                 "and is scaled down only once the release is "
                                                 "resumed; switching back still takes seconds.")
                                      .arg(newVersion, formatUtc(end), oldVersion);
            }
            if (!waiting.isEmpty())
                decision.reason += QStringLiteral(" Waiting for metrics since the switch for %1.")
                                       .arg(waiting.join(QStringLiteral(", ")));
            return;
        }
        if (now < end) {
            wakeNoLaterThan(decision, end);
            decision.reason
                = QStringLiteral("%1 serves all traffic; %2 stays warm for %3 more "
                                 "(until %4), so switching back takes seconds.")
                      .arg(newVersion, oldVersion, formatDuration(end - now), formatUtc(end));
            if (!waiting.isEmpty())
                decision.reason += QStringLiteral(" Waiting for metrics since the switch for %1.")
                                       .arg(waiting.join(QStringLiteral(", ")));
            return;
        }
        if (live != newVersion) {
            const QString text
                = QStringLiteral("the warm window ended, but the router does not show all "
                                 "traffic on %1; %2 is not scaled down while it may serve "
                                 "traffic")
                      .arg(newVersion, oldVersion);
            hold(decision, QStringLiteral("retire:router"), text, now);
            decision.reason = QStringLiteral("Holding: %1.").arg(text);
            return;
        }
        if (const GateState *failing = lastFailed(status.postSwitchGates)) {
            const QString text
                = QStringLiteral("the warm window ended, but gate %1 failed its last measurement "
                                 "(%2 of %3 allowed failures): %4; %5 stays warm until it passes "
                                 "or reaches its limit")
                      .arg(failing->gate)
                      .arg(failing->failures)
                      .arg(plan.gates.value(failing->gate).failureLimit)
                      .arg(failing->last->why, oldVersion);
            hold(decision, QStringLiteral("retire:gate ") + failing->gate, text, now,
                 latestValues(plan, status.postSwitchGates));
            decision.reason = QStringLiteral("Holding: %1.").arg(text);
            return;
        }
        // Every post-switch gate judges the window's last interval too: the old colour waits
        // for metrics reaching the window's end, at most a gate interval and a little lag.
        const GateState *awaited = nullptr;
        TimePoint awaitedUntil;
        QStringList unjudged;
        for (const GateState &state : std::as_const(status.postSwitchGates)) {
            if (reaches(status.postSwitchDataUntil, state.gate, end))
                continue;
            const Duration wait = plan.gates.value(state.gate).interval + finalMetricsLag;
            if (now < end + wait) {
                if (!awaited) {
                    awaited = &state;
                    awaitedUntil = end + wait;
                }
                wakeNoLaterThan(decision, end + wait);
            } else {
                unjudged.append(QStringLiteral("gate %1 had no metrics reaching the window's end "
                                               "within %2 of it")
                                    .arg(state.gate, formatDuration(wait)));
            }
        }
        if (awaited) {
            const QString text
                = QStringLiteral("the warm window ended at %1, but gate %2 has not yet measured "
                                 "%3 on metrics reaching that moment; %4 stays warm until it has, "
                                 "at most until %5")
                      .arg(formatUtc(end), awaited->gate, newVersion, oldVersion,
                           formatUtc(awaitedUntil));
            // Metrics a little late are the rule: the wait is announced once it lasts longer.
            if (now >= end + finalMetricsLag)
                hold(decision, QStringLiteral("retire:last ") + awaited->gate, text, now);
            else
                wakeNoLaterThan(decision, end + finalMetricsLag);
            decision.reason = QStringLiteral("Holding: %1.").arg(text);
            return;
        }
        status.retiredAt = now;
        status.holdReason.clear();
        requestScale(decision, oldVersion, 0, status.oldScaleRequest, now);
        QString text = QStringLiteral("the warm window of %1 ended: scaling %2 down; going back "
                                      "to %2 is from now on a new deploy, %3")
                           .arg(formatDuration(plan.warmWindow + status.extended), oldVersion,
                                redeployText(status));
        if (!unjudged.isEmpty())
            text += QStringLiteral("; %1, so the window's last interval went unjudged")
                        .arg(unjudged.join(QStringLiteral(", ")));
        ReleaseEvent event = makeEvent(status, ReleaseEvent::Kind::Scaled, now, text);
        event.values = latestValues(plan, status.postSwitchGates);
        event.values.insert(QStringLiteral("instances"), 0);
        decision.events.append(event);
    }

    const int oldLeft = heldCount(observed, oldVersion);
    const int oldDraining = drainingCount(observed, oldVersion);
    if (shouldRequest(status.oldScaleRequest, 0, {}, oldLeft == 0, now))
        requestScale(decision, oldVersion, 0, status.oldScaleRequest, now);
    // Done once nothing of it is left, draining instances included.
    if (!scaledAway(status, status.oldScaleRequest, oldVersion, oldLeft, now) || oldDraining > 0) {
        decision.reason = QStringLiteral("The warm window ended: %1 serves all traffic; scaling %2 "
                                         "down (%3).")
                              .arg(newVersion, oldVersion, leftText(oldLeft, oldDraining))
                          + refusedText(status, scaleAction(oldVersion, 0));
        return;
    }
    status.endedAt = now;
    ReleaseEvent event = makeEvent(
        status, ReleaseEvent::Kind::Succeeded, now,
        QStringLiteral("%1 serves all traffic and %2 is scaled down; going back is now a new "
                       "deploy")
            .arg(newVersion, oldVersion));
    event.values = latestValues(plan, status.postSwitchGates);
    decision.events.append(event);
    decision.reason = endedText(status);
}

// Aborted or switched back: all traffic back on the old colour, then the new one scaled away.
void undo(const BlueGreenPlan &plan, BlueGreenDecision &decision, const ServiceStatus &observed,
          TimePoint now)
{
    BlueGreenStatus &status = decision.status;
    const QString &oldVersion = status.oldVersion;
    const QString &newVersion = status.newVersion;
    const QString live = liveColour(observed);
    if (status.switchedAt && !status.switchedBack && live == oldVersion
        && switchAskedFor(status, oldVersion)) {
        status.switchedBack = true;
        ReleaseEvent event
            = makeEvent(status, ReleaseEvent::Kind::SwitchedBack, now,
                        QStringLiteral("all traffic back on %1 after %2 on %3; scaling %3 down")
                            .arg(oldVersion, formatDuration(now - *status.switchedAt), newVersion));
        event.values = latestValues(plan, status.postSwitchGates);
        event.values.insert(QStringLiteral("ready.old"), readyCount(observed, oldVersion));
        decision.events.append(event);
    }

    // A switch that landed late (after a timeout, say) is undone the same way.
    const bool onNew = (status.switchedAt && !status.switchedBack) || live == newVersion;
    if (onNew) {
        if (readyCount(observed, oldVersion) == 0) {
            const QString text
                = QStringLiteral("%1 has %2, none to take the traffic back; the "
                                 "switch back waits for one")
                      .arg(oldVersion, readiness(observed, oldVersion, status.replicas));
            hold(decision, QStringLiteral("back:old-not-ready"), text, now);
            decision.reason
                = QStringLiteral("Switching back: %1. Waiting: %2.").arg(status.abortReason, text);
            return;
        }
        if (shouldRequest(status.switchRequest, 0, oldVersion, false, now))
            requestSwitch(decision, oldVersion, status.switchRequest, observed, now);
        decision.reason = QStringLiteral("Switching back: %1. Moving all traffic to %2 (%3).")
                              .arg(status.abortReason, oldVersion,
                                   readiness(observed, oldVersion, status.replicas))
                          + refusedText(status, switchAction(oldVersion));
        return;
    }

    const int newLeft = heldCount(observed, newVersion);
    const int newDraining = drainingCount(observed, newVersion);
    // Nothing of the new colour to take down: its scale-up was never asked for, or the deployer
    // refused it for good and the fleet shows none of it.
    const bool neverAsked = !status.deployAskedAt;
    const bool refusedUp
        = observed.fleet && isRefused(status, scaleAction(newVersion, status.replicas));
    if ((neverAsked || refusedUp) && newLeft == 0 && newDraining == 0) {
        status.endedAt = now;
        decision.events.append(makeEvent(
            status, ReleaseEvent::Kind::RolledBack, now,
            neverAsked ? QStringLiteral("%1 serves all traffic; nothing of %2 was started")
                             .arg(oldVersion, newVersion)
                       : QStringLiteral("%1 serves all traffic; nothing of %2 runs, so there is "
                                        "nothing to scale down: %3")
                             .arg(oldVersion, newVersion, status.abortReason)));
        decision.reason = endedText(status);
        return;
    }
    if (shouldRequest(status.newScaleRequest, 0, {}, newLeft == 0, now)) {
        const bool first = !status.newScaleRequest || status.newScaleRequest->target != 0;
        if (requestScale(decision, newVersion, 0, status.newScaleRequest, now) && first) {
            ReleaseEvent event = makeEvent(status, ReleaseEvent::Kind::Scaled, now,
                                           QStringLiteral("scaling %1 down; %2 serves all traffic")
                                               .arg(newVersion, oldVersion));
            event.values.insert(QStringLiteral("instances"), 0);
            decision.events.append(event);
        }
    }
    // Done once nothing of it is left, draining instances included.
    if (!scaledAway(status, status.newScaleRequest, newVersion, newLeft, now) || newDraining > 0) {
        decision.reason
            = QStringLiteral("Rolling back: %1. %2 serves all traffic; scaling "
                             "%3 down (%4).")
                  .arg(status.abortReason, oldVersion, newVersion, leftText(newLeft, newDraining))
              + refusedText(status, scaleAction(newVersion, 0));
        return;
    }
    status.endedAt = now;
    decision.events.append(makeEvent(status, ReleaseEvent::Kind::RolledBack, now,
                                     QStringLiteral("%1 serves all traffic again and %2 is "
                                                    "scaled down")
                                         .arg(oldVersion, newVersion)));
    decision.reason = endedText(status);
}

} // namespace

QString liveColour(const ServiceStatus &observed)
{
    if (!observed.traffic)
        return {};
    const TrafficSplit &split = *observed.traffic;
    QStringList serving;
    for (auto it = split.weightPercent.cbegin(); it != split.weightPercent.cend(); ++it) {
        if (it.value() > weightTolerance)
            serving.append(it.key());
    }
    if (serving.size() > 1)
        return {};
    if (!split.activeVersion.isEmpty()) {
        return serving.isEmpty() || serving.front() == split.activeVersion ? split.activeVersion
                                                                           : QString();
    }
    if (serving.size() == 1 && std::abs(split.weightOf(serving.front()) - 100) <= weightTolerance)
        return serving.front();
    return {};
}

Result<BlueGreenDecision, QString> start(const BlueGreenPlan &plan, const ServiceStatus &observed,
                                         const QString &version, const QString &actor,
                                         const QString &reason, TimePoint now)
{
    const QString title = serviceTitle(observed.key);
    const QString wanted = version.trimmed();
    if (wanted.isEmpty())
        return QStringLiteral("%1: name the version to release").arg(title);
    for (const QString &gate : plan.preSwitchGates + plan.postSwitchGates) {
        if (!plan.gates.contains(gate)) {
            return QStringLiteral("%1: the blue-green settings (%2) name gate '%3', which is not "
                                  "defined")
                .arg(title, plan.origin, gate);
        }
    }
    if (!observed.traffic) {
        return QStringLiteral("%1: nothing is known of its router yet%2; wait for its traffic "
                              "adapter")
            .arg(title, observed.trafficError.isEmpty()
                            ? QString()
                            : QStringLiteral(" (%1)").arg(observed.trafficError));
    }
    const QString live = liveColour(observed);
    if (live.isEmpty()) {
        QStringList described;
        for (auto it = observed.traffic->weightPercent.cbegin();
             it != observed.traffic->weightPercent.cend(); ++it) {
            if (it.value() > weightTolerance)
                described.append(QStringLiteral("%1 (%2)").arg(it.key(), percentText(it.value())));
        }
        if (described.size() > 1) {
            return QStringLiteral("%1: the router splits traffic between %2; a blue-green release "
                                  "needs all traffic on one colour, so finish or roll back that "
                                  "split first")
                .arg(title, described.join(QStringLiteral(" and ")));
        }
        return QStringLiteral("%1: the router does not send all traffic to one version, so there "
                              "is no live colour to release beside")
            .arg(title);
    }
    if (live == wanted)
        return QStringLiteral("%1: %2 already serves all traffic; pick a new version")
            .arg(title, wanted);
    if (!observed.fleet) {
        return QStringLiteral("%1: nothing is known of its fleet yet%2; wait for its fleet "
                              "adapter")
            .arg(title, observed.fleetError.isEmpty()
                            ? QString()
                            : QStringLiteral(" (%1)").arg(observed.fleetError));
    }
    const int replicas = heldCount(observed, live);
    if (readyCount(observed, live) == 0) {
        return QStringLiteral("%1: the live colour %2 has %3; a blue-green release needs ready "
                              "ones to fall back on")
            .arg(title, live, readiness(observed, live, replicas));
    }

    BlueGreenDecision started;
    BlueGreenStatus &status = started.status;
    status.service = observed.key;
    status.oldVersion = live;
    status.newVersion = wanted;
    status.replicas = replicas;
    status.startedAt = now;
    status.startedBy = actor;
    status.id = QStringLiteral("%1/%2:%3@%4")
                    .arg(observed.key.name, observed.key.environment, wanted,
                         QDateTime::fromMSecsSinceEpoch(toMSecsSinceEpoch(now), Qt::UTC)
                             .toString(QStringLiteral("yyyyMMdd'T'HHmmss'Z'")));
    status.preSwitchGates = freshGates(plan.preSwitchGates);

    const QString switching
        = plan.autoSwitch
              ? (plan.preSwitchGates.isEmpty()
                     ? QStringLiteral("switched once every instance is ready")
                     : QStringLiteral("switched once every instance is ready and gates %1 pass")
                           .arg(plan.preSwitchGates.join(QStringLiteral(", "))))
              : QStringLiteral("switched by an operator");
    ReleaseEvent event = makeEvent(
        status, ReleaseEvent::Kind::Started, now,
        QStringLiteral("blue-green release of %1 beside %2 on %3 instances, %4; %2 stays warm "
                       "for %5 after the switch%6")
            .arg(wanted, live)
            .arg(replicas)
            .arg(switching, formatDuration(plan.warmWindow),
                 reason.trimmed().isEmpty() ? QString()
                                            : QStringLiteral(": %1").arg(reason.trimmed())),
        actor);
    event.values.insert(QStringLiteral("replicas"), replicas);
    started.events.append(event);
    // Pinned before anything of the new colour starts: a router that spreads requests over
    // ready instances would otherwise hand it traffic as its instances come up.
    requestSwitch(started, live, status.pinRequest, observed, now);

    BlueGreenDecision next = decide(plan, status, observed, now);
    next.actions = started.actions + next.actions;
    next.events = started.events + next.events;
    return next;
}

BlueGreenDecision decide(const BlueGreenPlan &plan, const BlueGreenStatus &status,
                         const ServiceStatus &observed, TimePoint now)
{
    BlueGreenDecision decision;
    decision.status = status;
    if (status.finished()) {
        decision.reason = endedText(status);
        return decision;
    }
    if (status.aborted)
        undo(plan, decision, observed, now);
    else if (status.switchedAt)
        warm(plan, decision, observed, now);
    else
        beforeSwitch(plan, decision, observed, now);
    if (!decision.status.finished())
        wakeForRetries(decision, now);
    else
        decision.wakeAt.reset();
    return decision;
}

namespace {

// Past the window's end, before the retirement: what keeps the old colour warm, as the decision
// at `now` has it. "3.8.0 is still warm: its retirement waits for gate errors, which failed its
// last measurement"
QString stillWarmText(const BlueGreenPlan &plan, const BlueGreenStatus &status,
                      const ServiceStatus &observed, TimePoint now)
{
    // In warm()'s order, on the gates as measured now.
    const BlueGreenStatus next = decide(plan, status, observed, now).status;
    const TimePoint end = windowEnd(plan, status);
    QString waitsFor;
    if (next.retiredAt || next.aborted || now < end) {
        // Retired or going back as of now: nothing keeps it warm.
    } else if (next.pausedAt) {
        waitsFor = QStringLiteral("the release to be resumed");
    } else if (liveColour(observed) != next.newVersion) {
        waitsFor = QStringLiteral("the router to show all traffic on %1").arg(next.newVersion);
    } else if (const GateState *failing = lastFailed(next.postSwitchGates)) {
        waitsFor = QStringLiteral("gate %1, which failed its last measurement").arg(failing->gate);
    } else {
        for (const GateState &state : next.postSwitchGates) {
            if (!reaches(next.postSwitchDataUntil, state.gate, end)) {
                waitsFor
                    = QStringLiteral("gate %1 to judge the window's last interval").arg(state.gate);
                break;
            }
        }
    }
    if (waitsFor.isEmpty())
        return QStringLiteral("the warm window ended at %1").arg(formatUtc(end));
    return QStringLiteral("%1 is still warm: its retirement waits for %2")
        .arg(status.oldVersion, waitsFor);
}

} // namespace

QString refusal(const BlueGreenPlan &plan, const BlueGreenStatus &status,
                const ServiceStatus &observed, ReleaseCommand command, TimePoint now)
{
    using Command = ReleaseCommand;
    const QString title = serviceTitle(status.service);
    const QString &oldVersion = status.oldVersion;
    const QString &newVersion = status.newVersion;
    switch (command) {
    case Command::Promote:
    case Command::PromoteFully:
        return QStringLiteral("%1: the release of %2 is blue-green and has no stages to promote; "
                              "Switch sends it all traffic at once")
            .arg(title, newVersion);
    case Command::Retry:
        return QStringLiteral("%1: a blue-green release is not retried; start a new release of "
                              "%2 instead")
            .arg(title, newVersion);
    case Command::RollBack:
        return QStringLiteral("%1: the release of %2 is blue-green; Switch back sends all traffic "
                              "to %3 while it is warm")
            .arg(title, newVersion, oldVersion);
    default: break;
    }
    // The old colour is warm until its scale-down is asked for, which the end of the window
    // alone does not do (see warm()).
    const bool retired = status.switchedAt && status.retiredAt;
    if ((command == Command::SwitchBack || command == Command::Abort) && !status.aborted && retired)
        return retiredRefusal(status);
    if (status.finished()) {
        return QStringLiteral("%1: the release of %2 has finished (%3); there is nothing to %4")
            .arg(title, newVersion,
                 status.aborted ? QStringLiteral("rolled back") : QStringLiteral("succeeded"),
                 toString(command));
    }
    if (status.aborted) {
        return QStringLiteral("%1: the release of %2 was stopped (%3) and is going back to %4; "
                              "there is nothing to %5")
            .arg(title, newVersion, status.abortReason, oldVersion, toString(command));
    }
    // A switch to the new colour that may still land.
    const bool switchPending
        = !status.switchedAt && switchAskedFor(status, newVersion) && !status.switchRequest->failed;
    switch (command) {
    case Command::Switch:
        if (status.switchedAt) {
            return QStringLiteral("%1: %2 has served all traffic since %3; there is nothing to "
                                  "switch")
                .arg(title, newVersion, formatUtc(*status.switchedAt));
        }
        if (switchPending)
            return QStringLiteral("%1: the switch to %2 is already under way")
                .arg(title, newVersion);
        if (!allReady(observed, newVersion, status.replicas)) {
            return QStringLiteral("%1: %2 has %3 of %4 instances ready; switch once all are "
                                  "ready")
                .arg(title, newVersion)
                .arg(readyCount(observed, newVersion))
                .arg(status.replicas);
        }
        return {};
    case Command::SwitchBack:
        if (switchPending) {
            return QStringLiteral("%1: the switch to %2 is not on the router yet; switch back "
                                  "once it shows")
                .arg(title, newVersion);
        }
        if (!status.switchedAt) {
            return QStringLiteral("%1: %2 does not serve traffic yet; abort the release to stay "
                                  "on %3")
                .arg(title, newVersion, oldVersion);
        }
        if (readyCount(observed, oldVersion) == 0) {
            return QStringLiteral("%1: %2 has %3, none to take the traffic back; switch back "
                                  "once one is ready")
                .arg(title, oldVersion, readiness(observed, oldVersion, status.replicas));
        }
        return {};
    case Command::Extend:
        if (!status.switchedAt) {
            return QStringLiteral("%1: the warm window begins when %2 takes all traffic; there "
                                  "is nothing to extend before the switch")
                .arg(title, newVersion);
        }
        if (retired) {
            return QStringLiteral("%1: the warm window ended at %2 and %3 is being scaled down; "
                                  "it can no longer be kept warm")
                .arg(title, formatUtc(windowEnd(plan, status)), oldVersion);
        }
        return {};
    case Command::Pause:
        if (status.pausedAt) {
            return QStringLiteral("%1: the release of %2 has been paused since %3; resume it to go "
                                  "on")
                .arg(title, newVersion, formatUtc(*status.pausedAt));
        }
        // The retirement cannot be taken back: a pause would hold nothing.
        if (retired) {
            return QStringLiteral("%1: the scale-down of %2 was asked for at %3, when the warm "
                                  "window ended; there is nothing left to pause")
                .arg(title, oldVersion, formatUtc(*status.retiredAt));
        }
        return {};
    case Command::Resume:
        if (!status.pausedAt) {
            return QStringLiteral("%1: the release of %2 is not paused; there is nothing to resume")
                .arg(title, newVersion);
        }
        return {};
    case Command::Abort:
        if (status.switchedAt) {
            const TimePoint end = windowEnd(plan, status);
            return QStringLiteral("%1: %2 has served all traffic since %3; switch back to %4 "
                                  "instead (%5)")
                .arg(title, newVersion, formatUtc(*status.switchedAt), oldVersion,
                     now < end ? QStringLiteral("%1 of the warm window left")
                                     .arg(formatDuration(end - now))
                               : stillWarmText(plan, status, observed, now));
        }
        if (switchPending) {
            return QStringLiteral("%1: the switch to %2 is under way; once it shows, switch back "
                                  "to %3 instead")
                .arg(title, newVersion, oldVersion);
        }
        return {};
    default: break;
    }
    return {};
}

Result<BlueGreenDecision, QString> command(const BlueGreenPlan &plan, const BlueGreenStatus &status,
                                           ReleaseCommand command, const QString &actor,
                                           const QString &reason, const ServiceStatus &observed,
                                           TimePoint now)
{
    using Command = ReleaseCommand;
    if (const QString refused = refusal(plan, status, observed, command, now); !refused.isEmpty())
        return refused;
    const QString why = reason.trimmed();
    if ((command == Command::Switch || command == Command::SwitchBack) && why.isEmpty()) {
        return QStringLiteral("%1: say why you %2: a reason is required")
            .arg(serviceTitle(status.service), toString(command));
    }

    BlueGreenDecision first;
    first.status = status;
    BlueGreenStatus &next = first.status;
    switch (command) {
    case Command::Switch:
        next.switchedBy = actor;
        next.switchReason = QStringLiteral("switched by %1: %2").arg(actor, why);
        requestSwitch(first, next.newVersion, next.switchRequest, observed, now);
        break;
    case Command::SwitchBack:
        abortRelease(first, QStringLiteral("switched back by %1: %2").arg(actor, why), actor,
                     latestValues(plan, status.postSwitchGates), now);
        break;
    case Command::Extend: {
        // Past the window's end (the old colour held warm), the step counts from now.
        if (const TimePoint end = windowEnd(plan, next); now > end)
            next.extended += now - end;
        next.extended += extendStep;
        if (next.holdReason.startsWith(QLatin1String("retire:")))
            next.holdReason.clear(); // a new end, announced again if it holds again
        const TimePoint end = windowEnd(plan, next);
        ReleaseEvent event
            = makeEvent(next, ReleaseEvent::Kind::WindowExtended, now,
                        QStringLiteral("%1 stays warm %2 longer, until %3 (%4 left)%5")
                            .arg(next.oldVersion, formatDuration(extendStep), formatUtc(end),
                                 formatDuration(end - now),
                                 why.isEmpty() ? QString() : QStringLiteral(": %1").arg(why)),
                        actor);
        event.values = latestValues(plan, status.postSwitchGates);
        event.values.insert(
            QStringLiteral("warm_remaining_seconds"),
            double(std::chrono::duration_cast<std::chrono::seconds>(end - now).count()));
        first.events.append(event);
        break;
    }
    case Command::Abort:
        abortRelease(first,
                     why.isEmpty() ? QStringLiteral("aborted by %1").arg(actor)
                                   : QStringLiteral("aborted by %1: %2").arg(actor, why),
                     actor, latestValues(plan, status.preSwitchGates), now);
        break;
    case Command::Pause: {
        next.pausedAt = now;
        QString text;
        if (next.switchedAt) {
            text = QStringLiteral("paused with %1 live: %2 is not scaled down until the release "
                                  "is resumed, also past the warm window's end at %3; gates keep "
                                  "measuring and still switch back on failure")
                       .arg(next.newVersion, next.oldVersion, formatUtc(windowEnd(plan, next)));
        } else if (switchAskedFor(next, next.newVersion) && !next.switchRequest->failed) {
            text = QStringLiteral("paused with the switch to %1 under way: it may still land, but "
                                  "it is not asked again, and %2 is not scaled down, until the "
                                  "release is resumed")
                       .arg(next.newVersion, next.oldVersion);
        } else {
            text = QStringLiteral("paused before the switch: %1 takes no traffic until %2; gates "
                                  "keep measuring and still abort on failure")
                       .arg(next.newVersion,
                            plan.autoSwitch
                                ? QStringLiteral("the release is resumed or an operator switches")
                                : QStringLiteral("an operator switches"));
        }
        if (!why.isEmpty())
            text += QStringLiteral(": %1").arg(why);
        ReleaseEvent event = makeEvent(next, ReleaseEvent::Kind::Paused, now, text, actor);
        event.values
            = latestValues(plan, next.switchedAt ? next.postSwitchGates : next.preSwitchGates);
        first.events.append(event);
        break;
    }
    case Command::Resume: {
        ReleaseEvent event
            = makeEvent(next, ReleaseEvent::Kind::Resumed, now,
                        QStringLiteral("resumed after %1 paused%2")
                            .arg(formatDuration(now - next.pausedAt.value_or(now)),
                                 why.isEmpty() ? QString() : QStringLiteral(": %1").arg(why)),
                        actor);
        event.values
            = latestValues(plan, next.switchedAt ? next.postSwitchGates : next.preSwitchGates);
        first.events.append(event);
        next.pausedAt.reset();
        // A hold still in force is announced again: the pause came between.
        next.holdReason.clear();
        break;
    }
    default: Q_UNREACHABLE(); // refused above
    }
    BlueGreenDecision decision = decide(plan, next, observed, now);
    decision.actions = first.actions + decision.actions;
    decision.events = first.events + decision.events;
    return decision;
}

BlueGreenDecision actionFailed(const BlueGreenPlan &plan, const BlueGreenStatus &status,
                               const ReleaseAction &action, const Error &error,
                               const ServiceStatus &observed, TimePoint now)
{
    BlueGreenDecision failed;
    failed.status = status;
    BlueGreenStatus &next = failed.status;
    // Only the request this action answers: a late refusal of an earlier target is history.
    std::optional<Request> *request = nullptr;
    if (action.kind == ReleaseAction::Kind::Switch) {
        if (switchAskedFor(next, action.version))
            request = &next.switchRequest;
        else if (next.pinRequest && next.pinRequest->version == action.version)
            request = &next.pinRequest;
    } else if (action.kind == ReleaseAction::Kind::Scale) {
        if (action.version == next.newVersion)
            request = &next.newScaleRequest;
        else if (action.version == next.oldVersion)
            request = &next.oldScaleRequest;
        if (request && *request && (**request).target != action.instances)
            request = nullptr;
    }
    if (request && *request) {
        (**request).failed = true;
        (**request).at = now;
    }
    const bool permanent
        = error.kind == Error::Kind::Invalid || error.kind == Error::Kind::Unsupported;
    const bool beforeSwitch = !next.switchedAt && !next.aborted;
    // The one request a pause stops retrying (see beforeSwitch()).
    const bool heldByPause = next.pausedAt && action.kind == ReleaseAction::Kind::Switch
                             && action.version == next.newVersion;
    QString outcome;
    if (next.finished())
        outcome = QString();
    else if (!permanent && heldByPause)
        outcome = QStringLiteral("; paused, so it is not asked again until the release is "
                                 "resumed or an operator switches");
    else if (!permanent)
        outcome = QStringLiteral("; retrying in %1").arg(formatDuration(actionRetryAfter));
    else if (!beforeSwitch)
        outcome = QStringLiteral("; it will not be asked again, so do it by hand");
    failed.events.append(makeEvent(
        next, ReleaseEvent::Kind::ActionFailed, now,
        QStringLiteral("%1 failed: %2%3").arg(action.describe(), error.message, outcome)));
    if (permanent && !next.finished()) {
        if (beforeSwitch) {
            // A scale-up refused for good: with nothing of the new colour running, undo() ends
            // the release at once instead of asking to scale down what never started.
            if (request == &next.newScaleRequest) {
                next.refusedAction = action;
                next.refusedBecause = error.message;
            }
            abortRelease(failed,
                         QStringLiteral("the backend refused to %1: %2")
                             .arg(action.describe(), error.message),
                         automaticActor, {}, now);
        } else {
            next.refusedAction = action;
            next.refusedBecause = error.message;
        }
    }
    BlueGreenDecision after = decide(plan, next, observed, now);
    after.events = failed.events + after.events;
    return after;
}

BlueGreenPhase phase(const BlueGreenPlan &plan, const BlueGreenStatus &status,
                     const ServiceStatus &observed, TimePoint now)
{
    Q_UNUSED(now);
    if (status.finished())
        return status.aborted ? BlueGreenPhase::RolledBack : BlueGreenPhase::Succeeded;
    if (status.aborted) {
        return status.switchedAt && !status.switchedBack ? BlueGreenPhase::SwitchingBack
                                                         : BlueGreenPhase::Undoing;
    }
    if (status.retiredAt)
        return BlueGreenPhase::Retiring;
    if (status.pausedAt)
        return BlueGreenPhase::Paused;
    if (status.switchedAt)
        return BlueGreenPhase::Warm;
    if (switchAskedFor(status, status.newVersion))
        return BlueGreenPhase::Switching;
    if (!allReady(observed, status.newVersion, status.replicas))
        return BlueGreenPhase::Deploying;
    const bool pending
        = anyUnmeasured(status.preSwitchGates) || lastFailed(status.preSwitchGates) != nullptr;
    if (pending)
        return BlueGreenPhase::Verifying;
    const bool allPass = gateBlockers(plan, status.preSwitchGates).isEmpty();
    // With every gate passing, an automatic release is about to switch.
    return allPass && plan.autoSwitch ? BlueGreenPhase::Verifying : BlueGreenPhase::AwaitingSwitch;
}

std::optional<Duration> warmRemaining(const BlueGreenPlan &plan, const BlueGreenStatus &status,
                                      TimePoint now)
{
    if (!status.switchedAt || status.aborted || status.retiredAt || status.finished())
        return std::nullopt;
    const TimePoint end = windowEnd(plan, status);
    if (now >= end)
        return std::nullopt;
    return end - now;
}

std::optional<Duration> redeployEstimate(const BlueGreenStatus &status)
{
    // Instances already running when the scale-up was asked for say nothing of how long
    // starting them takes; only a colour that had some to start does.
    if (!status.deployAskedAt || !status.readyAt || status.newHeldAtDeploy >= status.replicas)
        return std::nullopt;
    return *status.readyAt - *status.deployAskedAt;
}

QStringList preSwitchBlockers(const BlueGreenPlan &plan, const BlueGreenStatus &status)
{
    return gateBlockers(plan, status.preSwitchGates);
}

} // namespace bluegreen

QDebug operator<<(QDebug debug, const BlueGreenStatus &status)
{
    QDebugStateSaver saver(debug);
    debug.nospace() << "BlueGreenStatus(" << status.id << ' ' << status.oldVersion << " -> "
                    << status.newVersion;
    if (status.readyAt)
        debug << " ready " << formatUtc(*status.readyAt);
    if (status.switchedAt)
        debug << " switched " << formatUtc(*status.switchedAt);
    if (status.extended > Duration(0))
        debug << " extended " << formatDuration(status.extended);
    if (status.pausedAt)
        debug << " paused " << formatUtc(*status.pausedAt);
    if (status.switchedBack)
        debug << " switched back";
    if (status.aborted)
        debug << " aborted: " << status.abortReason;
    if (status.retiredAt)
        debug << " retired " << formatUtc(*status.retiredAt);
    if (status.endedAt)
        debug << " ended " << formatUtc(*status.endedAt);
    debug << ')';
    return debug;
}

} // namespace sb
