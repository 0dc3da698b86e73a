#include "servicelistmodel.h"

namespace sb {

namespace {

QString capitalized(QString text)
{
    if (!text.isEmpty())
        text[0] = text[0].toUpper();
    return text;
}

const QChar emDash(0x2014);

} // namespace

ServiceListModel::ServiceListModel(QObject *parent)
    : QAbstractTableModel(parent)
{}

int ServiceListModel::severity(Health health)
{
    switch (health) {
    case Health::Healthy: return 0;
    case Health::Unknown: return 1;
    case Health::Degraded: return 2;
    case Health::Critical: return 3;
    }
    return 1;
}

ServiceListModel::Row ServiceListModel::summarize(const ServiceStatus &status)
{
    Row row;
    row.key = status.key;
    row.strategy = status.strategy;
    const HealthVerdict verdict = assessHealth(status);
    row.health = verdict.health;
    // Why, first; then every backend error, which the verdict names only when it decides it.
    QStringList problems;
    const QString errors[] = {status.fleetError, status.trafficError, status.metricsError};
    if (!verdict.reason.isEmpty()
        && std::find(std::begin(errors), std::end(errors), verdict.reason) == std::end(errors))
        problems << verdict.reason;
    if (!status.fleetError.isEmpty())
        problems << tr("Fleet: %1").arg(status.fleetError);
    if (!status.trafficError.isEmpty())
        problems << tr("Traffic: %1").arg(status.trafficError);
    if (!status.metricsError.isEmpty())
        problems << tr("Metrics: %1").arg(status.metricsError);
    row.problems = problems.join(QLatin1Char('\n'));
    if (status.fleet) {
        row.hasFleet = true;
        const QStringList versions = liveVersions(*status.fleet);
        row.versionsText = versions.join(QStringLiteral(", "));
        row.versionCount = int(versions.size());
        for (const Instance &instance : status.fleet->instances) {
            row.live += isLive(instance.state);
            row.ready += instance.state == InstanceState::Ready;
        }
    }
    return row;
}

ColumnSpan ServiceListModel::changedColumns(const Row &before, const Row &after)
{
    ColumnSpan span;
    // Name and environment are the key, so they never change for a matched row.
    if (before.versionsText != after.versionsText || before.hasFleet != after.hasFleet)
        span.add(VersionsColumn);
    if (before.health != after.health || before.problems != after.problems)
        span.add(HealthColumn);
    if (before.strategy != after.strategy)
        span.add(StrategyColumn);
    if (before.ready != after.ready || before.live != after.live
        || before.hasFleet != after.hasFleet)
        span.add(InstancesColumn);
    return span;
}

void ServiceListModel::setSnapshot(const ConsoleSnapshot &snapshot)
{
    std::vector<Row> rows;
    rows.reserve(size_t(snapshot.services.size()));
    for (const ServiceStatus &status : snapshot.services)
        rows.push_back(summarize(status));

    if (!m_loaded) {
        beginResetModel();
        m_rows.reset(std::move(rows), &Row::key);
        m_loaded = true;
        endResetModel();
        return;
    }
    m_rows.apply(
        this, std::move(rows), &Row::key, [](const Row &, const Row &) { return true; },
        &ServiceListModel::changedColumns);
}

void ServiceListModel::setReleaseNote(const ServiceKey &key, const QString &note)
{
    if (m_releaseNotes.value(key) == note)
        return;
    if (note.isEmpty())
        m_releaseNotes.remove(key);
    else
        m_releaseNotes.insert(key, note);
    if (const int row = rowOf(key); row >= 0) {
        const QModelIndex cell = index(row, StrategyColumn);
        Q_EMIT dataChanged(cell, cell, {Qt::DisplayRole, Qt::ToolTipRole});
    }
}

ServiceKey ServiceListModel::keyAt(int row) const
{
    if (row < 0 || row >= m_rows.size())
        return {};
    return m_rows.at(row).key;
}

int ServiceListModel::rowOf(const ServiceKey &key) const
{
    return m_rows.indexOf(key);
}

int ServiceListModel::rowCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : m_rows.size();
}

int ServiceListModel::columnCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : ColumnCount;
}

QVariant ServiceListModel::data(const QModelIndex &index, int role) const
{
    if (!checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid))
        return {};
    const Row &row = m_rows.at(index.row());
    const int column = index.column();

    switch (role) {
    case Qt::DisplayRole:
        switch (column) {
        case NameColumn: return row.key.name;
        case EnvironmentColumn: return row.key.environment;
        case VersionsColumn: return row.hasFleet ? row.versionsText : QString(emDash);
        case HealthColumn: return capitalized(toString(row.health));
        case StrategyColumn: {
            if (row.strategy == Strategy::None)
                return QString(emDash);
            const QString note = m_releaseNotes.value(row.key);
            const QString strategy = capitalized(toString(row.strategy));
            return note.isEmpty() ? strategy : QStringLiteral("%1 · %2").arg(strategy, note);
        }
        case InstancesColumn:
            return row.hasFleet ? QStringLiteral("%1/%2").arg(row.ready).arg(row.live)
                                : QString(emDash);
        }
        break;
    case Qt::ToolTipRole:
        if (column == HealthColumn)
            return row.problems.isEmpty() ? QVariant() : QVariant(row.problems);
        if (column == StrategyColumn && m_releaseNotes.contains(row.key))
            return tr("Release: %1").arg(m_releaseNotes.value(row.key));
        if (column == InstancesColumn && row.hasFleet)
            return tr("%1 of %2 live instances are ready").arg(row.ready).arg(row.live);
        break;
    case Qt::TextAlignmentRole:
        if (column == InstancesColumn)
            return QVariant::fromValue(Qt::AlignRight | Qt::AlignVCenter);
        break;
    case ServiceIdRole: return row.key.id();
    case ServiceKeyRole: return QVariant::fromValue(row.key);
    case HealthRole: return int(row.health);
    case StrategyRole: return int(row.strategy);
    case ReadyCountRole: return row.ready;
    case LiveCountRole: return row.live;
    case SortRole:
        switch (column) {
        case NameColumn: return row.key.name;
        case EnvironmentColumn: return row.key.environment;
        case VersionsColumn: return row.versionCount;
        case HealthColumn: return severity(row.health);
        case StrategyColumn: return int(row.strategy);
        case InstancesColumn: return row.live;
        }
        break;
    }
    return {};
}

QVariant ServiceListModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation != Qt::Horizontal || section < 0 || section >= ColumnCount)
        return QAbstractTableModel::headerData(section, orientation, role);
    if (role == Qt::DisplayRole) {
        switch (section) {
        case NameColumn: return tr("Service");
        case EnvironmentColumn: return tr("Environment");
        case VersionsColumn: return tr("Versions");
        case HealthColumn: return tr("Health");
        case StrategyColumn: return tr("Strategy");
        case InstancesColumn: return tr("Instances");
        }
    } else if (role == Qt::ToolTipRole) {
        switch (section) {
        case VersionsColumn: return tr("Versions that have live instances");
        case HealthColumn: return tr("Worst of readiness, error rate and adapter errors");
        case StrategyColumn: return tr("How releases of this service roll out");
        case InstancesColumn: return tr("Ready instances / live instances");
        }
    }
    return {};
}

} // namespace sb
