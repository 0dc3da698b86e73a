#include "sequentialgate.h"

#include <algorithm>
#include <cmath>

namespace sb {

QMap<QString, SequentialGateState> freshJudges(const CanaryPlan &plan)
{
    QMap<QString, SequentialGateState> judges;
    for (const GateSpec &gate : plan.gates) {
        if (gate.method != GateMethod::Sequential)
            continue;
        SequentialGateState judge;
        judge.evidence = startJudge(gate.sequential.settings, gate.sequential.counts);
        judge.slowerThanMs = gate.sequential.slowerThanMs;
        judges.insert(gate.name, judge);
    }
    return judges;
}

Result<ArmCounts, QString> countsOf(const VersionMetrics &metrics, CountedEvent event,
                                    std::optional<double> slowerThanMs)
{
    switch (event) {
    case CountedEvent::Errors: {
        if (metrics.requests <= 0)
            return ArmCounts{};
        const std::optional<double> ratio = metricValue(metrics, QStringLiteral("error_rate"));
        if (!ratio) {
            const QString reason = metrics.noData.value(QStringLiteral("error_rate"));
            return reason.isEmpty() ? QStringLiteral("no error rate")
                                    : QStringLiteral("no error rate: %1").arg(reason);
        }
        // Sources report a ratio over the interval's requests; the count it stands for is whole.
        const qint64 errors = std::llround(std::clamp(*ratio, 0.0, 1.0) * double(metrics.requests));
        return ArmCounts{metrics.requests, errors};
    }
    case CountedEvent::SlowRequests: {
        if (!metrics.latency) {
            const QString reason = metrics.noData.value(QStringLiteral("latency"));
            return reason.isEmpty() ? QStringLiteral("no latency histogram")
                                    : QStringLiteral("no latency histogram: %1").arg(reason);
        }
        if (metrics.latency->total() <= 0)
            return ArmCounts{};
        if (!slowerThanMs)
            return QStringLiteral("no slow threshold yet");
        const std::optional<qint64> slow = metrics.latency->slowerThan(*slowerThanMs);
        if (!slow)
            return QStringLiteral("the latency histogram has no bucket bound at %1")
                .arg(formatMetricValue(*slowerThanMs, MetricUnit::Milliseconds));
        return ArmCounts{metrics.latency->total(), *slow};
    }
    }
    return QStringLiteral("unknown count");
}

std::optional<double> slowThresholdOf(const LatencyHistogram &baseline)
{
    const double p99 = baseline.quantileMs(0.99);
    if (!std::isfinite(p99) || baseline.boundsMs.isEmpty())
        return std::nullopt;
    double nearest = baseline.boundsMs.first();
    for (double bound : baseline.boundsMs) {
        if (std::abs(std::log(bound / p99)) < std::abs(std::log(nearest / p99)))
            nearest = bound;
    }
    return nearest;
}

std::optional<Measurement> readSequentialGate(const GateSpec &gate, SequentialGateState &judge,
                                              const GateState &stageState, TimePoint since,
                                              const std::optional<MetricsSnapshot> &metrics,
                                              const QString &canaryVersion,
                                              const QString &baselineVersion, TimePoint now)
{
    // An interval of no length would be "after the last one read" at every look.
    if (!metrics || metrics->interval <= Duration(0))
        return std::nullopt;
    const TimePoint intervalStart = metrics->at - metrics->interval;
    if (intervalStart < since || (judge.readUntil && intervalStart < *judge.readUntil))
        return std::nullopt;
    judge.readUntil = metrics->at;

    const VersionMetrics *canary = metrics->find(canaryVersion);
    const VersionMetrics *baseline = metrics->find(baselineVersion);
    QStringList skipped;
    QString note; // how the slow threshold was set, when this interval set it
    if (canary && baseline) {
        // The slow threshold comes from an interval with enough baseline requests for its p99
        // to mean something, and counting starts with the next one: the interval that set it
        // has about 1 % slow by construction.
        bool thresholdJustSet = false;
        if (!judge.slowerThanMs && baseline->latency
            && baseline->latency->total() >= minRequestsForSlowThreshold) {
            judge.slowerThanMs = slowThresholdOf(*baseline->latency);
            thresholdJustSet = judge.slowerThanMs.has_value();
            if (thresholdJustSet)
                note = QStringLiteral("slow now means slower than %1 (the baseline's p99 over %2 "
                                      "requests); counted from the next interval")
                           .arg(formatMetricValue(*judge.slowerThanMs, MetricUnit::Milliseconds))
                           .arg(baseline->latency->total());
        }
        const QList<RateRatioEvidence> counted = judge.evidence.events;
        for (const RateRatioEvidence &evidence : counted) {
            if (evidence.event == CountedEvent::SlowRequests && thresholdJustSet)
                continue;
            if (evidence.event == CountedEvent::SlowRequests && !judge.slowerThanMs) {
                skipped.append(QStringLiteral("slow requests not counted yet: the slow threshold "
                                              "waits for an interval with %1 baseline requests")
                                   .arg(minRequestsForSlowThreshold));
                continue;
            }
            const auto canaryCounts = countsOf(*canary, evidence.event, judge.slowerThanMs);
            const auto baselineCounts = countsOf(*baseline, evidence.event, judge.slowerThanMs);
            if (!canaryCounts || !baselineCounts) {
                skipped.append(
                    QStringLiteral("%1 not counted in the interval to %2: %3 %4")
                        .arg(describe(evidence.event), formatUtc(metrics->at),
                             !canaryCounts ? canaryVersion : baselineVersion,
                             !canaryCounts ? canaryCounts.error() : baselineCounts.error()));
                continue;
            }
            addInterval(judge.evidence, evidence.event, baselineCounts.value(),
                        canaryCounts.value());
        }
    } else {
        skipped.append(QStringLiteral("the interval to %1 has no data for %2")
                           .arg(formatUtc(metrics->at), !canary ? canaryVersion : baselineVersion));
    }

    const JudgeReading reading = readJudge(judge.evidence, gate.sequential.settings.alpha);
    Measurement m;
    m.at = now;
    const qint64 before = stageState.last ? stageState.last->canaryRequests : 0;
    const qint64 baselineBefore = stageState.last ? stageState.last->baselineRequests : 0;
    m.canaryRequests = before + (canary ? canary->requests : 0);
    m.baselineRequests = baselineBefore + (baseline ? baseline->requests : 0);
    m.why = describe(reading);
    if (reading.decision == JudgeDecision::Rollback) {
        m.verdict = Verdict::Fail;
    } else if (!skipped.isEmpty()) {
        // A count the gate was asked for and could not take: it holds the stage, never passes
        // it on half the evidence.
        m.why = QStringLiteral("%1; %2").arg(skipped.join(QStringLiteral("; ")), m.why);
    } else if (m.canaryRequests >= gate.minRequests) {
        m.verdict = Verdict::Pass;
    } else {
        m.why = QStringLiteral("canary served %1 requests at this stage, needs %2; %3")
                    .arg(m.canaryRequests)
                    .arg(gate.minRequests)
                    .arg(m.why);
    }
    if (!note.isEmpty())
        m.why += QStringLiteral(" (%1)").arg(note);
    return m;
}

void addJudgeValues(QMap<QString, double> &values, const JudgeReading &reading)
{
    for (const EventReading &event : reading.events) {
        const QString prefix = toString(event.event) + QLatin1Char('.');
        if (event.ratio.lower)
            values.insert(prefix + QStringLiteral("k_lower"), *event.ratio.lower);
        if (event.ratio.upper)
            values.insert(prefix + QStringLiteral("k_upper"), *event.ratio.upper);
        values.insert(prefix + QStringLiteral("e_regression"), event.regressionE);
        values.insert(prefix + QStringLiteral("e_safe"), event.promoteE);
        values.insert(prefix + QStringLiteral("canary"), double(event.canary.events));
        values.insert(prefix + QStringLiteral("baseline"), double(event.baseline.events));
    }
    if (!reading.events.isEmpty()) {
        values.insert(QStringLiteral("requests.canary"),
                      double(reading.events.first().canary.requests));
        values.insert(QStringLiteral("requests.baseline"),
                      double(reading.events.first().baseline.requests));
    }
}

} // namespace sb
