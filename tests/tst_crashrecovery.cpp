// signalbox-ctl killed with SIGKILL while it runs a canary, a blue-green and a rolling release,
// at many different points: after each kill the journal verifies, every entry it acknowledged
// (printed with --follow-journal once durable) is there unchanged, and a restart brings every
// release that was in flight back paused where it was, never further.
//
// Each round prints its seed; SIGNALBOX_CRASH_ROUNDS, _ROUND and _SEED as printed replay one
// round (the kill lands after the same acknowledgement, give or take the lines in the pipe).

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QRandomGenerator>
#include <QTemporaryDir>
#include <QTest>

namespace {

const QString workspace = QStringLiteral(SIGNALBOX_TEST_DATA "/crash-releases.yaml");
// The version each service's release replaces, in that workspace.
const QHash<QString, QString> oldVersions{
    {QStringLiteral("cart/production"), QStringLiteral("1.0.0")},
    {QStringLiteral("billing/production"), QStringLiteral("4.0.0")},
    {QStringLiteral("index/production"), QStringLiteral("2.0.0")}};
constexpr int defaultRounds = 25;

struct Run {
    int exitCode = -1;
    QByteArray out;
    QString err;
};

Run ctl(const QStringList &arguments)
{
    QProcess process;
    process.start(QStringLiteral(SIGNALBOX_CTL_BINARY), arguments);
    if (!process.waitForFinished(60'000))
        qFatal("signalbox-ctl did not finish: %s", qPrintable(arguments.join(' ')));
    Run run;
    run.exitCode = process.exitStatus() == QProcess::NormalExit ? process.exitCode() : -1;
    run.out = process.readAllStandardOutput();
    run.err = QString::fromUtf8(process.readAllStandardError());
    return run;
}

QStringList firstRun(const QString &journal)
{
    return {QStringLiteral("--simulate"),
            QStringLiteral("--workspace"),
            workspace,
            QStringLiteral("--journal"),
            journal,
            QStringLiteral("--follow-journal"),
            QStringLiteral("--after"),
            QStringLiteral("1800"),
            QStringLiteral("status")};
}

// "journal <sequence> <hash prefix> <kind> <service> <release> [stage=N]"
struct Ack {
    qint64 sequence = 0;
    QString hashPrefix;
};

std::optional<Ack> ackOf(const QByteArray &line)
{
    const QList<QByteArray> words = line.trimmed().split(' ');
    if (words.size() < 6 || words.at(0) != "journal")
        return std::nullopt;
    return Ack{words.at(1).toLongLong(), QString::fromLatin1(words.at(2))};
}

// What the journal says of one release at its last durable entry.
struct Saved {
    QString service;
    bool finished = false;
    // The old version's scale to zero was asked for: the release's last step was on its way.
    bool retiring = false;
    int stage = 0;                // canary: the stage it last entered
    bool switchAsked = false;     // blue-green: a switch to the new colour was on its way
    bool rollbackStarted = false; // rolling
};

} // namespace

class TestCrashRecovery : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void killedAnywhereComesBackPaused();

private:
    void round(int index, int rounds, quint32 seed);

    QTemporaryDir m_dir;
    qint64 m_acksInAFullRun = 0;
};

void TestCrashRecovery::initTestCase()
{
    QVERIFY(m_dir.isValid());
    // A run left alone: how many acknowledgements there are to kill between.
    const QString journal = m_dir.filePath(QStringLiteral("reference.sqlite"));
    const Run run = ctl(firstRun(journal));
    QVERIFY2(run.exitCode == 0, qPrintable(run.err));
    for (const QByteArray &line : run.out.split('\n'))
        m_acksInAFullRun += ackOf(line).has_value();
    QVERIFY2(m_acksInAFullRun > 50, qPrintable(QString::number(m_acksInAFullRun)));
    // All three releases finish in a run left alone, so a kill can land in any of their phases.
    for (const char *service : {"cart/production", "billing/production", "index/production"}) {
        const QByteArray finished = QByteArray("succeeded ") + service;
        QVERIFY2(run.out.contains(finished), service);
    }
}

void TestCrashRecovery::killedAnywhereComesBackPaused()
{
    const int rounds = qEnvironmentVariableIntValue("SIGNALBOX_CRASH_ROUNDS") > 0
                           ? qEnvironmentVariableIntValue("SIGNALBOX_CRASH_ROUNDS")
                           : defaultRounds;
    if (qEnvironmentVariableIsSet("SIGNALBOX_CRASH_SEED")) {
        round(qEnvironmentVariableIntValue("SIGNALBOX_CRASH_ROUND"), rounds,
              quint32(qEnvironmentVariable("SIGNALBOX_CRASH_SEED").toUInt()));
        return;
    }
    for (int index = 0; index < rounds; ++index) {
        round(index, rounds, QRandomGenerator::global()->generate());
        if (QTest::currentTestFailed())
            return;
    }
}

void TestCrashRecovery::round(int index, int rounds, quint32 seed)
{
    // Each round kills within its own slice of the run, so the rounds cover it end to end.
    const qint64 slice = std::max<qint64>(1, m_acksInAFullRun / rounds);
    const qint64 killAfter
        = std::min(m_acksInAFullRun,
                   1 + index * m_acksInAFullRun / rounds + QRandomGenerator(seed).bounded(slice));
    qInfo("round %d: seed %u, kill after acknowledgement %lld of %lld (replay: "
          "SIGNALBOX_CRASH_ROUNDS=%d SIGNALBOX_CRASH_ROUND=%d SIGNALBOX_CRASH_SEED=%u)",
          index, seed, killAfter, m_acksInAFullRun, rounds, index, seed);

    const QString journal = m_dir.filePath(QStringLiteral("round-%1.sqlite").arg(index));
    QProcess process;
    process.start(QStringLiteral(SIGNALBOX_CTL_BINARY), firstRun(journal));
    QVERIFY(process.waitForStarted());
    QList<Ack> acks;
    QByteArray pending;
    auto take = [&] {
        pending += process.readAllStandardOutput();
        qsizetype end;
        while ((end = pending.indexOf('\n')) >= 0) {
            if (const std::optional<Ack> ack = ackOf(pending.left(end)))
                acks.append(*ack);
            pending.remove(0, end + 1);
        }
    };
    while (acks.size() < killAfter && process.state() == QProcess::Running) {
        process.waitForReadyRead(10'000);
        take();
    }
    process.kill(); // SIGKILL: no handler, no flush, no destructor runs
    QVERIFY(process.waitForFinished(10'000));
    // Lines already in the pipe were printed after their entries were durable: they count too.
    take();
    QVERIFY2(!acks.isEmpty(), "nothing was acknowledged before the kill");

    // The journal verifies.
    const Run verify = ctl({QStringLiteral("--journal"), journal, QStringLiteral("journal"),
                            QStringLiteral("verify")});
    QVERIFY2(verify.exitCode == 0, qPrintable(verify.err));

    // Every acknowledged entry is there, unchanged.
    const Run listed = ctl({QStringLiteral("--journal"), journal, QStringLiteral("journal"),
                            QStringLiteral("list"), QStringLiteral("--json")});
    QVERIFY2(listed.exitCode == 0, qPrintable(listed.err));
    QJsonParseError error;
    const QJsonArray entries = QJsonDocument::fromJson(listed.out, &error).array();
    QVERIFY2(error.error == QJsonParseError::NoError, qPrintable(error.errorString()));
    QHash<qint64, QString> hashes;
    qint64 lastBefore = 0;
    for (const QJsonValue &value : entries) {
        const QJsonObject entry = value.toObject();
        const qint64 sequence = entry.value(QLatin1String("sequence")).toInteger();
        hashes.insert(sequence, entry.value(QLatin1String("hash")).toString());
        lastBefore = std::max(lastBefore, sequence);
    }
    qInfo("round %d: killed with %lld entries on disk, %lld of them acknowledged", index,
          lastBefore, acks.constLast().sequence);
    for (const Ack &ack : std::as_const(acks)) {
        QVERIFY2(hashes.contains(ack.sequence),
                 qPrintable(QStringLiteral("acknowledged entry %1 is missing").arg(ack.sequence)));
        QVERIFY2(hashes.value(ack.sequence).startsWith(ack.hashPrefix),
                 qPrintable(QStringLiteral("entry %1 changed").arg(ack.sequence)));
    }

    // Where each release stood in the last durable state, from the journal itself.
    QMap<QString, Saved> saved; // by release id
    for (const QJsonValue &value : entries) {
        const QJsonObject entry = value.toObject();
        const QString id = entry.value(QLatin1String("release_id")).toString();
        if (id.isEmpty())
            continue;
        Saved &release = saved[id];
        release.service = entry.value(QLatin1String("service")).toString() + QLatin1Char('/')
                          + entry.value(QLatin1String("environment")).toString();
        const QString kind = entry.value(QLatin1String("kind")).toString();
        if (kind == QLatin1String("succeeded") || kind == QLatin1String("rolled-back"))
            release.finished = true;
        if (kind == QLatin1String("stage-started"))
            release.stage = entry.value(QLatin1String("stage")).toInt();
        if (kind == QLatin1String("action-intent")
            && entry.value(QLatin1String("action"))
                   .toString()
                   .startsWith(QLatin1String("switch all traffic to 4.1.0")))
            release.switchAsked = true;
        if (kind == QLatin1String("rollback-started"))
            release.rollbackStarted = true;
        if (kind == QLatin1String("action-intent")
            && entry.value(QLatin1String("action")).toString()
                   == QStringLiteral("scale %1 to 0 instances")
                          .arg(oldVersions.value(release.service)))
            release.retiring = true;
    }

    // A restart on the same journal: every release in flight is back, paused where it was.
    const Run restarted = ctl({QStringLiteral("--simulate"), QStringLiteral("--workspace"),
                               workspace, QStringLiteral("--journal"), journal,
                               QStringLiteral("--json"), QStringLiteral("status")});
    QVERIFY2(restarted.exitCode == 0, qPrintable(restarted.err));
    QHash<QString, QJsonObject> rows;
    for (const QJsonValue &value : QJsonDocument::fromJson(restarted.out).array())
        rows.insert(value.toObject().value(QLatin1String("service")).toString(), value.toObject());
    QCOMPARE(rows.size(), 3);
    for (auto it = saved.cbegin(); it != saved.cend(); ++it) {
        if (it->finished)
            continue;
        const QString what = QStringLiteral("%1 (round %2)").arg(it.key()).arg(index);
        const QJsonObject release
            = rows.value(it->service).value(QLatin1String("release")).toObject();
        QVERIFY2(release.value(QLatin1String("id")).toString() == it.key(), qPrintable(what));
        const QString reason = release.value(QLatin1String("reason")).toString();
        // Only a release whose last step was already asked for may finish, and only a
        // blue-green retiring its old colour goes on unpaused: there is nothing left to hold.
        if (release.value(QLatin1String("finished")).toBool())
            QVERIFY2(it->retiring, qPrintable(what + QStringLiteral(" finished: ") + reason));
        else if (!release.value(QLatin1String("paused")).toBool())
            QVERIFY2(it->retiring
                         && release.value(QLatin1String("phase")).toString()
                                == QLatin1String("retiring"),
                     qPrintable(what + QStringLiteral(" is not paused: ") + reason));
        const QString strategy = release.value(QLatin1String("strategy")).toString();
        if (strategy == QLatin1String("canary"))
            QVERIFY2(release.value(QLatin1String("stage")).toInt() == it->stage,
                     qPrintable(what
                                + QStringLiteral(" moved to stage %1 from %2")
                                      .arg(release.value(QLatin1String("stage")).toInt())
                                      .arg(it->stage)));
        if (strategy == QLatin1String("blue-green"))
            QVERIFY2(release.value(QLatin1String("switched")).toBool() == it->switchAsked,
                     qPrintable(what));
        if (strategy == QLatin1String("rolling"))
            QVERIFY2(release.value(QLatin1String("rolling_back")).toBool() == it->rollbackStarted,
                     qPrintable(what));
    }

    // What the restart wrote takes nothing forward: no new release, stage or switch.
    const Run after = ctl({QStringLiteral("--journal"), journal, QStringLiteral("journal"),
                           QStringLiteral("list"), QStringLiteral("--json")});
    QVERIFY2(after.exitCode == 0, qPrintable(after.err));
    for (const QJsonValue &value : QJsonDocument::fromJson(after.out).array()) {
        const QJsonObject entry = value.toObject();
        if (entry.value(QLatin1String("sequence")).toInteger() <= lastBefore)
            continue;
        const QString kind = entry.value(QLatin1String("kind")).toString();
        const QString id = entry.value(QLatin1String("release_id")).toString();
        static const QStringList forward{QStringLiteral("started"), QStringLiteral("stage-started"),
                                         QStringLiteral("promoted"),
                                         QStringLiteral("promoted-fully")};
        QVERIFY2(!forward.contains(kind),
                 qPrintable(QStringLiteral("the restart wrote %1 for %2").arg(kind, id)));
        if (kind == QLatin1String("switched"))
            QVERIFY2(saved.value(id).switchAsked, qPrintable(id));
        if (kind == QLatin1String("action-intent")) {
            const QString action = entry.value(QLatin1String("action")).toString();
            QVERIFY2(!action.startsWith(QLatin1String("switch all traffic to 4.1.0")),
                     qPrintable(id));
        }
    }
}

QTEST_GUILESS_MAIN(TestCrashRecovery)
#include "tst_crashrecovery.moc"
