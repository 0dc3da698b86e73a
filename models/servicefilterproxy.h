#pragma once

#include "fleet.h"

#include <QSortFilterProxyModel>

namespace sb {

// Filters and sorts a ServiceListModel: by name text, environment and health, sorting on the
// source's SortRole with the service name as tiebreak.
class ServiceFilterProxy : public QSortFilterProxyModel
{
    Q_OBJECT
public:
    enum class HealthFilter {
        All,
        NeedsAttention, // degraded, critical or unknown
        Healthy,
        Degraded,
        Critical,
        Unknown,
    };
    Q_ENUM(HealthFilter)

    explicit ServiceFilterProxy(QObject *parent = nullptr);

    QString nameFilter() const { return m_nameFilter; }
    // Case-insensitive substring of the service name; empty shows all.
    void setNameFilter(const QString &text);

    QString environmentFilter() const { return m_environmentFilter; }
    // Exact environment name; empty shows all.
    void setEnvironmentFilter(const QString &environment);

    HealthFilter healthFilter() const { return m_healthFilter; }
    void setHealthFilter(HealthFilter filter);

    static bool healthMatches(HealthFilter filter, Health health);

protected:
    bool filterAcceptsRow(int sourceRow, const QModelIndex &sourceParent) const override;
    bool lessThan(const QModelIndex &left, const QModelIndex &right) const override;

private:
    QString m_nameFilter;
    QString m_environmentFilter;
    HealthFilter m_healthFilter = HealthFilter::All;
};

} // namespace sb
