#pragma once

#include "release.h"
#include "releasecontroller.h"

#include <QString>

#include <optional>

namespace sb {

// What the rollback button does for one service now, decided from its latest release and the
// fleet as observed, so the button can say it before anyone clicks:
// - a canary under way: its weight to 0 % and its instances down (the Abort command);
// - blue-green before the switch: the new colour down, traffic never moved (Abort);
// - blue-green after the switch, old colour still warm: one router call back (SwitchBack);
// - rolling under way: the previous version rolled out again (RollBack), as long as the release
//   has taken so far;
// - a release that finished, its old version gone: a new release of the old version, fast-tracked
//   (no bake, no gates), as long as bringing the old version up takes.
struct RollbackOption {
    enum class Kind {
        Unavailable, // nothing to roll back; `why` says so
        InProgress,  // a rollback is already running; `why` says what it is doing
        Command,     // an operator command to the running release
        Redeploy,    // a new release of `toVersion`
    };
    Kind kind = Kind::Unavailable;
    ServiceKey service;
    QString releaseId;
    QString fromVersion; // the version being rolled back
    QString toVersion;   // the version that serves all traffic afterwards
    ReleaseCommand command = ReleaseCommand::Abort; // for Kind::Command
    // Zero for a router call; none when nothing this release did tells how long it would take.
    std::optional<Duration> estimate;
    QString label;  // the button: "Switch back to 3.8.0 (instant)", "Roll back to 2.3.1 (~6 min,
                    // rolling)"
    QString detail; // the confirmation: what will happen, in a sentence or two
    QString why;    // Unavailable, InProgress: in words

    bool available() const { return kind == Kind::Command || kind == Kind::Redeploy; }
};

QString toString(RollbackOption::Kind kind); // "unavailable", "in-progress", "command", "redeploy"

// `release` is the service's latest release, or nullptr when it has had none.
RollbackOption rollbackOption(const ServiceKey &service, const ReleaseController::Release *release,
                              const ServiceStatus *observed, TimePoint now);

// "instant", "~40 s", "~6 min"
QString estimateText(const std::optional<Duration> &estimate);

// The origin of the plans a rollback runs, which marks the release as a rollback wherever its
// plan goes (the journal's saved state included), so a rollback is never offered a rollback.
inline const QString rollbackOrigin = QStringLiteral("rollback");
bool isRollback(const ReleaseController::Release &release);

// The canary plan a fast-tracked rollback runs: straight to 100 %, no bake, no gates.
CanaryPlan rollbackCanaryPlan();
// The blue-green plan a rollback runs: switch as soon as the old version is up, no gates.
BlueGreenPlan rollbackBlueGreenPlan(const BlueGreenPlan &plan);
// The rolling plan a rollback runs: the service's budgets, marked as a rollback.
RollingPlan rollbackRollingPlan(const RollingPlan &plan);

} // namespace sb
