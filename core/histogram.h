#pragma once

#include <QList>

#include <optional>
#include <span>

namespace sb {

// Latency histogram bucket upper bounds in milliseconds, the last one +infinity, cumulative
// counts like Prometheus' `le` buckets. Shared by the simulator and the metric adapters so that
// both estimate quantiles the same way.
struct LatencyHistogram {
    static std::span<const double> defaultBoundsMs();

    QList<double> boundsMs;         // ascending, finite; an implicit +Inf bucket follows
    QList<qint64> cumulativeCounts; // boundsMs.size() + 1 entries, the last being the total

    qint64 total() const { return cumulativeCounts.isEmpty() ? 0 : cumulativeCounts.last(); }
    // Linear interpolation inside the bucket holding the q-th request, as histogram_quantile()
    // does; a quantile in the +Inf bucket answers the highest finite bound. NaN without data.
    double quantileMs(double q) const;
    // Requests slower than `boundMs`, which must be one of boundsMs; none otherwise, since
    // anywhere else inside a bucket the count would be a guess.
    std::optional<qint64> slowerThan(double boundMs) const;

    friend bool operator==(const LatencyHistogram &, const LatencyHistogram &) = default;
};

} // namespace sb
