// Quantiles from histogram buckets, estimated as Prometheus' histogram_quantile() does.

#include "histogram.h"

#include <QTest>

#include <cmath>
#include <optional>

using namespace sb;

class TestHistogram : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void quantiles_data();
    void quantiles();
    void noDataIsNotZero();
    void slowerThanCountsOnlyAtABound_data();
    void slowerThanCountsOnlyAtABound();
    void slowerThanAgreesWithTheQuantiles();
};

void TestHistogram::quantiles_data()
{
    QTest::addColumn<QList<qint64>>("cumulative"); // buckets le=10, 20, 50, +Inf
    QTest::addColumn<double>("q");
    QTest::addColumn<double>("expectedMs");

    // 100 requests: 50 under 10 ms, 30 in (10, 20], 15 in (20, 50], 5 above 50.
    const QList<qint64> counts{50, 80, 95, 100};
    QTest::newRow("median at a bucket's upper edge") << counts << 0.5 << 10.0;
    QTest::newRow("interpolated in the first bucket, from 0") << counts << 0.25 << 5.0;
    QTest::newRow("interpolated in the second bucket") << counts << 0.65 << 15.0;
    QTest::newRow("p90 in the third bucket") << counts << 0.9 << 40.0;
    QTest::newRow("p99 in +Inf answers the highest finite bound") << counts << 0.99 << 50.0;
}

void TestHistogram::quantiles()
{
    QFETCH(QList<qint64>, cumulative);
    QFETCH(double, q);
    QFETCH(double, expectedMs);
    const LatencyHistogram histogram{{10, 20, 50}, cumulative};
    QCOMPARE(histogram.quantileMs(q), expectedMs);
}

void TestHistogram::noDataIsNotZero()
{
    QVERIFY(std::isnan(LatencyHistogram{{10, 20}, {0, 0, 0}}.quantileMs(0.99)));
    QVERIFY(std::isnan(LatencyHistogram{}.quantileMs(0.5)));
}

void TestHistogram::slowerThanCountsOnlyAtABound_data()
{
    QTest::addColumn<LatencyHistogram>("histogram");
    QTest::addColumn<double>("boundMs");
    QTest::addColumn<std::optional<qint64>>("slower");

    // As above: 50 under 10 ms, 30 in (10, 20], 15 in (20, 50], 5 above 50.
    const LatencyHistogram counts{{10, 20, 50}, {50, 80, 95, 100}};
    QTest::newRow("first bound") << counts << 10.0 << std::optional<qint64>(50);
    QTest::newRow("middle bound") << counts << 20.0 << std::optional<qint64>(20);
    QTest::newRow("highest bound: the +Inf bucket") << counts << 50.0 << std::optional<qint64>(5);
    QTest::newRow("inside a bucket") << counts << 15.0 << std::optional<qint64>();
    QTest::newRow("below every bound") << counts << 5.0 << std::optional<qint64>();
    QTest::newRow("above every bound") << counts << 100.0 << std::optional<qint64>();
    QTest::newRow("no requests") << LatencyHistogram{{10, 20}, {0, 0, 0}} << 20.0
                                 << std::optional<qint64>(0);
    QTest::newRow("counts missing the +Inf bucket")
        << LatencyHistogram{{10, 20}, {3, 4}} << 10.0 << std::optional<qint64>();
    QTest::newRow("empty") << LatencyHistogram{} << 10.0 << std::optional<qint64>();
}

void TestHistogram::slowerThanCountsOnlyAtABound()
{
    QFETCH(LatencyHistogram, histogram);
    QFETCH(double, boundMs);
    QFETCH(std::optional<qint64>, slower);
    QCOMPARE(histogram.slowerThan(boundMs), slower);
}

void TestHistogram::slowerThanAgreesWithTheQuantiles()
{
    // A bound at or above the p99 has at most 1 % of the requests above it, and one below the
    // p99 more: the p99 lies in the bucket holding the 99th percentile ...
    const QList<QList<qint64>> cases{
        {0, 0, 990, 1000}, {989, 989, 990, 1000}, {0, 995, 1000, 1000}, {100, 991, 1000, 1000}};
    for (const QList<qint64> &cumulative : cases) {
        const LatencyHistogram histogram{{10, 20, 50}, cumulative};
        const double p99 = histogram.quantileMs(0.99);
        const double onePercent = double(histogram.total()) - 0.99 * double(histogram.total());
        for (const double bound : histogram.boundsMs) {
            const qint64 slower = *histogram.slowerThan(bound);
            if (bound >= p99)
                QVERIFY2(double(slower) <= onePercent,
                         qPrintable(QStringLiteral("%1 slower than %2 ms, p99 %3")
                                        .arg(slower)
                                        .arg(bound)
                                        .arg(p99)));
            else
                QVERIFY2(double(slower) > onePercent,
                         qPrintable(QStringLiteral("%1 slower than %2 ms, p99 %3")
                                        .arg(slower)
                                        .arg(bound)
                                        .arg(p99)));
        }
    }
    // ... unless that is the +Inf bucket: then the p99 is the highest bound, and more than 1 %
    // of the requests are slower than it.
    const LatencyHistogram tail{{10, 20, 50}, {50, 80, 95, 100}};
    QCOMPARE(tail.quantileMs(0.99), 50.0);
    QCOMPARE(tail.slowerThan(50), std::optional<qint64>(5));
}

QTEST_GUILESS_MAIN(TestHistogram)
#include "tst_histogram.moc"
