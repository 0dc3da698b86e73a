#include "gatemodel.h"

namespace sb {

namespace {

const QChar emDash(0x2014);

QString valueText(const std::optional<double> &value, MetricUnit unit)
{
    return value ? formatMetricValue(*value, unit) : QString(emDash);
}

} // namespace

GateModel::GateModel(QObject *parent)
    : QAbstractTableModel(parent)
{}

void GateModel::setRelease(const CanaryPlan &plan, const CanaryStatus &status)
{
    std::vector<Row> rows;
    for (const GateState &state : status.gates) {
        const GateSpec spec = plan.gates.value(state.gate);
        rows.push_back({state.gate, state.gate, spec, state, QString(),
                        tr("first measurement %1 after the weight is set")
                            .arg(formatDuration(spec.interval))});
    }
    setRows(status.id, status.stage, std::move(rows), false);
}

void GateModel::setRelease(const BlueGreenPlan &plan, const BlueGreenStatus &status)
{
    std::vector<Row> rows;
    auto add = [&](const QStringList &gates, const QList<GateState> &states, bool preSwitch) {
        for (const QString &gate : gates) {
            GateState state;
            state.gate = gate;
            for (const GateState &measured : states) {
                if (measured.gate == gate)
                    state = measured;
            }
            const GateSpec spec = plan.gates.value(gate);
            const QString interval = formatDuration(spec.interval);
            const QString check = preSwitch ? tr("Pre-switch") : tr("Post-switch");
            rows.push_back({check + QLatin1Char('/') + gate, gate, spec, state, check,
                            preSwitch ? tr("first measurement %1 after every %2 instance is ready")
                                            .arg(interval, status.newVersion)
                                      : tr("first measurement %1 after the switch").arg(interval)});
        }
    };
    add(plan.preSwitchGates, status.preSwitchGates, true);
    add(plan.postSwitchGates, status.postSwitchGates, false);
    // The rows never change within a release, only their measurements.
    setRows(status.id, 0, std::move(rows), true);
}

void GateModel::setRows(const QString &releaseId, int stage, std::vector<Row> rows, bool blueGreen)
{
    if (blueGreen != m_blueGreen) {
        m_blueGreen = blueGreen;
        Q_EMIT headerDataChanged(Qt::Horizontal, CanaryColumn, BaselineColumn);
    }
    if (releaseId != m_releaseId || stage != m_stage) {
        beginResetModel();
        m_releaseId = releaseId;
        m_stage = stage;
        m_rows.reset(std::move(rows), &Row::key);
        endResetModel();
        return;
    }
    m_rows.apply(
        this, std::move(rows), &Row::key, [](const Row &, const Row &) { return true; },
        &GateModel::changedColumns);
}

void GateModel::clear()
{
    beginResetModel();
    m_releaseId.clear();
    m_stage = -1;
    m_rows.reset({}, &Row::key);
    endResetModel();
}

ColumnSpan GateModel::changedColumns(const Row &before, const Row &after)
{
    ColumnSpan span;
    const auto &a = before.state.last;
    const auto &b = after.state.last;
    if (a.has_value() != b.has_value() || before.state.failures != after.state.failures) {
        span.add(CanaryColumn);
        span.add(WhyColumn);
        return span;
    }
    if (!a)
        return span;
    if (a->canary != b->canary)
        span.add(CanaryColumn);
    if (a->baseline != b->baseline)
        span.add(BaselineColumn);
    if (a->verdict != b->verdict)
        span.add(VerdictColumn);
    if (a->why != b->why)
        span.add(WhyColumn);
    return span;
}

int GateModel::rowCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : m_rows.size();
}

int GateModel::columnCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : ColumnCount;
}

QVariant GateModel::display(const Row &row, int column) const
{
    const MetricUnit unit = row.spec.metric.unit;
    const std::optional<Measurement> &last = row.state.last;
    switch (Column(column)) {
    case MetricColumn:
        return row.check.isEmpty() ? row.spec.metric.title
                                   : tr("%1 · %2").arg(row.check, row.spec.metric.title);
    case CanaryColumn: return last ? valueText(last->canary, unit) : QString(emDash);
    case BaselineColumn: return last ? valueText(last->baseline, unit) : QString(emDash);
    case BoundColumn: return describeBound(row.spec.bound, unit);
    case VerdictColumn: {
        if (!last)
            return tr("Not measured");
        QString text;
        switch (last->verdict) {
        case Verdict::Pass: text = tr("Pass"); break;
        case Verdict::Fail: text = tr("Fail"); break;
        case Verdict::Inconclusive: text = tr("Inconclusive"); break;
        }
        if (row.state.failures > 0)
            text += QStringLiteral(" · %1/%2").arg(row.state.failures).arg(row.spec.failureLimit);
        return text;
    }
    case WhyColumn: return last ? last->why : row.pending;
    case ColumnCount: break;
    }
    return {};
}

QVariant GateModel::data(const QModelIndex &index, int role) const
{
    if (!checkIndex(index, CheckIndexOption::IndexIsValid))
        return {};
    const Row &row = m_rows.at(index.row());
    switch (role) {
    case Qt::DisplayRole: return display(row, index.column());
    case Qt::ToolTipRole:
        // The why column is often cut short; its tooltip is the whole sentence.
        if (index.column() == WhyColumn && row.state.last)
            return row.state.last->why;
        return tr("Gate %1: %2 %3, at least %4 requests per arm, fails after %5 failing "
                  "measurements %6 apart (%7)")
            .arg(row.gate, row.spec.metric.title,
                 describeBound(row.spec.bound, row.spec.metric.unit))
            .arg(row.spec.minRequests)
            .arg(row.spec.failureLimit)
            .arg(formatDuration(row.spec.interval), row.spec.origin);
    case Qt::TextAlignmentRole:
        if (index.column() == CanaryColumn || index.column() == BaselineColumn)
            return QVariant(Qt::AlignRight | Qt::AlignVCenter);
        return QVariant(Qt::AlignLeft | Qt::AlignVCenter);
    case GateRole: return row.gate;
    case VerdictRole: return row.state.last ? QVariant(int(row.state.last->verdict)) : QVariant();
    default: return {};
    }
}

QVariant GateModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole)
        return {};
    switch (Column(section)) {
    case MetricColumn: return tr("Metric");
    case CanaryColumn: return m_blueGreen ? tr("New") : tr("Canary");
    case BaselineColumn: return m_blueGreen ? tr("Old") : tr("Baseline");
    case BoundColumn: return tr("Bound");
    case VerdictColumn: return tr("Verdict");
    case WhyColumn: return tr("Why");
    case ColumnCount: break;
    }
    return {};
}

} // namespace sb
