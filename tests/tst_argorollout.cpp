#include "argorollout.h"

#include <QFileInfo>
#include <QTemporaryDir>
#include <QTest>

#include <sys/stat.h>

using namespace sb;

namespace {

const QString manifests = QStringLiteral(SIGNALBOX_TEST_DATA "/argo/");

ArgoImportOptions optionsWith(const QStringList &everyStageGates)
{
    ArgoImportOptions options;
    options.planName = QStringLiteral("imported");
    for (const GateSpec &gate : builtInGates())
        options.gates.insert(gate.name, gate);
    options.templateGates = {{QStringLiteral("success-rate"), QStringLiteral("error-rate")},
                             {QStringLiteral("latency"), QStringLiteral("p99-latency")},
                             {QStringLiteral("apdex-score"), QStringLiteral("apdex")}};
    options.everyStageGates = everyStageGates;
    return options;
}

// A Rollout whose steps follow, each written "      - <step>\n", so the first step is on line 8
// and its key in column 9.
QByteArray rolloutWithSteps(const QByteArray &steps)
{
    return "apiVersion: argoproj.io/v1alpha1\n"
           "kind: Rollout\n"
           "metadata: {name: web}\n"
           "spec:\n"
           "  strategy:\n"
           "    canary:\n"
           "      steps:\n"
           + steps;
}

// One line per stage, so a mismatch shows which stage and what differs.
QStringList dump(const CanaryPlan &plan)
{
    QStringList lines;
    for (const CanaryStage &stage : plan.stages) {
        lines.append(QStringLiteral("%1 % bake %2s [%3]%4")
                         .arg(stage.weightPercent)
                         .arg(stage.bake.count() / 1000.0)
                         .arg(stage.gates.join(QLatin1Char(',')))
                         .arg(stage.approval ? QStringLiteral(" approval") : QString()));
    }
    return lines;
}

Result<CanaryPlan, Diagnostic> importRow(const QString &fixture, const QByteArray &yaml,
                                         const QStringList &everyStageGates)
{
    if (!fixture.isEmpty())
        return loadArgoRollout(manifests + fixture, optionsWith(everyStageGates));
    return parseArgoRollout(yaml, QStringLiteral("inline.yaml"), optionsWith(everyStageGates));
}

} // namespace

class TestArgoRollout : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void goodManifest_data()
    {
        QTest::addColumn<QString>("fixture");
        QTest::addColumn<QByteArray>("yaml");
        QTest::addColumn<QStringList>("everyStageGates");
        QTest::addColumn<QStringList>("stages");

        const QStringList health{"error-rate", "p99-latency"};
        QTest::newRow("getting-started guide: manual pause, bare seconds, implicit 100 %")
            << "getting-started.yaml" << QByteArray() << health
            << QStringList{"20 % bake 0s [error-rate,p99-latency] approval",
                           "40 % bake 10s [error-rate,p99-latency]",
                           "60 % bake 10s [error-rate,p99-latency]",
                           "80 % bake 10s [error-rate,p99-latency]", "100 % bake 0s []"};
        QTest::newRow("multi-document file, inline analysis mapped, steps after 100 % unused")
            << "multi-document.yaml" << QByteArray() << QStringList()
            << QStringList{"5 % bake 300s [error-rate]", "25 % bake 600s [error-rate,p99-latency]",
                           "100 % bake 0s []"};
        QTest::newRow("background analysis from startingStep 2")
            << "background-analysis.yaml" << QByteArray() << QStringList{"cpu"}
            << QStringList{"20 % bake 600s [cpu]", "40 % bake 600s [error-rate,cpu]",
                           "60 % bake 600s [error-rate,cpu]", "80 % bake 600s [error-rate,cpu]",
                           "100 % bake 0s []"};
        // Argo starts it once the rollout reaches that step, which is inside the 20 % stage.
        QTest::newRow("background analysis starting at a pause covers that pause's stage")
            << QString()
            << QByteArray("apiVersion: argoproj.io/v1alpha1\n"
                          "kind: Rollout\n"
                          "spec:\n"
                          "  strategy:\n"
                          "    canary:\n"
                          "      analysis: {templates: [{templateName: cpu}], startingStep: 2}\n"
                          "      steps:\n"
                          "      - setWeight: 10\n"
                          "      - analysis: {templates: [{templateName: memory}]}\n"
                          "      - pause: {}\n"
                          "      - pause: {duration: 5m}\n"
                          "      - setWeight: 50\n"
                          "      - pause: {duration: 5m}\n"
                          "      - setWeight: 100\n")
            << QStringList()
            << QStringList{"10 % bake 300s [cpu,memory] approval", "50 % bake 300s [cpu]",
                           "100 % bake 0s []"};
        QTest::newRow("durations in every form add up")
            << QString()
            << rolloutWithSteps("      - setWeight: 10\n"
                                "      - pause: {duration: 30s}\n"
                                "      - pause: {duration: \"10m\"}\n"
                                "      - pause: {duration: 1h}\n"
                                "      - pause: {duration: 45}\n"
                                "      - pause: {duration: \"15\"}\n"
                                "      - setWeight: 50\n"
                                "      - pause:\n"
                                "          duration: 1h30m\n")
            << health
            << QStringList{"10 % bake 4290s [error-rate,p99-latency]",
                           "50 % bake 5400s [error-rate,p99-latency]", "100 % bake 0s []"};
        QTest::newRow("a gate named twice is checked once, in the order first named")
            << QString()
            << rolloutWithSteps("      - setWeight: 10\n"
                                "      - analysis: {templates: [{templateName: success-rate}, "
                                "{templateName: cpu}]}\n"
                                "      - analysis: {templates: [{templateName: error-rate}]}\n"
                                "      - {setWeight: 30}\n")
            << QStringList{"cpu", "memory"}
            << QStringList{"10 % bake 0s [error-rate,cpu,memory]", "30 % bake 0s [cpu,memory]",
                           "100 % bake 0s []"};
        QTest::newRow("weights out of trafficRouting.maxTrafficWeight")
            << QString()
            << QByteArray(
                   "apiVersion: argoproj.io/v1alpha1\n"
                   "kind: Rollout\n"
                   "spec:\n"
                   "  strategy:\n"
                   "    canary:\n"
                   "      trafficRouting: {maxTrafficWeight: 1000, nginx: {stableIngress: web}}\n"
                   "      steps: [{setWeight: 5}, {pause: {duration: 1m}}, {setWeight: 250}]\n")
            << QStringList{"error-rate"}
            << QStringList{"0.5 % bake 60s [error-rate]", "25 % bake 0s [error-rate]",
                           "100 % bake 0s []"};
        QTest::newRow("a single step to 100 % is a plan of one stage")
            << QString() << rolloutWithSteps("      - setWeight: 100\n      - pause: {}\n")
            << QStringList() << QStringList{"100 % bake 0s []"};
    }

    void goodManifest()
    {
        QFETCH(QString, fixture);
        QFETCH(QByteArray, yaml);
        QFETCH(QStringList, everyStageGates);
        QFETCH(QStringList, stages);

        const auto result = importRow(fixture, yaml, everyStageGates);
        QVERIFY2(result.ok(), qPrintable(result.ok() ? QString() : result.error().toString()));
        const CanaryPlan &plan = result.value();
        QCOMPARE(dump(plan), stages);
        QCOMPARE(checkPlan(plan), QString());

        // The plan carries exactly the gates its stages name, as the workspace defines them.
        QStringList named;
        for (const CanaryStage &stage : plan.stages) {
            for (const QString &gate : stage.gates) {
                if (!named.contains(gate))
                    named.append(gate);
            }
        }
        named.sort();
        QCOMPARE(plan.gates.keys(), named);
        const ArgoImportOptions options = optionsWith(everyStageGates);
        for (const QString &gate : named)
            QCOMPARE(plan.gates.value(gate), options.gates.value(gate));
    }

    void planIsNamedAndTraced()
    {
        const auto loaded
            = loadArgoRollout(manifests + "getting-started.yaml", optionsWith({"error-rate"}));
        QVERIFY2(loaded.ok(), qPrintable(loaded.ok() ? QString() : loaded.error().toString()));
        QCOMPARE(loaded.value().name, "imported");
        QCOMPARE(loaded.value().origin, "getting-started.yaml (Argo Rollouts)");
        QCOMPARE(loaded.value().approvals(), 1);

        const auto parsed = parseArgoRollout(rolloutWithSteps("      - setWeight: 50\n"),
                                             "deploy/rollout.yaml", optionsWith({"cpu"}));
        QVERIFY(parsed.ok());
        QCOMPARE(parsed.value().origin, "rollout.yaml (Argo Rollouts)");
    }

    void badManifest_data()
    {
        QTest::addColumn<QString>("fixture");
        QTest::addColumn<QByteArray>("yaml");
        QTest::addColumn<QStringList>("everyStageGates");
        QTest::addColumn<int>("line");
        QTest::addColumn<int>("column");
        QTest::addColumn<QString>("message");

        const QStringList gated{"error-rate"};
        const auto inlineRow = [&](const char *name, const QByteArray &yaml, int line, int column,
                                   const QString &message) {
            QTest::newRow(name) << QString() << yaml << gated << line << column << message;
        };
        const auto stepRow = [&](const char *name, const QByteArray &secondStep, int column,
                                 const QString &message) {
            inlineRow(name, rolloutWithSteps("      - setWeight: 20\n      - " + secondStep + "\n"),
                      9, column, message);
        };

        stepRow("setCanaryScale", "setCanaryScale: {replicas: 3}", 9,
                "step 2 (setCanaryScale) is a step Signalbox cannot import: a Signalbox "
                "stage sizes the canary from its weight; remove the step to import the others");
        stepRow("experiment", "experiment: {templates: [{name: baseline, specRef: stable}]}", 9,
                "step 2 (experiment) is a step Signalbox cannot import: Signalbox runs no "
                "side-by-side experiments");
        stepRow("setHeaderRoute", "setHeaderRoute: {name: beta}", 9,
                "step 2 (setHeaderRoute) is a step Signalbox cannot import");
        stepRow("setMirrorRoute", "setMirrorRoute: {name: mirror, percentage: 10}", 9,
                "step 2 (setMirrorRoute) is a step Signalbox cannot import");
        stepRow("plugin", "plugin: {name: argoproj-labs/step-exec}", 9,
                "step 2 (plugin) is a step Signalbox cannot import");
        stepRow("flow-style step", "{experiment: {duration: 1h}}", 9,
                "step 2 (experiment) is a step Signalbox cannot import");
        stepRow("typo in a step kind", "setWieght: 40", 9,
                "unknown key 'setWieght' in step 2; did you mean 'setWeight'?");
        stepRow("unknown step kind", "wait: 5m", 9,
                "unknown key 'wait' in step 2; valid keys are setWeight, pause, analysis");
        stepRow("two actions in one step", "{setWeight: 40, pause: {}}", 9,
                "step 2 has 2 actions ('setWeight', 'pause'); Argo Rollouts takes one action per "
                "step");
        stepRow("empty step", "{}", 9, "step 2 is empty; give it one action");
        stepRow("step is not a mapping", "setWeight 40", 9,
                "step 2 must be a mapping of keys to values");
        inlineRow("weight 0", rolloutWithSteps("      - setWeight: 0\n"), 8, 20,
                  "step 1 sets weight 0, which sends no traffic to the canary; a stage's weight "
                  "is above 0 and at most 100");
        inlineRow("negative weight", rolloutWithSteps("      - setWeight: -10\n"), 8, 20,
                  "step 1 sets weight -10, which sends no traffic to the canary");
        stepRow("weight 120", "setWeight: 120", 20,
                "step 2 sets weight 120, more than all traffic; a stage's weight is above 0 and at "
                "most 100 (all traffic)");
        stepRow("weight not a number", "setWeight: twenty", 20,
                "setWeight must be a number, got 'twenty'");
        stepRow("fractional weight", "setWeight: 12.5", 20,
                "step 2 sets weight 12.5, but Argo Rollouts weights are whole numbers");
        stepRow("weight left empty", "setWeight:", 9, "setWeight in step 2 has no value");
        inlineRow(
            "weight above maxTrafficWeight",
            "apiVersion: argoproj.io/v1alpha1\n"
            "kind: Rollout\n"
            "spec:\n"
            "  strategy:\n"
            "    canary:\n"
            "      trafficRouting: {maxTrafficWeight: 10}\n"
            "      steps: [{setWeight: 20}]\n",
            7, 27,
            "step 1 sets weight 20, more than all traffic; a stage's weight is above 0 and at "
            "most 10 (all traffic, trafficRouting.maxTrafficWeight)");
        QTest::newRow("weights not increasing")
            << "weights-not-increasing.yaml" << QByteArray() << gated << 13 << 9
            << "step 5: stage 3 weight 30 does not increase on stage 2's 40";
        stepRow("duration that does not parse", "pause: {duration: ten minutes}", 27,
                "duration must be a duration such as 250ms, 30s, 2m, 1h30m or a number of "
                "seconds, got 'ten minutes'");
        stepRow("negative duration", "pause: {duration: -5m}", 27, "duration cannot be negative");
        stepRow("duration left empty", "pause: {duration: }", 17,
                "duration in the pause of step 2 has no value");
        stepRow("pause left empty", "pause:", 9,
                "pause in step 2 has no value; write 'pause: {}' to wait for an operator's "
                "approval, or 'pause: {duration: 10m}' to bake");
        stepRow("unknown pause key", "pause: {duraton: 5m}", 17,
                "unknown key 'duraton' in pause of step 2; did you mean 'duration'?");
        QTest::newRow("template that maps to no gate")
            << "unmapped-template.yaml" << QByteArray() << gated << 13 << 27
            << "step 2 runs analysis template 'smoke-test', which matches no gate; define a "
               "gate named 'smoke-test' in the workspace, or map the template to one of its "
               "gates: cpu, error-rate, memory, p99-latency";
        stepRow("template name close to a gate's", "analysis: {templates: [{templateName: cpux}]}",
                47, "'cpux', which matches no gate (did you mean 'cpu'?); define a gate");
        stepRow("template mapped to an undefined gate",
                "analysis: {templates: [{templateName: apdex-score}]}", 47,
                "step 2 runs analysis template 'apdex-score', mapped to gate 'apdex', which the "
                "workspace does not define; define gate 'apdex', or map the template to one of: "
                "cpu, error-rate, memory, p99-latency");
        stepRow("analysis without templates", "analysis: {args: []}", 19,
                "step 2 names no templates");
        stepRow("analysis in dry run",
                "analysis: {templates: [{templateName: cpu}], dryRun: [{metricName: cpu}]}", 54,
                "step 2 runs metrics in dryRun, whose failures do not stop an Argo rollout");
        inlineRow("pause before any setWeight", rolloutWithSteps("      - pause: {duration: 1m}\n"),
                  8, 9,
                  "step 1 (pause) comes before any setWeight, but every Signalbox stage begins by "
                  "setting its weight; put a 'setWeight' step first");
        inlineRow("analysis before any setWeight",
                  rolloutWithSteps("      - analysis: {templates: [{templateName: cpu}]}\n"
                                   "      - setWeight: 10\n"),
                  8, 9, "step 1 (analysis) comes before any setWeight");
        QTest::newRow("stage without gates")
            << "getting-started.yaml" << QByteArray() << QStringList() << 11 << 9
            << "step 1 (setWeight) begins a stage no analysis checks, so it would advance on time "
               "alone; add an 'analysis' step after it, background analysis under "
               "spec.strategy.canary.analysis, or import with gates for every stage";
        QTest::newRow("background analysis starts after the first stage")
            << "background-analysis.yaml" << QByteArray() << QStringList() << 18 << 9
            << "step 1 (setWeight) begins a stage no analysis checks";
        inlineRow("startingStep past the last step",
                  "apiVersion: argoproj.io/v1alpha1\n"
                  "kind: Rollout\n"
                  "spec:\n"
                  "  strategy:\n"
                  "    canary:\n"
                  "      analysis: {templates: [{templateName: cpu}], startingStep: 2}\n"
                  "      steps: [{setWeight: 20}, {pause: {}}]\n",
                  6, 66,
                  "startingStep 2 is past the last step, whose index is 1 (startingStep counts "
                  "steps from 0)");
        inlineRow("background template that maps to no gate",
                  "apiVersion: argoproj.io/v1alpha1\n"
                  "kind: Rollout\n"
                  "spec:\n"
                  "  strategy:\n"
                  "    canary:\n"
                  "      analysis:\n"
                  "        templates: [{templateName: smoke}]\n"
                  "      steps: [{setWeight: 20}]\n",
                  7, 36,
                  "background analysis (spec.strategy.canary.analysis) runs analysis template "
                  "'smoke', which matches no gate");
        QTest::newRow("no Rollout") << "no-rollout.yaml" << QByteArray() << gated << 0 << 0
                                    << "there is no Argo Rollout in this file (it holds "
                                       "Deployment, Service); import the manifest with 'kind: "
                                       "Rollout' and 'apiVersion: argoproj.io/v1alpha1'";
        QTest::newRow("two Rollouts")
            << "two-rollouts.yaml" << QByteArray() << gated << 11 << 1
            << "this file holds a second Argo Rollout, Rollout 'search' (the first, Rollout "
               "'checkout', begins on line 1); a file imports as one plan: keep one Rollout in it";
        inlineRow("Rollout of another API", "apiVersion: example.com/v1\nkind: Rollout\nspec: {}\n",
                  1, 13,
                  "this Rollout has apiVersion 'example.com/v1', so it is not an Argo Rollout");
        QTest::newRow("blueGreen") << "blue-green.yaml" << QByteArray() << gated << 8 << 5
                                   << "Rollout 'search' uses the blueGreen strategy, and only "
                                      "canary steps import into a canary plan; give the service "
                                      "'strategy: blue-green' in the workspace instead";
        inlineRow("no spec", "apiVersion: argoproj.io/v1alpha1\nkind: Rollout\n", 1, 1,
                  "the Rollout has no spec; the canary steps to import belong under "
                  "spec.strategy.canary.steps");
        inlineRow("no canary",
                  "apiVersion: argoproj.io/v1alpha1\n"
                  "kind: Rollout\n"
                  "spec:\n"
                  "  strategy: {}\n",
                  4, 3, "the Rollout has no spec.strategy.canary");
        inlineRow("no steps",
                  "apiVersion: argoproj.io/v1alpha1\n"
                  "kind: Rollout\n"
                  "spec:\n"
                  "  strategy:\n"
                  "    canary:\n"
                  "      maxSurge: 1\n",
                  5, 5,
                  "spec.strategy.canary of the Rollout has no steps, so Argo Rollouts would go "
                  "straight to 100 %; add steps such as '- setWeight: 20'");
        inlineRow("empty steps", rolloutWithSteps("").replace("steps:\n", "steps: []\n"), 7, 14,
                  "spec.strategy.canary.steps of Rollout 'web' is empty");
        inlineRow("steps left empty", rolloutWithSteps(""), 7, 7,
                  "spec.strategy.canary.steps of Rollout 'web' is empty");
        inlineRow("steps not a list", rolloutWithSteps("").replace("steps:\n", "steps: 20\n"), 7,
                  14, "spec.strategy.canary.steps must be a list");
        QTest::newRow("invalid YAML") << "invalid-yaml.yaml" << QByteArray() << gated << 9 << 18
                                      << "this is not valid YAML: end of map flow not found";
        QTest::newRow("empty file") << "empty.yaml" << QByteArray() << gated << 0 << 0
                                    << "the file is empty; it needs an Argo Rollout";
        QTest::newRow("every-stage gate not defined")
            << QString() << rolloutWithSteps("      - setWeight: 20\n") << QStringList{"apdex"} << 0
            << 0
            << "gate 'apdex', chosen for every stage, is not defined; choose among the "
               "workspace's gates: cpu, error-rate, memory, p99-latency";
    }

    void badManifest()
    {
        QFETCH(QString, fixture);
        QFETCH(QByteArray, yaml);
        QFETCH(QStringList, everyStageGates);
        QFETCH(int, line);
        QFETCH(int, column);
        QFETCH(QString, message);

        const auto result = importRow(fixture, yaml, everyStageGates);
        QVERIFY2(!result.ok(), "the manifest imported although it is invalid");
        const Diagnostic &diagnostic = result.error();
        QVERIFY2(diagnostic.message.contains(message), qPrintable(diagnostic.toString()));
        QCOMPARE(diagnostic.file, fixture.isEmpty()
                                      ? QStringLiteral("inline.yaml")
                                      : QFileInfo(manifests + fixture).absoluteFilePath());
        QCOMPARE(diagnostic.line, line);
        QCOMPARE(diagnostic.column, column);
        QCOMPARE(diagnostic.sourceLine.isEmpty(), line == 0);
        QVERIFY(!diagnostic.message.contains(QLatin1Char('\n')));
    }

    void errorsQuoteTheLineWithACaret()
    {
        const auto result = parseArgoRollout(rolloutWithSteps("      - setWeight: 20\n"
                                                              "      - setWeight: 120\n"),
                                             "r.yaml", optionsWith({"cpu"}));
        QVERIFY(!result.ok());
        QCOMPARE(sourceExcerpt(result.error()), QStringLiteral("9 |       - setWeight: 120\n"
                                                               "  |                    ^"));
    }

    void aPipeIsRefusedWithoutWaiting()
    {
        QTemporaryDir dir;
        const QString path = dir.filePath(QStringLiteral("rollout.yaml"));
        QCOMPARE(::mkfifo(QFile::encodeName(path).constData(), 0600), 0);
        const auto result = loadArgoRollout(path, optionsWith({}));
        QVERIFY(!result.ok());
        QVERIFY2(result.error().message.contains(QLatin1String("not a regular file")),
                 qPrintable(result.error().toString()));
    }

    void aDirectoryOrAHugeFileIsRefused()
    {
        const auto directory = loadArgoRollout(manifests, optionsWith({}));
        QVERIFY(!directory.ok());
        QVERIFY2(directory.error().message.contains(QLatin1String("it is a directory")),
                 qPrintable(directory.error().toString()));

        QTemporaryDir dir;
        QFile huge(dir.filePath(QStringLiteral("huge.yaml")));
        QVERIFY(huge.open(QIODevice::WriteOnly));
        const QByteArray comment = "# " + QByteArray(1022, 'x') + "\n";
        for (int i = 0; i < 8 * 1024 + 1; ++i)
            huge.write(comment);
        huge.close();
        const auto result = loadArgoRollout(huge.fileName(), optionsWith({}));
        QVERIFY(!result.ok());
        QVERIFY2(result.error().message.contains(QLatin1String("larger than 8 MB")),
                 qPrintable(result.error().toString()));

        const auto missing = loadArgoRollout(dir.filePath("nope.yaml"), optionsWith({}));
        QVERIFY(!missing.ok());
        QVERIFY2(missing.error().message.contains(QLatin1String("cannot open the manifest")),
                 qPrintable(missing.error().toString()));
    }

    // Whatever the bytes, the import answers with a located diagnostic instead of crashing or
    // throwing.
    void hostileInput_data()
    {
        QTest::addColumn<QByteArray>("yaml");

        const QByteArray head = "apiVersion: argoproj.io/v1alpha1\nkind: Rollout\n";
        QTest::newRow("invalid utf-8") << QByteArray("kind: [\xff\xfe\xc3]\n\x80: x\n");
        QTest::newRow("nul bytes") << QByteArray("kind:\0Rollout\n\0\0", 17);
        QTest::newRow("lone bracket") << QByteArray("[");
        QTest::newRow("scalar document") << QByteArray("hello");
        QTest::newRow("list document") << QByteArray("- kind: Rollout\n");
        QTest::newRow("kind is a list") << QByteArray("kind: [Rollout]\n");
        QTest::newRow("deep nesting") << QByteArray(20000, '[') + QByteArray(20000, ']');
        QTest::newRow("deep nesting in steps")
            << rolloutWithSteps("      - " + QByteArray(5000, '[') + QByteArray(5000, ']'));
        QTest::newRow("self-referencing steps") << head
                                                       + "spec: {strategy: {canary: {steps: &s "
                                                         "[*s]}}}\n";
        QTest::newRow("self-referencing spec") << head + "spec: &s {strategy: *s}\n";
        QTest::newRow("null steps item") << rolloutWithSteps("      - ~\n");
        QTest::newRow("complex step key") << rolloutWithSteps("      - ? [a]\n        : b\n");
        QTest::newRow("huge weight") << rolloutWithSteps("      - setWeight: 1e999999\n");
        QTest::newRow("huge duration")
            << rolloutWithSteps("      - setWeight: 5\n      - pause: {duration: 99999999999h}\n");
        QTest::newRow("templates is a mapping")
            << rolloutWithSteps("      - setWeight: 5\n      - analysis: {templates: {a: b}}\n");
        QTest::newRow("template is a string")
            << rolloutWithSteps("      - setWeight: 5\n      - analysis: {templates: [cpu]}\n");
        QTest::newRow("startingStep is a word")
            << head
                   + "spec: {strategy: {canary: {analysis: {templates: [{templateName: cpu}], "
                     "startingStep: two}, steps: [{setWeight: 5}]}}}\n";
        QTest::newRow("maxTrafficWeight is a list")
            << head
                   + "spec: {strategy: {canary: {trafficRouting: {maxTrafficWeight: [1]}, "
                     "steps: [{setWeight: 5}]}}}\n";
        QTest::newRow("long line") << QByteArray("kind: ") + QByteArray(1 << 20, 'x');
    }

    void hostileInput()
    {
        QFETCH(QByteArray, yaml);
        const auto result = parseArgoRollout(yaml, "hostile.yaml", optionsWith({"cpu"}));
        QVERIFY(!result.ok());
        const Diagnostic &diagnostic = result.error();
        QCOMPARE(diagnostic.file, "hostile.yaml");
        QVERIFY(!diagnostic.message.isEmpty());
        QVERIFY(diagnostic.line >= 0);
        QCOMPARE(diagnostic.line > 0, diagnostic.column > 0);
    }
};

QTEST_GUILESS_MAIN(TestArgoRollout)
#include "tst_argorollout.moc"
