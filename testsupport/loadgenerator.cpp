#include "loadgenerator.h"

#include <QTimer>

namespace sb::test {

namespace {
constexpr int maxFailureSamples = 5;
}

LoadGenerator::LoadGenerator(QUrl url, int connections, QObject *parent)
    : QObject(parent)
    , m_url(std::move(url))
    , m_connections(connections)
{}

void LoadGenerator::start()
{
    if (m_running)
        return;
    m_running = true;
    for (int i = 0; i < m_connections; ++i)
        sendNext();
}

void LoadGenerator::stop()
{
    m_running = false;
}

std::optional<LoadGenerator::SteadyTime>
LoadGenerator::firstAnswerFrom(const QString &version) const
{
    if (auto it = m_firstAnswer.constFind(version); it != m_firstAnswer.cend())
        return *it;
    return std::nullopt;
}

void LoadGenerator::sendNext()
{
    if (!m_running)
        return;
    http::Request request;
    request.url = m_url;
    request.timeout = m_timeout;
    request.retries = 0; // a retry would hide exactly the failures this counts
    ++m_inFlight;
    m_client.send(QStringLiteral("the balancer"), request,
                  [this](Result<http::Response, http::HttpError> result) {
                      --m_inFlight;
                      count(result);
                      Q_EMIT answered();
                      if (m_pause.count() > 0)
                          QTimer::singleShot(m_pause, this, [this] { sendNext(); });
                      else
                          sendNext();
                  });
}

void LoadGenerator::count(const Result<http::Response, http::HttpError> &result)
{
    if (result) {
        ++m_counts.ok;
        const QString version = QString::fromLatin1(result.value().header("x-version"));
        ++m_counts.okByVersion[version];
        if (!m_firstAnswer.contains(version))
            m_firstAnswer.insert(version, std::chrono::steady_clock::now());
        return;
    }
    const http::HttpError &error = result.error();
    switch (error.failure) {
    case http::Failure::HttpStatus: ++m_counts.non2xx; break;
    case http::Failure::Reset: ++m_counts.resets; break;
    case http::Failure::Refused: ++m_counts.refused; break;
    case http::Failure::Timeout: ++m_counts.timeouts; break;
    default: ++m_counts.other; break;
    }
    if (m_failureSamples.size() < maxFailureSamples)
        m_failureSamples.append(error.message);
}

} // namespace sb::test
