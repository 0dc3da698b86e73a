#pragma once

#include "http/httpclient.h"

#include <QMap>
#include <QObject>
#include <QString>
#include <QUrl>

#include <chrono>
#include <optional>

namespace sb::test {

// A bounded load through a balancer, as the figures of a release are measured under: a fixed
// number of connections, each sending its next request as soon as the last is answered (after an
// optional pause), never retrying, and every answer counted by what it was.
class LoadGenerator : public QObject
{
    Q_OBJECT
public:
    using SteadyTime = std::chrono::steady_clock::time_point;

    struct Counts {
        qint64 ok = 0;     // 2xx
        qint64 non2xx = 0; // an answer, but not a 2xx one
        qint64 resets = 0; // the connection closed or reset before a whole answer
        qint64 refused = 0;
        qint64 timeouts = 0;
        qint64 other = 0;
        QMap<QString, qint64> okByVersion; // by the X-Version header of 2xx answers

        qint64 failed() const { return non2xx + resets + refused + timeouts + other; }
        qint64 total() const { return ok + failed(); }
    };

    LoadGenerator(QUrl url, int connections, QObject *parent = nullptr);

    // Each connection waits this long between an answer and its next request.
    void setPause(std::chrono::milliseconds pause) { m_pause = pause; }
    void setTimeout(std::chrono::milliseconds timeout) { m_timeout = timeout; }

    void start();
    // No new requests; those in flight are still counted when they finish.
    void stop();
    bool idle() const { return m_inFlight == 0; }

    const Counts &counts() const { return m_counts; }
    void resetCounts()
    {
        m_counts = {};
        m_firstAnswer.clear();
        m_failureSamples.clear();
    }
    // Forget when `version` first answered, to time its next first answer.
    void resetCountsOf(const QString &version) { m_firstAnswer.remove(version); }
    // When the first 2xx answer from `version` arrived, if one has since the counts were reset.
    std::optional<SteadyTime> firstAnswerFrom(const QString &version) const;
    // The first few failures, as the client described them, for a test's failure message.
    const QStringList &failureSamples() const { return m_failureSamples; }

Q_SIGNALS:
    void answered();

private:
    void sendNext();
    void count(const Result<http::Response, http::HttpError> &result);

    http::HttpClient m_client;
    QUrl m_url;
    int m_connections;
    std::chrono::milliseconds m_pause{0};
    std::chrono::milliseconds m_timeout{5000};
    bool m_running = false;
    int m_inFlight = 0;
    Counts m_counts;
    QMap<QString, SteadyTime> m_firstAnswer;
    QStringList m_failureSamples;
};

} // namespace sb::test
