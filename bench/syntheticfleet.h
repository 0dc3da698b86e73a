#pragma once

#include "fleet.h"

#include <random>
#include <vector>

namespace sb::bench {

struct SyntheticFleetOptions {
    int serviceNames = 100; // each deployed in every environment
    QStringList environments{QStringLiteral("staging"), QStringLiteral("production")};
    int instancesPerService = 50;
    // Fraction of all instances whose state changes on each tick().
    double changeFraction = 0.05;
    // Fraction of services whose metrics move on each tick().
    double metricsChangeFraction = 0.10;
    Duration tickLength = std::chrono::seconds(1);
    std::uint32_t seed = 20260105;
};

// A deterministic fleet far larger than the demo workspace, for benchmarks: the same seed gives
// the same snapshots, so figures from two runs or two machines describe the same work.
class SyntheticFleet
{
public:
    explicit SyntheticFleet(const SyntheticFleetOptions &options = {});

    const SyntheticFleetOptions &options() const { return m_options; }
    const ConsoleSnapshot &snapshot() const { return m_snapshot; }
    int instanceCount() const;
    // A service that changes on every tick, for benchmarks that keep it selected so the detail
    // views have real work each refresh.
    ServiceKey focusService() const { return m_snapshot.services.constFirst().key; }

    // Moves time one tick on: changeFraction of the instances take their next lifecycle step
    // (the focus service always among them) and some services' metrics drift.
    void tick();

private:
    void build();
    void stepInstance(int service, int instance);
    // An instance picked uniformly from those that are (or are not) Ready; `service` < 0 picks
    // across the whole fleet.
    std::pair<int, int> pick(bool ready, int service);
    void driftMetrics(int service);

    SyntheticFleetOptions m_options;
    std::mt19937 m_random;
    ConsoleSnapshot m_snapshot;
    std::vector<std::uint32_t> m_touchedAt; // per instance, the tick it last changed on
    std::uint32_t m_tick = 0;
};

} // namespace sb::bench
