#include "syntheticfleet.h"

#include "clock.h"

#include <algorithm>
#include <array>
#include <cmath>

#include <QSet>

namespace sb::bench {

namespace {

const std::array prefixes{"checkout", "payments",  "search",  "catalog",   "auth",
                          "notify",   "inventory", "pricing", "shipping",  "billing",
                          "ledger",   "profile",   "reviews", "recommend", "cart",
                          "orders",   "returns",   "loyalty", "media",     "gateway"};
const std::array suffixes{"api", "worker", "web", "sync", "indexer"};
const std::array zones{"eu-west-1a", "eu-west-1b", "eu-west-1c"};

// A steady fleet is mostly Ready; the rest is the churn a busy day shows.
constexpr double startingShare = 0.03;
constexpr double drainingShare = 0.02;
constexpr double terminatedShare = 0.02;
constexpr double failedShare = 0.01;
// One change in four takes a Ready instance out (drain or failure); the other three move a
// not-ready one a step along (Draining -> Terminated -> Starting -> Ready). With that ratio the
// number of Ready instances holds steady instead of sliding towards a quarter of the fleet, as
// uniformly picked transitions would.
constexpr double leaveReadyShare = 0.25;
constexpr int maxPickTries = 400;

QString versionString(int major, int minor, int patch)
{
    return QStringLiteral("%1.%2.%3").arg(major).arg(minor).arg(patch);
}

} // namespace

SyntheticFleet::SyntheticFleet(const SyntheticFleetOptions &options)
    : m_options(options)
    , m_random(options.seed)
{
    build();
}

int SyntheticFleet::instanceCount() const
{
    int count = 0;
    for (const ServiceStatus &status : m_snapshot.services)
        count += status.fleet ? int(status.fleet->instances.size()) : 0;
    return count;
}

void SyntheticFleet::build()
{
    m_snapshot.at = VirtualClock::defaultStart();
    const TimePoint at = m_snapshot.at;
    std::uniform_real_distribution<double> unit(0.0, 1.0);
    const auto uniformInt = [this](int low, int high) {
        return std::uniform_int_distribution<int>(low, high)(m_random);
    };

    for (int n = 0; n < m_options.serviceNames; ++n) {
        QString name = QLatin1String(prefixes[size_t(n) % prefixes.size()]) + QLatin1Char('-')
                       + QLatin1String(suffixes[(size_t(n) / prefixes.size()) % suffixes.size()]);
        if (n >= int(prefixes.size() * suffixes.size()))
            name += QString::number(n);
        for (const QString &environment : m_options.environments) {
            ServiceStatus status;
            status.key = ServiceKey{name, environment};

            // Half the services run one version; the others are mid-release.
            const int major = uniformInt(1, 9);
            const int minor = uniformInt(0, 20);
            const QString oldVersion = versionString(major, minor, uniformInt(0, 9));
            const QString newVersion = versionString(major, minor + 1, 0);
            const int perService = m_options.instancesPerService;
            QList<std::pair<QString, int>> versions; // version, instances
            TrafficSplit traffic;
            if (unit(m_random) < 0.5) {
                status.strategy = Strategy::None;
                versions = {{oldVersion, perService}};
                traffic.weightPercent.insert(oldVersion, 100);
            } else {
                switch (uniformInt(0, 2)) {
                case 0: {
                    status.strategy = Strategy::Canary;
                    const int canary = std::max(1, perService / 10);
                    versions = {{oldVersion, perService - canary}, {newVersion, canary}};
                    traffic.weightPercent.insert(oldVersion, 90);
                    traffic.weightPercent.insert(newVersion, 10);
                    break;
                }
                case 1:
                    status.strategy = Strategy::BlueGreen;
                    versions
                        = {{oldVersion, perService / 2}, {newVersion, perService - perService / 2}};
                    traffic.weightPercent.insert(oldVersion, 100);
                    traffic.weightPercent.insert(newVersion, 0);
                    traffic.activeVersion = oldVersion;
                    break;
                default: {
                    status.strategy = Strategy::Rolling;
                    const int moved = uniformInt(1, perService - 1);
                    versions = {{oldVersion, perService - moved}, {newVersion, moved}};
                    const double share = 100.0 * moved / perService;
                    traffic.weightPercent.insert(oldVersion, 100.0 - share);
                    traffic.weightPercent.insert(newVersion, share);
                    break;
                }
                }
            }

            FleetSnapshot fleet;
            fleet.service = status.key;
            fleet.takenAt = at;
            QSet<QString> ids;
            for (const auto &[version, count] : versions) {
                for (int i = 0; i < count; ++i) {
                    Instance instance;
                    do {
                        static const char alphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";
                        QString suffix;
                        for (int c = 0; c < 5; ++c)
                            suffix.append(QLatin1Char(alphabet[uniformInt(0, 35)]));
                        instance.id = name + QLatin1Char('-') + suffix;
                    } while (ids.contains(instance.id));
                    ids.insert(instance.id);
                    instance.version = version;
                    instance.zone = QLatin1String(zones[size_t(i) % zones.size()]);
                    const double roll = unit(m_random);
                    double bound = startingShare;
                    if (roll < bound) {
                        instance.state = InstanceState::Starting;
                    } else if (roll < (bound += drainingShare)) {
                        instance.state = InstanceState::Draining;
                    } else if (roll < (bound += terminatedShare)) {
                        instance.state = InstanceState::Terminated;
                    } else if (roll < (bound += failedShare)) {
                        instance.state = InstanceState::Failed;
                    } else {
                        instance.state = InstanceState::Ready;
                    }
                    const int ageSeconds = instance.state == InstanceState::Ready
                                               ? uniformInt(60, 7200)
                                               : uniformInt(0, 30);
                    instance.since = at - std::chrono::seconds(ageSeconds);
                    fleet.instances.append(instance);
                }
            }
            std::sort(fleet.instances.begin(), fleet.instances.end(),
                      [](const Instance &a, const Instance &b) { return a.id < b.id; });
            status.fleet = fleet;
            status.traffic = traffic;

            MetricsSnapshot metrics;
            metrics.at = at;
            metrics.interval = std::chrono::seconds(10);
            const double serviceRps = uniformInt(20, 2000);
            // A few services run hot, so the health column shows more than one colour.
            const bool troubled = unit(m_random) < 0.03;
            for (const auto &[version, count] : versions) {
                Q_UNUSED(count);
                VersionMetrics v;
                v.version = version;
                v.requestsPerSecond = serviceRps * traffic.weightOf(version) / 100.0;
                v.errorRatio = troubled ? 0.02 : 0.0005 + 0.004 * unit(m_random);
                v.p50Ms = uniformInt(8, 120);
                v.p99Ms = v.p50Ms * (4 + 2 * unit(m_random));
                v.requests = qint64(v.requestsPerSecond * 10);
                metrics.versions.append(v);
            }
            status.metrics = metrics;
            m_snapshot.services.append(status);
        }
    }
    m_touchedAt.assign(size_t(m_snapshot.services.size() * m_options.instancesPerService), 0);
}

std::pair<int, int> SyntheticFleet::pick(bool ready, int service)
{
    const int perService = m_options.instancesPerService;
    const int count = service < 0 ? int(m_snapshot.services.size()) * perService : perService;
    std::uniform_int_distribution<int> any(0, count - 1);
    std::pair<int, int> fallback{-1, -1};
    // Rejection sampling: cheap at these sizes and keeps the pick uniform within the category.
    for (int tries = 0;; ++tries) {
        const int flat = (service < 0 ? 0 : service * perService) + any(m_random);
        if (m_touchedAt[size_t(flat)] == m_tick)
            continue; // an instance changes at most once a tick
        const int s = flat / perService;
        const int i = flat % perService;
        const bool isReady
            = m_snapshot.services[s].fleet->instances[i].state == InstanceState::Ready;
        if (isReady == ready)
            return {s, i};
        if (fallback.first < 0)
            fallback = {s, i};
        if (tries >= maxPickTries)
            return fallback;
    }
}

void SyntheticFleet::stepInstance(int service, int instance)
{
    ServiceStatus &status = m_snapshot.services[service];
    Instance &target = status.fleet->instances[instance];
    std::uniform_real_distribution<double> unit(0.0, 1.0);
    switch (target.state) {
    case InstanceState::Ready:
        target.state = unit(m_random) < 0.7 ? InstanceState::Draining : InstanceState::Failed;
        break;
    case InstanceState::Starting:
        target.state = unit(m_random) < 0.9 ? InstanceState::Ready : InstanceState::Failed;
        break;
    case InstanceState::Draining:
    case InstanceState::Failed: target.state = InstanceState::Terminated; break;
    case InstanceState::Terminated:
        // Its replacement takes the slot under the same id, so the fleet stays exactly
        // instancesPerService strong and every change is a state change, as the figure says.
        target.state = InstanceState::Starting;
        break;
    }
    target.since = m_snapshot.at;
    status.fleet->takenAt = m_snapshot.at;
    m_touchedAt[size_t(service * m_options.instancesPerService + instance)] = m_tick;
}

void SyntheticFleet::driftMetrics(int service)
{
    MetricsSnapshot &metrics = *m_snapshot.services[service].metrics;
    std::normal_distribution<double> drift(1.0, 0.04);
    for (VersionMetrics &v : metrics.versions) {
        v.requestsPerSecond = std::max(0.0, v.requestsPerSecond * drift(m_random));
        v.errorRatio = std::clamp(v.errorRatio * drift(m_random), 0.0, 1.0);
        v.p50Ms = std::max(1.0, v.p50Ms * drift(m_random));
        v.p99Ms = std::max(v.p50Ms, v.p99Ms * drift(m_random));
        v.requests = qint64(v.requestsPerSecond * double(metrics.interval.count()) / 1000.0);
    }
    metrics.at = m_snapshot.at;
}

void SyntheticFleet::tick()
{
    ++m_tick;
    m_snapshot.at += m_options.tickLength;
    std::bernoulli_distribution leavesReady(leaveReadyShare);

    const int total = int(m_snapshot.services.size()) * m_options.instancesPerService;
    const int changes = int(std::lround(total * m_options.changeFraction));
    const int focusChanges
        = std::max(1, int(std::lround(m_options.instancesPerService * m_options.changeFraction)));
    for (int c = 0; c < changes; ++c) {
        const auto [s, i] = pick(leavesReady(m_random), c < focusChanges ? 0 : -1);
        stepInstance(s, i);
    }

    const int services = int(m_snapshot.services.size());
    const int drifting = int(std::lround(services * m_options.metricsChangeFraction));
    std::uniform_int_distribution<int> anyService(0, services - 1);
    for (int d = 0; d < drifting; ++d)
        driftMetrics(d == 0 ? 0 : anyService(m_random));
}

} // namespace sb::bench
