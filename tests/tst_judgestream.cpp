// Count streams for the canary judges: the line parser and its messages, the threshold gate summed
// into its intervals, and the sequential judge on constructed streams.

#include "judgestream.h"

#include <QTest>

#include <functional>

using namespace sb;
using namespace std::chrono_literals;

namespace {

QString dump(const StreamParser::Line &line)
{
    if (const StreamError *error = std::get_if<StreamError>(&line))
        return QStringLiteral("error ") + error->toString();
    const StreamInterval *interval = std::get_if<StreamInterval>(&line);
    if (!interval)
        return QStringLiteral("nothing");
    QString text = QStringLiteral("t=%1 %2/%3 %4/%5")
                       .arg(formatStreamTime(interval->t))
                       .arg(interval->baselineRequests)
                       .arg(interval->baselineErrors)
                       .arg(interval->canaryRequests)
                       .arg(interval->canaryErrors);
    if (interval->slow)
        text += QStringLiteral(" slow %1/%2")
                    .arg(interval->slow->baseline)
                    .arg(interval->slow->canary);
    return text;
}

QStringList parseAll(const QString &stream)
{
    StreamParser parser;
    QStringList lines;
    for (const QString &line : stream.split(QLatin1Char('\n')))
        lines.append(dump(parser.parse(line)));
    return lines;
}

// `numerator` events every `denominator` seconds, spread as evenly as whole events allow: the
// events of second t.
qint64 evenly(int t, qint64 numerator, qint64 denominator)
{
    return t * numerator / denominator - (t - 1) * numerator / denominator;
}

// A second of 95 baseline and 5 canary requests (a canary weight of 5 %) with a baseline error
// rate of 0.5 %, 19 errors every 40 s, and the canary's `canaryFactor` times that, each arm's
// errors times `sharedFactor`.
StreamInterval second(int t, qint64 canaryFactor = 1, qint64 sharedFactor = 1)
{
    StreamInterval interval;
    interval.t = t;
    interval.baselineRequests = 95;
    interval.canaryRequests = 5;
    interval.baselineErrors = evenly(t, 19 * sharedFactor, 40);
    interval.canaryErrors = evenly(t, canaryFactor * sharedFactor, 40);
    return interval;
}

// Seconds `from` to `to` of `make`, fed to `judge`; every change of decision they brought.
QList<DecisionChange> feed(StreamJudge &judge, int from, int to,
                           const std::function<StreamInterval(int)> &make)
{
    QList<DecisionChange> changes;
    for (int t = from; t <= to; ++t) {
        if (const std::optional<DecisionChange> change = judge.add(make(t)))
            changes.append(*change);
    }
    return changes;
}

GateSpec gate(const QString &bound = QStringLiteral("<= 1%"), int failureLimit = 3,
              Duration interval = 1min, qint64 minRequests = 100)
{
    auto made = errorRateGate(bound, minRequests, failureLimit, interval);
    if (const QString *problem = std::get_if<QString>(&made))
        qFatal("%s", qPrintable(*problem));
    return std::get<GateSpec>(made);
}

// A second of the threshold tests: 95 baseline requests without errors and 5 canary requests,
// the canary's errors of the minute all in its last second.
StreamInterval minuteSecond(int t, qint64 canaryErrorsInMinute)
{
    StreamInterval interval;
    interval.t = t;
    interval.baselineRequests = 95;
    interval.canaryRequests = 5;
    interval.canaryErrors = t % 60 == 0 ? std::min<qint64>(5, canaryErrorsInMinute) : 0;
    return interval;
}

} // namespace

class TestJudgeStream : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void parser_data();
    void parser();
    void thresholdSumsSecondsIntoMinutes();
    void thresholdRollsBackAtTheFailureLimit();
    void thresholdThinIntervalIsInconclusive();
    void thresholdIntervalClosedByALaterLine();
    void thresholdFractionalTimesAndIntervals();
    void thresholdRelativeBound();
    void badBoundIsNamed();
    void sharedIncidentDoesNotBlameTheCanary();
    void tenfoldRegressionRollsBackWithinSeconds();
    void rollbackIsFinal();
    void regressionOverridesPromote();
    void slowRequestsSplitAlpha();
};

void TestJudgeStream::parser_data()
{
    QTest::addColumn<QString>("stream");
    QTest::addColumn<QStringList>("expected");

    const QString form = QStringLiteral(
        "write t,baseline_requests,baseline_errors,canary_requests,canary_errors, optionally "
        "followed by ,baseline_slow,canary_slow");
    const QString atMost = QStringLiteral("; each count of events is at most its requests");

    QTest::newRow("header, comments, blank lines, spaces, CRLF")
        << QStringLiteral("t,baseline_requests,baseline_errors,canary_requests,canary_errors\n"
                          "# warm-up\n"
                          "\n"
                          "1, 100 ,0,5,0\r\n"
                          "  2.5,90,1,4,1")
        << QStringList{"nothing", "nothing", "nothing", "t=1 100/0 5/0", "t=2.5 90/1 4/1"};
    QTest::newRow("header after comments")
        << QStringLiteral("# exported 2026-01-05\nt,br,be,cr,ce\n60,5700,30,300,2")
        << QStringList{"nothing", "nothing", "t=60 5700/30 300/2"};
    QTest::newRow("seven fields") << QStringLiteral("60,5700,30,300,2,57,3")
                                  << QStringList{"t=60 5700/30 300/2 slow 57/3"};
    QTest::newRow("wrong field count")
        << QStringLiteral("1,100,0,5,0\n2,100,0,5\n3,100,0,5,0,1\n4;100;0;5;0")
        << QStringList{"t=1 100/0 5/0", "error line 2: 4 fields; " + form,
                       "error line 3: 6 fields; " + form, "error line 4: 1 field; " + form};
    QTest::newRow("not a count")
        << QStringLiteral("1,100,-1,5,0\n2,100,0.5,5,0\n3,1e2,0,5,0\n4,100,0,,0\n5,100,0,5,+1")
        << QStringList{
               "error line 1: baseline_errors '-1' is not a count; write a whole number, 0 or more",
               "error line 2: baseline_errors '0.5' is not a count; write a whole number, 0 or "
               "more",
               "error line 3: baseline_requests '1e2' is not a count; write a whole number, 0 or "
               "more",
               "error line 4: canary_requests '' is not a count; write a whole number, 0 or more",
               "error line 5: canary_errors '+1' is not a count; write a whole number, 0 or more"};
    QTest::newRow("count too large")
        << QStringLiteral("1,1000000000000001,0,5,0\n2,99999999999999999999,0,5,0")
        << QStringList{"error line 1: baseline_requests '1000000000000001' is more than any "
                       "interval serves; counts go up to 10^15",
                       "error line 2: baseline_requests '99999999999999999999' is more than any "
                       "interval serves; counts go up to 10^15"};
    QTest::newRow("t not a time")
        << QStringLiteral("abc,100,0,5,0\n-1,100,0,5,0\ninf,100,0,5,0\n,100,0,5,0")
        << QStringList{
               "error line 1: t 'abc' is not a time; write seconds, 0 or more, like 60 or 60.5",
               "error line 2: t '-1' is not a time; write seconds, 0 or more, like 60 or 60.5",
               "error line 3: t 'inf' is not a time; write seconds, 0 or more, like 60 or 60.5",
               "error line 4: t '' is not a time; write seconds, 0 or more, like 60 or 60.5"};
    QTest::newRow("events above requests")
        << QStringLiteral("1,100,101,5,0\n2,100,0,5,7\n3,100,0,5,0,101,0\n4,100,0,5,0,1,6")
        << QStringList{"error line 1: baseline_errors 101 is above baseline_requests 100" + atMost,
                       "error line 2: canary_errors 7 is above canary_requests 5" + atMost,
                       "error line 3: baseline_slow 101 is above baseline_requests 100" + atMost,
                       "error line 4: canary_slow 6 is above canary_requests 5" + atMost};
    QTest::newRow("t not increasing")
        << QStringLiteral("1,100,0,5,0\n2,100,0,5,0\n2,100,0,5,0\n1.5,100,0,5,0\n3,100,0,5,0")
        << QStringList{"t=1 100/0 5/0", "t=2 100/0 5/0",
                       "error line 3: t 2 is not after the previous line's 2; each line's t must "
                       "be later than the one before",
                       "error line 4: t 1.5 is not after the previous line's 2; each line's t "
                       "must be later than the one before",
                       "t=3 100/0 5/0"};
    QTest::newRow("a malformed line keeps the last good t")
        << QStringLiteral("1,100,0,5,0\n9,100,0,5,6\n5,100,0,5,0")
        << QStringList{"t=1 100/0 5/0",
                       "error line 2: canary_errors 6 is above canary_requests 5" + atMost,
                       "t=5 100/0 5/0"};
    QTest::newRow("seven fields after five")
        << QStringLiteral("1,100,0,5,0\n2,100,0,5,0,1,0\n3,100,0,5,0")
        << QStringList{"t=1 100/0 5/0",
                       "error line 2: 7 fields after lines of 5; give baseline_slow,canary_slow "
                       "on every line or on none",
                       "t=3 100/0 5/0"};
    QTest::newRow("five fields after seven")
        << QStringLiteral("1,100,0,5,0,1,0\n2,100,0,5,0")
        << QStringList{"t=1 100/0 5/0 slow 1/0",
                       "error line 2: 5 fields after lines of 7; give baseline_slow,canary_slow "
                       "on every line or on none"};
    QTest::newRow("a malformed first line fixes no field count")
        << QStringLiteral("1,100,0,5,9,0,0\n2,100,0,5,0")
        << QStringList{"error line 1: canary_errors 9 is above canary_requests 5" + atMost,
                       "t=2 100/0 5/0"};
    QTest::newRow("a header below the first line")
        << QStringLiteral("1,100,0,5,0\nt,baseline_requests,baseline_errors,canary_requests,"
                          "canary_errors")
        << QStringList{"t=1 100/0 5/0",
                       "error line 2: t 't' is not a time; write seconds, 0 or more, like 60 or "
                       "60.5"};
}

void TestJudgeStream::parser()
{
    QFETCH(QString, stream);
    QFETCH(QStringList, expected);
    QCOMPARE(parseAll(stream), expected);
}

void TestJudgeStream::thresholdSumsSecondsIntoMinutes()
{
    ThresholdStreamJudge judge(gate());
    // Two errors in the first minute's 300 canary requests: 0.67 %, within 1 %.
    QVERIFY(feed(judge, 1, 59, [](int t) { return minuteSecond(t, 2); }).isEmpty());
    QCOMPARE(judge.measurements(), 0);
    QVERIFY(!judge.add(minuteSecond(60, 2)));
    QCOMPARE(judge.measurements(), 1);
    QVERIFY(judge.lastMeasurement());
    const Measurement &first = *judge.lastMeasurement();
    QCOMPARE(toString(first.verdict), QStringLiteral("pass"));
    QCOMPARE(first.canaryRequests, qint64(300));
    QCOMPARE(first.baselineRequests, qint64(95 * 60));
    QCOMPARE(first.at, fromMSecsSinceEpoch(60'000));
    QVERIFY(std::abs(*first.canary - 2.0 / 300) < 1e-12);
    QCOMPARE(first.why, QStringLiteral("0.67 % ≤ 1.00 %"));

    // Four in the next: 1.33 %, a failure, but one of three allowed.
    QVERIFY(feed(judge, 61, 120, [](int t) { return minuteSecond(t, 4); }).isEmpty());
    QCOMPARE(judge.measurements(), 2);
    QCOMPARE(judge.failures(), 1);
    QCOMPARE(toString(judge.lastMeasurement()->verdict), QStringLiteral("fail"));
    QCOMPARE(toString(judge.decision()), QStringLiteral("continue"));
}

void TestJudgeStream::thresholdRollsBackAtTheFailureLimit()
{
    ThresholdStreamJudge judge(gate());
    // Failing, passing, failing, failing minutes: failures count within the stream, not in a
    // row, as a workspace gate counts them within a stage; the third rolls back.
    const QList<qint64> errorsPerMinute{4, 0, 5, 4, 0};
    const QList<DecisionChange> changes = feed(
        judge, 1, 300, [&](int t) { return minuteSecond(t, errorsPerMinute.at((t - 1) / 60)); });
    QCOMPARE(changes.size(), 1);
    QCOMPARE(changes.constFirst().t, 240.0);
    QCOMPARE(toString(changes.constFirst().decision), QStringLiteral("rollback"));
    QCOMPARE(changes.constFirst().why,
             QStringLiteral("error rate failed 3 of 3 allowed measurements; the last, over 300 "
                            "canary requests: 1.33 % > 1.00 %"));
    QCOMPARE(judge.failures(), 3);
    // Nothing after the rollback is measured.
    QCOMPARE(judge.measurements(), 4);
    QCOMPARE(toString(judge.decision()), QStringLiteral("rollback"));
}

void TestJudgeStream::thresholdThinIntervalIsInconclusive()
{
    ThresholdStreamJudge judge(gate(QStringLiteral("<= 1%"), 1));
    // 60 canary requests, all of them failing, are fewer than the 100 a measurement needs.
    QVERIFY(feed(judge, 1, 60, [](int t) {
                StreamInterval interval;
                interval.t = t;
                interval.baselineRequests = 99;
                interval.canaryRequests = 1;
                interval.canaryErrors = 1;
                return interval;
            }).isEmpty());
    QCOMPARE(judge.measurements(), 1);
    QCOMPARE(toString(judge.lastMeasurement()->verdict), QStringLiteral("inconclusive"));
    QCOMPARE(judge.lastMeasurement()->why, QStringLiteral("canary served 60 requests, needs 100"));
    QCOMPARE(judge.failures(), 0);
}

void TestJudgeStream::thresholdIntervalClosedByALaterLine()
{
    ThresholdStreamJudge judge(gate(QStringLiteral("<= 1%"), 1));
    StreamInterval early;
    early.t = 30;
    early.baselineRequests = 3000;
    early.canaryRequests = 150;
    early.canaryErrors = 3; // 2 %
    QVERIFY(!judge.add(early));
    QCOMPARE(judge.measurements(), 0);
    // The next line is in the third minute: the first is over, and measured at its end.
    StreamInterval late = early;
    late.t = 150;
    late.canaryErrors = 0;
    const std::optional<DecisionChange> change = judge.add(late);
    QVERIFY(change);
    QCOMPARE(change->t, 60.0);
    QCOMPARE(toString(change->decision), QStringLiteral("rollback"));
    QCOMPARE(judge.measurements(), 1);
    QCOMPARE(judge.lastMeasurement()->at, fromMSecsSinceEpoch(60'000));
    QCOMPARE(judge.lastMeasurement()->canaryRequests, qint64(150));
}

void TestJudgeStream::thresholdFractionalTimesAndIntervals()
{
    ThresholdStreamJudge judge(gate(QStringLiteral("<= 1%"), 1, 10s, 10));
    QList<DecisionChange> changes;
    // Lines every 2.5 s: four make an interval of 10 s.
    for (int i = 1; i <= 8; ++i) {
        StreamInterval interval;
        interval.t = 2.5 * i;
        interval.baselineRequests = 50;
        interval.canaryRequests = 5;
        interval.canaryErrors = i == 8 ? 1 : 0; // 1 of 20 in the second interval
        if (const auto change = judge.add(interval))
            changes.append(*change);
        QCOMPARE(judge.measurements(), i / 4);
    }
    QCOMPARE(changes.size(), 1);
    QCOMPARE(changes.constFirst().t, 20.0);
    QCOMPARE(judge.lastMeasurement()->canaryRequests, qint64(20));
}

void TestJudgeStream::thresholdRelativeBound()
{
    ThresholdStreamJudge judge(gate(QStringLiteral("<= 2 x baseline"), 1));
    // The baseline errs at 1 %, the canary at 1.67 %: within twice the baseline.
    QVERIFY(feed(judge, 1, 60, [](int t) {
                StreamInterval interval = minuteSecond(t, 5);
                interval.baselineErrors = t % 60 == 0 ? 57 : 0;
                return interval;
            }).isEmpty());
    QCOMPARE(toString(judge.lastMeasurement()->verdict), QStringLiteral("pass"));
    QCOMPARE(judge.lastMeasurement()->limit, std::optional<double>(2 * (57.0 / 5700)));
    // Without baseline errors the same canary fails.
    QCOMPARE(feed(judge, 61, 120, [](int t) { return minuteSecond(t, 5); }).size(), 1);
    QCOMPARE(toString(judge.decision()), QStringLiteral("rollback"));
}

void TestJudgeStream::badBoundIsNamed()
{
    const auto unit = errorRateGate(QStringLiteral("<= 1 kg"), 100, 3, 1min);
    QVERIFY(std::holds_alternative<QString>(unit));
    QCOMPARE(std::get<QString>(unit),
             QStringLiteral("bound '<= 1 kg': 'kg' is not a unit of this metric; write a ratio "
                            "such as 0.5% or 0.005"));
    const auto comparison = errorRateGate(QStringLiteral("1%"), 100, 3, 1min);
    QVERIFY(std::holds_alternative<QString>(comparison));
    QVERIFY2(std::get<QString>(comparison)
                 .startsWith(QLatin1String("bound '1%': a bound starts with <, <=, > or >=")),
             qPrintable(std::get<QString>(comparison)));
    const auto good = errorRateGate(QStringLiteral("<= 1%"), 100, 4, 1min);
    QVERIFY(std::holds_alternative<GateSpec>(good));
    const GateSpec &spec = std::get<GateSpec>(good);
    QCOMPARE(spec.metric.name, QStringLiteral("error_rate"));
    QCOMPARE(spec.bound.offset, 0.01);
    QCOMPARE(spec.failureLimit, 4);
    QCOMPARE(spec.minRequests, qint64(100));
    QCOMPARE(spec.interval, Duration(60'000));
}

void TestJudgeStream::sharedIncidentDoesNotBlameTheCanary()
{
    // 20 minutes in which both arms err five times as often from minute 10 to minute 15.
    const auto stream = [](int t) { return second(t, 1, t > 600 && t <= 900 ? 5 : 1); };
    SequentialStreamJudge sequential{SequentialSettings{}};
    const QList<DecisionChange> changes = feed(sequential, 1, 1200, stream);
    for (const DecisionChange &change : changes)
        QVERIFY2(change.decision != JudgeDecision::Rollback, qPrintable(change.why));
    QCOMPARE(toString(sequential.decision()), QStringLiteral("promote"));
    QCOMPARE(sequential.reading().events.size(), 1);
    const EventReading &errors = sequential.reading().events.constFirst();
    QVERIFY2(errors.regressionE < 1, qPrintable(describe(errors)));
    QVERIFY(errors.ratio.lower && errors.ratio.upper);
    QVERIFY2(*errors.ratio.lower < 1 && *errors.ratio.upper > 1, qPrintable(describe(errors)));

    // The same stream fails a threshold gate on the canary's error rate alone: 2.3 % in each
    // minute of the incident, the third of them rolling back.
    ThresholdStreamJudge threshold(gate());
    const QList<DecisionChange> thresholdChanges = feed(threshold, 1, 1200, stream);
    QCOMPARE(thresholdChanges.size(), 1);
    QCOMPARE(thresholdChanges.constFirst().t, 780.0);
}

void TestJudgeStream::tenfoldRegressionRollsBackWithinSeconds()
{
    SequentialStreamJudge judge{SequentialSettings{}};
    const QList<DecisionChange> changes = feed(judge, 1, 120, [](int t) { return second(t, 10); });
    QCOMPARE(changes.size(), 1);
    const DecisionChange &rollback = changes.constFirst();
    QCOMPARE(toString(rollback.decision), QStringLiteral("rollback"));
    QVERIFY2(rollback.t <= 36, qPrintable(formatStreamTime(rollback.t)));
    QVERIFY2(rollback.why.startsWith(QLatin1String("errors: ")), qPrintable(rollback.why));
    QVERIFY2(rollback.why.contains(QLatin1String("regression")), qPrintable(rollback.why));
    QCOMPARE(rollback.why, describe(judge.reading()));
    const EventReading &errors = judge.reading().events.constFirst();
    QVERIFY(errors.regressionE >= errors.regressionNeeded);
    QCOMPARE(errors.regressionNeeded, 20.0);
    QVERIFY(errors.ratio.lower && *errors.ratio.lower > 1);
}

void TestJudgeStream::rollbackIsFinal()
{
    SequentialStreamJudge judge{SequentialSettings{}};
    const QList<DecisionChange> changes = feed(judge, 1, 120, [](int t) { return second(t, 10); });
    QCOMPARE(changes.size(), 1);
    const QString atRollback = describe(judge.reading());
    // An hour of a canary that never errs changes nothing.
    QVERIFY(feed(judge, 121, 3720, [](int t) { return second(t, 0); }).isEmpty());
    QCOMPARE(toString(judge.decision()), QStringLiteral("rollback"));
    QCOMPARE(describe(judge.reading()), atRollback);
}

void TestJudgeStream::regressionOverridesPromote()
{
    SequentialStreamJudge judge{SequentialSettings{}};
    // A canary as good as its baseline until minute 20, then ten times worse.
    const QList<DecisionChange> changes
        = feed(judge, 1, 1800, [](int t) { return t <= 1200 ? second(t) : second(t, 10); });
    QCOMPARE(changes.size(), 2);
    QCOMPARE(toString(changes.at(0).decision), QStringLiteral("promote"));
    QVERIFY2(changes.at(0).t <= 1200, qPrintable(formatStreamTime(changes.at(0).t)));
    QVERIFY2(changes.at(0).why.contains(QLatin1String("safe to promote")),
             qPrintable(changes.at(0).why));
    QCOMPARE(toString(changes.at(1).decision), QStringLiteral("rollback"));
    QVERIFY(changes.at(1).t > 1200);
}

void TestJudgeStream::slowRequestsSplitAlpha()
{
    SequentialStreamJudge judge{SequentialSettings{}};
    // Errors as the baseline's; the canary's slow requests ten times as frequent as the
    // baseline's 1 %.
    const QList<DecisionChange> changes = feed(judge, 1, 300, [](int t) {
        StreamInterval interval = second(t);
        interval.slow = SlowCounts{evenly(t, 95, 100), evenly(t, 50, 100)};
        return interval;
    });
    QVERIFY(judge.evidence());
    QCOMPARE(judge.evidence()->events.size(), 2);
    QCOMPARE(changes.size(), 1);
    QCOMPARE(toString(changes.constFirst().decision), QStringLiteral("rollback"));
    QVERIFY2(changes.constFirst().why.startsWith(QLatin1String("slow requests: ")),
             qPrintable(changes.constFirst().why));
    // Each event's regression test has half of alpha.
    for (const EventReading &event : judge.reading().events)
        QCOMPARE(event.regressionNeeded, 40.0);
}

QTEST_APPLESS_MAIN(TestJudgeStream)
#include "tst_judgestream.moc"
