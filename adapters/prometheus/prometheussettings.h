#pragma once

#include "http/endpointsettings.h"
#include "timepoint.h"
#include "workspace.h"

#include <QList>
#include <QString>

namespace sb::prom {

// A PromQL template for one metric, in the metric's unit (ratio, ms, req/s, ...).
struct QueryTemplate {
    QString metric;
    QString text;
    // Uses $version: run once per version seen in the request_rate answer. Without it the
    // query returns one series per version, grouped by the version label.
    bool perVersion = false;
};

struct PrometheusSettings {
    http::EndpointSettings endpoint;
    Duration pollInterval{std::chrono::seconds(5)};
    Duration window{std::chrono::seconds(30)};
    QString versionLabel = QStringLiteral("version");
    // request_rate first (its answer decides the versions), then the other built-in metrics
    // and latency_buckets (the latency histogram), then the rest by name.
    QList<QueryTemplate> queries;

    const QueryTemplate *query(const QString &metric) const;
    QStringList metricNames() const;
};

// The queries used for metrics the settings give none for, latency_buckets included. They fit
// services instrumented like the demo service: a counter http_requests_total{service, version,
// code} and a histogram http_request_duration_seconds{service, version}.
const QList<QueryTemplate> &defaultQueries();

// Validates `spec.settings` (the metric names of `queries` against the built-in metrics and
// the workspace's own, when there is a workspace). Throws DiagnosticError located in spec.file.
PrometheusSettings parsePrometheusSettings(const AdapterSpec &spec, const Workspace *workspace);

} // namespace sb::prom
