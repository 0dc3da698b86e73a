#include "http/endpointsettings.h"
#include "http/httpclient.h"
#include "serverprocess.h"
#include "yamlreader.h"

#include <QElapsedTimer>
#include <QFile>
#include <QPointer>
#include <QProcess>
#include <QTcpServer>
#include <QTcpSocket>
#include <QTemporaryDir>
#include <QTimer>
#include <QtTest>

#include <memory>
#include <optional>

using namespace sb;
using namespace sb::http;
using namespace std::chrono_literals;

namespace {

using Outcome = std::optional<Result<Response, HttpError>>;

struct ReceivedRequest {
    QByteArray method;
    QByteArray target;
    QList<QPair<QByteArray, QByteArray>> headers;
    QByteArray body;

    QByteArray header(QByteArrayView name) const
    {
        for (const auto &[key, value] : headers) {
            if (key.compare(name, Qt::CaseInsensitive) == 0)
                return value;
        }
        return {};
    }
};

struct Reply {
    enum class Kind {
        Answer,         // the status, headers and body below
        Echo,           // 200 with the request target as the body
        Silent,         // accepts the request and never answers
        CloseMidAnswer, // promises 100 bytes, sends a few, closes
    };
    Kind kind = Kind::Echo;
    int status = 200;
    QByteArray body;
    QList<QPair<QByteArray, QByteArray>> headers;

    static Reply of(Kind kind)
    {
        Reply reply;
        reply.kind = kind;
        return reply;
    }
    static Reply answer(int status, QByteArray body,
                        QList<QPair<QByteArray, QByteArray>> headers = {})
    {
        return Reply{Kind::Answer, status, std::move(body), std::move(headers)};
    }
};

// An HTTP/1.1 server on loopback that plays the replies scripted for it, one per request in
// order, then the fallback; keeps connections open so reuse can be seen.
class ScriptedServer : public QObject
{
public:
    explicit ScriptedServer(Reply fallback = {})
        : m_fallback(std::move(fallback))
    {
        QObject::connect(&m_server, &QTcpServer::newConnection, this, [this] { accept(); });
        m_listening = m_server.listen(QHostAddress::LocalHost, 0);
    }

    bool listening() const { return m_listening; }
    QUrl url(const QString &path) const
    {
        return QUrl(QStringLiteral("http://127.0.0.1:%1%2").arg(m_server.serverPort()).arg(path));
    }
    void script(QList<Reply> replies) { m_script = std::move(replies); }
    const QList<ReceivedRequest> &received() const { return m_received; }
    int connections() const { return m_connections; }

private:
    void accept()
    {
        while (QTcpSocket *socket = m_server.nextPendingConnection()) {
            ++m_connections;
            socket->setParent(this);
            QObject::connect(socket, &QTcpSocket::readyRead, this,
                             [this, socket] { readFrom(socket); });
            QObject::connect(socket, &QTcpSocket::disconnected, socket, &QObject::deleteLater);
        }
    }

    void readFrom(QTcpSocket *socket)
    {
        QByteArray &buffer = m_buffers[socket];
        buffer += socket->readAll();
        for (;;) {
            const qsizetype headerEnd = buffer.indexOf("\r\n\r\n");
            if (headerEnd < 0)
                return;
            const QList<QByteArray> lines = buffer.left(headerEnd).split('\n');
            ReceivedRequest request;
            const QList<QByteArray> requestLine = lines.first().trimmed().split(' ');
            request.method = requestLine.value(0);
            request.target = requestLine.value(1);
            qsizetype contentLength = 0;
            for (qsizetype i = 1; i < lines.size(); ++i) {
                const QByteArray line = lines[i].trimmed();
                const qsizetype colon = line.indexOf(':');
                if (colon <= 0)
                    continue;
                const QByteArray name = line.left(colon).trimmed();
                const QByteArray value = line.mid(colon + 1).trimmed();
                request.headers.append({name, value});
                if (name.compare("content-length", Qt::CaseInsensitive) == 0)
                    contentLength = value.toLongLong();
            }
            if (buffer.size() < headerEnd + 4 + contentLength)
                return;
            request.body = buffer.mid(headerEnd + 4, contentLength);
            buffer.remove(0, headerEnd + 4 + contentLength);
            m_received.append(request);
            respond(socket, request);
        }
    }

    void respond(QTcpSocket *socket, const ReceivedRequest &request)
    {
        const Reply reply = m_script.isEmpty() ? m_fallback : m_script.takeFirst();
        switch (reply.kind) {
        case Reply::Kind::Silent: return;
        case Reply::Kind::CloseMidAnswer:
            socket->write("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly a part");
            socket->disconnectFromHost();
            return;
        case Reply::Kind::Echo:
        case Reply::Kind::Answer: break;
        }
        const QByteArray body = reply.kind == Reply::Kind::Echo ? request.target : reply.body;
        QByteArray answer = "HTTP/1.1 " + QByteArray::number(reply.status) + " Scripted\r\n";
        for (const auto &[name, value] : reply.headers)
            answer += name + ": " + value + "\r\n";
        answer += "Content-Length: " + QByteArray::number(body.size()) + "\r\n\r\n";
        if (request.method != "HEAD")
            answer += body;
        socket->write(answer);
    }

    QTcpServer m_server;
    bool m_listening = false;
    Reply m_fallback;
    QList<Reply> m_script;
    QList<ReceivedRequest> m_received;
    QHash<QTcpSocket *, QByteArray> m_buffers;
    int m_connections = 0;
};

// Measures the longest pause between ticks of a 5 ms timer: how long the event loop stalled.
class LoopGapMeter
{
public:
    LoopGapMeter()
    {
        m_timer.setTimerType(Qt::PreciseTimer);
        m_timer.setInterval(5);
        QObject::connect(&m_timer, &QTimer::timeout,
                         [this] { m_worst = std::max(m_worst, m_sinceTick.restart()); });
        m_sinceTick.start();
        m_timer.start();
    }
    qint64 worstMs() const { return std::max(m_worst, m_sinceTick.elapsed()); }

private:
    QTimer m_timer;
    QElapsedTimer m_sinceTick;
    qint64 m_worst = 0;
};

std::shared_ptr<Outcome> sendTo(HttpClient &client, Request request,
                                const QString &peer = "Backend")
{
    auto outcome = std::make_shared<Outcome>();
    client.send(peer, std::move(request), [outcome](Result<Response, HttpError> result) {
        Q_ASSERT(!outcome->has_value());
        outcome->emplace(std::move(result));
    });
    return outcome;
}

// What went wrong, for a failure message; QVERIFY2 evaluates it whether or not it fails.
QString problemOf(const Result<Response, HttpError> &result)
{
    return result.ok() ? QString() : result.error().message;
}

QString problemOf(const Result<EndpointSettings, Diagnostic> &result)
{
    return result.ok() ? QString() : result.error().toString();
}

Request get(const QUrl &url)
{
    Request request;
    request.url = url;
    return request;
}

bool runTool(const QString &program, const QStringList &arguments, const QString &directory,
             QString *output)
{
    QProcess process;
    process.setWorkingDirectory(directory);
    process.setProcessChannelMode(QProcess::MergedChannels);
    process.start(program, arguments);
    const bool finished = process.waitForFinished(30000);
    *output = QString::fromLocal8Bit(process.readAll());
    return finished && process.exitStatus() == QProcess::NormalExit && process.exitCode() == 0;
}

} // namespace

class TstHttpClient : public QObject
{
    Q_OBJECT

private slots:
    void cleanupTestCase();

    void answersWithHeadersAndBody();
    void keepsStatusAndBody_data();
    void keepsStatusAndBody();
    void refused();
    void timesOutWithoutStallingTheLoop();
    void reset();
    void retriesReadsUntilTheyAnswer();
    void givesUpAfterTheRetries();
    void neverRetriesWrites();
    void neverRetriesWhatRetryingCannotCure();
    void neverCallsBackSynchronously();
    void cancelNeverCallsBack();
    void cancelDuringRetryWait();
    void destroyNeverCallsBack();
    void destroyOrCancelInsideACallback();
    void sendsFromInsideACallback();
    void manyConcurrentRequests();
    void reusesConnections();
    void sendsTheTokenButNeverShowsIt();
    void messagesHideQueryAndUserInfo();
    void doesNotFollowRedirects();

    void tlsFailsWithoutTheCa();
    void tlsSucceedsWithTheCaFile();
    void tlsSucceedsWithoutVerification();

    void readsGoodEndpointSettings();
    void rejectsBadEndpointSettings_data();
    void rejectsBadEndpointSettings();
    void tokenNeverInSettingsMessages();

private:
    bool startNginx();

    QTemporaryDir m_tlsDir;
    std::unique_ptr<test::ServerProcess> m_nginx;
    quint16 m_tlsPort = 0;
    QString m_tlsError;
    qint64 m_worstGapMs = 0;
    qint64 m_worstTlsGapMs = 0;
};

void TstHttpClient::cleanupTestCase()
{
    if (m_nginx && !m_nginx->terminate())
        m_nginx->kill();
    qInfo("worst event-loop gap waiting for a plain HTTP answer: %lld ms; during a first TLS "
          "handshake with the system's CA store: %lld ms",
          m_worstGapMs, m_worstTlsGapMs);
}

void TstHttpClient::answersWithHeadersAndBody()
{
    ScriptedServer server(Reply::answer(200, "hello\n", {{"X-Version", "1.2.3"}}));
    QVERIFY(server.listening());
    HttpClient client;
    Request request = get(server.url("/info"));
    request.headers.emplaceBack("Accept", "text/plain");
    const auto outcome = sendTo(client, request);
    QCOMPARE(client.inFlight(), 1);
    QTRY_VERIFY_WITH_TIMEOUT(outcome->has_value(), 5000);
    QVERIFY2(outcome->value().ok(), qPrintable(problemOf(outcome->value())));
    const Response &response = outcome->value().value();
    QCOMPARE(response.status, 200);
    QCOMPARE(response.body, QByteArray("hello\n"));
    QCOMPARE(response.header("x-version"), QByteArray("1.2.3"));
    QCOMPARE(response.header("X-VERSION"), QByteArray("1.2.3"));
    QCOMPARE(response.headers.first().first, QByteArray("x-version"));
    QCOMPARE(response.attempts, 1);
    QVERIFY(response.elapsed > 0us);
    QCOMPARE(client.inFlight(), 0);
    QCOMPARE(server.received().size(), 1);
    QCOMPARE(server.received().first().method, QByteArray("GET"));
    QCOMPARE(server.received().first().target, QByteArray("/info"));
    QCOMPARE(server.received().first().header("accept"), QByteArray("text/plain"));
    QVERIFY(server.received().first().header("authorization").isEmpty());
}

void TstHttpClient::keepsStatusAndBody_data()
{
    QTest::addColumn<int>("status");
    QTest::addColumn<int>("kind");
    QTest::newRow("404") << 404 << int(Error::Kind::Failed);
    QTest::newRow("503") << 503 << int(Error::Kind::Unavailable);
}

void TstHttpClient::keepsStatusAndBody()
{
    QFETCH(int, status);
    QFETCH(int, kind);
    const QByteArray body = "{\"status\":\"error\",\n\"error\":\"" + QByteArray(300, 'x') + "\"}";
    ScriptedServer server(Reply::answer(status, body));
    HttpClient client;
    const auto outcome = sendTo(client, get(server.url("/api/v1/query")), "Prometheus");
    QTRY_VERIFY_WITH_TIMEOUT(outcome->has_value(), 5000);
    QVERIFY(!outcome->value().ok());
    const HttpError &error = outcome->value().error();
    QCOMPARE(toString(error.failure), toString(Failure::HttpStatus));
    QCOMPARE(error.status, status);
    QCOMPARE(error.body, body);
    const QString expectedStart = QStringLiteral("Prometheus at http://127.0.0.1:%1 (GET "
                                                 "/api/v1/query): HTTP %2: {\"status\":\"error\", "
                                                 "\"error\":\"xxx")
                                      .arg(server.url("/").port())
                                      .arg(status);
    QVERIFY2(error.message.startsWith(expectedStart), qPrintable(error.message));
    QVERIFY2(!error.message.contains(QLatin1Char('\n')), qPrintable(error.message));
    QVERIFY2(error.message.size() < expectedStart.size() + 200, qPrintable(error.message));
    QCOMPARE(int(error.toError().kind), kind);
}

void TstHttpClient::refused()
{
    const quint16 port = test::freeLoopbackPort();
    QVERIFY(port != 0);
    HttpClient client;
    const auto outcome
        = sendTo(client, get(QUrl(QStringLiteral("http://127.0.0.1:%1/api/v1/query").arg(port))),
                 "Prometheus");
    QTRY_VERIFY_WITH_TIMEOUT(outcome->has_value(), 5000);
    const HttpError &error = outcome->value().error();
    QCOMPARE(toString(error.failure), toString(Failure::Refused));
    QCOMPARE(error.message, QStringLiteral("Prometheus at http://127.0.0.1:%1 (GET "
                                           "/api/v1/query): connection refused; check that it "
                                           "runs and listens there")
                                .arg(port));
    QVERIFY(error.toError().kind == Error::Kind::Unavailable);
}

void TstHttpClient::timesOutWithoutStallingTheLoop()
{
    ScriptedServer server(Reply::of(Reply::Kind::Silent));
    HttpClient client;
    Request request = get(server.url("/slow"));
    request.timeout = 300ms;
    LoopGapMeter meter;
    QElapsedTimer clock;
    clock.start();
    const auto outcome = sendTo(client, request);
    QTRY_VERIFY_WITH_TIMEOUT(outcome->has_value(), 5000);
    const qint64 elapsed = clock.elapsed();
    const qint64 worstGap = meter.worstMs();
    m_worstGapMs = std::max(m_worstGapMs, worstGap);
    const HttpError &error = outcome->value().error();
    QCOMPARE(toString(error.failure), toString(Failure::Timeout));
    QVERIFY2(error.message.contains(QStringLiteral("(GET /slow): no answer within 300 ms")),
             qPrintable(error.message));
    QVERIFY(error.toError().kind == Error::Kind::Timeout);
    QVERIFY2(elapsed >= 290 && elapsed < 3000, qPrintable(QString::number(elapsed)));
    QVERIFY2(worstGap < 50,
             qPrintable(QStringLiteral("the event loop stalled %1 ms").arg(worstGap)));
}

void TstHttpClient::reset()
{
    ScriptedServer server(Reply::of(Reply::Kind::CloseMidAnswer));
    HttpClient client;
    const auto outcome = sendTo(client, get(server.url("/")), "nginx upstream 127.0.0.1:8081");
    QTRY_VERIFY_WITH_TIMEOUT(outcome->has_value(), 5000);
    const HttpError &error = outcome->value().error();
    QCOMPARE(toString(error.failure), toString(Failure::Reset));
    QVERIFY2(error.message.startsWith(QStringLiteral("nginx upstream 127.0.0.1:8081 at ")),
             qPrintable(error.message));
    QVERIFY2(error.message.contains(QStringLiteral("closed before a whole answer came")),
             qPrintable(error.message));
    QVERIFY(error.toError().kind == Error::Kind::Unavailable);
}

void TstHttpClient::retriesReadsUntilTheyAnswer()
{
    ScriptedServer server(Reply::answer(200, "finally"));
    server.script({Reply::answer(503, "busy"), Reply::answer(503, "busy")});
    HttpClient client;
    Request request = get(server.url("/ready"));
    request.retries = 2;
    request.retryBackoff = 50ms;
    QElapsedTimer clock;
    clock.start();
    const auto outcome = sendTo(client, request);
    QTRY_VERIFY_WITH_TIMEOUT(outcome->has_value(), 5000);
    QVERIFY2(outcome->value().ok(), qPrintable(problemOf(outcome->value())));
    QCOMPARE(outcome->value().value().attempts, 3);
    QCOMPARE(outcome->value().value().body, QByteArray("finally"));
    QCOMPARE(server.received().size(), 3);
    // Waited 50 ms, then 100 ms.
    QVERIFY2(clock.elapsed() >= 150, qPrintable(QString::number(clock.elapsed())));
}

void TstHttpClient::givesUpAfterTheRetries()
{
    ScriptedServer server(Reply::answer(503, "still busy"));
    HttpClient client;
    Request request = get(server.url("/ready"));
    request.method = "HEAD";
    request.retries = 2;
    request.retryBackoff = 10ms;
    const auto outcome = sendTo(client, request);
    QTRY_VERIFY_WITH_TIMEOUT(outcome->has_value(), 5000);
    const HttpError &error = outcome->value().error();
    QCOMPARE(toString(error.failure), toString(Failure::HttpStatus));
    QCOMPARE(error.status, 503);
    QCOMPARE(server.received().size(), 3);
    QCOMPARE(server.received().last().method, QByteArray("HEAD"));
    QVERIFY2(error.message.contains(QStringLiteral("(HEAD /ready, 3 attempts): HTTP 503")),
             qPrintable(error.message));
}

void TstHttpClient::neverRetriesWrites()
{
    ScriptedServer server(Reply::answer(503, "busy"));
    HttpClient client;
    Request request = get(server.url("/runtime"));
    request.method = "POST";
    request.body = "set weight app/v2 10";
    request.retries = 3;
    request.retryBackoff = 10ms;
    const auto outcome = sendTo(client, request);
    QTRY_VERIFY_WITH_TIMEOUT(outcome->has_value(), 5000);
    QCOMPARE(outcome->value().error().status, 503);
    // Give a wrongly scheduled retry the time to show.
    QTest::qWait(200);
    QCOMPARE(server.received().size(), 1);
    QCOMPARE(server.received().first().method, QByteArray("POST"));
    QCOMPARE(server.received().first().body, QByteArray("set weight app/v2 10"));
}

void TstHttpClient::neverRetriesWhatRetryingCannotCure()
{
    ScriptedServer server(Reply::answer(404, "no such page"));
    HttpClient client;
    Request request = get(server.url("/missing"));
    request.retries = 3;
    request.retryBackoff = 10ms;
    const auto outcome = sendTo(client, request);
    QTRY_VERIFY_WITH_TIMEOUT(outcome->has_value(), 5000);
    QCOMPARE(outcome->value().error().status, 404);
    QTest::qWait(100);
    QCOMPARE(server.received().size(), 1);
}

void TstHttpClient::neverCallsBackSynchronously()
{
    ScriptedServer server;
    HttpClient client;
    bool insideSend = false;
    int calls = 0;
    const auto check = [&](Result<Response, HttpError>) {
        QVERIFY(!insideSend);
        ++calls;
    };
    insideSend = true;
    client.send("Backend", get(server.url("/")), check);
    client.send("Backend", get(QUrl("ftp://127.0.0.1/file")), check);
    Request badHeader = get(server.url("/"));
    badHeader.headers.emplaceBack("X-Bad", "one\r\nInjected: yes");
    client.send("Backend", badHeader, check);
    insideSend = false;
    QCOMPARE(calls, 0);
    QCOMPARE(client.inFlight(), 3);
    QTRY_COMPARE_WITH_TIMEOUT(calls, 3, 5000);
    QCOMPARE(server.received().size(), 1);
    QCOMPARE(client.inFlight(), 0);
}

void TstHttpClient::cancelNeverCallsBack()
{
    ScriptedServer server(Reply::of(Reply::Kind::Silent));
    HttpClient client;
    int calls = 0;
    Request request = get(server.url("/"));
    request.timeout = 300ms;
    const quint64 id = client.send("Backend", request, [&](auto) { ++calls; });
    const quint64 other = client.send("Backend", request, [&](auto) { ++calls; });
    QTRY_COMPARE_WITH_TIMEOUT(server.received().size(), 2, 5000);
    client.cancel(id);
    client.cancel(other);
    client.cancel(other); // twice is harmless
    QCOMPARE(client.inFlight(), 0);
    QTest::qWait(500); // past the timeout
    QCOMPARE(calls, 0);
}

void TstHttpClient::cancelDuringRetryWait()
{
    ScriptedServer server(Reply::answer(503, "busy"));
    HttpClient client;
    int calls = 0;
    Request request = get(server.url("/"));
    request.retries = 2;
    request.retryBackoff = 200ms;
    const quint64 id = client.send("Backend", request, [&](auto) { ++calls; });
    QTRY_COMPARE_WITH_TIMEOUT(server.received().size(), 1, 5000);
    QTest::qWait(20);
    QCOMPARE(client.inFlight(), 1);
    client.cancel(id);
    QTest::qWait(400);
    QCOMPARE(calls, 0);
    QCOMPARE(server.received().size(), 1);
}

void TstHttpClient::destroyNeverCallsBack()
{
    ScriptedServer server(Reply::of(Reply::Kind::Silent));
    ScriptedServer waiting(Reply::answer(503, "busy"));
    auto client = std::make_unique<HttpClient>();
    int calls = 0;
    Request request = get(server.url("/"));
    request.timeout = 300ms;
    client->send("Backend", request, [&](auto) { ++calls; });
    Request retried = get(waiting.url("/"));
    retried.retries = 1;
    retried.retryBackoff = 100ms;
    client->send("Backend", retried, [&](auto) { ++calls; });
    QTRY_COMPARE_WITH_TIMEOUT(server.received().size(), 1, 5000);
    QTRY_COMPARE_WITH_TIMEOUT(waiting.received().size(), 1, 5000);
    // Its failure is already queued for the event loop.
    client->send("Backend", get(QUrl("ftp://127.0.0.1/")), [&](auto) { ++calls; });
    client.reset();
    QTest::qWait(500);
    QCOMPARE(calls, 0);
    QCOMPARE(waiting.received().size(), 1);
}

void TstHttpClient::destroyOrCancelInsideACallback()
{
    ScriptedServer fast;
    ScriptedServer silent(Reply::of(Reply::Kind::Silent));
    Request slow = get(silent.url("/"));
    slow.timeout = 300ms;

    // Cancelling another request from a callback.
    HttpClient client;
    int slowCalls = 0;
    bool fastDone = false;
    const quint64 slowId = client.send("Backend", slow, [&](auto) { ++slowCalls; });
    client.send("Backend", get(fast.url("/")), [&](auto) {
        client.cancel(slowId);
        fastDone = true;
    });
    QTRY_VERIFY_WITH_TIMEOUT(fastDone, 5000);
    QCOMPARE(client.inFlight(), 0);

    // Destroying the client from a callback, with others in flight.
    auto *doomed = new HttpClient;
    QPointer<HttpClient> guard(doomed);
    for (int i = 0; i < 4; ++i)
        doomed->send("Backend", slow, [&](auto) { ++slowCalls; });
    int fastCalls = 0;
    for (int i = 0; i < 4; ++i) {
        doomed->send("Backend", get(fast.url("/")), [&](auto) {
            ++fastCalls;
            delete doomed;
        });
    }
    QTRY_VERIFY_WITH_TIMEOUT(guard.isNull(), 5000);
    QTest::qWait(500);
    QCOMPARE(fastCalls, 1);
    QCOMPARE(slowCalls, 0);

    // Destroying it from a callback while others finished in the same round of the event loop:
    // requests that time out together.
    auto *together = new HttpClient;
    guard = together;
    int timedOut = 0;
    for (int i = 0; i < 4; ++i) {
        together->send("Backend", slow, [&](auto) {
            ++timedOut;
            delete together;
        });
    }
    QTRY_VERIFY_WITH_TIMEOUT(guard.isNull(), 5000);
    QTest::qWait(100);
    QCOMPARE(timedOut, 1);
}

void TstHttpClient::sendsFromInsideACallback()
{
    ScriptedServer server;
    HttpClient client;
    QList<QByteArray> bodies;
    std::function<void(Result<Response, HttpError>)> next = [&](Result<Response, HttpError> r) {
        bodies.append(r.ok() ? r.value().body : r.error().message.toUtf8());
        if (bodies.size() < 3)
            client.send("Backend", get(server.url(QStringLiteral("/%1").arg(bodies.size()))), next);
    };
    client.send("Backend", get(server.url("/0")), next);
    QTRY_COMPARE_WITH_TIMEOUT(bodies.size(), 3, 5000);
    QCOMPARE(bodies, (QList<QByteArray>{"/0", "/1", "/2"}));
}

void TstHttpClient::manyConcurrentRequests()
{
    ScriptedServer server;
    HttpClient client;
    constexpr int count = 50;
    QList<std::shared_ptr<Outcome>> outcomes;
    for (int i = 0; i < count; ++i)
        outcomes.append(sendTo(client, get(server.url(QStringLiteral("/item/%1").arg(i)))));
    QCOMPARE(client.inFlight(), count);
    QTRY_COMPARE_WITH_TIMEOUT(client.inFlight(), 0, 10000);
    for (int i = 0; i < count; ++i) {
        QVERIFY(outcomes[i]->has_value());
        QVERIFY2(outcomes[i]->value().ok(), qPrintable(problemOf(outcomes[i]->value())));
        QCOMPARE(outcomes[i]->value().value().body, QStringLiteral("/item/%1").arg(i).toUtf8());
    }
    QCOMPARE(server.received().size(), count);
}

void TstHttpClient::reusesConnections()
{
    ScriptedServer server;
    HttpClient client;
    for (int i = 0; i < 3; ++i) {
        const auto outcome = sendTo(client, get(server.url("/again")));
        QTRY_VERIFY_WITH_TIMEOUT(outcome->has_value(), 5000);
        QVERIFY(outcome->value().ok());
    }
    QCOMPARE(server.received().size(), 3);
    QCOMPARE(server.connections(), 1);
}

void TstHttpClient::sendsTheTokenButNeverShowsIt()
{
    const QByteArray token = "s3cret-t0ken-value";
    ScriptedServer server(Reply::answer(401, "token " + token + " is not valid"));
    HttpClient client;
    Request request = get(server.url("/api/v1/query"));
    request.bearerToken = token;
    request.timeout = 300ms;
    const auto denied = sendTo(client, request, "Prometheus");
    QTRY_VERIFY_WITH_TIMEOUT(denied->has_value(), 5000);
    QCOMPARE(server.received().first().header("authorization"), "Bearer " + token);
    const HttpError &error = denied->value().error();
    QCOMPARE(error.status, 401);
    QVERIFY2(!error.message.contains(QString::fromUtf8(token)), qPrintable(error.message));
    QVERIFY2(error.message.contains(QStringLiteral("check the token")), qPrintable(error.message));

    ScriptedServer silent(Reply::of(Reply::Kind::Silent));
    request.url = silent.url("/api/v1/query");
    const auto timedOut = sendTo(client, request, "Prometheus");
    request.url.setPort(test::freeLoopbackPort());
    const auto refused = sendTo(client, request, "Prometheus");
    QTRY_VERIFY_WITH_TIMEOUT(timedOut->has_value() && refused->has_value(), 5000);
    for (const auto &outcome : {timedOut, refused}) {
        QVERIFY(!outcome->value().ok());
        QVERIFY2(!outcome->value().error().message.contains(QString::fromUtf8(token)),
                 qPrintable(outcome->value().error().message));
    }
}

void TstHttpClient::messagesHideQueryAndUserInfo()
{
    const quint16 port = test::freeLoopbackPort();
    const QUrl url(
        QStringLiteral("http://admin:hunter2@127.0.0.1:%1/api/v1/query?query=up%2Bsecret#frag")
            .arg(port));
    QCOMPARE(displayUrl(url), QStringLiteral("http://127.0.0.1:%1/api/v1/query").arg(port));
    HttpClient client;
    const auto outcome = sendTo(client, get(url), "Prometheus");
    QTRY_VERIFY_WITH_TIMEOUT(outcome->has_value(), 5000);
    const QString message = outcome->value().error().message;
    for (const char *hidden : {"admin", "hunter2", "query=", "secret", "frag"})
        QVERIFY2(!message.contains(hidden), qPrintable(message));

    const HttpError malformed = malformedBody("Prometheus", url, "expected JSON at offset 0");
    QCOMPARE(toString(malformed.failure), toString(Failure::MalformedBody));
    QVERIFY(malformed.toError().kind == Error::Kind::Invalid);
    QCOMPARE(malformed.message,
             QStringLiteral("Prometheus at http://127.0.0.1:%1/api/v1/query answered with a body "
                            "that could not be used: expected JSON at offset 0")
                 .arg(port));
}

void TstHttpClient::doesNotFollowRedirects()
{
    ScriptedServer server(Reply::answer(302, "", {{"Location", "/elsewhere?token=x"}}));
    HttpClient client;
    const auto outcome = sendTo(client, get(server.url("/")));
    QTRY_VERIFY_WITH_TIMEOUT(outcome->has_value(), 5000);
    const HttpError &error = outcome->value().error();
    QCOMPARE(error.status, 302);
    QCOMPARE(server.received().size(), 1);
    QVERIFY2(error.message.contains(server.url("/elsewhere").toString()),
             qPrintable(error.message));
    QVERIFY2(!error.message.contains(QStringLiteral("token=")), qPrintable(error.message));
}

bool TstHttpClient::startNginx()
{
    if (m_nginx)
        return m_nginx->running();
    m_nginx = std::make_unique<test::ServerProcess>(QStringLiteral("nginx"));
    const QString nginx = test::findProgram(QStringLiteral("nginx"));
    const QString openssl = test::findProgram(QStringLiteral("openssl"));
    if (nginx.isEmpty() || openssl.isEmpty() || !m_tlsDir.isValid()) {
        m_tlsError = QStringLiteral("nginx and openssl are needed: install the nginx-light and "
                                    "openssl packages");
        return false;
    }
    const QString dir = m_tlsDir.path();
    QFile extensions(dir + "/server.ext");
    if (!extensions.open(QIODevice::WriteOnly))
        return false;
    extensions.write("subjectAltName=IP:127.0.0.1,DNS:localhost\n"
                     "basicConstraints=CA:FALSE\n"
                     "extendedKeyUsage=serverAuth\n");
    extensions.close();
    const QList<QStringList> steps = {
        {"req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
         "-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=Signalbox Test CA"},
        {"req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout",
         "server.key", "-out", "server.csr", "-subj", "/CN=127.0.0.1"},
        {"x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
         "-CAcreateserial", "-out", "server.pem", "-days", "2", "-extfile", "server.ext"},
    };
    for (const QStringList &arguments : steps) {
        QString output;
        if (!runTool(openssl, arguments, dir, &output)) {
            m_tlsError = QStringLiteral("openssl %1 failed: %2").arg(arguments.join(' '), output);
            return false;
        }
    }
    m_tlsPort = test::freeLoopbackPort();
    QFile config(dir + "/nginx.conf");
    if (!config.open(QIODevice::WriteOnly))
        return false;
    config.write(QStringLiteral(R"(worker_processes 1;
pid %1/nginx.pid;
error_log stderr;
events { worker_connections 64; }
http {
    access_log off;
    client_body_temp_path %1/client_body;
    proxy_temp_path %1/proxy;
    fastcgi_temp_path %1/fastcgi;
    uwsgi_temp_path %1/uwsgi;
    scgi_temp_path %1/scgi;
    server {
        listen 127.0.0.1:%2 ssl;
        ssl_certificate %1/server.pem;
        ssl_certificate_key %1/server.key;
        location / { return 200 "tls ok\n"; }
    }
}
)")
                     .arg(dir)
                     .arg(m_tlsPort)
                     .toUtf8());
    config.close();
    if (!m_nginx->start(nginx,
                        {"-p", dir, "-c", dir + "/nginx.conf", "-e", "stderr", "-g", "daemon off;"})
        || !m_nginx->waitForPort(m_tlsPort)) {
        m_tlsError = m_nginx->error();
        return false;
    }
    return true;
}

void TstHttpClient::tlsFailsWithoutTheCa()
{
    if (!startNginx())
        QFAIL(qPrintable(m_tlsError));
    HttpClient client;
    LoopGapMeter meter;
    const auto outcome = sendTo(
        client, get(QUrl(QStringLiteral("https://127.0.0.1:%1/api/v1/query").arg(m_tlsPort))),
        "Prometheus");
    QTRY_VERIFY_WITH_TIMEOUT(outcome->has_value(), 5000);
    // Loading the system's CA store happens on the event loop, once per client.
    m_worstTlsGapMs = std::max(m_worstTlsGapMs, meter.worstMs());
    const HttpError &error = outcome->value().error();
    QCOMPARE(toString(error.failure), toString(Failure::Tls));
    QVERIFY2(error.message.startsWith(QStringLiteral("Prometheus at https://127.0.0.1:%1 (GET "
                                                     "/api/v1/query): the TLS certificate could "
                                                     "not be verified (")
                                          .arg(m_tlsPort)),
             qPrintable(error.message));
    QVERIFY2(error.message.endsWith(QStringLiteral("); set ca_file to the CA that signed it")),
             qPrintable(error.message));
    QVERIFY(error.toError().kind == Error::Kind::Unavailable);
}

void TstHttpClient::tlsSucceedsWithTheCaFile()
{
    if (!startNginx())
        QFAIL(qPrintable(m_tlsError));
    HttpClient client;
    for (const QString &host : {QStringLiteral("127.0.0.1"), QStringLiteral("localhost")}) {
        Request request = get(QUrl(QStringLiteral("https://%1:%2/").arg(host).arg(m_tlsPort)));
        request.tls.caFile = m_tlsDir.filePath("ca.pem");
        const auto outcome = sendTo(client, request);
        QTRY_VERIFY_WITH_TIMEOUT(outcome->has_value(), 5000);
        QVERIFY2(outcome->value().ok(), qPrintable(problemOf(outcome->value())));
        QCOMPARE(outcome->value().value().body, QByteArray("tls ok\n"));
    }
}

void TstHttpClient::tlsSucceedsWithoutVerification()
{
    if (!startNginx())
        QFAIL(qPrintable(m_tlsError));
    HttpClient client;
    Request request = get(QUrl(QStringLiteral("https://127.0.0.1:%1/").arg(m_tlsPort)));
    request.tls.verifyPeer = false;
    const auto outcome = sendTo(client, request);
    QTRY_VERIFY_WITH_TIMEOUT(outcome->has_value(), 5000);
    QVERIFY2(outcome->value().ok(), qPrintable(problemOf(outcome->value())));
    QCOMPARE(outcome->value().value().body, QByteArray("tls ok\n"));
}

namespace {

const QString endpointWhat = QStringLiteral("prometheus 'metrics'");

// Reads `yaml` as the settings map of a workspace file in `dir`.
Result<EndpointSettings, Diagnostic> parseEndpoint(const QTemporaryDir &dir, const QString &yaml)
{
    const QString file = dir.filePath("signalbox.yaml");
    QFile out(file);
    if (out.open(QIODevice::WriteOnly))
        out.write(yaml.toUtf8());
    out.close();
    try {
        const YAML::Node node = YAML::Load(yaml.toStdString());
        const YamlMap map(node, file, endpointWhat, endpointKeys());
        return readEndpoint(map, endpointWhat);
    } catch (const DiagnosticError &error) {
        return error.diagnostic();
    }
}

bool writeFile(const QString &path, const QByteArray &content)
{
    QFile file(path);
    return file.open(QIODevice::WriteOnly) && file.write(content) == content.size();
}

} // namespace

void TstHttpClient::readsGoodEndpointSettings()
{
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    QVERIFY(QDir(dir.path()).mkdir("secrets"));
    QVERIFY(writeFile(dir.filePath("secrets/token"), "  s3cret-token\n"));
    QVERIFY(writeFile(dir.filePath("ca.pem"), "-----BEGIN CERTIFICATE-----\nMIIB\n"
                                              "-----END CERTIFICATE-----\n"));
    const auto parsed = parseEndpoint(dir, "url: https://prom.internal:9090/prometheus/\n"
                                           "timeout: 2s\n"
                                           "retries: 3\n"
                                           "tls_verify: true\n"
                                           "ca_file: ca.pem\n"
                                           "token_file: secrets/token\n");
    QVERIFY2(parsed.ok(), qPrintable(problemOf(parsed)));
    const EndpointSettings &settings = parsed.value();
    QCOMPARE(settings.url, QUrl("https://prom.internal:9090/prometheus/"));
    QCOMPARE(settings.timeout.count(), 2000);
    QCOMPARE(settings.retries, 3);
    QVERIFY(settings.tls.verifyPeer);
    QCOMPARE(settings.tls.caFile, dir.filePath("ca.pem"));
    QCOMPARE(settings.bearerToken, QByteArray("s3cret-token"));

    const Request request = settings.request(
        "/api/v1/query", {{"query", "sum(rate(x[5m])) + 1"}, {"time", "1700000000"}});
    QCOMPARE(request.url.toEncoded(),
             QByteArray("https://prom.internal:9090/prometheus/api/v1/query"
                        "?query=sum%28rate%28x%5B5m%5D%29%29%20%2B%201&time=1700000000"));
    QCOMPARE(request.method, QByteArray("GET"));
    QCOMPARE(request.timeout.count(), 2000);
    QCOMPARE(request.retries, 3);
    QVERIFY(request.tls == settings.tls);
    QCOMPARE(request.bearerToken, QByteArray("s3cret-token"));

    // The defaults, and a token from the environment.
    qputenv("SB_TEST_HTTP_TOKEN", "env-token\n");
    const auto minimal = parseEndpoint(dir, "url: http://127.0.0.1:9090\n"
                                            "token_env: SB_TEST_HTTP_TOKEN\n");
    QVERIFY2(minimal.ok(), qPrintable(problemOf(minimal)));
    QCOMPARE(minimal.value().timeout.count(), 5000);
    QCOMPARE(minimal.value().retries, 2);
    QVERIFY(minimal.value().tls.verifyPeer);
    QVERIFY(minimal.value().tls.caFile.isEmpty());
    QCOMPARE(minimal.value().bearerToken, QByteArray("env-token"));
    QCOMPARE(minimal.value().request("metrics").url, QUrl("http://127.0.0.1:9090/metrics"));

    // A request against a real server carries the settings through.
    ScriptedServer server;
    const auto served
        = parseEndpoint(dir, QStringLiteral("url: %1\ntoken_env: SB_TEST_HTTP_TOKEN\n")
                                 .arg(server.url("/base").toString()));
    QVERIFY2(served.ok(), qPrintable(problemOf(served)));
    HttpClient client;
    const auto outcome = sendTo(client, served.value().request("q", {{"query", "a+b"}}));
    QTRY_VERIFY_WITH_TIMEOUT(outcome->has_value(), 5000);
    QVERIFY2(outcome->value().ok(), qPrintable(problemOf(outcome->value())));
    QCOMPARE(server.received().first().target, QByteArray("/base/q?query=a%2Bb"));
    QCOMPARE(server.received().first().header("authorization"), QByteArray("Bearer env-token"));
    qunsetenv("SB_TEST_HTTP_TOKEN");
}

void TstHttpClient::rejectsBadEndpointSettings_data()
{
    QTest::addColumn<QString>("yaml");
    QTest::addColumn<int>("line");
    QTest::addColumn<QStringList>("words");

    const QString url = QStringLiteral("url: http://127.0.0.1:9090\n");
    QTest::newRow("missing url") << "timeout: 1s\n"
                                 << 1 << QStringList{"missing required key 'url'"};
    QTest::newRow("misspelt key") << url + "timout: 1s\n"
                                  << 2 << QStringList{"did you mean 'timeout'"};
    QTest::newRow("ftp") << "url: ftp://host/\n"
                         << 1
                         << QStringList{"url of prometheus 'metrics'", "http:// or https://",
                                        "'ftp://host/'"};
    QTest::newRow("no host") << "url: https://\n" << 1 << QStringList{"with a host"};
    QTest::newRow("no scheme") << "url: prom.internal:9090\n"
                               << 1 << QStringList{"http:// or https://"};
    QTest::newRow("user info") << "url: https://admin:hunter2@prom\n"
                               << 1
                               << QStringList{"user name or password", "token_env or token_file"};
    QTest::newRow("query") << "url: https://prom/?x=1\n"
                           << 1 << QStringList{"must not have a query"};
    QTest::newRow("short timeout") << url + "timeout: 50ms\n"
                                   << 2 << QStringList{"timeout 50ms is below the minimum 100ms"};
    QTest::newRow("timeout word") << url + "timeout: soon\n"
                                  << 2 << QStringList{"timeout must be a duration"};
    QTest::newRow("too many retries") << url + "retries: 11\n"
                                      << 2 << QStringList{"retries", "above the maximum 10"};
    QTest::newRow("negative retries") << url + "retries: -1\n"
                                      << 2 << QStringList{"retries", "below the minimum 0"};
    QTest::newRow("tls_verify word") << url + "tls_verify: maybe\n"
                                     << 2 << QStringList{"tls_verify must be true or false"};
    QTest::newRow("missing ca_file")
        << url + "ca_file: certs/ca.pem\n"
        << 2 << QStringList{"ca_file", "certs/ca.pem does not exist", "workspace file's folder"};
    QTest::newRow("ca_file directory") << url + "ca_file: subdir\n"
                                       << 2 << QStringList{"subdir is a directory"};
    QTest::newRow("ca_file not PEM") << url + "ca_file: notes.txt\n"
                                     << 2 << QStringList{"notes.txt holds no PEM certificate"};
    QTest::newRow("token_env unset") << url + "token_env: SB_TEST_UNSET_TOKEN\n"
                                     << 2
                                     << QStringList{"environment variable SB_TEST_UNSET_TOKEN is "
                                                    "not set",
                                                    "token_file"};
    QTest::newRow("token_env empty") << url + "token_env: SB_TEST_EMPTY_TOKEN\n"
                                     << 2 << QStringList{"SB_TEST_EMPTY_TOKEN is empty"};
    QTest::newRow("token_env not a name") << url + "token_env: $TOKEN\n"
                                          << 2
                                          << QStringList{"token_env must name an environment "
                                                         "variable"};
    QTest::newRow("token_file missing") << url + "token_file: /nonexistent/token\n"
                                        << 2
                                        << QStringList{"token_file /nonexistent/token does not "
                                                       "exist"};
    QTest::newRow("token_file empty") << url + "token_file: empty-token\n"
                                      << 2 << QStringList{"empty-token is empty"};
    QTest::newRow("token_file huge") << url + "token_file: huge-token\n"
                                     << 2 << QStringList{"larger than 64 KB"};
    QTest::newRow("both tokens") << url + "token_env: SB_TEST_SET_TOKEN\ntoken_file: token\n"
                                 << 3
                                 << QStringList{"both token_env and token_file", "keep the one"};
}

void TstHttpClient::rejectsBadEndpointSettings()
{
    QFETCH(QString, yaml);
    QFETCH(int, line);
    QFETCH(QStringList, words);
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    QVERIFY(QDir(dir.path()).mkdir("subdir"));
    QVERIFY(writeFile(dir.filePath("notes.txt"), "not a certificate\n"));
    QVERIFY(writeFile(dir.filePath("empty-token"), " \n"));
    QVERIFY(writeFile(dir.filePath("huge-token"), QByteArray(65 * 1024, 'a')));
    QVERIFY(writeFile(dir.filePath("token"), "from-file"));
    qunsetenv("SB_TEST_UNSET_TOKEN");
    qputenv("SB_TEST_EMPTY_TOKEN", "");
    qputenv("SB_TEST_SET_TOKEN", "set-token");

    const auto parsed = parseEndpoint(dir, yaml);
    QVERIFY(!parsed.ok());
    const Diagnostic &diagnostic = parsed.error();
    QCOMPARE(diagnostic.file, dir.filePath("signalbox.yaml"));
    QCOMPARE(diagnostic.line, line);
    for (const QString &word : words)
        QVERIFY2(diagnostic.message.contains(word), qPrintable(diagnostic.toString()));
    for (const char *secret : {"hunter2", "set-token", "from-file"})
        QVERIFY2(!diagnostic.message.contains(secret), qPrintable(diagnostic.toString()));
}

void TstHttpClient::tokenNeverInSettingsMessages()
{
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const QByteArray token = "tok3n-with-line\nbreak";
    qputenv("SB_TEST_BROKEN_TOKEN", token);
    QVERIFY(writeFile(dir.filePath("token"), token));
    for (const QString &source :
         {QStringLiteral("token_env: SB_TEST_BROKEN_TOKEN"), QStringLiteral("token_file: token")}) {
        const auto parsed = parseEndpoint(dir, "url: https://prom\n" + source + "\n");
        QVERIFY(!parsed.ok());
        QCOMPARE(parsed.error().line, 2);
        QVERIFY2(parsed.error().message.contains(QStringLiteral("line break or control character")),
                 qPrintable(parsed.error().message));
        QVERIFY2(!parsed.error().message.contains(QStringLiteral("tok3n")),
                 qPrintable(parsed.error().message));
    }
    qunsetenv("SB_TEST_BROKEN_TOKEN");
}

QTEST_MAIN(TstHttpClient)
#include "tst_httpclient.moc"
