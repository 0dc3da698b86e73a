// The signalbox binary as scripts and reviewers run it: a real process, its exit code, its
// stderr and the PNG it writes.

#include <QImage>
#include <QProcess>
#include <QTemporaryDir>
#include <QTest>

namespace {

struct Run {
    int exitCode = -1;
    QString out;
    QString err;
};

Run signalbox(const QStringList &arguments,
              const QProcessEnvironment &environment = QProcessEnvironment::systemEnvironment())
{
    QProcess process;
    process.setProcessEnvironment(environment);
    process.start(QStringLiteral(SIGNALBOX_BINARY), arguments);
    if (!process.waitForFinished(60'000))
        qFatal("signalbox did not finish: %s", qPrintable(arguments.join(' ')));
    Run run;
    run.exitCode = process.exitStatus() == QProcess::NormalExit ? process.exitCode() : -1;
    run.out = QString::fromUtf8(process.readAllStandardOutput());
    run.err = QString::fromUtf8(process.readAllStandardError());
    return run;
}

bool writeFile(const QString &path, const QByteArray &content)
{
    QFile file(path);
    return file.open(QIODevice::WriteOnly) && file.write(content) == content.size();
}

} // namespace

class TestCli : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void versionAndHelp();
    void screenshotOfTheDemo();
    void screenshotOfABadWorkspaceFails();
    void badArgumentsAreRefused_data();
    void badArgumentsAreRefused();
    void withoutADisplayItSavesAScreenshot();

private:
    QTemporaryDir m_dir;
};

void TestCli::initTestCase()
{
    QVERIFY(m_dir.isValid());
}

void TestCli::versionAndHelp()
{
    const Run version = signalbox({QStringLiteral("--version")});
    QCOMPARE(version.exitCode, 0);
    QCOMPARE(version.out.trimmed(), QStringLiteral("signalbox " SIGNALBOX_VERSION));

    const Run help = signalbox({QStringLiteral("--help")});
    QCOMPARE(help.exitCode, 0);
    for (const char *option : {"--workspace", "--screenshot", "--service", "--after"})
        QVERIFY2(help.out.contains(QLatin1String(option)), option);
}

void TestCli::screenshotOfTheDemo()
{
    const QString png = m_dir.filePath(QStringLiteral("demo.png"));
    const Run run = signalbox({QStringLiteral("--screenshot"), png, QStringLiteral("--service"),
                               QStringLiteral("search/production"), QStringLiteral("--after"),
                               QStringLiteral("60")});
    QVERIFY2(run.exitCode == 0, qPrintable(run.err));
    const QImage image(png);
    QCOMPARE(image.size(), QSize(1440, 900));
    // Not a blank canvas: a rendered console has many distinct colours.
    QSet<QRgb> colours;
    for (int y = 0; y < image.height(); y += 7) {
        for (int x = 0; x < image.width(); x += 7)
            colours.insert(image.pixel(x, y));
    }
    QVERIFY2(colours.size() > 20, qPrintable(QString::number(colours.size())));
}

void TestCli::screenshotOfABadWorkspaceFails()
{
    const QString workspace = m_dir.filePath(QStringLiteral("bad.yaml"));
    QVERIFY(writeFile(workspace, "environments: [production]\n"
                                 "adapters:\n"
                                 "  - {name: sim, type: simulater}\n"
                                 "services:\n"
                                 "  - {name: web, environment: production, adapter: sim}\n"));
    const QString png = m_dir.filePath(QStringLiteral("bad.png"));
    const Run run = signalbox(
        {QStringLiteral("--workspace"), workspace, QStringLiteral("--screenshot"), png});
    QCOMPARE(run.exitCode, 1);
    QVERIFY2(run.err.contains(workspace + QStringLiteral(":3:")), qPrintable(run.err));
    QVERIFY2(run.err.contains(QLatin1String("did you mean 'simulator'?")), qPrintable(run.err));
    // The offending line follows, with a caret under the column, as a compiler shows it.
    QVERIFY2(run.err.contains(QLatin1String("3 |   - {name: sim, type: simulater}\n  |")),
             qPrintable(run.err));
    QVERIFY(!QFile::exists(png));
}

void TestCli::badArgumentsAreRefused_data()
{
    QTest::addColumn<QStringList>("arguments");
    QTest::addColumn<int>("exitCode");
    QTest::addColumn<QString>("message");

    const QString png = QStringLiteral("unused.png");
    QTest::newRow("after is not a number") << QStringList{"--screenshot", png, "--after", "soon"}
                                           << 2 << QStringLiteral("--after expects seconds");
    QTest::newRow("after is negative") << QStringList{"--screenshot", png, "--after", "-5"} << 2
                                       << QStringLiteral("--after expects seconds");
    QTest::newRow("unknown service") << QStringList{"--screenshot", png, "--service", "chekout"}
                                     << 2 << QStringLiteral("choose one of: checkout/production");
    QTest::newRow("after without screenshot")
        << QStringList{"--after", "10"} << 2 << QStringLiteral("go with --screenshot");
    QTest::newRow("stray argument")
        << QStringList{"signalbox.yaml"} << 2 << QStringLiteral("use --workspace FILE");
    QTest::newRow("unwritable screenshot") << QStringList{"--screenshot", "/nonexistent-dir/x.png"}
                                           << 1 << QStringLiteral("could not write the screenshot");
    QTest::newRow("missing workspace")
        << QStringList{"--screenshot", png, "--workspace", "/nonexistent.yaml"} << 1
        << QStringLiteral("/nonexistent.yaml");
}

void TestCli::badArgumentsAreRefused()
{
    QFETCH(QStringList, arguments);
    QFETCH(int, exitCode);
    QFETCH(QString, message);
    const Run run = signalbox(arguments);
    QCOMPARE(run.exitCode, exitCode);
    QVERIFY2(run.err.contains(message), qPrintable(run.err));
}

void TestCli::withoutADisplayItSavesAScreenshot()
{
    QProcessEnvironment environment = QProcessEnvironment::systemEnvironment();
    for (const char *name : {"DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"})
        environment.remove(QString::fromLatin1(name));
    QProcess process;
    process.setProcessEnvironment(environment);
    process.setWorkingDirectory(m_dir.path());
    process.start(QStringLiteral(SIGNALBOX_BINARY), {});
    QVERIFY(process.waitForFinished(60'000));
    const QString err = QString::fromUtf8(process.readAllStandardError());
    QCOMPARE(process.exitCode(), 0);
    QVERIFY2(err.contains(QLatin1String("no display found")), qPrintable(err));
    QVERIFY2(err.contains(QLatin1String("the demo 5 simulated minutes in")), qPrintable(err));
    QCOMPARE(QImage(m_dir.filePath(QStringLiteral("signalbox-screenshot.png"))).size(),
             QSize(1440, 900));
}

QTEST_GUILESS_MAIN(TestCli)
#include "tst_cli.moc"
