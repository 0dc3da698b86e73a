#pragma once

#include "canaryplan.h"
#include "diagnostic.h"
#include "gate.h"
#include "result.h"

#include <QByteArray>
#include <QMap>
#include <QString>
#include <QStringList>

namespace sb {

// What an imported Argo Rollouts manifest cannot say itself: which Signalbox gates its
// AnalysisTemplates stand for.
struct ArgoImportOptions {
    QString planName;
    // Every gate the workspace knows, by name.
    QMap<QString, GateSpec> gates;
    // AnalysisTemplate name -> gate name; a template not listed stands for the gate of its name.
    QMap<QString, QString> templateGates;
    // Gates every stage but the final one checks, for manifests that run no analysis.
    QStringList everyStageGates;
};

// Imports the canary steps of the one Argo Rollout (kind: Rollout, apiVersion argoproj.io/...)
// among the YAML documents of `yaml` as a canary plan:
// - `setWeight: N` starts a stage at N % (of trafficRouting.maxTrafficWeight when set);
// - `pause: {duration: D}` adds D to the stage's bake, `pause: {}` asks for an approval;
// - `analysis` steps add the gates their templates stand for to the stage, and background
//   analysis (spec.strategy.canary.analysis) adds its gates to every stage it runs during, from
//   `startingStep` on;
// - a final 100 % stage is added when the steps stop short of it, as Argo promotes fully after
//   the last step; whatever follows `setWeight: 100` has no effect on the plan.
// A step Signalbox cannot carry out (setCanaryScale, experiment, setHeaderRoute,
// setMirrorRoute, plugin) is an error, never skipped. The first problem is returned, located in
// `file` (used as given, for messages) with the line it points at.
Result<CanaryPlan, Diagnostic> parseArgoRollout(const QByteArray &yaml, const QString &file,
                                                const ArgoImportOptions &options);

// Reads `path` and imports it as above; directories, pipes, devices and files over 8 MB are
// refused without reading them.
Result<CanaryPlan, Diagnostic> loadArgoRollout(const QString &path,
                                               const ArgoImportOptions &options);

} // namespace sb
