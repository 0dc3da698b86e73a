// A canary release's charts: what setTrace puts on them, decimated for the plot's width without
// losing an extreme, the stage and event markers, and the empty state.

#include "releasecharts.h"
#include "releasetrace.h"
#include "timelineindex.h"
#include "timelineview.h"
#include "timeserieschart.h"

#include <QChart>
#include <QTest>

#include <algorithm>
#include <cmath>

using namespace sb;

namespace {

const TimePoint start = fromMSecsSinceEpoch(1'780'000'000'000);

// One sample a second for `minutes`, stages at 1, 5 and 25 % ten minutes apart, a spike and a
// dip in the canary's error rate so decimation has extremes to keep.
ReleaseTrace syntheticTrace(int minutes, int secondsPerSample = 1)
{
    ReleaseTrace trace;
    trace.startedAt = start;
    const double weights[] = {1, 5, 25};
    for (int stage = 0; stage < 3; ++stage)
        trace.stages.append({start + std::chrono::minutes(10 * stage), stage, weights[stage]});
    for (int second = 0; second <= minutes * 60; second += secondsPerSample) {
        const TimePoint at = start + std::chrono::seconds(second);
        double canary = 0.002 + 0.001 * std::sin(second / 7.0);
        if (second / 60 == 42)
            canary = 0.04;
        if (second / 60 == 13)
            canary = 0;
        trace.canaryErrorRatio.append(at, canary);
        trace.baselineErrorRatio.append(at, 0.002 + 0.0002 * std::cos(second / 5.0));
        trace.errorRatioLimit.append(at, 0.01);
        trace.canaryP99Ms.append(at, 210 + 15 * std::sin(second / 3.0));
        trace.baselineP99Ms.append(at, 205 + 5 * std::cos(second / 4.0));
        trace.p99Limit.append(at, 250);
    }
    return trace;
}

QPointF inChart(const QPointF &point, double scale)
{
    return {(point.x() - double(toMSecsSinceEpoch(start))) / 60'000, point.y() * scale};
}

// A chart just shown is laid out by a posted event, and decimates once it knows its width.
bool laidOut(const TimeSeriesChart *chart)
{
    return chart->chart()->plotArea().width() > 0 && !chart->shownPoints(0).isEmpty();
}

double lowest(const QList<QPointF> &points)
{
    return std::min_element(points.cbegin(), points.cend(),
                            [](auto a, auto b) { return a.y() < b.y(); })
        ->y();
}

ReleaseEvent releaseEvent(ReleaseEvent::Kind kind, int seconds, const char *reason,
                          const QString &actor = automaticActor)
{
    ReleaseEvent e;
    e.at = start + std::chrono::seconds(seconds);
    e.kind = kind;
    e.actor = actor;
    e.reason = QString::fromUtf8(reason);
    return e;
}

double highest(const QList<QPointF> &points)
{
    return std::max_element(points.cbegin(), points.cend(),
                            [](auto a, auto b) { return a.y() < b.y(); })
        ->y();
}

} // namespace

class TestReleaseCharts : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void init();
    void cleanup();
    void emptyUntilTheFirstSample();
    void seriesNamedForTheVersions();
    void denseSeriesAreDecimatedKeepingEndsAndExtremes();
    void sparseSeriesAreShownWhole();
    void markersForEachStageAndTheEnd();
    void eventMarkersForWhatHappened();
    void hundredMinutesFitTheTimeAxis();
    void clearShowsTheEmptyStateAgain();

private:
    std::unique_ptr<ReleaseCharts> m_charts;
};

void TestReleaseCharts::init()
{
    m_charts = std::make_unique<ReleaseCharts>();
    m_charts->resize(760, 260);
    m_charts->show();
    QVERIFY(QTest::qWaitForWindowExposed(m_charts.get()));
}

void TestReleaseCharts::cleanup()
{
    m_charts.reset();
}

void TestReleaseCharts::emptyUntilTheFirstSample()
{
    QVERIFY(m_charts->isEmpty());
    QCOMPARE(m_charts->emptyText(), QStringLiteral("No metrics yet"));

    ReleaseTrace trace;
    trace.startedAt = start;
    trace.stages.append({start, 0, 1});
    m_charts->setTrace(trace, QStringLiteral("2.4.0"), QStringLiteral("2.3.1"));
    QVERIFY(m_charts->isEmpty());

    trace.canaryP99Ms.append(start, 200);
    m_charts->setTrace(trace, QStringLiteral("2.4.0"), QStringLiteral("2.3.1"));
    QVERIFY(!m_charts->isEmpty());
}

void TestReleaseCharts::seriesNamedForTheVersions()
{
    m_charts->setTrace(syntheticTrace(5), QStringLiteral("2.4.0"), QStringLiteral("2.3.1"));
    for (TimeSeriesChart *chart : {m_charts->errorRateChart(), m_charts->latencyChart()}) {
        QCOMPARE(chart->seriesCount(), 3);
        QCOMPARE(chart->seriesName(ReleaseCharts::Canary), QStringLiteral("canary 2.4.0"));
        QCOMPARE(chart->seriesName(ReleaseCharts::Baseline), QStringLiteral("baseline 2.3.1"));
        QCOMPARE(chart->seriesName(ReleaseCharts::Limit), QStringLiteral("limit"));
    }
    QCOMPARE(m_charts->errorRateChart()->title(), QStringLiteral("Error rate"));
    QCOMPARE(m_charts->latencyChart()->title(), QStringLiteral("p99 latency"));
}

void TestReleaseCharts::denseSeriesAreDecimatedKeepingEndsAndExtremes()
{
    const ReleaseTrace trace = syntheticTrace(100);
    m_charts->setTrace(trace, QStringLiteral("2.4.0"), QStringLiteral("2.3.1"));
    TimeSeriesChart *chart = m_charts->errorRateChart();
    QTRY_VERIFY(laidOut(chart));
    const int plotWidth = int(std::ceil(chart->chart()->plotArea().width()));
    QVERIFY(plotWidth > 100);

    const QList<QPointF> &given = trace.canaryErrorRatio.points();
    QCOMPARE(chart->seriesPoints(ReleaseCharts::Canary), given);
    QVERIFY(given.size() > 2 * plotWidth + 2);
    const QList<QPointF> shown = chart->shownPoints(ReleaseCharts::Canary);
    QVERIFY2(shown.size() <= 2 * plotWidth + 2, qPrintable(QString::number(shown.size())));
    QVERIFY(shown.size() >= plotWidth / 2);
    QCOMPARE(shown.first(), inChart(given.first(), 100));
    QCOMPARE(shown.last(), inChart(given.last(), 100));
    QCOMPARE(lowest(shown), lowest(given) * 100);
    QCOMPARE(highest(shown), highest(given) * 100);
    QVERIFY(
        std::is_sorted(shown.cbegin(), shown.cend(), [](auto a, auto b) { return a.x() < b.x(); }));

    // The value axis starts at zero and holds every series, the limit included.
    const QPointF yRange = chart->yRange();
    QCOMPARE(yRange.x(), 0.0);
    QVERIFY(yRange.y() >= highest(given) * 100);
    const QPointF latencyRange = m_charts->latencyChart()->yRange();
    QCOMPARE(latencyRange.x(), 0.0);
    QVERIFY(latencyRange.y() >= 250);
}

void TestReleaseCharts::sparseSeriesAreShownWhole()
{
    const ReleaseTrace trace = syntheticTrace(40, 10);
    m_charts->setTrace(trace, QStringLiteral("2.4.0"), QStringLiteral("2.3.1"));
    QTRY_VERIFY(laidOut(m_charts->latencyChart()));
    const QList<QPointF> &given = trace.canaryP99Ms.points();
    const QList<QPointF> shown = m_charts->latencyChart()->shownPoints(ReleaseCharts::Canary);
    QCOMPARE(shown.size(), given.size());
    for (qsizetype i = 0; i < given.size(); ++i)
        QCOMPARE(shown.at(i), inChart(given.at(i), 1));
}

void TestReleaseCharts::markersForEachStageAndTheEnd()
{
    ReleaseTrace trace = syntheticTrace(40);
    m_charts->setTrace(trace, QStringLiteral("2.4.0"), QStringLiteral("2.3.1"));
    const qint64 startMs = toMSecsSinceEpoch(start);
    const QList<TimeSeriesChart::Marker> stages{{startMs, QStringLiteral("1 %")},
                                                {startMs + 600'000, QStringLiteral("5 %")},
                                                {startMs + 1'200'000, QStringLiteral("25 %")}};
    QCOMPARE(m_charts->errorRateChart()->markers(), stages);
    QCOMPARE(m_charts->latencyChart()->markers(), stages);

    trace.endedAt = start + std::chrono::minutes(41);
    m_charts->setTrace(trace, QStringLiteral("2.4.0"), QStringLiteral("2.3.1"));
    QList<TimeSeriesChart::Marker> withEnd = stages;
    withEnd.append({startMs + 41 * 60'000, QStringLiteral("end")});
    QCOMPARE(m_charts->errorRateChart()->markers(), withEnd);
    QCOMPARE(m_charts->latencyChart()->markers(), withEnd);
    QVERIFY(m_charts->latencyChart()->xRange().y() >= 41);
}

void TestReleaseCharts::eventMarkersForWhatHappened()
{
    using Kind = ReleaseEvent::Kind;
    m_charts->setTrace(syntheticTrace(40), QStringLiteral("2.4.0"), QStringLiteral("2.3.1"));
    const QList<ReleaseEvent> events{
        releaseEvent(Kind::Started, 0, "canary of web", QStringLiteral("alice")),
        releaseEvent(Kind::StageStarted, 600, "stage 2"),
        releaseEvent(Kind::GateMeasured, 630, "gate error_rate: pass: 0.2 % ≤ 1 %"),
        releaseEvent(Kind::Paused, 700, "checking the ledger alerts", QStringLiteral("bob")),
        releaseEvent(Kind::Resumed, 820, "unrelated", QStringLiteral("bob")),
        releaseEvent(Kind::GateMeasured, 1500, "gate error_rate: fail: 4.0 % > 1 %"),
        releaseEvent(Kind::GateMeasured, 1530, "gate error_rate: fail: 4.1 % > 1 %"),
        releaseEvent(Kind::GateMeasured, 1560, "gate error_rate: fail: 3.9 % > 1 %"),
        releaseEvent(Kind::Aborted, 1561, "gate error_rate failed 3 of 3 allowed measurements"),
        // After the last sample: the axis reaches it.
        releaseEvent(Kind::RolledBack, 2700, "2.3.1 serves all traffic"),
    };
    m_charts->setEvents(events);

    // Routine progress and passing gates are left to the event list; a gate failing three times
    // in a row says so once.
    const qint64 startMs = toMSecsSinceEpoch(start);
    QList<std::pair<qint64, QString>> shown;
    for (const TimeSeriesChart::EventMarker &marker : m_charts->errorRateChart()->eventMarkers())
        shown.append({(marker.atMs - startMs) / 1000, marker.label});
    QCOMPARE(shown, (QList<std::pair<qint64, QString>>{{700, QStringLiteral("paused")},
                                                       {820, QStringLiteral("resumed")},
                                                       {1500, QStringLiteral("gate failed ×3")},
                                                       {1530, QString()},
                                                       {1560, QString()},
                                                       {1561, QStringLiteral("aborted")},
                                                       {2700, QStringLiteral("rolled back")}}));
    QCOMPARE(m_charts->latencyChart()->eventMarkers(), m_charts->errorRateChart()->eventMarkers());

    // In the timeline's colours, with its glyph, and who did it in the tooltip.
    const QList<TimeSeriesChart::EventMarker> &markers = m_charts->errorRateChart()->eventMarkers();
    const QPalette &pal = m_charts->palette();
    QCOMPARE(markers.at(2).color, timelineCategoryColor(TimelineCategory::GateFail, pal));
    QCOMPARE(markers.at(6).color, timelineCategoryColor(TimelineCategory::Rollback, pal));
    QCOMPARE(markers.at(0).color, timelineCategoryColor(TimelineCategory::Waiting, pal));
    QVERIFY(!markers.at(0).glyph.isNull());
    QVERIFY(markers.at(0).toolTip.contains(QStringLiteral("by bob")));
    QVERIFY(markers.at(0).toolTip.contains(QStringLiteral("checking the ledger alerts")));
    QVERIFY(m_charts->errorRateChart()->xRange().y() >= 45);

    // Hovering a line shows its tooltip; between lines there is none.
    TimeSeriesChart *chart = m_charts->errorRateChart();
    QTRY_VERIFY(laidOut(chart));
    const int y = int(chart->chart()->plotArea().center().y());
    const double x = chart->eventMarkerX(2);
    QVERIFY(!std::isnan(x));
    QVERIFY(chart->eventToolTipAt(QPoint(int(x) + 1, y)).contains(QStringLiteral("4.0 %")));
    QCOMPARE(chart->eventToolTipAt(QPoint(int(chart->eventMarkerX(1) + x) / 2, y)), QString());

    // The same events again change nothing; clearing removes them with the rest.
    m_charts->setEvents(events);
    QCOMPARE(chart->eventMarkers().size(), 7);
    m_charts->clear();
    QVERIFY(chart->eventMarkers().isEmpty());
    QVERIFY(m_charts->latencyChart()->eventMarkers().isEmpty());
}

void TestReleaseCharts::hundredMinutesFitTheTimeAxis()
{
    m_charts->setTrace(syntheticTrace(100), QStringLiteral("2.4.0"), QStringLiteral("2.3.1"));
    for (TimeSeriesChart *chart : {m_charts->errorRateChart(), m_charts->latencyChart()}) {
        const QPointF range = chart->xRange();
        QCOMPARE(range.x(), 0.0);
        QVERIFY2(range.y() >= 100 && range.y() <= 115, qPrintable(QString::number(range.y())));
    }
}

void TestReleaseCharts::clearShowsTheEmptyStateAgain()
{
    m_charts->setTrace(syntheticTrace(10), QStringLiteral("2.4.0"), QStringLiteral("2.3.1"));
    QVERIFY(!m_charts->isEmpty());
    m_charts->clear();
    QVERIFY(m_charts->isEmpty());
    for (TimeSeriesChart *chart : {m_charts->errorRateChart(), m_charts->latencyChart()}) {
        QVERIFY(chart->markers().isEmpty());
        for (int series = 0; series < chart->seriesCount(); ++series)
            QVERIFY(chart->shownPoints(series).isEmpty());
    }
}

QTEST_MAIN(TestReleaseCharts)
#include "tst_releasecharts.moc"
