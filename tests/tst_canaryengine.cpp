// The canary engine's rules: plan + status + observations + now -> actions, next status, reason.
// Each row starts from a release of web 2.4.0 over 2.3.1 (10 instances) begun at t0, adjusts its
// status, shows the engine a picture of the service and checks what it decides. Every decision
// is then asked again at the same moment, which must ask for nothing new.

#include "canaryengine.h"

#include <QTest>

#include <functional>

using namespace sb;
using namespace std::chrono_literals;

namespace {

using Setup = std::function<void(CanaryStatus &)>;

const QString stable = QStringLiteral("2.3.1");
const QString canaryVersion = QStringLiteral("2.4.0");
const TimePoint t0 = fromMSecsSinceEpoch(1'767'603'600'000); // 2026-01-05 09:00 UTC

TimePoint at(Duration offset)
{
    return t0 + offset;
}

GateSpec errorGate()
{
    GateSpec gate;
    gate.name = QStringLiteral("errors");
    gate.metric = *findMetric(builtInMetrics(), QStringLiteral("error_rate"));
    gate.bound = std::get<GateBound>(
        parseGateBound(QStringLiteral("<= 1.5 x baseline + 0.1%"), MetricUnit::Ratio));
    gate.minRequests = 100;
    gate.failureLimit = 2;
    gate.interval = 1min;
    return gate;
}

// 10 % for 5 min, 50 % for 5 min with an approval, then 100 %.
CanaryPlan plan()
{
    CanaryPlan p;
    p.name = QStringLiteral("test");
    p.gates.insert(QStringLiteral("errors"), errorGate());
    p.stages = {{10, 5min, {QStringLiteral("errors")}, false},
                {50, 5min, {QStringLiteral("errors")}, true},
                {100, 0min, {}, false}};
    return p;
}

struct Picture {
    int stableReady = 10;
    int canaryReady = 0;
    int canaryStarting = 0;
    std::optional<double> canaryWeight = 0; // none: the router has not answered
    std::optional<MetricsSnapshot> metrics;
    QString metricsError;
};

ServiceStatus observe(const Picture &picture)
{
    ServiceStatus s;
    s.key = {QStringLiteral("web"), QStringLiteral("production")};
    s.strategy = Strategy::Canary;
    FleetSnapshot fleet;
    int n = 0;
    auto add = [&](const QString &version, InstanceState state, int count) {
        for (int i = 0; i < count; ++i)
            fleet.instances.append(
                {QStringLiteral("web-%1").arg(n++), version, state, t0, QStringLiteral("a")});
    };
    add(stable, InstanceState::Ready, picture.stableReady);
    add(canaryVersion, InstanceState::Ready, picture.canaryReady);
    add(canaryVersion, InstanceState::Starting, picture.canaryStarting);
    s.fleet = fleet;
    if (picture.canaryWeight) {
        TrafficSplit split;
        split.weightPercent.insert(stable, 100 - *picture.canaryWeight);
        split.weightPercent.insert(canaryVersion, *picture.canaryWeight);
        s.traffic = split;
    }
    s.metrics = picture.metrics;
    s.metricsError = picture.metricsError;
    return s;
}

// One minute of metrics ending at `end`: the canary with `canaryErrors` of its requests failing.
MetricsSnapshot minuteEnding(Duration end, qint64 canaryRequests, double canaryErrors,
                             double baselineErrors = 0.002)
{
    MetricsSnapshot m;
    m.at = at(end);
    m.interval = 1min;
    m.versions = {VersionMetrics{stable, 80, baselineErrors, 40, 200, 4800, {}, {}, {}},
                  VersionMetrics{canaryVersion,
                                 double(canaryRequests) / 60,
                                 canaryErrors,
                                 40,
                                 200,
                                 canaryRequests,
                                 {},
                                 {},
                                 {}}};
    return m;
}

Picture baking(double weight = 10, int canaryReady = 1)
{
    Picture p;
    p.canaryReady = canaryReady;
    p.canaryWeight = weight;
    return p;
}

Picture withMetrics(Picture p, MetricsSnapshot m)
{
    p.metrics = m;
    return p;
}

CanaryStatus started()
{
    Picture p;
    p.canaryWeight = std::nullopt;
    const auto first
        = canary::start(plan(), observe(p), canaryVersion, QStringLiteral("alice"), QString(), t0);
    if (!first)
        qFatal("%s", qPrintable(first.error()));
    return first.value().status;
}

// Setups, each a step of a release's life.
void bakeSince(CanaryStatus &s, Duration since)
{
    s.bakeStartedAt = at(since);
    s.weightRequest = Request{plan().stage(s.stage).weightPercent, at(since), false, {}};
}

void lastMeasured(CanaryStatus &s, Duration when, Verdict verdict, int failures = 0)
{
    s.gates[0].measurements = 1;
    s.gates[0].failures = failures;
    Measurement m;
    m.at = at(when);
    m.verdict = verdict;
    m.why = QStringLiteral("earlier");
    s.gates[0].last = m;
}

void atStage(CanaryStatus &s, int stage)
{
    s.stage = stage;
    s.gates.clear();
    if (stage != plan().finalStage())
        s.gates.append(GateState{QStringLiteral("errors"), 0, 0, std::nullopt});
    s.canaryScaleRequest = Request{
        double(canaryInstancesFor(plan().stage(stage).weightPercent, s.replicas)), t0, false, {}};
}

void abortedAt(CanaryStatus &s, Duration when)
{
    s.aborted = true;
    s.abortReason = QStringLiteral("test");
    s.weightRequest = Request{10, at(when - 10min), false, {}};
}

QStringList described(const QList<ReleaseAction> &actions)
{
    QStringList out;
    for (const ReleaseAction &action : actions)
        out.append(action.describe());
    return out;
}

QStringList kinds(const QList<ReleaseEvent> &events)
{
    QStringList out;
    for (const ReleaseEvent &event : events)
        out.append(toString(event.kind));
    return out;
}

} // namespace

Q_DECLARE_METATYPE(Setup)
Q_DECLARE_METATYPE(sb::ServiceStatus)

class TestCanaryEngine : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void starts_data();
    void starts();
    void rules_data();
    void rules();
    void eventsCarryTheValuesSeen();
    void commands_data();
    void commands();
    void resumeKeepsTheBakeThatWasLeft();
    void backendRefusals_data();
    void backendRefusals();
    void phasesAndDerivedFacts();
};

void TestCanaryEngine::starts_data()
{
    QTest::addColumn<ServiceStatus>("observed");
    QTest::addColumn<QString>("version");
    QTest::addColumn<QString>("refusal");

    Picture plain;
    QTest::newRow("from the one version serving") << observe(plain) << canaryVersion << QString();
    Picture noRouter;
    noRouter.canaryWeight = std::nullopt;
    QTest::newRow("from the only live version when the router is silent")
        << observe(noRouter) << canaryVersion << QString();

    ServiceStatus unknown = observe(plain);
    unknown.fleet.reset();
    unknown.traffic.reset();
    unknown.fleetError = QStringLiteral("connection refused");
    QTest::newRow("nothing known yet")
        << unknown << canaryVersion
        << QStringLiteral("nothing is known of web (production)'s fleet yet (connection refused)");
    Picture split = baking(5);
    QTest::newRow("traffic already split")
        << observe(split) << QStringLiteral("2.5.0")
        << QStringLiteral("already splits traffic between 2.3.1 (95 %) and 2.4.0 (5 %)");
    QTest::newRow("the stable version again")
        << observe(plain) << stable << QStringLiteral("2.3.1 already serves all traffic");
    QTest::newRow("no version") << observe(plain) << QStringLiteral("  ")
                                << QStringLiteral("name the version to release");
    Picture empty;
    empty.stableReady = 0;
    empty.canaryWeight = std::nullopt;
    QTest::newRow("no instances") << observe(empty) << canaryVersion
                                  << QStringLiteral("has no live instances");
}

void TestCanaryEngine::starts()
{
    QFETCH(ServiceStatus, observed);
    QFETCH(QString, version);
    QFETCH(QString, refusal);
    const auto result = canary::start(plan(), observed, version, QStringLiteral("alice"),
                                      QStringLiteral("JIRA-12"), t0);
    if (!refusal.isEmpty()) {
        QVERIFY(!result);
        QVERIFY2(result.error().contains(refusal), qPrintable(result.error()));
        return;
    }
    QVERIFY2(result, qPrintable(result ? QString() : result.error()));
    const CanaryDecision &d = result.value();
    QCOMPARE(d.status.stableVersion, stable);
    QCOMPARE(d.status.canaryVersion, canaryVersion);
    QCOMPARE(d.status.replicas, 10);
    QCOMPARE(d.status.stage, 0);
    QCOMPARE(d.status.id, QStringLiteral("web/production:2.4.0@20260105T090000Z"));
    QCOMPARE(kinds(d.events), (QStringList{"started", "stage-started"}));
    QCOMPARE(d.events[0].actor, QStringLiteral("alice"));
    QVERIFY(d.events[0].reason.endsWith(QStringLiteral(": JIRA-12")));
    QCOMPARE(described(d.actions),
             (QStringList{"set weights 2.3.1 100 %, 2.4.0 0 %", "scale 2.4.0 to 1 instance"}));
}

void TestCanaryEngine::rules_data()
{
    QTest::addColumn<Setup>("setup");
    QTest::addColumn<ServiceStatus>("observed");
    QTest::addColumn<int>("seconds");
    QTest::addColumn<QStringList>("actions");
    QTest::addColumn<QStringList>("events");
    QTest::addColumn<QString>("phase");
    QTest::addColumn<QString>("reason");

    const Setup none = [](CanaryStatus &) {};
    const Picture fresh;
    auto row = [](const char *name, Setup setup, const Picture &picture, Duration offset,
                  QStringList actions, QStringList events, const char *phase, const char *reason) {
        QTest::newRow(name) << setup << observe(picture)
                            << int(std::chrono::duration_cast<std::chrono::seconds>(offset).count())
                            << actions << events << QString::fromLatin1(phase)
                            << QString::fromUtf8(reason);
    };

    // Stage entry: instances first, then the weight, then the bake.
    row("the start's scale request is not repeated", none, fresh, 0s, {}, {}, "scaling",
        "stage 1 of 3 (10 %): starting 2.4.0, 0 of 1 instances ready");
    Picture starting;
    starting.canaryStarting = 1;
    row("no weight before the canary is ready", none, starting, 10s, {}, {}, "scaling",
        "0 of 1 instances ready");
    row("asks again when nothing shows after the retry interval", none, fresh, 31s,
        {"scale 2.4.0 to 1 instance"}, {}, "scaling", "starting 2.4.0");
    Picture ready;
    ready.canaryReady = 1;
    row("weight once the canary is ready", none, ready, 20s, {"set weights 2.3.1 90 %, 2.4.0 10 %"},
        {}, "shifting", "asking the router for 10 %");
    row("the bake starts when the router shows the weight", none, baking(), 21s, {}, {"weight-set"},
        "baking", "baking, 5 min left");
    Picture wrongWeight = baking(3);
    row(
        "a router showing another weight is asked again after a while",
        [](CanaryStatus &s) {
            s.weightRequest = Request{10, at(20s), false, {}};
        },
        wrongWeight, 51s, {"set weights 2.3.1 90 %, 2.4.0 10 %"}, {}, "shifting",
        "asking the router");

    // Gates while baking.
    const Setup bakingSince0 = [](CanaryStatus &s) { bakeSince(s, 0s); };
    row("a weight changed behind the release's back is set again", bakingSince0, baking(3), 40s,
        {"set weights 2.3.1 90 %, 2.4.0 10 %"}, {}, "baking", "baking, 4 min 20 s left");
    row(
        "and not again before the retry interval",
        [](CanaryStatus &s) {
            bakeSince(s, 0s);
            s.weightRequest = Request{10, at(30s), false, {}};
        },
        baking(3), 40s, {}, {}, "baking", "baking");
    row("no measurement before the gate's interval", bakingSince0,
        withMetrics(baking(), minuteEnding(30s, 500, 0.002)), 30s, {}, {}, "baking",
        "4 min 30 s left");
    row("a passing measurement when due", bakingSince0,
        withMetrics(baking(), minuteEnding(60s, 500, 0.002)), 60s, {}, {"gate-measured"}, "baking",
        "baking, 4 min left");
    row(
        "data from before the weight waits for the next interval",
        [](CanaryStatus &s) { bakeSince(s, 10s); },
        withMetrics(baking(), minuteEnding(65s, 500, 0.002)), 70s, {}, {}, "baking",
        "Waiting for metrics at this weight for errors");
    row("data that never arrives becomes inconclusive a further interval on", bakingSince0,
        withMetrics(baking(), minuteEnding(30s, 500, 0.002)), 120s, {}, {"gate-measured"}, "baking",
        "baking, 3 min left");
    Picture metricsDown = baking();
    metricsDown.metricsError = QStringLiteral("connection refused");
    row("no metrics at all is inconclusive at once", bakingSince0, metricsDown, 60s, {},
        {"gate-measured"}, "baking", "baking");
    row("a single failure below the limit keeps baking", bakingSince0,
        withMetrics(baking(), minuteEnding(60s, 500, 0.02)), 60s, {}, {"gate-measured"}, "baking",
        "baking");
    row(
        "the failure that reaches the limit aborts and moves traffic back",
        [](CanaryStatus &s) {
            bakeSince(s, 0s);
            lastMeasured(s, 60s, Verdict::Fail, 1);
        },
        withMetrics(baking(), minuteEnding(120s, 500, 0.02)), 120s,
        {"set weights 2.3.1 100 %, 2.4.0 0 %"}, {"gate-measured", "aborted"}, "aborting",
        "gate errors failed 2 of 2 allowed measurements at 10 %");

    // The end of a bake.
    row(
        "passing gates after the bake advance to the next stage",
        [](CanaryStatus &s) {
            bakeSince(s, 0s);
            lastMeasured(s, 300s, Verdict::Pass);
        },
        baking(), 300s, {"scale 2.4.0 to 5 instances"}, {"stage-started"}, "scaling",
        "stage 2 of 3 (50 %): starting 2.4.0, 1 of 5 instances ready");
    row(
        "missing data holds the stage: never advance on no metrics",
        [](CanaryStatus &s) {
            bakeSince(s, 0s);
            lastMeasured(s, 300s, Verdict::Inconclusive);
        },
        baking(), 300s, {}, {"held"}, "holding", "holding: gate errors inconclusive: earlier");
    row(
        "a hold already announced is not announced again",
        [](CanaryStatus &s) {
            bakeSince(s, 0s);
            lastMeasured(s, 300s, Verdict::Inconclusive);
            s.holdReason = QStringLiteral("gate errors inconclusive");
        },
        baking(), 301s, {}, {}, "holding", "holding");
    row("no metrics at the end of the bake holds the stage", bakingSince0, baking(), 300s, {},
        {"gate-measured", "held"}, "holding", "gate errors inconclusive: no metrics yet");
    row(
        "a failed last measurement holds until the next one",
        [](CanaryStatus &s) {
            bakeSince(s, 0s);
            lastMeasured(s, 300s, Verdict::Fail, 1);
        },
        baking(), 300s, {}, {"held"}, "holding", "failed its last measurement (1 of 2");
    row(
        "a stage that asks for approval holds for it",
        [](CanaryStatus &s) {
            atStage(s, 1);
            bakeSince(s, 0s);
            lastMeasured(s, 300s, Verdict::Pass);
        },
        baking(50, 5), 300s, {}, {"held"}, "holding", "awaiting an operator's approval");
    row(
        "a pause stops the bake from counting",
        [](CanaryStatus &s) {
            bakeSince(s, 0s);
            lastMeasured(s, 300s, Verdict::Pass);
            s.pausedAt = at(60s);
        },
        baking(), 600s, {}, {"gate-measured"}, "paused", "with 4 min of bake left");
    row(
        "a paused stage does not shift traffic", [](CanaryStatus &s) { s.pausedAt = at(5s); },
        ready, 20s, {}, {}, "paused", "Paused at stage 1 of 3 (10 %) before its weight was set");
    row(
        "gates still abort a paused release",
        [](CanaryStatus &s) {
            bakeSince(s, 0s);
            lastMeasured(s, 60s, Verdict::Fail, 1);
            s.pausedAt = at(90s);
        },
        withMetrics(baking(), minuteEnding(120s, 500, 0.02)), 120s,
        {"set weights 2.3.1 100 %, 2.4.0 0 %"}, {"gate-measured", "aborted"}, "aborting",
        "failed 2 of 2");

    // Rolling back after an abort: traffic first, then the canary's instances.
    const Setup aborted = [](CanaryStatus &s) { abortedAt(s, 600s); };
    row("aborting moves the traffic back first", aborted, baking(), 600s,
        {"set weights 2.3.1 100 %, 2.4.0 0 %"}, {}, "aborting", "Moving all traffic back to 2.3.1");
    row("then scales the canary down", aborted, baking(0), 600s, {"scale 2.4.0 to 0 instances"}, {},
        "aborting", "scaling 2.4.0 down (1 left)");
    row("the last scale-down is asked for before the release ends", aborted, baking(0, 0), 600s,
        {"scale 2.4.0 to 0 instances"}, {}, "aborting", "scaling 2.4.0 down (0 left)");
    row(
        "rolled back once the canary is gone",
        [](CanaryStatus &s) {
            abortedAt(s, 600s);
            s.canaryScaleRequest = Request{0, at(590s), false, {}};
        },
        baking(0, 0), 600s, {}, {"rolled-back"}, "aborted",
        "Rolled back: test. 2.3.1 serves all traffic.");

    // The final stage.
    const Setup final = [](CanaryStatus &s) { atStage(s, 2); };
    row(
        "completing brings the canary to full size",
        [](CanaryStatus &s) {
            atStage(s, 1);
            s.stage = 2;
        },
        baking(50, 5), 600s, {"scale 2.4.0 to 10 instances"}, {}, "completing",
        "5 of 10 instances ready");
    row("then moves all traffic", final, baking(50, 10), 600s,
        {"set weights 2.3.1 0 %, 2.4.0 100 %"}, {}, "completing", "moving all traffic to 2.4.0");
    Picture allTraffic = baking(100, 10);
    row("then scales the stable version down", final, allTraffic, 600s,
        {"scale 2.3.1 to 0 instances"}, {}, "completing", "scaling 2.3.1 down (10 left)");
    Picture done = baking(100, 10);
    done.stableReady = 0;
    row(
        "succeeded once the stable version is gone",
        [](CanaryStatus &s) {
            atStage(s, 2);
            s.stableScaleRequest = Request{0, at(590s), false, {}};
        },
        done, 600s, {}, {"succeeded"}, "succeeded", "Succeeded: 2.4.0 serves all traffic.");
}

void TestCanaryEngine::rules()
{
    QFETCH(Setup, setup);
    QFETCH(ServiceStatus, observed);
    QFETCH(int, seconds);
    const CanaryPlan p = plan();
    CanaryStatus status = started();
    setup(status);
    const TimePoint now = at(std::chrono::seconds(seconds));

    const CanaryDecision d = canary::decide(p, status, observed, now);
    QTEST(described(d.actions), "actions");
    QTEST(kinds(d.events), "events");
    QTEST(toString(canary::phase(p, d.status, observed, now)), "phase");
    QFETCH(QString, reason);
    QVERIFY2(d.reason.contains(reason), qPrintable(d.reason));

    // Idempotent: the same moment, seen again from the new status, asks for nothing new.
    const CanaryDecision again = canary::decide(p, d.status, observed, now);
    QCOMPARE(described(again.actions), QStringList());
    QCOMPARE(kinds(again.events), QStringList());
    QCOMPARE(again.status, d.status);
    QCOMPARE(again.reason, d.reason);
    if (d.wakeAt)
        QVERIFY(*d.wakeAt > now);
}

void TestCanaryEngine::eventsCarryTheValuesSeen()
{
    CanaryStatus status = started();
    bakeSince(status, 0s);
    lastMeasured(status, 60s, Verdict::Fail, 1);
    const CanaryDecision d = canary::decide(
        plan(), status, observe(withMetrics(baking(), minuteEnding(120s, 500, 0.02))), at(120s));
    QCOMPARE(d.events.size(), 2);
    const ReleaseEvent &abort = d.events[1];
    QCOMPARE(abort.actor, automaticActor);
    QCOMPARE(abort.releaseId, status.id);
    QCOMPARE(abort.service.name, QStringLiteral("web"));
    QCOMPARE(abort.stage, 0);
    QCOMPARE(abort.at, at(120s));
    QCOMPARE(abort.values.value(QStringLiteral("error_rate.canary")), 0.02);
    QCOMPARE(abort.values.value(QStringLiteral("error_rate.baseline")), 0.002);
    QVERIFY(qFuzzyCompare(abort.values.value(QStringLiteral("error_rate.limit")), 0.004));
    QCOMPARE(abort.values.value(QStringLiteral("requests.canary")), 500.0);
    QCOMPARE(abort.reason,
             QStringLiteral("gate errors failed 2 of 2 allowed measurements at 10 %: 2.00 % > "
                            "0.40 % (baseline 0.20 %)"));
    QCOMPARE(d.status.abortReason, abort.reason);
}

void TestCanaryEngine::commands_data()
{
    QTest::addColumn<Setup>("setup");
    QTest::addColumn<ServiceStatus>("observed");
    QTest::addColumn<int>("command");
    QTest::addColumn<QString>("reason");
    QTest::addColumn<QString>("refusal");
    QTest::addColumn<QStringList>("events");
    QTest::addColumn<int>("stage");
    QTest::addColumn<QStringList>("actions");

    using C = canary::Command;
    const Setup none = [](CanaryStatus &) {};
    const Setup baked = [](CanaryStatus &s) {
        bakeSince(s, 0s);
        lastMeasured(s, 60s, Verdict::Pass);
    };
    const Setup succeeded = [](CanaryStatus &s) {
        atStage(s, 2);
        s.endedAt = at(60s);
    };
    const Setup rolledBack = [](CanaryStatus &s) {
        abortedAt(s, 60s);
        s.endedAt = at(90s);
    };
    auto refused
        = [](const char *name, Setup setup, C command, const char *reason, const char *refusal) {
              QTest::newRow(name) << setup << observe(baking()) << int(command)
                                  << QString::fromLatin1(reason) << QString::fromLatin1(refusal)
                                  << QStringList() << -1 << QStringList();
          };
    auto accepted = [](const char *name, Setup setup, const Picture &picture, C command,
                       const char *reason, QStringList events, int stage, QStringList actions) {
        QTest::newRow(name) << setup << observe(picture) << int(command)
                            << QString::fromLatin1(reason) << QString() << events << stage
                            << actions;
    };

    accepted("promote cuts the bake short", baked, baking(), C::Promote, "looks good", {"promoted"},
             1, {"scale 2.4.0 to 5 instances"});
    refused("promote needs a reason", baked, C::Promote, "  ", "a reason is required");
    accepted("promote fully goes to the final stage", baked, baking(), C::PromoteFully, "hotfix",
             {"promoted-fully"}, 2, {"scale 2.4.0 to 10 instances"});
    refused("promote fully needs a reason", baked, C::PromoteFully, "", "a reason is required");
    refused("promote on a finished release", succeeded, C::Promote, "why",
            "web (production) 2.4.0 has finished (succeeded); there is nothing to promote");
    refused(
        "promote while paused", [](CanaryStatus &s) { s.pausedAt = at(1s); }, C::Promote, "why",
        "is paused; resume it before promoting");
    refused(
        "promote at the final stage", [](CanaryStatus &s) { atStage(s, 2); }, C::Promote, "why",
        "already completing at 100 %");
    refused(
        "promote an aborted release", [](CanaryStatus &s) { abortedAt(s, 60s); }, C::Promote, "why",
        "was aborted and is rolling back");
    accepted("pause", baked, baking(), C::Pause, "", {"paused"}, 0, {});
    refused(
        "pause twice", [](CanaryStatus &s) { s.pausedAt = at(1s); }, C::Pause, "",
        "already paused");
    Picture starting;
    starting.canaryStarting = 1;
    accepted("resume", [](CanaryStatus &s) { s.pausedAt = at(1s); }, starting, C::Resume, "",
             {"resumed"}, 0, {});
    refused("resume when not paused", none, C::Resume, "", "is not paused");
    accepted("abort moves traffic back", baked, baking(), C::Abort, "pager went off", {"aborted"},
             0, {"set weights 2.3.1 100 %, 2.4.0 0 %"});
    refused(
        "abort twice", [](CanaryStatus &s) { abortedAt(s, 60s); }, C::Abort, "",
        "was aborted and is rolling back; there is nothing to abort");
    refused(
        "abort once the stable version is being retired",
        [](CanaryStatus &s) {
            atStage(s, 2);
            s.stableScaleRequest = Request{0, at(1s), false, {}};
        },
        C::Abort, "", "going back now means deploying 2.3.1 again");
    refused("abort a finished release", succeeded, C::Abort, "", "has finished (succeeded)");
    accepted("retry after the rollback starts over", rolledBack, baking(0, 0), C::Retry,
             "fixed the config", {"retried"}, 0, {"scale 2.4.0 to 1 instance"});
    refused(
        "retry while rolling back", [](CanaryStatus &s) { abortedAt(s, 60s); }, C::Retry, "",
        "still rolling back");
    refused("retry a release that was not aborted", none, C::Retry, "", "was not aborted");
}

void TestCanaryEngine::commands()
{
    QFETCH(Setup, setup);
    QFETCH(ServiceStatus, observed);
    QFETCH(int, command);
    QFETCH(QString, reason);
    QFETCH(QString, refusal);
    CanaryStatus status = started();
    setup(status);
    const auto result = canary::command(plan(), status, canary::Command(command),
                                        QStringLiteral("bob"), reason, observed, at(120s));
    if (!refusal.isEmpty()) {
        QVERIFY(!result);
        QVERIFY2(result.error().contains(refusal), qPrintable(result.error()));
        QCOMPARE(canary::refusal(plan(), status, canary::Command(command)).isEmpty(),
                 refusal.contains(QStringLiteral("reason is required")));
        return;
    }
    QVERIFY2(result, qPrintable(result ? QString() : result.error()));
    const CanaryDecision &d = result.value();
    QTEST(kinds(d.events).mid(0, 1), "events");
    QCOMPARE(d.events.first().actor, QStringLiteral("bob"));
    if (!reason.trimmed().isEmpty())
        QVERIFY2(d.events.first().reason.contains(reason), qPrintable(d.events.first().reason));
    QTEST(d.status.stage, "stage");
    QTEST(described(d.actions), "actions");
}

void TestCanaryEngine::resumeKeepsTheBakeThatWasLeft()
{
    const CanaryPlan p = plan();
    CanaryStatus status = started();
    bakeSince(status, 0s);
    const auto paused = canary::command(p, status, canary::Command::Pause, QStringLiteral("bob"),
                                        QString(), observe(baking()), at(60s));
    QVERIFY(paused);
    QCOMPARE(canary::bakeRemaining(p, paused.value().status, at(500s)), Duration(4min));
    const auto resumed
        = canary::command(p, paused.value().status, canary::Command::Resume, QStringLiteral("bob"),
                          QString(), observe(baking()), at(600s));
    QVERIFY(resumed);
    QCOMPARE(resumed.value().status.pausedDuringBake, Duration(540s));
    QCOMPARE(canary::bakeRemaining(p, resumed.value().status, at(600s)), Duration(4min));
    QCOMPARE(resumed.value().wakeAt, std::optional<TimePoint>(at(660s)));
}

void TestCanaryEngine::backendRefusals_data()
{
    QTest::addColumn<int>("kind");
    QTest::addColumn<QStringList>("events");
    QTest::addColumn<QString>("message");
    QTest::addColumn<bool>("aborted");

    QTest::newRow("unreachable: retried later")
        << int(Error::Kind::Unavailable) << QStringList{"action-failed"}
        << QStringLiteral("scale 2.4.0 to 1 instance failed: deployer down; retrying in 30 s")
        << false;
    QTest::newRow("timeout: retried later")
        << int(Error::Kind::Timeout) << QStringList{"action-failed"}
        << QStringLiteral("retrying in 30 s") << false;
    QTest::newRow("invalid: the release is aborted")
        << int(Error::Kind::Invalid) << QStringList{"action-failed", "aborted"}
        << QStringLiteral("scale 2.4.0 to 1 instance failed: deployer down") << true;
}

void TestCanaryEngine::backendRefusals()
{
    QFETCH(int, kind);
    const CanaryPlan p = plan();
    const CanaryStatus status = started();
    ReleaseAction scale;
    scale.kind = ReleaseAction::Kind::Scale;
    scale.version = canaryVersion;
    scale.instances = 1;
    const Picture nothing;
    const CanaryDecision d = canary::actionFailed(
        p, status, scale, Error{Error::Kind(kind), QStringLiteral("deployer down")},
        observe(nothing), at(5s));
    QTEST(kinds(d.events), "events");
    QFETCH(QString, message);
    QVERIFY2(d.events.first().reason.contains(message), qPrintable(d.events.first().reason));
    QTEST(d.status.aborted, "aborted");
    if (d.status.aborted)
        return;
    // Not asked again at once, but after the retry interval.
    QCOMPARE(described(d.actions), QStringList());
    QVERIFY(d.wakeAt && *d.wakeAt <= at(35s));
    QCOMPARE(described(canary::decide(p, d.status, observe(nothing), at(34s)).actions),
             QStringList());
    const CanaryDecision later = canary::decide(p, d.status, observe(nothing), at(35s));
    QCOMPARE(described(later.actions), QStringList{"scale 2.4.0 to 1 instance"});
}

void TestCanaryEngine::phasesAndDerivedFacts()
{
    const CanaryPlan p = plan();
    CanaryStatus status = started();
    QCOMPARE(canary::desiredWeight(p, status), 10.0);
    QCOMPARE(canary::bakeRemaining(p, status, at(10s)), std::nullopt);
    bakeSince(status, 0s);
    QCOMPARE(canary::bakeRemaining(p, status, at(100s)), Duration(200s));
    QCOMPARE(canary::bakeRemaining(p, status, at(900s)), Duration(0));
    status.aborted = true;
    QCOMPARE(canary::desiredWeight(p, status), 0.0);
    QCOMPARE(canary::bakeRemaining(p, status, at(100s)), std::nullopt);
}

QTEST_GUILESS_MAIN(TestCanaryEngine)
#include "tst_canaryengine.moc"
