#pragma once

// What every release engine (canary, blue-green, rolling) shares: the verbs it asks backends
// for, the shape of its decisions and the commands an operator gives it. Each engine is a set of
// pure functions from (plan, status, observations, time) to a ReleaseDecision; the
// ReleaseController runs them all the same way.

#include "fleet.h"
#include "gate.h"
#include "releaseevent.h"
#include "timepoint.h"

#include <QDebug>
#include <QList>
#include <QMap>
#include <QString>

#include <initializer_list>
#include <optional>

namespace sb {

// A backend that refused or did not answer is asked again after this long.
inline constexpr Duration actionRetryAfter = std::chrono::seconds(30);

// What the release last asked a backend for, so it asks once and retries only after a while.
struct Request {
    double target = 0; // instances for a scale, percent for a weight
    TimePoint at;
    bool failed = false;
    QString version; // the colour a switch asked for

    friend bool operator==(const Request &, const Request &) = default;
};

// A gate's progress within the current stage (canary) or phase (blue-green's pre- and
// post-switch checks).
struct GateState {
    QString gate;
    int measurements = 0;
    int failures = 0;
    std::optional<Measurement> last;

    friend bool operator==(const GateState &, const GateState &) = default;
};

// A sequential gate's state for the whole release: its evidence is not reset from stage to stage.
struct SequentialGateState {
    JudgeEvidence evidence;
    // The latency that counts as slow: the gate's own, or fixed from the first interval with
    // enough baseline requests (sequentialgate.h).
    std::optional<double> slowerThanMs;
    // The end of the last interval read: the next one must start at or after it, so that no
    // request is counted twice.
    std::optional<TimePoint> readUntil;
    // The decision last announced, so that each change is announced once.
    JudgeDecision decision = JudgeDecision::Continue;

    friend bool operator==(const SequentialGateState &, const SequentialGateState &) = default;
};

// Something an engine wants a backend to do. Every verb sets a target, so doing one twice is
// harmless.
struct ReleaseAction {
    enum class Kind {
        SetWeights, // TrafficRouter::setWeights
        Scale,      // Deployer::scale
        Switch,     // TrafficRouter::switchTo: all traffic to `version` in one router operation
    };
    Kind kind = Kind::SetWeights;
    QMap<QString, double> weights; // SetWeights: percent per version, adding up to 100
    QString version;               // Scale, Switch
    int instances = 0;             // Scale

    // "set weights 2.3.1 95 %, 2.4.0 5 %", "scale 2.4.0 to 2 instances", "switch traffic to 3.9.0"
    QString describe() const;
    friend bool operator==(const ReleaseAction &, const ReleaseAction &) = default;
};

// What to do now, the status after doing it, and why, in a sentence for the panel.
template <typename Status>
struct ReleaseDecision {
    Status status;
    QList<ReleaseAction> actions;
    QList<ReleaseEvent> events;
    QString reason;
    // When to decide again if no observation changes before then.
    std::optional<TimePoint> wakeAt;
};

// Decides again no later than `at`.
template <typename Status>
void wakeNoLaterThan(ReleaseDecision<Status> &decision, TimePoint at)
{
    if (!decision.wakeAt || at < *decision.wakeAt)
        decision.wakeAt = at;
}

// Instances of `version` the fleet shows in one of `states`; 0 before the fleet is seen.
int countInState(const ServiceStatus &observed, const QString &version,
                 std::initializer_list<InstanceState> states);
int readyCount(const ServiceStatus &observed, const QString &version);
// Instances holding a slot of the version's size (starting, ready or failed): what a scale
// target counts.
int heldCount(const ServiceStatus &observed, const QString &version);

// One gate's turn at `now`, on metrics wholly after `since`: a measurement once one is due and
// its data is there, or inconclusive (saying why) once the data is a whole interval late;
// otherwise nothing yet. `next` is when to look again either way.
struct GateTurn {
    std::optional<Measurement> measurement;
    TimePoint next;
    bool waitingForData = false; // due, and the data for it has not arrived yet
};
// `sinceText` says what "after `since`" means in the inconclusive reason: "at this stage's weight".
GateTurn gateTurn(const GateSpec &gate, const GateState &state, TimePoint since,
                  const std::optional<MetricsSnapshot> &metrics, const QString &metricsError,
                  const QString &testedVersion, const QString &referenceVersion,
                  const QString &sinceText, TimePoint now);
// Counts a measurement into its gate's state.
void recordMeasurement(GateState &state, const Measurement &m);

// A gate measurement's values, for the event that records it: "<metric>.<arm>" for the arm under
// test and the reference arm, "<metric>.limit", and "requests.<arm>" for both.
void addGateValues(QMap<QString, double> &values, const GateSpec &gate, const Measurement &m,
                   const QString &testedArm, const QString &referenceArm);

// An operator's command. Each engine accepts the ones that fit its strategy and refuses the
// others with a reason; the first six keep the canary's original order.
enum class ReleaseCommand {
    Promote,      // canary: cut the current stage short
    PromoteFully, // canary: straight to 100 %
    Pause,        // every strategy
    Resume,       // every strategy
    Abort,        // canary: weight to 0 and scale down; blue-green before the switch
    Retry,        // canary: start an aborted release again
    Switch,       // blue-green: all traffic to the new colour now
    SwitchBack,   // blue-green: all traffic back to the old colour, inside the warm window
    Extend,       // blue-green: keep the old colour warm for longer
    RollBack,     // rolling: roll the previous version out again
};
QString toString(ReleaseCommand command); // "promote", "switch back", "roll back", ...

QDebug operator<<(QDebug debug, const ReleaseAction &action);

} // namespace sb
