// Whole rolling releases on the simulator, through the ReleaseController, on the virtual clock,
// with the budget's invariants checked at every tick: never fewer than replicas - unavailable
// ready instances, never more than replicas + surge running (starting, ready, draining or
// failed). The fleet is checked twice a tick: as the simulator holds it, which is the truth, and
// as the console shows it. Where instances crash, ready can fall below the floor through no act
// of the release; there the check is that the release never retires a ready instance while that
// leaves ready below the floor.

#include "releasecontroller.h"
#include "simulatorharness.h"

#include <QTest>

#include <climits>

using namespace sb;
using namespace sb::testing;
using namespace std::chrono_literals;

namespace {

const ServiceKey api{QStringLiteral("api"), QStringLiteral("production")};
const QString oldVersion = QStringLiteral("1.0.0");
const QString newVersion = QStringLiteral("2.0.0");

// api runs 1.0.0 on `replicas` instances; 2.0.0 is declared for the release. Faults are timed
// from the simulation's start; the release starts 2 s in.
QByteArray workspace(int replicas, const QByteArray &surge, const QByteArray &unavailable,
                     const QByteArray &faults = {})
{
    return R"(environments: [production]
adapters:
  - name: sim
    type: simulator
    settings:
      seed: 11
      defaults: {requests_per_second: 200, startup: 20s, startup_jitter: 5s, drain: 15s, replace_after: 30s}
      services:
        - service: api
          environment: production
          versions:
            - {version: 1.0.0, instances: )"
           + QByteArray::number(replicas) + R"(}
            - {version: 2.0.0, instances: 0}
      faults: [)"
           + faults + R"(]
services:
  - {name: api, environment: production, strategy: rolling, adapter: sim, rolling: {max_surge: )"
           + surge + ", max_unavailable: " + unavailable + R"(, progress_deadline: 10m}}
)";
}

QStringList kinds(const QList<ReleaseEvent> &events)
{
    QStringList out;
    for (const ReleaseEvent &event : events)
        out.append(toString(event.kind));
    return out;
}

int count(const QList<ReleaseEvent> &events, ReleaseEvent::Kind kind)
{
    return int(std::count_if(events.cbegin(), events.cend(),
                             [kind](const ReleaseEvent &e) { return e.kind == kind; }));
}

bool holdsSlot(InstanceState state)
{
    return state == InstanceState::Starting || state == InstanceState::Ready
           || state == InstanceState::Failed;
}

// Instances of `version` holding a slot, or every live instance of it with `draining`.
int live(const FleetSnapshot &fleet, const QString &version, bool draining = false)
{
    int n = 0;
    for (const Instance &instance : fleet.instances) {
        n += instance.version == version
             && (holdsSlot(instance.state)
                 || (draining && instance.state == InstanceState::Draining));
    }
    return n;
}

int ready(const FleetSnapshot &fleet, const QString &version)
{
    int n = 0;
    for (const Instance &instance : fleet.instances)
        n += instance.version == version && instance.state == InstanceState::Ready;
    return n;
}

struct Fixture {
    SimulatedWorkspace sim;
    std::unique_ptr<ReleaseController> releases;
    int replicas = 0;
    ResolvedBudget budget;
    // Whether ready may never fall below the floor; false where instances crash.
    bool strictFloor = true;

    QHash<QString, InstanceState> previous; // the simulator's fleet at the last tick, by id
    QStringList violations;
    int retirements = 0; // ready instances the release sent draining
    int fewestReady = INT_MAX;
    int mostRunning = 0;

    bool open(const QByteArray &yaml, int size)
    {
        if (const auto problem = sim.open(yaml)) {
            qWarning() << problem->toString();
            return false;
        }
        replicas = size;
        budget = resolveBudget(sim.session->workspace().service(api)->rolling, replicas);
        releases = std::make_unique<ReleaseController>(sim.session.get(), QStringLiteral("ana"));
        sim.session->start();
        sim.run(2s);
        check();
        return true;
    }

    const ReleaseController::Release &release() const { return *releases->release(api); }
    const RollingRun &run() const { return *release().rolling(); }
    const ServiceStatus &observed() const { return sim.session->snapshot().services.front(); }
    int floor() const { return replicas - budget.unavailable; }
    int ceiling() const { return replicas + budget.surge; }

    FleetSnapshot truth()
    {
        // Let the controller finish reacting to this tick before looking.
        for (int i = 0; i < 4; ++i)
            SimulatedWorkspace::settle();
        const auto answer = SimulatedWorkspace::await<FleetSnapshot>(
            [this](Callback<FleetSnapshot> done) { sim.simulator()->fleet(api, std::move(done)); });
        if (!answer || !*answer)
            qFatal("the simulator did not show api's fleet");
        return answer->value();
    }

    void violation(const QString &what)
    {
        const QString line = QStringLiteral("at %1: %2").arg(formatUtc(sim.clock.now()), what);
        if (violations.size() < 10)
            violations.append(line);
    }

    // The invariants over one picture of the fleet; `where` names it in a violation.
    void checkFleet(const FleetSnapshot &fleet, const char *where)
    {
        int readyNow = 0;
        int running = 0;
        for (const Instance &instance : fleet.instances) {
            readyNow += instance.state == InstanceState::Ready;
            running += isLive(instance.state);
        }
        if (running > ceiling())
            violation(QStringLiteral("%1: %2 running, above %3 + %4")
                          .arg(QLatin1StringView(where))
                          .arg(running)
                          .arg(replicas)
                          .arg(budget.surge));
        if (strictFloor && readyNow < floor())
            violation(QStringLiteral("%1: %2 ready, below %3 - %4")
                          .arg(QLatin1StringView(where))
                          .arg(readyNow)
                          .arg(replicas)
                          .arg(budget.unavailable));
    }

    void check()
    {
        const FleetSnapshot fleet = truth();
        checkFleet(fleet, "simulator");
        if (observed().fleet)
            checkFleet(*observed().fleet, "console");

        int readyNow = 0;
        int running = 0;
        QStringList retired;
        QHash<QString, InstanceState> now;
        for (const Instance &instance : fleet.instances) {
            now.insert(instance.id, instance.state);
            readyNow += instance.state == InstanceState::Ready;
            running += isLive(instance.state);
            // Only a scale-down drains a ready instance; a crash fails it.
            if (instance.state == InstanceState::Draining
                && previous.value(instance.id, InstanceState::Terminated) == InstanceState::Ready)
                retired.append(instance.id);
        }
        retirements += int(retired.size());
        if (!retired.isEmpty() && readyNow < floor())
            violation(QStringLiteral("retired %1 leaving %2 ready, below %3")
                          .arg(retired.join(QStringLiteral(", ")))
                          .arg(readyNow)
                          .arg(floor()));
        fewestReady = std::min(fewestReady, readyNow);
        mostRunning = std::max(mostRunning, running);
        previous = now;
    }

    // Ticks until `done` holds or `limit` has passed, checking every tick.
    template <typename Done>
    bool runUntil(Done done, Duration limit)
    {
        const TimePoint end = sim.clock.now() + limit;
        while (!done()) {
            if (sim.clock.now() >= end)
                return false;
            sim.run(1s);
            check();
        }
        return true;
    }

    bool runUntilFinished(Duration limit = 60min)
    {
        return runUntil([this] { return release().finished(); }, limit);
    }

    void runFor(Duration length)
    {
        runUntil([] { return false; }, length);
    }
};

} // namespace

class TestRollingRelease : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void wholeReleases_data();
    void wholeReleases();
    void aStalledReleasePausesAndRollsBack();
    void pauseHoldsTheNextStep();
    void rollBackMidRelease();
    void rollBackFromAVersionTheDeployerRefuses_data();
    void rollBackFromAVersionTheDeployerRefuses();
};

void TestRollingRelease::wholeReleases_data()
{
    QTest::addColumn<int>("replicas");
    QTest::addColumn<QByteArray>("surge");
    QTest::addColumn<QByteArray>("unavailable");
    QTest::addColumn<QByteArray>("faults");
    QTest::addColumn<bool>("strict");

    auto row = [](const char *name, int replicas, const char *surge, const char *unavailable,
                  const char *faults = "", bool strict = true) {
        QTest::newRow(name) << replicas << QByteArray(surge) << QByteArray(unavailable)
                            << QByteArray(faults) << strict;
    };
    row("10 at Kubernetes' defaults", 10, "25%", "25%");
    row("10 with a surge of 1, none unavailable", 10, "1", "0");
    row("10 with no surge, 1 unavailable", 10, "0", "1");
    row("10 with no surge, 25 % unavailable", 10, "0%", "25%");
    row("10 with 100 % surge", 10, "100%", "0");
    row("10 with 100 % unavailable", 10, "0", "100%");
    row("3 at 25 %: surge 1, none unavailable", 3, "25%", "25%");
    row("3 with both rounding to 0: one unavailable", 3, "0%", "10%");
    row("1 with a surge of 1", 1, "1", "0");
    row("1 with none extra: down, then up", 1, "0", "1");
    row("40 at 10 % surge and 5 unavailable", 40, "10%", "5");
    row("40 at Kubernetes' defaults", 40, "25%", "25%");

    const char *startFailures = "{at: 10s, service: api, environment: production, version: 2.0.0, "
                                "kind: start_failure, instances: 3}";
    row("10 where 3 new instances fail to start", 10, "25%", "25%", startFailures);
    row("10 with a surge of 1 where 3 new instances fail to start", 10, "1", "0", startFailures);
    row("10 with old instances crashing mid-release", 10, "25%", "25%",
        "{at: 40s, service: api, environment: production, version: 1.0.0, kind: crash, "
        "instances: 2}",
        false);
    row("10 with new instances crashing mid-release", 10, "1", "0",
        "{at: 70s, service: api, environment: production, version: 2.0.0, kind: crash, "
        "instances: 1}, {at: 3m, service: api, environment: production, version: 2.0.0, "
        "kind: crash, instances: 2}",
        false);
    row("40 with crashes of both versions and start failures", 40, "10%", "10%",
        "{at: 30s, service: api, environment: production, version: 1.0.0, kind: crash, "
        "instances: 3}, {at: 90s, service: api, environment: production, version: 2.0.0, kind: "
        "crash, instances: 2}, {at: 2m, service: api, environment: production, version: 2.0.0, "
        "kind: start_failure, instances: 4}",
        false);
}

void TestRollingRelease::wholeReleases()
{
    QFETCH(int, replicas);
    QFETCH(QByteArray, surge);
    QFETCH(QByteArray, unavailable);
    QFETCH(QByteArray, faults);
    QFETCH(bool, strict);
    Fixture f;
    QVERIFY(f.open(workspace(replicas, surge, unavailable, faults), replicas));
    f.strictFloor = strict;

    const auto started = f.releases->start(api, newVersion, QString(), QStringLiteral("JIRA-7"));
    QVERIFY2(started, qPrintable(started ? QString() : started.error()));
    QVERIFY2(f.runUntilFinished(), qPrintable(f.release().reason));
    QVERIFY2(f.violations.isEmpty(), qPrintable(f.violations.join(QLatin1Char('\n'))));

    const RollingRun &run = f.run();
    QVERIFY2(run.status.succeeded(), qPrintable(f.release().reason));
    const QStringList happened = kinds(f.release().events);
    QCOMPARE(happened.first(), QStringLiteral("started"));
    QCOMPARE(happened.last(), QStringLiteral("succeeded"));
    QVERIFY(happened.contains(QStringLiteral("scaled")));
    QVERIFY2(!happened.contains(QStringLiteral("stalled")), qPrintable(happened.join(' ')));
    QVERIFY2(!happened.contains(QStringLiteral("action-failed")), qPrintable(happened.join(' ')));
    // Done, the release is not rolled back: going back is a release of its own, as long again.
    QCOMPARE(f.releases->refusal(api, ReleaseCommand::RollBack),
             QStringLiteral("api (production) 2.0.0 has finished and 1.0.0 is retired; going back "
                            "means a new rolling release of 1.0.0, about %1 at this release's pace")
                 .arg(formatDuration(*run.status.endedAt - run.status.startedAt)));

    // 2.0.0 runs at full size and ready; nothing of 1.0.0 is left, draining included.
    const FleetSnapshot end = f.truth();
    QCOMPARE(live(end, newVersion), replicas);
    QCOMPARE(ready(end, newVersion), replicas);
    QCOMPARE(live(end, oldVersion, true), 0);
    QVERIFY(f.retirements > 0 || f.budget.unavailable == 0 || replicas == 1 || !strict);
    // The release used its whole budget and no more.
    if (strict) {
        QCOMPARE(f.mostRunning, f.ceiling());
        QCOMPARE(f.fewestReady, f.floor());
    }
}

void TestRollingRelease::aStalledReleasePausesAndRollsBack()
{
    Fixture f;
    // Every instance of 2.0.0 fails as it finishes starting, for the next half hour.
    QVERIFY(f.open(workspace(10, "25%", "25%",
                             "{at: 1s, service: api, environment: production, version: 2.0.0, "
                             "kind: start_failure, duration: 30m}"),
                   10));
    QVERIFY(f.releases->start(api, newVersion, QString(), QString()));

    QVERIFY(f.runUntil([&] { return count(f.release().events, ReleaseEvent::Kind::Stalled) > 0; },
                       15min));
    QVERIFY(!f.release().finished());
    const RollingRun &run = f.run();
    QVERIFY(run.status.stalled);
    QCOMPARE(toString(rolling::phase(run.plan, run.status)), QStringLiteral("stalled"));
    const ReleaseEvent &stall = f.release().events.last();
    QCOMPARE(stall.actor, automaticActor);
    QVERIFY2(stall.reason.startsWith(QStringLiteral("2.0.0: ")), qPrintable(stall.reason));
    QVERIFY2(stall.reason.endsWith(QStringLiteral(
                 " instances of 2.0.0 failed and none became ready in the last 10 min; paused. "
                 "Fix the cause and resume, or roll back.")),
             qPrintable(stall.reason));
    const int failedAtStall = int(stall.values.value(QStringLiteral("failed")));
    QVERIFY(failedAtStall >= 3);
    // About ten minutes after the last progress: the first step's drains ending.
    const Duration stalledAfter = stall.at - run.status.startedAt;
    QVERIFY2(stalledAfter > 10min && stalledAfter < 11min,
             qPrintable(formatDuration(stalledAfter)));

    // Paused: nothing more is asked of the deployer.
    const int scaled = count(f.release().events, ReleaseEvent::Kind::Scaled);
    f.runFor(3min);
    QCOMPARE(count(f.release().events, ReleaseEvent::Kind::Scaled), scaled);
    QVERIFY(!f.release().finished());
    // The replacements kept failing meanwhile, but the reason still gives the stall's count.
    QVERIFY2(f.release().reason.contains(
                 QStringLiteral(": %1 instances of 2.0.0 failed and none became ready")
                     .arg(failedAtStall)),
             qPrintable(f.release().reason));
    QCOMPARE(f.releases->refusal(api, ReleaseCommand::Pause),
             QStringLiteral("api (production) 2.0.0 is already paused: it stalled"));

    const auto back = f.releases->command(api, ReleaseCommand::RollBack,
                                          QStringLiteral("the image does not start"));
    QVERIFY2(back, qPrintable(back ? QString() : back.error()));
    QVERIFY2(f.runUntilFinished(), qPrintable(f.release().reason));
    QVERIFY2(f.violations.isEmpty(), qPrintable(f.violations.join(QLatin1Char('\n'))));
    QCOMPARE(toString(rolling::phase(f.run().plan, f.run().status)), QStringLiteral("rolled back"));
    QCOMPARE(kinds(f.release().events).last(), QStringLiteral("rolled-back"));
    const FleetSnapshot end = f.truth();
    QCOMPARE(ready(end, oldVersion), 10);
    QCOMPARE(live(end, newVersion, true), 0);
}

void TestRollingRelease::pauseHoldsTheNextStep()
{
    Fixture f;
    QVERIFY(f.open(workspace(10, "1", "0"), 10));
    QVERIFY(f.releases->start(api, newVersion, QString(), QString()));
    f.runFor(60s);

    QVERIFY(f.releases->command(api, ReleaseCommand::Pause, QStringLiteral("watching p99")));
    QCOMPARE(kinds(f.release().events).last(), QStringLiteral("paused"));
    // Once the step in flight has settled, the fleet keeps its shape.
    f.runFor(40s);
    const FleetSnapshot held = f.truth();
    const int scaled = count(f.release().events, ReleaseEvent::Kind::Scaled);
    f.runFor(5min);
    const FleetSnapshot later = f.truth();
    QCOMPARE(count(f.release().events, ReleaseEvent::Kind::Scaled), scaled);
    QCOMPARE(live(later, oldVersion), live(held, oldVersion));
    QCOMPARE(live(later, newVersion), live(held, newVersion));
    QVERIFY(live(later, oldVersion) > 0);
    // Five minutes paused do not count toward the progress deadline.
    QVERIFY(!f.run().status.stalled);

    QVERIFY(f.releases->command(api, ReleaseCommand::Resume, QString()));
    QVERIFY2(f.runUntilFinished(), qPrintable(f.release().reason));
    QVERIFY2(f.violations.isEmpty(), qPrintable(f.violations.join(QLatin1Char('\n'))));
    QVERIFY(f.run().status.succeeded());
    QVERIFY(kinds(f.release().events).contains(QStringLiteral("resumed")));
}

void TestRollingRelease::rollBackMidRelease()
{
    Fixture f;
    QVERIFY(f.open(workspace(10, "25%", "25%"), 10));
    QVERIFY(f.releases->start(api, newVersion, QString(), QString()));
    QVERIFY(f.runUntil([&] { return ready(f.truth(), newVersion) >= 5; }, 10min));
    QVERIFY(!f.release().finished());

    // The console shows what going back would take, at this release's pace.
    const std::optional<Duration> estimate
        = rolling::rollbackEstimate(f.run().plan, f.run().status, f.observed(), f.sim.clock.now());
    QVERIFY(estimate);
    const TimePoint rollbackAt = f.sim.clock.now();
    const auto back
        = f.releases->command(api, ReleaseCommand::RollBack, QStringLiteral("errors on checkout"));
    QVERIFY2(back, qPrintable(back ? QString() : back.error()));
    const auto started = std::find_if(
        f.release().events.cbegin(), f.release().events.cend(),
        [](const ReleaseEvent &e) { return e.kind == ReleaseEvent::Kind::RollbackStarted; });
    QVERIFY(started != f.release().events.cend());
    QCOMPARE(started->actor, QStringLiteral("ana"));
    QVERIFY2(started->reason.contains(
                 QStringLiteral("about %1 at this release's pace").arg(formatDuration(*estimate))),
             qPrintable(started->reason));
    QCOMPARE(f.releases->refusal(api, ReleaseCommand::RollBack),
             QStringLiteral("api (production) 2.0.0 is already rolling back to 1.0.0"));

    QVERIFY2(f.runUntilFinished(), qPrintable(f.release().reason));
    QVERIFY2(f.violations.isEmpty(), qPrintable(f.violations.join(QLatin1Char('\n'))));
    const RollingRun &run = f.run();
    QVERIFY(run.status.finished());
    QVERIFY(!run.status.succeeded());
    QCOMPARE(kinds(f.release().events).last(), QStringLiteral("rolled-back"));
    // Only the old version is left, at full size.
    const FleetSnapshot end = f.truth();
    QCOMPARE(ready(end, oldVersion), 10);
    QCOMPARE(live(end, oldVersion), 10);
    QCOMPARE(live(end, newVersion, true), 0);
    // The estimate was about right: within half again of what it took.
    const Duration took = *run.status.endedAt - rollbackAt;
    QVERIFY2(took < *estimate * 3 / 2 && took > *estimate / 2,
             qPrintable(QStringLiteral("took %1, estimated %2")
                            .arg(formatDuration(took), formatDuration(*estimate))));
}

void TestRollingRelease::rollBackFromAVersionTheDeployerRefuses_data()
{
    QTest::addColumn<int>("replicas");
    QTest::addColumn<QByteArray>("surge");
    QTest::addColumn<QByteArray>("unavailable");
    // Whether the old version was scaled down before the refusal, so the rollback has work.
    QTest::addColumn<bool>("shrunk");

    QTest::newRow("surge only: nothing to undo")
        << 4 << QByteArray("1") << QByteArray("0") << false;
    QTest::newRow("25 %: the old version scaled down first")
        << 10 << QByteArray("25%") << QByteArray("25%") << true;
}

void TestRollingRelease::rollBackFromAVersionTheDeployerRefuses()
{
    QFETCH(int, replicas);
    QFETCH(QByteArray, surge);
    QFETCH(QByteArray, unavailable);
    QFETCH(bool, shrunk);
    Fixture f;
    QVERIFY(f.open(workspace(replicas, surge, unavailable), replicas));
    // 3.0.0 is not declared: the simulator refuses to scale it, for good.
    const QString undeclared = QStringLiteral("3.0.0");
    QVERIFY(f.releases->start(api, undeclared, QString(), QString()));
    f.runFor(10s);
    QCOMPARE(toString(rolling::phase(f.run().plan, f.run().status)), QStringLiteral("paused"));
    QVERIFY(count(f.release().events, ReleaseEvent::Kind::ActionFailed) == 1);
    QCOMPARE(live(f.truth(), undeclared, true), 0);

    const auto back
        = f.releases->command(api, ReleaseCommand::RollBack, QStringLiteral("typo in the version"));
    QVERIFY2(back, qPrintable(back ? QString() : back.error()));
    if (!shrunk) {
        // Nothing to undo: the rollback ends at once.
        QVERIFY2(f.release().finished(), qPrintable(f.release().reason));
    } else {
        QVERIFY(!f.release().finished());
        QVERIFY2(f.runUntilFinished(2min), qPrintable(f.release().reason));
    }
    QVERIFY2(f.violations.isEmpty(), qPrintable(f.violations.join(QLatin1Char('\n'))));
    QCOMPARE(toString(rolling::phase(f.run().plan, f.run().status)), QStringLiteral("rolled back"));
    // 3.0.0 was refused once, and not asked again.
    QCOMPARE(count(f.release().events, ReleaseEvent::Kind::ActionFailed), 1);
    QCOMPARE(kinds(f.release().events).last(), QStringLiteral("rolled-back"));
    const FleetSnapshot end = f.truth();
    QCOMPARE(ready(end, oldVersion), replicas);
    QCOMPARE(live(end, oldVersion), replicas);

    // The service is free again: the intended version can be released.
    const auto next = f.releases->start(api, newVersion, QString(), QString());
    QVERIFY2(next, qPrintable(next ? QString() : next.error()));
    QVERIFY2(f.runUntilFinished(), qPrintable(f.release().reason));
    QVERIFY(f.run().status.succeeded());
}

QTEST_GUILESS_MAIN(TestRollingRelease)
#include "tst_rollingrelease.moc"
