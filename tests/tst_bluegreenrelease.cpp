// Whole blue-green releases on the simulator, through the real ReleaseController, on the virtual
// clock. Every tick of every release checks the invariants of the strategy: the router sends all
// traffic to exactly one version, that version has a ready instance, and the router moves to the
// new colour only once every instance of it is ready. The simulator's switch is one router
// operation, so no observation can fall inside it.

#include "releasecontroller.h"
#include "simulatorharness.h"

#include <QTest>

#include <utility>

using namespace sb;
using namespace sb::testing;
using namespace std::chrono_literals;

namespace {

const ServiceKey pay{QStringLiteral("pay"), QStringLiteral("production")};
const QString oldVersion = QStringLiteral("3.8.0");
const QString newVersion = QStringLiteral("3.9.0");

// pay runs 3.8.0 on 6 instances; 3.9.0 is declared for the release. `active` pins the router in
// the simulator's settings (empty: it follows ready instances like a plain pool), `blueGreen` is
// the service's blue_green settings and `faults` the simulator's.
QByteArray workspace(const QByteArray &blueGreen, const QByteArray &faults = {}, bool active = true)
{
    return R"(environments: [production]
adapters:
  - name: sim
    type: simulator
    settings:
      seed: 11
      metrics_window: 1m
      defaults: {requests_per_second: 400, startup: 20s, startup_jitter: 5s, drain: 10s,
                 replace_after: 30s, smoke_requests_per_second: 20}
      services:
        - service: pay
          environment: production
)" + (active ? QByteArray("          active: 3.8.0\n") : QByteArray())
           + R"(          versions:
            - {version: 3.8.0, instances: 6, error_rate: 0.2%, p50_ms: 40, p99_ms: 200}
            - {version: 3.9.0, instances: 0, error_rate: 0.2%, p50_ms: 40, p99_ms: 200}
      faults: [)"
           + faults + R"(]
gates:
  - {name: smoke-errors, metric: error_rate, bound: "<= 1.5 x baseline + 0.5%", min_requests: 100}
services:
  - {name: pay, environment: production, strategy: blue-green, adapter: sim, blue_green: )"
           + blueGreen + R"(}
)";
}

// An operator's command, given `after` this long once the release is first seen in `phase`.
// With `refusal`, the command must be refused with that text and change nothing.
struct Step {
    QString phase;
    Duration after{0};
    ReleaseCommand command = ReleaseCommand::Switch;
    QString reason;
    QString refusal;
};
using Steps = QList<Step>;

QStringList kinds(const QList<ReleaseEvent> &events)
{
    QStringList out;
    for (const ReleaseEvent &event : events) {
        // Gates measure every minute; how many times depends on the timing, not on the rules.
        if (event.kind != ReleaseEvent::Kind::GateMeasured)
            out.append(toString(event.kind));
    }
    return out;
}

QString timeline(const QList<ReleaseEvent> &events)
{
    QStringList out;
    for (const ReleaseEvent &event : events)
        out.append(QStringLiteral("%1 %2 %3: %4")
                       .arg(formatUtc(event.at), event.actor, toString(event.kind), event.reason));
    return out.join(QLatin1Char('\n'));
}

int count(const ServiceStatus &status, const QString &version, InstanceState state)
{
    int n = 0;
    for (const Instance &instance : status.fleet->instances)
        n += instance.version == version && instance.state == state;
    return n;
}

const ReleaseEvent *findEvent(const QList<ReleaseEvent> &events, ReleaseEvent::Kind kind)
{
    for (const ReleaseEvent &event : events) {
        if (event.kind == kind)
            return &event;
    }
    return nullptr;
}

struct Fixture {
    SimulatedWorkspace sim;
    std::unique_ptr<ReleaseController> releases;
    int ticksChecked = 0;
    QString lastLive = oldVersion;

    bool open(const QByteArray &yaml)
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
    const ServiceStatus &observed() const { return sim.session->snapshot().services.front(); }
    const ReleaseController::Release &release() const { return *releases->release(pay); }
    const BlueGreenRun &run() const { return *release().blueGreen(); }
    QString phase() const
    {
        return toString(bluegreen::phase(run().plan, run().status, observed(), sim.clock.now()));
    }

    // The router gives all traffic to one version, which has a ready instance; empty when so.
    QString routerProblem() const
    {
        const ServiceStatus &s = observed();
        if (!s.traffic || !s.fleet)
            return QStringLiteral("no traffic or fleet observation");
        QString full;
        for (auto it = s.traffic->weightPercent.cbegin(); it != s.traffic->weightPercent.cend();
             ++it) {
            if (std::abs(it.value() - 100) <= 0.05 && full.isEmpty())
                full = it.key();
            else if (std::abs(it.value()) > 0.05)
                return QStringLiteral("%1 has %2 %").arg(it.key()).arg(it.value());
        }
        if (full.isEmpty())
            return QStringLiteral("no version has all traffic");
        if (count(s, full, InstanceState::Ready) == 0)
            return QStringLiteral("all traffic on %1, which has no ready instance").arg(full);
        return {};
    }

    // The router moved to the new colour only with every instance of it ready; empty when so.
    QString switchProblem()
    {
        const ServiceStatus &s = observed();
        const QString live = bluegreen::liveColour(s);
        const QString previous = std::exchange(lastLive, live);
        if (live != newVersion || previous == newVersion)
            return {};
        const int ready = count(s, newVersion, InstanceState::Ready);
        const int others = count(s, newVersion, InstanceState::Starting)
                           + count(s, newVersion, InstanceState::Failed);
        if (ready == 6 && others == 0)
            return {};
        return QStringLiteral("switched to %1 with %2 of 6 instances ready and %3 starting or "
                              "failed")
            .arg(newVersion)
            .arg(ready)
            .arg(others);
    }

    // One tick, then the invariants; false (with a message) when they do not hold.
    bool tick()
    {
        sim.run(1s);
        ++ticksChecked;
        QString problem = routerProblem();
        if (problem.isEmpty())
            problem = switchProblem();
        if (!problem.isEmpty()) {
            qWarning().noquote() << formatUtc(sim.clock.now()) << problem << "in phase" << phase()
                                 << '\n'
                                 << timeline(release().events);
            return false;
        }
        return true;
    }
};

} // namespace

Q_DECLARE_METATYPE(Steps)

class TestBlueGreenRelease : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void wholeReleases_data();
    void wholeReleases();
    void aSwitchBackInsideTheWindowTakesSeconds();
    void afterTheWindowGoingBackIsANewDeploy();
    void aGateFailingAtTheWindowsEndKeepsTheOldColourWarm();
    void aSwitchBackOutsideTheReleaseIsNoticed();
    void aPausedReleaseHoldsEachStepForward();
    void aColourThatRanAlreadyHasNoRedeployEstimate();
    void anUndeclaredVersionEndsWithTheBackendsReason();
};

void TestBlueGreenRelease::wholeReleases_data()
{
    QTest::addColumn<QByteArray>("yaml");
    QTest::addColumn<Steps>("steps");
    QTest::addColumn<int>("minutes"); // how long to run at most
    QTest::addColumn<QStringList>("events");
    QTest::addColumn<QString>("reason"); // in the release's last sentence

    using C = ReleaseCommand;
    const QByteArray automatic
        = "{warm_window: 10m, switch: automatic, pre_switch_gates: [smoke-errors]}";

    QTest::newRow("succeeds after the default window")
        << workspace("{switch: automatic, pre_switch_gates: [smoke-errors], "
                     "post_switch_gates: [error-rate]}")
        << Steps() << 40 << QStringList{"started", "scaled", "switched", "scaled", "succeeded"}
        << QStringLiteral("Succeeded: 3.9.0 serves all traffic; 3.8.0 is scaled down");
    QTest::newRow("a router never pinned is pinned before the new colour starts")
        << workspace(automatic, {}, false) << Steps() << 20
        << QStringList{"started", "scaled", "switched", "scaled", "succeeded"}
        << QStringLiteral("Succeeded");
    QTest::newRow("an operator switches back inside the window")
        << workspace(automatic)
        << Steps{{QStringLiteral("warm"),
                  2min,
                  C::SwitchBack,
                  QStringLiteral("checkout errors"),
                  {}}}
        << 20 << QStringList{"started",       "scaled", "switched",   "aborted",
                             "switched-back", "scaled", "rolled-back"}
        << QStringLiteral("Rolled back: switched back by ana: checkout errors. 3.8.0 serves all "
                          "traffic.");
    QTest::newRow("a post-switch gate switches back on its own")
        << workspace(automatic, "{from_weight: 100, service: pay, environment: production, "
                                "version: 3.9.0, kind: error_rate, error_rate: 8%}")
        << Steps() << 20 << QStringList{"started",       "scaled", "switched",   "aborted",
                                        "switched-back", "scaled", "rolled-back"}
        << QStringLiteral("Rolled back: gate error-rate failed 3 of 3 allowed measurements after "
                          "the switch");
    QTest::newRow("instances that fail to start are replaced before the switch")
        << workspace(automatic, "{at: 10s, service: pay, environment: production, version: "
                                "3.9.0, kind: start_failure, instances: 3}")
        << Steps() << 20
        << QStringList{"started", "scaled", "held", "switched", "scaled", "succeeded"}
        << QStringLiteral("Succeeded");
    QTest::newRow("instances that keep failing to start: the release holds and never switches")
        << workspace(automatic, "{at: 10s, service: pay, environment: production, version: "
                                "3.9.0, kind: start_failure, duration: 2h}")
        << Steps() << 15 << QStringList{"started", "scaled", "held"}
        << QStringLiteral("Deploying 3.9.0 beside 3.8.0: 0 of 6 instances ready");
    const QByteArray crash = "{service: pay, environment: production, kind: crash, ";
    QTest::newRow("crashes in each colour mid-release")
        << workspace(automatic, crash + "at: 70s, version: 3.9.0, instances: 2}, " + crash
                                    + "at: 80s, version: 3.8.0, instances: 2}, " + crash
                                    + "at: 6m, version: 3.9.0, instances: 2}, " + crash
                                    + "at: 7m, version: 3.8.0, instances: 3}")
        << Steps() << 25
        << QStringList{"started", "scaled", "held", "switched", "scaled", "succeeded"}
        << QStringLiteral("Succeeded");
    QTest::newRow("a manual plan waits for an operator's Switch")
        << workspace("{warm_window: 10m, switch: manual, pre_switch_gates: [smoke-errors]}")
        << Steps{{QStringLiteral("deploying"), 5s, C::Switch, QStringLiteral("too early"),
                  QStringLiteral("pay (production): 3.9.0 has 0 of 6 instances ready; switch once "
                                 "all are ready")},
                 {QStringLiteral("awaiting-switch"),
                  30s,
                  C::Switch,
                  QStringLiteral("CAB-12 approved"),
                  {}}}
        << 20 << QStringList{"started", "scaled", "held", "switched", "scaled", "succeeded"}
        << QStringLiteral("Succeeded");
    QTest::newRow("extend keeps the old colour warm for longer")
        << workspace(automatic)
        << Steps{{QStringLiteral("deploying"),
                  5s,
                  C::Extend,
                  {},
                  QStringLiteral("pay (production): the warm window begins when 3.9.0 takes all "
                                 "traffic; there is nothing to extend before the switch")},
                 {QStringLiteral("warm"), 8min, C::Extend, QStringLiteral("peak hour"), {}}}
        << 35
        << QStringList{"started", "scaled", "switched", "window-extended", "scaled", "succeeded"}
        << QStringLiteral("Succeeded");
    QTest::newRow("paused, the release never switches on its own; resumed, it does")
        << workspace(automatic)
        << Steps{{QStringLiteral("deploying"), 5s, C::Pause, QStringLiteral("change freeze"), {}},
                 {QStringLiteral("paused"), 5min, C::Resume, QStringLiteral("freeze lifted"), {}}}
        << 25
        << QStringList{"started", "scaled", "paused", "resumed", "switched", "scaled", "succeeded"}
        << QStringLiteral("Succeeded");
    QTest::newRow("paused, a post-switch gate still switches back on its own")
        << workspace(automatic, "{from_weight: 100, service: pay, environment: production, "
                                "version: 3.9.0, kind: error_rate, error_rate: 8%}")
        << Steps{{QStringLiteral("warm"), 5s, C::Pause, QStringLiteral("watching errors"), {}},
                 {QStringLiteral("paused"),
                  10s,
                  C::Pause,
                  {},
                  QStringLiteral("pay (production): the release of 3.9.0 has been paused since ")}}
        << 20 << QStringList{"started", "scaled",        "switched", "paused",
                             "aborted", "switched-back", "scaled",   "rolled-back"}
        << QStringLiteral("Rolled back: gate error-rate failed 3 of 3 allowed measurements after "
                          "the switch");
}

void TestBlueGreenRelease::wholeReleases()
{
    QFETCH(QByteArray, yaml);
    QFETCH(Steps, steps);
    QFETCH(int, minutes);
    Fixture f;
    QVERIFY(f.open(yaml));
    QCOMPARE(f.routerProblem(), QString());
    QVERIFY(f.releases->start(pay, newVersion, QString(), QStringLiteral("JIRA-40")));

    QList<std::optional<TimePoint>> phaseSeen(steps.size());
    QList<bool> done(steps.size(), false);
    const TimePoint end = f.sim.clock.now() + std::chrono::minutes(minutes);
    while (f.sim.clock.now() < end && !f.release().finished()) {
        QVERIFY(f.tick());
        for (int i = 0; i < steps.size(); ++i) {
            const Step &step = steps[i];
            if (done[i])
                continue;
            if (!phaseSeen[i] && f.phase() == step.phase)
                phaseSeen[i] = f.sim.clock.now();
            if (!phaseSeen[i] || f.sim.clock.now() < *phaseSeen[i] + step.after)
                continue;
            done[i] = true;
            const BlueGreenStatus before = f.run().status;
            const auto given = f.releases->command(pay, step.command, step.reason);
            if (!step.refusal.isEmpty()) {
                QVERIFY(!given);
                QVERIFY2(given.error().startsWith(step.refusal), qPrintable(given.error()));
                QCOMPARE(f.run().status, before);
            } else {
                QVERIFY2(given, qPrintable(given ? QString() : given.error()));
            }
        }
    }
    if (f.release().finished()) {
        // Ended only once the colour scaled down is gone, draining instances included.
        const QString gone = f.run().status.succeeded() ? oldVersion : newVersion;
        QCOMPARE(count(f.observed(), gone, InstanceState::Draining), 0);
        QCOMPARE(count(f.observed(), gone, InstanceState::Ready)
                     + count(f.observed(), gone, InstanceState::Starting)
                     + count(f.observed(), gone, InstanceState::Failed),
                 0);
    }
    // Past the end too, while the simulator settles.
    for (int i = 0; i < 60; ++i)
        QVERIFY(f.tick());

    const ReleaseController::Release &release = f.release();
    for (int i = 0; i < steps.size(); ++i)
        QVERIFY2(done[i], qPrintable(QStringLiteral("step %1 never ran").arg(i)));
    QFETCH(QStringList, events);
    QVERIFY2(kinds(release.events) == events, qPrintable(timeline(release.events)));
    QFETCH(QString, reason);
    QVERIFY2(release.reason.startsWith(reason), qPrintable(release.reason));

    const ServiceStatus &s = f.observed();
    const BlueGreenStatus &status = f.run().status;
    if (status.succeeded()) {
        // Every post-switch gate judged the window up to its end before the old colour went.
        const TimePoint windowEnd = *status.switchedAt + f.run().plan.warmWindow + status.extended;
        for (const QString &gate : f.run().plan.postSwitchGates) {
            QVERIFY2(status.postSwitchDataUntil.contains(gate), qPrintable(gate));
            QVERIFY2(status.postSwitchDataUntil.value(gate) >= windowEnd,
                     qPrintable(formatUtc(status.postSwitchDataUntil.value(gate))));
        }
        QCOMPARE(count(s, newVersion, InstanceState::Ready), 6);
        QCOMPARE(count(s, oldVersion, InstanceState::Ready), 0);
        QCOMPARE(bluegreen::liveColour(s), newVersion);
    } else if (status.finished()) {
        QCOMPARE(count(s, oldVersion, InstanceState::Ready), 6);
        QCOMPARE(count(s, newVersion, InstanceState::Ready), 0);
        QCOMPARE(bluegreen::liveColour(s), oldVersion);
    } else {
        // Still holding: the old colour keeps all traffic, and the release says why.
        QCOMPARE(bluegreen::liveColour(s), oldVersion);
        QVERIFY(!status.switchRequest);
        const ReleaseEvent *held = findEvent(release.events, ReleaseEvent::Kind::Held);
        QVERIFY(held);
        QCOMPARE(held->reason,
                 QStringLiteral("3.9.0 has 1 failed instance; the switch waits until all 6 are "
                                "ready"));
    }
    if (const ReleaseEvent *switched = findEvent(release.events, ReleaseEvent::Kind::Switched)) {
        // The switch follows the idle colour's readiness, never precedes it.
        QVERIFY(status.readyAt && *status.readyAt <= switched->at);
        QVERIFY(status.oldBefore);
        QCOMPARE(status.oldBefore->version, oldVersion);
        if (status.switchedBy != automaticActor)
            QCOMPARE(switched->actor, QStringLiteral("ana"));
    }
    if (const ReleaseEvent *extended
        = findEvent(release.events, ReleaseEvent::Kind::WindowExtended)) {
        QCOMPARE(extended->actor, QStringLiteral("ana"));
        QCOMPARE(*status.retiredAt, *status.switchedAt + 10min + bluegreen::extendStep);
    }
}

void TestBlueGreenRelease::aSwitchBackInsideTheWindowTakesSeconds()
{
    Fixture f;
    QVERIFY(f.open(workspace("{warm_window: 10m, switch: automatic}")));
    QVERIFY(f.releases->start(pay, newVersion, QString(), QString()));
    while (f.phase() != QLatin1String("warm") && f.ticksChecked < 600)
        QVERIFY(f.tick());
    for (int i = 0; i < 120; ++i)
        QVERIFY(f.tick());
    const std::optional<Duration> left
        = bluegreen::warmRemaining(f.run().plan, f.run().status, f.sim.clock.now());
    QVERIFY(left && *left < 8min + 1s && *left > 7min);

    const TimePoint pressed = f.sim.clock.now();
    QVERIFY(f.releases->command(pay, ReleaseCommand::SwitchBack, QStringLiteral("pager")));
    while (!f.run().status.switchedBack && f.sim.clock.now() < pressed + 1min)
        QVERIFY(f.tick());
    const ReleaseEvent *back = findEvent(f.release().events, ReleaseEvent::Kind::SwitchedBack);
    QVERIFY(back);
    QVERIFY2(back->at - pressed <= 2s, qPrintable(formatDuration(back->at - pressed)));
    QCOMPARE(bluegreen::liveColour(f.observed()), oldVersion);
    // The old colour was warm: every instance already ready, none started for the way back.
    QCOMPARE(count(f.observed(), oldVersion, InstanceState::Ready), 6);
    QCOMPARE(count(f.observed(), oldVersion, InstanceState::Starting), 0);
}

void TestBlueGreenRelease::afterTheWindowGoingBackIsANewDeploy()
{
    Fixture f;
    QVERIFY(f.open(workspace("{warm_window: 5m, switch: automatic}")));
    QVERIFY(f.releases->start(pay, newVersion, QString(), QString()));
    while (!f.release().finished() && f.ticksChecked < 1200)
        QVERIFY(f.tick());
    QVERIFY2(f.run().status.succeeded(), qPrintable(f.release().reason));

    const std::optional<Duration> estimate = bluegreen::redeployEstimate(f.run().status);
    QVERIFY(estimate && *estimate >= 15s && *estimate <= 1min);
    const QString expected
        = QStringLiteral("pay (production): 3.8.0 was scaled down at %1 when the warm window "
                         "ended; going back now is a new deploy of 3.8.0, about %2 to bring 6 "
                         "instances up, then a switch")
              .arg(formatUtc(*f.run().status.retiredAt), formatDuration(*estimate));
    QCOMPARE(f.releases->refusal(pay, ReleaseCommand::SwitchBack), expected);
    const BlueGreenStatus before = f.run().status;
    const qsizetype events = f.release().events.size();
    const auto refused = f.releases->command(pay, ReleaseCommand::SwitchBack, QStringLiteral("x"));
    QVERIFY(!refused);
    QCOMPARE(refused.error(), expected);
    QCOMPARE(f.run().status, before);
    QCOMPARE(f.release().events.size(), events);
    for (int i = 0; i < 30; ++i)
        QVERIFY(f.tick());
    QCOMPARE(bluegreen::liveColour(f.observed()), newVersion);
}

void TestBlueGreenRelease::aGateFailingAtTheWindowsEndKeepsTheOldColourWarm()
{
    // 3.9.0's errors rise just as the 4-minute window ends: the gate fails its last measurement
    // and the old colour stays warm past the window, where switching back is still a switch.
    Fixture f;
    QVERIFY(f.open(workspace("{warm_window: 4m, post_switch_gates: [error-rate]}",
                             "{at: 4m, service: pay, environment: production, version: 3.9.0, "
                             "kind: error_rate, error_rate: 5%, duration: 100s}")));
    QVERIFY(f.releases->start(pay, newVersion, QString(), QString()));
    while (!f.run().status.holdReason.startsWith(QLatin1String("retire:gate "))
           && f.ticksChecked < 600)
        QVERIFY(f.tick());
    const BlueGreenStatus &status = f.run().status;
    QVERIFY2(status.switchedAt && !status.retiredAt && !status.aborted,
             qPrintable(timeline(f.release().events)));
    QVERIFY(f.sim.clock.now() >= *status.switchedAt + 4min);
    QCOMPARE(f.phase(), QStringLiteral("warm"));
    QCOMPARE(f.releases->refusal(pay, ReleaseCommand::SwitchBack), QString());
    QCOMPARE(f.releases->refusal(pay, ReleaseCommand::Extend), QString());
    const QString abort = f.releases->refusal(pay, ReleaseCommand::Abort);
    QVERIFY2(abort.endsWith(QStringLiteral("switch back to 3.8.0 instead (3.8.0 is still warm: its "
                                           "retirement waits for gate error-rate, which failed "
                                           "its last measurement)")),
             qPrintable(abort));

    const TimePoint pressed = f.sim.clock.now();
    QVERIFY(f.releases->command(pay, ReleaseCommand::SwitchBack, QStringLiteral("errors")));
    while (!f.run().status.switchedBack && f.sim.clock.now() < pressed + 1min)
        QVERIFY(f.tick());
    const ReleaseEvent *back = findEvent(f.release().events, ReleaseEvent::Kind::SwitchedBack);
    QVERIFY(back);
    QVERIFY2(back->at - pressed <= 2s, qPrintable(formatDuration(back->at - pressed)));
    // Still warm: every old instance ready, none started for the way back.
    QCOMPARE(count(f.observed(), oldVersion, InstanceState::Ready), 6);
    QCOMPARE(count(f.observed(), oldVersion, InstanceState::Starting), 0);
    while (!f.release().finished() && f.sim.clock.now() < pressed + 2min)
        QVERIFY(f.tick());
    QVERIFY2(
        f.release().reason.startsWith(QStringLiteral("Rolled back: switched back by ana: errors.")),
        qPrintable(f.release().reason));
}

void TestBlueGreenRelease::aSwitchBackOutsideTheReleaseIsNoticed()
{
    // Someone moves the router back to 3.8.0 by hand two minutes in, inside the window.
    QByteArray yaml = workspace("{warm_window: 3m}");
    yaml.replace("      faults: [", "      script:\n"
                                    "        - {at: 2m, service: pay, environment: production, "
                                    "switch: 3.8.0}\n"
                                    "      faults: [");
    Fixture f;
    QVERIFY(f.open(yaml));
    QVERIFY(f.releases->start(pay, newVersion, QString(), QString()));
    while (!f.release().finished() && f.ticksChecked < 900)
        QVERIFY(f.tick());
    QVERIFY2(f.release().finished(), qPrintable(f.release().reason));
    QCOMPARE(kinds(f.release().events), (QStringList{"started", "scaled", "switched",
                                                     "switched-back", "scaled", "rolled-back"}));
    const ReleaseEvent *back = findEvent(f.release().events, ReleaseEvent::Kind::SwitchedBack);
    QCOMPARE(back->actor, automaticActor);
    QVERIFY2(back->reason.startsWith(QStringLiteral("the router shows all traffic on 3.8.0 again; "
                                                    "it was switched back outside the release")),
             qPrintable(back->reason));
    QCOMPARE(f.release().reason, QStringLiteral("Rolled back: the router was switched back to "
                                                "3.8.0 outside the release. 3.8.0 serves all "
                                                "traffic."));
    QCOMPARE(count(f.observed(), oldVersion, InstanceState::Ready), 6);
    QCOMPARE(count(f.observed(), newVersion, InstanceState::Ready), 0);
    // The service is free for the next release.
    QVERIFY(f.releases->start(pay, newVersion, QString(), QStringLiteral("again")));
}

void TestBlueGreenRelease::aPausedReleaseHoldsEachStepForward()
{
    // Paused as it starts: the new colour's scale-up, already asked for, goes on; its smoke gate
    // passes, and still nothing switches.
    Fixture f;
    QVERIFY(f.open(workspace("{warm_window: 3m, switch: automatic, pre_switch_gates: "
                             "[smoke-errors], post_switch_gates: [error-rate]}")));
    QVERIFY(f.releases->start(pay, newVersion, QString(), QString()));
    QVERIFY(f.releases->command(pay, ReleaseCommand::Pause, QStringLiteral("CAB-3 freeze")));
    const ReleaseEvent *paused = findEvent(f.release().events, ReleaseEvent::Kind::Paused);
    QVERIFY(paused);
    QCOMPARE(paused->actor, QStringLiteral("ana"));
    QVERIFY2(paused->reason.endsWith(QStringLiteral(": CAB-3 freeze")), qPrintable(paused->reason));
    for (int i = 0; i < 5 * 60; ++i)
        QVERIFY(f.tick());
    QCOMPARE(count(f.observed(), newVersion, InstanceState::Ready), 6);
    const GateState &smoke = f.run().status.preSwitchGates.first();
    QVERIFY(smoke.last && smoke.last->verdict == Verdict::Pass);
    QCOMPARE(bluegreen::liveColour(f.observed()), oldVersion);
    QVERIFY(!f.run().status.switchRequest);
    QCOMPARE(f.phase(), QStringLiteral("paused"));
    QVERIFY2(f.release().reason.startsWith(QStringLiteral("Paused: 3.9.0 is ready (all 6 "
                                                          "instances) and its gates passed "
                                                          "(smoke-errors); the switch waits for "
                                                          "Resume or an operator's Switch")),
             qPrintable(f.release().reason));

    // Resumed, it switches; paused again in the window, the old colour outlives it, warm.
    QVERIFY(f.releases->command(pay, ReleaseCommand::Resume, QString()));
    while (f.phase() != QLatin1String("warm") && f.ticksChecked < 10 * 60)
        QVERIFY(f.tick());
    QCOMPARE(bluegreen::liveColour(f.observed()), newVersion);
    QVERIFY(f.releases->command(pay, ReleaseCommand::Pause, QStringLiteral("INC-8")));
    const TimePoint windowEnd = *f.run().status.switchedAt + 3min;
    while (f.sim.clock.now() < windowEnd + 3min)
        QVERIFY(f.tick());
    QVERIFY(!f.run().status.retiredAt);
    QCOMPARE(count(f.observed(), oldVersion, InstanceState::Ready), 6);
    QVERIFY2(f.release().reason.contains(QStringLiteral("3.8.0 is held warm while paused")),
             qPrintable(f.release().reason));
    QCOMPARE(f.releases->refusal(pay, ReleaseCommand::SwitchBack), QString());
    QCOMPARE(f.releases->refusal(pay, ReleaseCommand::Extend), QString());
    QCOMPARE(f.releases->refusal(pay, ReleaseCommand::Resume), QString());

    // Resumed past the window's end, the old colour is retired and the release ends.
    const TimePoint resumed = f.sim.clock.now();
    QVERIFY(f.releases->command(pay, ReleaseCommand::Resume, QStringLiteral("INC-8 closed")));
    QVERIFY(f.run().status.retiredAt);
    QCOMPARE(*f.run().status.retiredAt, resumed);
    while (!f.release().finished() && f.sim.clock.now() < resumed + 2min)
        QVERIFY(f.tick());
    QVERIFY2(f.run().status.succeeded(), qPrintable(timeline(f.release().events)));
    QCOMPARE(kinds(f.release().events),
             (QStringList{"started", "scaled", "paused", "resumed", "switched", "paused", "resumed",
                          "scaled", "succeeded"}));
    QCOMPARE(count(f.observed(), oldVersion, InstanceState::Ready), 0);
}

void TestBlueGreenRelease::aColourThatRanAlreadyHasNoRedeployEstimate()
{
    // 3.9.0 already runs at full size: nothing starts, so how long starting it takes is unknown.
    QByteArray yaml = workspace("{warm_window: 2m}");
    yaml.replace("- {version: 3.9.0, instances: 0,", "- {version: 3.9.0, instances: 6,");
    Fixture f;
    QVERIFY(f.open(yaml));
    QVERIFY(f.releases->start(pay, newVersion, QString(), QString()));
    while (!f.release().finished() && f.ticksChecked < 600)
        QVERIFY(f.tick());
    QVERIFY2(f.run().status.succeeded(), qPrintable(timeline(f.release().events)));
    QCOMPARE(bluegreen::redeployEstimate(f.run().status), std::nullopt);
    QCOMPARE(f.releases->refusal(pay, ReleaseCommand::SwitchBack),
             QStringLiteral("pay (production): 3.8.0 was scaled down at %1 when the warm window "
                            "ended; going back now is a new deploy of 3.8.0, as long as starting "
                            "6 instances takes, then a switch")
                 .arg(formatUtc(*f.run().status.retiredAt)));
    for (const ReleaseEvent &event : f.release().events)
        QVERIFY2(!event.reason.contains(QStringLiteral("about 0 s")), qPrintable(event.reason));
}

void TestBlueGreenRelease::anUndeclaredVersionEndsWithTheBackendsReason()
{
    // The simulator refuses a version it does not declare, for good.
    Fixture f;
    QVERIFY(f.open(workspace("{warm_window: 5m}")));
    QVERIFY(f.releases->start(pay, QStringLiteral("4.0.0"), QString(), QString()));
    while (!f.release().finished() && f.ticksChecked < 120)
        QVERIFY(f.tick());
    QVERIFY2(f.release().finished(), qPrintable(timeline(f.release().events)));
    QCOMPARE(kinds(f.release().events),
             (QStringList{"started", "scaled", "action-failed", "aborted", "rolled-back"}));
    QVERIFY2(f.release().reason.startsWith(QStringLiteral(
                 "Rolled back: the backend refused to scale 4.0.0 to 6 instances: ")),
             qPrintable(f.release().reason));
    for (const ReleaseEvent &event : f.release().events) {
        QVERIFY2(!event.reason.contains(QStringLiteral("by hand"))
                     && !event.reason.contains(QStringLiteral("scaling 4.0.0 down")),
                 qPrintable(event.reason));
    }
    QCOMPARE(count(f.observed(), oldVersion, InstanceState::Ready), 6);
    QCOMPARE(bluegreen::liveColour(f.observed()), oldVersion);
}

QTEST_GUILESS_MAIN(TestBlueGreenRelease)
#include "tst_bluegreenrelease.moc"
