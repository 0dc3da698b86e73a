// Live refresh at scale: how long one snapshot of a 10,000-instance fleet takes to reach the
// screen, through the same MainWindow::applySnapshot the workspace session calls.

#include "adapterregistry.h"
#include "benchstats.h"
#include "clock.h"
#include "mainwindow.h"
#include "syntheticfleet.h"

#include <QApplication>

#include <chrono>
#include <cstdlib>

namespace {

constexpr int defaultWarmupTicks = 50;
constexpr int defaultMeasuredTicks = 1000;
constexpr double targetP99Ms = 8;

double millisecondsSince(std::chrono::steady_clock::time_point start)
{
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
        .count();
}

} // namespace

int main(int argc, char **argv)
{
    // The figure is defined offscreen, so a developer's desktop does not change what it means.
    qputenv("QT_QPA_PLATFORM", "offscreen");
    QApplication app(argc, argv);

    const int measuredTicks = argc > 1 ? std::max(1, std::atoi(argv[1])) : defaultMeasuredTicks;
    const int warmupTicks = argc > 2 ? std::max(0, std::atoi(argv[2])) : defaultWarmupTicks;

    char method[160];
    std::snprintf(method, sizeof method, "percentiles of %d ticks after %d warm-up ticks",
                  measuredTicks, warmupTicks);
    sb::bench::printHeader("bench_live_refresh", method);

    sb::bench::SyntheticFleet fleet;
    sb::AdapterRegistry registry;
    sb::VirtualClock clock(fleet.snapshot().at);
    sb::MainWindow window(registry, &clock);
    window.setRemembersState(false);
    window.resize(1440, 900);
    window.applySnapshot(fleet.snapshot());
    window.show();
    QCoreApplication::processEvents();
    if (!window.selectService(fleet.focusService())) {
        std::fprintf(stderr, "bench_live_refresh: could not select %s\n",
                     qPrintable(fleet.focusService().id()));
        return 1;
    }
    window.repaint();
    QCoreApplication::processEvents();

    std::printf("# %d services, %d instances, %.0f %% of instances change state per tick; "
                "selected %s\n",
                int(fleet.snapshot().services.size()), fleet.instanceCount(),
                100 * fleet.options().changeFraction,
                qPrintable(fleet.focusService().id()));

    // Per tick: the whole refresh, and its phases, so a miss shows where the time went.
    struct Phases {
        std::vector<double> total, apply, paint, layout, repaint, events;
    } full, dirtyOnly;
    const auto record = [](std::vector<double> &series, double value) {
        series.push_back(value);
    };
    for (int tick = 0; tick < warmupTicks + measuredTicks; ++tick) {
        // Generating the next snapshot is the adapters' work, not the console's: untimed.
        fleet.tick();
        clock.advanceTo(fleet.snapshot().at);

        const auto start = std::chrono::steady_clock::now();
        window.applySnapshot(fleet.snapshot());
        const double applied = millisecondsSince(start);
        // Layouts first, so the repaint draws the settled geometry once instead of twice; then
        // a synchronous repaint of everything visible into the offscreen backing store, which
        // also consumes the regions the models' updates marked dirty; then whatever is left.
        QCoreApplication::sendPostedEvents(nullptr, QEvent::LayoutRequest);
        const double laidOut = millisecondsSince(start);
        window.repaint();
        const double repainted = millisecondsSince(start);
        QCoreApplication::processEvents();
        const double elapsed = millisecondsSince(start);

        if (tick >= warmupTicks) {
            record(full.total, elapsed);
            record(full.apply, applied);
            record(full.paint, elapsed - applied);
            record(full.layout, laidOut - applied);
            record(full.repaint, repainted - laidOut);
            record(full.events, elapsed - repainted);
        }
    }

    // For comparison only: what the running console does, where Qt repaints just the regions
    // the models and labels marked dirty instead of the whole window.
    const int dirtyTicks = std::max(1, measuredTicks / 4);
    for (int tick = 0; tick < dirtyTicks; ++tick) {
        fleet.tick();
        clock.advanceTo(fleet.snapshot().at);
        const auto start = std::chrono::steady_clock::now();
        window.applySnapshot(fleet.snapshot());
        QCoreApplication::processEvents();
        record(dirtyOnly.total, millisecondsSince(start));
    }

    using sb::bench::percentile;
    using sb::bench::printFigure;
    printFigure("live_refresh_p50_ms", percentile(full.total, 50));
    printFigure("live_refresh_p90_ms", percentile(full.total, 90));
    printFigure("live_refresh_p99_ms", percentile(full.total, 99));
    printFigure("live_refresh_max_ms", percentile(full.total, 100));
    printFigure("live_refresh_p99_target_ms", targetP99Ms, 0);
    std::printf("# phases: apply = MainWindow::applySnapshot (models, header, labels); paint = "
                "layout + full repaint + remaining events\n");
    printFigure("live_refresh_apply_p50_ms", percentile(full.apply, 50));
    printFigure("live_refresh_apply_p99_ms", percentile(full.apply, 99));
    printFigure("live_refresh_paint_p50_ms", percentile(full.paint, 50));
    printFigure("live_refresh_paint_p99_ms", percentile(full.paint, 99));
    printFigure("live_refresh_layout_p99_ms", percentile(full.layout, 99));
    printFigure("live_refresh_repaint_p99_ms", percentile(full.repaint, 99));
    printFigure("live_refresh_events_p99_ms", percentile(full.events, 99));
    std::printf("# for comparison, %d ticks repainting only dirty regions, as the live console "
                "does\n",
                dirtyTicks);
    printFigure("live_refresh_dirty_only_p50_ms", percentile(dirtyOnly.total, 50));
    printFigure("live_refresh_dirty_only_p99_ms", percentile(dirtyOnly.total, 99));
    return 0;
}
