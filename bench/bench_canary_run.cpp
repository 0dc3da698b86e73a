// A full canary on the virtual clock: the playbook's five stages (1 %, 5 %, 25 %, 50 %, then
// 100 %; 90 minutes of bake, about 95 simulated minutes in all) on a simulated service, run
// second by second through the same session, controller, engine and simulator as the console,
// with the adapters' answers delivered between seconds. Wall time from start to success.

#include "adapterregistry.h"
#include "benchstats.h"
#include "builtinadapters.h"
#include "clock.h"
#include "releasecontroller.h"
#include "workspacesession.h"

#include <QCoreApplication>
#include <QElapsedTimer>
#include <QFile>
#include <QTemporaryDir>

#include <cstdlib>

namespace {

constexpr int defaultRuns = 7;
constexpr double targetMs = 1000;
const sb::ServiceKey service{QStringLiteral("checkout"), QStringLiteral("production")};

QByteArray workspace(int seed)
{
    return QStringLiteral(R"(environments: [production]
adapters:
  - name: sim
    type: simulator
    settings:
      seed: %1
      metrics_window: 1m
      services:
        - service: checkout
          environment: production
          requests_per_second: 10000
          versions:
            - {version: 2.3.1, instances: 18, error_rate: 0.2%, p50_ms: 48, p99_ms: 210}
            - {version: 2.4.0, instances: 0, error_rate: 0.2%, p50_ms: 45, p99_ms: 215}
services:
  - {name: checkout, environment: production, strategy: canary, adapter: sim}
)")
        .arg(seed)
        .toUtf8();
}

struct Outcome {
    double wallMs = -1;
    double simulatedMinutes = 0;
    int stagesReached = 0;
    qsizetype events = 0;
};

Outcome runOnce(int seed)
{
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("signalbox.yaml"));
    QFile file(path);
    if (!file.open(QIODevice::WriteOnly) || file.write(workspace(seed)) < 0)
        qFatal("cannot write %s", qPrintable(path));
    file.close();

    sb::AdapterRegistry registry;
    sb::registerBuiltinAdapters(registry);
    sb::VirtualClock clock(sb::VirtualClock::defaultStart());
    auto opened = sb::WorkspaceSession::open(path, registry, &clock);
    if (!opened)
        qFatal("%s", qPrintable(opened.error().toString()));
    std::unique_ptr<sb::WorkspaceSession> session = std::move(opened).value();
    sb::ReleaseController releases(session.get(), QStringLiteral("bench"));
    session->start();
    auto settle = [] {
        for (int i = 0; i < 3; ++i)
            QCoreApplication::processEvents();
    };
    settle();

    QElapsedTimer timer;
    timer.start();
    const sb::TimePoint startedAt = clock.now();
    const auto started = releases.start(service, QStringLiteral("2.4.0"), QString(), QString());
    if (!started)
        qFatal("%s", qPrintable(started.error()));
    const sb::TimePoint limit = startedAt + std::chrono::hours(3);
    while (!releases.release(service)->canary()->status.finished() && clock.now() < limit) {
        clock.advance(std::chrono::seconds(1));
        settle();
    }
    Outcome outcome;
    const auto *release = releases.release(service);
    if (!release->canary()->status.succeeded()) {
        std::fprintf(stderr, "bench_canary_run: seed %d did not succeed: %s\n", seed,
                     qPrintable(release->reason));
        return outcome;
    }
    outcome.wallMs = double(timer.nsecsElapsed()) / 1e6;
    outcome.simulatedMinutes
        = std::chrono::duration<double>(*release->canary()->status.endedAt - startedAt).count()
          / 60;
    outcome.stagesReached = release->canary()->status.stage + 1;
    outcome.events = release->events.size();
    return outcome;
}

} // namespace

int main(int argc, char **argv)
{
    QCoreApplication app(argc, argv);
    const int runs = argc > 1 ? std::max(1, std::atoi(argv[1])) : defaultRuns;
    char method[160];
    std::snprintf(method, sizeof method, "the median of %d runs, one seed each", runs);
    sb::bench::printHeader("bench_canary_run", method);

    std::vector<double> wall;
    std::vector<double> simulated;
    Outcome last;
    for (int seed = 1; seed <= runs; ++seed) {
        const Outcome outcome = runOnce(seed);
        if (outcome.wallMs < 0)
            return 1;
        wall.push_back(outcome.wallMs);
        simulated.push_back(outcome.simulatedMinutes);
        last = outcome;
    }
    std::printf("# each run: the playbook plan, 18 instances at 10,000 req/s (at lower "
                "traffic the threshold gates raise false alarms at 1 %%), one tick a second; "
                "%d stages, %lld events in the last run\n",
                last.stagesReached, static_cast<long long>(last.events));
    sb::bench::printFigure("canary_full_run_simulated_minutes_median", sb::bench::median(simulated),
                           1);
    sb::bench::printFigure("canary_full_run_wall_ms_median", sb::bench::median(wall), 1);
    sb::bench::printFigure("canary_full_run_wall_ms_max",
                           *std::max_element(wall.begin(), wall.end()), 1);
    sb::bench::printFigure("canary_full_run_wall_ms_target", targetMs, 0);
    return 0;
}
