#include "workspaceloader.h"

#include "adapterregistry.h"
#include "planreader.h"
#include "yamlreader.h"

#include <QDir>
#include <QFileInfo>
#include <QHash>
#include <QRegularExpression>

#include <algorithm>
#include <string>
#include <vector>

namespace sb {

namespace {

using NodeType = YAML::NodeType;

const QStringList topLevelKeys{QStringLiteral("workspace"), QStringLiteral("environments"),
                               QStringLiteral("adapters"),  QStringLiteral("services"),
                               QStringLiteral("metrics"),   QStringLiteral("gates"),
                               QStringLiteral("plans"),     QStringLiteral("releases"),
                               QStringLiteral("journal"),   QStringLiteral("operator")};
const QStringList adapterKeys{QStringLiteral("name"), QStringLiteral("type"),
                              QStringLiteral("settings")};
const QStringList serviceKeys{
    QStringLiteral("name"),        QStringLiteral("environment"), QStringLiteral("strategy"),
    QStringLiteral("description"), QStringLiteral("adapter"),     QStringLiteral("adapters"),
    QStringLiteral("plan"),        QStringLiteral("rolling"),     QStringLiteral("blue_green")};
const QStringList rollingKeys{QStringLiteral("max_surge"), QStringLiteral("max_unavailable"),
                              QStringLiteral("progress_deadline")};
const QStringList blueGreenKeys{QStringLiteral("warm_window"), QStringLiteral("switch"),
                                QStringLiteral("pre_switch_gates"),
                                QStringLiteral("post_switch_gates")};
const QStringList switchModes{QStringLiteral("automatic"), QStringLiteral("manual")};
const QStringList releaseKeys{QStringLiteral("service"), QStringLiteral("environment"),
                              QStringLiteral("version"), QStringLiteral("plan"),
                              QStringLiteral("at")};

QStringList strategyNames()
{
    QStringList names;
    for (Strategy s : {Strategy::None, Strategy::Rolling, Strategy::BlueGreen, Strategy::Canary})
        names.append(toString(s));
    return names;
}

QStringList capabilityNames()
{
    QStringList names;
    for (Capability capability : allCapabilities)
        names.append(toString(capability));
    return names;
}

int lineOf(const YAML::Node &node)
{
    const YAML::Mark mark = node.Mark();
    return mark.is_null() ? 0 : mark.line + 1;
}

// The entry's own name, read before its keys are checked, so even an "unknown key" message can
// say which entry it is about.
QString peekName(const YAML::Node &entry)
{
    if (nodeType(entry) != NodeType::Map)
        return {};
    for (auto it = entry.begin(); it != entry.end(); ++it) {
        if (nodeType(it->first) == NodeType::Scalar && it->first.Scalar() == "name"
            && nodeType(it->second) == NodeType::Scalar) {
            return QString::fromStdString(it->second.Scalar());
        }
    }
    return {};
}

QString listOf(const QList<Capability> &capabilities)
{
    QStringList names;
    for (Capability capability : capabilities)
        names.append(toString(capability));
    return names.join(QStringLiteral(", "));
}

// A valid name close to what was written, for the "is not valid" message.
QString slugOf(const QString &text)
{
    QString slug = text.toLower();
    slug.replace(QRegularExpression(QStringLiteral("[^a-z0-9]+")), QStringLiteral("-"));
    while (slug.startsWith(QLatin1Char('-')))
        slug.remove(0, 1);
    while (slug.endsWith(QLatin1Char('-')))
        slug.chop(1);
    return slug;
}

class Loader
{
public:
    Loader(QString file, const AdapterRegistry &registry)
        : m_file(std::move(file))
        , m_registry(registry)
    {}

    Workspace load(const YAML::Node &root)
    {
        const YamlMap top(root, m_file, QStringLiteral("the workspace file"), topLevelKeys);
        m_workspace.file = m_file;
        const QString name = top.string("workspace", QString()).trimmed();
        m_workspace.name = name.isEmpty() ? QFileInfo(m_file).completeBaseName() : name;
        if (const QString journal = top.string("journal", QString()).trimmed(); !journal.isEmpty())
            m_workspace.journal = QFileInfo(m_file).dir().absoluteFilePath(journal);
        m_workspace.operatorName = top.string("operator", QString()).trimmed();
        readEnvironments(top);
        readAdapters(top);
        // Services name plans, so plans come first.
        readReleaseSections(top, m_workspace);
        readServices(top);
        readReleases(top);
        return std::move(m_workspace);
    }

private:
    // A required, non-empty list; `example` shows what belongs in it.
    YAML::Node requiredList(const YamlMap &map, const char *key, const QString &example) const
    {
        const YAML::Node list = map.node(key);
        if (nodeType(list) == NodeType::Undefined) {
            failAt(m_file, map.self(),
                   QStringLiteral("%1 is missing required key '%2', for example %3")
                       .arg(map.what(), QLatin1StringView(key), example));
        }
        requireSequence(m_file, list, QLatin1StringView(key));
        if (nodeType(list) == NodeType::Null || list.size() == 0) {
            // An empty value sits at the next token for yaml-cpp; the key is where the user looks.
            const YAML::Node at = nodeType(list) == NodeType::Null ? map.keyNode(key) : list;
            failAt(m_file, at,
                   QStringLiteral("'%1' is empty; list at least one, for example %2")
                       .arg(QLatin1StringView(key), example));
        }
        return list;
    }

    void readEnvironments(const YamlMap &top)
    {
        const YAML::Node list = requiredList(
            top, "environments", QStringLiteral("'environments: [staging, production]'"));
        QHash<QString, int> lineOfName;
        int index = 0;
        for (const YAML::Node &item : list) {
            ++index;
            const NodeType::value type = nodeType(item);
            if (type == NodeType::Null
                || (type == NodeType::Scalar
                    && QString::fromStdString(item.Scalar()).trimmed().isEmpty())) {
                // An empty item has no position of its own worth showing; the list does.
                failAt(m_file, type == NodeType::Null ? list : item,
                       QStringLiteral("environment #%1 is empty; write a name such as "
                                      "'production'")
                           .arg(index));
            }
            if (type != NodeType::Scalar) {
                failAt(m_file, item,
                       QStringLiteral("environment #%1 must be a name such as 'production', got "
                                      "a %2")
                           .arg(index)
                           .arg(type == NodeType::Map ? QStringLiteral("mapping")
                                                      : QStringLiteral("list")));
            }
            const QString name = QString::fromStdString(item.Scalar()).trimmed();
            if (lineOfName.contains(name)) {
                failAt(m_file, item,
                       QStringLiteral("environment %1 is listed twice (first on line %2)")
                           .arg(quotedValue(name), QString::number(lineOfName.value(name))));
            }
            lineOfName.insert(name, lineOf(item));
            m_workspace.environments.append(name);
        }
    }

    void readAdapters(const YamlMap &top)
    {
        const YAML::Node list = requiredList(
            top, "adapters", QStringLiteral("'adapters: [{name: sim, type: simulator}]'"));
        int index = 0;
        for (const YAML::Node &entry : list) {
            ++index;
            const QString peeked = peekName(entry);
            const QString what = peeked.isEmpty()
                                     ? QStringLiteral("adapter #%1").arg(index)
                                     : QStringLiteral("adapter %1").arg(quotedValue(peeked));
            const YamlMap map(entry, m_file, what, adapterKeys);

            AdapterSpec spec;
            spec.name = map.requiredString("name");
            if (const AdapterSpec *first = m_workspace.adapter(spec.name)) {
                failAt(m_file, map.node("name"),
                       QStringLiteral("adapter name %1 is used twice (first on line %2); give "
                                      "each adapter its own name")
                           .arg(quotedValue(spec.name), QString::number(first->line)));
            }
            spec.type = map.requiredString("type");
            if (!m_registry.find(spec.type)) {
                const QStringList known = m_registry.typeNames();
                QString message
                    = QStringLiteral("%1 has unknown type %2").arg(what, quotedValue(spec.type));
                const QString nearest = nearestWord(spec.type, known);
                if (!nearest.isEmpty())
                    message += QStringLiteral("; did you mean '%1'?").arg(nearest);
                message += known.isEmpty() ? QStringLiteral(" (this build knows no adapter types)")
                                           : QStringLiteral(" (known types: %1)")
                                                 .arg(known.join(QStringLiteral(", ")));
                failAt(m_file, map.node("type"), message);
            }

            const YAML::Node settings = map.node("settings");
            switch (nodeType(settings)) {
            case NodeType::Undefined:
            case NodeType::Null:
                // Adapters read their settings with YamlMap, which wants a mapping; an empty one
                // gives them all their defaults.
                spec.settings = YAML::Node(NodeType::Map);
                break;
            case NodeType::Map: spec.settings = settings; break;
            case NodeType::Scalar:
            case NodeType::Sequence:
                failAt(m_file, settings,
                       QStringLiteral("settings of %1 must be a mapping of keys to values "
                                      "('key: value' lines indented under 'settings:')")
                           .arg(what));
            }
            spec.file = m_file;
            spec.line = lineOf(entry);
            m_workspace.adapters.append(spec);
        }
    }

    void readServices(const YamlMap &top)
    {
        const YAML::Node list = requiredList(
            top, "services",
            QStringLiteral(
                "'services: [{name: checkout, environment: production, adapter: sim}]'"));
        static const QRegularExpression validName(QStringLiteral("^[a-z0-9][a-z0-9-]*$"));
        int index = 0;
        for (const YAML::Node &entry : list) {
            ++index;
            const QString peeked = peekName(entry);
            const QString what = peeked.isEmpty()
                                     ? QStringLiteral("service #%1").arg(index)
                                     : QStringLiteral("service %1").arg(quotedValue(peeked));
            const YamlMap map(entry, m_file, what, serviceKeys);

            ServiceSpec spec;
            spec.line = lineOf(entry);
            spec.key.name = map.requiredString("name");
            if (!validName.match(spec.key.name).hasMatch()) {
                QString message
                    = QStringLiteral("service name %1 is not valid: use lower-case letters, digits "
                                     "and '-', starting with a letter or digit")
                          .arg(quotedValue(spec.key.name));
                const QString slug = slugOf(spec.key.name);
                if (!slug.isEmpty())
                    message += QStringLiteral(", e.g. %1").arg(quotedValue(slug));
                failAt(m_file, map.node("name"), message);
            }

            spec.key.environment = map.requiredString("environment");
            if (!m_workspace.environments.contains(spec.key.environment)) {
                QString message = QStringLiteral("%1 uses environment %2, which is not declared")
                                      .arg(what, quotedValue(spec.key.environment));
                const QString nearest = nearestWord(spec.key.environment, m_workspace.environments);
                if (!nearest.isEmpty())
                    message += QStringLiteral(" (did you mean '%1'?)").arg(nearest);
                message += QStringLiteral("; declared environments: %1")
                               .arg(m_workspace.environments.join(QStringLiteral(", ")));
                failAt(m_file, map.node("environment"), message);
            }
            if (const ServiceSpec *first = m_workspace.service(spec.key)) {
                failAt(m_file, entry,
                       QStringLiteral("service '%1' in %2 is defined twice (first on line %3); "
                                      "remove one or change its environment")
                           .arg(spec.key.name, spec.key.environment, QString::number(first->line)));
            }

            spec.strategy = *strategyFromString(
                map.choice("strategy", strategyNames(), toString(Strategy::None)));
            spec.description = map.string("description", QString());
            readBindings(map, spec);
            readPlan(map, what, spec);
            readStrategySettings(
                map, QStringLiteral("service '%1' (%2)").arg(spec.key.name, spec.key.environment),
                spec);
            m_workspace.services.append(spec);
        }
    }

    QStringList planNames() const
    {
        QStringList names;
        for (const CanaryPlan &plan : std::as_const(m_workspace.plans))
            names.append(plan.name);
        return names;
    }

    // A plan named at `at` must exist; `subject` says who names it.
    void requirePlan(const QString &plan, const QString &subject, const YAML::Node &at) const
    {
        if (m_workspace.plan(plan))
            return;
        QString message
            = QStringLiteral("%1 plan %2, which is not defined").arg(subject, quotedValue(plan));
        const QString nearest = nearestWord(plan, planNames());
        if (!nearest.isEmpty())
            message += QStringLiteral(" (did you mean '%1'?)").arg(nearest);
        message
            += QStringLiteral("; defined plans: %1").arg(planNames().join(QStringLiteral(", ")));
        failAt(m_file, at, message);
    }

    void readPlan(const YamlMap &map, const QString &what, ServiceSpec &spec) const
    {
        const QString plan = map.string("plan", QString()).trimmed();
        if (spec.strategy != Strategy::Canary) {
            if (!plan.isEmpty()) {
                failAt(m_file, map.node("plan"),
                       QStringLiteral("%1 names a plan, but plans are for canary releases and its "
                                      "strategy is '%2'; remove 'plan' or set 'strategy: canary'")
                           .arg(what, toString(spec.strategy)));
            }
            return;
        }
        spec.plan = plan.isEmpty() ? playbookPlanName : plan;
        requirePlan(spec.plan, what + QStringLiteral(" uses"), map.node("plan"));
    }

    // `rolling:` and `blue_green:` belong to services of those strategies; without them the
    // defaults apply.
    void readStrategySettings(const YamlMap &map, const QString &what, ServiceSpec &spec) const
    {
        const struct {
            const char *key;
            Strategy strategy;
        } owners[] = {{"rolling", Strategy::Rolling}, {"blue_green", Strategy::BlueGreen}};
        for (const auto &owner : owners) {
            if (map.has(owner.key) && spec.strategy != owner.strategy) {
                failAt(m_file, map.keyNode(owner.key),
                       QStringLiteral("%1 has '%2' settings, but its strategy is '%3'; remove "
                                      "them or set 'strategy: %4'")
                           .arg(what, QLatin1StringView(owner.key), toString(spec.strategy),
                                toString(owner.strategy)));
            }
        }
        if (spec.strategy == Strategy::Rolling)
            spec.rolling = readRolling(map, what);
        else if (spec.strategy == Strategy::BlueGreen)
            spec.blueGreen = readBlueGreen(map, what);
    }

    QString origin(const YAML::Node &node) const
    {
        return QStringLiteral("%1:%2").arg(QFileInfo(m_file).fileName()).arg(lineOf(node));
    }

    RollingPlan readRolling(const YamlMap &service, const QString &what) const
    {
        RollingPlan plan;
        plan.origin = QStringLiteral("built-in");
        if (!service.has("rolling"))
            return plan;
        const YamlMap map(service.node("rolling"), m_file,
                          what + QStringLiteral(" rolling settings"), rollingKeys);
        plan.origin = origin(service.keyNode("rolling"));
        auto budget = [&](const char *key, InstanceBudget fallback) {
            if (!map.has(key))
                return fallback;
            const YAML::Node value = map.node(key);
            const QString written = nodeType(value) == NodeType::Scalar
                                        ? QString::fromStdString(value.Scalar()).trimmed()
                                        : QString();
            Result<InstanceBudget, QString> parsed = parseInstanceBudget(written);
            if (!parsed) {
                failAt(m_file, value,
                       QStringLiteral("%1: %2 %3")
                           .arg(map.what(), QLatin1StringView(key), parsed.error()));
            }
            return parsed.value();
        };
        plan.maxSurge = budget("max_surge", plan.maxSurge);
        plan.maxUnavailable = budget("max_unavailable", plan.maxUnavailable);
        plan.progressDeadline
            = map.duration("progress_deadline", plan.progressDeadline, std::chrono::seconds(1));
        if (const QString problem = checkPlan(plan); !problem.isEmpty())
            failAt(m_file, service.node("rolling"),
                   QStringLiteral("%1: %2").arg(map.what(), problem));
        return plan;
    }

    BlueGreenPlan readBlueGreen(const YamlMap &service, const QString &what) const
    {
        BlueGreenPlan plan;
        plan.origin = QStringLiteral("built-in");
        // A bad switch is caught inside the window by default: the error rate against the old
        // colour's last minutes.
        plan.postSwitchGates = {QStringLiteral("error-rate")};
        if (service.has("blue_green")) {
            const YamlMap map(service.node("blue_green"), m_file,
                              what + QStringLiteral(" blue-green settings"), blueGreenKeys);
            plan.origin = origin(service.keyNode("blue_green"));
            plan.warmWindow = map.duration("warm_window", plan.warmWindow);
            plan.autoSwitch
                = map.choice("switch", switchModes, switchModes.first()) == switchModes.first();
            // `post_switch_gates: []` turns the default off; a key left empty keeps it.
            auto written = [&](const char *key) {
                const NodeType::value type = nodeType(map.node(key));
                return type != NodeType::Undefined && type != NodeType::Null;
            };
            if (written("pre_switch_gates"))
                plan.preSwitchGates = gateNames(map, "pre_switch_gates");
            if (written("post_switch_gates"))
                plan.postSwitchGates = gateNames(map, "post_switch_gates");
        }
        for (const QStringList *names : {&plan.preSwitchGates, &plan.postSwitchGates}) {
            for (const QString &name : *names) {
                for (const GateSpec &gate : std::as_const(m_workspace.gates)) {
                    if (gate.name == name)
                        plan.gates.insert(name, gate);
                }
            }
        }
        return plan;
    }

    // Blue-green's gates: compared colour against colour, interval by interval. A sequential
    // gate needs both versions serving side by side all along, which only a canary has.
    QStringList gateNames(const YamlMap &map, const char *key) const
    {
        QStringList known;
        for (const GateSpec &gate : std::as_const(m_workspace.gates))
            known.append(gate.name);
        const QStringList listed = map.stringList(key);
        const YAML::Node list = map.node(key);
        QStringList gates;
        int i = 0;
        for (const YAML::Node &item : list) {
            const QString name = listed.at(i++).trimmed();
            if (!known.contains(name)) {
                QString message = QStringLiteral("%1 names gate %2, which is not defined")
                                      .arg(map.what(), quotedValue(name));
                const QString nearest = nearestWord(name, known);
                if (!nearest.isEmpty())
                    message += QStringLiteral(" (did you mean '%1'?)").arg(nearest);
                message
                    += QStringLiteral("; defined gates: %1").arg(known.join(QStringLiteral(", ")));
                failAt(m_file, item, message);
            }
            if (isSequential(name))
                failAt(m_file, item,
                       QStringLiteral("%1 names gate %2, which is sequential: it judges a canary "
                                      "against its baseline serving side by side, which a "
                                      "blue-green release never has; name a threshold gate")
                           .arg(map.what(), quotedValue(name)));
            if (!gates.contains(name))
                gates.append(name);
        }
        return gates;
    }

    bool isSequential(const QString &gateName) const
    {
        return std::any_of(
            m_workspace.gates.cbegin(), m_workspace.gates.cend(), [&](const GateSpec &gate) {
                return gate.name == gateName && gate.method == GateMethod::Sequential;
            });
    }

    void readReleases(const YamlMap &top)
    {
        const YAML::Node list = top.node("releases");
        requireSequence(m_file, list, QStringLiteral("releases"));
        if (nodeType(list) != NodeType::Sequence)
            return;
        int index = 0;
        for (const YAML::Node &entry : list) {
            const YamlMap map(entry, m_file, QStringLiteral("release #%1").arg(++index),
                              releaseKeys);
            ScheduledRelease release;
            release.line = lineOf(entry);
            release.service.name = map.requiredString("service");
            release.service.environment = map.requiredString("environment");
            const ServiceSpec *service = m_workspace.service(release.service);
            if (!service) {
                failAt(m_file, map.node("service"),
                       QStringLiteral("%1 names service '%2' in %3, which is not defined under "
                                      "'services'")
                           .arg(map.what(), release.service.name, release.service.environment));
            }
            const QString subject
                = QStringLiteral("%1 of '%2' (%3)")
                      .arg(map.what(), release.service.name, release.service.environment);
            if (service->strategy == Strategy::None) {
                failAt(m_file, map.node("service"),
                       QStringLiteral("%1: the service has no release strategy; set 'strategy' to "
                                      "canary, blue-green or rolling under 'services'")
                           .arg(subject));
            }
            release.version = map.requiredString("version").trimmed();
            if (service->strategy == Strategy::Canary) {
                release.plan = map.string("plan", service->plan).trimmed();
                requirePlan(release.plan, subject + QStringLiteral(" uses"), map.node("plan"));
            } else if (map.has("plan")) {
                failAt(m_file, map.keyNode("plan"),
                       QStringLiteral("%1 names a plan, but plans are for canary releases and the "
                                      "service's strategy is '%2'; remove 'plan'")
                           .arg(subject, toString(service->strategy)));
            }
            release.at = map.duration("at", Duration(0));

            QList<Capability> needed{Capability::Deploy};
            QString needs = QStringLiteral("a rolling release needs a deploy adapter");
            if (service->strategy == Strategy::Canary) {
                needed = {Capability::Traffic, Capability::Deploy, Capability::Metrics};
                needs = QStringLiteral("a canary needs traffic, deploy and metrics adapters");
            } else if (service->strategy == Strategy::BlueGreen) {
                needed = {Capability::Traffic, Capability::Deploy};
                needs = QStringLiteral("a blue-green release needs traffic and deploy adapters");
                if (!service->blueGreen.preSwitchGates.isEmpty()
                    || !service->blueGreen.postSwitchGates.isEmpty()) {
                    needed.append(Capability::Metrics);
                    needs = QStringLiteral("a blue-green release with gates needs traffic, deploy "
                                           "and metrics adapters");
                }
            }
            QStringList missing;
            for (Capability capability : std::as_const(needed)) {
                if (!service->bindings.contains(capability))
                    missing.append(toString(capability));
            }
            if (!missing.isEmpty()) {
                failAt(m_file, entry,
                       QStringLiteral("%1: %2, and the service has no %3 adapter")
                           .arg(subject, needs, missing.join(QStringLiteral(" or "))));
            }
            for (const QString &adapterName : service->bindings) {
                const AdapterSpec *adapter = m_workspace.adapter(adapterName);
                const AdapterType *type = m_registry.find(adapter->type);
                if (!type || !type->simulated) {
                    failAt(m_file, entry,
                           QStringLiteral("%1: releases listed in the workspace start by "
                                          "themselves when it opens, so they are only for "
                                          "simulated services, and this service uses adapter "
                                          "'%2' of type '%3'; start the release from the "
                                          "console instead")
                               .arg(subject, adapter->name, adapter->type));
                }
            }
            m_workspace.releases.append(release);
        }
    }

    // The adapter named `name`, failing with a message that lists the defined ones.
    const AdapterSpec &boundAdapter(const QString &name, const QString &subject,
                                    const YAML::Node &at) const
    {
        const AdapterSpec *adapter = m_workspace.adapter(name);
        if (adapter)
            return *adapter;
        QStringList defined;
        for (const AdapterSpec &spec : m_workspace.adapters)
            defined.append(spec.name);
        QString message
            = QStringLiteral("%1 adapter %2, which is not defined").arg(subject, quotedValue(name));
        const QString nearest = nearestWord(name, defined);
        if (!nearest.isEmpty())
            message += QStringLiteral(" (did you mean '%1'?)").arg(nearest);
        message += QStringLiteral("; defined adapters: %1").arg(defined.join(QStringLiteral(", ")));
        failAt(m_file, at, message);
    }

    void readBindings(const YamlMap &map, ServiceSpec &spec) const
    {
        const QString service
            = QStringLiteral("service '%1' (%2)").arg(spec.key.name, spec.key.environment);
        const bool shorthand = nodeType(map.node("adapter")) != NodeType::Undefined;
        const bool explicitly = nodeType(map.node("adapters")) != NodeType::Undefined;
        if (shorthand && explicitly) {
            failAt(m_file, map.keyNode("adapters"),
                   QStringLiteral("%1 has both 'adapter' and 'adapters'; use 'adapter: <name>' to "
                                  "bind everything one adapter offers, or 'adapters:' to bind "
                                  "each capability, not both")
                       .arg(service));
        }

        if (shorthand) {
            const QString name = map.requiredString("adapter");
            const AdapterSpec &adapter
                = boundAdapter(name, service + QStringLiteral(" uses"), map.node("adapter"));
            const AdapterType *type = m_registry.find(adapter.type);
            Q_ASSERT(type); // readAdapters() accepted only registered types
            if (type && !type->capabilities.contains(Capability::Fleet)) {
                failAt(m_file, map.node("adapter"),
                       QStringLiteral("%1 uses adapter %2 of type '%3', which offers only %4; "
                                      "every service needs a fleet adapter: bind capabilities "
                                      "one by one under 'adapters:' with 'fleet: <name>'")
                           .arg(service, quotedValue(adapter.name), adapter.type,
                                listOf(type->capabilities)));
            }
            if (type) {
                for (Capability capability : type->capabilities)
                    spec.bindings.insert(capability, adapter.name);
            }
            return;
        }

        if (explicitly) {
            const YamlMap bindings(map.node("adapters"), m_file,
                                   QStringLiteral("'adapters' of %1").arg(service),
                                   capabilityNames());
            for (Capability capability : allCapabilities) {
                const QByteArray key = toString(capability).toLatin1();
                if (nodeType(bindings.node(key.constData())) == NodeType::Undefined)
                    continue;
                const QString name = bindings.requiredString(key.constData());
                const YAML::Node at = bindings.node(key.constData());
                const AdapterSpec &adapter = boundAdapter(
                    name, QStringLiteral("%1 binds %2 to").arg(service, toString(capability)), at);
                const AdapterType *type = m_registry.find(adapter.type);
                if (type && !type->capabilities.contains(capability)) {
                    failAt(m_file, at,
                           QStringLiteral("%1 binds %2 to adapter %3, but adapters of type "
                                          "'%4' offer only %5")
                               .arg(service, toString(capability), quotedValue(adapter.name),
                                    adapter.type,
                                    type->capabilities.isEmpty() ? QStringLiteral("nothing")
                                                                 : listOf(type->capabilities)));
                }
                spec.bindings.insert(capability, adapter.name);
            }
        }

        if (!spec.bindings.contains(Capability::Fleet)) {
            const YAML::Node at = explicitly ? map.keyNode("adapters") : map.self();
            failAt(m_file, at,
                   QStringLiteral("%1 has no fleet adapter, which the console needs to show its "
                                  "instances; add 'adapter: <name>' or 'fleet: <name>' under "
                                  "'adapters:'")
                       .arg(service));
        }
    }

    QString m_file;
    const AdapterRegistry &m_registry;
    Workspace m_workspace;
};

Result<Workspace, Diagnostic> parseUnlocated(const QByteArray &yaml, const QString &file,
                                             const AdapterRegistry &registry)
{
    return catchYamlErrors<Workspace>(
        file, QStringLiteral("workspace"), [&]() -> Result<Workspace, Diagnostic> {
            const std::vector<YAML::Node> documents
                = YAML::LoadAll(std::string(yaml.constData(), static_cast<size_t>(yaml.size())));
            if (documents.empty() || (documents.size() == 1 && documents.front().IsNull())) {
                return Diagnostic{file, 0, 0,
                                  QStringLiteral("the workspace file is empty; it needs at least "
                                                 "'environments', 'adapters' and 'services'")};
            }
            if (documents.size() > 1) {
                return diagnosticAt(file, documents[1],
                                    QStringLiteral("the workspace file holds %1 YAML documents "
                                                   "(separated by '---'); keep exactly one")
                                        .arg(documents.size()));
            }
            return Loader(file, registry).load(documents.front());
        });
}

} // namespace

Result<Workspace, Diagnostic> parseWorkspace(const QByteArray &yaml, const QString &file,
                                             const AdapterRegistry &registry)
{
    Result<Workspace, Diagnostic> parsed = parseUnlocated(yaml, file, registry);
    if (!parsed) {
        Diagnostic diagnostic = parsed.error();
        diagnostic.sourceLine = sourceLineOf(yaml, diagnostic.line);
        return diagnostic;
    }
    Workspace workspace = std::move(parsed).value();
    workspace.source = yaml;
    return workspace;
}

Result<Workspace, Diagnostic> loadWorkspace(const QString &path, const AdapterRegistry &registry)
{
    Result<QByteArray, Diagnostic> data = readUserFile(path, QStringLiteral("workspace file"));
    if (!data)
        return data.error();
    return parseWorkspace(data.value(), QFileInfo(path).absoluteFilePath(), registry);
}

} // namespace sb
