// The workspace's release sections: metrics, gates, plans, a canary service's plan and the
// releases a simulated workspace starts by itself. Bad input is reported at its file, line and
// column, and nothing is loaded.

#include "adapterregistry.h"
#include "workspaceloader.h"

#include <QFile>
#include <QTemporaryDir>
#include <QTest>

using namespace sb;
using namespace std::chrono_literals;

namespace {

// Lines 1-12; rows append their sections from line 13 on.
const QByteArray base = R"(environments: [production]
adapters:
  - {name: sim, type: simulator}
  - {name: prom, type: prometheus}
services:
  - {name: checkout, environment: production, strategy: canary, adapter: sim, plan: quick}
  - {name: search, environment: production, strategy: rolling, adapter: sim}
  - name: ledger
    environment: production
    strategy: canary
    adapters: {fleet: sim, traffic: sim, deploy: sim, metrics: prom}
  - {name: tiny, environment: production, strategy: canary, adapters: {fleet: sim}}
)";

const QByteArray quickPlan = R"(plans:
  - name: quick
    stages:
      - {weight: 1, bake: 2m, gates: [error-rate, p99-latency]}
      - {weight: 5, bake: 3m}
      - {weight: 100}
)";

// Only the types matter to the loader: a simulated one and a real metrics store.
AdapterRegistry registry()
{
    AdapterRegistry r;
    AdapterType simulator;
    simulator.type = QStringLiteral("simulator");
    simulator.capabilities
        = {Capability::Fleet, Capability::Traffic, Capability::Deploy, Capability::Metrics};
    simulator.simulated = true;
    r.add(simulator);
    AdapterType prometheus;
    prometheus.type = QStringLiteral("prometheus");
    prometheus.capabilities = {Capability::Metrics};
    r.add(prometheus);
    return r;
}

Result<Workspace, Diagnostic> parse(const QByteArray &sections, const QString &file = {})
{
    return parseWorkspace(base + sections, file.isEmpty() ? QStringLiteral("ws.yaml") : file,
                          registry());
}

// Lines 1-4; rows add their service from line 5 on.
const QByteArray servicesOnly = R"(environments: [production]
adapters:
  - {name: sim, type: simulator}
services:
)";

Result<Workspace, Diagnostic> parseServices(const QByteArray &services)
{
    return parseWorkspace(servicesOnly + services, QStringLiteral("ws.yaml"), registry());
}

// The row's sections are refused at its line and column with its message.
void verifyRefused()
{
    QFETCH(QByteArray, sections);
    const auto loaded = parse(sections);
    QVERIFY2(!loaded, "a bad workspace loaded");
    const Diagnostic &d = loaded.error();
    QFETCH(QString, message);
    QVERIFY2(d.message.contains(message), qPrintable(d.toString()));
    QTEST(d.line, "line");
    QTEST(d.column, "column");
    QCOMPARE(d.file, QStringLiteral("ws.yaml"));
    QVERIFY(!d.sourceLine.isEmpty());
}

// Counted events by name, for QCOMPARE.
QStringList countNames(const QList<CountedEvent> &counts)
{
    QStringList names;
    for (CountedEvent event : counts)
        names.append(toString(event));
    return names;
}

} // namespace

class TestReleasePlans : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void builtInsWithoutSections();
    void readsEverySection();
    void badSections_data();
    void badSections();
    void sequentialGates();
    void badSequentialGates_data();
    void badSequentialGates();
    void strategyDefaults();
    void strategySettings();
    void badStrategySettings_data();
    void badStrategySettings();
    void importsAnArgoRollout();
    void argoProblemsPointIntoTheManifest();
};

void TestReleasePlans::builtInsWithoutSections()
{
    const auto loaded = parseWorkspace(base.left(base.indexOf("  - {name: checkout"))
                                           + "  - {name: checkout, environment: production, "
                                             "strategy: canary, adapter: sim}\n",
                                       QStringLiteral("ws.yaml"), registry());
    QVERIFY2(loaded, qPrintable(loaded ? QString() : loaded.error().toString()));
    const Workspace &ws = loaded.value();
    QCOMPARE(ws.services.first().plan, playbookPlanName);
    QCOMPARE(ws.plans.size(), 1);
    QCOMPARE(ws.plans.first(), playbookPlan(builtInGates()));
    // The built-in sequential gate is there for plans to name, and the playbook leaves it out.
    QCOMPARE(ws.gates, builtInGates() << builtInJudge());
    const CanaryPlan &playbook = ws.plans.first();
    QCOMPARE(playbook.gates.keys(), (QList<QString>{"cpu", "error-rate", "memory", "p99-latency"}));
    QCOMPARE(playbook.stage(0).gates, (QStringList{"error-rate", "p99-latency"}));
    QCOMPARE(playbook.stage(2).gates, (QStringList{"error-rate", "p99-latency", "cpu", "memory"}));
    QCOMPARE(ws.metrics, builtInMetrics());
    QVERIFY(ws.releases.isEmpty());
}

void TestReleasePlans::readsEverySection()
{
    const auto loaded = parse(R"(metrics:
  - {name: orders_per_request, title: Orders per request, unit: ratio, better: higher}
gates:
  - {name: p99-latency, metric: p99_latency, bound: "< 400ms", min_requests: 50}
  - name: orders
    metric: orders_per_request
    bound: ">= 0.9 x baseline"
    failure_limit: 5
    interval: 30s
plans:
  - name: quick
    stages:
      - {weight: 1, bake: 2m, gates: [error-rate, p99-latency]}
      - {weight: 5, bake: 3m, approval: true}
      - {weight: 25, bake: 1h30m, gates: [error-rate, orders]}
      - {weight: 100}
releases:
  - {service: checkout, environment: production, version: 2.4.0, at: 90s}
)");
    QVERIFY2(loaded, qPrintable(loaded ? QString() : loaded.error().toString()));
    const Workspace &ws = loaded.value();

    const MetricDefinition *orders = findMetric(ws.metrics, QStringLiteral("orders_per_request"));
    QVERIFY(orders);
    QCOMPARE(toString(orders->unit), toString(MetricUnit::Ratio));
    QVERIFY(orders->higherIsBetter);
    QCOMPARE(toString(orders->group), toString(MetricGroup::Business));
    QCOMPARE(orders->title, QStringLiteral("Orders per request"));

    // The workspace's p99-latency replaces the built-in one; the other built-ins stay.
    QCOMPARE(ws.gates.size(), builtInGates().size() + 2); // and the judge
    const GateSpec &latency = ws.gates.at(1);
    QCOMPARE(latency.name, QStringLiteral("p99-latency"));
    QCOMPARE(latency.bound.offset, 400.0);
    QVERIFY(!latency.bound.relative);
    QCOMPARE(latency.minRequests, 50);
    QCOMPARE(latency.origin, QStringLiteral("ws.yaml:16"));
    const GateSpec &ordersGate = ws.gates.last();
    QCOMPARE(ordersGate.failureLimit, 5);
    QCOMPARE(ordersGate.interval, Duration(30s));
    QCOMPARE(int(ordersGate.bound.comparison), int(GateBound::Comparison::AtLeast));

    const CanaryPlan *plan = ws.plan(QStringLiteral("quick"));
    QVERIFY(plan);
    QCOMPARE(plan->stages.size(), 4);
    QCOMPARE(plan->stage(1).gates, (QStringList{"error-rate", "p99-latency"})); // inherited
    QVERIFY(plan->stage(1).approval);
    QCOMPARE(plan->stage(2).bake, Duration(90min));
    QCOMPARE(plan->gates.keys(), (QList<QString>{"error-rate", "orders", "p99-latency"}));
    QCOMPARE(plan->gates.value(QStringLiteral("p99-latency")), latency);
    QCOMPARE(plan->origin, QStringLiteral("ws.yaml:23"));
    // The playbook plan is still there, and picks up the business gate at its second stage.
    const CanaryPlan *playbook = ws.plan(playbookPlanName);
    QVERIFY(playbook);
    QVERIFY(playbook->stage(1).gates.contains(QStringLiteral("orders")));
    QVERIFY(!playbook->stage(0).gates.contains(QStringLiteral("orders")));

    QCOMPARE(ws.services.first().plan, QStringLiteral("quick"));
    QCOMPARE(ws.services.at(2).plan, playbookPlanName);
    QVERIFY(ws.services.at(1).plan.isEmpty());
    QCOMPARE(ws.releases.size(), 1);
    QCOMPARE(ws.releases.first().version, QStringLiteral("2.4.0"));
    QCOMPARE(ws.releases.first().plan, QStringLiteral("quick"));
    QCOMPARE(ws.releases.first().at, Duration(90s));
}

void TestReleasePlans::badSections_data()
{
    QTest::addColumn<QByteArray>("sections");
    QTest::addColumn<int>("line");
    QTest::addColumn<int>("column");
    QTest::addColumn<QString>("message");

    auto row = [](const char *name, const QByteArray &sections, int line, int column,
                  const char *message) {
        QTest::newRow(name) << sections << line << column << QString::fromUtf8(message);
    };
    auto plan = [](const QByteArray &stages) {
        return QByteArray("plans:\n  - name: quick\n    stages:\n") + stages;
    };
    // Stages start on line 16.
    row("weights that do not increase",
        plan("      - {weight: 5, bake: 2m, gates: [error-rate]}\n"
             "      - {weight: 1, bake: 2m}\n"
             "      - {weight: 100}\n"),
        17, 18, "plan 'quick': stage 2 weight 1 does not increase on stage 1's 5");
    row("weight above 100",
        plan("      - {weight: 120, bake: 2m, gates: [error-rate]}\n      - {weight: 100}\n"), 16,
        18, "weight 120 is above the maximum 100");
    row("negative weight",
        plan("      - {weight: -1, bake: 2m, gates: [error-rate]}\n      - {weight: 100}\n"), 16,
        18, "weight -1 is below the minimum 0");
    row("weight zero",
        plan("      - {weight: 0, bake: 2m, gates: [error-rate]}\n      - {weight: 100}\n"), 16, 18,
        "stage 1 weight 0 is outside 0-100");
    row("weight not a number",
        plan("      - {weight: five, bake: 2m, gates: [error-rate]}\n      - {weight: 100}\n"), 16,
        18, "weight must be a number, got 'five'");
    row("duration that does not parse",
        plan("      - {weight: 5, bake: 10 minutes, gates: [error-rate]}\n      - {weight: 100}\n"),
        16, 27, "bake must be a duration such as 250ms, 30s, 2m, 1h30m or a number of seconds");
    row("stage without a bake",
        plan("      - {weight: 5, gates: [error-rate]}\n      - {weight: 100}\n"), 16, 9,
        "stage 1 of plan 'quick' has no bake");
    row("stage without a weight", plan("      - {bake: 2m, gates: [error-rate]}\n"), 16, 9,
        "has no weight");
    row("unknown gate in a stage",
        plan("      - {weight: 5, bake: 2m, gates: [eror-rate]}\n      - {weight: 100}\n"), 16, 39,
        "stage 1 of plan 'quick' names gate 'eror-rate', which is not defined (did you mean "
        "'error-rate'?)");
    row("no gates", plan("      - {weight: 5, bake: 2m}\n      - {weight: 100}\n"), 16, 18,
        "stage 1 (5 %) has no gates");
    row("not ending at 100",
        plan("      - {weight: 5, bake: 2m, gates: [error-rate]}\n      - {weight: 50}\n"), 17, 18,
        "must send 100 % of traffic");
    row("unknown stage key",
        plan("      - {weight: 5, bake: 2m, gates: [error-rate], aproval: true}\n"
             "      - {weight: 100}\n"),
        16, 52, "unknown key 'aproval' in stage 1 of plan 'quick'; did you mean 'approval'?");
    row("stages and an Argo manifest",
        "plans:\n  - name: quick\n    stages: []\n    argo_rollout: r.yaml\n", 16, 5,
        "needs exactly one of 'stages'");
    row("plan defined twice", quickPlan + "  - name: quick\n    stages: []\n", 19, 11,
        "plan 'quick' is defined twice");
    row("gate naming an unknown metric",
        "gates:\n  - {name: slow, metric: p99_latncy, bound: \"< 400ms\"}\n" + quickPlan, 14, 26,
        "gate 'slow' measures metric 'p99_latncy', which is not defined (did you mean "
        "'p99_latency'?)");
    row("bound that does not parse, pointed at inside the quotes",
        "gates:\n  - {name: slow, metric: p99_latency, bound: \"< 400 MB\"}\n" + quickPlan, 14, 53,
        "bound '< 400 MB' of gate 'slow' (p99_latency): 'MB' is not a unit of this metric");
    row("failure limit of 0",
        "gates:\n  - {name: slow, metric: p99_latency, bound: \"<400\", failure_limit: 0}\n"
            + quickPlan,
        14, 69, "failure_limit 0 is below the minimum 1");
    row("gate defined twice",
        "gates:\n  - {name: slow, metric: p99_latency, bound: \"<400\"}\n"
        "  - {name: slow, metric: p50_latency, bound: \"<40\"}\n"
            + quickPlan,
        15, 12, "gate 'slow' is defined twice");
    row("metric that is built in", "metrics:\n  - {name: error_rate}\n" + quickPlan, 14, 12,
        "metric 'error_rate' is built in");
    row("metric with an unknown unit", "metrics:\n  - {name: orders, unit: percent}\n" + quickPlan,
        14, 26, "unknown unit 'percent'");
    row("service naming an unknown plan", QByteArray("plans: []\n"), 6, 85,
        "service 'checkout' uses plan 'quick', which is not defined; defined plans: playbook");
    row("release of a service that is not defined",
        quickPlan + "releases:\n  - {service: chekout, environment: production, version: 2}\n", 20,
        15, "release #1 names service 'chekout' in production, which is not defined");
    row("release of a rolling service naming a plan",
        quickPlan
            + "releases:\n  - {service: search, environment: production, version: 2, plan: "
              "quick}\n",
        20, 60,
        "release #1 of 'search' (production) names a plan, but plans are for canary releases and "
        "the service's strategy is 'rolling'");
    row("release on real infrastructure",
        quickPlan + "releases:\n  - {service: ledger, environment: production, version: 2}\n", 20,
        5,
        "release #1 of 'ledger' (production): releases listed in the workspace start by "
        "themselves when it opens, so they are only for simulated services, and this service "
        "uses adapter 'prom' of type 'prometheus'");
    row("release without the adapters a canary needs",
        quickPlan + "releases:\n  - {service: tiny, environment: production, version: 2}\n", 20, 5,
        "the service has no traffic or deploy or metrics adapter");
    row("release without a version",
        quickPlan + "releases:\n  - {service: checkout, environment: production}\n", 20, 5,
        "release #1 is missing required key 'version'");
    row("release with a bad time",
        quickPlan
            + "releases:\n  - {service: checkout, environment: production, version: 2, at: "
              "soon}\n",
        20, 66, "at must be a duration");
}

void TestReleasePlans::badSections()
{
    verifyRefused();
}

void TestReleasePlans::sequentialGates()
{
    const auto loaded = parse(R"(gates:
  - {name: quick-judge, method: sequential}
  - name: strict
    method: sequential
    counts: [slow_requests, errors]
    alpha: 0.01
    k0: 1.2
    promote_below: 1.5
    slower_than: 0.4s
    min_requests: 500
  - {name: loose, method: sequential, k0: 1.5, slower_than: 250}
  - {name: errors-only, method: sequential, counts: [errors]}
  - {name: explicit, method: threshold, metric: error_rate, bound: "< 1%"}
plans:
  - name: quick
    stages:
      - {weight: 1, bake: 2m, gates: [judge, error-rate]}
      - {weight: 5, bake: 3m, gates: [judge]}
      - {weight: 100}
  - name: strict
    stages:
      - {weight: 10, bake: 5m, gates: [strict, explicit]}
      - {weight: 100}
)");
    QVERIFY2(loaded, qPrintable(loaded ? QString() : loaded.error().toString()));
    const Workspace &ws = loaded.value();
    auto gateNamed = [&ws](const char *name) -> const GateSpec * {
        for (const GateSpec &gate : ws.gates) {
            if (gate.name == QLatin1StringView(name))
                return &gate;
        }
        return nullptr;
    };

    // Every default.
    const GateSpec *defaults = gateNamed("quick-judge");
    QVERIFY(defaults);
    QCOMPARE(toString(defaults->method), QStringLiteral("sequential"));
    QCOMPARE(defaults->sequential, SequentialGate());
    QCOMPARE(countNames(defaults->sequential.counts), (QStringList{"errors", "slow_requests"}));
    QCOMPARE(defaults->sequential.settings.alpha, 0.05);
    QCOMPARE(defaults->sequential.settings.k0, 1.0);
    QCOMPARE(defaults->sequential.settings.promoteBelow, 2.0);
    QVERIFY(!defaults->sequential.slowerThanMs);
    QCOMPARE(defaults->minRequests, 200);
    QCOMPARE(defaults->origin, QStringLiteral("ws.yaml:14"));

    // Every key.
    const GateSpec *strict = gateNamed("strict");
    QVERIFY(strict);
    QCOMPARE(toString(strict->method), QStringLiteral("sequential"));
    QCOMPARE(countNames(strict->sequential.counts), (QStringList{"slow_requests", "errors"}));
    QCOMPARE(strict->sequential.settings.alpha, 0.01);
    QCOMPARE(strict->sequential.settings.k0, 1.2);
    QCOMPARE(strict->sequential.settings.promoteBelow, 1.5);
    QCOMPARE(strict->sequential.slowerThanMs, std::optional<double>(400));
    QCOMPARE(strict->minRequests, 500);
    QCOMPARE(strict->origin, QStringLiteral("ws.yaml:15"));

    // promote_below follows k0; a bare latency is in milliseconds, as in bounds.
    const GateSpec *loose = gateNamed("loose");
    QVERIFY(loose);
    QCOMPARE(loose->sequential.settings.promoteBelow, 3.0);
    QCOMPARE(loose->sequential.slowerThanMs, std::optional<double>(250));
    QCOMPARE(countNames(gateNamed("errors-only")->sequential.counts), (QStringList{"errors"}));
    QCOMPARE(toString(gateNamed("explicit")->method), QStringLiteral("threshold"));
    QCOMPARE(gateNamed("explicit")->bound.offset, 0.01);

    // Plans carry the sequential gate they name, beside threshold gates.
    const CanaryPlan *quick = ws.plan(QStringLiteral("quick"));
    QVERIFY(quick);
    QCOMPARE(quick->gates.keys(), (QList<QString>{"error-rate", "judge"}));
    QCOMPARE(toString(quick->gates.value(builtInJudgeName).method), QStringLiteral("sequential"));
    QCOMPARE(quick->gates.value(builtInJudgeName).origin, QStringLiteral("built-in"));
    QCOMPARE(ws.plan(QStringLiteral("strict"))->gates.value(QStringLiteral("strict")), *strict);
    // The playbook plan takes the new threshold gate, and no sequential one.
    QCOMPARE(ws.plan(playbookPlanName)->gates.keys(),
             (QList<QString>{"cpu", "error-rate", "explicit", "memory", "p99-latency"}));
}

void TestReleasePlans::badSequentialGates_data()
{
    QTest::addColumn<QByteArray>("sections");
    QTest::addColumn<int>("line");
    QTest::addColumn<int>("column");
    QTest::addColumn<QString>("message");

    // One gate on line 14, then the plan the services need.
    auto row
        = [](const char *name, const QByteArray &gate, int line, int column, const char *message) {
              QTest::newRow(name) << "gates:\n" + gate + "\n" + quickPlan << line << column
                                  << QString::fromUtf8(message);
          };
    row("interval on a sequential gate", "  - {name: s, method: sequential, interval: 1m}", 14, 35,
        "gate 's': a sequential gate reads every metrics interval and keeps its evidence for the "
        "whole release; 'interval' does not apply");
    row("metric on a sequential gate", "  - {name: s, method: sequential, metric: error_rate}", 14,
        35,
        "gate 's': a sequential gate counts errors and slow requests (see 'counts') instead of "
        "measuring a metric; 'metric' does not apply");
    row("bound on a sequential gate", "  - {name: s, method: sequential, bound: \"< 1%\"}", 14, 35,
        "gate 's': a sequential gate decides from its evidence about the ratio of the canary's "
        "rate to the baseline's ('k0', 'promote_below'); 'bound' does not apply");
    row("failure limit on a sequential gate", "  - {name: s, method: sequential, failure_limit: 2}",
        14, 35,
        "gate 's': a sequential gate fails the release as soon as its evidence shows a "
        "regression, and 'alpha' bounds its false alarms; 'failure_limit' does not apply");
    row("failure limit on its own line",
        "  - name: s\n    method: sequential\n    alpha: 0.01\n    failure_limit: 2", 17, 5,
        "'failure_limit' does not apply");
    row("alpha on a threshold gate",
        "  - {name: t, metric: error_rate, bound: \"< 1%\", alpha: 0.01}", 14, 50,
        "gate 't': 'alpha' applies to method: sequential; add 'method: sequential' or remove it");
    row("counts on an explicit threshold gate",
        "  - {name: t, method: threshold, counts: [errors], metric: error_rate, bound: \"< 1%\"}",
        14, 34, "gate 't': 'counts' applies to method: sequential");
    row("slower_than on a threshold gate",
        "  - {name: t, metric: p99_latency, bound: \"< 400ms\", slower_than: 400ms}", 14, 54,
        "gate 't': 'slower_than' applies to method: sequential");
    row("unknown method", "  - {name: s, method: sequental}", 14, 23,
        "unknown method 'sequental'; did you mean 'sequential'? (choose one of: threshold, "
        "sequential)");
    row("misspelt key", "  - {name: s, method: sequential, promote_belw: 3}", 14, 35,
        "unknown key 'promote_belw' in gate 's'; did you mean 'promote_below'?");
    row("counting nothing", "  - {name: s, method: sequential, counts: []}", 14, 43,
        "'counts' of gate 's' is empty; list what the gate counts, from: errors, slow_requests");
    row("counting what it cannot", "  - {name: s, method: sequential, counts: [errors, error]}", 14,
        52,
        "gate 's' counts 'error', which it cannot count (did you mean 'errors'?); choose from: "
        "errors, slow_requests");
    row("counting twice", "  - {name: s, method: sequential, counts: [errors, errors]}", 14, 52,
        "gate 's' counts errors twice; list it once");
    row("counts not a list", "  - {name: s, method: sequential, counts: errors}", 14, 43,
        "counts must be a list");
    row("alpha out of range", "  - {name: s, method: sequential, alpha: 0.7}", 14, 42,
        "gate 's': alpha must be above 0 and at most 0.5, for example 0.05; got '0.7'");
    row("alpha not a number", "  - {name: s, method: sequential, alpha: five}", 14, 42,
        "alpha must be a number, got 'five'");
    row("k0 of 0", "  - {name: s, method: sequential, k0: 0}", 14, 39,
        "gate 's': k0 must be a ratio above 0");
    row("k0 beyond reason", "  - {name: s, method: sequential, k0: 1e7}", 14, 39,
        "k0 1e7 is above the maximum 1000000");
    row("promote_below not above k0",
        "  - {name: s, method: sequential, k0: 2, promote_below: 1.5}", 14, 57,
        "gate 's': promote_below must be above k0 (2), for example 4; got '1.5'");
    row("slower_than without slow requests",
        "  - {name: s, method: sequential, counts: [errors], slower_than: 400ms}", 14, 53,
        "gate 's': 'slower_than' says which requests are slow, but the gate counts only errors; "
        "add slow_requests to 'counts' or remove 'slower_than'");
    row("slower_than not a latency", "  - {name: s, method: sequential, slower_than: fast}", 14, 48,
        "slower_than of gate 's' must be a latency such as 400ms or 0.4s, got 'fast'");
    row("slower_than in another unit", "  - {name: s, method: sequential, slower_than: 400MB}", 14,
        48, "must be a latency such as 400ms or 0.4s, got '400MB'");
    row("slower_than of 0", "  - {name: s, method: sequential, slower_than: 0ms}", 14, 48,
        "slower_than of gate 's' must be above 0, for example 400ms");
    row("negative min_requests", "  - {name: s, method: sequential, min_requests: -1}", 14, 49,
        "min_requests -1 is below the minimum 0");

    // Two sequential gates in one plan: at the stage that adds the second.
    QTest::newRow("two sequential gates in one plan")
        << QByteArray(R"(gates:
  - {name: strict, method: sequential, counts: [errors]}
plans:
  - name: quick
    stages:
      - {weight: 1, bake: 2m, gates: [judge]}
      - {weight: 5, bake: 3m, gates: [strict, error-rate]}
      - {weight: 100}
)") << 19
        << 18
        << QStringLiteral("plan 'quick': sequential gates 'judge' and 'strict' (the second from "
                          "stage 2) in one plan: their false-alarm bounds add up; judge all "
                          "counts in one gate");
}

void TestReleasePlans::badSequentialGates()
{
    verifyRefused();
}

void TestReleasePlans::strategyDefaults()
{
    const auto loaded = parseServices(
        "  - {name: search, environment: production, strategy: rolling, adapter: sim}\n"
        "  - {name: pay, environment: production, strategy: blue-green, adapter: sim}\n"
        "releases:\n"
        "  - {service: search, environment: production, version: 5.1.0, at: 30s}\n"
        "  - {service: pay, environment: production, version: 3.9.0}\n");
    QVERIFY2(loaded, qPrintable(loaded ? QString() : loaded.error().toString()));
    const Workspace &ws = loaded.value();

    const RollingPlan &rolling = ws.services.at(0).rolling;
    QCOMPARE(rolling.maxSurge, (InstanceBudget{25, true}));
    QCOMPARE(rolling.maxUnavailable, (InstanceBudget{25, true}));
    QCOMPARE(rolling.progressDeadline, Duration(10min));
    QCOMPARE(rolling.origin, QStringLiteral("built-in"));

    const BlueGreenPlan &blueGreen = ws.services.at(1).blueGreen;
    QCOMPARE(blueGreen.warmWindow, Duration(30min));
    QVERIFY(blueGreen.autoSwitch);
    QVERIFY(blueGreen.preSwitchGates.isEmpty());
    QCOMPARE(blueGreen.postSwitchGates, QStringList{QStringLiteral("error-rate")});
    QCOMPARE(blueGreen.gates.keys(), QStringList{QStringLiteral("error-rate")});

    // Every strategy can be scheduled; only canaries name plans.
    QCOMPARE(ws.releases.size(), 2);
    QCOMPARE(ws.releases.at(0).at, Duration(30s));
    QVERIFY(ws.releases.at(0).plan.isEmpty());
    QCOMPARE(ws.releases.at(1).version, QStringLiteral("3.9.0"));
}

void TestReleasePlans::strategySettings()
{
    const auto loaded = parseServices(R"(  - name: search
    environment: production
    strategy: rolling
    adapter: sim
    rolling: {max_surge: 2, max_unavailable: 0, progress_deadline: 5m}
  - name: pay
    environment: production
    strategy: blue-green
    adapter: sim
    blue_green:
      warm_window: 45m
      switch: manual
      pre_switch_gates: [smoke, smoke]
      post_switch_gates: []
gates:
  - {name: smoke, metric: error_rate, bound: "< 1%", min_requests: 50}
)");
    QVERIFY2(loaded, qPrintable(loaded ? QString() : loaded.error().toString()));
    const Workspace &ws = loaded.value();

    const RollingPlan &rolling = ws.services.at(0).rolling;
    QCOMPARE(rolling.maxSurge, (InstanceBudget{2, false}));
    QCOMPARE(rolling.maxUnavailable, (InstanceBudget{0, false}));
    QCOMPARE(rolling.progressDeadline, Duration(5min));
    QCOMPARE(rolling.origin, QStringLiteral("ws.yaml:9"));

    const BlueGreenPlan &blueGreen = ws.services.at(1).blueGreen;
    QCOMPARE(blueGreen.warmWindow, Duration(45min));
    QVERIFY(!blueGreen.autoSwitch);
    QCOMPARE(blueGreen.preSwitchGates, QStringList{QStringLiteral("smoke")});
    QVERIFY(blueGreen.postSwitchGates.isEmpty()); // written empty: the default is off
    QCOMPARE(blueGreen.gates.value(QStringLiteral("smoke")).minRequests, 50);
    QCOMPARE(blueGreen.origin, QStringLiteral("ws.yaml:14"));
}

void TestReleasePlans::badStrategySettings_data()
{
    QTest::addColumn<QByteArray>("services");
    QTest::addColumn<int>("line");
    QTest::addColumn<int>("column");
    QTest::addColumn<QString>("message");

    auto row = [](const char *name, const QByteArray &services, int line, int column,
                  const char *message) {
        QTest::newRow(name) << services << line << column << QString::fromUtf8(message);
    };
    // The service is on line 5 and its settings on line 6.
    auto rolling = [](const QByteArray &settings) {
        return "  - name: search\n    rolling: " + settings
               + "\n    environment: production\n    strategy: rolling\n    adapter: sim\n";
    };
    auto blueGreen = [](const QByteArray &settings) {
        return "  - name: pay\n    blue_green: " + settings
               + "\n    environment: production\n    strategy: blue-green\n    adapter: sim\n";
    };
    row("surge and unavailable both zero", rolling("{max_surge: 0, max_unavailable: 0%}"), 6, 14,
        "service 'search' (production) rolling settings: max_surge and max_unavailable are both "
        "0");
    row("surge over 100 %", rolling("{max_surge: 150%}"), 6, 26,
        "service 'search' (production) rolling settings: max_surge 150% is over 100%");
    row("unavailable over 100 %", rolling("{max_unavailable: 101%}"), 6, 32,
        "rolling settings: max_unavailable");
    row("budget that is not a count", rolling("{max_surge: two}"), 6, 26,
        "max_surge 'two' is neither a whole number of instances, such as 1, nor a percentage of "
        "them, such as 25%");
    row("negative budget", rolling("{max_unavailable: -1}"), 6, 32,
        "max_unavailable -1 is negative; allow 0 or more");
    row("misspelt rolling key", rolling("{max_surg: 1}"), 6, 15,
        "unknown key 'max_surg' in service 'search' (production) rolling settings; did you mean "
        "'max_surge'?");
    row("deadline that does not parse", rolling("{progress_deadline: ten minutes}"), 6, 34,
        "progress_deadline must be a duration");
    row("warm window that does not parse", blueGreen("{warm_window: half an hour}"), 6, 31,
        "warm_window must be a duration such as 250ms, 30s, 2m, 1h30m or a number of seconds, "
        "got 'half an hour'");
    row("negative warm window", blueGreen("{warm_window: -5m}"), 6, 31,
        "warm_window cannot be negative");
    row("switch that is neither automatic nor manual", blueGreen("{switch: sometimes}"), 6, 26,
        "'sometimes'");
    row("unknown pre-switch gate", blueGreen("{pre_switch_gates: [eror-rate]}"), 6, 37,
        "service 'pay' (production) blue-green settings names gate 'eror-rate', which is not "
        "defined (did you mean 'error-rate'?)");
    row("sequential gate after a blue-green switch", blueGreen("{post_switch_gates: [judge]}"), 6,
        38,
        "service 'pay' (production) blue-green settings names gate 'judge', which is sequential: "
        "it judges a canary against its baseline serving side by side, which a blue-green "
        "release never has; name a threshold gate");
    row("rolling settings on a canary service",
        "  - {name: web, environment: production, strategy: canary, adapter: sim, rolling: "
        "{max_surge: 1}}\n",
        5, 74,
        "service 'web' (production) has 'rolling' settings, but its strategy is 'canary'; remove "
        "them or set 'strategy: rolling'");
    row("blue-green settings on a rolling service",
        "  - {name: web, environment: production, strategy: rolling, adapter: sim, blue_green: "
        "{}}\n",
        5, 75, "has 'blue_green' settings, but its strategy is 'rolling'");
    row("scheduled blue-green release with gates and no metrics",
        "  - {name: pay, environment: production, strategy: blue-green, adapters: {fleet: sim, "
        "traffic: sim, deploy: sim}}\n"
        "releases:\n  - {service: pay, environment: production, version: 2}\n",
        7, 5,
        "a blue-green release with gates needs traffic, deploy and metrics adapters, and the "
        "service has no metrics adapter");
    row("scheduled release of a service without a strategy",
        "  - {name: web, environment: production, adapter: sim}\n"
        "releases:\n  - {service: web, environment: production, version: 2}\n",
        7, 15, "the service has no release strategy");
}

void TestReleasePlans::badStrategySettings()
{
    QFETCH(QByteArray, services);
    const auto loaded = parseServices(services);
    QVERIFY2(!loaded, "a bad workspace loaded");
    const Diagnostic &d = loaded.error();
    QFETCH(QString, message);
    QVERIFY2(d.message.contains(message), qPrintable(d.toString()));
    QTEST(d.line, "line");
    QTEST(d.column, "column");
}

void TestReleasePlans::importsAnArgoRollout()
{
    QTemporaryDir dir;
    QFile manifest(dir.filePath(QStringLiteral("rollout.yaml")));
    QVERIFY(manifest.open(QIODevice::WriteOnly));
    manifest.write(R"(apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata: {name: checkout}
spec:
  strategy:
    canary:
      steps:
        - setWeight: 10
        - pause: {duration: 5m}
        - analysis: {templates: [{templateName: success-rate}]}
        - setWeight: 50
        - pause: {}
)");
    manifest.close();
    const QString file = dir.filePath(QStringLiteral("ws.yaml"));
    const auto loaded = parse(quickPlan + R"(  - name: argo
    argo_rollout: rollout.yaml
    analysis_gates: {success-rate: error-rate}
    gates: [p99-latency]
)",
                              file);
    QVERIFY2(loaded, qPrintable(loaded ? QString() : loaded.error().toString()));
    const CanaryPlan *plan = loaded.value().plan(QStringLiteral("argo"));
    QVERIFY(plan);
    QCOMPARE(plan->stages.size(), 3);
    QCOMPARE(plan->stage(0).weightPercent, 10.0);
    QCOMPARE(plan->stage(0).bake, Duration(5min));
    QVERIFY(plan->stage(0).gates.contains(QStringLiteral("error-rate")));
    QVERIFY(plan->stage(0).gates.contains(QStringLiteral("p99-latency")));
    QVERIFY(plan->stage(1).approval);
    QCOMPARE(plan->stage(2).weightPercent, 100.0);
}

void TestReleasePlans::argoProblemsPointIntoTheManifest()
{
    QTemporaryDir dir;
    QFile manifest(dir.filePath(QStringLiteral("rollout.yaml")));
    QVERIFY(manifest.open(QIODevice::WriteOnly));
    manifest.write("apiVersion: argoproj.io/v1alpha1\nkind: Rollout\nspec:\n  strategy:\n    "
                   "canary:\n      steps:\n"
                   "        - setWeight: 10\n        - experiment: {duration: 1h}\n");
    manifest.close();
    const QString file = dir.filePath(QStringLiteral("ws.yaml"));
    const auto loaded = parse(
        quickPlan + "  - {name: argo, argo_rollout: rollout.yaml, gates: [error-rate]}\n", file);
    QVERIFY(!loaded);
    QCOMPARE(loaded.error().file, dir.filePath(QStringLiteral("rollout.yaml")));
    QCOMPARE(loaded.error().line, 8);
    QVERIFY2(loaded.error().message.contains(QStringLiteral("experiment")),
             qPrintable(loaded.error().toString()));

    const auto missing = parse(
        quickPlan + "  - {name: argo, argo_rollout: nowhere.yaml, gates: [error-rate]}\n", file);
    QVERIFY(!missing);
    QVERIFY2(missing.error().file.endsWith(QStringLiteral("nowhere.yaml")),
             qPrintable(missing.error().toString()));
}

QTEST_GUILESS_MAIN(TestReleasePlans)
#include "tst_releaseplans.moc"
