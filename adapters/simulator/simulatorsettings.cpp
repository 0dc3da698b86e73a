#include "simulatorsettings.h"

#include "metricdefinition.h"
#include "yamlreader.h"

#include <QRegularExpression>

#include <cmath>

namespace sb::sim {

namespace {

const QStringList serviceTuningKeys = {
    QStringLiteral("requests_per_second"),
    QStringLiteral("startup"),
    QStringLiteral("startup_jitter"),
    QStringLiteral("drain"),
    QStringLiteral("replace_after"),
    QStringLiteral("failures_per_instance_hour"),
    QStringLiteral("cpu_ms_per_request"),
    QStringLiteral("memory_mb"),
    QStringLiteral("smoke_requests_per_second"),
    QStringLiteral("zones"),
};

constexpr double maxCpuMsPerRequest = 10'000;
constexpr double maxMemoryMb = 1'048'576;

// Reads the keys shared by `defaults:` and each service entry, on top of `base`.
void readTuning(const YamlMap &map, ServiceSettings &settings)
{
    settings.requestsPerSecond
        = map.number("requests_per_second", settings.requestsPerSecond, 0, 1'000'000);
    settings.startup = map.duration("startup", settings.startup);
    settings.startupJitter = map.duration("startup_jitter", settings.startupJitter);
    settings.drain = map.duration("drain", settings.drain);
    settings.replaceAfter = map.duration("replace_after", settings.replaceAfter);
    settings.failuresPerInstanceHour
        = map.number("failures_per_instance_hour", settings.failuresPerInstanceHour, 0, 3600);
    settings.cpuMsPerRequest
        = map.number("cpu_ms_per_request", settings.cpuMsPerRequest, 0, maxCpuMsPerRequest);
    settings.memoryMb = map.number("memory_mb", settings.memoryMb, 1, maxMemoryMb);
    settings.smokeRequestsPerSecond
        = map.number("smoke_requests_per_second", settings.smokeRequestsPerSecond, 0, 1'000'000);
    if (map.has("zones")) {
        settings.zones = map.stringList("zones");
        if (settings.zones.isEmpty())
            failAt(map.file(), map.node("zones"),
                   QStringLiteral("zones must list at least one zone name"));
    }
}

// The version a service listed without `versions` runs.
VersionSettings defaultVersion(const ServiceSettings &service)
{
    VersionSettings version;
    version.version = QStringLiteral("1.0.0");
    version.instances = 4;
    version.cpuMsPerRequest = service.cpuMsPerRequest;
    version.memoryMb = service.memoryMb;
    return version;
}

QMap<QString, double> readBusiness(const YamlMap &version)
{
    QMap<QString, double> business;
    if (!version.has("business"))
        return business;
    const YAML::Node node = version.node("business");
    if (!node.IsMap())
        failAt(version.file(), node,
               QStringLiteral("business must map metric names to ratios of requests, like "
                              "{orders_per_request: 3.1%}"));
    QStringList names;
    for (auto it = node.begin(); it != node.end(); ++it)
        names.append(QString::fromStdString(it->first.Scalar()));
    const YamlMap map(node, version.file(), QStringLiteral("business"), names);
    // Gates name these metrics, so they follow the syntax of metric names.
    static const QRegularExpression validName(QStringLiteral("^[a-z][a-z0-9_]*$"));
    for (auto it = node.begin(); it != node.end(); ++it) {
        const QString name = QString::fromStdString(it->first.Scalar());
        if (!validName.match(name).hasMatch())
            failAt(version.file(), it->first,
                   QStringLiteral("business metric name %1 is not valid: use lower-case letters, "
                                  "digits and '_', starting with a letter, like orders_per_request")
                       .arg(quotedValue(name)));
        if (const MetricDefinition *builtIn = findMetric(builtInMetrics(), name))
            failAt(version.file(), it->first,
                   QStringLiteral("business metric '%1' would hide the built-in metric \"%2\"; "
                                  "give it another name")
                       .arg(name, builtIn->title));
        business.insert(name, map.ratio(name.toStdString().c_str(), 0));
    }
    return business;
}

VersionSettings readVersion(const YAML::Node &node, const QString &file,
                            const ServiceSettings &service)
{
    const YamlMap map(
        node, file, QStringLiteral("a version of simulated service '%1'").arg(service.service.id()),
        {QStringLiteral("version"), QStringLiteral("instances"), QStringLiteral("weight"),
         QStringLiteral("error_rate"), QStringLiteral("p50_ms"), QStringLiteral("p99_ms"),
         QStringLiteral("cpu_ms_per_request"), QStringLiteral("memory_mb"),
         QStringLiteral("business")});
    VersionSettings version;
    version.version = map.requiredString("version");
    version.instances = map.integer("instances", 0, 0, 1000);
    if (map.has("weight"))
        version.weightPercent = map.number("weight", 0, 0, 100);
    version.errorRatio = map.ratio("error_rate", version.errorRatio);
    version.p50Ms = map.number("p50_ms", version.p50Ms, 0.1, 600'000);
    version.p99Ms = map.number("p99_ms", std::max(version.p99Ms, version.p50Ms * 2), 0.1, 600'000);
    if (version.p99Ms <= version.p50Ms)
        failAt(file, map.node("p99_ms"),
               QStringLiteral("p99_ms %1 must be above p50_ms %2")
                   .arg(version.p99Ms)
                   .arg(version.p50Ms));
    version.cpuMsPerRequest
        = map.number("cpu_ms_per_request", service.cpuMsPerRequest, 0, maxCpuMsPerRequest);
    version.memoryMb = map.number("memory_mb", service.memoryMb, 1, maxMemoryMb);
    version.business = readBusiness(map);
    return version;
}

void checkWeights(const ServiceSettings &service, const YAML::Node &at, const QString &file)
{
    int weighted = 0;
    double total = 0;
    for (const VersionSettings &v : service.versions) {
        if (v.weightPercent) {
            ++weighted;
            total += *v.weightPercent;
        }
    }
    if (weighted == 0)
        return;
    if (weighted != service.versions.size())
        failAt(file, at,
               QStringLiteral("simulated service '%1': give every version a weight, or none (then "
                              "traffic follows ready instances)")
                   .arg(service.service.id()));
    if (std::abs(total - 100) > 0.01)
        failAt(file, at,
               QStringLiteral("simulated service '%1': version weights add up to %2, not 100")
                   .arg(service.service.id())
                   .arg(total));
}

const VersionSettings *findVersion(const ServiceSettings &service, const QString &version)
{
    for (const VersionSettings &v : service.versions) {
        if (v.version == version)
            return &v;
    }
    return nullptr;
}

void requireDeclaredVersion(const SimulatorSettings &settings, const ServiceKey &key,
                            const QString &version, const YamlMap &map, const char *key_)
{
    const ServiceSettings *service = settings.find(key);
    if (service && findVersion(*service, version))
        return;
    failAt(map.file(), map.node(key_),
           QStringLiteral("version '%1' of %2 is not declared; list it under the service's "
                          "versions (with instances: 0 if it starts later)")
               .arg(version, key.id()));
}

} // namespace

const ServiceSettings *SimulatorSettings::find(const ServiceKey &key) const
{
    for (const ServiceSettings &s : services) {
        if (s.service == key)
            return &s;
    }
    return nullptr;
}

SimulatorSettings parseSimulatorSettings(const AdapterSpec &spec, const Workspace &workspace)
{
    SimulatorSettings settings;
    const QString &file = spec.file;
    const QString what = QStringLiteral("settings of simulator '%1'").arg(spec.name);

    ServiceSettings defaults;
    defaults.zones = {QStringLiteral("zone-a"), QStringLiteral("zone-b"), QStringLiteral("zone-c")};

    YAML::Node servicesNode, scriptNode, faultsNode;
    if (spec.settings.IsDefined() && !spec.settings.IsNull()) {
        const YamlMap map(spec.settings, file, what,
                          {QStringLiteral("seed"), QStringLiteral("tick"),
                           QStringLiteral("metrics_window"), QStringLiteral("defaults"),
                           QStringLiteral("services"), QStringLiteral("script"),
                           QStringLiteral("faults")});
        settings.seed = quint64(map.integer("seed", 1, 0, std::numeric_limits<int>::max()));
        settings.tick = map.duration("tick", settings.tick, Duration(10));
        settings.metricsWindow
            = map.duration("metrics_window", settings.metricsWindow, settings.tick);
        if (map.has("defaults")) {
            const YamlMap tuning(map.node("defaults"), file,
                                 QStringLiteral("defaults of simulator '%1'").arg(spec.name),
                                 serviceTuningKeys);
            readTuning(tuning, defaults);
        }
        servicesNode = map.node("services");
        scriptNode = map.node("script");
        faultsNode = map.node("faults");
    }

    requireSequence(file, servicesNode,
                    QStringLiteral("services of simulator '%1'").arg(spec.name));
    for (const YAML::Node &node : servicesNode) {
        QStringList keys = serviceTuningKeys;
        keys << QStringLiteral("service") << QStringLiteral("environment")
             << QStringLiteral("versions") << QStringLiteral("active");
        const YamlMap map(node, file, QStringLiteral("a simulated service"), keys);
        ServiceSettings service = defaults;
        service.service = readBoundService(map, workspace, spec);
        if (settings.find(service.service))
            failAt(file, node,
                   QStringLiteral("simulated service '%1' is configured twice")
                       .arg(service.service.id()));
        readTuning(map, service);
        if (map.has("versions")) {
            requireSequence(file, map.node("versions"),
                            QStringLiteral("versions of '%1'").arg(service.service.id()));
            service.versions.clear();
            for (const YAML::Node &versionNode : map.node("versions")) {
                VersionSettings version = readVersion(versionNode, file, service);
                if (findVersion(service, version.version))
                    failAt(file, versionNode,
                           QStringLiteral("version '%1' is listed twice").arg(version.version));
                service.versions.append(version);
            }
            if (service.versions.isEmpty())
                failAt(file, map.node("versions"),
                       QStringLiteral("'%1' needs at least one version").arg(service.service.id()));
        } else {
            service.versions = {defaultVersion(service)};
        }
        checkWeights(service, node, file);
        service.activeVersion = map.string("active", QString());
        if (!service.activeVersion.isEmpty() && !findVersion(service, service.activeVersion))
            failAt(file, map.node("active"),
                   QStringLiteral("active version '%1' is not one of the service's versions")
                       .arg(service.activeVersion));
        settings.services.append(service);
    }

    // Every service bound to this simulator gets simulated, with the defaults if not listed.
    for (const ServiceSpec &service : workspace.services) {
        bool bound = false;
        for (const QString &name : service.bindings)
            bound |= name == spec.name;
        if (bound && !settings.find(service.key)) {
            ServiceSettings fallback = defaults;
            fallback.service = service.key;
            fallback.versions = {defaultVersion(fallback)};
            settings.services.append(fallback);
        }
    }

    requireSequence(file, scriptNode, QStringLiteral("script of simulator '%1'").arg(spec.name));
    for (const YAML::Node &node : scriptNode) {
        const YamlMap map(node, file, QStringLiteral("a script step"),
                          {QStringLiteral("at"), QStringLiteral("service"),
                           QStringLiteral("environment"), QStringLiteral("scale"),
                           QStringLiteral("weights"), QStringLiteral("switch")});
        ScriptStep step;
        step.line = int(node.Mark().line) + 1;
        step.at = map.duration("at", Duration(0));
        step.service = readBoundService(map, workspace, spec);
        const int actions
            = int(map.has("scale")) + int(map.has("weights")) + int(map.has("switch"));
        if (actions != 1)
            failAt(file, node,
                   QStringLiteral("a script step needs exactly one of scale, weights "
                                  "or switch"));
        if (map.has("scale")) {
            const YamlMap scale(map.node("scale"), file, QStringLiteral("scale"),
                                {QStringLiteral("version"), QStringLiteral("instances")});
            step.kind = ScriptStep::Kind::Scale;
            step.version = scale.requiredString("version");
            step.instances = scale.integer("instances", 0, 0, 1000);
            requireDeclaredVersion(settings, step.service, step.version, scale, "version");
        } else if (map.has("switch")) {
            step.kind = ScriptStep::Kind::Switch;
            step.version = map.requiredString("switch");
            requireDeclaredVersion(settings, step.service, step.version, map, "switch");
        } else {
            step.kind = ScriptStep::Kind::Weights;
            const YAML::Node weights = map.node("weights");
            if (!weights.IsMap())
                failAt(file, weights,
                       QStringLiteral("weights must map versions to percentages, "
                                      "like {2.3.1: 75, 2.4.0: 25}"));
            QStringList versions;
            for (auto it = weights.begin(); it != weights.end(); ++it)
                versions.append(QString::fromStdString(it->first.Scalar()));
            const YamlMap weightMap(weights, file, QStringLiteral("weights"), versions);
            double total = 0;
            for (const QString &version : versions) {
                const double weight = weightMap.number(version.toStdString().c_str(), 0, 0, 100);
                requireDeclaredVersion(settings, step.service, version, map, "weights");
                step.weights.insert(version, weight);
                total += weight;
            }
            if (std::abs(total - 100) > 0.01)
                failAt(file, weights, QStringLiteral("weights add up to %1, not 100").arg(total));
        }
        settings.script.append(step);
    }

    requireSequence(file, faultsNode, QStringLiteral("faults of simulator '%1'").arg(spec.name));
    for (const YAML::Node &node : faultsNode) {
        const YamlMap map(node, file, QStringLiteral("a fault"),
                          {QStringLiteral("at"), QStringLiteral("from_weight"),
                           QStringLiteral("service"), QStringLiteral("environment"),
                           QStringLiteral("version"), QStringLiteral("kind"),
                           QStringLiteral("instances"), QStringLiteral("error_rate"),
                           QStringLiteral("factor"), QStringLiteral("duration")});
        Fault fault;
        fault.line = int(node.Mark().line) + 1;
        if (map.has("at") == map.has("from_weight"))
            failAt(file, map.has("at") ? map.keyNode("from_weight") : node,
                   QStringLiteral("a fault begins either at a time (at: 2m) or when its version's "
                                  "traffic weight reaches a percentage (from_weight: 5); give "
                                  "exactly one of them"));
        fault.at = map.duration("at", Duration(0));
        if (map.has("from_weight")) {
            fault.fromWeightPercent = map.number("from_weight", 0, 0, 100);
            if (*fault.fromWeightPercent == 0)
                failAt(file, map.node("from_weight"),
                       QStringLiteral("from_weight 0 would begin the fault before the version "
                                      "gets any traffic; give a percentage above 0, or use at"));
        }
        fault.service = readBoundService(map, workspace, spec);
        const QString kind = map.choice("kind",
                                        {QStringLiteral("crash"), QStringLiteral("error_rate"),
                                         QStringLiteral("latency"), QStringLiteral("start_failure"),
                                         QStringLiteral("metrics_outage")},
                                        QStringLiteral("crash"));
        // An outage is the whole service's metrics source, whatever version runs.
        if (kind != QLatin1String("metrics_outage") || map.has("version")) {
            fault.version = map.requiredString("version");
            requireDeclaredVersion(settings, fault.service, fault.version, map, "version");
        }
        if (kind == QLatin1String("metrics_outage")) {
            fault.kind = Fault::Kind::MetricsOutage;
            if (map.has("from_weight"))
                failAt(file, map.keyNode("from_weight"),
                       QStringLiteral("a metrics_outage begins at a time (at: 2m), not at a "
                                      "version's weight"));
        } else if (kind == QLatin1String("crash")) {
            fault.kind = Fault::Kind::Crash;
            fault.instances = map.integer("instances", 1, 1, 1000);
            // Now that start_failure reads a duration, one here would look like a crash loop.
            if (map.has("duration"))
                failAt(file, map.keyNode("duration"),
                       QStringLiteral("a crash fault fails its instances once and takes no "
                                      "duration; for instances that keep failing as they start, "
                                      "use kind: start_failure with a duration"));
        } else if (kind == QLatin1String("start_failure")) {
            fault.kind = Fault::Kind::StartFailure;
            if (map.has("instances") == map.has("duration"))
                failAt(file, map.has("instances") ? map.keyNode("duration") : node,
                       QStringLiteral("a start_failure fault needs exactly one of instances (how "
                                      "many instances finishing their startup fail, like 3) or "
                                      "duration (how long every one finishing its startup fails, "
                                      "like 5m)"));
            if (map.has("instances"))
                fault.instances = map.integer("instances", 1, 1, 1000);
            else
                fault.duration = map.duration("duration", Duration(0), Duration(1));
        } else if (kind == QLatin1String("error_rate")) {
            if (map.has("error_rate") == map.has("factor"))
                failAt(file, map.has("error_rate") ? map.keyNode("factor") : node,
                       QStringLiteral("an error_rate fault needs exactly one of error_rate (the "
                                      "ratio to fail, like 8%) or factor (times the version's own "
                                      "error_rate, like 3)"));
            if (map.has("factor")) {
                fault.kind = Fault::Kind::ErrorFactor;
                fault.value = map.number("factor", 1, 0, 1000);
            } else {
                fault.kind = Fault::Kind::ErrorRate;
                fault.value = map.ratio("error_rate", 0);
            }
        } else {
            fault.kind = Fault::Kind::Latency;
            fault.value = map.number("factor", 3, 0.01, 1000);
        }
        if (fault.kind != Fault::Kind::Crash && fault.kind != Fault::Kind::StartFailure
            && fault.kind != Fault::Kind::MetricsOutage) {
            // A fault that waits for a traffic stage marks a regressed version, which stays
            // regressed; one at a fixed time is an incident that passes.
            if (map.has("duration"))
                fault.duration = map.duration("duration", Duration(0), Duration(1));
            else if (!fault.fromWeightPercent)
                fault.duration = std::chrono::minutes(2);
        }
        if (fault.kind == Fault::Kind::MetricsOutage && map.has("duration"))
            fault.duration = map.duration("duration", Duration(0), Duration(1));
        settings.faults.append(fault);
    }
    return settings;
}

} // namespace sb::sim
