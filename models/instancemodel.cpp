#include "instancemodel.h"

namespace sb {

InstanceModel::InstanceModel(QObject *parent)
    : QAbstractListModel(parent)
{}

std::vector<Instance> InstanceModel::ordered(const QList<Instance> &instances)
{
    // versionLessThan parses numbers out of both strings, too slow to run 140,000 times for a
    // large fleet; rank the handful of distinct versions once and sort by rank.
    QHash<QString, int> rankOf;
    QStringList versions;
    for (const Instance &instance : instances) {
        if (!rankOf.contains(instance.version)) {
            rankOf.insert(instance.version, 0);
            versions.append(instance.version);
        }
    }
    std::sort(versions.begin(), versions.end(), versionLessThan);
    for (int rank = 0; rank < versions.size(); ++rank)
        rankOf[versions[rank]] = rank;

    std::vector<std::pair<int, qsizetype>> order; // rank, position in `instances`
    order.reserve(size_t(instances.size()));
    for (qsizetype i = 0; i < instances.size(); ++i)
        order.emplace_back(rankOf.value(instances[i].version), i);

    const auto byId
        = [&instances](qsizetype a, qsizetype b) { return instances[a].id < instances[b].id; };
    const bool sortedById = std::is_sorted(
        order.begin(), order.end(), [&](auto &a, auto &b) { return byId(a.second, b.second); });
    if (sortedById) {
        // Snapshots arrive ordered by id, so ordering by rank alone, stably, is enough.
        std::stable_sort(order.begin(), order.end(),
                         [](auto &a, auto &b) { return a.first < b.first; });
    } else {
        std::sort(order.begin(), order.end(), [&](auto &a, auto &b) {
            return a.first != b.first ? a.first < b.first : byId(a.second, b.second);
        });
    }

    std::vector<Instance> rows;
    rows.reserve(order.size());
    for (const auto &[rank, position] : order)
        rows.push_back(instances[position]);
    return rows;
}

void InstanceModel::setFleet(const FleetSnapshot &fleet)
{
    std::vector<Instance> rows = ordered(fleet.instances);
    if (!m_loaded || fleet.service != m_service) {
        beginResetModel();
        m_service = fleet.service;
        m_rows.reset(std::move(rows), &Instance::id);
        m_loaded = true;
        endResetModel();
        return;
    }
    m_rows.apply(
        this, std::move(rows), &Instance::id,
        // Rows are ordered by version, so an instance that changed version changes place.
        [](const Instance &before, const Instance &after) {
            return before.version == after.version;
        },
        [](const Instance &before, const Instance &after) {
            ColumnSpan span;
            if (before != after)
                span.add(0);
            return span;
        });
}

void InstanceModel::clear()
{
    beginResetModel();
    m_service = {};
    m_rows.reset({}, &Instance::id);
    m_loaded = false;
    endResetModel();
}

Instance InstanceModel::instanceAt(int row) const
{
    return row >= 0 && row < m_rows.size() ? m_rows.at(row) : Instance();
}

int InstanceModel::rowCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : m_rows.size();
}

QVariant InstanceModel::data(const QModelIndex &index, int role) const
{
    if (!checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid))
        return {};
    const Instance &instance = m_rows.at(index.row());
    switch (role) {
    case Qt::DisplayRole:
    case IdRole: return instance.id;
    case Qt::ToolTipRole:
        return tr("%1, version %2, %3 since %4")
            .arg(instance.id, instance.version, toString(instance.state),
                 formatUtc(instance.since));
    case VersionRole: return instance.version;
    case StateRole: return int(instance.state);
    case SinceRole: return toMSecsSinceEpoch(instance.since);
    case ZoneRole: return instance.zone;
    }
    return {};
}

QVariant InstanceModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation == Qt::Horizontal && section == 0 && role == Qt::DisplayRole)
        return tr("Instance");
    return QAbstractListModel::headerData(section, orientation, role);
}

QHash<int, QByteArray> InstanceModel::roleNames() const
{
    QHash<int, QByteArray> names = QAbstractListModel::roleNames();
    names.insert(IdRole, "instanceId");
    names.insert(VersionRole, "version");
    names.insert(StateRole, "state");
    names.insert(SinceRole, "since");
    names.insert(ZoneRole, "zone");
    return names;
}

} // namespace sb
