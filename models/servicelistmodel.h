#pragma once

#include "fleet.h"
#include "rowstore.h"

#include <QAbstractTableModel>

namespace sb {

// One row per service and environment of the console snapshot, in workspace order.
class ServiceListModel : public QAbstractTableModel
{
    Q_OBJECT
public:
    // Suffixed so they do not shadow sb::Health and sb::Strategy inside the class.
    enum Column {
        NameColumn,
        EnvironmentColumn,
        VersionsColumn,
        HealthColumn,
        StrategyColumn,
        InstancesColumn,
        ColumnCount
    };
    Q_ENUM(Column)

    enum Role {
        ServiceIdRole = Qt::UserRole, // QString, ServiceKey::id()
        ServiceKeyRole,               // sb::ServiceKey
        HealthRole,                   // int(sb::Health)
        SortRole,                     // raw value of the column, for ServiceFilterProxy
        StrategyRole,                 // int(sb::Strategy)
        ReadyCountRole,               // int, ready instances
        LiveCountRole,                // int, live (not terminated) instances
    };
    Q_ENUM(Role)

    explicit ServiceListModel(QObject *parent = nullptr);

    void setSnapshot(const ConsoleSnapshot &snapshot);
    // A word on the service's release beside its strategy ("5 %", "paused", "aborted");
    // empty for none. Kept across snapshots until replaced.
    void setReleaseNote(const ServiceKey &key, const QString &note);

    ServiceKey keyAt(int row) const;
    int rowOf(const ServiceKey &key) const;

    // Higher is worse: what "sort by health" orders by. Unknown ranks above healthy because a
    // service nobody can see needs a look.
    static int severity(Health health);

    int rowCount(const QModelIndex &parent = QModelIndex()) const override;
    int columnCount(const QModelIndex &parent = QModelIndex()) const override;
    QVariant data(const QModelIndex &index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation,
                        int role = Qt::DisplayRole) const override;

private:
    // Everything a row shows, computed once per snapshot: data() is called far more often than
    // setSnapshot(), and health walks the whole fleet.
    struct Row {
        ServiceKey key;
        QString versionsText;
        int versionCount = 0;
        Health health = Health::Unknown;
        QString problems; // adapter errors, for the health tooltip
        Strategy strategy = Strategy::None;
        bool hasFleet = false;
        int ready = 0;
        int live = 0;
    };
    static Row summarize(const ServiceStatus &status);
    static ColumnSpan changedColumns(const Row &before, const Row &after);

    template <typename, typename>
    friend class RowStore;

    RowStore<Row, ServiceKey> m_rows;
    QHash<ServiceKey, QString> m_releaseNotes;
    bool m_loaded = false;
};

} // namespace sb
