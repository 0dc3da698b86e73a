#pragma once

#include "fleet.h"
#include "timepoint.h"

#include <QDebug>
#include <QMap>
#include <QString>

#include <optional>

namespace sb {

// Something that happened to a release: a stage change, a gate's verdict, an operator's action,
// a backend's refusal. Plain values, so the journal can store them exactly as the console showed
// them.
struct ReleaseEvent {
    enum class Kind {
        Started,       // an operator started the release
        StageStarted,  // a stage began: its canary instances are being brought up
        WeightSet,     // the stage's weight is on the router and observed; the bake began
        GateMeasured,  // a gate's verdict, with the values it saw
        Held,          // the bake is over but the stage cannot advance yet (reason says why)
        Promoted,      // an operator cut a stage short
        PromotedFully, // an operator sent the release straight to 100 %
        Paused,
        Resumed,
        Aborted,      // by an operator, or automatically by a failed gate or a refused action
        RolledBack,   // after an abort: the stable version serves all traffic again
        Retried,      // an operator restarted an aborted release from its first stage
        Succeeded,    // the new version serves all traffic and the old one is scaled down
        ActionFailed, // a backend refused or did not answer; the action will be retried
        Scaled,       // the release asked for a version's size: a rolling step, a colour up or down
        Switched,     // blue-green: all traffic moved to the new colour, observed on the router
        SwitchedBack, // blue-green: all traffic back on the old colour, inside the warm window
        WindowExtended,  // blue-green: the old colour stays warm for longer
        Stalled,         // rolling: nothing progressed within the deadline; the release paused
        RollbackStarted, // rolling: the previous version is being rolled out again
    };

    TimePoint at;
    QString actor; // the operator, or "signalbox" for automatic decisions
    ServiceKey service;
    QString releaseId;
    Kind kind = Kind::Started;
    int stage = -1; // 0-based; -1 when not about a stage
    QString reason;
    // The metric values the decision saw: "error_rate.canary", "error_rate.baseline",
    // "error_rate.limit", and the like.
    QMap<QString, double> values;

    friend bool operator==(const ReleaseEvent &, const ReleaseEvent &) = default;
};

QString toString(ReleaseEvent::Kind kind); // "started", "stage-started", "gate-measured", ...
// The kind toString() names; nothing for any other text.
std::optional<ReleaseEvent::Kind> releaseEventKind(const QString &text);
// The actor of decisions nobody clicked.
inline const QString automaticActor = QStringLiteral("signalbox");

QDebug operator<<(QDebug debug, const ReleaseEvent &event);

} // namespace sb
