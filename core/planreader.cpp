#include "planreader.h"

#include "argorollout.h"

#include <QDir>
#include <QFileInfo>
#include <QRegularExpression>
#include <QSet>

#include <cmath>
#include <limits>

namespace sb {

namespace {

using NodeType = YAML::NodeType;

const QStringList metricKeys{QStringLiteral("name"), QStringLiteral("title"),
                             QStringLiteral("unit"), QStringLiteral("better"),
                             QStringLiteral("group")};
// A gate's keys: those every gate takes, then those of each method.
const QStringList gateKeys{
    QStringLiteral("name"),     QStringLiteral("method"),        QStringLiteral("min_requests"),
    QStringLiteral("metric"),   QStringLiteral("bound"),         QStringLiteral("failure_limit"),
    QStringLiteral("interval"), QStringLiteral("counts"),        QStringLiteral("alpha"),
    QStringLiteral("k0"),       QStringLiteral("promote_below"), QStringLiteral("slower_than")};

// Keys that only one method takes, and why the other does not.
struct MethodKey {
    const char *key;
    GateMethod method;
    const char *whyNotOther; // for a gate of the other method
};
const MethodKey methodKeys[] = {
    {"metric", GateMethod::Threshold,
     "a sequential gate counts errors and slow requests (see 'counts') instead of measuring a "
     "metric; 'metric' does not apply"},
    {"bound", GateMethod::Threshold,
     "a sequential gate decides from its evidence about the ratio of the canary's rate to the "
     "baseline's ('k0', 'promote_below'); 'bound' does not apply"},
    {"failure_limit", GateMethod::Threshold,
     "a sequential gate fails the release as soon as its evidence shows a regression, and "
     "'alpha' bounds its false alarms; 'failure_limit' does not apply"},
    {"interval", GateMethod::Threshold,
     "a sequential gate reads every metrics interval and keeps its evidence for the whole "
     "release; 'interval' does not apply"},
    {"counts", GateMethod::Sequential, nullptr},
    {"alpha", GateMethod::Sequential, nullptr},
    {"k0", GateMethod::Sequential, nullptr},
    {"promote_below", GateMethod::Sequential, nullptr},
    {"slower_than", GateMethod::Sequential, nullptr},
};
const QStringList planKeys{QStringLiteral("name"), QStringLiteral("stages"),
                           QStringLiteral("argo_rollout"), QStringLiteral("analysis_gates"),
                           QStringLiteral("gates")};
const QStringList stageKeys{QStringLiteral("weight"), QStringLiteral("bake"),
                            QStringLiteral("gates"), QStringLiteral("approval")};

QString entryName(const YAML::Node &entry)
{
    if (nodeType(entry) != NodeType::Map)
        return {};
    for (auto it = entry.begin(); it != entry.end(); ++it) {
        if (nodeType(it->first) == NodeType::Scalar && it->first.Scalar() == "name"
            && nodeType(it->second) == NodeType::Scalar)
            return QString::fromStdString(it->second.Scalar());
    }
    return {};
}

QString describeEntry(const char *kind, const YAML::Node &entry, int index)
{
    const QString name = entryName(entry);
    return name.isEmpty() ? QStringLiteral("%1 #%2").arg(QLatin1StringView(kind)).arg(index)
                          : QStringLiteral("%1 %2").arg(QLatin1StringView(kind), quotedValue(name));
}

QString names(const auto &items)
{
    QStringList list;
    for (const auto &item : items)
        list.append(item.name);
    return list.join(QStringLiteral(", "));
}

// "gate 'eror-rate', which is not defined (did you mean 'error-rate'?); defined: a, b"
QString unknownName(const QString &what, const QString &name, const QStringList &known)
{
    QString message = QStringLiteral("%1 %2, which is not defined").arg(what, quotedValue(name));
    const QString nearest = nearestWord(name, known);
    if (!nearest.isEmpty())
        message += QStringLiteral(" (did you mean '%1'?)").arg(nearest);
    message += QStringLiteral("; defined: %1").arg(known.join(QStringLiteral(", ")));
    return message;
}

// The workspace's own entry replaces the built-in one of its name, or joins the list.
template <typename T>
void replaceOrAppend(QList<T> &list, const T &item)
{
    auto existing = std::find_if(list.begin(), list.end(),
                                 [&](const T &other) { return other.name == item.name; });
    if (existing != list.end())
        *existing = item;
    else
        list.append(item);
}

class SectionReader
{
public:
    SectionReader(const YamlMap &top, Workspace &workspace)
        : m_top(top)
        , m_file(top.file())
        , m_workspace(workspace)
    {}

    void read()
    {
        m_workspace.metrics = builtInMetrics();
        readMetrics();
        m_workspace.gates = builtInGates();
        m_workspace.gates.append(builtInJudge());
        readGates();
        m_workspace.plans = {playbookPlan(m_workspace.gates)};
        readPlans();
    }

private:
    void requireName(const YamlMap &map, const QString &name, const QRegularExpression &pattern,
                     const QString &rule) const
    {
        if (!pattern.match(name).hasMatch()) {
            failAt(m_file, map.node("name"),
                   QStringLiteral("%1 name %2 is not valid: %3")
                       .arg(map.what(), quotedValue(name), rule));
        }
    }

    // Reads each entry of the optional list under `key` as a mapping with `keys`, named in
    // messages as "<kind> 'name'" or "<kind> #n".
    template <typename Read>
    void forEachEntry(const char *key, const char *kind, const QStringList &keys, Read read) const
    {
        const YAML::Node list = m_top.node(key);
        requireSequence(m_file, list, QLatin1StringView(key));
        if (nodeType(list) != NodeType::Sequence)
            return;
        int index = 0;
        for (const YAML::Node &entry : list)
            read(YamlMap(entry, m_file, describeEntry(kind, entry, ++index), keys));
    }

    // A gate's or a plan's name: valid, and not used by an earlier entry of the same list.
    QString uniqueName(const YamlMap &map, QSet<QString> &defined, const char *kind,
                       const char *example) const
    {
        static const QRegularExpression valid(QStringLiteral("^[a-z0-9][a-z0-9-]*$"));
        const QString name = map.requiredString("name");
        requireName(map, name, valid,
                    QStringLiteral("use lower-case letters, digits and '-', as in '%1'")
                        .arg(QLatin1StringView(example)));
        if (defined.contains(name)) {
            failAt(m_file, map.node("name"),
                   QStringLiteral("%1 '%2' is defined twice; give each %1 its own name")
                       .arg(QLatin1StringView(kind), name));
        }
        defined.insert(name);
        return name;
    }

    void readMetrics()
    {
        static const QRegularExpression valid(QStringLiteral("^[a-z][a-z0-9_]*$"));
        forEachEntry("metrics", "metric", metricKeys, [&](const YamlMap &map) {
            MetricDefinition metric;
            metric.name = map.requiredString("name");
            requireName(map, metric.name, valid,
                        QStringLiteral("use lower-case letters, digits and '_', starting with a "
                                       "letter, as in 'orders_per_request'"));
            if (const MetricDefinition *known = findMetric(m_workspace.metrics, metric.name)) {
                failAt(m_file, map.node("name"),
                       known->builtIn
                           ? QStringLiteral("metric '%1' is built in; gates can use it as it is")
                                 .arg(metric.name)
                           : QStringLiteral("metric '%1' is declared twice").arg(metric.name));
            }
            metric.title = map.string("title", metric.name).trimmed();
            QStringList units;
            for (MetricUnit unit :
                 {MetricUnit::Ratio, MetricUnit::Milliseconds, MetricUnit::PerSecond,
                  MetricUnit::Cores, MetricUnit::Megabytes, MetricUnit::Number})
                units.append(toString(unit));
            metric.unit
                = *metricUnitFromString(map.choice("unit", units, toString(MetricUnit::Number)));
            metric.higherIsBetter
                = map.choice("better", {QStringLiteral("lower"), QStringLiteral("higher")},
                             QStringLiteral("lower"))
                  == QLatin1StringView("higher");
            metric.group = *metricGroupFromString(map.choice(
                "group",
                {QStringLiteral("health"), QStringLiteral("business"), QStringLiteral("resources")},
                QStringLiteral("business")));
            m_workspace.metrics.append(metric);
        });
    }

    void readGates()
    {
        QSet<QString> defined;
        forEachEntry("gates", "gate", gateKeys, [&](const YamlMap &map) {
            GateSpec gate;
            gate.name = uniqueName(map, defined, "gate", "error-rate");
            const QStringList methods{toString(GateMethod::Threshold),
                                      toString(GateMethod::Sequential)};
            gate.method = *gateMethodFromString(
                map.choice("method", methods, toString(GateMethod::Threshold)));
            refuseOtherMethodsKeys(map, gate.method);
            if (gate.method == GateMethod::Sequential) {
                gate.sequential = readSequential(map);
                gate.minRequests = map.integer("min_requests", 200, 0, 1'000'000'000);
            } else {
                readThreshold(map, gate);
            }
            gate.origin = QStringLiteral("%1:%2")
                              .arg(QFileInfo(m_file).fileName())
                              .arg(map.self().Mark().line + 1);
            replaceOrAppend(m_workspace.gates, gate);
        });
    }

    // The first key, in the order written, that belongs to the other method.
    void refuseOtherMethodsKeys(const YamlMap &map, GateMethod method) const
    {
        const YAML::Node &node = map.self();
        for (auto it = node.begin(); it != node.end(); ++it) {
            const std::string key = it->first.Scalar();
            for (const MethodKey &known : methodKeys) {
                if (key != known.key || known.method == method)
                    continue;
                const QString why = known.whyNotOther
                                        ? QLatin1StringView(known.whyNotOther)
                                        : QStringLiteral("'%1' applies to method: sequential; "
                                                         "add 'method: sequential' or remove it")
                                              .arg(QLatin1StringView(known.key));
                failAt(m_file, it->first, QStringLiteral("%1: %2").arg(map.what(), why));
            }
        }
    }

    SequentialGate readSequential(const YamlMap &map) const
    {
        SequentialGate gate;
        if (map.has("counts"))
            gate.counts = readCounts(map);

        // Checked a setting at a time, so that the message points at the one to change.
        SequentialSettings &settings = gate.settings;
        const auto check = [&](const char *key) {
            const QString problem = checkSequentialSettings(settings);
            // Only a written value can fail: the defaults hold, and promote_below's follows k0.
            if (problem.isEmpty())
                return;
            failAt(m_file, map.node(key),
                   QStringLiteral("%1: %2; got %3")
                       .arg(map.what(), problem, quotedValue(map.string(key, {}).trimmed())));
        };
        constexpr double anyNumber = std::numeric_limits<double>::max();
        settings.alpha = map.number("alpha", settings.alpha, -anyNumber, anyNumber);
        check("alpha");
        // Far beyond any regression worth its name, and 2 x k0 (promote_below's default) stays
        // a number.
        settings.k0 = map.number("k0", settings.k0, -anyNumber, 1e6);
        settings.promoteBelow = 2 * settings.k0;
        check("k0");
        settings.promoteBelow = map.number("promote_below", settings.promoteBelow, -anyNumber, 2e6);
        check("promote_below");

        if (map.has("slower_than")) {
            if (!gate.counts.contains(CountedEvent::SlowRequests)) {
                failAt(m_file, map.keyNode("slower_than"),
                       QStringLiteral("%1: 'slower_than' says which requests are slow, but the "
                                      "gate counts only errors; add slow_requests to 'counts' or "
                                      "remove 'slower_than'")
                           .arg(map.what()));
            }
            gate.slowerThanMs = readLatency(map, "slower_than");
        }
        return gate;
    }

    QList<CountedEvent> readCounts(const YamlMap &map) const
    {
        const QStringList written = map.stringList("counts");
        const YAML::Node list = map.node("counts");
        QStringList known;
        for (CountedEvent event : {CountedEvent::Errors, CountedEvent::SlowRequests})
            known.append(toString(event));
        if (written.isEmpty()) {
            failAt(m_file, list,
                   QStringLiteral("'counts' of %1 is empty; list what the gate counts, from: %2")
                       .arg(map.what(), known.join(QStringLiteral(", "))));
        }
        QList<CountedEvent> counts;
        int i = 0;
        for (const YAML::Node &item : list) {
            const QString text = written.at(i++).trimmed();
            const std::optional<CountedEvent> event = countedEventFromString(text);
            if (!event) {
                QString message = QStringLiteral("%1 counts %2, which it cannot count")
                                      .arg(map.what(), quotedValue(text));
                if (const QString nearest = nearestWord(text, known); !nearest.isEmpty())
                    message += QStringLiteral(" (did you mean '%1'?)").arg(nearest);
                message
                    += QStringLiteral("; choose from: %1").arg(known.join(QStringLiteral(", ")));
                failAt(m_file, item, message);
            }
            if (counts.contains(*event)) {
                failAt(m_file, item,
                       QStringLiteral("%1 counts %2 twice; list it once")
                           .arg(map.what(), toString(*event)));
            }
            counts.append(*event);
        }
        return counts;
    }

    // A latency written as bounds write it: "400ms", "0.4s", or a bare number of milliseconds.
    double readLatency(const YamlMap &map, const char *key) const
    {
        static const QRegularExpression latency(
            QStringLiteral("^(\\d+(?:\\.\\d*)?|\\.\\d+)\\s*(ms|s)?$"));
        const QString written = map.string(key, QString()).trimmed();
        const QRegularExpressionMatch match = latency.match(written);
        const YAML::Node node = map.node(key);
        if (!match.hasMatch()) {
            failAt(m_file, node,
                   QStringLiteral("%1 of %2 must be a latency such as 400ms or 0.4s, got %3")
                       .arg(QLatin1StringView(key), map.what(), quotedValue(written)));
        }
        const double ms = match.captured(1).toDouble()
                          * (match.captured(2) == QLatin1StringView("s") ? 1000 : 1);
        if (!(ms > 0) || !std::isfinite(ms)) {
            failAt(m_file, node,
                   QStringLiteral("%1 of %2 must be above 0, for example 400ms")
                       .arg(QLatin1StringView(key), map.what()));
        }
        return ms;
    }

    void readThreshold(const YamlMap &map, GateSpec &gate) const
    {
        const QString metricName = map.requiredString("metric");
        const MetricDefinition *metric = findMetric(m_workspace.metrics, metricName);
        if (!metric) {
            QStringList known;
            for (const MetricDefinition &m : std::as_const(m_workspace.metrics))
                known.append(m.name);
            failAt(m_file, map.node("metric"),
                   QStringLiteral("%1 measures %2; declare it under 'metrics:' if your "
                                  "metrics adapter reports it")
                       .arg(map.what(), unknownName(QStringLiteral("metric"), metricName, known)));
        }
        gate.metric = *metric;
        gate.bound = readBound(map, gate.metric);
        gate.minRequests = map.integer("min_requests", 100, 0, 1'000'000'000);
        gate.failureLimit = map.integer("failure_limit", 3, 1, 1000);
        gate.interval = map.duration("interval", std::chrono::minutes(1), std::chrono::seconds(1));
    }

    GateBound readBound(const YamlMap &map, const MetricDefinition &metric) const
    {
        const QString text = map.requiredString("bound");
        const auto parsed = parseGateBound(text, metric.unit);
        if (const auto *bound = std::get_if<GateBound>(&parsed))
            return *bound;
        const BoundError &error = std::get<BoundError>(parsed);
        const YAML::Node node = map.node("bound");
        YAML::Mark mark = node.Mark();
        // Point into the text: past the opening quote of a quoted scalar, which yaml-cpp tags "!".
        mark.column += int(error.offset) + (node.Tag() == "!" ? 1 : 0);
        throw DiagnosticError(
            diagnosticAtMark(m_file, mark,
                             QStringLiteral("bound %1 of %2 (%3): %4")
                                 .arg(quotedValue(text), map.what(), metric.name, error.message)));
    }

    void readPlans()
    {
        QSet<QString> defined;
        forEachEntry("plans", "plan", planKeys, [&](const YamlMap &map) {
            const QString name = uniqueName(map, defined, "plan", "quick-canary");

            const bool steps = map.has("stages");
            const bool argo = map.has("argo_rollout");
            if (steps == argo) {
                failAt(m_file, steps ? map.keyNode("argo_rollout") : map.self(),
                       QStringLiteral("%1 needs exactly one of 'stages' (its own stages) and "
                                      "'argo_rollout' (a Rollout manifest to import)")
                           .arg(map.what()));
            }
            replaceOrAppend(m_workspace.plans,
                            steps ? readStages(map, name) : importArgo(map, name));
        });
    }

    QStringList gateNames(const YamlMap &map, const char *key) const
    {
        const QStringList listed = map.stringList(key);
        const YAML::Node list = map.node(key);
        QStringList known;
        for (const GateSpec &gate : std::as_const(m_workspace.gates))
            known.append(gate.name);
        QStringList gates;
        int i = 0;
        for (const YAML::Node &item : list) {
            const QString name = listed.at(i++).trimmed();
            if (!known.contains(name)) {
                failAt(m_file, item,
                       QStringLiteral("%1 names %2")
                           .arg(map.what(), unknownName(QStringLiteral("gate"), name, known)));
            }
            if (!gates.contains(name))
                gates.append(name);
        }
        return gates;
    }

    void addGates(CanaryPlan &plan) const
    {
        for (const CanaryStage &stage : std::as_const(plan.stages)) {
            for (const QString &name : stage.gates) {
                for (const GateSpec &gate : std::as_const(m_workspace.gates)) {
                    if (gate.name == name)
                        plan.gates.insert(name, gate);
                }
            }
        }
    }

    CanaryPlan readStages(const YamlMap &map, const QString &name) const
    {
        CanaryPlan plan;
        plan.name = name;
        plan.origin = QStringLiteral("%1:%2")
                          .arg(QFileInfo(m_file).fileName())
                          .arg(map.self().Mark().line + 1);
        if (map.has("analysis_gates") || map.has("gates")) {
            failAt(m_file, map.keyNode(map.has("gates") ? "gates" : "analysis_gates"),
                   QStringLiteral("%1: 'gates' and 'analysis_gates' go with 'argo_rollout'; with "
                                  "'stages', list the gates in each stage")
                       .arg(map.what()));
        }
        const YAML::Node list = map.node("stages");
        requireSequence(m_file, list, QStringLiteral("stages"));
        QList<YAML::Node> stageNodes; // each stage's weight, where plan problems point
        QStringList inherited;
        int index = 0;
        for (const YAML::Node &entry : list) {
            ++index;
            const YamlMap stageMap(entry, m_file,
                                   QStringLiteral("stage %1 of plan '%2'").arg(index).arg(name),
                                   stageKeys);
            CanaryStage stage;
            if (!stageMap.has("weight")) {
                failAt(m_file, entry,
                       QStringLiteral("%1 has no weight; write the percentage of requests the "
                                      "new version gets, e.g. 'weight: 5'")
                           .arg(stageMap.what()));
            }
            stage.weightPercent = stageMap.number("weight", 0, 0, 100);
            const bool last = index == int(list.size());
            if (!last && !stageMap.has("bake")) {
                failAt(m_file, entry,
                       QStringLiteral("%1 has no bake; say how long it runs before the next "
                                      "stage, e.g. 'bake: 10m'")
                           .arg(stageMap.what()));
            }
            stage.bake = stageMap.duration("bake", Duration(0));
            // A stage without its own list checks what the stage before it checked.
            stage.gates = stageMap.has("gates") ? gateNames(stageMap, "gates") : inherited;
            inherited = stage.gates;
            stage.approval = stageMap.boolean("approval", false);
            plan.stages.append(stage);
            stageNodes.append(stageMap.node("weight"));
        }
        addGates(plan);
        int badStage = -1;
        if (const QString problem = checkPlan(plan, &badStage); !problem.isEmpty()) {
            failAt(m_file, badStage >= 0 ? stageNodes.at(badStage) : map.keyNode("stages"),
                   QStringLiteral("plan '%1': %2").arg(name, problem));
        }
        return plan;
    }

    // `analysis_gates: {success-rate: error-rate}`: which gate stands for each of the
    // manifest's AnalysisTemplates.
    QMap<QString, QString> templateGates(const YamlMap &map) const
    {
        const YAML::Node mapping = map.node("analysis_gates");
        if (nodeType(mapping) != NodeType::Map) {
            failAt(m_file, mapping,
                   QStringLiteral("analysis_gates of %1 must map AnalysisTemplate names to gate "
                                  "names, e.g. '{success-rate: error-rate}'")
                       .arg(map.what()));
        }
        QStringList known;
        for (const GateSpec &gate : std::as_const(m_workspace.gates))
            known.append(gate.name);
        QMap<QString, QString> result;
        for (auto it = mapping.begin(); it != mapping.end(); ++it) {
            if (nodeType(it->first) != NodeType::Scalar
                || nodeType(it->second) != NodeType::Scalar) {
                failAt(m_file, it->first,
                       QStringLiteral("each entry of analysis_gates is 'template-name: "
                                      "gate-name'"));
            }
            const QString gate = QString::fromStdString(it->second.Scalar()).trimmed();
            if (!known.contains(gate)) {
                failAt(m_file, it->second,
                       QStringLiteral("analysis_gates of %1 maps to %2")
                           .arg(map.what(), unknownName(QStringLiteral("gate"), gate, known)));
            }
            result.insert(QString::fromStdString(it->first.Scalar()).trimmed(), gate);
        }
        return result;
    }

    CanaryPlan importArgo(const YamlMap &map, const QString &name) const
    {
        ArgoImportOptions options;
        options.planName = name;
        for (const GateSpec &gate : std::as_const(m_workspace.gates))
            options.gates.insert(gate.name, gate);
        if (map.has("gates"))
            options.everyStageGates = gateNames(map, "gates");
        if (map.has("analysis_gates"))
            options.templateGates = templateGates(map);
        const QString written = map.requiredString("argo_rollout");
        const QString path
            = QDir(QFileInfo(m_file).absolutePath()).absoluteFilePath(written.trimmed());
        Result<CanaryPlan, Diagnostic> imported = loadArgoRollout(path, options);
        if (!imported)
            throw DiagnosticError(imported.error());
        return std::move(imported).value();
    }

    const YamlMap &m_top;
    QString m_file;
    Workspace &m_workspace;
};

} // namespace

void readReleaseSections(const YamlMap &top, Workspace &workspace)
{
    SectionReader(top, workspace).read();
}

} // namespace sb
