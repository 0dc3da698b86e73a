// Live refresh at scale: how long one snapshot of a 10,000-instance fleet takes to reach the
// screen, through the same MainWindow::applySnapshot the workspace session calls.

#include "benchconsole.h"
#include "benchstats.h"
#include "instancegridview.h"
#include "syntheticfleet.h"

#include <QApplication>
#include <QTableView>

#include <chrono>
#include <cstdlib>

namespace {

constexpr int defaultWarmupTicks = 50;
constexpr int defaultMeasuredTicks = 1000;
constexpr double targetP99Ms = 8;

} // namespace

int main(int argc, char **argv)
{
    // The figure is defined offscreen, so a developer's desktop does not change what it means.
    qputenv("QT_QPA_PLATFORM", "offscreen");
    QApplication app(argc, argv);

    const auto [measuredTicks, warmupTicks] = sb::bench::readTickCounts(
        argc, argv, "bench_live_refresh", defaultMeasuredTicks, defaultWarmupTicks);

    sb::bench::SyntheticFleet fleet;
    sb::bench::BenchConsole console(fleet);
    sb::MainWindow &window = console.window;
    if (!console.selected()) {
        std::fprintf(stderr, "bench_live_refresh: could not select %s\n",
                     qPrintable(fleet.focusService().id()));
        return 1;
    }

    std::printf("# %d services, %d instances, %.0f %% of instances change state per tick; "
                "selected %s\n",
                int(fleet.snapshot().services.size()), fleet.instanceCount(),
                100 * fleet.options().changeFraction, qPrintable(fleet.focusService().id()));

    // The figure: apply the snapshot, then repaint every visible view in full (the service
    // table, the version table and the instance grid) into the offscreen backing store, then
    // let whatever else the update posted run. Phases show where the time goes.
    QWidget *const views[] = {window.serviceView()->viewport(), window.versionView()->viewport(),
                              window.instanceGrid()};
    struct Series {
        std::vector<double> total, apply, layout, repaint, events;
    } refresh;
    std::vector<double> fullWindow, dirtyOnly;
    for (int tick = 0; tick < warmupTicks + measuredTicks; ++tick) {
        const sb::ConsoleSnapshot &snapshot = console.nextSnapshot();
        const auto start = std::chrono::steady_clock::now();
        window.applySnapshot(snapshot);
        const double applied = sb::bench::millisecondsSince(start);
        // Layouts first, so the views draw the settled geometry once.
        QCoreApplication::sendPostedEvents(nullptr, QEvent::LayoutRequest);
        const double laidOut = sb::bench::millisecondsSince(start);
        // Every visible view dirty in full, then one paint pass, as a frame is drawn: calling
        // repaint() per view would flush the backing store three times.
        for (QWidget *view : views)
            view->update();
        QCoreApplication::sendPostedEvents(nullptr, QEvent::UpdateRequest);
        const double repainted = sb::bench::millisecondsSince(start);
        QCoreApplication::processEvents();
        const double elapsed = sb::bench::millisecondsSince(start);

        if (tick >= warmupTicks) {
            refresh.total.push_back(elapsed);
            refresh.apply.push_back(applied);
            refresh.layout.push_back(laidOut - applied);
            refresh.repaint.push_back(repainted - laidOut);
            refresh.events.push_back(elapsed - repainted);
        }
    }

    // Two bounds for comparison. Worst case: the whole window repainted, menus, filters and
    // status bar included, though none of them changed. Everyday case: what the running console
    // does, where Qt repaints only the regions the models and labels marked dirty.
    const int comparisonTicks = std::max(1, measuredTicks / 4);
    for (int tick = 0; tick < comparisonTicks; ++tick) {
        auto start = std::chrono::steady_clock::now();
        window.applySnapshot(console.nextSnapshot());
        QCoreApplication::sendPostedEvents(nullptr, QEvent::LayoutRequest);
        window.update();
        QCoreApplication::sendPostedEvents(nullptr, QEvent::UpdateRequest);
        QCoreApplication::processEvents();
        fullWindow.push_back(sb::bench::millisecondsSince(start));

        start = std::chrono::steady_clock::now();
        window.applySnapshot(console.nextSnapshot());
        QCoreApplication::processEvents();
        dirtyOnly.push_back(sb::bench::millisecondsSince(start));
    }

    using sb::bench::percentile;
    using sb::bench::printFigure;
    printFigure("live_refresh_p50_ms", percentile(refresh.total, 50));
    printFigure("live_refresh_p90_ms", percentile(refresh.total, 90));
    printFigure("live_refresh_p99_ms", percentile(refresh.total, 99));
    printFigure("live_refresh_max_ms", percentile(refresh.total, 100));
    printFigure("live_refresh_p99_target_ms", targetP99Ms, 0);
    std::printf("# phases (p99): apply = MainWindow::applySnapshot (models, header, labels); "
                "layout; repaint of the three views; remaining events\n");
    printFigure("live_refresh_apply_p99_ms", percentile(refresh.apply, 99));
    printFigure("live_refresh_layout_p99_ms", percentile(refresh.layout, 99));
    printFigure("live_refresh_repaint_p99_ms", percentile(refresh.repaint, 99));
    printFigure("live_refresh_events_p99_ms", percentile(refresh.events, 99));
    std::printf("# for comparison, %d ticks each: the whole window repainted (worst case), and "
                "only dirty regions repainted (the running console)\n",
                comparisonTicks);
    printFigure("live_refresh_full_window_p50_ms", percentile(fullWindow, 50));
    printFigure("live_refresh_full_window_p99_ms", percentile(fullWindow, 99));
    printFigure("live_refresh_dirty_only_p50_ms", percentile(dirtyOnly, 50));
    printFigure("live_refresh_dirty_only_p99_ms", percentile(dirtyOnly, 99));
    return 0;
}
