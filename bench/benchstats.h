#pragma once

#include <QtGlobal>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <vector>

namespace sb::bench {

// Nearest-rank percentile: always a value that was measured, never an interpolation.
inline double percentile(std::vector<double> values, double p)
{
    if (values.empty())
        return 0;
    std::sort(values.begin(), values.end());
    const auto rank = size_t(std::ceil(p / 100.0 * double(values.size())));
    return values[std::clamp<size_t>(rank, 1, values.size()) - 1];
}

inline double millisecondsSince(std::chrono::steady_clock::time_point start)
{
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
        .count();
}

inline double median(const std::vector<double> &values)
{
    return percentile(values, 50);
}

// Figures go to stdout as name=value so scripts can grep them; everything else is a comment.
inline void printFigure(const char *name, double value, int decimals = 2)
{
    std::printf("%s=%.*f\n", name, decimals, value);
}

inline void printHeader(const char *program, const char *method)
{
    std::printf("# %s (%s build, Qt %s): the machine is shared and noisy, so figures are %s; "
                "compare them across runs, not as absolutes.\n",
                program, SIGNALBOX_BENCH_BUILD_TYPE, qVersion(), method);
    std::fflush(stdout);
}

// The tick benchmarks take [measured ticks] [warm-up ticks] and say so in their header.
struct TickCounts {
    int measured;
    int warmup;
};

inline TickCounts readTickCounts(int argc, char **argv, const char *program, int measured,
                                 int warmup)
{
    TickCounts counts{argc > 1 ? std::max(1, std::atoi(argv[1])) : measured,
                      argc > 2 ? std::max(0, std::atoi(argv[2])) : warmup};
    char method[160];
    std::snprintf(method, sizeof method, "percentiles of %d ticks after %d warm-up ticks",
                  counts.measured, counts.warmup);
    printHeader(program, method);
    return counts;
}

} // namespace sb::bench
