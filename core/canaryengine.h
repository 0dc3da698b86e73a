#pragma once

#include "canaryplan.h"
#include "fleet.h"
#include "gate.h"
#include "release.h"
#include "releaseevent.h"
#include "result.h"

#include <QList>
#include <QMap>
#include <QString>

#include <optional>

namespace sb {

// The progress of one canary release. Everything else (its phase, the weight it wants, the time
// left to bake) is derived from this, the plan and the observations.
struct CanaryStatus {
    QString id;
    ServiceKey service;
    QString stableVersion;
    QString canaryVersion;
    int replicas = 0; // the stable version's size when the release started
    TimePoint startedAt;
    QString startedBy;

    int stage = 0;
    TimePoint stageStartedAt;
    std::optional<TimePoint> bakeStartedAt; // when the stage's weight was first observed
    Duration pausedDuringBake{0};           // bake time that does not count
    std::optional<TimePoint> pausedAt;
    QList<GateState> gates; // the current stage's gates, in plan order
    // Sequential gates' evidence since the release (or its retry) started, by gate name.
    QMap<QString, SequentialGateState> judges;
    // Why the stage last announced it could not advance, so a hold is announced once.
    QString holdReason;

    bool aborted = false;
    QString abortReason;
    std::optional<TimePoint> endedAt; // succeeded, or rolled back after an abort

    std::optional<Request> weightRequest;
    std::optional<Request> canaryScaleRequest;
    std::optional<Request> stableScaleRequest;

    bool finished() const { return endedAt.has_value(); }
    bool succeeded() const { return endedAt && !aborted; }
    friend bool operator==(const CanaryStatus &, const CanaryStatus &) = default;
};

using CanaryDecision = ReleaseDecision<CanaryStatus>;

enum class CanaryPhase {
    Scaling,  // bringing up the stage's canary instances
    Shifting, // the weight is asked for but not yet observed on the router
    Baking,   // at the stage's weight, gates measuring
    Holding,  // bake over; waiting for gates to pass or for an approval
    Paused,
    Completing, // at the final stage: canary to full size, all traffic, stable scaled down
    Succeeded,
    Aborting, // weight back to 0 and the canary scaled down
    Aborted,
};
QString toString(CanaryPhase phase); // "scaling", "baking", ...

// The rules, as pure functions. `observed` is what the console knows of the service now; the
// same inputs always give the same decision, and deciding again on its status at the same time
// asks for nothing new.
namespace canary {

inline constexpr Duration retryAfter = actionRetryAfter;

// Starts a release of `version` from the version serving traffic now. Refused, with the reason,
// when there is no single stable version, the version is already the stable one, or the plan is
// unsound.
Result<CanaryDecision, QString> start(const CanaryPlan &plan, const ServiceStatus &observed,
                                      const QString &version, const QString &actor,
                                      const QString &reason, TimePoint now);

CanaryDecision decide(const CanaryPlan &plan, const CanaryStatus &status,
                      const ServiceStatus &observed, TimePoint now);

// Promote, PromoteFully, Pause, Resume, Abort and Retry apply to a canary; the rest are refused.
using Command = ReleaseCommand;

// Whether `command` applies now, and if not, why; the panel enables its buttons from this.
QString refusal(const CanaryPlan &plan, const CanaryStatus &status, Command command);

// An operator's command. Promote and PromoteFully require a reason. Refused with the reason when
// it does not apply (promote on a finished release, resume when not paused, ...).
Result<CanaryDecision, QString> command(const CanaryPlan &plan, const CanaryStatus &status,
                                        Command command, const QString &actor,
                                        const QString &reason, const ServiceStatus &observed,
                                        TimePoint now);

// A backend refused or did not answer `action`: recorded so the action is retried after
// retryAfter, or, when the refusal is permanent (Error::Kind::Invalid or Unsupported), the
// release is aborted with the backend's message.
CanaryDecision actionFailed(const CanaryPlan &plan, const CanaryStatus &status,
                            const ReleaseAction &action, const Error &error,
                            const ServiceStatus &observed, TimePoint now);

// Derived facts.
CanaryPhase phase(const CanaryPlan &plan, const CanaryStatus &status, const ServiceStatus &observed,
                  TimePoint now);
// The weight the router should have now.
double desiredWeight(const CanaryPlan &plan, const CanaryStatus &status);
// Bake time left in the current stage; none before the bake starts.
std::optional<Duration> bakeRemaining(const CanaryPlan &plan, const CanaryStatus &status,
                                      TimePoint now);

} // namespace canary

QDebug operator<<(QDebug debug, const CanaryStatus &status);

} // namespace sb
