#pragma once

// A sequential gate inside a canary release: what it reads from each metrics interval, and the
// measurement it records in the stage's gate state. The statistics are in sequentialjudge.h.

#include "canaryplan.h"
#include "fleet.h"
#include "gate.h"
#include "release.h"
#include "result.h"

#include <QMap>
#include <QString>

#include <optional>

namespace sb {

// Fresh evidence for every sequential gate the plan names, by gate name.
QMap<QString, SequentialGateState> freshJudges(const CanaryPlan &plan);

// `event`'s counts in one version's interval: errors from its requests and error ratio, slow
// requests from its latency histogram at `slowerThanMs`. Why not, when the interval lacks them.
Result<ArmCounts, QString> countsOf(const VersionMetrics &metrics, CountedEvent event,
                                    std::optional<double> slowerThanMs);

// The latency a baseline's histogram makes the slow threshold: the bucket bound nearest its p99
// (counting is exact only at a bound). None without requests.
std::optional<double> slowThresholdOf(const LatencyHistogram &baseline);

// Baseline requests an interval needs before its p99 may become the slow threshold.
inline constexpr qint64 minRequestsForSlowThreshold = 200;

// One look of a sequential gate at `now`: when `metrics` is an interval the gate has not read,
// wholly after `since` and after the last interval it read, the interval goes into the evidence
// and the look gives the measurement to record in the stage's `stageState`: fail on a regression;
// inconclusive when a counted event could not be counted in it (saying why) or before the stage
// has seen `minRequests` canary requests; pass otherwise. Nothing when there is no such interval.
std::optional<Measurement> readSequentialGate(const GateSpec &gate, SequentialGateState &judge,
                                              const GateState &stageState, TimePoint since,
                                              const std::optional<MetricsSnapshot> &metrics,
                                              const QString &canaryVersion,
                                              const QString &baselineVersion, TimePoint now);

// A reading's figures for the event that records it: per counted event, "<event>.k_lower",
// "<event>.k_upper" (where bounded), "<event>.e_regression", "<event>.e_safe", and the totals
// "<event>.canary", "<event>.baseline", "requests.canary", "requests.baseline".
void addJudgeValues(QMap<QString, double> &values, const JudgeReading &reading);

} // namespace sb
