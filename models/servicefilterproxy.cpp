#include "servicefilterproxy.h"

#include "servicelistmodel.h"

namespace sb {

ServiceFilterProxy::ServiceFilterProxy(QObject *parent)
    : QSortFilterProxyModel(parent)
{
    setSortRole(ServiceListModel::SortRole);
    // Live refreshes change health and counts; keep order and filter in step with them.
    setDynamicSortFilter(true);
}

void ServiceFilterProxy::setNameFilter(const QString &text)
{
    if (text == m_nameFilter)
        return;
    m_nameFilter = text;
    invalidateFilter();
}

void ServiceFilterProxy::setEnvironmentFilter(const QString &environment)
{
    if (environment == m_environmentFilter)
        return;
    m_environmentFilter = environment;
    invalidateFilter();
}

void ServiceFilterProxy::setHealthFilter(HealthFilter filter)
{
    if (filter == m_healthFilter)
        return;
    m_healthFilter = filter;
    invalidateFilter();
}

bool ServiceFilterProxy::healthMatches(HealthFilter filter, Health health)
{
    switch (filter) {
    case HealthFilter::All: return true;
    case HealthFilter::NeedsAttention: return health != Health::Healthy;
    case HealthFilter::Healthy: return health == Health::Healthy;
    case HealthFilter::Degraded: return health == Health::Degraded;
    case HealthFilter::Critical: return health == Health::Critical;
    case HealthFilter::Unknown: return health == Health::Unknown;
    }
    return true;
}

bool ServiceFilterProxy::filterAcceptsRow(int sourceRow, const QModelIndex &sourceParent) const
{
    const QAbstractItemModel *source = sourceModel();
    if (!m_nameFilter.isEmpty()) {
        const QString name = source->index(sourceRow, ServiceListModel::NameColumn, sourceParent)
                                 .data()
                                 .toString();
        if (!name.contains(m_nameFilter, Qt::CaseInsensitive))
            return false;
    }
    if (!m_environmentFilter.isEmpty()) {
        const QString environment
            = source->index(sourceRow, ServiceListModel::EnvironmentColumn, sourceParent)
                  .data()
                  .toString();
        if (environment != m_environmentFilter)
            return false;
    }
    if (m_healthFilter != HealthFilter::All) {
        const QVariant health
            = source->index(sourceRow, ServiceListModel::HealthColumn, sourceParent)
                  .data(ServiceListModel::HealthRole);
        if (!healthMatches(m_healthFilter, Health(health.toInt())))
            return false;
    }
    return true;
}

bool ServiceFilterProxy::lessThan(const QModelIndex &left, const QModelIndex &right) const
{
    const QVariant a = left.data(sortRole());
    const QVariant b = right.data(sortRole());
    int order = 0;
    if (a.typeId() == QMetaType::QString || b.typeId() == QMetaType::QString)
        order = QString::compare(a.toString(), b.toString(), Qt::CaseInsensitive);
    else if (a.toLongLong() != b.toLongLong())
        order = a.toLongLong() < b.toLongLong() ? -1 : 1;
    if (order != 0)
        return order < 0;

    // Ties keep names A to Z whichever way the column sorts: the proxy asks lessThan(right, left)
    // for a descending sort, so the tiebreak is inverted here to come out ascending.
    const auto textAt = [](const QModelIndex &index, int column) {
        return index.siblingAtColumn(column).data().toString();
    };
    int byName = QString::compare(textAt(left, ServiceListModel::NameColumn),
                                  textAt(right, ServiceListModel::NameColumn), Qt::CaseInsensitive);
    if (byName == 0)
        byName = QString::compare(textAt(left, ServiceListModel::EnvironmentColumn),
                                  textAt(right, ServiceListModel::EnvironmentColumn),
                                  Qt::CaseInsensitive);
    return sortOrder() == Qt::AscendingOrder ? byName < 0 : byName > 0;
}

} // namespace sb
