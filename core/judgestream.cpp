#include "judgestream.h"

#include <QList>

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>

namespace sb {

namespace {

const QString lineForm = QStringLiteral(
    "write t,baseline_requests,baseline_errors,canary_requests,canary_errors, optionally "
    "followed by ,baseline_slow,canary_slow");

constexpr std::array<QStringView, 7> fieldNames{u"t",
                                                u"baseline_requests",
                                                u"baseline_errors",
                                                u"canary_requests",
                                                u"canary_errors",
                                                u"baseline_slow",
                                                u"canary_slow"};

std::optional<double> parseTime(QStringView text)
{
    bool ok = false;
    const double value = text.toDouble(&ok);
    if (!ok || !std::isfinite(value) || value < 0)
        return std::nullopt;
    return value;
}

// Far above any interval's requests, and low enough that a stream's totals cannot overflow.
constexpr qint64 maxCount = 1'000'000'000'000'000;

// Digits only: a sign, a fraction or an exponent is not a count. Too many digits for 64 bits
// read as more than maxCount.
std::optional<qint64> parseCount(QStringView text)
{
    if (text.isEmpty()
        || !std::all_of(text.cbegin(), text.cend(), [](QChar c) { return c.isDigit(); }))
        return std::nullopt;
    bool ok = false;
    const qint64 value = text.toLongLong(&ok);
    if (!ok)
        return std::numeric_limits<qint64>::max();
    return value;
}

QString shown(QStringView text)
{
    return QStringLiteral("'%1'").arg(
        text.size() > 24 ? text.left(21).toString() + QStringLiteral("...") : text.toString());
}

qint64 millisecondsOf(double seconds)
{
    return std::llround(seconds * 1000);
}

const QString canaryVersion = QStringLiteral("canary");
const QString baselineVersion = QStringLiteral("baseline");

VersionMetrics versionMetrics(const QString &version, qint64 requests, qint64 errors,
                              qint64 intervalMs)
{
    VersionMetrics metrics;
    metrics.version = version;
    metrics.requests = requests;
    metrics.requestsPerSecond = double(requests) * 1000 / double(intervalMs);
    metrics.errorRatio = requests > 0 ? double(errors) / double(requests) : 0;
    return metrics;
}

} // namespace

ArmCounts StreamInterval::baseline(CountedEvent event) const
{
    switch (event) {
    case CountedEvent::Errors: return {baselineRequests, baselineErrors};
    case CountedEvent::SlowRequests: return {baselineRequests, slow ? slow->baseline : 0};
    }
    return {};
}

ArmCounts StreamInterval::canary(CountedEvent event) const
{
    switch (event) {
    case CountedEvent::Errors: return {canaryRequests, canaryErrors};
    case CountedEvent::SlowRequests: return {canaryRequests, slow ? slow->canary : 0};
    }
    return {};
}

QString StreamError::toString() const
{
    return QStringLiteral("line %1: %2").arg(line).arg(message);
}

QString formatStreamTime(double t)
{
    return QString::number(t, 'g', 15);
}

StreamParser::Line StreamParser::parse(QStringView line)
{
    ++m_line;
    const QStringView text = line.trimmed();
    if (text.isEmpty() || text.startsWith(QLatin1Char('#')))
        return std::monostate();
    const bool first = !m_seenContent;
    m_seenContent = true;
    if (first && text.startsWith(u"t,"))
        return std::monostate();

    const auto fail = [this](const QString &message) { return StreamError{m_line, message}; };
    const QList<QStringView> fields = text.split(QLatin1Char(','));
    if (fields.size() != 5 && fields.size() != 7)
        return fail(
            QStringLiteral("%1 %2; %3")
                .arg(fields.size())
                .arg(fields.size() == 1 ? QStringLiteral("field") : QStringLiteral("fields"),
                     lineForm));
    if (m_fields != 0 && fields.size() != m_fields)
        return fail(QStringLiteral("%1 fields after lines of %2; give baseline_slow,canary_slow "
                                   "on every line or on none")
                        .arg(fields.size())
                        .arg(m_fields));

    const QStringView tText = fields.at(0).trimmed();
    const std::optional<double> t = parseTime(tText);
    if (!t)
        return fail(QStringLiteral("t %1 is not a time; write seconds, 0 or more, like 60 or 60.5")
                        .arg(shown(tText)));
    std::array<qint64, 7> counts{};
    for (qsizetype i = 1; i < fields.size(); ++i) {
        const QStringView field = fields.at(i).trimmed();
        const std::optional<qint64> count = parseCount(field);
        if (!count)
            return fail(QStringLiteral("%1 %2 is not a count; write a whole number, 0 or more")
                            .arg(fieldNames[i], shown(field)));
        if (*count > maxCount)
            return fail(QStringLiteral("%1 %2 is more than any interval serves; counts go up to "
                                       "10^15")
                            .arg(fieldNames[i], shown(field)));
        counts[i] = *count;
    }
    // Each count of events (index) against the requests of its arm.
    static constexpr std::array<std::pair<int, int>, 4> eventsOfRequests{
        {{2, 1}, {4, 3}, {5, 1}, {6, 3}}};
    for (const auto &[events, requests] : eventsOfRequests) {
        if (events < fields.size() && counts[events] > counts[requests])
            return fail(QStringLiteral("%1 %2 is above %3 %4; each count of events is at most "
                                       "its requests")
                            .arg(fieldNames[events])
                            .arg(counts[events])
                            .arg(fieldNames[requests])
                            .arg(counts[requests]));
    }
    if (m_lastT && *t <= *m_lastT)
        return fail(QStringLiteral("t %1 is not after the previous line's %2; each line's t must "
                                   "be later than the one before")
                        .arg(formatStreamTime(*t), formatStreamTime(*m_lastT)));

    m_lastT = t;
    m_fields = int(fields.size());
    StreamInterval interval;
    interval.t = *t;
    interval.baselineRequests = counts[1];
    interval.baselineErrors = counts[2];
    interval.canaryRequests = counts[3];
    interval.canaryErrors = counts[4];
    if (fields.size() == 7)
        interval.slow = SlowCounts{counts[5], counts[6]};
    return interval;
}

SequentialStreamJudge::SequentialStreamJudge(const SequentialSettings &settings)
    : m_settings(settings)
{
    Q_ASSERT(checkSequentialSettings(settings).isEmpty());
}

std::optional<DecisionChange> SequentialStreamJudge::add(const StreamInterval &interval)
{
    if (m_decision == JudgeDecision::Rollback)
        return std::nullopt;
    if (!m_evidence) {
        QList<CountedEvent> events{CountedEvent::Errors};
        if (interval.slow)
            events.append(CountedEvent::SlowRequests);
        m_evidence = startJudge(m_settings, events);
    }
    for (RateRatioEvidence &evidence : m_evidence->events)
        addInterval(evidence, interval.baseline(evidence.event), interval.canary(evidence.event));
    m_reading = readJudge(*m_evidence, m_settings.alpha);
    const bool keepsPromote
        = m_decision == JudgeDecision::Promote && m_reading.decision == JudgeDecision::Continue;
    if (keepsPromote || m_reading.decision == m_decision)
        return std::nullopt;
    m_decision = m_reading.decision;
    return DecisionChange{interval.t, m_decision, describe(m_reading)};
}

std::variant<GateSpec, QString> errorRateGate(const QString &bound, qint64 minRequests,
                                              int failureLimit, Duration interval)
{
    Q_ASSERT(minRequests >= 0 && failureLimit >= 1 && interval >= std::chrono::seconds(1));
    const MetricDefinition *metric = findMetric(builtInMetrics(), QStringLiteral("error_rate"));
    Q_ASSERT(metric);
    GateSpec gate;
    gate.name = QStringLiteral("error-rate");
    gate.method = GateMethod::Threshold;
    gate.metric = *metric;
    const auto parsed = parseGateBound(bound, metric->unit);
    if (const BoundError *error = std::get_if<BoundError>(&parsed))
        return QStringLiteral("bound '%1': %2").arg(bound, error->message);
    gate.bound = std::get<GateBound>(parsed);
    gate.minRequests = minRequests;
    gate.failureLimit = failureLimit;
    gate.interval = interval;
    gate.origin = QStringLiteral("count stream");
    return gate;
}

ThresholdStreamJudge::ThresholdStreamJudge(GateSpec gate)
    : m_gate(std::move(gate))
    , m_intervalMs(m_gate.interval.count())
{
    Q_ASSERT(m_intervalMs > 0 && m_gate.failureLimit >= 1);
}

std::optional<DecisionChange> ThresholdStreamJudge::add(const StreamInterval &interval)
{
    if (m_decision == JudgeDecision::Rollback)
        return std::nullopt;
    const qint64 tMs = millisecondsOf(interval.t);
    std::optional<DecisionChange> change;
    // A line past the end of the interval being summed shows that interval is over.
    if (m_windowEndMs != 0 && tMs > m_windowEndMs) {
        change = measure();
        if (m_decision == JudgeDecision::Rollback)
            return change;
    }
    if (m_windowEndMs == 0) {
        const qint64 index = std::max<qint64>(1, (tMs + m_intervalMs - 1) / m_intervalMs);
        m_windowEndMs = index * m_intervalMs;
        m_sum = StreamInterval();
    }
    m_sum.baselineRequests += interval.baselineRequests;
    m_sum.baselineErrors += interval.baselineErrors;
    m_sum.canaryRequests += interval.canaryRequests;
    m_sum.canaryErrors += interval.canaryErrors;
    if (tMs >= m_windowEndMs) {
        if (std::optional<DecisionChange> measured = measure())
            change = measured;
    }
    return change;
}

std::optional<DecisionChange> ThresholdStreamJudge::measure()
{
    const qint64 endMs = m_windowEndMs;
    m_windowEndMs = 0;
    MetricsSnapshot metrics;
    metrics.at = fromMSecsSinceEpoch(endMs);
    metrics.interval = Duration(m_intervalMs);
    metrics.versions
        = {versionMetrics(canaryVersion, m_sum.canaryRequests, m_sum.canaryErrors, m_intervalMs),
           versionMetrics(baselineVersion, m_sum.baselineRequests, m_sum.baselineErrors,
                          m_intervalMs)};
    const Measurement measurement
        = measureGate(m_gate, metrics, canaryVersion, baselineVersion, metrics.at);
    ++m_measurements;
    if (measurement.verdict == Verdict::Fail)
        ++m_failures;
    m_last = measurement;
    if (m_failures < m_gate.failureLimit)
        return std::nullopt;
    m_decision = JudgeDecision::Rollback;
    return DecisionChange{
        double(endMs) / 1000, m_decision,
        QStringLiteral("%1 failed %2 of %3 allowed measurements; the last, over %4 canary "
                       "requests: %5")
            .arg(m_gate.metric.title.toLower())
            .arg(m_failures)
            .arg(m_gate.failureLimit)
            .arg(measurement.canaryRequests)
            .arg(measurement.why)};
}

} // namespace sb
