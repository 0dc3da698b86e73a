// The blue-green engine's rules: plan + status + observations + now -> actions, next status,
// reason. Each row starts from a release of payments 3.9.0 beside 3.8.0 (10 instances) begun at
// t0 on a pinned router, adjusts the plan and the status to a moment of the release's life,
// shows the engine a picture of the service and checks what it decides. Every decision is then
// asked again at the same moment, which must ask for nothing new.

#include "bluegreenengine.h"

#include <QTest>

#include <functional>

using namespace sb;
using namespace std::chrono_literals;

namespace {

using Setup = std::function<void(BlueGreenPlan &, BlueGreenStatus &)>;

const QString oldVersion = QStringLiteral("3.8.0");
const QString newVersion = QStringLiteral("3.9.0");
const TimePoint t0 = fromMSecsSinceEpoch(1'767'603'600'000); // 2026-01-05 09:00 UTC
// The moment the rows' switch is observed, and when its 30-minute window ends.
constexpr Duration switched = 100s;
constexpr Duration windowEnds = switched + 30min;

TimePoint at(Duration offset)
{
    return t0 + offset;
}

GateSpec errorGate(const QString &name)
{
    GateSpec gate;
    gate.name = name;
    gate.metric = *findMetric(builtInMetrics(), QStringLiteral("error_rate"));
    gate.bound = std::get<GateBound>(
        parseGateBound(QStringLiteral("<= 1.5 x baseline + 0.1%"), MetricUnit::Ratio));
    gate.minRequests = 100;
    gate.failureLimit = 2;
    gate.interval = 1min;
    return gate;
}

// Automatic switch after the smoke test, errors checked after it, warm for 30 min.
BlueGreenPlan plan()
{
    BlueGreenPlan p;
    p.origin = QStringLiteral("signalbox.yaml:12");
    p.preSwitchGates = {QStringLiteral("smoke")};
    p.postSwitchGates = {QStringLiteral("errors")};
    p.gates.insert(QStringLiteral("smoke"), errorGate(QStringLiteral("smoke")));
    p.gates.insert(QStringLiteral("errors"), errorGate(QStringLiteral("errors")));
    return p;
}

struct Picture {
    int oldReady = 10;
    int oldStarting = 0;
    int oldDraining = 0;
    int newReady = 0;
    int newStarting = 0;
    int newFailed = 0;
    int newDraining = 0;
    QString live = oldVersion;      // the colour with all traffic
    bool pinned = true;             // the router reports `live` as its active version
    std::optional<double> newShare; // a split instead: this much on the new colour
    bool routerKnown = true;
    std::optional<MetricsSnapshot> metrics;
    QString metricsError;
};

ServiceStatus observe(const Picture &picture)
{
    ServiceStatus s;
    s.key = {QStringLiteral("payments"), QStringLiteral("production")};
    s.strategy = Strategy::BlueGreen;
    FleetSnapshot fleet;
    int n = 0;
    auto add = [&](const QString &version, InstanceState state, int count) {
        for (int i = 0; i < count; ++i)
            fleet.instances.append(
                {QStringLiteral("payments-%1").arg(n++), version, state, t0, QStringLiteral("a")});
    };
    add(oldVersion, InstanceState::Ready, picture.oldReady);
    add(oldVersion, InstanceState::Starting, picture.oldStarting);
    add(oldVersion, InstanceState::Draining, picture.oldDraining);
    add(newVersion, InstanceState::Ready, picture.newReady);
    add(newVersion, InstanceState::Starting, picture.newStarting);
    add(newVersion, InstanceState::Failed, picture.newFailed);
    add(newVersion, InstanceState::Draining, picture.newDraining);
    s.fleet = fleet;
    if (picture.routerKnown) {
        TrafficSplit split;
        if (picture.newShare) {
            split.weightPercent.insert(oldVersion, 100 - *picture.newShare);
            split.weightPercent.insert(newVersion, *picture.newShare);
        } else if (!picture.live.isEmpty()) {
            split.weightPercent.insert(oldVersion, picture.live == oldVersion ? 100 : 0);
            split.weightPercent.insert(newVersion, picture.live == newVersion ? 100 : 0);
            if (picture.pinned)
                split.activeVersion = picture.live;
        }
        s.traffic = split;
    } else {
        s.trafficError = QStringLiteral("connection refused");
    }
    s.metrics = picture.metrics;
    s.metricsError = picture.metricsError;
    return s;
}

// One minute of metrics ending at `end`: the new colour serving `newRequests` with `newErrors`
// failing, the old one 4800 requests at `oldErrors`.
MetricsSnapshot minuteEnding(Duration end, qint64 newRequests, double newErrors,
                             double oldErrors = 0.002)
{
    MetricsSnapshot m;
    m.at = at(end);
    m.interval = 1min;
    m.versions
        = {VersionMetrics{oldVersion, 80, oldErrors, 40, 200, 4800, {}, {}, {}},
           VersionMetrics{
               newVersion, double(newRequests) / 60, newErrors, 40, 200, newRequests, {}, {}, {}}};
    return m;
}

Picture deploying(int ready, int starting = 0, int failed = 0)
{
    Picture p;
    p.newReady = ready;
    p.newStarting = starting;
    p.newFailed = failed;
    return p;
}

Picture ready()
{
    return deploying(10);
}

// All traffic on the new colour.
Picture onNew()
{
    Picture p = ready();
    p.live = newVersion;
    return p;
}

Picture withMetrics(Picture p, MetricsSnapshot m)
{
    p.metrics = m;
    return p;
}

BlueGreenStatus started(const BlueGreenPlan &p = plan())
{
    const auto first = bluegreen::start(p, observe(Picture()), newVersion, QStringLiteral("alice"),
                                        QString(), t0);
    if (!first)
        qFatal("%s", qPrintable(first.error()));
    return first.value().status;
}

// Steps of a release's life, each building on the ones before.
void readySince(BlueGreenStatus &s, Duration when)
{
    s.readyAt = at(when);
}

void lastMeasured(QList<GateState> &gates, Duration when, Verdict verdict, int failures = 0)
{
    gates[0].measurements = 1;
    gates[0].failures = failures;
    Measurement m;
    m.at = at(when);
    m.verdict = verdict;
    m.why = QStringLiteral("earlier");
    gates[0].last = m;
}

void switchAsked(BlueGreenStatus &s, Duration when)
{
    readySince(s, 45s);
    lastMeasured(s.preSwitchGates, when, Verdict::Pass);
    s.switchRequest = Request{0, at(when), false, newVersion};
    s.switchedBy = automaticActor;
    s.switchReason = QStringLiteral("every instance ready and gates passed (smoke)");
    s.oldBefore = VersionMetrics{oldVersion, 80, 0.002, 40, 200, 4800, {}, {}, {}};
}

void switchedAt(BlueGreenStatus &s, Duration when)
{
    switchAsked(s, when - 1s);
    s.switchedAt = at(when);
    s.postSwitchGates = {GateState{QStringLiteral("errors"), 0, 0, std::nullopt}};
}

// The post-switch gate's latest measurement, taken at `when` on metrics ending `dataUntil`.
void measuredAfterSwitch(BlueGreenStatus &s, Duration when, Duration dataUntil, Verdict verdict,
                         int failures = 0)
{
    lastMeasured(s.postSwitchGates, when, verdict, failures);
    s.postSwitchDataUntil.insert(QStringLiteral("errors"), at(dataUntil));
}

void retiredAt(BlueGreenStatus &s, Duration when)
{
    switchedAt(s, switched);
    lastMeasured(s.postSwitchGates, when - 10s, Verdict::Pass);
    s.retiredAt = at(when);
    s.oldScaleRequest = Request{0, at(when), false, {}};
}

// Paused by an operator, or taken up paused after a restart.
void pausedSince(BlueGreenStatus &s, Duration when)
{
    s.pausedAt = at(when);
}

void switchingBack(BlueGreenStatus &s, Duration when)
{
    switchedAt(s, switched);
    s.aborted = true;
    s.abortReason = QStringLiteral("test");
    s.switchRequest = Request{0, at(when), false, oldVersion};
}

void switchedBack(BlueGreenStatus &s, Duration when)
{
    switchingBack(s, when - 10s);
    s.switchedBack = true;
    s.newScaleRequest = Request{0, at(when), false, {}};
}

void manual(BlueGreenPlan &p)
{
    p.autoSwitch = false;
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

QString reasons(const QList<ReleaseEvent> &events)
{
    QStringList out;
    for (const ReleaseEvent &event : events)
        out.append(event.reason);
    return out.join(QLatin1Char('\n'));
}

// Deciding again on a decision's status at the same moment asks for nothing new.
void checkIdempotent(const BlueGreenPlan &p, const BlueGreenDecision &d,
                     const ServiceStatus &observed, TimePoint now)
{
    const BlueGreenDecision again = bluegreen::decide(p, d.status, observed, now);
    QCOMPARE(described(again.actions), QStringList());
    QCOMPARE(kinds(again.events), QStringList());
    QCOMPARE(again.status, d.status);
    QCOMPARE(again.reason, d.reason);
    if (d.wakeAt)
        QVERIFY(*d.wakeAt > now);
}

} // namespace

Q_DECLARE_METATYPE(Setup)
Q_DECLARE_METATYPE(sb::ServiceStatus)
Q_DECLARE_METATYPE(sb::BlueGreenPlan)

class TestBlueGreenEngine : public QObject
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
    void theOldColoursFiguresAreThoseFromBeforeTheSwitch();
    void aManualSwitchIsRecordedWithItsOperator();
    void extendMovesTheWindow();
    void backendRefusals_data();
    void backendRefusals();
    void aRefusalForGoodIsDoneByHand();
    void aScaleUpRefusedForGoodEndsWithTheBackendsReason();
    void aSwitchBackOutsideTheReleaseIsNoticed();
    void theWindowsLastIntervalIsJudgedOrNoted();
    void aManualSwitchOverridesGatesThatHaveNotPassed();
    void aPausedReleaseNeverSwitchesOnItsOwn();
    void aPauseKeepsTheOldColourWarmPastTheWindow();
    void goingBackEndsThePause();
    void derivedFacts();
    void liveColour_data();
    void liveColour();
};

void TestBlueGreenEngine::starts_data()
{
    QTest::addColumn<BlueGreenPlan>("plan");
    QTest::addColumn<ServiceStatus>("observed");
    QTest::addColumn<QString>("version");
    QTest::addColumn<QString>("refusal");
    QTest::addColumn<QStringList>("actions");
    QTest::addColumn<QStringList>("events");

    const Picture plain;
    auto refused = [](const char *name, const BlueGreenPlan &p, const ServiceStatus &observed,
                      const QString &version, const char *refusal) {
        QTest::newRow(name) << p << observed << version << QString::fromUtf8(refusal)
                            << QStringList() << QStringList();
    };
    QTest::newRow("a pinned router: pin again, then the new colour at full size")
        << plan() << observe(plain) << newVersion << QString()
        << QStringList{"switch all traffic to 3.8.0", "scale 3.9.0 to 10 instances"}
        << QStringList{"started", "scaled"};
    Picture pool;
    pool.pinned = false;
    QTest::newRow("a pool that follows ready instances is pinned before anything starts")
        << plan() << observe(pool) << newVersion << QString()
        << QStringList{"switch all traffic to 3.8.0"} << QStringList{"started"};

    refused("no version", plan(), observe(plain), QStringLiteral(" "),
            "payments (production): name the version to release");
    Picture unknown;
    unknown.routerKnown = false;
    refused("nothing known of the router", plan(), observe(unknown), newVersion,
            "payments (production): nothing is known of its router yet (connection refused)");
    Picture noLive;
    noLive.live.clear();
    refused("no live colour", plan(), observe(noLive), newVersion,
            "payments (production): the router does not send all traffic to one version, so "
            "there is no live colour to release beside");
    Picture split = deploying(1);
    split.newShare = 10;
    refused("traffic split between versions", plan(), observe(split), QStringLiteral("4.0.0"),
            "payments (production): the router splits traffic between 3.8.0 (90 %) and 3.9.0 (10 "
            "%); a blue-green release needs all traffic on one colour");
    refused("the live version again", plan(), observe(plain), oldVersion,
            "payments (production): 3.8.0 already serves all traffic; pick a new version");
    Picture down;
    down.oldReady = 0;
    down.oldStarting = 10;
    refused("a live colour without ready instances", plan(), observe(down), newVersion,
            "payments (production): the live colour 3.8.0 has 0 of 10 instances ready (10 "
            "starting); a blue-green release needs ready ones to fall back on");
    BlueGreenPlan undefined = plan();
    undefined.postSwitchGates.append(QStringLiteral("latency"));
    refused("a gate the plan does not define", undefined, observe(plain), newVersion,
            "payments (production): the blue-green settings (signalbox.yaml:12) name gate "
            "'latency', which is not defined");
}

void TestBlueGreenEngine::starts()
{
    QFETCH(BlueGreenPlan, plan);
    QFETCH(ServiceStatus, observed);
    QFETCH(QString, version);
    QFETCH(QString, refusal);
    const auto result = bluegreen::start(plan, observed, version, QStringLiteral("alice"),
                                         QStringLiteral("JIRA-31"), t0);
    if (!refusal.isEmpty()) {
        QVERIFY(!result);
        QVERIFY2(result.error().startsWith(refusal), qPrintable(result.error()));
        return;
    }
    QVERIFY2(result, qPrintable(result ? QString() : result.error()));
    const BlueGreenDecision &d = result.value();
    QCOMPARE(d.status.oldVersion, oldVersion);
    QCOMPARE(d.status.newVersion, newVersion);
    QCOMPARE(d.status.replicas, 10);
    QCOMPARE(d.status.id, QStringLiteral("payments/production:3.9.0@20260105T090000Z"));
    QCOMPARE(d.status.startedBy, QStringLiteral("alice"));
    QTEST(described(d.actions), "actions");
    QTEST(kinds(d.events), "events");
    QCOMPARE(d.events[0].actor, QStringLiteral("alice"));
    QCOMPARE(d.events[0].reason,
             QStringLiteral("blue-green release of 3.9.0 beside 3.8.0 on 10 instances, switched "
                            "once every instance is ready and gates smoke pass; 3.8.0 stays warm "
                            "for 30 min after the switch: JIRA-31"));
    QCOMPARE(toString(bluegreen::phase(plan, d.status, observed, t0)), QStringLiteral("deploying"));
    checkIdempotent(plan, d, observed, t0);
}

void TestBlueGreenEngine::rules_data()
{
    QTest::addColumn<Setup>("setup");
    QTest::addColumn<ServiceStatus>("observed");
    QTest::addColumn<int>("seconds");
    QTest::addColumn<QStringList>("actions");
    QTest::addColumn<QStringList>("events");
    QTest::addColumn<QString>("phase");
    QTest::addColumn<QString>("reason");

    const Setup none = [](BlueGreenPlan &, BlueGreenStatus &) {};
    auto row = [](const char *name, Setup setup, const Picture &picture, Duration offset,
                  QStringList actions, QStringList events, const char *phase, const char *reason) {
        QTest::newRow(name) << setup << observe(picture)
                            << int(std::chrono::duration_cast<std::chrono::seconds>(offset).count())
                            << actions << events << QString::fromLatin1(phase)
                            << QString::fromUtf8(reason);
    };

    // Pinning and deploying: the new colour comes up beside the old one, which keeps all traffic.
    const Setup pinAsked = [](BlueGreenPlan &, BlueGreenStatus &s) {
        s.deployAskedAt.reset();
        s.newScaleRequest.reset();
    };
    Picture pool;
    pool.pinned = false;
    row("nothing starts before the router shows the pin", pinAsked, pool, 10s, {}, {}, "deploying",
        "Pinning the router on 3.8.0 before 3.9.0 starts, so no request reaches 3.9.0 before the "
        "switch.");
    row("a pin that does not show is asked again after the retry interval", pinAsked, pool, 31s,
        {"switch all traffic to 3.8.0"}, {}, "deploying", "Pinning the router on 3.8.0");
    row("the new colour starts once the router shows the pin", pinAsked, Picture(), 2s,
        {"scale 3.9.0 to 10 instances"}, {"scaled"}, "deploying",
        "Deploying 3.9.0 beside 3.8.0: 0 of 10 instances ready; 3.8.0 serves all traffic.");
    row("the start's requests are not repeated", none, Picture(), 0s, {}, {}, "deploying",
        "Deploying 3.9.0 beside 3.8.0: 0 of 10 instances ready");
    row("waiting while instances start", none, deploying(4, 6), 15s, {}, {}, "deploying",
        "4 of 10 instances ready (6 starting); 3.8.0 serves all traffic.");
    row("a scale-up that does not show is asked again", none, Picture(), 31s,
        {"scale 3.9.0 to 10 instances"}, {}, "deploying", "0 of 10 instances ready");
    row("failed instances hold the release and say why", none, deploying(7, 0, 3), 40s, {},
        {"held"}, "deploying", "7 of 10 instances ready (3 failed)");
    row(
        "a hold already announced is not announced again",
        [](BlueGreenPlan &, BlueGreenStatus &s) { s.holdReason = QStringLiteral("deploy:failed"); },
        deploying(8, 1, 1), 70s, {}, {}, "deploying",
        "8 of 10 instances ready (1 starting, 1 failed)");
    Picture extraFailed = deploying(10, 0, 1);
    row("ten ready beside a failed one is not ready", none, extraFailed, 20s, {}, {"held"},
        "deploying", "10 of 10 instances ready (1 failed)");

    // Verifying: pre-switch gates on the idle colour's smoke traffic.
    row("every instance ready starts the verification", none, ready(), 45s, {}, {}, "verifying",
        "Verifying 3.9.0 (all 10 instances ready) before the switch; 3.8.0 serves all traffic.");
    const Setup readyAt45 = [](BlueGreenPlan &, BlueGreenStatus &s) { readySince(s, 45s); };
    row("no measurement before the gate's interval", readyAt45,
        withMetrics(ready(), minuteEnding(90s, 300, 0.002)), 90s, {}, {}, "verifying",
        "Verifying 3.9.0");
    row("data from before readiness waits for the next interval", readyAt45,
        withMetrics(ready(), minuteEnding(100s, 300, 0.002)), 105s, {}, {}, "verifying",
        "Waiting for metrics since it was ready for smoke.");
    row("passing gates switch all traffic at once", readyAt45,
        withMetrics(ready(), minuteEnding(105s, 300, 0.002)), 105s, {"switch all traffic to 3.9.0"},
        {"gate-measured"}, "switching",
        "Switching all traffic from 3.8.0 to 3.9.0: every instance ready and gates passed "
        "(smoke).");
    row(
        "without pre-switch gates the switch follows readiness",
        [](BlueGreenPlan &p, BlueGreenStatus &s) {
            p.preSwitchGates.clear();
            s.preSwitchGates.clear();
        },
        ready(), 45s, {"switch all traffic to 3.9.0"}, {}, "switching",
        "every instance ready; no pre-switch gates");
    row("too little smoke traffic holds the switch, saying why", readyAt45,
        withMetrics(ready(), minuteEnding(105s, 20, 0.0)), 105s, {}, {"gate-measured", "held"},
        "awaiting-switch",
        "3.9.0 is ready (all 10 instances); holding the switch: gate smoke inconclusive: canary "
        "served 20 requests, needs 100; an operator's Switch goes ahead without them.");
    row(
        "an inconclusive hold is announced once",
        [](BlueGreenPlan &, BlueGreenStatus &s) {
            readySince(s, 45s);
            lastMeasured(s.preSwitchGates, 105s, Verdict::Inconclusive);
            s.holdReason = QStringLiteral("gates:smoke=inconclusive");
        },
        ready(), 130s, {}, {}, "awaiting-switch", "holding the switch: gate smoke inconclusive");
    row("a failure below the limit holds and keeps measuring", readyAt45,
        withMetrics(ready(), minuteEnding(105s, 300, 0.02)), 105s, {}, {"gate-measured", "held"},
        "verifying", "gate smoke failed its last measurement (1 of 2 allowed failures)");
    row(
        "the failure that reaches the limit aborts and scales the new colour down",
        [](BlueGreenPlan &, BlueGreenStatus &s) {
            readySince(s, 45s);
            lastMeasured(s.preSwitchGates, 105s, Verdict::Fail, 1);
        },
        withMetrics(ready(), minuteEnding(165s, 300, 0.02)), 165s, {"scale 3.9.0 to 0 instances"},
        {"gate-measured", "aborted", "scaled"}, "undoing",
        "Rolling back: gate smoke failed 2 of 2 allowed measurements before the switch: 2.00 % > "
        "0.40 % (baseline 0.20 %). 3.8.0 serves all traffic; scaling 3.9.0 down (10 left).");
    row(
        "a crash after readiness waits for the replacement before switching",
        [](BlueGreenPlan &, BlueGreenStatus &s) {
            readySince(s, 45s);
            lastMeasured(s.preSwitchGates, 105s, Verdict::Pass);
        },
        deploying(9, 0, 1), 110s, {}, {"held"}, "deploying", "9 of 10 instances ready (1 failed)");

    // Manual switching.
    const Setup manualReady = [](BlueGreenPlan &p, BlueGreenStatus &s) {
        manual(p);
        readySince(s, 45s);
    };
    row("a manual plan measures, then waits for an operator", manualReady,
        withMetrics(ready(), minuteEnding(105s, 300, 0.002)), 105s, {}, {"gate-measured", "held"},
        "awaiting-switch",
        "3.9.0 is ready (all 10 instances); holding the switch: waiting for an operator's "
        "Switch.");
    row("a manual plan verifies before it waits", manualReady, ready(), 60s, {}, {}, "verifying",
        "Verifying 3.9.0");
    row(
        "a manual plan without gates waits as soon as all are ready",
        [](BlueGreenPlan &p, BlueGreenStatus &s) {
            manual(p);
            p.preSwitchGates.clear();
            s.preSwitchGates.clear();
        },
        ready(), 45s, {}, {"held"}, "awaiting-switch", "waiting for an operator's Switch");

    // Switching.
    const Setup asked = [](BlueGreenPlan &, BlueGreenStatus &s) { switchAsked(s, 105s); };
    row("a switch asked for is not repeated", asked, ready(), 110s, {}, {}, "switching",
        "Switching all traffic from 3.8.0 to 3.9.0: every instance ready and gates passed "
        "(smoke).");
    row("a switch that does not show is asked again", asked, ready(), 135s,
        {"switch all traffic to 3.9.0"}, {}, "switching", "Switching all traffic");
    row("a switch is not asked again while an instance has failed", asked, deploying(9, 0, 1), 135s,
        {}, {"held"}, "switching", "9 of 10 instances ready (1 failed)");
    row("the switch observed: warm, with the countdown", asked, onNew(), 106s, {}, {"switched"},
        "warm",
        "3.9.0 serves all traffic; 3.8.0 stays warm for 30 min more (until 2026-01-05 09:31:46 "
        "UTC), so switching back takes seconds.");

    // Warm: post-switch gates against the old colour's figures from before the switch.
    const Setup warm = [](BlueGreenPlan &, BlueGreenStatus &s) { switchedAt(s, switched); };
    row("no measurement before the interval after the switch", warm,
        withMetrics(onNew(), minuteEnding(150s, 4800, 0.002)), 150s, {}, {}, "warm",
        "stays warm for 29 min 10 s more");
    row("data from before the switch waits", warm,
        withMetrics(onNew(), minuteEnding(150s, 4800, 0.002)), 160s, {}, {}, "warm",
        "Waiting for metrics since the switch for errors.");
    row("a passing measurement after the switch", warm,
        withMetrics(onNew(), minuteEnding(160s, 4800, 0.002, 0.5)), 160s, {}, {"gate-measured"},
        "warm", "stays warm for 29 min more");
    row(
        "post-switch failures switch back on their own",
        [](BlueGreenPlan &, BlueGreenStatus &s) {
            switchedAt(s, switched);
            lastMeasured(s.postSwitchGates, 160s, Verdict::Fail, 1);
        },
        withMetrics(onNew(), minuteEnding(220s, 4800, 0.03, 0.0)), 220s,
        {"switch all traffic to 3.8.0"}, {"gate-measured", "aborted"}, "switching-back",
        "Switching back: gate errors failed 2 of 2 allowed measurements after the switch: 3.00 % > "
        "0.40 % (baseline 0.20 %). Moving all traffic to 3.8.0 (10 of 10 instances ready).");
    Picture oldCrashed = onNew();
    oldCrashed.oldReady = 0;
    oldCrashed.oldStarting = 10;
    row(
        "a switch back waits for a ready instance of the old colour",
        [](BlueGreenPlan &, BlueGreenStatus &s) {
            switchedAt(s, switched);
            s.aborted = true;
            s.abortReason = QStringLiteral("test");
        },
        oldCrashed, 220s, {}, {"held"}, "switching-back",
        "Switching back: test. Waiting: 3.8.0 has 0 of 10 instances ready (10 starting), none to "
        "take the traffic back");
    row(
        "the switch back observed, then the new colour scaled down",
        [](BlueGreenPlan &, BlueGreenStatus &s) { switchingBack(s, 220s); }, ready(), 221s,
        {"scale 3.9.0 to 0 instances"}, {"switched-back", "scaled"}, "undoing",
        "Rolling back: test. 3.8.0 serves all traffic; scaling 3.9.0 down (10 left).");
    row(
        "rolled back once the new colour is gone",
        [](BlueGreenPlan &, BlueGreenStatus &s) { switchedBack(s, 230s); }, Picture(), 260s, {},
        {"rolled-back"}, "rolled-back", "Rolled back: test. 3.8.0 serves all traffic.");
    row(
        "not rolled back in the decision that asked for the scale-down",
        [](BlueGreenPlan &, BlueGreenStatus &s) {
            switchingBack(s, 220s);
            s.switchedBack = true;
        },
        Picture(), 230s, {"scale 3.9.0 to 0 instances"}, {"scaled"}, "undoing",
        "scaling 3.9.0 down (0 left)");
    row(
        "stopped before anything started: rolled back at once",
        [](BlueGreenPlan &, BlueGreenStatus &s) {
            s.deployAskedAt.reset();
            s.newScaleRequest.reset();
            s.aborted = true;
            s.abortReason = QStringLiteral("test");
        },
        Picture(), 5s, {}, {"rolled-back"}, "rolled-back", "Rolled back: test.");

    // The end of the warm window.
    // The gate's last measurement judged metrics up to the window's end.
    const Setup measuredLate = [](BlueGreenPlan &, BlueGreenStatus &s) {
        switchedAt(s, switched);
        measuredAfterSwitch(s, windowEnds, windowEnds, Verdict::Pass);
    };
    row("the window's end scales the old colour down", measuredLate, onNew(), windowEnds,
        {"scale 3.8.0 to 0 instances"}, {"scaled"}, "retiring",
        "The warm window ended: 3.9.0 serves all traffic; scaling 3.8.0 down (10 left).");
    Picture oldGone = onNew();
    oldGone.oldReady = 0;
    row("not succeeded in the decision that asked for the scale-down", measuredLate, oldGone,
        windowEnds, {"scale 3.8.0 to 0 instances"}, {"scaled"}, "retiring", "(0 left)");
    row(
        "an extended window keeps the old colour",
        [](BlueGreenPlan &, BlueGreenStatus &s) {
            switchedAt(s, switched);
            lastMeasured(s.postSwitchGates, windowEnds - 10s, Verdict::Pass);
            s.extended = bluegreen::extendStep;
        },
        onNew(), windowEnds, {}, {}, "warm", "3.8.0 stays warm for 15 min more");
    row(
        "a failed last measurement keeps the old colour past the window",
        [](BlueGreenPlan &, BlueGreenStatus &s) {
            switchedAt(s, switched);
            lastMeasured(s.postSwitchGates, windowEnds - 10s, Verdict::Fail, 1);
        },
        onNew(), windowEnds, {}, {"held"}, "warm",
        "Holding: the warm window ended, but gate errors failed its last measurement (1 of 2 "
        "allowed failures): earlier; 3.8.0 stays warm until it passes or reaches its limit.");
    Picture split = onNew();
    split.newShare = 60;
    row("a router not on the new colour keeps the old one", measuredLate, split, windowEnds, {},
        {"held"}, "warm",
        "Holding: the warm window ended, but the router does not show all traffic on 3.9.0");
    row(
        "retiring waits for the old colour to go",
        [](BlueGreenPlan &, BlueGreenStatus &s) { retiredAt(s, windowEnds); }, onNew(),
        windowEnds + 10s, {}, {}, "retiring", "scaling 3.8.0 down (10 left)");
    row(
        "succeeded once the old colour is gone, in a later decision",
        [](BlueGreenPlan &, BlueGreenStatus &s) { retiredAt(s, windowEnds); }, oldGone,
        windowEnds + 20s, {}, {"succeeded"}, "succeeded",
        "Succeeded: 3.9.0 serves all traffic; 3.8.0 is scaled down, so going back is a new "
        "deploy.");
    Picture oldDraining = oldGone;
    oldDraining.oldDraining = 3;
    row(
        "not succeeded while the old colour still drains",
        [](BlueGreenPlan &, BlueGreenStatus &s) { retiredAt(s, windowEnds); }, oldDraining,
        windowEnds + 20s, {}, {}, "retiring",
        "The warm window ended: 3.9.0 serves all traffic; scaling 3.8.0 down (0 left, 3 "
        "draining).");
    Picture newDraining;
    newDraining.newDraining = 2;
    row(
        "not rolled back while the new colour still drains",
        [](BlueGreenPlan &, BlueGreenStatus &s) { switchedBack(s, 230s); }, newDraining, 260s, {},
        {}, "undoing", "3.8.0 serves all traffic; scaling 3.9.0 down (0 left, 2 draining).");

    // The window's last interval: post-switch gates judge it before the old colour retires.
    const Setup measuredShort = [](BlueGreenPlan &, BlueGreenStatus &s) {
        switchedAt(s, switched);
        measuredAfterSwitch(s, windowEnds - 10s, windowEnds - 12s, Verdict::Pass);
    };
    row("the window's end waits for a measurement of its last interval", measuredShort, onNew(),
        windowEnds, {}, {}, "warm",
        "Holding: the warm window ended at 2026-01-05 09:31:40 UTC, but gate errors has not yet "
        "measured 3.9.0 on metrics reaching that moment; 3.8.0 stays warm until it has, at most "
        "until 2026-01-05 09:33:10 UTC.");
    row("a wait longer than the usual metrics lag is announced", measuredShort, onNew(),
        windowEnds + 30s, {}, {"held"}, "warm",
        "Holding: the warm window ended at 2026-01-05 09:31:40 UTC, but gate errors");
    const Setup awaitingLast = [](BlueGreenPlan &, BlueGreenStatus &s) {
        switchedAt(s, switched);
        measuredAfterSwitch(s, windowEnds - 10s, windowEnds - 12s, Verdict::Pass);
        s.holdReason = QStringLiteral("retire:last errors");
    };
    row("metrics stopping short of the window's end are not measured past it", awaitingLast,
        withMetrics(onNew(), minuteEnding(windowEnds - 1s, 4800, 0.002)), windowEnds + 50s, {}, {},
        "warm", "Holding: the warm window ended at 2026-01-05 09:31:40 UTC, but gate errors");
    row("metrics reaching the window's end are measured, then the old colour retires", awaitingLast,
        withMetrics(onNew(), minuteEnding(windowEnds + 45s, 4800, 0.002)), windowEnds + 50s,
        {"scale 3.8.0 to 0 instances"}, {"gate-measured", "scaled"}, "retiring",
        "The warm window ended: 3.9.0 serves all traffic; scaling 3.8.0 down (10 left).");
    row("a failure in the window's last interval keeps the old colour warm", awaitingLast,
        withMetrics(onNew(), minuteEnding(windowEnds + 45s, 4800, 0.03)), windowEnds + 50s, {},
        {"gate-measured", "held"}, "warm",
        "Holding: the warm window ended, but gate errors failed its last measurement (1 of 2 "
        "allowed failures)");
    row("metrics that never reach the window's end: measured as before, retired at the wait's end",
        awaitingLast, onNew(), windowEnds + 90s, {"scale 3.8.0 to 0 instances"},
        {"gate-measured", "scaled"}, "retiring", "scaling 3.8.0 down (10 left).");
    row(
        "a failure without metrics for the window's end does not hold the old colour for ever",
        [](BlueGreenPlan &, BlueGreenStatus &s) {
            switchedAt(s, switched);
            measuredAfterSwitch(s, windowEnds - 10s, windowEnds - 12s, Verdict::Fail, 1);
            s.holdReason = QStringLiteral("retire:gate errors");
        },
        onNew(), windowEnds + 90s, {"scale 3.8.0 to 0 instances"}, {"gate-measured", "scaled"},
        "retiring", "scaling 3.8.0 down (10 left).");
    row(
        "without post-switch gates the window's end retires at once",
        [](BlueGreenPlan &p, BlueGreenStatus &s) {
            switchedAt(s, switched);
            p.postSwitchGates.clear();
            s.postSwitchGates.clear();
        },
        onNew(), windowEnds, {"scale 3.8.0 to 0 instances"}, {"scaled"}, "retiring",
        "scaling 3.8.0 down (10 left).");

    // A router moved back to the old colour by someone else, not by the release.
    row("a switch back outside the release is recorded and undone", warm, ready(), 600s,
        {"scale 3.9.0 to 0 instances"}, {"switched-back", "scaled"}, "undoing",
        "Rolling back: the router was switched back to 3.8.0 outside the release. 3.8.0 serves "
        "all traffic; scaling 3.9.0 down (10 left).");
    row("also once the window is over", measuredLate, ready(), windowEnds + 10min,
        {"scale 3.9.0 to 0 instances"}, {"switched-back", "scaled"}, "undoing",
        "Rolling back: the router was switched back to 3.8.0 outside the release.");
    row(
        "a switch back outside the release ends rolled back once the new colour is gone",
        [](BlueGreenPlan &, BlueGreenStatus &s) {
            switchedAt(s, switched);
            s.aborted = true;
            s.switchedBack = true;
            s.abortReason = QStringLiteral("the router was switched back to 3.8.0 outside the "
                                           "release");
            s.newScaleRequest = Request{0, at(600s), false, {}};
        },
        Picture(), 630s, {}, {"rolled-back"}, "rolled-back",
        "Rolled back: the router was switched back to 3.8.0 outside the release. 3.8.0 serves "
        "all traffic.");

    // Paused: nothing moves traffic forward or retires anything; requests already made are kept,
    // gates keep measuring, and going back is never held.
    row(
        "paused before the deploy: the new colour is not started",
        [](BlueGreenPlan &, BlueGreenStatus &s) {
            s.deployAskedAt.reset();
            s.newScaleRequest.reset();
            pausedSince(s, 1s);
        },
        Picture(), 2s, {}, {}, "paused",
        "Paused before 3.9.0 starts: 3.8.0 serves all traffic; 3.9.0 is started once the release "
        "is resumed.");
    row(
        "paused before the deploy, a pin that does not show is still asked again",
        [](BlueGreenPlan &, BlueGreenStatus &s) {
            s.deployAskedAt.reset();
            s.newScaleRequest.reset();
            pausedSince(s, 1s);
        },
        pool, 31s, {"switch all traffic to 3.8.0"}, {}, "paused", "Paused before 3.9.0 starts");
    row(
        "paused, a scale-up already asked for is asked again",
        [](BlueGreenPlan &, BlueGreenStatus &s) { pausedSince(s, 5s); }, Picture(), 31s,
        {"scale 3.9.0 to 10 instances"}, {}, "paused",
        "Paused while 3.9.0 comes up beside 3.8.0 (0 of 10 instances ready): the scale-up already "
        "asked for goes on; the switch waits for Resume or an operator's Switch; 3.8.0 serves all "
        "traffic.");
    row(
        "paused with every gate passing: no automatic switch",
        [](BlueGreenPlan &, BlueGreenStatus &s) {
            readySince(s, 45s);
            pausedSince(s, 60s);
        },
        withMetrics(ready(), minuteEnding(105s, 300, 0.002)), 105s, {}, {"gate-measured"}, "paused",
        "Paused: 3.9.0 is ready (all 10 instances) and its gates passed (smoke); the switch waits "
        "for Resume or an operator's Switch; 3.8.0 serves all traffic.");
    row(
        "paused with a manual plan: the switch waits for the operator as before",
        [](BlueGreenPlan &p, BlueGreenStatus &s) {
            manual(p);
            readySince(s, 45s);
            lastMeasured(s.preSwitchGates, 105s, Verdict::Inconclusive);
            pausedSince(s, 110s);
        },
        ready(), 130s, {}, {}, "paused",
        "Paused: 3.9.0 is ready (all 10 instances); gate smoke inconclusive: earlier; the switch "
        "waits for an operator's Switch; 3.8.0 serves all traffic.");
    row(
        "paused, a failing pre-switch gate still aborts",
        [](BlueGreenPlan &, BlueGreenStatus &s) {
            readySince(s, 45s);
            lastMeasured(s.preSwitchGates, 105s, Verdict::Fail, 1);
            pausedSince(s, 110s);
        },
        withMetrics(ready(), minuteEnding(165s, 300, 0.02)), 165s, {"scale 3.9.0 to 0 instances"},
        {"gate-measured", "aborted", "scaled"}, "undoing",
        "Rolling back: gate smoke failed 2 of 2 allowed measurements before the switch");
    const Setup askedThenPaused = [](BlueGreenPlan &, BlueGreenStatus &s) {
        switchAsked(s, 105s);
        pausedSince(s, 106s);
    };
    row("paused, a switch asked for before is not asked again", askedThenPaused, ready(), 135s, {},
        {}, "paused",
        "Paused with the switch to 3.9.0 asked for at 2026-01-05 09:01:45 UTC and not yet on the "
        "router: it may still land, but it is not asked again until the release is resumed; "
        "3.8.0 serves all traffic.");
    row("paused, a switch asked for before that lands is recorded", askedThenPaused, onNew(), 110s,
        {}, {"switched"}, "paused",
        "Paused: 3.9.0 serves all traffic; 3.8.0 stays warm for 30 min more (until 2026-01-05 "
        "09:31:50 UTC), and past then until the release is resumed; switching back takes "
        "seconds.");
    const Setup warmThenPaused = [](BlueGreenPlan &, BlueGreenStatus &s) {
        switchedAt(s, switched);
        lastMeasured(s.postSwitchGates, 590s, Verdict::Pass);
        pausedSince(s, 200s);
    };
    row("paused inside the window: the countdown goes on", warmThenPaused, onNew(), 600s, {}, {},
        "paused",
        "Paused: 3.9.0 serves all traffic; 3.8.0 stays warm for 21 min 40 s more (until "
        "2026-01-05 09:31:40 UTC), and past then until the release is resumed; switching back "
        "takes seconds.");
    Picture newCrashed = onNew();
    newCrashed.newReady = 9;
    row("paused, the live colour is kept at full size", warmThenPaused, newCrashed, 600s,
        {"scale 3.9.0 to 10 instances"}, {}, "paused", "Paused: 3.9.0 serves all traffic");
    row(
        "paused past the window's end: the old colour is held warm",
        [](BlueGreenPlan &, BlueGreenStatus &s) {
            switchedAt(s, switched);
            measuredAfterSwitch(s, windowEnds, windowEnds, Verdict::Pass);
            pausedSince(s, 600s);
        },
        onNew(), windowEnds + 30s, {}, {}, "paused",
        "Paused: 3.9.0 serves all traffic; the warm window ended at 2026-01-05 09:31:40 UTC, but "
        "3.8.0 is held warm while paused and is scaled down only once the release is resumed; "
        "switching back still takes seconds.");
    row(
        "paused, a failing post-switch gate still switches back",
        [](BlueGreenPlan &, BlueGreenStatus &s) {
            switchedAt(s, switched);
            lastMeasured(s.postSwitchGates, 160s, Verdict::Fail, 1);
            pausedSince(s, 170s);
        },
        withMetrics(onNew(), minuteEnding(220s, 4800, 0.03, 0.0)), 220s,
        {"switch all traffic to 3.8.0"}, {"gate-measured", "aborted"}, "switching-back",
        "Switching back: gate errors failed 2 of 2 allowed measurements after the switch");
    row("paused, a switch back outside the release is still noticed", warmThenPaused, ready(), 600s,
        {"scale 3.9.0 to 0 instances"}, {"switched-back", "scaled"}, "undoing",
        "Rolling back: the router was switched back to 3.8.0 outside the release.");
    row(
        "taken up paused while retiring: the scale-down already asked for goes on",
        [](BlueGreenPlan &, BlueGreenStatus &s) {
            retiredAt(s, windowEnds);
            pausedSince(s, windowEnds + 5s);
        },
        onNew(), windowEnds + 31s, {"scale 3.8.0 to 0 instances"}, {}, "retiring",
        "scaling 3.8.0 down (10 left)");
}

void TestBlueGreenEngine::rules()
{
    QFETCH(Setup, setup);
    QFETCH(ServiceStatus, observed);
    QFETCH(int, seconds);
    BlueGreenPlan p = plan();
    BlueGreenStatus status = started();
    setup(p, status);
    const TimePoint now = at(std::chrono::seconds(seconds));

    const BlueGreenDecision d = bluegreen::decide(p, status, observed, now);
    QTEST(described(d.actions), "actions");
    QFETCH(QStringList, events);
    QVERIFY2(kinds(d.events) == events, qPrintable(kinds(d.events).join(QLatin1Char(','))
                                                   + QLatin1Char('\n') + reasons(d.events)));
    QTEST(toString(bluegreen::phase(p, d.status, observed, now)), "phase");
    QFETCH(QString, reason);
    QVERIFY2(d.reason.contains(reason), qPrintable(d.reason));
    checkIdempotent(p, d, observed, now);
}

void TestBlueGreenEngine::eventsCarryTheValuesSeen()
{
    const BlueGreenPlan p = plan();
    BlueGreenStatus status = started();
    switchAsked(status, 105s);

    // The switch, with the old colour's figures from before it and the gates that allowed it.
    const BlueGreenDecision d = bluegreen::decide(p, status, observe(onNew()), at(106s));
    QCOMPARE(kinds(d.events), QStringList{"switched"});
    const ReleaseEvent &switchedEvent = d.events[0];
    QCOMPARE(switchedEvent.actor, automaticActor);
    QCOMPARE(switchedEvent.releaseId, status.id);
    QCOMPARE(switchedEvent.service.name, QStringLiteral("payments"));
    QCOMPARE(switchedEvent.stage, -1);
    QCOMPARE(switchedEvent.reason,
             QStringLiteral("all traffic on 3.9.0 (10 of 10 instances ready); 3.8.0 stays warm "
                            "for 30 min, until 2026-01-05 09:31:46 UTC: every instance ready and "
                            "gates passed (smoke)"));
    QCOMPARE(switchedEvent.values.value(QStringLiteral("error_rate.old_before")), 0.002);
    QCOMPARE(switchedEvent.values.value(QStringLiteral("requests.old_before")), 4800.0);
    QCOMPARE(switchedEvent.values.value(QStringLiteral("ready.new")), 10.0);
    QCOMPARE(d.status.switchedAt, std::optional<TimePoint>(at(106s)));
    QCOMPARE(d.status.postSwitchGates.size(), 1);

    // A failing post-switch gate compares the new colour with those figures, not with the old
    // colour's smoke traffic now.
    BlueGreenStatus warm = d.status;
    lastMeasured(warm.postSwitchGates, 166s, Verdict::Fail, 1);
    const BlueGreenDecision back = bluegreen::decide(
        p, warm, observe(withMetrics(onNew(), minuteEnding(226s, 4800, 0.03, 0.9))), at(226s));
    QCOMPARE(kinds(back.events), (QStringList{"gate-measured", "aborted"}));
    const ReleaseEvent &abort = back.events[1];
    QCOMPARE(abort.actor, automaticActor);
    QCOMPARE(abort.values.value(QStringLiteral("error_rate.new")), 0.03);
    QCOMPARE(abort.values.value(QStringLiteral("error_rate.old")), 0.002);
    QVERIFY(qFuzzyCompare(abort.values.value(QStringLiteral("error_rate.limit")), 0.004));
    QCOMPARE(abort.values.value(QStringLiteral("requests.new")), 4800.0);
    QCOMPARE(abort.reason,
             QStringLiteral("gate errors failed 2 of 2 allowed measurements after the switch: "
                            "3.00 % > 0.40 % (baseline 0.20 %)"));
    QCOMPARE(back.status.abortReason, abort.reason);

    // The switch back observed names how long the new colour served.
    const BlueGreenDecision observedBack
        = bluegreen::decide(p, back.status, observe(ready()), at(227s));
    QCOMPARE(kinds(observedBack.events), (QStringList{"switched-back", "scaled"}));
    QCOMPARE(observedBack.events[0].reason,
             QStringLiteral("all traffic back on 3.8.0 after 2 min 01 s on 3.9.0; scaling 3.9.0 "
                            "down"));
    QCOMPARE(observedBack.events[0].values.value(QStringLiteral("error_rate.new")), 0.03);
}

void TestBlueGreenEngine::commands_data()
{
    QTest::addColumn<Setup>("setup");
    QTest::addColumn<ServiceStatus>("observed");
    QTest::addColumn<int>("command");
    QTest::addColumn<QString>("reason");
    QTest::addColumn<int>("seconds");
    QTest::addColumn<QString>("refusal");
    QTest::addColumn<QStringList>("events");
    QTest::addColumn<QStringList>("actions");

    using C = ReleaseCommand;
    const Setup none = [](BlueGreenPlan &, BlueGreenStatus &) {};
    const Setup readyManual = [](BlueGreenPlan &p, BlueGreenStatus &s) {
        manual(p);
        readySince(s, 45s);
        lastMeasured(s.preSwitchGates, 105s, Verdict::Inconclusive);
    };
    const Setup asked = [](BlueGreenPlan &, BlueGreenStatus &s) { switchAsked(s, 105s); };
    const Setup warm = [](BlueGreenPlan &, BlueGreenStatus &s) { switchedAt(s, switched); };
    const Setup retired = [](BlueGreenPlan &, BlueGreenStatus &s) {
        retiredAt(s, windowEnds);
        s.deployAskedAt = t0;
    };
    const Setup succeeded = [](BlueGreenPlan &, BlueGreenStatus &s) {
        retiredAt(s, windowEnds);
        s.endedAt = at(windowEnds + 20s);
    };
    const Setup rolledBack = [](BlueGreenPlan &, BlueGreenStatus &s) {
        switchedBack(s, 230s);
        s.endedAt = at(260s);
    };
    auto refused = [](const char *name, Setup setup, const Picture &picture, C command,
                      Duration offset, const char *reason, const char *refusal) {
        QTest::newRow(name) << setup << observe(picture) << int(command)
                            << QString::fromLatin1(reason)
                            << int(std::chrono::duration_cast<std::chrono::seconds>(offset).count())
                            << QString::fromUtf8(refusal) << QStringList() << QStringList();
    };
    auto accepted = [](const char *name, Setup setup, const Picture &picture, C command,
                       Duration offset, const char *reason, QStringList events,
                       QStringList actions) {
        QTest::newRow(name) << setup << observe(picture) << int(command)
                            << QString::fromLatin1(reason)
                            << int(std::chrono::duration_cast<std::chrono::seconds>(offset).count())
                            << QString() << events << actions;
    };

    // Switch.
    accepted("switch once every instance is ready", readyManual, ready(), C::Switch, 120s,
             "smoke traffic too thin, checked by hand", {}, {"switch all traffic to 3.9.0"});
    refused("switch while the idle colour is not ready", readyManual, deploying(7, 3), C::Switch,
            120s, "why",
            "payments (production): 3.9.0 has 7 of 10 instances ready; switch once "
            "all are ready");
    refused("switch with a failed instance", readyManual, deploying(10, 0, 1), C::Switch, 120s,
            "why", "3.9.0 has 10 of 10 instances ready; switch once all are ready");
    refused("switch needs a reason", readyManual, ready(), C::Switch, 120s, " ",
            "payments (production): say why you switch: a reason is required");
    refused("switch while a switch is under way", asked, ready(), C::Switch, 110s, "why",
            "payments (production): the switch to 3.9.0 is already under way");
    refused("switch after the switch", warm, onNew(), C::Switch, 200s, "why",
            "payments (production): 3.9.0 has served all traffic since 2026-01-05 09:01:40 UTC; "
            "there is nothing to switch");
    accepted("switch again after the router refused",
             [](BlueGreenPlan &, BlueGreenStatus &s) {
                 switchAsked(s, 105s);
                 s.switchRequest->failed = true;
             },
             ready(), C::Switch, 110s, "router is back", {}, {"switch all traffic to 3.9.0"});

    // Switch back.
    accepted("switch back inside the window", warm, onNew(), C::SwitchBack, 600s,
             "checkout errors in support tickets", {"aborted"}, {"switch all traffic to 3.8.0"});
    refused("switch back needs a reason", warm, onNew(), C::SwitchBack, 600s, "",
            "say why you switch back: a reason is required");
    refused("switch back before the switch", readyManual, ready(), C::SwitchBack, 120s, "why",
            "payments (production): 3.9.0 does not serve traffic yet; abort the release to stay "
            "on 3.8.0");
    refused("switch back while the switch is under way", asked, ready(), C::SwitchBack, 110s, "why",
            "the switch to 3.9.0 is not on the router yet; switch back once it shows");
    Picture oldDown = onNew();
    oldDown.oldReady = 0;
    oldDown.oldStarting = 2;
    refused("switch back without a ready old instance", warm, oldDown, C::SwitchBack, 600s, "why",
            "payments (production): 3.8.0 has 0 of 10 instances ready (2 starting), none to take "
            "the traffic back; switch back once one is ready");
    refused("switch back after retirement: a new deploy, with its estimate", retired, onNew(),
            C::SwitchBack, windowEnds + 5s, "why",
            "payments (production): 3.8.0 was scaled down at 2026-01-05 09:31:40 UTC when the "
            "warm window ended; going back now is a new deploy of 3.8.0, about 45 s to bring 10 "
            "instances up, then a switch");
    // The old colour is warm until its retirement is asked for, not merely until the window's end.
    accepted("switch back at the window's end, before the old colour's retirement", warm, onNew(),
             C::SwitchBack, windowEnds, "why", {"aborted"}, {"switch all traffic to 3.8.0"});
    const Setup heldByGate = [](BlueGreenPlan &, BlueGreenStatus &s) {
        switchedAt(s, switched);
        measuredAfterSwitch(s, windowEnds - 10s, windowEnds - 12s, Verdict::Fail, 1);
        s.holdReason = QStringLiteral("retire:gate errors");
    };
    accepted("switch back while a failing gate holds the old colour past the window", heldByGate,
             onNew(), C::SwitchBack, windowEnds + 30s, "errors after the switch", {"aborted"},
             {"switch all traffic to 3.8.0"});
    refused(
        "switch back after retirement of a colour that had nothing to start: time unknown",
        [](BlueGreenPlan &, BlueGreenStatus &s) {
            retiredAt(s, windowEnds);
            s.deployAskedAt = at(45s);
            s.newHeldAtDeploy = 10;
        },
        onNew(), C::SwitchBack, windowEnds + 5s, "why",
        "payments (production): 3.8.0 was scaled down at 2026-01-05 09:31:40 UTC when the "
        "warm window ended; going back now is a new deploy of 3.8.0, as long as starting 10 "
        "instances takes, then a switch");
    refused("switch back after success", succeeded, onNew(), C::SwitchBack, windowEnds + 60s, "why",
            "3.8.0 was scaled down at 2026-01-05 09:31:40 UTC when the warm window ended");
    refused("switch back after a rollback", rolledBack, Picture(), C::SwitchBack, 300s, "why",
            "payments (production): the release of 3.9.0 has finished (rolled back); there is "
            "nothing to switch back");
    refused(
        "switch back twice", [](BlueGreenPlan &, BlueGreenStatus &s) { switchingBack(s, 220s); },
        onNew(), C::SwitchBack, 225s, "why",
        "payments (production): the release of 3.9.0 was stopped (test) and is going back to "
        "3.8.0; there is nothing to switch back");

    // Extend.
    accepted("extend inside the window",
             [](BlueGreenPlan &, BlueGreenStatus &s) {
                 switchedAt(s, switched);
                 lastMeasured(s.postSwitchGates, 590s, Verdict::Pass);
             },
             onNew(), C::Extend, 600s, "", {"window-extended"}, {});
    refused("extend before the switch", readyManual, ready(), C::Extend, 120s, "",
            "payments (production): the warm window begins when 3.9.0 takes all traffic; there is "
            "nothing to extend before the switch");
    accepted("extend while a failing gate holds the old colour past the window", heldByGate,
             onNew(), C::Extend, windowEnds + 30s, "watching the errors", {"window-extended"}, {});
    refused("extend after the window", retired, onNew(), C::Extend, windowEnds + 5s, "",
            "payments (production): the warm window ended at 2026-01-05 09:31:40 UTC and 3.8.0 is "
            "being scaled down; it can no longer be kept warm");

    // Abort.
    accepted("abort before the switch scales the new colour down", none, deploying(3, 7), C::Abort,
             30s, "wrong build", {"aborted", "scaled"}, {"scale 3.9.0 to 0 instances"});
    refused("abort after the switch", warm, onNew(), C::Abort, 600s, "",
            "payments (production): 3.9.0 has served all traffic since 2026-01-05 09:01:40 UTC; "
            "switch back to 3.8.0 instead (21 min 40 s of the warm window left)");
    refused("abort while the switch is under way", asked, ready(), C::Abort, 110s, "",
            "payments (production): the switch to 3.9.0 is under way; once it shows, switch back "
            "to 3.8.0 instead");
    refused("abort while a failing gate holds the old colour past the window", heldByGate, onNew(),
            C::Abort, windowEnds + 30s, "",
            "payments (production): 3.9.0 has served all traffic since 2026-01-05 09:01:40 UTC; "
            "switch back to 3.8.0 instead (3.8.0 is still warm: its retirement waits for gate "
            "errors, which failed its last measurement)");
    refused(
        "abort while the window's last interval is awaited",
        [](BlueGreenPlan &, BlueGreenStatus &s) {
            switchedAt(s, switched);
            measuredAfterSwitch(s, windowEnds - 10s, windowEnds - 12s, Verdict::Pass);
        },
        onNew(), C::Abort, windowEnds + 5s, "",
        "switch back to 3.8.0 instead (3.8.0 is still warm: its retirement waits for gate "
        "errors to judge the window's last interval)");
    Picture split = onNew();
    split.newShare = 60;
    refused(
        "abort while a split router holds the old colour past the window",
        [](BlueGreenPlan &, BlueGreenStatus &s) {
            switchedAt(s, switched);
            measuredAfterSwitch(s, windowEnds, windowEnds, Verdict::Pass);
        },
        split, C::Abort, windowEnds + 5s, "",
        "switch back to 3.8.0 instead (3.8.0 is still warm: its retirement waits for the "
        "router to show all traffic on 3.9.0)");
    refused("abort after retirement", retired, onNew(), C::Abort, windowEnds + 5s, "",
            "going back now is a new deploy of 3.8.0");
    refused("abort a finished release", rolledBack, Picture(), C::Abort, 300s, "",
            "has finished (rolled back); there is nothing to abort");

    // Pause and Resume; while paused Switch, Switch back, Extend and Abort stay available.
    const Setup paused = [](BlueGreenPlan &, BlueGreenStatus &s) { pausedSince(s, 5s); };
    accepted("pause before the switch", none, Picture(), C::Pause, 10s, "CAB freeze", {"paused"},
             {});
    accepted("pause while the switch is under way", asked, ready(), C::Pause, 110s, "", {"paused"},
             {});
    accepted("pause inside the window",
             [](BlueGreenPlan &, BlueGreenStatus &s) {
                 switchedAt(s, switched);
                 lastMeasured(s.postSwitchGates, 590s, Verdict::Pass);
             },
             onNew(), C::Pause, 600s, "watching checkout", {"paused"}, {});
    accepted("pause while a failing gate holds the old colour past the window", heldByGate, onNew(),
             C::Pause, windowEnds + 30s, "INC-4", {"paused"}, {});
    refused("pause twice", paused, Picture(), C::Pause, 10s, "",
            "payments (production): the release of 3.9.0 has been paused since 2026-01-05 "
            "09:00:05 UTC; resume it to go on");
    refused("pause once the old colour is being scaled down", retired, onNew(), C::Pause,
            windowEnds + 5s, "",
            "payments (production): the scale-down of 3.8.0 was asked for at 2026-01-05 "
            "09:31:40 UTC, when the warm window ended; there is nothing left to pause");
    refused("pause a finished release", rolledBack, Picture(), C::Pause, 300s, "",
            "payments (production): the release of 3.9.0 has finished (rolled back); there is "
            "nothing to pause");
    refused(
        "pause while going back",
        [](BlueGreenPlan &, BlueGreenStatus &s) { switchingBack(s, 220s); }, onNew(), C::Pause,
        225s, "",
        "payments (production): the release of 3.9.0 was stopped (test) and is going back to "
        "3.8.0; there is nothing to pause");
    refused("resume when not paused", none, Picture(), C::Resume, 10s, "",
            "payments (production): the release of 3.9.0 is not paused; there is nothing to "
            "resume");
    refused("resume a finished release", succeeded, onNew(), C::Resume, windowEnds + 60s, "",
            "has finished (succeeded); there is nothing to resume");
    accepted("resume with every gate passing: the switch follows",
             [](BlueGreenPlan &, BlueGreenStatus &s) {
                 readySince(s, 45s);
                 lastMeasured(s.preSwitchGates, 105s, Verdict::Pass);
                 pausedSince(s, 60s);
             },
             ready(), C::Resume, 130s, "checked the dashboards", {"resumed"},
             {"switch all traffic to 3.9.0"});
    accepted("resume a switch asked for before the pause: asked again",
             [](BlueGreenPlan &, BlueGreenStatus &s) {
                 switchAsked(s, 105s);
                 pausedSince(s, 106s);
             },
             ready(), C::Resume, 200s, "", {"resumed"}, {"switch all traffic to 3.9.0"});
    accepted("resume past the window's end retires the old colour",
             [](BlueGreenPlan &, BlueGreenStatus &s) {
                 switchedAt(s, switched);
                 measuredAfterSwitch(s, windowEnds, windowEnds, Verdict::Pass);
                 pausedSince(s, 600s);
             },
             onNew(), C::Resume, windowEnds + 30s, "incident closed", {"resumed", "scaled"},
             {"scale 3.8.0 to 0 instances"});
    accepted("resume past the window's end with a failing gate: still held, and said again",
             [](BlueGreenPlan &, BlueGreenStatus &s) {
                 switchedAt(s, switched);
                 measuredAfterSwitch(s, windowEnds - 10s, windowEnds - 12s, Verdict::Fail, 1);
                 s.holdReason = QStringLiteral("retire:gate errors");
                 pausedSince(s, windowEnds + 5s);
             },
             onNew(), C::Resume, windowEnds + 30s, "", {"resumed", "held"}, {});
    accepted("switch while paused",
             [](BlueGreenPlan &, BlueGreenStatus &s) {
                 readySince(s, 45s);
                 lastMeasured(s.preSwitchGates, 105s, Verdict::Inconclusive);
                 pausedSince(s, 110s);
             },
             ready(), C::Switch, 120s, "smoke checked by hand", {},
             {"switch all traffic to 3.9.0"});
    accepted("switch back while paused",
             [](BlueGreenPlan &, BlueGreenStatus &s) {
                 switchedAt(s, switched);
                 pausedSince(s, 200s);
             },
             onNew(), C::SwitchBack, 600s, "checkout errors", {"aborted"},
             {"switch all traffic to 3.8.0"});
    accepted("extend while paused",
             [](BlueGreenPlan &, BlueGreenStatus &s) {
                 switchedAt(s, switched);
                 lastMeasured(s.postSwitchGates, 590s, Verdict::Pass);
                 pausedSince(s, 200s);
             },
             onNew(), C::Extend, 600s, "", {"window-extended"}, {});
    accepted("abort while paused", paused, deploying(3, 7), C::Abort, 30s, "wrong build",
             {"aborted", "scaled"}, {"scale 3.9.0 to 0 instances"});

    // The other strategies' commands.
    refused("promote", none, Picture(), C::Promote, 10s, "why",
            "payments (production): the release of 3.9.0 is blue-green and has no stages to "
            "promote; Switch sends it all traffic at once");
    refused("promote fully", none, Picture(), C::PromoteFully, 10s, "why", "no stages to promote");
    refused("retry", rolledBack, Picture(), C::Retry, 300s, "",
            "payments (production): a blue-green release is not retried; start a new release of "
            "3.9.0 instead");
    refused("roll back", warm, onNew(), C::RollBack, 600s, "",
            "payments (production): the release of 3.9.0 is blue-green; Switch back sends all "
            "traffic to 3.8.0 while it is warm");
}

void TestBlueGreenEngine::commands()
{
    QFETCH(Setup, setup);
    QFETCH(ServiceStatus, observed);
    QFETCH(int, command);
    QFETCH(QString, reason);
    QFETCH(int, seconds);
    QFETCH(QString, refusal);
    BlueGreenPlan p = plan();
    BlueGreenStatus status = started();
    setup(p, status);
    const TimePoint now = at(std::chrono::seconds(seconds));
    const auto result = bluegreen::command(p, status, ReleaseCommand(command),
                                           QStringLiteral("bob"), reason, observed, now);
    if (!refusal.isEmpty()) {
        QVERIFY(!result);
        QVERIFY2(result.error().contains(refusal), qPrintable(result.error()));
        // The panel's buttons follow refusal(); only the missing reason is the command's own.
        QCOMPARE(bluegreen::refusal(p, status, observed, ReleaseCommand(command), now).isEmpty(),
                 refusal.contains(QStringLiteral("reason is required")));
        return;
    }
    QVERIFY2(result, qPrintable(result ? QString() : result.error()));
    const BlueGreenDecision &d = result.value();
    QTEST(kinds(d.events), "events");
    if (!d.events.isEmpty()) {
        QCOMPARE(d.events.first().actor, QStringLiteral("bob"));
        if (!reason.trimmed().isEmpty())
            QVERIFY2(d.events.first().reason.contains(reason), qPrintable(d.events.first().reason));
    }
    QTEST(described(d.actions), "actions");
    checkIdempotent(p, d, observed, now);
}

void TestBlueGreenEngine::theOldColoursFiguresAreThoseFromBeforeTheSwitch()
{
    const BlueGreenPlan p = plan();
    BlueGreenStatus status = started();
    readySince(status, 45s);
    // Asked for on an observation with all traffic still on the old colour: its figures then
    // are the baseline.
    const MetricsSnapshot before = minuteEnding(105s, 300, 0.002, 0.003);
    const BlueGreenDecision asked
        = bluegreen::decide(p, status, observe(withMetrics(ready(), before)), at(105s));
    QCOMPARE(described(asked.actions), QStringList{"switch all traffic to 3.9.0"});
    QCOMPARE(asked.status.oldBefore, std::optional<VersionMetrics>(before.versions[0]));

    // Once switched, the old colour serves only smoke traffic; that does not move the baseline.
    const BlueGreenDecision shown = bluegreen::decide(
        p, asked.status, observe(withMetrics(onNew(), minuteEnding(106s, 4800, 0.002, 0.5))),
        at(106s));
    QCOMPARE(kinds(shown.events), QStringList{"switched"});
    QCOMPARE(shown.status.oldBefore, std::optional<VersionMetrics>(before.versions[0]));
    QCOMPARE(shown.events[0].values.value(QStringLiteral("error_rate.old_before")), 0.003);
    QCOMPARE(bluegreen::warmRemaining(p, shown.status, at(106s)), Duration(30min));
    // Decided again no later than the first post-switch measurement is due.
    QVERIFY(shown.wakeAt && *shown.wakeAt <= at(166s));
}

void TestBlueGreenEngine::aManualSwitchIsRecordedWithItsOperator()
{
    BlueGreenPlan p = plan();
    manual(p);
    BlueGreenStatus status = started(p);
    readySince(status, 45s);
    const auto pressed = bluegreen::command(
        p, status, ReleaseCommand::Switch, QStringLiteral("bob"), QStringLiteral("CAB-7 approved"),
        observe(withMetrics(ready(), minuteEnding(100s, 300, 0.004))), at(100s));
    QVERIFY(pressed);
    // The old colour's figures of the moment the switch was asked for are kept as the baseline.
    QVERIFY(pressed.value().status.oldBefore);
    QCOMPARE(pressed.value().status.oldBefore->requests, 4800);
    QCOMPARE(toString(bluegreen::phase(p, pressed.value().status, observe(ready()), at(100s))),
             QStringLiteral("switching"));

    const BlueGreenDecision shown
        = bluegreen::decide(p, pressed.value().status, observe(onNew()), at(101s));
    QCOMPARE(kinds(shown.events), QStringList{"switched"});
    QCOMPARE(shown.events[0].actor, QStringLiteral("bob"));
    QVERIFY2(shown.events[0].reason.endsWith(QStringLiteral(": switched by bob: CAB-7 approved")),
             qPrintable(shown.events[0].reason));
}

void TestBlueGreenEngine::extendMovesTheWindow()
{
    const BlueGreenPlan p = plan();
    BlueGreenStatus status = started();
    switchedAt(status, switched);
    QCOMPARE(bluegreen::warmRemaining(p, status, at(switched + 10min)), Duration(20min));
    const auto extended
        = bluegreen::command(p, status, ReleaseCommand::Extend, QStringLiteral("bob"),
                             QStringLiteral("peak hour"), observe(onNew()), at(switched + 10min));
    QVERIFY(extended);
    const BlueGreenDecision &d = extended.value();
    QCOMPARE(d.status.extended, bluegreen::extendStep);
    QCOMPARE(bluegreen::warmRemaining(p, d.status, at(switched + 10min)), Duration(35min));
    QVERIFY2(d.reason.contains(QStringLiteral("3.8.0 stays warm for 35 min more")),
             qPrintable(d.reason));
    QCOMPARE(d.events[0].reason,
             QStringLiteral("3.8.0 stays warm 15 min longer, until 2026-01-05 09:46:40 UTC (35 "
                            "min left): peak hour"));
    QCOMPARE(d.events[0].values.value(QStringLiteral("warm_remaining_seconds")), 2100.0);
    // Extended twice, the old colour is retired at the end of the longer window only.
    const auto twice
        = bluegreen::command(p, d.status, ReleaseCommand::Extend, QStringLiteral("bob"), QString(),
                             observe(onNew()), at(windowEnds + 10min));
    QVERIFY(twice);
    QCOMPARE(twice.value().status.extended, 2 * bluegreen::extendStep);
    QCOMPARE(described(bluegreen::decide(p, twice.value().status, observe(onNew()),
                                         at(windowEnds + 29min))
                           .actions),
             QStringList());
    // Measured on metrics up to the longer window's end, the old colour is retired then.
    QCOMPARE(
        described(bluegreen::decide(
                      p, twice.value().status,
                      observe(withMetrics(onNew(), minuteEnding(windowEnds + 30min, 4800, 0.002))),
                      at(windowEnds + 30min))
                      .actions),
        QStringList{"scale 3.8.0 to 0 instances"});

    // Held past the window's end by a failing gate, Extend counts from now.
    BlueGreenStatus held = status;
    measuredAfterSwitch(held, windowEnds - 10s, windowEnds - 12s, Verdict::Fail, 1);
    const BlueGreenDecision holding
        = bluegreen::decide(p, held, observe(onNew()), at(windowEnds + 1min));
    QCOMPARE(holding.status.holdReason, QStringLiteral("retire:gate errors"));
    QCOMPARE(bluegreen::warmRemaining(p, holding.status, at(windowEnds + 1min)), std::nullopt);
    const auto late
        = bluegreen::command(p, holding.status, ReleaseCommand::Extend, QStringLiteral("bob"),
                             QString(), observe(onNew()), at(windowEnds + 1min));
    QVERIFY2(late, qPrintable(late ? QString() : late.error()));
    QCOMPARE(bluegreen::warmRemaining(p, late.value().status, at(windowEnds + 1min)),
             Duration(bluegreen::extendStep));
    QCOMPARE(late.value().events[0].reason,
             QStringLiteral("3.8.0 stays warm 15 min longer, until 2026-01-05 09:47:40 UTC (15 "
                            "min left)"));
    QVERIFY(late.value().status.holdReason.isEmpty());
}

void TestBlueGreenEngine::backendRefusals_data()
{
    QTest::addColumn<Setup>("setup");
    QTest::addColumn<ServiceStatus>("observed");
    QTest::addColumn<QString>("action"); // scale <version> <n>, or switch <version>
    QTest::addColumn<int>("kind");
    QTest::addColumn<int>("seconds");
    QTest::addColumn<QStringList>("events");
    QTest::addColumn<QString>("message");
    QTest::addColumn<bool>("aborted");
    QTest::addColumn<bool>("retried"); // asked again after actionRetryAfter

    const Setup none = [](BlueGreenPlan &, BlueGreenStatus &) {};
    const Setup retiring = [](BlueGreenPlan &, BlueGreenStatus &s) { retiredAt(s, windowEnds); };
    const Setup asked = [](BlueGreenPlan &, BlueGreenStatus &s) { switchAsked(s, 105s); };
    const Setup back = [](BlueGreenPlan &, BlueGreenStatus &s) { switchingBack(s, 220s); };
    auto row = [](const char *name, Setup setup, const Picture &picture, const char *action,
                  Error::Kind kind, Duration offset, QStringList events, const char *message,
                  bool aborted, bool retried) {
        QTest::newRow(name) << setup << observe(picture) << QString::fromLatin1(action) << int(kind)
                            << int(std::chrono::duration_cast<std::chrono::seconds>(offset).count())
                            << events << QString::fromUtf8(message) << aborted << retried;
    };

    row("unreachable before the switch: retried later", none, Picture(), "scale 3.9.0 10",
        Error::Kind::Unavailable, 5s, {"action-failed"},
        "scale 3.9.0 to 10 instances failed: backend down; retrying in 30 s", false, true);
    row("a timed-out switch: retried later", asked, ready(), "switch 3.9.0", Error::Kind::Timeout,
        110s, {"action-failed"},
        "switch all traffic to 3.9.0 failed: backend down; retrying in 30 s", false, true);
    row("a switch refused for good before it: aborted", asked, ready(), "switch 3.9.0",
        Error::Kind::Invalid, 110s, {"action-failed", "aborted", "scaled"},
        "switch all traffic to 3.9.0 failed: backend down", true, false);
    row("a scale-up the deployer cannot do, nothing of it running: aborted and ended", none,
        Picture(), "scale 3.9.0 10", Error::Kind::Unsupported, 5s,
        {"action-failed", "aborted", "rolled-back"},
        "scale 3.9.0 to 10 instances failed: backend down", true, false);
    row("a scale-up the deployer cannot do, some of it running: aborted and scaled down", none,
        deploying(3, 7), "scale 3.9.0 10", Error::Kind::Unsupported, 5s,
        {"action-failed", "aborted", "scaled"}, "scale 3.9.0 to 10 instances failed: backend down",
        true, false);
    row("unreachable while retiring: retried later", retiring, onNew(), "scale 3.8.0 0",
        Error::Kind::Unavailable, windowEnds + 2s, {"action-failed"}, "retrying in 30 s", false,
        true);
    row("refused for good after the switch: reported, not asked again", retiring, onNew(),
        "scale 3.8.0 0", Error::Kind::Invalid, windowEnds + 2s, {"action-failed"},
        "scale 3.8.0 to 0 instances failed: backend down; it will not be asked again, so do it by "
        "hand",
        false, false);
    row("a switch back refused for good: reported, not asked again", back, onNew(), "switch 3.8.0",
        Error::Kind::Unsupported, 221s, {"action-failed"},
        "switch all traffic to 3.8.0 failed: backend down; it will not be asked again", true,
        false);
}

void TestBlueGreenEngine::backendRefusals()
{
    QFETCH(Setup, setup);
    QFETCH(ServiceStatus, observed);
    QFETCH(QString, action);
    QFETCH(int, kind);
    QFETCH(int, seconds);
    QFETCH(bool, retried);
    BlueGreenPlan p = plan();
    BlueGreenStatus status = started();
    setup(p, status);
    const QStringList words = action.split(QLatin1Char(' '));
    ReleaseAction refusedAction;
    refusedAction.kind = words[0] == QLatin1String("scale") ? ReleaseAction::Kind::Scale
                                                            : ReleaseAction::Kind::Switch;
    refusedAction.version = words[1];
    refusedAction.instances = words.value(2).toInt();
    const TimePoint now = at(std::chrono::seconds(seconds));

    const BlueGreenDecision d = bluegreen::actionFailed(
        p, status, refusedAction, Error{Error::Kind(kind), QStringLiteral("backend down")},
        observed, now);
    QTEST(kinds(d.events), "events");
    QFETCH(QString, message);
    QVERIFY2(d.events.first().reason.contains(message), qPrintable(d.events.first().reason));
    QTEST(d.status.aborted, "aborted");
    checkIdempotent(p, d, observed, now);
    if (d.status.aborted && !status.switchedAt)
        return;

    // Asked again after the retry interval, or never when refused for good.
    QVERIFY(!d.actions.contains(refusedAction));
    QVERIFY(!bluegreen::decide(p, d.status, observed, now + actionRetryAfter - 1s)
                 .actions.contains(refusedAction));
    const BlueGreenDecision later
        = bluegreen::decide(p, d.status, observed, now + actionRetryAfter);
    QCOMPARE(later.actions.contains(refusedAction), retried);
    if (!retried) {
        QVERIFY2(later.reason.contains(QStringLiteral("The backend refused to %1 for good "
                                                      "(backend down); do it by hand")
                                           .arg(refusedAction.describe())),
                 qPrintable(later.reason));
    }
}

void TestBlueGreenEngine::aRefusalForGoodIsDoneByHand()
{
    const BlueGreenPlan p = plan();
    BlueGreenStatus status = started();
    retiredAt(status, windowEnds);
    ReleaseAction scaleDown;
    scaleDown.kind = ReleaseAction::Kind::Scale;
    scaleDown.version = oldVersion;
    scaleDown.instances = 0;
    const BlueGreenDecision refused = bluegreen::actionFailed(
        p, status, scaleDown, Error{Error::Kind::Invalid, QStringLiteral("quota locked")},
        observe(onNew()), at(windowEnds + 1s));
    QVERIFY(!refused.status.aborted);
    QCOMPARE(refused.status.refusedAction, std::optional<ReleaseAction>(scaleDown));

    // Nothing is asked again while the old colour runs; once an operator has scaled it down by
    // hand, the release ends.
    Picture byHand = onNew();
    byHand.oldReady = 0;
    const BlueGreenDecision waiting
        = bluegreen::decide(p, refused.status, observe(onNew()), at(windowEnds + 10min));
    QCOMPARE(described(waiting.actions), QStringList());
    QVERIFY(!waiting.status.finished());
    const BlueGreenDecision done
        = bluegreen::decide(p, refused.status, observe(byHand), at(windowEnds + 10min));
    QCOMPARE(kinds(done.events), QStringList{"succeeded"});
    QVERIFY(done.status.succeeded());
}

void TestBlueGreenEngine::aScaleUpRefusedForGoodEndsWithTheBackendsReason()
{
    const BlueGreenPlan p = plan();
    const BlueGreenStatus status = started();
    ReleaseAction scaleUp;
    scaleUp.kind = ReleaseAction::Kind::Scale;
    scaleUp.version = newVersion;
    scaleUp.instances = 10;
    const Error undeclared{Error::Kind::Invalid, QStringLiteral("no version 3.9.0 to deploy")};
    const BlueGreenDecision d
        = bluegreen::actionFailed(p, status, scaleUp, undeclared, observe(Picture()), at(1s));
    // Nothing of the new colour runs, so nothing is scaled down and nothing is left to do by hand.
    QCOMPARE(described(d.actions), QStringList());
    QCOMPARE(kinds(d.events), (QStringList{"action-failed", "aborted", "rolled-back"}));
    QVERIFY(d.status.finished());
    QCOMPARE(d.reason, QStringLiteral("Rolled back: the backend refused to scale 3.9.0 to 10 "
                                      "instances: no version 3.9.0 to deploy. 3.8.0 serves all "
                                      "traffic."));
    QCOMPARE(d.events[2].reason,
             QStringLiteral("3.8.0 serves all traffic; nothing of 3.9.0 runs, so there is nothing "
                            "to scale down: the backend refused to scale 3.9.0 to 10 instances: "
                            "no version 3.9.0 to deploy"));
    for (const ReleaseEvent &event : d.events)
        QVERIFY2(!event.reason.contains(QStringLiteral("by hand")), qPrintable(event.reason));
    QCOMPARE(toString(bluegreen::phase(p, d.status, observe(Picture()), at(1s))),
             QStringLiteral("rolled-back"));

    // Without a fleet observation nothing is known to be absent: it is scaled down as usual.
    ServiceStatus unseen = observe(Picture());
    unseen.fleet.reset();
    const BlueGreenDecision blind
        = bluegreen::actionFailed(p, status, scaleUp, undeclared, unseen, at(1s));
    QCOMPARE(kinds(blind.events), (QStringList{"action-failed", "aborted", "scaled"}));
}

void TestBlueGreenEngine::aSwitchBackOutsideTheReleaseIsNoticed()
{
    const BlueGreenPlan p = plan();
    BlueGreenStatus status = started();
    switchedAt(status, switched);
    measuredAfterSwitch(status, 160s, 160s, Verdict::Pass);
    // Someone pointed the router at 3.8.0 again; the release asked for nothing of the kind.
    const BlueGreenDecision noticed
        = bluegreen::decide(p, status, observe(ready()), at(switched + 5min));
    QCOMPARE(kinds(noticed.events), (QStringList{"switched-back", "scaled"}));
    const ReleaseEvent &back = noticed.events[0];
    QCOMPARE(back.actor, automaticActor);
    QCOMPARE(back.reason,
             QStringLiteral("the router shows all traffic on 3.8.0 again; it was switched back "
                            "outside the release after 5 min on 3.9.0, so 3.9.0 is scaled down"));
    QCOMPARE(back.values.value(QStringLiteral("ready.old")), 10.0);
    QVERIFY(noticed.status.aborted && noticed.status.switchedBack);
    QCOMPARE(described(noticed.actions), QStringList{"scale 3.9.0 to 0 instances"});
    checkIdempotent(p, noticed, observe(ready()), at(switched + 5min));
    // The new colour is no longer warm standby for anything: the commands say the release is
    // going back.
    QVERIFY(!bluegreen::refusal(p, noticed.status, observe(ready()), ReleaseCommand::SwitchBack,
                                at(switched + 5min))
                 .isEmpty());

    const BlueGreenDecision ended
        = bluegreen::decide(p, noticed.status, observe(Picture()), at(switched + 6min));
    QCOMPARE(kinds(ended.events), QStringList{"rolled-back"});
    QCOMPARE(ended.reason, QStringLiteral("Rolled back: the router was switched back to 3.8.0 "
                                          "outside the release. 3.8.0 serves all traffic."));

    // The release's own switch back is not mistaken for one.
    BlueGreenStatus own = status;
    switchingBack(own, 220s);
    const BlueGreenDecision ownBack = bluegreen::decide(p, own, observe(ready()), at(221s));
    QCOMPARE(kinds(ownBack.events), (QStringList{"switched-back", "scaled"}));
    QCOMPARE(ownBack.events[0].reason,
             QStringLiteral("all traffic back on 3.8.0 after 2 min 01 s on 3.9.0; scaling 3.9.0 "
                            "down"));
    // Nor a router that is split or unknown: held at the window's end, not undone.
    Picture unknown = onNew();
    unknown.routerKnown = false;
    const BlueGreenDecision blind
        = bluegreen::decide(p, status, observe(unknown), at(switched + 5min));
    QVERIFY(!blind.status.aborted);
}

void TestBlueGreenEngine::theWindowsLastIntervalIsJudgedOrNoted()
{
    const BlueGreenPlan p = plan();
    BlueGreenStatus status = started();
    switchedAt(status, switched);
    measuredAfterSwitch(status, windowEnds - 10s, windowEnds - 12s, Verdict::Pass);

    // At the window's end the old colour is held and the release says until when at most.
    const BlueGreenDecision held = bluegreen::decide(
        p, status, observe(withMetrics(onNew(), minuteEnding(windowEnds - 2s, 4800, 0.002))),
        at(windowEnds));
    QCOMPARE(kinds(held.events), QStringList());
    QVERIFY2(held.reason.startsWith(QStringLiteral("Holding: the warm window ended at ")),
             qPrintable(held.reason));
    QVERIFY(!held.status.retiredAt);
    QVERIFY(held.wakeAt && *held.wakeAt <= at(windowEnds + 30s));
    QCOMPARE(toString(bluegreen::phase(p, held.status, observe(onNew()), at(windowEnds))),
             QStringLiteral("warm"));

    // No metrics reaching it until the wait is over: measured on what there is, retired, and
    // the event says what went unjudged.
    const BlueGreenDecision gaveUp = bluegreen::decide(
        p, held.status, observe(withMetrics(onNew(), minuteEnding(windowEnds - 2s, 4800, 0.002))),
        at(windowEnds + 90s));
    QCOMPARE(described(gaveUp.actions), QStringList{"scale 3.8.0 to 0 instances"});
    QCOMPARE(kinds(gaveUp.events), (QStringList{"gate-measured", "scaled"}));
    QVERIFY2(gaveUp.events[1].reason.endsWith(
                 QStringLiteral("; gate errors had no metrics reaching the window's end within 1 "
                                "min 30 s of it, so the window's last interval went unjudged")),
             qPrintable(gaveUp.events[1].reason));
    checkIdempotent(p, gaveUp, observe(onNew()), at(windowEnds + 90s));

    // Measured on them in time: retired without a note, the data's end recorded.
    const BlueGreenDecision judged = bluegreen::decide(
        p, held.status, observe(withMetrics(onNew(), minuteEnding(windowEnds + 40s, 4800, 0.002))),
        at(windowEnds + 50s));
    QCOMPARE(kinds(judged.events), (QStringList{"gate-measured", "scaled"}));
    QVERIFY2(!judged.events[1].reason.contains(QStringLiteral("unjudged")),
             qPrintable(judged.events[1].reason));
    QCOMPARE(judged.status.postSwitchDataUntil.value(QStringLiteral("errors")),
             at(windowEnds + 40s));
}

void TestBlueGreenEngine::aManualSwitchOverridesGatesThatHaveNotPassed()
{
    BlueGreenPlan p = plan();
    manual(p);
    BlueGreenStatus status = started(p);
    readySince(status, 45s);
    QCOMPARE(bluegreen::preSwitchBlockers(p, status), QStringList{"gate smoke not measured yet"});
    lastMeasured(status.preSwitchGates, 105s, Verdict::Fail, 1);
    QCOMPARE(bluegreen::preSwitchBlockers(p, status),
             QStringList{"gate smoke failed its last measurement (1 of 2 allowed failures): "
                         "earlier"});
    lastMeasured(status.preSwitchGates, 105s, Verdict::Inconclusive);
    QCOMPARE(bluegreen::preSwitchBlockers(p, status),
             QStringList{"gate smoke inconclusive: earlier"});
    lastMeasured(status.preSwitchGates, 105s, Verdict::Pass);
    QCOMPARE(bluegreen::preSwitchBlockers(p, status), QStringList());
    p.preSwitchGates.clear();
    status.preSwitchGates.clear();
    QCOMPARE(bluegreen::preSwitchBlockers(p, status), QStringList());
}

void TestBlueGreenEngine::aPausedReleaseNeverSwitchesOnItsOwn()
{
    const BlueGreenPlan p = plan();
    const BlueGreenStatus status = started();
    const auto paused
        = bluegreen::command(p, status, ReleaseCommand::Pause, QStringLiteral("bob"),
                             QStringLiteral("CAB freeze"), observe(Picture()), at(10s));
    QVERIFY2(paused, qPrintable(paused ? QString() : paused.error()));
    QCOMPARE(kinds(paused.value().events), QStringList{"paused"});
    const ReleaseEvent &pausedEvent = paused.value().events[0];
    QCOMPARE(pausedEvent.actor, QStringLiteral("bob"));
    QCOMPARE(pausedEvent.releaseId, status.id);
    QCOMPARE(pausedEvent.reason,
             QStringLiteral("paused before the switch: 3.9.0 takes no traffic until the release "
                            "is resumed or an operator switches; gates keep measuring and still "
                            "abort on failure: CAB freeze"));
    QCOMPARE(paused.value().status.pausedAt, std::optional<TimePoint>(at(10s)));
    QCOMPARE(described(paused.value().actions), QStringList());

    // The new colour comes up and its gate passes, again and again: no switch while paused.
    BlueGreenStatus current = paused.value().status;
    const BlueGreenDecision readyNow = bluegreen::decide(p, current, observe(ready()), at(45s));
    current = readyNow.status;
    for (Duration end = 105s; end <= 10min; end += 1min) {
        const ServiceStatus observed = observe(withMetrics(ready(), minuteEnding(end, 300, 0.002)));
        const BlueGreenDecision d = bluegreen::decide(p, current, observed, at(end));
        QCOMPARE(described(d.actions), QStringList());
        QCOMPARE(kinds(d.events), QStringList{"gate-measured"});
        QCOMPARE(toString(bluegreen::phase(p, d.status, observed, at(end))),
                 QStringLiteral("paused"));
        QVERIFY(!d.status.switchRequest);
        current = d.status;
    }
    QCOMPARE(bluegreen::refusal(p, current, observe(ready()), ReleaseCommand::Switch, at(10min)),
             QString());

    // Resumed, the gates that passed let the switch follow at once.
    const auto resumed
        = bluegreen::command(p, current, ReleaseCommand::Resume, QStringLiteral("carol"),
                             QStringLiteral("freeze lifted"), observe(ready()), at(10min + 5s));
    QVERIFY2(resumed, qPrintable(resumed ? QString() : resumed.error()));
    QCOMPARE(kinds(resumed.value().events), QStringList{"resumed"});
    QCOMPARE(resumed.value().events[0].actor, QStringLiteral("carol"));
    QCOMPARE(resumed.value().events[0].reason,
             QStringLiteral("resumed after 9 min 55 s paused: freeze lifted"));
    QCOMPARE(described(resumed.value().actions), QStringList{"switch all traffic to 3.9.0"});
    QVERIFY(!resumed.value().status.pausedAt);
    QCOMPARE(
        toString(bluegreen::phase(p, resumed.value().status, observe(ready()), at(10min + 5s))),
        QStringLiteral("switching"));

    // Taken up paused after a restart with its switch asked for and not on the router: not asked
    // again, however long it waits.
    BlueGreenStatus restored = resumed.value().status;
    restored.pausedAt = at(10min + 10s);
    const BlueGreenDecision later
        = bluegreen::decide(p, restored, observe(ready()), at(10min + 10s + 10 * actionRetryAfter));
    QCOMPARE(described(later.actions), QStringList());
    QVERIFY2(later.reason.contains(QStringLiteral("it is not asked again until the release is "
                                                  "resumed")),
             qPrintable(later.reason));
    // Nor after a refusal that asking again could change.
    ReleaseAction switchToNew;
    switchToNew.kind = ReleaseAction::Kind::Switch;
    switchToNew.version = newVersion;
    const BlueGreenDecision refused = bluegreen::actionFailed(
        p, restored, switchToNew, Error{Error::Kind::Unavailable, QStringLiteral("router busy")},
        observe(ready()), at(10min + 11s));
    QCOMPARE(kinds(refused.events), QStringList{"action-failed"});
    QCOMPARE(refused.events[0].reason,
             QStringLiteral("switch all traffic to 3.9.0 failed: router busy; paused, so it is "
                            "not asked again until the release is resumed or an operator "
                            "switches"));
    QCOMPARE(described(bluegreen::decide(p, refused.status, observe(ready()),
                                         at(10min + 11s + actionRetryAfter))
                           .actions),
             QStringList());
}

void TestBlueGreenEngine::aPauseKeepsTheOldColourWarmPastTheWindow()
{
    const BlueGreenPlan p = plan();
    BlueGreenStatus status = started();
    switchedAt(status, switched);
    measuredAfterSwitch(status, windowEnds - 5min, windowEnds - 5min, Verdict::Pass);
    const auto paused = bluegreen::command(p, status, ReleaseCommand::Pause, QStringLiteral("bob"),
                                           QStringLiteral("INC-4 under way"), observe(onNew()),
                                           at(windowEnds - 2min));
    QVERIFY2(paused, qPrintable(paused ? QString() : paused.error()));
    QCOMPARE(paused.value().events[0].reason,
             QStringLiteral("paused with 3.9.0 live: 3.8.0 is not scaled down until the release "
                            "is resumed, also past the warm window's end at 2026-01-05 09:31:40 "
                            "UTC; gates keep measuring and still switch back on failure: INC-4 "
                            "under way"));
    // The clock is not stopped: the window ends when it would have.
    QCOMPARE(bluegreen::warmRemaining(p, paused.value().status, at(windowEnds - 2min)),
             Duration(2min));

    // Past the window's end, with the gate judging its last interval and passing: held warm.
    const ServiceStatus judged
        = observe(withMetrics(onNew(), minuteEnding(windowEnds + 1min, 4800, 0.002)));
    const BlueGreenDecision held
        = bluegreen::decide(p, paused.value().status, judged, at(windowEnds + 1min));
    QCOMPARE(kinds(held.events), QStringList{"gate-measured"});
    QCOMPARE(described(held.actions), QStringList());
    QVERIFY(!held.status.retiredAt);
    QCOMPARE(bluegreen::warmRemaining(p, held.status, at(windowEnds + 1min)), std::nullopt);
    QCOMPARE(toString(bluegreen::phase(p, held.status, judged, at(windowEnds + 1min))),
             QStringLiteral("paused"));
    checkIdempotent(p, held, judged, at(windowEnds + 1min));
    const BlueGreenDecision muchLater
        = bluegreen::decide(p, held.status, observe(onNew()), at(windowEnds + 40s + 2h));
    QVERIFY(!muchLater.status.retiredAt);

    // Still warm: Switch back and Extend apply, and Abort says what keeps the old colour.
    const ServiceStatus &now = judged;
    const TimePoint t = at(windowEnds + 2min);
    QCOMPARE(bluegreen::refusal(p, held.status, now, ReleaseCommand::SwitchBack, t), QString());
    QCOMPARE(bluegreen::refusal(p, held.status, now, ReleaseCommand::Extend, t), QString());
    QVERIFY2(bluegreen::refusal(p, held.status, now, ReleaseCommand::Abort, t)
                 .endsWith(QStringLiteral("switch back to 3.8.0 instead (3.8.0 is still warm: its "
                                          "retirement waits for the release to be resumed)")),
             qPrintable(bluegreen::refusal(p, held.status, now, ReleaseCommand::Abort, t)));

    // Resumed, it is retired in the same decision.
    const auto resumed = bluegreen::command(p, held.status, ReleaseCommand::Resume,
                                            QStringLiteral("bob"), QString(), now, t);
    QVERIFY2(resumed, qPrintable(resumed ? QString() : resumed.error()));
    QCOMPARE(kinds(resumed.value().events), (QStringList{"resumed", "scaled"}));
    QCOMPARE(resumed.value().events[0].reason, QStringLiteral("resumed after 4 min paused"));
    QCOMPARE(described(resumed.value().actions), QStringList{"scale 3.8.0 to 0 instances"});
    QCOMPARE(resumed.value().status.retiredAt, std::optional<TimePoint>(t));
}

void TestBlueGreenEngine::goingBackEndsThePause()
{
    const BlueGreenPlan p = plan();
    BlueGreenStatus status = started();
    switchedAt(status, switched);
    lastMeasured(status.postSwitchGates, 160s, Verdict::Fail, 1);
    pausedSince(status, 170s);

    // A post-switch gate reaching its limit switches back while paused, and the pause is over:
    // going back is never held.
    const ServiceStatus failing
        = observe(withMetrics(onNew(), minuteEnding(220s, 4800, 0.03, 0.0)));
    const BlueGreenDecision back = bluegreen::decide(p, status, failing, at(220s));
    QCOMPARE(described(back.actions), QStringList{"switch all traffic to 3.8.0"});
    QCOMPARE(back.events[1].actor, automaticActor);
    QVERIFY(!back.status.pausedAt);
    QCOMPARE(bluegreen::refusal(p, back.status, failing, ReleaseCommand::Resume, at(220s)),
             QStringLiteral("payments (production): the release of 3.9.0 was stopped (gate errors "
                            "failed 2 of 2 allowed measurements after the switch: 3.00 % > 0.40 % "
                            "(baseline 0.20 %)) and is going back to 3.8.0; there is nothing to "
                            "resume"));

    // An operator's Switch back and Abort end it too.
    BlueGreenStatus warm = status;
    warm.postSwitchGates[0].last->verdict = Verdict::Pass;
    warm.postSwitchGates[0].failures = 0;
    const auto switchedBack
        = bluegreen::command(p, warm, ReleaseCommand::SwitchBack, QStringLiteral("bob"),
                             QStringLiteral("pager"), observe(onNew()), at(200s));
    QVERIFY(switchedBack);
    QVERIFY(!switchedBack.value().status.pausedAt);
    BlueGreenStatus deploying = started();
    pausedSince(deploying, 5s);
    const auto aborted
        = bluegreen::command(p, deploying, ReleaseCommand::Abort, QStringLiteral("bob"), QString(),
                             observe(Picture()), at(10s));
    QVERIFY(aborted);
    QVERIFY(!aborted.value().status.pausedAt);
    QCOMPARE(toString(bluegreen::phase(p, aborted.value().status, observe(Picture()), at(10s))),
             QStringLiteral("undoing"));
}

void TestBlueGreenEngine::derivedFacts()
{
    const BlueGreenPlan p = plan();
    BlueGreenStatus status = started();
    QCOMPARE(bluegreen::redeployEstimate(status), std::nullopt);
    QCOMPARE(bluegreen::warmRemaining(p, status, at(10s)), std::nullopt);

    // The estimate is how long the new colour took, from its scale-up to every instance ready.
    const BlueGreenDecision readyNow = bluegreen::decide(p, status, observe(ready()), at(52s));
    QCOMPARE(readyNow.status.readyAt, std::optional<TimePoint>(at(52s)));
    QCOMPARE(bluegreen::redeployEstimate(readyNow.status), Duration(52s));

    // A new colour already at full size when the release began had nothing to start: its
    // scale-up and readiness coincide and say nothing of how long a redeploy takes.
    const auto predeployed
        = bluegreen::start(p, observe(ready()), newVersion, QStringLiteral("alice"), QString(), t0);
    QVERIFY(predeployed);
    QCOMPARE(predeployed.value().status.readyAt, std::optional<TimePoint>(t0));
    QCOMPARE(predeployed.value().status.newHeldAtDeploy, 10);
    QCOMPARE(bluegreen::redeployEstimate(predeployed.value().status), std::nullopt);

    switchedAt(status, switched);
    QCOMPARE(bluegreen::warmRemaining(p, status, at(switched)), Duration(30min));
    QCOMPARE(bluegreen::warmRemaining(p, status, at(windowEnds - 1s)), Duration(1s));
    QCOMPARE(bluegreen::warmRemaining(p, status, at(windowEnds)), std::nullopt);
    status.extended = 2 * bluegreen::extendStep;
    QCOMPARE(bluegreen::warmRemaining(p, status, at(windowEnds)), Duration(30min));
    status.aborted = true;
    QCOMPARE(bluegreen::warmRemaining(p, status, at(switched + 1min)), std::nullopt);

    QCOMPARE(toString(BlueGreenPhase::AwaitingSwitch), QStringLiteral("awaiting-switch"));
    QCOMPARE(toString(BlueGreenPhase::RolledBack), QStringLiteral("rolled-back"));
    QCOMPARE(toString(BlueGreenPhase::Paused), QStringLiteral("paused"));
}

void TestBlueGreenEngine::liveColour_data()
{
    QTest::addColumn<ServiceStatus>("observed");
    QTest::addColumn<QString>("live");

    QTest::newRow("pinned") << observe(Picture()) << oldVersion;
    Picture pool;
    pool.pinned = false;
    QTest::newRow("all weight on one version, no active one") << observe(pool) << oldVersion;
    QTest::newRow("switched") << observe(onNew()) << newVersion;
    Picture split = ready();
    split.newShare = 50;
    QTest::newRow("split") << observe(split) << QString();
    Picture unknown;
    unknown.routerKnown = false;
    QTest::newRow("unknown") << observe(unknown) << QString();
    ServiceStatus disagreeing = observe(Picture());
    disagreeing.traffic->activeVersion = newVersion;
    QTest::newRow("active version without the weight") << disagreeing << QString();
    ServiceStatus activeOnly = observe(Picture());
    activeOnly.traffic->weightPercent.clear();
    QTest::newRow("active version, no weights reported") << activeOnly << oldVersion;
}

void TestBlueGreenEngine::liveColour()
{
    QFETCH(ServiceStatus, observed);
    QTEST(bluegreen::liveColour(observed), "live");
}

QTEST_GUILESS_MAIN(TestBlueGreenEngine)
#include "tst_bluegreenengine.moc"
