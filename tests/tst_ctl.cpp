// signalbox-ctl as scripts run it: a real process on the simulated demo or a test workspace, a
// real SQLite journal in a temporary folder, its exit code, stdout and stderr.

#include <QDir>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QRegularExpression>
#include <QSqlDatabase>
#include <QSqlError>
#include <QSqlQuery>
#include <QTemporaryDir>
#include <QTest>

namespace {

const QString metricsOutage = QStringLiteral(SIGNALBOX_TEST_DATA "/ctl-metrics-outage.yaml");
const QString badYaml = QStringLiteral(SIGNALBOX_TEST_DATA "/ctl-bad-yaml.yaml");

struct Run {
    int exitCode = -1;
    QByteArray out;
    QString err;

    QJsonArray array() const
    {
        QJsonParseError error;
        const QJsonDocument document = QJsonDocument::fromJson(out, &error);
        if (error.error != QJsonParseError::NoError || !document.isArray())
            qWarning("not a JSON array (%s): %s", qPrintable(error.errorString()), out.constData());
        return document.array();
    }
    QString text() const { return QString::fromUtf8(out); }
};

// Every service of the demo, in workspace order.
const QStringList demoServices{"checkout/production",
                               "payments/production",
                               "search/production",
                               "catalog/production",
                               "auth/production",
                               "notifications/production",
                               "recommendations/production",
                               "gateway/production",
                               "checkout/staging",
                               "payments/staging",
                               "search/staging",
                               "catalog/staging",
                               "auth/staging",
                               "notifications/staging",
                               "recommendations/staging",
                               "gateway/staging"};

QJsonObject rowOf(const QJsonArray &rows, const QString &service)
{
    for (const QJsonValue &row : rows) {
        if (row.toObject().value(QLatin1String("service")).toString() == service)
            return row.toObject();
    }
    return {};
}

// A count stream as signalbox-ctl judge reads it: seconds of 95 baseline and 5 canary requests
// (a canary weight of 5 %), the baseline erring at 0.5 % (19 errors every 40 s, spread as evenly
// as whole errors allow) and the canary at `canaryFactor` times that. Line i is at t = i x step.
QByteArray countStream(int lines, int canaryFactor, double step = 1)
{
    const auto evenly = [](int i, int perFortyLines) {
        return i * perFortyLines / 40 - (i - 1) * perFortyLines / 40;
    };
    QByteArray text = "t,baseline_requests,baseline_errors,canary_requests,canary_errors\n";
    for (int i = 1; i <= lines; ++i)
        text += QStringLiteral("%1,95,%2,5,%3\n")
                    .arg(QString::number(i * step))
                    .arg(evenly(i, 19))
                    .arg(evenly(i, canaryFactor))
                    .toUtf8();
    return text;
}

QStringList linesOf(const QByteArray &text)
{
    return QString::fromUtf8(text).split(QLatin1Char('\n'), Qt::SkipEmptyParts);
}

double trafficOf(const QJsonObject &row, const QString &version)
{
    for (const QJsonValue &value : row.value(QLatin1String("versions")).toArray()) {
        if (value.toObject().value(QLatin1String("version")).toString() == version)
            return value.toObject().value(QLatin1String("traffic_percent")).toDouble();
    }
    return 0;
}

} // namespace

class TestCtl : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void versionAndHelp();
    void usageErrors_data();
    void usageErrors();
    void statusOfTheDemo();
    void statusAsJson();
    void startPauseResumePromoteAbortExtend();
    void rollbackBringsThePreviousVersionBack_data();
    void rollbackBringsThePreviousVersionBack();
    void nothingToRollBackIsRefused();
    void aBackendRefusalExits4();
    void rollbackWhileTheMetricsSourceFails();
    void inFlightReleaseComesBackPaused();
    void aFinishedReleaseIsRolledBackByALaterRun();
    void statusOnRealInfrastructureOnlyLooks();
    void journalListVerifyExport();
    void tamperedEntryIsNamed();
    void workspaceWithAYamlErrorExits3();
    void unusableJournalExits3();
    void realClockJournalIsNotSimulatedOn();
    void defaultJournalFollowsTheWorkspace();
    void judgeRegressionStream();
    void judgeHealthyStream();
    void judgeMalformedLinesExit2();
    void judgeWarnsOfOptionsTheMethodDoesNotUse();
    void judgeNumbersIgnoreTheLocale();

private:
    Run ctl(const QStringList &arguments) const;
    // signalbox-ctl judge with `stream` on its stdin.
    Run judge(const QStringList &arguments, const QByteArray &stream,
              const QProcessEnvironment &environment) const;
    Run judge(const QStringList &arguments, const QByteArray &stream) const
    {
        return judge(arguments, stream, m_environment);
    }
    QString path(const QString &name) const { return m_dir.filePath(name); }

    QTemporaryDir m_dir;
    QProcessEnvironment m_environment;
};

void TestCtl::initTestCase()
{
    QVERIFY(m_dir.isValid());
    // Default journals land here, not in the account's own data folder.
    m_environment = QProcessEnvironment::systemEnvironment();
    m_environment.insert(QStringLiteral("XDG_DATA_HOME"), path(QStringLiteral("data")));
    m_environment.insert(QStringLiteral("USER"), QStringLiteral("tester"));
}

Run TestCtl::ctl(const QStringList &arguments) const
{
    QProcess process;
    process.setProcessEnvironment(m_environment);
    process.start(QStringLiteral(SIGNALBOX_CTL_BINARY), arguments);
    if (!process.waitForFinished(60'000))
        qFatal("signalbox-ctl did not finish: %s", qPrintable(arguments.join(' ')));
    Run run;
    run.exitCode = process.exitStatus() == QProcess::NormalExit ? process.exitCode() : -1;
    run.out = process.readAllStandardOutput();
    run.err = QString::fromUtf8(process.readAllStandardError());
    return run;
}

Run TestCtl::judge(const QStringList &arguments, const QByteArray &stream,
                   const QProcessEnvironment &environment) const
{
    QProcess process;
    process.setProcessEnvironment(environment);
    process.start(QStringLiteral(SIGNALBOX_CTL_BINARY),
                  QStringList{QStringLiteral("judge")} + arguments);
    process.write(stream);
    process.closeWriteChannel();
    if (!process.waitForFinished(60'000))
        qFatal("signalbox-ctl judge did not finish: %s", qPrintable(arguments.join(' ')));
    Run run;
    run.exitCode = process.exitStatus() == QProcess::NormalExit ? process.exitCode() : -1;
    run.out = process.readAllStandardOutput();
    run.err = QString::fromUtf8(process.readAllStandardError());
    return run;
}

void TestCtl::versionAndHelp()
{
    const Run version = ctl({QStringLiteral("--version")});
    QCOMPARE(version.exitCode, 0);
    QCOMPARE(version.text().trimmed(), QStringLiteral("signalbox-ctl " SIGNALBOX_VERSION));

    const Run help = ctl({QStringLiteral("--help")});
    QCOMPARE(help.exitCode, 0);
    for (const char *word :
         {"status", "rollback SERVICE", "promote SERVICE", "journal verify", "judge --method",
          "--alpha", "--failure-limit", "--simulate", "--after", "--journal", "--timeout", "--json",
          "Exit codes:", "4  accepted, but it did not complete"})
        QVERIFY2(help.text().contains(QLatin1String(word)), word);
}

void TestCtl::usageErrors_data()
{
    QTest::addColumn<QStringList>("arguments");
    QTest::addColumn<QString>("message");

    QTest::newRow("no command") << QStringList{} << QStringLiteral("no command given");
    QTest::newRow("unknown command")
        << QStringList{"rollbak", "checkout"} << QStringLiteral("unknown command 'rollbak'");
    QTest::newRow("unknown option")
        << QStringList{"--frob", "status"} << QStringLiteral("Unknown option 'frob'");
    QTest::newRow("missing service")
        << QStringList{"rollback"} << QStringLiteral("rollback needs SERVICE");
    QTest::newRow("missing version")
        << QStringList{"start", "search/staging"}
        << QStringLiteral("write: signalbox-ctl start SERVICE VERSION");
    QTest::newRow("stray argument")
        << QStringList{"status", "now"} << QStringLiteral("unexpected argument 'now'");
    QTest::newRow("after is not a number")
        << QStringList{"--simulate", "--after", "soon", "status"}
        << QStringLiteral("--after expects simulated seconds from 0 to 604800, like 120; got "
                          "'soon'");
    QTest::newRow("after without simulate")
        << QStringList{"--after", "60", "status"} << QStringLiteral("goes with --simulate");
    QTest::newRow("negative timeout")
        << QStringList{"--timeout", "-1", "status"}
        << QStringLiteral("--timeout expects seconds from 0 to 604800, like 300; got '-1'");
    QTest::newRow("promote without reason") << QStringList{"promote", "checkout/production"}
                                            << QStringLiteral("promote needs --reason TEXT");
    QTest::newRow("option of another command")
        << QStringList{"pause", "checkout/production", "--fully"}
        << QStringLiteral("--fully goes with promote, not with pause");
    QTest::newRow("unknown journal command")
        << QStringList{"journal", "show"} << QStringLiteral("unknown journal command 'show'");
    QTest::newRow("unknown export format")
        << QStringList{"--journal", "j.sqlite", "journal", "export", "--format", "xml"}
        << QStringLiteral("--format expects jsonl or csv; got 'xml'");
    QTest::newRow("limit of zero")
        << QStringList{"--journal", "j.sqlite", "journal", "list", "--limit", "0"}
        << QStringLiteral("--limit expects a number of entries, 1 or more");
    QTest::newRow("since is not a time")
        << QStringList{"--journal", "j.sqlite", "journal", "list", "--since", "yesterday"}
        << QStringLiteral("--since expects an ISO 8601 time, like 2026-01-05T09:30:00Z");
    QTest::newRow("verify takes no filter")
        << QStringList{"--journal", "j.sqlite", "journal", "verify", "--kind", "started"}
        << QStringLiteral("--kind does not apply");
    QTest::newRow("ambiguous service")
        << QStringList{"--simulate", "pause", "checkout"}
        << QStringLiteral("'checkout' runs in more than one environment; write "
                          "checkout/production or checkout/staging");
    QTest::newRow("unknown service")
        << QStringList{"--simulate", "pause", "chekout/production"}
        << QStringLiteral("no service 'chekout/production' in workspace 'Northwind Outfitters "
                          "(simulated)'; choose one of: checkout/production, ");
    QTest::newRow("judge without a method")
        << QStringList{"judge"}
        << QStringLiteral("judge needs --method sequential or --method threshold; write: "
                          "signalbox-ctl judge --method sequential < stream.csv");
    QTest::newRow("judge with an unknown method")
        << QStringList{"judge", "--method", "bayes"}
        << QStringLiteral("--method expects sequential or threshold; got 'bayes'");
    QTest::newRow("judge with alpha 0")
        << QStringList{"judge", "--method", "sequential", "--alpha", "0"}
        << QStringLiteral("--alpha expects a bound on false alarms above 0 and at most 0.5, "
                          "like 0.05; got '0'");
    QTest::newRow("judge with k0 not a number")
        << QStringList{"judge", "--method", "sequential", "--k0", "one"}
        << QStringLiteral("--k0 expects a ratio above 0, like 1 (any rise is a regression) or 1.2 "
                          "(a rise of over 20 %); got 'one'");
    QTest::newRow("judge promoting below k0")
        << QStringList{"judge", "--method", "sequential", "--k0", "2", "--promote-below", "1.5"}
        << QStringLiteral("--promote-below expects a ratio above --k0 (2), like 4; got '1.5'");
    QTest::newRow("judge with a bound in kilograms")
        << QStringList{"judge", "--method", "threshold", "--bound", "<= 1 kg"}
        << QStringLiteral("--bound '<= 1 kg': 'kg' is not a unit of this metric; write a ratio "
                          "such as 0.5% or 0.005");
    QTest::newRow("judge with an interval below a second")
        << QStringList{"judge", "--method", "threshold", "--interval", "0.5"}
        << QStringLiteral("--interval expects seconds from 1 to 604800, like 60; got '0.5'");
    QTest::newRow("judge with failure limit 0")
        << QStringList{"judge", "--method", "threshold", "--failure-limit", "0"}
        << QStringLiteral("--failure-limit expects the failing measurement that rolls back, from "
                          "1 to 1000, like 3; got '0'");
    QTest::newRow("judge with negative min requests")
        << QStringList{"judge", "--method", "threshold", "--min-requests", "-5"}
        << QStringLiteral("--min-requests expects a number of requests, 0 or more, like 100; "
                          "got '-5'");
    QTest::newRow("judge with a bad value of an option it ignores")
        << QStringList{"judge", "--method", "threshold", "--alpha", "high"}
        << QStringLiteral("--alpha expects a bound on false alarms");
    QTest::newRow("judge with a workspace")
        << QStringList{"--workspace", "shop.yaml", "judge", "--method", "sequential"}
        << QStringLiteral("--workspace does not apply to judge: it reads counts from stdin, not "
                          "a workspace");
    QTest::newRow("judge with an argument")
        << QStringList{"judge", "stream.csv", "--method", "sequential"}
        << QStringLiteral("unexpected argument 'stream.csv'; write: signalbox-ctl judge --method "
                          "sequential|threshold < FILE");
    QTest::newRow("judge option with another command")
        << QStringList{"status", "--alpha", "0.01"}
        << QStringLiteral("--alpha goes with judge, not with status");
    QTest::newRow("demo journal without a file")
        << QStringList{"journal", "list"}
        << QStringLiteral("the built-in demo keeps no journal between runs; name the file with "
                          "--journal FILE");
}

void TestCtl::usageErrors()
{
    QFETCH(QStringList, arguments);
    QFETCH(QString, message);
    const Run run = ctl(arguments);
    QCOMPARE(run.exitCode, 2);
    QVERIFY2(run.err.startsWith(QLatin1String("signalbox-ctl: ")), qPrintable(run.err));
    QVERIFY2(run.err.contains(message), qPrintable(run.err));
    QVERIFY2(run.out.isEmpty(), run.out.constData());
}

void TestCtl::statusOfTheDemo()
{
    const Run run = ctl({QStringLiteral("--simulate"), QStringLiteral("--after"),
                         QStringLiteral("120"), QStringLiteral("status")});
    QVERIFY2(run.exitCode == 0, qPrintable(run.err));
    const QStringList lines = run.text().split(QLatin1Char('\n'), Qt::SkipEmptyParts);
    QCOMPARE(lines.size(), demoServices.size() + 1);
    const QString header = lines.constFirst();
    QVERIFY2(header.startsWith(QLatin1String("SERVICE")), qPrintable(header));
    // One line each, aligned under the header.
    for (int i = 0; i < demoServices.size(); ++i) {
        const QString &line = lines.at(i + 1);
        QVERIFY2(line.startsWith(demoServices.at(i) + QLatin1Char(' ')), qPrintable(line));
        for (const char *column : {"STRATEGY", "HEALTH", "SERVING", "RELEASE"}) {
            const qsizetype at = header.indexOf(QLatin1String(column));
            QVERIFY2(line.at(at - 1) == QLatin1Char(' ') && line.at(at) != QLatin1Char(' '),
                     qPrintable(line));
        }
    }
    // The demo's releases in flight two simulated minutes in.
    auto lineOf = [&lines](const QString &service) {
        for (const QString &line : lines) {
            if (line.startsWith(service + QLatin1Char(' ')))
                return line;
        }
        return QString();
    };
    QVERIFY2(lineOf(QStringLiteral("checkout/production"))
                 .contains(QLatin1String("2.3.1 -> 2.4.0 baking, stage 1/5 at 1%")),
             qPrintable(lineOf(QStringLiteral("checkout/production"))));
    QVERIFY(lineOf(QStringLiteral("checkout/production"))
                .contains(QLatin1String("Canary to 0 % (instant)")));
    QVERIFY2(lineOf(QStringLiteral("payments/production"))
                 .contains(QLatin1String("3.8.0 -> 3.9.0 warm")),
             qPrintable(lineOf(QStringLiteral("payments/production"))));
    QVERIFY(lineOf(QStringLiteral("payments/production"))
                .contains(QLatin1String("Switch back to 3.8.0 (instant)")));
    QVERIFY2(lineOf(QStringLiteral("search/production"))
                 .contains(QLatin1String("5.0.3 -> 5.1.0 progressing")),
             qPrintable(lineOf(QStringLiteral("search/production"))));
    QVERIFY(
        lineOf(QStringLiteral("catalog/production")).contains(QLatin1String("7.2.4 100% 24/24")));
}

void TestCtl::statusAsJson()
{
    const Run run
        = ctl({QStringLiteral("--simulate"), QStringLiteral("--after"), QStringLiteral("120"),
               QStringLiteral("--json"), QStringLiteral("status")});
    QVERIFY2(run.exitCode == 0, qPrintable(run.err));
    const QJsonArray rows = run.array();
    QCOMPARE(rows.size(), demoServices.size());
    for (int i = 0; i < rows.size(); ++i) {
        const QJsonObject row = rows.at(i).toObject();
        QCOMPARE(row.value(QLatin1String("service")).toString(), demoServices.at(i));
        for (const char *key : {"name", "environment", "strategy", "health", "versions", "release",
                                "rollback", "metrics_error"})
            QVERIFY2(row.contains(QLatin1String(key)), key);
    }

    const QJsonObject checkout = rowOf(rows, QStringLiteral("checkout/production"));
    const QJsonObject canary = checkout.value(QLatin1String("release")).toObject();
    QCOMPARE(canary.value(QLatin1String("strategy")).toString(), QStringLiteral("canary"));
    QCOMPARE(canary.value(QLatin1String("from_version")).toString(), QStringLiteral("2.3.1"));
    QCOMPARE(canary.value(QLatin1String("version")).toString(), QStringLiteral("2.4.0"));
    QCOMPARE(canary.value(QLatin1String("phase")).toString(), QStringLiteral("baking"));
    QCOMPARE(canary.value(QLatin1String("stage")).toInt(), 0);
    QCOMPARE(canary.value(QLatin1String("stages")).toInt(), 5);
    QCOMPARE(canary.value(QLatin1String("paused")).toBool(), false);
    QCOMPARE(trafficOf(checkout, QStringLiteral("2.3.1"))
                 + trafficOf(checkout, QStringLiteral("2.4.0")),
             100.0);
    const QJsonObject rollback = checkout.value(QLatin1String("rollback")).toObject();
    QCOMPARE(rollback.value(QLatin1String("kind")).toString(), QStringLiteral("command"));
    QCOMPARE(rollback.value(QLatin1String("to_version")).toString(), QStringLiteral("2.3.1"));

    const QJsonObject payments = rowOf(rows, QStringLiteral("payments/production"));
    QCOMPARE(payments.value(QLatin1String("release")).toObject().value(QLatin1String("switched")),
             QJsonValue(true));
    QCOMPARE(trafficOf(payments, QStringLiteral("3.9.0")), 100.0);

    const QJsonObject catalog = rowOf(rows, QStringLiteral("catalog/production"));
    QVERIFY(catalog.value(QLatin1String("release")).isNull());
    QCOMPARE(catalog.value(QLatin1String("rollback")).toObject().value(QLatin1String("kind")),
             QJsonValue(QStringLiteral("unavailable")));
}

void TestCtl::startPauseResumePromoteAbortExtend()
{
    const QString journal = path(QStringLiteral("commands.sqlite"));
    const QString service = QStringLiteral("recommendations/staging");
    auto releaseOf = [&service](const Run &run) {
        return rowOf(run.array(), service).value(QLatin1String("release")).toObject();
    };

    const Run started
        = ctl({QStringLiteral("--simulate"), QStringLiteral("--journal"), journal,
               QStringLiteral("--json"), QStringLiteral("start"), service, QStringLiteral("12.2.0"),
               QStringLiteral("--reason"), QStringLiteral("weekly release")});
    QVERIFY2(started.exitCode == 0, qPrintable(started.err));
    QCOMPARE(releaseOf(started).value(QLatin1String("version")).toString(),
             QStringLiteral("12.2.0"));
    QCOMPARE(releaseOf(started).value(QLatin1String("stage")).toInt(), 0);
    QCOMPARE(releaseOf(started).value(QLatin1String("paused")).toBool(), false);

    // The next run takes the release up paused, so pausing it again is refused...
    const Run pausedAgain = ctl({QStringLiteral("--simulate"), QStringLiteral("--journal"), journal,
                                 QStringLiteral("pause"), service});
    QCOMPARE(pausedAgain.exitCode, 1);
    QVERIFY2(pausedAgain.err.contains(QLatin1String("already paused")),
             qPrintable(pausedAgain.err));
    // ... and resuming it lets it go on.
    const Run resumed = ctl({QStringLiteral("--simulate"), QStringLiteral("--journal"), journal,
                             QStringLiteral("--json"), QStringLiteral("resume"), service});
    QVERIFY2(resumed.exitCode == 0, qPrintable(resumed.err));
    QCOMPARE(releaseOf(resumed).value(QLatin1String("paused")).toBool(), false);
    QCOMPARE(releaseOf(resumed).value(QLatin1String("id")),
             releaseOf(started).value(QLatin1String("id")));

    const QStringList demoAtOneMinute{QStringLiteral("--simulate"), QStringLiteral("--after"),
                                      QStringLiteral("60"), QStringLiteral("--json")};
    const QString checkout = QStringLiteral("checkout/production");
    auto checkoutRelease = [&checkout](const Run &run) {
        return rowOf(run.array(), checkout).value(QLatin1String("release")).toObject();
    };

    const Run paused = ctl(demoAtOneMinute + QStringList{QStringLiteral("pause"), checkout});
    QVERIFY2(paused.exitCode == 0, qPrintable(paused.err));
    QCOMPARE(checkoutRelease(paused).value(QLatin1String("paused")).toBool(), true);
    QCOMPARE(checkoutRelease(paused).value(QLatin1String("phase")).toString(),
             QStringLiteral("paused"));

    const Run promoted
        = ctl(demoAtOneMinute
              + QStringList{QStringLiteral("promote"), checkout, QStringLiteral("--reason"),
                            QStringLiteral("error rate flat for a minute")});
    QVERIFY2(promoted.exitCode == 0, qPrintable(promoted.err));
    QCOMPARE(checkoutRelease(promoted).value(QLatin1String("stage")).toInt(), 1);
    QCOMPARE(checkoutRelease(promoted).value(QLatin1String("weight_percent")).toDouble(), 5.0);
    QVERIFY2(promoted.err.contains(QLatin1String("promoted: promoted from stage 1 of 5")),
             qPrintable(promoted.err));

    const Run fully
        = ctl(demoAtOneMinute
              + QStringList{QStringLiteral("promote"), checkout, QStringLiteral("--fully"),
                            QStringLiteral("--reason"), QStringLiteral("hotfix")});
    QVERIFY2(fully.exitCode == 0, qPrintable(fully.err));
    QCOMPARE(checkoutRelease(fully).value(QLatin1String("stage")).toInt(), 4);

    const Run aborted = ctl(demoAtOneMinute + QStringList{QStringLiteral("abort"), checkout});
    QVERIFY2(aborted.exitCode == 0, qPrintable(aborted.err));
    QVERIFY2(QStringList({"aborting", "aborted"})
                 .contains(checkoutRelease(aborted).value(QLatin1String("phase")).toString()),
             aborted.out.constData());
    QCOMPARE(trafficOf(rowOf(aborted.array(), checkout), QStringLiteral("2.3.1")), 100.0);

    // Blue-green: keep the old colour warm for longer.
    const QString payments = QStringLiteral("payments/production");
    const Run extended
        = ctl({QStringLiteral("--simulate"), QStringLiteral("--after"), QStringLiteral("150"),
               QStringLiteral("--json"), QStringLiteral("extend"), payments});
    QVERIFY2(extended.exitCode == 0, qPrintable(extended.err));
    const double warm = rowOf(extended.array(), payments)
                            .value(QLatin1String("release"))
                            .toObject()
                            .value(QLatin1String("warm_remaining_seconds"))
                            .toDouble();
    QVERIFY2(warm > 15 * 60, qPrintable(QString::number(warm)));
}

void TestCtl::rollbackBringsThePreviousVersionBack_data()
{
    QTest::addColumn<QString>("service");
    QTest::addColumn<QString>("after");
    QTest::addColumn<QString>("label");
    QTest::addColumn<QString>("previous");
    QTest::addColumn<QString>("phase");

    QTest::newRow("canary") << "checkout/production"
                            << "120"
                            << "Canary to 0 % (instant)"
                            << "2.3.1"
                            << "aborted";
    // The demo's blue-green switches to 3.9.0 at about 110 simulated seconds.
    QTest::newRow("blue-green after its switch") << "payments/production"
                                                 << "150"
                                                 << "Switch back to 3.8.0 (instant)"
                                                 << "3.8.0"
                                                 << "rolled-back";
    QTest::newRow("rolling") << "search/production"
                             << "120"
                             << "Roll back to 5.0.3"
                             << "5.0.3"
                             << "rolled back";
}

void TestCtl::rollbackBringsThePreviousVersionBack()
{
    QFETCH(QString, service);
    QFETCH(QString, after);
    QFETCH(QString, label);
    QFETCH(QString, previous);
    QFETCH(QString, phase);

    const Run run = ctl({QStringLiteral("--simulate"), QStringLiteral("--after"), after,
                         QStringLiteral("--json"), QStringLiteral("rollback"), service,
                         QStringLiteral("--reason"), QStringLiteral("pager went off")});
    QVERIFY2(run.exitCode == 0, qPrintable(run.err));
    // Progress goes to stderr when stdout is JSON.
    QVERIFY2(run.err.contains(service + QStringLiteral(": ") + label), qPrintable(run.err));
    QVERIFY2(run.err.contains(previous + QStringLiteral(" serves all traffic")),
             qPrintable(run.err));
    const QJsonObject row = rowOf(run.array(), service);
    QCOMPARE(trafficOf(row, previous), 100.0);
    const QJsonObject release = row.value(QLatin1String("release")).toObject();
    QCOMPARE(release.value(QLatin1String("finished")).toBool(), true);
    QCOMPARE(release.value(QLatin1String("phase")).toString(), phase);
    // Nothing of the version rolled back still takes requests.
    for (const QJsonValue &value : row.value(QLatin1String("versions")).toArray()) {
        const QJsonObject version = value.toObject();
        if (version.value(QLatin1String("version")).toString() != previous)
            QCOMPARE(version.value(QLatin1String("ready")).toInt(), 0);
    }
}

void TestCtl::nothingToRollBackIsRefused()
{
    const QString journal = path(QStringLiteral("refused.sqlite"));
    const Run run = ctl({QStringLiteral("--simulate"), QStringLiteral("--journal"), journal,
                         QStringLiteral("rollback"), QStringLiteral("catalog/production"),
                         QStringLiteral("--reason"), QStringLiteral("just in case")});
    QCOMPARE(run.exitCode, 1);
    QVERIFY2(run.err.contains(QLatin1String("signalbox-ctl: catalog (production) has had no "
                                            "release")),
             qPrintable(run.err));
    // The refused request is on the record, with who asked and why.
    const Run listed = ctl({QStringLiteral("--journal"), journal, QStringLiteral("journal"),
                            QStringLiteral("list"), QStringLiteral("--kind"),
                            QStringLiteral("rollback-requested"), QStringLiteral("--json")});
    QVERIFY2(listed.exitCode == 0, qPrintable(listed.err));
    QCOMPARE(listed.array().size(), 1);
    const QJsonObject entry = listed.array().first().toObject();
    QCOMPARE(entry.value(QLatin1String("actor")).toString(), QStringLiteral("tester"));
    QCOMPARE(entry.value(QLatin1String("reason")).toString(), QStringLiteral("just in case"));
    QVERIFY(entry.value(QLatin1String("outcome")).toString().startsWith(QLatin1String("refused")));
}

void TestCtl::aBackendRefusalExits4()
{
    // The simulator has no 9.9.9 of catalog to deploy: the release starts, its scale is refused.
    const Run run = ctl({QStringLiteral("--simulate"), QStringLiteral("start"),
                         QStringLiteral("catalog/production"), QStringLiteral("9.9.9")});
    QCOMPARE(run.exitCode, 4);
    QVERIFY2(run.err.contains(QLatin1String("'scale 9.9.9 to 6 instances' was refused: "
                                            "catalog/production has no version 9.9.9")),
             qPrintable(run.err));
}

void TestCtl::rollbackWhileTheMetricsSourceFails()
{
    // The outage begins a minute in; both releases are under way by two minutes.
    const Run status
        = ctl({QStringLiteral("--simulate"), QStringLiteral("--workspace"), metricsOutage,
               QStringLiteral("--journal"), path(QStringLiteral("outage-status.sqlite")),
               QStringLiteral("--after"), QStringLiteral("120"), QStringLiteral("--json"),
               QStringLiteral("status")});
    QVERIFY2(status.exitCode == 0, qPrintable(status.err));
    for (const QString &service :
         {QStringLiteral("cart/production"), QStringLiteral("billing/production")}) {
        const QJsonObject row = rowOf(status.array(), service);
        QVERIFY2(!row.value(QLatin1String("metrics_error")).toString().isEmpty(),
                 qPrintable(service));
        QCOMPARE(row.value(QLatin1String("release")).toObject().value(QLatin1String("finished")),
                 QJsonValue(false));
    }
    QCOMPARE(rowOf(status.array(), QStringLiteral("billing/production"))
                 .value(QLatin1String("release"))
                 .toObject()
                 .value(QLatin1String("switched")),
             QJsonValue(true));

    const QList<std::pair<QString, QString>> rollbacks{
        {QStringLiteral("cart/production"), QStringLiteral("1.0.0")},
        {QStringLiteral("billing/production"), QStringLiteral("4.0.0")}};
    for (const auto &[service, previous] : rollbacks) {
        const Run run = ctl({QStringLiteral("--simulate"), QStringLiteral("--workspace"),
                             metricsOutage, QStringLiteral("--journal"),
                             path(service.section(QLatin1Char('/'), 0, 0) + ".sqlite"),
                             QStringLiteral("--after"), QStringLiteral("120"),
                             QStringLiteral("--json"), QStringLiteral("rollback"), service});
        QVERIFY2(run.exitCode == 0, qPrintable(service + QLatin1Char(' ') + run.err));
        QCOMPARE(trafficOf(rowOf(run.array(), service), previous), 100.0);
    }
}

void TestCtl::inFlightReleaseComesBackPaused()
{
    const QString journal = path(QStringLiteral("restart.sqlite"));
    const QString service = QStringLiteral("checkout/production");
    const Run first = ctl({QStringLiteral("--simulate"), QStringLiteral("--journal"), journal,
                           QStringLiteral("--after"), QStringLiteral("120"),
                           QStringLiteral("--json"), QStringLiteral("status")});
    QVERIFY2(first.exitCode == 0, qPrintable(first.err));
    const QJsonObject before
        = rowOf(first.array(), service).value(QLatin1String("release")).toObject();
    QCOMPARE(before.value(QLatin1String("paused")).toBool(), false);

    const Run second = ctl({QStringLiteral("--simulate"), QStringLiteral("--journal"), journal,
                            QStringLiteral("--json"), QStringLiteral("status")});
    QVERIFY2(second.exitCode == 0, qPrintable(second.err));
    QVERIFY2(second.err.contains(QLatin1String("back paused")), qPrintable(second.err));
    const QJsonObject row = rowOf(second.array(), service);
    const QJsonObject after = row.value(QLatin1String("release")).toObject();
    QCOMPARE(after.value(QLatin1String("id")), before.value(QLatin1String("id")));
    QCOMPARE(after.value(QLatin1String("paused")).toBool(), true);
    QCOMPARE(after.value(QLatin1String("stage")), before.value(QLatin1String("stage")));
    // The simulation stands where the first run left it: the canary still has its 1 %.
    QCOMPARE(trafficOf(row, QStringLiteral("2.4.0")), 1.0);
}

void TestCtl::aFinishedReleaseIsRolledBackByALaterRun()
{
    // The on-call engineer's case: the release finished in one console, the rollback comes
    // later from another process over SSH.
    const QString journal = path(QStringLiteral("finished.sqlite"));
    const QString service = QStringLiteral("payments/production");
    const Run first = ctl({QStringLiteral("--simulate"), QStringLiteral("--journal"), journal,
                           QStringLiteral("--after"), QStringLiteral("900"),
                           QStringLiteral("--json"), QStringLiteral("status")});
    QVERIFY2(first.exitCode == 0, qPrintable(first.err));
    QCOMPARE(trafficOf(rowOf(first.array(), service), QStringLiteral("3.9.0")), 100.0);

    const Run later = ctl({QStringLiteral("--simulate"), QStringLiteral("--journal"), journal,
                           QStringLiteral("--json"), QStringLiteral("rollback"), service,
                           QStringLiteral("--reason"), QStringLiteral("INC-77")});
    QVERIFY2(later.exitCode == 0, qPrintable(later.err));
    QCOMPARE(trafficOf(rowOf(later.array(), service), QStringLiteral("3.8.0")), 100.0);
}

void TestCtl::statusOnRealInfrastructureOnlyLooks()
{
    const QString journal = path(QStringLiteral("looking.sqlite"));
    const Run first
        = ctl({QStringLiteral("--simulate"), QStringLiteral("--journal"), journal,
               QStringLiteral("--after"), QStringLiteral("120"), QStringLiteral("status")});
    QVERIFY2(first.exitCode == 0, qPrintable(first.err));
    const auto entries = [&] {
        return ctl({QStringLiteral("--journal"), journal, QStringLiteral("journal"),
                    QStringLiteral("list"), QStringLiteral("--json")})
            .array()
            .size();
    };
    const qsizetype before = entries();
    QVERIFY(before > 0);

    // Without --simulate the workspace's backends are the real ones: a console may be driving
    // these releases right now, so status must neither pause them nor call anything.
    const Run looked
        = ctl({QStringLiteral("--journal"), journal, QStringLiteral("--json"),
               QStringLiteral("--timeout"), QStringLiteral("5"), QStringLiteral("status")});
    QVERIFY2(looked.exitCode == 0, qPrintable(looked.err));
    QVERIFY2(looked.err.contains(QLatin1String("as last saved in the journal")),
             qPrintable(looked.err));
    const QJsonObject release = rowOf(looked.array(), QStringLiteral("checkout/production"))
                                    .value(QLatin1String("release"))
                                    .toObject();
    QCOMPARE(release.value(QLatin1String("paused")).toBool(), false);
    QCOMPARE(entries(), before);
}

void TestCtl::journalListVerifyExport()
{
    const QString journal = path(QStringLiteral("listing.sqlite"));
    const Run run
        = ctl({QStringLiteral("--simulate"), QStringLiteral("--journal"), journal,
               QStringLiteral("--after"), QStringLiteral("300"), QStringLiteral("status")});
    QVERIFY2(run.exitCode == 0, qPrintable(run.err));
    auto journalCommand = [&](const QStringList &arguments) {
        return ctl(QStringList{QStringLiteral("--journal"), journal, QStringLiteral("journal")}
                   + arguments);
    };

    const Run all = journalCommand({QStringLiteral("list"), QStringLiteral("--json")});
    QVERIFY2(all.exitCode == 0, qPrintable(all.err));
    const QJsonArray entries = all.array();
    const qsizetype count = entries.size();
    QVERIFY2(count > 50, qPrintable(QString::number(count)));
    for (qsizetype i = 0; i < count; ++i) {
        const QJsonObject entry = entries.at(i).toObject();
        QCOMPARE(entry.value(QLatin1String("sequence")).toInteger(), i + 1);
        for (const char *key : {"at", "actor", "service", "environment", "release_id", "kind",
                                "stage", "action", "reason", "outcome", "hash", "previous_hash"})
            QVERIFY2(entry.contains(QLatin1String(key)), key);
    }

    const Run verified = journalCommand({QStringLiteral("verify")});
    QCOMPARE(verified.exitCode, 0);
    QVERIFY2(verified.text().contains(QStringLiteral("%1 entries, intact").arg(count)),
             verified.out.constData());

    const Run text = journalCommand({QStringLiteral("list")});
    QCOMPARE(text.text().split(QLatin1Char('\n'), Qt::SkipEmptyParts).size(), count);

    const Run lastFive = journalCommand({QStringLiteral("list"), QStringLiteral("--limit"),
                                         QStringLiteral("5"), QStringLiteral("--json")});
    QCOMPARE(lastFive.array().size(), 5);
    QCOMPARE(lastFive.array().last().toObject().value(QLatin1String("sequence")).toInteger(),
             count);

    const Run checkout
        = journalCommand({QStringLiteral("list"), QStringLiteral("--service"),
                          QStringLiteral("checkout/production"), QStringLiteral("--json")});
    QVERIFY(!checkout.array().isEmpty());
    for (const QJsonValue &value : checkout.array()) {
        QCOMPARE(value.toObject().value(QLatin1String("service")).toString(),
                 QStringLiteral("checkout"));
        QCOMPARE(value.toObject().value(QLatin1String("environment")).toString(),
                 QStringLiteral("production"));
    }

    // The workspace started its four releases.
    const Run scheduled = journalCommand({QStringLiteral("list"), QStringLiteral("--actor"),
                                          QStringLiteral("workspace"), QStringLiteral("--kind"),
                                          QStringLiteral("started"), QStringLiteral("--json")});
    QCOMPARE(scheduled.array().size(), 4);

    const Run since
        = journalCommand({QStringLiteral("list"), QStringLiteral("--since"),
                          QStringLiteral("2026-01-05T09:03:00Z"), QStringLiteral("--json")});
    QVERIFY(!since.array().isEmpty() && since.array().size() < count);
    for (const QJsonValue &value : since.array())
        QVERIFY(value.toObject().value(QLatin1String("at")).toString()
                >= QLatin1String("2026-01-05T09:03:00"));
    // On a simulated journal, --last counts back from its last entry.
    const Run lastMinute
        = ctl({QStringLiteral("--simulate"), QStringLiteral("--journal"), journal,
               QStringLiteral("journal"), QStringLiteral("list"), QStringLiteral("--last"),
               QStringLiteral("1"), QStringLiteral("--json")});
    QVERIFY(!lastMinute.array().isEmpty() && lastMinute.array().size() < count);

    // JSON lines: one entry a line, each chained to the one before.
    const Run jsonl = journalCommand(
        {QStringLiteral("export"), QStringLiteral("--format"), QStringLiteral("jsonl")});
    QCOMPARE(jsonl.exitCode, 0);
    const QList<QByteArray> lines = jsonl.out.trimmed().split('\n');
    QCOMPARE(lines.size(), count);
    QString previousHash;
    for (const QByteArray &line : lines) {
        QJsonParseError error;
        const QJsonObject entry = QJsonDocument::fromJson(line, &error).object();
        QVERIFY2(error.error == QJsonParseError::NoError, line.constData());
        QCOMPARE(entry.value(QLatin1String("previous_hash")).toString(), previousHash);
        previousHash = entry.value(QLatin1String("hash")).toString();
    }

    // CSV: a header and one row per entry.
    const QString csvFile = path(QStringLiteral("listing.csv"));
    const Run csv = journalCommand({QStringLiteral("export"), QStringLiteral("--format"),
                                    QStringLiteral("csv"), QStringLiteral("--output"), csvFile});
    QVERIFY2(csv.exitCode == 0, qPrintable(csv.err));
    QVERIFY2(csv.text().contains(QStringLiteral("%1 entries written to").arg(count)),
             csv.out.constData());
    QFile file(csvFile);
    QVERIFY(file.open(QIODevice::ReadOnly));
    const QList<QByteArray> rows = file.readAll().trimmed().split('\n');
    QCOMPARE(rows.size(), count + 1);
    QVERIFY2(rows.first().startsWith("sequence,at,actor,service,environment"),
             rows.first().constData());
    QVERIFY(rows.at(1).startsWith("1,2026-01-05T09:00:00"));
}

void TestCtl::tamperedEntryIsNamed()
{
    const QString journal = path(QStringLiteral("tampered.sqlite"));
    const Run run
        = ctl({QStringLiteral("--simulate"), QStringLiteral("--journal"), journal,
               QStringLiteral("--after"), QStringLiteral("120"), QStringLiteral("status")});
    QVERIFY2(run.exitCode == 0, qPrintable(run.err));
    {
        QSqlDatabase db
            = QSqlDatabase::addDatabase(QStringLiteral("QSQLITE"), QStringLiteral("tamper"));
        db.setDatabaseName(journal);
        QVERIFY(db.open());
        QSqlQuery query(db);
        // The triggers only stop mistakes; someone covering their tracks drops them first.
        QVERIFY2(query.exec(QStringLiteral("DROP TRIGGER entries_no_update")),
                 qPrintable(query.lastError().text()));
        QVERIFY2(query.exec(QStringLiteral("UPDATE entries SET body = json_set(body, '$[8]', "
                                           "'nothing to see here') WHERE sequence = 7")),
                 qPrintable(query.lastError().text()));
        QCOMPARE(query.numRowsAffected(), 1);
        db.close();
    }
    QSqlDatabase::removeDatabase(QStringLiteral("tamper"));

    const Run verified = ctl({QStringLiteral("--journal"), journal, QStringLiteral("journal"),
                              QStringLiteral("verify")});
    QCOMPARE(verified.exitCode, 3);
    QVERIFY2(verified.text().contains(QLatin1String("altered at entry 7")),
             verified.out.constData());
    QVERIFY2(verified.err.contains(QLatin1String("entry 7")), qPrintable(verified.err));

    // The console still runs on it, and says so.
    const Run status = ctl({QStringLiteral("--simulate"), QStringLiteral("--journal"), journal,
                            QStringLiteral("status")});
    QCOMPARE(status.exitCode, 0);
    QVERIFY2(status.err.contains(QLatin1String("has been altered")), qPrintable(status.err));
}

void TestCtl::workspaceWithAYamlErrorExits3()
{
    for (const QStringList &command :
         {QStringList{QStringLiteral("status")},
          QStringList{QStringLiteral("rollback"), QStringLiteral("web")},
          QStringList{QStringLiteral("journal"), QStringLiteral("list")}}) {
        const Run run = ctl(QStringList{QStringLiteral("--workspace"), badYaml} + command);
        QCOMPARE(run.exitCode, 3);
        QVERIFY2(run.err.contains(badYaml + QStringLiteral(":9:")), qPrintable(run.err));
        QVERIFY2(run.err.contains(QLatin1String("9 |       adapter: sim")), qPrintable(run.err));
    }
}

void TestCtl::unusableJournalExits3()
{
    const QString notAJournal = path(QStringLiteral("notes.txt"));
    QFile file(notAJournal);
    QVERIFY(file.open(QIODevice::WriteOnly));
    file.write("not a journal at all\n");
    file.close();
    for (const QStringList &command :
         {QStringList{QStringLiteral("--simulate"), QStringLiteral("status")},
          QStringList{QStringLiteral("journal"), QStringLiteral("verify")}}) {
        const Run run = ctl(QStringList{QStringLiteral("--journal"), notAJournal} + command);
        QCOMPARE(run.exitCode, 3);
        QVERIFY2(run.err.contains(notAJournal), qPrintable(run.err));
    }

    const QString missing = path(QStringLiteral("missing.sqlite"));
    const Run run = ctl(
        {QStringLiteral("--journal"), missing, QStringLiteral("journal"), QStringLiteral("list")});
    QCOMPARE(run.exitCode, 3);
    QVERIFY2(run.err.contains(QStringLiteral("there is no journal at %1").arg(missing)),
             qPrintable(run.err));
    QVERIFY(!QFile::exists(missing));
}

void TestCtl::realClockJournalIsNotSimulatedOn()
{
    // On the real clock the simulator answers at once too, so a start completes quickly.
    const QString journal = path(QStringLiteral("wall-clock.sqlite"));
    const Run started = ctl({QStringLiteral("--journal"), journal, QStringLiteral("start"),
                             QStringLiteral("search/staging"), QStringLiteral("5.2.0")});
    QVERIFY2(started.exitCode == 0, qPrintable(started.err));
    QVERIFY2(
        started.text().contains(QLatin1String("search/staging: started search/staging:5.2.0@")),
        started.out.constData());

    const Run simulated = ctl({QStringLiteral("--simulate"), QStringLiteral("--journal"), journal,
                               QStringLiteral("status")});
    QCOMPARE(simulated.exitCode, 3);
    QVERIFY2(simulated.err.contains(QLatin1String("was kept on the real clock")),
             qPrintable(simulated.err));
}

void TestCtl::defaultJournalFollowsTheWorkspace()
{
    // Without --journal a workspace file keeps its journal where the window keeps it.
    const QString workspace = path(QStringLiteral("signalbox.yaml"));
    QVERIFY(QFile::copy(metricsOutage, workspace));
    const Run first
        = ctl({QStringLiteral("--simulate"), QStringLiteral("--workspace"), workspace,
               QStringLiteral("--after"), QStringLiteral("30"), QStringLiteral("status")});
    QVERIFY2(first.exitCode == 0, qPrintable(first.err));
    const QDir journals(path(QStringLiteral("data/Signalbox/signalbox/journals")));
    const QStringList files = journals.entryList({QStringLiteral("*.sqlite")});
    QCOMPARE(files.size(), 1);
    QVERIFY2(files.first().startsWith(QLatin1String("Metrics-outage-simulated-")),
             qPrintable(files.first()));

    const Run verified = ctl({QStringLiteral("--workspace"), workspace, QStringLiteral("journal"),
                              QStringLiteral("verify")});
    QCOMPARE(verified.exitCode, 0);
    QVERIFY2(verified.text().contains(journals.filePath(files.first())), verified.out.constData());

    // The next run on the same workspace takes up what the first left in flight.
    const Run second = ctl({QStringLiteral("--simulate"), QStringLiteral("--workspace"), workspace,
                            QStringLiteral("--json"), QStringLiteral("status")});
    QVERIFY2(second.exitCode == 0, qPrintable(second.err));
    QCOMPARE(rowOf(second.array(), QStringLiteral("cart/production"))
                 .value(QLatin1String("release"))
                 .toObject()
                 .value(QLatin1String("paused")),
             QJsonValue(true));
}

void TestCtl::judgeRegressionStream()
{
    // The canary errs ten times as often as its baseline from the first second.
    const QByteArray stream = countStream(600, 10);

    const Run sequential
        = judge({QStringLiteral("--method"), QStringLiteral("sequential")}, stream);
    QVERIFY2(sequential.exitCode == 0, qPrintable(sequential.err));
    QVERIFY2(sequential.err.isEmpty(), qPrintable(sequential.err));
    const QStringList lines = linesOf(sequential.out);
    QCOMPARE(lines.size(), 2);
    static const QRegularExpression change(
        QStringLiteral("^t=(\\d+) decision=rollback errors: .*regression"));
    const QRegularExpressionMatch changed = change.match(lines.at(0));
    QVERIFY2(changed.hasMatch(), qPrintable(lines.at(0)));
    QVERIFY2(changed.captured(1).toInt() <= 60, qPrintable(lines.at(0)));
    QCOMPARE(lines.at(1), QStringLiteral("decision=rollback t=%1").arg(changed.captured(1)));

    // 15 errors in each minute's 300 canary requests fail the threshold gate every minute; the
    // third failure rolls back.
    const Run threshold = judge({QStringLiteral("--method"), QStringLiteral("threshold")}, stream);
    QVERIFY2(threshold.exitCode == 0, qPrintable(threshold.err));
    QCOMPARE(linesOf(threshold.out),
             (QStringList{"t=180 decision=rollback error rate failed 3 of 3 allowed measurements; "
                          "the last, over 300 canary requests: 5.00 % > 1.00 %",
                          "decision=rollback t=180"}));
    // A higher failure limit waits for more failing minutes.
    const Run patient = judge({QStringLiteral("--method"), QStringLiteral("threshold"),
                               QStringLiteral("--failure-limit"), QStringLiteral("5")},
                              stream);
    QCOMPARE(linesOf(patient.out).constLast(), QStringLiteral("decision=rollback t=300"));
}

void TestCtl::judgeHealthyStream()
{
    // Half an hour of a canary that errs exactly as its baseline does.
    const QByteArray stream = countStream(1800, 1);

    const Run sequential
        = judge({QStringLiteral("--method"), QStringLiteral("sequential")}, stream);
    QVERIFY2(sequential.exitCode == 0, qPrintable(sequential.err));
    const QStringList lines = linesOf(sequential.out);
    QCOMPARE(lines.size(), 2);
    static const QRegularExpression change(
        QStringLiteral("^t=(\\d+) decision=promote errors: safe to promote"));
    const QRegularExpressionMatch changed = change.match(lines.at(0));
    QVERIFY2(changed.hasMatch(), qPrintable(lines.at(0)));
    QCOMPARE(lines.at(1), QStringLiteral("decision=promote t=%1").arg(changed.captured(1)));

    // The threshold gate never promotes: it goes on to the last line read.
    const Run threshold = judge({QStringLiteral("--method"), QStringLiteral("threshold")}, stream);
    QVERIFY2(threshold.exitCode == 0, qPrintable(threshold.err));
    QCOMPARE(linesOf(threshold.out), QStringList{"decision=continue t=1800"});
}

void TestCtl::judgeMalformedLinesExit2()
{
    QByteArray stream = countStream(600, 10);
    // Line 4 (t = 3) has more canary errors than requests; line 7 goes back in time.
    QList<QByteArray> lines = stream.split('\n');
    lines[3] = "3,95,0,5,9";
    lines[6] = "4.5,95,0,5,0";
    stream = lines.join('\n');

    const Run run = judge({QStringLiteral("--method"), QStringLiteral("sequential")}, stream);
    QCOMPARE(run.exitCode, 2);
    QCOMPARE(run.err,
             QStringLiteral("signalbox-ctl: stdin:4: canary_errors 9 is above canary_requests 5; "
                            "each count of events is at most its requests\n"
                            "signalbox-ctl: stdin:7: t 4.5 is not after the previous line's 5; "
                            "each line's t must be later than the one before\n"));
    // The judge went on with the good lines and still says what it decided.
    QVERIFY2(linesOf(run.out).constLast().startsWith(QLatin1String("decision=rollback t=")),
             run.out.constData());
}

void TestCtl::judgeWarnsOfOptionsTheMethodDoesNotUse()
{
    const QByteArray stream = countStream(600, 10);
    const Run threshold
        = judge({QStringLiteral("--method"), QStringLiteral("threshold"), QStringLiteral("--alpha"),
                 QStringLiteral("0.01"), QStringLiteral("--k0"), QStringLiteral("1.5")},
                stream);
    QCOMPARE(threshold.exitCode, 0);
    QCOMPARE(threshold.err, QStringLiteral("signalbox-ctl: --alpha, --k0 do not apply to --method "
                                           "threshold; ignoring them\n"));
    QCOMPARE(linesOf(threshold.out).constLast(), QStringLiteral("decision=rollback t=180"));

    const Run sequential = judge({QStringLiteral("--method"), QStringLiteral("sequential"),
                                  QStringLiteral("--bound"), QStringLiteral("<= 2%")},
                                 stream);
    QCOMPARE(sequential.exitCode, 0);
    QCOMPARE(sequential.err, QStringLiteral("signalbox-ctl: --bound does not apply to --method "
                                            "sequential; ignoring it\n"));
}

void TestCtl::judgeNumbersIgnoreTheLocale()
{
    QProcessEnvironment german = m_environment;
    german.insert(QStringLiteral("LC_ALL"), QStringLiteral("de_DE.UTF-8"));
    german.insert(QStringLiteral("LANG"), QStringLiteral("de_DE.UTF-8"));
    // A line every half second; the gate measures every 30 s, 60 lines of 5 canary requests.
    const QByteArray regression = countStream(600, 10, 0.5);
    const Run threshold = judge({QStringLiteral("--method"), QStringLiteral("threshold"),
                                 QStringLiteral("--interval"), QStringLiteral("30")},
                                regression, german);
    QVERIFY2(threshold.exitCode == 0, qPrintable(threshold.err));
    QCOMPARE(linesOf(threshold.out),
             (QStringList{"t=90 decision=rollback error rate failed 3 of 3 allowed measurements; "
                          "the last, over 300 canary requests: 5.00 % > 1.00 %",
                          "decision=rollback t=90"}));
    const Run healthy = judge({QStringLiteral("--method"), QStringLiteral("threshold")},
                              countStream(599, 1, 0.5), german);
    QCOMPARE(linesOf(healthy.out), QStringList{"decision=continue t=299.5"});
}

QTEST_GUILESS_MAIN(TestCtl)
#include "tst_ctl.moc"
