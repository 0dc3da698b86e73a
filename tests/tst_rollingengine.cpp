// The rolling engine's rules: plan + status + observations + now -> actions, next status, reason.
// Most rows start from a release of api 2.0.0 over 1.0.0 (10 instances, max_surge 25 %,
// max_unavailable 25 %: at most 13 running, at least 8 ready) begun at t0, adjust its status,
// show the engine a picture of the fleet and check what it decides. Every decision is then asked
// again at the same moment, which must ask for nothing new.

#include "rollingengine.h"

#include <QTest>

#include <functional>

using namespace sb;
using namespace std::chrono_literals;

namespace {

using Setup = std::function<void(RollingStatus &)>;

const QString oldVersion = QStringLiteral("1.0.0");
const QString newVersion = QStringLiteral("2.0.0");
const TimePoint t0 = fromMSecsSinceEpoch(1'767'603'600'000); // 2026-01-05 09:00 UTC

TimePoint at(Duration offset)
{
    return t0 + offset;
}

InstanceBudget budget(const char *text)
{
    const auto parsed = parseInstanceBudget(QString::fromLatin1(text));
    if (!parsed)
        qFatal("%s", qPrintable(parsed.error()));
    return parsed.value();
}

RollingPlan plan(const char *surge = "25%", const char *unavailable = "25%")
{
    RollingPlan p;
    p.origin = QStringLiteral("signalbox.yaml:12");
    p.maxSurge = budget(surge);
    p.maxUnavailable = budget(unavailable);
    return p;
}

// How many instances of each version are in each state.
struct Picture {
    int oldReady = 10;
    int oldStarting = 0;
    int oldFailed = 0;
    int oldDraining = 0;
    int newReady = 0;
    int newStarting = 0;
    int newFailed = 0;
    int newDraining = 0;
    int terminated = 0;      // of the new version: history, counted for nothing
    Duration failedAt = 30s; // when the failed instances failed
    bool fleetKnown = true;
};

ServiceStatus observe(const Picture &picture)
{
    ServiceStatus s;
    s.key = {QStringLiteral("api"), QStringLiteral("production")};
    s.strategy = Strategy::Rolling;
    if (!picture.fleetKnown) {
        s.fleetError = QStringLiteral("connection refused");
        return s;
    }
    FleetSnapshot fleet;
    fleet.service = s.key;
    int n = 0;
    auto add = [&](const QString &version, InstanceState state, int count, Duration since = 0s) {
        for (int i = 0; i < count; ++i)
            fleet.instances.append({QStringLiteral("api-%1").arg(n++, 3, 10, QLatin1Char('0')),
                                    version, state, at(since), QStringLiteral("a")});
    };
    add(oldVersion, InstanceState::Ready, picture.oldReady);
    add(oldVersion, InstanceState::Starting, picture.oldStarting);
    add(oldVersion, InstanceState::Failed, picture.oldFailed, picture.failedAt);
    add(oldVersion, InstanceState::Draining, picture.oldDraining);
    add(newVersion, InstanceState::Ready, picture.newReady);
    add(newVersion, InstanceState::Starting, picture.newStarting);
    add(newVersion, InstanceState::Failed, picture.newFailed, picture.failedAt);
    add(newVersion, InstanceState::Draining, picture.newDraining);
    add(newVersion, InstanceState::Terminated, picture.terminated);
    s.fleet = fleet;
    return s;
}

RollingStatus started(const RollingPlan &p = plan())
{
    const auto first
        = rolling::start(p, observe({}), newVersion, QStringLiteral("alice"), QString(), t0);
    if (!first)
        qFatal("%s", qPrintable(first.error()));
    return first.value().status;
}

// Setups, each a moment of a release's life.
void asked(RollingStatus &s, int from, int to, Duration when)
{
    s.fromScaleRequest = Request{double(from), at(when), false, {}};
    s.toScaleRequest = Request{double(to), at(when), false, {}};
}

// As if `picture` had been seen before, so seeing it again is no progress.
void seen(RollingStatus &s, const Picture &picture)
{
    const bool back = s.rollingBack();
    s.readyTarget = back ? picture.oldReady : picture.newReady;
    s.remainingOther = back ? picture.newReady + picture.newStarting + picture.newFailed
                            : picture.oldReady + picture.oldStarting + picture.oldFailed;
    s.draining = picture.oldDraining + picture.newDraining;
}

void rollingBackSince(RollingStatus &s, Duration when)
{
    s.rollbackStartedAt = at(when);
    s.rollbackReason = QStringLiteral("errors on checkout");
    s.lastProgressAt = at(when);
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

ReleaseAction scale(const QString &version, int instances)
{
    ReleaseAction action;
    action.kind = ReleaseAction::Kind::Scale;
    action.version = version;
    action.instances = instances;
    return action;
}

} // namespace

Q_DECLARE_METATYPE(Setup)
Q_DECLARE_METATYPE(sb::ServiceStatus)

class TestRollingEngine : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void parsesBudgets_data();
    void parsesBudgets();
    void resolvesAsKubernetesRounds_data();
    void resolvesAsKubernetesRounds();
    void checksPlans_data();
    void checksPlans();
    void starts_data();
    void starts();
    void firstSteps_data();
    void firstSteps();
    void rules_data();
    void rules();
    void eventsCarryTheValuesSeen();
    void commands_data();
    void commands();
    void resumeRestartsTheDeadline();
    void rollBackSwapsTheRoles();
    void backendRefusals_data();
    void backendRefusals();
    void aLateRefusalLeavesANewerRequestAlone();
    void aRefusedVersionWithNothingLeftDoesNotHoldTheRollback();
    void aRollbackEndsThoughItsScaleToZeroIsRefusedForGood();
    void aStallKeepsItsCountWhilePaused();
    void progressAndEstimates();
};

void TestRollingEngine::parsesBudgets_data()
{
    QTest::addColumn<QString>("text");
    QTest::addColumn<int>("value");
    QTest::addColumn<bool>("percent");
    QTest::addColumn<QString>("error");

    auto good = [](const char *text, int value, bool percent) {
        QTest::newRow(text) << QString::fromLatin1(text) << value << percent << QString();
    };
    auto bad = [](const char *name, const char *text, const char *error) {
        QTest::newRow(name) << QString::fromLatin1(text) << 0 << false
                            << QString::fromLatin1(error);
    };
    good("0", 0, false);
    good("3", 3, false);
    good("25%", 25, true);
    good("100%", 100, true);
    good("0%", 0, true);
    good(" 2 ", 2, false);
    bad("101%", "101%", "101% is over 100%");
    bad("-1", "-1", "-1 is negative; allow 0 or more");
    bad("-5%", "-5%", "-5% is negative");
    bad("abc", "abc", "'abc' is neither a whole number of instances");
    bad("2.5", "2.5", "'2.5' is neither a whole number of instances, such as 1, nor a percentage");
    bad("12.5%", "12.5%", "'12.5%' is neither");
    bad("%", "%", "'%' is neither");
    bad("25%%", "25%%", "'25%%' is neither");
    bad("empty", "", "no value: write a number of instances, such as 1, or a percentage");
    bad("too large", "99999999999", "99999999999 is too large");
}

void TestRollingEngine::parsesBudgets()
{
    QFETCH(QString, text);
    QFETCH(QString, error);
    const auto parsed = parseInstanceBudget(text);
    if (!error.isEmpty()) {
        QVERIFY(!parsed);
        QVERIFY2(parsed.error().contains(error), qPrintable(parsed.error()));
        return;
    }
    QVERIFY2(parsed, qPrintable(parsed ? QString() : parsed.error()));
    QTEST(parsed.value().value, "value");
    QTEST(parsed.value().percent, "percent");
    QCOMPARE(parsed.value().text(), text.trimmed());
}

void TestRollingEngine::resolvesAsKubernetesRounds_data()
{
    QTest::addColumn<QString>("surge");
    QTest::addColumn<QString>("unavailable");
    QTest::addColumn<int>("replicas");
    QTest::addColumn<int>("resolvedSurge");
    QTest::addColumn<int>("resolvedUnavailable");

    auto row = [](const char *name, const char *surge, const char *unavailable, int replicas, int s,
                  int u) {
        QTest::newRow(name) << QString::fromLatin1(surge) << QString::fromLatin1(unavailable)
                            << replicas << s << u;
    };
    row("25 % of 10: surge up, unavailable down", "25%", "25%", 10, 3, 2);
    row("25 % of 4 is exact", "25%", "25%", 4, 1, 1);
    row("25 % of 3: surge 1, unavailable 0", "25%", "25%", 3, 1, 0);
    row("25 % of 1", "25%", "25%", 1, 1, 0);
    row("35 % of 10", "35%", "35%", 10, 4, 3);
    row("10 % of 40", "10%", "10%", 40, 4, 4);
    row("counts as written", "2", "1", 10, 2, 1);
    row("counts ignore the size", "5", "0", 1, 5, 0);
    row("both rounding to 0 leaves one unavailable", "0%", "25%", 3, 0, 1);
    row("a count of 0 and a percentage rounding to 0", "0", "10%", 5, 0, 1);
    row("unavailable at most the whole service", "0", "5", 3, 0, 3);
    row("100 % unavailable", "0", "100%", 10, 0, 10);
    row("100 % surge", "100%", "0", 10, 10, 0);
}

void TestRollingEngine::resolvesAsKubernetesRounds()
{
    QFETCH(QString, surge);
    QFETCH(QString, unavailable);
    QFETCH(int, replicas);
    RollingPlan p;
    p.maxSurge = parseInstanceBudget(surge).value();
    p.maxUnavailable = parseInstanceBudget(unavailable).value();
    const ResolvedBudget resolved = resolveBudget(p, replicas);
    QTEST(resolved.surge, "resolvedSurge");
    QTEST(resolved.unavailable, "resolvedUnavailable");
}

void TestRollingEngine::checksPlans_data()
{
    QTest::addColumn<int>("surge");
    QTest::addColumn<bool>("surgePercent");
    QTest::addColumn<int>("unavailable");
    QTest::addColumn<bool>("unavailablePercent");
    QTest::addColumn<int>("deadlineSeconds");
    QTest::addColumn<QString>("problem");

    QTest::newRow("Kubernetes' defaults") << 25 << true << 25 << true << 600 << QString();
    QTest::newRow("surge only") << 1 << false << 0 << false << 600 << QString();
    QTest::newRow("unavailable only") << 0 << true << 1 << false << 600 << QString();
    QTest::newRow("both 0")
        << 0 << false << 0 << false << 600
        << QStringLiteral("max_surge and max_unavailable are both 0, so no instance could ever "
                          "be replaced; allow at least one");
    QTest::newRow("both 0 %") << 0 << true << 0 << true << 600
                              << QStringLiteral("are both 0, so no instance could ever be");
    QTest::newRow("0 % and 0") << 0 << true << 0 << false << 600 << QStringLiteral("are both 0");
    QTest::newRow("surge over 100 %")
        << 120 << true << 0 << false << 600 << QStringLiteral("max_surge 120% is over 100%");
    QTest::newRow("unavailable over 100 %")
        << 1 << false << 101 << true << 600 << QStringLiteral("max_unavailable 101% is over 100%");
    QTest::newRow("negative count")
        << -1 << false << 1 << false << 600 << QStringLiteral("max_surge -1 is negative");
    QTest::newRow("no deadline") << 1 << false << 0 << false << 0
                                 << QStringLiteral("progress_deadline 0 s is not positive");
}

void TestRollingEngine::checksPlans()
{
    QFETCH(int, surge);
    QFETCH(bool, surgePercent);
    QFETCH(int, unavailable);
    QFETCH(bool, unavailablePercent);
    QFETCH(int, deadlineSeconds);
    QFETCH(QString, problem);
    RollingPlan p;
    p.maxSurge = {surge, surgePercent};
    p.maxUnavailable = {unavailable, unavailablePercent};
    p.progressDeadline = std::chrono::seconds(deadlineSeconds);
    const QString found = checkPlan(p);
    if (problem.isEmpty())
        QCOMPARE(found, QString());
    else
        QVERIFY2(found.contains(problem), qPrintable(found));
}

void TestRollingEngine::starts_data()
{
    QTest::addColumn<ServiceStatus>("observed");
    QTest::addColumn<QString>("version");
    QTest::addColumn<QString>("surge");
    QTest::addColumn<QString>("refusal");

    QTest::newRow("from the one live version") << observe({}) << newVersion << "25%" << QString();
    QTest::newRow("draining leftovers of another version do not count")
        << observe({.newDraining = 2}) << QStringLiteral("3.0.0") << "25%" << QString();
    QTest::newRow("two versions live")
        << observe({.oldReady = 7, .newReady = 3}) << QStringLiteral("3.0.0") << "25%"
        << QStringLiteral("api (production) runs 1.0.0 and 2.0.0; a rolling release replaces "
                          "one version, so finish or roll back that mix first");
    QTest::newRow("a failed instance of another version counts as live")
        << observe({.newFailed = 1}) << QStringLiteral("3.0.0") << "25%"
        << QStringLiteral("runs 1.0.0 and 2.0.0");
    QTest::newRow("no version") << observe({.oldReady = 0}) << newVersion << "25%"
                                << QStringLiteral("api (production) has no live instances to "
                                                  "replace; scale it up first");
    QTest::newRow("the same version")
        << observe({}) << oldVersion << "25%"
        << QStringLiteral("api (production) already runs 1.0.0; pick a new version");
    QTest::newRow("no version named") << observe({}) << QStringLiteral(" ") << "25%"
                                      << QStringLiteral("name the version to release");
    QTest::newRow("fleet unknown")
        << observe({.fleetKnown = false}) << newVersion << "25%"
        << QStringLiteral("nothing is known of api (production)'s fleet yet (connection refused)");
    QTest::newRow("unsound plan")
        << observe({}) << newVersion << "0"
        << QStringLiteral("signalbox.yaml:12: api (production) cannot take a rolling release: "
                          "max_surge and max_unavailable are both 0");
}

void TestRollingEngine::starts()
{
    QFETCH(ServiceStatus, observed);
    QFETCH(QString, version);
    QFETCH(QString, surge);
    QFETCH(QString, refusal);
    RollingPlan p = plan();
    p.maxSurge = parseInstanceBudget(surge).value();
    if (surge == QStringLiteral("0"))
        p.maxUnavailable = {0, false};
    const auto result = rolling::start(p, observed, version, QStringLiteral("alice"),
                                       QStringLiteral("JIRA-12"), t0);
    if (!refusal.isEmpty()) {
        QVERIFY(!result);
        QVERIFY2(result.error().contains(refusal), qPrintable(result.error()));
        return;
    }
    QVERIFY2(result, qPrintable(result ? QString() : result.error()));
    const RollingDecision &d = result.value();
    QCOMPARE(d.status.fromVersion, oldVersion);
    QCOMPARE(d.status.toVersion, version);
    QCOMPARE(d.status.replicas, 10);
    QCOMPARE(d.status.startedBy, QStringLiteral("alice"));
    QCOMPARE(d.status.id, QStringLiteral("api/production:%1@20260105T090000Z").arg(version));
    QCOMPARE(kinds(d.events), (QStringList{"started", "scaled"}));
    QCOMPARE(d.events[0].actor, QStringLiteral("alice"));
    QCOMPARE(d.events[0].reason,
             QStringLiteral("api (production): rolling %1 out over 1.0.0 on 10 instances, at most "
                            "3 extra (max_surge 25%) and 2 unavailable (max_unavailable 25%) at a "
                            "time: JIRA-12")
                 .arg(version));
    QCOMPARE(d.events[0].values.value(QStringLiteral("replicas")), 10.0);
    QCOMPARE(d.events[1].actor, automaticActor);
    QCOMPARE(toString(rolling::phase(p, d.status)), QStringLiteral("progressing"));
    QVERIFY(d.wakeAt && *d.wakeAt > t0);
}

void TestRollingEngine::firstSteps_data()
{
    QTest::addColumn<int>("replicas");
    QTest::addColumn<QString>("surge");
    QTest::addColumn<QString>("unavailable");
    QTest::addColumn<QStringList>("actions");

    auto row = [](const char *name, int replicas, const char *surge, const char *unavailable,
                  QStringList actions) {
        QTest::newRow(name) << replicas << QString::fromLatin1(surge)
                            << QString::fromLatin1(unavailable) << actions;
    };
    // Old ones retire as far as the floor allows, then new ones start in the room left; the
    // retired old ones drain and still take their room.
    row("10 at 25 % and 25 %: 2 retire, 3 start", 10, "25%", "25%",
        {"scale 1.0.0 to 8 instances", "scale 2.0.0 to 3 instances"});
    row("10 at 35 % and 35 %: surge 4, unavailable 3", 10, "35%", "35%",
        {"scale 1.0.0 to 7 instances", "scale 2.0.0 to 4 instances"});
    row("10 with a surge of 1 and none unavailable", 10, "1", "0", {"scale 2.0.0 to 1 instance"});
    row("10 with no surge and 1 unavailable: the drain holds the room", 10, "0", "1",
        {"scale 1.0.0 to 9 instances"});
    row("10 with no surge and 25 % unavailable", 10, "0%", "25%", {"scale 1.0.0 to 8 instances"});
    row("10 with 100 % surge", 10, "100%", "0", {"scale 2.0.0 to 10 instances"});
    row("10 with 100 % unavailable retires all at once", 10, "0", "100%",
        {"scale 1.0.0 to 0 instances"});
    row("4 at 25 % and 25 %", 4, "25%", "25%",
        {"scale 1.0.0 to 3 instances", "scale 2.0.0 to 1 instance"});
    row("3 at 25 % and 25 %: surge 1, unavailable 0", 3, "25%", "25%",
        {"scale 2.0.0 to 1 instance"});
    row("3 with both rounding to 0: one unavailable", 3, "0%", "25%",
        {"scale 1.0.0 to 2 instances"});
    row("1 at 25 % and 25 %", 1, "25%", "25%", {"scale 2.0.0 to 1 instance"});
    row("1 with no surge: the only instance drains first", 1, "0", "1",
        {"scale 1.0.0 to 0 instances"});
    row("40 at 10 % surge and 5 unavailable", 40, "10%", "5",
        {"scale 1.0.0 to 35 instances", "scale 2.0.0 to 4 instances"});
}

void TestRollingEngine::firstSteps()
{
    QFETCH(int, replicas);
    QFETCH(QString, surge);
    QFETCH(QString, unavailable);
    RollingPlan p;
    p.maxSurge = parseInstanceBudget(surge).value();
    p.maxUnavailable = parseInstanceBudget(unavailable).value();
    const auto result = rolling::start(p, observe({.oldReady = replicas}), newVersion,
                                       QStringLiteral("alice"), QString(), t0);
    QVERIFY2(result, qPrintable(result ? QString() : result.error()));
    const RollingDecision &d = result.value();
    QTEST(described(d.actions), "actions");
    QCOMPARE(kinds(d.events), (QStringList{"started", "scaled"}));
    QCOMPARE(d.status.replicas, replicas);
    // Nothing more until the backend shows it.
    const RollingDecision again = rolling::decide(p, d.status, observe({.oldReady = replicas}), t0);
    QCOMPARE(described(again.actions), QStringList());
    QCOMPARE(again.events.size(), 0);
    QCOMPARE(again.status, d.status);
}

void TestRollingEngine::rules_data()
{
    QTest::addColumn<Setup>("setup");
    QTest::addColumn<ServiceStatus>("observed");
    QTest::addColumn<int>("seconds");
    QTest::addColumn<QStringList>("actions");
    QTest::addColumn<QStringList>("events");
    QTest::addColumn<QString>("phase");
    QTest::addColumn<QString>("reason");

    const Setup none = [](RollingStatus &) {};
    auto row = [](const char *name, Setup setup, const Picture &picture, Duration offset,
                  QStringList actions, QStringList events, const char *phase, const char *reason) {
        QTest::newRow(name) << setup << observe(picture)
                            << int(std::chrono::duration_cast<std::chrono::seconds>(offset).count())
                            << actions << events << QString::fromLatin1(phase)
                            << QString::fromUtf8(reason);
    };

    // A step only once the previous targets show.
    row("the start's step is not asked again", none, {}, 0s, {}, {}, "progressing",
        "2.0.0: 0 of 10 ready on 2.0.0, 10 left on 1.0.0; waiting for the "
        "deployer to bring 1.0.0 to 8 instances (10 now).");
    row("half of a step shown is still waiting", none, {.oldReady = 8, .oldDraining = 2}, 5s, {},
        {}, "progressing", "waiting for the deployer to bring 2.0.0 to 3 instances (0 now)");
    row("asked again after the retry interval, without a new step", none, {}, 30s,
        {"scale 1.0.0 to 8 instances", "scale 2.0.0 to 3 instances"}, {}, "progressing",
        "waiting for the deployer to bring 1.0.0 to 8 instances (10 now)");
    row("once shown, it waits for readiness", none,
        {.oldReady = 8, .oldDraining = 2, .newStarting = 3}, 10s, {}, {}, "progressing",
        "0 of 10 ready on 2.0.0, 8 left on 1.0.0; waiting for 3 instances of 2.0.0 to become "
        "ready.");

    // Steps: down as far as the floor allows, up into the room left.
    row("a new ready instance lets one old one retire", none,
        {.oldReady = 8, .oldDraining = 2, .newReady = 1, .newStarting = 2}, 25s,
        {"scale 1.0.0 to 7 instances"}, {"scaled"}, "progressing",
        "waiting for the deployer to bring 1.0.0 to 7 instances (8 now)");
    row(
        "room freed by drains starts more", [](RollingStatus &s) { asked(s, 7, 3, 30s); },
        {.oldReady = 7, .newReady = 3}, 50s,
        {"scale 1.0.0 to 5 instances", "scale 2.0.0 to 6 instances"}, {"scaled"}, "progressing",
        "3 of 10 ready on 2.0.0, 7 left on 1.0.0");
    row(
        "draining instances still take their room", [](RollingStatus &s) { asked(s, 7, 3, 30s); },
        {.oldReady = 7, .oldDraining = 3, .newReady = 3}, 40s, {"scale 1.0.0 to 5 instances"},
        {"scaled"}, "progressing", "");
    row(
        "failed and starting old instances go first; ready ones stay for the floor",
        [](RollingStatus &s) { asked(s, 8, 3, 30s); },
        {.oldReady = 6, .oldStarting = 1, .oldFailed = 1, .newReady = 2, .newStarting = 1}, 60s,
        {"scale 1.0.0 to 6 instances", "scale 2.0.0 to 7 instances"}, {"scaled"}, "progressing",
        "");
    row(
        "below the floor after crashes, no ready instance retires",
        [](RollingStatus &s) { asked(s, 7, 3, 30s); },
        {.oldReady = 5, .oldFailed = 2, .newStarting = 3}, 60s,
        {"scale 1.0.0 to 5 instances", "scale 2.0.0 to 8 instances"}, {"scaled"}, "progressing",
        "");
    row(
        "below the floor with nothing to free, it waits",
        [](RollingStatus &s) { asked(s, 5, 8, 30s); },
        {.oldReady = 5, .newReady = 2, .newStarting = 6}, 60s, {}, {}, "progressing",
        "waiting for 6 instances of 2.0.0 to become ready");
    row(
        "failed new instances wait for their replacements",
        [](RollingStatus &s) { asked(s, 8, 3, 30s); },
        {.oldReady = 8, .oldDraining = 2, .newFailed = 3}, 60s, {}, {}, "progressing",
        "3 instances of 2.0.0 failed, waiting for replacements");
    row(
        "terminated instances count for nothing", [](RollingStatus &s) { asked(s, 7, 3, 30s); },
        {.oldReady = 7, .newReady = 3, .terminated = 5}, 50s,
        {"scale 1.0.0 to 5 instances", "scale 2.0.0 to 6 instances"}, {"scaled"}, "progressing",
        "");
    row(
        "the last old instances retire once the new ones are all ready",
        [](RollingStatus &s) { asked(s, 2, 10, 90s); }, {.oldReady = 2, .newReady = 10}, 120s,
        {"scale 1.0.0 to 0 instances"}, {"scaled"}, "progressing",
        "waiting for the deployer to bring 1.0.0 to 0 instances (2 now)");

    // The end: asked for in an earlier decision, and drained.
    const Setup finalAsk = [](RollingStatus &s) { asked(s, 0, 10, 100s); };
    row("completion waits for draining", finalAsk,
        {.oldReady = 0, .oldDraining = 2, .newReady = 10}, 110s, {}, {}, "progressing",
        "10 of 10 ready on 2.0.0, 0 left on 1.0.0; waiting for 2 instances to finish draining.");
    row("succeeded once drained", finalAsk, {.oldReady = 0, .newReady = 10}, 120s, {},
        {"succeeded"}, "succeeded",
        "Succeeded in 2 min: api (production) runs 2.0.0 on all 10 instances.");
    row(
        "not in the decision that asked for the scale to zero",
        [](RollingStatus &s) { asked(s, 0, 10, 120s); }, {.oldReady = 0, .newReady = 10}, 120s, {},
        {}, "progressing", "1.0.0 is retired, finishing.");
    row(
        "the scale to zero is asked for even when nothing is left",
        [](RollingStatus &s) { asked(s, 2, 10, 60s); }, {.oldReady = 0, .newReady = 10}, 120s,
        {"scale 1.0.0 to 0 instances"}, {"scaled"}, "progressing", "1.0.0 is retired, finishing.");
    row(
        "not ended while a new instance is down", [](RollingStatus &s) { asked(s, 0, 10, 100s); },
        {.oldReady = 0, .newReady = 9, .newFailed = 1}, 120s, {}, {}, "progressing",
        "1 instance of 2.0.0 failed, waiting for replacements");
    row(
        "a paused release still ends once drained",
        [](RollingStatus &s) {
            asked(s, 0, 10, 100s);
            s.pausedAt = at(105s);
        },
        {.oldReady = 0, .newReady = 10}, 120s, {}, {"succeeded"}, "succeeded", "Succeeded");

    // The progress deadline.
    // The old instances drain for long here, so no room opens for another new one.
    const Picture failing{.oldReady = 8, .oldDraining = 2, .newFailed = 3};
    const Setup noProgressSince0 = [failing](RollingStatus &s) {
        asked(s, 8, 3, 0s);
        seen(s, failing);
    };
    row("no stall a moment before the deadline", noProgressSince0, failing, 599s, {}, {},
        "progressing", "3 instances of 2.0.0 failed, waiting for replacements");
    row("no progress within the deadline stalls and pauses", noProgressSince0, failing, 600s, {},
        {"stalled"}, "stalled",
        "2.0.0: stalled, no progress in 10 min: 3 instances of 2.0.0 failed and "
        "none became ready. Fix the cause and resume, or roll back.");
    row(
        "a stalled release stays paused",
        [failing](RollingStatus &s) {
            asked(s, 8, 3, 0s);
            seen(s, failing);
            s.pausedAt = at(600s);
            s.stalled = true;
        },
        failing, 900s, {}, {}, "stalled", "stalled, no progress in 10 min");
    row("a new instance ready is progress", noProgressSince0,
        {.oldReady = 8, .oldDraining = 2, .newReady = 1, .newFailed = 2}, 600s,
        {"scale 1.0.0 to 7 instances"}, {"scaled"}, "progressing", "");
    row(
        "a drain ending is progress",
        [](RollingStatus &s) {
            asked(s, 8, 3, 0s);
            seen(s, {.oldReady = 8, .oldDraining = 2, .newStarting = 3});
        },
        {.oldReady = 8, .oldDraining = 1, .newStarting = 3}, 600s, {"scale 2.0.0 to 4 instances"},
        {"scaled"}, "progressing", "waiting for the deployer to bring 2.0.0 to 4 instances");
    row(
        "a backend that never applies a step stalls too",
        [](RollingStatus &s) {
            asked(s, 8, 3, 590s);
            seen(s, {});
        },
        {}, 600s, {}, {"stalled"}, "stalled",
        "the deployer has not brought 1.0.0 to 8 instances (10 now)");

    // Pausing holds the next step.
    row(
        "a paused release takes no step",
        [](RollingStatus &s) {
            asked(s, 8, 3, 0s);
            s.pausedAt = at(5s);
        },
        {.oldReady = 8, .newReady = 3}, 60s, {}, {}, "paused",
        "2.0.0: paused with 3 of 10 ready on 2.0.0, 8 left on 1.0.0. Resume to "
        "go on, or roll back.");

    // Rolling back: the same rules with the roles swapped.
    row(
        "rolling back retires the new version under the same budgets",
        [](RollingStatus &s) {
            asked(s, 5, 6, 30s);
            rollingBackSince(s, 60s);
        },
        {.oldReady = 5, .newReady = 4, .newStarting = 2}, 60s,
        {"scale 2.0.0 to 3 instances", "scale 1.0.0 to 9 instances"}, {"scaled"}, "rolling back",
        "rolling back to 1.0.0: 5 of 10 ready on 1.0.0, 6 left on 2.0.0");
    row(
        "rolled back once the new version has drained",
        [](RollingStatus &s) {
            rollingBackSince(s, 60s);
            asked(s, 10, 0, 100s);
        },
        {.oldReady = 10}, 180s, {}, {"rolled-back"}, "rolled back",
        "Rolled back in 3 min: api (production) runs 1.0.0 again (errors on checkout).");
    row(
        "not while the new version drains",
        [](RollingStatus &s) {
            rollingBackSince(s, 60s);
            asked(s, 10, 0, 100s);
        },
        {.oldReady = 10, .newDraining = 1}, 180s, {}, {}, "rolling back",
        "waiting for 1 instance to finish draining");

    // Nothing known, nothing done.
    row("no fleet, no step", none, {.fleetKnown = false}, 60s, {}, {}, "progressing",
        "2.0.0: waiting to see the fleet (connection refused).");
    row(
        "a finished release decides nothing",
        [](RollingStatus &s) {
            asked(s, 0, 10, 100s);
            s.endedAt = at(120s);
        },
        {.oldReady = 0, .newReady = 10}, 600s, {}, {}, "succeeded", "Succeeded in 2 min");
}

void TestRollingEngine::rules()
{
    QFETCH(Setup, setup);
    QFETCH(ServiceStatus, observed);
    QFETCH(int, seconds);
    const RollingPlan p = plan();
    RollingStatus status = started();
    setup(status);
    const TimePoint now = at(std::chrono::seconds(seconds));

    const RollingDecision d = rolling::decide(p, status, observed, now);
    QTEST(described(d.actions), "actions");
    QTEST(kinds(d.events), "events");
    QTEST(toString(rolling::phase(p, d.status)), "phase");
    QFETCH(QString, reason);
    QVERIFY2(d.reason.contains(reason), qPrintable(d.reason));

    // Idempotent: the same moment, seen again from the new status, asks for nothing new.
    const RollingDecision again = rolling::decide(p, d.status, observed, now);
    QCOMPARE(described(again.actions), QStringList());
    QCOMPARE(kinds(again.events), QStringList());
    QCOMPARE(again.status, d.status);
    QCOMPARE(again.reason, d.reason);
    if (d.wakeAt)
        QVERIFY(*d.wakeAt > now);
    if (observed.fleet && !d.status.finished() && !d.status.pausedAt)
        QVERIFY(d.wakeAt && *d.wakeAt <= d.status.lastProgressAt + p.progressDeadline);
}

void TestRollingEngine::eventsCarryTheValuesSeen()
{
    const RollingPlan p = plan();
    RollingStatus status = started();
    asked(status, 7, 3, 30s);
    const RollingDecision step
        = rolling::decide(p, status, observe({.oldReady = 7, .newReady = 3}), at(50s));
    QCOMPARE(step.events.size(), 1);
    const ReleaseEvent &scaled = step.events.front();
    QCOMPARE(scaled.actor, automaticActor);
    QCOMPARE(scaled.releaseId, status.id);
    QCOMPARE(scaled.service.name, QStringLiteral("api"));
    QCOMPARE(scaled.at, at(50s));
    QCOMPARE(scaled.reason,
             QStringLiteral("scaling 1.0.0 to 5 instances and 2.0.0 to 6 "
                            "instances, with 10 of 10 ready and 10 running (at least 8 ready, at "
                            "most 13 running)"));
    QCOMPARE(scaled.values.value(QStringLiteral("ready")), 10.0);
    QCOMPARE(scaled.values.value(QStringLiteral("total")), 10.0);
    QCOMPARE(scaled.values.value(QStringLiteral("replicas")), 10.0);
    QCOMPARE(scaled.values.value(QStringLiteral("min_ready")), 8.0);
    QCOMPARE(scaled.values.value(QStringLiteral("max_total")), 13.0);
    QCOMPARE(scaled.values.value(QStringLiteral("target_size")), 6.0);
    QCOMPARE(scaled.values.value(QStringLiteral("retiring_size")), 5.0);

    asked(status, 8, 3, 0s);
    seen(status, {.oldReady = 8});
    const RollingDecision stalled
        = rolling::decide(p, status, observe({.oldReady = 8, .newFailed = 3}), at(600s));
    QCOMPARE(kinds(stalled.events), QStringList{"stalled"});
    const ReleaseEvent &stall = stalled.events.front();
    QCOMPARE(stall.reason,
             QStringLiteral("2.0.0: 3 instances of 2.0.0 failed and none became "
                            "ready in the last 10 min; paused. Fix the cause and resume, or roll "
                            "back."));
    QCOMPARE(stall.values.value(QStringLiteral("failed")), 3.0);
    QCOMPARE(stall.values.value(QStringLiteral("ready")), 8.0);
    QCOMPARE(stall.values.value(QStringLiteral("total")), 11.0);
    QVERIFY(stalled.status.stalled);
    QCOMPARE(stalled.status.pausedAt, std::optional<TimePoint>(at(600s)));
    QVERIFY(!stalled.wakeAt);
}

void TestRollingEngine::commands_data()
{
    QTest::addColumn<Setup>("setup");
    QTest::addColumn<int>("command");
    QTest::addColumn<QString>("reason");
    QTest::addColumn<QString>("refusal");
    QTest::addColumn<QStringList>("events");
    QTest::addColumn<QString>("phase");
    QTest::addColumn<QStringList>("actions");

    using C = ReleaseCommand;
    const Setup none = [](RollingStatus &) {};
    const Setup paused = [](RollingStatus &s) { s.pausedAt = at(60s); };
    const Setup stalled = [](RollingStatus &s) {
        s.pausedAt = at(60s);
        s.stalled = true;
    };
    const Setup rollingBack = [](RollingStatus &s) { rollingBackSince(s, 60s); };
    const Setup succeeded = [](RollingStatus &s) {
        asked(s, 0, 10, 100s);
        s.endedAt = at(110s);
    };
    const Setup rolledBack = [](RollingStatus &s) {
        rollingBackSince(s, 60s);
        asked(s, 10, 0, 100s);
        s.endedAt = at(110s);
    };
    auto refused
        = [](const char *name, Setup setup, C command, const char *reason, const char *refusal) {
              QTest::newRow(name) << setup << int(command) << QString::fromLatin1(reason)
                                  << QString::fromLatin1(refusal) << QStringList() << QString()
                                  << QStringList();
          };
    auto accepted = [](const char *name, Setup setup, C command, const char *reason,
                       QStringList events, const char *phase, QStringList actions) {
        QTest::newRow(name) << setup << int(command) << QString::fromLatin1(reason) << QString()
                            << events << QString::fromLatin1(phase) << actions;
    };

    // The fleet these rows see: the first step shown, three new instances ready.
    accepted("pause", none, C::Pause, "watching p99", {"paused"}, "paused", {});
    refused("pause twice", paused, C::Pause, "", "api (production) 2.0.0 is already paused");
    refused("pause a stalled release", stalled, C::Pause, "", "is already paused: it stalled");
    accepted("resume takes the next step", paused, C::Resume, "", {"resumed", "scaled"},
             "progressing", {"scale 1.0.0 to 5 instances", "scale 2.0.0 to 5 instances"});
    accepted("resume after a stall", stalled, C::Resume, "fixed the image", {"resumed", "scaled"},
             "progressing", {"scale 1.0.0 to 5 instances", "scale 2.0.0 to 5 instances"});
    refused("resume when not paused", none, C::Resume, "", "is not paused");
    accepted("roll back", none, C::RollBack, "errors on checkout", {"rollback-started", "scaled"},
             "rolling back", {"scale 2.0.0 to 0 instances", "scale 1.0.0 to 10 instances"});
    accepted("roll back a stalled release sets it moving", stalled, C::RollBack, "bad image",
             {"rollback-started", "scaled"}, "rolling back",
             {"scale 2.0.0 to 0 instances", "scale 1.0.0 to 10 instances"});
    refused("roll back needs a reason", none, C::RollBack, " ", "a reason is required");
    refused("roll back twice", rollingBack, C::RollBack, "again",
            "api (production) 2.0.0 is already rolling back to 1.0.0");
    // Still refused, but saying what going back takes: this release's 1 min 50 s again.
    refused("roll back after success", succeeded, C::RollBack, "late regression",
            "api (production) 2.0.0 has finished and 1.0.0 is retired; going back means a new "
            "rolling release of 1.0.0, about 1 min 50 s at this release's pace");
    refused("roll back after a rollback", rolledBack, C::RollBack, "again",
            "has finished (rolled back); there is nothing to roll back");
    refused("pause a finished release", succeeded, C::Pause, "",
            "has finished (succeeded); there is nothing to pause");
    accepted("pause a rollback", rollingBack, C::Pause, "", {"paused"}, "paused", {});
    refused("promote", none, C::Promote, "why", "is a rolling release; it has no stages");
    refused("abort", none, C::Abort, "why",
            "is a rolling release; roll it back to return to 1.0.0");
    refused("retry", none, C::Retry, "", "start a new release to try again");
    refused("switch", none, C::Switch, "why", "it has no colours to switch");
    refused("extend", none, C::Extend, "", "it has no colours to switch");
}

void TestRollingEngine::commands()
{
    QFETCH(Setup, setup);
    QFETCH(int, command);
    QFETCH(QString, reason);
    QFETCH(QString, refusal);
    const RollingPlan p = plan();
    RollingStatus status = started();
    asked(status, 8, 3, 0s);
    setup(status);
    const ServiceStatus observed = observe({.oldReady = 8, .newReady = 3});
    const auto result = rolling::command(p, status, ReleaseCommand(command), QStringLiteral("bob"),
                                         reason, observed, at(120s));
    if (!refusal.isEmpty()) {
        QVERIFY(!result);
        QVERIFY2(result.error().contains(refusal), qPrintable(result.error()));
        QCOMPARE(rolling::refusal(p, status, ReleaseCommand(command)).isEmpty(),
                 refusal.contains(QStringLiteral("reason is required")));
        return;
    }
    QVERIFY2(result, qPrintable(result ? QString() : result.error()));
    QCOMPARE(rolling::refusal(p, status, ReleaseCommand(command)), QString());
    const RollingDecision &d = result.value();
    QTEST(kinds(d.events), "events");
    QCOMPARE(d.events.first().actor, QStringLiteral("bob"));
    QCOMPARE(d.events.first().values.value(QStringLiteral("replicas")), 10.0);
    if (!reason.trimmed().isEmpty())
        QVERIFY2(d.events.first().reason.endsWith(reason), qPrintable(d.events.first().reason));
    QTEST(toString(rolling::phase(p, d.status)), "phase");
    QTEST(described(d.actions), "actions");

    const RollingDecision again = rolling::decide(p, d.status, observed, at(120s));
    QCOMPARE(described(again.actions), QStringList());
    QCOMPARE(kinds(again.events), QStringList());
    QCOMPARE(again.status, d.status);
}

void TestRollingEngine::resumeRestartsTheDeadline()
{
    const RollingPlan p = plan();
    RollingStatus status = started();
    asked(status, 8, 3, 0s);
    const Picture failing{.oldReady = 8, .oldDraining = 2, .newFailed = 3};
    seen(status, failing);
    const RollingDecision stalled = rolling::decide(p, status, observe(failing), at(600s));
    QVERIFY(stalled.status.stalled);
    QCOMPARE(stalled.status.failedSinceProgress, 3);

    const auto resumed
        = rolling::command(p, stalled.status, ReleaseCommand::Resume, QStringLiteral("bob"),
                           QString(), observe(failing), at(900s));
    QVERIFY(resumed);
    const RollingDecision &d = resumed.value();
    QCOMPARE(kinds(d.events), QStringList{"resumed"});
    QVERIFY2(d.events.front().reason.contains(QStringLiteral("the progress deadline starts again")),
             qPrintable(d.events.front().reason));
    QVERIFY(!d.status.pausedAt);
    QVERIFY(!d.status.stalled);
    QCOMPARE(d.status.lastProgressAt, at(900s));
    QCOMPARE(d.status.failedSinceProgress, 0);
    QCOMPARE(d.wakeAt, std::optional<TimePoint>(at(1500s)));
    // The failures seen before the resume are not counted again.
    QCOMPARE(rolling::decide(p, d.status, observe(failing), at(1000s)).status.failedSinceProgress,
             0);
    const RollingDecision again = rolling::decide(p, d.status, observe(failing), at(1500s));
    QCOMPARE(kinds(again.events), QStringList{"stalled"});
    QVERIFY2(again.events.front().reason.contains(QStringLiteral("3 instances of 2.0.0 failed "
                                                                 "and not replaced")),
             qPrintable(again.events.front().reason));
}

void TestRollingEngine::rollBackSwapsTheRoles()
{
    const RollingPlan p = plan();
    RollingStatus status = started();
    asked(status, 5, 6, 200s);
    const Picture midway{.oldReady = 5, .newReady = 5, .newStarting = 1};
    const auto result
        = rolling::command(p, status, ReleaseCommand::RollBack, QStringLiteral("bob"),
                           QStringLiteral("checkout errors"), observe(midway), at(240s));
    QVERIFY(result);
    const RollingDecision &d = result.value();
    QCOMPARE(d.status.targetVersion(), oldVersion);
    QCOMPARE(d.status.retiringVersion(), newVersion);
    QCOMPARE(d.status.rollbackReason, QStringLiteral("checkout errors"));
    QCOMPARE(d.status.lastProgressAt, at(240s));
    QCOMPARE(d.status.replacedAtRollback, 5);
    // 5 of 10 replaced in 4 min: the 5 left to undo take about as long again.
    QCOMPARE(d.events.front().reason,
             QStringLiteral("api (production): rolling 1.0.0 out again in place of 2.0.0, about "
                            "4 min at this release's pace: checkout errors"));
    QCOMPARE(d.events.front().values.value(QStringLiteral("estimate_s")), 240.0);
    // The starting new instance goes at once, and two ready ones, as 10 are ready and 8 must be.
    QCOMPARE(described(d.actions),
             (QStringList{"scale 2.0.0 to 3 instances", "scale 1.0.0 to 8 instances"}));
    QCOMPARE(rolling::rollbackEstimate(p, d.status, observe(midway), at(240s)), std::nullopt);
}

void TestRollingEngine::backendRefusals_data()
{
    QTest::addColumn<int>("kind");
    QTest::addColumn<QStringList>("events");
    QTest::addColumn<QString>("message");
    QTest::addColumn<bool>("paused");

    QTest::newRow("unreachable: retried later")
        << int(Error::Kind::Unavailable) << QStringList{"action-failed"}
        << QStringLiteral("2.0.0: scale 2.0.0 to 3 instances failed: deployer "
                          "down; retrying in 30 s")
        << false;
    QTest::newRow("timeout: retried later")
        << int(Error::Kind::Timeout) << QStringList{"action-failed"}
        << QStringLiteral("retrying in 30 s") << false;
    QTest::newRow("invalid: the release pauses")
        << int(Error::Kind::Invalid) << QStringList{"action-failed", "paused"}
        << QStringLiteral("scale 2.0.0 to 3 instances failed: deployer down") << true;
    QTest::newRow("unsupported: the release pauses")
        << int(Error::Kind::Unsupported) << QStringList{"action-failed", "paused"}
        << QStringLiteral("failed: deployer down") << true;
}

void TestRollingEngine::backendRefusals()
{
    QFETCH(int, kind);
    QFETCH(bool, paused);
    const RollingPlan p = plan();
    const RollingStatus status = started();
    // The scale-down went through; the scale-up did not.
    const Picture shown{.oldReady = 8, .oldDraining = 2};
    const RollingDecision d = rolling::actionFailed(
        p, status, scale(newVersion, 3), Error{Error::Kind(kind), QStringLiteral("deployer down")},
        observe(shown), at(5s));
    QTEST(kinds(d.events), "events");
    QFETCH(QString, message);
    QVERIFY2(d.events.first().reason.contains(message), qPrintable(d.events.first().reason));
    QCOMPARE(d.status.pausedAt.has_value(), paused);
    QVERIFY(d.status.toScaleRequest->failed);
    QCOMPARE(described(d.actions), QStringList());
    const RollingDecision again = rolling::decide(p, d.status, observe(shown), at(5s));
    QCOMPARE(again.status, d.status);
    QCOMPARE(described(again.actions), QStringList());
    if (paused) {
        QCOMPARE(toString(rolling::phase(p, d.status)), QStringLiteral("paused"));
        QVERIFY2(d.events[1].reason.contains(QStringLiteral("Fix it and resume, or roll back")),
                 qPrintable(d.events[1].reason));
        QCOMPARE(described(rolling::decide(p, d.status, observe(shown), at(60s)).actions),
                 QStringList());
        return;
    }
    // Not asked again at once, but after the retry interval, worked out afresh.
    QVERIFY2(d.reason.contains(QStringLiteral("the deployer refused to scale 2.0.0 to 3 "
                                              "instances, asking again in 30 s")),
             qPrintable(d.reason));
    QVERIFY(d.wakeAt && *d.wakeAt <= at(35s));
    QCOMPARE(described(rolling::decide(p, d.status, observe(shown), at(34s)).actions),
             QStringList());
    const RollingDecision later = rolling::decide(p, d.status, observe(shown), at(35s));
    QCOMPARE(described(later.actions), QStringList{"scale 2.0.0 to 3 instances"});
    QCOMPARE(later.events.size(), 0); // the same step, asked again
    // An old instance crashed meanwhile: the retry counts it, so the floor still holds.
    const RollingDecision crashed = rolling::decide(
        p, d.status, observe({.oldReady = 7, .oldFailed = 1, .oldDraining = 2}), at(35s));
    QCOMPARE(described(crashed.actions),
             (QStringList{"scale 1.0.0 to 7 instances", "scale 2.0.0 to 4 instances"}));
}

void TestRollingEngine::aLateRefusalLeavesANewerRequestAlone()
{
    const RollingPlan p = plan();
    RollingStatus status = started();
    asked(status, 7, 3, 30s);
    const RollingDecision d = rolling::actionFailed(
        p, status, scale(newVersion, 1), Error{Error::Kind::Timeout, QStringLiteral("no answer")},
        observe({.oldReady = 7, .oldDraining = 3, .newStarting = 3}), at(31s));
    QCOMPARE(kinds(d.events), QStringList{"action-failed"});
    QVERIFY(!d.status.toScaleRequest->failed);
    QCOMPARE(d.status.toScaleRequest->at, at(30s));
}

void TestRollingEngine::aRefusedVersionWithNothingLeftDoesNotHoldTheRollback()
{
    // 2.0.0 is not declared: the deployer refuses its scale-up for good and nothing of it is
    // ever created.
    const RollingPlan p = plan("1", "0");
    const RollingStatus status = started(p);
    QCOMPARE(status.toScaleRequest->target, 1.0);
    const ServiceStatus untouched = observe({});
    const Error undeclared{Error::Kind::Invalid, QStringLiteral("api has no version 2.0.0")};
    const RollingDecision refused
        = rolling::actionFailed(p, status, scale(newVersion, 1), undeclared, untouched, at(1s));
    QCOMPARE(kinds(refused.events), (QStringList{"action-failed", "paused"}));

    // Rolling back has nothing to undo: 1.0.0 is whole, 2.0.0 has nothing to scale down, and a
    // scale to zero could only be refused again. The rollback ends at once.
    const auto back
        = rolling::command(p, refused.status, ReleaseCommand::RollBack, QStringLiteral("bob"),
                           QStringLiteral("typo in the version"), untouched, at(10s));
    QVERIFY2(back, qPrintable(back ? QString() : back.error()));
    const RollingDecision &d = back.value();
    QCOMPARE(described(d.actions), QStringList());
    QCOMPARE(kinds(d.events), (QStringList{"rollback-started", "rolled-back"}));
    QCOMPARE(toString(rolling::phase(p, d.status)), QStringLiteral("rolled back"));
    QVERIFY2(d.reason.startsWith(QStringLiteral("Rolled back in 10 s")), qPrintable(d.reason));
    const RollingDecision again = rolling::decide(p, d.status, untouched, at(10s));
    QCOMPARE(again.status, d.status);
    QCOMPARE(described(again.actions), QStringList());

    // Where the first step had already scaled 1.0.0 down, the rollback brings it back first and
    // ends once it is whole, without asking 2.0.0 for anything.
    const RollingPlan wide = plan();
    RollingStatus partway = started(wide);
    const Picture shrunk{.oldReady = 8, .oldDraining = 2};
    const RollingDecision shrunkRefused = rolling::actionFailed(
        wide, partway, scale(newVersion, 3), undeclared, observe(shrunk), at(1s));
    QCOMPARE(kinds(shrunkRefused.events), (QStringList{"action-failed", "paused"}));
    const auto wideBack
        = rolling::command(wide, shrunkRefused.status, ReleaseCommand::RollBack,
                           QStringLiteral("bob"), QStringLiteral("typo"), observe(shrunk), at(10s));
    QVERIFY(wideBack);
    QCOMPARE(described(wideBack.value().actions), QStringList{"scale 1.0.0 to 10 instances"});
    QCOMPARE(toString(rolling::phase(wide, wideBack.value().status)),
             QStringLiteral("rolling back"));
    QVERIFY2(!wideBack.value().reason.contains(QStringLiteral("refused")),
             qPrintable(wideBack.value().reason));
    const RollingDecision whole
        = rolling::decide(wide, wideBack.value().status, observe({.oldReady = 10}), at(40s));
    QCOMPARE(described(whole.actions), QStringList());
    QCOMPARE(kinds(whole.events), QStringList{"rolled-back"});

    // Going forward instead, resuming asks again: the operator may have declared it meanwhile.
    const auto resumed = rolling::command(p, refused.status, ReleaseCommand::Resume,
                                          QStringLiteral("bob"), QString(), untouched, at(60s));
    QVERIFY(resumed);
    QCOMPARE(described(resumed.value().actions), QStringList{"scale 2.0.0 to 1 instance"});
    QVERIFY(!resumed.value().status.toScaleRefusedForGood);
}

void TestRollingEngine::aRollbackEndsThoughItsScaleToZeroIsRefusedForGood()
{
    const RollingPlan p = plan();
    RollingStatus status = started();
    asked(status, 8, 3, 0s);
    // The scale-up never showed, and 1.0.0's drains are over.
    const Picture shrunk{.oldReady = 8};
    seen(status, shrunk);
    const auto back = rolling::command(p, status, ReleaseCommand::RollBack, QStringLiteral("bob"),
                                       QStringLiteral("wrong image"), observe(shrunk), at(40s));
    QVERIFY(back);
    QCOMPARE(described(back.value().actions),
             (QStringList{"scale 2.0.0 to 0 instances", "scale 1.0.0 to 10 instances"}));

    const Error unsupported{Error::Kind::Unsupported,
                            QStringLiteral("2.0.0 was withdrawn; it cannot be scaled")};
    // With an instance of 2.0.0 still there, the refusal matters: the release pauses.
    const RollingDecision blocked
        = rolling::actionFailed(p, back.value().status, scale(newVersion, 0), unsupported,
                                observe({.oldReady = 8, .oldStarting = 2, .newReady = 1}), at(41s));
    QCOMPARE(kinds(blocked.events), (QStringList{"action-failed", "paused"}));

    // With nothing of 2.0.0 left, it changes nothing: the rollback goes on and ends.
    const Picture growing{.oldReady = 8, .oldStarting = 2};
    const RollingDecision d = rolling::actionFailed(p, back.value().status, scale(newVersion, 0),
                                                    unsupported, observe(growing), at(41s));
    QCOMPARE(kinds(d.events), QStringList{"action-failed"});
    QVERIFY2(d.events.front().reason.endsWith(
                 QStringLiteral("; nothing of 2.0.0 is left, so it counts as retired")),
             qPrintable(d.events.front().reason));
    QVERIFY(!d.status.pausedAt);
    QCOMPARE(toString(rolling::phase(p, d.status)), QStringLiteral("rolling back"));
    QVERIFY2(d.reason.contains(QStringLiteral("waiting for 2 instances of 1.0.0 to become ready")),
             qPrintable(d.reason));
    // Not asked again after the retry interval.
    const RollingDecision later = rolling::decide(p, d.status, observe(growing), at(90s));
    QCOMPARE(described(later.actions), QStringList());
    QCOMPARE(kinds(later.events), QStringList());

    const RollingDecision done = rolling::decide(p, d.status, observe({.oldReady = 10}), at(65s));
    QCOMPARE(described(done.actions), QStringList());
    QCOMPARE(kinds(done.events), QStringList{"rolled-back"});
    QCOMPARE(toString(rolling::phase(p, done.status)), QStringLiteral("rolled back"));
}

void TestRollingEngine::aStallKeepsItsCountWhilePaused()
{
    const RollingPlan p = plan();
    RollingStatus status = started();
    asked(status, 8, 3, 0s);
    const Picture failing{.oldReady = 8, .oldDraining = 2, .newFailed = 3};
    seen(status, failing);
    const RollingDecision stalled = rolling::decide(p, status, observe(failing), at(600s));
    QCOMPARE(kinds(stalled.events), QStringList{"stalled"});
    QCOMPARE(stalled.events.front().values.value(QStringLiteral("failed")), 3.0);

    // Stalled, the replacements keep crashing: four more failures by 15 min.
    ServiceStatus later = observe(failing);
    for (int i = 0; i < 4; ++i) {
        later.fleet->instances.append(
            {QStringLiteral("api-r%1").arg(i), newVersion, InstanceState::Failed,
             at(std::chrono::seconds(650 + 60 * i)), QStringLiteral("a")});
    }
    const RollingDecision paused = rolling::decide(p, stalled.status, later, at(900s));
    QCOMPARE(kinds(paused.events), QStringList());
    QCOMPARE(paused.status.failedSinceProgress, 3);
    // The reason says what the stall's event said.
    QCOMPARE(paused.reason, stalled.reason);
    QVERIFY2(paused.reason.contains(QStringLiteral("3 instances of 2.0.0 failed and none became "
                                                   "ready")),
             qPrintable(paused.reason));

    // Resumed, the failures of the pause are not counted; the next ones are.
    const auto resumed = rolling::command(p, paused.status, ReleaseCommand::Resume,
                                          QStringLiteral("bob"), QString(), later, at(960s));
    QVERIFY(resumed);
    QCOMPARE(resumed.value().status.failedSinceProgress, 0);
    ServiceStatus after = later;
    after.fleet->instances.append({QStringLiteral("api-r9"), newVersion, InstanceState::Failed,
                                   at(1000s), QStringLiteral("a")});
    QCOMPARE(
        rolling::decide(p, resumed.value().status, after, at(1010s)).status.failedSinceProgress, 1);
}

void TestRollingEngine::progressAndEstimates()
{
    const RollingPlan p = plan();
    RollingStatus status = started();
    asked(status, 8, 3, 0s);

    const Picture first{.oldReady = 8, .oldDraining = 2, .newStarting = 3};
    RollingProgress shown = rolling::progress(p, status, observe(first), at(10s));
    QCOMPARE(shown.replicas, 10);
    QCOMPARE(shown.targetReady, 0);
    QCOMPARE(shown.targetStarting, 3);
    QCOMPARE(shown.retiringLive, 8);
    QCOMPARE(shown.draining, 2);
    QCOMPARE(shown.ready, 8);
    QCOMPARE(shown.total, 13);
    QCOMPARE(shown.budget.surge, 3);
    QCOMPARE(shown.budget.unavailable, 2);
    QCOMPARE(shown.unavailableNow, 2);
    QCOMPARE(shown.surgeNow, 3);
    QCOMPARE(shown.eta, std::nullopt);
    QCOMPARE(rolling::rollbackEstimate(p, status, observe(first), at(10s)), std::nullopt);

    // 4 of 10 replaced in 2 min: 6 to go take 3 min; undoing the 4 takes 2 min.
    const Picture midway{.oldReady = 6, .newReady = 4, .newStarting = 2, .newFailed = 1};
    shown = rolling::progress(p, status, observe(midway), at(120s));
    QCOMPARE(shown.failed, 1);
    QCOMPARE(shown.eta, std::optional<Duration>(3min));
    QCOMPARE(rolling::rollbackEstimate(p, status, observe(midway), at(120s)),
             std::optional<Duration>(2min));

    // After success a rollback is a release of its own, about as long as this one took.
    status.endedAt = at(300s);
    const Picture done{.oldReady = 0, .newReady = 10};
    QCOMPARE(rolling::progress(p, status, observe(done), at(400s)).eta, std::nullopt);
    QCOMPARE(rolling::rollbackEstimate(p, status, observe(done), at(400s)),
             std::optional<Duration>(5min));
    // That is the release's own length, whatever the fleet shows since.
    QCOMPARE(rolling::rollbackEstimate(
                 p, status, observe({.oldReady = 0, .newReady = 7, .newFailed = 3}), at(400s)),
             std::optional<Duration>(5min));
    QCOMPARE(rolling::rollbackEstimate(p, status, observe({.fleetKnown = false}), at(400s)),
             std::optional<Duration>(5min));

    QCOMPARE(toString(RollingPhase::RollingBack), QStringLiteral("rolling back"));
    QCOMPARE(toString(RollingPhase::RolledBack), QStringLiteral("rolled back"));
}

QTEST_GUILESS_MAIN(TestRollingEngine)
#include "tst_rollingengine.moc"
