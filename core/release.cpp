#include "release.h"

#include <algorithm>

namespace sb {

QString ReleaseAction::describe() const
{
    switch (kind) {
    case Kind::SetWeights: {
        QStringList parts;
        for (auto it = weights.cbegin(); it != weights.cend(); ++it)
            parts.append(QStringLiteral("%1 %2 %").arg(it.key()).arg(it.value()));
        return QStringLiteral("set weights %1").arg(parts.join(QStringLiteral(", ")));
    }
    case Kind::Scale:
        return QStringLiteral("scale %1 to %2 %3")
            .arg(version)
            .arg(instances)
            .arg(instances == 1 ? QStringLiteral("instance") : QStringLiteral("instances"));
    case Kind::Switch: return QStringLiteral("switch all traffic to %1").arg(version);
    }
    return {};
}

int countInState(const ServiceStatus &observed, const QString &version,
                 std::initializer_list<InstanceState> states)
{
    if (!observed.fleet)
        return 0;
    int count = 0;
    for (const Instance &instance : observed.fleet->instances) {
        if (instance.version == version
            && std::find(states.begin(), states.end(), instance.state) != states.end())
            ++count;
    }
    return count;
}

int readyCount(const ServiceStatus &observed, const QString &version)
{
    return countInState(observed, version, {InstanceState::Ready});
}

int heldCount(const ServiceStatus &observed, const QString &version)
{
    return countInState(observed, version,
                        {InstanceState::Starting, InstanceState::Ready, InstanceState::Failed});
}

GateTurn gateTurn(const GateSpec &gate, const GateState &state, TimePoint since,
                  const std::optional<MetricsSnapshot> &metrics, const QString &metricsError,
                  const QString &testedVersion, const QString &referenceVersion,
                  const QString &sinceText, TimePoint now)
{
    GateTurn turn;
    const TimePoint due = state.last ? state.last->at + gate.interval : since + gate.interval;
    if (now < due) {
        turn.next = due;
        return turn;
    }
    const bool fresh = metrics && metrics->at - metrics->interval >= since
                       && (!state.last || metrics->at > state.last->at);
    if (fresh) {
        turn.measurement
            = measureGate(gate, metrics, testedVersion, referenceVersion, now, metricsError);
    } else if (!metrics || now >= due + gate.interval) {
        Measurement m
            = measureGate(gate, std::nullopt, testedVersion, referenceVersion, now, metricsError);
        if (metrics) {
            m.why = QStringLiteral("no metrics %1 yet; the latest interval ends %2")
                        .arg(sinceText, formatUtc(metrics->at));
            if (!metricsError.isEmpty())
                m.why += QStringLiteral(" (%1)").arg(metricsError);
        }
        turn.measurement = m;
    } else {
        // The data for it should arrive within the interval: wait for it.
        turn.waitingForData = true;
        turn.next = due + gate.interval;
        return turn;
    }
    turn.next = now + gate.interval;
    return turn;
}

void recordMeasurement(GateState &state, const Measurement &m)
{
    ++state.measurements;
    if (m.verdict == Verdict::Fail)
        ++state.failures;
    state.last = m;
}

void addGateValues(QMap<QString, double> &values, const GateSpec &gate, const Measurement &m,
                   const QString &testedArm, const QString &referenceArm)
{
    const QString prefix = gate.metric.name + QLatin1Char('.');
    if (m.canary)
        values.insert(prefix + testedArm, *m.canary);
    if (m.baseline)
        values.insert(prefix + referenceArm, *m.baseline);
    if (m.limit)
        values.insert(prefix + QStringLiteral("limit"), *m.limit);
    values.insert(QStringLiteral("requests.") + testedArm, double(m.canaryRequests));
    values.insert(QStringLiteral("requests.") + referenceArm, double(m.baselineRequests));
}

QString toString(ReleaseCommand command)
{
    switch (command) {
    case ReleaseCommand::Promote: return QStringLiteral("promote");
    case ReleaseCommand::PromoteFully: return QStringLiteral("promote fully");
    case ReleaseCommand::Pause: return QStringLiteral("pause");
    case ReleaseCommand::Resume: return QStringLiteral("resume");
    case ReleaseCommand::Abort: return QStringLiteral("abort");
    case ReleaseCommand::Retry: return QStringLiteral("retry");
    case ReleaseCommand::Switch: return QStringLiteral("switch");
    case ReleaseCommand::SwitchBack: return QStringLiteral("switch back");
    case ReleaseCommand::Extend: return QStringLiteral("extend");
    case ReleaseCommand::RollBack: return QStringLiteral("roll back");
    }
    return {};
}

QDebug operator<<(QDebug debug, const ReleaseAction &action)
{
    QDebugStateSaver saver(debug);
    debug.nospace() << "ReleaseAction(" << action.describe() << ')';
    return debug;
}

} // namespace sb
