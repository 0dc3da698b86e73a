// The nginx adapter against a real nginx in the foreground, with real demo service processes as
// its upstream servers, all on free loopback ports in a temporary folder.

#include "adapterregistry.h"
#include "clock.h"
#include "nginx/nginxadapter.h"
#include "nginx/upstreamfile.h"
#include "serverprocess.h"
#include "simulator/simulatoradapter.h"
#include "workspaceloader.h"

#include <QElapsedTimer>
#include <QFile>
#include <QNetworkAccessManager>
#include <QNetworkReply>
#include <QRegularExpression>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QThreadPool>
#include <QtTest>

#include <memory>
#include <optional>

using namespace sb;
using namespace std::chrono_literals;

namespace {

const ServiceKey shop{QStringLiteral("shop"), QStringLiteral("production")};

// What went wrong, for a failure message; QVERIFY2 evaluates it even when all went well.
template <typename T, typename E>
QString why(const Result<T, E> &result)
{
    if (result)
        return QString();
    if constexpr (std::is_same_v<E, Diagnostic>)
        return result.error().toString();
    else if constexpr (std::is_same_v<E, QString>)
        return result.error();
    else
        return result.error().message;
}

using Percentages = QMap<QString, double>;
using ServerCounts = QMap<QString, int>;
using Weights = QMap<QString, QList<int>>;

QString kindName(Error::Kind kind)
{
    switch (kind) {
    case Error::Kind::Unsupported: return QStringLiteral("unsupported");
    case Error::Kind::Unavailable: return QStringLiteral("unavailable");
    case Error::Kind::Timeout: return QStringLiteral("timeout");
    case Error::Kind::Invalid: return QStringLiteral("invalid");
    case Error::Kind::Failed: return QStringLiteral("failed");
    }
    return QString::number(int(kind));
}

// Waits for a verb's answer and checks it came from the event loop, never from inside the call.
template <typename T, typename Call>
Result<T> await(Call &&call, std::chrono::milliseconds timeout = 30s)
{
    struct State {
        std::optional<Result<T>> result;
        bool returned = false;
        bool answeredInside = false;
    };
    auto state = std::make_shared<State>();
    call([state](Result<T> result) {
        state->answeredInside = !state->returned;
        state->result = std::move(result);
    });
    state->returned = true;
    (void)QTest::qWaitFor([&] { return state->result.has_value(); }, int(timeout.count()));
    if (state->answeredInside)
        return Error{Error::Kind::Failed, QStringLiteral("the callback ran inside the call")};
    if (!state->result)
        return Error{Error::Kind::Timeout, QStringLiteral("no answer within the test's limit")};
    return *state->result;
}

QByteArray readAll(const QString &path)
{
    QFile file(path);
    return file.open(QIODevice::ReadOnly) ? file.readAll() : QByteArray("(unreadable)");
}

bool writeAll(const QString &path, const QByteArray &content)
{
    QFile file(path);
    return file.open(QIODevice::WriteOnly | QIODevice::Truncate)
           && file.write(content) == content.size();
}

// A workspace with shop bound to the nginx adapter `edge` and cart to a simulator, with `settings`
// (already indented) under edge. The settings begin on line 7.
QByteArray workspaceYaml(const QByteArray &settings)
{
    return "workspace: nginx test\n"
           "environments: [production]\n"
           "adapters:\n"
           "  - name: edge\n"
           "    type: nginx\n"
           "    settings:\n"
           + settings
           + "  - name: sim\n"
             "    type: simulator\n"
             "services:\n"
             "  - name: shop\n"
             "    environment: production\n"
             "    strategy: blue-green\n"
             "    adapter: edge\n"
             "  - name: cart\n"
             "    environment: production\n"
             "    adapter: sim\n";
}

// Builds the adapter the way the console does: the workspace parsed, then the type's factory.
Result<std::unique_ptr<nginx::NginxAdapter>, Diagnostic>
makeAdapter(const QString &folder, const QByteArray &settings, Clock *clock)
{
    AdapterRegistry registry;
    registry.add(nginx::NginxAdapter::adapterType());
    registry.add(sim::SimulatorAdapter::adapterType());
    const QString file = folder + QStringLiteral("/signalbox.yaml");
    Result<Workspace, Diagnostic> workspace
        = parseWorkspace(workspaceYaml(settings), file, registry);
    if (!workspace)
        return workspace.error();
    const AdapterSpec *spec = workspace.value().adapter(QStringLiteral("edge"));
    try {
        std::unique_ptr<Adapter> adapter
            = registry.find(QStringLiteral("nginx"))->create(*spec, {clock, &workspace.value()});
        return std::unique_ptr<nginx::NginxAdapter>(
            static_cast<nginx::NginxAdapter *>(adapter.release()));
    } catch (const DiagnosticError &error) {
        return error.diagnostic();
    }
}

QByteArray settingsYaml(const QString &program, const QString &file, const QString &timeout,
                        const QStringList &servers14, const QStringList &servers15,
                        const QString &config = QStringLiteral("nginx.conf"))
{
    auto list = [](const QStringList &servers) {
        return QStringLiteral("[\"%1\"]").arg(servers.join(QStringLiteral("\", \"")));
    };
    return QStringLiteral("      program: %1\n"
                          "      config: %6\n"
                          "      prefix: .\n"
                          "      timeout: %2\n"
                          "      health_interval: 200ms\n"
                          "      drain: 1s\n"
                          "      services:\n"
                          "        - service: shop\n"
                          "          environment: production\n"
                          "          upstream: shop\n"
                          "          file: %3\n"
                          "          health_path: /ready\n"
                          "          versions:\n"
                          "            \"1.4.0\": %4\n"
                          "            \"1.5.0\": %5\n")
        .arg(program, timeout, file, list(servers14), list(servers15), config)
        .toUtf8();
}

// nginx proxying `port` to the upstream, and answering 503 to everything on `unreadyPort`, as a
// server that never gets ready would.
QByteArray nginxConfig(quint16 port, quint16 unreadyPort, bool withBrokenInclude)
{
    return QStringLiteral("worker_processes 2;\n"
                          "pid nginx.pid;\n"
                          "error_log stderr warn;\n"
                          "worker_shutdown_timeout 10s;\n"
                          "events { worker_connections 512; }\n"
                          "http {\n"
                          "    access_log off;\n"
                          "    keepalive_timeout 30s;\n"
                          "    client_body_temp_path temp/body;\n"
                          "    proxy_temp_path temp/proxy;\n"
                          "    fastcgi_temp_path temp/fastcgi;\n"
                          "    uwsgi_temp_path temp/uwsgi;\n"
                          "    scgi_temp_path temp/scgi;\n"
                          "    include upstreams/shop.conf;\n"
                          "%1"
                          "    server {\n"
                          "        listen 127.0.0.1:%2;\n"
                          "        location / {\n"
                          "            proxy_pass http://shop;\n"
                          "            proxy_http_version 1.1;\n"
                          "            proxy_set_header Connection \"\";\n"
                          "            proxy_next_upstream error timeout http_502 http_503 "
                          "http_504;\n"
                          "            proxy_connect_timeout 1s;\n"
                          "        }\n"
                          "    }\n"
                          "    server {\n"
                          "        listen 127.0.0.1:%3;\n"
                          "        return 503;\n"
                          "    }\n"
                          "}\n")
        .arg(withBrokenInclude ? QStringLiteral("    include broken.conf;\n") : QString())
        .arg(port)
        .arg(unreadyPort)
        .toUtf8();
}

// Requests through nginx from `concurrency` clients at once, each on its own connection, each
// sending its next request as soon as the previous one is answered.
class Load : public QObject
{
public:
    struct Sample {
        qint64 sentMs = 0;
        qint64 answeredMs = 0;
        int status = 0; // 0: no HTTP answer at all
        QByteArray version;
        QString error;
    };

    Load(QUrl url, int concurrency)
        : m_url(std::move(url))
    {
        for (int i = 0; i < concurrency; ++i)
            m_clients.push_back(std::make_unique<QNetworkAccessManager>());
        m_clock.start();
    }

    void start(int maxRequests = -1)
    {
        m_running = true;
        m_remaining = maxRequests;
        for (auto &client : m_clients)
            send(client.get());
    }
    void stop() { m_running = false; }
    bool idle() const { return m_inFlight == 0; }
    qint64 now() const { return m_clock.elapsed(); }
    const QList<Sample> &samples() const { return m_samples; }

private:
    void send(QNetworkAccessManager *client)
    {
        if (!m_running || m_remaining == 0)
            return;
        if (m_remaining > 0)
            --m_remaining;
        QNetworkRequest request(m_url);
        request.setAttribute(QNetworkRequest::Http2AllowedAttribute, false);
        QNetworkReply *reply = client->get(request);
        ++m_inFlight;
        const qint64 sent = m_clock.elapsed();
        connect(reply, &QNetworkReply::finished, this, [this, client, reply, sent] {
            Sample sample;
            sample.sentMs = sent;
            sample.answeredMs = m_clock.elapsed();
            sample.status = reply->attribute(QNetworkRequest::HttpStatusCodeAttribute).toInt();
            sample.version = reply->rawHeader("X-Version");
            if (reply->error() != QNetworkReply::NoError)
                sample.error = reply->errorString();
            m_samples.append(sample);
            reply->deleteLater();
            --m_inFlight;
            send(client);
        });
    }

    QUrl m_url;
    std::vector<std::unique_ptr<QNetworkAccessManager>> m_clients;
    QElapsedTimer m_clock;
    QList<Sample> m_samples;
    bool m_running = false;
    int m_remaining = -1;
    int m_inFlight = 0;
};

struct Tally {
    int ok = 0;
    int non2xx = 0;
    int connectionErrors = 0;
    QMap<QByteArray, int> byVersion;
    QStringList errors;
};

Tally tally(const QList<Load::Sample> &samples)
{
    Tally t;
    for (const Load::Sample &sample : samples) {
        if (sample.status == 0) {
            ++t.connectionErrors;
            t.errors.append(sample.error);
        } else if (sample.status < 200 || sample.status > 299) {
            ++t.non2xx;
            t.errors.append(QStringLiteral("HTTP %1").arg(sample.status));
        } else {
            ++t.ok;
            ++t.byVersion[sample.version];
        }
    }
    return t;
}

QString describe(const Tally &t)
{
    QStringList versions;
    for (auto it = t.byVersion.cbegin(); it != t.byVersion.cend(); ++it)
        versions.append(
            QStringLiteral("%1: %2").arg(QString::fromLatin1(it.key())).arg(it.value()));
    return QStringLiteral("%1 ok (%2), %3 non-2xx, %4 connection errors%5")
        .arg(t.ok)
        .arg(versions.join(QStringLiteral(", ")))
        .arg(t.non2xx)
        .arg(t.connectionErrors)
        .arg(t.errors.isEmpty()
                 ? QString()
                 : QStringLiteral(": ") + t.errors.mid(0, 5).join(QStringLiteral("; ")));
}

// The worker processes of an nginx master, from /proc: a reload replaces them all.
QSet<qint64> workerPids(qint64 master)
{
    QSet<qint64> pids;
    const QStringList entries = QDir(QStringLiteral("/proc")).entryList(QDir::Dirs);
    for (const QString &entry : entries) {
        bool isPid = false;
        const qint64 pid = entry.toLongLong(&isPid);
        QFile stat(QStringLiteral("/proc/%1/stat").arg(entry));
        if (!isPid || !stat.open(QIODevice::ReadOnly))
            continue;
        // "pid (command) state ppid ...", where the command may hold spaces and parentheses.
        const QByteArray text = stat.readAll();
        const QList<QByteArray> fields = text.mid(text.lastIndexOf(')') + 2).split(' ');
        if (fields.size() > 1 && fields.at(1).toLongLong() == master)
            pids.insert(pid);
    }
    return pids;
}

struct Demo {
    QString label;
    QString version;
    QString address;
    std::unique_ptr<test::ServerProcess> process;
};

} // namespace

class TestNginx : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void cleanupTestCase();

    void parsesAndRendersTheUpstreamFile();
    void spreadsWeights_data();
    void spreadsWeights();
    void rejectsBadSettings_data();
    void rejectsBadSettings();
    void reportsAMissingOrBrokenFile_data();
    void reportsAMissingOrBrokenFile();
    void reportsAMissingProgram();
    void stopsAnNginxThatTakesTooLong();
    void closingDuringAChangeLeavesTheFileAsItWas();
    void admitsWhatTheFileServes();
    void putsTheFileBackWhenTheReloadFails();

    void readsTheInitialFile();
    void scaleAdmitsServers();
    void setsWeights();
    void switchesUnderLoad();
    void keepsThePreviousFileWhenNginxRejects();
    void scaleDownDrains();
    void killedServerFails();

private:
    QString fleetDump();
    bool startDemo(Demo &demo);
    Tally runLoad(int concurrency, int requests);
    // An adapter whose nginx never finishes (it stands in for one stuck on a name server that
    // does not answer), on its own upstream file holding hangingUpstream, once its first check at
    // start has given up after `timeout`.
    void startOnHangingNginx(const QString &fileName, const QString &timeout,
                             std::unique_ptr<nginx::NginxAdapter> *adapter);
    static constexpr QByteArrayView hangingUpstream
        = "upstream shop { server 127.0.0.1:1; server 127.0.0.1:2 down; }\n";

    QString m_nginx;
    QTemporaryDir m_dir;
    quint16 m_port = 0;
    quint16 m_unreadyPort = 0;
    QString m_unready; // E: a 1.5.0 server that answers 503 to everything, its health path too
    QString m_upstreamFile;
    std::unique_ptr<test::ServerProcess> m_nginxProcess;
    Demo m_demos[4]; // A, B run 1.4.0; C, D run 1.5.0
    RealClock m_clock;
    std::unique_ptr<nginx::NginxAdapter> m_adapter;
};

bool TestNginx::startDemo(Demo &demo)
{
    demo.process = std::make_unique<test::ServerProcess>(QStringLiteral("demo ") + demo.label);
    if (!demo.process->start(test::demoServiceProgram(),
                             {QStringLiteral("--service"), QStringLiteral("shop"),
                              QStringLiteral("--version"), demo.version, QStringLiteral("--port"),
                              QStringLiteral("0"), QStringLiteral("--instance"), demo.label,
                              // Stopped by the test, not drained behind a balancer.
                              QStringLiteral("--drain-delay"), QStringLiteral("0s")}))
        return false;
    static const QRegularExpression listening(QStringLiteral("listening on http://(\\S+)"));
    QByteArray output;
    QElapsedTimer waited;
    waited.start();
    while (waited.elapsed() < 10'000 && demo.process->running()) {
        demo.process->process().waitForReadyRead(100);
        output += demo.process->process().readAll();
        const QRegularExpressionMatch match = listening.match(QString::fromUtf8(output));
        if (match.hasMatch()) {
            demo.address = match.captured(1);
            return true;
        }
    }
    return false;
}

void TestNginx::initTestCase()
{
    m_nginx = test::findProgram(QStringLiteral("nginx"));
    if (m_nginx.isEmpty())
        QFAIL("nginx is not installed (apt install nginx); these tests run the real one");
    QVERIFY(m_dir.isValid());
    QVERIFY(QDir(m_dir.path()).mkpath(QStringLiteral("upstreams")));
    QVERIFY(QDir(m_dir.path()).mkpath(QStringLiteral("temp")));

    const char *labels[] = {"A", "B", "C", "D"};
    for (int i = 0; i < 4; ++i) {
        m_demos[i].label = QString::fromLatin1(labels[i]);
        m_demos[i].version = i < 2 ? QStringLiteral("1.4.0") : QStringLiteral("1.5.0");
        QVERIFY2(startDemo(m_demos[i]), qPrintable(m_demos[i].process->error()));
    }

    m_port = test::freeLoopbackPort();
    for (int attempt = 0; attempt < 10 && (m_unreadyPort == 0 || m_unreadyPort == m_port);
         ++attempt)
        m_unreadyPort = test::freeLoopbackPort();
    QVERIFY(m_port != 0 && m_unreadyPort != 0 && m_port != m_unreadyPort);
    m_unready = QStringLiteral("127.0.0.1:%1").arg(m_unreadyPort);
    QVERIFY(writeAll(m_dir.filePath(QStringLiteral("nginx.conf")),
                     nginxConfig(m_port, m_unreadyPort, false)));
    // As an operator writes it before Signalbox manages it: 1.4.0 serves, 1.5.0's first server is
    // admitted but takes no traffic yet, and the upstream keeps connections to its servers open.
    m_upstreamFile = m_dir.filePath(QStringLiteral("upstreams/shop.conf"));
    QVERIFY(writeAll(m_upstreamFile,
                     QStringLiteral("# the shop's servers\n"
                                    "upstream shop {\n"
                                    "    keepalive 8;\n"
                                    "    server %1;\n"
                                    "    server %2;\n"
                                    "    server %3 down;\n"
                                    "}\n")
                         .arg(m_demos[0].address, m_demos[1].address, m_demos[2].address)
                         .toUtf8()));

    m_nginxProcess = std::make_unique<test::ServerProcess>(QStringLiteral("nginx"));
    QVERIFY2(
        m_nginxProcess->start(m_nginx, {QStringLiteral("-p"), m_dir.path(), QStringLiteral("-c"),
                                        m_dir.filePath(QStringLiteral("nginx.conf")),
                                        QStringLiteral("-e"), QStringLiteral("stderr"),
                                        QStringLiteral("-g"), QStringLiteral("daemon off;")}),
        qPrintable(m_nginxProcess->error()));
    QVERIFY2(m_nginxProcess->waitForHttp(m_port, QStringLiteral("/")),
             qPrintable(m_nginxProcess->error()));

    auto adapter
        = makeAdapter(m_dir.path(),
                      settingsYaml(m_nginx, QStringLiteral("upstreams/shop.conf"),
                                   QStringLiteral("10s"), {m_demos[0].address, m_demos[1].address},
                                   {m_demos[2].address, m_unready, m_demos[3].address}),
                      &m_clock);
    QVERIFY2(adapter, qPrintable(why(adapter)));
    m_adapter = std::move(adapter).value();
    m_adapter->start();
    QTRY_COMPARE_WITH_TIMEOUT(toString(m_adapter->connectionState()),
                              toString(ConnectionState::Connected), 10'000);
}

void TestNginx::cleanupTestCase()
{
    m_adapter.reset();
    if (m_nginxProcess)
        m_nginxProcess->terminate();
    for (Demo &demo : m_demos) {
        if (demo.process)
            demo.process->terminate();
    }
}

QString TestNginx::fleetDump()
{
    Result<FleetSnapshot> fleet
        = await<FleetSnapshot>([&](auto done) { m_adapter->fleet(shop, done); });
    if (!fleet)
        return QStringLiteral("error: ") + fleet.error().message;
    QStringList lines;
    for (const Instance &instance : fleet.value().instances) {
        QString label = instance.id == m_unready ? QStringLiteral("E") : instance.id;
        for (const Demo &demo : m_demos) {
            if (demo.address == instance.id)
                label = demo.label;
        }
        lines.append(
            QStringLiteral("%1 %2 %3").arg(label, instance.version, toString(instance.state)));
    }
    std::sort(lines.begin(), lines.end());
    return lines.join(QStringLiteral("; "));
}

Tally TestNginx::runLoad(int concurrency, int requests)
{
    Load load(QUrl(QStringLiteral("http://127.0.0.1:%1/").arg(m_port)), concurrency);
    load.start(requests);
    (void)QTest::qWaitFor([&] { return load.samples().size() >= requests; }, 30'000);
    return tally(load.samples());
}

void TestNginx::parsesAndRendersTheUpstreamFile()
{
    const QByteArray written = "# by hand\n"
                               "upstream shop {\n"
                               "    keepalive 8;  # connections to keep\n"
                               "    server 10.0.0.1:80 weight=3 max_fails=2;\n"
                               "    server 10.0.0.2:80 down;\n"
                               "    zone shop 64k;\n"
                               "}\n";
    Result<nginx::UpstreamFile, QString> parsed = nginx::parseUpstreamFile(written);
    QVERIFY2(parsed, qPrintable(why(parsed)));
    const nginx::UpstreamFile &file = parsed.value();
    QCOMPARE(file.name, QStringLiteral("shop"));
    QCOMPARE(file.servers.size(), 2);
    QCOMPARE(file.servers.at(0).weight, 3);
    QCOMPARE(file.servers.at(0).parameters, QStringList{QStringLiteral("max_fails=2")});
    QVERIFY(file.servers.at(1).down);
    QCOMPARE(file.directives.size(), 2);

    const QByteArray rendered = nginx::renderUpstreamFile(file, shop);
    QVERIFY(rendered.startsWith("# Written by Signalbox for service shop (production)"));
    QVERIFY2(rendered.contains("upstream shop {\n    keepalive 8;\n    zone shop 64k;\n"
                               "    server 10.0.0.1:80 weight=3 max_fails=2;\n"
                               "    server 10.0.0.2:80 down;\n}\n"),
             rendered.constData());
    Result<nginx::UpstreamFile, QString> again = nginx::parseUpstreamFile(rendered);
    QVERIFY(again);
    QVERIFY(again.value() == file);

    const struct {
        const char *text;
        const char *message;
    } broken[] = {
        {"", "line 1: expected an upstream block, found the end of the file"},
        {"server 1.2.3.4:80;", "found 'server' where the upstream block should begin"},
        {"upstream shop {\n server 1.2.3.4:80\n}", "line 2: 'server' needs a ';' at its end"},
        {"upstream shop {\n server 1.2.3.4:80 weight=0;\n}", "line 2: weight=0 of server"},
        {"upstream shop { server a:1; server a:1; }", "server a:1 is listed twice"},
        {"upstream shop { server a:1; }\nupstream more { }", "line 2: found 'upstream' after"},
        {"upstream shop { server a:1;", "never closed with '}'"},
        {"upstream shop { location / { } }", "cannot hold a block of its own"},
    };
    for (const auto &row : broken) {
        Result<nginx::UpstreamFile, QString> result = nginx::parseUpstreamFile(row.text);
        QVERIFY2(!result, row.text);
        QVERIFY2(result.error().contains(QLatin1String(row.message)), qPrintable(result.error()));
    }
}

void TestNginx::spreadsWeights_data()
{
    QTest::addColumn<Percentages>("percent");
    QTest::addColumn<ServerCounts>("servers");
    QTest::addColumn<Weights>("expected");

    QTest::newRow("20/80 over 2 and 2")
        << Percentages{{"a", 20}, {"b", 80}} << ServerCounts{{"a", 2}, {"b", 2}}
        << Weights{{"a", {1000, 1000}}, {"b", {4000, 4000}}};
    QTest::newRow("thirds add up exactly")
        << Percentages{{"a", 100.0 / 3}, {"b", 200.0 / 3}} << ServerCounts{{"a", 3}, {"b", 1}}
        << Weights{{"a", {1111, 1111, 1111}}, {"b", {6667}}};
    QTest::newRow("a version at 0 gets none")
        << Percentages{{"a", 0}, {"b", 100}} << ServerCounts{{"a", 2}, {"b", 1}}
        << Weights{{"b", {10000}}};
    QTest::newRow("every server at least 1")
        << Percentages{{"a", 0.01}, {"b", 99.99}} << ServerCounts{{"a", 3}, {"b", 1}}
        << Weights{{"a", {1, 1, 1}}, {"b", {9999}}};
}

void TestNginx::spreadsWeights()
{
    QFETCH(const Percentages, percent);
    QFETCH(const ServerCounts, servers);
    QFETCH(const Weights, expected);
    QCOMPARE(nginx::spreadWeights(percent, servers), expected);
}

void TestNginx::rejectsBadSettings_data()
{
    QTest::addColumn<QByteArray>("settings");
    QTest::addColumn<QString>("message");
    QTest::addColumn<int>("line");

    // Line 7 is the first line of the settings.
    const QByteArray valid = "      timeout: 5s\n"                            // 7
                             "      services:\n"                              // 8
                             "        - service: shop\n"                      // 9
                             "          environment: production\n"            // 10
                             "          upstream: shop\n"                     // 11
                             "          file: upstreams/shop.conf\n"          // 12
                             "          health_path: /ready\n"                // 13
                             "          versions:\n"                          // 14
                             "            \"1.4.0\": [\"127.0.0.1:8081\"]\n"; // 15
    auto with = [&](const char *from, const char *to) {
        QByteArray settings = valid;
        return settings.replace(from, to);
    };
    QTest::newRow("misspelt key") << with("health_path", "helth_path")
                                  << "unknown key 'helth_path' in a service of nginx 'edge'; did "
                                     "you mean 'health_path'?"
                                  << 13;
    QTest::newRow("unknown service")
        << with("service: shop", "service: shopp")
        << "nginx 'edge' settings name service 'shopp' in production, which the workspace does not "
           "define; did you mean 'shop'?"
        << 9;
    QTest::newRow("service bound elsewhere")
        << with("service: shop", "service: cart")
        << "service 'cart' (production) is not bound to nginx 'edge'" << 9;
    QTest::newRow("bound service not listed")
        << QByteArray("      services: []\n")
        << "service 'shop' (production) is bound to nginx 'edge', but its settings do not list it"
        << 7;
    QTest::newRow("upstream missing") << with("          upstream: shop\n", "")
                                      << "a service of nginx 'edge' is missing required key "
                                         "'upstream'"
                                      << 9;
    QTest::newRow("port out of range") << with("127.0.0.1:8081", "127.0.0.1:99999")
                                       << "server '127.0.0.1:99999' has port 99999, outside 1 to "
                                          "65535"
                                       << 15;
    QTest::newRow("not an address")
        << with("127.0.0.1:8081", "127.0.0.1:8081; evil") << "is not a host:port address" << 15;
    QTest::newRow("unix socket") << with("127.0.0.1:8081", "unix:/run/shop.sock")
                                 << "is a unix socket, which Signalbox cannot probe" << 15;
    QTest::newRow("server in two versions")
        << valid + "            \"1.5.0\": [\"127.0.0.1:8081\"]\n"
        << "server 127.0.0.1:8081 is listed twice for service 'shop' (production)" << 16;
    QTest::newRow("no versions") << with("          versions:\n            \"1.4.0\": "
                                         "[\"127.0.0.1:8081\"]\n",
                                         "          versions: {}\n")
                                 << "needs versions: a mapping from each version to the servers"
                                 << 14;
    QTest::newRow("version without servers") << with("[\"127.0.0.1:8081\"]", "[]")
                                             << "version '1.4.0' of service 'shop' (production) "
                                                "must list its servers"
                                             << 15;
    QTest::newRow("health path") << with("/ready", "ready")
                                 << "health_path 'ready' must be a path starting with '/'" << 13;
    QTest::newRow("timeout too short")
        << with("timeout: 5s", "timeout: 10ms") << "timeout 10ms is below the minimum 100ms" << 7;
    QTest::newRow("bad upstream name") << with("upstream: shop", "upstream: \"shop {\"")
                                       << "upstream name 'shop {' may hold only letters" << 11;
}

void TestNginx::rejectsBadSettings()
{
    QFETCH(QByteArray, settings);
    QFETCH(QString, message);
    QFETCH(int, line);
    auto adapter = makeAdapter(m_dir.path(), settings, &m_clock);
    QVERIFY(!adapter);
    QVERIFY2(adapter.error().message.contains(message), qPrintable(adapter.error().toString()));
    QCOMPARE(adapter.error().line, line);
    QCOMPARE(adapter.error().file, m_dir.filePath(QStringLiteral("signalbox.yaml")));
}

void TestNginx::reportsAMissingOrBrokenFile_data()
{
    QTest::addColumn<QByteArray>("content"); // empty: the file does not exist
    QTest::addColumn<QStringList>("message");

    QTest::newRow("missing") << QByteArray()
                             << QStringList{"does not exist; write it with the servers that take "
                                            "traffic now, like 'upstream shop { server "
                                            "127.0.0.1:1; }'",
                                            "include it in the http block"};
    QTest::newRow("not nginx syntax")
        << QByteArray("upstream shop {\n  server 127.0.0.1:1 weight=half;\n}\n")
        << QStringList{"is not one upstream block: line 2: weight=half of server 127.0.0.1:1 is "
                       "not a positive whole number"};
    QTest::newRow("another upstream") << QByteArray("upstream cart { server 127.0.0.1:1; }\n")
                                      << QStringList{"defines upstream 'cart', but the settings "
                                                     "name upstream 'shop'"};
    QTest::newRow("unknown server")
        << QByteArray("upstream shop { server 127.0.0.1:1; server 127.0.0.1:3; }\n")
        << QStringList{"server 127.0.0.1:3 in the upstream file",
                       "is not one of the servers the settings list for shop (production)"};
}

void TestNginx::reportsAMissingOrBrokenFile()
{
    QFETCH(QByteArray, content);
    QFETCH(QStringList, message);
    const QString name = QStringLiteral("upstreams/broken-%1.conf").arg(QTest::currentDataTag());
    if (!content.isEmpty())
        QVERIFY(writeAll(m_dir.filePath(name), content));
    auto made = makeAdapter(m_dir.path(),
                            settingsYaml(m_nginx, name, QStringLiteral("10s"),
                                         {QStringLiteral("127.0.0.1:1")},
                                         {QStringLiteral("127.0.0.1:2")}),
                            &m_clock);
    QVERIFY2(made, qPrintable(why(made)));
    std::unique_ptr<nginx::NginxAdapter> adapter = std::move(made).value();
    adapter->start();

    Result<TrafficSplit> traffic
        = await<TrafficSplit>([&](auto done) { adapter->traffic(shop, done); });
    QVERIFY(!traffic);
    QCOMPARE(kindName(traffic.error().kind), QStringLiteral("unavailable"));
    for (const QString &part : message)
        QVERIFY2(traffic.error().message.contains(part), qPrintable(traffic.error().message));
    QVERIFY(traffic.error().message.contains(m_dir.filePath(name)));

    Result<Done> scaled
        = await<Done>([&](auto done) { adapter->scale(shop, QStringLiteral("1.5.0"), 1, done); });
    QVERIFY(!scaled);
    QCOMPARE(scaled.error().message, traffic.error().message);
    QTRY_COMPARE(toString(adapter->connectionState()), toString(ConnectionState::Degraded));
    QVERIFY(adapter->connectionDetail().contains(message.first()));
    if (!content.isEmpty())
        QCOMPARE(readAll(m_dir.filePath(name)), content);
}

void TestNginx::reportsAMissingProgram()
{
    const QString name = QStringLiteral("upstreams/no-program.conf");
    const QByteArray content = "upstream shop { server 127.0.0.1:1; server 127.0.0.1:2 down; }\n";
    QVERIFY(writeAll(m_dir.filePath(name), content));
    const QString missing = m_dir.filePath(QStringLiteral("no/such/nginx"));
    auto made = makeAdapter(m_dir.path(),
                            settingsYaml(missing, name, QStringLiteral("10s"),
                                         {QStringLiteral("127.0.0.1:1")},
                                         {QStringLiteral("127.0.0.1:2")}),
                            &m_clock);
    QVERIFY2(made, qPrintable(why(made)));
    std::unique_ptr<nginx::NginxAdapter> adapter = std::move(made).value();
    adapter->start();
    QTRY_COMPARE(toString(adapter->connectionState()), toString(ConnectionState::Disconnected));
    QVERIFY2(adapter->connectionDetail().contains(missing),
             qPrintable(adapter->connectionDetail()));
    QVERIFY(adapter->connectionDetail().contains(QLatin1String("apt install nginx")));

    Result<TrafficSplit> switched = await<TrafficSplit>(
        [&](auto done) { adapter->switchTo(shop, QStringLiteral("1.5.0"), done); });
    QVERIFY(!switched);
    QCOMPARE(kindName(switched.error().kind), QStringLiteral("unavailable"));
    QVERIFY2(switched.error().message.contains(
                 QStringLiteral("cannot run the nginx program %1").arg(missing)),
             qPrintable(switched.error().message));
    QVERIFY(switched.error().message.contains(QLatin1String("is back in place")));
    QCOMPARE(readAll(m_dir.filePath(name)), content);
}

void TestNginx::startOnHangingNginx(const QString &fileName, const QString &timeout,
                                    std::unique_ptr<nginx::NginxAdapter> *adapter)
{
    const QString hanging = m_dir.filePath(QStringLiteral("hanging-nginx"));
    QVERIFY(writeAll(hanging, "#!/bin/sh\nexec sleep 30\n"));
    QVERIFY(QFile::setPermissions(hanging, QFile::ReadOwner | QFile::WriteOwner | QFile::ExeOwner));
    QVERIFY(writeAll(m_dir.filePath(fileName), hangingUpstream.toByteArray()));
    auto made
        = makeAdapter(m_dir.path(),
                      settingsYaml(hanging, fileName, timeout, {QStringLiteral("127.0.0.1:1")},
                                   {QStringLiteral("127.0.0.1:2")}),
                      &m_clock);
    QVERIFY2(made, qPrintable(why(made)));
    *adapter = std::move(made).value();
    (*adapter)->start();
    QTRY_COMPARE_WITH_TIMEOUT(toString((*adapter)->connectionState()),
                              toString(ConnectionState::Degraded), 10'000);
}

void TestNginx::stopsAnNginxThatTakesTooLong()
{
    const QString name = QStringLiteral("upstreams/hanging.conf");
    std::unique_ptr<nginx::NginxAdapter> adapter;
    startOnHangingNginx(name, QStringLiteral("300ms"), &adapter);
    if (QTest::currentTestFailed())
        return;

    QElapsedTimer elapsed;
    elapsed.start();
    Result<TrafficSplit> switched = await<TrafficSplit>(
        [&](auto done) { adapter->switchTo(shop, QStringLiteral("1.5.0"), done); });
    QVERIFY(!switched);
    QCOMPARE(kindName(switched.error().kind), QStringLiteral("timeout"));
    QVERIFY2(switched.error().message.contains(
                 QLatin1String("nginx -t did not finish within 300 ms and was stopped")),
             qPrintable(switched.error().message));
    QVERIFY2(elapsed.elapsed() < 5000, "the hanging nginx -t was not stopped at the timeout");
    QCOMPARE(readAll(m_dir.filePath(name)), hangingUpstream.toByteArray());
}

void TestNginx::closingDuringAChangeLeavesTheFileAsItWas()
{
    // The workspace closes while nginx -t still checks a change: the file must not keep a
    // change nginx never accepted, or its next reload would load it.
    const QString name = QStringLiteral("upstreams/closing.conf");
    std::unique_ptr<nginx::NginxAdapter> adapter;
    startOnHangingNginx(name, QStringLiteral("3s"), &adapter);
    if (QTest::currentTestFailed())
        return;

    bool answered = false;
    adapter->switchTo(shop, QStringLiteral("1.5.0"),
                      [&](Result<TrafficSplit>) { answered = true; });
    const QByteArray before = hangingUpstream.toByteArray();
    QTRY_VERIFY(readAll(m_dir.filePath(name)) != before); // written, now being checked
    adapter.reset();
    QThreadPool::globalInstance()->waitForDone();
    QCOMPARE(readAll(m_dir.filePath(name)), before);
    QVERIFY(!answered);
}

void TestNginx::admitsWhatTheFileServes()
{
    // 127.0.0.1:2 was taken out by hand beside a server of its version that takes traffic, so
    // it is not admitted; 1.5.0 has no server in the file at all. Nothing listens on these.
    const QString name = QStringLiteral("upstreams/by-hand.conf");
    const QByteArray content = "upstream shop {\n"
                               "    server 127.0.0.1:1 weight=3;\n"
                               "    server 127.0.0.1:2 down;\n"
                               "}\n";
    QVERIFY(writeAll(m_dir.filePath(name), content));
    auto made
        = makeAdapter(m_dir.path(),
                      settingsYaml(m_nginx, name, QStringLiteral("10s"),
                                   {QStringLiteral("127.0.0.1:1"), QStringLiteral("127.0.0.1:2")},
                                   {QStringLiteral("127.0.0.1:3")}),
                      &m_clock);
    QVERIFY2(made, qPrintable(why(made)));
    std::unique_ptr<nginx::NginxAdapter> adapter = std::move(made).value();
    adapter->start();
    QTRY_COMPARE(toString(adapter->connectionState()), toString(ConnectionState::Connected));

    Result<TrafficSplit> traffic
        = await<TrafficSplit>([&](auto done) { adapter->traffic(shop, done); });
    QVERIFY2(traffic, qPrintable(why(traffic)));
    QCOMPARE(traffic.value().weightPercent, (Percentages{{QStringLiteral("1.4.0"), 100}}));
    QCOMPARE(traffic.value().activeVersion, QStringLiteral("1.4.0"));
    auto fleet = [&] {
        Result<FleetSnapshot> snapshot
            = await<FleetSnapshot>([&](auto done) { adapter->fleet(shop, done); });
        QStringList instances;
        for (const Instance &instance : snapshot ? snapshot.value().instances : QList<Instance>())
            instances.append(QStringLiteral("%1 %2 %3")
                                 .arg(instance.id, instance.version, toString(instance.state)));
        return snapshot ? instances.join(QStringLiteral("; ")) : why(snapshot);
    };
    // Refused by a server that was in the file when the console started: failed, not starting.
    QTRY_COMPARE(fleet(), QStringLiteral("127.0.0.1:1 1.4.0 failed"));

    Result<TrafficSplit> switched = await<TrafficSplit>(
        [&](auto done) { adapter->switchTo(shop, QStringLiteral("1.5.0"), done); });
    QVERIFY(!switched);
    QCOMPARE(kindName(switched.error().kind), QStringLiteral("failed"));
    QCOMPARE(switched.error().message,
             QStringLiteral("version '1.5.0' of shop (production) has no server in upstream shop "
                            "to take 100 % of the traffic; scale it up first"));
    Result<TrafficSplit> unknown = await<TrafficSplit>(
        [&](auto done) { adapter->switchTo(shop, QStringLiteral("2.0.0"), done); });
    QVERIFY(!unknown);
    QCOMPARE(kindName(unknown.error().kind), QStringLiteral("invalid"));
    QVERIFY2(unknown.error().message.contains(QLatin1String("configured versions: 1.4.0, 1.5.0")),
             qPrintable(unknown.error().message));
    QCOMPARE(readAll(m_dir.filePath(name)), content);
}

void TestNginx::putsTheFileBackWhenTheReloadFails()
{
    // A configuration nginx accepts, for an nginx that is not running: its pid file is missing.
    QVERIFY(writeAll(m_dir.filePath(QStringLiteral("idle-nginx.conf")),
                     "pid idle-nginx.pid;\n"
                     "error_log stderr;\n"
                     "events { }\n"
                     "http { include upstreams/idle.conf; }\n"));
    const QString name = QStringLiteral("upstreams/idle.conf");
    const QByteArray content = "upstream shop { server 127.0.0.1:1; server 127.0.0.1:2 down; }\n";
    QVERIFY(writeAll(m_dir.filePath(name), content));
    auto made = makeAdapter(
        m_dir.path(),
        settingsYaml(m_nginx, name, QStringLiteral("10s"), {QStringLiteral("127.0.0.1:1")},
                     {QStringLiteral("127.0.0.1:2")}, QStringLiteral("idle-nginx.conf")),
        &m_clock);
    QVERIFY2(made, qPrintable(why(made)));
    std::unique_ptr<nginx::NginxAdapter> adapter = std::move(made).value();
    adapter->start();
    QTRY_COMPARE(toString(adapter->connectionState()), toString(ConnectionState::Connected));

    Result<TrafficSplit> switched = await<TrafficSplit>(
        [&](auto done) { adapter->switchTo(shop, QStringLiteral("1.5.0"), done); });
    QVERIFY(!switched);
    QCOMPARE(kindName(switched.error().kind), QStringLiteral("failed"));
    QVERIFY2(
        switched.error().message.contains(QLatin1String("nginx -s reload failed: nginx: [error] ")),
        qPrintable(switched.error().message));
    QVERIFY(switched.error().message.contains(QLatin1String("idle-nginx.pid")));
    QVERIFY(switched.error().message.contains(
        QLatin1String("is back in place, and nginx runs as it did")));
    QCOMPARE(readAll(m_dir.filePath(name)), content);
    QCOMPARE(toString(adapter->connectionState()), toString(ConnectionState::Degraded));
}

void TestNginx::readsTheInitialFile()
{
    Result<TrafficSplit> traffic
        = await<TrafficSplit>([&](auto done) { m_adapter->traffic(shop, done); });
    QVERIFY2(traffic, qPrintable(why(traffic)));
    QCOMPARE(traffic.value().weightPercent,
             (QMap<QString, double>{{QStringLiteral("1.4.0"), 100}, {QStringLiteral("1.5.0"), 0}}));
    QCOMPARE(traffic.value().activeVersion, QStringLiteral("1.4.0"));
    QVERIFY2(m_adapter->connectionDetail().contains(QLatin1String("nginx -t passes")),
             qPrintable(m_adapter->connectionDetail()));
    // C is down in nginx, so it takes no traffic, but it is admitted and probed: the warm colour.
    QTRY_COMPARE_WITH_TIMEOUT(
        fleetDump(), QStringLiteral("A 1.4.0 ready; B 1.4.0 ready; C 1.5.0 ready"), 10'000);
    const Tally served = runLoad(4, 40);
    QCOMPARE(served.byVersion.value("1.4.0"), 40);
}

void TestNginx::scaleAdmitsServers()
{
    QSignalSpy fleetChanged(m_adapter.get(), &Adapter::fleetChanged);
    QSignalSpy trafficChanged(m_adapter.get(), &Adapter::trafficChanged);

    Result<Done> tooMany
        = await<Done>([&](auto done) { m_adapter->scale(shop, QStringLiteral("1.5.0"), 4, done); });
    QVERIFY(!tooMany);
    QCOMPARE(kindName(tooMany.error().kind), QStringLiteral("invalid"));
    QVERIFY2(tooMany.error().message.contains(
                 QLatin1String("can run 1.5.0 on at most the 3 servers the settings")),
             qPrintable(tooMany.error().message));
    Result<Done> servingAway
        = await<Done>([&](auto done) { m_adapter->scale(shop, QStringLiteral("1.4.0"), 0, done); });
    QVERIFY(!servingAway);
    QVERIFY2(servingAway.error().message.contains(
                 QLatin1String("version '1.4.0' takes 100 % of shop (production)'s traffic")),
             qPrintable(servingAway.error().message));

    Result<Done> scaled
        = await<Done>([&](auto done) { m_adapter->scale(shop, QStringLiteral("1.5.0"), 3, done); });
    QVERIFY2(scaled, qPrintable(why(scaled)));
    QByteArray file = readAll(m_upstreamFile);
    // 1.4.0 keeps all the traffic, spread over its servers in nginx's integer weights; 1.5.0's
    // new servers join C, down until 1.5.0 is given traffic.
    QVERIFY2(file.contains(QStringLiteral("    keepalive 8;\n    server %1 weight=5000;\n"
                                          "    server %2 weight=5000;\n    server %3 down;\n"
                                          "    server %4 down;\n    server %5 down;\n}\n")
                               .arg(m_demos[0].address, m_demos[1].address, m_demos[2].address,
                                    m_unready, m_demos[3].address)
                               .toUtf8()),
             file.constData());
    QVERIFY(file.startsWith("# Written by Signalbox"));
    QVERIFY(fleetChanged.size() >= 1);
    QCOMPARE(trafficChanged.size(), 0);
    // E answers 503: within 30 s of its admission that is a server still starting.
    QTRY_COMPARE_WITH_TIMEOUT(fleetDump(),
                              QStringLiteral("A 1.4.0 ready; B 1.4.0 ready; C 1.5.0 ready; "
                                             "D 1.5.0 ready; E 1.5.0 starting"),
                              10'000);

    // A scale-down takes servers that are not ready first, though D is listed last.
    Result<Done> down
        = await<Done>([&](auto done) { m_adapter->scale(shop, QStringLiteral("1.5.0"), 2, done); });
    QVERIFY2(down, qPrintable(why(down)));
    file = readAll(m_upstreamFile);
    QVERIFY2(!file.contains(m_unready.toUtf8()), file.constData());
    QCOMPARE(fleetDump(), QStringLiteral("A 1.4.0 ready; B 1.4.0 ready; C 1.5.0 ready; "
                                         "D 1.5.0 ready; E 1.5.0 draining"));
    QTRY_COMPARE_WITH_TIMEOUT(fleetDump(),
                              QStringLiteral("A 1.4.0 ready; B 1.4.0 ready; C 1.5.0 ready; "
                                             "D 1.5.0 ready"),
                              5000);

    // Asking for what is already there changes nothing, and tells nobody.
    fleetChanged.clear();
    Result<Done> again
        = await<Done>([&](auto done) { m_adapter->scale(shop, QStringLiteral("1.5.0"), 2, done); });
    QVERIFY(again);
    QCOMPARE(fleetChanged.size(), 0);
    QCOMPARE(trafficChanged.size(), 0);
}

void TestNginx::setsWeights()
{
    QSignalSpy trafficChanged(m_adapter.get(), &Adapter::trafficChanged);
    const QSet<qint64> workersBefore = workerPids(m_nginxProcess->pid());
    QVERIFY(!workersBefore.isEmpty());
    Result<TrafficSplit> badSum = await<TrafficSplit>([&](auto done) {
        m_adapter->setWeights(shop, {{QStringLiteral("1.4.0"), 20}, {QStringLiteral("1.5.0"), 70}},
                              done);
    });
    QVERIFY(!badSum);
    QVERIFY2(badSum.error().message.contains(QLatin1String("add up to 90, not 100")),
             qPrintable(badSum.error().message));

    Result<TrafficSplit> split = await<TrafficSplit>([&](auto done) {
        m_adapter->setWeights(shop, {{QStringLiteral("1.4.0"), 20}, {QStringLiteral("1.5.0"), 80}},
                              done);
    });
    QVERIFY2(split, qPrintable(why(split)));
    QCOMPARE(split.value().weightPercent,
             (QMap<QString, double>{{QStringLiteral("1.4.0"), 20}, {QStringLiteral("1.5.0"), 80}}));
    QCOMPARE(split.value().activeVersion, QString());
    QCOMPARE(trafficChanged.size(), 1);
    const QByteArray file = readAll(m_upstreamFile);
    QVERIFY2(
        file.contains(
            QStringLiteral("    server %1 weight=1000;\n    server %2 weight=1000;\n"
                           "    server %3 weight=4000;\n    server %4 weight=4000;\n")
                .arg(m_demos[0].address, m_demos[1].address, m_demos[2].address, m_demos[3].address)
                .toUtf8()),
        file.constData());

    // nginx applies a reload a moment after the command returns: until its old workers are gone,
    // some requests still see the previous split.
    QTRY_VERIFY_WITH_TIMEOUT(!workerPids(m_nginxProcess->pid()).intersects(workersBefore), 5000);
    const Tally served = runLoad(8, 400);
    qInfo("20/80 over 400 requests: %s", qPrintable(describe(served)));
    QCOMPARE(served.ok, 400);
    const double share = 100.0 * served.byVersion.value("1.5.0") / 400;
    QVERIFY2(share >= 74 && share <= 86,
             qPrintable(QStringLiteral("1.5.0 served %1 %").arg(share)));
}

void TestNginx::switchesUnderLoad()
{
    Result<TrafficSplit> back = await<TrafficSplit>(
        [&](auto done) { m_adapter->switchTo(shop, QStringLiteral("1.4.0"), done); });
    QVERIFY2(back, qPrintable(why(back)));
    QCOMPARE(back.value().activeVersion, QStringLiteral("1.4.0"));
    QVERIFY(readAll(m_upstreamFile)
                .contains(QStringLiteral("    server %1 down;\n    server %2 down;\n")
                              .arg(m_demos[2].address, m_demos[3].address)
                              .toUtf8()));

    Load load(QUrl(QStringLiteral("http://127.0.0.1:%1/").arg(m_port)), 16);
    load.start();
    QTest::qWait(600);

    const qint64 switchCalled = load.now();
    std::optional<qint64> switchAnswered;
    std::optional<Result<TrafficSplit>> switched;
    m_adapter->switchTo(shop, QStringLiteral("1.5.0"), [&](Result<TrafficSplit> result) {
        switchAnswered = load.now();
        switched = std::move(result);
    });
    QTRY_VERIFY_WITH_TIMEOUT(switched.has_value(), 10'000);
    QVERIFY2(*switched, qPrintable(why(*switched)));
    QCOMPARE(switched->value().activeVersion, QStringLiteral("1.5.0"));
    QTest::qWait(1000);
    load.stop();
    QTRY_VERIFY_WITH_TIMEOUT(load.idle(), 10'000);

    std::optional<qint64> firstNew;
    int oldAfterSwitch = 0;
    for (const Load::Sample &sample : load.samples()) {
        if (sample.version == "1.5.0" && sample.answeredMs >= switchCalled)
            firstNew = std::min(firstNew.value_or(sample.answeredMs), sample.answeredMs);
        // nginx reloads once the signal reached it; requests sent well after that see only 1.5.0.
        if (sample.version == "1.4.0" && sample.sentMs > *switchAnswered + 300)
            ++oldAfterSwitch;
    }
    const Tally served = tally(load.samples());
    qInfo("switch under load (16 clients): %s", qPrintable(describe(served)));
    QVERIFY(firstNew.has_value());
    qInfo("switchTo() answered after %lld ms; first response from 1.5.0 after %lld ms "
          "(target: 300 ms)",
          *switchAnswered - switchCalled, *firstNew - switchCalled);
    QCOMPARE(served.non2xx, 0);
    QCOMPARE(oldAfterSwitch, 0);
    // The target is 300 ms on an idle machine: nginx -t, the reload, and the 100 ms nginx's
    // master gives its new workers before it stops the old ones, which keep serving the clients
    // already connected to them. Running beside other tests on two cores takes longer.
    QVERIFY2(*firstNew - switchCalled <= 500,
             qPrintable(QStringLiteral("the first 1.5.0 response came %1 ms after switchTo()")
                            .arg(*firstNew - switchCalled)));
}

void TestNginx::keepsThePreviousFileWhenNginxRejects()
{
    const QString config = m_dir.filePath(QStringLiteral("nginx.conf"));
    QVERIFY(writeAll(m_dir.filePath(QStringLiteral("broken.conf")), "bogus_directive on;\n"));
    QVERIFY(writeAll(config, nginxConfig(m_port, m_unreadyPort, true)));
    const QByteArray before = readAll(m_upstreamFile);
    QSignalSpy trafficChanged(m_adapter.get(), &Adapter::trafficChanged);

    Result<TrafficSplit> rejected = await<TrafficSplit>([&](auto done) {
        m_adapter->setWeights(shop, {{QStringLiteral("1.4.0"), 50}, {QStringLiteral("1.5.0"), 50}},
                              done);
    });
    QVERIFY(!rejected);
    QCOMPARE(kindName(rejected.error().kind), QStringLiteral("failed"));
    qInfo("nginx refused: %s", qPrintable(rejected.error().message));
    QVERIFY2(
        rejected.error().message.contains(QLatin1String("nginx -t failed: nginx: [emerg] "
                                                        "unknown directive \"bogus_directive\"")),
        qPrintable(rejected.error().message));
    QVERIFY(rejected.error().message.contains(QLatin1String("is back in place")));
    QCOMPARE(readAll(m_upstreamFile), before);
    QCOMPARE(trafficChanged.size(), 0);
    QCOMPARE(toString(m_adapter->connectionState()), toString(ConnectionState::Degraded));
    Result<TrafficSplit> traffic
        = await<TrafficSplit>([&](auto done) { m_adapter->traffic(shop, done); });
    QVERIFY(traffic);
    QCOMPARE(traffic.value().activeVersion, QStringLiteral("1.5.0"));
    const Tally served = runLoad(4, 100);
    QCOMPARE(served.byVersion.value("1.5.0"), 100);

    // Once the configuration is mended, changes go through again.
    QVERIFY(writeAll(config, nginxConfig(m_port, m_unreadyPort, false)));
    Result<TrafficSplit> mended = await<TrafficSplit>([&](auto done) {
        m_adapter->setWeights(shop, {{QStringLiteral("1.4.0"), 50}, {QStringLiteral("1.5.0"), 50}},
                              done);
    });
    QVERIFY2(mended, qPrintable(why(mended)));
    QCOMPARE(toString(m_adapter->connectionState()), toString(ConnectionState::Connected));
    Result<TrafficSplit> switched = await<TrafficSplit>(
        [&](auto done) { m_adapter->switchTo(shop, QStringLiteral("1.5.0"), done); });
    QVERIFY2(switched, qPrintable(why(switched)));
}

void TestNginx::scaleDownDrains()
{
    Result<Done> scaled
        = await<Done>([&](auto done) { m_adapter->scale(shop, QStringLiteral("1.4.0"), 0, done); });
    QVERIFY2(scaled, qPrintable(why(scaled)));
    const QByteArray file = readAll(m_upstreamFile);
    QVERIFY(!file.contains(m_demos[0].address.toUtf8()));
    QVERIFY(!file.contains(m_demos[1].address.toUtf8()));
    QCOMPARE(fleetDump(), QStringLiteral("A 1.4.0 draining; B 1.4.0 draining; C 1.5.0 ready; "
                                         "D 1.5.0 ready"));
    QTRY_COMPARE_WITH_TIMEOUT(fleetDump(), QStringLiteral("C 1.5.0 ready; D 1.5.0 ready"), 5000);
    Result<TrafficSplit> traffic
        = await<TrafficSplit>([&](auto done) { m_adapter->traffic(shop, done); });
    QVERIFY(traffic);
    QCOMPARE(traffic.value().weightPercent,
             (QMap<QString, double>{{QStringLiteral("1.5.0"), 100}}));
}

void TestNginx::killedServerFails()
{
    Load load(QUrl(QStringLiteral("http://127.0.0.1:%1/").arg(m_port)), 8);
    load.start();
    QTest::qWait(300);
    m_demos[3].process->kill();
    QTRY_COMPARE_WITH_TIMEOUT(fleetDump(), QStringLiteral("C 1.5.0 ready; D 1.5.0 failed"), 5000);
    QTest::qWait(300);
    load.stop();
    QTRY_VERIFY_WITH_TIMEOUT(load.idle(), 10'000);
    const Tally served = tally(load.samples());
    qInfo("while D was killed (8 clients): %s", qPrintable(describe(served)));
    // proxy_next_upstream sends what D refuses to C.
    QCOMPARE(served.non2xx, 0);
    QVERIFY(served.byVersion.value("1.5.0") > 0);
}

QTEST_MAIN(TestNginx)
#include "tst_nginx.moc"
