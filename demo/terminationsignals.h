#pragma once

#include <QObject>

class QSocketNotifier;

namespace sb::demo {

// SIGTERM and SIGINT delivered as a Qt signal on the event loop. The handler itself only
// writes the signal number to one end of a socket pair (the only safe thing it can do); a
// QSocketNotifier on the other end reads it. One instance per process.
class TerminationSignals : public QObject
{
    Q_OBJECT
public:
    explicit TerminationSignals(QObject *parent = nullptr);
    ~TerminationSignals() override;

    // False, with errorString(), when the socket pair or the handlers cannot be set up.
    bool install();
    QString errorString() const { return m_error; }

signals:
    void received(int signalNumber);

private:
    void readSignal();

    QSocketNotifier *m_notifier = nullptr;
    QString m_error;
};

// "SIGTERM", "SIGINT", or the number.
QString signalName(int signalNumber);

} // namespace sb::demo
