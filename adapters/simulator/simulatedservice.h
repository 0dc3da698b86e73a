#pragma once

#include "fleet.h"
#include "histogram.h"
#include "result.h"
#include "simulatorsettings.h"

#include <QHash>
#include <QList>
#include <QMap>

#include <deque>
#include <random>

namespace sb::sim {

// What one simulated version served in one tick.
struct TickSample {
    TimePoint at;
    qint64 requests = 0;
    qint64 errors = 0;
    QList<qint64> bucketCounts; // per LatencyHistogram bound, plus +Inf; not cumulative
    QList<qint64> conversions;  // per business metric of the version, in name order
    double readySeconds = 0;    // ready instances times the tick's length
    double cpuSeconds = 0;      // CPU time those instances used, idle time included
    double memoryMb = 0;        // resident memory of one instance; 0 without a ready one
};

// One service in one environment: its instances' lifecycle, its router and its traffic, advanced
// one tick at a time from a seeded generator, so the same settings and seed give the same run.
class SimulatedService
{
public:
    SimulatedService(ServiceSettings settings, quint64 seed, TimePoint start);

    struct TickOutcome {
        bool fleetChanged = false;
        bool trafficChanged = false;
    };
    TickOutcome tick(TimePoint now, Duration length);

    FleetSnapshot fleet(TimePoint now) const;
    TrafficSplit traffic() const;
    MetricsSnapshot metrics(TimePoint now, Duration window) const;

    Result<TrafficSplit> setWeights(const QMap<QString, double> &weightPercent);
    Result<TrafficSplit> switchTo(const QString &version);
    Result<Done> scale(const QString &version, int instances, TimePoint now);

    // Starts a fault now; true when it changed the fleet.
    bool applyFault(const Fault &fault, TimePoint now);
    // Holds a fault with from_weight until a tick finds its version's weight there.
    void armFault(const Fault &fault);
    // While a metrics_outage fault lasts: until when.
    std::optional<TimePoint> metricsDownUntil(TimePoint now) const;

    const ServiceSettings &settings() const { return m_settings; }
    const ServiceKey &key() const { return m_settings.service; }

private:
    struct SimInstance {
        Instance instance;
        TimePoint readyAt;  // Starting
        TimePoint leaveAt;  // Draining, Failed: when it becomes Terminated
        TimePoint forgetAt; // Terminated: when it drops out of snapshots
    };
    struct VersionState {
        VersionSettings behaviour;
        int desired = 0;
        std::optional<std::pair<double, TimePoint>> errorOverride; // ratio, until
        std::optional<std::pair<double, TimePoint>> latencyFactor; // factor, until
        double memoryDrift = 0; // relative; wanders a little each tick, as resident memory does
        // start_failure faults: the next this many instances to finish starting fail, and so
        // does every one finishing before the time.
        int startFailuresLeft = 0;
        std::optional<TimePoint> startFailuresUntil;
        std::deque<TickSample> samples;
    };

    void setState(SimInstance &instance, InstanceState state, TimePoint now);
    bool reconcile(TimePoint now);
    void startInstance(const QString &version, TimePoint now, bool alreadyReady);
    QString pickZone(const QString &version) const;
    QString newInstanceId();
    int readyCount(const QString &version) const;
    bool failsToStart(const QString &version, TimePoint now);
    QMap<QString, double> effectiveShares() const;
    bool crash(const QString &version, int instances, TimePoint now);
    bool applyArmedFaults(TimePoint now);
    void serveTraffic(TimePoint now, Duration length);
    TickSample sampleVersion(VersionState &version, double requestRate, bool reachable,
                             TimePoint now, Duration length);
    void sampleResources(VersionState &version, int ready, Duration length, TickSample &sample);

    ServiceSettings m_settings;
    std::mt19937_64 m_random;
    std::optional<TimePoint> m_metricsDownUntil;
    QMap<QString, VersionState> m_versions;
    QList<SimInstance> m_instances; // kept ordered by id
    Duration m_tickLength{0};
    // Explicit weights once any are set; until then traffic follows ready instances like a
    // plain load-balancer pool.
    std::optional<QMap<QString, double>> m_weights;
    QString m_activeVersion;
    QMap<QString, double> m_lastShares;
    QList<Fault> m_armedFaults; // in the workspace's order, so simultaneous ones start in it
};

} // namespace sb::sim
