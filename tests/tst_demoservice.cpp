// The demo service as the integration tests and the local stack run it: the real program,
// started on loopback, spoken to over raw sockets.
#include "serverprocess.h"

#include <QElapsedTimer>
#include <QRegularExpression>
#include <QTcpServer>
#include <QTcpSocket>
#include <QtTest>

#include <algorithm>
#include <csignal>
#include <limits>
#include <memory>
#include <vector>

using namespace std::chrono_literals;
using sb::test::ServerProcess;

namespace {

// One HTTP request over its own connection, answered asynchronously so that many overlap.
// It sends "Connection: close" and reads the answer by its Content-Length.
class HttpExchange : public QObject
{
    Q_OBJECT
public:
    HttpExchange(quint16 port, const QByteArray &path, const QByteArray &method = "GET")
        : m_request(method + ' ' + path
                    + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        , m_headOnly(method == "HEAD")
    {
        connect(&m_socket, &QTcpSocket::connected, this, [this] { m_socket.write(m_request); });
        connect(&m_socket, &QTcpSocket::bytesWritten, this, [this] { m_sent = true; });
        connect(&m_socket, &QTcpSocket::readyRead, this, &HttpExchange::readAnswer);
        connect(&m_socket, &QTcpSocket::errorOccurred, this,
                [this](QAbstractSocket::SocketError error) {
                    if (m_finished)
                        return;
                    socketError = error;
                    finish(m_socket.errorString());
                });
        connect(&m_socket, &QTcpSocket::disconnected, this, [this] {
            if (!m_finished)
                finish(QStringLiteral("the connection closed before the answer was complete: ")
                       + QString::fromUtf8(m_buffer));
        });
        m_timer.start();
        m_socket.connectToHost(QHostAddress::LocalHost, port);
    }

    bool finished() const { return m_finished; }
    // The request has left this end of the connection.
    bool sent() const { return m_sent; }

    int status = 0;
    QHash<QByteArray, QByteArray> headers; // names in lower case
    QByteArray body;
    QString error;
    QAbstractSocket::SocketError socketError = QAbstractSocket::UnknownSocketError;
    qint64 elapsedMs = -1;

private:
    void readAnswer()
    {
        m_buffer += m_socket.readAll();
        if (m_headerEnd < 0) {
            m_headerEnd = m_buffer.indexOf("\r\n\r\n");
            if (m_headerEnd < 0)
                return;
            const QList<QByteArray> lines = m_buffer.left(m_headerEnd).split('\n');
            const QList<QByteArray> statusLine = lines.first().trimmed().split(' ');
            status = statusLine.value(1).toInt();
            for (qsizetype i = 1; i < lines.size(); ++i) {
                const qsizetype colon = lines.at(i).indexOf(':');
                if (colon > 0)
                    headers.insert(lines.at(i).left(colon).trimmed().toLower(),
                                   lines.at(i).mid(colon + 1).trimmed());
            }
            bool ok = false;
            m_contentLength = headers.value("content-length").toLongLong(&ok);
            if (!ok) {
                finish(QStringLiteral("the answer has no Content-Length: ")
                       + QString::fromUtf8(m_buffer));
                return;
            }
        }
        const QByteArray received = m_buffer.mid(m_headerEnd + 4);
        if (m_headOnly || received.size() >= m_contentLength) {
            body = received;
            finish({});
        }
    }

    void finish(const QString &failure)
    {
        m_finished = true;
        error = failure;
        elapsedMs = m_timer.elapsed();
    }

    QTcpSocket m_socket;
    QByteArray m_request;
    bool m_headOnly;
    bool m_sent = false;
    bool m_finished = false;
    QByteArray m_buffer;
    qsizetype m_headerEnd = -1;
    qint64 m_contentLength = -1;
    QElapsedTimer m_timer;
};

bool waitForAll(const std::vector<std::unique_ptr<HttpExchange>> &exchanges,
                std::chrono::milliseconds timeout = 10s)
{
    return QTest::qWaitFor(
        [&] {
            return std::all_of(exchanges.begin(), exchanges.end(),
                               [](const auto &exchange) { return exchange->finished(); });
        },
        int(timeout.count()));
}

std::unique_ptr<HttpExchange> get(quint16 port, const QByteArray &path,
                                  const QByteArray &method = "GET")
{
    auto exchange = std::make_unique<HttpExchange>(port, path, method);
    if (!QTest::qWaitFor([&] { return exchange->finished(); }, 10'000))
        exchange->error = QStringLiteral("no answer within 10 s");
    return exchange;
}

// One sample of the text exposition format.
struct Sample {
    QByteArray name;
    QMap<QByteArray, QByteArray> labels;
    double value = 0.0;
};

// The text format 0.0.4, checked strictly enough to catch what Prometheus would reject:
// HELP and TYPE before a family's samples, well-formed names, labels, escapes and values.
struct Exposition {
    QList<Sample> samples;
    QMap<QByteArray, QByteArray> types;
    QString error;

    QList<Sample> find(const QByteArray &name) const
    {
        QList<Sample> found;
        for (const Sample &sample : samples) {
            if (sample.name == name)
                found << sample;
        }
        return found;
    }
};

Exposition parseExposition(const QByteArray &text)
{
    static const QRegularExpression comment(
        QStringLiteral("^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) (.+)$"));
    static const QRegularExpression sampleName(QStringLiteral("^[a-zA-Z_:][a-zA-Z0-9_:]*"));
    static const QRegularExpression labelName(QStringLiteral("^[a-zA-Z_][a-zA-Z0-9_]*"));
    static const QRegularExpression value(
        QStringLiteral("^ ([-+]?(?:[0-9]+(?:\\.[0-9]*)?(?:[eE][-+]?[0-9]+)?|Inf)|NaN)$"));

    Exposition exposition;
    QMap<QByteArray, QByteArray> help;
    if (!text.endsWith('\n')) {
        exposition.error = QStringLiteral("the text does not end with a newline");
        return exposition;
    }
    const QList<QByteArray> lines = text.chopped(1).split('\n');
    for (const QByteArray &line : lines) {
        const QString lineText = QString::fromUtf8(line);
        auto fail = [&](const QString &why) {
            exposition.error = why + QStringLiteral(": ") + lineText;
            return exposition;
        };
        if (line.startsWith('#')) {
            const QRegularExpressionMatch match = comment.match(lineText);
            if (!match.hasMatch())
                return fail(QStringLiteral("malformed comment"));
            const QByteArray family = match.captured(2).toUtf8();
            if (match.captured(1) == QLatin1String("HELP")) {
                help.insert(family, match.captured(3).toUtf8());
            } else {
                if (exposition.types.contains(family))
                    return fail(QStringLiteral("second TYPE for a family"));
                exposition.types.insert(family, match.captured(3).toUtf8());
            }
            continue;
        }
        Sample sample;
        const QRegularExpressionMatch name = sampleName.match(lineText);
        if (!name.hasMatch())
            return fail(QStringLiteral("no metric name"));
        sample.name = name.captured().toUtf8();
        qsizetype at = name.capturedLength();
        if (at < line.size() && line.at(at) == '{') {
            ++at;
            while (at < line.size() && line.at(at) != '}') {
                const QRegularExpressionMatch label = labelName.match(lineText.mid(at));
                if (!label.hasMatch())
                    return fail(QStringLiteral("bad label name"));
                at += label.capturedLength();
                if (line.mid(at, 2) != "=\"")
                    return fail(QStringLiteral("label without =\""));
                at += 2;
                QByteArray labelValue;
                while (at < line.size() && line.at(at) != '"') {
                    if (line.at(at) == '\\') {
                        const char escaped = line.at(at + 1);
                        if (escaped == 'n')
                            labelValue += '\n';
                        else if (escaped == '\\' || escaped == '"')
                            labelValue += escaped;
                        else
                            return fail(QStringLiteral("bad escape in a label value"));
                        at += 2;
                    } else {
                        labelValue += line.at(at++);
                    }
                }
                if (at >= line.size())
                    return fail(QStringLiteral("unterminated label value"));
                ++at;
                if (sample.labels.contains(label.captured().toUtf8()))
                    return fail(QStringLiteral("label given twice"));
                sample.labels.insert(label.captured().toUtf8(), labelValue);
                if (line.at(at) == ',')
                    ++at;
            }
            if (at >= line.size())
                return fail(QStringLiteral("unterminated label set"));
            ++at;
        }
        const QRegularExpressionMatch number = value.match(lineText.mid(at));
        if (!number.hasMatch())
            return fail(QStringLiteral("bad sample value"));
        const QString numberText = number.captured(1);
        sample.value = numberText.endsWith(QLatin1String("Inf"))
                           ? (numberText.startsWith(QLatin1Char('-')) ? -qInf() : qInf())
                           : numberText.toDouble();
        QByteArray family = sample.name;
        for (const char *suffix : {"_bucket", "_sum", "_count"}) {
            const QByteArray base = sample.name.chopped(qstrlen(suffix));
            if (sample.name.endsWith(suffix) && exposition.types.value(base) == "histogram")
                family = base;
        }
        if (!exposition.types.contains(family) || !help.contains(family))
            return fail(QStringLiteral("sample before its family's HELP and TYPE"));
        exposition.samples << sample;
    }
    return exposition;
}

} // namespace

class TestDemoService : public QObject
{
    Q_OBJECT

private slots:
    void initTestCase();
    void listensAndAnswersWithItsIdentity();
    void picksAFreePortAndTakesAnInstanceId();
    void answersHealthReadinessAndUnknownPaths();
    void failsEveryRequestOrNone_data();
    void failsEveryRequestOrNone();
    void failsAboutHalfAtFiftyPercent();
    void slowRequestsOverlap();
    void latencyJitterSpreadsAnswers();
    void metricsFollowTheTextFormat();
    void metricsPassPromtool();
    void rejectsBadCommandLines_data();
    void rejectsBadCommandLines();
    void printsUsageOnHelp();
    void reportsAPortInUse();
    void drainsAndExitsOnSigterm();
    void secondSignalExitsAtOnce();
    void shutdownTimeoutCutsInFlightRequests();

private:
    // Starts the service as shop 1.4.2 on --port 0 with no drain delay, unless `arguments` say
    // otherwise; returns the port from its "listening on" line, or 0 when none came.
    quint16 startService(ServerProcess &process, const QStringList &arguments);
    QString output(ServerProcess &process);
    bool waitForExit(ServerProcess &process, std::chrono::milliseconds timeout);

    QHash<ServerProcess *, QByteArray> m_output;
};

void TestDemoService::initTestCase()
{
    if (!QFileInfo(sb::test::demoServiceProgram()).isExecutable())
        QFAIL(qPrintable(QStringLiteral("the demo service %1 is not built")
                             .arg(sb::test::demoServiceProgram())));
}

quint16 TestDemoService::startService(ServerProcess &process, const QStringList &arguments)
{
    m_output.remove(&process); // a new process may sit where an earlier test's one did
    QStringList all = arguments;
    if (!arguments.contains(QStringLiteral("--service")))
        all << QStringLiteral("--service") << QStringLiteral("shop");
    if (!arguments.contains(QStringLiteral("--version")))
        all << QStringLiteral("--version") << QStringLiteral("1.4.2");
    if (!arguments.contains(QStringLiteral("--port")))
        all << QStringLiteral("--port") << QStringLiteral("0");
    // So that the fixture's SIGTERM at the end of a test ends it at once.
    if (!arguments.contains(QStringLiteral("--drain-delay")))
        all << QStringLiteral("--drain-delay") << QStringLiteral("0s");
    if (!process.start(sb::test::demoServiceProgram(), all)) {
        m_output[&process] = process.error().toUtf8();
        return 0;
    }
    static const QRegularExpression listening(
        QStringLiteral("^listening on http://127\\.0\\.0\\.1:(\\d+)\n"));
    QRegularExpressionMatch match;
    const bool settled = QTest::qWaitFor(
        [&] {
            m_output[&process] += process.process().readAll();
            match = listening.match(QString::fromUtf8(m_output[&process]));
            return match.hasMatch() || !process.running();
        },
        10'000);
    return settled && match.hasMatch() ? quint16(match.captured(1).toUInt()) : 0;
}

QString TestDemoService::output(ServerProcess &process)
{
    m_output[&process] += process.process().readAll();
    return QString::fromUtf8(m_output[&process]);
}

bool TestDemoService::waitForExit(ServerProcess &process, std::chrono::milliseconds timeout)
{
    return QTest::qWaitFor([&] { return !process.running(); }, int(timeout.count()));
}

void TestDemoService::listensAndAnswersWithItsIdentity()
{
    ServerProcess process(QStringLiteral("demo service"));
    const quint16 requestedPort = sb::test::freeLoopbackPort();
    const quint16 port
        = startService(process, {QStringLiteral("--port"), QString::number(requestedPort)});
    QVERIFY2(port != 0, qPrintable(output(process)));
    QCOMPARE(port, requestedPort);
    QCOMPARE(output(process), QStringLiteral("listening on http://127.0.0.1:%1\n").arg(port));

    const auto answer = get(port, "/");
    QVERIFY2(answer->error.isEmpty(), qPrintable(answer->error));
    QCOMPARE(answer->status, 200);
    const QByteArray instance = "shop-" + QByteArray::number(port);
    QCOMPARE(answer->body, "shop 1.4.2 " + instance + '\n');
    QCOMPARE(answer->headers.value("x-version"), QByteArray("1.4.2"));
    QCOMPARE(answer->headers.value("x-instance"), instance);
    QCOMPARE(answer->headers.value("content-type"), QByteArray("text/plain; charset=utf-8"));

    const auto head = get(port, "/", "HEAD");
    QVERIFY2(head->error.isEmpty(), qPrintable(head->error));
    QCOMPARE(head->status, 200);
    QCOMPARE(head->headers.value("x-version"), QByteArray("1.4.2"));
    QVERIFY(head->body.isEmpty());
}

void TestDemoService::picksAFreePortAndTakesAnInstanceId()
{
    ServerProcess first(QStringLiteral("demo service a"));
    ServerProcess second(QStringLiteral("demo service b"));
    const quint16 firstPort
        = startService(first, {QStringLiteral("--instance"), QStringLiteral("shop-a")});
    QVERIFY2(firstPort != 0, qPrintable(output(first)));
    const quint16 secondPort = startService(second, {});
    QVERIFY2(secondPort != 0, qPrintable(output(second)));
    QVERIFY(firstPort != secondPort);

    const auto answer = get(firstPort, "/");
    QVERIFY2(answer->error.isEmpty(), qPrintable(answer->error));
    QCOMPARE(answer->body, QByteArray("shop 1.4.2 shop-a\n"));
    QCOMPARE(answer->headers.value("x-instance"), QByteArray("shop-a"));
    // Without --instance the id names the port actually bound, not the 0 asked for.
    const auto other = get(secondPort, "/");
    QCOMPARE(other->headers.value("x-instance"), "shop-" + QByteArray::number(secondPort));
}

void TestDemoService::answersHealthReadinessAndUnknownPaths()
{
    ServerProcess process(QStringLiteral("demo service"));
    const quint16 port = startService(process, {});
    QVERIFY2(port != 0, qPrintable(output(process)));

    QCOMPARE(get(port, "/healthz")->status, 200);
    QCOMPARE(get(port, "/ready")->status, 200);
    const auto unknown = get(port, "/admin");
    QCOMPARE(unknown->status, 404);
    QVERIFY2(unknown->body.contains("/admin") && unknown->body.contains("/metrics"),
             unknown->body.constData());
}

void TestDemoService::failsEveryRequestOrNone_data()
{
    QTest::addColumn<QString>("errorRate");
    QTest::addColumn<int>("expectedStatus");
    QTest::newRow("0") << QStringLiteral("0") << 200;
    QTest::newRow("0%") << QStringLiteral("0%") << 200;
    QTest::newRow("1") << QStringLiteral("1") << 500;
    QTest::newRow("100%") << QStringLiteral("100%") << 500;
}

void TestDemoService::failsEveryRequestOrNone()
{
    QFETCH(QString, errorRate);
    QFETCH(int, expectedStatus);
    ServerProcess process(QStringLiteral("demo service"));
    const quint16 port = startService(process, {QStringLiteral("--error-rate"), errorRate});
    QVERIFY2(port != 0, qPrintable(output(process)));

    std::vector<std::unique_ptr<HttpExchange>> exchanges;
    for (int i = 0; i < 30; ++i)
        exchanges.push_back(std::make_unique<HttpExchange>(port, "/"));
    QVERIFY(waitForAll(exchanges));
    for (const auto &exchange : exchanges) {
        QVERIFY2(exchange->error.isEmpty(), qPrintable(exchange->error));
        QCOMPARE(exchange->status, expectedStatus);
        // A failed answer still says who gave it, so a balancer's logs can blame the version.
        QCOMPARE(exchange->headers.value("x-version"), QByteArray("1.4.2"));
    }
    // Health and readiness never fail: only / is subject to the error rate.
    QCOMPARE(get(port, "/healthz")->status, 200);
}

void TestDemoService::failsAboutHalfAtFiftyPercent()
{
    ServerProcess process(QStringLiteral("demo service"));
    const quint16 port
        = startService(process, {QStringLiteral("--error-rate"), QStringLiteral("50%")});
    QVERIFY2(port != 0, qPrintable(output(process)));

    int failures = 0;
    const int total = 400;
    for (int batch = 0; batch < total / 50; ++batch) {
        std::vector<std::unique_ptr<HttpExchange>> exchanges;
        for (int i = 0; i < 50; ++i)
            exchanges.push_back(std::make_unique<HttpExchange>(port, "/"));
        QVERIFY(waitForAll(exchanges));
        for (const auto &exchange : exchanges) {
            QVERIFY2(exchange->error.isEmpty(), qPrintable(exchange->error));
            QVERIFY2(exchange->status == 200 || exchange->status == 500,
                     qPrintable(QString::number(exchange->status)));
            failures += exchange->status == 500;
        }
    }
    // Binomial(400, 0.5): mean 200, standard deviation 10; six deviations either side.
    QVERIFY2(failures >= 140 && failures <= 260, qPrintable(QString::number(failures)));

    const auto metrics = get(port, "/metrics");
    const Exposition exposition = parseExposition(metrics->body);
    QVERIFY2(exposition.error.isEmpty(), qPrintable(exposition.error));
    QMap<QByteArray, double> byCode;
    for (const Sample &sample : exposition.find("http_requests_total"))
        byCode.insert(sample.labels.value("code"), sample.value);
    QCOMPARE(byCode.value("500"), double(failures));
    QCOMPARE(byCode.value("200"), double(total - failures));
}

void TestDemoService::slowRequestsOverlap()
{
    ServerProcess process(QStringLiteral("demo service"));
    const quint16 port
        = startService(process, {QStringLiteral("--latency"), QStringLiteral("200ms")});
    QVERIFY2(port != 0, qPrintable(output(process)));

    QElapsedTimer elapsed;
    elapsed.start();
    std::vector<std::unique_ptr<HttpExchange>> exchanges;
    for (int i = 0; i < 20; ++i)
        exchanges.push_back(std::make_unique<HttpExchange>(port, "/"));
    QVERIFY(waitForAll(exchanges));
    const qint64 totalMs = elapsed.elapsed();
    for (const auto &exchange : exchanges) {
        QVERIFY2(exchange->error.isEmpty(), qPrintable(exchange->error));
        QCOMPARE(exchange->status, 200);
        QVERIFY2(exchange->elapsedMs >= 200, qPrintable(QString::number(exchange->elapsedMs)));
    }
    // One after the other they would take 20 × 200 ms = 4 s.
    QVERIFY2(totalMs < 1500, qPrintable(QStringLiteral("%1 ms").arg(totalMs)));

    const Exposition exposition = parseExposition(get(port, "/metrics")->body);
    QVERIFY2(exposition.error.isEmpty(), qPrintable(exposition.error));
    QMap<QByteArray, double> buckets;
    for (const Sample &sample : exposition.find("http_request_duration_seconds_bucket"))
        buckets.insert(sample.labels.value("le"), sample.value);
    QCOMPARE(buckets.value("0.1"), 0.0);
    QCOMPARE(buckets.value("+Inf"), 20.0);
    const double sum = exposition.find("http_request_duration_seconds_sum").value(0).value;
    QVERIFY2(sum >= 20 * 0.2 && sum < 20 * 1.0, qPrintable(QString::number(sum)));
}

void TestDemoService::latencyJitterSpreadsAnswers()
{
    ServerProcess process(QStringLiteral("demo service"));
    const quint16 port
        = startService(process, {QStringLiteral("--latency"), QStringLiteral("150ms"),
                                 QStringLiteral("--latency-jitter"), QStringLiteral("100ms")});
    QVERIFY2(port != 0, qPrintable(output(process)));

    std::vector<std::unique_ptr<HttpExchange>> exchanges;
    for (int i = 0; i < 20; ++i)
        exchanges.push_back(std::make_unique<HttpExchange>(port, "/"));
    QVERIFY(waitForAll(exchanges));
    qint64 fastest = std::numeric_limits<qint64>::max();
    qint64 slowest = 0;
    for (const auto &exchange : exchanges) {
        QVERIFY2(exchange->error.isEmpty(), qPrintable(exchange->error));
        QVERIFY2(exchange->elapsedMs >= 50, qPrintable(QString::number(exchange->elapsedMs)));
        fastest = std::min(fastest, exchange->elapsedMs);
        slowest = std::max(slowest, exchange->elapsedMs);
    }
    // Uniform over 50..250 ms: twenty draws all within 40 ms of each other are next to
    // impossible.
    QVERIFY2(slowest - fastest > 40,
             qPrintable(QStringLiteral("%1..%2 ms").arg(fastest).arg(slowest)));
}

void TestDemoService::metricsFollowTheTextFormat()
{
    ServerProcess service(QStringLiteral("demo service"));
    // A version with characters the format must escape in a label value.
    const QString version = QStringLiteral("2.0\"rc\\1");
    const quint16 servicePort
        = startService(service, {QStringLiteral("--service"), QStringLiteral("checkout"),
                                 QStringLiteral("--version"), version});
    QVERIFY2(servicePort != 0, qPrintable(output(service)));

    const auto empty = get(servicePort, "/metrics");
    QCOMPARE(empty->status, 200);
    QCOMPARE(empty->headers.value("content-type"), QByteArray("text/plain; version=0.0.4"));
    const Exposition before = parseExposition(empty->body);
    QVERIFY2(before.error.isEmpty(), qPrintable(before.error));
    QCOMPARE(before.find("http_request_duration_seconds_count").value(0).value, 0.0);

    for (int i = 0; i < 3; ++i)
        QCOMPARE(get(servicePort, "/")->status, 200);
    // Only requests to / count.
    QCOMPARE(get(servicePort, "/healthz")->status, 200);
    QCOMPARE(get(servicePort, "/ready")->status, 200);
    QCOMPARE(get(servicePort, "/nowhere")->status, 404);

    const Exposition exposition = parseExposition(get(servicePort, "/metrics")->body);
    QVERIFY2(exposition.error.isEmpty(), qPrintable(exposition.error));
    QCOMPARE(exposition.types.value("http_requests_total"), QByteArray("counter"));
    QCOMPARE(exposition.types.value("http_request_duration_seconds"), QByteArray("histogram"));

    const QList<Sample> counters = exposition.find("http_requests_total");
    QCOMPARE(counters.size(), 2);
    for (const Sample &counter : counters) {
        QCOMPARE(counter.labels.value("service"), QByteArray("checkout"));
        QCOMPARE(counter.labels.value("version"), version.toUtf8());
        QCOMPARE(counter.value, counter.labels.value("code") == "200" ? 3.0 : 0.0);
    }

    const QList<Sample> buckets = exposition.find("http_request_duration_seconds_bucket");
    QStringList bounds;
    double previousBound = -1.0;
    double previousCount = 0.0;
    for (const Sample &bucket : buckets) {
        QCOMPARE(bucket.labels.value("version"), version.toUtf8());
        const QByteArray le = bucket.labels.value("le");
        bounds << QString::fromUtf8(le);
        const double bound = le == "+Inf" ? qInf() : le.toDouble();
        QVERIFY2(bound > previousBound, le.constData());
        QVERIFY2(bucket.value >= previousCount, le.constData()); // cumulative
        previousBound = bound;
        previousCount = bucket.value;
    }
    QCOMPARE(bounds.join(QLatin1Char(' ')),
             QStringLiteral("0.005 0.01 0.025 0.05 0.1 0.25 0.5 1 2.5 5 10 +Inf"));
    QCOMPARE(buckets.last().value, 3.0);
    QCOMPARE(exposition.find("http_request_duration_seconds_count").value(0).value, 3.0);
    const double sum = exposition.find("http_request_duration_seconds_sum").value(0).value;
    QVERIFY2(sum >= 0.0 && sum < 3.0, qPrintable(QString::number(sum)));
}

void TestDemoService::metricsPassPromtool()
{
    const QString promtool = sb::test::findProgram(QStringLiteral("promtool"));
    if (promtool.isEmpty())
        QFAIL("promtool is not installed (it comes with the prometheus package); run the "
              "README's test command, which installs it");
    ServerProcess service(QStringLiteral("demo service"));
    const quint16 port
        = startService(service, {QStringLiteral("--error-rate"), QStringLiteral("0.3")});
    QVERIFY2(port != 0, qPrintable(output(service)));
    std::vector<std::unique_ptr<HttpExchange>> exchanges;
    for (int i = 0; i < 20; ++i)
        exchanges.push_back(std::make_unique<HttpExchange>(port, "/"));
    QVERIFY(waitForAll(exchanges));
    const QByteArray metrics = get(port, "/metrics")->body;

    QProcess check;
    check.start(promtool, {QStringLiteral("check"), QStringLiteral("metrics")});
    QVERIFY(check.waitForStarted());
    check.write(metrics);
    check.closeWriteChannel();
    QVERIFY(check.waitForFinished(20'000));
    QVERIFY2(check.exitCode() == 0,
             qPrintable(QString::fromUtf8(check.readAllStandardOutput()
                                          + check.readAllStandardError() + "\n" + metrics)));
}

void TestDemoService::rejectsBadCommandLines_data()
{
    QTest::addColumn<QStringList>("arguments");
    QTest::addColumn<QStringList>("mentions");

    const QStringList base = {QStringLiteral("--service"), QStringLiteral("shop"),
                              QStringLiteral("--version"), QStringLiteral("1.0")};
    const QStringList port = {QStringLiteral("--port"), QStringLiteral("0")};
    auto row = [&](const char *name, const QStringList &arguments, const QStringList &mentions) {
        QTest::newRow(name) << arguments << mentions;
    };
    row("missing port", base, {QStringLiteral("--port"), QStringLiteral("--port 8080")});
    row("missing service", QStringList{QStringLiteral("--version"), QStringLiteral("1")} + port,
        {QStringLiteral("--service"), QStringLiteral("for example --service shop")});
    row("port not a number", base + QStringList{QStringLiteral("--port"), QStringLiteral("http")},
        {QStringLiteral("--port"), QStringLiteral("\"http\""), QStringLiteral("--port 8080")});
    row("port too big", base + QStringList{QStringLiteral("--port"), QStringLiteral("70000")},
        {QStringLiteral("--port"), QStringLiteral("\"70000\""), QStringLiteral("--port 8080")});
    row("error rate above one",
        base + port + QStringList{QStringLiteral("--error-rate"), QStringLiteral("1.5")},
        {QStringLiteral("--error-rate"), QStringLiteral("\"1.5\""), QStringLiteral("0.2"),
         QStringLiteral("1.5%")});
    row("error rate percentage without sign",
        base + port + QStringList{QStringLiteral("--error-rate"), QStringLiteral("20")},
        {QStringLiteral("--error-rate"), QStringLiteral("\"20\""),
         QStringLiteral("--error-rate 20%")});
    row("error rate above 100%", base + port + QStringList{QStringLiteral("--error-rate=120%")},
        {QStringLiteral("--error-rate"), QStringLiteral("\"120%\""), QStringLiteral("20%")});
    row("latency without unit",
        base + port + QStringList{QStringLiteral("--latency"), QStringLiteral("20")},
        {QStringLiteral("--latency"), QStringLiteral("\"20\""), QStringLiteral("--latency 20ms")});
    row("negative latency",
        base + port + QStringList{QStringLiteral("--latency"), QStringLiteral("-5ms")},
        {QStringLiteral("--latency"), QStringLiteral("\"-5ms\""), QStringLiteral("20ms")});
    row("jitter not a duration",
        base + port + QStringList{QStringLiteral("--latency-jitter"), QStringLiteral("some")},
        {QStringLiteral("--latency-jitter"), QStringLiteral("\"some\""), QStringLiteral("5ms")});
    row("drain delay not a duration",
        base + port + QStringList{QStringLiteral("--drain-delay"), QStringLiteral("soon")},
        {QStringLiteral("--drain-delay"), QStringLiteral("\"soon\""), QStringLiteral("2s")});
    row("shutdown timeout too long",
        base + port + QStringList{QStringLiteral("--shutdown-timeout"), QStringLiteral("2h")},
        {QStringLiteral("--shutdown-timeout"), QStringLiteral("\"2h\""), QStringLiteral("15s")});
    row("host not an address",
        base + port + QStringList{QStringLiteral("--host"), QStringLiteral("example.com")},
        {QStringLiteral("--host"), QStringLiteral("\"example.com\""),
         QStringLiteral("--host 127.0.0.1")});
    row("service with a space",
        QStringList{QStringLiteral("--service"), QStringLiteral("my shop"),
                    QStringLiteral("--version"), QStringLiteral("1")}
            + port,
        {QStringLiteral("--service"), QStringLiteral("\"my shop\""),
         QStringLiteral("--service shop")});
    row("empty instance", base + port + QStringList{QStringLiteral("--instance=")},
        {QStringLiteral("--instance"), QStringLiteral("\"\""),
         QStringLiteral("--instance shop-a")});
    row("unknown option",
        base + port + QStringList{QStringLiteral("--colour"), QStringLiteral("blue")},
        {QStringLiteral("--colour"), QStringLiteral("--error-rate")});
    row("option without value", base + port + QStringList{QStringLiteral("--latency")},
        {QStringLiteral("--latency"), QStringLiteral("--latency 20ms")});
    row("option given twice", base + port + QStringList{QStringLiteral("--version=2.0")},
        {QStringLiteral("--version"), QStringLiteral("\"1.0\""), QStringLiteral("\"2.0\"")});
    row("stray argument", base + port + QStringList{QStringLiteral("fast")},
        {QStringLiteral("\"fast\""), QStringLiteral("--port 8080")});
}

void TestDemoService::rejectsBadCommandLines()
{
    QFETCH(QStringList, arguments);
    QFETCH(QStringList, mentions);

    QProcess process;
    process.setProcessChannelMode(QProcess::MergedChannels);
    process.start(sb::test::demoServiceProgram(), arguments);
    QVERIFY(process.waitForFinished(10'000));
    const QString message = QString::fromUtf8(process.readAll());
    QCOMPARE(process.exitStatus(), QProcess::NormalExit);
    QVERIFY2(process.exitCode() == 2, qPrintable(message));
    QVERIFY2(!message.contains(QStringLiteral("listening on")), qPrintable(message));
    for (const QString &mention : mentions)
        QVERIFY2(message.contains(mention),
                 qPrintable(mention + QStringLiteral(" not in: ") + message));
}

void TestDemoService::printsUsageOnHelp()
{
    QProcess process;
    process.start(sb::test::demoServiceProgram(), {QStringLiteral("--help")});
    QVERIFY(process.waitForFinished(10'000));
    QCOMPARE(process.exitCode(), 0);
    const QString usage = QString::fromUtf8(process.readAllStandardOutput());
    for (const char *option :
         {"--service", "--version", "--port", "--host", "--instance", "--error-rate", "--latency",
          "--latency-jitter", "--drain-delay", "--shutdown-timeout"})
        QVERIFY2(usage.contains(QLatin1String(option)), option);
}

void TestDemoService::reportsAPortInUse()
{
    QTcpServer occupant;
    QVERIFY(occupant.listen(QHostAddress::LocalHost, 0));
    ServerProcess process(QStringLiteral("demo service"));
    const quint16 port
        = startService(process, {QStringLiteral("--port"), QString::number(occupant.serverPort())});
    QCOMPARE(port, quint16(0));
    QVERIFY(waitForExit(process, 5s));
    QCOMPARE(process.exitCode(), 1);
    const QString message = output(process);
    QVERIFY2(message.contains(
                 QStringLiteral("cannot listen on 127.0.0.1 port %1").arg(occupant.serverPort())),
             qPrintable(message));
}

void TestDemoService::drainsAndExitsOnSigterm()
{
    ServerProcess process(QStringLiteral("demo service"));
    const quint16 port
        = startService(process, {QStringLiteral("--latency"), QStringLiteral("2s"),
                                 QStringLiteral("--drain-delay"), QStringLiteral("1s")});
    QVERIFY2(port != 0, qPrintable(output(process)));

    // A request in flight when the signal arrives, answered well after the drain delay.
    HttpExchange inFlight(port, "/");
    QTRY_VERIFY_WITH_TIMEOUT(inFlight.sent(), 5000);
    QCOMPARE(get(port, "/healthz")->status, 200);

    QElapsedTimer sinceSignal;
    sinceSignal.start();
    QCOMPARE(::kill(pid_t(process.pid()), SIGTERM), 0);

    // Readiness drops at once, so a balancer stops sending new requests...
    QTRY_COMPARE_WITH_TIMEOUT(get(port, "/ready")->status, 503, 500);
    // ...while the instance still takes connections and answers until the drain delay is over.
    HttpExchange duringDrain(port, "/");
    QTRY_VERIFY_WITH_TIMEOUT(duringDrain.sent(), 1000);
    QCOMPARE(get(port, "/healthz")->status, 200);
    QVERIFY2(sinceSignal.elapsed() < 900, qPrintable(QString::number(sinceSignal.elapsed())));

    // After the drain delay the listening socket is closed: new connections are refused.
    QTRY_VERIFY_WITH_TIMEOUT(
        get(port, "/healthz")->socketError == QAbstractSocket::ConnectionRefusedError, 3000);
    QVERIFY2(sinceSignal.elapsed() >= 1000, qPrintable(QString::number(sinceSignal.elapsed())));
    // Refused by the service itself, not because it is gone: it still owes two answers.
    QVERIFY(process.running());
    QVERIFY(!inFlight.finished());

    // The requests already taken are answered in full, then the process exits cleanly.
    QTRY_VERIFY_WITH_TIMEOUT(inFlight.finished() && duringDrain.finished(), 5000);
    for (const HttpExchange *exchange : {&inFlight, &duringDrain}) {
        QVERIFY2(exchange->error.isEmpty(), qPrintable(exchange->error));
        QCOMPARE(exchange->status, 200);
        QCOMPARE(exchange->body, "shop 1.4.2 shop-" + QByteArray::number(port) + '\n');
    }
    QVERIFY2(waitForExit(process, 5s), qPrintable(output(process)));
    QCOMPARE(process.process().exitStatus(), QProcess::NormalExit);
    QCOMPARE(process.exitCode(), 0);

    const QString log = output(process);
    const QStringList steps
        = {QStringLiteral("SIGTERM received"), QStringLiteral("listening socket closed"),
           QStringLiteral("all requests answered")};
    qsizetype at = 0;
    for (const QString &step : steps) {
        at = log.indexOf(step, at);
        QVERIFY2(at >= 0, qPrintable(step + QStringLiteral(" not in order in: ") + log));
    }
}

void TestDemoService::secondSignalExitsAtOnce()
{
    ServerProcess process(QStringLiteral("demo service"));
    const quint16 port
        = startService(process, {QStringLiteral("--latency"), QStringLiteral("20s"),
                                 QStringLiteral("--drain-delay"), QStringLiteral("20s")});
    QVERIFY2(port != 0, qPrintable(output(process)));
    HttpExchange inFlight(port, "/");
    QTRY_VERIFY_WITH_TIMEOUT(inFlight.sent(), 5000);

    QCOMPARE(::kill(pid_t(process.pid()), SIGTERM), 0);
    QTRY_COMPARE_WITH_TIMEOUT(get(port, "/ready")->status, 503, 1000);
    QCOMPARE(::kill(pid_t(process.pid()), SIGINT), 0);
    QVERIFY2(waitForExit(process, 2s), qPrintable(output(process)));
    QCOMPARE(process.exitCode(), 128 + SIGINT);
    QVERIFY2(output(process).contains(QStringLiteral("SIGINT received during shutdown")),
             qPrintable(output(process)));
}

void TestDemoService::shutdownTimeoutCutsInFlightRequests()
{
    ServerProcess process(QStringLiteral("demo service"));
    const quint16 port
        = startService(process, {QStringLiteral("--latency"), QStringLiteral("20s"),
                                 QStringLiteral("--drain-delay"), QStringLiteral("0s"),
                                 QStringLiteral("--shutdown-timeout"), QStringLiteral("500ms")});
    QVERIFY2(port != 0, qPrintable(output(process)));
    HttpExchange inFlight(port, "/");
    QTRY_VERIFY_WITH_TIMEOUT(inFlight.sent(), 5000);
    QCOMPARE(get(port, "/healthz")->status, 200);

    QElapsedTimer sinceSignal;
    sinceSignal.start();
    QCOMPARE(::kill(pid_t(process.pid()), SIGTERM), 0);
    QVERIFY2(waitForExit(process, 5s), qPrintable(output(process)));
    QVERIFY2(sinceSignal.elapsed() >= 500, qPrintable(QString::number(sinceSignal.elapsed())));
    QCOMPARE(process.exitCode(), 1);
    QVERIFY2(output(process).contains(QStringLiteral("1 request(s) still in flight")),
             qPrintable(output(process)));
    QTRY_VERIFY_WITH_TIMEOUT(inFlight.finished(), 2000);
    QCOMPARE(inFlight.status, 0);
}

QTEST_GUILESS_MAIN(TestDemoService)
#include "tst_demoservice.moc"
