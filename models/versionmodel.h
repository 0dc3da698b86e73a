#pragma once

#include "fleet.h"
#include "rowstore.h"

#include <QAbstractTableModel>

namespace sb {

// One row per version of one service: its instances, the traffic the router is set to send it,
// the traffic it actually receives, and its error rate and latency. Rows come from
// summarizeVersions(), in version order.
class VersionModel : public QAbstractTableModel
{
    Q_OBJECT
public:
    enum Column {
        VersionColumn,
        InstancesColumn,
        TrafficSetColumn,
        TrafficObservedColumn,
        ErrorRateColumn,
        P99Column,
        ColumnCount
    };
    Q_ENUM(Column)

    // Raw values, the same in every column of a row; "unknown" is an invalid QVariant.
    enum Role {
        VersionRole = Qt::UserRole, // QString
        ReadyRole,                  // int
        TotalRole,                  // int, live instances
        StartingRole,               // int
        DrainingRole,               // int
        FailedRole,                 // int
        WeightRole,                 // double, percent the router is set to
        ObservedShareRole,          // double percent of observed requests, or invalid
        ErrorRatioRole,             // double 0..1, or invalid
        P99Role,                    // double milliseconds, or invalid
        SortRole,                   // raw value of the column; unknown sorts first
    };
    Q_ENUM(Role)

    explicit VersionModel(QObject *parent = nullptr);

    // A refresh of the same service diffs by version; another service resets the model.
    void setService(const ServiceStatus &status);
    void clear();
    ServiceKey service() const { return m_service; }

    QString versionAt(int row) const;
    int rowOf(const QString &version) const { return m_rows.indexOf(version); }

    int rowCount(const QModelIndex &parent = QModelIndex()) const override;
    int columnCount(const QModelIndex &parent = QModelIndex()) const override;
    QVariant data(const QModelIndex &index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation,
                        int role = Qt::DisplayRole) const override;

private:
    static ColumnSpan changedColumns(const VersionSummary &before, const VersionSummary &after);
    QVariant display(const VersionSummary &row, int column) const;
    QVariant sortValue(int row, int column) const;

    template <typename, typename>
    friend class RowStore;

    RowStore<VersionSummary, QString> m_rows;
    ServiceKey m_service;
    bool m_loaded = false;
};

} // namespace sb
