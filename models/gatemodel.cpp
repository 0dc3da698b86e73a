#include "gatemodel.h"

namespace sb {

namespace {

const QChar emDash(0x2014);

QString valueText(const std::optional<double> &value, MetricUnit unit)
{
    return value ? formatMetricValue(*value, unit) : QString(emDash);
}

// The event as the gates table names it, short enough for two to share a cell.
QString shortName(CountedEvent event)
{
    switch (event) {
    case CountedEvent::Errors: return GateModel::tr("errors");
    case CountedEvent::SlowRequests: return GateModel::tr("slow");
    }
    return {};
}

// A bound on k as the workspace wrote it ("1", "1.2"), not rounded like a measured ratio.
QString settingText(double ratio)
{
    return QString::number(ratio, 'g', 4);
}

// The slow threshold a sequential gate counts with: the one it fixed, or the one it was given.
std::optional<double> slowerThanOf(const GateModel::Row &row)
{
    return row.judge && row.judge->slowerThanMs ? row.judge->slowerThanMs
                                                : row.spec.sequential.slowerThanMs;
}

QString percentText(double fraction)
{
    return QStringLiteral("%1 %").arg(100 * fraction, 0, 'g', 3);
}

} // namespace

GateModel::GateModel(QObject *parent)
    : QAbstractTableModel(parent)
{}

Verdict GateModel::verdictOf(JudgeDecision decision)
{
    switch (decision) {
    case JudgeDecision::Rollback: return Verdict::Fail;
    case JudgeDecision::Promote: return Verdict::Pass;
    case JudgeDecision::Continue: break;
    }
    return Verdict::Inconclusive;
}

QString GateModel::intervalText(const RatioInterval &ratio)
{
    if (ratio.lower && ratio.upper)
        return tr("k %1–%2").arg(formatRatio(*ratio.lower), formatRatio(*ratio.upper));
    if (ratio.lower)
        return tr("k ≥ %1").arg(formatRatio(*ratio.lower));
    if (ratio.upper)
        return tr("k ≤ %1").arg(formatRatio(*ratio.upper));
    return tr("k unbounded");
}

void GateModel::setRelease(const CanaryPlan &plan, const CanaryStatus &status)
{
    std::vector<Row> rows;
    for (const GateState &state : status.gates) {
        const GateSpec spec = plan.gates.value(state.gate);
        if (spec.method == GateMethod::Sequential) {
            // A gate the engine has not started a judge for yet has seen nothing.
            SequentialGateState judge = status.judges.value(state.gate);
            if (!status.judges.contains(state.gate))
                judge.evidence = startJudge(spec.sequential.settings, spec.sequential.counts);
            JudgeReading reading = readJudge(judge.evidence, spec.sequential.settings.alpha);
            // The decision the engine announced: "safe to promote" stands once shown.
            if (judge.decision == JudgeDecision::Promote
                && reading.decision == JudgeDecision::Continue)
                reading.decision = JudgeDecision::Promote;
            rows.push_back({state.gate, state.gate, spec, state, QString(),
                            tr("reads every metrics interval once the weight is set"),
                            std::move(judge), reading});
            continue;
        }
        rows.push_back(
            {state.gate, state.gate, spec, state, QString(),
             tr("first measurement %1 after the weight is set").arg(formatDuration(spec.interval)),
             std::nullopt, std::nullopt});
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
                                      : tr("first measurement %1 after the switch").arg(interval),
                            std::nullopt, std::nullopt});
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
    if (before.judge != after.judge) {
        span.add(CanaryColumn);
        span.add(VerdictColumn);
    }
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
    if (row.reading)
        return displayJudge(row, column);
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

QVariant GateModel::displayJudge(const Row &row, int column) const
{
    const JudgeReading &reading = *row.reading;
    const SequentialSettings &settings = row.spec.sequential.settings;
    switch (Column(column)) {
    case MetricColumn: return row.gate;
    case CanaryColumn: {
        QStringList events;
        for (const EventReading &event : reading.events)
            events.append(tr("%1 %2").arg(shortName(event.event), intervalText(event.ratio)));
        return events.join(QLatin1Char('\n'));
    }
    case BaselineColumn: return QString(); // the intervals compare both arms; they span it
    case BoundColumn:
        return tr("regression if k > %1\nsafe if k < %2, α %3")
            .arg(settingText(settings.k0), settingText(settings.promoteBelow),
                 percentText(settings.alpha));
    case VerdictColumn: {
        // The decision, and under it what it means for the stage when that is not plain from
        // it: "no evidence yet" passes a stage at the end of its bake once enough requests were
        // seen.
        const std::optional<Measurement> &last = row.state.last;
        if (reading.decision == JudgeDecision::Continue && last) {
            if (last->verdict == Verdict::Pass)
                return tr("%1\npasses").arg(describe(reading.decision));
            if (last->verdict == Verdict::Inconclusive)
                return tr("%1\nholds").arg(describe(reading.decision));
        }
        return describe(reading.decision);
    }
    case WhyColumn: return row.state.last ? row.state.last->why : row.pending;
    case ColumnCount: break;
    }
    return {};
}

QString GateModel::judgeToolTip(const Row &row) const
{
    const SequentialGate &gate = row.spec.sequential;
    QStringList counted;
    for (CountedEvent event : gate.counts)
        counted.append(describe(event));
    QStringList lines;
    lines.append(tr("Gate %1: a sequential test of %2, k being the canary's rate over the "
                    "baseline's; regression if k > %3, safe to promote if k < %4; it blames a "
                    "healthy canary with a probability of at most %5 over the release; a stage "
                    "passes after %6 canary requests (%7)")
                     .arg(row.gate, counted.join(tr(" and ")), settingText(gate.settings.k0),
                          settingText(gate.settings.promoteBelow), percentText(gate.settings.alpha))
                     .arg(row.spec.minRequests)
                     .arg(row.spec.origin));
    for (const EventReading &event : row.reading->events)
        lines.append(describe(event));
    if (gate.counts.contains(CountedEvent::SlowRequests)) {
        const std::optional<double> slowerThan = slowerThanOf(row);
        lines.append(slowerThan ? tr("slow: slower than %1")
                                      .arg(formatMetricValue(*slowerThan, MetricUnit::Milliseconds))
                                : tr("slow: slower than the baseline's p99 in the first interval "
                                     "with enough baseline requests, once there is one"));
    }
    return lines.join(QLatin1Char('\n'));
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
        if (row.reading)
            return judgeToolTip(row);
        return tr("Gate %1: %2 %3, at least %4 requests per arm, fails after %5 failing "
                  "measurements %6 apart (%7)")
            .arg(row.gate, row.spec.metric.title,
                 describeBound(row.spec.bound, row.spec.metric.unit))
            .arg(row.spec.minRequests)
            .arg(row.spec.failureLimit)
            .arg(formatDuration(row.spec.interval), row.spec.origin);
    case Qt::TextAlignmentRole:
        // Figures line up on the right; a judge's intervals are words.
        if (!row.reading && (index.column() == CanaryColumn || index.column() == BaselineColumn))
            return QVariant(Qt::AlignRight | Qt::AlignVCenter);
        return QVariant(Qt::AlignLeft | Qt::AlignVCenter);
    case GateRole: return row.gate;
    case VerdictRole:
        if (row.reading)
            return int(verdictOf(row.reading->decision));
        return row.state.last ? QVariant(int(row.state.last->verdict)) : QVariant();
    case JudgeRole:
        if (!row.reading)
            return {};
        return QVariant::fromValue(
            Judge{row.gate, row.spec.sequential.settings, slowerThanOf(row), *row.reading});
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
