#include "adapterregistry.h"
#include "clock.h"
#include "haproxy/haproxyadapter.h"
#include "haproxy/haproxysettings.h"
#include "haproxy/serverstate.h"
#include "serverprocess.h"

#include <QElapsedTimer>
#include <QNetworkAccessManager>
#include <QNetworkReply>
#include <QSignalSpy>
#include <QTcpServer>
#include <QTcpSocket>
#include <QTemporaryDir>
#include <QtTest>

#include <yaml-cpp/yaml.h>

#include <map>
#include <memory>

using namespace sb;
using namespace sb::haproxy;
using sb::test::ServerProcess;

namespace {

const ServiceKey shop{QStringLiteral("shop"), QStringLiteral("production")};
const QString blue = QStringLiteral("1.4.0");
const QString green = QStringLiteral("1.5.0");

// Waits for an adapter verb's answer, and turns an answer given inside the call (rather than
// later, from the event loop) into a failure.
template <typename T>
Result<T> await(const std::function<void(Callback<T>)> &call, int timeoutMs = 10'000)
{
    struct Answer {
        std::optional<Result<T>> result;
        bool inCall = true;
        bool answeredInCall = false;
    };
    auto answer = std::make_shared<Answer>();
    call([answer](Result<T> result) {
        answer->answeredInCall |= answer->inCall;
        answer->result = std::move(result);
    });
    answer->inCall = false;
    if (!QTest::qWaitFor([&] { return answer->result.has_value(); }, timeoutMs))
        return Error{Error::Kind::Timeout, QStringLiteral("no answer within %1 ms").arg(timeoutMs)};
    if (answer->answeredInCall)
        return Error{Error::Kind::Failed, QStringLiteral("answered inside the call")};
    return *answer->result;
}

QString fleetText(const Result<FleetSnapshot> &fleet)
{
    if (!fleet)
        return QStringLiteral("error: ") + fleet.error().message;
    QStringList parts;
    for (const Instance &instance : fleet.value().instances)
        parts.append(instance.id + QLatin1Char(' ') + instance.version + QLatin1Char(' ')
                     + toString(instance.state));
    return parts.join(QStringLiteral(", "));
}

QString fleetText(HaproxyAdapter &adapter)
{
    return fleetText(await<FleetSnapshot>([&](auto done) { adapter.fleet(shop, done); }));
}

QString splitText(const TrafficSplit &split)
{
    QStringList parts;
    for (auto it = split.weightPercent.cbegin(); it != split.weightPercent.cend(); ++it)
        parts.append(it.key() + QLatin1Char('=') + QString::number(it.value(), 'f', 1));
    if (!split.activeVersion.isEmpty())
        parts.append(QStringLiteral("active ") + split.activeVersion);
    return parts.join(QStringLiteral(" "));
}

QString trafficText(HaproxyAdapter &adapter)
{
    const Result<TrafficSplit> split
        = await<TrafficSplit>([&](auto done) { adapter.traffic(shop, done); });
    return split ? splitText(split.value()) : QStringLiteral("error: ") + split.error().message;
}

// For a failure message: evaluated whether or not the result is an error.
template <typename T>
QString errorOf(const Result<T> &result)
{
    return result ? QString() : result.error().message;
}

QString resultText(const Result<Done> &result)
{
    return result ? QStringLiteral("done") : result.error().message;
}

// A workspace with the shop bound to the adapter `lb`, and a cart bound elsewhere.
Workspace workspace(Strategy strategy)
{
    Workspace workspace;
    workspace.file = QStringLiteral("/tmp/signalbox.yaml");
    workspace.environments = {QStringLiteral("production")};
    ServiceSpec service;
    service.key = shop;
    service.strategy = strategy;
    for (Capability capability : {Capability::Fleet, Capability::Traffic, Capability::Deploy})
        service.bindings.insert(capability, QStringLiteral("lb"));
    workspace.services.append(service);
    ServiceSpec cart;
    cart.key = ServiceKey{QStringLiteral("cart"), QStringLiteral("production")};
    cart.bindings.insert(Capability::Fleet, QStringLiteral("sim"));
    workspace.services.append(cart);
    return workspace;
}

AdapterSpec adapterSpec(const QString &settings)
{
    AdapterSpec spec;
    spec.name = QStringLiteral("lb");
    spec.type = QStringLiteral("haproxy");
    spec.file = QStringLiteral("/tmp/signalbox.yaml");
    spec.settings = YAML::Load(settings.toStdString());
    return spec;
}

QString settingsText(const QString &runtimeApi, const QString &extraServer = {},
                     const QString &startTimeout = QStringLiteral("30s"))
{
    return QStringLiteral("runtime_api: %1\n"
                          "timeout: 2s\n"
                          "poll_interval: 200ms\n"
                          "start_timeout: %3\n"
                          "services:\n"
                          "  - service: shop\n"
                          "    environment: production\n"
                          "    backend: shop\n"
                          "    versions:\n"
                          "      \"1.4.0\": [blue1, blue2]\n"
                          "      \"1.5.0\": [green1, green2%2]\n")
        .arg(runtimeApi, extraServer.isEmpty() ? QString() : QStringLiteral(", ") + extraServer,
             startTimeout);
}

// A synchronous runtime API call for the test's own checks and changes behind the adapter.
QString adminCommand(quint16 port, const QString &command)
{
    QTcpSocket socket;
    socket.connectToHost(QHostAddress::LocalHost, port);
    if (!socket.waitForConnected(2000))
        return QStringLiteral("cannot connect: ") + socket.errorString();
    socket.write(command.toUtf8() + '\n');
    QByteArray answer;
    while (socket.waitForReadyRead(2000))
        answer += socket.readAll();
    return QString::fromUtf8(answer + socket.readAll()).trimmed();
}

// The `show servers state` line of one server, as "admin=N weight=N".
QString serverAdmin(quint16 port, const QString &server)
{
    const QStringList lines
        = adminCommand(port, QStringLiteral("show servers state shop")).split(QLatin1Char('\n'));
    for (const QString &line : lines) {
        const QStringList fields = line.split(QLatin1Char(' '));
        if (fields.size() > 7 && fields[3] == server)
            return QStringLiteral("admin=%1 weight=%2").arg(fields[6], fields[7]);
    }
    return QStringLiteral("no server ") + server;
}

// HAProxy in front of four demo service processes: blue1 and blue2 run 1.4.0 and take traffic,
// green1 and green2 run 1.5.0 and start in maintenance.
struct Stack {
    QTemporaryDir dir;
    std::map<QString, std::unique_ptr<ServerProcess>> services;
    std::map<QString, quint16> servicePorts;
    std::unique_ptr<ServerProcess> haproxy;
    quint16 frontendPort = 0;
    quint16 apiPort = 0;
    quint16 operatorPort = 0;
    QString socketPath;
    QString failure;

    QString configPath() const { return dir.filePath(QStringLiteral("haproxy.cfg")); }

    bool startService(const QString &instance, const QString &version, const QString &latency)
    {
        const quint16 port = sb::test::freeLoopbackPort();
        auto process = std::make_unique<ServerProcess>(instance);
        QStringList arguments = {QStringLiteral("--service"),     QStringLiteral("shop"),
                                 QStringLiteral("--version"),     version,
                                 QStringLiteral("--port"),        QString::number(port),
                                 QStringLiteral("--instance"),    instance,
                                 QStringLiteral("--drain-delay"), QStringLiteral("0s")};
        if (!latency.isEmpty())
            arguments << QStringLiteral("--latency") << latency;
        if (!process->start(sb::test::demoServiceProgram(), arguments)
            || !process->waitForHttp(port, QStringLiteral("/ready"))) {
            failure = process->error();
            return false;
        }
        servicePorts[instance] = port;
        services[instance] = std::move(process);
        return true;
    }

    bool startHaproxy()
    {
        haproxy = std::make_unique<ServerProcess>(QStringLiteral("haproxy"));
        if (!haproxy->start(sb::test::findProgram(QStringLiteral("haproxy")),
                            {QStringLiteral("-db"), QStringLiteral("-f"), configPath()})
            || !haproxy->waitForPort(frontendPort) || !haproxy->waitForPort(apiPort)) {
            failure = haproxy->error();
            return false;
        }
        return true;
    }

    // `blueLatency` slows blue's answers to / so requests stay open while it drains.
    bool start(const QString &blueLatency = {})
    {
        if (!dir.isValid()) {
            failure = QStringLiteral("no temporary directory");
            return false;
        }
        for (const auto &[instance, version] :
             {std::pair{QStringLiteral("blue1"), blue}, std::pair{QStringLiteral("blue2"), blue},
              std::pair{QStringLiteral("green1"), green},
              std::pair{QStringLiteral("green2"), green}}) {
            if (!startService(instance, version, version == blue ? blueLatency : QString()))
                return false;
        }
        frontendPort = sb::test::freeLoopbackPort();
        apiPort = sb::test::freeLoopbackPort();
        operatorPort = sb::test::freeLoopbackPort();
        socketPath = dir.filePath(QStringLiteral("admin.sock"));
        QString config = QStringLiteral("global\n"
                                        "    stats socket ipv4@127.0.0.1:%1 level admin\n"
                                        "    stats socket %2 level admin\n"
                                        "    stats socket ipv4@127.0.0.1:%3 level operator\n"
                                        "defaults\n"
                                        "    mode http\n"
                                        "    timeout connect 1s\n"
                                        "    timeout client 10s\n"
                                        "    timeout server 10s\n"
                                        "    timeout check 2s\n"
                                        "frontend web\n"
                                        "    bind 127.0.0.1:%4\n"
                                        "    default_backend shop\n"
                                        "backend shop\n"
                                        "    balance roundrobin\n"
                                        "    option httpchk GET /ready\n"
                                        "    default-server inter 200ms fall 2 rise 1\n")
                             .arg(apiPort)
                             .arg(socketPath)
                             .arg(operatorPort)
                             .arg(frontendPort);
        for (const QString &instance : {QStringLiteral("blue1"), QStringLiteral("blue2"),
                                        QStringLiteral("green1"), QStringLiteral("green2")}) {
            config += QStringLiteral("    server %1 127.0.0.1:%2 check%3\n")
                          .arg(instance)
                          .arg(servicePorts[instance])
                          .arg(instance.startsWith(QLatin1String("green"))
                                   ? QStringLiteral(" disabled")
                                   : QString());
        }
        QFile file(configPath());
        if (!file.open(QIODevice::WriteOnly) || file.write(config.toUtf8()) < 0) {
            failure = QStringLiteral("cannot write ") + configPath();
            return false;
        }
        file.close();
        return startHaproxy();
    }

    QUrl frontend() const { return QUrl(QStringLiteral("http://127.0.0.1:%1/").arg(frontendPort)); }
};

// Requests through the frontend from `concurrency` loops at once, recording each answer's
// version and when it was asked, until stopped.
class Load : public QObject
{
public:
    Load(QUrl url, int concurrency)
        : m_url(std::move(url))
        , m_concurrency(concurrency)
    {
        // Qt opens at most six connections per host and manager; several managers give the
        // concurrency asked for.
        for (int i = 0; i < (concurrency + 5) / 6; ++i)
            m_managers.push_back(std::make_unique<QNetworkAccessManager>());
        m_clock.start();
    }

    struct Outcome {
        qint64 askedAtMs = 0;
        QString version;
        QString error; // empty when 200
    };

    void start()
    {
        m_running = true;
        for (int i = 0; i < m_concurrency; ++i)
            ask(i);
    }
    void stop() { m_running = false; }
    bool idle() const { return m_inFlight == 0; }
    qint64 nowMs() const { return m_clock.elapsed(); }
    const QList<Outcome> &outcomes() const { return m_outcomes; }

    // Sends `count` requests, `concurrency` at a time, and waits for every answer.
    static QList<Outcome> run(const QUrl &url, int count, int concurrency)
    {
        Load load(url, concurrency);
        load.m_remaining = count;
        load.start();
        if (!QTest::qWaitFor([&] { return load.m_outcomes.size() >= count && load.idle(); },
                             30'000))
            qWarning("only %lld of %d requests were answered", qint64(load.m_outcomes.size()),
                     count);
        return load.m_outcomes;
    }

private:
    void ask(int loop)
    {
        if (!m_running || m_remaining == 0)
            return;
        if (m_remaining > 0)
            --m_remaining;
        QNetworkRequest request(m_url);
        request.setAttribute(QNetworkRequest::Http2AllowedAttribute, false);
        request.setTransferTimeout(15'000);
        const qint64 askedAt = m_clock.elapsed();
        QNetworkReply *reply = m_managers[size_t(loop) % m_managers.size()]->get(request);
        ++m_inFlight;
        QObject::connect(reply, &QNetworkReply::finished, this, [this, reply, loop, askedAt] {
            --m_inFlight;
            Outcome outcome;
            outcome.askedAtMs = askedAt;
            outcome.version = QString::fromUtf8(reply->rawHeader("X-Version"));
            const int status = reply->attribute(QNetworkRequest::HttpStatusCodeAttribute).toInt();
            if (reply->error() != QNetworkReply::NoError || status != 200)
                outcome.error = QStringLiteral("HTTP %1 %2").arg(status).arg(reply->errorString());
            m_outcomes.append(outcome);
            reply->deleteLater();
            ask(loop);
        });
    }

    QUrl m_url;
    int m_concurrency;
    std::vector<std::unique_ptr<QNetworkAccessManager>> m_managers;
    QElapsedTimer m_clock;
    QList<Outcome> m_outcomes;
    bool m_running = false;
    int m_inFlight = 0;
    int m_remaining = -1; // unlimited
};

QString failures(const QList<Load::Outcome> &outcomes)
{
    QStringList errors;
    for (const Load::Outcome &outcome : outcomes) {
        if (!outcome.error.isEmpty())
            errors.append(outcome.error);
    }
    return errors.join(QStringLiteral("; ")).left(500);
}

} // namespace

class TestHaproxy : public QObject
{
    Q_OBJECT

private:
    std::unique_ptr<HaproxyAdapter> makeAdapter(const QString &settings,
                                                Strategy strategy = Strategy::BlueGreen)
    {
        m_workspace = workspace(strategy);
        const AdapterContext context{&m_clock, &m_workspace};
        std::unique_ptr<Adapter> adapter
            = HaproxyAdapter::adapterType().create(adapterSpec(settings), context);
        return std::unique_ptr<HaproxyAdapter>(static_cast<HaproxyAdapter *>(adapter.release()));
    }

    RealClock m_clock;
    Workspace m_workspace;

private Q_SLOTS:
    void initTestCase()
    {
        if (sb::test::findProgram(QStringLiteral("haproxy")).isEmpty())
            QFAIL("haproxy is not installed (Debian package haproxy); the README's test command "
                  "installs it");
        if (!QFileInfo(sb::test::demoServiceProgram()).isExecutable())
            QFAIL(qPrintable(QStringLiteral("the demo service %1 is not built")
                                 .arg(sb::test::demoServiceProgram())));
    }

    void adapterType()
    {
        const AdapterType type = HaproxyAdapter::adapterType();
        QCOMPARE(type.type, QStringLiteral("haproxy"));
        QVERIFY(!type.simulated);
        QStringList capabilities;
        for (Capability capability : type.capabilities)
            capabilities.append(toString(capability));
        QCOMPARE(capabilities.join(QLatin1Char(' ')), QStringLiteral("fleet traffic deploy"));
    }

    void settingsErrors_data()
    {
        QTest::addColumn<QString>("settings");
        QTest::addColumn<QString>("message");

        const QString services = QStringLiteral("services:\n"
                                                "  - service: shop\n"
                                                "    environment: production\n"
                                                "    backend: shop\n"
                                                "    versions:\n"
                                                "      \"1.4.0\": [blue1, blue2]\n");
        QTest::newRow("runtime_api missing")
            << services
            << "/tmp/signalbox.yaml:1:1: settings of haproxy 'lb' is missing required key "
               "'runtime_api'";
        QTest::newRow("runtime_api neither")
            << QStringLiteral("runtime_api: localhost\n") + services
            << "/tmp/signalbox.yaml:1:14: runtime_api: 'localhost' is neither host:port nor a "
               "socket path; write host:port for `stats socket ipv4@host:port`, or the absolute "
               "path of a Unix socket";
        QTest::newRow("port out of range")
            << QStringLiteral("runtime_api: 127.0.0.1:70000\n") + services
            << "/tmp/signalbox.yaml:1:14: runtime_api: the port in '127.0.0.1:70000' must be a "
               "number from 1 to 65535";
        QTest::newRow("misspelt key")
            << QStringLiteral("runtime_api: /run/haproxy.sock\npoll_intervall: 1s\n") + services
            << "/tmp/signalbox.yaml:2:1: unknown key 'poll_intervall' in settings of haproxy "
               "'lb'; did you mean 'poll_interval'?";
        QTest::newRow("unknown service")
            << QStringLiteral("runtime_api: /run/haproxy.sock\n"
                              "services:\n"
                              "  - service: shopp\n"
                              "    environment: production\n"
                              "    backend: shop\n"
                              "    versions: {\"1.4.0\": [blue1]}\n")
            << "/tmp/signalbox.yaml:3:14: haproxy 'lb' settings name service 'shopp' in "
               "production, which the workspace does not define; did you mean 'shop'?";
        QTest::newRow("service bound elsewhere")
            << QStringLiteral("runtime_api: /run/haproxy.sock\n") + services
                   + QStringLiteral("  - service: cart\n"
                                    "    environment: production\n"
                                    "    backend: cart\n"
                                    "    versions: {\"2.0.0\": [c1]}\n")
            << "/tmp/signalbox.yaml:8:14: service 'cart' (production) is not bound to haproxy "
               "'lb'; bind it under the service's adapters or remove these settings";
        QTest::newRow("bound service not listed")
            << QStringLiteral("runtime_api: /run/haproxy.sock\nservices: []\n")
            << "/tmp/signalbox.yaml:2:11: service 'shop/production' is bound to haproxy 'lb' "
               "but not listed under its services; add it with its backend and versions";
        QTest::newRow("server in two versions")
            << QStringLiteral("runtime_api: 127.0.0.1:9999\n") + services
                   + QStringLiteral("      \"1.5.0\": [green1, blue2]\n")
            << "/tmp/signalbox.yaml:8:25: server 'blue2' is listed for both version '1.4.0' and "
               "'1.5.0'; a server runs one version";
        QTest::newRow("server name with a space")
            << QStringLiteral("runtime_api: 127.0.0.1:9999\n"
                              "services:\n"
                              "  - service: shop\n"
                              "    environment: production\n"
                              "    backend: shop\n"
                              "    versions:\n"
                              "      \"1.4.0\": [blue1, \"blue 2;shutdown sessions\"]\n")
            << "/tmp/signalbox.yaml:7:24: server 'blue 2;shutdown sessions' of version '1.4.0' "
               "is not a valid HAProxy server name: use letters, digits, '-', '_', '.' and ':' "
               "as in haproxy.cfg";
        QTest::newRow("versions missing")
            << QStringLiteral("runtime_api: 127.0.0.1:9999\n"
                              "services:\n"
                              "  - service: shop\n"
                              "    environment: production\n"
                              "    backend: shop\n")
            << "/tmp/signalbox.yaml:3:5: service 'shop/production' needs versions: which servers "
               "of backend shop run which version, like \"1.4.0\": [blue1, blue2]";
        QTest::newRow("version without servers")
            << QStringLiteral("runtime_api: 127.0.0.1:9999\n") + services
                   + QStringLiteral("      \"1.5.0\": []\n")
            << "/tmp/signalbox.yaml:8:16: version '1.5.0' of 'shop/production' must list its "
               "servers in backend shop, like [green1, green2]";
        QTest::newRow("timeout not a duration")
            << QStringLiteral("runtime_api: 127.0.0.1:9999\ntimeout: soon\n") + services
            << "/tmp/signalbox.yaml:2:10: timeout must be a duration such as 250ms, 30s, 2m, "
               "1h30m or a number of seconds, got 'soon'";
    }

    void settingsErrors()
    {
        QFETCH(QString, settings);
        QFETCH(QString, message);
        m_workspace = workspace(Strategy::BlueGreen);
        try {
            parseHaproxySettings(adapterSpec(settings), m_workspace);
            QFAIL("the settings were accepted");
        } catch (const DiagnosticError &error) {
            QCOMPARE(error.diagnostic().toString(), message);
        }
    }

    void settingsRead()
    {
        m_workspace = workspace(Strategy::Rolling);
        const HaproxySettings settings = parseHaproxySettings(
            adapterSpec(settingsText(QStringLiteral("unix@/run/haproxy/admin.sock"))), m_workspace);
        QCOMPARE(settings.runtimeApi.path, QStringLiteral("/run/haproxy/admin.sock"));
        QCOMPARE(settings.timeout, Duration(2000));
        QCOMPARE(settings.pollInterval, Duration(200));
        QCOMPARE(settings.startTimeout, Duration(30000));
        QCOMPARE(settings.services.size(), 1);
        const ServiceSettings &service = settings.services.first();
        QCOMPARE(service.backend, QStringLiteral("shop"));
        QCOMPARE(service.versionNames(), (QStringList{blue, green}));
        QCOMPARE(service.find(green)->servers,
                 (QStringList{QStringLiteral("green1"), QStringLiteral("green2")}));
        QVERIFY(!service.routerSetsWeights);
    }

    void runtimeApiAddresses_data()
    {
        QTest::addColumn<QString>("text");
        QTest::addColumn<QString>("display"); // or the error
        QTest::newRow("host:port") << "127.0.0.1:9999"
                                   << "127.0.0.1:9999";
        QTest::newRow("haproxy's form") << "ipv4@127.0.0.1:9999"
                                        << "127.0.0.1:9999";
        QTest::newRow("ipv6") << "[::1]:9999"
                              << "[::1]:9999";
        QTest::newRow("unix") << "/run/haproxy/admin.sock"
                              << "/run/haproxy/admin.sock";
        QTest::newRow("no port") << "127.0.0.1:"
                                 << "the port in '127.0.0.1:' must be a number from 1 to 65535";
        QTest::newRow("relative path")
            << "admin.sock"
            << "'admin.sock' is neither host:port nor a socket path; write host:port for `stats "
               "socket ipv4@host:port`, or the absolute path of a Unix socket";
    }

    void runtimeApiAddresses()
    {
        QFETCH(QString, text);
        QFETCH(QString, display);
        const Result<RuntimeApiAddress, QString> address = parseRuntimeApiAddress(text);
        QCOMPARE(address ? address.value().display() : address.error(), display);
    }

    void weightsForSplits_data()
    {
        QTest::addColumn<QString>("split");
        QTest::addColumn<QString>("weights");
        QTest::newRow("10/90") << "a=10 b=90"
                               << "a1=10 a2=10 b1=90 b2=90";
        QTest::newRow("thirds") << "a=33.3 b=66.7"
                                << "a1=67 b1=67 b2=66";
        QTest::newRow("a sliver keeps a unit") << "a=0.1 b=99.9"
                                               << "a1=1 a2=0 b1=100 b2=99";
        QTest::newRow("all to one") << "a=100 b=0"
                                    << "a1=100 a2=100 b1=0 b2=0";
    }

    void weightsForSplits()
    {
        QFETCH(QString, split);
        QFETCH(QString, weights);
        QMap<QString, double> percent;
        for (const QString &part : split.split(QLatin1Char(' ')))
            percent.insert(part.section(QLatin1Char('='), 0, 0),
                           part.section(QLatin1Char('='), 1).toDouble());
        QMap<QString, QStringList> serving{
            {QStringLiteral("a"), {QStringLiteral("a1"), QStringLiteral("a2")}},
            {QStringLiteral("b"), {QStringLiteral("b1"), QStringLiteral("b2")}}};
        if (split.startsWith(QLatin1String("a=33")))
            serving[QStringLiteral("a")] = {QStringLiteral("a1")};
        const QHash<QString, int> result = weightsForSplit(percent, serving);
        QStringList parts;
        int total = 0;
        for (const char *server : {"a1", "a2", "b1", "b2"}) {
            if (result.contains(server)) {
                parts.append(QStringLiteral("%1=%2").arg(server).arg(result.value(server)));
                total += result.value(server);
            }
        }
        QCOMPARE(parts.join(QLatin1Char(' ')), weights);
        QCOMPARE(total, weightTotal);
    }

    void unexpectedAnswer()
    {
        const Result<BackendStates> states
            = parseServerStates(QStringLiteral("Unknown command, but maybe one of the following "
                                               "ones is a better match:\n  help\n"),
                                QString());
        QVERIFY(!states);
        QVERIFY(states.error().kind == Error::Kind::Failed);
        QCOMPARE(states.error().message,
                 QStringLiteral("HAProxy answered `show servers state` with \"Unknown command, "
                                "but maybe one of the following ones is a better match:\" instead "
                                "of the table expected; is this HAProxy 2.x with a stats socket "
                                "at level admin?"));
    }

    // Ready, draining, failed after SIGKILL, maintenance hidden; changes announced only when
    // something changed.
    void fleetStates()
    {
        Stack stack;
        QVERIFY2(stack.start(), qPrintable(stack.failure));
        const TimePoint before = m_clock.now();
        auto adapter = makeAdapter(settingsText(QStringLiteral("127.0.0.1:%1").arg(stack.apiPort)));
        QSignalSpy connection(adapter.get(), &Adapter::connectionStateChanged);
        adapter->start();
        QCOMPARE(toString(adapter->connectionState()), QStringLiteral("connecting"));

        QTRY_COMPARE(fleetText(*adapter), QStringLiteral("blue1 1.4.0 ready, blue2 1.4.0 ready"));
        QCOMPARE(toString(adapter->connectionState()), QStringLiteral("connected"));
        QCOMPARE(
            adapter->connectionDetail(),
            QStringLiteral("HAProxy at 127.0.0.1:%1, watching backend shop").arg(stack.apiPort));
        QCOMPARE(trafficText(*adapter), QStringLiteral("1.4.0=100.0 active 1.4.0"));
        const Result<FleetSnapshot> fleet
            = await<FleetSnapshot>([&](auto done) { adapter->fleet(shop, done); });
        QVERIFY(fleet);
        QCOMPARE(fleet.value().service, shop);
        for (const Instance &instance : fleet.value().instances) {
            QVERIFY(instance.since >= before);
            QVERIFY(instance.since <= m_clock.now());
        }

        // Nothing changes: several polls go by without an announcement.
        QSignalSpy fleetChanges(adapter.get(), &Adapter::fleetChanged);
        QSignalSpy trafficChanges(adapter.get(), &Adapter::trafficChanged);
        // What each announcement showed, for the failure message.
        QStringList announced;
        connect(adapter.get(), &Adapter::fleetChanged, this, [&] {
            adapter->fleet(shop, [&](const Result<FleetSnapshot> &fleet) {
                announced.append(fleetText(fleet));
            });
        });
        QTest::qWait(700);
        QVERIFY2(fleetChanges.count() == 0, qPrintable(announced.join(QStringLiteral(" | "))));
        QCOMPARE(trafficChanges.count(), 0);

        // Drained behind the adapter's back: draining, and no longer counted in the split.
        QCOMPARE(adminCommand(stack.apiPort, QStringLiteral("set server shop/blue2 state drain")),
                 QString());
        QTRY_COMPARE(fleetText(*adapter),
                     QStringLiteral("blue1 1.4.0 ready, blue2 1.4.0 draining"));
        QVERIFY(fleetChanges.count() >= 1);
        QCOMPARE(fleetChanges.first().first().value<ServiceKey>(), shop);
        QCOMPARE(trafficText(*adapter), QStringLiteral("1.4.0=100.0 active 1.4.0"));

        // A process killed outright fails its checks.
        stack.services.at(QStringLiteral("blue1"))->kill();
        QTRY_COMPARE(fleetText(*adapter),
                     QStringLiteral("blue1 1.4.0 failed, blue2 1.4.0 draining"));

        // Into maintenance: out of the fleet.
        QCOMPARE(adminCommand(stack.apiPort, QStringLiteral("set server shop/blue2 state maint")),
                 QString());
        QTRY_COMPARE(fleetText(*adapter), QStringLiteral("blue1 1.4.0 failed"));
        QCOMPARE(toString(adapter->connectionState()), QStringLiteral("connected"));
        QVERIFY(connection.count() >= 1);
    }

    // setWeights 10/90: HAProxy then sends about that share of requests to each version.
    void weightsSplitRequests()
    {
        Stack stack;
        QVERIFY2(stack.start(), qPrintable(stack.failure));
        auto adapter = makeAdapter(settingsText(QStringLiteral("127.0.0.1:%1").arg(stack.apiPort)),
                                   Strategy::Canary);
        adapter->start();
        QTRY_COMPARE(fleetText(*adapter), QStringLiteral("blue1 1.4.0 ready, blue2 1.4.0 ready"));

        // No server of 1.5.0 is in the pool yet.
        const QMap<QString, double> tenNinety{{blue, 90.0}, {green, 10.0}};
        Result<TrafficSplit> split
            = await<TrafficSplit>([&](auto done) { adapter->setWeights(shop, tenNinety, done); });
        QVERIFY(!split);
        QVERIFY(split.error().kind == Error::Kind::Invalid);
        QCOMPARE(split.error().message,
                 QStringLiteral("version 1.5.0 of shop/production has no server taking requests "
                                "in backend shop (green1, green2 are in maintenance or "
                                "draining), so it cannot take 10 % of the traffic; scale it "
                                "first"));
        split = await<TrafficSplit>([&](auto done) {
            adapter->setWeights(shop, {{blue, 60.0}, {green, 30.0}}, done);
        });
        QCOMPARE(errorOf(split),
                 QStringLiteral("the weights asked for shop/production add up to 90 %, not 100"));

        QCOMPARE(resultText(await<Done>([&](auto done) { adapter->scale(shop, green, 2, done); })),
                 QStringLiteral("done"));
        // Admitted with no share: the router has not asked for any.
        QCOMPARE(trafficText(*adapter), QStringLiteral("1.4.0=100.0 1.5.0=0.0 active 1.4.0"));
        QCOMPARE(serverAdmin(stack.apiPort, QStringLiteral("green1")),
                 QStringLiteral("admin=4 weight=0"));
        QTRY_COMPARE(fleetText(*adapter),
                     QStringLiteral("blue1 1.4.0 ready, blue2 1.4.0 ready, green1 1.5.0 ready, "
                                    "green2 1.5.0 ready"));

        QSignalSpy trafficChanges(adapter.get(), &Adapter::trafficChanged);
        split = await<TrafficSplit>([&](auto done) { adapter->setWeights(shop, tenNinety, done); });
        QVERIFY2(split, qPrintable(errorOf(split)));
        QCOMPARE(splitText(split.value()), QStringLiteral("1.4.0=90.0 1.5.0=10.0"));
        QCOMPARE(trafficChanges.count(), 1);
        QCOMPARE(serverAdmin(stack.apiPort, QStringLiteral("blue1")),
                 QStringLiteral("admin=0 weight=90"));
        QCOMPARE(serverAdmin(stack.apiPort, QStringLiteral("green2")),
                 QStringLiteral("admin=4 weight=10"));

        const QList<Load::Outcome> outcomes = Load::run(stack.frontend(), 400, 8);
        QCOMPARE(outcomes.size(), 400);
        QCOMPARE(failures(outcomes), QString());
        int greenAnswers = 0;
        for (const Load::Outcome &outcome : outcomes)
            greenAnswers += outcome.version == green ? 1 : 0;
        QVERIFY2(greenAnswers >= 24 && greenAnswers <= 56,
                 qPrintable(QStringLiteral("%1 of 400 answers came from 1.5.0").arg(greenAnswers)));
    }

    // switchTo under load: no request fails, and the new version answers right after.
    void switchUnderLoad()
    {
        Stack stack;
        QVERIFY2(stack.start(), qPrintable(stack.failure));
        auto adapter = makeAdapter(settingsText(QStringLiteral("127.0.0.1:%1").arg(stack.apiPort)));
        adapter->start();
        QCOMPARE(resultText(await<Done>([&](auto done) { adapter->scale(shop, green, 2, done); })),
                 QStringLiteral("done"));
        QTRY_COMPARE(fleetText(*adapter),
                     QStringLiteral("blue1 1.4.0 ready, blue2 1.4.0 ready, green1 1.5.0 ready, "
                                    "green2 1.5.0 ready"));

        Load load(stack.frontend(), 16);
        load.start();
        QTest::qWait(400);
        const Result<TrafficSplit> split
            = await<TrafficSplit>([&](auto done) { adapter->switchTo(shop, green, done); });
        const qint64 switchedAt = load.nowMs();
        QVERIFY2(split, qPrintable(errorOf(split)));
        QCOMPARE(splitText(split.value()), QStringLiteral("1.4.0=0.0 1.5.0=100.0 active 1.5.0"));
        QTest::qWait(600);
        load.stop();
        QTRY_VERIFY(load.idle());

        const QList<Load::Outcome> &outcomes = load.outcomes();
        QCOMPARE(failures(outcomes), QString());
        int before = 0, after = 0, blueAfter = 0;
        for (const Load::Outcome &outcome : outcomes) {
            if (outcome.askedAtMs < switchedAt) {
                ++before;
            } else {
                ++after;
                blueAfter += outcome.version == blue ? 1 : 0;
            }
        }
        QVERIFY2(
            before > 50 && after > 50,
            qPrintable(
                QStringLiteral("%1 requests before the switch, %2 after").arg(before).arg(after)));
        QCOMPARE(blueAfter, 0);
    }

    // scale: too many refused; up with no share; down drains, then maintenance once the
    // sessions are over.
    void scaleUpAndDown()
    {
        Stack stack;
        QVERIFY2(stack.start(QStringLiteral("1500ms")), qPrintable(stack.failure));
        auto adapter = makeAdapter(settingsText(QStringLiteral("127.0.0.1:%1").arg(stack.apiPort)));
        adapter->start();

        Result<Done> result = await<Done>([&](auto done) { adapter->scale(shop, green, 3, done); });
        QVERIFY(!result && result.error().kind == Error::Kind::Failed);
        QCOMPARE(resultText(result),
                 QStringLiteral("backend shop has 2 servers for 1.5.0 (green1, green2); add "
                                "server lines to haproxy.cfg and list them under versions, or "
                                "ask for fewer"));
        QCOMPARE(resultText(await<Done>([&](auto done) { adapter->scale(shop, green, 1, done); })),
                 QStringLiteral("done"));
        QTRY_COMPARE(fleetText(*adapter),
                     QStringLiteral("blue1 1.4.0 ready, blue2 1.4.0 ready, green1 1.5.0 ready"));
        QCOMPARE(serverAdmin(stack.apiPort, QStringLiteral("green2")),
                 QStringLiteral("admin=5 weight=1"));

        // Requests held open on blue (it answers after 1.5 s) while it is scaled away.
        Load slow(stack.frontend(), 4);
        QSignalSpy fleetChanges(adapter.get(), &Adapter::fleetChanged);
        slow.start();
        slow.stop(); // just these four
        QTest::qWait(200);
        const Result<TrafficSplit> split
            = await<TrafficSplit>([&](auto done) { adapter->switchTo(shop, green, done); });
        QVERIFY2(split, qPrintable(errorOf(split)));
        QCOMPARE(resultText(await<Done>([&](auto done) { adapter->scale(shop, blue, 0, done); })),
                 QStringLiteral("done"));
        QCOMPARE(fleetText(*adapter),
                 QStringLiteral("blue1 1.4.0 draining, blue2 1.4.0 draining, green1 1.5.0 ready"));
        QCOMPARE(trafficText(*adapter), QStringLiteral("1.4.0=0.0 1.5.0=100.0 active 1.5.0"));
        QTest::qWait(600);
        QCOMPARE(fleetText(*adapter),
                 QStringLiteral("blue1 1.4.0 draining, blue2 1.4.0 draining, green1 1.5.0 ready"));
        QTRY_COMPARE(fleetText(*adapter), QStringLiteral("green1 1.5.0 ready"));
        QCOMPARE(serverAdmin(stack.apiPort, QStringLiteral("blue1")),
                 QStringLiteral("admin=1 weight=0"));
        QTRY_VERIFY(slow.idle());
        QCOMPARE(slow.outcomes().size(), 4);
        QCOMPARE(failures(slow.outcomes()), QString());
        QVERIFY(fleetChanges.count() >= 2);

        // Back up again: in the pool, with no share until the router gives it one.
        QCOMPARE(resultText(await<Done>([&](auto done) { adapter->scale(shop, blue, 1, done); })),
                 QStringLiteral("done"));
        QTRY_COMPARE(fleetText(*adapter), QStringLiteral("blue1 1.4.0 ready, green1 1.5.0 ready"));
        QCOMPARE(trafficText(*adapter), QStringLiteral("1.4.0=0.0 1.5.0=100.0 active 1.5.0"));
        QCOMPARE(resultText(await<Done>([&](auto done) { adapter->scale(shop, green, 0, done); })),
                 QStringLiteral("done"));
        QTRY_COMPARE(fleetText(*adapter), QStringLiteral("blue1 1.4.0 ready"));
    }

    // The same through a Unix socket, for a rolling service: scaled servers join the pool at
    // their configured weight. A socket without admin level surfaces HAProxy's refusal.
    void unixSocket()
    {
        Stack stack;
        QVERIFY2(stack.start(), qPrintable(stack.failure));
        auto adapter = makeAdapter(settingsText(stack.socketPath), Strategy::Rolling);
        adapter->start();
        QTRY_COMPARE(fleetText(*adapter), QStringLiteral("blue1 1.4.0 ready, blue2 1.4.0 ready"));
        QCOMPARE(adapter->connectionDetail(),
                 QStringLiteral("HAProxy at %1, watching backend shop").arg(stack.socketPath));
        QCOMPARE(resultText(await<Done>([&](auto done) { adapter->scale(shop, green, 1, done); })),
                 QStringLiteral("done"));
        QCOMPARE(trafficText(*adapter), QStringLiteral("1.4.0=66.7 1.5.0=33.3"));
        QCOMPARE(resultText(await<Done>([&](auto done) { adapter->scale(shop, blue, 1, done); })),
                 QStringLiteral("done"));
        QCOMPARE(trafficText(*adapter), QStringLiteral("1.4.0=50.0 1.5.0=50.0"));
        QTRY_COMPARE(fleetText(*adapter), QStringLiteral("blue1 1.4.0 ready, green1 1.5.0 ready"));

        auto operatorAdapter
            = makeAdapter(settingsText(QStringLiteral("127.0.0.1:%1").arg(stack.operatorPort)));
        operatorAdapter->start();
        const Result<TrafficSplit> split
            = await<TrafficSplit>([&](auto done) { operatorAdapter->switchTo(shop, blue, done); });
        QVERIFY(!split);
        QVERIFY(split.error().kind == Error::Kind::Failed);
        QCOMPARE(split.error().message,
                 QStringLiteral("HAProxy refused `set weight shop/blue1 200`: Permission denied; "
                                "the stats socket needs `level admin` in haproxy.cfg"));
    }

    // A server brought in whose process is gone: starting while it may still be booting, then
    // failed.
    void startTimeout()
    {
        Stack stack;
        QVERIFY2(stack.start(), qPrintable(stack.failure));
        stack.services.at(QStringLiteral("green2"))->kill();
        auto adapter = makeAdapter(
            settingsText(QStringLiteral("127.0.0.1:%1").arg(stack.apiPort), {}, "1500ms"));
        adapter->start();
        QCOMPARE(resultText(await<Done>([&](auto done) { adapter->scale(shop, green, 2, done); })),
                 QStringLiteral("done"));
        QTRY_COMPARE(fleetText(*adapter),
                     QStringLiteral("blue1 1.4.0 ready, blue2 1.4.0 ready, green1 1.5.0 ready, "
                                    "green2 1.5.0 starting"));
        QTRY_COMPARE(fleetText(*adapter),
                     QStringLiteral("blue1 1.4.0 ready, blue2 1.4.0 ready, green1 1.5.0 ready, "
                                    "green2 1.5.0 failed"));
    }

    void serverMissingFromBackend()
    {
        Stack stack;
        QVERIFY2(stack.start(), qPrintable(stack.failure));
        auto adapter = makeAdapter(settingsText(QStringLiteral("127.0.0.1:%1").arg(stack.apiPort),
                                                QStringLiteral("green3")));
        adapter->start();
        QCOMPARE(fleetText(*adapter),
                 QStringLiteral("error: backend shop has no server green3 (version 1.5.0), listed "
                                "for shop/production in the settings of haproxy 'lb'; add it to "
                                "the backend in haproxy.cfg or remove it from versions"));
        QCOMPARE(toString(adapter->connectionState()), QStringLiteral("degraded"));
        const Result<Done> result
            = await<Done>([&](auto done) { adapter->scale(shop, green, 1, done); });
        QVERIFY(!result && result.error().kind == Error::Kind::Invalid);
    }

    // Requests that make no sense are refused before anything is sent.
    void verbsRefuseWhatIsNotConfigured()
    {
        QTemporaryDir dir;
        auto adapter = makeAdapter(settingsText(dir.filePath(QStringLiteral("admin.sock"))));
        const ServiceKey cart{QStringLiteral("cart"), QStringLiteral("production")};
        const Result<FleetSnapshot> fleet
            = await<FleetSnapshot>([&](auto done) { adapter->fleet(cart, done); });
        QCOMPARE(errorOf(fleet),
                 QStringLiteral("haproxy 'lb' does not serve cart/production; list it under the "
                                "adapter's services with its backend and versions"));
        Result<TrafficSplit> split = await<TrafficSplit>([&](auto done) {
            adapter->setWeights(shop, {{blue, 50.0}, {"2.0.0", 50.0}}, done);
        });
        QCOMPARE(errorOf(split),
                 QStringLiteral("version '2.0.0' of shop/production has no servers in the "
                                "settings of haproxy 'lb' (it knows 1.4.0, 1.5.0); list its "
                                "servers under versions"));
        QVERIFY(split.error().kind == Error::Kind::Invalid);
        split = await<TrafficSplit>([&](auto done) { adapter->switchTo(shop, "2.0.0", done); });
        QCOMPARE(errorOf(split),
                 QStringLiteral("cannot switch shop/production to version '2.0.0': it has no "
                                "servers in the settings of haproxy 'lb' (it knows 1.4.0, "
                                "1.5.0)"));
        const Result<Done> scaled
            = await<Done>([&](auto done) { adapter->scale(shop, green, -1, done); });
        QCOMPARE(resultText(scaled),
                 QStringLiteral("cannot scale shop/production 1.5.0 to -1 instances"));
        QVERIFY(scaled.error().kind == Error::Kind::Invalid);
    }

    void socketMissing()
    {
        QTemporaryDir dir;
        const QString path = dir.filePath(QStringLiteral("admin.sock"));
        auto adapter = makeAdapter(settingsText(path));
        adapter->start();
        const QString expected
            = QStringLiteral("the HAProxy runtime API socket %1 does not exist; is HAProxy "
                             "running with `stats socket %1 level admin`?")
                  .arg(path);
        QCOMPARE(fleetText(*adapter), QStringLiteral("error: ") + expected);
        QCOMPARE(trafficText(*adapter), QStringLiteral("error: ") + expected);
        QCOMPARE(toString(adapter->connectionState()), QStringLiteral("disconnected"));
        QCOMPARE(adapter->connectionDetail(), expected);
    }

    void nothingListening()
    {
        const quint16 port = sb::test::freeLoopbackPort();
        auto adapter = makeAdapter(settingsText(QStringLiteral("127.0.0.1:%1").arg(port)));
        adapter->start();
        const Result<TrafficSplit> split
            = await<TrafficSplit>([&](auto done) { adapter->switchTo(shop, green, done); });
        QVERIFY(!split);
        QVERIFY(split.error().kind == Error::Kind::Unavailable);
        QCOMPARE(split.error().message,
                 QStringLiteral("nothing is listening at 127.0.0.1:%1 (connection refused); is "
                                "HAProxy running with `stats socket ipv4@127.0.0.1:%1 level "
                                "admin`?")
                     .arg(port));
        QCOMPARE(toString(adapter->connectionState()), QStringLiteral("disconnected"));
    }

    void silentSocketTimesOut()
    {
        QTcpServer silent;
        QVERIFY(silent.listen(QHostAddress::LocalHost));
        auto adapter = makeAdapter(
            QStringLiteral("runtime_api: 127.0.0.1:%1\ntimeout: 300ms\nservices:\n"
                           "  - {service: shop, environment: production, backend: shop, "
                           "versions: {\"1.4.0\": [blue1]}}\n")
                .arg(silent.serverPort()));
        adapter->start();
        QElapsedTimer elapsed;
        elapsed.start();
        const Result<FleetSnapshot> fleet
            = await<FleetSnapshot>([&](auto done) { adapter->fleet(shop, done); });
        QVERIFY(!fleet);
        QVERIFY(fleet.error().kind == Error::Kind::Timeout);
        QCOMPARE(fleet.error().message,
                 QStringLiteral("HAProxy at 127.0.0.1:%1 did not answer `show servers state` "
                                "within 300 ms")
                     .arg(silent.serverPort()));
        QVERIFY(elapsed.elapsed() < 2000);
    }

    // HAProxy killed mid-run: the adapter says so, then recovers once it is back.
    void haproxyRestart()
    {
        Stack stack;
        QVERIFY2(stack.start(), qPrintable(stack.failure));
        auto adapter = makeAdapter(settingsText(QStringLiteral("127.0.0.1:%1").arg(stack.apiPort)));
        QSignalSpy connection(adapter.get(), &Adapter::connectionStateChanged);
        adapter->start();
        QTRY_COMPARE(fleetText(*adapter), QStringLiteral("blue1 1.4.0 ready, blue2 1.4.0 ready"));
        QCOMPARE(toString(adapter->connectionState()), QStringLiteral("connected"));

        QSignalSpy fleetChanges(adapter.get(), &Adapter::fleetChanged);
        stack.haproxy->kill();
        QTRY_COMPARE(toString(adapter->connectionState()), QStringLiteral("disconnected"));
        QVERIFY2(adapter->connectionDetail().contains(QLatin1String("connection refused"))
                     || adapter->connectionDetail().contains(QLatin1String("closed")),
                 qPrintable(adapter->connectionDetail()));
        QVERIFY(fleetChanges.count() >= 1);
        QVERIFY(fleetText(*adapter).startsWith(QLatin1String("error: ")));

        QVERIFY2(stack.startHaproxy(), qPrintable(stack.failure));
        QTRY_COMPARE(fleetText(*adapter), QStringLiteral("blue1 1.4.0 ready, blue2 1.4.0 ready"));
        QCOMPARE(toString(adapter->connectionState()), QStringLiteral("connected"));
        // The detail may change within a state; the states follow each other like this.
        QStringList states;
        for (const QList<QVariant> &change : connection) {
            const QString state = toString(change.first().value<ConnectionState>());
            if (states.isEmpty() || states.constLast() != state)
                states.append(state);
        }
        QCOMPARE(states.join(QLatin1Char(' ')),
                 QStringLiteral("connecting connected disconnected connected"));
    }
};

QTEST_MAIN(TestHaproxy)
#include "tst_haproxy.moc"
