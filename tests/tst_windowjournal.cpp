// The window over a journal that outlives it: a console closed in the middle of releases comes
// back with them paused where they were, and a journal altered in between is named in a banner.

#include "adapterregistry.h"
#include "builtinadapters.h"
#include "clock.h"
#include "journal.h"
#include "mainwindow.h"
#include "releasecontroller.h"

#include <QSignalSpy>
#include <QSqlDatabase>
#include <QSqlQuery>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QTest>

using namespace sb;
using namespace std::chrono_literals;

namespace {

const ServiceKey payments{QStringLiteral("payments"), QStringLiteral("production")};
const ServiceKey search{QStringLiteral("search"), QStringLiteral("production")};
const ServiceKey checkout{QStringLiteral("checkout"), QStringLiteral("production")};

void run(VirtualClock &clock, Duration length)
{
    const TimePoint end = clock.now() + length;
    while (clock.now() < end) {
        clock.advanceTo(std::min(end, clock.now() + Duration(1s)));
        for (int i = 0; i < 3; ++i)
            QCoreApplication::processEvents();
    }
}

// The demo on a journal file of the test's, opened and run for `after`.
struct Console {
    Console(const AdapterRegistry &registry, const QString &journal, Duration after)
        : clock(VirtualClock::defaultStart())
        , window(registry, &clock)
    {
        window.setRemembersState(false);
        window.setOperatorName(QStringLiteral("ana"));
        window.setJournalPath(journal);
        window.openWorkspace(QStringLiteral(":/workspaces/demo.yaml"));
        QSignalSpy opened(window.journal(), &Journal::opened);
        opened.wait(10'000);
        run(clock, after);
    }
    VirtualClock clock;
    MainWindow window;
};

} // namespace

class TestWindowJournal : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void initTestCase()
    {
        QStandardPaths::setTestModeEnabled(true);
        registerBuiltinAdapters(m_registry);
    }
    void releasesComeBackPausedWhereTheyWere();
    void anAlteredJournalIsNamed();

private:
    AdapterRegistry m_registry;
};

void TestWindowJournal::releasesComeBackPausedWhereTheyWere()
{
    QTemporaryDir dir;
    const QString journal = dir.filePath(QStringLiteral("journal.sqlite"));
    QString rollingId;
    int canaryStage = -1;
    {
        Console first(m_registry, journal, 150s);
        const ReleaseController::Release *rolling = first.window.releases()->release(search);
        QVERIFY(rolling && !rolling->finished());
        rollingId = rolling->id();
        const ReleaseController::Release *canary = first.window.releases()->release(checkout);
        QVERIFY(canary && !canary->finished());
        canaryStage = canary->canary()->status.stage;
        QVERIFY(canaryStage > 0);
        QVERIFY(first.window.releases()->release(payments)->blueGreen()->status.switchedAt);
    }
    // The demo's simulated fleet starts afresh; the releases are taken up from the journal.
    Console second(m_registry, journal, 2s);
    const ReleaseController::Release *rolling = second.window.releases()->release(search);
    QVERIFY(rolling);
    QCOMPARE(rolling->id(), rollingId);
    QVERIFY(rolling->rolling()->status.pausedAt);
    QVERIFY(!rolling->rolling()->status.rollingBack());
    // Its history came back from the journal, ahead of the pause the restart wrote.
    QVERIFY(rolling->events.size() > 3);
    QCOMPARE(toString(rolling->events.first().kind), QStringLiteral("started"));
    QCOMPARE(toString(rolling->events.last().kind), QStringLiteral("paused"));
    const ReleaseController::Release *canary = second.window.releases()->release(checkout);
    QCOMPARE(canary->canary()->status.stage, canaryStage);
    QVERIFY(canary->canary()->status.pausedAt);
    // The fresh simulated router is back on 3.8.0, which the release reads as someone having
    // switched back; it is never taken forward again.
    const BlueGreenStatus &blueGreen
        = second.window.releases()->release(payments)->blueGreen()->status;
    QVERIFY(blueGreen.switchedAt);
    QVERIFY(blueGreen.pausedAt || blueGreen.switchedBack);
    QVERIFY(!blueGreen.retiredAt);
    QVERIFY(second.window.journalWarning().isEmpty());
}

void TestWindowJournal::anAlteredJournalIsNamed()
{
    QTemporaryDir dir;
    const QString journal = dir.filePath(QStringLiteral("journal.sqlite"));
    {
        Console first(m_registry, journal, 60s);
    }
    {
        QSqlDatabase db
            = QSqlDatabase::addDatabase(QStringLiteral("QSQLITE"), QStringLiteral("tamper"));
        db.setDatabaseName(journal);
        QVERIFY(db.open());
        QSqlQuery query(db);
        QVERIFY(query.exec(QStringLiteral("DROP TRIGGER entries_no_update")));
        QVERIFY(query.exec(QStringLiteral("UPDATE entries SET body = json_set(body, '$[8]', "
                                          "'nothing to see here') WHERE sequence = 5")));
        QCOMPARE(query.numRowsAffected(), 1);
        db.close();
    }
    QSqlDatabase::removeDatabase(QStringLiteral("tamper"));

    Console second(m_registry, journal, 1s);
    const QString warning = second.window.journalWarning();
    QVERIFY2(warning.contains(QStringLiteral("has been altered")), qPrintable(warning));
    QVERIFY2(warning.contains(QStringLiteral("entry 5 (")), qPrintable(warning));
}

QTEST_MAIN(TestWindowJournal)
#include "tst_windowjournal.moc"
