#include "yamlreader.h"

#include <QTest>

#include <functional>
#include <optional>

using namespace sb;
using namespace std::chrono_literals;

namespace {

const QString testFile = QStringLiteral("test.yaml");

// Runs `read` on a YamlMap over `yaml` and returns the diagnostic it threw, if any.
std::optional<Diagnostic> failureOf(const QByteArray &yaml, const QStringList &allowedKeys,
                                    const std::function<void(const YamlMap &)> &read)
{
    try {
        const YAML::Node root = YAML::Load(yaml.toStdString());
        const YamlMap map(root, testFile, QStringLiteral("service 'checkout'"), allowedKeys);
        read(map);
    } catch (const DiagnosticError &error) {
        return error.diagnostic();
    }
    return std::nullopt;
}

} // namespace

class TestYamlReader : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void parseDuration_data()
    {
        QTest::addColumn<QString>("text");
        QTest::addColumn<bool>("valid");
        QTest::addColumn<qint64>("ms");

        QTest::newRow("milliseconds") << "250ms" << true << qint64(250);
        QTest::newRow("seconds") << "30s" << true << qint64(30'000);
        QTest::newRow("minutes") << "2m" << true << qint64(120'000);
        QTest::newRow("hours") << "1h" << true << qint64(3'600'000);
        QTest::newRow("hours and minutes") << "1h30m" << true << qint64(5'400'000);
        QTest::newRow("all units") << "1h2m3s4ms" << true << qint64(3'723'004);
        QTest::newRow("spaced parts") << "1h 30m" << true << qint64(5'400'000);
        QTest::newRow("fractional seconds") << "1.5s" << true << qint64(1500);
        QTest::newRow("bare seconds") << "90" << true << qint64(90'000);
        QTest::newRow("bare fraction") << "0.25" << true << qint64(250);
        QTest::newRow("zero") << "0" << true << qint64(0);
        QTest::newRow("surrounding space") << "  5s " << true << qint64(5000);

        QTest::newRow("empty") << "" << false << qint64(0);
        QTest::newRow("word") << "soon" << false << qint64(0);
        QTest::newRow("negative unit") << "-5s" << false << qint64(0);
        QTest::newRow("negative bare") << "-5" << false << qint64(0);
        QTest::newRow("unit only") << "s" << false << qint64(0);
        QTest::newRow("unknown unit") << "5d" << false << qint64(0);
        QTest::newRow("spelled unit") << "5sec" << false << qint64(0);
        QTest::newRow("trailing number") << "1h30" << false << qint64(0);
        QTest::newRow("units out of order") << "30m1h" << false << qint64(0);
        QTest::newRow("unit repeated") << "1m1m" << false << qint64(0);
        QTest::newRow("two dots") << "1.5.2s" << false << qint64(0);
        QTest::newRow("infinite") << "inf" << false << qint64(0);
        QTest::newRow("absurdly long") << "1e300" << false << qint64(0);
        QTest::newRow("absurdly many hours") << "99999999999999h" << false << qint64(0);
    }

    void parseDuration()
    {
        QFETCH(QString, text);
        QFETCH(bool, valid);
        QFETCH(qint64, ms);
        const std::optional<Duration> parsed = sb::parseDuration(text);
        QCOMPARE(parsed.has_value(), valid);
        if (valid)
            QCOMPARE(parsed->count(), ms);
    }

    void durationGetter_data()
    {
        QTest::addColumn<QByteArray>("yaml");
        QTest::addColumn<qint64>("ms");       // when valid
        QTest::addColumn<QString>("message"); // substring, empty when valid

        QTest::newRow("absent uses fallback") << QByteArray("other: 1") << qint64(7000) << "";
        QTest::newRow("empty uses fallback") << QByteArray("bake:") << qint64(7000) << "";
        QTest::newRow("number is seconds") << QByteArray("bake: 3") << qint64(3000) << "";
        QTest::newRow("text") << QByteArray("bake: 2m") << qint64(120'000) << "";
        QTest::newRow("unparsable shows forms")
            << QByteArray("bake: soon") << qint64(0)
            << "bake must be a duration such as 250ms, 30s, 2m, 1h30m or a number of seconds, "
               "got 'soon'";
        QTest::newRow("negative") << QByteArray("bake: -5s") << qint64(0)
                                  << "bake cannot be negative, got '-5s'";
        QTest::newRow("below minimum")
            << QByteArray("bake: 100ms") << qint64(0) << "bake 100ms is below the minimum 1s";
        QTest::newRow("list") << QByteArray("bake: [1, 2]") << qint64(0) << "got a list";
    }

    void durationGetter()
    {
        QFETCH(QByteArray, yaml);
        QFETCH(qint64, ms);
        QFETCH(QString, message);
        Duration value{-1};
        const auto failure = failureOf(yaml, {"bake", "other"}, [&](const YamlMap &map) {
            value = map.duration("bake", 7s, 1s);
        });
        if (message.isEmpty()) {
            QVERIFY2(!failure, qPrintable(failure ? failure->toString() : QString()));
            QCOMPARE(value.count(), ms);
        } else {
            QVERIFY(failure);
            QVERIFY2(failure->message.contains(message), qPrintable(failure->message));
            QCOMPARE(failure->line, 1);
            QCOMPARE(failure->column, 7);
        }
    }

    void ratio_data()
    {
        QTest::addColumn<QByteArray>("yaml");
        QTest::addColumn<double>("expected");
        QTest::addColumn<QString>("message");

        QTest::newRow("absent uses fallback") << QByteArray("other: 1") << 0.5 << "";
        QTest::newRow("fraction") << QByteArray("errors: 0.02") << 0.02 << "";
        QTest::newRow("percent") << QByteArray("errors: 2%") << 0.02 << "";
        QTest::newRow("fractional percent") << QByteArray("errors: 0.5%") << 0.005 << "";
        QTest::newRow("zero") << QByteArray("errors: 0") << 0.0 << "";
        QTest::newRow("one") << QByteArray("errors: 1") << 1.0 << "";
        QTest::newRow("hundred percent") << QByteArray("errors: 100%") << 1.0 << "";
        QTest::newRow("above one")
            << QByteArray("errors: 5") << 0.0 << "errors 5 is above 1; write a ratio as 0.02 or 2%";
        QTest::newRow("above hundred percent")
            << QByteArray("errors: 150%") << 0.0 << "errors 150% is above 100%";
        QTest::newRow("negative") << QByteArray("errors: -0.1") << 0.0 << "errors -0.1 is below 0";
        QTest::newRow("text") << QByteArray("errors: few") << 0.0
                              << "errors must be a ratio such as 0.02 or 2%, got 'few'";
        QTest::newRow("percent sign only") << QByteArray("errors: '%'") << 0.0 << "must be a ratio";
    }

    void ratio()
    {
        QFETCH(QByteArray, yaml);
        QFETCH(double, expected);
        QFETCH(QString, message);
        double value = -1;
        const auto failure = failureOf(yaml, {"errors", "other"}, [&](const YamlMap &map) {
            value = map.ratio("errors", 0.5);
        });
        if (message.isEmpty()) {
            QVERIFY2(!failure, qPrintable(failure ? failure->toString() : QString()));
            QCOMPARE(value, expected);
        } else {
            QVERIFY(failure);
            QVERIFY2(failure->message.contains(message), qPrintable(failure->message));
            QCOMPARE(failure->line, 1);
            QCOMPARE(failure->column, 9);
        }
    }

    void numbers_data()
    {
        QTest::addColumn<QByteArray>("yaml");
        QTest::addColumn<bool>("whole"); // integer() rather than number()
        QTest::addColumn<double>("expected");
        QTest::addColumn<QString>("message");

        QTest::newRow("integer in range") << QByteArray("replicas: 12") << true << 12.0 << "";
        QTest::newRow("integer at maximum") << QByteArray("replicas: 100") << true << 100.0 << "";
        QTest::newRow("integer at minimum") << QByteArray("replicas: 1") << true << 1.0 << "";
        QTest::newRow("integer absent") << QByteArray("other: 1") << true << 3.0 << "";
        QTest::newRow("integer quoted") << QByteArray("replicas: '7'") << true << 7.0 << "";
        QTest::newRow("integer above") << QByteArray("replicas: 120") << true << 0.0
                                       << "replicas 120 is above the maximum 100";
        QTest::newRow("integer below")
            << QByteArray("replicas: 0") << true << 0.0 << "replicas 0 is below the minimum 1";
        QTest::newRow("integer huge") << QByteArray("replicas: 99999999999999999999999") << true
                                      << 0.0 << "is above the maximum 100";
        QTest::newRow("integer fraction") << QByteArray("replicas: 2.5") << true << 0.0
                                          << "replicas must be a whole number, got '2.5'";
        QTest::newRow("integer text")
            << QByteArray("replicas: abc") << true << 0.0 << "replicas must be a number, got 'abc'";
        QTest::newRow("integer mapping") << QByteArray("replicas: {a: 1}") << true << 0.0
                                         << "replicas must be a number, got a mapping";

        QTest::newRow("number fraction") << QByteArray("replicas: 2.5") << false << 2.5 << "";
        QTest::newRow("number exponent") << QByteArray("replicas: 1e1") << false << 10.0 << "";
        QTest::newRow("number above") << QByteArray("replicas: 100.5") << false << 0.0
                                      << "replicas 100.5 is above the maximum 100";
        QTest::newRow("number not finite") << QByteArray("replicas: .inf") << false << 0.0
                                           << "replicas must be a number, got '.inf'";
        QTest::newRow("number text") << QByteArray("replicas: twelve") << false << 0.0
                                     << "replicas must be a number, got 'twelve'";
    }

    void numbers()
    {
        QFETCH(QByteArray, yaml);
        QFETCH(bool, whole);
        QFETCH(double, expected);
        QFETCH(QString, message);
        double value = -1;
        const auto failure = failureOf(yaml, {"replicas", "other"}, [&](const YamlMap &map) {
            value = whole ? map.integer("replicas", 3, 1, 100) : map.number("replicas", 3, 1, 100);
        });
        if (message.isEmpty()) {
            QVERIFY2(!failure, qPrintable(failure ? failure->toString() : QString()));
            QCOMPARE(value, expected);
        } else {
            QVERIFY(failure);
            QVERIFY2(failure->message.contains(message), qPrintable(failure->message));
            QCOMPARE(failure->line, 1);
            QCOMPARE(failure->column, 11);
        }
    }

    void boolean_data()
    {
        QTest::addColumn<QByteArray>("yaml");
        QTest::addColumn<bool>("expected");
        QTest::addColumn<bool>("valid");

        QTest::newRow("true") << QByteArray("paused: true") << true << true;
        QTest::newRow("false") << QByteArray("paused: false") << false << true;
        QTest::newRow("yes") << QByteArray("paused: yes") << true << true;
        QTest::newRow("no") << QByteArray("paused: no") << false << true;
        QTest::newRow("absent uses fallback") << QByteArray("other: 1") << true << true;
        QTest::newRow("maybe") << QByteArray("paused: maybe") << false << false;
        QTest::newRow("number") << QByteArray("paused: 1") << false << false;
    }

    void boolean()
    {
        QFETCH(QByteArray, yaml);
        QFETCH(bool, expected);
        QFETCH(bool, valid);
        bool value = !expected;
        const auto failure = failureOf(yaml, {"paused", "other"}, [&](const YamlMap &map) {
            value = map.boolean("paused", true);
        });
        QCOMPARE(!failure, valid);
        if (valid)
            QCOMPARE(value, expected);
        else
            QVERIFY2(failure->message.startsWith("paused must be true or false, got '"),
                     qPrintable(failure->message));
    }

    void nearestWord_data()
    {
        QTest::addColumn<QString>("word");
        QTest::addColumn<QStringList>("candidates");
        QTest::addColumn<QString>("expected");

        const QStringList keys{"name",        "environment", "strategy",
                               "description", "adapter",     "adapters"};
        QTest::newRow("missing letter") << "enviroment" << keys << "environment";
        QTest::newRow("swapped letters") << "stratgey" << keys << "strategy";
        QTest::newRow("case only") << "Name" << keys << "name";
        QTest::newRow("exact") << "adapters" << keys << "adapters";
        QTest::newRow("closest wins") << "adapterss" << keys << "adapters";
        QTest::newRow("too far") << "color" << keys << "";
        QTest::newRow("short word, one edit") << "nme" << keys << "name";
        QTest::newRow("short word, two edits") << "nm" << keys << "";
        QTest::newRow("no candidates") << "name" << QStringList() << "";
        QTest::newRow("strategy value")
            << "canery" << QStringList{"none", "rolling", "blue-green", "canary"} << "canary";
        QTest::newRow("long paste") << QString(5000, QLatin1Char('x')) << keys << "";
    }

    void nearestWord()
    {
        QFETCH(QString, word);
        QFETCH(QStringList, candidates);
        QFETCH(QString, expected);
        QCOMPARE(sb::nearestWord(word, candidates), expected);
    }

    void mapChecks_data()
    {
        QTest::addColumn<QByteArray>("yaml");
        QTest::addColumn<int>("line");
        QTest::addColumn<int>("column");
        QTest::addColumn<QString>("message");

        QTest::newRow("unknown key with suggestion")
            << QByteArray("name: checkout\nenviroment: production\n") << 2 << 1
            << "unknown key 'enviroment' in service 'checkout'; did you mean 'environment'?";
        QTest::newRow("unknown key without suggestion")
            << QByteArray("name: checkout\ncolour: red\n") << 2 << 1
            << "unknown key 'colour' in service 'checkout'; valid keys are name, environment, "
               "replicas, tags";
        QTest::newRow("key repeated") << QByteArray("name: a\nreplicas: 2\nname: b\n") << 3 << 1
                                      << "key 'name' appears twice in service 'checkout'; keep one";
        QTest::newRow("list instead of mapping")
            << QByteArray("\n- name\n- environment\n") << 2 << 1
            << "service 'checkout' must be a mapping of keys to values";
        QTest::newRow("scalar instead of mapping")
            << QByteArray("checkout") << 1 << 1
            << "service 'checkout' must be a mapping of keys to values";
        QTest::newRow("key that is a list")
            << QByteArray("name: a\n[x, y]: 1\n") << 2 << 1
            << "keys in service 'checkout' must be plain names, got a list";
        QTest::newRow("required key missing")
            << QByteArray("\n  name: checkout\n  replicas: 2\n") << 2 << 3
            << "service 'checkout' is missing required key 'environment'";
        QTest::newRow("required key empty")
            << QByteArray("name: checkout\nenvironment:\nreplicas: 2\n") << 2 << 1
            << "environment in service 'checkout' has no value";
        QTest::newRow("required key blank")
            << QByteArray("name: checkout\nenvironment: '  '\n") << 2 << 14
            << "environment in service 'checkout' is empty";
        QTest::newRow("required key is a mapping")
            << QByteArray("name: checkout\nenvironment: {a: b}\n") << 2 << 14
            << "environment must be a single value, got a mapping";
        QTest::newRow("list items must be values")
            << QByteArray("name: x\nenvironment: y\ntags: [a, [b]]\n") << 3 << 11
            << "each item of tags must be a single value, got a list";
        QTest::newRow("list expected")
            << QByteArray("name: x\nenvironment: y\ntags: a\n") << 3 << 7
            << "tags must be a list (one '- item' per line, or [a, b]), got 'a'";
        QTest::newRow("value in flow mapping")
            << QByteArray("{name: x, environment: y, replicas: lots}") << 1 << 37
            << "replicas must be a number, got 'lots'";
    }

    // Every check is located: line and column are 1-based and point at the offending node.
    void mapChecks()
    {
        QFETCH(QByteArray, yaml);
        QFETCH(int, line);
        QFETCH(int, column);
        QFETCH(QString, message);
        const auto failure
            = failureOf(yaml, {"name", "environment", "replicas", "tags"}, [](const YamlMap &map) {
                  map.requiredString("name");
                  map.requiredString("environment");
                  map.integer("replicas", 1, 1, 10);
                  map.stringList("tags");
              });
        QVERIFY(failure);
        QVERIFY2(failure->message.contains(message), qPrintable(failure->message));
        QCOMPARE(failure->file, testFile);
        QCOMPARE(failure->line, line);
        QCOMPARE(failure->column, column);
    }

    void goodMap()
    {
        const QByteArray yaml = "name: checkout\n"
                                "environment: production\n"
                                "strategy: canary\n"
                                "tags: [web, 'payments']\n"
                                "note:\n";
        const YAML::Node root = YAML::Load(yaml.toStdString());
        const YamlMap map(root, testFile, "service 'checkout'",
                          {"name", "environment", "strategy", "tags", "note", "other"});
        QCOMPARE(map.requiredString("name"), "checkout");
        QCOMPARE(map.string("environment", "x"), "production");
        QCOMPARE(map.string("other", "fallback"), "fallback");
        QCOMPARE(map.string("note", "fallback"), "fallback");
        QCOMPARE(map.choice("strategy", {"none", "canary"}, "none"), "canary");
        QCOMPARE(map.stringList("tags"), QStringList({"web", "payments"}));
        QCOMPARE(map.stringList("other"), QStringList());
        QVERIFY(map.has("name"));
        QVERIFY(!map.has("note")); // present but empty
        QVERIFY(!map.has("other"));
        QVERIFY(map.node("note").IsNull());
        QVERIFY(!map.node("other").IsDefined());
        QCOMPARE(map.keyNode("tags").Mark().line, 3);
        QVERIFY(!map.keyNode("other").IsDefined());
        // Lookups must not add keys: yaml-cpp's non-const operator[] would.
        QCOMPARE(root.size(), std::size_t(5));
    }

    void choice()
    {
        const auto failure = failureOf("strategy: canery", {"strategy"}, [](const YamlMap &map) {
            map.choice("strategy", {"none", "rolling", "blue-green", "canary"}, "none");
        });
        QVERIFY(failure);
        QCOMPARE(failure->message, "unknown strategy 'canery'; did you mean 'canary'? (choose one "
                                   "of: none, rolling, blue-green, canary)");
        QCOMPARE(failure->column, 11);
    }

    void diagnosticText()
    {
        QCOMPARE((Diagnostic{"a.yaml", 14, 7, "stage weight 120 is above 100"}).toString(),
                 "a.yaml:14:7: stage weight 120 is above 100");
        QCOMPARE((Diagnostic{"a.yaml", 0, 0, "cannot open"}).toString(), "a.yaml: cannot open");
    }

    void diagnosticAtUnknownPosition()
    {
        // A node built in code has no mark; the diagnostic then names only the file.
        const Diagnostic built = diagnosticAt("a.yaml", YAML::Node(YAML::NodeType::Map), "m");
        QCOMPARE(built.line, 0);
        QCOMPARE(built.column, 0);
        const Diagnostic absent
            = diagnosticAt("a.yaml", YAML::Node(YAML::NodeType::Undefined), "m");
        QCOMPARE(absent.line, 0);
    }
};

QTEST_GUILESS_MAIN(TestYamlReader)
#include "tst_yamlreader.moc"
