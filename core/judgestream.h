#pragma once

// Count streams for the canary judges: one line per interval with the requests and events of a
// baseline and a canary, as `signalbox-ctl judge` reads them from a file and the judge benchmark
// generates them, and the two judges that read such a stream: the sequential judge
// (sequentialjudge.h) and the threshold gate (gate.h) over the stream summed into its intervals.
//
// A line is `t,baseline_requests,baseline_errors,canary_requests,canary_errors` with
// `,baseline_slow,canary_slow` optionally after it: t in seconds, the counts for the interval
// that ends at t.

#include "gate.h"
#include "sequentialjudge.h"
#include "timepoint.h"

#include <QString>
#include <QStringView>

#include <optional>
#include <variant>

namespace sb {

// Requests slower than the latency threshold, per arm.
struct SlowCounts {
    qint64 baseline = 0;
    qint64 canary = 0;

    friend bool operator==(const SlowCounts &, const SlowCounts &) = default;
};

// One line of a stream.
struct StreamInterval {
    double t = 0; // seconds; the counts are for the interval that ends here
    qint64 baselineRequests = 0;
    qint64 baselineErrors = 0;
    qint64 canaryRequests = 0;
    qint64 canaryErrors = 0;
    std::optional<SlowCounts> slow; // lines of seven fields only

    // One arm's requests and its count of `event`; no slow requests when the line has none.
    ArmCounts baseline(CountedEvent event) const;
    ArmCounts canary(CountedEvent event) const;

    friend bool operator==(const StreamInterval &, const StreamInterval &) = default;
};

// A line that cannot be used: its number (from 1) and what is wrong with it, saying what to
// write instead.
struct StreamError {
    qint64 line = 0;
    QString message;

    QString toString() const; // "line 12: canary_errors 7 is above canary_requests 5; ..."
    friend bool operator==(const StreamError &, const StreamError &) = default;
};

// Reads a stream one line at a time, keeping what its checks need across lines: the line
// number, the previous line's t and whether the lines carry slow requests. Blank lines, lines
// starting with '#' and a header as the first line (starting with "t,") hold nothing. A
// malformed line changes nothing: the next line is checked against the last good one.
class StreamParser
{
public:
    // What a line held: nothing, an interval, or a mistake.
    using Line = std::variant<std::monostate, StreamInterval, StreamError>;
    Line parse(QStringView line);

    qint64 lineNumber() const { return m_line; } // of the last line parsed

private:
    qint64 m_line = 0;
    bool m_seenContent = false;
    std::optional<double> m_lastT;
    int m_fields = 0; // of the lines accepted so far; 0 before the first
};

// A judge's decision changing at a line of the stream: when, to what, and why in words.
struct DecisionChange {
    double t = 0;
    JudgeDecision decision = JudgeDecision::Continue;
    QString why;

    friend bool operator==(const DecisionChange &, const DecisionChange &) = default;
};

// A judge fed one interval at a time. Rollback is final: later intervals do not undo it.
class StreamJudge
{
public:
    virtual ~StreamJudge() = default;
    // Feeds the next interval (t increasing); the change of decision it brought, if any.
    virtual std::optional<DecisionChange> add(const StreamInterval &interval) = 0;
    virtual JudgeDecision decision() const = 0;
};

// The sequential judge over a stream. It counts errors, and slow requests too when the first
// interval carries them; the false-alarm bound alpha is split between the two (readJudge()).
// Safe to promote stays until a regression overrides it: anytime-valid evidence may be acted
// on as soon as it suffices, so a later dip of the e-value does not take it back.
class SequentialStreamJudge final : public StreamJudge
{
public:
    // The settings must pass checkSequentialSettings().
    explicit SequentialStreamJudge(const SequentialSettings &settings);

    std::optional<DecisionChange> add(const StreamInterval &interval) override;
    JudgeDecision decision() const override { return m_decision; }
    // The reading after the last interval fed (after a rollback: at the rollback).
    const JudgeReading &reading() const { return m_reading; }
    // None before the first interval.
    const std::optional<JudgeEvidence> &evidence() const { return m_evidence; }

private:
    SequentialSettings m_settings;
    std::optional<JudgeEvidence> m_evidence;
    JudgeReading m_reading;
    JudgeDecision m_decision = JudgeDecision::Continue;
};

// A threshold gate on the canary's error rate, as a workspace would define it: `bound` as
// parseGateBound() reads it ("<= 1%", "<= 1.5 x baseline + 0.1%"), `failureLimit` failing
// measurements roll back, one measurement per `interval`. The message of a bound that does not
// parse names it and what to write.
std::variant<GateSpec, QString> errorRateGate(const QString &bound, qint64 minRequests,
                                              int failureLimit, Duration interval);

// The threshold gate over a stream: the lines summed into the gate's intervals, which end at
// whole multiples of its interval from t = 0, each measured by measureGate() when a line reaches
// its end (or a later line shows it is over). It rolls back at the failureLimit-th failing
// measurement and never promotes by itself: passing measurements only let a stage go on.
class ThresholdStreamJudge final : public StreamJudge
{
public:
    explicit ThresholdStreamJudge(GateSpec gate);

    std::optional<DecisionChange> add(const StreamInterval &interval) override;
    JudgeDecision decision() const override { return m_decision; }
    const GateSpec &gate() const { return m_gate; }
    int measurements() const { return m_measurements; }
    int failures() const { return m_failures; }
    const std::optional<Measurement> &lastMeasurement() const { return m_last; }

private:
    // Measures the interval being summed; the change it brought, if any.
    std::optional<DecisionChange> measure();

    GateSpec m_gate;
    qint64 m_intervalMs = 0;
    qint64 m_windowEndMs = 0; // of the interval being summed; 0 when none is
    StreamInterval m_sum;
    int m_measurements = 0;
    int m_failures = 0;
    std::optional<Measurement> m_last;
    JudgeDecision m_decision = JudgeDecision::Continue;
};

// t as a stream writes it and signalbox-ctl prints it: "60", "60.5", whatever the locale.
QString formatStreamTime(double t);

} // namespace sb
