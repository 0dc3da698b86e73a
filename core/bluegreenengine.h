#pragma once

#include "fleet.h"
#include "gate.h"
#include "release.h"
#include "result.h"

#include <QList>
#include <QMap>
#include <QString>
#include <QStringList>

#include <optional>

namespace sb {

// How a blue-green service releases: the new version comes up as the idle colour at full size,
// optional pre-switch gates check it (on smoke traffic) against the live colour, all traffic
// switches at once, and the old colour stays warm for `warmWindow` so that going back is a
// switch, not a deploy. Post-switch gates compare the new colour with the old one's last
// measurement before the switch and switch back on their own when they fail, also while they
// hold the old colour warm past the window's end.
struct BlueGreenPlan {
    QString origin; // "signalbox.yaml:40", or "built-in" for the defaults
    // Argo Rollouts keeps the old ReplicaSet 30 s by default, which turns most rollbacks into
    // full redeploys; half an hour covers the time an incident takes to be noticed.
    Duration warmWindow{std::chrono::minutes(30)};
    // Switch as soon as the idle colour is ready and its gates pass; otherwise wait for an
    // operator's Switch.
    bool autoSwitch = true;
    QStringList preSwitchGates;
    QStringList postSwitchGates;
    QMap<QString, GateSpec> gates; // every gate the two lists name

    friend bool operator==(const BlueGreenPlan &, const BlueGreenPlan &) = default;
};

// The progress of one blue-green release. The phase and the time left warm derive from it.
struct BlueGreenStatus {
    QString id;
    ServiceKey service;
    QString oldVersion; // the live colour when the release started
    QString newVersion; // the idle colour being released
    int replicas = 0;   // the live colour's size then; the idle colour comes up to it
    TimePoint startedAt;
    QString startedBy;

    std::optional<TimePoint> deployAskedAt;  // the new colour's scale-up first asked for
    int newHeldAtDeploy = 0;                 // instances of the new colour already running then
    std::optional<TimePoint> readyAt;        // every instance of the new colour first ready
    QList<GateState> preSwitchGates;         // measured from readyAt until the switch
    std::optional<VersionMetrics> oldBefore; // the old colour's last metrics before the switch
    std::optional<TimePoint> switchedAt;     // the router first observed on the new colour
    QString switchedBy;   // who asked for the switch: an operator, or signalbox after the gates
    QString switchReason; // why, for the Switched event
    Duration extended{0}; // added to the warm window by Extend
    QList<GateState> postSwitchGates; // measured from switchedAt while warm
    // Per post-switch gate, where the metrics its latest measurement on data judged end: the
    // old colour is retired only once they reach the window's end (see bluegreen::decide).
    QMap<QString, TimePoint> postSwitchDataUntil;
    QString holdReason; // why the release last announced it was waiting, so it says so once

    // Paused by an operator, or on a restart: no automatic switch and no retiring of the old
    // colour until resumed. A switch back on a failing post-switch gate still happens. The warm
    // window keeps counting; only the retirement at its end waits (see bluegreen::decide).
    std::optional<TimePoint> pausedAt;

    bool switchedBack = false; // traffic went back to the old colour, by the release or not
    bool aborted = false;      // stopped before the switch, or switched back
    QString abortReason;
    std::optional<TimePoint> retiredAt; // the old colour's scale-down was asked for
    std::optional<TimePoint> endedAt;

    std::optional<Request> pinRequest;      // at start: the router pinned on the old colour
    std::optional<Request> newScaleRequest; // the new colour to `replicas`, or to 0 when undone
    std::optional<Request> switchRequest;   // Request::version says which colour
    std::optional<Request> oldScaleRequest; // the old colour to 0 when the window ends
    // After the switch or while undoing, an action a backend refused for good (Invalid,
    // Unsupported): it is not asked for again, and the release waits for an operator to do it.
    // Before the switch, the new colour's scale-up refused for good: the release is aborted
    // and, with nothing of the new colour running, ends without a scale-down.
    std::optional<ReleaseAction> refusedAction;
    QString refusedBecause;

    bool finished() const { return endedAt.has_value(); }
    bool succeeded() const { return endedAt && !aborted; }
    friend bool operator==(const BlueGreenStatus &, const BlueGreenStatus &) = default;
};

using BlueGreenDecision = ReleaseDecision<BlueGreenStatus>;

enum class BlueGreenPhase {
    Deploying,      // the idle colour is coming up to full size
    Verifying,      // all ready; pre-switch gates measuring
    AwaitingSwitch, // ready and verified (or gates inconclusive): waiting for an operator
    Switching,      // the switch is asked for and not yet observed on the router
    Warm,           // switched; the old colour still runs; post-switch gates measuring (also
                    // past the window's end while its retirement waits for them or the router)
    Paused,         // before the retirement, by an operator or on a restart: nothing moves
                    // forward until Resume; gates measure, and going back is not held
    SwitchingBack,
    Retiring,  // the old colour's scale-down was asked for: it is being scaled down
    Succeeded, // the old colour is gone; a rollback now is a new deploy
    Undoing,   // aborted or switched back: the new colour is being scaled down
    RolledBack,
};
QString toString(BlueGreenPhase phase); // "deploying", "warm", ...

// The rules, as pure functions of the plan, the status, what is observed now and the time, with
// the same guarantees as the canary's: the same inputs give the same decision, and deciding
// again on a decision's status at the same time asks for nothing new. In short:
//  - At start, the router is pinned on the live colour with one switch (a pool that spreads over
//    ready instances would otherwise hand the new colour traffic as it comes up); the new colour
//    is scaled to `replicas` once the router reports the old colour as its active version.
//  - The router always points entirely at one colour, and never at one without ready instances:
//    the engine switches only when every new instance is ready (as many ready as `replicas`,
//    none starting or failed), and switches back only while the old colour has ready instances.
//    The old colour is scaled down only while the router is observed on the new one, and the
//    new colour only once traffic is not, or no longer, on it.
//  - Pre-switch gates measure the new colour against the live one on data wholly after readyAt,
//    until the switch is asked for; failureLimit failures abort (the new colour is scaled to 0).
//    With autoSwitch the switch follows once every pre-switch gate's latest measurement passes;
//    otherwise the release waits for Switch and says why. oldBefore is taken from the
//    observation the switch is asked on, when all traffic is still on the old colour.
//  - After the switch is observed, post-switch gates measure the new colour against oldBefore;
//    failureLimit failures while the old colour is warm switch back automatically.
//  - When the window (plus extensions) ends the old colour is scaled to 0 (retiredAt), unless
//    the router does not show all traffic on the new colour, a post-switch gate's latest
//    measurement failed (the old colour stays warm until it passes or reaches its limit), or a
//    post-switch gate has not judged the window's last interval: past the window's end each
//    gate's next measurement waits for metrics reaching the end, at most `interval` +
//    finalMetricsLag past it; then the gate measures what there is as before and, unless that
//    fails, the old colour is retired, the event naming the gate that missed the last interval.
//    The release ends once that request was made in an earlier decision and nothing of the old
//    colour is left, draining instances included. Until retiredAt the old colour is warm:
//    Switch back and Extend apply; from then on they are refused.
//  - A router observed with all traffic on the old colour after the switch, and before the
//    retirement, while the release asked for no switch back: someone switched back outside
//    the release. It is recorded (SwitchedBack) and undone like a switch back.
//  - After a switch back is observed, the new colour is scaled to 0 and the release ends rolled
//    back once nothing of it is left, draining instances included; stopped before anything of
//    the new colour ran (or with its scale-up refused for good and none of it running), it ends
//    at once.
//  - Abort applies until a switch to the new colour is asked for (again once that request
//    failed); from then on Switch back is the way, since the switch may land at any moment.
//  - Paused (pausedAt), the release asks for nothing that moves it forward: it does not start
//    the new colour, switch to it, or retire the old colour, also once the window is over (the
//    window keeps counting). A switch asked for before the pause may still land but is not
//    asked again. The other requests already made are kept and retried as usual (the pin, the
//    new colour's scale-up, the live colour's size, a retirement already under way), gates keep
//    measuring, and everything that goes back (a gate's abort or switch back, an operator's, a
//    router switched back by hand) happens as unpaused and ends the pause. Switch, Switch back,
//    Extend and Abort apply as unpaused; Pause is refused once the retirement was asked for.
//  - Refused or unanswered actions are retried after actionRetryAfter; Invalid or Unsupported
//    refusals abort before the switch, and after it (or while undoing) are reported and not
//    asked again (refusedAction): the release finishes when the observation shows them done.
namespace bluegreen {

// How long Extend adds to the warm window each time (from now, once the window has ended).
inline constexpr Duration extendStep = std::chrono::minutes(15);
// Past the window's end, how much later than a gate's interval its metrics of the window's last
// interval may arrive before the old colour is retired without them.
inline constexpr Duration finalMetricsLag = std::chrono::seconds(30);

// Starts a release of `version` beside the live colour: the version every observed request goes
// to (the router's active version, else the one at 100 %). Refused, with the reason, without a
// single live colour with ready instances, or when `version` is already live.
Result<BlueGreenDecision, QString> start(const BlueGreenPlan &plan, const ServiceStatus &observed,
                                         const QString &version, const QString &actor,
                                         const QString &reason, TimePoint now);

BlueGreenDecision decide(const BlueGreenPlan &plan, const BlueGreenStatus &status,
                         const ServiceStatus &observed, TimePoint now);

// Whether `command` applies now, and if not, why: Switch while the idle colour is not wholly
// ready ("3.9.0 has 7 of 10 instances ready"), SwitchBack and Extend once the old colour's
// retirement was asked for (with what a redeploy would take), Extend before the switch, Abort
// after the switch (switch back instead; past the window's end it says what keeps the old
// colour warm), Pause when paused or with nothing left to hold, Resume when not paused, and the
// canary's and rolling's own commands.
QString refusal(const BlueGreenPlan &plan, const BlueGreenStatus &status,
                const ServiceStatus &observed, ReleaseCommand command, TimePoint now);

// Switch and SwitchBack require a reason; the others take an optional one.
Result<BlueGreenDecision, QString> command(const BlueGreenPlan &plan, const BlueGreenStatus &status,
                                           ReleaseCommand command, const QString &actor,
                                           const QString &reason, const ServiceStatus &observed,
                                           TimePoint now);

BlueGreenDecision actionFailed(const BlueGreenPlan &plan, const BlueGreenStatus &status,
                               const ReleaseAction &action, const Error &error,
                               const ServiceStatus &observed, TimePoint now);

BlueGreenPhase phase(const BlueGreenPlan &plan, const BlueGreenStatus &status,
                     const ServiceStatus &observed, TimePoint now);
// The colour the router points at now, from the observation; empty when it is split or unknown.
QString liveColour(const ServiceStatus &observed);
// Time left before the old colour is retired; none before the switch or after the window.
std::optional<Duration> warmRemaining(const BlueGreenPlan &plan, const BlueGreenStatus &status,
                                      TimePoint now);
// How long bringing the old colour back would take once it is retired: as long as the new
// colour took from its scale request to every instance ready. None before that was seen, or
// when no instance had to start (the new colour already ran at full size).
std::optional<Duration> redeployEstimate(const BlueGreenStatus &status);
// Why the pre-switch gates have not all passed, one entry per gate ("gate smoke not measured
// yet", "gate smoke failed its last measurement (1 of 2 allowed failures): ..."); empty when
// every one's latest measurement passed. A manual Switch goes ahead without them.
QStringList preSwitchBlockers(const BlueGreenPlan &plan, const BlueGreenStatus &status);

} // namespace bluegreen

QDebug operator<<(QDebug debug, const BlueGreenStatus &status);

} // namespace sb
