#include "prometheussettings.h"

#include "metricdefinition.h"
#include "promql.h"
#include "yamlreader.h"

#include <QMap>
#include <QRegularExpression>

namespace sb::prom {

namespace {

// Requests that completed, and those of them answered 5xx, per version over the window. A
// version without a single 5xx series has no errors: the `or` gives it a zero of its own, so
// its error rate is 0 rather than missing.
const QString requestRate = QStringLiteral(
    R"(sum by ($version_label) (rate(http_requests_total{service="$service"}[$window])))");

const QString errorRate = QStringLiteral(
    R"((sum by ($version_label) (rate(http_requests_total{service="$service",code=~"5.."}[$window])))"
    R"( or (sum by ($version_label) (rate(http_requests_total{service="$service"}[$window])) * 0))"
    R"() / sum by ($version_label) (rate(http_requests_total{service="$service"}[$window])))");

QString latencyQuantile(const QString &quantile)
{
    // Seconds in the histogram, milliseconds in the console.
    return QStringLiteral(
               R"(histogram_quantile(%1, sum by ($version_label, le) )"
               R"((rate(http_request_duration_seconds_bucket{service="$service"}[$window]))) * 1000)")
        .arg(quantile);
}

// Each version's requests per latency bucket over the window, as counts rather than rates:
// what a sequential gate counts slow requests from. increase() extrapolates like rate(), so the
// counts are not whole numbers; the adapter matches them to the request count and rounds them
// (see SnapshotBuilder::setBuckets).
const QString latencyBuckets = QStringLiteral(
    R"(sum by ($version_label, le) )"
    R"((increase(http_request_duration_seconds_bucket{service="$service"}[$window])))");

QString placeholderList()
{
    QStringList names;
    for (const QString &name : placeholderNames())
        names.append(QLatin1Char('$') + name);
    return names.join(QStringLiteral(", "));
}

QStringList knownMetricNames(const Workspace *workspace)
{
    QStringList names;
    for (const MetricDefinition &metric : builtInMetrics())
        names.append(metric.name);
    names.append(QString(latencyBucketsQuery));
    if (workspace) {
        for (const MetricDefinition &metric : workspace->metrics) {
            if (!names.contains(metric.name))
                names.append(metric.name);
        }
    }
    return names;
}

QueryTemplate makeQuery(const QString &metric, const QString &text)
{
    return QueryTemplate{metric, text, usesPlaceholder(text, QStringLiteral("version"))};
}

// The templates the settings give, by metric name, each checked for its metric and placeholders.
QMap<QString, QString> readQueries(const YamlMap &settings, const QString &adapter,
                                   const Workspace *workspace)
{
    QMap<QString, QString> queries;
    if (!settings.has("queries"))
        return queries;
    const YAML::Node node = settings.node("queries");
    QStringList present;
    if (nodeType(node) == YAML::NodeType::Map) {
        for (auto it = node.begin(); it != node.end(); ++it)
            present.append(QString::fromStdString(it->first.Scalar()));
    }
    const QString what = QStringLiteral("queries of prometheus '%1'").arg(adapter);
    // Checks that it is a mapping of plain, distinct keys; which keys is checked below, with a
    // message that names the metrics.
    const YamlMap map(node, settings.file(), what, present);
    const QStringList known = knownMetricNames(workspace);
    for (auto it = node.begin(); it != node.end(); ++it) {
        const QString metric = QString::fromStdString(it->first.Scalar());
        if (!known.contains(metric)) {
            QString message
                = QStringLiteral("unknown metric %1 in %2").arg(quotedValue(metric), what);
            const QString nearest = nearestWord(metric, known);
            if (!nearest.isEmpty())
                message += QStringLiteral("; did you mean '%1'?").arg(nearest);
            message += QStringLiteral(" (metrics: %1; declare others under the workspace's "
                                      "metrics:)")
                           .arg(known.join(QStringLiteral(", ")));
            failAt(settings.file(), it->first, message);
        }
        const QByteArray key = metric.toUtf8();
        const QString text = map.requiredString(key.constData());
        if (const std::optional<QString> unknown = findUnknownPlaceholder(text)) {
            QStringList names = placeholderNames();
            QString message
                = QStringLiteral("the %1 query uses unknown placeholder $%2").arg(metric, *unknown);
            const QString nearest = nearestWord(*unknown, names);
            if (!nearest.isEmpty())
                message += QStringLiteral("; did you mean $%1?").arg(nearest);
            message += QStringLiteral(" (placeholders: %1; write $$ for a '$' of its own)")
                           .arg(placeholderList());
            failAt(settings.file(), it->second, message);
        }
        if (metric == QLatin1StringView("request_rate")
            && usesPlaceholder(text, QStringLiteral("version")))
            failAt(settings.file(), it->second,
                   QStringLiteral("the request_rate query cannot use $version: its answer is "
                                  "where the versions come from; group it by version instead, "
                                  "as in sum by ($version_label) (...)"));
        queries.insert(metric, text);
    }
    return queries;
}

} // namespace

const QueryTemplate *PrometheusSettings::query(const QString &metric) const
{
    for (const QueryTemplate &query : queries) {
        if (query.metric == metric)
            return &query;
    }
    return nullptr;
}

QStringList PrometheusSettings::metricNames() const
{
    QStringList names;
    for (const QueryTemplate &query : queries)
        names.append(query.metric);
    return names;
}

const QList<QueryTemplate> &defaultQueries()
{
    static const QList<QueryTemplate> queries{
        makeQuery(QStringLiteral("request_rate"), requestRate),
        makeQuery(QStringLiteral("error_rate"), errorRate),
        makeQuery(QStringLiteral("p50_latency"), latencyQuantile(QStringLiteral("0.5"))),
        makeQuery(QStringLiteral("p99_latency"), latencyQuantile(QStringLiteral("0.99"))),
        makeQuery(QString(latencyBucketsQuery), latencyBuckets),
    };
    return queries;
}

PrometheusSettings parsePrometheusSettings(const AdapterSpec &spec, const Workspace *workspace)
{
    const QString adapter = QStringLiteral("prometheus '%1'").arg(spec.name);
    if (nodeType(spec.settings) != YAML::NodeType::Map || spec.settings.size() == 0)
        throw DiagnosticError(Diagnostic{
            spec.file, spec.line, 1,
            QStringLiteral("%1 needs settings with at least the url of the Prometheus server, "
                           "like 'settings: {url: http://127.0.0.1:9090}'")
                .arg(adapter)});

    QStringList keys = http::endpointKeys();
    keys << QStringLiteral("poll_interval") << QStringLiteral("window")
         << QStringLiteral("version_label") << QStringLiteral("queries");
    const YamlMap map(spec.settings, spec.file, QStringLiteral("settings of %1").arg(adapter),
                      keys);

    PrometheusSettings settings;
    settings.endpoint = http::readEndpoint(map, adapter);
    settings.pollInterval
        = map.duration("poll_interval", settings.pollInterval, std::chrono::milliseconds(100));
    // rate() needs two samples inside the window; a second is less than any scrape interval.
    settings.window = map.duration("window", settings.window, std::chrono::seconds(1));

    settings.versionLabel = map.string("version_label", settings.versionLabel);
    static const QRegularExpression labelName(QStringLiteral("^[a-zA-Z_][a-zA-Z0-9_]*$"));
    if (!labelName.match(settings.versionLabel).hasMatch())
        failAt(spec.file, map.node("version_label"),
               QStringLiteral("version_label %1 is not a Prometheus label name: use letters, "
                              "digits and '_', not starting with a digit")
                   .arg(quotedValue(settings.versionLabel)));

    QMap<QString, QString> given = readQueries(map, spec.name, workspace);
    for (const QueryTemplate &fallback : defaultQueries())
        settings.queries.append(given.contains(fallback.metric)
                                    ? makeQuery(fallback.metric, given.take(fallback.metric))
                                    : fallback);
    for (auto it = given.cbegin(); it != given.cend(); ++it)
        settings.queries.append(makeQuery(it.key(), it.value()));
    return settings;
}

} // namespace sb::prom
