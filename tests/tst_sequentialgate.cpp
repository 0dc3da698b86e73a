// A sequential gate inside the canary engine: which intervals it reads, when it aborts, when a
// stage passes, and that its evidence lasts the whole release. web 2.4.0 over 2.3.1, 10
// instances, a 5 % stage of 2 minutes then a 50 % stage of 2 minutes, both judged by `judge`.

#include "canaryengine.h"
#include "sequentialgate.h"

#include <QTest>

using namespace sb;
using namespace std::chrono_literals;

namespace {

const QString stable = QStringLiteral("2.3.1");
const QString canaryVersion = QStringLiteral("2.4.0");
const QString judgeName = QStringLiteral("judge");
const TimePoint t0 = fromMSecsSinceEpoch(1'767'603'600'000); // 2026-01-05 09:00 UTC
const QList<double> boundsMs{50, 100, 200, 400};

GateSpec judgeGate(QList<CountedEvent> counts = {CountedEvent::Errors})
{
    GateSpec gate;
    gate.name = judgeName;
    gate.method = GateMethod::Sequential;
    gate.minRequests = 200;
    gate.sequential.counts = counts;
    gate.origin = QStringLiteral("test");
    return gate;
}

CanaryPlan plan(const GateSpec &gate = judgeGate())
{
    CanaryPlan p;
    p.name = QStringLiteral("judged");
    p.gates.insert(gate.name, gate);
    p.stages
        = {{5, 2min, {judgeName}, false}, {50, 2min, {judgeName}, false}, {100, 0min, {}, false}};
    return p;
}

// Requests, errors and (when given) the cumulative latency buckets of one version's interval.
struct Arm {
    Arm(qint64 requests, qint64 errors, QList<qint64> cumulative = {})
        : requests(requests)
        , errors(errors)
        , cumulative(std::move(cumulative))
    {}

    qint64 requests = 0;
    qint64 errors = 0;
    QList<qint64> cumulative; // per bound of boundsMs, then the total
};

VersionMetrics versionMetrics(const QString &version, const Arm &arm, Duration interval)
{
    VersionMetrics v;
    v.version = version;
    v.requests = arm.requests;
    v.requestsPerSecond = double(arm.requests) / std::chrono::duration<double>(interval).count();
    v.errorRatio = arm.requests > 0 ? double(arm.errors) / double(arm.requests) : 0;
    if (!arm.cumulative.isEmpty())
        v.latency = LatencyHistogram{boundsMs, arm.cumulative};
    return v;
}

MetricsSnapshot snapshot(TimePoint end, const Arm &baseline, const Arm &canary,
                         Duration interval = 10s)
{
    MetricsSnapshot m;
    m.at = end;
    m.interval = interval;
    m.versions = {versionMetrics(stable, baseline, interval),
                  versionMetrics(canaryVersion, canary, interval)};
    return m;
}

ServiceStatus observe(double canaryWeight, std::optional<MetricsSnapshot> metrics)
{
    ServiceStatus s;
    s.key = {QStringLiteral("web"), QStringLiteral("production")};
    s.strategy = Strategy::Canary;
    FleetSnapshot fleet;
    for (int i = 0; i < 10; ++i)
        fleet.instances.append({QStringLiteral("web-%1").arg(i), stable, InstanceState::Ready, t0,
                                QStringLiteral("a")});
    for (int i = 0; i < 5; ++i)
        fleet.instances.append({QStringLiteral("web-c%1").arg(i), canaryVersion,
                                InstanceState::Ready, t0, QStringLiteral("a")});
    s.fleet = fleet;
    TrafficSplit split;
    split.weightPercent.insert(stable, 100 - canaryWeight);
    split.weightPercent.insert(canaryVersion, canaryWeight);
    s.traffic = split;
    s.metrics = std::move(metrics);
    return s;
}

// A release of `p` baking its first stage since t0.
CanaryStatus bakingFirstStage(const CanaryPlan &p)
{
    ServiceStatus before = observe(0, std::nullopt);
    auto first = canary::start(p, before, canaryVersion, QStringLiteral("alice"), QString(), t0);
    if (!first)
        qFatal("%s", qPrintable(first.error()));
    CanaryStatus status = first.value().status;
    status.bakeStartedAt = t0;
    status.weightRequest = Request{5, t0, false, {}};
    status.canaryScaleRequest = Request{1, t0, false, {}};
    return status;
}

// Decides on ten-second intervals from t0 + 10 s on, each made by `arms(second)`, until the
// release aborts, leaves its first stage or `until` passes. The decisions' events, in order.
QList<ReleaseEvent> run(const CanaryPlan &p, CanaryStatus &status, Duration until,
                        const std::function<std::pair<Arm, Arm>(int)> &arms)
{
    QList<ReleaseEvent> events;
    for (Duration elapsed = 10s; elapsed <= until; elapsed += 10s) {
        const int second = int(std::chrono::duration_cast<std::chrono::seconds>(elapsed).count());
        const auto [baseline, canary] = arms(second);
        const double weight = p.stage(status.stage).weightPercent;
        const CanaryDecision d = canary::decide(
            p, status, observe(weight, snapshot(t0 + elapsed, baseline, canary)), t0 + elapsed);
        events += d.events;
        status = d.status;
        if (status.aborted || status.stage != 0)
            break;
    }
    return events;
}

QStringList kinds(const QList<ReleaseEvent> &events)
{
    QStringList out;
    for (const ReleaseEvent &event : events)
        out.append(toString(event.kind));
    return out;
}

const RateRatioEvidence &errorEvidence(const CanaryStatus &status)
{
    return status.judges[judgeName].evidence.events.first();
}

} // namespace

class TestSequentialGate : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void aRegressionAbortsAtOnce()
    {
        const CanaryPlan p = plan();
        CanaryStatus status = bakingFirstStage(p);
        // 950 baseline requests with 5 errors (0.5 %) and 50 canary requests with 3 (6 %)
        // every ten seconds: twelve times the baseline's rate.
        const QList<ReleaseEvent> events = run(p, status, 2min, [](int) {
            return std::pair{Arm{950, 5}, Arm{50, 3}};
        });
        QVERIFY(status.aborted);
        QVERIFY2(status.abortReason.startsWith(QStringLiteral(
                     "gate judge showed a regression at 5 %: errors: regression, k ")),
                 qPrintable(status.abortReason));
        // Caught long before the two-minute bake ends, on the data alone.
        const ReleaseEvent &abort = events.at(kinds(events).indexOf(QStringLiteral("aborted")));
        QVERIFY2(abort.at <= t0 + 40s, qPrintable(formatUtc(abort.at)));
        QVERIFY(abort.values.value(QStringLiteral("errors.k_lower")) > 1);
        QVERIFY(abort.values.value(QStringLiteral("errors.e_regression")) >= 20);
        QCOMPARE(abort.values.value(QStringLiteral("requests.canary")),
                 double(errorEvidence(status).canary.requests));
        // Measurements are announced when the verdict or the decision changes, not every
        // interval: inconclusive (under 200 canary requests) at the first, then the failure.
        QStringList measured;
        for (const ReleaseEvent &event : events) {
            if (event.kind == ReleaseEvent::Kind::GateMeasured)
                measured.append(event.reason);
        }
        QCOMPARE(measured.size(), 2);
        QVERIFY2(measured.first().startsWith(QStringLiteral(
                     "gate judge: inconclusive: canary served 50 requests at this stage, needs "
                     "200; errors: no evidence yet, k ")),
                 qPrintable(measured.first()));
        QVERIFY2(
            measured.last().startsWith(QStringLiteral("gate judge: fail: errors: regression, k ")),
            qPrintable(measured.last()));
        QCOMPARE(toString(status.judges[judgeName].decision), QStringLiteral("rollback"));
        QCOMPARE(status.weightRequest->target, 0.0);
    }

    void aHealthyCanaryPassesAtTheBakesEndAndTheEvidenceCarriesOn()
    {
        const CanaryPlan p = plan();
        CanaryStatus status = bakingFirstStage(p);
        // The same 0.5 % in both arms.
        run(p, status, 3min, [](int second) {
            return std::pair{Arm{950, 5}, Arm{50, second % 20 == 0 ? 1 : 0}};
        });
        QVERIFY(!status.aborted);
        QCOMPARE(status.stage, 1);
        // Twelve intervals in two minutes, and they are not forgotten at the new stage.
        QCOMPARE(errorEvidence(status).intervals, 12);
        QCOMPARE(status.gates.first().measurements, 0);
        status.bakeStartedAt = t0 + 2min;
        const CanaryDecision d = canary::decide(
            p, status, observe(50, snapshot(t0 + 2min + 10s, {500, 3}, {500, 2})), t0 + 2min + 10s);
        QCOMPARE(errorEvidence(d.status).intervals, 13);
        QCOMPARE(errorEvidence(d.status).canary.requests, 12 * 50 + 500);
        // The stage's own count restarts: 500 canary requests at this stage so far.
        QCOMPARE(d.status.gates.first().last->canaryRequests, 500);
    }

    void eachIntervalIsReadOnce()
    {
        const CanaryPlan p = plan();
        CanaryStatus status = bakingFirstStage(p);
        // A source with a 30-second window asked every 10 seconds: windows overlap, and only
        // the ones after the last one read count.
        for (Duration end : {30s, 40s, 50s, 60s, 60s}) {
            const CanaryDecision d = canary::decide(
                p, status, observe(5, snapshot(t0 + end, {2850, 15}, {150, 1}, 30s)), t0 + end);
            status = d.status;
        }
        QCOMPARE(errorEvidence(status).intervals, 2);
        QCOMPARE(errorEvidence(status).canary.requests, 300);
        // Nor is an interval that began before the bake.
        CanaryStatus early = bakingFirstStage(p);
        const CanaryDecision d = canary::decide(
            p, early, observe(5, snapshot(t0 + 20s, {2850, 15}, {150, 1}, 30s)), t0 + 20s);
        QCOMPARE(errorEvidence(d.status).intervals, 0);
    }

    void anIncidentBothArmsShareBlamesNoOne()
    {
        const CanaryPlan p = plan();
        CanaryStatus status = bakingFirstStage(p);
        // Both arms at 2.5 %, five times the usual rate, for the whole stage.
        run(p, status, 3min, [](int second) {
            return std::pair{Arm{950, 24}, Arm{50, second % 40 == 0 ? 2 : 1}};
        });
        QVERIFY2(!status.aborted, qPrintable(status.abortReason));
        QCOMPARE(status.stage, 1);
    }

    void tooFewCanaryRequestsHold()
    {
        const CanaryPlan p = plan();
        CanaryStatus status = bakingFirstStage(p);
        const QList<ReleaseEvent> events = run(p, status, 3min, [](int) {
            return std::pair{Arm{990, 5}, Arm{1, 0}};
        });
        QCOMPARE(status.stage, 0);
        QVERIFY(!status.aborted);
        const int held = int(kinds(events).indexOf(QStringLiteral("held")));
        QVERIFY(held >= 0);
        QVERIFY2(
            events.at(held).reason.startsWith(QStringLiteral(
                "gate judge inconclusive: canary served 12 requests at this stage, needs 200")),
            qPrintable(events.at(held).reason));
    }

    void slowRequestsCountAboveTheBaselinesP99()
    {
        const CanaryPlan p = plan(judgeGate({CountedEvent::Errors, CountedEvent::SlowRequests}));
        CanaryStatus status = bakingFirstStage(p);
        // The baseline: 1,000 requests, 1 % slower than 200 ms (its p99 falls at the 200 ms
        // bound). The canary: a quarter of its 50 requests slower than 200 ms, no more errors.
        run(p, status, 2min, [](int) {
            return std::pair{Arm{1000, 5, {600, 900, 990, 1000, 1000}},
                             Arm{50, 0, {20, 30, 37, 50, 50}}};
        });
        QCOMPARE(status.judges[judgeName].slowerThanMs, 200.0);
        QVERIFY(status.aborted);
        QVERIFY2(status.abortReason.contains(QStringLiteral(": slow requests: regression, k ")),
                 qPrintable(status.abortReason));
        const RateRatioEvidence &slow = status.judges[judgeName].evidence.events.at(1);
        QCOMPARE(slow.baseline.events, slow.intervals * 10);
        QCOMPARE(slow.canary.events, slow.intervals * 13);
    }

    void aMissingHistogramSaysSo()
    {
        GateSpec gate = judgeGate({CountedEvent::Errors, CountedEvent::SlowRequests});
        gate.sequential.slowerThanMs = 300; // not a bound of these histograms
        const CanaryPlan p = plan(gate);
        CanaryStatus status = bakingFirstStage(p);
        run(p, status, 30s, [](int) {
            return std::pair{Arm{1000, 5, {600, 900, 990, 1000, 1000}},
                             Arm{50, 0, {20, 30, 37, 50, 50}}};
        });
        QVERIFY(!status.aborted);
        QVERIFY2(status.gates.first().last->why.contains(
                     QStringLiteral("slow requests not counted in the interval to")),
                 qPrintable(status.gates.first().last->why));
        QVERIFY(status.gates.first().last->why.contains(
            QStringLiteral("the latency histogram has no bucket bound at 300 ms")));
        QCOMPARE(status.judges[judgeName].evidence.events.at(1).intervals, 0);
    }

    void aRetryIsJudgedAfresh()
    {
        const CanaryPlan p = plan();
        CanaryStatus status = bakingFirstStage(p);
        run(p, status, 2min, [](int) { return std::pair{Arm{950, 5}, Arm{50, 3}}; });
        QVERIFY(status.aborted);
        status.endedAt = t0 + 3min;
        const auto retried = canary::command(
            p, status, canary::Command::Retry, QStringLiteral("alice"),
            QStringLiteral("fixed the config"), observe(0, std::nullopt), t0 + 4min);
        QVERIFY(retried);
        QCOMPARE(errorEvidence(retried.value().status).intervals, 0);
        QCOMPARE(toString(retried.value().status.judges[judgeName].decision),
                 QStringLiteral("continue"));
    }

    void decidingTwiceAddsNothing()
    {
        const CanaryPlan p = plan();
        CanaryStatus status = bakingFirstStage(p);
        const ServiceStatus seen = observe(5, snapshot(t0 + 10s, {950, 5}, {50, 1}));
        const CanaryDecision first = canary::decide(p, status, seen, t0 + 10s);
        QCOMPARE(kinds(first.events), QStringList{QStringLiteral("gate-measured")});
        const CanaryDecision again = canary::decide(p, first.status, seen, t0 + 10s);
        QVERIFY(again.events.isEmpty());
        QVERIFY(again.actions.isEmpty());
        QVERIFY(again.status == first.status);
    }

    void safeToPromoteStandsOnceShown()
    {
        const CanaryPlan p = plan();
        CanaryStatus status = bakingFirstStage(p);
        // A canary erring a tenth as often as its baseline: shown safe (k < 2) within the bake.
        run(p, status, 110s, [](int second) {
            return std::pair{Arm{950, 10}, Arm{50, second % 100 == 0 ? 1 : 0}};
        });
        QCOMPARE(toString(status.judges[judgeName].decision), QStringLiteral("promote"));
        // A burst of canary errors weakens that evidence, but does not take it back nor fill
        // the journal with each swing; only a regression would.
        const CanaryDecision d = canary::decide(
            p, status, observe(5, snapshot(t0 + 2min, {950, 5}, {50, 2})), t0 + 2min - 1s);
        QCOMPARE(toString(d.status.judges[judgeName].decision), QStringLiteral("promote"));
        QVERIFY(!kinds(d.events).contains(QStringLiteral("gate-measured")));
    }

    void aFailingSourceHoldsTheGate()
    {
        const CanaryPlan p = plan();
        CanaryStatus status = bakingFirstStage(p);
        run(p, status, 60s, [](int) { return std::pair{Arm{950, 5}, Arm{50, 0}}; });
        QCOMPARE(toString(status.gates.first().last->verdict), QStringLiteral("pass"));
        ServiceStatus failing = observe(5, snapshot(t0 + 60s, {950, 5}, {50, 0}));
        failing.metricsError
            = QStringLiteral("Prometheus at http://prom:9090 refused the connection");
        const CanaryDecision d = canary::decide(p, status, failing, t0 + 3min);
        // Said once, in the journal and in the reason; and the stage holds instead of passing
        // on evidence that stopped growing.
        QCOMPARE(kinds(d.events).count(QStringLiteral("gate-measured")), 1);
        QVERIFY(d.events.first().reason.startsWith(
            QStringLiteral("gate judge: inconclusive: no metrics: Prometheus at")));
        QCOMPARE(d.status.stage, 0);
        QVERIFY2(d.reason.contains(QStringLiteral("gate judge inconclusive: no metrics")),
                 qPrintable(d.reason));
        const CanaryDecision again = canary::decide(p, d.status, failing, t0 + 3min + 10s);
        QVERIFY(!kinds(again.events).contains(QStringLiteral("gate-measured")));
    }

    void theSlowThresholdWaitsForEnoughRequests()
    {
        const CanaryPlan p = plan(judgeGate({CountedEvent::Errors, CountedEvent::SlowRequests}));
        CanaryStatus status = bakingFirstStage(p);
        // 100 baseline requests: too few for a p99; the interval is counted for errors only.
        CanaryDecision d
            = canary::decide(p, status,
                             observe(5, snapshot(t0 + 10s, {100, 1, {60, 90, 99, 100, 100}},
                                                 {50, 0, {20, 30, 37, 50, 50}})),
                             t0 + 10s);
        QVERIFY(!d.status.judges[judgeName].slowerThanMs);
        QVERIFY(d.status.gates.first().last->why.startsWith(
            QStringLiteral("slow requests not counted yet: the slow threshold waits for an "
                           "interval with 200 baseline requests")));
        QCOMPARE(toString(d.status.gates.first().last->verdict), QStringLiteral("inconclusive"));
        // 1,000: the threshold is set from it, and counting starts with the next interval.
        d = canary::decide(p, d.status,
                           observe(5, snapshot(t0 + 20s, {1000, 5, {600, 900, 990, 1000, 1000}},
                                               {50, 0, {20, 30, 37, 50, 50}})),
                           t0 + 20s);
        QCOMPARE(d.status.judges[judgeName].slowerThanMs, 200.0);
        QCOMPARE(d.status.judges[judgeName].evidence.events.at(1).intervals, 0);
        QCOMPARE(d.status.judges[judgeName].evidence.events.at(0).intervals, 2);
        QVERIFY(d.status.gates.first().last->why.contains(
            QStringLiteral("slow now means slower than 200 ms (the baseline's p99 over 1000 "
                           "requests); counted from the next interval")));
    }

    void theBaselinesP99BecomesABucketBound()
    {
        // p99 of 1,000 requests with 990 under 200 ms and 10 in (200, 400]: 200 ms exactly.
        QCOMPARE(slowThresholdOf(LatencyHistogram{boundsMs, {600, 900, 990, 1000, 1000}}), 200.0);
        // p99 at 380 ms: nearer 400 than 200.
        QCOMPARE(slowThresholdOf(LatencyHistogram{boundsMs, {600, 900, 920, 1000, 1000}}), 400.0);
        QVERIFY(!slowThresholdOf(LatencyHistogram{boundsMs, {0, 0, 0, 0, 0}}));
    }
};

QTEST_GUILESS_MAIN(TestSequentialGate)
#include "tst_sequentialgate.moc"
