// Live release charts at scale: four canary releases watched at once, each as the console shows
// one (ReleaseCharts: error rate and p99 latency side by side, canary, baseline and limit in
// each), so 8 charts and 24 series. Every series holds a sliding window of 3,600 one-second
// samples (an hour); each tick appends one sample to every series, drops the oldest, pushes
// every chart and repaints the chart area.

#include "benchstats.h"
#include "releasecharts.h"
#include "releasetrace.h"
#include "timeserieschart.h"

#include <QApplication>
#include <QChartView>
#include <QRandomGenerator>
#include <QVBoxLayout>

#include <chrono>
#include <cstdlib>

namespace {

constexpr int defaultWarmupTicks = 50;
constexpr int defaultMeasuredTicks = 1000;
constexpr double targetP99Ms = 4;
constexpr int releases = 4;
constexpr qsizetype windowPoints = 3600;
constexpr qint64 sampleMs = 1000;
// The console's detail pane at the screenshot size (1440x900) is about 780 pixels wide; four
// releases share its height below the header.
constexpr int areaWidth = 760;
constexpr int areaHeight = 800;

// One series' window and the value it wanders around.
struct Feed {
    sb::TimeSeriesChart *chart;
    int series;
    double level;
    double noise;
    QList<QPointF> points;
};

} // namespace

int main(int argc, char **argv)
{
    // The figure is defined offscreen, so a developer's desktop does not change what it means.
    qputenv("QT_QPA_PLATFORM", "offscreen");
    QApplication app(argc, argv);

    const auto [measuredTicks, warmupTicks] = sb::bench::readTickCounts(
        argc, argv, "bench_release_charts", defaultMeasuredTicks, defaultWarmupTicks);

    QRandomGenerator random(42);
    auto sample = [&random](const Feed &feed) {
        return feed.level + feed.noise * (random.generateDouble() - 0.5);
    };

    QWidget area;
    auto *layout = new QVBoxLayout(&area);
    layout->setContentsMargins(0, 0, 0, 0);
    QList<Feed> feeds;
    const qint64 startMs = 1'780'000'000'000;
    qint64 nowMs = startMs + windowPoints * sampleMs;
    for (int release = 0; release < releases; ++release) {
        auto *charts = new sb::ReleaseCharts(&area);
        layout->addWidget(charts);
        using S = sb::ReleaseCharts::Series;
        sb::TimeSeriesChart *error = charts->errorRateChart();
        sb::TimeSeriesChart *latency = charts->latencyChart();
        const qsizetype first = feeds.size();
        feeds.append({error, S::Canary, 0.0025, 0.0015, {}});
        feeds.append({error, S::Baseline, 0.002, 0.0005, {}});
        feeds.append({error, S::Limit, 0.01, 0, {}});
        feeds.append({latency, S::Canary, 215, 20, {}});
        feeds.append({latency, S::Baseline, 210, 8, {}});
        feeds.append({latency, S::Limit, 252, 10, {}});

        // The first hour goes in through setTrace, as the console shows a release; the ticks
        // then feed the charts directly, since a ReleaseTrace keeps a whole release (thinned as
        // it grows) rather than a sliding window.
        sb::ReleaseTrace trace;
        trace.startedAt = sb::fromMSecsSinceEpoch(startMs);
        const double weights[] = {1, 5, 25, 50};
        for (int stage = 0; stage < 4; ++stage)
            trace.stages.append(
                {trace.startedAt + std::chrono::minutes(15 * stage), stage, weights[stage]});
        sb::TimeSeries *series[]
            = {&trace.canaryErrorRatio, &trace.baselineErrorRatio, &trace.errorRatioLimit,
               &trace.canaryP99Ms,      &trace.baselineP99Ms,      &trace.p99Limit};
        for (sb::TimeSeries *s : series)
            *s = sb::TimeSeries(windowPoints + 1);
        for (qsizetype i = 0; i < windowPoints; ++i) {
            const sb::TimePoint at = sb::fromMSecsSinceEpoch(startMs + i * sampleMs);
            for (int k = 0; k < 6; ++k)
                series[k]->append(at, sample(feeds[first + k]));
        }
        for (int k = 0; k < 6; ++k)
            feeds[first + k].points = series[k]->points();
        charts->setTrace(trace, QStringLiteral("2.4.%1").arg(release),
                         QStringLiteral("2.3.%1").arg(release));
    }
    area.resize(areaWidth, areaHeight);
    area.show();
    QCoreApplication::processEvents();

    std::printf("# %d releases x 2 charts x 3 series = %d series of %lld points in a %dx%d "
                "area; a series draws about %lld of them after decimation\n",
                releases, int(feeds.size()), qlonglong(windowPoints), areaWidth, areaHeight,
                qlonglong(feeds.first().chart->shownPoints(feeds.first().series).size()));

    // Counts the charts' repaints, to show that every tick reaches the screen.
    class PaintCounter : public QObject
    {
    public:
        int paints = 0;

    protected:
        bool eventFilter(QObject *, QEvent *event) override
        {
            paints += event->type() == QEvent::Paint;
            return false;
        }
    } paintCounter;
    const QList<QChartView *> views = area.findChildren<QChartView *>();
    for (QChartView *view : views)
        view->viewport()->installEventFilter(&paintCounter);

    // The figure: push every series, then run what that posted until the event loop is idle, as
    // the console's timer would: the scene turns the new geometry into dirty regions and the
    // window paints them into the offscreen backing store in one pass. That is a live refresh's
    // whole work: painting the area again on top of it would draw every chart twice. Appending to
    // the windows is the data source's work and stays outside the timing.
    struct Phases {
        std::vector<double> total, push, paint;
    } ticks;
    int lastPaints = 0;
    int ticksWithoutPaint = 0;
    for (int tick = 0; tick < warmupTicks + measuredTicks; ++tick, nowMs += sampleMs) {
        for (Feed &feed : feeds) {
            feed.points.removeFirst();
            feed.points.append(QPointF(double(nowMs), sample(feed)));
        }
        const auto start = std::chrono::steady_clock::now();
        for (const Feed &feed : std::as_const(feeds))
            feed.chart->setSeriesPoints(feed.series, feed.points);
        const double pushed = sb::bench::millisecondsSince(start);
        QCoreApplication::sendPostedEvents();
        QCoreApplication::processEvents();
        const double elapsed = sb::bench::millisecondsSince(start);
        if (tick >= warmupTicks) {
            ticks.total.push_back(elapsed);
            ticks.push.push_back(pushed);
            ticks.paint.push_back(elapsed - pushed);
            ticksWithoutPaint += paintCounter.paints - lastPaints < views.size();
        }
        lastPaints = paintCounter.paints;
    }

    using sb::bench::percentile;
    using sb::bench::printFigure;
    printFigure("release_charts_tick_p50_ms", percentile(ticks.total, 50));
    printFigure("release_charts_tick_p90_ms", percentile(ticks.total, 90));
    printFigure("release_charts_tick_p99_ms", percentile(ticks.total, 99));
    printFigure("release_charts_tick_max_ms", percentile(ticks.total, 100));
    printFigure("release_charts_tick_target_p99_ms", targetP99Ms, 0);
    std::printf("# phases: push = setSeriesPoints on all 24 series (decimation, replace() and the "
                "charts' geometry); paint = the posted scene updates and the repaint\n");
    printFigure("release_charts_push_p50_ms", percentile(ticks.push, 50));
    printFigure("release_charts_push_p99_ms", percentile(ticks.push, 99));
    printFigure("release_charts_paint_p50_ms", percentile(ticks.paint, 50));
    printFigure("release_charts_paint_p99_ms", percentile(ticks.paint, 99));
    std::printf("# measured ticks that did not repaint all %d charts (should be 0)\n",
                int(views.size()));
    printFigure("release_charts_ticks_without_repaint", ticksWithoutPaint, 0);
    return 0;
}
