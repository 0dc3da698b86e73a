#pragma once

#include <QString>
#include <QStringList>

#include <chrono>
#include <optional>
#include <stdexcept>

namespace sb::demo {

// The demo service's command line, checked: every value is usable as it stands.
struct ServiceOptions {
    QString service;
    QString version;
    QString host = QStringLiteral("127.0.0.1");
    quint16 port = 0;
    QString instance; // empty: "<service>-<port>" once the port is known
    double errorRate = 0.0;
    std::chrono::milliseconds latency{0};
    std::chrono::milliseconds latencyJitter{0};
    std::chrono::milliseconds drainDelay{std::chrono::seconds(2)};
    std::chrono::milliseconds shutdownTimeout{std::chrono::seconds(15)};
};

// A command line the service cannot run with; what() names the option, the bad value and an
// example of a good one.
class OptionError : public std::runtime_error
{
public:
    explicit OptionError(const QString &message);
    QString message() const { return QString::fromUtf8(what()); }
};

// Whether the command line asks for the usage text instead of a service.
bool wantsHelp(const QStringList &arguments);
QString usageText();

// Parses `arguments` (without the program name); throws OptionError.
ServiceOptions parseServiceOptions(const QStringList &arguments);

// "20ms", "1.5s", "2m", or "0"; nullopt for anything else, negative or over an hour.
std::optional<std::chrono::milliseconds> parseDuration(const QString &text);

// "0.2" (a fraction from 0 to 1) or "20%" (a percentage from 0 to 100); nullopt otherwise.
std::optional<double> parseErrorRate(const QString &text);

} // namespace sb::demo
