#pragma once

#include "fleet.h"
#include "timepoint.h"
#include "workspace.h"

#include <QList>
#include <QMap>
#include <QString>
#include <QStringList>

#include <optional>

namespace sb::sim {

struct VersionSettings {
    QString version;
    int instances = 0;
    std::optional<double> weightPercent; // unset: traffic follows ready instances
    double errorRatio = 0.001;
    double p50Ms = 40;
    double p99Ms = 200;
    double cpuMsPerRequest = 6;
    double memoryMb = 256;
    // Business metric name -> the ratio of requests that convert, e.g. orders_per_request.
    QMap<QString, double> business;
};

struct ServiceSettings {
    ServiceKey service;
    double requestsPerSecond = 100;
    Duration startup{std::chrono::seconds(20)};
    Duration startupJitter{std::chrono::seconds(5)};
    Duration drain{std::chrono::seconds(15)};
    Duration replaceAfter{std::chrono::seconds(30)};
    double failuresPerInstanceHour = 0;
    // What a version costs unless it says otherwise.
    double cpuMsPerRequest = 6;
    double memoryMb = 256;
    // Blue-green: test requests a second sent to each idle colour with ready instances, beside
    // the router, while it points at one colour.
    double smokeRequestsPerSecond = 0;
    QStringList zones;
    QList<VersionSettings> versions;
    QString activeVersion; // blue-green: the colour the router points at
};

// Something an operator would do, played at a simulated time through the adapter's own verbs.
struct ScriptStep {
    enum class Kind { Scale, Weights, Switch };
    Duration at{0};
    ServiceKey service;
    Kind kind = Kind::Scale;
    QString version;               // Scale, Switch
    int instances = 0;             // Scale
    QMap<QString, double> weights; // Weights
    int line = 0;
};

struct Fault {
    enum class Kind {
        Crash,       // `instances` instances of `version` fail: ready ones, then starting ones
        ErrorRate,   // `version`'s error ratio becomes `value` for `duration`
        ErrorFactor, // `version`'s configured error ratio is multiplied by `value` for `duration`
        Latency,     // `version`'s latency is multiplied by `value` for `duration`
        // The next `instances` instances of `version` to finish starting fail, or with
        // `duration` every one finishing within it.
        StartFailure,
        // The service's metrics source answers "unavailable" for `duration`; `version` is unused.
        MetricsOutage,
    };
    Duration at{0};
    // Instead of `at`: the fault begins the first time the version's weight reaches this percent.
    std::optional<double> fromWeightPercent;
    ServiceKey service;
    QString version;
    Kind kind = Kind::Crash;
    int instances = 1;
    double value = 0;
    // Unset: until the end of the run, or for Crash and a counted StartFailure, not timed.
    std::optional<Duration> duration;
    int line = 0;
};

struct SimulatorSettings {
    quint64 seed = 1;
    Duration tick{std::chrono::seconds(1)};
    Duration metricsWindow{std::chrono::seconds(10)};
    QList<ServiceSettings> services; // one per workspace service bound to this adapter
    QList<ScriptStep> script;
    QList<Fault> faults;

    const ServiceSettings *find(const ServiceKey &key) const;
};

// Validates `spec.settings` against the workspace (services named must exist there) and fills
// in defaults for every workspace service bound to this adapter without its own entry. Throws
// DiagnosticError located in spec.file.
SimulatorSettings parseSimulatorSettings(const AdapterSpec &spec, const Workspace &workspace);

} // namespace sb::sim
