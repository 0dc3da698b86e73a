#include "rollback.h"

#include <cmath>

namespace sb {

namespace {

RollbackOption base(const ServiceKey &service, const QString &releaseId, const QString &from,
                    const QString &to)
{
    RollbackOption option;
    option.service = service;
    option.releaseId = releaseId;
    option.fromVersion = from;
    option.toVersion = to;
    return option;
}

RollbackOption unavailable(RollbackOption option, const QString &why)
{
    option.kind = RollbackOption::Kind::Unavailable;
    option.label = QStringLiteral("Roll back");
    option.why = why;
    return option;
}

RollbackOption inProgress(RollbackOption option, const QString &why)
{
    option.kind = RollbackOption::Kind::InProgress;
    option.label = QStringLiteral("Rolling back to %1…").arg(option.toVersion);
    option.why = why;
    return option;
}

RollbackOption redeploy(RollbackOption option, std::optional<Duration> estimate, const QString &how,
                        const QString &detail)
{
    option.kind = RollbackOption::Kind::Redeploy;
    option.estimate = estimate;
    option.label = estimate ? QStringLiteral("Roll back to %1 (%2, %3)")
                                  .arg(option.toVersion, estimateText(estimate), how)
                            : QStringLiteral("Roll back to %1 (%2)").arg(option.toVersion, how);
    option.detail = detail;
    return option;
}

RollbackOption canaryOption(RollbackOption option, const CanaryRun &run)
{
    const CanaryStatus &status = run.status;
    if (status.finished() && status.aborted) {
        return unavailable(
            option,
            QStringLiteral("%1 was rolled back at %2 UTC; %3 serves all traffic")
                .arg(status.canaryVersion, formatTimeOfDay(*status.endedAt), status.stableVersion));
    }
    if (status.finished()) {
        // Reaching the final stage brought the canary to full size; the old version takes as long.
        std::optional<Duration> estimate;
        if (status.stage == run.plan.finalStage())
            estimate = *status.endedAt - status.stageStartedAt;
        return redeploy(option, estimate, QStringLiteral("redeploy"),
                        QStringLiteral("%1 is gone. A new release of %2 goes straight to 100 %, "
                                       "without bake or gates, and %3 is scaled down once %2 "
                                       "serves all traffic.")
                            .arg(status.stableVersion, status.stableVersion, status.canaryVersion));
    }
    if (status.aborted) {
        return inProgress(option, QStringLiteral("%1's weight is going to 0 % and its instances "
                                                 "are being scaled down")
                                      .arg(status.canaryVersion));
    }
    option.kind = RollbackOption::Kind::Command;
    option.command = ReleaseCommand::Abort;
    option.estimate = Duration(0);
    option.label = QStringLiteral("Canary to 0 % (instant)");
    option.detail = QStringLiteral("%1's weight goes to 0 % with one router call, so %2 serves "
                                   "all traffic again; then %1's instances are scaled down.")
                        .arg(status.canaryVersion, status.stableVersion);
    return option;
}

RollbackOption blueGreenOption(RollbackOption option, const BlueGreenStatus &status)
{
    if (status.finished() && status.aborted) {
        return unavailable(
            option,
            QStringLiteral("%1 was rolled back at %2 UTC; %3 serves all traffic")
                .arg(status.newVersion, formatTimeOfDay(*status.endedAt), status.oldVersion));
    }
    if (status.finished()) {
        const std::optional<Duration> estimate = bluegreen::redeployEstimate(status);
        return redeploy(option, estimate, QStringLiteral("redeploy, then switch"),
                        QStringLiteral("%1's colour is gone. A new blue-green release brings %1 "
                                       "up again and switches to it as soon as every instance is "
                                       "ready, without gates.")
                            .arg(status.oldVersion));
    }
    if (status.aborted || status.switchedBack) {
        return inProgress(option, QStringLiteral("%1 serves all traffic; %2 is being scaled down")
                                      .arg(status.oldVersion, status.newVersion));
    }
    if (status.retiredAt) {
        return unavailable(option,
                           QStringLiteral("%1 is being scaled down, so switching back is no longer "
                                          "one router call; once it is gone, a rollback redeploys "
                                          "it")
                               .arg(status.oldVersion));
    }
    option.kind = RollbackOption::Kind::Command;
    option.estimate = Duration(0);
    if (status.switchedAt) {
        option.command = ReleaseCommand::SwitchBack;
        option.label = QStringLiteral("Switch back to %1 (instant)").arg(status.oldVersion);
        option.detail = QStringLiteral("All traffic goes back to %1, still warm, with one router "
                                       "call; then %2 is scaled down.")
                            .arg(status.oldVersion, status.newVersion);
    } else {
        option.command = ReleaseCommand::Abort;
        option.label = QStringLiteral("Keep %1, cancel %2 (instant)")
                           .arg(status.oldVersion, status.newVersion);
        option.detail = QStringLiteral("Traffic never left %1; the release stops and %2's colour "
                                       "is scaled down.")
                            .arg(status.oldVersion, status.newVersion);
    }
    return option;
}

RollbackOption rollingOption(RollbackOption option, const RollingRun &run,
                             const ServiceStatus *observed, TimePoint now)
{
    const RollingStatus &status = run.status;
    if (status.finished() && status.rollingBack()) {
        return unavailable(
            option,
            QStringLiteral("%1 was rolled back at %2 UTC; %3 runs everywhere")
                .arg(status.toVersion, formatTimeOfDay(*status.endedAt), status.fromVersion));
    }
    std::optional<Duration> estimate;
    if (observed)
        estimate = rolling::rollbackEstimate(run.plan, status, *observed, now);
    if (status.finished()) {
        return redeploy(option, estimate, QStringLiteral("rolling"),
                        QStringLiteral("A new rolling release replaces every instance of %1 with "
                                       "%2, at the pace of the release being undone.")
                            .arg(status.toVersion, status.fromVersion));
    }
    if (status.rollingBack()) {
        return inProgress(option, QStringLiteral("%1 is being rolled out again in place of %2")
                                      .arg(status.fromVersion, status.toVersion));
    }
    option.kind = RollbackOption::Kind::Command;
    option.command = ReleaseCommand::RollBack;
    option.estimate = estimate;
    option.label = estimate ? QStringLiteral("Roll back to %1 (%2, rolling)")
                                  .arg(status.fromVersion, estimateText(estimate))
                            : QStringLiteral("Roll back to %1 (rolling)").arg(status.fromVersion);
    option.detail = QStringLiteral("The release turns around: instances of %1 replace those of "
                                   "%2 within the same surge and availability limits.")
                        .arg(status.fromVersion, status.toVersion);
    return option;
}

} // namespace

QString toString(RollbackOption::Kind kind)
{
    switch (kind) {
    case RollbackOption::Kind::Unavailable: return QStringLiteral("unavailable");
    case RollbackOption::Kind::InProgress: return QStringLiteral("in-progress");
    case RollbackOption::Kind::Command: return QStringLiteral("command");
    case RollbackOption::Kind::Redeploy: return QStringLiteral("redeploy");
    }
    return {};
}

QString estimateText(const std::optional<Duration> &estimate)
{
    if (!estimate)
        return QStringLiteral("time unknown");
    if (*estimate <= std::chrono::seconds(1))
        return QStringLiteral("instant");
    const double seconds = std::chrono::duration<double>(*estimate).count();
    if (seconds < 10)
        return QStringLiteral("~%1 s").arg(std::lround(seconds));
    if (seconds < 60)
        return QStringLiteral("~%1 s").arg(std::lround(seconds / 5) * 5);
    return QStringLiteral("~%1 min").arg(std::lround(seconds / 60));
}

bool isRollback(const ReleaseController::Release &release)
{
    return std::visit([](const auto &run) { return run.plan.origin == rollbackOrigin; },
                      release.run);
}

RollbackOption rollbackOption(const ServiceKey &service, const ReleaseController::Release *release,
                              const ServiceStatus *observed, TimePoint now)
{
    if (!release) {
        return unavailable(base(service, {}, {}, {}),
                           QStringLiteral("%1 (%2) has had no release since the console started")
                               .arg(service.name, service.environment));
    }
    // Rolling back a rollback would put the bad version back: the way forward is a new release.
    if (isRollback(*release)) {
        RollbackOption option = base(service, release->id(), {}, release->version());
        if (!release->finished())
            return inProgress(
                option,
                QStringLiteral("%1 is being brought back by a rollback").arg(release->version()));
        return unavailable(option, QStringLiteral("%1 was brought back by a rollback; to move on, "
                                                  "start a new release")
                                       .arg(release->version()));
    }
    if (const CanaryRun *run = release->canary()) {
        return canaryOption(
            base(service, release->id(), run->status.canaryVersion, run->status.stableVersion),
            *run);
    }
    if (const BlueGreenRun *run = release->blueGreen()) {
        return blueGreenOption(
            base(service, release->id(), run->status.newVersion, run->status.oldVersion),
            run->status);
    }
    const RollingRun *run = release->rolling();
    return rollingOption(
        base(service, release->id(), run->status.toVersion, run->status.fromVersion), *run,
        observed, now);
}

CanaryPlan rollbackCanaryPlan()
{
    CanaryPlan plan;
    plan.name = QStringLiteral("rollback");
    plan.origin = rollbackOrigin;
    plan.stages = {CanaryStage{100, Duration(0), {}, false}};
    return plan;
}

BlueGreenPlan rollbackBlueGreenPlan(const BlueGreenPlan &plan)
{
    BlueGreenPlan fast = plan;
    fast.origin = rollbackOrigin;
    fast.autoSwitch = true;
    // Gates would judge the known-good version against the bad one; a switch back the moment a
    // post-switch gate failed would undo the rollback itself.
    fast.preSwitchGates.clear();
    fast.postSwitchGates.clear();
    fast.gates.clear();
    return fast;
}

RollingPlan rollbackRollingPlan(const RollingPlan &plan)
{
    RollingPlan marked = plan;
    marked.origin = rollbackOrigin;
    return marked;
}

} // namespace sb
