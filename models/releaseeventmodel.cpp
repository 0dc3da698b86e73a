#include "releaseeventmodel.h"

#include <QDateTime>

namespace sb {

namespace {

QString kindText(ReleaseEvent::Kind kind)
{
    using Kind = ReleaseEvent::Kind;
    switch (kind) {
    case Kind::Started: return QObject::tr("Started");
    case Kind::StageStarted: return QObject::tr("Stage");
    case Kind::WeightSet: return QObject::tr("Weight set");
    case Kind::GateMeasured: return QObject::tr("Gate");
    case Kind::Held: return QObject::tr("Held");
    case Kind::Promoted: return QObject::tr("Promoted");
    case Kind::PromotedFully: return QObject::tr("Promoted fully");
    case Kind::Paused: return QObject::tr("Paused");
    case Kind::Resumed: return QObject::tr("Resumed");
    case Kind::Aborted: return QObject::tr("Aborted");
    case Kind::RolledBack: return QObject::tr("Rolled back");
    case Kind::Retried: return QObject::tr("Retried");
    case Kind::Succeeded: return QObject::tr("Succeeded");
    case Kind::ActionFailed: return QObject::tr("Backend error");
    case Kind::Scaled: return QObject::tr("Scaled");
    case Kind::Switched: return QObject::tr("Switched");
    case Kind::SwitchedBack: return QObject::tr("Switched back");
    case Kind::WindowExtended: return QObject::tr("Extended");
    case Kind::Stalled: return QObject::tr("Stalled");
    case Kind::RollbackStarted: return QObject::tr("Rolling back");
    }
    return {};
}

} // namespace

ReleaseEventModel::ReleaseEventModel(QObject *parent)
    : QAbstractTableModel(parent)
{}

void ReleaseEventModel::setEvents(const QString &releaseId, const QList<ReleaseEvent> &events)
{
    const bool sameRelease = releaseId == m_releaseId && events.size() >= m_events.size()
                             && std::equal(m_events.cbegin(), m_events.cend(), events.cbegin());
    if (!sameRelease) {
        beginResetModel();
        m_releaseId = releaseId;
        m_events = events;
        endResetModel();
        return;
    }
    const int added = int(events.size() - m_events.size());
    if (added == 0)
        return;
    // Newest first: the new events go in at the top.
    beginInsertRows(QModelIndex(), 0, added - 1);
    m_events = events;
    endInsertRows();
}

void ReleaseEventModel::clear()
{
    beginResetModel();
    m_releaseId.clear();
    m_events.clear();
    endResetModel();
}

const ReleaseEvent &ReleaseEventModel::eventAt(int row) const
{
    return m_events.at(m_events.size() - 1 - row);
}

int ReleaseEventModel::rowCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : int(m_events.size());
}

int ReleaseEventModel::columnCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : ColumnCount;
}

QVariant ReleaseEventModel::data(const QModelIndex &index, int role) const
{
    if (!checkIndex(index, CheckIndexOption::IndexIsValid))
        return {};
    const ReleaseEvent &event = eventAt(index.row());
    switch (role) {
    case Qt::DisplayRole:
        switch (Column(index.column())) {
        case TimeColumn:
            return QDateTime::fromMSecsSinceEpoch(toMSecsSinceEpoch(event.at), Qt::UTC)
                .toString(QStringLiteral("HH:mm:ss"));
        case ActorColumn: return event.actor;
        case KindColumn: return kindText(event.kind);
        case ReasonColumn: return event.reason;
        case ColumnCount: break;
        }
        return {};
    case Qt::ToolTipRole: {
        QString text
            = QStringLiteral("%1 · %2 · %3\n%4")
                  .arg(formatUtc(event.at), event.actor, kindText(event.kind), event.reason);
        for (auto it = event.values.cbegin(); it != event.values.cend(); ++it)
            text += QStringLiteral("\n%1 = %2").arg(it.key()).arg(it.value(), 0, 'g', 6);
        return text;
    }
    default: return {};
    }
}

QVariant ReleaseEventModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole)
        return {};
    switch (Column(section)) {
    case TimeColumn: return tr("Time (UTC)");
    case ActorColumn: return tr("Who");
    case KindColumn: return tr("What");
    case ReasonColumn: return tr("Details");
    case ColumnCount: break;
    }
    return {};
}

} // namespace sb
