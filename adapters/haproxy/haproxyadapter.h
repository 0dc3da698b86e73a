#pragma once

#include "adapter.h"
#include "adapterregistry.h"
#include "haproxysettings.h"
#include "serverstate.h"

#include <QHash>
#include <QSet>
#include <QTimer>

#include <functional>
#include <optional>

namespace sb {
class Clock;
}

namespace sb::haproxy {

class RuntimeApi;

// Fleet, traffic and deploy through HAProxy's runtime API. Each version of a service runs on
// pre-provisioned servers of one backend: scale admits and retires them (ready, drain, then
// maintenance once their sessions are done), the router sets their weights, and polling the
// servers' state is the fleet. Every verb answers from the event loop within the timeout.
class HaproxyAdapter final : public Adapter,
                             public FleetSource,
                             public TrafficRouter,
                             public Deployer
{
    Q_OBJECT
public:
    HaproxyAdapter(const QString &name, HaproxySettings settings, Clock *clock);
    ~HaproxyAdapter() override;

    static AdapterType adapterType();

    FleetSource *fleetSource() override { return this; }
    TrafficRouter *trafficRouter() override { return this; }
    Deployer *deployer() override { return this; }
    void start() override;

    void fleet(const ServiceKey &service, Callback<FleetSnapshot> done) override;
    void traffic(const ServiceKey &service, Callback<TrafficSplit> done) override;
    void setWeights(const ServiceKey &service, const QMap<QString, double> &weightPercent,
                    Callback<TrafficSplit> done) override;
    void switchTo(const ServiceKey &service, const QString &version,
                  Callback<TrafficSplit> done) override;
    void scale(const ServiceKey &service, const QString &version, int instances,
               Callback<Done> done) override;

    const HaproxySettings &settings() const { return m_settings; }

private:
    // What the adapter remembers of a configured server between observations.
    struct TrackedServer {
        bool inFleet = false; // admitted when last seen
        InstanceState state = InstanceState::Starting;
        TimePoint since;
        // When it was seen (or made) to enter the pool; unset when it was already in the pool
        // the first time the adapter looked.
        std::optional<TimePoint> admittedAt;
        bool upSinceAdmitted = false;
    };

    struct ServiceState {
        ServiceSettings settings;
        bool observed = false;      // `servers` holds a good observation
        QList<ServerState> servers; // the backend's servers, last good observation
        std::optional<Error> error; // why the latest observation is not good
        FleetSnapshot fleet;
        TrafficSplit traffic;
        QHash<QString, TrackedServer> tracked;
        // Servers that scale set to drain, to put into maintenance once their sessions end.
        QSet<QString> retiring;
    };

    ServiceState *find(const ServiceKey &service);
    Error unknownService(const ServiceKey &service) const;
    // Runs `action` once the service has an observation or an error: at once (from the event
    // loop) when it has, else after the poll under way.
    void whenObserved(ServiceState &state, std::function<void()> action);

    void poll();
    void schedulePoll();
    void runWaiting();
    // Takes in what HAProxy reported. Periodic polls also move drained servers to maintenance.
    void applyStates(const BackendStates &states, bool periodic);
    // Every service answers `error` until HAProxy is read again.
    void applyFailure(const Error &error, ConnectionState connection);
    void setServiceError(ServiceState &state, const Error &error);
    void observe(ServiceState &state, const QList<ServerState> &servers);
    InstanceState classify(const ServerState &server, TrackedServer &tracked, TimePoint now) const;
    TrafficSplit splitOf(const ServiceState &state) const;
    void retireDrained(ServiceState &state);

    // Sends `changes` in one command line followed by the state commands, takes in the state
    // read back, and answers Done or the first command HAProxy refused.
    void runChanges(const ServiceKey &service, const QStringList &changes,
                    std::function<void(ServiceState &)> beforeReadBack, Callback<Done> done);
    void route(const ServiceKey &service, const QMap<QString, double> &weightPercent,
               Callback<TrafficSplit> done);
    Result<QStringList> weightCommands(const ServiceState &state,
                                       const QMap<QString, double> &weightPercent) const;
    QString serverRef(const ServiceState &state, const QString &server) const;

    HaproxySettings m_settings;
    Clock *m_clock;
    RuntimeApi *m_api;
    QList<ServiceState> m_services;
    QTimer m_pollTimer;
    bool m_started = false;
    bool m_pollInFlight = false;
    QList<std::function<void()>> m_waiting;
};

} // namespace sb::haproxy
