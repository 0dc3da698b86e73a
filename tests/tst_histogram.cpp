// Quantiles from histogram buckets, estimated as Prometheus' histogram_quantile() does.

#include "histogram.h"

#include <QTest>

#include <cmath>

using namespace sb;

class TestHistogram : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void quantiles_data();
    void quantiles();
    void noDataIsNotZero();
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

QTEST_GUILESS_MAIN(TestHistogram)
#include "tst_histogram.moc"
