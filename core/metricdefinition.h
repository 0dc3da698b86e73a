#pragma once

#include "fleet.h"

#include <QList>
#include <QString>

#include <optional>

namespace sb {

// How a metric's values are written in bounds and shown in the console.
enum class MetricUnit {
    Ratio,        // 0..1, written "0.5%" or 0.005, shown as a percentage
    Milliseconds, // written "400ms" or "0.4s"
    PerSecond,    // requests per second
    Cores,        // CPU cores per instance
    Megabytes,    // resident memory per instance
    Number,       // anything else, as written
};
QString toString(MetricUnit unit); // "ratio", "ms", "per-second", "cores", "MB", "number"
std::optional<MetricUnit> metricUnitFromString(const QString &text);

// Which stage of the playbook's default canary plan starts checking a metric's gates: health
// from the first stage, business from the second, resources from the third.
enum class MetricGroup { Health, Business, Resources };
QString toString(MetricGroup group); // "health", "business", "resources"
std::optional<MetricGroup> metricGroupFromString(const QString &text);

// A metric gates can compare between canary and baseline. The built-in ones come from the fields
// of VersionMetrics (and "cpu", "cpu_per_request" and "memory" from its custom map); a workspace
// declares its own, which its metrics adapter reports in VersionMetrics::custom.
struct MetricDefinition {
    QString name;  // "error_rate"
    QString title; // "Error rate"
    MetricUnit unit = MetricUnit::Number;
    bool higherIsBetter = false;
    MetricGroup group = MetricGroup::Business;
    bool builtIn = false;

    friend bool operator==(const MetricDefinition &, const MetricDefinition &) = default;
};

// request_rate, error_rate, p50_latency, p99_latency, cpu and memory (per instance), and
// cpu_per_request (CPU milliseconds per request, which does not depend on how many instances
// share the load).
const QList<MetricDefinition> &builtInMetrics();
const MetricDefinition *findMetric(const QList<MetricDefinition> &metrics, const QString &name);

// The value of `metric` in one version's interval; none when the source did not report it (or
// said why it has none, in VersionMetrics::noData) or when the interval served no requests (a
// ratio or a quantile of nothing is not zero).
std::optional<double> metricValue(const VersionMetrics &metrics, const QString &metric);

// "0.42 %", "230 ms", "850 req/s", "0.35 cores", "412 MB", "3.1".
QString formatMetricValue(double value, MetricUnit unit);

} // namespace sb
