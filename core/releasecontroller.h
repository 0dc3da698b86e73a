#pragma once

#include "bluegreenengine.h"
#include "canaryengine.h"
#include "clock.h"
#include "releaseevent.h"
#include "releasetrace.h"
#include "result.h"
#include "rollingengine.h"

#include <QHash>
#include <QList>
#include <QObject>
#include <QString>

#include <memory>
#include <variant>

namespace sb {

class WorkspaceSession;

// A release's plan and status, per strategy.
struct CanaryRun {
    CanaryPlan plan;
    CanaryStatus status;
};
struct BlueGreenRun {
    BlueGreenPlan plan;
    BlueGreenStatus status;
};
struct RollingRun {
    RollingPlan plan;
    RollingStatus status;
};

// Runs the release engines (canary, blue-green, rolling) for every release of a workspace
// session: it decides whenever an observation changes or a timer the engine asked for fires,
// carries out the actions through the service's adapters, and records every event. Operator
// actions enter here too, so the window, the tests and a command line drive releases the same
// way.
class ReleaseController : public QObject
{
    Q_OBJECT
public:
    // One service's latest release, running or finished.
    struct Release {
        std::variant<CanaryRun, BlueGreenRun, RollingRun> run;
        ReleaseTrace trace; // canary and baseline metrics, for canaries
        QList<ReleaseEvent> events;
        QString reason; // the engine's last sentence about it

        const CanaryRun *canary() const { return std::get_if<CanaryRun>(&run); }
        const BlueGreenRun *blueGreen() const { return std::get_if<BlueGreenRun>(&run); }
        const RollingRun *rolling() const { return std::get_if<RollingRun>(&run); }
        Strategy strategy() const;
        const QString &id() const;
        const QString &version() const; // the version being released
        bool finished() const;
    };

    // Adapter calls that have not answered by then count as timed out.
    static constexpr Duration actionTimeout = std::chrono::seconds(20);

    // `operatorName` is who operator actions are recorded as.
    ReleaseController(WorkspaceSession *session, QString operatorName, QObject *parent = nullptr);
    ~ReleaseController() override;

    const QString &operatorName() const { return m_operator; }
    // The account the console runs under ($USER, or %USERNAME% on Windows), else "operator".
    static QString osUser();
    const Release *release(const ServiceKey &service) const;
    // Services with a release that has not finished.
    QList<ServiceKey> activeServices() const;

    // Starts a release under the service's strategy: a canary on `planName` (empty: the
    // service's plan), a blue-green or rolling release on the service's settings (`planName`
    // must be empty). Refused with the reason when the service cannot take one now: no release
    // strategy, an unknown plan, a capability without an adapter, a release already running, or
    // whatever the engine refuses. Nothing is changed then.
    Result<Done, QString> start(const ServiceKey &service, const QString &version,
                                const QString &planName, const QString &reason);
    Result<Done, QString> command(const ServiceKey &service, ReleaseCommand command,
                                  const QString &reason);
    // The reason `command` cannot apply to the service's release now; empty when it can.
    QString refusal(const ServiceKey &service, ReleaseCommand command) const;

    // Starts the workspace's `releases:` at their times, once their services are observed.
    void startScheduled();

Q_SIGNALS:
    void releaseChanged(const sb::ServiceKey &service);
    void eventRecorded(const sb::ReleaseEvent &event);
    // A release the workspace scheduled could not start.
    void scheduledReleaseRefused(const sb::ServiceKey &service, const QString &reason);

private:
    struct Running;

    const ServiceStatus *observed(const ServiceKey &service) const;
    void evaluateAll();
    void evaluate(const ServiceKey &service);
    template <typename Status>
    void apply(const ServiceKey &service, ReleaseDecision<Status> decision);
    void record(Release &release, const ReleaseEvent &event);
    void execute(const ServiceKey &service, const ReleaseAction &action);
    void failed(const ServiceKey &service, const QString &releaseId, const ReleaseAction &action,
                const Error &error);
    Result<Done, QString> startAs(const QString &actor, const ServiceKey &service,
                                  const QString &version, const QString &planName,
                                  const QString &reason);
    void trySchedule(int index, int attemptsLeft);

    WorkspaceSession *m_session;
    Clock *m_clock;
    QString m_operator;
    QHash<ServiceKey, std::shared_ptr<Running>> m_releases;
};

} // namespace sb
