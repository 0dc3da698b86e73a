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

class Journal;
struct JournalEntry;
struct ReleaseRecord;
struct RollbackOption;
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

    // From now on every event, every intent and every outcome goes to `journal`, with the state
    // of each release in flight, and an action runs only once its intent is durable there.
    // Without a journal actions run at once and nothing outlives the console.
    void setJournal(Journal *journal);
    Journal *journal() const { return m_journal; }
    // A controller that only looks: releases are decided and shown, but no adapter is called,
    // nothing is written, and a restore takes releases up as they were saved. For a status
    // read beside the console that drives them.
    void setReadOnly(bool readOnly) { m_readOnly = readOnly; }
    // Takes up the releases a journal kept: each service's latest. One in flight comes back
    // paused where it was, so nothing is promoted without an operator (a rollback that was under
    // way carries on); a finished one comes back as it ended, so it can still be rolled back.
    // Their earlier events follow from the journal. `inFlight` receives the services taken up
    // in flight. Returns, per release in flight it could not take up, why.
    QStringList restore(const QList<ReleaseRecord> &records, QList<ServiceKey> *inFlight = nullptr);

    // What the rollback button does for the service now.
    RollbackOption rollbackOption(const ServiceKey &service) const;
    // Runs the service's rollback option, recorded as an operator's request with `reason`
    // (optional). Refused, in words, when there is nothing to roll back.
    Result<Done, QString> rollBack(const ServiceKey &service, const QString &reason);
    // The rollbacks that can run for every release started or ended since `since`, by service:
    // what "roll back everything released in the last N minutes" would do.
    QList<RollbackOption> rollbacksSince(TimePoint since) const;

Q_SIGNALS:
    void releaseChanged(const sb::ServiceKey &service);
    void eventRecorded(const sb::ReleaseEvent &event);
    // A release the workspace scheduled could not start.
    void scheduledReleaseRefused(const sb::ServiceKey &service, const QString &reason);
    // The journal could not be written: the actions that waited on it did not run (the
    // engines ask again), and what was not written is lost to the audit trail.
    void journalFailed(const QString &error);

private:
    struct Running;

    const ServiceStatus *observed(const ServiceKey &service) const;
    void evaluateAll();
    void evaluate(const ServiceKey &service);
    template <typename Status>
    void apply(const ServiceKey &service, ReleaseDecision<Status> decision, const QString &actor);
    void record(Release &release, const ReleaseEvent &event);
    // `intent` is the journal entry announcing the action; 0 without a journal.
    void execute(const ServiceKey &service, const QString &releaseId, const ReleaseAction &action,
                 const QString &actor, qint64 intent);
    void failed(const ServiceKey &service, const QString &releaseId, const ReleaseAction &action,
                const Error &error);
    // A rollback redeploy runs the strategy's fast plan: straight to the version, no gates.
    enum class Pace { Planned, Rollback };
    Result<Done, QString> startAs(const QString &actor, const ServiceKey &service,
                                  const QString &version, const QString &planName,
                                  const QString &reason, Pace pace = Pace::Planned);
    Result<Done, QString> commandAs(const QString &actor, const ServiceKey &service,
                                    ReleaseCommand command, const QString &reason);
    // Why a rollback redeploy of `version` could not start now, in the engine's words; empty
    // when it could.
    QString redeployRefusal(const ServiceKey &service, const QString &version) const;
    // Why no operator action can be taken now: the journal cannot be written. Empty otherwise.
    QString journalRefusal() const;
    // Writes entries the controller makes by itself (not from a decision), when journaled.
    void journalOnly(QList<JournalEntry> entries);
    // Reads the earlier events of restored releases and puts them before the new ones.
    void loadHistory(const QStringList &releaseIds);
    void trySchedule(int index, int attemptsLeft);

    WorkspaceSession *m_session;
    Clock *m_clock;
    QString m_operator;
    QHash<ServiceKey, std::shared_ptr<Running>> m_releases;
    Journal *m_journal = nullptr;
    bool m_readOnly = false;
    // Why the journal's last write failed (or it did not open); empty while it works.
    QString m_journalError;
    // Entries to write ahead of the next decision's, so a request comes before what it caused.
    QList<JournalEntry> m_preface;
};

} // namespace sb
