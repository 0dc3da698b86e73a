#pragma once

#include <QProcess>
#include <QString>
#include <QStringList>

#include <chrono>

// Real servers for integration tests: started on free loopback ports, waited for, and stopped
// by PID when the test is done, whatever happened to it.
namespace sb::test {

// A TCP port on 127.0.0.1 that nothing listens on right now.
quint16 freeLoopbackPort();

// The absolute path of a program from Debian's packages (PATH, then /usr/sbin and /sbin), or
// empty. Tests fail when it is missing: the README's test command installs them all.
QString findProgram(const QString &name);

// The demo service built beside the tests.
QString demoServiceProgram();

class ServerProcess
{
public:
    explicit ServerProcess(QString name);
    ~ServerProcess(); // SIGTERM, then SIGKILL after 5 s
    ServerProcess(const ServerProcess &) = delete;
    ServerProcess &operator=(const ServerProcess &) = delete;

    // Starts `program` with stdout and stderr merged and kept for error(). False when it
    // cannot be started.
    bool start(const QString &program, const QStringList &arguments,
               const QString &workingDirectory = {});
    // Until a TCP connection to 127.0.0.1:port succeeds; false when the process exits first or
    // the time runs out.
    bool waitForPort(quint16 port, std::chrono::milliseconds timeout = std::chrono::seconds(20));
    // Until GET http://127.0.0.1:port<path> answers 200.
    bool waitForHttp(quint16 port, const QString &path,
                     std::chrono::milliseconds timeout = std::chrono::seconds(20));

    // SIGTERM and wait up to `timeout` for the exit; true when it exited.
    bool terminate(std::chrono::milliseconds timeout = std::chrono::seconds(5));
    void kill(); // SIGKILL and wait
    bool running() const;
    qint64 pid() const;
    int exitCode() const;
    QProcess &process() { return m_process; }

    // What the process wrote so far, with its name, for a failure message.
    QString error() const;

private:
    QString m_name;
    mutable QProcess m_process;
    QString m_startError;
};

} // namespace sb::test
