#include "versionmodel.h"

#include <cmath>

namespace sb {

namespace {

const QChar emDash(0x2014);

// "95 %", "2.5 %": router weights are set by people, so whole numbers are the norm.
QString weightText(double percent)
{
    QString text = QString::number(percent, 'f', 1);
    if (text.endsWith(QLatin1String(".0")))
        text.chop(2);
    return text + QStringLiteral(" %");
}

QVariant optionalValue(const std::optional<double> &value)
{
    return value ? QVariant(*value) : QVariant();
}

} // namespace

VersionModel::VersionModel(QObject *parent)
    : QAbstractTableModel(parent)
{}

void VersionModel::setService(const ServiceStatus &status)
{
    const QList<VersionSummary> summaries = summarizeVersions(status);
    std::vector<VersionSummary> rows(summaries.cbegin(), summaries.cend());
    if (!m_loaded || status.key != m_service) {
        beginResetModel();
        m_service = status.key;
        m_rows.reset(std::move(rows), &VersionSummary::version);
        m_loaded = true;
        endResetModel();
        return;
    }
    // A version keeps its place: rows are ordered by version, and the version is the key.
    m_rows.apply(
        this, std::move(rows), &VersionSummary::version,
        [](const VersionSummary &, const VersionSummary &) { return true; },
        &VersionModel::changedColumns);
}

void VersionModel::clear()
{
    beginResetModel();
    m_service = {};
    m_rows.reset({}, &VersionSummary::version);
    m_loaded = false;
    endResetModel();
}

QString VersionModel::versionAt(int row) const
{
    return row >= 0 && row < m_rows.size() ? m_rows.at(row).version : QString();
}

ColumnSpan VersionModel::changedColumns(const VersionSummary &before, const VersionSummary &after)
{
    ColumnSpan span;
    if (before.total != after.total || before.ready != after.ready
        || before.starting != after.starting || before.draining != after.draining
        || before.failed != after.failed)
        span.add(InstancesColumn);
    if (before.weightPercent != after.weightPercent)
        span.add(TrafficSetColumn);
    if (before.observedSharePercent != after.observedSharePercent)
        span.add(TrafficObservedColumn);
    if (before.errorRatio != after.errorRatio)
        span.add(ErrorRateColumn);
    if (before.p99Ms != after.p99Ms)
        span.add(P99Column);
    return span;
}

int VersionModel::rowCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : m_rows.size();
}

int VersionModel::columnCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : ColumnCount;
}

QVariant VersionModel::display(const VersionSummary &row, int column) const
{
    switch (column) {
    case VersionColumn: return row.version;
    case InstancesColumn: return tr("%1 ready / %2").arg(row.ready).arg(row.total);
    case TrafficSetColumn: return weightText(row.weightPercent);
    case TrafficObservedColumn:
        return row.observedSharePercent
                   ? QStringLiteral("%1 %").arg(*row.observedSharePercent, 0, 'f', 1)
                   : QString(emDash);
    case ErrorRateColumn:
        return row.errorRatio ? QStringLiteral("%1 %").arg(*row.errorRatio * 100.0, 0, 'f', 2)
                              : QString(emDash);
    case P99Column:
        return row.p99Ms ? QStringLiteral("%1 ms").arg(std::lround(*row.p99Ms)) : QString(emDash);
    }
    return {};
}

QVariant VersionModel::sortValue(int row, int column) const
{
    const VersionSummary &summary = m_rows.at(row);
    // Unknown sorts before every known value, so "no data" gathers at one end.
    const auto known = [](const std::optional<double> &value) { return value.value_or(-1.0); };
    switch (column) {
    case VersionColumn: return row; // rows are already in version order, which text sorting breaks
    case InstancesColumn: return summary.total;
    case TrafficSetColumn: return summary.weightPercent;
    case TrafficObservedColumn: return known(summary.observedSharePercent);
    case ErrorRateColumn: return known(summary.errorRatio);
    case P99Column: return known(summary.p99Ms);
    }
    return {};
}

QVariant VersionModel::data(const QModelIndex &index, int role) const
{
    if (!checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid))
        return {};
    const VersionSummary &row = m_rows.at(index.row());
    const int column = index.column();

    switch (role) {
    case Qt::DisplayRole: return display(row, column);
    case Qt::ToolTipRole:
        switch (column) {
        case InstancesColumn:
            return tr("%1 ready, %2 starting, %3 draining, %4 failed")
                .arg(row.ready)
                .arg(row.starting)
                .arg(row.draining)
                .arg(row.failed);
        case TrafficSetColumn: return tr("Share of requests the router is configured to send");
        case TrafficObservedColumn:
            return tr("Share of requests this version actually served in the last interval");
        case ErrorRateColumn: return tr("Failed requests in the last interval");
        case P99Column: return tr("99th percentile latency in the last interval");
        }
        break;
    case Qt::TextAlignmentRole:
        if (column != VersionColumn)
            return QVariant::fromValue(Qt::AlignRight | Qt::AlignVCenter);
        break;
    case VersionRole: return row.version;
    case ReadyRole: return row.ready;
    case TotalRole: return row.total;
    case StartingRole: return row.starting;
    case DrainingRole: return row.draining;
    case FailedRole: return row.failed;
    case WeightRole: return row.weightPercent;
    case ObservedShareRole: return optionalValue(row.observedSharePercent);
    case ErrorRatioRole: return optionalValue(row.errorRatio);
    case P99Role: return optionalValue(row.p99Ms);
    case SortRole: return sortValue(index.row(), column);
    }
    return {};
}

QVariant VersionModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation != Qt::Horizontal || section < 0 || section >= ColumnCount)
        return QAbstractTableModel::headerData(section, orientation, role);
    if (role == Qt::DisplayRole) {
        switch (section) {
        case VersionColumn: return tr("Version");
        case InstancesColumn: return tr("Instances");
        case TrafficSetColumn: return tr("Traffic set");
        case TrafficObservedColumn: return tr("Traffic observed");
        case ErrorRateColumn: return tr("Error rate");
        case P99Column: return tr("p99");
        }
    } else if (role == Qt::ToolTipRole) {
        switch (section) {
        case VersionColumn: return tr("Versions with live instances or router weight");
        case InstancesColumn: return tr("Ready instances / live instances");
        case TrafficSetColumn:
            return tr("Set: the weight the router is configured with for this version");
        case TrafficObservedColumn:
            return tr("Observed: the share of requests the version actually served; it lags "
                      "the set weight while connections drain");
        case ErrorRateColumn: return tr("Share of requests that failed in the last interval");
        case P99Column: return tr("99th percentile latency in the last interval");
        }
    } else if (role == Qt::TextAlignmentRole && section != VersionColumn) {
        return QVariant::fromValue(Qt::AlignRight | Qt::AlignVCenter);
    }
    return {};
}

} // namespace sb
