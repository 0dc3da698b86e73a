// The local-stack example as a new user runs it: examples/local-stack/stack starts real HAProxy
// (then nginx), Prometheus and demo services on loopback, and Signalbox drives real releases
// through the workspace the script writes.

#include "adapterregistry.h"
#include "builtinadapters.h"
#include "clock.h"
#include "loadgenerator.h"
#include "releasecontroller.h"
#include "serverprocess.h"
#include "workspacesession.h"

#include <QProcess>
#include <QRandomGenerator>
#include <QTcpServer>
#include <QTemporaryDir>
#include <QtTest>

using namespace sb;
using namespace std::chrono_literals;

namespace {

const ServiceKey shop{QStringLiteral("shop"), QStringLiteral("local")};
const ServiceKey searchService{QStringLiteral("search"), QStringLiteral("local")};

// The offsets the script puts its ports at, from its base port.
constexpr int portOffsets[] = {80, 180, 999, 90, 101, 102, 111, 112, 201, 202, 211, 212};

bool portsFree(int base)
{
    for (int offset : portOffsets) {
        QTcpServer probe;
        if (!probe.listen(QHostAddress::LocalHost, quint16(base + offset)))
            return false;
    }
    return true;
}

// The command lines of running processes that mention `text`: what `stack stop` must leave none of.
QStringList processesMentioning(const QString &text)
{
    QStringList found;
    const QStringList pids = QDir(QStringLiteral("/proc")).entryList(QDir::Dirs);
    for (const QString &pid : pids) {
        QFile cmdline(QStringLiteral("/proc/%1/cmdline").arg(pid));
        if (!pid.front().isDigit() || pid.toLongLong() == QCoreApplication::applicationPid()
            || !cmdline.open(QIODevice::ReadOnly))
            continue;
        const QString command = QString::fromLocal8Bit(cmdline.readAll()).replace(QChar(0), u' ');
        if (command.contains(text))
            found.append(command.trimmed());
    }
    return found;
}

} // namespace

class TestLocalStack : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void canaryOnHaproxyIsAbortedByItsGateOnPrometheusData();
    void blueGreenSwitchOnHaproxyFailsNoRequest();
    void blueGreenSwitchOnNginxAnswersEveryRequest();
    void cleanupTestCase();

private:
    // Runs the example script with `arguments`, as a user would from the source tree.
    void runStack(const QStringList &arguments);
    void openWorkspace();
    void closeWorkspace();
    // Starts a blue-green release of search and waits for the router to serve the new colour,
    // with 20 connections of load running through the balancer throughout.
    void switchSearchUnderLoad(sb::test::LoadGenerator::Counts *counts);

    QTemporaryDir m_state;
    int m_base = 0;
    RealClock m_clock;
    AdapterRegistry m_registry;
    std::unique_ptr<WorkspaceSession> m_session;
    std::unique_ptr<ReleaseController> m_controller;
};

void TestLocalStack::initTestCase()
{
    QVERIFY(m_state.isValid());
    registerBuiltinAdapters(m_registry);
    for (int attempt = 0; attempt < 50 && !m_base; ++attempt) {
        const int base = 20000 + 1000 * QRandomGenerator::global()->bounded(30);
        if (portsFree(base))
            m_base = base;
    }
    QVERIFY2(m_base, "no free range of ports on 127.0.0.1 for the local stack");
    runStack({QStringLiteral("start"), QStringLiteral("--bad-canary")});
    if (!QTest::currentTestFailed())
        openWorkspace();
}

void TestLocalStack::runStack(const QStringList &arguments)
{
    QProcess stack;
    stack.setProcessChannelMode(QProcess::MergedChannels);
    QProcessEnvironment environment = QProcessEnvironment::systemEnvironment();
    environment.insert(QStringLiteral("SIGNALBOX_STACK_DIR"), m_state.path());
    environment.insert(QStringLiteral("SIGNALBOX_STACK_PORT"), QString::number(m_base));
    environment.insert(QStringLiteral("SIGNALBOX_BUILD_DIR"), QStringLiteral(SIGNALBOX_BUILD_DIR));
    stack.setProcessEnvironment(environment);
    stack.start(QStringLiteral(SIGNALBOX_SOURCE_DIR "/examples/local-stack/stack"), arguments);
    QVERIFY2(stack.waitForFinished(300'000), "the stack script did not finish within 5 minutes");
    if (stack.exitStatus() != QProcess::NormalExit || stack.exitCode() != 0) {
        // The end of what it said, where the reason is: QTest cuts long messages short.
        const QStringList output = QString::fromLocal8Bit(stack.readAll()).split(QLatin1Char('\n'));
        qWarning().noquote() << output.mid(std::max<qsizetype>(0, output.size() - 30)).join(u'\n');
        QFAIL(qPrintable(QStringLiteral("stack %1 failed").arg(arguments.join(QLatin1Char(' ')))));
    }
}

void TestLocalStack::openWorkspace()
{
    auto opened = WorkspaceSession::open(m_state.filePath(QStringLiteral("workspace.yaml")),
                                         m_registry, &m_clock);
    QVERIFY2(opened, opened ? "" : qPrintable(opened.error().toString()));
    m_session = std::move(opened).value();
    m_controller = std::make_unique<ReleaseController>(m_session.get(), QStringLiteral("tester"));
    m_session->start();
    // Both services observed: a fleet, a traffic split serving one version, and metrics.
    auto observedReady = [this](const ServiceKey &key) {
        for (const ServiceStatus &status : m_session->snapshot().services) {
            if (status.key == key)
                return status.fleet && status.traffic && !status.traffic->activeVersion.isEmpty()
                       && status.metrics;
        }
        return false;
    };
    QTRY_VERIFY_WITH_TIMEOUT(observedReady(shop) && observedReady(searchService), 30'000);
}

void TestLocalStack::closeWorkspace()
{
    m_controller.reset();
    m_session.reset();
}

void TestLocalStack::canaryOnHaproxyIsAbortedByItsGateOnPrometheusData()
{
    // The script started shop's 2.0.0 answering 20 % errors (--bad-canary).
    const auto started = m_controller->start(shop, QStringLiteral("2.0.0"), QStringLiteral("local"),
                                             QStringLiteral("local stack test"));
    QVERIFY2(started, started ? "" : qPrintable(started.error()));
    auto status = [this] { return m_controller->release(shop)->canary()->status; };
    QTRY_VERIFY_WITH_TIMEOUT(status().aborted, 120'000);
    QVERIFY2(status().abortReason.contains(QLatin1String("error")),
             qPrintable(status().abortReason));
    // All traffic back on 1.0.0 at the balancer, and the canary's server drained.
    auto trafficBack = [this] {
        for (const ServiceStatus &s : m_session->snapshot().services) {
            if (s.key == shop)
                return s.traffic && s.traffic->activeVersion == QLatin1String("1.0.0");
        }
        return false;
    };
    QTRY_VERIFY_WITH_TIMEOUT(trafficBack(), 30'000);
    QTRY_VERIFY_WITH_TIMEOUT(status().endedAt.has_value(), 60'000);
}

void TestLocalStack::switchSearchUnderLoad(sb::test::LoadGenerator::Counts *counts)
{
    const int frontEnd = m_base + 180;
    sb::test::LoadGenerator load(QUrl(QStringLiteral("http://127.0.0.1:%1/").arg(frontEnd)), 20);
    load.setPause(10ms);
    load.start();
    QTest::qWait(1000);
    const auto started = m_controller->start(searchService, QStringLiteral("3.2.0"), QString(),
                                             QStringLiteral("local stack test"));
    QVERIFY2(started, started ? "" : qPrintable(started.error()));
    auto switched = [this] {
        const auto *run = m_controller->release(searchService)->blueGreen();
        return run && run->status.switchedAt.has_value();
    };
    QTRY_VERIFY_WITH_TIMEOUT(switched(), 60'000);
    // Keep the load on past the switch, then let what is in flight finish.
    QTest::qWait(2000);
    load.stop();
    QTRY_VERIFY_WITH_TIMEOUT(load.idle(), 10'000);
    for (const QString &failure : load.failureSamples())
        qWarning("failed request: %s", qPrintable(failure));
    *counts = load.counts();
}

void TestLocalStack::blueGreenSwitchOnHaproxyFailsNoRequest()
{
    sb::test::LoadGenerator::Counts counts;
    switchSearchUnderLoad(&counts);
    if (QTest::currentTestFailed())
        return;
    qInfo("haproxy switch: %lld requests, %lld failed, %lld from 3.2.0", counts.total(),
          counts.failed(), counts.okByVersion.value(QStringLiteral("3.2.0")));
    QVERIFY(counts.total() > 100);
    QCOMPARE(counts.failed(), 0);
    QVERIFY(counts.okByVersion.value(QStringLiteral("3.2.0")) > 0);
}

void TestLocalStack::blueGreenSwitchOnNginxAnswersEveryRequest()
{
    closeWorkspace();
    runStack({QStringLiteral("stop")});
    QTRY_COMPARE(processesMentioning(m_state.path()), QStringList());
    runStack({QStringLiteral("start"), QStringLiteral("--nginx")});
    if (QTest::currentTestFailed())
        return;
    openWorkspace();
    sb::test::LoadGenerator::Counts counts;
    switchSearchUnderLoad(&counts);
    if (QTest::currentTestFailed())
        return;
    qInfo("nginx switch: %lld requests, %lld non-2xx, %lld resets, %lld other failures, %lld "
          "from 3.2.0",
          counts.total(), counts.non2xx, counts.resets,
          counts.failed() - counts.non2xx - counts.resets,
          counts.okByVersion.value(QStringLiteral("3.2.0")));
    QVERIFY(counts.total() > 100);
    // nginx's reload may close idle keep-alive connections under the client (counted as
    // resets, see docs/adapters/nginx.md); an answer other than 2xx is never acceptable.
    QCOMPARE(counts.non2xx, 0);
    QVERIFY(counts.okByVersion.value(QStringLiteral("3.2.0")) > 0);
}

void TestLocalStack::cleanupTestCase()
{
    closeWorkspace();
    if (m_base) {
        runStack({QStringLiteral("stop")});
        // nginx renames its processes; the script must still find and stop them.
        QTRY_COMPARE(processesMentioning(m_state.path()), QStringList());
    }
}

QTEST_GUILESS_MAIN(TestLocalStack)
#include "tst_localstack.moc"
