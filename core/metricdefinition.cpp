#include "metricdefinition.h"

#include <cmath>

namespace sb {

QString toString(MetricUnit unit)
{
    switch (unit) {
    case MetricUnit::Ratio: return QStringLiteral("ratio");
    case MetricUnit::Milliseconds: return QStringLiteral("ms");
    case MetricUnit::PerSecond: return QStringLiteral("per-second");
    case MetricUnit::Cores: return QStringLiteral("cores");
    case MetricUnit::Megabytes: return QStringLiteral("MB");
    case MetricUnit::Number: return QStringLiteral("number");
    }
    return {};
}

std::optional<MetricUnit> metricUnitFromString(const QString &text)
{
    for (MetricUnit unit : {MetricUnit::Ratio, MetricUnit::Milliseconds, MetricUnit::PerSecond,
                            MetricUnit::Cores, MetricUnit::Megabytes, MetricUnit::Number}) {
        if (toString(unit) == text)
            return unit;
    }
    return std::nullopt;
}

QString toString(MetricGroup group)
{
    switch (group) {
    case MetricGroup::Health: return QStringLiteral("health");
    case MetricGroup::Business: return QStringLiteral("business");
    case MetricGroup::Resources: return QStringLiteral("resources");
    }
    return {};
}

std::optional<MetricGroup> metricGroupFromString(const QString &text)
{
    for (MetricGroup group : {MetricGroup::Health, MetricGroup::Business, MetricGroup::Resources}) {
        if (toString(group) == text)
            return group;
    }
    return std::nullopt;
}

const QList<MetricDefinition> &builtInMetrics()
{
    static const QList<MetricDefinition> metrics{
        {QStringLiteral("request_rate"), QStringLiteral("Request rate"), MetricUnit::PerSecond,
         true, MetricGroup::Health, true},
        {QStringLiteral("error_rate"), QStringLiteral("Error rate"), MetricUnit::Ratio, false,
         MetricGroup::Health, true},
        {QStringLiteral("p50_latency"), QStringLiteral("p50 latency"), MetricUnit::Milliseconds,
         false, MetricGroup::Health, true},
        {QStringLiteral("p99_latency"), QStringLiteral("p99 latency"), MetricUnit::Milliseconds,
         false, MetricGroup::Health, true},
        {QStringLiteral("cpu"), QStringLiteral("CPU per instance"), MetricUnit::Cores, false,
         MetricGroup::Resources, true},
        {QStringLiteral("cpu_per_request"), QStringLiteral("CPU per request"),
         MetricUnit::Milliseconds, false, MetricGroup::Resources, true},
        {QStringLiteral("memory"), QStringLiteral("Memory per instance"), MetricUnit::Megabytes,
         false, MetricGroup::Resources, true},
    };
    return metrics;
}

const MetricDefinition *findMetric(const QList<MetricDefinition> &metrics, const QString &name)
{
    for (const MetricDefinition &metric : metrics) {
        if (metric.name == name)
            return &metric;
    }
    return nullptr;
}

std::optional<double> metricValue(const VersionMetrics &metrics, const QString &metric)
{
    if (metrics.noData.contains(metric))
        return std::nullopt;
    if (metric == QLatin1StringView("request_rate"))
        return metrics.requestsPerSecond;
    if (auto it = metrics.custom.constFind(metric); it != metrics.custom.cend())
        return std::isfinite(*it) ? std::optional<double>(*it) : std::nullopt;
    if (metrics.requests <= 0)
        return std::nullopt;
    if (metric == QLatin1StringView("error_rate"))
        return std::isfinite(metrics.errorRatio) ? std::optional<double>(metrics.errorRatio)
                                                 : std::nullopt;
    if (metric == QLatin1StringView("p50_latency"))
        return std::isfinite(metrics.p50Ms) ? std::optional<double>(metrics.p50Ms) : std::nullopt;
    if (metric == QLatin1StringView("p99_latency"))
        return std::isfinite(metrics.p99Ms) ? std::optional<double>(metrics.p99Ms) : std::nullopt;
    return std::nullopt;
}

QString formatMetricValue(double value, MetricUnit unit)
{
    switch (unit) {
    case MetricUnit::Ratio: {
        const double percent = 100 * value;
        return QStringLiteral("%1 %").arg(percent, 0, 'f', std::abs(percent) < 10 ? 2 : 1);
    }
    case MetricUnit::Milliseconds:
        return QStringLiteral("%1 ms").arg(value, 0, 'f', std::abs(value) < 10 ? 1 : 0);
    case MetricUnit::PerSecond:
        return QStringLiteral("%1 req/s").arg(value, 0, 'f', std::abs(value) < 10 ? 1 : 0);
    case MetricUnit::Cores: return QStringLiteral("%1 cores").arg(value, 0, 'f', 2);
    case MetricUnit::Megabytes: return QStringLiteral("%1 MB").arg(value, 0, 'f', 0);
    case MetricUnit::Number: return QString::number(value, 'g', 4);
    }
    return {};
}

} // namespace sb
