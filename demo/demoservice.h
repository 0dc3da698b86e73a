#pragma once

#include "requestmetrics.h"
#include "serviceoptions.h"

#include <QByteArray>
#include <QHttpServer>
#include <QHttpServerResponder>
#include <QObject>
#include <QTimer>

#include <utility>
#include <vector>

class QHttpServerRequest;

namespace sb::demo {

// The demo service: answers / after the configured latency (failing at the configured rate),
// reports health, readiness and metrics, and shuts down gracefully on a termination signal.
// Answers to / wait on timers, never on the event loop, so slow requests overlap.
class DemoService : public QObject
{
    Q_OBJECT
public:
    explicit DemoService(ServiceOptions options, QObject *parent = nullptr);

    // Starts listening; false, with errorString(), when the address cannot be bound.
    bool listen();
    QString errorString() const { return m_error; }
    // "http://HOST:PORT", with the port actually bound.
    QString url() const;

    // The first call begins the graceful shutdown; a later one ends the process at once.
    void handleTerminationSignal(int signalNumber);

signals:
    // The process should exit with this code.
    void finished(int exitCode);

private:
    enum class Phase {
        Serving,  // ready, listening
        Draining, // /ready answers 503 so balancers take the instance out; still listening
        Closing,  // listening socket closed; answering the requests in flight
    };

    struct Answer {
        QHttpServerResponder::StatusCode status;
        QByteArray body;
        QByteArray contentType = "text/plain; charset=utf-8";
        std::vector<std::pair<QByteArray, QByteArray>> headers = {};
    };

    void setUpRoutes();
    void answerRoot(const QHttpServerRequest &request, QHttpServerResponder &&responder);
    void send(QHttpServerResponder &responder, const QHttpServerRequest &request,
              const Answer &answer);
    void send(QHttpServerResponder &responder, bool headOnly, bool closeConnection,
              const Answer &answer);
    void rootRequestFinished();
    void closeListeningSockets();
    void finishIfIdle();
    void shutdownTimedOut();
    void log(const QString &message) const;

    ServiceOptions m_options;
    QHttpServer m_server;
    RequestMetrics m_metrics;
    Phase m_phase = Phase::Serving;
    int m_rootRequestsInFlight = 0;
    QTimer m_drainTimer;
    QTimer m_shutdownTimer;
    QString m_error;
};

} // namespace sb::demo
