#pragma once

#include "fleet.h"
#include "metricdefinition.h"
#include "sequentialjudge.h"
#include "timepoint.h"

#include <QDebug>
#include <QString>

#include <optional>
#include <variant>

namespace sb {

// The limit a canary's value must keep: absolute ("< 400ms") or relative to the baseline
// ("<= 1.5 x baseline + 0.1%"), where the baseline is the stable version measured over the same
// interval. Written as text in the workspace and shown as written.
struct GateBound {
    enum class Comparison { Below, AtMost, Above, AtLeast }; // <, <=, >, >=
    Comparison comparison = Comparison::AtMost;
    bool relative = false;
    double factor = 1; // relative only: times the baseline
    double offset = 0; // relative: added to factor x baseline; absolute: the limit itself
    QString text;      // as written, for display

    // The limit for this measurement; relative bounds need the baseline's value.
    std::optional<double> limit(std::optional<double> baseline) const;
    bool holds(double canary, double limit) const;
    friend bool operator==(const GateBound &, const GateBound &) = default;
};

// A bound that did not parse: what is wrong and where in the text (0-based), so the workspace
// loader can point at the exact column.
struct BoundError {
    qsizetype offset = 0;
    QString message;
};

// Parses "< 400ms", "<= 1.5 x baseline + 0.1%", ">= 0.9 x baseline", ">= baseline - 2%", in
// the units of `unit` (a bare number is a ratio, milliseconds, or the unit itself).
std::variant<GateBound, BoundError> parseGateBound(const QString &text, MetricUnit unit);

enum class Verdict { Pass, Fail, Inconclusive };
QString toString(Verdict verdict); // "pass", "fail", "inconclusive"

// How a gate judges the canary: each interval against a bound, or by a sequential test over
// everything the release has seen (sequentialjudge.h).
enum class GateMethod { Threshold, Sequential };
QString toString(GateMethod method); // "threshold", "sequential"
std::optional<GateMethod> gateMethodFromString(const QString &text);

// A sequential gate's own settings.
struct SequentialGate {
    SequentialSettings settings;
    QList<CountedEvent> counts{CountedEvent::Errors, CountedEvent::SlowRequests};
    // Slow means slower than this. None: the baseline's p99 in the first interval with enough
    // baseline requests (sequentialgate.h), moved to the nearest bucket bound of the latency
    // histogram so that the count is exact; it then stays fixed for the release.
    std::optional<double> slowerThanMs;

    friend bool operator==(const SequentialGate &, const SequentialGate &) = default;
};

// A named check of the canary against its baseline while a stage bakes.
//
// A threshold gate measures one metric every `interval` against `bound`, and fails the release
// after `failureLimit` failing measurements in one stage; with too few requests in either arm the
// measurement is inconclusive, never a pass.
//
// A sequential gate reads every metrics interval (never the same requests twice) and keeps its
// evidence from stage to stage for the whole release. It fails the release as soon as it shows a
// regression; at the end of a bake it passes unless the stage has seen fewer than `minRequests`
// canary requests. `metric`, `bound`, `failureLimit` and `interval` are unused.
struct GateSpec {
    QString name;
    GateMethod method = GateMethod::Threshold;
    MetricDefinition metric;
    GateBound bound;
    qint64 minRequests = 100;
    int failureLimit = 3;
    Duration interval{std::chrono::minutes(1)};
    SequentialGate sequential;
    // Where it was defined ("signalbox.yaml:31"), or "built-in".
    QString origin;

    friend bool operator==(const GateSpec &, const GateSpec &) = default;
};

// One measurement of a gate: its verdict, the values it saw and why it decided so, in words an
// operator reads in the gates table and the journal keeps.
struct Measurement {
    TimePoint at;
    Verdict verdict = Verdict::Inconclusive;
    std::optional<double> canary;
    std::optional<double> baseline;
    std::optional<double> limit;
    qint64 canaryRequests = 0;
    qint64 baselineRequests = 0;
    QString why;

    friend bool operator==(const Measurement &, const Measurement &) = default;
};

// Measures `gate` on one metrics interval. No metrics, a missing version, a value the source
// did not report, or fewer than minRequests requests in either arm: inconclusive, with the reason.
Measurement measureGate(const GateSpec &gate, const std::optional<MetricsSnapshot> &metrics,
                        const QString &canaryVersion, const QString &baselineVersion, TimePoint at,
                        const QString &metricsError = QString());

// The bound in words with units, as the gates table shows it: "≤ 1.5 × baseline + 0.10 pt".
QString describeBound(const GateBound &bound, MetricUnit unit);

QDebug operator<<(QDebug debug, const Measurement &measurement);

} // namespace sb
