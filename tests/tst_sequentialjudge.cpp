#include "sequentialjudge.h"

#include <QTest>

#include <cmath>
#include <random>

using namespace sb;

namespace {

// The test's own reading of the model: the probability that an event comes from the canary.
double canaryShare(double share, double k)
{
    return share * k / (share * k + 1 - share);
}

RateRatioEvidence evidenceOf(const QList<std::pair<ArmCounts, ArmCounts>> &intervals, double k0 = 1,
                             double promoteBelow = 2)
{
    RateRatioEvidence evidence = startEvidence(CountedEvent::Errors, k0, promoteBelow);
    for (const auto &[baseline, canary] : intervals)
        addInterval(evidence, baseline, canary);
    return evidence;
}

// Seconds of 100 requests/s with the canary at 5 %, baseline error rate 0.5 % and the canary's
// k times that, until the judge decides or `seconds` pass; the decision and when.
std::pair<JudgeDecision, int> runSimulated(double k, int seconds, std::uint64_t seed)
{
    std::mt19937_64 random(seed);
    std::poisson_distribution<qint64> canaryArrivals(5), baselineArrivals(95);
    JudgeEvidence judge = startJudge(SequentialSettings{}, {CountedEvent::Errors});
    for (int second = 1; second <= seconds; ++second) {
        const qint64 canaryRequests = canaryArrivals(random);
        const qint64 baselineRequests = baselineArrivals(random);
        const qint64 canaryErrors
            = std::binomial_distribution<qint64>(canaryRequests, 0.005 * k)(random);
        const qint64 baselineErrors
            = std::binomial_distribution<qint64>(baselineRequests, 0.005)(random);
        addInterval(judge, CountedEvent::Errors, {baselineRequests, baselineErrors},
                    {canaryRequests, canaryErrors});
        const JudgeDecision decision = readJudge(judge, 0.05).decision;
        if (decision == JudgeDecision::Rollback)
            return {decision, second};
    }
    return {readJudge(judge, 0.05).decision, seconds};
}

} // namespace

class TestSequentialJudge : public QObject
{
    Q_OBJECT

private slots:
    void oneIntervalByHand()
    {
        // 95 baseline and 5 canary requests (w = 0.05), one error in each. Against k = 1
        // (theta 0.05) the alternative 1.5 (theta 0.075 / 1.025 = 0.073171) has the likelihood
        // ratio 0.073171 / 0.05 x 0.926829 / 0.95 = 1.42772.
        const double theta1 = canaryShare(0.05, 1);
        const double theta15 = canaryShare(0.05, 1.5);
        QCOMPARE(theta1, 0.05);
        QVERIFY(std::abs(theta15 - 0.0731707) < 1e-6);
        const RateRatioEvidence evidence = evidenceOf({{{95, 1}, {5, 1}}});
        QVERIFY(std::abs(evidence.regressionLogRatios.at(0) - std::log(1.4277216)) < 1e-6);
        // The mixture over 1.5^i, i = 1..6, weighted by 1.5^(-i/2) normalised (the first
        // weight is 0.260768): 2.72647 against k <= 1; against k >= 2 (alternatives 2 / 1.5^i)
        // the same interval gives 0.411078.
        QVERIFY(std::abs(std::exp(regressionLogE(evidence)) - 2.7264738) < 1e-5);
        QVERIFY(std::abs(std::exp(promoteLogE(evidence)) - 0.4110779) < 1e-5);
    }

    void moreIntervalsByHand()
    {
        // 10 % canary share, 4 of 7 errors on the canary: 38.97 against k <= 1, 0.1016 against
        // k >= 2. Ten baseline errors and none on the canary: 0.4069 and 1.899.
        QVERIFY(std::abs(std::exp(regressionLogE(evidenceOf({{{90, 3}, {10, 4}}}))) - 38.972954)
                < 1e-4);
        QVERIFY(std::abs(std::exp(promoteLogE(evidenceOf({{{90, 3}, {10, 4}}}))) - 0.1015789)
                < 1e-6);
        QVERIFY(std::abs(std::exp(regressionLogE(evidenceOf({{{95, 10}, {5, 0}}}))) - 0.4069228)
                < 1e-6);
        QVERIFY(std::abs(std::exp(promoteLogE(evidenceOf({{{95, 10}, {5, 0}}}))) - 1.8985332)
                < 1e-6);
        // Two intervals at different shares (5 % then 20 %): each brings its own theta, and the
        // likelihoods multiply inside every alternative before the mixture: 184.21.
        QVERIFY(
            std::abs(std::exp(regressionLogE(evidenceOf({{{95, 2}, {5, 3}}, {{80, 1}, {20, 2}}})))
                     - 184.21126)
            < 1e-3);
    }

    void intervalsAtOneShareAddUp()
    {
        // At one share, two intervals weigh exactly as one with their sums.
        const RateRatioEvidence split = evidenceOf({{{95, 2}, {5, 1}}, {{95, 3}, {5, 2}}});
        const RateRatioEvidence summed = evidenceOf({{{190, 5}, {10, 3}}});
        QVERIFY(std::abs(regressionLogE(split) - regressionLogE(summed)) < 1e-12);
        QVERIFY(std::abs(promoteLogE(split) - promoteLogE(summed)) < 1e-12);
    }

    void idleIntervalsTeachNothing()
    {
        RateRatioEvidence evidence = evidenceOf({{{95, 1}, {5, 1}}});
        const RateRatioEvidence before = evidence;
        addInterval(evidence, {100, 2}, {0, 0}); // the canary served nothing
        addInterval(evidence, {0, 0}, {100, 2}); // nor did the baseline
        QCOMPARE(evidence.regressionLogRatios, before.regressionLogRatios);
        QCOMPARE(evidence.profileLogLikelihood, before.profileLogLikelihood);
        QCOMPARE(evidence.intervals, 1);
        // Counted all the same, and an interval without events counts as one with information.
        QCOMPARE(evidence.baseline.requests, 195);
        QCOMPARE(evidence.canary.events, 3);
        addInterval(evidence, {95, 0}, {5, 0});
        QCOMPARE(evidence.regressionLogRatios, before.regressionLogRatios);
        QCOMPARE(evidence.intervals, 2);
    }

    void sharedIncidentLeavesTheCanaryBlameless()
    {
        // Both arms erring five times as often, in proportion to their requests: the split of
        // errors is what it always was, so the evidence against k <= 1 shrinks, it never grows.
        RateRatioEvidence evidence = startEvidence(CountedEvent::Errors, 1, 2);
        for (int second = 0; second < 300; ++second)
            addInterval(evidence, {95, second % 4 == 0 ? 10 : 9}, {5, second % 2});
        QVERIFY(regressionLogE(evidence) < 0);
        const RatioInterval ratio = ratioInterval(evidence, 0.05, 0.05);
        QVERIFY(ratio.lower && ratio.upper);
        QVERIFY2(*ratio.lower < 1 && *ratio.upper > 1,
                 qPrintable(QStringLiteral("%1–%2").arg(*ratio.lower).arg(*ratio.upper)));
    }

    void intervalBoundsMatchTheExactTests()
    {
        // The interval's lower bound is where the exact test against "k <= bound" still rejects
        // and the next grid point up no longer does; the upper bound likewise from below.
        QList<std::pair<ArmCounts, ArmCounts>> intervals;
        for (int second = 0; second < 400; ++second)
            intervals.append({{95, second % 2}, {5, second % 20 == 0 ? 1 : 0}}); // k = 1.9
        const RatioInterval ratio = ratioInterval(evidenceOf(intervals), 0.05, 0.05);
        QVERIFY(ratio.lower && ratio.upper);
        const double lower = *ratio.lower;
        const double upper = *ratio.upper;
        QVERIFY2(lower < 1.9 && upper > 1.9 && upper < 10,
                 qPrintable(QStringLiteral("%1–%2").arg(lower).arg(upper)));
        const double step = ratioevidence::gridRatio(1) / ratioevidence::gridRatio(0);
        const double needed = std::log(20);
        QVERIFY(regressionLogE(evidenceOf(intervals, lower, upper)) >= needed - 1e-9);
        QVERIFY(regressionLogE(evidenceOf(intervals, lower * step, upper)) < needed);
        QVERIFY(promoteLogE(evidenceOf(intervals, lower, upper)) >= needed - 1e-9);
        QVERIFY(promoteLogE(evidenceOf(intervals, lower, upper / step)) < needed);
    }

    void boundsAgreeWithTheDecisionsOffTheGrid()
    {
        // k0 1.2 and promote_below 2 are not grid points; the interval still never shows a
        // lower bound under k0 beside a regression, nor an upper one over 2 beside "safe".
        SequentialSettings settings{0.05, 1.2, 2};
        JudgeEvidence regressing = startJudge(settings, {CountedEvent::Errors});
        JudgeEvidence healthy = startJudge(settings, {CountedEvent::Errors});
        bool sawRegression = false, sawSafe = false;
        for (int second = 0; second < 2000; ++second) {
            addInterval(regressing, CountedEvent::Errors, {95, second % 2}, {5, second % 8 == 0});
            addInterval(healthy, CountedEvent::Errors, {95, second % 2}, {5, second % 200 == 0});
            const EventReading bad = readJudge(regressing, 0.05).events.first();
            if (bad.decision == JudgeDecision::Rollback) {
                sawRegression = true;
                QVERIFY(bad.ratio.lower && *bad.ratio.lower >= 1.2);
                QVERIFY(describe(bad).contains(QStringLiteral("k > ")));
            }
            const EventReading good = readJudge(healthy, 0.05).events.first();
            if (good.decision == JudgeDecision::Promote) {
                sawSafe = true;
                QVERIFY(good.ratio.upper && *good.ratio.upper <= 2);
                QVERIFY2(describe(good).contains(QStringLiteral("< ")), qPrintable(describe(good)));
            }
        }
        QVERIFY(sawRegression && sawSafe);
    }

    void hugeCountsStayFinite()
    {
        // A canary share that rounds to 1 in floating point, and k far out.
        RateRatioEvidence evidence = startEvidence(CountedEvent::Errors, 1, 1e6);
        addInterval(evidence, {1, 1}, {qint64(1e15), 1000});
        addInterval(evidence, {qint64(1e15), 1000}, {1, 1});
        QVERIFY(isWellFormed(evidence));
    }

    void unboundedWithoutEvidence()
    {
        const RatioInterval ratio
            = ratioInterval(startEvidence(CountedEvent::Errors, 1, 2), 0.05, 0.05);
        QVERIFY(!ratio.lower);
        QVERIFY(!ratio.upper);
        const JudgeReading reading
            = readJudge(startJudge(SequentialSettings{}, {CountedEvent::Errors}), 0.05);
        QCOMPARE(toString(reading.decision), QStringLiteral("continue"));
        QVERIFY(describe(reading).contains(QStringLiteral("k not bounded yet")));
    }

    void alphaIsSplitForRegressionsOnly()
    {
        const JudgeEvidence judge
            = startJudge(SequentialSettings{}, {CountedEvent::Errors, CountedEvent::SlowRequests});
        const JudgeReading reading = readJudge(judge, 0.05);
        QCOMPARE(reading.events.size(), 2);
        QCOMPARE(reading.events.at(0).regressionNeeded, 40.0);
        QCOMPARE(reading.events.at(0).promoteNeeded, 20.0);
        QCOMPARE(toString(reading.events.at(1).event), QStringLiteral("slow_requests"));
    }

    void regressionInAnyEventRollsBack()
    {
        SequentialSettings settings;
        JudgeEvidence judge
            = startJudge(settings, {CountedEvent::Errors, CountedEvent::SlowRequests});
        for (int second = 0; second < 60; ++second) {
            addInterval(judge, CountedEvent::Errors, {95, second % 2}, {5, 0});
            addInterval(judge, CountedEvent::SlowRequests, {95, 1}, {5, 1}); // k about 19
        }
        const JudgeReading reading = readJudge(judge, settings.alpha);
        QCOMPARE(toString(reading.decision), QStringLiteral("rollback"));
        QCOMPARE(toString(reading.events.at(1).decision), QStringLiteral("rollback"));
        QVERIFY2(describe(reading).startsWith(QStringLiteral("slow requests: regression, k ")),
                 qPrintable(describe(reading)));
    }

    void promotionNeedsEveryEventSafe()
    {
        SequentialSettings settings;
        JudgeEvidence judge
            = startJudge(settings, {CountedEvent::Errors, CountedEvent::SlowRequests});
        // Errors: 1,000 baseline and 10 canary errors at a 5 % share, k about 0.2: safe.
        for (int second = 0; second < 500; ++second)
            addInterval(judge, CountedEvent::Errors, {95, 2}, {5, second % 50 == 0 ? 1 : 0});
        QCOMPARE(toString(readJudge(judge, 0.05).events.at(0).decision), QStringLiteral("promote"));
        QCOMPARE(toString(readJudge(judge, 0.05).decision), QStringLiteral("continue"));
        for (int second = 0; second < 500; ++second)
            addInterval(judge, CountedEvent::SlowRequests, {95, 1}, {5, 0});
        QCOMPARE(toString(readJudge(judge, 0.05).decision), QStringLiteral("promote"));
    }

    void falseAlarmsStayWithinAlpha()
    {
        // Healthy canaries, checked every second for 20 minutes each: at most 5 % are blamed.
        // Seeded, so the count is the same on every run.
        int alarms = 0;
        constexpr int runs = 300;
        for (int seed = 0; seed < runs; ++seed) {
            if (runSimulated(1, 1200, seed).first == JudgeDecision::Rollback)
                ++alarms;
        }
        QVERIFY2(alarms <= runs / 20, qPrintable(QStringLiteral("%1 of %2").arg(alarms).arg(runs)));
    }

    void tenfoldRegressionIsCaughtInSeconds()
    {
        int caught = 0;
        for (int seed = 0; seed < 50; ++seed) {
            const auto [decision, second] = runSimulated(10, 120, 1000 + seed);
            if (decision == JudgeDecision::Rollback && second <= 60)
                ++caught;
        }
        QVERIFY2(caught >= 45, qPrintable(QString::number(caught)));
    }

    void settingsAreChecked()
    {
        QVERIFY(checkSequentialSettings(SequentialSettings{}).isEmpty());
        QVERIFY(checkSequentialSettings({0, 1, 2}).contains(QStringLiteral("alpha")));
        QVERIFY(checkSequentialSettings({0.6, 1, 2}).contains(QStringLiteral("alpha")));
        QVERIFY(checkSequentialSettings({0.05, 0, 2}).contains(QStringLiteral("k0")));
        QCOMPARE(checkSequentialSettings({0.05, 1.5, 1.5}),
                 QStringLiteral("promote_below must be above k0 (1.5), for example 3"));
    }

    void malformedEvidenceIsRecognised()
    {
        RateRatioEvidence evidence = evidenceOf({{{95, 1}, {5, 1}}});
        QVERIFY(isWellFormed(evidence));
        RateRatioEvidence truncated = evidence;
        truncated.profileLogLikelihood.removeLast();
        QVERIFY(!isWellFormed(truncated));
        RateRatioEvidence infinite = evidence;
        infinite.regressionLogRatios[2] = std::numeric_limits<double>::infinity();
        QVERIFY(!isWellFormed(infinite));
        RateRatioEvidence impossible = evidence;
        impossible.canary.events = impossible.canary.requests + 1;
        QVERIFY(!isWellFormed(impossible));
    }

    void wordsAndNames()
    {
        QVERIFY(countedEventFromString(QStringLiteral("slow_requests"))
                == CountedEvent::SlowRequests);
        QVERIFY(!countedEventFromString(QStringLiteral("latency")));
        QCOMPARE(describe(JudgeDecision::Promote), QStringLiteral("safe to promote"));
        QCOMPARE(formatRatio(0.5234), QStringLiteral("0.52"));
        QCOMPARE(formatRatio(1.94), QStringLiteral("1.9"));
        QCOMPARE(formatRatio(1), QStringLiteral("1.0"));
        QCOMPARE(formatRatio(12.4), QStringLiteral("12"));
    }
};

QTEST_APPLESS_MAIN(TestSequentialJudge)
#include "tst_sequentialjudge.moc"
