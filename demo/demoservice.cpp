#include "demoservice.h"

#include "terminationsignals.h"

#include <QDateTime>
#include <QElapsedTimer>
#include <QHttpServerRequest>
#include <QPointer>
#include <QRandomGenerator>
#include <QTcpServer>
#include <QTcpSocket>

#include <cstdio>
#include <memory>

namespace sb::demo {

namespace {

using StatusCode = QHttpServerResponder::StatusCode;

QString seconds(std::chrono::milliseconds duration)
{
    return QStringLiteral("%1s").arg(double(duration.count()) / 1000.0);
}

bool asksToClose(const QHttpServerRequest &request)
{
    for (const auto &[name, value] : request.headers()) {
        if (name.compare("connection", Qt::CaseInsensitive) == 0
            && value.trimmed().compare("close", Qt::CaseInsensitive) == 0)
            return true;
    }
    return false;
}

QHostAddress listenAddress(const QString &host)
{
    return host == QLatin1String("localhost") ? QHostAddress(QHostAddress::LocalHost)
                                              : QHostAddress(host);
}

} // namespace

DemoService::DemoService(ServiceOptions options, QObject *parent)
    : QObject(parent)
    , m_options(std::move(options))
    , m_metrics(m_options.service, m_options.version)
{
    // Precise timers: a coarse one may fire up to 5 % early, and a balancer relies on the delay.
    m_drainTimer.setSingleShot(true);
    m_drainTimer.setTimerType(Qt::PreciseTimer);
    connect(&m_drainTimer, &QTimer::timeout, this, &DemoService::closeListeningSockets);
    m_shutdownTimer.setSingleShot(true);
    m_shutdownTimer.setTimerType(Qt::PreciseTimer);
    connect(&m_shutdownTimer, &QTimer::timeout, this, &DemoService::shutdownTimedOut);
    setUpRoutes();
}

bool DemoService::listen()
{
    auto *tcpServer = new QTcpServer(&m_server);
    if (!tcpServer->listen(listenAddress(m_options.host), m_options.port)) {
        m_error = QStringLiteral("cannot listen on %1 port %2: %3")
                      .arg(m_options.host)
                      .arg(m_options.port)
                      .arg(tcpServer->errorString());
        delete tcpServer;
        return false;
    }
    m_server.bind(tcpServer);
    m_options.port = tcpServer->serverPort();
    if (m_options.instance.isEmpty())
        m_options.instance = QStringLiteral("%1-%2").arg(m_options.service).arg(m_options.port);
    return true;
}

QString DemoService::url() const
{
    const bool ipv6 = m_options.host.contains(QLatin1Char(':'));
    return QStringLiteral("http://%1:%2")
        .arg(ipv6 ? QLatin1Char('[') + m_options.host + QLatin1Char(']') : m_options.host)
        .arg(m_options.port);
}

void DemoService::setUpRoutes()
{
    m_server.route("/",
                   [this](const QHttpServerRequest &request, QHttpServerResponder &&responder) {
                       answerRoot(request, std::move(responder));
                   });
    m_server.route("/healthz",
                   [this](const QHttpServerRequest &request, QHttpServerResponder &&responder) {
                       send(responder, request, Answer{StatusCode::Ok, "ok\n"});
                   });
    m_server.route(
        "/ready", [this](const QHttpServerRequest &request, QHttpServerResponder &&responder) {
            if (m_phase == Phase::Serving)
                send(responder, request, Answer{StatusCode::Ok, "ready\n"});
            else
                send(responder, request, Answer{StatusCode::ServiceUnavailable, "shutting down\n"});
        });
    m_server.route(
        "/metrics", [this](const QHttpServerRequest &request, QHttpServerResponder &&responder) {
            send(responder, request,
                 Answer{StatusCode::Ok, m_metrics.exposition(), RequestMetrics::contentType});
        });
    m_server.setMissingHandler(
        [this](const QHttpServerRequest &request, QHttpServerResponder &&responder) {
            const QByteArray body = "no such endpoint: " + request.url().path().toUtf8()
                                    + "; this service answers /, /healthz, /ready and /metrics\n";
            send(responder, request, Answer{StatusCode::NotFound, body});
        });
}

void DemoService::answerRoot(const QHttpServerRequest &request, QHttpServerResponder &&responder)
{
    QElapsedTimer received;
    received.start();
    ++m_rootRequestsInFlight;

    const bool fails = QRandomGenerator::global()->generateDouble() < m_options.errorRate;
    const QByteArray identity = m_options.service.toUtf8() + ' ' + m_options.version.toUtf8() + ' '
                                + m_options.instance.toUtf8();
    Answer answer{fails ? StatusCode::InternalServerError : StatusCode::Ok,
                  fails ? "injected error from " + identity + '\n' : identity + '\n'};
    answer.headers
        = {{"X-Version", m_options.version.toUtf8()}, {"X-Instance", m_options.instance.toUtf8()}};

    qint64 delayMs = m_options.latency.count();
    if (const qint64 jitterMs = m_options.latencyJitter.count(); jitterMs > 0)
        delayMs += QRandomGenerator::global()->bounded(2 * jitterMs + 1) - jitterMs;
    delayMs = std::max<qint64>(delayMs, 0);

    // The request object does not outlive this call and the connection may close before the
    // answer is due, so keep what the answer needs and watch the socket.
    const bool headOnly = request.method() == QHttpServerRequest::Method::Head;
    const bool clientCloses = asksToClose(request);
    auto pending = std::make_shared<QHttpServerResponder>(std::move(responder));
    QPointer<QTcpSocket> socket = pending->socket();
    QTimer::singleShot(std::chrono::milliseconds(delayMs), Qt::PreciseTimer, this,
                       [this, pending, socket, answer, headOnly, clientCloses, received] {
                           m_metrics.record(int(answer.status),
                                            double(received.nsecsElapsed()) / 1e9);
                           if (socket && socket->state() == QAbstractSocket::ConnectedState)
                               send(*pending, headOnly, clientCloses, answer);
                           rootRequestFinished();
                       });
}

void DemoService::send(QHttpServerResponder &responder, const QHttpServerRequest &request,
                       const Answer &answer)
{
    send(responder, request.method() == QHttpServerRequest::Method::Head, asksToClose(request),
         answer);
}

void DemoService::send(QHttpServerResponder &responder, bool headOnly, bool closeConnection,
                       const Answer &answer)
{
    // Once shutting down, tell keep-alive clients to reconnect (elsewhere) for the next request.
    const bool close = closeConnection || m_phase != Phase::Serving;
    responder.writeStatusLine(answer.status);
    responder.writeHeader("Content-Type", answer.contentType);
    responder.writeHeader("Content-Length", QByteArray::number(answer.body.size()));
    for (const auto &[name, value] : answer.headers)
        responder.writeHeader(name, value);
    if (close)
        responder.writeHeader("Connection", "close");
    responder.writeBody(headOnly ? QByteArray() : answer.body);

    QTcpSocket *socket = responder.socket();
    socket->flush();
    if (close)
        socket->disconnectFromHost();
}

void DemoService::rootRequestFinished()
{
    --m_rootRequestsInFlight;
    Q_ASSERT(m_rootRequestsInFlight >= 0);
    if (m_phase == Phase::Closing)
        finishIfIdle();
}

void DemoService::handleTerminationSignal(int signalNumber)
{
    if (m_phase != Phase::Serving) {
        log(QStringLiteral("%1 received during shutdown: exiting now with %2 request(s) to / "
                           "unanswered")
                .arg(signalName(signalNumber))
                .arg(m_rootRequestsInFlight));
        emit finished(128 + signalNumber);
        return;
    }
    m_phase = Phase::Draining;
    log(QStringLiteral("%1 received: /ready answers 503 from now on; the listening socket closes "
                       "in %2 (--drain-delay)")
            .arg(signalName(signalNumber), seconds(m_options.drainDelay)));
    m_drainTimer.start(m_options.drainDelay);
}

void DemoService::closeListeningSockets()
{
    m_phase = Phase::Closing;
    for (QTcpServer *tcpServer : m_server.servers())
        tcpServer->close();
    log(QStringLiteral("drain delay over: listening socket closed, new connections are refused; "
                       "waiting up to %1 (--shutdown-timeout) for %2 request(s) in flight")
            .arg(seconds(m_options.shutdownTimeout))
            .arg(m_rootRequestsInFlight));
    m_shutdownTimer.start(m_options.shutdownTimeout);
    finishIfIdle();
}

void DemoService::finishIfIdle()
{
    if (m_rootRequestsInFlight > 0)
        return;
    m_shutdownTimer.stop();
    log(QStringLiteral("all requests answered: exiting"));
    emit finished(0);
}

void DemoService::shutdownTimedOut()
{
    log(QStringLiteral("shutdown timeout: %1 request(s) still in flight after %2 "
                       "(--shutdown-timeout); exiting with code 1")
            .arg(m_rootRequestsInFlight)
            .arg(seconds(m_options.shutdownTimeout)));
    emit finished(1);
}

void DemoService::log(const QString &message) const
{
    const QString line = QStringLiteral("%1 %2: %3\n")
                             .arg(QDateTime::currentDateTimeUtc().toString(Qt::ISODateWithMs),
                                  m_options.instance, message);
    std::fputs(line.toLocal8Bit().constData(), stderr);
    std::fflush(stderr);
}

} // namespace sb::demo
