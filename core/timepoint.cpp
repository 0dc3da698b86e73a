#include "timepoint.h"

#include <QDateTime>

namespace sb {

QString formatUtc(TimePoint t)
{
    return QDateTime::fromMSecsSinceEpoch(toMSecsSinceEpoch(t), Qt::UTC)
               .toString(QStringLiteral("yyyy-MM-dd HH:mm:ss"))
           + QStringLiteral(" UTC");
}

QString formatTimeOfDay(TimePoint t)
{
    return QDateTime::fromMSecsSinceEpoch(toMSecsSinceEpoch(t), Qt::UTC)
        .toString(QStringLiteral("HH:mm"));
}

QString formatTimeout(Duration timeout)
{
    const qint64 ms = timeout.count();
    if (ms < 1000)
        return QStringLiteral("%1 ms").arg(ms);
    if (ms >= 60'000)
        return formatDuration(timeout);
    if (ms % 1000 == 0)
        return QStringLiteral("%1 s").arg(ms / 1000);
    return QStringLiteral("%1 s").arg(double(ms) / 1000.0, 0, 'f', ms % 100 == 0 ? 1 : 3);
}

QString formatDuration(Duration d)
{
    qint64 seconds = std::chrono::duration_cast<std::chrono::seconds>(d).count();
    const bool negative = seconds < 0;
    if (negative)
        seconds = -seconds;
    // A larger unit, then the next smaller one unless it is zero: "2 min", "3 min 05 s".
    auto pair = [](qint64 major, const char *majorUnit, qint64 minor, const char *minorUnit) {
        QString text = QStringLiteral("%1 %2").arg(major).arg(QLatin1StringView(majorUnit));
        if (minor != 0)
            text += QStringLiteral(" %1 %2")
                        .arg(minor, 2, 10, QLatin1Char('0'))
                        .arg(QLatin1StringView(minorUnit));
        return text;
    };
    QString text;
    if (seconds < 60)
        text = QStringLiteral("%1 s").arg(seconds);
    else if (seconds < 3600)
        text = pair(seconds / 60, "min", seconds % 60, "s");
    else if (seconds < 86400)
        text = pair(seconds / 3600, "h", (seconds % 3600) / 60, "min");
    else
        text = QStringLiteral("%1 d").arg(seconds / 86400)
               + (seconds % 86400 / 3600 ? QStringLiteral(" %1 h").arg(seconds % 86400 / 3600)
                                         : QString());
    return negative ? QLatin1Char('-') + text : text;
}

} // namespace sb
