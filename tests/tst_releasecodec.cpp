// Releases in flight to JSON and back: every field of every plan and status survives the trip,
// at every change of real releases run on the simulator, and damaged records are refused with
// the path of what is wrong.

#include "releasecodec.h"
#include "releasecontroller.h"
#include "simulatorharness.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QRegularExpression>
#include <QSet>
#include <QTest>

#include <algorithm>
#include <cmath>
#include <limits>

using namespace sb;
using namespace sb::testing;
using namespace std::chrono_literals;

using Release = ReleaseController::Release;

Q_DECLARE_METATYPE(sb::ReleaseController::Release)

namespace {

const TimePoint t0 = fromMSecsSinceEpoch(1'795'000'000'123);

// Why `release` does not come back the same from its JSON; empty when it does.
QString roundTripProblem(const Release &release)
{
    const QByteArray json = encodeRelease(release);
    const auto decoded = decodeRelease(json);
    if (!decoded)
        return QStringLiteral("%1\ndoes not decode: %2")
            .arg(QString::fromUtf8(json), decoded.error());
    const Release &back = decoded.value();
    const bool same = back.run.index() == release.run.index()
                      && std::visit(
                          [&back](const auto &run) {
                              using Run = std::decay_t<decltype(run)>;
                              const Run &other = std::get<Run>(back.run);
                              return run.plan == other.plan && run.status == other.status;
                          },
                          release.run);
    if (!same || back.reason != release.reason) {
        return QStringLiteral("changed in a round trip:\n%1\n%2")
            .arg(QString::fromUtf8(json), QString::fromUtf8(encodeRelease(back)));
    }
    if (!back.events.isEmpty() || back.trace != ReleaseTrace())
        return QStringLiteral("events or trace came back from %1").arg(QString::fromUtf8(json));
    return {};
}

// Hand-built values with every field away from its default.

GateSpec signupsGate()
{
    GateSpec gate;
    gate.name = QStringLiteral("signups");
    gate.metric = {QStringLiteral("signups"), QStringLiteral("Sign-ups"),
                   MetricUnit::Ratio,         true,
                   MetricGroup::Resources,    true};
    gate.bound = {GateBound::Comparison::AtLeast, true, 0.9, -0.02,
                  QStringLiteral(">= 0.9 x baseline - 2%")};
    gate.minRequests = 250;
    gate.failureLimit = 2;
    gate.interval = 90s;
    gate.origin = QStringLiteral("signalbox.yaml:31");
    return gate;
}

GateSpec errorRateGate()
{
    GateSpec gate;
    gate.name = QStringLiteral("error-rate");
    gate.metric = {QStringLiteral("error_rate"), QStringLiteral("Error rate"),
                   MetricUnit::Milliseconds,     false,
                   MetricGroup::Health,          false};
    gate.bound = {GateBound::Comparison::Below, false, 2.5, 0.1 + 0.2, QStringLiteral("< 0.3")};
    gate.minRequests = std::numeric_limits<qint64>::max();
    gate.failureLimit = 5;
    gate.interval = 45s;
    gate.origin = QStringLiteral("built-in");
    return gate;
}

Measurement fullMeasurement()
{
    return {t0 + 61s,
            Verdict::Fail,
            0.0123456789012345,
            1.0 / 3,
            std::numeric_limits<double>::denorm_min(),
            1234,
            std::numeric_limits<qint64>::min(),
            QStringLiteral("canary 1.23 % above the limit ≤ 0.33 %")};
}

GateState fullGateState(const QString &gate)
{
    return {gate, 4, 2, fullMeasurement()};
}

Request fullRequest(double target)
{
    return {target, t0 + 7s, true, QStringLiteral("2.4.0")};
}

VersionMetrics fullMetrics()
{
    return {QStringLiteral("3.8.0"),
            812.25,
            0.0021,
            40.5,
            std::numeric_limits<double>::max(),
            48735,
            {{QStringLiteral("cpu"), 0.35}, {QStringLiteral("memory"), 1e-300}},
            {},
            LatencyHistogram{{5, 12.5, 1e4}, {3, 10, 48700, 48735}}};
}

GateSpec judgeGate()
{
    GateSpec gate;
    gate.name = QStringLiteral("judge");
    gate.method = GateMethod::Sequential;
    gate.sequential.settings = {0.01, 1.25, 1.75};
    gate.sequential.counts = {CountedEvent::SlowRequests, CountedEvent::Errors};
    gate.sequential.slowerThanMs = 400;
    gate.minRequests = 300;
    gate.origin = QStringLiteral("signalbox.yaml:35");
    return gate;
}

// A judge's state after intervals at two weights, with a regression in slow requests.
SequentialGateState judgeState()
{
    const GateSpec gate = judgeGate();
    SequentialGateState state;
    state.evidence = startJudge(gate.sequential.settings, gate.sequential.counts);
    for (int i = 0; i < 12; ++i) {
        const qint64 canary = i < 6 ? 8 : 40;
        addInterval(state.evidence, CountedEvent::Errors, {800 - canary, 2 + i % 3},
                    {canary, i % 4 == 0 ? 1 : 0});
        addInterval(state.evidence, CountedEvent::SlowRequests, {800 - canary, 8},
                    {canary, canary / 4});
    }
    // An idle interval counts in the totals but carries no information.
    addInterval(state.evidence, CountedEvent::Errors, {0, 0}, {50, 1});
    state.slowerThanMs = 400;
    state.readUntil = t0 + 8min;
    state.decision = JudgeDecision::Rollback;
    return state;
}

Release withHistory(Release release)
{
    // Neither is part of the record; they must not come back.
    release.events.append({t0,
                           QStringLiteral("ana"),
                           {},
                           {},
                           ReleaseEvent::Kind::Started,
                           -1,
                           QStringLiteral("JIRA-7"),
                           {}});
    release.trace.stages.append({t0, 0, 1});
    return release;
}

Release fullCanary()
{
    CanaryPlan plan;
    plan.name = QStringLiteral("short");
    plan.origin = QStringLiteral("signalbox.yaml:40");
    plan.stages = {{1, 2min, {QStringLiteral("error-rate"), QStringLiteral("signups")}, true},
                   {5.5, 3min, {QStringLiteral("error-rate"), QStringLiteral("judge")}, false},
                   {100, 0ms, {}, false}};
    plan.gates = {{QStringLiteral("error-rate"), errorRateGate()},
                  {QStringLiteral("signups"), signupsGate()},
                  {QStringLiteral("judge"), judgeGate()}};

    CanaryStatus s;
    s.id = QStringLiteral("web-production-2.4.0-1");
    s.service = {QStringLiteral("web"), QStringLiteral("production")};
    s.stableVersion = QStringLiteral("2.3.1");
    s.canaryVersion = QStringLiteral("2.4.0");
    s.replicas = 10;
    s.startedAt = t0;
    s.startedBy = QStringLiteral("ana");
    s.stage = 1;
    s.stageStartedAt = t0 + 3min;
    s.bakeStartedAt = t0 + 4min;
    s.pausedDuringBake = 95s;
    s.pausedAt = t0 + 5min;
    s.gates = {fullGateState(QStringLiteral("error-rate")),
               GateState{QStringLiteral("signups"), 1, 0, std::nullopt}};
    s.judges = {{QStringLiteral("judge"), judgeState()}};
    s.holdReason = QStringLiteral("gate signups inconclusive");
    s.aborted = true;
    s.abortReason = QStringLiteral("aborted by ana: pager");
    s.endedAt = t0 + 9min;
    s.weightRequest = fullRequest(5.5);
    s.canaryScaleRequest = fullRequest(1);
    s.stableScaleRequest = fullRequest(0);

    Release release;
    release.run = CanaryRun{plan, s};
    release.reason = QStringLiteral("Rolled back: aborted by ana: pager. «2.3.1» serves all.");
    return withHistory(release);
}

Release fullBlueGreen()
{
    BlueGreenPlan plan;
    plan.origin = QStringLiteral("signalbox.yaml:12");
    plan.warmWindow = 10min;
    plan.autoSwitch = false;
    plan.preSwitchGates = {QStringLiteral("signups")};
    plan.postSwitchGates = {QStringLiteral("error-rate"), QStringLiteral("signups")};
    plan.gates = {{QStringLiteral("error-rate"), errorRateGate()},
                  {QStringLiteral("signups"), signupsGate()}};

    BlueGreenStatus s;
    s.id = QStringLiteral("pay-production-3.9.0-1");
    s.service = {QStringLiteral("pay"), QStringLiteral("production")};
    s.oldVersion = QStringLiteral("3.8.0");
    s.newVersion = QStringLiteral("3.9.0");
    s.replicas = 6;
    s.startedAt = t0;
    s.startedBy = QStringLiteral("ana");
    s.deployAskedAt = t0 + 1s;
    s.newHeldAtDeploy = 2;
    s.readyAt = t0 + 40s;
    s.preSwitchGates = {fullGateState(QStringLiteral("signups"))};
    s.oldBefore = fullMetrics();
    s.switchedAt = t0 + 3min;
    s.switchedBy = QStringLiteral("signalbox");
    s.switchReason = QStringLiteral("gates passed");
    s.extended = 15min;
    s.postSwitchGates = {fullGateState(QStringLiteral("error-rate")),
                         GateState{QStringLiteral("signups"), 0, 0, std::nullopt}};
    s.postSwitchDataUntil
        = {{QStringLiteral("error-rate"), t0 + 12min}, {QStringLiteral("signups"), t0 + 11min}};
    s.holdReason = QStringLiteral("retire:gate error-rate");
    s.pausedAt = t0 + 4min;
    s.switchedBack = true;
    s.aborted = true;
    s.abortReason = QStringLiteral("switched back by ana");
    s.retiredAt = t0 + 13min;
    s.endedAt = t0 + 14min;
    s.pinRequest = fullRequest(100);
    s.newScaleRequest = fullRequest(6);
    s.switchRequest = fullRequest(0);
    s.oldScaleRequest = fullRequest(0);
    s.refusedAction
        = ReleaseAction{ReleaseAction::Kind::SetWeights,
                        {{QStringLiteral("3.8.0"), 95.5}, {QStringLiteral("3.9.0"), 4.5}},
                        QStringLiteral("3.9.0"),
                        3};
    s.refusedBecause = QStringLiteral("the router is read-only");

    Release release;
    release.run = BlueGreenRun{plan, s};
    release.reason = QStringLiteral("Undoing: scaling 3.9.0 down");
    return withHistory(release);
}

Release fullRolling()
{
    RollingPlan plan;
    plan.origin = QStringLiteral("signalbox.yaml:50");
    plan.maxSurge = {2, false};
    plan.maxUnavailable = {10, true};
    plan.progressDeadline = 5min;

    RollingStatus s;
    s.id = QStringLiteral("api-production-2.0.0-1");
    s.service = {QStringLiteral("api"), QStringLiteral("production")};
    s.fromVersion = QStringLiteral("1.0.0");
    s.toVersion = QStringLiteral("2.0.0");
    s.replicas = 40;
    s.startedAt = t0;
    s.startedBy = QStringLiteral("ana");
    s.lastProgressAt = t0 + 2min;
    s.readyTarget = 12;
    s.remainingOther = 30;
    s.draining = 3;
    s.failedSinceProgress = 2;
    s.failuresCountedTo = t0 + 150s;
    s.pausedAt = t0 + 3min;
    s.stalled = true;
    s.rollbackStartedAt = t0 + 4min;
    s.rollbackReason = QStringLiteral("the image does not start");
    s.replacedAtRollback = 11;
    s.endedAt = t0 + 9min;
    s.fromScaleRequest = fullRequest(40);
    s.toScaleRequest = fullRequest(0);
    s.fromScaleRefusedForGood = true;
    s.toScaleRefusedForGood = true;

    Release release;
    release.run = RollingRun{plan, s};
    release.reason = QStringLiteral("Rolling back");
    return withHistory(release);
}

// The least a sound plan holds, and statuses with every optional absent.
Release emptyCanary()
{
    Release release;
    CanaryRun run;
    run.plan.stages = {CanaryStage{100, 0ms, {}, false}};
    release.run = run;
    return release;
}

Release emptyBlueGreen()
{
    Release release;
    release.run = BlueGreenRun{};
    return release;
}

Release emptyRolling()
{
    Release release;
    release.run = RollingRun{};
    return release;
}

// `path` ("status.gates[0].last.verdict") in `node` set to `value`; removed when `value` is
// undefined.
QJsonValue setAt(const QJsonValue &node, QStringList path, const QJsonValue &value)
{
    const QString head = path.takeFirst();
    if (head.startsWith(QLatin1Char('['))) {
        QJsonArray array = node.toArray();
        const int index = head.mid(1, head.size() - 2).toInt();
        if (path.isEmpty())
            array.replace(index, value);
        else
            array.replace(index, setAt(array.at(index), path, value));
        return array;
    }
    QJsonObject object = node.toObject();
    if (path.isEmpty() && value.isUndefined())
        object.remove(head);
    else if (path.isEmpty())
        object.insert(head, value);
    else
        object.insert(head, setAt(object.value(head), path, value));
    return object;
}

QByteArray changed(const QByteArray &json, const QString &path, const QJsonValue &value)
{
    static const QRegularExpression segment(QStringLiteral("[^.\\[\\]]+|\\[\\d+\\]"));
    QStringList segments;
    for (const QRegularExpressionMatch &m : segment.globalMatch(path))
        segments.append(m.captured());
    const QJsonValue root = setAt(QJsonDocument::fromJson(json).object(), segments, value);
    return QJsonDocument(root.toObject()).toJson(QJsonDocument::Compact);
}

// Every value in `node` with its path, containers included.
void collectPaths(const QJsonValue &node, const QString &path, QStringList &out)
{
    if (!path.isEmpty())
        out.append(path);
    if (node.isObject()) {
        const QJsonObject object = node.toObject();
        for (auto it = object.begin(); it != object.end(); ++it)
            collectPaths(it.value(), path.isEmpty() ? it.key() : path + '.' + it.key(), out);
    } else if (node.isArray()) {
        const QJsonArray array = node.toArray();
        for (qsizetype i = 0; i < array.size(); ++i)
            collectPaths(array.at(i), QStringLiteral("%1[%2]").arg(path).arg(i), out);
    }
}

// A simulated workspace whose release is encoded and decoded at every change, recording the
// phases it went through.
struct Watch {
    SimulatedWorkspace sim;
    std::unique_ptr<ReleaseController> releases;
    ServiceKey service;
    int checked = 0;
    QStringList problems;
    QSet<QString> phases;
    QList<qsizetype> canarySizes; // encoded, while a canary has not finished

    bool open(const QByteArray &yaml, const ServiceKey &key)
    {
        if (const auto problem = sim.open(yaml)) {
            qWarning() << problem->toString();
            return false;
        }
        service = key;
        releases = std::make_unique<ReleaseController>(sim.session.get(), QStringLiteral("ana"));
        QObject::connect(releases.get(), &ReleaseController::releaseChanged, releases.get(),
                         [this](const ServiceKey &changed) { check(changed); });
        sim.session->start();
        sim.run(2s);
        return true;
    }

    const Release &release() const { return *releases->release(service); }

    const ServiceStatus &observed() const
    {
        for (const ServiceStatus &status : sim.session->snapshot().services) {
            if (status.key == service)
                return status;
        }
        qFatal("%s is not in the workspace", qPrintable(service.id()));
    }

    QString phase() const
    {
        const Release &r = release();
        const TimePoint now = sim.clock.now();
        if (const CanaryRun *run = r.canary())
            return toString(canary::phase(run->plan, run->status, observed(), now));
        if (const BlueGreenRun *run = r.blueGreen())
            return toString(bluegreen::phase(run->plan, run->status, observed(), now));
        return toString(rolling::phase(r.rolling()->plan, r.rolling()->status));
    }

    void check(const ServiceKey &changed)
    {
        if (changed != service)
            return;
        ++checked;
        const QString problem = roundTripProblem(release());
        if (!problem.isEmpty() && problems.size() < 3)
            problems.append(problem);
        phases.insert(phase());
        if (release().canary() && !release().finished())
            canarySizes.append(encodeRelease(release()).size());
    }

    void start(const QString &version, const QString &plan = {})
    {
        const auto started = releases->start(service, version, plan, QStringLiteral("JIRA-7"));
        if (!started)
            qFatal("the release did not start: %s", qPrintable(started.error()));
    }

    bool command(ReleaseCommand command, const QString &reason = QStringLiteral("test"))
    {
        const auto given = releases->command(service, command, reason);
        if (!given)
            qWarning().noquote() << toString(command) << "refused:" << given.error();
        return bool(given);
    }

    // Runs a second at a time until `done` holds; false when `limit` passed first.
    template <typename Done>
    bool runUntil(Done done, Duration limit)
    {
        const TimePoint end = sim.clock.now() + limit;
        while (!done()) {
            if (sim.clock.now() >= end)
                return false;
            sim.run(1s);
        }
        return true;
    }

    bool runUntilPhase(const QString &wanted, Duration limit = 30min)
    {
        return runUntil([&] { return phase() == wanted; }, limit);
    }

    bool runUntilFinished(Duration limit = 60min)
    {
        return runUntil([this] { return release().finished(); }, limit);
    }
};

// The workspaces of tst_releasecontroller, tst_bluegreenrelease and tst_rollingrelease.

const ServiceKey web{QStringLiteral("web"), QStringLiteral("production")};
const ServiceKey pay{QStringLiteral("pay"), QStringLiteral("production")};
const ServiceKey api{QStringLiteral("api"), QStringLiteral("production")};

QByteArray canaryWorkspace(const QByteArray &faults = {})
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
            - {version: 2.4.0, instances: 0, error_rate: 0.2%, p50_ms: 40, p99_ms: 200}
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
  - name: judged
    stages:
      - {weight: 5, bake: 3m, gates: [judge]}
      - {weight: 25, bake: 3m}
      - {weight: 100}
services:
  - {name: web, environment: production, strategy: canary, adapter: sim, plan: short}
)";
}

QByteArray blueGreenWorkspace(const QByteArray &blueGreen, const QByteArray &faults = {})
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
          active: 3.8.0
          versions:
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

QByteArray rollingWorkspace(const QByteArray &faults = {})
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
            - {version: 1.0.0, instances: 10}
            - {version: 2.0.0, instances: 0}
      faults: [)"
           + faults + R"(]
services:
  - {name: api, environment: production, strategy: rolling, adapter: sim, rolling: {max_surge: 25%, max_unavailable: 25%, progress_deadline: 10m}}
)";
}

template <typename Phase>
QSet<QString> allPhases(std::initializer_list<Phase> phases)
{
    QSet<QString> names;
    for (Phase phase : phases)
        names.insert(toString(phase));
    return names;
}

QString missing(const QSet<QString> &wanted, const QSet<QString> &seen)
{
    QStringList out = (wanted - seen).values();
    out.sort();
    return out.join(QStringLiteral(", "));
}

} // namespace

class TestReleaseCodec : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void everyFieldRoundTrips_data();
    void everyFieldRoundTrips();
    void theRecordIsCompactAndVersioned();
    void numbersKeepEveryBit();
    void recordsWithoutNoDataStillRead();
    void judgesCarryTheirEvidence();
    void recordsWithoutSequentialGatesStillRead();
    void canaryReleasesAtEveryChange();
    void blueGreenReleasesAtEveryChange();
    void rollingReleasesAtEveryChange();
    void badRecordsAreRefusedByPath_data();
    void badRecordsAreRefusedByPath();
    void anyDamagedValueIsNamed();
    void truncatedRecordsAreRefused();
};

void TestReleaseCodec::everyFieldRoundTrips_data()
{
    QTest::addColumn<Release>("release");
    QTest::newRow("canary, everything set") << fullCanary();
    QTest::newRow("canary, nothing set") << emptyCanary();
    QTest::newRow("blue-green, everything set") << fullBlueGreen();
    QTest::newRow("blue-green, nothing set") << emptyBlueGreen();
    QTest::newRow("rolling, everything set") << fullRolling();
    QTest::newRow("rolling, nothing set") << emptyRolling();
}

void TestReleaseCodec::everyFieldRoundTrips()
{
    QFETCH(Release, release);
    const QString problem = roundTripProblem(release);
    QVERIFY2(problem.isEmpty(), qPrintable(problem));
    // The same record again, byte for byte.
    const QByteArray json = encodeRelease(release);
    QCOMPARE(encodeRelease(decodeRelease(json).value()), json);
}

void TestReleaseCodec::theRecordIsCompactAndVersioned()
{
    const QByteArray json = encodeRelease(fullBlueGreen());
    QVERIFY(!json.contains('\n'));
    const QJsonObject root = QJsonDocument::fromJson(json).object();
    QCOMPARE(root.value(QLatin1String("format")).toInt(), 1);
    QCOMPARE(root.value(QLatin1String("strategy")).toString(), QStringLiteral("blue-green"));
    QCOMPARE(root.value(QLatin1String("reason")).toString(),
             QStringLiteral("Undoing: scaling 3.9.0 down"));
    QCOMPARE(root.keys(), (QStringList{"format", "plan", "reason", "status", "strategy"}));
    const QJsonObject status = root.value(QLatin1String("status")).toObject();
    QCOMPARE(status.value(QLatin1String("pausedAt")).toInteger(), toMSecsSinceEpoch(t0 + 4min));
    QCOMPARE(status.value(QLatin1String("refusedAction"))
                 .toObject()
                 .value(QLatin1String("kind"))
                 .toString(),
             QStringLiteral("set-weights"));

    // Absent optionals are left out, not written as null.
    const QJsonObject empty = QJsonDocument::fromJson(encodeRelease(emptyBlueGreen()))
                                  .object()
                                  .value("status")
                                  .toObject();
    for (const char *key : {"pausedAt", "oldBefore", "switchedAt", "refusedAction", "endedAt"})
        QVERIFY2(!empty.contains(QLatin1String(key)), key);
    QVERIFY(empty.contains(QLatin1String("holdReason")));

    QCOMPARE(QJsonDocument::fromJson(encodeRelease(fullRolling())).object().value("strategy"),
             QJsonValue(QStringLiteral("rolling")));
    QCOMPARE(QJsonDocument::fromJson(encodeRelease(fullCanary())).object().value("strategy"),
             QJsonValue(QStringLiteral("canary")));
}

void TestReleaseCodec::recordsWithoutNoDataStillRead()
{
    // Journals written before metrics could say why a value is missing have no "noData".
    Release release = fullBlueGreen();
    QByteArray json = encodeRelease(release);
    QVERIFY(json.contains("\"noData\":{}"));
    json.replace("\"noData\":{},", "").replace(",\"noData\":{}", "");
    QVERIFY(!json.contains("noData"));
    const auto decoded = decodeRelease(json);
    QVERIFY2(decoded, qPrintable(decoded ? QString() : decoded.error()));
    QVERIFY(decoded.value().blueGreen()->status == release.blueGreen()->status);

    // Any other mapping is required: a record without its weights is damaged, not empty.
    QByteArray damaged = encodeRelease(release);
    QVERIFY(damaged.contains("\"weights\":{"));
    damaged.replace("\"weights\":", "\"weightz\":");
    QVERIFY(!decodeRelease(damaged));
}

void TestReleaseCodec::judgesCarryTheirEvidence()
{
    const Release release = fullCanary();
    const SequentialGateState &state = release.canary()->status.judges.value("judge");
    // The evidence is far from where it started, so a field lost or mixed up shows.
    QCOMPARE(state.evidence.events.size(), 2);
    for (const RateRatioEvidence &evidence : state.evidence.events) {
        QVERIFY(isWellFormed(evidence));
        QCOMPARE(evidence.intervals, 12);
        QVERIFY(evidence.profileLogLikelihood.first() != evidence.profileLogLikelihood.last());
        QVERIFY(evidence.regressionLogRatios.first() != evidence.promoteLogRatios.first());
    }
    QCOMPARE(toString(readJudge(state.evidence, 0.01).decision), QStringLiteral("rollback"));

    const auto decoded = decodeRelease(encodeRelease(release));
    QVERIFY2(decoded, qPrintable(decoded ? QString() : decoded.error()));
    const CanaryRun &back = *decoded.value().canary();
    QVERIFY(back.status.judges == release.canary()->status.judges);
    QVERIFY(back.plan.gates.value("judge") == judgeGate());
    // What the judge reads from it is the same, to the bit.
    const JudgeReading before = readJudge(state.evidence, 0.01);
    const JudgeReading after = readJudge(back.status.judges.value("judge").evidence, 0.01);
    QCOMPARE(describe(after), describe(before));
    QCOMPARE(after.events.first().regressionE, before.events.first().regressionE);
    QVERIFY(after.events.first().ratio == before.events.first().ratio);

    const QJsonObject judge = QJsonDocument::fromJson(encodeRelease(release))
                                  .object()
                                  .value("status")
                                  .toObject()
                                  .value("judges")
                                  .toObject()
                                  .value("judge")
                                  .toObject();
    QCOMPARE(judge.value("decision").toString(), QStringLiteral("rollback"));
    QCOMPARE(judge.value("evidence")
                 .toObject()
                 .value("events")
                 .toArray()
                 .at(0)
                 .toObject()
                 .value("event")
                 .toString(),
             QStringLiteral("slow_requests"));
}

void TestReleaseCodec::recordsWithoutSequentialGatesStillRead()
{
    // Journals written before sequential gates have no gate methods, no sequential settings, no
    // judges and no latency histograms.
    Release release = fullCanary();
    CanaryRun &run = std::get<CanaryRun>(release.run);
    run.plan.gates.remove(QStringLiteral("judge"));
    run.plan.stages[1].gates.removeAll(QStringLiteral("judge"));
    run.status.judges.clear();
    QJsonObject root = QJsonDocument::fromJson(encodeRelease(release)).object();
    QJsonObject plan = root.value("plan").toObject();
    QJsonObject gates = plan.value("gates").toObject();
    for (const QString &name : gates.keys()) {
        QJsonObject gate = gates.value(name).toObject();
        QVERIFY(gate.contains("method") && gate.contains("sequential"));
        gate.remove("method");
        gate.remove("sequential");
        gates.insert(name, gate);
    }
    plan.insert("gates", gates);
    root.insert("plan", plan);
    QJsonObject status = root.value("status").toObject();
    QVERIFY(status.contains("judges"));
    status.remove("judges");
    root.insert("status", status);
    const QByteArray older = QJsonDocument(root).toJson(QJsonDocument::Compact);
    for (const char *key : {"method", "sequential", "judges"})
        QVERIFY2(!older.contains(key), key);

    const auto decoded = decodeRelease(older);
    QVERIFY2(decoded, qPrintable(decoded ? QString() : decoded.error()));
    const CanaryRun &back = *decoded.value().canary();
    QVERIFY(back.plan == run.plan);
    QVERIFY(back.status == run.status);
    for (const GateSpec &gate : back.plan.gates)
        QCOMPARE(toString(gate.method), QStringLiteral("threshold"));
    QVERIFY(back.status.judges.isEmpty());

    Release blueGreen = fullBlueGreen();
    QByteArray withoutLatency = encodeRelease(blueGreen);
    withoutLatency = changed(withoutLatency, "status.oldBefore.latency", QJsonValue::Undefined);
    QVERIFY(!withoutLatency.contains("latency"));
    const auto decodedBlueGreen = decodeRelease(withoutLatency);
    QVERIFY2(decodedBlueGreen, qPrintable(decodedBlueGreen ? QString() : decodedBlueGreen.error()));
    std::get<BlueGreenRun>(blueGreen.run).status.oldBefore->latency.reset();
    QVERIFY(decodedBlueGreen.value().blueGreen()->status == blueGreen.blueGreen()->status);

    // Only the fields added since may be missing: a gate without its metric is damaged.
    QVERIFY(!decodeRelease(
        changed(encodeRelease(fullCanary()), "plan.gates.judge.metric", QJsonValue::Undefined)));
}

void TestReleaseCodec::numbersKeepEveryBit()
{
    constexpr double nan = std::numeric_limits<double>::quiet_NaN();
    constexpr double inf = std::numeric_limits<double>::infinity();
    Release release = fullBlueGreen();
    BlueGreenRun &run = std::get<BlueGreenRun>(release.run);
    Measurement &m = *run.status.preSwitchGates[0].last;
    m.canary = nan;
    m.baseline = inf;
    m.limit = -inf;
    run.status.switchRequest->target = -0.0;
    run.status.oldBefore->p99Ms = nan;
    run.status.oldBefore->noData[QStringLiteral("p99_latency")]
        = QStringLiteral("Prometheus returned NaN for p99_latency: no requests in the last 30s");
    run.status.oldBefore->custom[QStringLiteral("cpu")] = -inf;
    run.status.newScaleRequest->target = 2.0 / 3;
    run.status.oldScaleRequest->target = -std::numeric_limits<double>::max();
    run.status.startedAt = fromMSecsSinceEpoch(-86'400'000); // before the epoch
    run.status.switchRequest->at = fromMSecsSinceEpoch(std::numeric_limits<qint64>::max());
    run.status.extended = Duration(std::numeric_limits<qint64>::min());
    run.status.oldBefore->requests = std::numeric_limits<qint64>::max();
    run.status.replicas = std::numeric_limits<int>::min();
    run.plan.gates[QStringLiteral("signups")].bound.factor = 1e-320; // subnormal
    run.plan.gates[QStringLiteral("signups")].bound.offset = 9007199254740993.0;

    const QByteArray json = encodeRelease(release);
    const auto decoded = decodeRelease(json);
    QVERIFY2(decoded, qPrintable(decoded ? QString() : decoded.error()));
    const BlueGreenRun &back = *decoded.value().blueGreen();
    const Measurement &b = *back.status.preSwitchGates[0].last;
    QVERIFY(std::isnan(*b.canary));
    QCOMPARE(*b.baseline, inf);
    QCOMPARE(*b.limit, -inf);
    QVERIFY(std::signbit(back.status.switchRequest->target));
    QVERIFY(std::isnan(back.status.oldBefore->p99Ms));
    QCOMPARE(back.status.oldBefore->custom.value(QStringLiteral("cpu")), -inf);
    // The rest compares exactly once the NaNs, which equal nothing, are put back alike.
    BlueGreenStatus status = back.status;
    status.preSwitchGates[0].last->canary = run.status.preSwitchGates[0].last->canary = 0;
    status.oldBefore->p99Ms = run.status.oldBefore->p99Ms = 0;
    QVERIFY(status == run.status);
    QVERIFY(back.plan == run.plan);
    QCOMPARE(back.status.newScaleRequest->target, 2.0 / 3);
    QCOMPARE(back.plan.gates.value(QStringLiteral("signups")).bound.factor, 1e-320);
    QCOMPARE(encodeRelease(decoded.value()), json);
}

void TestReleaseCodec::canaryReleasesAtEveryChange()
{
    QSet<QString> phases;
    QList<qsizetype> sizes;
    int checked = 0;
    {
        // Healthy, with a pause while baking and a promotion.
        Watch w;
        QVERIFY(w.open(canaryWorkspace(), web));
        w.start(QStringLiteral("2.4.0"));
        QVERIFY(w.runUntilPhase(toString(CanaryPhase::Baking)));
        w.sim.run(30s);
        QVERIFY(w.command(ReleaseCommand::Pause));
        w.sim.run(1min);
        QVERIFY(w.command(ReleaseCommand::Resume));
        QVERIFY(w.runUntil([&] { return w.release().canary()->status.stage == 1; }, 10min));
        QVERIFY(w.command(ReleaseCommand::Promote, QStringLiteral("dashboards green")));
        QVERIFY(w.runUntilFinished(30min));
        QVERIFY2(w.release().canary()->status.succeeded(), qPrintable(w.release().reason));
        QVERIFY2(w.problems.isEmpty(), qPrintable(w.problems.join(QLatin1Char('\n'))));
        phases += w.phases;
        sizes += w.canarySizes;
        checked += w.checked;
    }
    {
        // A regression aborts at 5 %; then a retry.
        Watch w;
        QVERIFY(w.open(canaryWorkspace("{from_weight: 5, service: web, environment: production, "
                                       "version: 2.4.0, kind: error_rate, factor: 4}"),
                       web));
        w.start(QStringLiteral("2.4.0"));
        QVERIFY(w.runUntilFinished(30min));
        QVERIFY(w.release().canary()->status.aborted);
        QVERIFY(w.command(ReleaseCommand::Retry, QString()));
        w.sim.run(1min);
        QVERIFY2(w.problems.isEmpty(), qPrintable(w.problems.join(QLatin1Char('\n'))));
        phases += w.phases;
        checked += w.checked;
    }
    {
        // A gate on a metric nobody reports holds the stage.
        Watch w;
        QVERIFY(w.open(canaryWorkspace(), web));
        w.start(QStringLiteral("2.4.0"), QStringLiteral("signups"));
        QVERIFY(w.runUntilPhase(toString(CanaryPhase::Holding)));
        w.sim.run(2min);
        QVERIFY(w.command(ReleaseCommand::Abort, QStringLiteral("no signups data")));
        QVERIFY(w.runUntilFinished(5min));
        QVERIFY2(w.problems.isEmpty(), qPrintable(w.problems.join(QLatin1Char('\n'))));
        phases += w.phases;
        sizes += w.canarySizes;
        checked += w.checked;
    }
    {
        // The built-in sequential gate, healthy and then on a regression: its evidence goes
        // into the record at every change.
        for (const bool regression : {false, true}) {
            Watch w;
            QVERIFY(w.open(canaryWorkspace(regression ? "{from_weight: 5, service: web, "
                                                        "environment: production, version: "
                                                        "2.4.0, kind: error_rate, factor: 10}"
                                                      : ""),
                           web));
            w.start(QStringLiteral("2.4.0"), QStringLiteral("judged"));
            QVERIFY(w.runUntilFinished(30min));
            const CanaryStatus &status = w.release().canary()->status;
            QCOMPARE(status.aborted, regression);
            QVERIFY2(status.judges.value(builtInJudgeName).evidence.events.value(0).intervals > 0,
                     qPrintable(w.release().reason));
            QVERIFY2(w.problems.isEmpty(), qPrintable(w.problems.join(QLatin1Char('\n'))));
            phases += w.phases;
            sizes += w.canarySizes;
            checked += w.checked;
        }
    }
    const QSet<QString> every
        = allPhases({CanaryPhase::Scaling, CanaryPhase::Shifting, CanaryPhase::Baking,
                     CanaryPhase::Holding, CanaryPhase::Paused, CanaryPhase::Completing,
                     CanaryPhase::Succeeded, CanaryPhase::Aborting, CanaryPhase::Aborted});
    QVERIFY2(phases.contains(every), qPrintable(missing(every, phases)));
    QVERIFY2(checked > 50, qPrintable(QString::number(checked)));

    std::sort(sizes.begin(), sizes.end());
    QVERIFY(!sizes.isEmpty());
    qInfo("a canary in flight encodes to %lld bytes (median; %lld to %lld over %lld changes)",
          qint64(sizes.at(sizes.size() / 2)), qint64(sizes.first()), qint64(sizes.last()),
          qint64(sizes.size()));
    // A sequential gate's evidence is most of a judged release's record.
    QVERIFY2(sizes.last() < 16 * 1024, qPrintable(QString::number(sizes.last())));
}

void TestReleaseCodec::blueGreenReleasesAtEveryChange()
{
    QSet<QString> phases;
    int checked = 0;
    {
        // Manual switch after pre-switch gates, post-switch gates, an extension, retirement.
        Watch w;
        QVERIFY(w.open(blueGreenWorkspace("{warm_window: 5m, switch: manual, pre_switch_gates: "
                                          "[smoke-errors], post_switch_gates: [error-rate]}"),
                       pay));
        w.start(QStringLiteral("3.9.0"));
        QVERIFY(w.runUntilPhase(toString(BlueGreenPhase::AwaitingSwitch)));
        QVERIFY(w.command(ReleaseCommand::Switch, QStringLiteral("CAB-12 approved")));
        QVERIFY(w.runUntilPhase(toString(BlueGreenPhase::Warm)));
        w.sim.run(2min);
        QVERIFY(w.command(ReleaseCommand::Extend, QStringLiteral("peak hour")));
        QVERIFY(w.runUntilFinished(40min));
        QVERIFY2(w.release().blueGreen()->status.succeeded(), qPrintable(w.release().reason));
        QVERIFY2(w.problems.isEmpty(), qPrintable(w.problems.join(QLatin1Char('\n'))));
        phases += w.phases;
        checked += w.checked;
    }
    {
        // A failing post-switch gate switches back on its own.
        Watch w;
        QVERIFY(w.open(blueGreenWorkspace("{warm_window: 10m, switch: automatic, "
                                          "pre_switch_gates: [smoke-errors]}",
                                          "{from_weight: 100, service: pay, environment: "
                                          "production, version: 3.9.0, kind: error_rate, "
                                          "error_rate: 8%}"),
                       pay));
        w.start(QStringLiteral("3.9.0"));
        QVERIFY(w.runUntilFinished(20min));
        QVERIFY(w.release().blueGreen()->status.switchedBack);
        QVERIFY2(w.problems.isEmpty(), qPrintable(w.problems.join(QLatin1Char('\n'))));
        phases += w.phases;
        checked += w.checked;
    }
    {
        // An operator switches back inside the window.
        Watch w;
        QVERIFY(w.open(blueGreenWorkspace("{warm_window: 10m, switch: automatic}"), pay));
        w.start(QStringLiteral("3.9.0"));
        QVERIFY(w.runUntilPhase(toString(BlueGreenPhase::Warm)));
        w.sim.run(1min);
        QVERIFY(w.command(ReleaseCommand::SwitchBack, QStringLiteral("checkout errors")));
        QVERIFY(w.runUntilFinished(10min));
        QVERIFY2(w.problems.isEmpty(), qPrintable(w.problems.join(QLatin1Char('\n'))));
        phases += w.phases;
        checked += w.checked;
    }
    {
        // A version the backend refuses for good: the refused action is part of the record.
        Watch w;
        QVERIFY(w.open(blueGreenWorkspace("{warm_window: 5m}"), pay));
        w.start(QStringLiteral("4.0.0"));
        QVERIFY(w.runUntilFinished(2min));
        QVERIFY(w.release().blueGreen()->status.refusedAction);
        QVERIFY2(w.problems.isEmpty(), qPrintable(w.problems.join(QLatin1Char('\n'))));
        phases += w.phases;
        checked += w.checked;
    }
    const QSet<QString> every = allPhases(
        {BlueGreenPhase::Deploying, BlueGreenPhase::Verifying, BlueGreenPhase::AwaitingSwitch,
         BlueGreenPhase::Switching, BlueGreenPhase::Warm, BlueGreenPhase::SwitchingBack,
         BlueGreenPhase::Retiring, BlueGreenPhase::Succeeded, BlueGreenPhase::Undoing,
         BlueGreenPhase::RolledBack});
    QVERIFY2(phases.contains(every), qPrintable(missing(every, phases)));
    QVERIFY2(checked > 30, qPrintable(QString::number(checked)));
}

void TestReleaseCodec::rollingReleasesAtEveryChange()
{
    QSet<QString> phases;
    int checked = 0;
    {
        // Paused and resumed, then to the end.
        Watch w;
        QVERIFY(w.open(rollingWorkspace(), api));
        w.start(QStringLiteral("2.0.0"));
        w.sim.run(20s);
        QVERIFY(w.command(ReleaseCommand::Pause, QStringLiteral("watching p99")));
        w.sim.run(2min);
        QVERIFY(w.command(ReleaseCommand::Resume, QString()));
        QVERIFY(w.runUntilFinished());
        QVERIFY2(w.release().rolling()->status.succeeded(), qPrintable(w.release().reason));
        QVERIFY2(w.problems.isEmpty(), qPrintable(w.problems.join(QLatin1Char('\n'))));
        phases += w.phases;
        checked += w.checked;
    }
    {
        // Every new instance fails to start: the release stalls and is rolled back.
        Watch w;
        QVERIFY(w.open(rollingWorkspace("{at: 1s, service: api, environment: production, version: "
                                        "2.0.0, kind: start_failure, duration: 30m}"),
                       api));
        w.start(QStringLiteral("2.0.0"));
        QVERIFY(w.runUntil([&] { return w.release().rolling()->status.stalled; }, 15min));
        QVERIFY(w.command(ReleaseCommand::RollBack, QStringLiteral("the image does not start")));
        QVERIFY(w.runUntilFinished());
        QVERIFY2(w.problems.isEmpty(), qPrintable(w.problems.join(QLatin1Char('\n'))));
        phases += w.phases;
        checked += w.checked;
    }
    {
        // A version the deployer refuses for good, rolled back.
        Watch w;
        QVERIFY(w.open(rollingWorkspace(), api));
        w.start(QStringLiteral("3.0.0"));
        w.sim.run(10s);
        QVERIFY(w.release().rolling()->status.toScaleRefusedForGood);
        QVERIFY(w.command(ReleaseCommand::RollBack, QStringLiteral("typo in the version")));
        QVERIFY(w.runUntilFinished(2min));
        QVERIFY2(w.problems.isEmpty(), qPrintable(w.problems.join(QLatin1Char('\n'))));
        phases += w.phases;
        checked += w.checked;
    }
    const QSet<QString> every
        = allPhases({RollingPhase::Progressing, RollingPhase::Paused, RollingPhase::Stalled,
                     RollingPhase::RollingBack, RollingPhase::Succeeded, RollingPhase::RolledBack});
    QVERIFY2(phases.contains(every), qPrintable(missing(every, phases)));
    QVERIFY2(checked > 30, qPrintable(QString::number(checked)));
}

void TestReleaseCodec::badRecordsAreRefusedByPath_data()
{
    QTest::addColumn<QByteArray>("json");
    QTest::addColumn<QString>("error");

    const QByteArray canary = encodeRelease(fullCanary());
    const QByteArray blueGreen = encodeRelease(fullBlueGreen());
    const QByteArray rolling = encodeRelease(fullRolling());
    auto row = [](const char *name, const QByteArray &json, const QString &error) {
        QTest::newRow(name) << json << error;
    };

    row("empty", {}, QStringLiteral("not JSON: "));
    row("not JSON", canary.left(canary.size() / 2), QStringLiteral("not JSON: "));
    row("not an object", "[1, 2]", QStringLiteral("expected a JSON object"));
    row("deeply nested", QByteArray(100000, '['), QStringLiteral("not JSON: "));
    row("no format", changed(canary, "format", QJsonValue::Undefined),
        QStringLiteral("format: missing"));
    row("a newer format", changed(canary, "format", 2),
        QStringLiteral("format 2 is newer than this version of Signalbox reads (up to 1)"));
    row("format 0", changed(canary, "format", 0),
        QStringLiteral("format: 0 is not a format; expected 1"));
    row("a format as text", changed(canary, "format", "1"),
        QStringLiteral("format: expected an integer"));
    row("an unknown strategy", changed(canary, "strategy", "big-bang"),
        QStringLiteral("strategy: expected one of canary, blue-green, rolling"));
    row("strategy none", changed(canary, "strategy", "none"),
        QStringLiteral("strategy: expected one of canary, blue-green, rolling"));
    row("another strategy's plan", changed(canary, "strategy", "rolling"),
        QStringLiteral("plan.maxSurge: missing"));
    row("no plan", changed(rolling, "plan", QJsonValue::Undefined),
        QStringLiteral("plan: missing"));
    row("a status that is not an object", changed(rolling, "status", QJsonArray()),
        QStringLiteral("status: expected an object"));
    row("a missing status field", changed(canary, "status.stableVersion", QJsonValue::Undefined),
        QStringLiteral("status.stableVersion: missing"));
    row("a missing nested field",
        changed(blueGreen, "status.oldBefore.p99Ms", QJsonValue::Undefined),
        QStringLiteral("status.oldBefore.p99Ms: missing"));
    row("no reason", changed(rolling, "reason", QJsonValue::Undefined),
        QStringLiteral("reason: missing"));
    row("a number as text", changed(canary, "status.stage", "two"),
        QStringLiteral("status.stage: expected an integer"));
    row("a fraction for an integer", changed(canary, "status.replicas", 2.5),
        QStringLiteral("status.replicas: expected an integer"));
    row("an integer out of range", changed(canary, "status.replicas", 1e12),
        QStringLiteral("status.replicas: 1000000000000 is out of range; expected an integer from "
                       "-2147483648 to 2147483647"));
    row("a time beyond any integer", changed(canary, "status.startedAt", 1e300),
        QStringLiteral("status.startedAt: expected an integer"));
    row("null for an absent time", changed(canary, "status.endedAt", QJsonValue::Null),
        QStringLiteral("status.endedAt: expected an integer"));
    row("text for a number", changed(canary, "status.weightRequest.target", "lots"),
        QStringLiteral("status.weightRequest.target: expected a number, \"NaN\", \"Infinity\", "
                       "\"-Infinity\" or \"-0.0\""));
    row("a number for text", changed(canary, "status.holdReason", 3),
        QStringLiteral("status.holdReason: expected a string"));
    row("text for a flag", changed(rolling, "plan.maxSurge.percent", "yes"),
        QStringLiteral("plan.maxSurge.percent: expected true or false"));
    row("an unknown verdict", changed(canary, "status.gates[0].last.verdict", "maybe"),
        QStringLiteral("status.gates[0].last.verdict: expected one of pass, fail, inconclusive"));
    row("a verdict in capitals", changed(canary, "status.gates[0].last.verdict", "Fail"),
        QStringLiteral("status.gates[0].last.verdict: expected one of pass, fail, inconclusive"));
    row("an unknown unit", changed(canary, "plan.gates.signups.metric.unit", "furlongs"),
        QStringLiteral("plan.gates.signups.metric.unit: expected one of ratio, ms, per-second, "
                       "cores, MB, number"));
    row("an unknown group", changed(canary, "plan.gates.signups.metric.group", 1),
        QStringLiteral("plan.gates.signups.metric.group: expected one of health, business, "
                       "resources"));
    row("an unknown comparison", changed(blueGreen, "plan.gates.error-rate.bound.comparison", "<"),
        QStringLiteral("plan.gates.error-rate.bound.comparison: expected one of below, at-most, "
                       "above, at-least"));
    row("an unknown action", changed(blueGreen, "status.refusedAction.kind", "restart"),
        QStringLiteral("status.refusedAction.kind: expected one of set-weights, scale, switch"));
    row("an object for a list", changed(canary, "plan.stages", QJsonObject()),
        QStringLiteral("plan.stages: expected an array"));
    row("a number in a list of records", changed(canary, "plan.stages[1]", 5),
        QStringLiteral("plan.stages[1]: expected an object"));
    row("a number in a list of names", changed(canary, "plan.stages[0].gates[1]", 5),
        QStringLiteral("plan.stages[0].gates[1]: expected a string"));
    row("a list for a map", changed(blueGreen, "status.postSwitchDataUntil", QJsonArray()),
        QStringLiteral("status.postSwitchDataUntil: expected an object"));
    row("text in a map of times", changed(blueGreen, "status.postSwitchDataUntil.signups", "x"),
        QStringLiteral("status.postSwitchDataUntil.signups: expected an integer"));
    QJsonArray huge;
    for (int i = 0; i < 10001; ++i)
        huge.append(QJsonObject());
    row("a huge list", changed(blueGreen, "status.preSwitchGates", huge),
        QStringLiteral("status.preSwitchGates: 10001 entries; a release has at most 10000"));
    row("a huge record", QByteArray(16 * 1024 * 1024 + 1, ' '),
        QStringLiteral("the record is 16777217 bytes; a release is never more than 16777216"));
    row("a stage the plan does not have", changed(canary, "status.stage", 3),
        QStringLiteral("status.stage: 3 is not a stage of plan 'short', which has stages 0 to 2"));
    row("a negative stage", changed(canary, "status.stage", -1),
        QStringLiteral("status.stage: -1 is not a stage of plan 'short', which has stages 0 to 2"));
    row("an unsound canary plan", changed(canary, "plan.stages[1].weightPercent", 0.5),
        QStringLiteral("plan.stages[1]: stage 2 weight 0.5 does not increase"));
    row("a plan without stages", changed(canary, "plan.stages", QJsonArray()),
        QStringLiteral("plan: plan 'short' has no stages"));
    row("an unsound rolling plan", changed(rolling, "plan.progressDeadline", 0),
        QStringLiteral("plan: "));

    // Sequential gates and their evidence.
    const QString evidence = QStringLiteral("status.judges.judge.evidence.events[0]");
    auto doubles = [](qsizetype count) {
        QJsonArray array;
        for (qsizetype i = 0; i < count; ++i)
            array.append(0.25 * double(i));
        return array;
    };
    row("a truncated profile", changed(canary, evidence + ".profileLogLikelihood", doubles(120)),
        evidence + QStringLiteral(".profileLogLikelihood: gate 'judge': 120 values, expected 121"));
    row("a profile too long", changed(canary, evidence + ".profileLogLikelihood", doubles(122)),
        evidence + QStringLiteral(".profileLogLikelihood: gate 'judge': 122 values, expected 121"));
    row("no regression alternatives",
        changed(canary, evidence + ".regressionLogRatios", QJsonArray()),
        evidence + QStringLiteral(".regressionLogRatios: gate 'judge': 0 values, expected 6"));
    row("a NaN in the evidence", changed(canary, evidence + ".promoteLogRatios[2]", "NaN"),
        evidence
            + QStringLiteral(".promoteLogRatios[2]: gate 'judge': nan, expected a finite "
                             "number"));
    row("an infinity in the profile",
        changed(canary, evidence + ".profileLogLikelihood[120]", "-Infinity"),
        evidence
            + QStringLiteral(".profileLogLikelihood[120]: gate 'judge': -inf, expected a "
                             "finite number"));
    row("more events than requests", changed(canary, evidence + ".canary.events", 1e9),
        evidence + QStringLiteral(".canary: gate 'judge': 1000000000 events in "));
    row("negative requests", changed(canary, evidence + ".baseline.requests", -1),
        evidence + QStringLiteral(".baseline: gate 'judge': "));
    row("a k0 of 0", changed(canary, evidence + ".k0", 0),
        evidence + QStringLiteral(".k0: gate 'judge': 0, expected a ratio above 0"));
    row("promoteBelow under k0", changed(canary, evidence + ".promoteBelow", 1),
        evidence
            + QStringLiteral(".promoteBelow: gate 'judge': 1, expected a ratio above k0 "
                             "(1.25)"));
    row("negative intervals", changed(canary, evidence + ".intervals", -3),
        evidence + QStringLiteral(".intervals: gate 'judge': -3, expected 0 or more"));
    row("evidence on an event the gate does not count",
        changed(canary, "plan.gates.judge.sequential.counts", QJsonArray{"errors"}),
        evidence + QStringLiteral(".event: gate 'judge' does not count slow_requests"));
    row("evidence on one event twice",
        changed(canary, "status.judges.judge.evidence.events[1].event", "slow_requests"),
        QStringLiteral("status.judges.judge.evidence.events[1].event: gate 'judge' has evidence "
                       "on slow_requests twice"));
    row("an unknown counted event", changed(canary, evidence + ".event", "timeouts"),
        evidence + QStringLiteral(".event: expected one of errors, slow_requests"));
    row("a slow threshold of 0", changed(canary, "status.judges.judge.slowerThanMs", 0),
        QStringLiteral("status.judges.judge.slowerThanMs: gate 'judge': 0 ms is not a latency "
                       "above 0"));
    row("an unknown decision", changed(canary, "status.judges.judge.decision", "maybe"),
        QStringLiteral("status.judges.judge.decision: expected one of continue, rollback, "
                       "promote"));
    const QJsonValue judge = QJsonDocument::fromJson(canary)
                                 .object()
                                 .value("status")
                                 .toObject()
                                 .value("judges")
                                 .toObject()
                                 .value("judge");
    row("a judge for a gate the plan does not have", changed(canary, "status.judges.ghost", judge),
        QStringLiteral("status.judges.ghost: plan 'short' has no sequential gate 'ghost'"));
    row("a judge for a threshold gate", changed(canary, "status.judges.error-rate", judge),
        QStringLiteral("status.judges.error-rate: plan 'short' has no sequential gate "
                       "'error-rate'"));
    row("an unknown gate method", changed(canary, "plan.gates.judge.method", "bayesian"),
        QStringLiteral("plan.gates.judge.method: expected one of threshold, sequential"));
    row("sequential settings out of range",
        changed(canary, "plan.gates.judge.sequential.settings.alpha", 0.9),
        QStringLiteral("plan.stages[1]: stage 2 names gate 'judge', whose alpha must be above 0 "
                       "and at most 0.5"));
    row("a sequential gate in a blue-green plan",
        changed(blueGreen, "plan.gates.signups.method", "sequential"),
        QStringLiteral("plan.gates.signups.method: gate 'signups' is sequential; a blue-green "
                       "release never serves both colours side by side"));
    row("a sequential gate counting nothing",
        changed(canary, "plan.gates.judge.sequential.counts", QJsonArray()),
        QStringLiteral("plan.stages[1]: stage 2 names gate 'judge', which counts nothing"));
}

void TestReleaseCodec::badRecordsAreRefusedByPath()
{
    QFETCH(QByteArray, json);
    QFETCH(QString, error);
    const auto decoded = decodeRelease(json);
    QVERIFY(!decoded);
    QVERIFY2(decoded.error().startsWith(error), qPrintable(decoded.error()));
}

void TestReleaseCodec::anyDamagedValueIsNamed()
{
    // Each value of each record, replaced by each kind of JSON value: either the record still
    // decodes, or the error names that value or a record around it.
    const QList<QJsonValue> replacements{QJsonValue::Null, QJsonValue(true), QJsonValue(-7),
                                         QJsonValue(0.5),  QJsonValue("x"),  QJsonArray(),
                                         QJsonObject()};
    int refused = 0;
    for (const Release &release : {fullCanary(), fullBlueGreen(), fullRolling()}) {
        const QByteArray json = encodeRelease(release);
        QStringList paths;
        collectPaths(QJsonDocument::fromJson(json).object(), {}, paths);
        for (const QString &path : std::as_const(paths)) {
            for (const QJsonValue &value : replacements) {
                const auto decoded = decodeRelease(changed(json, path, value));
                if (decoded)
                    continue;
                ++refused;
                const QString named = decoded.error().section(QStringLiteral(": "), 0, 0);
                // A replaced record reports its first bad field; the plan's soundness check
                // names the stage that refers to a damaged gate.
                const bool around = path == named || path.startsWith(named + QLatin1Char('.'))
                                    || path.startsWith(named + QLatin1Char('['))
                                    || named.startsWith(path + QLatin1Char('.'))
                                    || (path.startsWith(QLatin1String("plan.gates"))
                                        && named.startsWith(QLatin1String("plan.stages[")));
                QVERIFY2(around, qPrintable(path + QStringLiteral(" -> ") + decoded.error()));
            }
        }
    }
    QVERIFY(refused > 500);
}

void TestReleaseCodec::truncatedRecordsAreRefused()
{
    const QByteArray json = encodeRelease(fullCanary());
    for (qsizetype size = 0; size < json.size(); ++size) {
        const auto decoded = decodeRelease(json.left(size));
        QVERIFY2(!decoded, qPrintable(QString::number(size)));
    }
}

QTEST_GUILESS_MAIN(TestReleaseCodec)
#include "tst_releasecodec.moc"
