#pragma once

#include "haproxysettings.h"
#include "result.h"
#include "timepoint.h"

#include <QObject>
#include <QPointer>
#include <QStringList>
#include <QTimer>

#include <deque>

class QIODevice;

namespace sb::haproxy {

// A client of HAProxy's runtime API (the stats socket) in its non-interactive mode: each batch
// of commands goes out as one line, "cmd1;cmd2\n", on a connection of its own, and HAProxy
// answers each command in turn, ending every answer with an empty line, then closes. Batches
// run one at a time in the order they were asked for, so the answers of one never mix with
// another's. Everything is asynchronous; callbacks come from the event loop.
class RuntimeApi : public QObject
{
    Q_OBJECT
public:
    // `timeout` is allowed for connecting and again for each command's answer.
    RuntimeApi(RuntimeApiAddress address, Duration timeout, QObject *parent = nullptr);
    ~RuntimeApi() override;

    // Answers each command's output, in order: what HAProxy said, an error answer such as
    // "No such server." included, for the caller to judge. Fails (Unavailable or Timeout) when
    // the socket could not be reached or did not answer every command.
    void run(const QStringList &commands, Callback<QStringList> done);

private:
    struct Batch {
        QStringList commands;
        Callback<QStringList> done;
    };

    void startNext();
    void connectTcp();
    void connectUnix();
    void onConnected();
    void onReadyRead();
    void onClosed();
    void onTimeout();
    void fail(Error::Kind kind, const QString &message);
    void finish(Result<QStringList> result);
    QString commandText(qsizetype index) const;

    RuntimeApiAddress m_address;
    Duration m_timeout;
    std::deque<Batch> m_queue;
    bool m_busy = false;
    Batch m_current;
    QPointer<QIODevice> m_socket;
    bool m_connected = false;
    QByteArray m_received;
    QStringList m_answers;
    QTimer m_timer;
};

// Splits what the runtime API sent into complete answers, each ended by an empty line; an
// unfinished last answer is left out.
QStringList completeAnswers(const QByteArray &received);

} // namespace sb::haproxy
