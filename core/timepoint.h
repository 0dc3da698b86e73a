#pragma once

#include <QString>

#include <chrono>

namespace sb {

// All engines speak milliseconds on the system clock's epoch, so a virtual clock and the real
// one produce values of the same type and the journal can store either.
using Duration = std::chrono::milliseconds;
using TimePoint = std::chrono::time_point<std::chrono::system_clock, Duration>;

inline qint64 toMSecsSinceEpoch(TimePoint t)
{
    return t.time_since_epoch().count();
}
inline TimePoint fromMSecsSinceEpoch(qint64 ms)
{
    return TimePoint(Duration(ms));
}

// "2026-11-23 09:14:05 UTC"
QString formatUtc(TimePoint t);
// "09:14", UTC: for times within the day a screen is about.
QString formatTimeOfDay(TimePoint t);
// "45 s", "3 min 20 s", "2 min", "2 h 05 min": compact, for tooltips and status lines.
QString formatDuration(Duration d);
// A wait or a timeout, which is often below a second: "300 ms", "2 s", "1.5 s"; a minute or more
// as formatDuration() writes it.
QString formatTimeout(Duration timeout);

} // namespace sb
