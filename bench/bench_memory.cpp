// Resident memory with the 10,000-instance fleet on screen. A process of its own, so the other
// benchmarks' allocations do not count.

#include "benchconsole.h"
#include "benchstats.h"
#include "syntheticfleet.h"

#include <QApplication>
#include <QFile>

#include <optional>

namespace {

constexpr double targetResidentMb = 150;

// A "VmRSS:    123456 kB" line of /proc/self/status, in MiB.
std::optional<double> statusFieldMb(const QByteArray &status, const QByteArray &field)
{
    for (const QByteArray &line : status.split('\n')) {
        if (!line.startsWith(field + ':'))
            continue;
        const QList<QByteArray> parts = line.mid(field.size() + 1).simplified().split(' ');
        bool ok = false;
        const double kilobytes = parts.value(0).toDouble(&ok);
        if (ok)
            return kilobytes / 1024.0;
    }
    return std::nullopt;
}

} // namespace

int main(int argc, char **argv)
{
    qputenv("QT_QPA_PLATFORM", "offscreen");
    QApplication app(argc, argv);
    sb::bench::printHeader("bench_memory",
                           "single readings of one process, which vary by a few MB between runs");

    // The generator stays alive: it stands for the workspace session, which keeps the snapshot
    // it hands the window, and implicit sharing lets the two hold one copy as they do there.
    sb::bench::SyntheticFleet fleet;
    sb::bench::BenchConsole console(fleet);
    // A few live refreshes, so the models have diffed and the views painted real updates.
    for (int tick = 0; tick < 3; ++tick) {
        console.window.applySnapshot(console.nextSnapshot());
        console.window.repaint();
        QCoreApplication::processEvents();
    }
    std::printf("# %d services, %d instances applied and painted at 1440x900\n",
                int(fleet.snapshot().services.size()), fleet.instanceCount());

    QFile file(QStringLiteral("/proc/self/status"));
    if (!file.open(QIODevice::ReadOnly)) {
        std::fprintf(stderr, "bench_memory: cannot read /proc/self/status: %s\n",
                     qPrintable(file.errorString()));
        return 1;
    }
    const QByteArray status = file.readAll();
    const auto resident = statusFieldMb(status, "VmRSS");
    const auto peak = statusFieldMb(status, "VmHWM");
    if (!resident || !peak) {
        std::fprintf(stderr, "bench_memory: no VmRSS or VmHWM in /proc/self/status\n");
        return 1;
    }
    sb::bench::printFigure("resident_memory_mb", *resident, 1);
    sb::bench::printFigure("peak_memory_mb", *peak, 1);
    sb::bench::printFigure("resident_memory_target_mb", targetResidentMb, 0);
    return 0;
}
