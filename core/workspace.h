#pragma once

#include "bluegreenengine.h"
#include "canaryplan.h"
#include "diagnostic.h"
#include "fleet.h"
#include "metricdefinition.h"
#include "rollingengine.h"

#include <QHashFunctions>
#include <QList>
#include <QMap>
#include <QString>
#include <QStringList>

#include <yaml-cpp/yaml.h>

#include <optional>

namespace sb {

class YamlMap;

enum class Capability { Fleet, Traffic, Deploy, Metrics };
QString toString(Capability capability); // "fleet", "traffic", "deploy", "metrics"
std::optional<Capability> capabilityFromString(const QString &text);
inline size_t qHash(Capability capability, size_t seed = 0) noexcept
{
    return ::qHash(int(capability), seed);
}
inline constexpr Capability allCapabilities[]
    = {Capability::Fleet, Capability::Traffic, Capability::Deploy, Capability::Metrics};

struct AdapterSpec {
    QString name;
    QString type;
    // Type-specific; the adapter's factory validates it (with the file for its messages).
    YAML::Node settings;
    QString file;
    int line = 0;
};

struct ServiceSpec {
    ServiceKey key;
    Strategy strategy = Strategy::None;
    QString description;
    // Which adapter (by name) serves each capability; a capability may be left unbound.
    QMap<Capability, QString> bindings;
    QString plan;            // canary services: the plan a release uses unless another is chosen
    RollingPlan rolling;     // rolling services: their budgets and deadline
    BlueGreenPlan blueGreen; // blue-green services: their warm window, switch and gates
    int line = 0;

    // True when some capability of the service is bound to the adapter named `adapter`.
    bool isBoundTo(const QString &adapter) const { return bindings.values().contains(adapter); }
};

// A release the console starts by itself, `at` after the workspace opens: for demos and
// rehearsals, so it is accepted only for services whose adapters are all simulated.
struct ScheduledRelease {
    ServiceKey service;
    QString version;
    QString plan; // canaries only
    Duration at{0};
    int line = 0;
};

struct Workspace {
    QString file;      // absolute path it was loaded from
    QByteArray source; // the text it was parsed from, to quote lines in later messages
    QString name;
    // The audit journal's file, from `journal:` (relative to the workspace file); empty for the
    // console's default.
    QString journal;
    // Who operator actions are recorded as, from `operator:`; empty for the OS user.
    QString operatorName;
    QStringList environments;
    QList<AdapterSpec> adapters;
    QList<ServiceSpec> services;
    // Built-in metrics, gates and the playbook plan, with the file's own added or overriding
    // them by name.
    QList<MetricDefinition> metrics;
    QList<GateSpec> gates;
    QList<CanaryPlan> plans;
    QList<ScheduledRelease> releases;

    // Where the journal is kept: `journal:`, else a file per workspace under the application's
    // data folder. Empty for a built-in workspace (a resource): its simulated fleet starts
    // afresh on every run, so a run's history is kept only for that run.
    QString journalPath() const;

    const AdapterSpec *adapter(const QString &name) const;
    const ServiceSpec *service(const ServiceKey &key) const;
    const CanaryPlan *plan(const QString &name) const;
};

// Reads `service` and `environment` from one entry of an adapter's per-service settings. The
// service must be one the workspace defines (else the nearest name is suggested) and bound to
// the adapter `spec` describes; anything else throws DiagnosticError at the entry.
ServiceKey readBoundService(const YamlMap &map, const Workspace &workspace,
                            const AdapterSpec &spec);

} // namespace sb
