#include "serviceoptions.h"

#include <QHash>
#include <QHostAddress>
#include <QRegularExpression>

#include <array>

namespace sb::demo {

namespace {

struct OptionSpec {
    const char *name;
    const char *example;
    bool required;
};

constexpr std::array optionSpecs{
    OptionSpec{"service", "shop", true},     OptionSpec{"version", "1.4.2", true},
    OptionSpec{"port", "8080", true},        OptionSpec{"host", "127.0.0.1", false},
    OptionSpec{"instance", "shop-a", false}, OptionSpec{"error-rate", "0.2", false},
    OptionSpec{"latency", "20ms", false},    OptionSpec{"latency-jitter", "5ms", false},
    OptionSpec{"drain-delay", "2s", false},  OptionSpec{"shutdown-timeout", "15s", false},
};

const OptionSpec *findSpec(const QString &name)
{
    for (const OptionSpec &spec : optionSpecs) {
        if (name == QLatin1String(spec.name))
            return &spec;
    }
    return nullptr;
}

QString knownOptions()
{
    QStringList names;
    for (const OptionSpec &spec : optionSpecs)
        names << QStringLiteral("--") + QLatin1String(spec.name);
    return names.join(QStringLiteral(", "));
}

[[noreturn]] void badValue(const QString &option, const QString &value, const QString &problem,
                           const QString &example = {})
{
    const QString goodValue
        = example.isEmpty() ? QLatin1String(findSpec(option)->example) : example;
    throw OptionError(QStringLiteral("--%1: \"%2\" %3; for example --%1 %4")
                          .arg(option, value, problem, goodValue));
}

// Names, versions and instance ids end up in header values and in a space-separated body line.
QString checkedWord(const QString &option, const QString &value)
{
    static const QRegularExpression visibleAscii(QStringLiteral("^[\\x21-\\x7e]{1,200}$"));
    if (!visibleAscii.match(value).hasMatch())
        badValue(option, value,
                 QStringLiteral("must be 1 to 200 visible ASCII characters without spaces"));
    return value;
}

std::chrono::milliseconds checkedDuration(const QString &option, const QString &value)
{
    const std::optional<std::chrono::milliseconds> duration = parseDuration(value);
    if (!duration)
        badValue(option, value,
                 QStringLiteral("is not a duration from 0 to 1h with a unit (ms, s or m)"));
    return *duration;
}

quint16 checkedPort(const QString &value)
{
    bool ok = false;
    const uint port = value.toUInt(&ok);
    if (!ok || port > 65535)
        badValue(QStringLiteral("port"), value,
                 QStringLiteral("is not a port number from 0 to 65535 (0 picks a free port)"));
    return quint16(port);
}

QString checkedHost(const QString &value)
{
    if (value != QLatin1String("localhost") && QHostAddress(value).isNull())
        badValue(QStringLiteral("host"), value,
                 QStringLiteral("is not an IP address to listen on"));
    return value;
}

double checkedErrorRate(const QString &value)
{
    const std::optional<double> rate = parseErrorRate(value);
    if (!rate && parseErrorRate(value + QLatin1Char('%')))
        badValue(QStringLiteral("error-rate"), value,
                 QStringLiteral("is above 1; a fraction goes from 0 to 1, a percentage needs a "
                                "percent sign"),
                 QStringLiteral("0.2 or --error-rate %1%").arg(value));
    if (!rate)
        badValue(QStringLiteral("error-rate"), value,
                 QStringLiteral("is not a fraction from 0 to 1 or a percentage from 0% to 100%"),
                 QStringLiteral("0.2 or --error-rate 20%"));
    return *rate;
}

} // namespace

OptionError::OptionError(const QString &message)
    : std::runtime_error(message.toStdString())
{}

bool wantsHelp(const QStringList &arguments)
{
    return arguments.contains(QStringLiteral("--help")) || arguments.contains(QStringLiteral("-h"));
}

QString usageText()
{
    return QStringLiteral(
        "Usage: signalbox-demo-service --service NAME --version V --port N [options]\n"
        "\n"
        "A small HTTP service to release: answers GET / with \"NAME VERSION INSTANCE\",\n"
        "serves /healthz, /ready and Prometheus /metrics, and drains on SIGTERM.\n"
        "\n"
        "  --service NAME           service name, in the body and the metrics labels\n"
        "  --version V              version, in the X-Version header and the metrics labels\n"
        "  --port N                 TCP port; 0 picks a free one\n"
        "  --host ADDRESS           address to listen on (default 127.0.0.1)\n"
        "  --instance ID            instance id, in X-Instance (default NAME-PORT)\n"
        "  --error-rate R           share of requests to / answered 500: 0.2 or 20% (default 0)\n"
        "  --latency D              time before answering /, e.g. 20ms (default 0)\n"
        "  --latency-jitter D       latency varies uniformly by up to this much (default 0)\n"
        "  --drain-delay D          after SIGTERM, time /ready answers 503 before the\n"
        "                           listening socket closes (default 2s)\n"
        "  --shutdown-timeout D     then, longest wait for requests in flight (default 15s)\n"
        "\n"
        "Once listening it prints one line to stdout: listening on http://HOST:PORT\n");
}

ServiceOptions parseServiceOptions(const QStringList &arguments)
{
    QHash<QString, QString> values;
    for (qsizetype i = 0; i < arguments.size(); ++i) {
        const QString &argument = arguments.at(i);
        if (!argument.startsWith(QStringLiteral("--")))
            throw OptionError(QStringLiteral("unexpected argument \"%1\"; options take the form "
                                             "--name value, for example --port 8080")
                                  .arg(argument));
        QString name = argument.mid(2);
        QString value;
        bool hasValue = false;
        if (const qsizetype equals = name.indexOf(QLatin1Char('=')); equals >= 0) {
            value = name.mid(equals + 1);
            name.truncate(equals);
            hasValue = true;
        }
        const OptionSpec *spec = findSpec(name);
        if (!spec)
            throw OptionError(QStringLiteral("unknown option --%1; the options are %2")
                                  .arg(name, knownOptions()));
        if (!hasValue) {
            if (i + 1 >= arguments.size())
                throw OptionError(QStringLiteral("--%1 needs a value, for example --%1 %2")
                                      .arg(name, QLatin1String(spec->example)));
            value = arguments.at(++i);
        }
        if (values.contains(name))
            throw OptionError(
                QStringLiteral("--%1 is given twice (\"%2\" and \"%3\"); give it "
                               "once, for example --%1 %4")
                    .arg(name, values.value(name), value, QLatin1String(spec->example)));
        values.insert(name, value);
    }

    for (const OptionSpec &spec : optionSpecs) {
        if (spec.required && !values.contains(QLatin1String(spec.name)))
            throw OptionError(QStringLiteral("--%1 is missing; for example --%1 %2")
                                  .arg(QLatin1String(spec.name), QLatin1String(spec.example)));
    }

    ServiceOptions options;
    options.service
        = checkedWord(QStringLiteral("service"), values.value(QStringLiteral("service")));
    options.version
        = checkedWord(QStringLiteral("version"), values.value(QStringLiteral("version")));
    options.port = checkedPort(values.value(QStringLiteral("port")));
    // In the usage's order, so that of several bad values the same one is reported every time.
    for (const OptionSpec &spec : optionSpecs) {
        const QString name = QLatin1String(spec.name);
        if (!values.contains(name))
            continue;
        const QString value = values.value(name);
        if (name == QLatin1String("host"))
            options.host = checkedHost(value);
        else if (name == QLatin1String("instance"))
            options.instance = checkedWord(name, value);
        else if (name == QLatin1String("error-rate"))
            options.errorRate = checkedErrorRate(value);
        else if (name == QLatin1String("latency"))
            options.latency = checkedDuration(name, value);
        else if (name == QLatin1String("latency-jitter"))
            options.latencyJitter = checkedDuration(name, value);
        else if (name == QLatin1String("drain-delay"))
            options.drainDelay = checkedDuration(name, value);
        else if (name == QLatin1String("shutdown-timeout"))
            options.shutdownTimeout = checkedDuration(name, value);
    }
    return options;
}

std::optional<std::chrono::milliseconds> parseDuration(const QString &text)
{
    if (text == QLatin1String("0"))
        return std::chrono::milliseconds(0);
    static const QRegularExpression pattern(QStringLiteral("^(\\d+(?:\\.\\d+)?)(ms|s|m)$"));
    const QRegularExpressionMatch match = pattern.match(text);
    if (!match.hasMatch())
        return std::nullopt;
    const double amount = match.captured(1).toDouble();
    const QString unit = match.captured(2);
    const double factor = unit == QLatin1String("ms")  ? 1.0
                          : unit == QLatin1String("s") ? 1000.0
                                                       : 60'000.0;
    const double milliseconds = amount * factor;
    if (milliseconds > 3'600'000.0)
        return std::nullopt;
    return std::chrono::milliseconds(qRound64(milliseconds));
}

std::optional<double> parseErrorRate(const QString &text)
{
    static const QRegularExpression pattern(QStringLiteral("^(\\d+(?:\\.\\d+)?|\\.\\d+)(%?)$"));
    const QRegularExpressionMatch match = pattern.match(text);
    if (!match.hasMatch())
        return std::nullopt;
    const bool percent = !match.captured(2).isEmpty();
    const double rate = match.captured(1).toDouble() / (percent ? 100.0 : 1.0);
    if (rate > 1.0)
        return std::nullopt;
    return rate;
}

} // namespace sb::demo
