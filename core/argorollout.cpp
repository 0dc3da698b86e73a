#include "argorollout.h"

#include "yamlreader.h"

#include <QFileInfo>

#include <climits>
#include <cmath>
#include <limits>
#include <optional>
#include <string>
#include <vector>

namespace sb {

namespace {

using NodeType = YAML::NodeType;

const QString setWeightKind = QStringLiteral("setWeight");
const QString pauseKind = QStringLiteral("pause");
const QString analysisKind = QStringLiteral("analysis");

// Every step kind Argo Rollouts knows, so a typo is matched against all of them and a step this
// import cannot carry out is named as such rather than as unknown.
const QStringList stepKinds{setWeightKind,
                            pauseKind,
                            analysisKind,
                            QStringLiteral("setCanaryScale"),
                            QStringLiteral("experiment"),
                            QStringLiteral("setHeaderRoute"),
                            QStringLiteral("setMirrorRoute"),
                            QStringLiteral("plugin")};

// The keys that do not change what an analysis decides; dryRun does, and is refused on its own.
const QStringList stepAnalysisKeys{QStringLiteral("templates"), QStringLiteral("args"),
                                   QStringLiteral("analysisRunMetadata"),
                                   QStringLiteral("measurementRetention")};
const QStringList backgroundAnalysisKeys
    = stepAnalysisKeys + QStringList{QStringLiteral("startingStep")};

QString unsupportedReason(const QString &kind)
{
    if (kind == QLatin1String("setCanaryScale"))
        return QStringLiteral("a Signalbox stage sizes the canary from its weight");
    if (kind == QLatin1String("experiment"))
        return QStringLiteral("Signalbox runs no side-by-side experiments");
    if (kind == QLatin1String("setHeaderRoute"))
        return QStringLiteral("Signalbox splits traffic by weight only, not by header");
    if (kind == QLatin1String("setMirrorRoute"))
        return QStringLiteral("Signalbox does not mirror traffic");
    return QStringLiteral("Signalbox cannot run Argo Rollouts step plugins");
}

QString scalarOf(const std::optional<YamlEntry> &entry)
{
    if (!entry || nodeType(entry->value) != NodeType::Scalar)
        return {};
    return QString::fromStdString(entry->value.Scalar()).trimmed();
}

int lineOf(const YAML::Node &node)
{
    const YAML::Mark mark = node.Mark();
    return mark.is_null() ? 0 : mark.line + 1;
}

void appendOnce(QStringList &list, const QStringList &items)
{
    for (const QString &item : items) {
        if (!list.contains(item))
            list.append(item);
    }
}

class Importer
{
public:
    Importer(QString file, const ArgoImportOptions &options)
        : m_file(std::move(file))
        , m_options(options)
    {}

    CanaryPlan import(const std::vector<YAML::Node> &documents)
    {
        checkEveryStageGates();
        const YAML::Node rollout = findRollout(documents);
        const YamlEntry spec = requiredMapping(rollout, rollout, "spec", QStringLiteral("spec"));
        const YamlEntry strategy
            = requiredMapping(spec.value, spec.key, "strategy", QStringLiteral("spec.strategy"));
        if (!findEntry(strategy.value, "canary")) {
            if (const std::optional<YamlEntry> blueGreen = findEntry(strategy.value, "blueGreen")) {
                failAt(m_file, blueGreen->key,
                       QStringLiteral("%1 uses the blueGreen strategy, and only canary steps "
                                      "import into a canary plan; give the service 'strategy: "
                                      "blue-green' in the workspace instead")
                           .arg(m_subject));
            }
        }
        const YamlEntry canary = requiredMapping(strategy.value, strategy.key, "canary",
                                                 QStringLiteral("spec.strategy.canary"));
        const YAML::Node steps = readSteps(canary);
        readMaxTrafficWeight(canary.value);
        readBackgroundAnalysis(canary.value, int(steps.size()));
        readStages(steps);
        return buildPlan();
    }

private:
    // A stage as its steps build it.
    struct Draft {
        CanaryStage stage;
        YAML::Node at{NodeType::Undefined}; // its setWeight step; undefined for the added 100 %
        int firstStep = -1;
        int lastStep = -1;
    };

    void checkEveryStageGates() const
    {
        for (const QString &gate : m_options.everyStageGates) {
            if (!m_options.gates.contains(gate)) {
                throw DiagnosticError(Diagnostic{
                    m_file, 0, 0,
                    QStringLiteral("gate %1, chosen for every stage, is not defined; choose among "
                                   "the workspace's gates: %2")
                        .arg(quotedValue(gate), definedGates())});
            }
        }
    }

    QString definedGates() const
    {
        return m_options.gates.isEmpty() ? QStringLiteral("(none are defined)")
                                         : m_options.gates.keys().join(QStringLiteral(", "));
    }

    YAML::Node findRollout(const std::vector<YAML::Node> &documents)
    {
        std::optional<YAML::Node> rollout;
        QStringList otherKinds;
        bool empty = true;
        for (const YAML::Node &document : documents) {
            empty = empty && nodeType(document) == NodeType::Null;
            const std::optional<YamlEntry> kind = findEntry(document, "kind");
            const QString kindName = scalarOf(kind);
            if (kindName != QLatin1String("Rollout")) {
                if (!kindName.isEmpty() && !otherKinds.contains(kindName))
                    otherKinds.append(kindName);
                continue;
            }
            const std::optional<YamlEntry> apiVersion = findEntry(document, "apiVersion");
            const QString api = scalarOf(apiVersion);
            if (!api.startsWith(QLatin1String("argoproj.io/"))) {
                failAt(m_file, apiVersion ? apiVersion->value : kind->value,
                       QStringLiteral("this Rollout has apiVersion %1, so it is not an Argo "
                                      "Rollout; Argo Rollouts use 'apiVersion: "
                                      "argoproj.io/v1alpha1'")
                           .arg(api.isEmpty() ? QStringLiteral("(none)") : quotedValue(api)));
            }
            if (rollout) {
                failAt(m_file, document,
                       QStringLiteral("this file holds a second Argo Rollout, %1 (the first, %2, "
                                      "begins on line %3); a file imports as one plan: keep one "
                                      "Rollout in it")
                           .arg(subjectOf(document), subjectOf(*rollout))
                           .arg(lineOf(*rollout)));
            }
            rollout = document;
        }
        if (empty) {
            throw DiagnosticError(
                Diagnostic{m_file, 0, 0,
                           QStringLiteral("the file is empty; it needs an Argo Rollout ('kind: "
                                          "Rollout') with canary steps")});
        }
        if (!rollout) {
            const QString found
                = otherKinds.isEmpty()
                      ? QString()
                      : QStringLiteral(" (it holds %1)").arg(otherKinds.join(QStringLiteral(", ")));
            throw DiagnosticError(
                Diagnostic{m_file, 0, 0,
                           QStringLiteral("there is no Argo Rollout in this file%1; import the "
                                          "manifest with 'kind: Rollout' and 'apiVersion: "
                                          "argoproj.io/v1alpha1'")
                               .arg(found)});
        }
        m_subject = subjectOf(*rollout);
        return *rollout;
    }

    static QString subjectOf(const YAML::Node &rollout)
    {
        const std::optional<YamlEntry> metadata = findEntry(rollout, "metadata");
        const QString name = metadata ? scalarOf(findEntry(metadata->value, "name")) : QString();
        return name.isEmpty() ? QStringLiteral("the Rollout")
                              : QStringLiteral("Rollout %1").arg(quotedValue(name));
    }

    // The mapping under `key` of `parent`; when absent, the message points at `missingAt`.
    YamlEntry requiredMapping(const YAML::Node &parent, const YAML::Node &missingAt,
                              const char *key, const QString &path) const
    {
        const std::optional<YamlEntry> entry = findEntry(parent, key);
        if (!entry || nodeType(entry->value) == NodeType::Null) {
            failAt(m_file, entry ? entry->key : missingAt,
                   QStringLiteral("%1 has no %2; the canary steps to import belong under "
                                  "spec.strategy.canary.steps")
                       .arg(m_subject, path));
        }
        if (nodeType(entry->value) != NodeType::Map) {
            failAt(m_file, entry->value,
                   QStringLiteral("%1 must be a mapping of keys to values ('key: value' lines "
                                  "indented under '%2:')")
                       .arg(path, QLatin1StringView(key)));
        }
        return *entry;
    }

    YAML::Node readSteps(const YamlEntry &canary)
    {
        const QString example = QStringLiteral("'- setWeight: 20' and '- pause: {duration: 10m}'");
        const std::optional<YamlEntry> steps = findEntry(canary.value, "steps");
        // Without steps Argo Rollouts goes straight to 100 %: there is no canary to import.
        if (!steps) {
            failAt(m_file, canary.key,
                   QStringLiteral("spec.strategy.canary of %1 has no steps, so Argo Rollouts "
                                  "would go straight to 100 %; add steps such as %2")
                       .arg(m_subject, example));
        }
        requireSequence(m_file, steps->value, QStringLiteral("spec.strategy.canary.steps"));
        if (nodeType(steps->value) == NodeType::Null || steps->value.size() == 0) {
            failAt(m_file, nodeType(steps->value) == NodeType::Null ? steps->key : steps->value,
                   QStringLiteral("spec.strategy.canary.steps of %1 is empty, so Argo Rollouts "
                                  "would go straight to 100 %; add steps such as %2")
                       .arg(m_subject, example));
        }
        m_stepsKey = steps->key;
        return steps->value;
    }

    // Weights are fractions of maxTrafficWeight when the traffic router sets one (e.g. 1000 for
    // tenths of a percent).
    void readMaxTrafficWeight(const YAML::Node &canary)
    {
        const std::optional<YamlEntry> routing = findEntry(canary, "trafficRouting");
        const std::optional<YamlEntry> max
            = routing ? findEntry(routing->value, "maxTrafficWeight") : std::nullopt;
        if (!max || nodeType(max->value) == NodeType::Null)
            return;
        bool ok = false;
        const QString written = scalarOf(max);
        const int value = written.toInt(&ok);
        if (!ok || value <= 0) {
            failAt(
                m_file, max->value,
                QStringLiteral("maxTrafficWeight must be a whole number above 0, such as 100 "
                               "or 1000, got %1")
                    .arg(written.isEmpty() ? QStringLiteral("no number") : quotedValue(written)));
        }
        m_maxWeight = value;
    }

    // dryRun metrics never stop an Argo rollout, but a Signalbox gate always can.
    void refuseDryRun(const YAML::Node &analysis, const QString &subject) const
    {
        if (const std::optional<YamlEntry> dryRun = findEntry(analysis, "dryRun")) {
            failAt(m_file, dryRun->key,
                   QStringLiteral("%1 runs metrics in dryRun, whose failures do not stop an Argo "
                                  "rollout, while the gate a template imports as always can; "
                                  "remove dryRun (or those metrics) to import")
                       .arg(subject));
        }
    }

    void readBackgroundAnalysis(const YAML::Node &canary, int stepCount)
    {
        const std::optional<YamlEntry> entry = findEntry(canary, "analysis");
        if (!entry || nodeType(entry->value) == NodeType::Null)
            return;
        const QString subject = QStringLiteral("background analysis (spec.strategy.canary."
                                               "analysis)");
        refuseDryRun(entry->value, subject);
        const YamlMap analysis(entry->value, m_file,
                               QStringLiteral("spec.strategy.canary.analysis"),
                               backgroundAnalysisKeys);
        m_backgroundGates = readTemplates(analysis, subject);
        m_startingStep = analysis.integer("startingStep", 0, 0, INT_MAX);
        if (m_startingStep >= stepCount) {
            failAt(m_file, analysis.node("startingStep"),
                   QStringLiteral("startingStep %1 is past the last step, whose index is %2 "
                                  "(startingStep counts steps from 0), so the analysis would "
                                  "never run; point it at a step")
                       .arg(m_startingStep)
                       .arg(stepCount - 1));
        }
    }

    // The gates the templates of an analysis stand for, in the order written.
    QStringList readTemplates(const YamlMap &analysis, const QString &subject) const
    {
        const YAML::Node list = analysis.node("templates");
        requireSequence(m_file, list, QStringLiteral("templates"));
        if (nodeType(list) != NodeType::Sequence || list.size() == 0) {
            const YAML::Node at = nodeType(list) == NodeType::Undefined ? analysis.self()
                                  : nodeType(list) == NodeType::Null ? analysis.keyNode("templates")
                                                                     : list;
            failAt(m_file, at,
                   QStringLiteral("%1 names no templates; list them as 'templates: "
                                  "[{templateName: success-rate}]'")
                       .arg(subject));
        }
        QStringList gates;
        int index = 0;
        for (const YAML::Node &item : list) {
            ++index;
            const YamlMap ref(item, m_file,
                              QStringLiteral("template #%1 of %2").arg(index).arg(subject),
                              {QStringLiteral("templateName"), QStringLiteral("clusterScope")});
            const QString name = ref.requiredString("templateName").trimmed();
            ref.boolean("clusterScope", false);
            const QString gate = m_options.templateGates.value(name, name);
            if (!m_options.gates.contains(gate)) {
                failAt(m_file, ref.node("templateName"), unmappedTemplate(subject, name, gate));
            }
            appendOnce(gates, {gate});
        }
        return gates;
    }

    QString unmappedTemplate(const QString &subject, const QString &name, const QString &gate) const
    {
        if (gate != name) {
            return QStringLiteral("%1 runs analysis template %2, mapped to gate %3, which the "
                                  "workspace does not define; define gate %3, or map the "
                                  "template to one of: %4")
                .arg(subject, quotedValue(name), quotedValue(gate), definedGates());
        }
        QString message = QStringLiteral("%1 runs analysis template %2, which matches no gate")
                              .arg(subject, quotedValue(name));
        const QString nearest = nearestWord(name, m_options.gates.keys());
        if (!nearest.isEmpty())
            message += QStringLiteral(" (did you mean '%1'?)").arg(nearest);
        return message
               + QStringLiteral("; define a gate named %1 in the workspace, or map the template "
                                "to one of its gates: %2")
                     .arg(quotedValue(name), definedGates());
    }

    void readStages(const YAML::Node &steps)
    {
        int index = -1;
        for (const YAML::Node &step : steps) {
            ++index;
            const QString what = QStringLiteral("step %1").arg(index + 1);
            const YamlMap map(step, m_file, what, stepKinds);
            QStringList kinds;
            for (auto it = step.begin(); it != step.end(); ++it)
                kinds.append(
                    QStringLiteral("'%1'").arg(QString::fromStdString(it->first.Scalar())));
            if (kinds.isEmpty()) {
                failAt(m_file, step,
                       QStringLiteral("%1 is empty; give it one action, such as 'setWeight: 20' "
                                      "or 'pause: {duration: 10m}'")
                           .arg(what));
            }
            if (kinds.size() > 1) {
                failAt(m_file, step,
                       QStringLiteral("%1 has %2 actions (%3); Argo Rollouts takes one action per "
                                      "step: split it into one step each")
                           .arg(what)
                           .arg(kinds.size())
                           .arg(kinds.join(QStringLiteral(", "))));
            }
            const QString kind = QString::fromStdString(step.begin()->first.Scalar());
            if (kind == setWeightKind) {
                Draft draft;
                draft.stage.weightPercent = readWeight(map, what);
                draft.at = step;
                draft.firstStep = index;
                draft.lastStep = index;
                m_drafts.append(draft);
                continue;
            }
            if (kind != pauseKind && kind != analysisKind) {
                failAt(m_file, step,
                       QStringLiteral("%1 (%2) is a step Signalbox cannot import: %3; "
                                      "remove the step to import the others")
                           .arg(what, kind, unsupportedReason(kind)));
            }
            if (m_drafts.isEmpty()) {
                failAt(m_file, step,
                       QStringLiteral("%1 (%2) comes before any setWeight, but every Signalbox "
                                      "stage begins by setting its weight; put a 'setWeight' step "
                                      "first")
                           .arg(what, kind));
            }
            Draft &draft = m_drafts.last();
            draft.lastStep = index;
            if (kind == pauseKind) {
                readPause(map, what, draft.stage);
            } else {
                refuseDryRun(map.node("analysis"), what);
                const YamlMap analysis(map.node("analysis"), m_file,
                                       QStringLiteral("analysis of %1").arg(what),
                                       stepAnalysisKeys);
                appendOnce(draft.stage.gates, readTemplates(analysis, what));
            }
        }
    }

    double readWeight(const YamlMap &map, const QString &what) const
    {
        if (!map.has("setWeight")) {
            failAt(m_file, map.keyNode("setWeight"),
                   QStringLiteral("setWeight in %1 has no value; write a percentage such as "
                                  "'setWeight: 20'")
                       .arg(what));
        }
        const double weight = map.number("setWeight", 0, std::numeric_limits<double>::lowest(),
                                         std::numeric_limits<double>::max());
        const YAML::Node at = map.node("setWeight");
        const QString written = QString::fromStdString(at.Scalar()).trimmed();
        if (weight != std::floor(weight)) {
            failAt(m_file, at,
                   QStringLiteral("%1 sets weight %2, but Argo Rollouts weights are whole numbers")
                       .arg(what, written));
        }
        const QString range
            = m_maxWeight == 100
                  ? QStringLiteral("a stage's weight is above 0 and at most 100 (all traffic)")
                  : QStringLiteral("a stage's weight is above 0 and at most %1 (all traffic, "
                                   "trafficRouting.maxTrafficWeight)")
                        .arg(m_maxWeight);
        if (weight <= 0) {
            failAt(m_file, at,
                   QStringLiteral("%1 sets weight %2, which sends no traffic to the canary; %3")
                       .arg(what, written, range));
        }
        if (weight > m_maxWeight) {
            failAt(m_file, at,
                   QStringLiteral("%1 sets weight %2, more than all traffic; %3")
                       .arg(what, written, range));
        }
        return weight * 100.0 / m_maxWeight;
    }

    void readPause(const YamlMap &map, const QString &what, CanaryStage &stage) const
    {
        if (nodeType(map.node("pause")) == NodeType::Null) {
            failAt(m_file, map.keyNode("pause"),
                   QStringLiteral("pause in %1 has no value; write 'pause: {}' to wait for an "
                                  "operator's approval, or 'pause: {duration: 10m}' to bake")
                       .arg(what));
        }
        const YamlMap pause(map.node("pause"), m_file, QStringLiteral("pause of %1").arg(what),
                            {QStringLiteral("duration")});
        if (pause.has("duration")) {
            stage.bake += pause.duration("duration", Duration(0));
        } else if (pause.keyNode("duration").IsDefined()) {
            // Argo would read an empty duration as a pause without end; say which was meant.
            failAt(m_file, pause.keyNode("duration"),
                   QStringLiteral("duration in the pause of %1 has no value; write one such as "
                                  "'duration: 10m', or 'pause: {}' to wait for an approval")
                       .arg(what));
        } else {
            stage.approval = true;
        }
    }

    CanaryPlan buildPlan()
    {
        // Argo Rollouts promotes to full once the last step is done.
        if (m_drafts.last().stage.weightPercent < 100) {
            Draft full;
            full.stage.weightPercent = 100;
            m_drafts.append(full);
        }
        CanaryPlan plan;
        plan.name = m_options.planName;
        plan.origin = QFileInfo(m_file).fileName() + QStringLiteral(" (Argo Rollouts)");
        for (int i = 0; i < m_drafts.size(); ++i) {
            Draft &draft = m_drafts[i];
            if (i == m_drafts.size() - 1) {
                // Reaching the final stage completes the release, so what Argo does after
                // setWeight: 100 has nowhere to go; clearing it also gives the same plan whether
                // the manifest writes its last 100 % or leaves it implicit.
                draft.stage.bake = Duration(0);
                draft.stage.approval = false;
                draft.stage.gates.clear();
            } else {
                // Background analysis runs from the step it starts at, so it covers every stage
                // it is running during, even if only from a pause within it.
                QStringList gates;
                if (draft.lastStep >= m_startingStep)
                    gates = m_backgroundGates;
                appendOnce(gates, draft.stage.gates);
                appendOnce(gates, m_options.everyStageGates);
                draft.stage.gates = gates;
                if (gates.isEmpty()) {
                    failAt(m_file, draft.at,
                           QStringLiteral("step %1 (setWeight) begins a stage no analysis checks, "
                                          "so it would advance on time alone; add an 'analysis' "
                                          "step after it, background analysis under "
                                          "spec.strategy.canary.analysis, or import with gates "
                                          "for every stage")
                               .arg(draft.firstStep + 1));
                }
            }
            for (const QString &gate : draft.stage.gates)
                plan.gates.insert(gate, m_options.gates.value(gate));
            plan.stages.append(draft.stage);
        }

        int stageIndex = -1;
        const QString problem = checkPlan(plan, &stageIndex);
        if (!problem.isEmpty()) {
            if (stageIndex >= 0 && m_drafts.at(stageIndex).at.IsDefined()) {
                const Draft &draft = m_drafts.at(stageIndex);
                failAt(m_file, draft.at,
                       QStringLiteral("step %1: %2").arg(draft.firstStep + 1).arg(problem));
            }
            failAt(m_file, m_stepsKey, problem);
        }
        return plan;
    }

    QString m_file;
    const ArgoImportOptions &m_options;
    QString m_subject = QStringLiteral("the Rollout");
    YAML::Node m_stepsKey{NodeType::Undefined};
    int m_maxWeight = 100;
    QStringList m_backgroundGates;
    int m_startingStep = 0;
    QList<Draft> m_drafts;
};

Result<CanaryPlan, Diagnostic> parseUnlocated(const QByteArray &yaml, const QString &file,
                                              const ArgoImportOptions &options)
{
    return catchYamlErrors<CanaryPlan>(file, QStringLiteral("Rollout manifest"), [&] {
        return Importer(file, options)
            .import(YAML::LoadAll(std::string(yaml.constData(), static_cast<size_t>(yaml.size()))));
    });
}

} // namespace

Result<CanaryPlan, Diagnostic> parseArgoRollout(const QByteArray &yaml, const QString &file,
                                                const ArgoImportOptions &options)
{
    Result<CanaryPlan, Diagnostic> parsed = parseUnlocated(yaml, file, options);
    if (!parsed) {
        Diagnostic diagnostic = parsed.error();
        diagnostic.sourceLine = sourceLineOf(yaml, diagnostic.line);
        return diagnostic;
    }
    return parsed;
}

Result<CanaryPlan, Diagnostic> loadArgoRollout(const QString &path,
                                               const ArgoImportOptions &options)
{
    Result<QByteArray, Diagnostic> data = readUserFile(path, QStringLiteral("manifest"));
    if (!data)
        return data.error();
    return parseArgoRollout(data.value(), QFileInfo(path).absoluteFilePath(), options);
}

} // namespace sb
