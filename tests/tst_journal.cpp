// The audit journal: a hash chain in SQLite that shows tampering, round-trips every field exactly,
// and is reached from the GUI thread only through a thread of its own.

#include "journal.h"

#include <QBuffer>
#include <QDateTime>
#include <QDir>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QSignalSpy>
#include <QSqlDatabase>
#include <QSqlError>
#include <QSqlQuery>
#include <QTemporaryDir>
#include <QTest>
#include <QThread>

#include <cmath>
#include <cstring>
#include <limits>

Q_DECLARE_METATYPE(sb::JournalFilter)

using namespace sb;
using namespace std::chrono_literals;

namespace {

const ServiceKey checkout{QStringLiteral("checkout"), QStringLiteral("production")};
const ServiceKey search{QStringLiteral("search"), QStringLiteral("staging")};

TimePoint baseTime()
{
    return fromMSecsSinceEpoch(
        QDateTime(QDate(2026, 11, 24), QTime(9, 12, 3, 250), Qt::UTC).toMSecsSinceEpoch());
}

JournalEntry gateEntry(int i)
{
    JournalEntry entry;
    entry.at = baseTime() + std::chrono::seconds(i);
    entry.actor = automaticActor;
    entry.service = checkout;
    entry.releaseId = QStringLiteral("checkout-2.4.0");
    entry.kind = toString(ReleaseEvent::Kind::GateMeasured);
    entry.stage = i % 5;
    entry.reason
        = QStringLiteral("error rate 0.12 %% is under the 1.00 %% limit (check %1)").arg(i);
    entry.values = {{QStringLiteral("error_rate.canary"), 0.0012 + i * 1e-5},
                    {QStringLiteral("error_rate.limit"), 0.01}};
    return entry;
}

QList<JournalEntry> gateEntries(int count)
{
    QList<JournalEntry> entries;
    for (int i = 1; i <= count; ++i)
        entries.append(gateEntry(i));
    return entries;
}

std::unique_ptr<JournalStore> openStore(const QString &path)
{
    auto opened = JournalStore::open(path);
    if (!opened) {
        qWarning("%s", qPrintable(opened.error()));
        return nullptr;
    }
    return std::move(opened).value();
}

// How verify() names gateEntry(content) when it sits at `sequence`.
QString named(qint64 sequence, int content)
{
    return QStringLiteral("entry %1 (%2, gate-measured, checkout/production) ")
        .arg(sequence)
        .arg(formatUtc(gateEntry(content).at));
}

// Filters read better by field name than by position.
template <typename Set>
JournalFilter where(Set set)
{
    JournalFilter filter;
    set(filter);
    return filter;
}

QList<qint64> sequences(const QList<JournalEntry> &entries)
{
    QList<qint64> result;
    for (const JournalEntry &entry : entries)
        result.append(entry.sequence);
    return result;
}

// What someone with the file and the sqlite3 tool could do, through a connection of its own.
QString runSql(const QString &path, const QStringList &statements)
{
    const QString name = QStringLiteral("outside-the-journal");
    QString error;
    {
        QSqlDatabase db = QSqlDatabase::addDatabase(QStringLiteral("QSQLITE"), name);
        db.setDatabaseName(path);
        if (!db.open())
            error = db.lastError().text();
        QSqlQuery query(db);
        for (const QString &statement : statements) {
            if (error.isEmpty() && !query.exec(statement))
                error = statement + QStringLiteral(": ") + query.lastError().text();
        }
    }
    QSqlDatabase::removeDatabase(name);
    return error;
}

QString sqlText(const QString &path, const QString &statement)
{
    const QString name = QStringLiteral("reading-the-journal");
    QString text;
    {
        QSqlDatabase db = QSqlDatabase::addDatabase(QStringLiteral("QSQLITE"), name);
        db.setDatabaseName(path);
        QSqlQuery query(db);
        if (db.open() && query.exec(statement) && query.next())
            text = query.value(0).toString();
    }
    QSqlDatabase::removeDatabase(name);
    return text;
}

// RFC 4180, enough to read back what the export writes.
QList<QStringList> parseCsv(const QString &text)
{
    QList<QStringList> rows;
    QStringList row;
    QString field;
    bool quoted = false;
    for (qsizetype i = 0; i < text.size(); ++i) {
        const QChar c = text.at(i);
        if (quoted) {
            if (c == u'"' && i + 1 < text.size() && text.at(i + 1) == u'"') {
                field += u'"';
                ++i;
            } else if (c == u'"') {
                quoted = false;
            } else {
                field += c;
            }
        } else if (c == u'"') {
            quoted = true;
        } else if (c == u',') {
            row.append(field);
            field.clear();
        } else if (c == u'\r' && i + 1 < text.size() && text.at(i + 1) == u'\n') {
            row.append(field);
            field.clear();
            rows.append(row);
            row.clear();
            ++i;
        } else {
            field += c;
        }
    }
    return rows;
}

} // namespace

class TestJournal : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void init();

    void appendAssignsGaplessSequencesAndLinksHashes();
    void entriesRoundTripExactly();
    void valuesKeepEveryDouble();
    void reopeningKeepsEverything();
    void theFileIsWalAndEntriesAreAppendOnly();
    void tamperingIsFoundAndNamed_data();
    void tamperingIsFoundAndNamed();
    void cuttingTheTailNeedsAnAnchor();
    void filtersSelectEntries_data();
    void filtersSelectEntries();
    void forEachStopsWhenAsked();
    void releasesAreSavedReplacedAndForgotten();
    void twoStoresOnOneFileKeepOneChain();
    void storesOnTwoThreadsAppendingAtOnceKeepOneChain();
    void exportsJsonLines();
    void exportsCsv();
    void releaseEventsRoundTrip();
    void openingWhatIsNotAJournalFails_data();
    void openingWhatIsNotAJournalFails();
    void aNewerJournalIsRefused();
    void aStoreRemovesItsConnection();

    void journalOpensOnItsThread();
    void journalAppendsInOrderAndAnswersOnTheOwnerThread();
    void journalRunsWorkOnItsThread();
    void destroyingAJournalFinishesItsWorkAndDropsTheAnswers();
    void aJournalThatCannotOpenAnswersWithTheError();
    void aJournalOnTheCallersThreadKeepsTheSameOrder();

private:
    std::unique_ptr<QTemporaryDir> m_dir;
    QString m_path;
};

void TestJournal::init()
{
    m_dir = std::make_unique<QTemporaryDir>();
    QVERIFY(m_dir->isValid());
    m_path = m_dir->filePath(QStringLiteral("audit/journal.sqlite"));
}

void TestJournal::appendAssignsGaplessSequencesAndLinksHashes()
{
    auto store = openStore(m_path);
    QVERIFY(store);
    QCOMPARE(store->lastSequence(), 0);
    const auto first = store->append(gateEntries(3));
    QVERIFY2(first, qPrintable(first ? QString() : first.error()));
    const auto second = store->append({gateEntry(4), gateEntry(5)});
    QVERIFY(second);
    const QList<JournalEntry> stored = first.value() + second.value();
    QCOMPARE(sequences(stored), (QList<qint64>{1, 2, 3, 4, 5}));
    QCOMPARE(store->lastSequence(), 5);
    QVERIFY(stored.first().previousHash.isEmpty());
    for (qsizetype i = 0; i < stored.size(); ++i) {
        QCOMPARE(stored[i].hash.size(), 64);
        QCOMPARE(stored[i].hash, entryHash(stored[i]));
        if (i > 0)
            QCOMPARE(stored[i].previousHash, stored[i - 1].hash);
    }
    QCOMPARE(store->entries().value(), stored);
    const JournalCheck check = store->verify();
    QVERIFY2(check.intact(), qPrintable(check.problem));
    QCOMPARE(check.entries, 5);
    QCOMPARE(check.lastHash, stored.last().hash);
}

void TestJournal::entriesRoundTripExactly()
{
    auto store = openStore(m_path);
    QVERIFY(store);
    JournalEntry everything;
    everything.at = baseTime() + 17ms;
    everything.actor = QStringLiteral("zoë.müller@example.com");
    everything.service = {QStringLiteral("päyments-支付"), QStringLiteral("eu-west/🌍")};
    everything.releaseId = QStringLiteral("r-\"quoted\"-\\back\\slash");
    everything.kind = journalkind::outcome;
    everything.stage = 3;
    everything.action = QStringLiteral("set weight 25 % on\trouter \"edge\"");
    everything.reason = QStringLiteral("line one\nline two, with a comma; \u0001control\r\nend 🚦");
    everything.outcome = QStringLiteral("HTTP 503: upstream \"lb-1\" refused");
    everything.intent = 41;
    everything.values = {{QStringLiteral("error_rate.canary"), 0.012345678901234567},
                         {QStringLiteral("latency.p99_ms"), 215.5},
                         {QStringLiteral("ünïcode metric"), -3.0}};
    JournalEntry console;
    console.at = baseTime();
    console.actor = QStringLiteral("alice");
    console.kind = journalkind::restored;

    const auto appended = store->append({everything, console});
    QVERIFY(appended);
    everything.sequence = 1;
    console.sequence = 2;
    const QList<JournalEntry> read = store->entries().value();
    QCOMPARE(read.size(), 2);
    for (int i = 0; i < 2; ++i) {
        JournalEntry expected = i == 0 ? everything : console;
        expected.previousHash = read[i].previousHash;
        expected.hash = read[i].hash;
        QCOMPARE(read[i], expected);
        QCOMPARE(read[i], appended.value()[i]);
        QCOMPARE(entryHash(read[i]), read[i].hash);
    }
    QVERIFY(read[1].service.name.isEmpty());
    QVERIFY(read[1].service.environment.isEmpty());

    // A lone surrogate cannot be stored as UTF-8; the entry comes back as it was stored.
    JournalEntry broken = gateEntry(1);
    broken.reason = QStringLiteral("half a pair: ") + QChar(0xd83d);
    const auto stored = store->append({broken});
    QVERIFY(stored);
    QCOMPARE(store->entries(where([](JournalFilter &f) { f.afterSequence = 2; })).value(),
             stored.value());
    QVERIFY(store->verify().intact());
}

void TestJournal::valuesKeepEveryDouble()
{
    const QList<double> doubles{0.1,
                                1.0 / 3.0,
                                -0.0,
                                5e-324,
                                1e-300,
                                std::numeric_limits<double>::max(),
                                -std::numeric_limits<double>::max(),
                                123456789012345678.0,
                                9223372036854775808.0,
                                1e21,
                                100.0,
                                std::numeric_limits<double>::infinity(),
                                -std::numeric_limits<double>::infinity()};
    JournalEntry entry = gateEntry(1);
    entry.values.clear();
    for (int i = 0; i < doubles.size(); ++i)
        entry.values.insert(QStringLiteral("v%1").arg(i, 2, 10, QLatin1Char('0')), doubles[i]);
    entry.values.insert(QStringLiteral("not a number"), std::numeric_limits<double>::quiet_NaN());

    auto store = openStore(m_path);
    QVERIFY(store);
    QVERIFY(store->append({entry}));
    store.reset();
    store = openStore(m_path);
    QVERIFY(store);
    const JournalEntry read = store->entries().value().value(0);
    QCOMPARE(read.values.size(), doubles.size() + 1);
    for (int i = 0; i < doubles.size(); ++i) {
        // Bit for bit, but for the sign of a zero, which JSON does not keep.
        if (doubles[i] == 0) {
            QCOMPARE(read.values.value(QStringLiteral("v%1").arg(i, 2, 10, QLatin1Char('0'))), 0.0);
            continue;
        }
        const double value
            = read.values.value(QStringLiteral("v%1").arg(i, 2, 10, QLatin1Char('0')));
        QVERIFY2(std::memcmp(&value, &doubles[i], sizeof value) == 0,
                 qPrintable(QStringLiteral("%1 came back as %2").arg(doubles[i]).arg(value)));
    }
    QVERIFY(std::isnan(read.values.value(QStringLiteral("not a number"))));
    QCOMPARE(entryHash(read), read.hash);
    QVERIFY(store->verify().intact());
}

void TestJournal::reopeningKeepsEverything()
{
    QList<JournalEntry> written;
    {
        auto store = openStore(m_path);
        QVERIFY(store);
        written = store->append(gateEntries(20)).value();
    }
    auto store = openStore(m_path);
    QVERIFY(store);
    QCOMPARE(store->lastSequence(), 20);
    QCOMPARE(store->entries().value(), written);
    const JournalCheck check = store->verify();
    QVERIFY2(check.intact(), qPrintable(check.problem));
    QCOMPARE(check.entries, 20);
    QCOMPARE(check.lastHash, written.last().hash);
    // Appending after a reopen continues the same chain.
    const auto more = store->append({gateEntry(21)});
    QVERIFY(more);
    QCOMPARE(more.value().first().sequence, 21);
    QCOMPARE(more.value().first().previousHash, written.last().hash);
}

void TestJournal::theFileIsWalAndEntriesAreAppendOnly()
{
    auto store = openStore(m_path);
    QVERIFY(store);
    QVERIFY(store->append(gateEntries(3)));
    QCOMPARE(sqlText(m_path, QStringLiteral("PRAGMA journal_mode")), QStringLiteral("wal"));
    // The generated columns read like a plain table to anyone holding sqlite3.
    QCOMPARE(sqlText(m_path, QStringLiteral("SELECT reason FROM entries WHERE sequence = 2")),
             gateEntry(2).reason);
    QCOMPARE(sqlText(m_path, QStringLiteral("SELECT service || '/' || environment || ' ' || kind "
                                            "FROM entries WHERE sequence = 2")),
             QStringLiteral("checkout/production gate-measured"));
    QVERIFY(runSql(m_path, {QStringLiteral("UPDATE entries SET body = '[]' WHERE sequence = 1")})
                .contains(QLatin1String("append-only")));
    QVERIFY(runSql(m_path, {QStringLiteral("DELETE FROM entries WHERE sequence = 3")})
                .contains(QLatin1String("append-only")));
    QVERIFY(store->verify().intact());
}

void TestJournal::tamperingIsFoundAndNamed_data()
{
    QTest::addColumn<QStringList>("statements");
    QTest::addColumn<qint64>("firstBroken");
    QTest::addColumn<QString>("says");

    // The triggers stop mistakes, not someone who means it.
    const QString allowUpdates = QStringLiteral("DROP TRIGGER entries_no_update");
    const QString allowDeletes = QStringLiteral("DROP TRIGGER entries_no_delete");
    QTest::newRow("a changed reason")
        << QStringList{allowUpdates,
                       QStringLiteral("UPDATE entries SET body = json_set(body, "
                                      "'$[8]', 'nothing happened') WHERE sequence = 4")}
        << qint64(4) << named(4, 4) + QStringLiteral("does not match its hash");
    QTest::newRow("a changed value")
        << QStringList{allowUpdates,
                       QStringLiteral("UPDATE entries SET body = json_set(body, "
                                      "'$[11].\"error_rate.canary\"', 0.0001) WHERE sequence = 6")}
        << qint64(6) << named(6, 6) + QStringLiteral("does not match its hash");
    QTest::newRow("a changed time")
        << QStringList{allowUpdates, QStringLiteral("UPDATE entries SET body = json_set(body, "
                                                    "'$[0]', 0) WHERE sequence = 7")}
        << qint64(7)
        << QStringLiteral("entry 7 (1970-01-01 00:00:00 UTC, gate-measured, checkout/production) "
                          "does not match its hash");
    QTest::newRow("a changed hash")
        << QStringList{allowUpdates,
                       QStringLiteral("UPDATE entries SET hash = zeroblob(32) WHERE sequence = 5")}
        << qint64(5) << named(5, 5) + QStringLiteral("does not match its hash");
    QTest::newRow("an entry removed from the middle")
        << QStringList{allowDeletes, QStringLiteral("DELETE FROM entries WHERE sequence = 5")}
        << qint64(6)
        << named(6, 6) + QStringLiteral("comes where entry 5 should: entry 5 was removed");
    QTest::newRow("several entries removed")
        << QStringList{allowDeletes,
                       QStringLiteral("DELETE FROM entries WHERE sequence BETWEEN 3 AND 6")}
        << qint64(7)
        << named(7, 7)
               + QStringLiteral("comes where entry 3 should: entries 3 to 6 "
                                "were removed");
    QTest::newRow("the first entry removed")
        << QStringList{allowDeletes, QStringLiteral("DELETE FROM entries WHERE sequence = 1")}
        << qint64(2) << named(2, 2) + QStringLiteral("comes where entry 1 should");
    QTest::newRow("an entry removed and the rest renumbered")
        << QStringList{allowDeletes, allowUpdates,
                       QStringLiteral("DELETE FROM entries WHERE sequence = 5"),
                       QStringLiteral("UPDATE entries SET sequence = sequence - 1 WHERE sequence "
                                      "> 5")}
        << qint64(5) << named(5, 6) + QStringLiteral("does not link to entry 4");
    QTest::newRow("the first entry removed and the rest renumbered")
        << QStringList{allowDeletes, allowUpdates,
                       QStringLiteral("DELETE FROM entries WHERE sequence = 1"),
                       QStringLiteral("UPDATE entries SET sequence = sequence - 1")}
        << qint64(1) << named(1, 2) + QStringLiteral("should begin the chain");
    QTest::newRow("two entries swapped")
        << QStringList{allowUpdates,
                       QStringLiteral("UPDATE entries SET sequence = -3 WHERE sequence = 3"),
                       QStringLiteral("UPDATE entries SET sequence = 3 WHERE sequence = 4"),
                       QStringLiteral("UPDATE entries SET sequence = 4 WHERE sequence = -3")}
        << qint64(3) << named(3, 4) + QStringLiteral("does not link to entry 2");
    // SQLite refuses a body that is not JSON at all, but not one of the wrong shape.
    QTest::newRow("an unreadable body")
        << QStringList{allowUpdates,
                       QStringLiteral("UPDATE entries SET body = '[\"gone\"]' WHERE sequence = 8")}
        << qint64(8) << QStringLiteral("entry 8 (unreadable) does not match its hash");
}

void TestJournal::tamperingIsFoundAndNamed()
{
    QFETCH(QStringList, statements);
    QFETCH(qint64, firstBroken);
    QFETCH(QString, says);

    auto store = openStore(m_path);
    QVERIFY(store);
    QVERIFY(store->append(gateEntries(10)));
    QVERIFY(store->verify().intact());
    const QString error = runSql(m_path, statements);
    QVERIFY2(error.isEmpty(), qPrintable(error));

    const JournalCheck check = store->verify();
    QVERIFY(!check.intact());
    QCOMPARE(check.firstBroken, firstBroken);
    QVERIFY2(check.problem.startsWith(says), qPrintable(check.problem));
    QCOMPARE(check.entries,
             sqlText(m_path, QStringLiteral("SELECT count(*) FROM entries")).toLongLong());
    QVERIFY(check.lastHash.isEmpty());

    // A fresh store finds the same.
    store.reset();
    store = openStore(m_path);
    QVERIFY(store);
    QCOMPARE(store->verify().problem, check.problem);
}

void TestJournal::cuttingTheTailNeedsAnAnchor()
{
    auto store = openStore(m_path);
    QVERIFY(store);
    QVERIFY(store->append(gateEntries(10)));
    const QByteArray anchor = store->verify().lastHash;
    QVERIFY(!anchor.isEmpty());
    QCOMPARE(runSql(m_path, {QStringLiteral("DROP TRIGGER entries_no_delete"),
                             QStringLiteral("DELETE FROM entries WHERE sequence >= 9")}),
             QString());
    // The shorter chain is still a valid chain: only the anchor kept elsewhere shows the cut.
    const JournalCheck check = store->verify();
    QVERIFY(check.intact());
    QCOMPARE(check.entries, 8);
    QVERIFY(check.lastHash != anchor);
}

void TestJournal::filtersSelectEntries_data()
{
    QTest::addColumn<JournalFilter>("filter");
    QTest::addColumn<QList<qint64>>("expected");

    const TimePoint t0 = baseTime();
    QTest::newRow("everything") << JournalFilter{} << QList<qint64>{1, 2, 3, 4, 5, 6, 7, 8};
    QTest::newRow("service") << where([&](JournalFilter &f) {
        f.service = QStringLiteral("search");
    }) << QList<qint64>{3, 6};
    QTest::newRow("environment") << where([&](JournalFilter &f) {
        f.environment = QStringLiteral("production");
    }) << QList<qint64>{1, 2, 4, 5, 7};
    QTest::newRow("service and environment") << where([&](JournalFilter &f) {
        f.service = QStringLiteral("checkout");
        f.environment = QStringLiteral("production");
    }) << QList<qint64>{1, 2, 4, 5, 7};
    QTest::newRow("release") << where([&](JournalFilter &f) {
        f.releaseId = QStringLiteral("search-9");
    }) << QList<qint64>{3, 6};
    QTest::newRow("kind") << where([&](JournalFilter &f) { f.kind = journalkind::intent; })
                          << QList<qint64>{2, 5};
    QTest::newRow("actor") << where([&](JournalFilter &f) { f.actor = QStringLiteral("alice"); })
                           << QList<qint64>{4, 8};
    QTest::newRow("from") << where([&](JournalFilter &f) { f.from = t0 + 6min; })
                          << QList<qint64>{7, 8};
    QTest::newRow("to") << where([&](JournalFilter &f) { f.to = t0 + 2min; })
                        << QList<qint64>{1, 2};
    QTest::newRow("a time range") << where([&](JournalFilter &f) {
        f.from = t0 + 2min;
        f.to = t0 + 5min;
    }) << QList<qint64>{3, 4, 5};
    QTest::newRow("after a sequence")
        << where([&](JournalFilter &f) { f.afterSequence = 5; }) << QList<qint64>{6, 7, 8};
    QTest::newRow("a limit") << where([&](JournalFilter &f) { f.limit = 3; })
                             << QList<qint64>{1, 2, 3};
    QTest::newRow("a limit of none")
        << where([&](JournalFilter &f) { f.limit = 0; }) << QList<qint64>{};
    QTest::newRow("paging") << where([&](JournalFilter &f) {
        f.afterSequence = 3;
        f.limit = 2;
    }) << QList<qint64>{4, 5};
    QTest::newRow("nothing matches")
        << where([&](JournalFilter &f) { f.service = QStringLiteral("nowhere"); })
        << QList<qint64>{};
    QTest::newRow("combined") << where([&](JournalFilter &f) {
        f.service = QStringLiteral("checkout");
        f.kind = journalkind::intent;
        f.from = t0 + 2min;
    }) << QList<qint64>{5};
}

void TestJournal::filtersSelectEntries()
{
    QFETCH(JournalFilter, filter);
    QFETCH(QList<qint64>, expected);

    auto store = openStore(m_path);
    QVERIFY(store);
    QList<JournalEntry> entries;
    for (int i = 0; i < 8; ++i) {
        JournalEntry entry = gateEntry(i);
        entry.at = baseTime() + std::chrono::minutes(i);
        if (i == 2 || i == 5) {
            entry.service = search;
            entry.releaseId = QStringLiteral("search-9");
        }
        if (i == 1 || i == 4)
            entry.kind = journalkind::intent;
        if (i == 3 || i == 7) {
            entry.actor = QStringLiteral("alice");
            entry.kind = toString(ReleaseEvent::Kind::Paused);
        }
        if (i == 7)
            entry.service = {};
        entries.append(entry);
    }
    const QList<JournalEntry> stored = store->append(entries).value();
    const auto found = store->entries(filter);
    QVERIFY(found);
    QCOMPARE(sequences(found.value()), expected);
    // The query and the filter's own test agree.
    if (filter.limit < 0) {
        QList<qint64> matching;
        for (const JournalEntry &entry : stored) {
            if (filter.matches(entry))
                matching.append(entry.sequence);
        }
        QCOMPARE(matching, expected);
    }
}

void TestJournal::forEachStopsWhenAsked()
{
    auto store = openStore(m_path);
    QVERIFY(store);
    QVERIFY(store->append(gateEntries(10)));
    QList<qint64> seen;
    const auto done = store->forEach(where([](JournalFilter &f) { f.afterSequence = 2; }),
                                     [&](const JournalEntry &entry) {
                                         seen.append(entry.sequence);
                                         return seen.size() < 3;
                                     });
    QVERIFY(done);
    QCOMPARE(seen, (QList<qint64>{3, 4, 5}));
}

void TestJournal::releasesAreSavedReplacedAndForgotten()
{
    auto store = openStore(m_path);
    QVERIFY(store);
    QVERIFY(store->savedReleases().value().isEmpty());
    const ReleaseRecord checkoutFirst{checkout, QStringLiteral("checkout-2.4.0"), "{\"stage\":1}"};
    const ReleaseRecord checkoutLater{checkout, QStringLiteral("checkout-2.4.0"), "{\"stage\":2}"};
    const ReleaseRecord searchRecord{search, QStringLiteral("search-9"), "{\"stage\":0}"};
    // Saved, replaced and forgotten in one append, applied in the order given.
    QVERIFY(store->append({gateEntry(1)}, {checkoutFirst, searchRecord, checkoutLater,
                                           ReleaseRecord{search, QStringLiteral("search-9"), {}}}));
    QCOMPARE(store->savedReleases().value(), QList<ReleaseRecord>{checkoutLater});

    // A "finished" for an older release leaves the newer one's record alone.
    QVERIFY(store->append({gateEntry(2)}, {ReleaseRecord{checkout, QStringLiteral("older"), {}}}));
    QCOMPARE(store->savedReleases().value(), QList<ReleaseRecord>{checkoutLater});

    // Records survive a reopen; an append without releases leaves them as they are.
    QVERIFY(store->append({gateEntry(3)}, {searchRecord}));
    QVERIFY(store->append({gateEntry(4)}));
    store.reset();
    store = openStore(m_path);
    QVERIFY(store);
    QCOMPARE(store->savedReleases().value(), (QList<ReleaseRecord>{checkoutLater, searchRecord}));
    QVERIFY(store->append({}, {ReleaseRecord{checkout, {}, {}}}));
    QCOMPARE(store->savedReleases().value(), QList<ReleaseRecord>{searchRecord});
    QCOMPARE(store->lastSequence(), 4);
}

void TestJournal::twoStoresOnOneFileKeepOneChain()
{
    auto first = openStore(m_path);
    auto second = openStore(m_path);
    QVERIFY(first && second);
    for (int i = 0; i < 10; ++i) {
        JournalStore *store = i % 2 ? second.get() : first.get();
        const auto appended = store->append({gateEntry(2 * i), gateEntry(2 * i + 1)});
        QVERIFY(appended);
        QCOMPARE(sequences(appended.value()), (QList<qint64>{2 * i + 1, 2 * i + 2}));
    }
    QCOMPARE(first->entries().value(), second->entries().value());
    const JournalCheck check = first->verify();
    QVERIFY2(check.intact(), qPrintable(check.problem));
    QCOMPARE(check.entries, 20);
}

void TestJournal::storesOnTwoThreadsAppendingAtOnceKeepOneChain()
{
    // Two consoles on one file: each store is bound to the thread that opened it.
    QVERIFY(openStore(m_path));
    const auto appendMany = [this](int offset, QStringList *errors) {
        auto store = openStore(m_path);
        if (!store) {
            errors->append(QStringLiteral("open failed"));
            return;
        }
        for (int i = 0; i < 40; ++i) {
            const auto appended = store->append({gateEntry(offset + i)});
            if (!appended)
                errors->append(appended.error());
        }
    };
    QStringList errorsA;
    QStringList errorsB;
    std::unique_ptr<QThread> a(QThread::create(appendMany, 0, &errorsA));
    std::unique_ptr<QThread> b(QThread::create(appendMany, 1000, &errorsB));
    a->start();
    b->start();
    QVERIFY(a->wait(60000));
    QVERIFY(b->wait(60000));
    QVERIFY2(errorsA.isEmpty() && errorsB.isEmpty(), qPrintable((errorsA + errorsB).join('\n')));
    auto store = openStore(m_path);
    const JournalCheck check = store->verify();
    QVERIFY2(check.intact(), qPrintable(check.problem));
    QCOMPARE(check.entries, 80);
}

void TestJournal::exportsJsonLines()
{
    auto store = openStore(m_path);
    QVERIFY(store);
    JournalEntry tricky = gateEntry(2);
    tricky.reason = QStringLiteral("a \"quoted\", comma\nand a newline ✓");
    const QList<JournalEntry> stored = store->append({gateEntry(1), tricky, gateEntry(3)}).value();

    QByteArray output;
    {
        QBuffer buffer(&output);
        QVERIFY(buffer.open(QIODevice::WriteOnly));
        const auto written
            = store->exportJsonLines(&buffer, where([](JournalFilter &f) { f.afterSequence = 1; }));
        QVERIFY(written);
        QCOMPARE(written.value(), 2);
    }
    QVERIFY(output.endsWith('\n'));
    const QList<QByteArray> lines = output.trimmed().split('\n');
    QCOMPARE(lines.size(), 2);
    for (int i = 0; i < 2; ++i) {
        const JournalEntry &entry = stored[i + 1];
        QJsonParseError error;
        const QJsonObject object = QJsonDocument::fromJson(lines[i], &error).object();
        QCOMPARE(error.error, QJsonParseError::NoError);
        QCOMPARE(object.value("sequence").toInteger(), entry.sequence);
        QCOMPARE(object.value("at").toString(),
                 QDateTime::fromMSecsSinceEpoch(toMSecsSinceEpoch(entry.at), Qt::UTC)
                     .toString(Qt::ISODateWithMs));
        QVERIFY(object.value("at").toString().endsWith(QLatin1String(".250Z")));
        QCOMPARE(object.value("actor").toString(), entry.actor);
        QCOMPARE(object.value("service").toString(), entry.service.name);
        QCOMPARE(object.value("environment").toString(), entry.service.environment);
        QCOMPARE(object.value("release_id").toString(), entry.releaseId);
        QCOMPARE(object.value("kind").toString(), entry.kind);
        QCOMPARE(object.value("stage").toInt(), entry.stage);
        QCOMPARE(object.value("reason").toString(), entry.reason);
        QCOMPARE(object.value("intent").toInteger(), entry.intent);
        const QJsonObject values = object.value("values").toObject();
        QCOMPARE(values.size(), entry.values.size());
        for (auto it = entry.values.cbegin(); it != entry.values.cend(); ++it)
            QCOMPARE(values.value(it.key()).toDouble(), it.value());
        QCOMPARE(object.value("previous_hash").toString().toLatin1(), entry.previousHash);
        QCOMPARE(object.value("hash").toString().toLatin1(), entry.hash);
    }
}

void TestJournal::exportsCsv()
{
    auto store = openStore(m_path);
    QVERIFY(store);
    JournalEntry tricky = gateEntry(2);
    tricky.reason = QStringLiteral("a \"quoted\", comma\r\nand a newline");
    tricky.values = {{QStringLiteral("a"), 0.5}, {QStringLiteral("b"), -2.0}};
    const QList<JournalEntry> stored = store->append({gateEntry(1), tricky}).value();

    QByteArray output;
    {
        QBuffer buffer(&output);
        QVERIFY(buffer.open(QIODevice::WriteOnly));
        const auto written = store->exportCsv(&buffer);
        QVERIFY(written);
        QCOMPARE(written.value(), 2);
    }
    QVERIFY(output.startsWith("sequence,at,actor,service,environment,release_id,kind,stage,action,"
                              "reason,outcome,intent,values,previous_hash,hash\r\n"));
    QVERIFY(output.contains("\"a \"\"quoted\"\", comma\r\nand a newline\""));
    const QList<QStringList> rows = parseCsv(QString::fromUtf8(output));
    QCOMPARE(rows.size(), 3);
    const QStringList header = rows[0];
    for (const QStringList &row : rows)
        QCOMPARE(row.size(), header.size());
    const auto column
        = [&](int row, const char *name) { return rows[row][header.indexOf(QLatin1String(name))]; };
    QCOMPARE(column(2, "sequence"), QStringLiteral("2"));
    QCOMPARE(column(2, "at"), QStringLiteral("2026-11-24T09:12:05.250Z"));
    QCOMPARE(column(2, "reason"), tricky.reason);
    QCOMPARE(column(2, "values"), QStringLiteral("a=0.5;b=-2"));
    QCOMPARE(column(2, "previous_hash").toLatin1(), stored[0].hash);
    QCOMPARE(column(2, "hash").toLatin1(), stored[1].hash);
    QCOMPARE(column(1, "previous_hash"), QString());
    QCOMPARE(column(1, "kind"), QStringLiteral("gate-measured"));
}

void TestJournal::releaseEventsRoundTrip()
{
    auto store = openStore(m_path);
    QVERIFY(store);
    QList<ReleaseEvent> events;
    for (int value = 0; !toString(ReleaseEvent::Kind(value)).isEmpty(); ++value) {
        const auto kind = ReleaseEvent::Kind(value);
        QCOMPARE(releaseEventKind(toString(kind)).has_value(), true);
        QCOMPARE(toString(*releaseEventKind(toString(kind))), toString(kind));
        ReleaseEvent event;
        event.at = baseTime() + std::chrono::seconds(value);
        event.actor = value % 2 ? automaticActor : QStringLiteral("alice");
        event.service = checkout;
        event.releaseId = QStringLiteral("checkout-2.4.0");
        event.kind = kind;
        event.stage = value % 4 - 1;
        event.reason = QStringLiteral("because %1").arg(toString(kind));
        event.values = {{QStringLiteral("error_rate.canary"), value * 0.001}};
        QCOMPARE(releaseEvent(journalEntry(event)), std::optional<ReleaseEvent>(event));
        events.append(event);
    }
    QCOMPARE(events.size(), 20);
    QList<JournalEntry> entries;
    for (const ReleaseEvent &event : events)
        entries.append(journalEntry(event));
    QVERIFY(store->append(entries));
    const QList<JournalEntry> read = store->entries().value();
    QCOMPARE(read.size(), events.size());
    for (qsizetype i = 0; i < read.size(); ++i)
        QCOMPARE(releaseEvent(read[i]), std::optional<ReleaseEvent>(events[i]));

    JournalEntry intent = gateEntry(1);
    intent.kind = journalkind::intent;
    QVERIFY(!releaseEvent(intent));
    QVERIFY(!releaseEventKind(QStringLiteral("Started")));
    QVERIFY(!releaseEventKind(QString()));
}

void TestJournal::openingWhatIsNotAJournalFails_data()
{
    QTest::addColumn<QByteArray>("contents");
    QTest::addColumn<QStringList>("setup");
    QTest::addColumn<QString>("says");

    QTest::newRow("a text file") << QByteArray(
        "services:\n  - name: checkout\n    environment: production\n")
                                 << QStringList{} << QStringLiteral("is not an SQLite database");
    QTest::newRow("a short text file")
        << QByteArray("hello") << QStringList{} << QStringLiteral("is not an SQLite database");
    QTest::newRow("binary noise") << QByteArray(8192, '\xa5') << QStringList{}
                                  << QStringLiteral("is not an SQLite database");
    QTest::newRow("another program's tables")
        << QByteArray() << QStringList{QStringLiteral("CREATE TABLE invoices (id INTEGER)")}
        << QStringLiteral("is an SQLite database with tables of its own");
    QTest::newRow("another program's id")
        << QByteArray() << QStringList{QStringLiteral("PRAGMA application_id = 1234")}
        << QStringLiteral("is the database of another program");
}

void TestJournal::openingWhatIsNotAJournalFails()
{
    QFETCH(QByteArray, contents);
    QFETCH(QStringList, setup);
    QFETCH(QString, says);

    const QString path = m_dir->filePath(QStringLiteral("not-a-journal.db"));
    if (setup.isEmpty()) {
        QFile file(path);
        QVERIFY(file.open(QIODevice::WriteOnly));
        file.write(contents);
    } else {
        QCOMPARE(runSql(path, setup), QString());
    }
    QFile before(path);
    QVERIFY(before.open(QIODevice::ReadOnly));
    const QByteArray bytes = before.readAll();
    before.close();

    const auto opened = JournalStore::open(path);
    QVERIFY(!opened);
    QVERIFY2(opened.error().startsWith(QDir::toNativeSeparators(path) + QLatin1Char(' ')),
             qPrintable(opened.error()));
    QVERIFY2(opened.error().contains(says), qPrintable(opened.error()));
    QVERIFY2(opened.error().contains(QLatin1String("choose another file")),
             qPrintable(opened.error()));
    // Refused before anything was written: still the other program's file, as it was.
    QVERIFY(before.open(QIODevice::ReadOnly));
    QCOMPARE(before.readAll(), bytes);
    QVERIFY(!QFile::exists(path + QStringLiteral("-wal")));
}

void TestJournal::aNewerJournalIsRefused()
{
    QVERIFY(openStore(m_path));
    QCOMPARE(runSql(m_path, {QStringLiteral("PRAGMA user_version = 7")}), QString());
    const auto opened = JournalStore::open(m_path);
    QVERIFY(!opened);
    QVERIFY2(opened.error().contains(QLatin1String("was written by a newer Signalbox (journal "
                                                   "format 7; this one reads format 1)")),
             qPrintable(opened.error()));
    QVERIFY(opened.error().contains(QDir::toNativeSeparators(m_path)));
}

void TestJournal::aStoreRemovesItsConnection()
{
    const QStringList before = QSqlDatabase::connectionNames();
    {
        auto first = openStore(m_path);
        auto second = openStore(m_path);
        QVERIFY(first && second);
        QCOMPARE(QSqlDatabase::connectionNames().size(), before.size() + 2);
    }
    QCOMPARE(QSqlDatabase::connectionNames(), before);
    // A failed open leaves no connection behind either.
    QFile text(m_dir->filePath(QStringLiteral("text.db")));
    QVERIFY(text.open(QIODevice::WriteOnly));
    text.write("not a database, not even close to one");
    text.close();
    QVERIFY(!JournalStore::open(text.fileName()));
    QCOMPARE(QSqlDatabase::connectionNames(), before);
}

void TestJournal::journalOpensOnItsThread()
{
    {
        auto store = openStore(m_path);
        QVERIFY(store);
        QVERIFY(store->append(gateEntries(5),
                              {ReleaseRecord{checkout, QStringLiteral("checkout-2.4.0"), "{}"}}));
    }
    Journal journal(m_path);
    QCOMPARE(journal.path(), m_path);
    QSignalSpy opened(&journal, &Journal::opened);
    QSignalSpy failed(&journal, &Journal::openFailed);
    QTRY_COMPARE(opened.count(), 1);
    QCOMPARE(failed.count(), 0);
    const auto check = opened.at(0).at(0).value<JournalCheck>();
    QVERIFY(check.intact());
    QCOMPARE(check.entries, 5);
    const auto inFlight = opened.at(0).at(1).value<QList<ReleaseRecord>>();
    const QList<ReleaseRecord> expected{{checkout, QStringLiteral("checkout-2.4.0"), "{}"}};
    QCOMPARE(inFlight, expected);
}

void TestJournal::journalAppendsInOrderAndAnswersOnTheOwnerThread()
{
    Journal journal(m_path);
    QSignalSpy appended(&journal, &Journal::appended);
    QList<qint64> answered;
    QList<QThread *> threads;
    for (int i = 0; i < 6; ++i) {
        journal.append({gateEntry(2 * i), gateEntry(2 * i + 1)}, {},
                       [&](const Result<QList<JournalEntry>, QString> &result) {
                           threads.append(QThread::currentThread());
                           QVERIFY(result);
                           answered += sequences(result.value());
                       });
    }
    // Nothing is answered before the event loop runs: the caller never waits on the disk.
    QVERIFY(answered.isEmpty());
    QTRY_COMPARE(answered.size(), 12);
    QCOMPARE(answered, (QList<qint64>{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}));
    for (QThread *thread : threads)
        QCOMPARE(thread, QThread::currentThread());
    QCOMPARE(appended.count(), 6);
    QCOMPARE(sequences(appended.at(5).at(0).value<QList<JournalEntry>>()), (QList<qint64>{11, 12}));
}

void TestJournal::journalRunsWorkOnItsThread()
{
    Journal journal(m_path);
    journal.append(gateEntries(3), {}, {});
    QThread *workThread = nullptr;
    qint64 last = -1;
    bool done = false;
    journal.run(
        [&](JournalStore *store) {
            workThread = QThread::currentThread();
            last = store ? store->lastSequence() : -2;
        },
        [&] {
            QCOMPARE(QThread::currentThread(), this->thread());
            done = true;
        });
    QTRY_VERIFY(done);
    QVERIFY(workThread && workThread != QThread::currentThread());
    // Queued behind the append, so it saw it.
    QCOMPARE(last, 3);
}

void TestJournal::destroyingAJournalFinishesItsWorkAndDropsTheAnswers()
{
    int answers = 0;
    {
        Journal journal(m_path);
        for (int i = 0; i < 5; ++i)
            journal.append({gateEntry(i)}, {}, [&](const auto &) { ++answers; });
    }
    QCoreApplication::processEvents();
    QCOMPARE(answers, 0);
    auto store = openStore(m_path);
    QVERIFY(store);
    QCOMPARE(store->lastSequence(), 5);
    QVERIFY(store->verify().intact());
}

void TestJournal::aJournalThatCannotOpenAnswersWithTheError()
{
    // A folder cannot be made under a plain file, whoever runs the test.
    QFile blocker(m_dir->filePath(QStringLiteral("plain-file")));
    QVERIFY(blocker.open(QIODevice::WriteOnly));
    blocker.close();
    const QString path = m_dir->filePath(QStringLiteral("plain-file/journal.sqlite"));

    Journal journal(path);
    QSignalSpy opened(&journal, &Journal::opened);
    QSignalSpy failed(&journal, &Journal::openFailed);
    QSignalSpy appended(&journal, &Journal::appended);
    std::optional<Result<QList<JournalEntry>, QString>> answer;
    journal.append({gateEntry(1)}, {}, [&](const auto &result) { answer = result; });
    QTRY_VERIFY(answer.has_value());
    QCOMPARE(failed.count(), 1);
    QCOMPARE(opened.count(), 0);
    const QString error = failed.at(0).at(0).toString();
    QVERIFY2(
        error.contains(QDir::toNativeSeparators(m_dir->filePath(QStringLiteral("plain-file")))),
        qPrintable(error));
    QVERIFY2(error.contains(QLatin1String("choose a writable location")), qPrintable(error));
    QVERIFY(!answer->ok());
    QCOMPARE(answer->error(), error);
    QCOMPARE(appended.count(), 0);

    bool ran = false;
    journal.run([&](JournalStore *store) { ran = store == nullptr; }, [] {});
    QTRY_VERIFY(ran);
}

void TestJournal::aJournalOnTheCallersThreadKeepsTheSameOrder()
{
    QList<qint64> answered;
    {
        Journal journal(m_path, nullptr, Journal::Threading::CallersThread);
        QSignalSpy opened(&journal, &Journal::opened);
        QThread *workThread = nullptr;
        journal.append(gateEntries(2), {}, [&](const Result<QList<JournalEntry>, QString> &result) {
            answered += sequences(result.value());
        });
        journal.run([&](JournalStore *) { workThread = QThread::currentThread(); }, {});
        // Still queued, not done in the call.
        QCOMPARE(opened.count(), 0);
        QVERIFY(answered.isEmpty());
        QTRY_COMPARE(answered, (QList<qint64>{1, 2}));
        QCOMPARE(opened.count(), 1);
        QCOMPARE(workThread, QThread::currentThread());
        // Queued when the journal goes: written before it closes, the answer dropped.
        journal.append({gateEntry(3)}, {}, [&](const auto &) { answered.append(-1); });
    }
    QCoreApplication::processEvents();
    QCOMPARE(answered, (QList<qint64>{1, 2}));
    auto store = openStore(m_path);
    QVERIFY(store);
    QCOMPARE(store->lastSequence(), 3);
}

QTEST_GUILESS_MAIN(TestJournal)
#include "tst_journal.moc"
