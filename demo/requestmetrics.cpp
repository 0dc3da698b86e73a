#include "requestmetrics.h"

#include <charconv>
#include <cmath>

namespace sb::demo {

RequestMetrics::RequestMetrics(QString service, QString version)
    : m_service(std::move(service))
    , m_version(std::move(version))
{
    // Both series exist from the start, so rate() over them works before the first failure.
    m_requestsByCode.insert(200, 0);
    m_requestsByCode.insert(500, 0);
}

void RequestMetrics::record(int statusCode, double seconds)
{
    ++m_requestsByCode[statusCode];
    for (std::size_t i = 0; i < bucketBounds.size(); ++i) {
        if (seconds <= bucketBounds[i]) {
            ++m_bucketCounts[i];
            break;
        }
    }
    ++m_count;
    m_sumSeconds += seconds;
}

QByteArray RequestMetrics::exposition() const
{
    const QByteArray serviceAndVersion = "service=\"" + escapeLabelValue(m_service)
                                         + "\",version=\"" + escapeLabelValue(m_version) + '"';
    QByteArray text;
    text += "# HELP http_requests_total Requests to / answered, by HTTP status code.\n"
            "# TYPE http_requests_total counter\n";
    for (auto it = m_requestsByCode.cbegin(); it != m_requestsByCode.cend(); ++it) {
        text += "http_requests_total{" + serviceAndVersion + ",code=\""
                + QByteArray::number(it.key()) + "\"} " + QByteArray::number(it.value()) + '\n';
    }

    text += "# HELP http_request_duration_seconds Time from receiving a request to / to "
            "answering it.\n"
            "# TYPE http_request_duration_seconds histogram\n";
    quint64 cumulative = 0;
    for (std::size_t i = 0; i < bucketBounds.size(); ++i) {
        cumulative += m_bucketCounts[i];
        text += "http_request_duration_seconds_bucket{" + serviceAndVersion + ",le=\""
                + formatSampleValue(bucketBounds[i]) + "\"} " + QByteArray::number(cumulative)
                + '\n';
    }
    text += "http_request_duration_seconds_bucket{" + serviceAndVersion + ",le=\"+Inf\"} "
            + QByteArray::number(m_count) + '\n';
    text += "http_request_duration_seconds_sum{" + serviceAndVersion + "} "
            + formatSampleValue(m_sumSeconds) + '\n';
    text += "http_request_duration_seconds_count{" + serviceAndVersion + "} "
            + QByteArray::number(m_count) + '\n';
    return text;
}

QByteArray escapeLabelValue(const QString &value)
{
    QByteArray escaped;
    for (const char c : value.toUtf8()) {
        switch (c) {
        case '\\': escaped += "\\\\"; break;
        case '"': escaped += "\\\""; break;
        case '\n': escaped += "\\n"; break;
        default: escaped += c;
        }
    }
    return escaped;
}

QByteArray formatSampleValue(double value)
{
    if (std::isinf(value))
        return value > 0 ? "+Inf" : "-Inf";
    if (std::isnan(value))
        return "NaN";
    char buffer[32];
    const auto result = std::to_chars(buffer, buffer + sizeof buffer, value);
    return QByteArray(buffer, int(result.ptr - buffer));
}

} // namespace sb::demo
