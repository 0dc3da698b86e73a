#include "workspacesession.h"

#include "clock.h"
#include "workspaceloader.h"

#include <QPointer>
#include <QTimer>

namespace sb {

WorkspaceSession::WorkspaceSession(Workspace workspace, Clock *clock)
    : m_workspace(std::move(workspace))
    , m_clock(clock)
{}

WorkspaceSession::~WorkspaceSession() = default;

Result<std::unique_ptr<WorkspaceSession>, Diagnostic>
WorkspaceSession::open(const QString &path, const AdapterRegistry &registry, Clock *clock)
{
    Result<Workspace, Diagnostic> loaded = loadWorkspace(path, registry);
    if (!loaded)
        return loaded.error();

    std::unique_ptr<WorkspaceSession> session(
        new WorkspaceSession(std::move(loaded).value(), clock));
    const AdapterContext context{clock, &session->m_workspace};
    for (const AdapterSpec &spec : session->m_workspace.adapters) {
        const AdapterType *type = registry.find(spec.type);
        Q_ASSERT(type); // the loader rejects unknown types
        try {
            std::unique_ptr<Adapter> adapter = type->create(spec, context);
            if (!adapter)
                return Diagnostic{spec.file, spec.line, 1,
                                  QStringLiteral("adapter '%1' of type '%2' could not be created")
                                      .arg(spec.name, spec.type)};
            session->m_adapters.push_back(std::move(adapter));
        } catch (const DiagnosticError &error) {
            Diagnostic diagnostic = error.diagnostic();
            diagnostic.sourceLine = sourceLineOf(session->m_workspace.source, diagnostic.line);
            return diagnostic;
        }
    }

    for (const ServiceSpec &service : session->m_workspace.services) {
        session->m_rowOf.insert(service.key, int(session->m_snapshot.services.size()));
        ServiceStatus status;
        status.key = service.key;
        status.strategy = service.strategy;
        session->m_snapshot.services.append(status);
    }
    session->m_snapshot.at = clock->now();
    return session;
}

Adapter *WorkspaceSession::adapterFor(const ServiceKey &service, Capability capability) const
{
    const ServiceSpec *spec = m_workspace.service(service);
    if (!spec)
        return nullptr;
    const QString name = spec->bindings.value(capability);
    for (const auto &adapter : m_adapters) {
        if (adapter->name() == name)
            return adapter.get();
    }
    return nullptr;
}

void WorkspaceSession::start()
{
    for (const auto &adapter : m_adapters) {
        connect(adapter.get(), &Adapter::fleetChanged, this,
                [this](const ServiceKey &key) { refetch(key, Capability::Fleet); });
        connect(adapter.get(), &Adapter::trafficChanged, this,
                [this](const ServiceKey &key) { refetch(key, Capability::Traffic); });
        connect(adapter.get(), &Adapter::metricsChanged, this,
                [this](const ServiceKey &key) { refetch(key, Capability::Metrics); });
        adapter->start();
    }
    for (const ServiceSpec &service : m_workspace.services) {
        for (Capability capability : {Capability::Fleet, Capability::Traffic, Capability::Metrics})
            refetch(service.key, capability);
    }
}

int WorkspaceSession::indexOf(const ServiceKey &service) const
{
    return m_rowOf.value(service, -1);
}

void WorkspaceSession::refetch(const ServiceKey &service, Capability capability)
{
    Adapter *adapter = adapterFor(service, capability);
    if (!adapter || indexOf(service) < 0)
        return;
    // An adapter bound to one service may announce changes to services bound elsewhere.
    const ServiceSpec *spec = m_workspace.service(service);
    if (spec->bindings.value(capability) != adapter->name())
        return;

    const Request request(service, capability);
    if (auto it = m_inFlight.find(request); it != m_inFlight.end()) {
        *it = true;
        return;
    }
    switch (capability) {
    case Capability::Fleet:
        if (FleetSource *source = adapter->fleetSource()) {
            m_inFlight.insert(request, false);
            source->fleet(service,
                          answerInto(request, &ServiceStatus::fleet, &ServiceStatus::fleetError));
        }
        break;
    case Capability::Traffic:
        if (TrafficRouter *router = adapter->trafficRouter()) {
            m_inFlight.insert(request, false);
            router->traffic(service, answerInto(request, &ServiceStatus::traffic,
                                                &ServiceStatus::trafficError));
        }
        break;
    case Capability::Metrics:
        if (MetricsSource *source = adapter->metricsSource()) {
            m_inFlight.insert(request, false);
            source->metrics(service, answerInto(request, &ServiceStatus::metrics,
                                                &ServiceStatus::metricsError));
        }
        break;
    case Capability::Deploy: break;
    }
}

template <typename T>
Callback<T> WorkspaceSession::answerInto(const Request &request,
                                         std::optional<T> ServiceStatus::*observation,
                                         QString ServiceStatus::*error)
{
    QPointer<WorkspaceSession> self(this);
    return [self, request, observation, error](Result<T> result) {
        if (!self)
            return;
        ServiceStatus &status = self->m_snapshot.services[self->indexOf(request.first)];
        if (result) {
            status.*observation = std::move(result).value();
            (status.*error).clear();
        } else {
            // The last good observation stays; the error says why it is not fresh.
            status.*error = result.error().message;
        }
        self->notifySoon();
        if (self->m_inFlight.take(request))
            self->refetch(request.first, request.second);
    };
}

void WorkspaceSession::notifySoon()
{
    if (m_notifyPending)
        return;
    m_notifyPending = true;
    QTimer::singleShot(0, this, [this] {
        m_notifyPending = false;
        m_snapshot.at = m_clock->now();
        Q_EMIT snapshotChanged();
    });
}

} // namespace sb
