// Cold start: wall time from launching the signalbox binary to its main window's first paint on
// the demo workspace, as a user would wait for it (process start, Qt start-up, workspace load,
// first layout and paint, exit).

#include "benchstats.h"

#include <QCoreApplication>
#include <QElapsedTimer>
#include <QProcess>
#include <QTemporaryDir>

#include <cstdlib>

namespace {

constexpr int defaultRuns = 5;
constexpr double targetMedianMs = 400;
constexpr int timeoutMs = 30'000;

// Returns the elapsed milliseconds, or a negative value after printing why the run failed.
double runOnce(const QProcessEnvironment &environment)
{
    QProcess process;
    process.setProcessEnvironment(environment);
    // Its output is kept for when a run fails; Qt's start-up chatter would bury the figures.
    process.setProcessChannelMode(QProcess::MergedChannels);
    QElapsedTimer timer;
    timer.start();
    process.start(QStringLiteral(SIGNALBOX_BINARY), {QStringLiteral("--quit-after-first-paint")});
    if (!process.waitForFinished(timeoutMs)) {
        std::fprintf(stderr, "bench_cold_start: %s did not finish within %d ms: %s\n",
                     SIGNALBOX_BINARY, timeoutMs, qPrintable(process.errorString()));
        process.kill();
        process.waitForFinished();
        std::fprintf(stderr, "%s", process.readAll().constData());
        return -1;
    }
    const double elapsed = double(timer.nsecsElapsed()) / 1e6;
    if (process.exitStatus() != QProcess::NormalExit || process.exitCode() != 0) {
        std::fprintf(
            stderr, "bench_cold_start: %s --quit-after-first-paint failed (%s, exit code %d)\n",
            SIGNALBOX_BINARY, process.exitStatus() == QProcess::NormalExit ? "exited" : "crashed",
            process.exitCode());
        std::fprintf(stderr, "%s", process.readAll().constData());
        return -1;
    }
    return elapsed;
}

} // namespace

int main(int argc, char **argv)
{
    QCoreApplication app(argc, argv);
    const int runs = argc > 1 ? std::max(1, std::atoi(argv[1])) : defaultRuns;

    char method[160];
    std::snprintf(method, sizeof method,
                  "the median of %d runs after 1 warm-up run (file cache warm)", runs);
    sb::bench::printHeader("bench_cold_start", method);

    // A fresh configuration, data and cache home, so saved window layouts and whatever the user
    // keeps there neither help nor hurt the figure.
    QTemporaryDir home;
    if (!home.isValid()) {
        std::fprintf(stderr, "bench_cold_start: no temporary directory: %s\n",
                     qPrintable(home.errorString()));
        return 1;
    }
    QProcessEnvironment environment = QProcessEnvironment::systemEnvironment();
    environment.insert(QStringLiteral("QT_QPA_PLATFORM"), QStringLiteral("offscreen"));
    environment.insert(QStringLiteral("XDG_CONFIG_HOME"), home.filePath(QStringLiteral("config")));
    environment.insert(QStringLiteral("XDG_DATA_HOME"), home.filePath(QStringLiteral("data")));
    environment.insert(QStringLiteral("XDG_CACHE_HOME"), home.filePath(QStringLiteral("cache")));

    // The first run pays for loading libraries and fonts from disk; it is not counted.
    if (runOnce(environment) < 0)
        return 1;

    std::vector<double> times;
    for (int run = 1; run <= runs; ++run) {
        const double elapsed = runOnce(environment);
        if (elapsed < 0)
            return 1;
        std::printf("# run %d: %.1f ms\n", run, elapsed);
        times.push_back(elapsed);
    }
    sb::bench::printFigure("cold_start_median_ms", sb::bench::median(times), 1);
    sb::bench::printFigure("cold_start_min_ms", sb::bench::percentile(times, 0), 1);
    sb::bench::printFigure("cold_start_max_ms", sb::bench::percentile(times, 100), 1);
    sb::bench::printFigure("cold_start_median_target_ms", targetMedianMs, 0);
    return 0;
}
