#include "metricdefinition.h"
#include "prometheus/prometheusadapter.h"
#include "prometheus/prometheussettings.h"
#include "prometheus/promql.h"
#include "serverprocess.h"

#include <QDateTime>
#include <QElapsedTimer>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QNetworkAccessManager>
#include <QNetworkReply>
#include <QSignalSpy>
#include <QTcpServer>
#include <QTcpSocket>
#include <QTemporaryDir>
#include <QTest>
#include <QTimer>
#include <QUrlQuery>

#include <cmath>
#include <limits>
#include <optional>

using namespace sb;
using namespace sb::prom;
using namespace std::chrono_literals;

namespace {

const ServiceKey checkout{QStringLiteral("checkout"), QStringLiteral("production")};
const QString workspaceFile = QStringLiteral("workspace.yaml");

// ---- Canned answers --------------------------------------------------------------------------

// 2026-01-05 09:00:00.5 UTC, an evaluation time with milliseconds.
constexpr double evaluatedAt = 1767603600.5;

QByteArray vectorAnswer(const QList<QPair<QString, QString>> &valueByVersion,
                        double time = evaluatedAt)
{
    QJsonArray result;
    for (const auto &[version, value] : valueByVersion) {
        QJsonObject metric;
        if (!version.isNull())
            metric.insert(QStringLiteral("version"), version);
        result.append(QJsonObject{{QStringLiteral("metric"), metric},
                                  {QStringLiteral("value"), QJsonArray{time, value}}});
    }
    return QJsonDocument(QJsonObject{
                             {QStringLiteral("status"), QStringLiteral("success")},
                             {QStringLiteral("data"),
                              QJsonObject{{QStringLiteral("resultType"), QStringLiteral("vector")},
                                          {QStringLiteral("result"), result}}},
                         })
        .toJson(QJsonDocument::Compact);
}

QByteArray errorAnswer(const QString &type, const QString &text)
{
    return QJsonDocument(QJsonObject{{QStringLiteral("status"), QStringLiteral("error")},
                                     {QStringLiteral("errorType"), type},
                                     {QStringLiteral("error"), text}})
        .toJson(QJsonDocument::Compact);
}

using Labels = QMap<QString, QString>;

// An instant vector of any series, each with its labels and value.
QByteArray seriesAnswer(const QList<QPair<Labels, QString>> &series, double time = evaluatedAt)
{
    QJsonArray result;
    for (const auto &[labels, value] : series) {
        QJsonObject metric;
        for (auto it = labels.cbegin(); it != labels.cend(); ++it)
            metric.insert(it.key(), it.value());
        result.append(QJsonObject{{QStringLiteral("metric"), metric},
                                  {QStringLiteral("value"), QJsonArray{time, value}}});
    }
    return QJsonDocument(QJsonObject{
                             {QStringLiteral("status"), QStringLiteral("success")},
                             {QStringLiteral("data"),
                              QJsonObject{{QStringLiteral("resultType"), QStringLiteral("vector")},
                                          {QStringLiteral("result"), result}}},
                         })
        .toJson(QJsonDocument::Compact);
}

// The bucket series of one version's histogram, as sum by (version, le) (increase(...)) gives
// them: le => count. A null version leaves the label out, as a query run per version may.
QList<QPair<Labels, QString>> bucketsOf(const QString &version,
                                        const QList<QPair<QString, QString>> &countByLe)
{
    QList<QPair<Labels, QString>> series;
    for (const auto &[le, count] : countByLe) {
        Labels labels{{QStringLiteral("le"), le}};
        if (!version.isNull())
            labels.insert(QStringLiteral("version"), version);
        series.append({labels, count});
    }
    return series;
}

Answer parsed(const QByteArray &body)
{
    const Result<Answer, AnswerProblem> answer = parseAnswer(body);
    if (!answer)
        qFatal("the canned answer did not parse: %s", qPrintable(answer.error().detail));
    return answer.value();
}

// ---- Settings ------------------------------------------------------------------------------

AdapterSpec specOf(const QByteArray &settingsYaml)
{
    AdapterSpec spec;
    spec.name = QStringLiteral("prom");
    spec.type = QStringLiteral("prometheus");
    spec.settings = YAML::Load(settingsYaml.toStdString());
    spec.file = workspaceFile;
    spec.line = 7;
    return spec;
}

// The built-in metrics plus one of the workspace's own, and checkout bound to "prom".
Workspace workspaceWithOrders()
{
    Workspace workspace;
    workspace.file = workspaceFile;
    workspace.metrics = builtInMetrics();
    workspace.metrics.append(
        MetricDefinition{QStringLiteral("orders_per_request"), QStringLiteral("Orders per request"),
                         MetricUnit::Ratio, true, MetricGroup::Business, false});
    ServiceSpec service;
    service.key = checkout;
    service.bindings.insert(Capability::Metrics, QStringLiteral("prom"));
    workspace.services.append(service);
    return workspace;
}

Diagnostic settingsError(const QByteArray &settingsYaml, const Workspace *workspace)
{
    try {
        parsePrometheusSettings(specOf(settingsYaml), workspace);
    } catch (const DiagnosticError &error) {
        return error.diagnostic();
    }
    return Diagnostic(workspaceFile, 0, 0, QStringLiteral("(the settings were accepted)"));
}

// ---- A fake Prometheus ---------------------------------------------------------------------

struct Reply {
    int status = 200;
    QByteArray body;
    std::chrono::milliseconds delay{0};
};

struct ReceivedRequest {
    QString path;
    QUrlQuery query;

    QString item(const QString &name) const
    {
        return query.queryItemValue(name, QUrl::FullyDecoded);
    }
};

// Speaks just enough HTTP/1.1 for the adapter's client: reads a GET, answers what `reply` says
// (late, if it says so) and closes the connection.
class FakePrometheus : public QObject
{
public:
    using Handler = std::function<Reply(const ReceivedRequest &)>;

    explicit FakePrometheus(Handler handler)
        : m_handler(std::move(handler))
    {
        connect(&m_server, &QTcpServer::newConnection, this, [this] {
            while (QTcpSocket *socket = m_server.nextPendingConnection())
                serve(socket);
        });
    }

    bool listen(quint16 port = 0) { return m_server.listen(QHostAddress::LocalHost, port); }
    quint16 port() const { return m_server.serverPort(); }
    QByteArray url() const { return "http://127.0.0.1:" + QByteArray::number(port()); }
    const QList<ReceivedRequest> &received() const { return m_received; }
    void setHandler(Handler handler) { m_handler = std::move(handler); }

    QList<ReceivedRequest> receivedFor(const QString &query) const
    {
        QList<ReceivedRequest> matching;
        for (const ReceivedRequest &request : m_received) {
            if (request.item(QStringLiteral("query")) == query)
                matching.append(request);
        }
        return matching;
    }

private:
    void serve(QTcpSocket *socket)
    {
        connect(socket, &QTcpSocket::disconnected, socket, &QObject::deleteLater);
        connect(socket, &QTcpSocket::readyRead, socket, [this, socket] {
            QByteArray &buffer = m_buffers[socket];
            buffer += socket->readAll();
            const qsizetype end = buffer.indexOf("\r\n\r\n");
            if (end < 0)
                return;
            const QList<QByteArray> requestLine = buffer.left(buffer.indexOf("\r\n")).split(' ');
            m_buffers.remove(socket);
            const QUrl target(QString::fromLatin1(requestLine.value(1)));
            ReceivedRequest request{target.path(), QUrlQuery(target)};
            m_received.append(request);
            const Reply reply = m_handler(request);
            QTimer::singleShot(reply.delay, socket, [socket, reply] {
                const QByteArray reason = reply.status == 200 ? "OK" : "Error";
                socket->write("HTTP/1.1 " + QByteArray::number(reply.status) + ' ' + reason
                              + "\r\nContent-Type: application/json\r\nContent-Length: "
                              + QByteArray::number(reply.body.size())
                              + "\r\nConnection: close\r\n\r\n" + reply.body);
                socket->disconnectFromHost();
            });
        });
    }

    QTcpServer m_server;
    Handler m_handler;
    QHash<QTcpSocket *, QByteArray> m_buffers;
    QList<ReceivedRequest> m_received;
};

// Templates that are easy to tell apart in the fake's log.
QByteArray fakeSettings(const QByteArray &url, const QByteArray &extra = {})
{
    return "url: " + url + R"(
timeout: 1s
retries: 0
poll_interval: 200ms
window: 30s
queries:
  request_rate: 'rr{service="$service"}'
  error_rate: 'er[$window]'
  p50_latency: 'p50{version="$version"}'
  p99_latency: 'p99'
  latency_buckets: 'buckets'
  orders_per_request: 'orders'
)" + extra;
}

std::unique_ptr<PrometheusAdapter> makeAdapter(const QByteArray &settingsYaml, Clock *clock)
{
    const Workspace workspace = workspaceWithOrders();
    const AdapterContext context{clock, &workspace};
    try {
        std::unique_ptr<Adapter> adapter
            = PrometheusAdapter::adapterType().create(specOf(settingsYaml), context);
        return std::unique_ptr<PrometheusAdapter>(
            static_cast<PrometheusAdapter *>(adapter.release()));
    } catch (const DiagnosticError &error) {
        qFatal("the test's settings are refused: %s", qPrintable(error.diagnostic().toString()));
    }
}

// Asks for metrics and waits for the answer (the adapter never answers inside the call).
template <typename T, typename Ask>
std::optional<Result<T>> await(Ask ask, std::chrono::milliseconds timeout = 10s)
{
    std::optional<Result<T>> answer;
    bool calledInside = true;
    ask([&](Result<T> result) {
        if (calledInside)
            qFatal("the adapter answered inside the call");
        answer = std::move(result);
    });
    calledInside = false;
    QElapsedTimer elapsed;
    elapsed.start();
    while (!answer && elapsed.elapsed() < timeout.count())
        QTest::qWait(5);
    return answer;
}

std::optional<Result<MetricsSnapshot>> metricsOf(PrometheusAdapter &adapter,
                                                 std::chrono::milliseconds timeout = 10s)
{
    return await<MetricsSnapshot>(
        [&](Callback<MetricsSnapshot> done) { adapter.metrics(checkout, done); }, timeout);
}

// Measures the longest time the event loop went without running a 5 ms timer.
class StallMeter
{
public:
    StallMeter()
    {
        m_timer.setInterval(5);
        QObject::connect(&m_timer, &QTimer::timeout,
                         [this] { m_longest = std::max(m_longest, m_sinceLast.restart()); });
        m_sinceLast.start();
        m_timer.start();
    }
    qint64 longestMs() const { return m_longest; }

private:
    QTimer m_timer;
    QElapsedTimer m_sinceLast;
    qint64 m_longest = 0;
};

// The error of a result, for a failure message (QVERIFY2 evaluates it either way).
template <typename T>
QByteArray whyNot(const Result<T> &result)
{
    return result ? QByteArray() : result.error().message.toUtf8();
}

const VersionMetrics &versionOf(const MetricsSnapshot &snapshot, const QString &version)
{
    const VersionMetrics *metrics = snapshot.find(version);
    if (!metrics)
        qFatal("the snapshot has no version %s", qPrintable(version));
    return *metrics;
}

} // namespace

class TestPrometheus : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    // Answers
    void parsesVector();
    void parsesMatrix();
    void parsesScalar();
    void readsNaNAndInfinities();
    void parsesEmptyResult();
    void readsErrorAnswers();
    void rejectsMalformedAnswers_data();
    void rejectsMalformedAnswers();
    void groupsSeriesByVersion();
    void refusesAnswersNotGroupedByVersion_data();
    void refusesAnswersNotGroupedByVersion();
    void readsAnswersForOneVersion();
    void readsBucketBounds_data();
    void readsBucketBounds();
    void readsHistogramBuckets();
    void refusesMalformedHistograms_data();
    void refusesMalformedHistograms();
    void matchesHistogramsToRequests_data();
    void matchesHistogramsToRequests();

    // Templates and snapshots
    void expandsTemplates();
    void findsUnknownPlaceholders_data();
    void findsUnknownPlaceholders();
    void buildsSnapshotsWithReasonsForMissingData();
    void buildsHistogramsOnlyWhereVersionsCompare();

    // Settings
    void readsSettings();
    void defaultQueriesUseTheLabelAndWindow();
    void reportsBadSettings_data();
    void reportsBadSettings();
    void acceptsTheWorkspacesOwnMetrics();

    // Against a fake Prometheus
    void readsEveryMetricInOneRound();
    void unusableHistogramsLeaveLatencyEmpty_data();
    void unusableHistogramsLeaveLatencyEmpty();
    void readsHistogramsRunPerVersion();
    void refusedRequestRateFailsTheSnapshot();
    void oneFailingServiceDegradesTheAdapter();
    void garbageIsAClearError();
    void slowPrometheusTimesOutWithoutStallingOrPilingUp();
    void recoversWhenPrometheusComesBack();

    // Against the real thing
    void readsARealPrometheus();
};

// ---- Answers ---------------------------------------------------------------------------------

void TestPrometheus::parsesVector()
{
    const QByteArray body = R"({"status":"success","data":{"resultType":"vector","result":[
        {"metric":{"version":"1.0.0","service":"checkout"},"value":[1767603600.5,"12.25"]},
        {"metric":{"version":"2.0.0"},"value":[1767603600.5,"0.5"]}]}})";
    const Answer answer = parsed(body);
    QCOMPARE(toString(answer.type), QStringLiteral("vector"));
    QCOMPARE(answer.series.size(), 2);
    QCOMPARE(answer.series[0].labels.value(QStringLiteral("version")), QStringLiteral("1.0.0"));
    QCOMPARE(answer.series[0].labels.value(QStringLiteral("service")), QStringLiteral("checkout"));
    QCOMPARE(answer.series[0].samples.size(), 1);
    QCOMPARE(answer.series[0].samples[0].time, 1767603600.5);
    QCOMPARE(answer.series[0].samples[0].value, 12.25);
    QCOMPARE(answer.series[1].samples[0].value, 0.5);
    QCOMPARE(formatUtc(toTimePoint(answer.series[0].samples[0].time)),
             QStringLiteral("2026-01-05 09:00:00 UTC"));
    QCOMPARE(toMSecsSinceEpoch(toTimePoint(answer.series[0].samples[0].time)), 1767603600500);
}

void TestPrometheus::parsesMatrix()
{
    const QByteArray body = R"({"status":"success","data":{"resultType":"matrix","result":[
        {"metric":{"version":"1.0.0"},"values":[[1767603600,"1"],[1767603615,"2.5"],[1767603630,"NaN"]]}]}})";
    const Answer answer = parsed(body);
    QCOMPARE(toString(answer.type), QStringLiteral("matrix"));
    QCOMPARE(answer.series.size(), 1);
    const QList<Sample> &samples = answer.series[0].samples;
    QCOMPARE(samples.size(), 3);
    QCOMPARE(samples[1].time, 1767603615.0);
    QCOMPARE(samples[1].value, 2.5);
    QVERIFY(std::isnan(samples[2].value));
}

void TestPrometheus::parsesScalar()
{
    const Answer answer = parsed(
        R"({"status":"success","data":{"resultType":"scalar","result":[1767603600.5,"3"]}})");
    QCOMPARE(toString(answer.type), QStringLiteral("scalar"));
    QCOMPARE(answer.series.size(), 1);
    QVERIFY(answer.series[0].labels.isEmpty());
    QCOMPARE(answer.series[0].samples[0].value, 3.0);
}

void TestPrometheus::readsNaNAndInfinities()
{
    const Answer answer = parsed(vectorAnswer({{QStringLiteral("a"), QStringLiteral("NaN")},
                                               {QStringLiteral("b"), QStringLiteral("+Inf")},
                                               {QStringLiteral("c"), QStringLiteral("-Inf")},
                                               {QStringLiteral("d"), QStringLiteral("1e-05")}}));
    QVERIFY(std::isnan(answer.series[0].samples[0].value));
    QCOMPARE(answer.series[1].samples[0].value, std::numeric_limits<double>::infinity());
    QCOMPARE(answer.series[2].samples[0].value, -std::numeric_limits<double>::infinity());
    QCOMPARE(answer.series[3].samples[0].value, 1e-05);
}

void TestPrometheus::parsesEmptyResult()
{
    const Answer answer
        = parsed(R"({"status":"success","data":{"resultType":"vector","result":[]}})");
    QVERIFY(answer.series.isEmpty());
    const auto byVersion = instantByVersion(answer, QStringLiteral("version"));
    QVERIFY(byVersion);
    QVERIFY(byVersion.value().isEmpty());
}

void TestPrometheus::readsErrorAnswers()
{
    const Result<Answer, AnswerProblem> answer = parseAnswer(
        errorAnswer(QStringLiteral("bad_data"),
                    QStringLiteral("1:5: parse error: unexpected character inside braces: '!'")));
    QVERIFY(!answer);
    QCOMPARE(int(answer.error().kind), int(AnswerProblem::Kind::Rejected));
    QCOMPARE(answer.error().errorType, QStringLiteral("bad_data"));
    QCOMPARE(answer.error().detail,
             QStringLiteral("1:5: parse error: unexpected character inside braces: '!'"));

    const Result<Answer, AnswerProblem> bare = parseAnswer(R"({"status":"error"})");
    QVERIFY(!bare);
    QCOMPARE(int(bare.error().kind), int(AnswerProblem::Kind::Rejected));
    QCOMPARE(bare.error().errorType, QStringLiteral("error"));
    QCOMPARE(bare.error().detail, QStringLiteral("no reason given"));
}

void TestPrometheus::rejectsMalformedAnswers_data()
{
    QTest::addColumn<QByteArray>("body");
    QTest::addColumn<QString>("detail");

    QTest::newRow("empty") << QByteArray("  \n") << QStringLiteral("the body is empty");
    QTest::newRow("html") << QByteArray("<html><body>Sign in</body></html>")
                          << QStringLiteral("the body is not JSON (illegal value at byte 1)");
    QTest::newRow("cut short") << QByteArray(R"({"status":"success","data":{"resultType":"vec)")
                               << QStringLiteral(
                                      "the body is not JSON (unterminated string at byte 46)");
    QTest::newRow("list") << QByteArray("[1, 2]")
                          << QStringLiteral("the JSON is a list, not an object");
    QTest::newRow("no status") << QByteArray(R"({"data":{}})")
                               << QStringLiteral("status is missing");
    QTest::newRow("status of another kind")
        << QByteArray(R"({"status":"partial"})")
        << QStringLiteral("status is \"partial\", neither \"success\" nor \"error\"");
    QTest::newRow("no data") << QByteArray(R"({"status":"success"})")
                             << QStringLiteral("data is missing");
    QTest::newRow("data a list") << QByteArray(R"({"status":"success","data":[]})")
                                 << QStringLiteral("data is a list, not an object");
    QTest::newRow("string result")
        << QByteArray(R"({"status":"success","data":{"resultType":"string","result":[1,"hello"]}})")
        << QStringLiteral("data.resultType is \"string\": the query yields text, not numbers");
    QTest::newRow("unknown result type")
        << QByteArray(R"({"status":"success","data":{"resultType":"histogram","result":[]}})")
        << QStringLiteral("data.resultType \"histogram\" is none of vector, matrix and scalar");
    QTest::newRow("result not a list")
        << QByteArray(R"({"status":"success","data":{"resultType":"vector","result":{}}})")
        << QStringLiteral("data.result is an object, not a list");
    QTest::newRow("value a number")
        << QByteArray(R"({"status":"success","data":{"resultType":"vector","result":[
               {"metric":{"version":"1"},"value":[1767603600,12]}]}})")
        << QStringLiteral("data.result[0].value[1] is a number, not a string");
    QTest::newRow("value not a number")
        << QByteArray(R"({"status":"success","data":{"resultType":"vector","result":[
               {"metric":{"version":"1"},"value":[1767603600,"twelve"]}]}})")
        << QStringLiteral("data.result[0].value[1] is \"twelve\", not a number");
    QTest::newRow("time a string")
        << QByteArray(R"({"status":"success","data":{"resultType":"vector","result":[
               {"metric":{"version":"1"},"value":["1767603600","1"]}]}})")
        << QStringLiteral("data.result[0].value[0] is a string, not a time in seconds");
    QTest::newRow("value not a pair")
        << QByteArray(R"({"status":"success","data":{"resultType":"vector","result":[
               {"metric":{},"value":[1767603600,"1","2"]}]}})")
        << QStringLiteral("data.result[0].value has 3 items, not the 2 of [time, \"value\"]");
    QTest::newRow("no value") << QByteArray(
        R"({"status":"success","data":{"resultType":"vector","result":[
               {"metric":{}}]}})")
                              << QStringLiteral("data.result[0].value is missing");
    QTest::newRow("label not a string")
        << QByteArray(R"({"status":"success","data":{"resultType":"vector","result":[
               {"metric":{"version":2},"value":[1767603600,"1"]}]}})")
        << QStringLiteral("data.result[0].metric.version is a number, not a string");
    QTest::newRow("matrix values not a list")
        << QByteArray(R"({"status":"success","data":{"resultType":"matrix","result":[
               {"metric":{},"values":"1"}]}})")
        << QStringLiteral("data.result[0].values is a string, not a list");
    QTest::newRow("matrix point malformed")
        << QByteArray(R"({"status":"success","data":{"resultType":"matrix","result":[
               {"metric":{},"values":[[1767603600,"1"],[1767603615]]}]}})")
        << QStringLiteral("data.result[0].values[1] has 1 items, not the 2 of [time, \"value\"]");
    QTest::newRow("scalar not a pair")
        << QByteArray(R"({"status":"success","data":{"resultType":"scalar","result":"3"}})")
        << QStringLiteral("data.result is a string, not a list");
}

void TestPrometheus::rejectsMalformedAnswers()
{
    QFETCH(QByteArray, body);
    QFETCH(QString, detail);
    const Result<Answer, AnswerProblem> answer = parseAnswer(body);
    QVERIFY(!answer);
    QCOMPARE(int(answer.error().kind), int(AnswerProblem::Kind::Malformed));
    QCOMPARE(answer.error().detail, detail);
}

void TestPrometheus::groupsSeriesByVersion()
{
    const Answer answer = parsed(vectorAnswer({{QStringLiteral("2.0.0"), QStringLiteral("4")},
                                               {QStringLiteral("1.0.0"), QStringLiteral("9")}}));
    const auto byVersion = instantByVersion(answer, QStringLiteral("version"));
    QVERIFY(byVersion);
    QCOMPARE(byVersion.value().keys(),
             (QStringList{QStringLiteral("1.0.0"), QStringLiteral("2.0.0")}));
    QCOMPARE(byVersion.value().value(QStringLiteral("2.0.0")).value, 4.0);
}

void TestPrometheus::refusesAnswersNotGroupedByVersion_data()
{
    QTest::addColumn<QByteArray>("body");
    QTest::addColumn<QString>("reason");

    QTest::newRow("missing version label")
        << QByteArray(R"({"status":"success","data":{"resultType":"vector","result":[
               {"metric":{"version":"1.0.0"},"value":[1,"1"]},
               {"metric":{"code":"200","service":"checkout"},"value":[1,"2"]}]}})")
        << QStringLiteral("series 2 {code=\"200\",service=\"checkout\"} has no 'version' label; "
                          "group the query by version, as in sum by (version) (...), or run it "
                          "once per version with $version");
    QTest::newRow("version twice")
        << QByteArray(R"({"status":"success","data":{"resultType":"vector","result":[
               {"metric":{"version":"1.0.0","code":"200"},"value":[1,"1"]},
               {"metric":{"version":"1.0.0","code":"500"},"value":[1,"2"]}]}})")
        << QStringLiteral("series 1 {code=\"200\",version=\"1.0.0\"} and 2 "
                          "{code=\"500\",version=\"1.0.0\"} are both version '1.0.0'; group the "
                          "query by version, as in sum by (version) (...), or run it once per "
                          "version with $version");
    QTest::newRow("scalar")
        << QByteArray(R"({"status":"success","data":{"resultType":"scalar","result":[1,"3"]}})")
        << QStringLiteral("it is a single number (scalar) without a 'version' label; group the "
                          "query by version, as in sum by (version) (...), or run it once per "
                          "version with $version");
    QTest::newRow("range vector")
        << QByteArray(R"({"status":"success","data":{"resultType":"matrix","result":[
               {"metric":{"version":"1.0.0"},"values":[[1,"1"]]}]}})")
        << QStringLiteral("it is a range vector (matrix) where one value per series belongs; "
                          "apply rate(), avg_over_time() or the like to the [range]");
}

void TestPrometheus::refusesAnswersNotGroupedByVersion()
{
    QFETCH(QByteArray, body);
    QFETCH(QString, reason);
    const auto byVersion = instantByVersion(parsed(body), QStringLiteral("version"));
    QVERIFY(!byVersion);
    QCOMPARE(byVersion.error(), reason);
}

void TestPrometheus::readsAnswersForOneVersion()
{
    const auto one = instantSingle(parsed(vectorAnswer({{QString(), QStringLiteral("41.5")}})));
    QVERIFY(one);
    QVERIFY(one.value());
    QCOMPARE(one.value()->value, 41.5);

    const auto scalar = instantSingle(
        parsed(R"({"status":"success","data":{"resultType":"scalar","result":[1,"7"]}})"));
    QVERIFY(scalar);
    QCOMPARE(scalar.value()->value, 7.0);

    const auto none = instantSingle(parsed(vectorAnswer({})));
    QVERIFY(none);
    QVERIFY(!none.value());

    const auto two
        = instantSingle(parsed(vectorAnswer({{QStringLiteral("1.0.0"), QStringLiteral("1")},
                                             {QStringLiteral("2.0.0"), QStringLiteral("2")}})));
    QVERIFY(!two);
    QCOMPARE(two.error(),
             QStringLiteral("it has 2 series where one belongs; aggregate them, as in sum(...)"));
}

void TestPrometheus::readsBucketBounds_data()
{
    QTest::addColumn<QString>("le");
    QTest::addColumn<std::optional<double>>("boundMs");

    const double inf = std::numeric_limits<double>::infinity();
    QTest::newRow("5 ms") << QStringLiteral("0.005") << std::optional<double>(5);
    // 0.3 * 1000 is 300.00000000000006 in doubles; a gate's 300ms must find this bound.
    QTest::newRow("exactly 300 ms") << QStringLiteral("0.3") << std::optional<double>(300);
    QTest::newRow("whole seconds") << QStringLiteral("10") << std::optional<double>(10000);
    QTest::newRow("exponent") << QStringLiteral("1e-05") << std::optional<double>(0.01);
    QTest::newRow("exponent with a sign")
        << QStringLiteral("2.5e+1") << std::optional<double>(25000);
    QTest::newRow("zero") << QStringLiteral("0") << std::optional<double>(0);
    QTest::newRow("+Inf") << QStringLiteral("+Inf") << std::optional<double>(inf);
    QTest::newRow("inf in lower case") << QStringLiteral("inf") << std::optional<double>(inf);
    QTest::newRow("text") << QStringLiteral("fast") << std::optional<double>();
    QTest::newRow("NaN") << QStringLiteral("NaN") << std::optional<double>();
    QTest::newRow("negative") << QStringLiteral("-0.1") << std::optional<double>();
    QTest::newRow("-Inf") << QStringLiteral("-Inf") << std::optional<double>();
    QTest::newRow("empty") << QString() << std::optional<double>();
    QTest::newRow("exponent without digits") << QStringLiteral("1e") << std::optional<double>();
    QTest::newRow("with a unit") << QStringLiteral("0.1s") << std::optional<double>();
}

void TestPrometheus::readsBucketBounds()
{
    QFETCH(QString, le);
    QFETCH(std::optional<double>, boundMs);
    QCOMPARE(bucketBoundMs(le), boundMs);
}

void TestPrometheus::readsHistogramBuckets()
{
    // In any order, as Prometheus returns series; NaN-free, not whole numbers.
    const Answer answer = parsed(seriesAnswer(
        bucketsOf(QStringLiteral("2.0.0"), {{QStringLiteral("+Inf"), QStringLiteral("30.6")},
                                            {QStringLiteral("0.1"), QStringLiteral("12.3")}})
        + bucketsOf(QStringLiteral("1.0.0"), {{QStringLiteral("0.25"), QStringLiteral("280")},
                                              {QStringLiteral("0.1"), QStringLiteral("150.2")},
                                              {QStringLiteral("+Inf"), QStringLiteral("300")}})));
    const auto byVersion = bucketSeriesByVersion(answer, QStringLiteral("version"));
    QVERIFY(byVersion);
    QCOMPARE(byVersion.value().keys(),
             (QStringList{QStringLiteral("1.0.0"), QStringLiteral("2.0.0")}));
    const auto stable
        = readBuckets(byVersion.value().value(QStringLiteral("1.0.0")), QStringLiteral("version"));
    QVERIFY2(stable, qPrintable(stable ? QString() : stable.error()));
    QCOMPARE(stable.value(), (BucketCounts{{100, 250}, {150.2, 280, 300}}));
    const auto canary
        = readBuckets(byVersion.value().value(QStringLiteral("2.0.0")), QStringLiteral("version"));
    QVERIFY(canary);
    QCOMPARE(canary.value(), (BucketCounts{{100}, {12.3, 30.6}}));

    // Run for one version: every series is that version's, labelled or not.
    const auto single = bucketSeriesOfOneVersion(parsed(
        seriesAnswer(bucketsOf(QString(), {{QStringLiteral("0.1"), QStringLiteral("1")},
                                           {QStringLiteral("+Inf"), QStringLiteral("2")}}))));
    QVERIFY(single);
    QCOMPARE(readBuckets(single.value(), QStringLiteral("version")).value(),
             (BucketCounts{{100}, {1, 2}}));
    const auto none = bucketSeriesOfOneVersion(parsed(seriesAnswer({})));
    QVERIFY(none);
    QVERIFY(none.value().isEmpty());
}

void TestPrometheus::refusesMalformedHistograms_data()
{
    QTest::addColumn<QByteArray>("body");
    QTest::addColumn<QString>("reason");

    const QString advice = QStringLiteral("group the query by version and bucket, as in sum by "
                                          "(version, le) (increase(..._bucket[$window]))");
    const QString v2 = QStringLiteral("2.0.0");
    const QString inf = QStringLiteral("+Inf");
    // What bucketSeriesByVersion() refuses: the whole answer.
    QTest::newRow("series without the version label")
        << seriesAnswer({{{{QStringLiteral("le"), inf}}, QStringLiteral("3")}})
        << QStringLiteral("series 1 {le=\"+Inf\"} has no 'version' label; ") + advice;
    QTest::newRow("scalar")
        << QByteArray(R"({"status":"success","data":{"resultType":"scalar","result":[1,"3"]}})")
        << QStringLiteral("it is a single number (scalar) where a histogram's buckets belong; ")
               + advice;
    QTest::newRow("range vector")
        << QByteArray(R"({"status":"success","data":{"resultType":"matrix","result":[
               {"metric":{"version":"2.0.0","le":"+Inf"},"values":[[1,"1"]]}]}})")
        << QStringLiteral("it is a range vector (matrix) where one value per series belongs; "
                          "apply rate(), avg_over_time() or the like to the [range]");
    // What readBuckets() refuses: one version's histogram.
    QTest::newRow("no +Inf bucket")
        << seriesAnswer(bucketsOf(v2, {{QStringLiteral("0.1"), QStringLiteral("3")},
                                       {QStringLiteral("0.5"), QStringLiteral("4")}}))
        << QStringLiteral("has no bucket le=\"+Inf\", which holds the total; keep every bucket in "
                          "the query (filter on other labels, not on le)");
    QTest::newRow("no buckets but a series without le")
        << seriesAnswer({{{{QStringLiteral("version"), v2}}, QStringLiteral("3")}})
        << QStringLiteral("has a series without an 'le' label, {version=\"2.0.0\"}; ") + advice;
    QTest::newRow("le not a number")
        << seriesAnswer(bucketsOf(
               v2, {{QStringLiteral("fast"), QStringLiteral("3")}, {inf, QStringLiteral("4")}}))
        << QStringLiteral("has a bucket le=\"fast\", which is not a number of seconds; query a "
                          "Prometheus histogram's _bucket series");
    QTest::newRow("one bucket twice")
        << seriesAnswer(bucketsOf(v2, {{QStringLiteral("0.1"), QStringLiteral("3")},
                                       {QStringLiteral("0.10"), QStringLiteral("3")},
                                       {inf, QStringLiteral("4")}}))
        << QStringLiteral("has two series for one bucket, le=\"0.1\" and le=\"0.10\"; ") + advice;
    QTest::newRow("NaN count")
        << seriesAnswer(bucketsOf(
               v2, {{QStringLiteral("0.1"), QStringLiteral("NaN")}, {inf, QStringLiteral("4")}}))
        << QStringLiteral("counts NaN requests in the bucket le=\"0.1\", which is not a count; "
                          "take increase() of the _bucket series");
    QTest::newRow("negative count")
        << seriesAnswer(bucketsOf(
               v2, {{QStringLiteral("0.1"), QStringLiteral("1")}, {inf, QStringLiteral("-2")}}))
        << QStringLiteral("counts -2 requests in the bucket le=\"+Inf\", which is not a count; "
                          "take increase() of the _bucket series");
}

void TestPrometheus::refusesMalformedHistograms()
{
    QFETCH(QByteArray, body);
    QFETCH(QString, reason);
    const auto byVersion = bucketSeriesByVersion(parsed(body), QStringLiteral("version"));
    if (!byVersion) {
        QCOMPARE(byVersion.error(), reason);
        return;
    }
    QCOMPARE(byVersion.value().keys(), QStringList{QStringLiteral("2.0.0")});
    const auto buckets
        = readBuckets(byVersion.value().value(QStringLiteral("2.0.0")), QStringLiteral("version"));
    QVERIFY(!buckets);
    QCOMPARE(buckets.error(), reason);
}

void TestPrometheus::matchesHistogramsToRequests_data()
{
    QTest::addColumn<QList<double>>("cumulative"); // buckets le=50ms, 100ms, +Inf
    QTest::addColumn<qint64>("requests");
    QTest::addColumn<QList<qint64>>("counts");

    QTest::newRow("whole numbers, the requests' total")
        << QList<double>{3, 7, 10} << qint64(10) << QList<qint64>{3, 7, 10};
    // increase() extrapolates each series on its own: a little above the requests here ...
    QTest::newRow("extrapolated above the requests")
        << QList<double>{12.3, 30.6, 36.2} << qint64(36) << QList<qint64>{12, 30, 36};
    // ... and below them there.
    QTest::newRow("extrapolated below the requests")
        << QList<double>{0.4, 88.9, 89.6} << qint64(90) << QList<qint64>{0, 89, 90};
    QTest::newRow("a bucket below its predecessor is lifted to it")
        << QList<double>{5.2, 4.9, 10.1} << qint64(10) << QList<qint64>{5, 5, 10};
    QTest::newRow("every request slow: never more slow requests than requests")
        << QList<double>{0, 0, 41.7} << qint64(40) << QList<qint64>{0, 0, 40};
    QTest::newRow("no requests") << QList<double>{0, 0, 0} << qint64(0) << QList<qint64>{0, 0, 0};
    QTest::newRow("a fraction of a request, where request_rate counts none")
        << QList<double>{0, 0.3, 0.4} << qint64(0) << QList<qint64>{0, 0, 0};
}

void TestPrometheus::matchesHistogramsToRequests()
{
    QFETCH(QList<double>, cumulative);
    QFETCH(qint64, requests);
    QFETCH(QList<qint64>, counts);
    const LatencyHistogram histogram
        = histogramOfRequests(BucketCounts{{50, 100}, cumulative}, requests);
    QCOMPARE(histogram.boundsMs, (QList<double>{50, 100}));
    QCOMPARE(histogram.cumulativeCounts, counts);
    QCOMPARE(histogram.total(), requests);
}

// ---- Templates and snapshots -----------------------------------------------------------------

void TestPrometheus::expandsTemplates()
{
    const TemplateValues values{QStringLiteral("check\"out"), QStringLiteral("prod\\eu"), 90s,
                                QStringLiteral("release"), QStringLiteral("2.0.0")};
    QCOMPARE(expandTemplate(QStringLiteral("sum by ($version_label) (rate(x{service=\"$service\","
                                           "env=\"$environment\",release=\"$version\"}[$window]))"),
                            values),
             QStringLiteral("sum by (release) (rate(x{service=\"check\\\"out\",env=\"prod\\\\eu\","
                            "release=\"2.0.0\"}[90s]))"));
    // $$ is one dollar; capture group references are left to label_replace.
    QCOMPARE(expandTemplate(QStringLiteral("label_replace(up, \"v\", \"$1-${2}\", \"job\", "
                                           "\"(.*)\") * $$"),
                            values),
             QStringLiteral("label_replace(up, \"v\", \"$1-${2}\", \"job\", \"(.*)\") * $"));
    QCOMPARE(formatPromDuration(1500ms), QStringLiteral("1500ms"));
    QCOMPARE(formatPromDuration(2min), QStringLiteral("120s"));
    QCOMPARE(formatPrometheusTime(fromMSecsSinceEpoch(1767603600005)),
             QStringLiteral("1767603600.005"));

    QVERIFY(usesPlaceholder(QStringLiteral("x{v=\"$version\"}"), QStringLiteral("version")));
    QVERIFY(
        !usesPlaceholder(QStringLiteral("sum by ($version_label) (x)"), QStringLiteral("version")));
    QVERIFY(!usesPlaceholder(QStringLiteral("x * $$version"), QStringLiteral("version")));
}

void TestPrometheus::findsUnknownPlaceholders_data()
{
    QTest::addColumn<QString>("text");
    QTest::addColumn<QString>("unknown");

    QTest::newRow("all known") << QStringLiteral("x{s=\"$service\",e=\"$environment\"}[$window]")
                               << QString();
    QTest::newRow("typo") << QStringLiteral("x{s=\"$servce\"}") << QStringLiteral("servce");
    QTest::newRow("glued") << QStringLiteral("x{s=\"$service_v2\"}")
                           << QStringLiteral("service_v2");
    QTest::newRow("second") << QStringLiteral("$service $windw") << QStringLiteral("windw");
    QTest::newRow("escaped") << QStringLiteral("$$servce") << QString();
    QTest::newRow("capture group") << QStringLiteral("\"$1\" \"${name}\"") << QString();
}

void TestPrometheus::findsUnknownPlaceholders()
{
    QFETCH(QString, text);
    QFETCH(QString, unknown);
    const std::optional<QString> found = findUnknownPlaceholder(text);
    QCOMPARE(found.has_value(), !unknown.isNull());
    if (found)
        QCOMPARE(*found, unknown);
}

void TestPrometheus::buildsSnapshotsWithReasonsForMissingData()
{
    const TimePoint fallback = fromMSecsSinceEpoch(1767600000000);
    SnapshotBuilder builder({{QStringLiteral("2.0.0"), Sample{evaluatedAt, 4}},
                             {QStringLiteral("1.0.0"), Sample{evaluatedAt, 12.5}},
                             {QStringLiteral("3.0.0"), Sample{evaluatedAt, 0}}},
                            30s, fallback);
    QCOMPARE(builder.versions(), (QStringList{QStringLiteral("1.0.0"), QStringLiteral("2.0.0"),
                                              QStringLiteral("3.0.0")}));
    QCOMPARE(*builder.evaluationTime(), evaluatedAt);

    const double nan = std::numeric_limits<double>::quiet_NaN();
    const double inf = std::numeric_limits<double>::infinity();
    builder.setValues(QStringLiteral("error_rate"),
                      {{QStringLiteral("1.0.0"), Sample{evaluatedAt, 0}},
                       {QStringLiteral("2.0.0"), Sample{evaluatedAt, 0.25}},
                       {QStringLiteral("3.0.0"), Sample{evaluatedAt, nan}}});
    builder.setValue(QStringLiteral("p99_latency"), QStringLiteral("1.0.0"),
                     Sample{evaluatedAt, 180});
    builder.setValue(QStringLiteral("p99_latency"), QStringLiteral("2.0.0"),
                     Sample{evaluatedAt, inf});
    builder.setValue(QStringLiteral("p99_latency"), QStringLiteral("3.0.0"), std::nullopt);
    builder.setValues(QStringLiteral("p50_latency"),
                      {{QStringLiteral("1.0.0"), Sample{evaluatedAt, 40}}});
    builder.setValues(QStringLiteral("orders_per_request"),
                      {{QStringLiteral("1.0.0"), Sample{evaluatedAt, 0.031}}});
    builder.setFailed(QStringLiteral("cpu"), QString(), QStringLiteral("the cpu query failed"));
    builder.setFailed(QStringLiteral("memory"), QStringLiteral("2.0.0"),
                      QStringLiteral("the memory query failed"));

    const MetricsSnapshot &snapshot = builder.snapshot();
    QCOMPARE(toMSecsSinceEpoch(snapshot.at), 1767603600500);
    QCOMPARE(snapshot.interval, Duration(30s));
    QCOMPARE(snapshot.versions.size(), 3);

    const VersionMetrics &stable = versionOf(snapshot, QStringLiteral("1.0.0"));
    QCOMPARE(stable.requestsPerSecond, 12.5);
    QCOMPARE(stable.requests, 375);
    QCOMPARE(stable.errorRatio, 0.0);
    QCOMPARE(stable.p50Ms, 40.0);
    QCOMPARE(stable.p99Ms, 180.0);
    QCOMPARE(stable.custom.value(QStringLiteral("orders_per_request")), 0.031);
    QCOMPARE(stable.noData.keys(), QStringList{QStringLiteral("cpu")});
    QCOMPARE(metricValue(stable, QStringLiteral("error_rate")), std::optional<double>(0.0));

    const VersionMetrics &canary = versionOf(snapshot, QStringLiteral("2.0.0"));
    QCOMPARE(canary.requests, 120);
    QCOMPARE(canary.errorRatio, 0.25);
    QVERIFY(std::isnan(canary.p99Ms));
    QVERIFY(std::isnan(canary.p50Ms));
    QCOMPARE(canary.noData.value(QStringLiteral("p99_latency")),
             QStringLiteral("Prometheus returned +Inf for p99_latency: its query divided by zero"));
    QCOMPARE(canary.noData.value(QStringLiteral("p50_latency")),
             QStringLiteral("Prometheus has no p50_latency for 2.0.0 in the last 30s: no samples, "
                            "or its query does not match this version"));
    QCOMPARE(canary.noData.value(QStringLiteral("memory")),
             QStringLiteral("the memory query failed"));
    QVERIFY(!canary.custom.contains(QStringLiteral("orders_per_request")));
    QVERIFY(canary.noData.contains(QStringLiteral("orders_per_request")));
    QCOMPARE(metricValue(canary, QStringLiteral("p99_latency")), std::nullopt);

    const VersionMetrics &idle = versionOf(snapshot, QStringLiteral("3.0.0"));
    QCOMPARE(idle.requestsPerSecond, 0.0);
    QCOMPARE(idle.requests, 0);
    QVERIFY(std::isnan(idle.errorRatio));
    QCOMPARE(idle.noData.value(QStringLiteral("error_rate")),
             QStringLiteral("Prometheus returned NaN for error_rate: no requests in the last 30s"));
    QVERIFY(idle.noData.value(QStringLiteral("p99_latency"))
                .startsWith(QStringLiteral("Prometheus has no p99_latency for 3.0.0")));
    QCOMPARE(metricValue(idle, QStringLiteral("request_rate")), std::optional<double>(0.0));

    // No series at all: the fallback time, no versions, nothing to evaluate the rest at.
    const SnapshotBuilder empty({}, 30s, fallback);
    QCOMPARE(empty.snapshot().at, fallback);
    QVERIFY(empty.snapshot().versions.isEmpty());
    QVERIFY(!empty.evaluationTime());

    // request_rate itself can be NaN: no number, a reason.
    const SnapshotBuilder odd({{QStringLiteral("1.0.0"), Sample{evaluatedAt, nan}}}, 30s, fallback);
    const VersionMetrics &oddVersion = odd.snapshot().versions.constFirst();
    QVERIFY(std::isnan(oddVersion.requestsPerSecond));
    QCOMPARE(oddVersion.requests, 0);
    QVERIFY(oddVersion.noData.contains(QStringLiteral("request_rate")));
    QCOMPARE(metricValue(oddVersion, QStringLiteral("request_rate")), std::nullopt);
}

void TestPrometheus::buildsHistogramsOnlyWhereVersionsCompare()
{
    const TimePoint fallback = fromMSecsSinceEpoch(1767600000000);
    const double nan = std::numeric_limits<double>::quiet_NaN();
    const QString v1 = QStringLiteral("1.0.0");
    const QString v2 = QStringLiteral("2.0.0");
    const QString v3 = QStringLiteral("3.0.0");
    const QString v4 = QStringLiteral("4.0.0");
    // 300, 30 and 0 requests in 30 s, and one version without a request rate.
    SnapshotBuilder builder({{v1, Sample{evaluatedAt, 10}},
                             {v2, Sample{evaluatedAt, 1}},
                             {v3, Sample{evaluatedAt, 0}},
                             {v4, Sample{evaluatedAt, nan}}},
                            30s, fallback);
    const auto latencyOf
        = [&](const QString &version) { return versionOf(builder.snapshot(), version).latency; };
    const auto reasonOf = [&](const QString &version) {
        return versionOf(builder.snapshot(), version).noData.value(QStringLiteral("latency"));
    };

    builder.setBuckets(v1, BucketCounts{{100, 250}, {150.6, 290.2, 301.5}});
    QCOMPARE(latencyOf(v1), (LatencyHistogram{{100, 250}, {150, 289, 300}}));
    builder.setBuckets(v2, BucketCounts{{100, 250}, {10, 29.7, 29.7}});
    QCOMPARE(latencyOf(v2), (LatencyHistogram{{100, 250}, {10, 30, 30}}));
    builder.setBuckets(v3, BucketCounts{{100, 250}, {0, 0, 0}});
    QCOMPARE(latencyOf(v3), (LatencyHistogram{{100, 250}, {0, 0, 0}}));
    QVERIFY(reasonOf(v3).isEmpty());
    builder.setBuckets(v4, BucketCounts{{100, 250}, {1, 2, 3}});
    QCOMPARE(latencyOf(v4), std::nullopt);
    QCOMPARE(reasonOf(v4), QStringLiteral("no request count to match the latency histogram of "
                                          "4.0.0 to: request_rate has none"));

    // A version whose histogram counted nothing while request_rate counted its requests.
    builder.setBuckets(v2, BucketCounts{{100, 250}, {0, 0, 0}});
    QCOMPARE(latencyOf(v2), std::nullopt);
    QCOMPARE(reasonOf(v2), QStringLiteral("Prometheus' latency histogram of 2.0.0 counted no "
                                          "requests in the last 30s while request_rate counted "
                                          "30; the latency_buckets and request_rate queries must "
                                          "count the same requests"));

    // Bounds that differ from the other versions': that version cannot be compared ...
    builder.setBuckets(v2, BucketCounts{{100, 300}, {10, 29.7, 29.7}});
    QCOMPARE(latencyOf(v2), std::nullopt);
    QCOMPARE(reasonOf(v2), QStringLiteral("Prometheus' latency histogram of 2.0.0 does not match "
                                          "the other versions': it has a bucket bound at 300 ms "
                                          "where 1.0.0 has 250 ms; slow requests are counted at "
                                          "a bucket bound, which the versions compared must "
                                          "share"));
    QVERIFY(latencyOf(v1));
    QVERIFY(latencyOf(v3));

    // ... and when two versions differ with no majority, neither is the odd one out.
    SnapshotBuilder pair({{v1, Sample{evaluatedAt, 10}}, {v2, Sample{evaluatedAt, 1}}}, 30s,
                         fallback);
    pair.setBuckets(v1, BucketCounts{{100, 250}, {150, 290, 300}});
    QVERIFY(versionOf(pair.snapshot(), v1).latency);
    pair.setBuckets(v2, BucketCounts{{100}, {10, 30}});
    for (const QString &version : {v1, v2})
        QCOMPARE(versionOf(pair.snapshot(), version).latency, std::nullopt);
    QCOMPARE(versionOf(pair.snapshot(), v1).noData.value(QStringLiteral("latency")),
             QStringLiteral("Prometheus' latency histogram of 1.0.0 does not match the other "
                            "versions': it has a bucket bound at 250 ms that 2.0.0 has not; slow "
                            "requests are counted at a bucket bound, which the versions compared "
                            "must share"));
    QVERIFY(versionOf(pair.snapshot(), v2)
                .noData.value(QStringLiteral("latency"))
                .contains(QStringLiteral("it has no bucket bound at 250 ms as 1.0.0 has")));
    // No series for a version: no histogram, and why.
    pair.setBuckets(v2, std::nullopt);
    QVERIFY(versionOf(pair.snapshot(), v1).latency);
    QCOMPARE(versionOf(pair.snapshot(), v2).noData.value(QStringLiteral("latency")),
             QStringLiteral("Prometheus has no latency_buckets for 2.0.0 in the last 30s: no "
                            "samples, or its query does not match this version"));
    // The rest of the snapshot stands.
    QCOMPARE(versionOf(pair.snapshot(), v2).requests, 30);
    QCOMPARE(versionOf(pair.snapshot(), v1).noData.keys(), QStringList{});
}

// ---- Settings --------------------------------------------------------------------------------

void TestPrometheus::readsSettings()
{
    const Workspace workspace = workspaceWithOrders();
    const PrometheusSettings settings = parsePrometheusSettings(specOf(R"(
url: http://127.0.0.1:9090/prometheus
timeout: 2s
retries: 1
poll_interval: 10s
window: 1m
version_label: release
queries:
  orders_per_request: 'sum by (release) (rate(orders_total[$window])) / sum by (release) (rate(requests_total[$window]))'
  p99_latency: 'histogram_quantile(0.99, sum(rate(lat_bucket{release="$version"}[$window])) by (le)) * 1000'
  latency_buckets: 'sum by (le) (increase(lat_bucket{release="$version"}[$window]))'
)"),
                                                                &workspace);
    QCOMPARE(settings.endpoint.url.toString(), QStringLiteral("http://127.0.0.1:9090/prometheus"));
    QCOMPARE(settings.endpoint.timeout, 2000ms);
    QCOMPARE(settings.endpoint.retries, 1);
    QCOMPARE(settings.pollInterval, Duration(10s));
    QCOMPARE(settings.window, Duration(60s));
    QCOMPARE(settings.versionLabel, QStringLiteral("release"));
    QCOMPARE(
        settings.metricNames(),
        (QStringList{QStringLiteral("request_rate"), QStringLiteral("error_rate"),
                     QStringLiteral("p50_latency"), QStringLiteral("p99_latency"),
                     QStringLiteral("latency_buckets"), QStringLiteral("orders_per_request")}));
    QVERIFY(settings.query(QStringLiteral("p99_latency"))->perVersion);
    QVERIFY(settings.query(QStringLiteral("latency_buckets"))->perVersion);
    QVERIFY(!settings.query(QStringLiteral("orders_per_request"))->perVersion);
    QCOMPARE(settings.query(QStringLiteral("error_rate"))->text, defaultQueries()[1].text);
    QVERIFY(!settings.query(QStringLiteral("cpu")));
}

void TestPrometheus::defaultQueriesUseTheLabelAndWindow()
{
    const TemplateValues values{QStringLiteral("checkout"), QStringLiteral("production"), 30s,
                                QStringLiteral("version"), QString()};
    QCOMPARE(defaultQueries().size(), 5);
    QCOMPARE(expandTemplate(defaultQueries()[0].text, values),
             QStringLiteral("sum by (version) "
                            "(rate(http_requests_total{service=\"checkout\"}[30s]))"));
    QCOMPARE(expandTemplate(defaultQueries()[1].text, values),
             QStringLiteral(
                 "(sum by (version) "
                 "(rate(http_requests_total{service=\"checkout\",code=~\"5..\"}[30s])) or (sum by "
                 "(version) (rate(http_requests_total{service=\"checkout\"}[30s])) * 0)) / sum by "
                 "(version) (rate(http_requests_total{service=\"checkout\"}[30s]))"));
    QCOMPARE(expandTemplate(defaultQueries()[3].text, values),
             QStringLiteral("histogram_quantile(0.99, sum by (version, le) "
                            "(rate(http_request_duration_seconds_bucket{service=\"checkout\"}[30s]"
                            "))) * 1000"));
    // Counts, not rates: what the judge counts slow requests from.
    QCOMPARE(defaultQueries()[4].metric, QStringLiteral("latency_buckets"));
    QCOMPARE(expandTemplate(defaultQueries()[4].text, values),
             QStringLiteral("sum by (version, le) (increase(http_request_duration_seconds_bucket"
                            "{service=\"checkout\"}[30s]))"));
    for (const QueryTemplate &query : defaultQueries()) {
        QVERIFY(!query.perVersion);
        QVERIFY2(!findUnknownPlaceholder(query.text), qPrintable(query.text));
    }
}

void TestPrometheus::reportsBadSettings_data()
{
    QTest::addColumn<QByteArray>("yaml");
    QTest::addColumn<QString>("message");

    QTest::newRow("no settings")
        << QByteArray("{}")
        << QStringLiteral("workspace.yaml:7:1: prometheus 'prom' needs settings with at least "
                          "the url of the Prometheus server, like 'settings: {url: "
                          "http://127.0.0.1:9090}'");
    QTest::newRow("no url") << QByteArray("window: 30s\n")
                            << QStringLiteral("workspace.yaml:1:1: settings of prometheus 'prom' "
                                              "is missing required key 'url'");
    QTest::newRow("unknown key")
        << QByteArray("url: http://127.0.0.1:9090\nwindw: 30s\n")
        << QStringLiteral("workspace.yaml:2:1: unknown key 'windw' in settings of prometheus "
                          "'prom'; did you mean 'window'?");
    QTest::newRow("poll too often")
        << QByteArray("url: http://127.0.0.1:9090\npoll_interval: 10ms\n")
        << QStringLiteral("workspace.yaml:2:16: poll_interval 10ms is below the minimum 100ms");
    QTest::newRow("window too short")
        << QByteArray("url: http://127.0.0.1:9090\nwindow: 500ms\n")
        << QStringLiteral("workspace.yaml:2:9: window 500ms is below the minimum 1s");
    QTest::newRow("bad version label")
        << QByteArray("url: http://127.0.0.1:9090\nversion_label: app-version\n")
        << QStringLiteral("workspace.yaml:2:16: version_label 'app-version' is not a Prometheus "
                          "label name: use letters, digits and '_', not starting with a digit");
    QTest::newRow("queries a list")
        << QByteArray("url: http://127.0.0.1:9090\nqueries: [up]\n")
        << QStringLiteral("workspace.yaml:2:10: queries of prometheus 'prom' must be a mapping of "
                          "keys to values ('key: value' lines), got a list");
    QTest::newRow("unknown metric")
        << QByteArray("url: http://127.0.0.1:9090\nqueries:\n  p99_latncy: up\n")
        << QStringLiteral("workspace.yaml:3:3: unknown metric 'p99_latncy' in queries of "
                          "prometheus 'prom'; did you mean 'p99_latency'? (metrics: "
                          "request_rate, error_rate, p50_latency, p99_latency, cpu, "
                          "cpu_per_request, memory, latency_buckets, orders_per_request; declare "
                          "others under the workspace's metrics:)");
    QTest::newRow("metric nobody declared")
        << QByteArray("url: http://127.0.0.1:9090\nqueries:\n  signups: up\n")
        << QStringLiteral("workspace.yaml:3:3: unknown metric 'signups' in queries of "
                          "prometheus 'prom' (metrics: request_rate, error_rate, p50_latency, "
                          "p99_latency, cpu, cpu_per_request, memory, latency_buckets, "
                          "orders_per_request; declare others under the workspace's metrics:)");
    QTest::newRow("empty query")
        << QByteArray("url: http://127.0.0.1:9090\nqueries:\n  error_rate: ''\n")
        << QStringLiteral("workspace.yaml:3:15: error_rate in queries of prometheus 'prom' is "
                          "empty; give it a value");
    QTest::newRow("unknown placeholder")
        << QByteArray("url: http://127.0.0.1:9090\nqueries:\n"
                      "  error_rate: 'sum(rate(x{service=\"$servce\"}[$window]))'\n")
        << QStringLiteral("workspace.yaml:3:15: the error_rate query uses unknown placeholder "
                          "$servce; did you mean $service? (placeholders: $service, "
                          "$environment, $window, $version_label, $version; write $$ for a '$' "
                          "of its own)");
    QTest::newRow("request rate per version")
        << QByteArray("url: http://127.0.0.1:9090\nqueries:\n"
                      "  request_rate: 'rate(x{version=\"$version\"}[$window])'\n")
        << QStringLiteral("workspace.yaml:3:17: the request_rate query cannot use $version: its "
                          "answer is where the versions come from; group it by version instead, "
                          "as in sum by ($version_label) (...)");
    QTest::newRow("bad url")
        << QByteArray("url: prometheus:9090\n")
        << QStringLiteral("workspace.yaml:1:6: url of prometheus 'prom' must be an http:// or "
                          "https:// address with a host, like https://prometheus.internal:9090, "
                          "got 'prometheus:9090'");
}

void TestPrometheus::reportsBadSettings()
{
    QFETCH(QByteArray, yaml);
    QFETCH(QString, message);
    const Workspace workspace = workspaceWithOrders();
    QCOMPARE(settingsError(yaml, &workspace).toString(), message);
}

void TestPrometheus::acceptsTheWorkspacesOwnMetrics()
{
    const QByteArray yaml = "url: http://127.0.0.1:9090\nqueries:\n  orders_per_request: orders\n";
    const Workspace workspace = workspaceWithOrders();
    QCOMPARE(parsePrometheusSettings(specOf(yaml), &workspace)
                 .query(QStringLiteral("orders_per_request"))
                 ->text,
             QStringLiteral("orders"));
    // Without a workspace, only the built-in metrics are known.
    QVERIFY(settingsError(yaml, nullptr)
                .message.startsWith(QStringLiteral("unknown metric 'orders_per_request'")));
}

// ---- Against a fake Prometheus ---------------------------------------------------------------

void TestPrometheus::readsEveryMetricInOneRound()
{
    FakePrometheus fake([](const ReceivedRequest &request) -> Reply {
        const QString query = request.item(QStringLiteral("query"));
        const QString v1 = QStringLiteral("1.0.0");
        const QString v2 = QStringLiteral("2.0.0");
        if (query == QLatin1StringView("rr{service=\"checkout\"}"))
            return {200, vectorAnswer({{v1, QStringLiteral("12.5")}, {v2, QStringLiteral("3")}})};
        if (query == QLatin1StringView("er[30s]"))
            return {200, vectorAnswer({{v1, QStringLiteral("0")}, {v2, QStringLiteral("NaN")}})};
        if (query == QLatin1StringView("p50{version=\"1.0.0\"}"))
            return {200, vectorAnswer({{QString(), QStringLiteral("41.5")}})};
        if (query == QLatin1StringView("p50{version=\"2.0.0\"}"))
            return {200, vectorAnswer({})};
        if (query == QLatin1StringView("p99"))
            return {200, vectorAnswer({{v1, QStringLiteral("+Inf")}, {v2, QStringLiteral("250")}})};
        if (query == QLatin1StringView("buckets"))
            return {200, seriesAnswer(
                             bucketsOf(v1, {{QStringLiteral("0.05"), QStringLiteral("100.4")},
                                            {QStringLiteral("0.1"), QStringLiteral("300.2")},
                                            {QStringLiteral("+Inf"), QStringLiteral("376.1")}})
                             + bucketsOf(v2, {{QStringLiteral("0.05"), QStringLiteral("10")},
                                              {QStringLiteral("0.1"), QStringLiteral("80.7")},
                                              {QStringLiteral("+Inf"), QStringLiteral("90.3")}}))};
        if (query == QLatin1StringView("orders"))
            return {422, errorAnswer(QStringLiteral("execution"),
                                     QStringLiteral("many-to-many matching not allowed"))};
        return {400, errorAnswer(QStringLiteral("bad_data"), QStringLiteral("unexpected query"))};
    });
    QVERIFY(fake.listen());
    RealClock clock;
    auto adapter = makeAdapter(fakeSettings(fake.url()), &clock);
    QSignalSpy changed(adapter.get(), &Adapter::metricsChanged);

    const auto answer = metricsOf(*adapter);
    QVERIFY(answer);
    QVERIFY2(*answer, whyNot(*answer));
    const MetricsSnapshot snapshot = answer->value();
    QCOMPARE(toMSecsSinceEpoch(snapshot.at), 1767603600500);
    QCOMPARE(snapshot.interval, Duration(30s));
    QCOMPARE(snapshot.versions.size(), 2);

    const VersionMetrics &stable = versionOf(snapshot, QStringLiteral("1.0.0"));
    QCOMPARE(stable.requestsPerSecond, 12.5);
    QCOMPARE(stable.requests, 375);
    QCOMPARE(stable.errorRatio, 0.0);
    QCOMPARE(stable.p50Ms, 41.5);
    QVERIFY(std::isnan(stable.p99Ms));
    QCOMPARE(stable.noData.value(QStringLiteral("p99_latency")),
             QStringLiteral("Prometheus returned +Inf for p99_latency: its query divided by zero"));
    // The histogram's extrapolated counts, matched to the 375 requests.
    QCOMPARE(stable.latency, (LatencyHistogram{{50, 100}, {100, 299, 375}}));

    const VersionMetrics &canary = versionOf(snapshot, QStringLiteral("2.0.0"));
    QCOMPARE(canary.latency, (LatencyHistogram{{50, 100}, {10, 80, 90}}));
    QCOMPARE(canary.requestsPerSecond, 3.0);
    QCOMPARE(canary.requests, 90);
    QVERIFY(std::isnan(canary.errorRatio));
    QCOMPARE(canary.noData.value(QStringLiteral("error_rate")),
             QStringLiteral("Prometheus returned NaN for error_rate: no requests in the last 30s"));
    QVERIFY(std::isnan(canary.p50Ms));
    QVERIFY(canary.noData.value(QStringLiteral("p50_latency"))
                .startsWith(QStringLiteral("Prometheus has no p50_latency for 2.0.0")));
    QCOMPARE(canary.p99Ms, 250.0);

    // A query Prometheus refused: no data for any version, and the adapter says it is degraded.
    const QString refused
        = QStringLiteral("Prometheus at %1/api/v1/query refused the orders_per_request query for "
                         "checkout/production (execution: many-to-many matching not allowed); "
                         "check the query and Prometheus' log")
              .arg(QString::fromLatin1(fake.url()));
    QCOMPARE(stable.noData.value(QStringLiteral("orders_per_request")), refused);
    QCOMPARE(canary.noData.value(QStringLiteral("orders_per_request")), refused);
    QVERIFY(stable.custom.isEmpty());
    QCOMPARE(toString(adapter->connectionState()), QStringLiteral("degraded"));
    QCOMPARE(adapter->connectionDetail(), refused);
    QCOMPARE(changed.size(), 1);
    QCOMPARE(changed[0][0].value<ServiceKey>(), checkout);

    // request_rate first without a time; the rest at its evaluation time, $version expanded.
    QCOMPARE(fake.received().size(), 7);
    QCOMPARE(fake.received()[0].item(QStringLiteral("query")),
             QStringLiteral("rr{service=\"checkout\"}"));
    QCOMPARE(fake.received()[0].path, QStringLiteral("/api/v1/query"));
    QVERIFY(!fake.received()[0].query.hasQueryItem(QStringLiteral("time")));
    for (qsizetype i = 1; i < fake.received().size(); ++i)
        QCOMPARE(fake.received()[i].item(QStringLiteral("time")), QStringLiteral("1767603600.500"));
    QCOMPARE(fake.receivedFor(QStringLiteral("p50{version=\"1.0.0\"}")).size(), 1);
    QCOMPARE(fake.receivedFor(QStringLiteral("p50{version=\"2.0.0\"}")).size(), 1);
    QCOMPARE(fake.receivedFor(QStringLiteral("er[30s]")).size(), 1);
    QCOMPARE(fake.receivedFor(QStringLiteral("buckets")).size(), 1);

    // Once a round has finished, metrics() answers it without asking Prometheus again.
    const auto again = metricsOf(*adapter);
    QVERIFY(again && *again);
    QCOMPARE(again->value(), snapshot);
    QCOMPARE(fake.received().size(), 7);
}

void TestPrometheus::unusableHistogramsLeaveLatencyEmpty_data()
{
    QTest::addColumn<int>("status");
    QTest::addColumn<QByteArray>("histograms");
    // For each version, the reason it has no latency (%1: the fake's url), or empty when it has
    // its histogram.
    QTest::addColumn<QString>("stableReason");
    QTest::addColumn<QString>("canaryReason");
    QTest::addColumn<QString>("state");

    const QString v1 = QStringLiteral("1.0.0");
    const QString v2 = QStringLiteral("2.0.0");
    const QString inf = QStringLiteral("+Inf");
    const auto good = bucketsOf(v1, {{QStringLiteral("0.05"), QStringLiteral("300")},
                                     {QStringLiteral("0.1"), QStringLiteral("370")},
                                     {inf, QStringLiteral("375")}});
    const QString unusable = QStringLiteral("Prometheus at %1: the answer to the latency_buckets "
                                            "query for checkout/production cannot be used: ");
    QTest::newRow("no +Inf bucket")
        << 200
        << seriesAnswer(good
                        + bucketsOf(v2, {{QStringLiteral("0.05"), QStringLiteral("80")},
                                         {QStringLiteral("0.1"), QStringLiteral("90")}}))
        << QString()
        << unusable
               + QStringLiteral("the histogram of 2.0.0 has no bucket le=\"+Inf\", which holds "
                                "the total; keep every bucket in the query (filter on other "
                                "labels, not on le)")
        << QStringLiteral("degraded");
    QTest::newRow("le not a number")
        << 200
        << seriesAnswer(good
                        + bucketsOf(v2, {{QStringLiteral("fast"), QStringLiteral("80")},
                                         {inf, QStringLiteral("90")}}))
        << QString()
        << unusable
               + QStringLiteral("the histogram of 2.0.0 has a bucket le=\"fast\", which is not a "
                                "number of seconds; query a Prometheus histogram's _bucket "
                                "series")
        << QStringLiteral("degraded");
    const QString mismatch = QStringLiteral(
        "Prometheus' latency histogram of %1 does not match the other versions': it has a bucket "
        "bound at %2 ms where %3 has %4 ms; slow requests are counted at a bucket bound, which "
        "the versions compared must share");
    QTest::newRow("bounds that differ between the versions")
        << 200
        << seriesAnswer(good
                        + bucketsOf(v2, {{QStringLiteral("0.05"), QStringLiteral("80")},
                                         {QStringLiteral("0.25"), QStringLiteral("85")},
                                         {inf, QStringLiteral("90")}}))
        << mismatch.arg(v1, QStringLiteral("100"), v2, QStringLiteral("250"))
        << mismatch.arg(v2, QStringLiteral("250"), v1, QStringLiteral("100"))
        << QStringLiteral("connected");
    const QString ungrouped = unusable
                              + QStringLiteral("series 1 {le=\"+Inf\"} has no 'version' label; "
                                               "group the query by version and bucket, as in sum "
                                               "by (version, le) (increase(..._bucket[$window]))");
    QTest::newRow("not grouped by version")
        << 200 << seriesAnswer({{{{QStringLiteral("le"), inf}}, QStringLiteral("465")}})
        << ungrouped << ungrouped << QStringLiteral("degraded");
    const QString refused = QStringLiteral(
        "Prometheus at %1/api/v1/query refused the latency_buckets query for "
        "checkout/production (execution: query timed out in expression evaluation); check the "
        "query and Prometheus' log");
    QTest::newRow("refused") << 422
                             << errorAnswer(
                                    QStringLiteral("execution"),
                                    QStringLiteral("query timed out in expression evaluation"))
                             << refused << refused << QStringLiteral("degraded");
    QTest::newRow("no series for one version")
        << 200 << seriesAnswer(good) << QString()
        << QStringLiteral("Prometheus has no latency_buckets for 2.0.0 in the last 30s: no "
                          "samples, or its query does not match this version")
        << QStringLiteral("connected");
}

void TestPrometheus::unusableHistogramsLeaveLatencyEmpty()
{
    QFETCH(int, status);
    QFETCH(QByteArray, histograms);
    QFETCH(QString, stableReason);
    QFETCH(QString, canaryReason);
    QFETCH(QString, state);

    FakePrometheus fake([&](const ReceivedRequest &request) -> Reply {
        const QString query = request.item(QStringLiteral("query"));
        if (query == QLatin1StringView("rr{service=\"checkout\"}"))
            return {200, vectorAnswer({{QStringLiteral("1.0.0"), QStringLiteral("12.5")},
                                       {QStringLiteral("2.0.0"), QStringLiteral("3")}})};
        if (query.startsWith(QLatin1StringView("p50")))
            return {200, vectorAnswer({{QString(), QStringLiteral("20")}})};
        if (query == QLatin1StringView("buckets"))
            return {status, histograms};
        return {200, vectorAnswer({{QStringLiteral("1.0.0"), QStringLiteral("0.01")},
                                   {QStringLiteral("2.0.0"), QStringLiteral("0.02")}})};
    });
    QVERIFY(fake.listen());
    RealClock clock;
    auto adapter = makeAdapter(fakeSettings(fake.url()), &clock);
    const auto answer = metricsOf(*adapter);
    QVERIFY(answer);
    QVERIFY2(*answer, whyNot(*answer));
    const MetricsSnapshot &snapshot = answer->value();

    const QString url = QString::fromLatin1(fake.url());
    const QList<QPair<QString, QString>> expected{{QStringLiteral("1.0.0"), stableReason},
                                                  {QStringLiteral("2.0.0"), canaryReason}};
    for (const auto &[version, reason] : expected) {
        const VersionMetrics &metrics = versionOf(snapshot, version);
        if (reason.isEmpty()) {
            QVERIFY2(metrics.latency, qPrintable(version));
            QCOMPARE(metrics.latency->total(), metrics.requests);
            QVERIFY(!metrics.noData.contains(QStringLiteral("latency")));
        } else {
            QCOMPARE(metrics.latency, std::nullopt);
            QCOMPARE(metrics.noData.value(QStringLiteral("latency")),
                     reason.contains(QStringLiteral("%1")) ? reason.arg(url) : reason);
        }
        // The rest of the snapshot stands.
        QCOMPARE(metrics.noData.keys(),
                 reason.isEmpty() ? QStringList() : QStringList{QStringLiteral("latency")});
        QCOMPARE(metrics.p50Ms, 20.0);
        QVERIFY(metrics.custom.contains(QStringLiteral("orders_per_request")));
    }
    QCOMPARE(versionOf(snapshot, QStringLiteral("1.0.0")).requests, 375);
    QCOMPARE(versionOf(snapshot, QStringLiteral("2.0.0")).requests, 90);
    QCOMPARE(versionOf(snapshot, QStringLiteral("2.0.0")).errorRatio, 0.02);
    QCOMPARE(toString(adapter->connectionState()), state);
}

void TestPrometheus::readsHistogramsRunPerVersion()
{
    FakePrometheus fake([](const ReceivedRequest &request) -> Reply {
        const QString query = request.item(QStringLiteral("query"));
        if (query == QLatin1StringView("rr{service=\"checkout\"}"))
            return {200, vectorAnswer({{QStringLiteral("1.0.0"), QStringLiteral("12.5")},
                                       {QStringLiteral("2.0.0"), QStringLiteral("3")}})};
        if (query.startsWith(QLatin1StringView("p50")))
            return {200, vectorAnswer({{QString(), QStringLiteral("20")}})};
        if (query == QLatin1StringView("buckets{version=\"1.0.0\"}"))
            return {200, seriesAnswer(bucketsOf(
                             QString(), {{QStringLiteral("0.25"), QStringLiteral("370.2")},
                                         {QStringLiteral("+Inf"), QStringLiteral("375")}}))};
        if (query == QLatin1StringView("buckets{version=\"2.0.0\"}"))
            return {200, seriesAnswer(bucketsOf(
                             QString(), {{QStringLiteral("0.25"), QStringLiteral("60.4")},
                                         {QStringLiteral("+Inf"), QStringLiteral("89.6")}}))};
        return {200, vectorAnswer({{QStringLiteral("1.0.0"), QStringLiteral("0.01")},
                                   {QStringLiteral("2.0.0"), QStringLiteral("0.02")}})};
    });
    QVERIFY(fake.listen());
    RealClock clock;
    QByteArray settings = fakeSettings(fake.url());
    settings.replace("latency_buckets: 'buckets'",
                     "latency_buckets: 'buckets{version=\"$version\"}'");
    auto adapter = makeAdapter(settings, &clock);
    const auto answer = metricsOf(*adapter);
    QVERIFY(answer);
    QVERIFY2(*answer, whyNot(*answer));
    QCOMPARE(versionOf(answer->value(), QStringLiteral("1.0.0")).latency,
             (LatencyHistogram{{250}, {370, 375}}));
    QCOMPARE(versionOf(answer->value(), QStringLiteral("2.0.0")).latency,
             (LatencyHistogram{{250}, {61, 90}}));
    for (const QString &version : {QStringLiteral("1.0.0"), QStringLiteral("2.0.0")}) {
        const QList<ReceivedRequest> asked
            = fake.receivedFor(QStringLiteral("buckets{version=\"%1\"}").arg(version));
        QCOMPARE(asked.size(), 1);
        QCOMPARE(asked[0].item(QStringLiteral("time")), QStringLiteral("1767603600.500"));
    }
    QCOMPARE(toString(adapter->connectionState()), QStringLiteral("connected"));
}

void TestPrometheus::refusedRequestRateFailsTheSnapshot()
{
    FakePrometheus fake([](const ReceivedRequest &) -> Reply {
        return {400, errorAnswer(QStringLiteral("bad_data"),
                                 QStringLiteral("1:4: parse error: unexpected \"}\""))};
    });
    QVERIFY(fake.listen());
    RealClock clock;
    auto adapter = makeAdapter(fakeSettings(fake.url()), &clock);

    // Not started: metrics() reads now.
    const auto answer = metricsOf(*adapter);
    QVERIFY(answer);
    QVERIFY(!*answer);
    QCOMPARE(int(answer->error().kind), int(Error::Kind::Invalid));
    QCOMPARE(answer->error().message,
             QStringLiteral("Prometheus at %1/api/v1/query refused the request_rate query for "
                            "checkout/production (bad_data: 1:4: parse error: unexpected \"}\"); "
                            "fix queries: request_rate: in the settings of prometheus 'prom'")
                 .arg(QString::fromLatin1(fake.url())));
    QCOMPARE(toString(adapter->connectionState()), QStringLiteral("disconnected"));
    QCOMPARE(adapter->connectionDetail(), answer->error().message);
    QCOMPARE(fake.received().size(), 1);
}

void TestPrometheus::oneFailingServiceDegradesTheAdapter()
{
    FakePrometheus fake([](const ReceivedRequest &request) -> Reply {
        const QString query = request.item(QStringLiteral("query"));
        if (query == QLatin1StringView("rr{service=\"cart\"}"))
            return {422, errorAnswer(QStringLiteral("execution"), QStringLiteral("out of memory"))};
        if (query.startsWith(QLatin1StringView("p50")))
            return {200, vectorAnswer({{QString(), QStringLiteral("20")}})};
        if (query == QLatin1StringView("buckets"))
            return {200, seriesAnswer(bucketsOf(QStringLiteral("1.0.0"),
                                                {{QStringLiteral("+Inf"), QStringLiteral("60")}}))};
        return {200, vectorAnswer({{QStringLiteral("1.0.0"), QStringLiteral("2")}})};
    });
    QVERIFY(fake.listen());
    RealClock clock;
    auto adapter = makeAdapter(fakeSettings(fake.url()), &clock);
    const ServiceKey cart{QStringLiteral("cart"), QStringLiteral("production")};

    // checkout is bound in the workspace; cart is polled from the moment it is asked for.
    const auto cartAnswer = await<MetricsSnapshot>(
        [&](Callback<MetricsSnapshot> done) { adapter->metrics(cart, done); });
    QVERIFY(cartAnswer && !*cartAnswer);
    QCOMPARE(int(cartAnswer->error().kind), int(Error::Kind::Failed));
    QCOMPARE(toString(adapter->connectionState()), QStringLiteral("disconnected"));

    adapter->start();
    QTRY_COMPARE(toString(adapter->connectionState()), QStringLiteral("degraded"));
    QCOMPARE(adapter->connectionDetail(), cartAnswer->error().message);
    const auto checkoutAnswer = metricsOf(*adapter);
    QVERIFY(checkoutAnswer && *checkoutAnswer);
    QVERIFY(fake.receivedFor(QStringLiteral("rr{service=\"cart\"}")).size() >= 2);
}

void TestPrometheus::garbageIsAClearError()
{
    FakePrometheus fake([](const ReceivedRequest &) -> Reply {
        return {200, "<html><body>Sign in</body></html>"};
    });
    QVERIFY(fake.listen());
    RealClock clock;
    auto adapter = makeAdapter(fakeSettings(fake.url()), &clock);
    const auto answer = metricsOf(*adapter);
    QVERIFY(answer);
    QVERIFY(!*answer);
    QCOMPARE(int(answer->error().kind), int(Error::Kind::Invalid));
    QCOMPARE(answer->error().message,
             QStringLiteral("Prometheus at %1/api/v1/query answered the request_rate query for "
                            "checkout/production with something other than a Prometheus answer: "
                            "the body is not JSON (illegal value at byte 1); check that the url "
                            "is the Prometheus server's")
                 .arg(QString::fromLatin1(fake.url())));

    // A series without the version label is as unusable, and says how to fix the query.
    fake.setHandler([](const ReceivedRequest &) -> Reply {
        return {200, vectorAnswer({{QString(), QStringLiteral("5")}})};
    });
    auto other = makeAdapter(fakeSettings(fake.url()), &clock);
    const auto unlabelled = metricsOf(*other);
    QVERIFY(unlabelled && !*unlabelled);
    QCOMPARE(unlabelled->error().message,
             QStringLiteral("Prometheus at %1: the answer to the request_rate query for "
                            "checkout/production cannot be used: series 1 {} has no 'version' "
                            "label; group the query by version, as in sum by (version) (...), or "
                            "run it once per version with $version")
                 .arg(QString::fromLatin1(fake.url())));
}

void TestPrometheus::slowPrometheusTimesOutWithoutStallingOrPilingUp()
{
    FakePrometheus fake([](const ReceivedRequest &) -> Reply {
        return {200, vectorAnswer({{QStringLiteral("1.0.0"), QStringLiteral("1")}}), 10s};
    });
    QVERIFY(fake.listen());
    RealClock clock;
    auto adapter = makeAdapter(fakeSettings(fake.url()), &clock);
    StallMeter stalls;
    QElapsedTimer elapsed;
    elapsed.start();
    adapter->start();
    QCOMPARE(toString(adapter->connectionState()), QStringLiteral("connecting"));

    const auto answer = metricsOf(*adapter, 5s);
    QVERIFY(answer);
    QVERIFY(!*answer);
    QVERIFY2(elapsed.elapsed() >= 900 && elapsed.elapsed() < 3000,
             qPrintable(QString::number(elapsed.elapsed())));
    QCOMPARE(int(answer->error().kind), int(Error::Kind::Timeout));
    const QString &message = answer->error().message;
    QVERIFY2(message.startsWith(QStringLiteral("could not read request_rate of "
                                               "checkout/production: Prometheus at %1")
                                    .arg(QString::fromLatin1(fake.url()))),
             qPrintable(message));
    QVERIFY2(message.contains(QStringLiteral("no answer within 1")), qPrintable(message));
    QVERIFY2(!message.contains(QStringLiteral("rr{"))
                 && !message.contains(QStringLiteral("query=")),
             qPrintable(message));
    QCOMPARE(toString(adapter->connectionState()), QStringLiteral("disconnected"));

    // Polls come every 200 ms, but a round waits for the one before it.
    QTest::qWait(700);
    QVERIFY2(fake.received().size() <= 2, qPrintable(QString::number(fake.received().size())));
    QVERIFY2(stalls.longestMs() < 50, qPrintable(QString::number(stalls.longestMs())));
}

void TestPrometheus::recoversWhenPrometheusComesBack()
{
    const quint16 port = test::freeLoopbackPort();
    QVERIFY(port);
    const QByteArray url = "http://127.0.0.1:" + QByteArray::number(port);
    RealClock clock;
    auto adapter = makeAdapter(fakeSettings(url), &clock);
    QSignalSpy changed(adapter.get(), &Adapter::metricsChanged);
    QSignalSpy states(adapter.get(), &Adapter::connectionStateChanged);
    adapter->start();

    QTRY_COMPARE(toString(adapter->connectionState()), QStringLiteral("disconnected"));
    const auto down = metricsOf(*adapter);
    QVERIFY(down && !*down);
    QCOMPARE(int(down->error().kind), int(Error::Kind::Unavailable));
    QVERIFY2(down->error().message.contains(
                 QStringLiteral("Prometheus at %1").arg(QString::fromLatin1(url))),
             qPrintable(down->error().message));
    QVERIFY2(down->error().message.contains(QStringLiteral("refused")),
             qPrintable(down->error().message));
    QCOMPARE(adapter->connectionDetail(), down->error().message);

    FakePrometheus fake([](const ReceivedRequest &request) -> Reply {
        if (request.item(QStringLiteral("query")).startsWith(QLatin1StringView("p50")))
            return {200, vectorAnswer({{QString(), QStringLiteral("20")}})};
        if (request.item(QStringLiteral("query")) == QLatin1StringView("buckets"))
            return {200, seriesAnswer(bucketsOf(QStringLiteral("1.0.0"),
                                                {{QStringLiteral("0.1"), QStringLiteral("45")},
                                                 {QStringLiteral("+Inf"), QStringLiteral("60")}}))};
        return {200, vectorAnswer({{QStringLiteral("1.0.0"), QStringLiteral("2")}})};
    });
    QVERIFY(fake.listen(port));
    QTRY_COMPARE(toString(adapter->connectionState()), QStringLiteral("connected"));
    QCOMPARE(adapter->connectionDetail(),
             QStringLiteral("Prometheus at %1 answers every query (1 service, read every %2)")
                 .arg(QString::fromLatin1(url), formatDuration(200ms)));
    const auto up = metricsOf(*adapter);
    QVERIFY(up && *up);
    QCOMPARE(up->value().versions.size(), 1);
    QCOMPARE(up->value().versions[0].requestsPerSecond, 2.0);
    QCOMPARE(up->value().versions[0].p50Ms, 20.0);
    QCOMPARE(up->value().versions[0].latency, (LatencyHistogram{{100}, {45, 60}}));
    QVERIFY(up->value().versions[0].noData.isEmpty());
    QVERIFY(changed.size() >= 2);
    QVERIFY(states.size() >= 2);

    // It keeps polling.
    const qsizetype before = fake.received().size();
    QTRY_VERIFY(fake.received().size() > before);
}

// ---- Against the real thing ------------------------------------------------------------------

void TestPrometheus::readsARealPrometheus()
{
    const QString prometheusProgram = test::findProgram(QStringLiteral("prometheus"));
    if (prometheusProgram.isEmpty())
        QFAIL("prometheus is not installed; run the README's test command, which installs it");
    QTemporaryDir dir;
    QVERIFY(dir.isValid());

    // checkout in three versions: 1.0.0 healthy, 2.0.0 failing 30 % of requests, and 3.0.0
    // running but sent no traffic.
    struct Version {
        QString version;
        QString errorRate;
        quint16 port = 0;
    };
    QList<Version> versions{{QStringLiteral("1.0.0"), QStringLiteral("0")},
                            {QStringLiteral("2.0.0"), QStringLiteral("30%")},
                            {QStringLiteral("3.0.0"), QStringLiteral("0")}};
    std::vector<std::unique_ptr<test::ServerProcess>> services;
    QStringList targets;
    for (Version &version : versions) {
        version.port = test::freeLoopbackPort();
        auto process = std::make_unique<test::ServerProcess>(QStringLiteral("demo service ")
                                                             + version.version);
        QVERIFY2(
            process->start(test::demoServiceProgram(),
                           {QStringLiteral("--service"), QStringLiteral("checkout"),
                            QStringLiteral("--version"), version.version, QStringLiteral("--port"),
                            QString::number(version.port), QStringLiteral("--error-rate"),
                            version.errorRate, QStringLiteral("--latency"), QStringLiteral("20ms"),
                            QStringLiteral("--drain-delay"), QStringLiteral("0s")}),
            qPrintable(process->error()));
        QVERIFY2(process->waitForHttp(version.port, QStringLiteral("/healthz")),
                 qPrintable(process->error()));
        targets.append(QStringLiteral("'127.0.0.1:%1'").arg(version.port));
        services.push_back(std::move(process));
    }

    QFile config(dir.filePath(QStringLiteral("prometheus.yml")));
    QVERIFY(config.open(QIODevice::WriteOnly));
    config.write(QStringLiteral("global:\n"
                                "  scrape_interval: 1s\n"
                                "  scrape_timeout: 1s\n"
                                "scrape_configs:\n"
                                "  - job_name: checkout\n"
                                "    static_configs:\n"
                                "      - targets: [%1]\n")
                     .arg(targets.join(QStringLiteral(", ")))
                     .toUtf8());
    config.close();
    const quint16 prometheusPort = test::freeLoopbackPort();
    test::ServerProcess prometheus(QStringLiteral("prometheus"));
    QVERIFY2(prometheus.start(
                 prometheusProgram,
                 {QStringLiteral("--config.file=") + config.fileName(),
                  QStringLiteral("--storage.tsdb.path=") + dir.filePath(QStringLiteral("data")),
                  QStringLiteral("--web.listen-address=127.0.0.1:%1").arg(prometheusPort),
                  QStringLiteral("--log.level=warn")}),
             qPrintable(prometheus.error()));
    QVERIFY2(prometheus.waitForHttp(prometheusPort, QStringLiteral("/-/ready"), 30s),
             qPrintable(prometheus.error()));
    const QByteArray prometheusUrl = "http://127.0.0.1:" + QByteArray::number(prometheusPort);

    // Load on 1.0.0 and 2.0.0 only, about 100 requests a second each.
    // Declared first so that it outlives the replies, which count into it.
    QMap<QString, int> answered;
    QNetworkAccessManager network;
    QTimer load;
    load.setInterval(10);
    connect(&load, &QTimer::timeout, this, [&] {
        for (const Version &version : std::as_const(versions).first(2)) {
            QNetworkReply *reply = network.get(
                QNetworkRequest(QUrl(QStringLiteral("http://127.0.0.1:%1/").arg(version.port))));
            connect(reply, &QNetworkReply::finished, reply, [&answered, reply, version] {
                ++answered[version.version];
                reply->deleteLater();
            });
        }
    });
    load.start();

    // Until Prometheus has scraped the traffic twice: rate() needs two samples.
    auto versionsWithTraffic = [&] {
        QUrlQuery query;
        query.addQueryItem(QStringLiteral("query"),
                           QStringLiteral("sum by (version) (rate(http_requests_total[5s])) > 0"));
        QUrl url(QString::fromLatin1(prometheusUrl + "/api/v1/query"));
        url.setQuery(query);
        QNetworkReply *reply = network.get(QNetworkRequest(url));
        QSignalSpy finished(reply, &QNetworkReply::finished);
        finished.wait(2000);
        const QByteArray body = reply->readAll();
        reply->deleteLater();
        const Result<Answer, AnswerProblem> answer = parseAnswer(body);
        return answer ? answer.value().series.size() : qsizetype(-1);
    };
    QTRY_COMPARE_WITH_TIMEOUT(versionsWithTraffic(), qsizetype(2), 30000);

    const QByteArray settings = "url: " + prometheusUrl + R"(
timeout: 2s
poll_interval: 500ms
window: 5s
queries:
  p50_latency: 'histogram_quantile(0.5, sum by (le) (rate(http_request_duration_seconds_bucket{service="$service",version="$version"}[$window]))) * 1000'
)";
    RealClock clock;
    auto adapter = makeAdapter(settings, &clock);
    QSignalSpy changed(adapter.get(), &Adapter::metricsChanged);
    adapter->start();
    QTRY_VERIFY_WITH_TIMEOUT(changed.size() >= 1, 10000);
    QCOMPARE(toString(adapter->connectionState()), QStringLiteral("connected"));

    // Wait for a window full of traffic, then judge the latest snapshot.
    auto windowIsFull = [&] {
        const auto answer = metricsOf(*adapter);
        if (!answer || !*answer)
            return false;
        const MetricsSnapshot &snapshot = answer->value();
        const VersionMetrics *healthy = snapshot.find(QStringLiteral("1.0.0"));
        const VersionMetrics *failing = snapshot.find(QStringLiteral("2.0.0"));
        return healthy && failing && healthy->requests >= 200 && failing->requests >= 200;
    };
    QTRY_VERIFY_WITH_TIMEOUT(windowIsFull(), 20000);
    const auto answer = metricsOf(*adapter);
    QVERIFY(answer);
    QVERIFY2(*answer, whyNot(*answer));
    const MetricsSnapshot &snapshot = answer->value();
    QCOMPARE(snapshot.interval, Duration(5s));
    QVERIFY(std::abs(toMSecsSinceEpoch(snapshot.at) - QDateTime::currentMSecsSinceEpoch())
            < 10'000);
    QCOMPARE(snapshot.versions.size(), 3);

    const VersionMetrics &healthy = versionOf(snapshot, QStringLiteral("1.0.0"));
    const VersionMetrics &failing = versionOf(snapshot, QStringLiteral("2.0.0"));
    for (const VersionMetrics *metrics : {&healthy, &failing}) {
        const QByteArray what
            = metrics->version.toUtf8() + ": "
              + QStringList(metrics->noData.values()).join(QLatin1Char(';')).toUtf8();
        QVERIFY2(metrics->noData.isEmpty(), what.constData());
        QVERIFY2(metrics->requestsPerSecond > 20 && metrics->requestsPerSecond < 150,
                 QByteArray::number(metrics->requestsPerSecond).constData());
        QVERIFY2(metrics->p50Ms >= 15 && metrics->p50Ms <= 250,
                 QByteArray::number(metrics->p50Ms).constData());
        QVERIFY2(metrics->p99Ms >= metrics->p50Ms && metrics->p99Ms <= 1000,
                 QByteArray::number(metrics->p99Ms).constData());
    }
    QCOMPARE(healthy.errorRatio, 0.0);
    // A binomial share of a few hundred requests: within 4.5 standard deviations.
    QVERIFY2(std::abs(failing.errorRatio - 0.3)
                 <= 4.5 * std::sqrt(0.3 * 0.7 / double(failing.requests)),
             QByteArray::number(failing.errorRatio).constData());

    // What Prometheus itself counts over the snapshot's window, at its evaluation time.
    auto countsAt = [&](const QString &expression) {
        // Encoded by hand: QUrlQuery leaves the '+' of "+Inf" alone, which reads as a space.
        const QByteArray query
            = "query="
              + QUrl::toPercentEncoding(
                  QStringLiteral("sum by (version) (increase(%1[5s]))").arg(expression))
              + "&time=" + QUrl::toPercentEncoding(formatPrometheusTime(snapshot.at));
        QUrl url(QString::fromLatin1(prometheusUrl + "/api/v1/query"));
        url.setQuery(QString::fromLatin1(query), QUrl::StrictMode);
        QNetworkReply *reply = network.get(QNetworkRequest(url));
        QSignalSpy finished(reply, &QNetworkReply::finished);
        finished.wait(2000);
        const Result<Answer, AnswerProblem> answer = parseAnswer(reply->readAll());
        reply->deleteLater();
        if (!answer)
            qFatal("Prometheus did not answer %s", qPrintable(expression));
        const auto byVersion = instantByVersion(answer.value(), QStringLiteral("version"));
        QMap<QString, double> counts;
        for (auto it = byVersion.value().cbegin(); it != byVersion.value().cend(); ++it)
            counts.insert(it.key(), it->value);
        return counts;
    };
    const QMap<QString, double> requestsCounted
        = countsAt(QStringLiteral("http_requests_total{service=\"checkout\"}"));
    const QMap<QString, double> errorsCounted
        = countsAt(QStringLiteral("http_requests_total{service=\"checkout\",code=\"500\"}"));
    const QMap<QString, double> histogramTotals = countsAt(
        QStringLiteral("http_request_duration_seconds_bucket{service=\"checkout\",le=\"+Inf\"}"));

    // The demo service's buckets, per version, counting the version's requests of the window.
    const QList<double> demoBoundsMs{5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000};
    for (const VersionMetrics *metrics : {&healthy, &failing}) {
        const QByteArray what = metrics->version.toUtf8();
        // The request count and the error count a judge takes from the snapshot are
        // Prometheus' own counts of the window, to the request.
        QVERIFY2(std::abs(double(metrics->requests) - requestsCounted.value(metrics->version)) <= 1,
                 QByteArray(what + ": " + QByteArray::number(metrics->requests)
                            + " requests, Prometheus "
                            + QByteArray::number(requestsCounted.value(metrics->version)))
                     .constData());
        const qint64 errors = std::llround(double(metrics->requests) * metrics->errorRatio);
        QVERIFY2(std::abs(double(errors) - errorsCounted.value(metrics->version)) <= 1,
                 QByteArray(what + ": " + QByteArray::number(errors) + " errors, Prometheus "
                            + QByteArray::number(errorsCounted.value(metrics->version)))
                     .constData());

        QVERIFY2(metrics->latency, what.constData());
        const LatencyHistogram &latency = *metrics->latency;
        QCOMPARE(latency.boundsMs, demoBoundsMs);
        QCOMPARE(latency.cumulativeCounts.size(), demoBoundsMs.size() + 1);
        for (qsizetype i = 1; i < latency.cumulativeCounts.size(); ++i)
            QVERIFY2(latency.cumulativeCounts[i] >= latency.cumulativeCounts[i - 1],
                     what.constData());
        // Matched to the requests; Prometheus' extrapolated total is close to them anyway.
        QCOMPARE(latency.total(), metrics->requests);
        const double histogramTotal = histogramTotals.value(metrics->version);
        QVERIFY2(std::abs(histogramTotal - double(metrics->requests))
                     <= 0.05 * double(metrics->requests) + 2,
                 QByteArray(what + ": histogram " + QByteArray::number(histogramTotal)
                            + ", requests " + QByteArray::number(metrics->requests))
                     .constData());
        // Each request waited its 20 ms before being answered.
        QCOMPARE(latency.slowerThan(10), std::optional<qint64>(metrics->requests));
    }
    // No requests, and a histogram that says so: counts of zero, not a missing figure.
    const VersionMetrics &idleVersion = versionOf(snapshot, QStringLiteral("3.0.0"));
    QVERIFY(idleVersion.latency);
    QCOMPARE(idleVersion.latency->boundsMs, demoBoundsMs);
    QCOMPARE(idleVersion.latency->total(), 0);
    QVERIFY(!idleVersion.noData.contains(QStringLiteral("latency")));

    // The version without traffic: a request rate of zero, and reasons instead of the rest.
    const VersionMetrics &idle = versionOf(snapshot, QStringLiteral("3.0.0"));
    QCOMPARE(idle.requestsPerSecond, 0.0);
    QCOMPARE(idle.requests, 0);
    QVERIFY(std::isnan(idle.errorRatio));
    QVERIFY(std::isnan(idle.p50Ms));
    QVERIFY(std::isnan(idle.p99Ms));
    QCOMPARE(idle.noData.value(QStringLiteral("error_rate")),
             QStringLiteral("Prometheus returned NaN for error_rate: no requests in the last 5s"));
    QCOMPARE(idle.noData.value(QStringLiteral("p99_latency")),
             QStringLiteral("Prometheus returned NaN for p99_latency: no requests in the last 5s"));
    QCOMPARE(idle.noData.value(QStringLiteral("p50_latency")),
             QStringLiteral("Prometheus returned NaN for p50_latency: no requests in the last 5s"));
    QCOMPARE(metricValue(idle, QStringLiteral("p99_latency")), std::nullopt);
    QCOMPARE(metricValue(idle, QStringLiteral("error_rate")), std::nullopt);

    load.stop();
    QVERIFY(answered.value(QStringLiteral("1.0.0")) > 0);
    QCOMPARE(toString(adapter->connectionState()), QStringLiteral("connected"));
}

QTEST_MAIN(TestPrometheus)
#include "tst_prometheus.moc"
