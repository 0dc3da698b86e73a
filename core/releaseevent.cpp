#include "releaseevent.h"

namespace sb {

QString toString(ReleaseEvent::Kind kind)
{
    using Kind = ReleaseEvent::Kind;
    switch (kind) {
    case Kind::Started: return QStringLiteral("started");
    case Kind::StageStarted: return QStringLiteral("stage-started");
    case Kind::WeightSet: return QStringLiteral("weight-set");
    case Kind::GateMeasured: return QStringLiteral("gate-measured");
    case Kind::Held: return QStringLiteral("held");
    case Kind::Promoted: return QStringLiteral("promoted");
    case Kind::PromotedFully: return QStringLiteral("promoted-fully");
    case Kind::Paused: return QStringLiteral("paused");
    case Kind::Resumed: return QStringLiteral("resumed");
    case Kind::Aborted: return QStringLiteral("aborted");
    case Kind::RolledBack: return QStringLiteral("rolled-back");
    case Kind::Retried: return QStringLiteral("retried");
    case Kind::Succeeded: return QStringLiteral("succeeded");
    case Kind::ActionFailed: return QStringLiteral("action-failed");
    case Kind::Scaled: return QStringLiteral("scaled");
    case Kind::Switched: return QStringLiteral("switched");
    case Kind::SwitchedBack: return QStringLiteral("switched-back");
    case Kind::WindowExtended: return QStringLiteral("window-extended");
    case Kind::Stalled: return QStringLiteral("stalled");
    case Kind::RollbackStarted: return QStringLiteral("rollback-started");
    }
    return {};
}

std::optional<ReleaseEvent::Kind> releaseEventKind(const QString &text)
{
    // The kinds are numbered from 0 without gaps and toString() names nothing past the last, so
    // a kind added there is parsed here without a second list to keep in step.
    for (int value = 0;; ++value) {
        const auto kind = ReleaseEvent::Kind(value);
        const QString name = toString(kind);
        if (name.isEmpty())
            return std::nullopt;
        if (name == text)
            return kind;
    }
}

QDebug operator<<(QDebug debug, const ReleaseEvent &event)
{
    QDebugStateSaver saver(debug);
    debug.nospace() << "ReleaseEvent(" << formatUtc(event.at) << ' ' << event.actor << ' '
                    << event.service.id() << ' ' << toString(event.kind);
    if (event.stage >= 0)
        debug << " stage " << event.stage + 1;
    debug << ": " << event.reason;
    if (!event.values.isEmpty())
        debug << ' ' << event.values;
    debug << ')';
    return debug;
}

} // namespace sb
