#pragma once

#include "canaryengine.h"
#include "clock.h"
#include "releaseevent.h"
#include "releasetrace.h"
#include "result.h"

#include <QHash>
#include <QList>
#include <QObject>
#include <QString>

#include <memory>

namespace sb {

class WorkspaceSession;

// Runs the canary engine for every release of a workspace session: it decides whenever an
// observation changes or a timer the engine asked for fires, carries out the actions through the
// service's adapters, and records every event. Operator actions enter here too, so the window,
// the tests and a command line drive releases the same way.
class ReleaseController : public QObject
{
    Q_OBJECT
public:
    // One service's latest release, running or finished.
    struct Release {
        CanaryPlan plan;
        CanaryStatus status;
        ReleaseTrace trace;
        QList<ReleaseEvent> events;
        QString reason; // the engine's last sentence about it
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

    // Refused with the reason when the service cannot take a canary now: not a canary service,
    // an unknown plan, a capability without an adapter, a release already running, or whatever
    // the engine refuses. Nothing is changed then.
    Result<Done, QString> start(const ServiceKey &service, const QString &version,
                                const QString &planName, const QString &reason);
    Result<Done, QString> command(const ServiceKey &service, canary::Command command,
                                  const QString &reason);
    // The reason `command` cannot apply to the service's release now; empty when it can.
    QString refusal(const ServiceKey &service, canary::Command command) const;

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
    void apply(const ServiceKey &service, CanaryDecision decision);
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
