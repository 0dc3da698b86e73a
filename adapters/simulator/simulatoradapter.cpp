#include "simulatoradapter.h"

#include "clock.h"

#include <QTimer>

namespace sb::sim {

namespace {

// Stable across runs and platforms (unlike qHash), so each service's generator depends only on
// the workspace seed and the service's identity.
quint64 fnv1a(const QString &text)
{
    quint64 hash = 14695981039346656037ull;
    for (QChar c : text) {
        hash ^= c.unicode();
        hash *= 1099511628211ull;
    }
    return hash;
}

} // namespace

SimulatorAdapter::SimulatorAdapter(const QString &name, SimulatorSettings settings, Clock *clock)
    : Adapter(name, QStringLiteral("simulator"))
    , m_settings(std::move(settings))
    , m_clock(clock)
    , m_startedAt(clock->now())
{
    for (const ServiceSettings &service : m_settings.services) {
        auto simulated = std::make_unique<SimulatedService>(
            service, m_settings.seed ^ fnv1a(service.service.id()), m_startedAt);
        m_byKey.insert(service.service, simulated.get());
        m_services.push_back(std::move(simulated));
    }
}

SimulatorAdapter::~SimulatorAdapter()
{
    // Script steps and faults may be due hours from now; a reloaded workspace should not leave
    // their timers behind on a real clock.
    for (Clock::TimerId id : std::as_const(m_timers))
        m_clock->cancel(id);
}

AdapterType SimulatorAdapter::adapterType()
{
    AdapterType type{
        QStringLiteral("simulator"),
        QStringLiteral("A simulated fleet with traffic and metrics, on the console's clock"),
        {Capability::Fleet, Capability::Traffic, Capability::Deploy, Capability::Metrics},
        [](const AdapterSpec &spec, const AdapterContext &context) -> std::unique_ptr<Adapter> {
            return std::make_unique<SimulatorAdapter>(
                spec.name, parseSimulatorSettings(spec, *context.workspace), context.clock);
        },
    };
    type.simulated = true;
    return type;
}

void SimulatorAdapter::start()
{
    if (m_started)
        return;
    m_started = true;
    setConnectionState(ConnectionState::Connected, QStringLiteral("simulating %1 services, seed %2")
                                                       .arg(m_services.size())
                                                       .arg(m_settings.seed));
    for (const ScriptStep &step : m_settings.script)
        m_timers.insert(m_clock->schedule(step.at, this, [this, step] { runStep(step); }));
    for (const Fault &fault : m_settings.faults) {
        if (!fault.fromWeightPercent)
            m_timers.insert(
                m_clock->schedule(fault.at, this, [this, fault] { injectFault(fault); }));
        else if (SimulatedService *service = find(fault.service))
            service->armFault(fault);
    }
    scheduleTick();
}

void SimulatorAdapter::tick()
{
    const TimePoint now = m_clock->now();
    for (const auto &service : m_services) {
        const SimulatedService::TickOutcome outcome = service->tick(now, m_settings.tick);
        if (outcome.fleetChanged)
            Q_EMIT fleetChanged(service->key());
        if (outcome.trafficChanged)
            Q_EMIT trafficChanged(service->key());
        Q_EMIT metricsChanged(service->key());
    }
    scheduleTick();
}

void SimulatorAdapter::scheduleTick()
{
    m_timers.remove(m_tickTimer);
    m_tickTimer = m_clock->schedule(m_settings.tick, this, [this] { tick(); });
    m_timers.insert(m_tickTimer);
}

void SimulatorAdapter::runStep(const ScriptStep &step)
{
    // Through the public verbs, so the script exercises what a release engine will call.
    auto report = [this, step](const auto &result) {
        if (!result)
            qWarning("simulator %s: script step at line %d failed: %s", qPrintable(name()),
                     step.line, qPrintable(result.error().message));
    };
    switch (step.kind) {
    case ScriptStep::Kind::Scale: scale(step.service, step.version, step.instances, report); break;
    case ScriptStep::Kind::Weights: setWeights(step.service, step.weights, report); break;
    case ScriptStep::Kind::Switch: switchTo(step.service, step.version, report); break;
    }
}

void SimulatorAdapter::injectFault(const Fault &fault)
{
    SimulatedService *service = find(fault.service);
    if (service && service->applyFault(fault, m_clock->now()))
        Q_EMIT fleetChanged(fault.service);
}

SimulatedService *SimulatorAdapter::find(const ServiceKey &service)
{
    return m_byKey.value(service, nullptr);
}

template <typename T>
Result<T> SimulatorAdapter::unknownService(const ServiceKey &service) const
{
    return Error{Error::Kind::Invalid,
                 QStringLiteral("simulator '%1' does not simulate %2").arg(name(), service.id())};
}

void SimulatorAdapter::fleet(const ServiceKey &service, Callback<FleetSnapshot> done)
{
    SimulatedService *simulated = find(service);
    answerLater<FleetSnapshot>(std::move(done),
                               simulated ? Result<FleetSnapshot>(simulated->fleet(m_clock->now()))
                                         : unknownService<FleetSnapshot>(service));
}

void SimulatorAdapter::traffic(const ServiceKey &service, Callback<TrafficSplit> done)
{
    SimulatedService *simulated = find(service);
    answerLater<TrafficSplit>(std::move(done), simulated
                                                   ? Result<TrafficSplit>(simulated->traffic())
                                                   : unknownService<TrafficSplit>(service));
}

void SimulatorAdapter::setWeights(const ServiceKey &service,
                                  const QMap<QString, double> &weightPercent,
                                  Callback<TrafficSplit> done)
{
    SimulatedService *simulated = find(service);
    if (!simulated)
        return answerLater<TrafficSplit>(std::move(done), unknownService<TrafficSplit>(service));
    Result<TrafficSplit> result = simulated->setWeights(weightPercent);
    if (result)
        Q_EMIT trafficChanged(service);
    answerLater<TrafficSplit>(std::move(done), std::move(result));
}

void SimulatorAdapter::switchTo(const ServiceKey &service, const QString &version,
                                Callback<TrafficSplit> done)
{
    SimulatedService *simulated = find(service);
    if (!simulated)
        return answerLater<TrafficSplit>(std::move(done), unknownService<TrafficSplit>(service));
    Result<TrafficSplit> result = simulated->switchTo(version);
    if (result)
        Q_EMIT trafficChanged(service);
    answerLater<TrafficSplit>(std::move(done), std::move(result));
}

void SimulatorAdapter::scale(const ServiceKey &service, const QString &version, int instances,
                             Callback<Done> done)
{
    SimulatedService *simulated = find(service);
    if (!simulated)
        return answerLater<Done>(std::move(done), unknownService<Done>(service));
    Result<Done> result = simulated->scale(version, instances, m_clock->now());
    if (result)
        Q_EMIT fleetChanged(service);
    answerLater<Done>(std::move(done), std::move(result));
}

void SimulatorAdapter::metrics(const ServiceKey &service, Callback<MetricsSnapshot> done)
{
    SimulatedService *simulated = find(service);
    if (!simulated)
        return answerLater<MetricsSnapshot>(std::move(done),
                                            unknownService<MetricsSnapshot>(service));
    if (const std::optional<TimePoint> until = simulated->metricsDownUntil(m_clock->now())) {
        const QString when = *until == TimePoint::max()
                                 ? QStringLiteral("for the rest of the run")
                                 : QStringLiteral("until %1").arg(formatUtc(*until));
        return answerLater<MetricsSnapshot>(
            std::move(done), Error{Error::Kind::Unavailable,
                                   QStringLiteral("the metrics source of %1 is unreachable "
                                                  "(simulated outage %2)")
                                       .arg(service.id(), when)});
    }
    answerLater<MetricsSnapshot>(std::move(done), Result<MetricsSnapshot>(simulated->metrics(
                                                      m_clock->now(), m_settings.metricsWindow)));
}

} // namespace sb::sim
