#include "simulatedservice.h"

#include <algorithm>
#include <cmath>

namespace sb::sim {

namespace {

constexpr Duration terminatedVisibleFor = std::chrono::seconds(60);
constexpr qsizetype samplesKept = 3600;
// The z-score of the 99th percentile of a normal distribution.
constexpr double z99 = 2.3263478740;
// Health checks and runtime housekeeping keep an instance busy even without requests, so an idle
// version's CPU is small but never zero, as on a real node.
constexpr double idleCoresPerInstance = 0.02;

double normalCdf(double x)
{
    return 0.5 * std::erfc(-x / std::sqrt(2.0));
}

} // namespace

SimulatedService::SimulatedService(ServiceSettings settings, quint64 seed, TimePoint start)
    : m_settings(std::move(settings))
    , m_random(seed)
    , m_activeVersion(m_settings.activeVersion)
{
    bool anyWeight = false;
    for (const VersionSettings &version : m_settings.versions) {
        VersionState &state = m_versions[version.version];
        state.behaviour = version;
        state.desired = version.instances;
        anyWeight |= version.weightPercent.has_value();
    }
    if (anyWeight) {
        QMap<QString, double> weights;
        for (const VersionSettings &version : m_settings.versions)
            weights.insert(version.version, version.weightPercent.value_or(0));
        m_weights = weights;
    } else if (!m_activeVersion.isEmpty()) {
        QMap<QString, double> weights;
        for (const VersionSettings &version : m_settings.versions)
            weights.insert(version.version, version.version == m_activeVersion ? 100 : 0);
        m_weights = weights;
    }
    // The fleet the workspace describes is already up when the console opens.
    for (const VersionSettings &version : m_settings.versions) {
        for (int i = 0; i < version.instances; ++i)
            startInstance(version.version, start, true);
    }
    m_lastShares = effectiveShares();
}

QString SimulatedService::newInstanceId()
{
    static const char alphabet[] = "bcdfghjklmnpqrstvwxz2456789";
    std::uniform_int_distribution<int> pick(0, int(sizeof(alphabet)) - 2);
    // Unique among the instances the service knows now, as a ReplicaSet's pod names are; an id
    // of an instance long forgotten may come back, so a long run never exhausts them.
    for (;;) {
        QString suffix;
        for (int i = 0; i < 5; ++i)
            suffix.append(QLatin1Char(alphabet[pick(m_random)]));
        const QString id = m_settings.service.name + QLatin1Char('-') + suffix;
        const auto at = std::lower_bound(
            m_instances.cbegin(), m_instances.cend(), id,
            [](const SimInstance &i, const QString &key) { return i.instance.id < key; });
        if (at == m_instances.cend() || at->instance.id != id)
            return id;
    }
}

QString SimulatedService::pickZone(const QString &version) const
{
    // Spread each version evenly across zones, as a topology spread constraint would.
    QString best;
    int bestCount = std::numeric_limits<int>::max();
    for (const QString &zone : m_settings.zones) {
        int count = 0;
        for (const SimInstance &i : m_instances) {
            count += i.instance.version == version && i.instance.zone == zone
                     && isLive(i.instance.state);
        }
        if (count < bestCount) {
            best = zone;
            bestCount = count;
        }
    }
    return best;
}

void SimulatedService::startInstance(const QString &version, TimePoint now, bool alreadyReady)
{
    SimInstance sim;
    sim.instance.id = newInstanceId();
    sim.instance.version = version;
    sim.instance.zone = pickZone(version);
    if (alreadyReady) {
        // Up for a while already: somewhere in the last two hours.
        std::uniform_int_distribution<qint64> age(60, 7200);
        sim.instance.state = InstanceState::Ready;
        sim.instance.since = now - std::chrono::seconds(age(m_random));
    } else {
        const qint64 jitter = m_settings.startupJitter.count();
        std::uniform_int_distribution<qint64> spread(-jitter, jitter);
        sim.instance.state = InstanceState::Starting;
        sim.instance.since = now;
        sim.readyAt
            = now + std::max(Duration(1000), m_settings.startup + Duration(spread(m_random)));
    }
    const auto at = std::lower_bound(
        m_instances.begin(), m_instances.end(), sim.instance.id,
        [](const SimInstance &i, const QString &id) { return i.instance.id < id; });
    m_instances.insert(at, sim);
}

void SimulatedService::setState(SimInstance &sim, InstanceState state, TimePoint now)
{
    sim.instance.state = state;
    sim.instance.since = now;
    if (state == InstanceState::Draining)
        sim.leaveAt = now + m_settings.drain;
    else if (state == InstanceState::Failed)
        sim.leaveAt = now + m_settings.replaceAfter;
    else if (state == InstanceState::Terminated)
        sim.forgetAt = now + terminatedVisibleFor;
}

int SimulatedService::readyCount(const QString &version) const
{
    int count = 0;
    for (const SimInstance &sim : m_instances)
        count += sim.instance.version == version && sim.instance.state == InstanceState::Ready;
    return count;
}

bool SimulatedService::failsToStart(const QString &version, TimePoint now)
{
    auto it = m_versions.find(version);
    if (it == m_versions.end())
        return false;
    // A count is spent even inside a failing window, so "the next 3" stays the next 3.
    if (it->startFailuresLeft > 0) {
        --it->startFailuresLeft;
        return true;
    }
    return it->startFailuresUntil && now < *it->startFailuresUntil;
}

bool SimulatedService::reconcile(TimePoint now)
{
    bool changed = false;
    for (auto it = m_versions.begin(); it != m_versions.end(); ++it) {
        const QString &version = it.key();
        // Failed instances hold their slot until they are replaced, as a crashed pod does.
        QList<SimInstance *> holding;
        for (SimInstance &sim : m_instances) {
            const InstanceState s = sim.instance.state;
            if (sim.instance.version == version
                && (s == InstanceState::Starting || s == InstanceState::Ready
                    || s == InstanceState::Failed))
                holding.append(&sim);
        }
        const int surplus = int(holding.size()) - it->desired;
        if (surplus < 0) {
            for (int i = 0; i < -surplus; ++i)
                startInstance(version, now, false);
            changed = true;
        } else if (surplus > 0) {
            // Retire the least useful first: failed, then starting, then the newest ready.
            auto rank = [](const SimInstance *sim) {
                switch (sim->instance.state) {
                case InstanceState::Failed: return 0;
                case InstanceState::Starting: return 1;
                default: return 2;
                }
            };
            std::stable_sort(holding.begin(), holding.end(),
                             [&](const SimInstance *a, const SimInstance *b) {
                                 if (rank(a) != rank(b))
                                     return rank(a) < rank(b);
                                 return a->instance.since > b->instance.since;
                             });
            for (int i = 0; i < surplus; ++i) {
                SimInstance *sim = holding[i];
                setState(*sim,
                         sim->instance.state == InstanceState::Ready ? InstanceState::Draining
                                                                     : InstanceState::Terminated,
                         now);
            }
            changed = true;
        }
    }
    return changed;
}

SimulatedService::TickOutcome SimulatedService::tick(TimePoint now, Duration length)
{
    TickOutcome outcome;
    m_tickLength = length;
    const double failureChance = m_settings.failuresPerInstanceHour
                                 * std::chrono::duration<double>(length).count() / 3600.0;
    std::bernoulli_distribution fails(std::clamp(failureChance, 0.0, 1.0));

    for (SimInstance &sim : m_instances) {
        switch (sim.instance.state) {
        case InstanceState::Starting:
            if (now >= sim.readyAt) {
                setState(sim,
                         failsToStart(sim.instance.version, now) ? InstanceState::Failed
                                                                 : InstanceState::Ready,
                         now);
                outcome.fleetChanged = true;
            }
            break;
        case InstanceState::Ready:
            if (failureChance > 0 && fails(m_random)) {
                setState(sim, InstanceState::Failed, now);
                outcome.fleetChanged = true;
            }
            break;
        case InstanceState::Draining:
        case InstanceState::Failed:
            if (now >= sim.leaveAt) {
                setState(sim, InstanceState::Terminated, now);
                outcome.fleetChanged = true;
            }
            break;
        case InstanceState::Terminated: break;
        }
    }
    const auto forgotten
        = std::remove_if(m_instances.begin(), m_instances.end(), [now](const SimInstance &sim) {
              return sim.instance.state == InstanceState::Terminated && now >= sim.forgetAt;
          });
    if (forgotten != m_instances.end()) {
        m_instances.erase(forgotten, m_instances.end());
        outcome.fleetChanged = true;
    }
    outcome.fleetChanged |= reconcile(now);
    // After the instances' changes, so a share that follows ready instances is this tick's, and
    // before serving, so the tick a stage begins already serves its faults.
    outcome.fleetChanged |= applyArmedFaults(now);

    serveTraffic(now, length);
    const QMap<QString, double> shares = effectiveShares();
    if (!m_weights && shares != m_lastShares)
        outcome.trafficChanged = true;
    m_lastShares = shares;
    return outcome;
}

QMap<QString, double> SimulatedService::effectiveShares() const
{
    if (m_weights)
        return *m_weights;
    QMap<QString, double> shares;
    int ready = 0;
    for (auto it = m_versions.cbegin(); it != m_versions.cend(); ++it)
        ready += readyCount(it.key());
    for (auto it = m_versions.cbegin(); it != m_versions.cend(); ++it) {
        const int count = readyCount(it.key());
        if (count > 0 || it->desired > 0)
            shares.insert(it.key(), ready > 0 ? 100.0 * count / ready : 0.0);
    }
    return shares;
}

void SimulatedService::serveTraffic(TimePoint now, Duration length)
{
    const QMap<QString, double> shares = effectiveShares();
    for (auto it = m_versions.begin(); it != m_versions.end(); ++it) {
        const double share = shares.value(it.key(), 0.0) / 100.0;
        const int ready = readyCount(it.key());
        double requestRate = m_settings.requestsPerSecond * share;
        // Smoke tests call an idle colour's instances directly, not through the router, so
        // pre-switch gates have requests to judge it on while it serves no users.
        if (ready > 0 && !m_activeVersion.isEmpty() && it.key() != m_activeVersion)
            requestRate += m_settings.smokeRequestsPerSecond;
        // Requests routed to a version with no ready instance fail at the balancer.
        TickSample sample = sampleVersion(*it, requestRate, ready > 0, now, length);
        // Only while something runs, so a version not deployed draws nothing and leaves the
        // rest of the run as it was.
        if (ready > 0)
            sampleResources(*it, ready, length, sample);
        it->samples.push_back(std::move(sample));
        while (qsizetype(it->samples.size()) > samplesKept)
            it->samples.pop_front();
    }
}

TickSample SimulatedService::sampleVersion(VersionState &version, double requestRate,
                                           bool reachable, TimePoint now, Duration length)
{
    TickSample sample;
    sample.at = now;
    const auto bounds = LatencyHistogram::defaultBoundsMs();
    sample.bucketCounts.fill(0, qsizetype(bounds.size()) + 1);

    const double seconds = std::chrono::duration<double>(length).count();
    const double expected = requestRate * seconds;
    if (expected <= 0)
        return sample;
    sample.requests = std::poisson_distribution<qint64>(expected)(m_random);
    if (sample.requests == 0)
        return sample;

    double errorRatio = version.behaviour.errorRatio;
    if (version.errorOverride && now < version.errorOverride->second)
        errorRatio = version.errorOverride->first;
    if (!reachable)
        errorRatio = 1.0;
    sample.errors = std::binomial_distribution<qint64>(sample.requests,
                                                       std::clamp(errorRatio, 0.0, 1.0))(m_random);

    double factor = 1.0;
    if (version.latencyFactor && now < version.latencyFactor->second)
        factor = version.latencyFactor->first;
    // Log-normal latency through the configured median and p99, with a little drift per tick.
    const double drift = std::exp(std::normal_distribution<double>(0.0, 0.03)(m_random));
    const double mu = std::log(version.behaviour.p50Ms * factor * drift);
    const double sigma = std::log(version.behaviour.p99Ms / version.behaviour.p50Ms) / z99;

    qint64 remaining = sample.requests;
    double below = 0.0; // probability mass of the buckets already filled
    for (size_t i = 0; i < bounds.size() && remaining > 0; ++i) {
        const double upTo = normalCdf((std::log(bounds[i]) - mu) / sigma);
        const double conditional
            = below >= 1.0 ? 1.0 : std::clamp((upTo - below) / (1.0 - below), 0.0, 1.0);
        const qint64 inBucket
            = std::binomial_distribution<qint64>(remaining, conditional)(m_random);
        sample.bucketCounts[qsizetype(i)] = inBucket;
        remaining -= inBucket;
        below = upTo;
    }
    sample.bucketCounts.last() += remaining;

    // Requests that failed at the balancer never reached the version, so they convert nothing.
    sample.conversions.fill(0, version.behaviour.business.size());
    if (reachable) {
        qsizetype i = 0;
        for (const double ratio : std::as_const(version.behaviour.business))
            sample.conversions[i++]
                = std::binomial_distribution<qint64>(sample.requests, ratio)(m_random);
    }
    return sample;
}

void SimulatedService::sampleResources(VersionState &version, int ready, Duration length,
                                       TickSample &sample)
{
    sample.readySeconds = ready * std::chrono::duration<double>(length).count();
    const double busySeconds = double(sample.requests) * version.behaviour.cpuMsPerRequest / 1000.0;
    const double noise = std::exp(std::normal_distribution<double>(0.0, 0.05)(m_random));
    sample.cpuSeconds = (busySeconds + idleCoresPerInstance * sample.readySeconds) * noise;
    // Pulled back toward the configured size, so it wanders by a percent or two, never away.
    version.memoryDrift = std::clamp(0.8 * version.memoryDrift
                                         + std::normal_distribution<double>(0.0, 0.01)(m_random),
                                     -0.05, 0.05);
    sample.memoryMb = version.behaviour.memoryMb * (1 + version.memoryDrift);
}

FleetSnapshot SimulatedService::fleet(TimePoint now) const
{
    FleetSnapshot snapshot;
    snapshot.service = m_settings.service;
    snapshot.takenAt = now;
    snapshot.instances.reserve(m_instances.size());
    for (const SimInstance &sim : m_instances)
        snapshot.instances.append(sim.instance);
    return snapshot;
}

TrafficSplit SimulatedService::traffic() const
{
    TrafficSplit split;
    split.weightPercent = effectiveShares();
    split.activeVersion = m_activeVersion;
    return split;
}

MetricsSnapshot SimulatedService::metrics(TimePoint now, Duration window) const
{
    MetricsSnapshot snapshot;
    snapshot.at = now;
    snapshot.interval = window;
    const double seconds = std::chrono::duration<double>(window).count();
    const auto bounds = LatencyHistogram::defaultBoundsMs();
    for (auto it = m_versions.cbegin(); it != m_versions.cend(); ++it) {
        LatencyHistogram histogram;
        histogram.boundsMs = QList<double>(bounds.begin(), bounds.end());
        QList<qint64> counts(qsizetype(bounds.size()) + 1, 0);
        QList<qint64> conversions(it->behaviour.business.size(), 0);
        qint64 requests = 0, errors = 0;
        double readySeconds = 0, cpuSeconds = 0;
        double memoryMb = 0; // the latest in the window: memory is a level, not a rate
        int covered = 0;     // ticks inside the window: fewer than it holds just after start
        for (auto sample = it->samples.crbegin(); sample != it->samples.crend(); ++sample) {
            if (sample->at <= now - window)
                break;
            ++covered;
            requests += sample->requests;
            errors += sample->errors;
            for (qsizetype i = 0; i < counts.size(); ++i)
                counts[i] += sample->bucketCounts[i];
            for (qsizetype i = 0; i < sample->conversions.size(); ++i)
                conversions[i] += sample->conversions[i];
            readySeconds += sample->readySeconds;
            cpuSeconds += sample->cpuSeconds;
            if (memoryMb == 0)
                memoryMb = sample->memoryMb;
        }
        const int ready = readyCount(it.key());
        if (requests == 0 && it->desired == 0 && ready == 0)
            continue;
        qint64 running = 0;
        for (qint64 count : counts)
            histogram.cumulativeCounts.append(running += count);

        VersionMetrics metrics;
        metrics.version = it.key();
        metrics.requests = requests;
        const double coveredSeconds
            = std::min(seconds, covered * std::chrono::duration<double>(m_tickLength).count());
        metrics.requestsPerSecond = coveredSeconds > 0 ? double(requests) / coveredSeconds : 0;
        // Errors of the same ticks as `requests`, so llround(requests * errorRatio) gives back
        // exactly the errors served: what a sequential judge counts.
        metrics.errorRatio = requests > 0 ? double(errors) / double(requests) : 0;
        if (requests > 0) {
            metrics.p50Ms = histogram.quantileMs(0.5);
            metrics.p99Ms = histogram.quantileMs(0.99);
            qsizetype i = 0;
            for (auto business = it->behaviour.business.cbegin();
                 business != it->behaviour.business.cend(); ++business, ++i)
                metrics.custom.insert(business.key(), double(conversions[i]) / double(requests));
        }
        // Per ready instance, as the console shows them: a version with none has no figure, not 0.
        if (ready > 0 && readySeconds > 0) {
            metrics.custom.insert(QStringLiteral("cpu"), cpuSeconds / readySeconds);
            metrics.custom.insert(QStringLiteral("memory"), memoryMb);
            // Per request, as gates compare them: a canary sized for its weight carries more
            // load per instance than a baseline kept at full size, but not per request.
            if (requests > 0)
                metrics.custom.insert(QStringLiteral("cpu_per_request"),
                                      1000 * cpuSeconds / double(requests));
        }
        // Counted from the same requests, so its total is `requests`; all zeros for a window
        // without any, which is what was served rather than a missing figure.
        metrics.latency = std::move(histogram);
        snapshot.versions.append(metrics);
    }
    return snapshot;
}

Result<TrafficSplit> SimulatedService::setWeights(const QMap<QString, double> &weightPercent)
{
    double total = 0;
    for (auto it = weightPercent.cbegin(); it != weightPercent.cend(); ++it) {
        if (!m_versions.contains(it.key()))
            return Error{
                Error::Kind::Invalid,
                QStringLiteral("%1 has no version %2").arg(m_settings.service.id(), it.key())};
        if (it.value() < 0 || it.value() > 100)
            return Error{Error::Kind::Invalid,
                         QStringLiteral("weight %1 for %2 is outside 0 to 100")
                             .arg(it.value())
                             .arg(it.key())};
        total += it.value();
    }
    if (std::abs(total - 100) > 0.01)
        return Error{Error::Kind::Invalid,
                     QStringLiteral("weights add up to %1, not 100").arg(total)};
    QMap<QString, double> weights;
    for (auto it = m_versions.cbegin(); it != m_versions.cend(); ++it)
        weights.insert(it.key(), weightPercent.value(it.key(), 0.0));
    m_weights = weights;
    m_activeVersion.clear();
    return traffic();
}

Result<TrafficSplit> SimulatedService::switchTo(const QString &version)
{
    if (!m_versions.contains(version))
        return Error{Error::Kind::Invalid,
                     QStringLiteral("%1 has no version %2").arg(m_settings.service.id(), version)};
    if (readyCount(version) == 0)
        return Error{Error::Kind::Failed,
                     QStringLiteral("%1 %2 has no ready instance; switching would send traffic to "
                                    "nothing")
                         .arg(m_settings.service.id(), version)};
    QMap<QString, double> weights;
    for (auto it = m_versions.cbegin(); it != m_versions.cend(); ++it)
        weights.insert(it.key(), it.key() == version ? 100.0 : 0.0);
    m_weights = weights;
    m_activeVersion = version;
    return traffic();
}

Result<Done> SimulatedService::scale(const QString &version, int instances, TimePoint now)
{
    if (instances < 0)
        return Error{Error::Kind::Invalid,
                     QStringLiteral("cannot scale to %1 instances").arg(instances)};
    auto it = m_versions.find(version);
    if (it == m_versions.end())
        return Error{Error::Kind::Invalid,
                     QStringLiteral("%1 has no version %2 to deploy; declare it in the simulator "
                                    "settings")
                         .arg(m_settings.service.id(), version)};
    it->desired = instances;
    reconcile(now);
    return Done{};
}

bool SimulatedService::crash(const QString &version, int instances, TimePoint now)
{
    // Ready instances first, then starting ones: mid-release a version is often still coming up,
    // and a fault timed then should still fail as many instances as it names.
    int crashed = 0;
    for (const InstanceState state : {InstanceState::Ready, InstanceState::Starting}) {
        for (SimInstance &sim : m_instances) {
            if (crashed == instances)
                return true;
            if (sim.instance.version == version && sim.instance.state == state) {
                setState(sim, InstanceState::Failed, now);
                ++crashed;
            }
        }
    }
    return crashed > 0;
}

std::optional<TimePoint> SimulatedService::metricsDownUntil(TimePoint now) const
{
    if (m_metricsDownUntil && now < *m_metricsDownUntil)
        return m_metricsDownUntil;
    return std::nullopt;
}

bool SimulatedService::applyFault(const Fault &fault, TimePoint now)
{
    if (fault.kind == Fault::Kind::MetricsOutage) {
        m_metricsDownUntil = fault.duration ? now + *fault.duration : TimePoint::max();
        return false;
    }
    auto version = m_versions.find(fault.version);
    if (version == m_versions.end())
        return false;
    const TimePoint until = fault.duration ? now + *fault.duration : TimePoint::max();
    switch (fault.kind) {
    case Fault::Kind::Crash: return crash(fault.version, fault.instances, now);
    case Fault::Kind::ErrorRate: version->errorOverride = std::make_pair(fault.value, until); break;
    case Fault::Kind::ErrorFactor:
        version->errorOverride
            = std::make_pair(std::min(1.0, version->behaviour.errorRatio * fault.value), until);
        break;
    case Fault::Kind::Latency: version->latencyFactor = std::make_pair(fault.value, until); break;
    case Fault::Kind::MetricsOutage: break; // handled above: it is the service's, not a version's
    case Fault::Kind::StartFailure:
        if (fault.duration)
            version->startFailuresUntil
                = std::max(version->startFailuresUntil.value_or(now), until);
        else
            version->startFailuresLeft += fault.instances;
        break;
    }
    return false;
}

void SimulatedService::armFault(const Fault &fault)
{
    Q_ASSERT(fault.fromWeightPercent);
    if (!fault.fromWeightPercent) {
        qWarning("simulated %s: the fault at line %d has no weight to wait for; dropped",
                 qPrintable(key().id()), fault.line);
        return;
    }
    m_armedFaults.append(fault);
}

bool SimulatedService::applyArmedFaults(TimePoint now)
{
    if (m_armedFaults.isEmpty())
        return false;
    const QMap<QString, double> shares = effectiveShares();
    bool fleetChanged = false;
    for (auto fault = m_armedFaults.begin(); fault != m_armedFaults.end();) {
        if (shares.value(fault->version, 0.0) >= *fault->fromWeightPercent) {
            fleetChanged |= applyFault(*fault, now);
            fault = m_armedFaults.erase(fault);
        } else {
            ++fault;
        }
    }
    return fleetChanged;
}

} // namespace sb::sim
