#include "canaryplan.h"

#include <algorithm>
#include <cmath>

namespace sb {

Duration CanaryPlan::totalBake() const
{
    Duration total{0};
    for (int i = 0; i < finalStage(); ++i)
        total += stages.at(i).bake;
    return total;
}

int CanaryPlan::approvals() const
{
    int count = 0;
    for (int i = 0; i < finalStage(); ++i)
        count += stages.at(i).approval ? 1 : 0;
    return count;
}

Duration CanaryPlan::worstCaseDetection() const
{
    Duration worst{0};
    for (int i = 0; i < finalStage(); ++i) {
        for (const QString &name : stages.at(i).gates) {
            const auto gate = gates.constFind(name);
            if (gate != gates.cend() && gate->method == GateMethod::Threshold)
                worst = std::max(worst, gate->interval * std::max(1, gate->failureLimit));
        }
    }
    return worst;
}

namespace {

GateSpec builtInGate(const QString &name, const QString &metric, const QString &bound,
                     qint64 minRequests)
{
    GateSpec gate;
    gate.name = name;
    gate.metric = *findMetric(builtInMetrics(), metric);
    const auto parsed = parseGateBound(bound, gate.metric.unit);
    Q_ASSERT(std::holds_alternative<GateBound>(parsed));
    gate.bound = std::get<GateBound>(parsed);
    gate.minRequests = minRequests;
    gate.origin = QStringLiteral("built-in");
    return gate;
}

// Why a sequential gate cannot judge, starting with its name; empty when it can.
QString sequentialGateProblem(const GateSpec &gate)
{
    const SequentialGate &sequential = gate.sequential;
    if (const QString problem = checkSequentialSettings(sequential.settings); !problem.isEmpty())
        return QStringLiteral("gate '%1', whose %2").arg(gate.name, problem);
    if (sequential.counts.isEmpty())
        return QStringLiteral("gate '%1', which counts nothing; it counts errors, slow_requests "
                              "or both")
            .arg(gate.name);
    for (qsizetype i = 1; i < sequential.counts.size(); ++i) {
        if (sequential.counts.indexOf(sequential.counts.at(i)) < i)
            return QStringLiteral("gate '%1', which counts %2 twice")
                .arg(gate.name, toString(sequential.counts.at(i)));
    }
    if (sequential.slowerThanMs
        && !(*sequential.slowerThanMs > 0 && std::isfinite(*sequential.slowerThanMs)))
        return QStringLiteral("gate '%1', whose slow requests are slower than %2 ms; that must "
                              "be a latency above 0")
            .arg(gate.name)
            .arg(*sequential.slowerThanMs);
    return {};
}

} // namespace

QList<GateSpec> builtInGates()
{
    // Relative bounds, so they suit any service: a canary may be a little worse than its
    // baseline, never much worse. The offsets keep a near-zero baseline from making any noise a
    // failure.
    return {
        builtInGate(QStringLiteral("error-rate"), QStringLiteral("error_rate"),
                    QStringLiteral("<= 1.5 x baseline + 0.1%"), 200),
        builtInGate(QStringLiteral("p99-latency"), QStringLiteral("p99_latency"),
                    QStringLiteral("<= 1.2 x baseline + 25ms"), 200),
        // Per request: a canary sized for its weight carries more load per instance than a
        // baseline kept at full size, so CPU per instance would blame it for that.
        builtInGate(QStringLiteral("cpu"), QStringLiteral("cpu_per_request"),
                    QStringLiteral("<= 1.3 x baseline + 0.5ms"), 100),
        builtInGate(QStringLiteral("memory"), QStringLiteral("memory"),
                    QStringLiteral("<= 1.25 x baseline + 64MB"), 100),
    };
}

GateSpec builtInJudge()
{
    GateSpec gate;
    gate.name = builtInJudgeName;
    gate.method = GateMethod::Sequential;
    gate.minRequests = 200;
    gate.origin = QStringLiteral("built-in");
    return gate;
}

CanaryPlan playbookPlan(const QList<GateSpec> &gates)
{
    CanaryPlan plan;
    plan.name = playbookPlanName;
    plan.origin = QStringLiteral("built-in");
    QStringList health, business, resources;
    for (const GateSpec &gate : gates) {
        if (gate.method != GateMethod::Threshold)
            continue;
        plan.gates.insert(gate.name, gate);
        switch (gate.metric.group) {
        case MetricGroup::Health: health.append(gate.name); break;
        case MetricGroup::Business: business.append(gate.name); break;
        case MetricGroup::Resources: resources.append(gate.name); break;
        }
    }
    using std::chrono::minutes;
    const QStringList all = health + business + resources;
    plan.stages = {
        {1, minutes(10), health, false}, {5, minutes(20), health + business, false},
        {25, minutes(30), all, false},   {50, minutes(30), all, false},
        {100, Duration(0), {}, false},
    };
    return plan;
}

QString checkPlan(const CanaryPlan &plan, int *stageIndex)
{
    auto at = [stageIndex](int index, const QString &message) {
        if (stageIndex)
            *stageIndex = index;
        return message;
    };
    if (plan.stages.isEmpty())
        return at(-1, QStringLiteral("plan '%1' has no stages").arg(plan.name));
    double previous = 0;
    QString sequentialGate; // the first one the stages name
    for (int i = 0; i < plan.stages.size(); ++i) {
        const CanaryStage &stage = plan.stages.at(i);
        if (!(stage.weightPercent > 0) || stage.weightPercent > 100) {
            return at(i, QStringLiteral("stage %1 weight %2 is outside 0-100; a stage sends more "
                                        "than 0 % and at most 100 % of requests to the new version")
                             .arg(i + 1)
                             .arg(stage.weightPercent));
        }
        if (i > 0 && stage.weightPercent <= previous) {
            return at(i, QStringLiteral("stage %1 weight %2 does not increase on stage %3's %4; "
                                        "each stage must send more traffic than the one before")
                             .arg(i + 1)
                             .arg(stage.weightPercent)
                             .arg(i)
                             .arg(previous));
        }
        previous = stage.weightPercent;
        const bool final = i == plan.finalStage();
        if (!final && stage.gates.isEmpty()) {
            return at(i, QStringLiteral("stage %1 (%2 %) has no gates, so it would advance on time "
                                        "alone; name the gates it checks, e.g. "
                                        "'gates: [error-rate, p99-latency]'")
                             .arg(i + 1)
                             .arg(stage.weightPercent));
        }
        for (const QString &gate : stage.gates) {
            const auto spec = plan.gates.constFind(gate);
            if (spec == plan.gates.cend())
                return at(i, QStringLiteral("stage %1 names gate '%2', which is not defined")
                                 .arg(i + 1)
                                 .arg(gate));
            if (spec->method != GateMethod::Sequential || gate == sequentialGate)
                continue;
            if (const QString problem = sequentialGateProblem(*spec); !problem.isEmpty())
                return at(i, QStringLiteral("stage %1 names %2").arg(i + 1).arg(problem));
            // Each sequential gate may blame a healthy canary with probability alpha over the
            // release; two of them would together allow twice that.
            if (!sequentialGate.isEmpty()) {
                return at(i, QStringLiteral("sequential gates '%1' and '%2' (the second from stage "
                                            "%3) in one plan: their false-alarm bounds add up; "
                                            "judge all counts in one gate")
                                 .arg(sequentialGate, gate)
                                 .arg(i + 1));
            }
            sequentialGate = gate;
        }
    }
    if (plan.stages.last().weightPercent != 100) {
        return at(plan.finalStage(),
                  QStringLiteral("the last stage of plan '%1' must send 100 % of traffic to "
                                 "the new version; add '- weight: 100'")
                      .arg(plan.name));
    }
    return {};
}

int canaryInstancesFor(double weightPercent, int replicas)
{
    // Rounded up, as Argo Rollouts sizes a canary for its weight: capacity never falls short.
    const int needed = int(std::ceil(replicas * weightPercent / 100.0 - 1e-9));
    return std::clamp(needed, 1, std::max(1, replicas));
}

} // namespace sb
