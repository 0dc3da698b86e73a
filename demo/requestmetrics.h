#pragma once

#include <QByteArray>
#include <QMap>
#include <QString>

#include <array>

namespace sb::demo {

// What the service counts about requests to /, rendered in the Prometheus text exposition
// format 0.0.4: a counter per status code and a latency histogram, both labelled with the
// service and its version so one Prometheus sees every version of a release apart.
class RequestMetrics
{
public:
    RequestMetrics(QString service, QString version);

    // Upper bounds of the latency buckets, in seconds (Prometheus' defaults).
    static constexpr std::array<double, 11> bucketBounds{0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                                         0.5,   1.0,  2.5,   5.0,  10.0};
    static constexpr const char *contentType = "text/plain; version=0.0.4";

    void record(int statusCode, double seconds);
    QByteArray exposition() const;

private:
    QString m_service;
    QString m_version;
    QMap<int, quint64> m_requestsByCode;
    std::array<quint64, bucketBounds.size()> m_bucketCounts{}; // not cumulative
    quint64 m_count = 0;
    double m_sumSeconds = 0.0;
};

// A label value as the text format wants it: backslash, double quote and newline escaped.
QByteArray escapeLabelValue(const QString &value);

// A sample value in the shortest form that reads back to the same double ("0.025", "1", "+Inf").
QByteArray formatSampleValue(double value);

} // namespace sb::demo
