// Canary releases end to end on the simulator, on the virtual clock: the controller decides,
// calls the simulator's verbs and records events, exactly as the console runs them.

#include "releasecontroller.h"
#include "simulatorharness.h"

#include <QSignalSpy>
#include <QTest>
#include <QTimer>

using namespace sb;
using namespace sb::testing;
using namespace std::chrono_literals;

namespace {

const ServiceKey web{QStringLiteral("web"), QStringLiteral("production")};

// web runs 2.3.1 on 10 instances; 2.4.0 is declared for the canary. `versionExtra` goes into
// 2.4.0's entry, `sections` at the top level.
QByteArray workspace(const QByteArray &versionExtra = {}, const QByteArray &faults = {},
                     const QByteArray &sections = {})
{
    return R"(environments: [production]
adapters:
  - name: sim
    type: simulator
    settings:
      seed: 7
      metrics_window: 1m
      defaults: {requests_per_second: 800, startup: 20s, startup_jitter: 5s, drain: 10s}
      services:
        - service: web
          environment: production
          versions:
            - {version: 2.3.1, instances: 10, error_rate: 0.2%, p50_ms: 40, p99_ms: 200}
            - {version: 2.4.0, instances: 0, error_rate: 0.2%, p50_ms: 40, p99_ms: 200)"
           + versionExtra + R"(}
      faults: [)"
           + faults + R"(]
metrics: [{name: signups, unit: ratio, better: higher}]
gates: [{name: signups, metric: signups, bound: ">= 0.9 x baseline"}]
plans:
  - name: short
    stages:
      - {weight: 1, bake: 2m, gates: [error-rate, p99-latency]}
      - {weight: 5, bake: 3m}
      - {weight: 25, bake: 3m}
      - {weight: 100}
  - name: signups
    stages:
      - {weight: 1, bake: 2m, gates: [error-rate, signups]}
      - {weight: 100}
)" + sections
           + R"(
services:
  - {name: web, environment: production, strategy: canary, adapter: sim, plan: short}
  - {name: api, environment: production, strategy: rolling, adapter: sim}
)";
}

QStringList kinds(const QList<ReleaseEvent> &events)
{
    QStringList out;
    for (const ReleaseEvent &event : events)
        out.append(toString(event.kind));
    return out;
}

int liveInstances(const ServiceStatus &status, const QString &version)
{
    int count = 0;
    for (const Instance &instance : status.fleet->instances)
        count += instance.version == version && isLive(instance.state)
                 && instance.state != InstanceState::Draining;
    return count;
}

struct Fixture {
    SimulatedWorkspace sim;
    std::unique_ptr<ReleaseController> releases;

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
    const ReleaseController::Release &release() const { return *releases->release(web); }
    const ServiceStatus &observed() const { return sim.session->snapshot().services.front(); }
    // Runs until the release has finished, or `limit` has passed.
    void runUntilFinished(Duration limit)
    {
        const TimePoint end = sim.clock.now() + limit;
        while (sim.clock.now() < end && !release().canary()->status.finished())
            sim.run(1s);
    }
};

} // namespace

class TestReleaseController : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void aHealthyCanaryGoesAllTheWay();
    void aRegressionIsAbortedAutomatically();
    void missingDataHoldsTheStage();
    void operatorPromoteAndAbort();
    void refusalsChangeNothing_data();
    void refusalsChangeNothing();
    void scheduledReleasesStartByThemselves();
    void aScheduledRollingReleaseNeedsNoRouter();
    void aBackendThatNeverAnswersTimesOut();
};

void TestReleaseController::aHealthyCanaryGoesAllTheWay()
{
    Fixture f;
    QVERIFY(f.open(workspace()));
    QSignalSpy events(f.releases.get(), &ReleaseController::eventRecorded);
    QVERIFY(f.releases->start(web, QStringLiteral("2.4.0"), QString(), QStringLiteral("JIRA-7")));
    QCOMPARE(f.releases->activeServices(), QList<ServiceKey>{web});

    f.runUntilFinished(30min);
    const auto &release = f.release();
    QVERIFY2(release.canary()->status.succeeded(), qPrintable(release.reason));
    QStringList stages;
    for (const ReleaseEvent &event : release.events) {
        if (event.kind == ReleaseEvent::Kind::WeightSet)
            stages.append(QString::number(release.canary()->plan.stage(event.stage).weightPercent));
        QVERIFY2(event.kind != ReleaseEvent::Kind::Aborted, qPrintable(event.reason));
    }
    QCOMPARE(stages, (QStringList{"1", "5", "25"}));
    QCOMPARE(kinds(release.events).first(), QStringLiteral("started"));
    QCOMPARE(kinds(release.events).last(), QStringLiteral("succeeded"));
    QCOMPARE(release.events.first().actor, QStringLiteral("ana"));
    QCOMPARE(events.size(), release.events.size());
    // Eight minutes of bake, plus the start-ups and the first full minute of data per stage.
    const Duration took = *release.canary()->status.endedAt - release.canary()->status.startedAt;
    QVERIFY2(took > 8min && took < 16min, qPrintable(formatDuration(took)));

    // 2.4.0 serves everything at full size; 2.3.1 is gone.
    const ServiceStatus &now = f.observed();
    QCOMPARE(now.traffic->weightOf(QStringLiteral("2.4.0")), 100.0);
    QCOMPARE(liveInstances(now, QStringLiteral("2.4.0")), 10);
    QCOMPARE(liveInstances(now, QStringLiteral("2.3.1")), 0);
    // The trace saw the whole release, with a boundary per stage.
    QCOMPARE(release.trace.stages.size(), 3);
    QVERIFY(release.trace.canaryErrorRatio.points().size() > 100);
    QCOMPARE(release.trace.endedAt, release.canary()->status.endedAt);
    QVERIFY(f.releases->activeServices().isEmpty());
}

void TestReleaseController::aRegressionIsAbortedAutomatically()
{
    Fixture f;
    QVERIFY(f.open(workspace({}, "{from_weight: 5, service: web, environment: production, "
                                 "version: 2.4.0, kind: error_rate, factor: 4}")));
    QVERIFY(f.releases->start(web, QStringLiteral("2.4.0"), QString(), QString()));
    f.runUntilFinished(30min);
    const auto &release = f.release();
    QVERIFY(release.canary()->status.finished());
    QVERIFY(release.canary()->status.aborted);
    QCOMPARE(release.canary()->status.stage, 1); // stopped at 5 %, where the regression began
    QVERIFY2(release.canary()->status.abortReason.startsWith(
                 QStringLiteral("gate error-rate failed 3 of 3 allowed measurements at 5 %")),
             qPrintable(release.canary()->status.abortReason));
    const auto aborted
        = std::find_if(release.events.cbegin(), release.events.cend(),
                       [](const ReleaseEvent &e) { return e.kind == ReleaseEvent::Kind::Aborted; });
    QVERIFY(aborted != release.events.cend());
    QCOMPARE(aborted->actor, automaticActor);
    QVERIFY(aborted->values.value(QStringLiteral("error_rate.canary"))
            > aborted->values.value(QStringLiteral("error_rate.limit")));
    QCOMPARE(kinds(release.events).last(), QStringLiteral("rolled-back"));

    // Traffic is back on 2.3.1 and the canary is scaled down.
    const ServiceStatus &now = f.observed();
    QCOMPARE(now.traffic->weightOf(QStringLiteral("2.4.0")), 0.0);
    QCOMPARE(liveInstances(now, QStringLiteral("2.4.0")), 0);
    QCOMPARE(liveInstances(now, QStringLiteral("2.3.1")), 10);
    // Retry refused while nothing changed? No: retry is what an operator does after a fix.
    QVERIFY(f.releases->refusal(web, canary::Command::Retry).isEmpty());
    QCOMPARE(f.releases->refusal(web, canary::Command::Promote),
             QStringLiteral("web (production) 2.4.0 has finished (rolled back); there is nothing "
                            "to promote"));
}

void TestReleaseController::missingDataHoldsTheStage()
{
    // The signups gate measures a metric the simulator does not report: it is never a pass, so
    // the stage never advances, however long its bake has been over.
    Fixture f;
    QVERIFY(f.open(workspace()));
    QVERIFY(f.releases->start(web, QStringLiteral("2.4.0"), QStringLiteral("signups"), QString()));
    f.sim.run(20min);
    const auto &release = f.release();
    QVERIFY(!release.canary()->status.finished());
    QCOMPARE(release.canary()->status.stage, 0);
    QCOMPARE(f.observed().traffic->weightOf(QStringLiteral("2.4.0")), 1.0);
    QCOMPARE(toString(canary::phase(release.canary()->plan, release.canary()->status, f.observed(),
                                    f.sim.clock.now())),
             QStringLiteral("holding"));
    QVERIFY2(release.reason.contains(QStringLiteral(
                 "holding: gate signups inconclusive: canary 2.4.0 reported no signups")),
             qPrintable(release.reason));
    // A hold is announced when what holds the stage changes (here the error-rate gate's noise
    // comes and goes), not at every measurement.
    const int measurements = release.canary()->status.gates.last().measurements;
    QVERIFY2(measurements >= 15, qPrintable(QString::number(measurements)));
    QVERIFY(kinds(release.events).count(QStringLiteral("held")) * 4 < measurements);
    QString previousHold;
    for (const ReleaseEvent &event : release.events) {
        if (event.kind != ReleaseEvent::Kind::Held)
            continue;
        QVERIFY2(event.reason != previousHold, qPrintable(event.reason));
        previousHold = event.reason;
    }
}

void TestReleaseController::operatorPromoteAndAbort()
{
    Fixture f;
    QVERIFY(f.open(workspace()));
    QVERIFY(f.releases->start(web, QStringLiteral("2.4.0"), QString(), QString()));
    f.sim.run(40s);
    QCOMPARE(f.release().canary()->status.stage, 0);

    const auto refused = f.releases->command(web, canary::Command::Promote, QString());
    QVERIFY(!refused);
    QCOMPARE(f.release().canary()->status.stage, 0);
    QVERIFY(f.releases->command(web, canary::Command::Promote, QStringLiteral("dashboards green")));
    QCOMPARE(f.release().canary()->status.stage, 1);
    QCOMPARE(toString(f.release().events.last().kind), toString(ReleaseEvent::Kind::Promoted));
    f.sim.run(1min);
    QCOMPARE(f.observed().traffic->weightOf(QStringLiteral("2.4.0")), 5.0);

    QVERIFY(f.releases->command(web, canary::Command::Abort, QStringLiteral("pager")));
    QVERIFY(f.release().canary()->status.aborted);
    f.runUntilFinished(5min);
    QVERIFY(f.release().canary()->status.finished());
    QCOMPARE(f.observed().traffic->weightOf(QStringLiteral("2.4.0")), 0.0);
    QCOMPARE(f.release().canary()->status.abortReason, QStringLiteral("aborted by ana: pager"));

    // After the rollback, retry starts over from the first stage.
    QVERIFY(f.releases->command(web, canary::Command::Retry, QString()));
    QCOMPARE(f.release().canary()->status.stage, 0);
    QVERIFY(!f.release().canary()->status.aborted);
    f.sim.run(1min);
    QCOMPARE(f.observed().traffic->weightOf(QStringLiteral("2.4.0")), 1.0);
}

void TestReleaseController::refusalsChangeNothing_data()
{
    QTest::addColumn<QString>("service");
    QTest::addColumn<QString>("version");
    QTest::addColumn<QString>("plan");
    QTest::addColumn<QString>("refusal");
    QTest::newRow("a plan for a rolling service")
        << "api"
        << "2.4.0"
        << "short"
        << "api (production) is a rolling service; plans are for canary releases";
    QTest::newRow("unknown service") << "nope"
                                     << "2.4.0"
                                     << ""
                                     << "there is no service nope (production)";
    QTest::newRow("unknown plan") << "web"
                                  << "2.4.0"
                                  << "fast"
                                  << "there is no plan 'fast' in this workspace";
    QTest::newRow("the stable version") << "web"
                                        << "2.3.1"
                                        << ""
                                        << "2.3.1 already serves all traffic";
}

void TestReleaseController::refusalsChangeNothing()
{
    QFETCH(QString, service);
    QFETCH(QString, version);
    QFETCH(QString, plan);
    Fixture f;
    QVERIFY(f.open(workspace()));
    const ServiceStatus before = f.observed();
    const auto refused
        = f.releases->start({service, QStringLiteral("production")}, version, plan, QString());
    QVERIFY(!refused);
    QFETCH(QString, refusal);
    QVERIFY2(refused.error().contains(refusal), qPrintable(refused.error()));
    QVERIFY(!f.releases->release(web));
    f.sim.run(1min);
    QCOMPARE(f.observed().traffic, before.traffic);
    QCOMPARE(liveInstances(f.observed(), QStringLiteral("2.4.0")), 0);

    // A second release of a service already releasing is refused too.
    QVERIFY(f.releases->start(web, QStringLiteral("2.4.0"), QString(), QString()));
    const auto twice = f.releases->start(web, QStringLiteral("2.4.0"), QString(), QString());
    QVERIFY(!twice);
    QVERIFY2(twice.error().contains(QStringLiteral("already has a release of 2.4.0 in progress")),
             qPrintable(twice.error()));
}

void TestReleaseController::scheduledReleasesStartByThemselves()
{
    Fixture f;
    QVERIFY(f.open(workspace(
        {}, {}, "releases: [{service: web, environment: production, version: 2.4.0, at: 30s}]\n")));
    f.releases->startScheduled();
    f.sim.run(20s);
    QVERIFY(!f.releases->release(web));
    f.sim.run(20s);
    QVERIFY(f.releases->release(web));
    QCOMPARE(f.release().events.first().actor, QStringLiteral("workspace"));
    QVERIFY(f.release().events.first().reason.contains(QStringLiteral("(line ")));
}

void TestReleaseController::aScheduledRollingReleaseNeedsNoRouter()
{
    // api binds no traffic adapter: a rolling release never asks a router, so it must not wait
    // for one to answer.
    Fixture f;
    QVERIFY(f.open(R"(environments: [production]
adapters:
  - {name: sim, type: simulator, settings: {services: [{service: api, environment: production, versions: [{version: 1.0.0, instances: 3}, {version: 1.1.0, instances: 0}]}]}}
releases: [{service: api, environment: production, version: 1.1.0, at: 5s}]
services:
  - {name: api, environment: production, strategy: rolling, adapters: {fleet: sim, deploy: sim}}
)"));
    f.releases->startScheduled();
    const ServiceKey api{QStringLiteral("api"), QStringLiteral("production")};
    f.sim.run(5s);
    const ReleaseController::Release *release = f.releases->release(api);
    QVERIFY(release);
    QVERIFY(release->rolling());
    QCOMPARE(release->events.first().actor, QStringLiteral("workspace"));
}

namespace {

// Reports a steady fleet of ten 2.3.1 instances but never answers a change: a backend that hangs.
class HangingBackend final : public Adapter,
                             public FleetSource,
                             public TrafficRouter,
                             public Deployer,
                             public MetricsSource
{
public:
    explicit HangingBackend(const QString &name)
        : Adapter(name, QStringLiteral("hanging"))
    {}
    FleetSource *fleetSource() override { return this; }
    TrafficRouter *trafficRouter() override { return this; }
    Deployer *deployer() override { return this; }
    MetricsSource *metricsSource() override { return this; }
    void start() override {}
    void fleet(const ServiceKey &service, Callback<FleetSnapshot> done) override
    {
        FleetSnapshot fleet{service, {}, {}};
        for (int i = 0; i < 10; ++i)
            fleet.instances.append({QStringLiteral("web-%1").arg(i),
                                    QStringLiteral("2.3.1"),
                                    InstanceState::Ready,
                                    {},
                                    QStringLiteral("a")});
        QTimer::singleShot(0, this, [done, fleet] { done(fleet); });
    }
    void traffic(const ServiceKey &, Callback<TrafficSplit> done) override
    {
        QTimer::singleShot(0, this, [done] {
            done(TrafficSplit{{{QStringLiteral("2.3.1"), 100.0}}, {}});
        });
    }
    void setWeights(const ServiceKey &, const QMap<QString, double> &,
                    Callback<TrafficSplit>) override
    {}
    void switchTo(const ServiceKey &, const QString &, Callback<TrafficSplit>) override {}
    void scale(const ServiceKey &, const QString &, int, Callback<Done>) override {}
    void metrics(const ServiceKey &, Callback<MetricsSnapshot>) override {}
};

} // namespace

void TestReleaseController::aBackendThatNeverAnswersTimesOut()
{
    SimulatedWorkspace sim;
    AdapterType hanging;
    hanging.type = QStringLiteral("hanging");
    hanging.capabilities
        = {Capability::Fleet, Capability::Traffic, Capability::Deploy, Capability::Metrics};
    hanging.create = [](const AdapterSpec &spec, const AdapterContext &) {
        return std::unique_ptr<Adapter>(new HangingBackend(spec.name));
    };
    sim.registry.add(hanging);
    QVERIFY(!sim.open("environments: [production]\n"
                      "adapters: [{name: backend, type: hanging}]\n"
                      "services: [{name: web, environment: production, strategy: canary, "
                      "adapter: backend}]\n"));
    ReleaseController releases(sim.session.get(), QStringLiteral("ana"));
    sim.session->start();
    sim.run(1s);
    const auto started = releases.start(web, QStringLiteral("2.4.0"), QString(), QString());
    QVERIFY2(started, qPrintable(started ? QString() : started.error()));

    // The scale request hangs: after the timeout it is a failure, retried later; the console
    // never waits on it.
    sim.run(ReleaseController::actionTimeout + 1s);
    const auto &events = releases.release(web)->events;
    QCOMPARE(toString(events.last().kind), toString(ReleaseEvent::Kind::ActionFailed));
    QCOMPARE(events.last().reason,
             QStringLiteral("scale 2.4.0 to 1 instance failed: no answer within 20 s; retrying "
                            "in 30 s"));
    QVERIFY(!releases.release(web)->canary()->status.aborted);
    sim.run(canary::retryAfter);
    QCOMPARE(kinds(releases.release(web)->events).count(QStringLiteral("action-failed")), 2);
}

QTEST_GUILESS_MAIN(TestReleaseController)
#include "tst_releasecontroller.moc"
