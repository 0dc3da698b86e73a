#include "releasetrace.h"

namespace sb {

TimeSeries::TimeSeries(qsizetype capacity)
    : m_capacity(std::max<qsizetype>(capacity, 2))
{}

void TimeSeries::append(TimePoint at, double value)
{
    if (m_skipped + 1 < m_stride) {
        ++m_skipped;
        return;
    }
    m_skipped = 0;
    m_points.append(QPointF(double(toMSecsSinceEpoch(at)), value));
    if (m_points.size() < m_capacity)
        return;
    // Full: keep every other point, the first and the newest included, and sample half as often.
    qsizetype kept = 0;
    for (qsizetype i = 0; i < m_points.size(); i += 2)
        m_points[kept++] = m_points[i];
    if (m_points.size() % 2 == 0)
        m_points[kept++] = m_points.last();
    m_points.resize(kept);
    m_stride *= 2;
}

void ReleaseTrace::record(const CanaryPlan &plan, const MetricsSnapshot &metrics,
                          const QString &canaryVersion, const QString &stableVersion)
{
    if (lastSampleAt && metrics.at <= *lastSampleAt)
        return;
    lastSampleAt = metrics.at;
    const VersionMetrics *canary = metrics.find(canaryVersion);
    const VersionMetrics *baseline = metrics.find(stableVersion);

    auto gateOn = [&plan](const QString &metric) -> const GateSpec * {
        for (const CanaryStage &stage : plan.stages) {
            for (const QString &name : stage.gates) {
                auto it = plan.gates.constFind(name);
                if (it != plan.gates.cend() && it->metric.name == metric)
                    return &*it;
            }
        }
        return nullptr;
    };
    auto add = [&](const QString &metric, TimeSeries &canarySeries, TimeSeries &baselineSeries,
                   TimeSeries &limitSeries) {
        const std::optional<double> canaryValue
            = canary ? metricValue(*canary, metric) : std::nullopt;
        const std::optional<double> baselineValue
            = baseline ? metricValue(*baseline, metric) : std::nullopt;
        if (canaryValue)
            canarySeries.append(metrics.at, *canaryValue);
        if (baselineValue)
            baselineSeries.append(metrics.at, *baselineValue);
        if (const GateSpec *gate = gateOn(metric)) {
            if (const std::optional<double> limit = gate->bound.limit(baselineValue))
                limitSeries.append(metrics.at, *limit);
        }
    };
    add(QStringLiteral("error_rate"), canaryErrorRatio, baselineErrorRatio, errorRatioLimit);
    add(QStringLiteral("p99_latency"), canaryP99Ms, baselineP99Ms, p99Limit);
}

} // namespace sb
