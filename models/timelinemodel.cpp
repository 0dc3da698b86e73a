#include "timelinemodel.h"

#include <QDateTime>

namespace sb {

QString timelineKindText(const QString &kind, TimelineCategory category)
{
    using Kind = ReleaseEvent::Kind;
    static const QHash<QString, QString> words = [] {
        QHash<QString, QString> w;
        w.insert(toString(Kind::Started), QObject::tr("Release started"));
        w.insert(toString(Kind::StageStarted), QObject::tr("Stage started"));
        w.insert(toString(Kind::WeightSet), QObject::tr("Weight set"));
        w.insert(toString(Kind::Held), QObject::tr("Held"));
        w.insert(toString(Kind::Promoted), QObject::tr("Promoted"));
        w.insert(toString(Kind::PromotedFully), QObject::tr("Promoted fully"));
        w.insert(toString(Kind::Paused), QObject::tr("Paused"));
        w.insert(toString(Kind::Resumed), QObject::tr("Resumed"));
        w.insert(toString(Kind::Aborted), QObject::tr("Aborted"));
        w.insert(toString(Kind::RolledBack), QObject::tr("Rolled back"));
        w.insert(toString(Kind::Retried), QObject::tr("Retried"));
        w.insert(toString(Kind::Succeeded), QObject::tr("Succeeded"));
        w.insert(toString(Kind::ActionFailed), QObject::tr("Backend error"));
        w.insert(toString(Kind::Scaled), QObject::tr("Scaled"));
        w.insert(toString(Kind::Switched), QObject::tr("Switched"));
        w.insert(toString(Kind::SwitchedBack), QObject::tr("Switched back"));
        w.insert(toString(Kind::WindowExtended), QObject::tr("Window extended"));
        w.insert(toString(Kind::Stalled), QObject::tr("Stalled"));
        w.insert(toString(Kind::RollbackStarted), QObject::tr("Rollback started"));
        w.insert(journalkind::intent, QObject::tr("Action asked"));
        w.insert(journalkind::restored, QObject::tr("Release restored"));
        w.insert(journalkind::rollbackRequested, QObject::tr("Rollback requested"));
        return w;
    }();
    if (kind == toString(Kind::GateMeasured)) {
        switch (category) {
        case TimelineCategory::GateFail: return QObject::tr("Gate failed");
        case TimelineCategory::Waiting: return QObject::tr("Gate undecided");
        default: return QObject::tr("Gate passed");
        }
    }
    if (kind == journalkind::outcome)
        return category == TimelineCategory::BackendError ? QObject::tr("Backend error")
                                                          : QObject::tr("Action done");
    // A kind from a newer console reads as it was written.
    return words.value(kind, kind);
}

QString timelineSummary(const JournalEntry &entry)
{
    QString text = entry.action;
    if (!entry.outcome.isEmpty())
        text += QStringLiteral(" → ") + entry.outcome;
    if (!entry.reason.isEmpty())
        text += (text.isEmpty() ? QString() : QStringLiteral(" · ")) + entry.reason;
    return text;
}

TimelineModel::TimelineModel(QObject *parent)
    : QAbstractTableModel(parent)
{}

void TimelineModel::setLookup(Lookup lookup)
{
    m_lookup = std::move(lookup);
    entriesArrived();
}

void TimelineModel::setMatches(const TimelineIndex *index, const std::vector<quint32> *rows)
{
    beginResetModel();
    m_index = index;
    m_rows = rows;
    m_count = rows ? qsizetype(rows->size()) : 0;
    m_wanted.clear();
    endResetModel();
}

void TimelineModel::rowsAppended(qsizetype previousCount)
{
    if (!m_rows)
        return;
    Q_ASSERT(previousCount == m_count);
    const auto added = int(qsizetype(m_rows->size()) - m_count);
    if (added <= 0)
        return;
    // Newest first, the new rows go on top; otherwise at the end.
    const int first = m_order == Qt::DescendingOrder ? 0 : int(m_count);
    beginInsertRows(QModelIndex(), first, first + added - 1);
    m_count = qsizetype(m_rows->size());
    endInsertRows();
}

void TimelineModel::entriesArrived()
{
    m_asked.clear();
    if (rowCount() > 0)
        Q_EMIT dataChanged(index(0, ReasonColumn), index(rowCount() - 1, ReasonColumn),
                           {Qt::DisplayRole, Qt::ToolTipRole});
}

quint32 TimelineModel::indexRow(int row) const
{
    Q_ASSERT(m_rows && row >= 0 && size_t(row) < m_rows->size());
    const size_t at
        = m_order == Qt::DescendingOrder ? m_rows->size() - 1 - size_t(row) : size_t(row);
    return (*m_rows)[at];
}

int TimelineModel::rowOf(quint32 indexRow) const
{
    if (!m_rows)
        return -1;
    const auto end = m_rows->cbegin() + m_count;
    const auto found = std::lower_bound(m_rows->cbegin(), end, indexRow);
    if (found == end || *found != indexRow)
        return -1;
    const auto at = int(found - m_rows->cbegin());
    return m_order == Qt::DescendingOrder ? int(m_count) - 1 - at : at;
}

int TimelineModel::rowCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : int(m_count);
}

int TimelineModel::columnCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : ColumnCount;
}

void TimelineModel::want(qint64 sequence) const
{
    if (m_asked.contains(sequence))
        return;
    m_asked.insert(sequence);
    m_wanted.insert(sequence);
    if (m_flushPending)
        return;
    m_flushPending = true;
    QMetaObject::invokeMethod(const_cast<TimelineModel *>(this), &TimelineModel::flushWanted,
                              Qt::QueuedConnection);
}

void TimelineModel::flushWanted()
{
    m_flushPending = false;
    if (m_wanted.isEmpty())
        return;
    QList<qint64> sequences(m_wanted.cbegin(), m_wanted.cend());
    m_wanted.clear();
    std::sort(sequences.begin(), sequences.end());
    Q_EMIT entriesWanted(sequences);
}

QVariant TimelineModel::data(const QModelIndex &index, int role) const
{
    if (!checkIndex(index, CheckIndexOption::IndexIsValid))
        return {};
    const quint32 row = indexRow(index.row());
    switch (role) {
    case IndexRowRole: return row;
    case SequenceRole: return m_index->sequenceAt(row);
    case CategoryRole: return int(m_index->categoryAt(row));
    case OperatorRole: return m_index->isOperatorAt(row);
    case Qt::DisplayRole:
    case Qt::ToolTipRole: break;
    default: return {};
    }
    switch (Column(index.column())) {
    case TimeColumn:
        return QDateTime::fromMSecsSinceEpoch(m_index->timeAt(row), Qt::UTC)
            .toString(QStringLiteral("yyyy-MM-dd HH:mm:ss.zzz"));
    case ServiceColumn: {
        const ServiceKey &lane = m_index->lane(m_index->laneAt(row));
        return lane.name.isEmpty() ? tr("console")
                                   : QStringLiteral("%1 · %2").arg(lane.name, lane.environment);
    }
    case KindColumn: return timelineKindText(m_index->kindAt(row), m_index->categoryAt(row));
    case ActorColumn: return m_index->actorAt(row);
    case ReasonColumn: {
        const qint64 sequence = m_index->sequenceAt(row);
        const JournalEntry *entry = m_lookup ? m_lookup(sequence) : nullptr;
        if (!entry) {
            want(sequence);
            return QStringLiteral("…");
        }
        return timelineSummary(*entry);
    }
    case ColumnCount: break;
    }
    return {};
}

QVariant TimelineModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole)
        return {};
    switch (Column(section)) {
    case TimeColumn: return tr("Time (UTC)");
    case ServiceColumn: return tr("Service");
    case KindColumn: return tr("What");
    case ActorColumn: return tr("Who");
    case ReasonColumn: return tr("Details");
    case ColumnCount: break;
    }
    return {};
}

void TimelineModel::sort(int column, Qt::SortOrder order)
{
    if (column != TimeColumn || order == m_order)
        return;
    Q_EMIT layoutAboutToBeChanged({}, QAbstractItemModel::VerticalSortHint);
    const QModelIndexList before = persistentIndexList();
    QList<int> indexRows;
    indexRows.reserve(before.size());
    for (const QModelIndex &index : before)
        indexRows.append(int(indexRow(index.row())));
    m_order = order;
    QModelIndexList after;
    after.reserve(before.size());
    for (qsizetype i = 0; i < before.size(); ++i)
        after.append(index(rowOf(quint32(indexRows.at(i))), before.at(i).column()));
    changePersistentIndexList(before, after);
    Q_EMIT layoutChanged({}, QAbstractItemModel::VerticalSortHint);
}

} // namespace sb
