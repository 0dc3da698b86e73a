#include "runtimeapi.h"

#include "timepoint.h"

#include <QLocalSocket>
#include <QPointer>
#include <QTcpSocket>

namespace sb::haproxy {

QStringList completeAnswers(const QByteArray &received)
{
    QStringList answers;
    QString current;
    qsizetype start = 0;
    for (qsizetype end = received.indexOf('\n'); end >= 0;
         start = end + 1, end = received.indexOf('\n', start)) {
        const QByteArray line = received.mid(start, end - start);
        if (line.isEmpty()) {
            answers.append(current);
            current.clear();
        } else {
            current += QString::fromUtf8(line) + QLatin1Char('\n');
        }
    }
    return answers;
}

RuntimeApi::RuntimeApi(RuntimeApiAddress address, Duration timeout, QObject *parent)
    : QObject(parent)
    , m_address(std::move(address))
    , m_timeout(timeout)
{
    m_timer.setSingleShot(true);
    connect(&m_timer, &QTimer::timeout, this, &RuntimeApi::onTimeout);
}

RuntimeApi::~RuntimeApi()
{
    if (m_socket)
        m_socket->disconnect(this);
}

void RuntimeApi::run(const QStringList &commands, Callback<QStringList> done)
{
    Q_ASSERT(!commands.isEmpty());
    m_queue.push_back(Batch{commands, std::move(done)});
    // Started from the event loop, so even a failure found at once (a missing socket file)
    // reaches the caller after run() returned.
    QMetaObject::invokeMethod(this, &RuntimeApi::startNext, Qt::QueuedConnection);
}

void RuntimeApi::startNext()
{
    if (m_busy || m_queue.empty())
        return;
    m_busy = true;
    m_current = std::move(m_queue.front());
    m_queue.pop_front();
    m_connected = false;
    m_received.clear();
    m_answers.clear();
    m_timer.start(m_timeout);
    if (m_address.kind == RuntimeApiAddress::Kind::Tcp)
        connectTcp();
    else
        connectUnix();
}

void RuntimeApi::connectTcp()
{
    auto *socket = new QTcpSocket(this);
    m_socket = socket;
    connect(socket, &QTcpSocket::connected, this, &RuntimeApi::onConnected);
    connect(socket, &QTcpSocket::readyRead, this, &RuntimeApi::onReadyRead);
    connect(socket, &QTcpSocket::disconnected, this, &RuntimeApi::onClosed);
    connect(socket, &QTcpSocket::errorOccurred, this,
            [this, socket](QAbstractSocket::SocketError error) {
                const QString where = m_address.display();
                switch (error) {
                case QAbstractSocket::RemoteHostClosedError: onClosed(); return;
                case QAbstractSocket::ConnectionRefusedError:
                    fail(Error::Kind::Unavailable,
                         QStringLiteral("nothing is listening at %1 (connection refused); is "
                                        "HAProxy running with `%2`?")
                             .arg(where, m_address.statsSocketLine()));
                    return;
                case QAbstractSocket::HostNotFoundError:
                    fail(Error::Kind::Unavailable,
                         QStringLiteral("cannot find host '%1' of the HAProxy runtime API: %2")
                             .arg(m_address.host, socket->errorString()));
                    return;
                default:
                    fail(Error::Kind::Unavailable,
                         QStringLiteral("the HAProxy runtime API at %1 failed: %2")
                             .arg(where, socket->errorString()));
                    return;
                }
            });
    socket->connectToHost(m_address.host, m_address.port);
}

void RuntimeApi::connectUnix()
{
    auto *socket = new QLocalSocket(this);
    m_socket = socket;
    connect(socket, &QLocalSocket::connected, this, &RuntimeApi::onConnected);
    connect(socket, &QLocalSocket::readyRead, this, &RuntimeApi::onReadyRead);
    connect(socket, &QLocalSocket::disconnected, this, &RuntimeApi::onClosed);
    connect(socket, &QLocalSocket::errorOccurred, this,
            [this, socket](QLocalSocket::LocalSocketError error) {
                const QString &path = m_address.path;
                switch (error) {
                case QLocalSocket::PeerClosedError: onClosed(); return;
                case QLocalSocket::ServerNotFoundError:
                    fail(Error::Kind::Unavailable,
                         QStringLiteral("the HAProxy runtime API socket %1 does not exist; is "
                                        "HAProxy running with `%2`?")
                             .arg(path, m_address.statsSocketLine()));
                    return;
                case QLocalSocket::ConnectionRefusedError:
                    fail(Error::Kind::Unavailable,
                         QStringLiteral("nothing is listening on the HAProxy runtime API socket "
                                        "%1 (connection refused); is HAProxy running with `%2`?")
                             .arg(path, m_address.statsSocketLine()));
                    return;
                case QLocalSocket::SocketAccessError:
                    fail(Error::Kind::Unavailable,
                         QStringLiteral("permission denied on the HAProxy runtime API socket %1; "
                                        "let the console's user open it (the `mode`, `user` and "
                                        "`group` of the `stats socket` line in haproxy.cfg)")
                             .arg(path));
                    return;
                default:
                    fail(Error::Kind::Unavailable,
                         QStringLiteral("the HAProxy runtime API socket %1 failed: %2")
                             .arg(path, socket->errorString()));
                    return;
                }
            });
    socket->connectToServer(m_address.path);
}

void RuntimeApi::onConnected()
{
    if (!m_busy || !m_socket)
        return;
    m_connected = true;
    m_timer.start(m_timeout);
    m_socket->write(m_current.commands.join(QLatin1Char(';')).toUtf8() + '\n');
}

void RuntimeApi::onReadyRead()
{
    if (!m_busy || !m_socket)
        return;
    m_received += m_socket->readAll();
    const QStringList answers = completeAnswers(m_received);
    if (answers.size() > m_answers.size()) {
        m_answers = answers;
        m_timer.start(m_timeout); // the next command has its own time to answer
    }
    if (m_answers.size() >= m_current.commands.size())
        finish(m_answers.mid(0, m_current.commands.size()));
}

void RuntimeApi::onClosed()
{
    if (!m_busy || !m_socket)
        return;
    // What came before the close may complete the batch, and its callback may delete us.
    const QPointer<RuntimeApi> alive(this);
    onReadyRead();
    if (!alive || !m_busy)
        return;
    if (!m_connected) {
        fail(Error::Kind::Unavailable,
             QStringLiteral("the HAProxy runtime API at %1 closed the connection at once")
                 .arg(m_address.display()));
        return;
    }
    fail(Error::Kind::Unavailable,
         QStringLiteral("HAProxy at %1 closed the runtime API connection before answering `%2`; "
                        "did it stop or restart?")
             .arg(m_address.display(), commandText(m_answers.size())));
}

void RuntimeApi::onTimeout()
{
    if (!m_busy)
        return;
    if (!m_connected)
        fail(Error::Kind::Timeout, QStringLiteral("could not connect to the HAProxy runtime API "
                                                  "at %1 within %2")
                                       .arg(m_address.display(), formatTimeout(m_timeout)));
    else
        fail(Error::Kind::Timeout, QStringLiteral("HAProxy at %1 did not answer `%2` within %3")
                                       .arg(m_address.display(), commandText(m_answers.size()),
                                            formatTimeout(m_timeout)));
}

QString RuntimeApi::commandText(qsizetype index) const
{
    return m_current.commands.value(index, m_current.commands.constLast());
}

void RuntimeApi::fail(Error::Kind kind, const QString &message)
{
    finish(Error{kind, message});
}

void RuntimeApi::finish(Result<QStringList> result)
{
    if (!m_busy)
        return;
    m_timer.stop();
    if (m_socket) {
        m_socket->disconnect(this);
        if (auto *tcp = qobject_cast<QTcpSocket *>(m_socket.data()))
            tcp->abort();
        else if (auto *local = qobject_cast<QLocalSocket *>(m_socket.data()))
            local->abort();
        m_socket->deleteLater();
        m_socket = nullptr;
    }
    Callback<QStringList> done = std::move(m_current.done);
    m_current = {};
    m_busy = false;
    QMetaObject::invokeMethod(this, &RuntimeApi::startNext, Qt::QueuedConnection);
    done(std::move(result));
}

} // namespace sb::haproxy
