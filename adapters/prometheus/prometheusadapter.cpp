#include "prometheusadapter.h"

#include <QFuture>
#include <QPromise>
#include <QThreadPool>
#include <QTimer>

#include <optional>

namespace sb::prom {

namespace {

const QString requestRateMetric = QStringLiteral("request_rate");
const QString queryPath = QStringLiteral("/api/v1/query");

// What a message about one query names.
struct QueryContext {
    ServiceKey service;
    QString metric;
    QString url; // of the API endpoint, without the query
    QString adapter;
};

// Prometheus' own error answer, which comes with 400, 422 or 503.
Error refusedQuery(const QueryContext &query, const AnswerProblem &problem)
{
    Error::Kind kind = Error::Kind::Failed;
    QString advice = QStringLiteral("check the query and Prometheus' log");
    if (problem.errorType == QLatin1StringView("bad_data")) {
        kind = Error::Kind::Invalid;
        advice = QStringLiteral("fix queries: %1: in the settings of prometheus '%2'")
                     .arg(query.metric, query.adapter);
    } else if (problem.errorType == QLatin1StringView("timeout")
               || problem.errorType == QLatin1StringView("canceled")) {
        kind = Error::Kind::Timeout;
        advice = QStringLiteral("the query is too heavy for it; try a shorter window or a "
                                "simpler query");
    }
    return Error{kind, QStringLiteral("Prometheus at %1 refused the %2 query for %3 (%4: %5); %6")
                           .arg(query.url, query.metric, query.service.id(), problem.errorType,
                                problem.detail, advice)};
}

Result<Answer, Error> interpretAnswer(const QueryContext &query,
                                      const Result<Answer, AnswerProblem> &parsed)
{
    if (parsed)
        return parsed.value();
    if (parsed.error().kind == AnswerProblem::Kind::Rejected)
        return refusedQuery(query, parsed.error());
    return Error{Error::Kind::Invalid,
                 QStringLiteral("Prometheus at %1 answered the %2 query for %3 with something "
                                "other than a Prometheus answer: %4; check that the url is the "
                                "Prometheus server's")
                     .arg(query.url, query.metric, query.service.id(), parsed.error().detail)};
}

// A long answer (a template that returns thousands of series, say) takes the JSON parser tens of
// milliseconds (a megabyte takes about 70 ms): too long for the event loop. Smaller ones stay on
// it.
constexpr qsizetype parseOnPoolBytes = 64 * 1024;

struct ParsedBody {
    std::optional<Result<Answer, AnswerProblem>> answer;
};

QFuture<ParsedBody> parseOnPool(QByteArray body)
{
    auto promise = std::make_shared<QPromise<ParsedBody>>();
    QFuture<ParsedBody> future = promise->future();
    promise->start();
    QThreadPool::globalInstance()->start([promise, body = std::move(body)] {
        promise->addResult(ParsedBody{parseAnswer(body)});
        promise->finish();
    });
    return future;
}

} // namespace

struct PrometheusAdapter::Round {
    ServiceKey service;
    std::optional<SnapshotBuilder> builder;
    int pending = 0;
    QStringList failures;
};

PrometheusAdapter::PrometheusAdapter(const QString &name, PrometheusSettings settings,
                                     const QList<ServiceKey> &services, Clock *clock)
    : Adapter(name, QStringLiteral("prometheus"))
    , m_settings(std::move(settings))
    , m_clock(clock)
    , m_http(std::make_unique<http::HttpClient>())
{
    for (const ServiceKey &service : services)
        m_services.insert(service, ServiceState());
}

PrometheusAdapter::~PrometheusAdapter()
{
    if (m_pollTimer)
        m_clock->cancel(m_pollTimer);
}

AdapterType PrometheusAdapter::adapterType()
{
    return AdapterType{
        QStringLiteral("prometheus"),
        QStringLiteral("Request rate, errors, latency and custom metrics per version, from a "
                       "Prometheus server"),
        {Capability::Metrics},
        [](const AdapterSpec &spec, const AdapterContext &context) -> std::unique_ptr<Adapter> {
            PrometheusSettings settings = parsePrometheusSettings(spec, context.workspace);
            QList<ServiceKey> services;
            if (context.workspace) {
                for (const ServiceSpec &service : context.workspace->services) {
                    if (service.bindings.value(Capability::Metrics) == spec.name)
                        services.append(service.key);
                }
            }
            return std::make_unique<PrometheusAdapter>(spec.name, std::move(settings), services,
                                                       context.clock);
        },
    };
}

void PrometheusAdapter::start()
{
    if (m_started)
        return;
    m_started = true;
    setConnectionState(ConnectionState::Connecting,
                       QStringLiteral("reading metrics from Prometheus at %1")
                           .arg(http::displayUrl(m_settings.endpoint.url)));
    poll();
}

void PrometheusAdapter::poll()
{
    for (auto it = m_services.begin(); it != m_services.end(); ++it) {
        if (!it->roundInFlight)
            startRound(it.key());
    }
    m_pollTimer = m_clock->schedule(m_settings.pollInterval, this, [this] { poll(); });
}

void PrometheusAdapter::metrics(const ServiceKey &service, Callback<MetricsSnapshot> done)
{
    // Asking for a service also keeps it polled from now on.
    ServiceState &state = m_services[service];
    if (state.latest)
        return answerLater(std::move(done), *state.latest);
    state.waiting.append(std::move(done));
    if (!state.roundInFlight)
        startRound(service);
}

void PrometheusAdapter::startRound(const ServiceKey &service)
{
    m_services[service].roundInFlight = true;
    auto round = std::make_shared<Round>();
    round->service = service;
    const QueryTemplate &requestRate = *m_settings.query(requestRateMetric);
    sendQuery(queryPath, service, requestRateMetric,
              {{QStringLiteral("query"), queryText(requestRate, service, {})}},
              [this, round](Result<Answer, Error> result) { onRequestRate(round, result); });
}

void PrometheusAdapter::onRequestRate(const std::shared_ptr<Round> &round,
                                      const Result<Answer, Error> &result)
{
    if (!result)
        return finishRound(round, result.error());
    const Result<QMap<QString, Sample>, QString> rates
        = instantByVersion(result.value(), m_settings.versionLabel);
    if (!rates)
        return finishRound(round, unusableAnswer(round->service, requestRateMetric, rates.error()));
    round->builder.emplace(rates.value(), m_settings.window, m_clock->now());
    const QStringList versions = round->builder->versions();
    if (versions.isEmpty())
        return finishRound(round, round->builder->snapshot());
    for (const QueryTemplate &query : m_settings.queries) {
        if (query.metric == requestRateMetric)
            continue;
        if (!query.perVersion) {
            sendMetricQuery(round, query, {});
            continue;
        }
        for (const QString &version : versions)
            sendMetricQuery(round, query, version);
    }
}

void PrometheusAdapter::sendMetricQuery(const std::shared_ptr<Round> &round,
                                        const QueryTemplate &query, const QString &version)
{
    ++round->pending;
    // The same moment as request_rate, so that every metric describes the same window.
    const QString time = formatPrometheusTime(toTimePoint(*round->builder->evaluationTime()));
    const QString metric = query.metric;
    sendQuery(queryPath, round->service, metric,
              {{QStringLiteral("query"), queryText(query, round->service, version)},
               {QStringLiteral("time"), time}},
              [this, round, metric, version](Result<Answer, Error> result) {
                  if (metric == latencyBucketsQuery) {
                      takeHistograms(*round, version, result);
                      if (--round->pending == 0)
                          finishRound(round, round->builder->snapshot());
                      return;
                  }
                  SnapshotBuilder &builder = *round->builder;
                  auto fail = [&](const Error &error) {
                      builder.setFailed(metric, version, error.message);
                      round->failures.append(error.message);
                  };
                  if (!result) {
                      fail(result.error());
                  } else if (version.isEmpty()) {
                      const auto values = instantByVersion(result.value(), m_settings.versionLabel);
                      if (values)
                          builder.setValues(metric, values.value());
                      else
                          fail(unusableAnswer(round->service, metric, values.error()));
                  } else {
                      const auto value = instantSingle(result.value());
                      if (value)
                          builder.setValue(metric, version, value.value());
                      else
                          fail(unusableAnswer(round->service, metric, value.error()));
                  }
                  if (--round->pending == 0)
                      finishRound(round, builder.snapshot());
              });
}

void PrometheusAdapter::takeHistograms(Round &round, const QString &version,
                                       const Result<Answer, Error> &result)
{
    SnapshotBuilder &builder = *round.builder;
    const QString metric = latencyBucketsQuery;
    // Whatever goes wrong, the version's latency stays empty with the reason, the rest of the
    // snapshot stands, and the adapter says it is degraded: the query needs fixing.
    auto fail = [&](const QString &failedVersion, const Error &error) {
        builder.setFailed(latencyNoDataKey, failedVersion, error.message);
        round.failures.append(error.message);
    };
    if (!result)
        return fail(version, result.error());
    QMap<QString, QList<Series>> byVersion;
    if (version.isEmpty()) {
        const auto grouped = bucketSeriesByVersion(result.value(), m_settings.versionLabel);
        if (!grouped)
            return fail({}, unusableAnswer(round.service, metric, grouped.error()));
        byVersion = grouped.value();
    } else {
        const auto series = bucketSeriesOfOneVersion(result.value());
        if (!series)
            return fail(version, unusableAnswer(round.service, metric, series.error()));
        if (!series.value().isEmpty())
            byVersion.insert(version, series.value());
    }
    const QStringList versions = version.isEmpty() ? builder.versions() : QStringList{version};
    for (const QString &each : versions) {
        const auto series = byVersion.constFind(each);
        if (series == byVersion.cend()) {
            builder.setBuckets(each, std::nullopt);
            continue;
        }
        const Result<BucketCounts, QString> buckets = readBuckets(*series, m_settings.versionLabel);
        if (buckets)
            builder.setBuckets(each, buckets.value());
        else
            fail(each, unusableAnswer(
                           round.service, metric,
                           QStringLiteral("the histogram of %1 %2").arg(each, buckets.error())));
    }
}

void PrometheusAdapter::finishRound(const std::shared_ptr<Round> &round,
                                    Result<MetricsSnapshot> result)
{
    ServiceState &state = m_services[round->service];
    state.roundInFlight = false;
    state.queryFailures = result ? round->failures : QStringList();
    state.latest = result;
    const QList<Callback<MetricsSnapshot>> waiting = std::exchange(state.waiting, {});
    updateConnectionState();
    Q_EMIT metricsChanged(round->service);
    for (const Callback<MetricsSnapshot> &done : waiting)
        done(result);
}

void PrometheusAdapter::updateConnectionState()
{
    int answered = 0;
    int failed = 0;
    int degraded = 0;
    QString firstProblem;
    for (auto it = m_services.cbegin(); it != m_services.cend(); ++it) {
        if (!it->latest)
            continue;
        ++answered;
        if (!it->latest->ok()) {
            ++failed;
            if (firstProblem.isEmpty())
                firstProblem = it->latest->error().message;
        } else if (!it->queryFailures.isEmpty()) {
            ++degraded;
            if (firstProblem.isEmpty())
                firstProblem = it->queryFailures.constFirst();
        }
    }
    if (answered == 0)
        return;
    if (failed == answered)
        return setConnectionState(ConnectionState::Disconnected, firstProblem);
    if (failed + degraded > 0) {
        if (failed + degraded > 1)
            firstProblem += QStringLiteral(" (and queries of %1 more services failed)")
                                .arg(failed + degraded - 1);
        return setConnectionState(ConnectionState::Degraded, firstProblem);
    }
    setConnectionState(ConnectionState::Connected,
                       QStringLiteral("Prometheus at %1 answers every query (%2, read every %3)")
                           .arg(http::displayUrl(m_settings.endpoint.url),
                                answered == 1 ? QStringLiteral("1 service")
                                              : QStringLiteral("%1 services").arg(answered),
                                formatDuration(m_settings.pollInterval)));
}

void PrometheusAdapter::sendQuery(const QString &path, const ServiceKey &service,
                                  const QString &metric,
                                  const QList<QPair<QString, QString>> &parameters,
                                  Answered answered)
{
    http::Request request = m_settings.endpoint.request(path, parameters);
    const QueryContext query{service, metric, http::displayUrl(request.url), name()};
    m_http->send(QStringLiteral("Prometheus"), std::move(request),
                 [this, query,
                  answered = std::move(answered)](Result<http::Response, http::HttpError> result) {
                     if (!result) {
                         const http::HttpError &error = result.error();
                         if (error.failure == http::Failure::HttpStatus) {
                             const Result<Answer, AnswerProblem> parsed = parseAnswer(error.body);
                             if (!parsed && parsed.error().kind == AnswerProblem::Kind::Rejected)
                                 return answered(refusedQuery(query, parsed.error()));
                         }
                         return answered(
                             Error{error.toError().kind,
                                   QStringLiteral("could not read %1 of %2: %3")
                                       .arg(query.metric, query.service.id(), error.message)});
                     }
                     const QByteArray &body = result.value().body;
                     if (body.size() < parseOnPoolBytes)
                         return answered(interpretAnswer(query, parseAnswer(body)));
                     // Dropped with the adapter, should it go first.
                     parseOnPool(body).then(this, [query, answered](const ParsedBody &parsed) {
                         answered(interpretAnswer(query, *parsed.answer));
                     });
                 });
}

QString PrometheusAdapter::queryText(const QueryTemplate &query, const ServiceKey &service,
                                     const QString &version) const
{
    return expandTemplate(query.text,
                          TemplateValues{service.name, service.environment, m_settings.window,
                                         m_settings.versionLabel, version});
}

Error PrometheusAdapter::unusableAnswer(const ServiceKey &service, const QString &metric,
                                        const QString &reason) const
{
    return Error{Error::Kind::Invalid,
                 QStringLiteral("Prometheus at %1: the answer to the %2 query for %3 cannot be "
                                "used: %4")
                     .arg(http::displayUrl(m_settings.endpoint.url), metric, service.id(), reason)};
}

} // namespace sb::prom
