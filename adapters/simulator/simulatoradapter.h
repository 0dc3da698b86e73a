#pragma once

#include "adapter.h"
#include "adapterregistry.h"
#include "clock.h"
#include "simulatedservice.h"
#include "simulatorsettings.h"

#include <QHash>
#include <QSet>

#include <memory>

namespace sb::sim {

// Every capability, on the workspace's clock: a deterministic company fleet for the demo, the
// tests and the benchmarks. Verbs answer on the next turn of the event loop, like a real backend.
class SimulatorAdapter final : public Adapter,
                               public FleetSource,
                               public TrafficRouter,
                               public Deployer,
                               public MetricsSource
{
    Q_OBJECT
public:
    SimulatorAdapter(const QString &name, SimulatorSettings settings, Clock *clock);
    ~SimulatorAdapter() override;

    static AdapterType adapterType();

    FleetSource *fleetSource() override { return this; }
    TrafficRouter *trafficRouter() override { return this; }
    Deployer *deployer() override { return this; }
    MetricsSource *metricsSource() override { return this; }
    void start() override;

    void fleet(const ServiceKey &service, Callback<FleetSnapshot> done) override;
    void traffic(const ServiceKey &service, Callback<TrafficSplit> done) override;
    void setWeights(const ServiceKey &service, const QMap<QString, double> &weightPercent,
                    Callback<TrafficSplit> done) override;
    void switchTo(const ServiceKey &service, const QString &version,
                  Callback<TrafficSplit> done) override;
    void scale(const ServiceKey &service, const QString &version, int instances,
               Callback<Done> done) override;
    void metrics(const ServiceKey &service, Callback<MetricsSnapshot> done) override;

    const SimulatorSettings &settings() const { return m_settings; }

private:
    SimulatedService *find(const ServiceKey &service);
    template <typename T>
    Result<T> unknownService(const ServiceKey &service) const;
    void tick();
    void scheduleTick();
    void runStep(const ScriptStep &step);
    void injectFault(const Fault &fault);

    SimulatorSettings m_settings;
    Clock *m_clock;
    TimePoint m_startedAt;
    std::vector<std::unique_ptr<SimulatedService>> m_services;
    QHash<ServiceKey, SimulatedService *> m_byKey;
    bool m_started = false;
    // Clock callbacks to cancel when the adapter goes. Script and fault timers stay listed after
    // they fire (cancelling a finished timer does nothing); the tick timer is replaced each tick.
    QSet<Clock::TimerId> m_timers;
    Clock::TimerId m_tickTimer = 0;
};

} // namespace sb::sim
