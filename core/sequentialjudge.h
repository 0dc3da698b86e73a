#pragma once

// The sequential canary judge: anytime-valid tests of how much more often the canary errs (or
// answers slowly) than its baseline, looked at after every interval and stopping as soon as the
// evidence suffices. Each look is free: the probability of ever blaming a healthy canary stays
// within alpha however often the judge looks (Ville's inequality on a mixture likelihood ratio).
//
// The model: in an interval where the canary served a share w of the requests, an event (an
// error, a slow request) comes from the canary with probability theta = w k / (w k + 1 - w), k
// being the ratio of the canary's event rate to the baseline's. Conditioning on events makes the
// test immune to what both arms share (an incident that multiplies both error rates) and lets
// the evidence carry across stages, since each interval brings its own w.

#include <QList>
#include <QString>

#include <optional>

namespace sb {

// What a judge counts in each arm.
enum class CountedEvent {
    Errors,       // failed requests
    SlowRequests, // requests slower than a fixed latency threshold
};
QString toString(CountedEvent event); // "errors", "slow_requests"
std::optional<CountedEvent> countedEventFromString(const QString &text);
QString describe(CountedEvent event); // "errors", "slow requests"

// One interval's counts in one arm.
struct ArmCounts {
    qint64 requests = 0;
    qint64 events = 0; // errors or slow requests, at most `requests`

    friend bool operator==(const ArmCounts &, const ArmCounts &) = default;
};

enum class JudgeDecision {
    Continue, // no evidence yet either way
    Rollback, // a regression: the canary's rate is above k0 times the baseline's
    Promote,  // safe to promote: the canary's rate is below promoteBelow times the baseline's
};
QString toString(JudgeDecision decision); // "continue", "rollback", "promote"
QString describe(JudgeDecision decision); // "no evidence yet", "regression", "safe to promote"

struct SequentialSettings {
    // The bound on false alarms over the whole release, split evenly between the counted events.
    double alpha = 0.05;
    // A regression is a ratio k above k0 ...
    double k0 = 1;
    // ... and "safe to promote" is k shown below this, which must be above k0: a canary exactly
    // as good as its baseline can never be shown better than it.
    double promoteBelow = 2;

    friend bool operator==(const SequentialSettings &, const SequentialSettings &) = default;
};
// Why the settings cannot be used, naming the setting and what to write; empty when they can.
QString checkSequentialSettings(const SequentialSettings &settings);

// The evidence about k for one counted event, accumulated interval by interval. A plain value,
// so that a release carries it across a restart: the log likelihood ratios of each alternative
// against the two nulls, and the log likelihood on a fixed grid of k for the confidence
// interval. Every list has a fixed length (see ratioevidence::); anything else is malformed.
struct RateRatioEvidence {
    CountedEvent event = CountedEvent::Errors;
    double k0 = 1;
    double promoteBelow = 2;
    QList<double> regressionLogRatios;  // alternatives above k0, against k = k0
    QList<double> promoteLogRatios;     // alternatives below promoteBelow, against k = promoteBelow
    QList<double> profileLogLikelihood; // at ratioevidence::gridRatio(i), up to a constant
    ArmCounts baseline;                 // totals of the intervals added
    ArmCounts canary;
    qint64 intervals = 0; // intervals that carried information (both arms served requests)

    friend bool operator==(const RateRatioEvidence &, const RateRatioEvidence &) = default;
};

namespace ratioevidence {
// The alternatives of both tests: k0 x 1.5^i above, promoteBelow / 1.5^i below, i = 1..6, with
// weights falling as 1.5^(-i/2): small regressions need the most evidence, so they get the most
// weight, and a 10x one is still caught within seconds.
inline constexpr int alternatives = 6;
// The confidence interval's grid: k = 1.5^((i - 60) / 4), from about 1/440 to 440 in steps of
// 10.7 %. Bounds reach about 1/290 to 290: the outermost points have no alternatives on the grid.
inline constexpr int gridPoints = 121;
double gridRatio(int index);
} // namespace ratioevidence

RateRatioEvidence startEvidence(CountedEvent event, double k0, double promoteBelow);
// Whether the lists have the lengths above and every number is finite: what a decoded record
// must satisfy before it is used.
bool isWellFormed(const RateRatioEvidence &evidence);
// Adds one interval. An interval in which either arm served nothing says nothing about k and is
// skipped. Counts must be sane (0 <= events <= requests); the caller checks.
void addInterval(RateRatioEvidence &evidence, const ArmCounts &baseline, const ArmCounts &canary);
// ln of the e-value against "k <= k0" and against "k >= promoteBelow": the mixture likelihood
// ratios. Each reaches ln(1/alpha) with probability at most alpha while its null holds.
double regressionLogE(const RateRatioEvidence &evidence);
double promoteLogE(const RateRatioEvidence &evidence);

// Bounds on k that hold at every look: below it at 1 - `lowerAlpha`, above it at 1 - `upperAlpha`.
// Rounded outwards to the grid; none where the evidence does not bound k within the grid.
// (readJudge() tightens them to k0 and promoteBelow where its exact tests reject.)
struct RatioInterval {
    std::optional<double> lower;
    std::optional<double> upper;

    friend bool operator==(const RatioInterval &, const RatioInterval &) = default;
};
RatioInterval ratioInterval(const RateRatioEvidence &evidence, double lowerAlpha,
                            double upperAlpha);

// A judge over one or more counted events. Regression in any one rolls back, so each event's
// regression test gets alpha / n (Bonferroni); promotion needs every event shown safe, so each
// mirror test may use the whole alpha (an intersection-union test).
struct JudgeEvidence {
    QList<RateRatioEvidence> events; // one per counted event, in the order the gate lists them

    friend bool operator==(const JudgeEvidence &, const JudgeEvidence &) = default;
};
JudgeEvidence startJudge(const SequentialSettings &settings, const QList<CountedEvent> &events);
// Adds one interval of `event`'s counts; an event the judge does not count is ignored.
void addInterval(JudgeEvidence &judge, CountedEvent event, const ArmCounts &baseline,
                 const ArmCounts &canary);

struct EventReading {
    CountedEvent event = CountedEvent::Errors;
    JudgeDecision decision = JudgeDecision::Continue;
    double regressionE = 1;       // e-value against "k <= k0" (capped at 1e12 for display)
    double regressionNeeded = 20; // n / alpha
    double promoteE = 1;          // e-value against "k >= promoteBelow"
    double promoteNeeded = 20;    // 1 / alpha
    RatioInterval ratio;          // lower at alpha / n, upper at alpha: the decisions' levels
    ArmCounts baseline;           // totals
    ArmCounts canary;
};

struct JudgeReading {
    JudgeDecision decision = JudgeDecision::Continue;
    QList<EventReading> events;
};
JudgeReading readJudge(const JudgeEvidence &judge, double alpha);

// The interval for k in words: "k 0.52–1.9"; where a test rejected, its bound is strict: "k >
// 1.0, ≤ 4.6" for a regression, "k ≥ 0.4, < 2.0" when safe; "k not bounded yet".
QString describe(const RatioInterval &ratio, JudgeDecision decision);
// One event's reading in a line for the gates table, the journal and signalbox-ctl: "errors: no
// evidence yet, k 0.52–1.9 (canary 8 of 2000, baseline 190 of 38000; evidence 1.4 of 40 for a
// regression, 3.1 of 20 for safe)".
QString describe(const EventReading &reading);
// The judge's reading in one sentence, leading with the event that decided.
QString describe(const JudgeReading &reading);
// k as the console writes it: "0.52", "1.0", "1.9", "12".
QString formatRatio(double ratio);

} // namespace sb
