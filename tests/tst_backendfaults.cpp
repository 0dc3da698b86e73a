// Backends that are down, slow, answering garbage or refusing a change: the console keeps
// turning its event loop, shows the error on the service, holds a canary that cannot be judged,
// and recovers when the backend comes back.

#include "adapterregistry.h"
#include "builtinadapters.h"
#include "canaryengine.h"
#include "clock.h"
#include "mainwindow.h"
#include "releasecontroller.h"
#include "serverprocess.h"
#include "servicelistmodel.h"
#include "workspacesession.h"

#include <QElapsedTimer>
#include <QFile>
#include <QTcpServer>
#include <QTcpSocket>
#include <QTemporaryDir>
#include <QtTest>

using namespace sb;
using namespace std::chrono_literals;

namespace {

const ServiceKey checkout{QStringLiteral("checkout"), QStringLiteral("production")};

bool writeFile(const QString &path, const QByteArray &text)
{
    QFile file(path);
    return file.open(QIODevice::WriteOnly) && file.write(text) == text.size();
}

// The longest time the event loop went without running a 5 ms timer, while it is alive.
class StallMeter : public QObject
{
public:
    StallMeter()
    {
        m_timer.setInterval(5);
        connect(&m_timer, &QTimer::timeout, this,
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

// A stand-in for Prometheus on loopback that can be down, silent, garbled or well: what a real
// one cannot be made to do on demand.
class FakePrometheus : public QObject
{
public:
    enum class Mode { Silent, Garbage, Answering };

    explicit FakePrometheus(quint16 port)
        : m_port(port)
    {
        connect(&m_server, &QTcpServer::newConnection, this, [this] {
            while (QTcpSocket *socket = m_server.nextPendingConnection()) {
                socket->setParent(this);
                connect(socket, &QTcpSocket::readyRead, socket, [this, socket] { answer(socket); });
            }
        });
    }
    bool listen() { return m_server.listen(QHostAddress::LocalHost, m_port); }
    void setMode(Mode mode) { m_mode = mode; }

private:
    void answer(QTcpSocket *socket)
    {
        m_pending[socket] += socket->readAll();
        if (!m_pending[socket].contains("\r\n\r\n") || m_mode == Mode::Silent)
            return; // a silent one holds the connection and never answers
        m_pending.remove(socket);
        QByteArray body = "this is not JSON";
        if (m_mode == Mode::Answering) {
            // Every query gets the same two series: enough for the console to have metrics.
            const QByteArray now = QByteArray::number(QDateTime::currentSecsSinceEpoch());
            body = R"({"status":"success","data":{"resultType":"vector","result":[)"
                   R"({"metric":{"version":"1.0.0"},"value":[)"
                   + now + R"(,"12"]},{"metric":{"version":"1.1.0"},"value":[)" + now
                   + R"(,"3"]}]}})";
        }
        socket->write("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
                      + QByteArray::number(body.size()) + "\r\nConnection: close\r\n\r\n" + body);
        socket->disconnectFromHost();
    }

    quint16 m_port;
    QTcpServer m_server;
    Mode m_mode = Mode::Answering;
    QHash<QTcpSocket *, QByteArray> m_pending;
};

// A simulated fleet with its metrics from "Prometheus" at `prometheusPort`, and a canary plan
// that gates its first stage on error rate.
QByteArray simulatedFleetWithPrometheus(quint16 prometheusPort)
{
    return QStringLiteral(R"(workspace: faults
environments: [production]
adapters:
  - name: sim
    type: simulator
    settings:
      defaults: {startup: 1s, startup_jitter: 0s}
      services:
        - service: checkout
          environment: production
          versions: [{version: 1.0.0, instances: 4}, {version: 1.1.0, instances: 0}]
  - name: prom
    type: prometheus
    settings:
      url: http://127.0.0.1:%1
      timeout: 1s
      retries: 0
      poll_interval: 500ms
plans:
  - name: quick
    stages:
      - {weight: 10, bake: 2s, gates: [error-rate]}
      - {weight: 100}
services:
  - name: checkout
    environment: production
    strategy: canary
    plan: quick
    adapters: {fleet: sim, traffic: sim, deploy: sim, metrics: prom}
)")
        .arg(prometheusPort)
        .toUtf8();
}

} // namespace

class TestBackendFaults : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void init();
    void cleanup();
    void prometheusDownHoldsTheCanaryAndRecovers();
    void prometheusSlowTimesOutWithoutStalling();
    void prometheusGarbageIsAnErrorNotData();
    void haproxySocketMissingIsShownOnTheService();
    void nginxConfigurationThatFailsValidationChangesNothing();

private:
    // Opens `yaml` in a main window on the real clock, as the console would.
    void openWindow(const QByteArray &yaml);
    QString problemsShown() const;
    const ServiceStatus &status(const QString &name) const;

    AdapterRegistry m_registry;
    RealClock m_clock;
    std::unique_ptr<QTemporaryDir> m_dir;
    std::unique_ptr<MainWindow> m_window;
    std::unique_ptr<StallMeter> m_stalls;
};

void TestBackendFaults::initTestCase()
{
    registerBuiltinAdapters(m_registry);
}

void TestBackendFaults::init()
{
    m_dir = std::make_unique<QTemporaryDir>();
    QVERIFY(m_dir->isValid());
}

void TestBackendFaults::cleanup()
{
    if (m_stalls)
        qInfo("longest event-loop stall: %lld ms", m_stalls->longestMs());
    m_stalls.reset();
    m_window.reset();
    m_dir.reset();
}

void TestBackendFaults::openWindow(const QByteArray &yaml)
{
    const QString path = m_dir->filePath(QStringLiteral("signalbox.yaml"));
    QVERIFY(writeFile(path, yaml));
    m_window = std::make_unique<MainWindow>(m_registry, &m_clock);
    m_window->setRemembersState(false);
    m_window->setJournalPath(m_dir->filePath(QStringLiteral("journal.sqlite")));
    const std::optional<Diagnostic> problem = m_window->openWorkspace(path);
    QVERIFY2(!problem, problem ? qPrintable(problem->toString()) : "");
    m_window->show();
    // Measured from the moment the console runs against the backends.
    m_stalls = std::make_unique<StallMeter>();
}

QString TestBackendFaults::problemsShown() const
{
    ServiceListModel *model = m_window->serviceModel();
    return model->index(0, ServiceListModel::HealthColumn).data(Qt::ToolTipRole).toString();
}

const ServiceStatus &TestBackendFaults::status(const QString &name) const
{
    for (const ServiceStatus &s : m_window->session()->snapshot().services) {
        if (s.key.name == name)
            return s;
    }
    qFatal("no service %s", qPrintable(name));
}

void TestBackendFaults::prometheusDownHoldsTheCanaryAndRecovers()
{
    const quint16 port = sb::test::freeLoopbackPort();
    openWindow(simulatedFleetWithPrometheus(port));
    QTRY_VERIFY_WITH_TIMEOUT(problemsShown().contains(QLatin1String("Metrics:")), 10'000);
    QVERIFY2(problemsShown().contains(QStringLiteral("127.0.0.1:%1").arg(port)),
             qPrintable(problemsShown()));

    // A canary started now cannot be judged: it must wait at its first stage, not advance.
    ReleaseController *releases = m_window->releases();
    QTRY_VERIFY_WITH_TIMEOUT(status(QStringLiteral("checkout")).traffic.has_value(), 10'000);
    const auto started = releases->start(checkout, QStringLiteral("1.1.0"), QString(),
                                         QStringLiteral("faults test"));
    QVERIFY2(started, started ? "" : qPrintable(started.error()));
    QTest::qWait(5000); // more than the stage's bake
    const CanaryStatus &canary = releases->release(checkout)->canary()->status;
    QCOMPARE(canary.stage, 0);
    QVERIFY(!canary.aborted);

    // Prometheus comes up: the error goes away by itself.
    FakePrometheus prometheus(port);
    QVERIFY(prometheus.listen());
    QTRY_VERIFY_WITH_TIMEOUT(status(QStringLiteral("checkout")).metricsError.isEmpty(), 10'000);
    QVERIFY(status(QStringLiteral("checkout")).metrics.has_value());
    QVERIFY2(m_stalls->longestMs() < 50, qPrintable(QString::number(m_stalls->longestMs())));
}

void TestBackendFaults::prometheusSlowTimesOutWithoutStalling()
{
    const quint16 port = sb::test::freeLoopbackPort();
    FakePrometheus prometheus(port);
    prometheus.setMode(FakePrometheus::Mode::Silent);
    QVERIFY(prometheus.listen());
    openWindow(simulatedFleetWithPrometheus(port));
    QTRY_VERIFY_WITH_TIMEOUT(problemsShown().contains(QLatin1String("Metrics:")), 10'000);
    QVERIFY2(problemsShown().contains(QLatin1String("1 s")), qPrintable(problemsShown()));
    QTest::qWait(3000); // several more timed-out polls
    prometheus.setMode(FakePrometheus::Mode::Answering);
    QTRY_VERIFY_WITH_TIMEOUT(status(QStringLiteral("checkout")).metricsError.isEmpty(), 10'000);
    QVERIFY2(m_stalls->longestMs() < 50, qPrintable(QString::number(m_stalls->longestMs())));
}

void TestBackendFaults::prometheusGarbageIsAnErrorNotData()
{
    const quint16 port = sb::test::freeLoopbackPort();
    FakePrometheus prometheus(port);
    prometheus.setMode(FakePrometheus::Mode::Garbage);
    QVERIFY(prometheus.listen());
    openWindow(simulatedFleetWithPrometheus(port));
    QTRY_VERIFY_WITH_TIMEOUT(problemsShown().contains(QLatin1String("Metrics:")), 10'000);
    QVERIFY2(problemsShown().contains(QLatin1String("JSON")), qPrintable(problemsShown()));
    QVERIFY(!status(QStringLiteral("checkout")).metrics.has_value());
    prometheus.setMode(FakePrometheus::Mode::Answering);
    QTRY_VERIFY_WITH_TIMEOUT(status(QStringLiteral("checkout")).metricsError.isEmpty(), 10'000);
    QVERIFY2(m_stalls->longestMs() < 50, qPrintable(QString::number(m_stalls->longestMs())));
}

void TestBackendFaults::haproxySocketMissingIsShownOnTheService()
{
    const QString socket = m_dir->filePath(QStringLiteral("admin.sock"));
    openWindow(QStringLiteral(R"(workspace: faults
environments: [production]
adapters:
  - name: lb
    type: haproxy
    settings:
      runtime_api: %1
      poll_interval: 300ms
      services:
        - service: checkout
          environment: production
          backend: checkout
          versions: {"1.0.0": [blue1]}
services:
  - {name: checkout, environment: production, adapter: lb}
)")
                   .arg(socket)
                   .toUtf8());
    QTRY_VERIFY_WITH_TIMEOUT(problemsShown().contains(QLatin1String("Fleet:")), 10'000);
    QVERIFY2(problemsShown().contains(socket), qPrintable(problemsShown()));
    QTest::qWait(1000);
    QVERIFY2(m_stalls->longestMs() < 50, qPrintable(QString::number(m_stalls->longestMs())));

    // HAProxy starts with that socket: the console picks it up without being asked.
    const quint16 backendPort = sb::test::freeLoopbackPort();
    const QString config = m_dir->filePath(QStringLiteral("haproxy.cfg"));
    QVERIFY(writeFile(config, QStringLiteral("global\n"
                                             "    stats socket %1 level admin\n"
                                             "defaults\n"
                                             "    mode http\n"
                                             "    timeout connect 1s\n"
                                             "    timeout client 5s\n"
                                             "    timeout server 5s\n"
                                             "backend checkout\n"
                                             "    server blue1 127.0.0.1:%2\n")
                                  .arg(socket)
                                  .arg(backendPort)
                                  .toUtf8()));
    sb::test::ServerProcess haproxy(QStringLiteral("haproxy"));
    QVERIFY2(haproxy.start(sb::test::findProgram(QStringLiteral("haproxy")),
                           {QStringLiteral("-db"), QStringLiteral("-f"), config}),
             qPrintable(haproxy.error()));
    QTRY_VERIFY_WITH_TIMEOUT(status(QStringLiteral("checkout")).fleetError.isEmpty(), 10'000);
    QVERIFY(status(QStringLiteral("checkout")).fleet.has_value());
}

void TestBackendFaults::nginxConfigurationThatFailsValidationChangesNothing()
{
    // nginx's own validation fails on the main configuration, whatever the upstream says.
    const QString prefix = m_dir->path();
    QVERIFY(QDir(prefix).mkpath(QStringLiteral("upstreams")));
    const QByteArray upstream = "upstream checkout {\n    server 127.0.0.1:9 weight=1;\n}\n";
    QVERIFY(writeFile(prefix + QStringLiteral("/upstreams/checkout.conf"), upstream));
    QVERIFY(writeFile(prefix + QStringLiteral("/nginx.conf"),
                      QStringLiteral("pid %1/nginx.pid;\n"
                                     "events {}\n"
                                     "http {\n"
                                     "    include upstreams/checkout.conf;\n"
                                     "    this_is_not_a_directive on;\n"
                                     "}\n")
                          .arg(prefix)
                          .toUtf8()));
    openWindow(QStringLiteral(R"(workspace: faults
environments: [production]
adapters:
  - name: edge
    type: nginx
    settings:
      program: %1
      config: %2/nginx.conf
      prefix: %2
      health_interval: 300ms
      services:
        - service: checkout
          environment: production
          upstream: checkout
          file: %2/upstreams/checkout.conf
          health_path: /ready
          versions:
            "1.0.0": ["127.0.0.1:9"]
            "1.1.0": ["127.0.0.1:10"]
services:
  - {name: checkout, environment: production, adapter: edge}
)")
                   .arg(sb::test::findProgram(QStringLiteral("nginx")), prefix)
                   .toUtf8());
    TrafficRouter *router
        = m_window->session()->adapterFor(checkout, Capability::Traffic)->trafficRouter();
    std::optional<Result<TrafficSplit>> answer;
    router->switchTo(checkout, QStringLiteral("1.0.0"),
                     [&answer](Result<TrafficSplit> result) { answer = std::move(result); });
    QTRY_VERIFY_WITH_TIMEOUT(answer.has_value(), 15'000);
    QVERIFY(!answer->ok());
    QVERIFY2(answer->error().message.contains(QLatin1String("this_is_not_a_directive")),
             qPrintable(answer->error().message));
    QFile file(prefix + QStringLiteral("/upstreams/checkout.conf"));
    QVERIFY(file.open(QIODevice::ReadOnly));
    QCOMPARE(file.readAll(), upstream);
    QVERIFY2(m_stalls->longestMs() < 50, qPrintable(QString::number(m_stalls->longestMs())));
}

QTEST_MAIN(TestBackendFaults)
#include "tst_backendfaults.moc"
