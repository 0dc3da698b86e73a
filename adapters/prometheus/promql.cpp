#include "promql.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QJsonParseError>
#include <QJsonValue>
#include <QLocale>
#include <QRegularExpression>

#include <algorithm>
#include <cmath>
#include <limits>

namespace sb::prom {

namespace {

bool isNameStart(QChar c)
{
    return c.isLetter() || c == QLatin1Char('_');
}

bool isNameChar(QChar c)
{
    return c.isLetterOrNumber() || c == QLatin1Char('_');
}

// Walks `text`, handing every `$name` to `placeholder` and everything else to `literal`.
template <typename Placeholder, typename Literal>
void scanTemplate(const QString &text, Placeholder placeholder, Literal literal)
{
    qsizetype i = 0;
    while (i < text.size()) {
        const QChar c = text.at(i);
        if (c != QLatin1Char('$') || i + 1 == text.size()) {
            literal(QStringView(text).mid(i, 1));
            ++i;
            continue;
        }
        const QChar next = text.at(i + 1);
        if (next == QLatin1Char('$')) {
            literal(QStringView(u"$"));
            i += 2;
        } else if (isNameStart(next)) {
            qsizetype end = i + 1;
            while (end < text.size() && isNameChar(text.at(end)))
                ++end;
            placeholder(text.mid(i + 1, end - i - 1));
            i = end;
        } else {
            literal(QStringView(text).mid(i, 1));
            ++i;
        }
    }
}

QString escapeStringLiteral(const QString &value)
{
    QString escaped;
    escaped.reserve(value.size());
    for (QChar c : value) {
        if (c == QLatin1Char('\\') || c == QLatin1Char('"'))
            escaped += QLatin1Char('\\');
        if (c == QLatin1Char('\n'))
            escaped += QStringLiteral("\\n");
        else
            escaped += c;
    }
    return escaped;
}

QString describeJson(const QJsonValue &value)
{
    switch (value.type()) {
    case QJsonValue::Null: return QStringLiteral("null");
    case QJsonValue::Bool: return QStringLiteral("a boolean");
    case QJsonValue::Double: return QStringLiteral("a number");
    case QJsonValue::String: return QStringLiteral("a string");
    case QJsonValue::Array: return QStringLiteral("a list");
    case QJsonValue::Object: return QStringLiteral("an object");
    case QJsonValue::Undefined: return QStringLiteral("missing");
    }
    return QStringLiteral("something else");
}

// Thrown inside the parser and turned into an AnswerProblem at its entry point.
struct Malformed {
    QString detail;
};

[[noreturn]] void malformed(const QString &detail)
{
    throw Malformed{detail};
}

QString wrongType(const QString &path, const QJsonValue &value, const QString &expected)
{
    return value.isUndefined()
               ? QStringLiteral("%1 is missing").arg(path)
               : QStringLiteral("%1 is %2, not %3").arg(path, describeJson(value), expected);
}

QJsonObject requireObject(const QJsonValue &value, const QString &path)
{
    if (!value.isObject())
        malformed(wrongType(path, value, QStringLiteral("an object")));
    return value.toObject();
}

QJsonArray requireArray(const QJsonValue &value, const QString &path)
{
    if (!value.isArray())
        malformed(wrongType(path, value, QStringLiteral("a list")));
    return value.toArray();
}

QString requireString(const QJsonValue &value, const QString &path)
{
    if (!value.isString())
        malformed(wrongType(path, value, QStringLiteral("a string")));
    return value.toString();
}

// Prometheus writes values as strings so that NaN and the infinities survive JSON.
double parseValue(const QString &text, const QString &path)
{
    if (text == QLatin1StringView("NaN"))
        return std::numeric_limits<double>::quiet_NaN();
    if (text == QLatin1StringView("+Inf") || text == QLatin1StringView("Inf"))
        return std::numeric_limits<double>::infinity();
    if (text == QLatin1StringView("-Inf"))
        return -std::numeric_limits<double>::infinity();
    bool ok = false;
    const double value = text.toDouble(&ok);
    if (!ok || !std::isfinite(value))
        malformed(QStringLiteral("%1 is \"%2\", not a number").arg(path, text.left(40)));
    return value;
}

// A [time, "value"] pair.
Sample parseSample(const QJsonValue &json, const QString &path)
{
    const QJsonArray pair = requireArray(json, path);
    if (pair.size() != 2)
        malformed(QStringLiteral("%1 has %2 items, not the 2 of [time, \"value\"]")
                      .arg(path)
                      .arg(pair.size()));
    const QString timePath = path + QStringLiteral("[0]");
    if (!pair.at(0).isDouble())
        malformed(wrongType(timePath, pair.at(0), QStringLiteral("a time in seconds")));
    const double time = pair.at(0).toDouble();
    const QString valuePath = path + QStringLiteral("[1]");
    return Sample{time, parseValue(requireString(pair.at(1), valuePath), valuePath)};
}

QMap<QString, QString> parseLabels(const QJsonValue &json, const QString &path)
{
    const QJsonObject object = requireObject(json, path);
    QMap<QString, QString> labels;
    for (auto it = object.begin(); it != object.end(); ++it)
        labels.insert(it.key(), requireString(it.value(), path + QLatin1Char('.') + it.key()));
    return labels;
}

Answer parseData(const QJsonObject &root)
{
    const QJsonObject data
        = requireObject(root.value(QLatin1StringView("data")), QStringLiteral("data"));
    const QString resultType = requireString(data.value(QLatin1StringView("resultType")),
                                             QStringLiteral("data.resultType"));
    const QJsonValue result = data.value(QLatin1StringView("result"));
    Answer answer;
    if (resultType == QLatin1StringView("scalar")) {
        answer.type = ResultType::Scalar;
        answer.series.append(Series{{}, {parseSample(result, QStringLiteral("data.result"))}});
        return answer;
    }
    if (resultType == QLatin1StringView("vector"))
        answer.type = ResultType::Vector;
    else if (resultType == QLatin1StringView("matrix"))
        answer.type = ResultType::Matrix;
    else if (resultType == QLatin1StringView("string"))
        malformed(QStringLiteral("data.resultType is \"string\": the query yields text, not "
                                 "numbers"));
    else
        malformed(QStringLiteral("data.resultType \"%1\" is none of vector, matrix and scalar")
                      .arg(resultType.left(40)));

    const QJsonArray items = requireArray(result, QStringLiteral("data.result"));
    for (qsizetype i = 0; i < items.size(); ++i) {
        const QString path = QStringLiteral("data.result[%1]").arg(i);
        const QJsonObject item = requireObject(items.at(i), path);
        Series series;
        series.labels = parseLabels(item.value(QLatin1StringView("metric")),
                                    path + QStringLiteral(".metric"));
        if (answer.type == ResultType::Vector) {
            series.samples.append(parseSample(item.value(QLatin1StringView("value")),
                                              path + QStringLiteral(".value")));
        } else {
            const QString valuesPath = path + QStringLiteral(".values");
            const QJsonArray values
                = requireArray(item.value(QLatin1StringView("values")), valuesPath);
            series.samples.reserve(values.size());
            for (qsizetype j = 0; j < values.size(); ++j)
                series.samples.append(
                    parseSample(values.at(j), valuesPath + QStringLiteral("[%1]").arg(j)));
        }
        answer.series.append(std::move(series));
    }
    return answer;
}

// {code="500",service="checkout"}, the way Prometheus shows a series.
QString formatLabels(const QMap<QString, QString> &labels)
{
    QStringList parts;
    for (auto it = labels.begin(); it != labels.end(); ++it)
        parts.append(QStringLiteral("%1=\"%2\"").arg(it.key(), it.value()));
    QString text = QLatin1Char('{') + parts.join(QLatin1Char(',')) + QLatin1Char('}');
    constexpr qsizetype maxShown = 120;
    if (text.size() > maxShown)
        text = text.left(maxShown - 4) + QStringLiteral("...}");
    return text;
}

QString groupAdvice(const QString &versionLabel)
{
    return QStringLiteral("group the query by version, as in sum by (%1) (...), or run it once "
                          "per version with $version")
        .arg(versionLabel);
}

// The version of each series, or why a series has none or shares one.
Result<QStringList, QString> versionsOf(const Answer &answer, const QString &versionLabel)
{
    QStringList versions;
    for (qsizetype i = 0; i < answer.series.size(); ++i) {
        const Series &series = answer.series.at(i);
        const auto label = series.labels.constFind(versionLabel);
        if (label == series.labels.cend())
            return QStringLiteral("series %1 %2 has no '%3' label; %4")
                .arg(i + 1)
                .arg(formatLabels(series.labels), versionLabel, groupAdvice(versionLabel));
        const qsizetype first = versions.indexOf(*label);
        if (first >= 0)
            return QStringLiteral("series %1 %2 and %3 %4 are both version '%5'; %6")
                .arg(first + 1)
                .arg(formatLabels(answer.series.at(first).labels))
                .arg(i + 1)
                .arg(formatLabels(series.labels), *label, groupAdvice(versionLabel));
        versions.append(*label);
    }
    return versions;
}

QString rangeInsteadOfInstant()
{
    return QStringLiteral("it is a range vector (matrix) where one value per series belongs; "
                          "apply rate(), avg_over_time() or the like to the [range]");
}

QString tooManySeries(qsizetype count)
{
    return QStringLiteral("it has %1 series where one belongs; aggregate them, as in sum(...)")
        .arg(count);
}

QString histogramGroupAdvice(const QString &versionLabel)
{
    return QStringLiteral("group the query by version and bucket, as in sum by (%1, le) "
                          "(increase(..._bucket[$window]))")
        .arg(versionLabel);
}

// A value as Prometheus writes it: "NaN", "+Inf", "-3".
QString formatValue(double value)
{
    if (std::isnan(value))
        return QStringLiteral("NaN");
    if (std::isinf(value))
        return value > 0 ? QStringLiteral("+Inf") : QStringLiteral("-Inf");
    return QString::number(value);
}

QString formatBoundMs(double boundMs)
{
    return QStringLiteral("%1 ms").arg(boundMs);
}

// How `bounds` differ from `other`'s, at the first bound where they do, for a noData reason.
QString boundsDifference(const QList<double> &bounds, const QList<double> &other,
                         const QString &otherVersion)
{
    qsizetype i = 0;
    while (i < bounds.size() && i < other.size() && bounds.at(i) == other.at(i))
        ++i;
    if (i < bounds.size() && i < other.size())
        return QStringLiteral("it has a bucket bound at %1 where %2 has %3")
            .arg(formatBoundMs(bounds.at(i)), otherVersion, formatBoundMs(other.at(i)));
    if (i < bounds.size())
        return QStringLiteral("it has a bucket bound at %1 that %2 has not")
            .arg(formatBoundMs(bounds.at(i)), otherVersion);
    return QStringLiteral("it has no bucket bound at %1 as %2 has")
        .arg(formatBoundMs(other.at(i)), otherVersion);
}

} // namespace

const QStringList &placeholderNames()
{
    static const QStringList names{QStringLiteral("service"), QStringLiteral("environment"),
                                   QStringLiteral("window"), QStringLiteral("version_label"),
                                   QStringLiteral("version")};
    return names;
}

std::optional<QString> findUnknownPlaceholder(const QString &text)
{
    std::optional<QString> unknown;
    scanTemplate(
        text,
        [&](const QString &name) {
            if (!unknown && !placeholderNames().contains(name))
                unknown = name;
        },
        [](QStringView) {});
    return unknown;
}

bool usesPlaceholder(const QString &text, const QString &name)
{
    bool used = false;
    scanTemplate(
        text, [&](const QString &found) { used |= found == name; }, [](QStringView) {});
    return used;
}

QString expandTemplate(const QString &text, const TemplateValues &values)
{
    QString expanded;
    expanded.reserve(text.size() + 64);
    scanTemplate(
        text,
        [&](const QString &name) {
            if (name == QLatin1StringView("service"))
                expanded += escapeStringLiteral(values.service);
            else if (name == QLatin1StringView("environment"))
                expanded += escapeStringLiteral(values.environment);
            else if (name == QLatin1StringView("window"))
                expanded += formatPromDuration(values.window);
            else if (name == QLatin1StringView("version_label"))
                expanded += values.versionLabel;
            else if (name == QLatin1StringView("version"))
                expanded += escapeStringLiteral(values.version);
            else // settings validation rejects these; keep the text as written
                expanded += QLatin1Char('$') + name;
        },
        [&](QStringView literal) { expanded += literal; });
    return expanded;
}

QString formatPromDuration(Duration duration)
{
    const qint64 ms = duration.count();
    if (ms % 1000 == 0)
        return QStringLiteral("%1s").arg(ms / 1000);
    return QStringLiteral("%1ms").arg(ms);
}

QString toString(ResultType type)
{
    switch (type) {
    case ResultType::Vector: return QStringLiteral("vector");
    case ResultType::Matrix: return QStringLiteral("matrix");
    case ResultType::Scalar: return QStringLiteral("scalar");
    }
    return {};
}

Result<Answer, AnswerProblem> parseAnswer(const QByteArray &body)
{
    using Kind = AnswerProblem::Kind;
    if (body.trimmed().isEmpty())
        return AnswerProblem{Kind::Malformed, {}, QStringLiteral("the body is empty")};
    QJsonParseError error;
    const QJsonDocument document = QJsonDocument::fromJson(body, &error);
    if (error.error != QJsonParseError::NoError)
        return AnswerProblem{Kind::Malformed,
                             {},
                             QStringLiteral("the body is not JSON (%1 at byte %2)")
                                 .arg(error.errorString())
                                 .arg(error.offset)};
    if (!document.isObject())
        return AnswerProblem{
            Kind::Malformed, {}, QStringLiteral("the JSON is a list, not an object")};
    const QJsonObject root = document.object();
    try {
        const QString status
            = requireString(root.value(QLatin1StringView("status")), QStringLiteral("status"));
        if (status == QLatin1StringView("error")) {
            const QJsonValue type = root.value(QLatin1StringView("errorType"));
            const QJsonValue text = root.value(QLatin1StringView("error"));
            return AnswerProblem{
                Kind::Rejected, type.isString() ? type.toString() : QStringLiteral("error"),
                text.isString() ? text.toString() : QStringLiteral("no reason given")};
        }
        if (status != QLatin1StringView("success"))
            malformed(QStringLiteral("status is \"%1\", neither \"success\" nor \"error\"")
                          .arg(status.left(40)));
        return parseData(root);
    } catch (const Malformed &problem) {
        return AnswerProblem{Kind::Malformed, {}, problem.detail};
    }
}

Result<QMap<QString, Sample>, QString> instantByVersion(const Answer &answer,
                                                        const QString &versionLabel)
{
    switch (answer.type) {
    case ResultType::Matrix: return rangeInsteadOfInstant();
    case ResultType::Scalar:
        return QStringLiteral("it is a single number (scalar) without a '%1' label; %2")
            .arg(versionLabel, groupAdvice(versionLabel));
    case ResultType::Vector: break;
    }
    const Result<QStringList, QString> versions = versionsOf(answer, versionLabel);
    if (!versions)
        return versions.error();
    QMap<QString, Sample> byVersion;
    for (qsizetype i = 0; i < answer.series.size(); ++i)
        byVersion.insert(versions.value().at(i), answer.series.at(i).samples.constFirst());
    return byVersion;
}

Result<std::optional<Sample>, QString> instantSingle(const Answer &answer)
{
    if (answer.type == ResultType::Matrix)
        return rangeInsteadOfInstant();
    if (answer.series.size() > 1)
        return tooManySeries(answer.series.size());
    if (answer.series.isEmpty())
        return std::optional<Sample>();
    return std::optional<Sample>(answer.series.constFirst().samples.constFirst());
}

TimePoint toTimePoint(double prometheusTime)
{
    return fromMSecsSinceEpoch(std::llround(prometheusTime * 1000));
}

QString formatPrometheusTime(TimePoint at)
{
    const qint64 ms = toMSecsSinceEpoch(at);
    return QStringLiteral("%1.%2").arg(ms / 1000).arg(ms % 1000, 3, 10, QLatin1Char('0'));
}

std::optional<double> bucketBoundMs(const QString &le)
{
    // What Prometheus accepts in `le` (Go's ParseFloat): the infinity in any case, and decimals.
    const QString text = le.trimmed();
    for (const char *infinity : {"+Inf", "Inf", "+Infinity", "Infinity"}) {
        if (text.compare(QLatin1StringView(infinity), Qt::CaseInsensitive) == 0)
            return std::numeric_limits<double>::infinity();
    }
    static const QRegularExpression decimal(
        QStringLiteral(R"(^\+?(\d+\.?\d*|\.\d+)(?:[eE]([+-]?\d{1,4}))?$)"));
    const QRegularExpressionMatch match = decimal.match(text);
    if (!match.hasMatch())
        return std::nullopt;
    // Milliseconds by moving the decimal point, not by multiplying by 1000, which would give
    // 300.00000000000006 for "0.3".
    const int exponent = match.capturedView(2).isEmpty() ? 0 : match.capturedView(2).toInt();
    bool ok = false;
    const double ms
        = QLocale::c().toDouble(match.captured(1) + QStringLiteral("e%1").arg(exponent + 3), &ok);
    if (!ok || !std::isfinite(ms))
        return std::nullopt;
    return ms;
}

Result<QMap<QString, QList<Series>>, QString> bucketSeriesByVersion(const Answer &answer,
                                                                    const QString &versionLabel)
{
    switch (answer.type) {
    case ResultType::Matrix: return rangeInsteadOfInstant();
    case ResultType::Scalar:
        return QStringLiteral("it is a single number (scalar) where a histogram's buckets "
                              "belong; %1")
            .arg(histogramGroupAdvice(versionLabel));
    case ResultType::Vector: break;
    }
    QMap<QString, QList<Series>> byVersion;
    for (qsizetype i = 0; i < answer.series.size(); ++i) {
        const Series &series = answer.series.at(i);
        const auto label = series.labels.constFind(versionLabel);
        if (label == series.labels.cend())
            return QStringLiteral("series %1 %2 has no '%3' label; %4")
                .arg(i + 1)
                .arg(formatLabels(series.labels), versionLabel, histogramGroupAdvice(versionLabel));
        byVersion[*label].append(series);
    }
    return byVersion;
}

Result<QList<Series>, QString> bucketSeriesOfOneVersion(const Answer &answer)
{
    switch (answer.type) {
    case ResultType::Matrix: return rangeInsteadOfInstant();
    case ResultType::Scalar:
        return QStringLiteral("it is a single number (scalar) where a histogram's buckets "
                              "belong; group the query by bucket, as in sum by (le) "
                              "(increase(..._bucket[$window]))");
    case ResultType::Vector: break;
    }
    return answer.series;
}

Result<BucketCounts, QString> readBuckets(const QList<Series> &series, const QString &versionLabel)
{
    QMap<double, double> countByBound; // ordered by bound, +Inf last
    QMap<double, QString> leByBound;   // as written, for messages
    for (const Series &bucket : series) {
        const auto le = bucket.labels.constFind(QStringLiteral("le"));
        if (le == bucket.labels.cend())
            return QStringLiteral("has a series without an 'le' label, %1; %2")
                .arg(formatLabels(bucket.labels), histogramGroupAdvice(versionLabel));
        const std::optional<double> bound = bucketBoundMs(*le);
        if (!bound)
            return QStringLiteral("has a bucket le=\"%1\", which is not a number of seconds; "
                                  "query a Prometheus histogram's _bucket series")
                .arg(le->left(40));
        if (leByBound.contains(*bound))
            return QStringLiteral("has two series for one bucket, le=\"%1\" and le=\"%2\"; %3")
                .arg(leByBound.value(*bound), *le, histogramGroupAdvice(versionLabel));
        const double count = bucket.samples.constFirst().value;
        if (!std::isfinite(count) || count < 0)
            return QStringLiteral("counts %1 requests in the bucket le=\"%2\", which is not a "
                                  "count; take increase() of the _bucket series")
                .arg(formatValue(count), *le);
        leByBound.insert(*bound, *le);
        countByBound.insert(*bound, count);
    }
    if (countByBound.isEmpty() || !std::isinf(countByBound.lastKey()))
        return QStringLiteral("has no bucket le=\"+Inf\", which holds the total; keep every "
                              "bucket in the query (filter on other labels, not on le)");
    BucketCounts buckets;
    for (auto it = countByBound.cbegin(); it != countByBound.cend(); ++it) {
        if (!std::isinf(it.key()))
            buckets.boundsMs.append(it.key());
        buckets.cumulative.append(it.value());
    }
    return buckets;
}

LatencyHistogram histogramOfRequests(const BucketCounts &buckets, qint64 requests)
{
    Q_ASSERT(buckets.cumulative.size() == buckets.boundsMs.size() + 1);
    LatencyHistogram histogram;
    histogram.boundsMs = buckets.boundsMs;
    // Each series is extrapolated on its own, so a bucket can come out a little below the one
    // before it; cumulative counts never fall, so it is lifted to its predecessor.
    QList<double> lifted;
    double floor = 0;
    for (const double count : buckets.cumulative)
        lifted.append(floor = std::max(floor, count));
    const double total = lifted.isEmpty() ? 0 : lifted.last();
    Q_ASSERT(total > 0 || requests == 0);
    for (const double count : std::as_const(lifted))
        histogram.cumulativeCounts.append(total > 0 ? std::llround(count * double(requests) / total)
                                                    : 0);
    if (!histogram.cumulativeCounts.isEmpty())
        histogram.cumulativeCounts.last() = requests;
    return histogram;
}

// ---- SnapshotBuilder ----

SnapshotBuilder::SnapshotBuilder(const QMap<QString, Sample> &requestRates, Duration window,
                                 TimePoint fallbackAt)
{
    m_snapshot.interval = window;
    m_snapshot.at = fallbackAt;
    if (!requestRates.isEmpty()) {
        m_evaluationTime = requestRates.first().time;
        m_snapshot.at = toTimePoint(*m_evaluationTime);
    }
    QStringList versions = requestRates.keys();
    std::sort(versions.begin(), versions.end(), versionLessThan);
    constexpr double none = std::numeric_limits<double>::quiet_NaN();
    for (const QString &version : versions) {
        VersionMetrics metrics;
        metrics.version = version;
        metrics.errorRatio = none;
        metrics.p50Ms = none;
        metrics.p99Ms = none;
        m_snapshot.versions.append(metrics);
        setValue(QStringLiteral("request_rate"), version, requestRates.value(version));
    }
}

QStringList SnapshotBuilder::versions() const
{
    QStringList versions;
    for (const VersionMetrics &metrics : m_snapshot.versions)
        versions.append(metrics.version);
    return versions;
}

void SnapshotBuilder::setValues(const QString &metric, const QMap<QString, Sample> &byVersion)
{
    for (const VersionMetrics &metrics : std::as_const(m_snapshot.versions)) {
        const auto it = byVersion.constFind(metrics.version);
        setValue(metric, metrics.version,
                 it == byVersion.cend() ? std::optional<Sample>() : std::optional<Sample>(*it));
    }
}

void SnapshotBuilder::setValue(const QString &metric, const QString &version,
                               std::optional<Sample> sample)
{
    VersionMetrics *metrics = find(version);
    if (!metrics)
        return;
    const QString window = formatPromDuration(m_snapshot.interval);
    if (!sample) {
        metrics->noData.insert(metric,
                               QStringLiteral("Prometheus has no %1 for %2 in the last %3: no "
                                              "samples, or its query does not match this version")
                                   .arg(metric, version, window));
    } else if (std::isnan(sample->value)) {
        metrics->noData.insert(metric, QStringLiteral("Prometheus returned NaN for %1: no "
                                                      "requests in the last %2")
                                           .arg(metric, window));
    } else if (std::isinf(sample->value)) {
        metrics->noData.insert(
            metric,
            QStringLiteral("Prometheus returned %1 for %2: its query "
                           "divided by zero")
                .arg(sample->value > 0 ? QStringLiteral("+Inf") : QStringLiteral("-Inf"), metric));
    } else {
        setNumber(*metrics, metric, sample->value);
        return;
    }
    // The value stays NaN: whoever reads the field without looking at noData gets no number.
    if (metric == QLatin1StringView("request_rate"))
        metrics->requestsPerSecond = std::numeric_limits<double>::quiet_NaN();
}

void SnapshotBuilder::setFailed(const QString &metric, const QString &version,
                                const QString &reason)
{
    for (VersionMetrics &metrics : m_snapshot.versions) {
        if (!version.isEmpty() && metrics.version != version)
            continue;
        metrics.noData.insert(metric, reason);
    }
}

void SnapshotBuilder::setBuckets(const QString &version, std::optional<BucketCounts> buckets)
{
    VersionMetrics *metrics = find(version);
    if (!metrics)
        return;
    if (buckets) {
        m_buckets.insert(version, *buckets);
    } else {
        m_buckets.remove(version);
        metrics->latency.reset();
        metrics->noData.insert(
            latencyNoDataKey,
            QStringLiteral("Prometheus has no %1 for %2 in the last %3: no "
                           "samples, or its query does not match this version")
                .arg(latencyBucketsQuery, version, formatPromDuration(m_snapshot.interval)));
    }
    placeHistograms();
}

// Called again as each version's buckets arrive (one query per version, when the template uses
// $version), so that the snapshot is whole after every step.
void SnapshotBuilder::placeHistograms()
{
    // The bounds most versions share. A slow request is counted at a bucket bound, so canary and
    // baseline must share theirs; a version that changed its buckets cannot be compared. On a
    // tie no version is the odd one out, and none is compared.
    QList<QPair<QList<double>, int>> boundsSeen;
    for (const BucketCounts &buckets : std::as_const(m_buckets)) {
        auto seen = std::find_if(boundsSeen.begin(), boundsSeen.end(), [&](const auto &entry) {
            return entry.first == buckets.boundsMs;
        });
        if (seen == boundsSeen.end())
            boundsSeen.append({buckets.boundsMs, 1});
        else
            ++seen->second;
    }
    std::stable_sort(boundsSeen.begin(), boundsSeen.end(),
                     [](const auto &a, const auto &b) { return a.second > b.second; });
    const bool tie = boundsSeen.size() > 1 && boundsSeen.at(0).second == boundsSeen.at(1).second;
    const QString window = formatPromDuration(m_snapshot.interval);

    for (auto it = m_buckets.cbegin(); it != m_buckets.cend(); ++it) {
        VersionMetrics &metrics = *find(it.key());
        metrics.latency.reset();
        metrics.noData.remove(latencyNoDataKey);
        const QList<double> &bounds = it->boundsMs;
        if (tie || bounds != boundsSeen.constFirst().first) {
            // Named after the first version whose bounds differ from these.
            QString other;
            for (auto o = m_buckets.cbegin(); o != m_buckets.cend() && other.isEmpty(); ++o) {
                if (o->boundsMs != bounds && (tie || o->boundsMs == boundsSeen.constFirst().first))
                    other = o.key();
            }
            metrics.noData.insert(
                latencyNoDataKey,
                QStringLiteral("Prometheus' latency histogram of %1 does not match the other "
                               "versions': %2; slow requests are counted at a bucket bound, "
                               "which the versions compared must share")
                    .arg(it.key(),
                         boundsDifference(bounds, m_buckets.value(other).boundsMs, other)));
            continue;
        }
        if (metrics.noData.contains(QStringLiteral("request_rate"))) {
            metrics.noData.insert(latencyNoDataKey,
                                  QStringLiteral("no request count to match the latency "
                                                 "histogram of %1 to: request_rate has none")
                                      .arg(it.key()));
            continue;
        }
        const double total = it->cumulative.isEmpty() ? 0
                                                      : *std::max_element(it->cumulative.cbegin(),
                                                                          it->cumulative.cend());
        if (total <= 0 && metrics.requests > 0) {
            metrics.noData.insert(
                latencyNoDataKey,
                QStringLiteral("Prometheus' latency histogram of %1 counted no requests in the "
                               "last %2 while request_rate counted %3; the %4 and request_rate "
                               "queries must count the same requests")
                    .arg(it.key(), window)
                    .arg(metrics.requests)
                    .arg(latencyBucketsQuery));
            continue;
        }
        // Scaled to `requests`, which the error count and the canary's share of requests come
        // from too: both are the window's requests, extrapolated by rate() and increase() each in
        // its own way, and a judge counting slow requests among them needs one count, never more
        // slow requests than requests.
        metrics.latency = histogramOfRequests(*it, metrics.requests);
    }
}

VersionMetrics *SnapshotBuilder::find(const QString &version)
{
    for (VersionMetrics &metrics : m_snapshot.versions) {
        if (metrics.version == version)
            return &metrics;
    }
    return nullptr;
}

void SnapshotBuilder::setNumber(VersionMetrics &metrics, const QString &metric, double value)
{
    if (metric == QLatin1StringView("request_rate")) {
        metrics.requestsPerSecond = value;
        metrics.requests = std::llround(value * double(m_snapshot.interval.count()) / 1000.0);
    } else if (metric == QLatin1StringView("error_rate")) {
        metrics.errorRatio = value;
    } else if (metric == QLatin1StringView("p50_latency")) {
        metrics.p50Ms = value;
    } else if (metric == QLatin1StringView("p99_latency")) {
        metrics.p99Ms = value;
    } else {
        metrics.custom.insert(metric, value);
    }
}

} // namespace sb::prom
