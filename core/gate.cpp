#include "gate.h"

#include <cmath>

namespace sb {

namespace {

using Comparison = GateBound::Comparison;

QString symbolOf(Comparison comparison)
{
    switch (comparison) {
    case Comparison::Below: return QStringLiteral("<");
    case Comparison::AtMost: return QStringLiteral("≤");
    case Comparison::Above: return QStringLiteral(">");
    case Comparison::AtLeast: return QStringLiteral("≥");
    }
    return {};
}

QString negatedSymbolOf(Comparison comparison)
{
    switch (comparison) {
    case Comparison::Below: return QStringLiteral("≥");
    case Comparison::AtMost: return QStringLiteral(">");
    case Comparison::Above: return QStringLiteral("≤");
    case Comparison::AtLeast: return QStringLiteral("<");
    }
    return {};
}

const QString boundExample = QStringLiteral("'< 400ms' or '<= 1.5 x baseline + 0.1%'");

// What a bare number means, and the suffixes each unit accepts, with their multipliers.
struct UnitSuffix {
    QLatin1StringView suffix;
    double multiplier;
};

QList<UnitSuffix> suffixesFor(MetricUnit unit)
{
    switch (unit) {
    case MetricUnit::Ratio: return {{QLatin1StringView("%"), 0.01}};
    case MetricUnit::Milliseconds:
        return {{QLatin1StringView("ms"), 1}, {QLatin1StringView("s"), 1000}};
    case MetricUnit::Megabytes:
        return {{QLatin1StringView("MB"), 1}, {QLatin1StringView("GB"), 1024}};
    case MetricUnit::PerSecond:
    case MetricUnit::Cores:
    case MetricUnit::Number: return {};
    }
    return {};
}

QString unitHint(MetricUnit unit)
{
    switch (unit) {
    case MetricUnit::Ratio: return QStringLiteral("a ratio such as 0.5% or 0.005");
    case MetricUnit::Milliseconds: return QStringLiteral("a latency such as 400ms or 0.4s");
    case MetricUnit::Megabytes: return QStringLiteral("a size such as 512MB or 1GB");
    case MetricUnit::PerSecond: return QStringLiteral("a number of requests per second");
    case MetricUnit::Cores: return QStringLiteral("a number of CPU cores such as 0.5");
    case MetricUnit::Number: return QStringLiteral("a number");
    }
    return {};
}

class BoundParser
{
public:
    BoundParser(const QString &text, MetricUnit unit)
        : m_text(text)
        , m_unit(unit)
    {}

    std::variant<GateBound, BoundError> parse()
    {
        GateBound bound;
        bound.text = m_text.trimmed();
        skipSpace();
        if (!readComparison(bound.comparison)) {
            return fail(QStringLiteral("a bound starts with <, <=, > or >=, for example %1")
                            .arg(boundExample));
        }
        skipSpace();
        const qsizetype numberAt = m_pos;
        std::optional<double> number = readNumber();
        skipSpace();
        if (number && (readTimes() || peekWord(QLatin1StringView("baseline")))) {
            if (!readWord(QLatin1StringView("baseline")))
                return fail(QStringLiteral("expected 'baseline' after the factor, as in %1")
                                .arg(QStringLiteral("'<= 1.5 x baseline'")));
            if (*number <= 0) {
                m_pos = numberAt;
                return fail(QStringLiteral("the factor before 'baseline' must be above 0"));
            }
            bound.relative = true;
            bound.factor = *number;
        } else if (!number && readWord(QLatin1StringView("baseline"))) {
            bound.relative = true;
            bound.factor = 1;
        } else if (!number) {
            return fail(QStringLiteral("expected a number or 'baseline' after the comparison, "
                                       "for example %1")
                            .arg(boundExample));
        }

        if (bound.relative) {
            skipSpace();
            if (atEnd())
                return bound;
            const QChar sign = m_text[m_pos];
            if (sign != QLatin1Char('+') && sign != QLatin1Char('-'))
                return fail(QStringLiteral("after 'baseline' only '+ amount' or '- amount' may "
                                           "follow, for example '+ 0.1%'"));
            ++m_pos;
            skipSpace();
            const std::optional<double> amount = readNumber();
            if (!amount)
                return fail(QStringLiteral("expected an amount after '%1': %2")
                                .arg(sign, unitHint(m_unit)));
            const std::optional<double> scaled = readUnit(*amount);
            if (!scaled)
                return m_error;
            bound.offset = sign == QLatin1Char('-') ? -*scaled : *scaled;
        } else {
            const std::optional<double> scaled = readUnit(*number);
            if (!scaled)
                return m_error;
            if (m_unit == MetricUnit::Ratio && *scaled > 1) {
                m_pos = numberAt;
                return fail(QStringLiteral("a ratio bound is at most 100%; write 2% or 0.02"));
            }
            bound.offset = *scaled;
        }
        skipSpace();
        if (!atEnd())
            return fail(QStringLiteral("unexpected %1 after the bound; write it like %2")
                            .arg(quoted(m_text.mid(m_pos)), boundExample));
        return bound;
    }

private:
    bool atEnd() const { return m_pos >= m_text.size(); }
    void skipSpace()
    {
        while (!atEnd() && m_text[m_pos].isSpace())
            ++m_pos;
    }
    BoundError fail(const QString &message)
    {
        m_error = BoundError{m_pos, message};
        return m_error;
    }
    static QString quoted(const QString &text)
    {
        return QStringLiteral("'%1'").arg(text.size() > 24 ? text.left(21) + QStringLiteral("...")
                                                           : text);
    }

    bool readComparison(Comparison &comparison)
    {
        const QStringView rest = QStringView(m_text).mid(m_pos);
        struct Form {
            QStringView text;
            Comparison comparison;
        };
        static const Form forms[] = {{u"<=", Comparison::AtMost},  {u"≤", Comparison::AtMost},
                                     {u">=", Comparison::AtLeast}, {u"≥", Comparison::AtLeast},
                                     {u"<", Comparison::Below},    {u">", Comparison::Above}};
        for (const Form &form : forms) {
            if (rest.startsWith(form.text)) {
                comparison = form.comparison;
                m_pos += form.text.size();
                return true;
            }
        }
        return false;
    }

    std::optional<double> readNumber()
    {
        const qsizetype start = m_pos;
        while (!atEnd() && (m_text[m_pos].isDigit() || m_text[m_pos] == QLatin1Char('.')))
            ++m_pos;
        if (m_pos == start)
            return std::nullopt;
        bool ok = false;
        const double value = m_text.mid(start, m_pos - start).toDouble(&ok);
        if (!ok || !std::isfinite(value)) {
            m_pos = start;
            return std::nullopt;
        }
        return value;
    }

    bool readTimes()
    {
        if (atEnd())
            return false;
        const QChar c = m_text[m_pos];
        if (c == QLatin1Char('x') || c == QLatin1Char('*') || c == QChar(0x00D7)) {
            // "x" glued to a word is not the multiplication sign ("xyz").
            if (c == QLatin1Char('x') && m_pos + 1 < m_text.size() && m_text[m_pos + 1].isLetter())
                return false;
            ++m_pos;
            skipSpace();
            return true;
        }
        return false;
    }

    bool peekWord(QLatin1StringView word) const
    {
        return QStringView(m_text).mid(m_pos).startsWith(word);
    }

    bool readWord(QLatin1StringView word)
    {
        if (!peekWord(word))
            return false;
        const qsizetype end = m_pos + word.size();
        if (end < m_text.size() && m_text[end].isLetterOrNumber())
            return false;
        m_pos = end;
        return true;
    }

    // The amount in the metric's own unit; a suffix it does not take is an error.
    std::optional<double> readUnit(double amount)
    {
        skipSpace();
        const qsizetype suffixAt = m_pos;
        while (!atEnd() && (m_text[m_pos].isLetter() || m_text[m_pos] == QLatin1Char('%')))
            ++m_pos;
        const QString suffix = m_text.mid(suffixAt, m_pos - suffixAt);
        if (suffix.isEmpty())
            return amount;
        for (const UnitSuffix &known : suffixesFor(m_unit)) {
            if (suffix == known.suffix)
                return amount * known.multiplier;
        }
        m_pos = suffixAt;
        fail(QStringLiteral("%1 is not a unit of this metric; write %2")
                 .arg(quoted(suffix), unitHint(m_unit)));
        return std::nullopt;
    }

    const QString &m_text;
    MetricUnit m_unit;
    qsizetype m_pos = 0;
    BoundError m_error;
};

} // namespace

std::optional<double> GateBound::limit(std::optional<double> baseline) const
{
    if (!relative)
        return offset;
    if (!baseline)
        return std::nullopt;
    return factor * *baseline + offset;
}

bool GateBound::holds(double canary, double limitValue) const
{
    switch (comparison) {
    case Comparison::Below: return canary < limitValue;
    case Comparison::AtMost: return canary <= limitValue;
    case Comparison::Above: return canary > limitValue;
    case Comparison::AtLeast: return canary >= limitValue;
    }
    return false;
}

std::variant<GateBound, BoundError> parseGateBound(const QString &text, MetricUnit unit)
{
    return BoundParser(text, unit).parse();
}

QString toString(Verdict verdict)
{
    switch (verdict) {
    case Verdict::Pass: return QStringLiteral("pass");
    case Verdict::Fail: return QStringLiteral("fail");
    case Verdict::Inconclusive: return QStringLiteral("inconclusive");
    }
    return {};
}

QString toString(GateMethod method)
{
    switch (method) {
    case GateMethod::Threshold: return QStringLiteral("threshold");
    case GateMethod::Sequential: return QStringLiteral("sequential");
    }
    return {};
}

std::optional<GateMethod> gateMethodFromString(const QString &text)
{
    for (GateMethod method : {GateMethod::Threshold, GateMethod::Sequential}) {
        if (text == toString(method))
            return method;
    }
    return std::nullopt;
}

QString describeBound(const GateBound &bound, MetricUnit unit)
{
    const QString comparison = symbolOf(bound.comparison);
    if (!bound.relative)
        return QStringLiteral("%1 %2").arg(comparison, formatMetricValue(bound.offset, unit));
    QString text = comparison + QLatin1Char(' ');
    if (bound.factor != 1)
        text += QStringLiteral("%1 × ").arg(QString::number(bound.factor, 'g', 4));
    text += QStringLiteral("baseline");
    if (bound.offset != 0) {
        // A ratio offset is a difference of percentages: percentage points.
        QString amount = formatMetricValue(std::abs(bound.offset), unit);
        if (unit == MetricUnit::Ratio)
            amount.replace(QStringLiteral(" %"), QStringLiteral(" pt"));
        text += QStringLiteral(" %1 %2").arg(bound.offset > 0 ? QLatin1Char('+') : QChar(0x2212),
                                             amount);
    }
    return text;
}

Measurement measureGate(const GateSpec &gate, const std::optional<MetricsSnapshot> &metrics,
                        const QString &canaryVersion, const QString &baselineVersion, TimePoint at,
                        const QString &metricsError)
{
    Measurement m;
    m.at = at;
    const MetricUnit unit = gate.metric.unit;
    if (!metrics) {
        m.why = metricsError.isEmpty() ? QStringLiteral("no metrics yet")
                                       : QStringLiteral("no metrics: %1").arg(metricsError);
        return m;
    }
    const VersionMetrics *canary = metrics->find(canaryVersion);
    const VersionMetrics *baseline = metrics->find(baselineVersion);
    if (canary)
        m.canaryRequests = canary->requests;
    if (baseline)
        m.baselineRequests = baseline->requests;
    if (canary)
        m.canary = metricValue(*canary, gate.metric.name);
    if (baseline)
        m.baseline = metricValue(*baseline, gate.metric.name);
    m.limit = gate.bound.limit(m.baseline);

    if (!canary) {
        m.why = QStringLiteral("no data for canary %1").arg(canaryVersion);
        return m;
    }
    if (gate.bound.relative && !baseline) {
        m.why = QStringLiteral("no data for baseline %1").arg(baselineVersion);
        return m;
    }
    if (m.canaryRequests < gate.minRequests) {
        m.why = QStringLiteral("canary served %1 requests, needs %2")
                    .arg(m.canaryRequests)
                    .arg(gate.minRequests);
        return m;
    }
    if (gate.bound.relative && m.baselineRequests < gate.minRequests) {
        m.why = QStringLiteral("baseline served %1 requests, needs %2")
                    .arg(m.baselineRequests)
                    .arg(gate.minRequests);
        return m;
    }
    if (!m.canary) {
        m.why = QStringLiteral("canary %1 reported no %2")
                    .arg(canaryVersion, gate.metric.title.toLower());
        if (const QString reason = canary->noData.value(gate.metric.name); !reason.isEmpty())
            m.why += QStringLiteral(": %1").arg(reason);
        return m;
    }
    if (!m.limit) {
        m.why = QStringLiteral("baseline %1 reported no %2")
                    .arg(baselineVersion, gate.metric.title.toLower());
        if (const QString reason = baseline->noData.value(gate.metric.name); !reason.isEmpty())
            m.why += QStringLiteral(": %1").arg(reason);
        return m;
    }
    const bool holds = gate.bound.holds(*m.canary, *m.limit);
    m.verdict = holds ? Verdict::Pass : Verdict::Fail;
    m.why
        = QStringLiteral("%1 %2 %3")
              .arg(formatMetricValue(*m.canary, unit),
                   holds ? symbolOf(gate.bound.comparison) : negatedSymbolOf(gate.bound.comparison),
                   formatMetricValue(*m.limit, unit));
    if (gate.bound.relative) {
        m.why += QStringLiteral(" (baseline %1)").arg(formatMetricValue(*m.baseline, unit));
    }
    return m;
}

QDebug operator<<(QDebug debug, const Measurement &measurement)
{
    QDebugStateSaver saver(debug);
    debug.nospace() << "Measurement(" << toString(measurement.verdict) << ", " << measurement.why
                    << ')';
    return debug;
}

} // namespace sb
