#pragma once

#include "fleet.h"
#include "result.h"
#include "timepoint.h"

#include <QByteArray>
#include <QList>
#include <QMap>
#include <QString>
#include <QStringList>

#include <optional>

// PromQL query templates and Prometheus HTTP API answers, as pure functions: what the Prometheus
// adapter sends and how it reads what comes back.
namespace sb::prom {

// ---- Query templates ------------------------------------------------------------------------

// The placeholders a template may use, without their '$': service, environment, window,
// version_label, version.
const QStringList &placeholderNames();

// The first `$name` in `text` that is not a placeholder, without its '$'. `$$` writes one '$',
// and `$1` and `${...}` (label_replace's references to capture groups) are left alone.
std::optional<QString> findUnknownPlaceholder(const QString &text);
// Whether `text` uses `$name` (`name` without the '$').
bool usesPlaceholder(const QString &text, const QString &name);

struct TemplateValues {
    QString service;
    QString environment;
    Duration window{0};
    QString versionLabel;
    QString version; // for templates run once per version
};

// Replaces the placeholders. Service, environment and version go inside PromQL string literals
// ("$service"), so their backslashes and double quotes are escaped; the label name and the
// window are written as they are.
QString expandTemplate(const QString &text, const TemplateValues &values);

// A duration in PromQL's syntax: "30s", "1500ms".
QString formatPromDuration(Duration duration);

// ---- Answers --------------------------------------------------------------------------------

// One value of a series: Prometheus' evaluation time in seconds since the epoch (with
// milliseconds) and the value, which may be NaN or infinite.
struct Sample {
    double time = 0;
    double value = 0;
};

struct Series {
    QMap<QString, QString> labels;
    // One for an instant vector or a scalar; in time order for a matrix.
    QList<Sample> samples;
};

enum class ResultType { Vector, Matrix, Scalar };
QString toString(ResultType type); // Prometheus' names: "vector", "matrix", "scalar"

struct Answer {
    ResultType type = ResultType::Vector;
    // A scalar is one series without labels.
    QList<Series> series;
};

// Why a body is not an answer the adapter can use.
struct AnswerProblem {
    enum class Kind {
        Malformed, // not the JSON of a Prometheus answer
        Rejected,  // Prometheus' own error answer: status "error"
    };
    Kind kind = Kind::Malformed;
    QString errorType; // Rejected: "bad_data", "execution", "timeout", ...
    // Malformed: what is wrong, precisely ("data.result[1].value[1] is a number, not a
    // string"); Rejected: Prometheus' error text.
    QString detail;
};

// Reads the body of /api/v1/query (also an error status's body, which carries Prometheus' error
// answer).
Result<Answer, AnswerProblem> parseAnswer(const QByteArray &body);

// An instant query's answer as one sample per version, read from each series' `versionLabel`.
// The error completes "the answer cannot be used: ...", and says how to fix the query.
Result<QMap<QString, Sample>, QString> instantByVersion(const Answer &answer,
                                                        const QString &versionLabel);
// The answer of an instant query run for one version: one series or a scalar, or nothing.
Result<std::optional<Sample>, QString> instantSingle(const Answer &answer);

// Prometheus' time as the console's.
TimePoint toTimePoint(double prometheusTime);
// The console's time as Prometheus reads it in a `time` parameter.
QString formatPrometheusTime(TimePoint at);

// ---- Latency histograms ---------------------------------------------------------------------

// The query that reads each version's latency histogram, and the VersionMetrics::noData key
// under which a version without one says why (the field it fills is VersionMetrics::latency).
inline constexpr QLatin1StringView latencyBucketsQuery{"latency_buckets"};
inline constexpr QLatin1StringView latencyNoDataKey{"latency"};

// A bucket's `le` label, in seconds ("0.25", "1e-3", "+Inf"), in milliseconds: read as the
// decimal it is written in, so "0.3" gives exactly 300 and a gate's "300ms" finds that bound.
// Infinity for "+Inf"; none for anything that is not a number of seconds (text, NaN, negative).
std::optional<double> bucketBoundMs(const QString &le);

// One version's buckets as the query counted them over the window: what readBuckets() makes of
// its series. Not whole numbers: increase() extrapolates to the window's edges.
struct BucketCounts {
    QList<double> boundsMs;   // ascending, finite
    QList<double> cumulative; // per bound, then the +Inf bucket: boundsMs.size() + 1 entries

    friend bool operator==(const BucketCounts &, const BucketCounts &) = default;
};

// The series of a histogram query grouped by version and le, by version. The error completes
// "the answer cannot be used: ..." (a range vector, a scalar, a series without the version label)
// and says how to group the query.
Result<QMap<QString, QList<Series>>, QString> bucketSeriesByVersion(const Answer &answer,
                                                                    const QString &versionLabel);
// The series of a histogram query run for one version ($version): all of them its buckets.
Result<QList<Series>, QString> bucketSeriesOfOneVersion(const Answer &answer);
// One version's bucket series, one per `le`, as counts. The error completes "the histogram of
// VERSION ...": a series without `le`, an `le` that is not a number, two series of one bucket,
// no +Inf bucket (which holds the total), a count that is NaN, infinite or negative.
Result<BucketCounts, QString> readBuckets(const QList<Series> &series, const QString &versionLabel);

// The histogram of `requests` requests with the shape of `buckets`: each cumulative count made
// at least its predecessor, scaled so the total is `requests`, and rounded to whole requests.
// Needs counts in the +Inf bucket unless `requests` is 0.
LatencyHistogram histogramOfRequests(const BucketCounts &buckets, qint64 requests);

// ---- Snapshots ------------------------------------------------------------------------------

// Puts a round of query answers together into one MetricsSnapshot. The request_rate answer
// decides the versions; every other metric gets a value for each of them or, in
// VersionMetrics::noData, the reason it has none: NaN, an infinity, no series, or a query that
// failed. Such metrics are never reported as zero: their fields stay NaN.
class SnapshotBuilder
{
public:
    // `fallbackAt` stands in for the evaluation time when request_rate returned no series.
    SnapshotBuilder(const QMap<QString, Sample> &requestRates, Duration window,
                    TimePoint fallbackAt);

    QStringList versions() const;
    // When request_rate was evaluated, for the other queries to be evaluated at the same
    // moment; none when it returned no series.
    std::optional<double> evaluationTime() const { return m_evaluationTime; }

    // What a query without $version gave: a value for some versions, none for the others.
    void setValues(const QString &metric, const QMap<QString, Sample> &byVersion);
    // What a query run for one version gave; nullopt when it returned no series.
    void setValue(const QString &metric, const QString &version, std::optional<Sample> sample);
    // A query that gave nothing usable, for one version or (empty `version`) all of them.
    // `metric` is the noData key: latencyNoDataKey for the histogram query.
    void setFailed(const QString &metric, const QString &version, const QString &reason);
    // What the histogram query gave for one version: its buckets, or nullopt when it returned no
    // series for it. The version's latency is the histogram of its `requests` (see
    // histogramOfRequests()), unless its bucket bounds differ from the other versions' or there
    // is no request count to match: then noData says why.
    void setBuckets(const QString &version, std::optional<BucketCounts> buckets);

    const MetricsSnapshot &snapshot() const { return m_snapshot; }

private:
    VersionMetrics *find(const QString &version);
    void setNumber(VersionMetrics &metrics, const QString &metric, double value);
    void placeHistograms();

    MetricsSnapshot m_snapshot;
    std::optional<double> m_evaluationTime;
    QMap<QString, BucketCounts> m_buckets; // by version, as the histogram query gave them
};

} // namespace sb::prom
