#pragma once

#include "fleet.h"
#include "rowstore.h"

#include <QAbstractListModel>

namespace sb {

// The instances of one service's fleet, ordered by version (versionLessThan) and then by id,
// terminated ones included while the snapshot still lists them.
class InstanceModel : public QAbstractListModel
{
    Q_OBJECT
public:
    enum Role {
        IdRole = Qt::UserRole, // QString; also the display text
        VersionRole,           // QString
        StateRole,             // int(sb::InstanceState)
        SinceRole,             // qint64 msecs since epoch, when it entered its state
        ZoneRole,              // QString
    };
    Q_ENUM(Role)

    explicit InstanceModel(QObject *parent = nullptr);

    // A refresh of the same service diffs by instance id; another service resets the model.
    void setFleet(const FleetSnapshot &fleet);
    void clear();
    ServiceKey service() const { return m_service; }

    // -1 when absent.
    int rowOf(const QString &instanceId) const { return m_rows.indexOf(instanceId); }
    Instance instanceAt(int row) const;

    int rowCount(const QModelIndex &parent = QModelIndex()) const override;
    QVariant data(const QModelIndex &index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation,
                        int role = Qt::DisplayRole) const override;
    QHash<int, QByteArray> roleNames() const override;

private:
    static std::vector<Instance> ordered(const QList<Instance> &instances);

    template <typename, typename>
    friend class RowStore;

    RowStore<Instance, QString> m_rows;
    ServiceKey m_service;
    bool m_loaded = false;
};

} // namespace sb
