#pragma once

#include "canaryplan.h"
#include "fleet.h"
#include "timepoint.h"

#include <QList>
#include <QPointF>

#include <optional>

namespace sb {

// A time series of bounded size: x is milliseconds since the epoch, y the value. When it is full
// it keeps every other point and from then on takes every other sample, so a release of any
// length keeps its whole shape in constant memory.
class TimeSeries
{
public:
    explicit TimeSeries(qsizetype capacity = 3600);

    void append(TimePoint at, double value);
    const QList<QPointF> &points() const { return m_points; }
    qsizetype capacity() const { return m_capacity; }
    bool isEmpty() const { return m_points.isEmpty(); }

    friend bool operator==(const TimeSeries &, const TimeSeries &) = default;

private:
    QList<QPointF> m_points;
    qsizetype m_capacity;
    int m_stride = 1;  // keep one sample in `m_stride`
    int m_skipped = 0; // samples dropped since the last one kept
};

// Where a stage's weight took effect, for the boundary lines on the release's charts.
struct StageMark {
    TimePoint at;
    int stage = 0;
    double weightPercent = 0;

    friend bool operator==(const StageMark &, const StageMark &) = default;
};

// What a canary release's charts show: canary against baseline error rate and p99 latency over
// the whole release, the limits their gates applied, and where each stage began.
struct ReleaseTrace {
    TimeSeries canaryErrorRatio;
    TimeSeries baselineErrorRatio;
    TimeSeries errorRatioLimit;
    TimeSeries canaryP99Ms;
    TimeSeries baselineP99Ms;
    TimeSeries p99Limit;
    QList<StageMark> stages;
    TimePoint startedAt;
    std::optional<TimePoint> endedAt;
    std::optional<TimePoint> lastSampleAt;

    // Adds one metrics interval, once per interval end (a repeated snapshot is ignored). The
    // limits are those of the plan's first error-rate and p99-latency gates, where it has them.
    void record(const CanaryPlan &plan, const MetricsSnapshot &metrics,
                const QString &canaryVersion, const QString &stableVersion);

    friend bool operator==(const ReleaseTrace &, const ReleaseTrace &) = default;
};

} // namespace sb
