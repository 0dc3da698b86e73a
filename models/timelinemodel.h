#pragma once

#include "timelineindex.h"

#include <QAbstractTableModel>
#include <QSet>

#include <functional>

namespace sb {

// "Gate failed", "Backend error", "Rollback requested": what an entry of `kind` is, in words.
QString timelineKindText(const QString &kind, TimelineCategory category);
// An entry in one line: "set weights 2.4.0=75 2.4.1=25 → ok · stage 3 needs 25 %".
QString timelineSummary(const JournalEntry &entry);

// The timeline's matching entries as a table, newest first unless sorted by time ascending, to
// read them in order beside the lanes. Time, service, kind and actor come from the index; the
// reason from the full entry, which `lookup` answers when it has it. Rows whose entry it lacks
// are asked for with entriesWanted(), so the owner can fetch them from the journal, and read
// "…" until entriesArrived().
class TimelineModel : public QAbstractTableModel
{
    Q_OBJECT
public:
    enum Column { TimeColumn, ServiceColumn, KindColumn, ActorColumn, ReasonColumn, ColumnCount };
    Q_ENUM(Column)
    enum Role {
        IndexRowRole = Qt::UserRole + 1, // the row in the TimelineIndex
        SequenceRole,
        CategoryRole, // int(TimelineCategory)
        OperatorRole, // true when an operator, not the console, is the actor
    };
    using Lookup = std::function<const JournalEntry *(qint64 sequence)>;

    explicit TimelineModel(QObject *parent = nullptr);

    void setLookup(Lookup lookup);
    // A new result: `rows` ascending in `index`. Neither is owned: both must outlive the model or
    // the next call.
    void setMatches(const TimelineIndex *index, const std::vector<quint32> *rows);
    // Rows were added at the end of `rows` (newer entries that match); until this is called the
    // model shows the first `previousCount`.
    void rowsAppended(qsizetype previousCount);
    void entriesArrived();

    Qt::SortOrder timeOrder() const { return m_order; }
    quint32 indexRow(int row) const;
    // The table row showing index row `indexRow`, or -1 when it does not match.
    int rowOf(quint32 indexRow) const;

    int rowCount(const QModelIndex &parent = QModelIndex()) const override;
    int columnCount(const QModelIndex &parent = QModelIndex()) const override;
    QVariant data(const QModelIndex &index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation,
                        int role = Qt::DisplayRole) const override;
    // Only time orders the table: the index is in time order, and a journal reads as a story.
    void sort(int column, Qt::SortOrder order = Qt::AscendingOrder) override;

Q_SIGNALS:
    // Sequences of rows on show that the lookup could not answer, gathered over one event loop
    // turn.
    void entriesWanted(const QList<qint64> &sequences);

private:
    void want(qint64 sequence) const;
    void flushWanted();

    const TimelineIndex *m_index = nullptr;
    const std::vector<quint32> *m_rows = nullptr;
    qsizetype m_count = 0; // rows of m_rows shown: the views have been told of these
    Lookup m_lookup;
    Qt::SortOrder m_order = Qt::DescendingOrder;
    mutable QSet<qint64> m_wanted;
    mutable QSet<qint64> m_asked; // wanted once already: not asked again until entriesArrived()
    mutable bool m_flushPending = false;
};

} // namespace sb
