#pragma once

#include "gate.h"
#include "timepoint.h"

#include <QList>
#include <QMap>
#include <QString>
#include <QStringList>

namespace sb {

// One step of a canary: send `weightPercent` of requests to the new version, let it bake for
// `bake` while its gates measure, then (after an operator's approval, if asked) go on.
struct CanaryStage {
    double weightPercent = 0;
    Duration bake{0};
    QStringList gates; // names of CanaryPlan::gates
    bool approval = false;

    friend bool operator==(const CanaryStage &, const CanaryStage &) = default;
};

// An immutable canary plan. Weights rise strictly and the last stage is 100 %: reaching it
// completes the release, so its bake and gates are not used. The plan carries the gates it
// names, so it means the same thing wherever it is passed.
struct CanaryPlan {
    QString name;
    QString origin; // "signalbox.yaml:40", "rollout.yaml (Argo Rollouts)", "built-in"
    QList<CanaryStage> stages;
    QMap<QString, GateSpec> gates;

    const CanaryStage &stage(int index) const { return stages.at(index); }
    int finalStage() const { return int(stages.size()) - 1; }
    // The sum of every bake before the final stage.
    Duration totalBake() const;
    int approvals() const;
    // Time from a regression to the canary's weight being 0 when the worst-placed threshold gate
    // catches it: failureLimit measurements one interval apart, the last one a full interval
    // after the regression began. The router call itself is not counted. Sequential gates are
    // left out: they act as soon as their evidence suffices, which depends on the traffic and
    // on how large the regression is, so they have no fixed worst case. Zero when no threshold
    // gate checks the plan.
    Duration worstCaseDetection() const;

    friend bool operator==(const CanaryPlan &, const CanaryPlan &) = default;
};

// Threshold gates every workspace has unless it defines its own under the same names:
// error-rate, p99-latency, cpu and memory.
QList<GateSpec> builtInGates();
// The sequential gate every workspace has unless it defines its own `judge`: errors and slow
// requests, the default settings (alpha 0.05, k0 1, promote below 2), at least 200 canary
// requests a stage. Only plans that name it use it.
GateSpec builtInJudge();
inline const QString builtInJudgeName = QStringLiteral("judge");

// The playbook's plan: 1 % for 10 min on health gates; 5 % for 20 min adding business gates;
// 25 % for 30 min adding resource gates; 50 % for 30 min; then 100 %. `gates` are all the gates
// the workspace knows; each threshold gate joins at the stage of its metric's group. Sequential
// gates stay out: a plan chooses its sequential gate by naming it.
CanaryPlan playbookPlan(const QList<GateSpec> &gates);
inline const QString playbookPlanName = QStringLiteral("playbook");

// The first structural problem of a plan, in words (weights not rising, out of range, a stage
// without gates, an unknown gate, more than one sequential gate); empty when the plan is sound.
// `stageIndex` receives the stage concerned, -1 for the plan as a whole.
QString checkPlan(const CanaryPlan &plan, int *stageIndex = nullptr);

// How many canary instances a stage runs: enough to carry its share of `replicas`, at least one.
int canaryInstancesFor(double weightPercent, int replicas);

} // namespace sb
