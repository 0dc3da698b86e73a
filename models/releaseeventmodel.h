#pragma once

#include "releaseevent.h"

#include <QAbstractTableModel>

namespace sb {

// A release's events, newest first. Events only ever accumulate, so a refresh of the same
// release inserts the new ones at the top; another release resets.
class ReleaseEventModel : public QAbstractTableModel
{
    Q_OBJECT
public:
    enum Column { TimeColumn, ActorColumn, KindColumn, ReasonColumn, ColumnCount };
    Q_ENUM(Column)

    explicit ReleaseEventModel(QObject *parent = nullptr);

    void setEvents(const QString &releaseId, const QList<ReleaseEvent> &events);
    void clear();
    const ReleaseEvent &eventAt(int row) const;

    int rowCount(const QModelIndex &parent = QModelIndex()) const override;
    int columnCount(const QModelIndex &parent = QModelIndex()) const override;
    QVariant data(const QModelIndex &index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation,
                        int role = Qt::DisplayRole) const override;

private:
    QString m_releaseId;
    QList<ReleaseEvent> m_events; // oldest first, as recorded
};

} // namespace sb
