#include "timepoint.h"

#include <QDateTime>

namespace sb {

QString formatUtc(TimePoint t)
{
    return QDateTime::fromMSecsSinceEpoch(toMSecsSinceEpoch(t), Qt::UTC)
               .toString(QStringLiteral("yyyy-MM-dd HH:mm:ss"))
           + QStringLiteral(" UTC");
}

QString formatDuration(Duration d)
{
    qint64 seconds = std::chrono::duration_cast<std::chrono::seconds>(d).count();
    const bool negative = seconds < 0;
    if (negative)
        seconds = -seconds;
    QString text;
    if (seconds < 60)
        text = QStringLiteral("%1 s").arg(seconds);
    else if (seconds < 3600)
        text = QStringLiteral("%1 min %2 s")
                   .arg(seconds / 60)
                   .arg(seconds % 60, 2, 10, QLatin1Char('0'));
    else if (seconds < 86400)
        text = QStringLiteral("%1 h %2 min")
                   .arg(seconds / 3600)
                   .arg((seconds % 3600) / 60, 2, 10, QLatin1Char('0'));
    else
        text = QStringLiteral("%1 d %2 h").arg(seconds / 86400).arg((seconds % 86400) / 3600);
    return negative ? QLatin1Char('-') + text : text;
}

} // namespace sb
