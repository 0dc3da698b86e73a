#pragma once

#include "adapter.h"
#include "adapterregistry.h"
#include "diagnostic.h"
#include "fleet.h"
#include "result.h"
#include "workspace.h"

#include <QHash>
#include <QObject>

#include <memory>
#include <vector>

namespace sb {

class Clock;

// A loaded workspace with its adapters built and the console's picture of every service, kept
// current from the adapters' change signals. Opening is all-or-nothing: any problem in the file
// or in an adapter's settings yields a Diagnostic and no session.
class WorkspaceSession : public QObject
{
    Q_OBJECT
public:
    static Result<std::unique_ptr<WorkspaceSession>, Diagnostic>
    open(const QString &path, const AdapterRegistry &registry, Clock *clock);
    ~WorkspaceSession() override;

    const Workspace &workspace() const { return m_workspace; }
    const std::vector<std::unique_ptr<Adapter>> &adapters() const { return m_adapters; }
    Adapter *adapterFor(const ServiceKey &service, Capability capability) const;
    Clock *clock() const { return m_clock; }

    // Starts every adapter and fetches every observation once.
    void start();
    const ConsoleSnapshot &snapshot() const { return m_snapshot; }

Q_SIGNALS:
    // Coalesced: several observations arriving together produce one signal.
    void snapshotChanged();

private:
    using Request = std::pair<ServiceKey, Capability>;

    WorkspaceSession(Workspace workspace, Clock *clock);
    void refetch(const ServiceKey &service, Capability capability);
    // The callback for one fetch: stores the observation (or its error) into the snapshot.
    template <typename T>
    Callback<T> answerInto(const Request &request, std::optional<T> ServiceStatus::*observation,
                           QString ServiceStatus::*error);
    int indexOf(const ServiceKey &service) const;
    void notifySoon();

    Workspace m_workspace;
    Clock *m_clock;
    std::vector<std::unique_ptr<Adapter>> m_adapters;
    ConsoleSnapshot m_snapshot;
    QHash<ServiceKey, int> m_rowOf;
    // One request per service and capability at a time; a change announced meanwhile asks again
    // once the answer is in (true), so a slow backend is never flooded.
    QHash<Request, bool> m_inFlight;
    bool m_notifyPending = false;
};

} // namespace sb
