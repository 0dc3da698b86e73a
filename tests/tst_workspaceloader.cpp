#include "adapterregistry.h"
#include "workspaceloader.h"

#include <QDir>
#include <QFileInfo>
#include <QTemporaryDir>
#include <QTest>

#include <sys/stat.h>

using namespace sb;

namespace {

const QString workspaces = QStringLiteral(SIGNALBOX_TEST_DATA "/workspaces/");

// The loader only asks the registry which types exist and what they offer; it never builds one.
AdapterRegistry testRegistry()
{
    const auto neverBuilt
        = [](const AdapterSpec &, const AdapterContext &) { return std::unique_ptr<Adapter>(); };
    AdapterRegistry registry;
    registry.add({QStringLiteral("simulator"),
                  QStringLiteral("Simulated fleet"),
                  {Capability::Fleet, Capability::Traffic, Capability::Deploy, Capability::Metrics},
                  neverBuilt});
    registry.add({QStringLiteral("prometheus"),
                  QStringLiteral("Prometheus metrics"),
                  {Capability::Metrics},
                  neverBuilt});
    return registry;
}

QMap<Capability, QString> bindingsOf(std::initializer_list<std::pair<Capability, QString>> list)
{
    QMap<Capability, QString> map;
    for (const auto &[capability, adapter] : list)
        map.insert(capability, adapter);
    return map;
}

} // namespace

class TestWorkspaceLoader : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void aPipeIsRefusedWithoutWaiting()
    {
        // Opening a FIFO with no writer would block the console forever.
        QTemporaryDir dir;
        const QString path = dir.filePath(QStringLiteral("signalbox.yaml"));
        QCOMPARE(::mkfifo(QFile::encodeName(path).constData(), 0600), 0);
        const auto result = loadWorkspace(path, testRegistry());
        QVERIFY(!result.ok());
        QVERIFY2(result.error().message.contains(QLatin1String("not a regular file")),
                 qPrintable(result.error().toString()));
    }

    void errorsQuoteTheLineWithACaret()
    {
        // yaml-cpp counts columns in bytes; the caret must still sit under the 't' of 'typ'.
        const auto result = parseWorkspace("environments: [a]\n"
                                           "adapters:\n"
                                           "  - {name: \xc3\xbc, typ: simulator}\r\n",
                                           QStringLiteral("w.yaml"), testRegistry());
        QVERIFY(!result.ok());
        QCOMPARE(result.error().line, 3);
        QCOMPARE(sourceExcerpt(result.error()),
                 QString::fromUtf8("3 |   - {name: \xc3\xbc, typ: simulator}\n"
                                   "  |               ^"));
    }

    void deepNestingIsNamed()
    {
        const QByteArray deep = "environments: " + QByteArray(2000, '[') + QByteArray(2000, ']');
        const auto result = parseWorkspace(deep, QStringLiteral("w.yaml"), testRegistry());
        QVERIFY(!result.ok());
        QVERIFY2(result.error().message.contains(QLatin1String("nested too deeply")),
                 qPrintable(result.error().toString()));
    }

    void goodFile()
    {
        const QString path = workspaces + "good.yaml";
        const auto result = loadWorkspace(path, testRegistry());
        QVERIFY2(result.ok(), qPrintable(result.ok() ? QString() : result.error().toString()));
        const Workspace &ws = result.value();

        QCOMPARE(ws.file, QFileInfo(path).absoluteFilePath());
        QVERIFY(QDir::isAbsolutePath(ws.file));
        QCOMPARE(ws.name, "Acme Corp (simulated)");
        QCOMPARE(ws.environments, QStringList({"staging", "production"}));

        QCOMPARE(ws.adapters.size(), 2);
        const AdapterSpec &sim = ws.adapters[0];
        QCOMPARE(sim.name, "sim");
        QCOMPARE(sim.type, "simulator");
        QCOMPARE(sim.file, ws.file);
        QCOMPARE(sim.line, 6);
        // Settings stay an untouched YAML tree, still alive after the document is gone.
        QVERIFY(sim.settings.IsMap());
        QCOMPARE(sim.settings["seed"].as<int>(), 42);
        QCOMPARE(sim.settings["services"]["checkout"]["replicas"].as<int>(), 6);
        QCOMPARE(sim.settings.Mark().line + 1, 9);
        const AdapterSpec &prom = ws.adapters[1];
        QCOMPARE(prom.name, "prom");
        QCOMPARE(prom.type, "prometheus");
        QCOMPARE(prom.line, 12);
        QVERIFY(prom.settings.IsMap()); // absent settings read as an empty mapping
        QCOMPARE(prom.settings.size(), std::size_t(0));

        QCOMPARE(ws.services.size(), 3);
        const ServiceSpec &checkout = ws.services[0];
        QCOMPARE(checkout.key, (ServiceKey{"checkout", "production"}));
        QCOMPARE(toString(checkout.strategy), toString(Strategy::Canary));
        QCOMPARE(checkout.description, "Cart and payment page");
        QCOMPARE(checkout.line, 16);
        // The shorthand binds everything the simulator type offers.
        QCOMPARE(checkout.bindings, bindingsOf({{Capability::Fleet, "sim"},
                                                {Capability::Traffic, "sim"},
                                                {Capability::Deploy, "sim"},
                                                {Capability::Metrics, "sim"}}));

        const ServiceSpec &staging = ws.services[1];
        QCOMPARE(staging.key, (ServiceKey{"checkout", "staging"}));
        QCOMPARE(toString(staging.strategy), toString(Strategy::None));
        QCOMPARE(staging.description, QString());
        QCOMPARE(staging.line, 21);
        QCOMPARE(staging.bindings, bindingsOf({{Capability::Fleet, "sim"},
                                               {Capability::Deploy, "sim"},
                                               {Capability::Metrics, "prom"}}));

        const ServiceSpec &search = ws.services[2];
        QCOMPARE(search.key, (ServiceKey{"search", "production"}));
        QCOMPARE(toString(search.strategy), toString(Strategy::BlueGreen));
        QCOMPARE(search.line, 27);
        QCOMPARE(search.bindings,
                 bindingsOf({{Capability::Fleet, "sim"}, {Capability::Traffic, "sim"}}));

        QCOMPARE(ws.adapter("prom"), &ws.adapters[1]);
        QCOMPARE(ws.adapter("nope"), nullptr);
        QCOMPARE(ws.service({"checkout", "staging"}), &ws.services[1]);
        QCOMPARE(ws.service({"search", "staging"}), nullptr);
    }

    void minimalFileDefaults()
    {
        const auto result = loadWorkspace(workspaces + "minimal.yaml", testRegistry());
        QVERIFY2(result.ok(), qPrintable(result.ok() ? QString() : result.error().toString()));
        const Workspace &ws = result.value();
        QCOMPARE(ws.name, "minimal"); // the file's base name
        QCOMPARE(ws.environments, QStringList{"production"});
        QCOMPARE(ws.services.size(), 1);
        QCOMPARE(toString(ws.services[0].strategy), toString(Strategy::None));
        QCOMPARE(ws.services[0].bindings.size(), 4);
    }

    void parseKeepsGivenFileName()
    {
        const QByteArray yaml = "environments: [prod]\n"
                                "adapters: [{name: metrics, type: prometheus}, "
                                "{name: sim, type: simulator}]\n"
                                "services: [{name: api, environment: prod, adapters: "
                                "{fleet: sim, metrics: metrics}}]\n";
        const auto result = parseWorkspace(yaml, "inline.yaml", testRegistry());
        QVERIFY2(result.ok(), qPrintable(result.ok() ? QString() : result.error().toString()));
        QCOMPARE(result.value().file, "inline.yaml");
        QCOMPARE(result.value().name, "inline");
        QCOMPARE(result.value().adapters[0].file, "inline.yaml");
        QCOMPARE(result.value().services[0].bindings,
                 bindingsOf({{Capability::Fleet, "sim"}, {Capability::Metrics, "metrics"}}));

        const auto bad = parseWorkspace("environments: []\n", "inline.yaml", testRegistry());
        QVERIFY(!bad.ok());
        QCOMPARE(bad.error().file, "inline.yaml");
    }

    void badFile_data()
    {
        QTest::addColumn<QString>("fixture");
        QTest::addColumn<int>("line");
        QTest::addColumn<int>("column");
        QTest::addColumn<QString>("message");

        QTest::newRow("yaml syntax")
            << "bad-syntax.yaml" << 7 << 28 << "not valid YAML: illegal map value";
        QTest::newRow("unclosed flow list") << "bad-unclosed-list.yaml" << 2 << 9
                                            << "not valid YAML: end of sequence flow not found";
        QTest::newRow("two documents")
            << "bad-two-documents.yaml" << 10 << 1 << "holds 2 YAML documents";
        QTest::newRow("empty file") << "bad-empty.yaml" << 0 << 0 << "the workspace file is empty";
        QTest::newRow("comments only")
            << "bad-comments-only.yaml" << 0 << 0 << "the workspace file is empty";
        QTest::newRow("missing file")
            << "bad-does-not-exist.yaml" << 0 << 0
            << "cannot open the workspace file: No such file or directory";
        QTest::newRow("top level is a list")
            << "bad-root-list.yaml" << 1 << 1
            << "the workspace file must be a mapping of keys to values";
        QTest::newRow("unknown top-level key")
            << "bad-unknown-top-key.yaml" << 1 << 1
            << "unknown key 'enviroments' in the workspace file; did you mean 'environments'?";
        QTest::newRow("unknown service key")
            << "bad-unknown-service-key.yaml" << 7 << 5
            << "unknown key 'enviroment' in service 'checkout'; did you mean 'environment'?";
        QTest::newRow("unknown capability key")
            << "bad-unknown-capability.yaml" << 10 << 7
            << "unknown key 'metric' in 'adapters' of service 'checkout' (production); did you "
               "mean 'metrics'?";
        QTest::newRow("repeated key") << "bad-duplicate-key.yaml" << 9 << 5
                                      << "key 'name' appears twice in service 'checkout'";
        QTest::newRow("string where a list belongs")
            << "bad-wrong-type.yaml" << 1 << 15
            << "environments must be a list (one '- item' per line, or [a, b]), got 'production'";
        QTest::newRow("mapping where a string belongs")
            << "bad-name-not-string.yaml" << 6 << 11
            << "name must be a single value, got a mapping";
        QTest::newRow("settings not a mapping")
            << "bad-settings-type.yaml" << 5 << 15
            << "settings of adapter 'sim' must be a mapping of keys to values";
        QTest::newRow("missing required field")
            << "bad-missing-field.yaml" << 6 << 5
            << "service 'checkout' is missing required key 'environment'";
        QTest::newRow("required field left empty")
            << "bad-empty-value.yaml" << 7 << 5 << "environment in service 'checkout' has no value";
        QTest::newRow("missing services")
            << "bad-missing-services.yaml" << 1 << 1
            << "the workspace file is missing required key 'services'";
        QTest::newRow("empty services")
            << "bad-no-services.yaml" << 5 << 11 << "'services' is empty; list at least one";
        QTest::newRow("empty environments")
            << "bad-no-environments.yaml" << 1 << 1 << "'environments' is empty; list at least one";
        QTest::newRow("environment listed twice")
            << "bad-duplicate-environment.yaml" << 4 << 5
            << "environment 'staging' is listed twice (first on line 2)";
        QTest::newRow("invalid strategy")
            << "bad-strategy.yaml" << 8 << 15
            << "unknown strategy 'canery'; did you mean 'canary'? (choose one of: none, rolling, "
               "blue-green, canary)";
        QTest::newRow("invalid service name")
            << "bad-service-name.yaml" << 6 << 11
            << "service name 'Checkout_Page' is not valid: use lower-case letters, digits and "
               "'-', starting with a letter or digit, e.g. 'checkout-page'";
        QTest::newRow("unknown adapter type")
            << "bad-unknown-adapter-type.yaml" << 4 << 11
            << "adapter 'sim' has unknown type 'simulater'; did you mean 'simulator'? (known "
               "types: simulator, prometheus)";
        QTest::newRow("adapter name used twice")
            << "bad-duplicate-adapter.yaml" << 7 << 11
            << "adapter name 'sim' is used twice (first on line 3)";
        QTest::newRow("service defined twice")
            << "bad-duplicate-service.yaml" << 12 << 5
            << "service 'checkout' in production is defined twice (first on line 6)";
        QTest::newRow("undefined adapter")
            << "bad-undefined-adapter.yaml" << 10 << 16
            << "service 'checkout' (production) binds metrics to adapter 'prom', which is not "
               "defined; defined adapters: sim";
        QTest::newRow("capability not offered")
            << "bad-capability.yaml" << 12 << 16
            << "service 'checkout' (production) binds traffic to adapter 'prom', but adapters of "
               "type 'prometheus' offer only metrics";
        QTest::newRow("environment not declared")
            << "bad-environment.yaml" << 7 << 18
            << "service 'checkout' uses environment 'prodution', which is not declared (did you "
               "mean 'production'?); declared environments: staging, production";
        QTest::newRow("adapter and adapters")
            << "bad-adapter-and-adapters.yaml" << 9 << 5
            << "service 'checkout' (production) has both 'adapter' and 'adapters'";
        QTest::newRow("no fleet binding") << "bad-no-fleet.yaml" << 8 << 5
                                          << "service 'checkout' (production) has no fleet adapter";
        QTest::newRow("no binding at all")
            << "bad-no-binding.yaml" << 6 << 5
            << "service 'checkout' (production) has no fleet adapter";
        QTest::newRow("shorthand adapter without fleet")
            << "bad-shorthand-no-fleet.yaml" << 8 << 14
            << "uses adapter 'prom' of type 'prometheus', which offers only metrics; every "
               "service needs a fleet adapter";
    }

    void badFile()
    {
        QFETCH(QString, fixture);
        QFETCH(int, line);
        QFETCH(int, column);
        QFETCH(QString, message);

        const QString path = workspaces + fixture;
        const auto result = loadWorkspace(path, testRegistry());
        QVERIFY2(!result.ok(), "the file loaded although it is invalid");
        const Diagnostic &diagnostic = result.error();
        QVERIFY2(diagnostic.message.contains(message), qPrintable(diagnostic.toString()));
        QCOMPARE(diagnostic.file, QFileInfo(path).absoluteFilePath());
        QCOMPARE(diagnostic.line, line);
        QCOMPARE(diagnostic.column, column);
        // One line each, so a terminal or a panel shows it whole.
        QVERIFY(!diagnostic.message.contains(QLatin1Char('\n')));
    }

    void directoryIsNotAFile()
    {
        const auto result = loadWorkspace(workspaces, testRegistry());
        QVERIFY(!result.ok());
        QCOMPARE(result.error().line, 0);
        QVERIFY2(result.error().message.contains("is a directory"),
                 qPrintable(result.error().message));
    }

    // Whatever the bytes, the loader answers with a located diagnostic instead of crashing or
    // throwing.
    void hostileInput_data()
    {
        QTest::addColumn<QByteArray>("yaml");

        const QByteArray head = "environments: [staging]\n";
        QTest::newRow("invalid utf-8") << QByteArray("environments: [\xff\xfe\xc3]\n\x80: x\n");
        QTest::newRow("nul bytes") << QByteArray("environments:\0[a]\n\0\0", 20);
        QTest::newRow("utf-16 bom") << QByteArray("\xff\xfe"
                                                  "e\0n\0v\0:\0 \0[\0]\0",
                                                  16);
        QTest::newRow("lone bracket") << QByteArray("[");
        QTest::newRow("lone brace") << QByteArray("{");
        QTest::newRow("null document") << QByteArray("~");
        QTest::newRow("scalar document") << QByteArray("hello");
        QTest::newRow("unterminated quote") << QByteArray("workspace: 'acme\n");
        QTest::newRow("tab indentation") << QByteArray("environments:\n\t- staging\n");
        QTest::newRow("unknown alias") << QByteArray("environments: *nothing\n");
        QTest::newRow("self-referencing list") << QByteArray("environments: &e [*e]\n");
        QTest::newRow("self-referencing root") << QByteArray("&r {workspace: *r}\n");
        QTest::newRow("alias as settings")
            << head + "adapters: &a [{name: x, type: simulator, settings: *a}]\n";
        QTest::newRow("deep nesting") << QByteArray(20000, '[') + QByteArray(20000, ']');
        QTest::newRow("complex key") << QByteArray("? [a, b]\n: c\n");
        QTest::newRow("null key") << QByteArray("~: x\n");
        QTest::newRow("huge number")
            << head + "workspace: 1e999999\nadapters: 99999999999999999999\n";
        QTest::newRow("null environment") << QByteArray("environments: [~]\n");
        QTest::newRow("null adapter") << head + "adapters: [~]\n";
        QTest::newRow("null service")
            << head + "adapters: [{name: x, type: simulator}]\nservices: [~]\n";
        QTest::newRow("null binding")
            << head
                   + "adapters: [{name: x, type: simulator}]\n"
                     "services: [{name: s, environment: staging, adapters: {fleet: }}]\n";
        QTest::newRow("adapters is a list")
            << head
                   + "adapters: [{name: x, type: simulator}]\n"
                     "services: [{name: s, environment: staging, adapters: [x]}]\n";
        QTest::newRow("merge key") << head + "<<: {adapters: []}\n";
        QTest::newRow("tagged binary") << QByteArray("environments: !!binary aGVsbG8=\n");
        QTest::newRow("directive only") << QByteArray("%YAML 1.2\n---\n");
        QTest::newRow("long line") << QByteArray("workspace: ") + QByteArray(1 << 20, 'x');
    }

    void hostileInput()
    {
        QFETCH(QByteArray, yaml);
        const auto result = parseWorkspace(yaml, "hostile.yaml", testRegistry());
        QVERIFY(!result.ok());
        const Diagnostic &diagnostic = result.error();
        QCOMPARE(diagnostic.file, "hostile.yaml");
        QVERIFY(!diagnostic.message.isEmpty());
        QVERIFY(diagnostic.line >= 0);
        QCOMPARE(diagnostic.line > 0, diagnostic.column > 0);
    }

    void capabilityNames()
    {
        for (Capability capability : allCapabilities)
            QVERIFY(capabilityFromString(toString(capability)) == capability);
        QCOMPARE(toString(Capability::Fleet), "fleet");
        QCOMPARE(toString(Capability::Traffic), "traffic");
        QCOMPARE(toString(Capability::Deploy), "deploy");
        QCOMPARE(toString(Capability::Metrics), "metrics");
        QVERIFY(!capabilityFromString("Fleet"));
        QVERIFY(!capabilityFromString(QString()));
    }
};

QTEST_GUILESS_MAIN(TestWorkspaceLoader)
#include "tst_workspaceloader.moc"
