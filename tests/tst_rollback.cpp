// The rollback button's rules, through the real ReleaseController on the simulator: what each
// strategy's rollback does at each point of a release, what the button says before the click,
// and that the previous version serves all traffic afterwards, metrics source up or not. With a
// journal, the operator's request and every intent are on disk before the router is called.

#include "journal.h"
#include "releasecontroller.h"
#include "rollback.h"
#include "simulatorharness.h"

#include <QSignalSpy>
#include <QTest>

using namespace sb;
using namespace sb::testing;
using namespace std::chrono_literals;

namespace {

const ServiceKey web{QStringLiteral("web"), QStringLiteral("production")};
const ServiceKey pay{QStringLiteral("pay"), QStringLiteral("production")};
const ServiceKey api{QStringLiteral("api"), QStringLiteral("production")};

// web is a canary service (2.3.1 → 2.4.0), pay blue-green (3.8.0 → 3.9.0, 5 min warm), api
// rolling (1.0.0 → 2.0.0). `faults` go to the simulator.
QByteArray workspace(const QByteArray &faults = {})
{
    return R"(environments: [production]
adapters:
  - name: sim
    type: simulator
    settings:
      seed: 5
      metrics_window: 1m
      defaults: {requests_per_second: 600, startup: 20s, startup_jitter: 4s, drain: 10s}
      services:
        - service: web
          environment: production
          versions:
            - {version: 2.3.1, instances: 6, error_rate: 0.2%, p50_ms: 40, p99_ms: 200}
            - {version: 2.4.0, instances: 0, error_rate: 0.2%, p50_ms: 40, p99_ms: 200}
        - service: pay
          environment: production
          active: 3.8.0
          versions:
            - {version: 3.8.0, instances: 4}
            - {version: 3.9.0, instances: 0}
        - service: api
          environment: production
          versions:
            - {version: 1.0.0, instances: 8}
            - {version: 2.0.0, instances: 0}
      faults: [)"
           + faults + R"(]
plans:
  - name: quick
    stages:
      - {weight: 10, bake: 1m, gates: [error-rate]}
      - {weight: 100}
services:
  - {name: web, environment: production, strategy: canary, adapter: sim, plan: quick}
  - {name: pay, environment: production, strategy: blue-green, adapter: sim,
     blue_green: {warm_window: 5m, post_switch_gates: []}}
  - {name: api, environment: production, strategy: rolling, adapter: sim,
     rolling: {max_surge: 2, max_unavailable: 0}}
)";
}

struct Fixture {
    SimulatedWorkspace sim;
    std::unique_ptr<ReleaseController> releases;

    bool open(const QByteArray &yaml = workspace())
    {
        if (const auto problem = sim.open(yaml)) {
            qWarning() << problem->toString();
            return false;
        }
        releases = std::make_unique<ReleaseController>(sim.session.get(), QStringLiteral("ana"));
        sim.session->start();
        sim.run(2s);
        return true;
    }
    const ServiceStatus &observed(const ServiceKey &key) const
    {
        for (const ServiceStatus &status : sim.session->snapshot().services) {
            if (status.key == key)
                return status;
        }
        qFatal("no service %s", qPrintable(key.id()));
    }
    double weightOf(const ServiceKey &key, const QString &version) const
    {
        const ServiceStatus &status = observed(key);
        return status.traffic ? status.traffic->weightOf(version) : -1;
    }
    int live(const ServiceKey &key, const QString &version) const
    {
        int n = 0;
        for (const Instance &instance : observed(key).fleet->instances)
            n += instance.version == version && isLive(instance.state)
                 && instance.state != InstanceState::Draining;
        return n;
    }
    bool finished(const ServiceKey &key) const
    {
        const ReleaseController::Release *release = releases->release(key);
        return release && release->finished();
    }
    // Runs until `done` holds, or `limit` has passed; whether it held.
    template <typename Condition>
    bool runUntil(Condition done, Duration limit)
    {
        const TimePoint end = sim.clock.now() + limit;
        while (sim.clock.now() < end && !done())
            sim.run(1s);
        return done();
    }
    RollbackOption option(const ServiceKey &key) const { return releases->rollbackOption(key); }
};

} // namespace

class TestRollback : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void estimatesRead();
    void nothingToRollBack();
    void aCanaryGoesToZeroAtOnce();
    void aFinishedCanaryIsRedeployedFastTracked();
    void blueGreenBeforeTheSwitchKeepsTheLiveColour();
    void blueGreenSwitchesBackWhileWarm();
    void blueGreenRedeploysOnceTheOldColourIsGone();
    void aRedeployThatCannotStartIsNotPromised();
    void rollingTurnsAround();
    void recentReleasesAreListedBeforeAnythingIsDone();
    void worksWhileTheMetricsSourceIsDown();
    void theRequestIsJournaledBeforeTheRouterIsCalled();
    void nothingRunsWhileTheJournalCannotBeWritten();
};

void TestRollback::estimatesRead()
{
    QCOMPARE(estimateText(Duration(0)), QStringLiteral("instant"));
    QCOMPARE(estimateText(std::chrono::seconds(38)), QStringLiteral("~40 s"));
    QCOMPARE(estimateText(std::chrono::seconds(2)), QStringLiteral("~2 s"));
    QCOMPARE(estimateText(std::chrono::seconds(370)), QStringLiteral("~6 min"));
    QCOMPARE(estimateText(std::nullopt), QStringLiteral("time unknown"));
}

void TestRollback::nothingToRollBack()
{
    Fixture f;
    QVERIFY(f.open());
    const RollbackOption option = f.option(web);
    QCOMPARE(toString(option.kind), QStringLiteral("unavailable"));
    QVERIFY2(option.why.contains(QStringLiteral("no release")), qPrintable(option.why));
    const Result<Done, QString> done = f.releases->rollBack(web, QStringLiteral("INC-1"));
    QVERIFY(!done);
    QCOMPARE(done.error(), option.why);
}

void TestRollback::aCanaryGoesToZeroAtOnce()
{
    Fixture f;
    QVERIFY(f.open());
    QVERIFY(f.releases->start(web, QStringLiteral("2.4.0"), QString(), QString()));
    QVERIFY(f.runUntil([&] { return f.weightOf(web, QStringLiteral("2.4.0")) == 10; }, 3min));

    const RollbackOption option = f.option(web);
    QCOMPARE(toString(option.kind), QStringLiteral("command"));
    QCOMPARE(option.label, QStringLiteral("Canary to 0 % (instant)"));
    QCOMPARE(toString(option.command), toString(ReleaseCommand::Abort));
    QCOMPARE(option.toVersion, QStringLiteral("2.3.1"));
    QVERIFY(option.detail.contains(QStringLiteral("2.4.0's weight goes to 0 %")));

    QVERIFY(f.releases->rollBack(web, QString()));
    // The router call goes out with the click; the next observation has it.
    f.sim.run(1s);
    QCOMPARE(f.weightOf(web, QStringLiteral("2.4.0")), 0.0);
    QCOMPARE(f.weightOf(web, QStringLiteral("2.3.1")), 100.0);
    QCOMPARE(toString(f.option(web).kind), QStringLiteral("in-progress"));
    QVERIFY(f.runUntil([&] { return f.finished(web); }, 2min));
    QCOMPARE(f.live(web, QStringLiteral("2.4.0")), 0);
    const ReleaseEvent &aborted = *std::find_if(
        f.releases->release(web)->events.cbegin(), f.releases->release(web)->events.cend(),
        [](const ReleaseEvent &e) { return e.kind == ReleaseEvent::Kind::Aborted; });
    QCOMPARE(aborted.actor, QStringLiteral("ana"));
    QVERIFY2(aborted.reason.contains(QStringLiteral("no reason given")),
             qPrintable(aborted.reason));
    const RollbackOption after = f.option(web);
    QCOMPARE(toString(after.kind), QStringLiteral("unavailable"));
    QVERIFY2(after.why.contains(QStringLiteral("was rolled back")), qPrintable(after.why));
}

void TestRollback::aFinishedCanaryIsRedeployedFastTracked()
{
    Fixture f;
    QVERIFY(f.open());
    QVERIFY(f.releases->start(web, QStringLiteral("2.4.0"), QString(), QString()));
    QVERIFY(f.runUntil([&] { return f.finished(web); }, 20min));
    QVERIFY(f.releases->release(web)->canary()->status.succeeded());
    QCOMPARE(f.live(web, QStringLiteral("2.3.1")), 0);

    const RollbackOption option = f.option(web);
    QCOMPARE(toString(option.kind), QStringLiteral("redeploy"));
    QVERIFY(option.estimate);
    QVERIFY2(option.label.startsWith(QStringLiteral("Roll back to 2.3.1 (~"))
                 && option.label.endsWith(QStringLiteral(" s, redeploy)")),
             qPrintable(option.label));

    const TimePoint clicked = f.sim.clock.now();
    QVERIFY(f.releases->rollBack(web, QStringLiteral("INC-2: signups down")));
    const ReleaseController::Release &redeploy = *f.releases->release(web);
    QCOMPARE(redeploy.version(), QStringLiteral("2.3.1"));
    QCOMPARE(redeploy.canary()->plan.name, QStringLiteral("rollback"));
    // A rollback is never offered a rollback, which would bring the bad version back.
    QCOMPARE(toString(f.option(web).kind), QStringLiteral("in-progress"));
    QVERIFY(!f.releases->rollBack(web, QString()));
    QVERIFY(f.runUntil([&] { return f.finished(web); }, 5min));
    QCOMPARE(toString(f.option(web).kind), QStringLiteral("unavailable"));
    QVERIFY2(f.option(web).why.contains(QStringLiteral("brought back by a rollback")),
             qPrintable(f.option(web).why));
    QVERIFY(f.releases->rollbacksSince(clicked - 1h).isEmpty());
    QVERIFY2(f.releases->release(web)->canary()->status.succeeded(),
             qPrintable(f.releases->release(web)->reason));
    QCOMPARE(f.weightOf(web, QStringLiteral("2.3.1")), 100.0);
    QCOMPARE(f.live(web, QStringLiteral("2.3.1")), 6);
    // No bake, no gates: as long as the instances take to start, give or take the estimate.
    const Duration took = f.sim.clock.now() - clicked;
    QVERIFY2(took < *option.estimate + 60s, qPrintable(formatDuration(took)));
}

void TestRollback::blueGreenBeforeTheSwitchKeepsTheLiveColour()
{
    Fixture f;
    QVERIFY(f.open());
    QVERIFY(f.releases->start(pay, QStringLiteral("3.9.0"), QString(), QString()));
    f.sim.run(5s);
    const RollbackOption option = f.option(pay);
    QCOMPARE(option.label, QStringLiteral("Keep 3.8.0, cancel 3.9.0 (instant)"));
    QVERIFY(f.releases->rollBack(pay, QStringLiteral("wrong build")));
    QVERIFY(f.runUntil([&] { return f.finished(pay); }, 3min));
    QCOMPARE(f.weightOf(pay, QStringLiteral("3.8.0")), 100.0);
    QCOMPARE(f.live(pay, QStringLiteral("3.9.0")), 0);
}

void TestRollback::blueGreenSwitchesBackWhileWarm()
{
    Fixture f;
    QVERIFY(f.open());
    QVERIFY(f.releases->start(pay, QStringLiteral("3.9.0"), QString(), QString()));
    QVERIFY(f.runUntil([&] { return f.weightOf(pay, QStringLiteral("3.9.0")) == 100; }, 3min));

    const RollbackOption option = f.option(pay);
    QCOMPARE(option.label, QStringLiteral("Switch back to 3.8.0 (instant)"));
    QCOMPARE(toString(option.command), toString(ReleaseCommand::SwitchBack));
    QCOMPARE(*option.estimate, Duration(0));
    QVERIFY(f.releases->rollBack(pay, QStringLiteral("INC-3")));
    f.sim.run(1s);
    QCOMPARE(f.weightOf(pay, QStringLiteral("3.8.0")), 100.0);
    QVERIFY(f.runUntil([&] { return f.finished(pay); }, 3min));
    QCOMPARE(f.live(pay, QStringLiteral("3.8.0")), 4);
    QCOMPARE(f.live(pay, QStringLiteral("3.9.0")), 0);
}

void TestRollback::blueGreenRedeploysOnceTheOldColourIsGone()
{
    Fixture f;
    QVERIFY(f.open());
    QVERIFY(f.releases->start(pay, QStringLiteral("3.9.0"), QString(), QString()));
    QVERIFY(f.runUntil([&] { return f.finished(pay); }, 15min));
    QVERIFY(f.releases->release(pay)->blueGreen()->status.succeeded());

    const RollbackOption option = f.option(pay);
    QCOMPARE(toString(option.kind), QStringLiteral("redeploy"));
    QVERIFY2(option.label.endsWith(QStringLiteral(" s, redeploy, then switch)")),
             qPrintable(option.label));
    QVERIFY(f.releases->rollBack(pay, QStringLiteral("INC-4")));
    QVERIFY(f.releases->release(pay)->blueGreen()->plan.preSwitchGates.isEmpty());
    QVERIFY(f.runUntil([&] { return f.weightOf(pay, QStringLiteral("3.8.0")) == 100; }, 3min));
    QCOMPARE(f.live(pay, QStringLiteral("3.8.0")), 4);
}

void TestRollback::aRedeployThatCannotStartIsNotPromised()
{
    Fixture f;
    // From 10 min on, 3.9.0 crashes and every replacement fails to start.
    QVERIFY(f.open(workspace("{at: 10m, service: pay, environment: production, version: 3.9.0, "
                             "kind: crash, instances: 4}, "
                             "{at: 10m, service: pay, environment: production, version: 3.9.0, "
                             "kind: start_failure, duration: 30m}")));
    QVERIFY(f.releases->start(pay, QStringLiteral("3.9.0"), QString(), QString()));
    QVERIFY(f.runUntil([&] { return f.finished(pay); }, 9min));
    QCOMPARE(toString(f.option(pay).kind), QStringLiteral("redeploy"));
    const TimePoint crash = VirtualClock::defaultStart() + 10min;
    QVERIFY(f.sim.clock.now() < crash);
    f.sim.run(crash + 1min - f.sim.clock.now());
    // The engine would refuse it, so the button says why instead of promising it.
    const RollbackOption option = f.option(pay);
    QCOMPARE(toString(option.kind), QStringLiteral("unavailable"));
    QVERIFY2(option.why.startsWith(QStringLiteral("a new release of 3.8.0 cannot start")),
             qPrintable(option.why));
    QVERIFY(f.releases->rollbacksSince(f.sim.clock.now() - 1h).isEmpty());
}

void TestRollback::rollingTurnsAround()
{
    Fixture f;
    QVERIFY(f.open());
    QVERIFY(f.releases->start(api, QStringLiteral("2.0.0"), QString(), QString()));
    QVERIFY(f.runUntil([&] { return f.live(api, QStringLiteral("2.0.0")) >= 4; }, 5min));

    const RollbackOption option = f.option(api);
    QCOMPARE(toString(option.command), toString(ReleaseCommand::RollBack));
    QVERIFY2(option.label.startsWith(QStringLiteral("Roll back to 1.0.0 (~"))
                 && option.label.endsWith(QStringLiteral(", rolling)")),
             qPrintable(option.label));
    QVERIFY(f.releases->rollBack(api, QStringLiteral("INC-5")));
    QCOMPARE(f.option(api).label, QStringLiteral("Rolling back to 1.0.0…"));
    QVERIFY(f.runUntil([&] { return f.finished(api); }, 10min));
    QCOMPARE(f.live(api, QStringLiteral("1.0.0")), 8);
    QCOMPARE(f.live(api, QStringLiteral("2.0.0")), 0);
}

void TestRollback::recentReleasesAreListedBeforeAnythingIsDone()
{
    Fixture f;
    QVERIFY(f.open());
    QVERIFY(f.releases->start(api, QStringLiteral("2.0.0"), QString(), QString()));
    f.sim.run(10min);
    const TimePoint later = f.sim.clock.now();
    QVERIFY(f.releases->start(web, QStringLiteral("2.4.0"), QString(), QString()));
    QVERIFY(f.releases->start(pay, QStringLiteral("3.9.0"), QString(), QString()));
    f.sim.run(30s);

    // The rolling release is older than the window; the other two are in it.
    const QList<RollbackOption> recent = f.releases->rollbacksSince(later - 1min);
    QCOMPARE(recent.size(), 2);
    QCOMPARE(recent.at(0).service, pay);
    QCOMPARE(recent.at(1).service, web);
    QCOMPARE(f.releases->rollbacksSince(later - 15min).size(), 3);
    // Listing does nothing.
    QVERIFY(!f.releases->release(web)->finished());
    QVERIFY(!f.releases->release(pay)->finished());
    for (const RollbackOption &option : recent)
        QVERIFY(f.releases->rollBack(option.service, QStringLiteral("INC-6")));
    QVERIFY(f.runUntil([&] { return f.finished(web) && f.finished(pay); }, 3min));
    QVERIFY(f.releases->rollbacksSince(later - 1min).isEmpty());
}

void TestRollback::worksWhileTheMetricsSourceIsDown()
{
    Fixture f;
    QVERIFY(f.open(workspace("{at: 40s, service: web, environment: production, "
                             "kind: metrics_outage}")));
    QVERIFY(f.releases->start(web, QStringLiteral("2.4.0"), QString(), QString()));
    QVERIFY(f.runUntil([&] { return f.weightOf(web, QStringLiteral("2.4.0")) == 10; }, 3min));
    f.sim.run(30s);
    QVERIFY2(!f.observed(web).metricsError.isEmpty(), "the outage should have begun");
    QVERIFY(f.option(web).available());
    QVERIFY(f.releases->rollBack(web, QStringLiteral("INC-7")));
    f.sim.run(1s);
    QCOMPARE(f.weightOf(web, QStringLiteral("2.3.1")), 100.0);
    QVERIFY(f.runUntil([&] { return f.finished(web); }, 2min));
}

void TestRollback::theRequestIsJournaledBeforeTheRouterIsCalled()
{
    Fixture f;
    QVERIFY(f.open());
    QTemporaryDir dir;
    Journal journal(dir.filePath(QStringLiteral("journal.sqlite")));
    QSignalSpy opened(&journal, &Journal::opened);
    QVERIFY(opened.wait(10'000));
    f.releases->setJournal(&journal);
    QVERIFY(f.releases->start(pay, QStringLiteral("3.9.0"), QString(), QString()));
    // Simulated seconds pass far faster than the disk flushes: let the journal catch up at
    // every tick, as it would in real time.
    const auto drain = [&journal] {
        bool drained = false;
        journal.run({}, [&drained] { drained = true; });
        while (!drained)
            QCoreApplication::processEvents(QEventLoop::WaitForMoreEvents, 50);
    };
    QVERIFY2(f.runUntil(
                 [&] {
                     drain();
                     return f.weightOf(pay, QStringLiteral("3.9.0")) == 100;
                 },
                 5min),
             qPrintable(f.releases->release(pay)->reason));

    QSignalSpy routed(f.sim.simulator(), &sim::SimulatorAdapter::trafficChanged);
    QVERIFY(f.releases->rollBack(pay, QStringLiteral("INC-8: 5xx")));
    // The router is called only once the journal has the intent, which takes a turn of its
    // thread: not from inside the click.
    QCOMPARE(routed.size(), 0);
    QTRY_VERIFY_WITH_TIMEOUT(routed.size() > 0, 5000);
    QTRY_COMPARE_WITH_TIMEOUT(f.weightOf(pay, QStringLiteral("3.8.0")), 100.0, 5000);

    // Everything queued on disk, then read as an auditor would.
    drain();
    auto store = JournalStore::open(journal.path());
    QVERIFY(store);
    QVERIFY(store.value()->verify().intact());
    const QList<JournalEntry> entries = store.value()->entries().value();
    const auto find = [&entries](const QString &kind, qint64 after = 0) {
        return std::find_if(entries.cbegin(), entries.cend(), [&](const JournalEntry &e) {
            return e.kind == kind && e.sequence > after;
        });
    };
    const auto requested = find(journalkind::rollbackRequested);
    QVERIFY(requested != entries.cend());
    QCOMPARE(requested->actor, QStringLiteral("ana"));
    QCOMPARE(requested->reason, QStringLiteral("INC-8: 5xx"));
    QCOMPARE(requested->action, QStringLiteral("Switch back to 3.8.0 (instant)"));
    const auto intent = find(journalkind::intent, requested->sequence);
    QVERIFY(intent != entries.cend());
    QVERIFY2(intent->action.contains(QStringLiteral("3.8.0")), qPrintable(intent->action));
    QCOMPARE(intent->actor, QStringLiteral("ana"));
    const auto outcome = std::find_if(entries.cbegin(), entries.cend(), [&](const JournalEntry &e) {
        return e.kind == journalkind::outcome && e.intent == intent->sequence;
    });
    QVERIFY(outcome != entries.cend());
    QCOMPARE(outcome->outcome, QStringLiteral("ok"));
    QVERIFY(outcome->sequence > intent->sequence);
    // The switch back itself is recorded as the operator's.
    const auto switchedBack = find(toString(ReleaseEvent::Kind::SwitchedBack));
    QVERIFY(switchedBack != entries.cend());
}

void TestRollback::nothingRunsWhileTheJournalCannotBeWritten()
{
    Fixture f;
    QVERIFY(f.open());
    QTemporaryDir dir;
    // A journal whose folder is a file cannot be created.
    QFile blocker(dir.filePath(QStringLiteral("not-a-folder")));
    QVERIFY(blocker.open(QIODevice::WriteOnly));
    blocker.close();
    Journal journal(dir.filePath(QStringLiteral("not-a-folder/journal.sqlite")));
    QSignalSpy failed(&journal, &Journal::openFailed);
    f.releases->setJournal(&journal);
    QVERIFY(failed.wait(10'000));
    const Result<Done, QString> started
        = f.releases->start(web, QStringLiteral("2.4.0"), QString(), QString());
    QVERIFY(!started);
    QVERIFY2(started.error().startsWith(QStringLiteral("the journal cannot be written")),
             qPrintable(started.error()));
    QVERIFY(!f.releases->release(web));
}

QTEST_GUILESS_MAIN(TestRollback)
#include "tst_rollback.moc"
