#pragma once

#include "adapter.h"
#include "adapterregistry.h"
#include "clock.h"
#include "http/httpclient.h"
#include "prometheussettings.h"
#include "promql.h"

#include <QList>
#include <QMap>
#include <QString>

#include <functional>
#include <memory>
#include <optional>

namespace sb::prom {

// Metrics from a Prometheus server through its HTTP API. Every poll_interval it reads each
// service's metrics (request_rate first, which names the versions, then the other queries,
// the latency histogram among them, at the same evaluation time), one round at a time per
// service so a slow server does not pile requests up, and says metricsChanged after each round.
class PrometheusAdapter final : public Adapter, public MetricsSource
{
    Q_OBJECT
public:
    // `services` are polled from start(); others are added when first asked for.
    PrometheusAdapter(const QString &name, PrometheusSettings settings,
                      const QList<ServiceKey> &services, Clock *clock);
    ~PrometheusAdapter() override;

    static AdapterType adapterType();

    MetricsSource *metricsSource() override { return this; }
    void start() override;

    // The latest round's result: its snapshot or, when request_rate could not be read, its
    // error. Before the first round has finished, it waits for one (starting it if need be).
    void metrics(const ServiceKey &service, Callback<MetricsSnapshot> done) override;

private:
    struct Round;
    struct ServiceState {
        bool roundInFlight = false;
        // The last round's snapshot, or its error when request_rate could not be read.
        std::optional<Result<MetricsSnapshot>> latest;
        // Why the last round's other queries failed, if some did.
        QStringList queryFailures;
        QList<Callback<MetricsSnapshot>> waiting;
    };

    void poll();
    void startRound(const ServiceKey &service);
    void onRequestRate(const std::shared_ptr<Round> &round, const Result<Answer, Error> &result);
    void sendMetricQuery(const std::shared_ptr<Round> &round, const QueryTemplate &query,
                         const QString &version);
    // The histogram query's answer: each version's latency, or why it has none.
    void takeHistograms(Round &round, const QString &version, const Result<Answer, Error> &result);
    void finishRound(const std::shared_ptr<Round> &round, Result<MetricsSnapshot> result);
    void updateConnectionState();

    using Answered = std::function<void(Result<Answer, Error>)>;
    // Sends one query and reads the answer; an error is a whole user-facing message about the
    // query of `metric` for `service`.
    void sendQuery(const QString &path, const ServiceKey &service, const QString &metric,
                   const QList<QPair<QString, QString>> &parameters, Answered answered);
    QString queryText(const QueryTemplate &query, const ServiceKey &service,
                      const QString &version) const;
    Error unusableAnswer(const ServiceKey &service, const QString &metric,
                         const QString &reason) const;

    PrometheusSettings m_settings;
    Clock *m_clock;
    QMap<ServiceKey, ServiceState> m_services;
    bool m_started = false;
    Clock::TimerId m_pollTimer = 0;
    // Last, so it goes first: what is in flight is dropped before the state its callbacks use.
    std::unique_ptr<http::HttpClient> m_http;
};

} // namespace sb::prom
