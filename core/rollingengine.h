#pragma once

#include "fleet.h"
#include "release.h"
#include "result.h"

#include <QString>

#include <optional>

namespace sb {

// A count of instances written as Kubernetes writes maxSurge and maxUnavailable: "2" or "25%".
struct InstanceBudget {
    int value = 0;
    bool percent = false;

    // The count for `replicas`. Percentages round as Kubernetes rounds them: up for the surge,
    // down for the unavailable allowance.
    int resolve(int replicas, bool roundUp) const;
    QString text() const; // "2", "25%"
    friend bool operator==(const InstanceBudget &, const InstanceBudget &) = default;
};

// Parses "2", "0", "25%"; an error in words for anything else, including negative counts and
// percentages over 100.
Result<InstanceBudget, QString> parseInstanceBudget(const QString &text);

// How a rolling service releases: instances are replaced a few at a time, never more than
// `maxSurge` above the size it had, never more than `maxUnavailable` below it, each new
// instance ready before an old one retires and each old one drained before it stops.
struct RollingPlan {
    QString origin;                          // "signalbox.yaml:40", or "built-in" for the defaults
    InstanceBudget maxSurge{25, true};       // Kubernetes' default
    InstanceBudget maxUnavailable{25, true}; // Kubernetes' default
    // Kubernetes' progressDeadlineSeconds default: no instance became ready or retired in this
    // long, and the release pauses with an alert.
    Duration progressDeadline{std::chrono::minutes(10)};

    friend bool operator==(const RollingPlan &, const RollingPlan &) = default;
};

// The plan's budgets resolved for a size. When both round to zero the unavailable allowance is
// one, as in Kubernetes, so a release can always move.
struct ResolvedBudget {
    int surge = 0;
    int unavailable = 0;
};
ResolvedBudget resolveBudget(const RollingPlan &plan, int replicas);

// The plan's first problem in words (both budgets zero, a percentage over 100, a deadline that
// is not positive); empty when sound.
QString checkPlan(const RollingPlan &plan);

// The progress of one rolling release. While rolling back, the roles of the two versions swap:
// `fromVersion` is rolled out again, with the same budgets.
struct RollingStatus {
    QString id;
    ServiceKey service;
    QString fromVersion; // the version serving when the release started
    QString toVersion;   // the version being rolled out
    int replicas = 0;    // fromVersion's size then; the service keeps it throughout
    TimePoint startedAt;
    QString startedBy;

    // What counts as progress (an instance of the target version becoming ready, one of the
    // other version retiring, or an instance finishing its drain) last happened then; the
    // deadline runs from it.
    TimePoint lastProgressAt;
    int readyTarget = 0;    // the target version's ready instances last seen
    int remainingOther = 0; // the other version's instances still holding a slot, last seen
    int draining = 0;       // instances of either version draining, last seen
    // Instances of the target version seen failing since the last progress, so a stall can say
    // how many; a failure is counted once, by the time it failed, up to failuresCountedTo. The
    // count stands still while paused, so a stall's reason keeps the number its event gave, and
    // a resume or a rollback starts it again from zero.
    int failedSinceProgress = 0;
    TimePoint failuresCountedTo;
    std::optional<TimePoint> pausedAt;
    bool stalled = false; // paused by the progress deadline, not by an operator

    std::optional<TimePoint> rollbackStartedAt;
    QString rollbackReason;
    // The instances already back on fromVersion when the rollback began, so the rollback's pace
    // counts only what it did itself.
    int replacedAtRollback = 0;
    std::optional<TimePoint> endedAt;

    std::optional<Request> fromScaleRequest;
    std::optional<Request> toScaleRequest;
    // The deployer refused that request for good (Invalid or Unsupported): asking again cannot
    // change its answer. Cleared by the next request for the version.
    bool fromScaleRefusedForGood = false;
    bool toScaleRefusedForGood = false;

    bool rollingBack() const { return rollbackStartedAt.has_value(); }
    // The version the release is moving to now, and the one it retires.
    const QString &targetVersion() const { return rollingBack() ? fromVersion : toVersion; }
    const QString &retiringVersion() const { return rollingBack() ? toVersion : fromVersion; }
    bool finished() const { return endedAt.has_value(); }
    bool succeeded() const { return endedAt && !rollingBack(); }
    friend bool operator==(const RollingStatus &, const RollingStatus &) = default;
};

using RollingDecision = ReleaseDecision<RollingStatus>;

enum class RollingPhase {
    Progressing,
    Paused,  // by an operator
    Stalled, // by the progress deadline; resume to try again
    RollingBack,
    Succeeded,
    RolledBack,
};
QString toString(RollingPhase phase); // "progressing", "stalled", ...

// Where the release stands, as the panel shows it. Counts are of the observed fleet.
struct RollingProgress {
    int replicas = 0;
    int targetReady = 0;    // the target version's ready instances
    int targetStarting = 0; // and those starting
    int retiringLive = 0;   // the other version's instances starting, ready or failed
    int draining = 0;       // instances of either version draining
    int failed = 0;         // instances of either version failed and not yet replaced
    int ready = 0;          // ready instances of either version
    int total = 0;          // every live instance, draining ones included
    ResolvedBudget budget;  // what the plan allows
    int unavailableNow = 0; // replicas - ready, at least 0
    int surgeNow = 0;       // total - replicas, at least 0
    // At the pace seen so far in the current direction (since the start, or since the
    // rollback began); none before any progress and once finished.
    std::optional<Duration> eta;
};

// The rules, as pure functions, with the canary's guarantees (the same inputs give the same
// decision; deciding again on a decision's status at the same time asks for nothing new):
//  - Counts: an instance holds a slot while starting, ready or failed; draining instances still
//    count toward the total (they occupy a node until they stop), so total = holding + draining
//    never exceeds replicas + surge. Ready instances of both versions are what is available.
//  - A step is taken only once the previous targets are observed (each version holding as many
//    instances as last asked), so a lagging backend is never asked to overshoot.
//  - Scale up the target version as far as the surge allows; scale down the retiring version
//    only as far as keeps ready >= replicas - unavailable. A scale-down retires failed
//    instances first, then starting ones, then ready ones (which drain before they stop).
//  - A step's scale-down goes out before its scale-up: the scale-up counts the slots that
//    retiring failed and starting instances frees, so a backend taking them in order never
//    holds more than the total allows.
//  - Done when the target version has `replicas` ready and the retiring version holds none and
//    has finished draining, and the scale to zero was asked for in an earlier decision (one
//    asked for just now may still be refused). A retiring version that holds nothing and drains
//    nothing needs no scale to zero once the deployer has refused its last scale for good (a
//    scale to zero, or a scale-up that never created anything, as for an undeclared version):
//    asking again would only be refused again, so the release ends without it. A rollback from
//    a version the deployer refused to start thus ends as soon as the old version is whole.
//  - No progress within progressDeadline pauses the release with a Stalled event naming what
//    is stuck (instances failing to start, for example); Resume restarts the deadline. Failures
//    are not counted while paused, so the reason keeps the count the event gave. A pause
//    holds the next step, not the end: a release whose last scale-down was asked for still
//    finishes once the retiring instances have drained.
//  - RollBack swaps the roles: the previous version is rolled out again under the same budgets.
//    It also applies to a paused or stalled release, and sets it moving.
//  - Refused or unanswered actions are retried after actionRetryAfter, with targets worked out
//    again from what is observed then (the fleet may have changed meanwhile); Invalid or
//    Unsupported refusals pause the release with the backend's message, except a refused scale
//    of a retiring version of which nothing is left (see Done above), which is not asked again.
//  - A finished release is not rolled back: RollBack after success is refused, saying that a new
//    rolling release of the old version is the way back and how long it would take.
namespace rolling {

// Starts a release of `version` from the version serving now (the only live version). Refused,
// with the reason, when the service runs more than one version or none, the version already
// serves, or the plan is unsound.
Result<RollingDecision, QString> start(const RollingPlan &plan, const ServiceStatus &observed,
                                       const QString &version, const QString &actor,
                                       const QString &reason, TimePoint now);

RollingDecision decide(const RollingPlan &plan, const RollingStatus &status,
                       const ServiceStatus &observed, TimePoint now);

// Pause, Resume and RollBack apply; RollBack requires a reason. The rest are refused in words.
QString refusal(const RollingPlan &plan, const RollingStatus &status, ReleaseCommand command);
Result<RollingDecision, QString> command(const RollingPlan &plan, const RollingStatus &status,
                                         ReleaseCommand command, const QString &actor,
                                         const QString &reason, const ServiceStatus &observed,
                                         TimePoint now);

RollingDecision actionFailed(const RollingPlan &plan, const RollingStatus &status,
                             const ReleaseAction &action, const Error &error,
                             const ServiceStatus &observed, TimePoint now);

RollingPhase phase(const RollingPlan &plan, const RollingStatus &status);
RollingProgress progress(const RollingPlan &plan, const RollingStatus &status,
                         const ServiceStatus &observed, TimePoint now);
// How long rolling the previous version out again would take: the instances of the new version
// to replace at the pace this release has kept (instances replaced per minute since it started).
// After success that is as long as the release took, whatever the fleet shows since. None
// before any instance was replaced, and none once a rollback is under way or done (progress'
// eta covers one under way).
std::optional<Duration> rollbackEstimate(const RollingPlan &plan, const RollingStatus &status,
                                         const ServiceStatus &observed, TimePoint now);

} // namespace rolling

QDebug operator<<(QDebug debug, const RollingStatus &status);

} // namespace sb
