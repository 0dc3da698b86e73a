#include "serverprocess.h"

#include <QCoreApplication>
#include <QDeadlineTimer>
#include <QElapsedTimer>
#include <QFileInfo>
#include <QStandardPaths>
#include <QTcpServer>
#include <QTcpSocket>
#include <QThread>

#include <csignal>

namespace sb::test {

quint16 freeLoopbackPort()
{
    QTcpServer probe;
    if (!probe.listen(QHostAddress::LocalHost, 0))
        return 0;
    return probe.serverPort();
}

QString findProgram(const QString &name)
{
    QString path = QStandardPaths::findExecutable(name);
    if (path.isEmpty())
        path = QStandardPaths::findExecutable(
            name,
            {QStringLiteral("/usr/sbin"), QStringLiteral("/sbin"), QStringLiteral("/usr/bin")});
    return path;
}

QString demoServiceProgram()
{
    return QStringLiteral(SIGNALBOX_DEMO_SERVICE);
}

ServerProcess::ServerProcess(QString name)
    : m_name(std::move(name))
{
    m_process.setProcessChannelMode(QProcess::MergedChannels);
}

ServerProcess::~ServerProcess()
{
    if (running() && !terminate())
        kill();
}

bool ServerProcess::start(const QString &program, const QStringList &arguments,
                          const QString &workingDirectory)
{
    if (program.isEmpty()) {
        m_startError = QStringLiteral("the program is not installed; run the README's test "
                                      "command, which installs it");
        return false;
    }
    m_process.setProgram(program);
    m_process.setArguments(arguments);
    if (!workingDirectory.isEmpty())
        m_process.setWorkingDirectory(workingDirectory);
    m_process.start();
    if (!m_process.waitForStarted(10'000)) {
        m_startError = m_process.errorString();
        return false;
    }
    return true;
}

bool ServerProcess::waitForPort(quint16 port, std::chrono::milliseconds timeout)
{
    QDeadlineTimer deadline(timeout);
    while (!deadline.hasExpired()) {
        if (!running())
            return false;
        QTcpSocket socket;
        socket.connectToHost(QHostAddress::LocalHost, port);
        if (socket.waitForConnected(200))
            return true;
        QCoreApplication::processEvents();
        QThread::msleep(20);
    }
    return false;
}

bool ServerProcess::waitForHttp(quint16 port, const QString &path,
                                std::chrono::milliseconds timeout)
{
    QDeadlineTimer deadline(timeout);
    const QByteArray request
        = "GET " + path.toUtf8() + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
    while (!deadline.hasExpired()) {
        if (!running())
            return false;
        QTcpSocket socket;
        socket.connectToHost(QHostAddress::LocalHost, port);
        if (socket.waitForConnected(200)) {
            socket.write(request);
            QByteArray answer;
            while (socket.waitForReadyRead(1000))
                answer += socket.readAll();
            answer += socket.readAll();
            if (answer.startsWith("HTTP/1.1 200") || answer.startsWith("HTTP/1.0 200"))
                return true;
        }
        QCoreApplication::processEvents();
        QThread::msleep(50);
    }
    return false;
}

bool ServerProcess::terminate(std::chrono::milliseconds timeout)
{
    if (!running())
        return true;
    ::kill(pid_t(m_process.processId()), SIGTERM);
    return m_process.waitForFinished(int(timeout.count()));
}

void ServerProcess::kill()
{
    if (!running())
        return;
    ::kill(pid_t(m_process.processId()), SIGKILL);
    m_process.waitForFinished(5000);
}

bool ServerProcess::running() const
{
    return m_process.state() != QProcess::NotRunning;
}

qint64 ServerProcess::pid() const
{
    return m_process.processId();
}

int ServerProcess::exitCode() const
{
    return m_process.exitCode();
}

QString ServerProcess::error() const
{
    QString text = QStringLiteral("%1 (%2): ").arg(m_name, m_process.program());
    if (!m_startError.isEmpty())
        text += m_startError + QLatin1Char('\n');
    if (!running())
        text += QStringLiteral("exited with code %1\n").arg(m_process.exitCode());
    text += QString::fromLocal8Bit(m_process.readAll());
    return text;
}

} // namespace sb::test
