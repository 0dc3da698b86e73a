#include "haproxyadapter.h"

#include "clock.h"
#include "runtimeapi.h"

#include <QTimer>

#include <algorithm>
#include <cmath>
#include <utility>

namespace sb::haproxy {

namespace {

QString formatPercent(double percent)
{
    return QString::number(percent, 'g', 4) + QStringLiteral(" %");
}

} // namespace

HaproxyAdapter::HaproxyAdapter(const QString &name, HaproxySettings settings, Clock *clock)
    : Adapter(name, QStringLiteral("haproxy"))
    , m_settings(std::move(settings))
    , m_clock(clock)
    , m_api(new RuntimeApi(m_settings.runtimeApi, m_settings.timeout, this))
{
    for (const ServiceSettings &service : m_settings.services) {
        ServiceState state;
        state.settings = service;
        m_services.append(state);
    }
    m_pollTimer.setSingleShot(true);
    connect(&m_pollTimer, &QTimer::timeout, this, &HaproxyAdapter::poll);
}

HaproxyAdapter::~HaproxyAdapter() = default;

AdapterType HaproxyAdapter::adapterType()
{
    return AdapterType{
        QStringLiteral("haproxy"),
        QStringLiteral("HAProxy through its runtime API: servers of a backend as the fleet, "
                       "their weights as the traffic split"),
        {Capability::Fleet, Capability::Traffic, Capability::Deploy},
        [](const AdapterSpec &spec, const AdapterContext &context) -> std::unique_ptr<Adapter> {
            return std::make_unique<HaproxyAdapter>(
                spec.name, parseHaproxySettings(spec, *context.workspace), context.clock);
        },
    };
}

void HaproxyAdapter::start()
{
    if (m_started)
        return;
    m_started = true;
    setConnectionState(ConnectionState::Connecting,
                       QStringLiteral("connecting to HAProxy's runtime API at %1")
                           .arg(m_settings.runtimeApi.display()));
    poll();
}

HaproxyAdapter::ServiceState *HaproxyAdapter::find(const ServiceKey &service)
{
    for (ServiceState &state : m_services) {
        if (state.settings.service == service)
            return &state;
    }
    return nullptr;
}

Error HaproxyAdapter::unknownService(const ServiceKey &service) const
{
    return Error{Error::Kind::Invalid,
                 QStringLiteral("haproxy '%1' does not serve %2; list it under the adapter's "
                                "services with its backend and versions")
                     .arg(name(), service.id())};
}

void HaproxyAdapter::whenObserved(ServiceState &state, std::function<void()> action)
{
    if (state.observed || state.error) {
        QTimer::singleShot(0, this, std::move(action));
        return;
    }
    m_waiting.append(std::move(action));
    poll();
}

void HaproxyAdapter::runWaiting()
{
    const QList<std::function<void()>> waiting = std::exchange(m_waiting, {});
    for (const std::function<void()> &action : waiting)
        action();
}

// Observing ----------------------------------------------------------------------------------

void HaproxyAdapter::poll()
{
    if (m_pollInFlight)
        return;
    m_pollInFlight = true;
    const QStringList commands = stateCommands();
    m_api->run(commands, [this](Result<QStringList> answers) {
        m_pollInFlight = false;
        if (!answers) {
            applyFailure(answers.error(), ConnectionState::Disconnected);
        } else {
            const Result<BackendStates> states
                = parseServerStates(answers.value().value(0), answers.value().value(1));
            if (states)
                applyStates(states.value(), true);
            else
                applyFailure(states.error(), ConnectionState::Degraded);
        }
        runWaiting();
        schedulePoll();
    });
}

void HaproxyAdapter::schedulePoll()
{
    if (m_started && !m_pollTimer.isActive())
        m_pollTimer.start(m_settings.pollInterval);
}

void HaproxyAdapter::applyFailure(const Error &error, ConnectionState connection)
{
    for (ServiceState &state : m_services)
        setServiceError(state, error);
    setConnectionState(connection, error.message);
}

void HaproxyAdapter::setServiceError(ServiceState &state, const Error &error)
{
    if (state.error == error)
        return;
    state.error = error;
    // The answers change from observations to this error.
    Q_EMIT fleetChanged(state.settings.service);
    Q_EMIT trafficChanged(state.settings.service);
}

void HaproxyAdapter::applyStates(const BackendStates &states, bool periodic)
{
    QString firstProblem;
    QStringList backends;
    for (ServiceState &state : m_services) {
        const ServiceSettings &settings = state.settings;
        const auto backend = states.constFind(settings.backend);
        if (backend == states.constEnd()) {
            setServiceError(state,
                            Error{Error::Kind::Invalid,
                                  QStringLiteral("HAProxy has no backend %1 (for %2); "
                                                 "check `backend:` in the settings of "
                                                 "haproxy '%3' against haproxy.cfg")
                                      .arg(settings.backend, settings.service.id(), name())});
        } else {
            QStringList missing;
            for (const VersionSlots &placement : settings.versions) {
                for (const QString &server : placement.servers) {
                    if (!findServer(*backend, server))
                        missing.append(
                            QStringLiteral("%1 (version %2)").arg(server, placement.version));
                }
            }
            if (!missing.isEmpty()) {
                setServiceError(
                    state,
                    Error{Error::Kind::Invalid,
                          QStringLiteral("backend %1 has no server %2, listed for %3 in the "
                                         "settings of haproxy '%4'; add it to the backend in "
                                         "haproxy.cfg or remove it from versions")
                              .arg(settings.backend, missing.join(QStringLiteral(", ")),
                                   settings.service.id(), name())});
            } else {
                observe(state, *backend);
                backends.append(settings.backend);
                if (periodic)
                    retireDrained(state);
            }
        }
        if (state.error && firstProblem.isEmpty())
            firstProblem = state.error->message;
    }
    if (!firstProblem.isEmpty())
        setConnectionState(ConnectionState::Degraded, firstProblem);
    else
        setConnectionState(
            ConnectionState::Connected,
            QStringLiteral("HAProxy at %1, watching %2 %3")
                .arg(m_settings.runtimeApi.display(),
                     backends.size() == 1 ? QStringLiteral("backend") : QStringLiteral("backends"),
                     backends.join(QStringLiteral(", "))));
}

void HaproxyAdapter::observe(ServiceState &state, const QList<ServerState> &servers)
{
    const TimePoint now = m_clock->now();
    const bool firstLook = !state.observed;
    QList<Instance> instances;
    for (const VersionSlots &placement : state.settings.versions) {
        for (const QString &name : placement.servers) {
            const ServerState &server = *findServer(servers, name);
            TrackedServer &tracked = state.tracked[name];
            if (!server.admitted()) {
                tracked = TrackedServer{};
                continue;
            }
            if (!tracked.inFleet) {
                // Already in the pool at the first look: how long it has been there is unknown.
                tracked.admittedAt = firstLook ? std::nullopt : std::optional<TimePoint>(now);
                tracked.upSinceAdmitted = false;
            }
            const InstanceState instanceState = classify(server, tracked, now);
            if (!tracked.inFleet || tracked.state != instanceState) {
                tracked.inFleet = true;
                tracked.state = instanceState;
                tracked.since = now;
            }
            instances.append(Instance{name, placement.version, tracked.state, tracked.since, {}});
        }
    }
    std::sort(instances.begin(), instances.end(),
              [](const Instance &a, const Instance &b) { return a.id < b.id; });

    const bool hadError = state.error.has_value();
    const bool wasObserved = state.observed;
    state.servers = servers;
    state.observed = true;
    state.error.reset();
    const bool fleetDiffers = !wasObserved || hadError || instances != state.fleet.instances;
    state.fleet = FleetSnapshot{state.settings.service, now, instances};
    const TrafficSplit split = splitOf(state);
    const bool trafficDiffers = !wasObserved || hadError || split != state.traffic;
    state.traffic = split;
    if (fleetDiffers)
        Q_EMIT fleetChanged(state.settings.service);
    if (trafficDiffers)
        Q_EMIT trafficChanged(state.settings.service);
}

InstanceState HaproxyAdapter::classify(const ServerState &server, TrackedServer &tracked,
                                       TimePoint now) const
{
    using Operational = ServerState::Operational;
    if (server.draining() || server.operational == Operational::Stopping)
        return InstanceState::Draining;
    // HAProxy counts a server leaving maintenance as up until its first check says otherwise.
    if (server.operational == Operational::Starting || server.awaitingFirstCheck())
        return InstanceState::Starting;
    if (server.operational == Operational::Running) {
        tracked.upSinceAdmitted = true;
        return InstanceState::Ready;
    }
    // Down by its checks: a server just brought in may still be booting.
    if (!tracked.upSinceAdmitted && tracked.admittedAt
        && now - *tracked.admittedAt < m_settings.startTimeout)
        return InstanceState::Starting;
    return InstanceState::Failed;
}

TrafficSplit HaproxyAdapter::splitOf(const ServiceState &state) const
{
    QMap<QString, int> weightOf;
    int total = 0;
    for (const VersionSlots &placement : state.settings.versions) {
        for (const QString &name : placement.servers) {
            const ServerState *server = findServer(state.servers, name);
            if (!server || !server->admitted())
                continue;
            weightOf[placement.version] += server->serving() ? server->weight : 0;
            total += server->serving() ? server->weight : 0;
        }
    }
    TrafficSplit split;
    for (auto it = weightOf.cbegin(); it != weightOf.cend(); ++it) {
        split.weightPercent.insert(it.key(), total > 0 ? 100.0 * it.value() / total : 0.0);
        if (total > 0 && it.value() == total)
            split.activeVersion = it.key();
    }
    return split;
}

void HaproxyAdapter::retireDrained(ServiceState &state)
{
    QStringList commands;
    const QSet<QString> retiring = state.retiring;
    for (const QString &name : retiring) {
        const ServerState *server = findServer(state.servers, name);
        if (!server || !server->admitted() || !server->draining()) {
            // Already in maintenance, or brought back by someone else: nothing left to do.
            state.retiring.remove(name);
        } else if (server->sessions == 0) {
            commands.append(
                QStringLiteral("set server %1 state maint").arg(serverRef(state, name)));
        }
    }
    if (commands.isEmpty())
        return;
    commands.sort();
    const ServiceKey service = state.settings.service;
    runChanges(service, commands, {}, [this, service](Result<Done> result) {
        if (!result)
            qWarning("haproxy %s: could not put drained servers of %s into maintenance: %s",
                     qPrintable(name()), qPrintable(service.id()),
                     qPrintable(result.error().message));
    });
}

// Verbs --------------------------------------------------------------------------------------

void HaproxyAdapter::fleet(const ServiceKey &service, Callback<FleetSnapshot> done)
{
    ServiceState *state = find(service);
    if (!state)
        return answerLater<FleetSnapshot>(std::move(done), unknownService(service));
    whenObserved(*state, [this, service, done = std::move(done)] {
        const ServiceState &state = *find(service);
        done(state.error ? Result<FleetSnapshot>(*state.error)
                         : Result<FleetSnapshot>(state.fleet));
    });
}

void HaproxyAdapter::traffic(const ServiceKey &service, Callback<TrafficSplit> done)
{
    ServiceState *state = find(service);
    if (!state)
        return answerLater<TrafficSplit>(std::move(done), unknownService(service));
    whenObserved(*state, [this, service, done = std::move(done)] {
        const ServiceState &state = *find(service);
        done(state.error ? Result<TrafficSplit>(*state.error)
                         : Result<TrafficSplit>(state.traffic));
    });
}

void HaproxyAdapter::setWeights(const ServiceKey &service,
                                const QMap<QString, double> &weightPercent,
                                Callback<TrafficSplit> done)
{
    ServiceState *state = find(service);
    if (!state)
        return answerLater<TrafficSplit>(std::move(done), unknownService(service));
    double sum = 0;
    for (auto it = weightPercent.cbegin(); it != weightPercent.cend(); ++it) {
        if (!state->settings.find(it.key()))
            return answerLater<TrafficSplit>(
                std::move(done),
                Error{Error::Kind::Invalid,
                      QStringLiteral("version '%1' of %2 has no servers in the settings of "
                                     "haproxy '%3' (it knows %4); list its servers under versions")
                          .arg(it.key(), service.id(), name(),
                               state->settings.versionNames().join(QStringLiteral(", ")))});
        if (!(it.value() >= 0 && it.value() <= 100))
            return answerLater<TrafficSplit>(
                std::move(done), Error{Error::Kind::Invalid,
                                       QStringLiteral("the weight of version '%1' of %2 is %3; "
                                                      "give a percentage from 0 to 100")
                                           .arg(it.key(), service.id())
                                           .arg(it.value())});
        sum += it.value();
    }
    if (std::abs(sum - 100) > 0.01)
        return answerLater<TrafficSplit>(
            std::move(done), Error{Error::Kind::Invalid,
                                   QStringLiteral("the weights asked for %1 add up to %2, not 100")
                                       .arg(service.id(), formatPercent(sum))});
    route(service, weightPercent, std::move(done));
}

void HaproxyAdapter::switchTo(const ServiceKey &service, const QString &version,
                              Callback<TrafficSplit> done)
{
    ServiceState *state = find(service);
    if (!state)
        return answerLater<TrafficSplit>(std::move(done), unknownService(service));
    if (!state->settings.find(version))
        return answerLater<TrafficSplit>(
            std::move(done),
            Error{Error::Kind::Invalid,
                  QStringLiteral("cannot switch %1 to version '%2': it has no servers in the "
                                 "settings of haproxy '%3' (it knows %4)")
                      .arg(service.id(), version, name(),
                           state->settings.versionNames().join(QStringLiteral(", ")))});
    route(service, {{version, 100.0}}, std::move(done));
}

void HaproxyAdapter::route(const ServiceKey &service, const QMap<QString, double> &weightPercent,
                           Callback<TrafficSplit> done)
{
    whenObserved(*find(service), [this, service, weightPercent, done = std::move(done)] {
        ServiceState &state = *find(service);
        if (state.error)
            return done(*state.error);
        const Result<QStringList> commands = weightCommands(state, weightPercent);
        if (!commands)
            return done(commands.error());
        runChanges(service, commands.value(), {}, [this, service, done](Result<Done> result) {
            const ServiceState &state = *find(service);
            if (!result)
                return done(result.error());
            if (state.error)
                return done(*state.error);
            done(state.traffic);
        });
    });
}

Result<QStringList> HaproxyAdapter::weightCommands(const ServiceState &state,
                                                   const QMap<QString, double> &weightPercent) const
{
    QMap<QString, QStringList> serving;
    for (auto it = weightPercent.cbegin(); it != weightPercent.cend(); ++it) {
        const VersionSlots &placement = *state.settings.find(it.key());
        QStringList servers;
        for (const QString &name : placement.servers) {
            const ServerState *server = findServer(state.servers, name);
            if (server && server->serving())
                servers.append(name);
        }
        if (servers.isEmpty() && it.value() > 0)
            return Error{Error::Kind::Invalid,
                         QStringLiteral("version %1 of %2 has no server taking requests in "
                                        "backend %3 (%4 are in maintenance or draining), so it "
                                        "cannot take %5 of the traffic; scale it first")
                             .arg(it.key(), state.settings.service.id(), state.settings.backend,
                                  placement.servers.join(QStringLiteral(", ")),
                                  formatPercent(it.value()))};
        serving.insert(it.key(), servers);
    }
    const QHash<QString, int> weights = weightsForSplit(weightPercent, serving);
    // Every server of every version, so the whole split changes in one go.
    QStringList commands;
    for (const VersionSlots &placement : state.settings.versions) {
        for (const QString &name : placement.servers)
            commands.append(QStringLiteral("set weight %1 %2")
                                .arg(serverRef(state, name))
                                .arg(weights.value(name, 0)));
    }
    return commands;
}

void HaproxyAdapter::scale(const ServiceKey &service, const QString &version, int instances,
                           Callback<Done> done)
{
    ServiceState *found = find(service);
    if (!found)
        return answerLater<Done>(std::move(done), unknownService(service));
    const VersionSlots *placement = found->settings.find(version);
    if (!placement)
        return answerLater<Done>(
            std::move(done),
            Error{Error::Kind::Invalid,
                  QStringLiteral("cannot scale version '%1' of %2: it has no servers in the "
                                 "settings of haproxy '%3' (it knows %4); list its servers under "
                                 "versions")
                      .arg(version, service.id(), name(),
                           found->settings.versionNames().join(QStringLiteral(", ")))});
    if (instances < 0)
        return answerLater<Done>(
            std::move(done),
            Error{Error::Kind::Invalid, QStringLiteral("cannot scale %1 %2 to %3 instances")
                                            .arg(service.id(), version)
                                            .arg(instances)});
    if (instances > placement->servers.size())
        return answerLater<Done>(
            std::move(done),
            Error{Error::Kind::Failed,
                  QStringLiteral("backend %1 has %2 servers for %3 (%4); add server lines to "
                                 "haproxy.cfg and list them under versions, or ask for fewer")
                      .arg(found->settings.backend)
                      .arg(placement->servers.size())
                      .arg(version, placement->servers.join(QStringLiteral(", ")))});

    whenObserved(*found, [this, service, version, instances, done = std::move(done)] {
        ServiceState &state = *find(service);
        if (state.error)
            return done(*state.error);
        const QStringList &servers = state.settings.find(version)->servers;

        QStringList admitting, retiring, stateChanges;
        QMap<QString, QStringList> servingAfter; // by version
        for (const VersionSlots &placement : state.settings.versions) {
            for (const QString &name : placement.servers) {
                const ServerState &server = *findServer(state.servers, name);
                const bool mine = placement.version == version;
                const bool keep = mine ? servers.indexOf(name) < instances : server.serving();
                if (keep)
                    servingAfter[placement.version].append(name);
                if (!mine)
                    continue;
                if (keep && !server.serving()) {
                    admitting.append(name);
                    stateChanges.append(
                        QStringLiteral("set server %1 state ready").arg(serverRef(state, name)));
                } else if (!keep && server.admitted()) {
                    retiring.append(name);
                    if (!server.draining())
                        stateChanges.append(QStringLiteral("set server %1 state drain")
                                                .arg(serverRef(state, name)));
                }
            }
        }

        // Weights first, so a server entering the pool already has the weight it should take
        // requests by.
        QStringList weightChanges;
        auto setWeight = [&](const QString &name, int weight) {
            if (findServer(state.servers, name)->weight != weight)
                weightChanges.append(
                    QStringLiteral("set weight %1 %2").arg(serverRef(state, name)).arg(weight));
        };
        if (state.settings.routerSetsWeights) {
            // The router's split stays as it is: respread over the servers that remain, unless a
            // version carrying traffic is left with none (then HAProxy shares its part out).
            bool carrying = false, stranded = false;
            for (auto it = state.traffic.weightPercent.cbegin();
                 it != state.traffic.weightPercent.cend(); ++it) {
                if (it.value() > 0) {
                    carrying = true;
                    stranded |= servingAfter.value(it.key()).isEmpty();
                }
            }
            if (carrying && !stranded) {
                const QHash<QString, int> weights
                    = weightsForSplit(state.traffic.weightPercent, servingAfter);
                for (const QStringList &names : std::as_const(servingAfter)) {
                    for (const QString &name : names)
                        setWeight(name, weights.value(name, 0));
                }
            } else {
                for (const QString &name : std::as_const(admitting))
                    setWeight(name, 0);
            }
        } else {
            for (const QString &name : std::as_const(admitting))
                setWeight(name, findServer(state.servers, name)->configWeight);
        }

        if (weightChanges.isEmpty() && stateChanges.isEmpty()) {
            for (const QString &name : std::as_const(retiring))
                state.retiring.insert(name);
            return done(Done{});
        }
        // Noted once HAProxy has taken the changes: a poll answered before them must not see
        // a server to retire that is not draining yet.
        runChanges(
            service, weightChanges + stateChanges,
            [this, admitting, retiring](ServiceState &state) {
                for (const QString &name : admitting) {
                    state.retiring.remove(name);
                    TrackedServer &tracked = state.tracked[name];
                    tracked.admittedAt = m_clock->now();
                    tracked.upSinceAdmitted = false;
                }
                for (const QString &name : retiring)
                    state.retiring.insert(name);
            },
            std::move(done));
    });
}

void HaproxyAdapter::runChanges(const ServiceKey &service, const QStringList &changes,
                                std::function<void(ServiceState &)> beforeReadBack,
                                Callback<Done> done)
{
    m_api->run(changes + stateCommands(), [this, service, changes, beforeReadBack,
                                           done](Result<QStringList> answers) {
        if (!answers) {
            applyFailure(answers.error(), ConnectionState::Disconnected);
            return done(answers.error());
        }
        if (beforeReadBack)
            beforeReadBack(*find(service));
        const QStringList &texts = answers.value();
        const Result<BackendStates> states
            = parseServerStates(texts.value(changes.size()), texts.value(changes.size() + 1));
        if (states)
            applyStates(states.value(), false);
        else
            applyFailure(states.error(), ConnectionState::Degraded);
        for (qsizetype i = 0; i < changes.size(); ++i) {
            const QString refusal = texts.value(i).trimmed();
            if (refusal.isEmpty())
                continue;
            QString message = QStringLiteral("HAProxy refused `%1`: %2").arg(changes[i], refusal);
            if (refusal.contains(QLatin1String("Permission denied")))
                message += QStringLiteral("; the stats socket needs `level admin` in haproxy.cfg");
            return done(Error{Error::Kind::Failed, message});
        }
        if (!states)
            return done(states.error());
        done(Done{});
    });
}

QString HaproxyAdapter::serverRef(const ServiceState &state, const QString &server) const
{
    return state.settings.backend + QLatin1Char('/') + server;
}

} // namespace sb::haproxy
