#include "sequentialjudge.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>

namespace sb {

namespace {

constexpr double alternativeStep = 1.5;
// The grid holds k = 1.5^((i - gridCentre) / 4): four grid steps make one alternative step, so
// that a grid point's alternatives are grid points too.
constexpr int gridStepsPerAlternative = 4;
constexpr int gridCentre = (ratioevidence::gridPoints - 1) / 2;
constexpr double displayCap = 1e12;

// ln of each alternative's prior weight, proportional to 1.5^(-i/2).
const std::array<double, ratioevidence::alternatives> &alternativeLogWeights()
{
    static const std::array<double, ratioevidence::alternatives> weights = [] {
        std::array<double, ratioevidence::alternatives> logWeights{};
        double sum = 0;
        for (int i = 0; i < ratioevidence::alternatives; ++i)
            sum += std::pow(alternativeStep, -(i + 1) / 2.0);
        for (int i = 0; i < ratioevidence::alternatives; ++i)
            logWeights[i] = -(i + 1) / 2.0 * std::log(alternativeStep) - std::log(sum);
        return logWeights;
    }();
    return weights;
}

double alternativeRatio(int index)
{
    return std::pow(alternativeStep, index + 1);
}

// ln of the probability of the interval's events split as observed, at ratio k (binomial, up to
// the coefficient, which every k shares). From the request counts rather than the share, so
// that neither probability cancels to 0 when one arm dwarfs the other.
double logLikelihood(const ArmCounts &baseline, const ArmCounts &canary, double k)
{
    const double canaryWeight = double(canary.requests) * k;
    const double both = std::log(canaryWeight + double(baseline.requests));
    return double(canary.events) * (std::log(canaryWeight) - both)
           + double(baseline.events) * (std::log(double(baseline.requests)) - both);
}

// ln of the sum of exp(terms), without overflow. Called for every grid point at every look,
// so it works on a fixed array rather than allocating.
using Terms = std::array<double, ratioevidence::alternatives>;
double logSumExp(const Terms &terms, int count)
{
    if (count == 0)
        return -std::numeric_limits<double>::infinity();
    const double top = *std::max_element(terms.cbegin(), terms.cbegin() + count);
    if (!std::isfinite(top))
        return top;
    double sum = 0;
    for (int i = 0; i < count; ++i)
        sum += std::exp(terms[i] - top);
    return top + std::log(sum);
}

double mixture(const QList<double> &logRatios)
{
    const auto &logWeights = alternativeLogWeights();
    Terms terms{};
    for (int i = 0; i < ratioevidence::alternatives; ++i)
        terms[i] = logWeights[i] + logRatios.at(i);
    return logSumExp(terms, ratioevidence::alternatives);
}

// The profile's e-value against "k <= grid point `index`" (upwards) or "k >= it"
// (downwards), from the alternatives that fall on the grid; those off its ends count as 0,
// which only makes the test stricter.
double gridLogE(const QList<double> &profile, int index, bool upwards)
{
    const auto &logWeights = alternativeLogWeights();
    Terms terms{};
    int count = 0;
    for (int i = 0; i < ratioevidence::alternatives; ++i) {
        const int other = index + (upwards ? 1 : -1) * (i + 1) * gridStepsPerAlternative;
        if (other < 0 || other >= profile.size())
            continue;
        terms[count++] = logWeights[i] + profile.at(other) - profile.at(index);
    }
    return logSumExp(terms, count);
}

double cappedExp(double logValue)
{
    return std::min(displayCap, std::exp(std::min(logValue, std::log(displayCap))));
}

QString formatEValue(double value)
{
    if (value >= displayCap * 0.999)
        return QStringLiteral("over 10¹²");
    if (value < 0.01)
        return QStringLiteral("under 0.01");
    if (value >= 1e4)
        return QString::number(value, 'g', 2);
    return QString::number(value, value >= 100 ? 'f' : 'g', value >= 100 ? 0 : 2);
}

} // namespace

QString toString(CountedEvent event)
{
    switch (event) {
    case CountedEvent::Errors: return QStringLiteral("errors");
    case CountedEvent::SlowRequests: return QStringLiteral("slow_requests");
    }
    return {};
}

std::optional<CountedEvent> countedEventFromString(const QString &text)
{
    for (CountedEvent event : {CountedEvent::Errors, CountedEvent::SlowRequests}) {
        if (text == toString(event))
            return event;
    }
    return std::nullopt;
}

QString describe(CountedEvent event)
{
    switch (event) {
    case CountedEvent::Errors: return QStringLiteral("errors");
    case CountedEvent::SlowRequests: return QStringLiteral("slow requests");
    }
    return {};
}

QString toString(JudgeDecision decision)
{
    switch (decision) {
    case JudgeDecision::Continue: return QStringLiteral("continue");
    case JudgeDecision::Rollback: return QStringLiteral("rollback");
    case JudgeDecision::Promote: return QStringLiteral("promote");
    }
    return {};
}

QString describe(JudgeDecision decision)
{
    switch (decision) {
    case JudgeDecision::Continue: return QStringLiteral("no evidence yet");
    case JudgeDecision::Rollback: return QStringLiteral("regression");
    case JudgeDecision::Promote: return QStringLiteral("safe to promote");
    }
    return {};
}

QString checkSequentialSettings(const SequentialSettings &settings)
{
    if (!(settings.alpha > 0 && settings.alpha <= 0.5))
        return QStringLiteral("alpha must be above 0 and at most 0.5, for example 0.05");
    if (!(settings.k0 > 0 && std::isfinite(settings.k0)))
        return QStringLiteral("k0 must be a ratio above 0, for example 1 (any rise is a "
                              "regression) or 1.2 (a rise of over 20 %)");
    if (!(settings.promoteBelow > settings.k0 && std::isfinite(settings.promoteBelow)))
        return QStringLiteral("promote_below must be above k0 (%1), for example %2")
            .arg(QString::number(settings.k0, 'g', 4), QString::number(2 * settings.k0, 'g', 4));
    return {};
}

double ratioevidence::gridRatio(int index)
{
    return std::pow(alternativeStep, double(index - gridCentre) / gridStepsPerAlternative);
}

RateRatioEvidence startEvidence(CountedEvent event, double k0, double promoteBelow)
{
    RateRatioEvidence evidence;
    evidence.event = event;
    evidence.k0 = k0;
    evidence.promoteBelow = promoteBelow;
    evidence.regressionLogRatios.fill(0, ratioevidence::alternatives);
    evidence.promoteLogRatios.fill(0, ratioevidence::alternatives);
    evidence.profileLogLikelihood.fill(0, ratioevidence::gridPoints);
    return evidence;
}

bool isWellFormed(const RateRatioEvidence &evidence)
{
    const auto finite = [](const QList<double> &values) {
        return std::all_of(values.cbegin(), values.cend(),
                           [](double value) { return std::isfinite(value); });
    };
    const auto sane = [](const ArmCounts &counts) {
        return counts.requests >= 0 && counts.events >= 0 && counts.events <= counts.requests;
    };
    return evidence.regressionLogRatios.size() == ratioevidence::alternatives
           && evidence.promoteLogRatios.size() == ratioevidence::alternatives
           && evidence.profileLogLikelihood.size() == ratioevidence::gridPoints
           && finite(evidence.regressionLogRatios) && finite(evidence.promoteLogRatios)
           && finite(evidence.profileLogLikelihood) && evidence.k0 > 0
           && evidence.promoteBelow > evidence.k0 && std::isfinite(evidence.promoteBelow)
           && sane(evidence.baseline) && sane(evidence.canary) && evidence.intervals >= 0;
}

void addInterval(RateRatioEvidence &evidence, const ArmCounts &baseline, const ArmCounts &canary)
{
    evidence.baseline.requests += baseline.requests;
    evidence.baseline.events += baseline.events;
    evidence.canary.requests += canary.requests;
    evidence.canary.events += canary.events;
    // With one arm idle every event comes from the other whatever k is: nothing to learn.
    if (baseline.requests <= 0 || canary.requests <= 0)
        return;
    ++evidence.intervals;
    if (baseline.events + canary.events == 0)
        return;
    const auto add = [&](QList<double> &logRatios, double null, double direction) {
        const double atNull = logLikelihood(baseline, canary, null);
        for (int i = 0; i < ratioevidence::alternatives; ++i) {
            const double alternative = null * std::pow(alternativeRatio(i), direction);
            logRatios[i] += logLikelihood(baseline, canary, alternative) - atNull;
        }
    };
    add(evidence.regressionLogRatios, evidence.k0, 1);
    add(evidence.promoteLogRatios, evidence.promoteBelow, -1);
    for (int i = 0; i < ratioevidence::gridPoints; ++i)
        evidence.profileLogLikelihood[i]
            += logLikelihood(baseline, canary, ratioevidence::gridRatio(i));
}

double regressionLogE(const RateRatioEvidence &evidence)
{
    return mixture(evidence.regressionLogRatios);
}

double promoteLogE(const RateRatioEvidence &evidence)
{
    return mixture(evidence.promoteLogRatios);
}

RatioInterval ratioInterval(const RateRatioEvidence &evidence, double lowerAlpha, double upperAlpha)
{
    const QList<double> &profile = evidence.profileLogLikelihood;
    RatioInterval interval;
    // The lower bound: the largest k at which "the ratio is at most k" is still rejected.
    const double lowerNeeded = std::log(1 / lowerAlpha);
    for (int i = int(profile.size()) - 1; i >= 0; --i) {
        if (gridLogE(profile, i, true) >= lowerNeeded) {
            interval.lower = ratioevidence::gridRatio(i);
            break;
        }
    }
    const double upperNeeded = std::log(1 / upperAlpha);
    for (int i = 0; i < profile.size(); ++i) {
        if (gridLogE(profile, i, false) >= upperNeeded) {
            interval.upper = ratioevidence::gridRatio(i);
            break;
        }
    }
    return interval;
}

JudgeEvidence startJudge(const SequentialSettings &settings, const QList<CountedEvent> &events)
{
    JudgeEvidence judge;
    for (CountedEvent event : events)
        judge.events.append(startEvidence(event, settings.k0, settings.promoteBelow));
    return judge;
}

void addInterval(JudgeEvidence &judge, CountedEvent event, const ArmCounts &baseline,
                 const ArmCounts &canary)
{
    for (RateRatioEvidence &evidence : judge.events) {
        if (evidence.event == event)
            addInterval(evidence, baseline, canary);
    }
}

JudgeReading readJudge(const JudgeEvidence &judge, double alpha)
{
    JudgeReading reading;
    if (judge.events.isEmpty())
        return reading;
    const double regressionAlpha = alpha / double(judge.events.size());
    bool allSafe = true;
    for (const RateRatioEvidence &evidence : judge.events) {
        EventReading event;
        event.event = evidence.event;
        const double regression = regressionLogE(evidence);
        const double promote = promoteLogE(evidence);
        event.regressionE = cappedExp(regression);
        event.regressionNeeded = 1 / regressionAlpha;
        event.promoteE = cappedExp(promote);
        event.promoteNeeded = 1 / alpha;
        event.ratio = ratioInterval(evidence, regressionAlpha, alpha);
        event.baseline = evidence.baseline;
        event.canary = evidence.canary;
        // The grid rounds outwards; where the exact tests reject, their nulls bound k too, so
        // the interval never contradicts the decision beside it.
        const bool regressed = regression >= std::log(event.regressionNeeded);
        const bool safe = promote >= std::log(event.promoteNeeded);
        if (regressed)
            event.ratio.lower = std::max(event.ratio.lower.value_or(0), evidence.k0);
        if (safe)
            event.ratio.upper = std::min(event.ratio.upper.value_or(evidence.promoteBelow),
                                         evidence.promoteBelow);
        if (regressed)
            event.decision = JudgeDecision::Rollback;
        else if (safe)
            event.decision = JudgeDecision::Promote;
        allSafe = allSafe && event.decision == JudgeDecision::Promote;
        if (event.decision == JudgeDecision::Rollback)
            reading.decision = JudgeDecision::Rollback;
        reading.events.append(event);
    }
    if (reading.decision != JudgeDecision::Rollback && allSafe)
        reading.decision = JudgeDecision::Promote;
    return reading;
}

QString formatRatio(double ratio)
{
    if (ratio >= 10)
        return QString::number(ratio, 'f', 0);
    if (ratio >= 1)
        return QString::number(ratio, 'f', 1);
    return QString::number(ratio, 'g', 2);
}

QString describe(const RatioInterval &ratio, JudgeDecision decision)
{
    // A bound that a rejected test set is strict: a regression shows k above k0, not at it.
    const QString above
        = decision == JudgeDecision::Rollback ? QStringLiteral(">") : QStringLiteral("≥");
    const QString below
        = decision == JudgeDecision::Promote ? QStringLiteral("<") : QStringLiteral("≤");
    if (ratio.lower && ratio.upper) {
        if (decision == JudgeDecision::Continue)
            return QStringLiteral("k %1–%2").arg(formatRatio(*ratio.lower),
                                                 formatRatio(*ratio.upper));
        return QStringLiteral("k %1 %2, %3 %4")
            .arg(above, formatRatio(*ratio.lower), below, formatRatio(*ratio.upper));
    }
    if (ratio.lower)
        return QStringLiteral("k %1 %2").arg(above, formatRatio(*ratio.lower));
    if (ratio.upper)
        return QStringLiteral("k %1 %2").arg(below, formatRatio(*ratio.upper));
    return QStringLiteral("k not bounded yet");
}

QString describe(const EventReading &reading)
{
    return QStringLiteral("%1: %2, %3 (canary %4 of %5, baseline %6 of %7; evidence %8 of %9 for "
                          "a regression, %10 of %11 for safe)")
        .arg(describe(reading.event), describe(reading.decision),
             describe(reading.ratio, reading.decision))
        .arg(reading.canary.events)
        .arg(reading.canary.requests)
        .arg(reading.baseline.events)
        .arg(reading.baseline.requests)
        .arg(formatEValue(reading.regressionE), formatEValue(reading.regressionNeeded),
             formatEValue(reading.promoteE), formatEValue(reading.promoteNeeded));
}

QString describe(const JudgeReading &reading)
{
    QStringList deciding, others;
    for (const EventReading &event : reading.events)
        (event.decision == reading.decision ? deciding : others).append(describe(event));
    return (deciding + others).join(QStringLiteral("; "));
}

} // namespace sb
