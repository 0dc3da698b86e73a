#pragma once

#include "histogram.h"
#include "result.h"
#include "timepoint.h"

#include <QDebug>
#include <QList>
#include <QMap>
#include <QMetaType>
#include <QString>
#include <QStringList>

#include <optional>

namespace sb {

// A service is deployed once per environment; the pair is what every adapter verb addresses.
struct ServiceKey {
    QString name;
    QString environment;

    QString id() const { return name + QLatin1Char('/') + environment; }
    friend bool operator==(const ServiceKey &, const ServiceKey &) = default;
    // Qt 6.4's QString has no <=>, so order by hand: name, then environment.
    friend bool operator<(const ServiceKey &a, const ServiceKey &b)
    {
        return a.name != b.name ? a.name < b.name : a.environment < b.environment;
    }
};
size_t qHash(const ServiceKey &key, size_t seed = 0) noexcept;

enum class InstanceState { Starting, Ready, Draining, Terminated, Failed };
QString toString(InstanceState state);
// Terminated instances are history: they stay briefly in a snapshot so the user sees them go,
// but they count toward nothing.
inline bool isLive(InstanceState state)
{
    return state != InstanceState::Terminated;
}

struct Instance {
    QString id;
    QString version;
    InstanceState state = InstanceState::Starting;
    TimePoint since; // when it entered `state`
    QString zone;

    friend bool operator==(const Instance &, const Instance &) = default;
};

struct FleetSnapshot {
    ServiceKey service;
    TimePoint takenAt;
    QList<Instance> instances; // ordered by id

    friend bool operator==(const FleetSnapshot &, const FleetSnapshot &) = default;
};

// Weights in percent of requests, per version, as the router is configured to send them.
struct TrafficSplit {
    QMap<QString, double> weightPercent;
    // For a blue-green pair, the version the router points at; empty otherwise.
    QString activeVersion;

    double weightOf(const QString &version) const { return weightPercent.value(version, 0.0); }
    friend bool operator==(const TrafficSplit &, const TrafficSplit &) = default;
};

// What a metrics source saw for one version over its most recent interval.
struct VersionMetrics {
    QString version;
    double requestsPerSecond = 0;
    double errorRatio = 0; // 0..1
    double p50Ms = 0;
    double p99Ms = 0;
    qint64 requests = 0; // in the interval, so judges can tell thin data from no data
    // Named metrics beyond the fields above, by MetricDefinition::name: the built-in resource
    // metrics ("cpu", "memory") and the workspace's own (business metrics and the like).
    QMap<QString, double> custom;
    // Metrics (by the names above) the source has no value for, and why, in its words: "NaN
    // from Prometheus: no requests in the last 30s". Never reported as zero instead.
    QMap<QString, QString> noData;
    // The interval's latency histogram, when the source has one: what a sequential gate counts
    // slow requests from.
    std::optional<LatencyHistogram> latency;

    friend bool operator==(const VersionMetrics &, const VersionMetrics &) = default;
};

struct MetricsSnapshot {
    TimePoint at;
    Duration interval{0};
    QList<VersionMetrics> versions;

    // The whole service's error ratio, each version weighted by its requests; none without any.
    std::optional<double> overallErrorRatio() const;
    const VersionMetrics *find(const QString &version) const &;
    // A pointer into a temporary snapshot would dangle.
    const VersionMetrics *find(const QString &version) const && = delete;
    friend bool operator==(const MetricsSnapshot &, const MetricsSnapshot &) = default;
};

enum class Health { Unknown, Healthy, Degraded, Critical };
QString toString(Health health);

enum class Strategy { None, Rolling, BlueGreen, Canary };
QString toString(Strategy strategy);
std::optional<Strategy> strategyFromString(const QString &text);

// Orders "2.10.0" after "2.9.1": numeric runs compare as numbers.
bool versionLessThan(const QString &a, const QString &b);

// One row of the fleet view: a version's instances, traffic and metrics, derived by
// summarizeVersions() from the three observations.
struct VersionSummary {
    QString version;
    int total = 0; // live instances
    int starting = 0;
    int ready = 0;
    int draining = 0;
    int failed = 0;
    double weightPercent = 0;
    std::optional<double> observedSharePercent;
    std::optional<double> errorRatio;
    std::optional<double> p99Ms;

    friend bool operator==(const VersionSummary &, const VersionSummary &) = default;
};

// Everything the console knows about one service at one moment. The observations are optional:
// an adapter that has not answered yet, or failed, leaves its part empty with an error.
struct ServiceStatus {
    ServiceKey key;
    Strategy strategy = Strategy::None;
    std::optional<FleetSnapshot> fleet;
    std::optional<TrafficSplit> traffic;
    std::optional<MetricsSnapshot> metrics;
    QString fleetError;
    QString trafficError;
    QString metricsError;

    friend bool operator==(const ServiceStatus &, const ServiceStatus &) = default;
};

QList<VersionSummary> summarizeVersions(const ServiceStatus &status);

// A service's health and, unless healthy, the first reason for it, worst first:
// "error rate 6.9 % is at or above 5.0 %".
struct HealthVerdict {
    Health health = Health::Unknown;
    QString reason;
};
HealthVerdict assessHealth(const ServiceStatus &status);
Health healthOf(const ServiceStatus &status);
QStringList liveVersions(const FleetSnapshot &fleet);

// Health thresholds: a deployment console flags before an alerting system would page.
namespace health {
constexpr double degradedErrorRatio = 0.01;
constexpr double criticalErrorRatio = 0.05;
constexpr double criticalReadyFraction = 0.5;
} // namespace health

struct ConsoleSnapshot {
    TimePoint at;
    QList<ServiceStatus> services; // in workspace order

    friend bool operator==(const ConsoleSnapshot &, const ConsoleSnapshot &) = default;
};

QDebug operator<<(QDebug debug, const ServiceKey &key);
QDebug operator<<(QDebug debug, const Instance &instance);
QDebug operator<<(QDebug debug, const TrafficSplit &split);
QDebug operator<<(QDebug debug, const VersionSummary &summary);

} // namespace sb

Q_DECLARE_METATYPE(sb::ServiceKey)
