#include "histogram.h"

#include <cmath>
#include <limits>

namespace sb {

std::span<const double> LatencyHistogram::defaultBoundsMs()
{
    static constexpr double bounds[]
        = {5, 10, 25, 50, 75, 100, 150, 200, 300, 400, 500, 750, 1000, 1500, 2500, 5000, 10000};
    return bounds;
}

double LatencyHistogram::quantileMs(double q) const
{
    const qint64 count = total();
    if (count <= 0 || boundsMs.isEmpty() || cumulativeCounts.size() != boundsMs.size() + 1)
        return std::numeric_limits<double>::quiet_NaN();
    const double rank = q * double(count);
    for (qsizetype i = 0; i < boundsMs.size(); ++i) {
        if (double(cumulativeCounts[i]) >= rank) {
            const double lower = i == 0 ? 0.0 : boundsMs[i - 1];
            const double below = i == 0 ? 0.0 : double(cumulativeCounts[i - 1]);
            const double inBucket = double(cumulativeCounts[i]) - below;
            if (inBucket <= 0)
                return lower;
            return lower + (boundsMs[i] - lower) * (rank - below) / inBucket;
        }
    }
    return boundsMs.last();
}

std::optional<qint64> LatencyHistogram::slowerThan(double boundMs) const
{
    if (cumulativeCounts.size() != boundsMs.size() + 1)
        return std::nullopt;
    const qsizetype index = boundsMs.indexOf(boundMs);
    if (index < 0)
        return std::nullopt;
    return total() - cumulativeCounts.at(index);
}

} // namespace sb
