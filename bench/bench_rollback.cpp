// The rollback button on a blue-green release after its switch: wall time from
// ReleaseController::rollBack() to the router's switchTo() call. In between the controller
// decides, writes the intent to an SQLite journal on disk (one transaction, synced) on the
// journal's thread, and only then calls the router. The demo workspace runs on the virtual
// clock until payments has switched to 3.9.0; the router is the simulator's, behind a thin
// adapter that notes when switchTo is called.

#include "adapterregistry.h"
#include "benchstats.h"
#include "clock.h"
#include "journal.h"
#include "releasecontroller.h"
#include "rollback.h"
#include "simulator/simulatoradapter.h"
#include "workspacesession.h"

#include <QCoreApplication>
#include <QElapsedTimer>
#include <QTemporaryDir>

#include <cstdlib>
#include <functional>

namespace {

using namespace std::chrono_literals;

constexpr int defaultRuns = 21;
constexpr double targetMs = 50;
const sb::ServiceKey payments{QStringLiteral("payments"), QStringLiteral("production")};
// The demo switches payments at about 110 simulated seconds.
constexpr sb::Duration afterSwitch = 150s;

// The simulator with its router watched: every other verb and signal passes straight through.
class RouterProbe final : public sb::Adapter, public sb::TrafficRouter
{
public:
    explicit RouterProbe(std::unique_ptr<sb::Adapter> inner)
        : Adapter(inner->name(), inner->type())
        , m_inner(std::move(inner))
    {
        connect(m_inner.get(), &Adapter::fleetChanged, this, &Adapter::fleetChanged);
        connect(m_inner.get(), &Adapter::trafficChanged, this, &Adapter::trafficChanged);
        connect(m_inner.get(), &Adapter::metricsChanged, this, &Adapter::metricsChanged);
        connect(m_inner.get(), &Adapter::connectionStateChanged, this,
                [this](sb::ConnectionState state, const QString &detail) {
                    setConnectionState(state, detail);
                });
    }

    std::function<void(const sb::ServiceKey &)> switched;

    sb::FleetSource *fleetSource() override { return m_inner->fleetSource(); }
    sb::TrafficRouter *trafficRouter() override { return this; }
    sb::Deployer *deployer() override { return m_inner->deployer(); }
    sb::MetricsSource *metricsSource() override { return m_inner->metricsSource(); }
    void start() override { m_inner->start(); }

    void traffic(const sb::ServiceKey &service, sb::Callback<sb::TrafficSplit> done) override
    {
        m_inner->trafficRouter()->traffic(service, std::move(done));
    }
    void setWeights(const sb::ServiceKey &service, const QMap<QString, double> &weightPercent,
                    sb::Callback<sb::TrafficSplit> done) override
    {
        m_inner->trafficRouter()->setWeights(service, weightPercent, std::move(done));
    }
    void switchTo(const sb::ServiceKey &service, const QString &version,
                  sb::Callback<sb::TrafficSplit> done) override
    {
        if (switched)
            switched(service);
        m_inner->trafficRouter()->switchTo(service, version, std::move(done));
    }

private:
    std::unique_ptr<sb::Adapter> m_inner;
};

// Lets everything queued happen, the journal's writes included: as signalbox-ctl --simulate
// does, so the simulated timing does not depend on the disk.
void settle(sb::Journal &journal)
{
    for (int i = 0; i < 4; ++i)
        QCoreApplication::processEvents();
    bool done = false;
    journal.run([](sb::JournalStore *) {}, [&done] { done = true; });
    while (!done)
        QCoreApplication::processEvents(QEventLoop::WaitForMoreEvents);
    for (int i = 0; i < 4; ++i)
        QCoreApplication::processEvents();
}

struct Outcome {
    double clickToRouterMs = -1;
    qint64 journalEntries = 0;
};

Outcome runOnce()
{
    sb::AdapterRegistry registry;
    sb::AdapterType simulator = sb::sim::SimulatorAdapter::adapterType();
    simulator.create = [create = simulator.create](const sb::AdapterSpec &spec,
                                                   const sb::AdapterContext &context) {
        return std::unique_ptr<sb::Adapter>(std::make_unique<RouterProbe>(create(spec, context)));
    };
    registry.add(simulator);

    sb::VirtualClock clock(sb::VirtualClock::defaultStart());
    auto opened
        = sb::WorkspaceSession::open(QStringLiteral(":/workspaces/demo.yaml"), registry, &clock);
    if (!opened)
        qFatal("%s", qPrintable(opened.error().toString()));
    std::unique_ptr<sb::WorkspaceSession> session = std::move(opened).value();
    auto *probe
        = static_cast<RouterProbe *>(session->adapterFor(payments, sb::Capability::Traffic));

    QTemporaryDir dir;
    sb::Journal journal(dir.filePath(QStringLiteral("journal.sqlite")));
    bool journalOpen = false;
    QObject::connect(&journal, &sb::Journal::opened, [&journalOpen] { journalOpen = true; });
    QObject::connect(&journal, &sb::Journal::openFailed,
                     [](const QString &error) { qFatal("%s", qPrintable(error)); });
    while (!journalOpen)
        QCoreApplication::processEvents(QEventLoop::WaitForMoreEvents);

    sb::ReleaseController releases(session.get(), QStringLiteral("bench"));
    releases.setJournal(&journal);
    session->start();
    releases.startScheduled();
    settle(journal);
    const sb::TimePoint end = clock.now() + afterSwitch;
    while (clock.now() < end) {
        clock.advance(1s);
        settle(journal);
    }
    const sb::RollbackOption option = releases.rollbackOption(payments);
    if (option.kind != sb::RollbackOption::Kind::Command
        || option.command != sb::ReleaseCommand::SwitchBack)
        qFatal("payments is not after its switch: %s", qPrintable(option.label + option.why));

    bool called = false;
    qint64 elapsedNs = 0;
    QElapsedTimer timer;
    probe->switched = [&](const sb::ServiceKey &service) {
        if (service == payments && !called) {
            elapsedNs = timer.nsecsElapsed();
            called = true;
        }
    };
    Outcome outcome;
    timer.start();
    const auto done = releases.rollBack(payments, QStringLiteral("benchmark"));
    if (!done)
        qFatal("%s", qPrintable(done.error()));
    while (!called)
        QCoreApplication::processEvents(QEventLoop::WaitForMoreEvents);
    outcome.clickToRouterMs = double(elapsedNs) / 1e6;
    settle(journal);
    journal.run(
        [&outcome](sb::JournalStore *store) {
            if (store)
                outcome.journalEntries = store->lastSequence();
        },
        {});
    settle(journal);
    return outcome;
}

} // namespace

int main(int argc, char **argv)
{
    QCoreApplication app(argc, argv);
    const int runs = argc > 1 ? std::max(1, std::atoi(argv[1])) : defaultRuns;
    char method[200];
    std::snprintf(method, sizeof method,
                  "the median and 90th percentile of %d runs, each on a fresh journal file", runs);
    sb::bench::printHeader("bench_rollback", method);

    std::vector<double> clickToRouter;
    Outcome last;
    for (int run = 0; run < runs; ++run) {
        last = runOnce();
        clickToRouter.push_back(last.clickToRouterMs);
    }
    std::printf("# each run: the demo workspace on the virtual clock, %lld journal entries on "
                "disk when payments/production switches back to 3.8.0\n",
                static_cast<long long>(last.journalEntries));
    sb::bench::printFigure("rollback_click_to_router_median_ms", sb::bench::median(clickToRouter));
    sb::bench::printFigure("rollback_click_to_router_p90_ms",
                           sb::bench::percentile(clickToRouter, 90));
    sb::bench::printFigure("rollback_click_to_router_max_ms",
                           *std::max_element(clickToRouter.begin(), clickToRouter.end()));
    sb::bench::printFigure("rollback_click_to_router_target_ms", targetMs, 0);
    return 0;
}
