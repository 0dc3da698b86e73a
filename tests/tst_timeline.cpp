// The deploy timeline: the columnar index (order, interning, categories, every filter alone and
// combined, search, per-pixel counts), the list model, the view's zoom, pan and picking, and the
// panel: entries, filters, selection and its details, the empty state, a live journal.

#include "clock.h"
#include "journal.h"
#include "modeldump.h"
#include "timelineindex.h"
#include "timelinemodel.h"
#include "timelinepanel.h"
#include "timelineview.h"

#include <QAbstractItemModelTester>
#include <QLineEdit>
#include <QScrollBar>
#include <QSignalSpy>
#include <QTableView>
#include <QTemporaryDir>
#include <QTest>

#include <random>

using namespace sb;

Q_DECLARE_METATYPE(sb::TimelineFilter)

namespace {

constexpr qint64 t0 = 1'780'000'000'000; // 2026-05-28 20:26:40 UTC
const ServiceKey payments{QStringLiteral("payments"), QStringLiteral("production")};
const ServiceKey checkoutStaging{QStringLiteral("checkout"), QStringLiteral("staging")};
const ServiceKey checkoutProduction{QStringLiteral("checkout"), QStringLiteral("production")};

JournalEntry entry(qint64 sequence, qint64 atMs, const ServiceKey &service, const QString &kind,
                   const QString &actor, const QString &reason, const QString &action = {},
                   const QString &outcome = {})
{
    JournalEntry e;
    e.sequence = sequence;
    e.at = fromMSecsSinceEpoch(atMs);
    e.service = service;
    e.kind = kind;
    e.actor = actor;
    e.reason = reason;
    e.action = action;
    e.outcome = outcome;
    e.releaseId = service.name + QStringLiteral("-r1");
    e.hash = QByteArray("a3f09c7e5b12d4e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b1c2d3e4f5a6b7c8d9e0");
    return e;
}

QString s(const char *text)
{
    return QString::fromUtf8(text);
}

// Two releases and an incident: a canary of payments aborted by a failed gate, a blue-green of
// checkout paused by an operator and refused by its router, a rollback asked for by hand.
QList<JournalEntry> incident()
{
    const QString bot = automaticActor;
    QList<JournalEntry> entries{
        entry(1, t0, payments, s("started"), s("alice"),
              s("canary of payments from 2.3.1 to 2.4.0 with plan 'standard'")),
        entry(2, t0 + 1'000, payments, journalkind::intent, bot,
              s("stage 1 needs canary instances"), s("scale 2.4.0 to 2 instances")),
        entry(3, t0 + 2'000, payments, journalkind::outcome, bot, QString(),
              s("scale 2.4.0 to 2 instances"), s("ok")),
        entry(4, t0 + 60'000, payments, s("gate-measured"), bot,
              s("gate error_rate: pass: 0.20 % ≤ 1.00 %")),
        entry(5, t0 + 120'000, payments, s("gate-measured"), bot,
              s("gate error_rate: fail: 2.10 % above 1.00 %")),
        entry(6, t0 + 121'000, payments, s("aborted"), bot,
              s("gate error_rate failed 1 of 1 allowed measurements")),
        entry(7, t0 + 180'000, payments, s("rolled-back"), bot, s("2.3.1 serves all traffic")),
        entry(8, t0 + 200'000, checkoutStaging, s("started"), s("bob"),
              s("blue-green of checkout 5.1.0")),
        entry(9, t0 + 260'000, checkoutStaging, s("switched"), bot,
              s("all traffic on green 5.1.0 (Σίσυφος)")),
        entry(10, t0 + 300'000, checkoutStaging, s("paused"), s("bob"),
              s("Überweisung prüfen before going on")),
        entry(11, t0 + 330'000, checkoutStaging, s("action-failed"), bot,
              s("router timeout: haproxy did not answer in 20 s")),
        entry(12, t0 + 400'000, checkoutProduction, journalkind::rollbackRequested, s("carol"),
              s("customers report errors")),
        entry(13, t0 + 420'000, checkoutProduction, journalkind::outcome, bot, QString(),
              s("switch back to blue"), s("haproxy: connection refused")),
    };
    entries[3].values = {{s("error_rate.canary"), 0.002},
                         {s("error_rate.baseline"), 0.0018},
                         {s("error_rate.limit"), 0.01}};
    entries[4].values = {{s("error_rate.canary"), 0.021}, {s("error_rate.limit"), 0.01}};
    return entries;
}

QList<qint64> sequencesOf(const TimelineIndex &index, const std::vector<quint32> &rows)
{
    QList<qint64> sequences;
    for (const quint32 row : rows)
        sequences.append(index.sequenceAt(row));
    return sequences;
}

TimelineIndex indexOf(const QList<JournalEntry> &entries)
{
    TimelineIndex index;
    index.append(entries);
    return index;
}

// What a row's text should match, the slow way.
bool naiveMatch(const JournalEntry &e, const QString &word)
{
    const QString w = word.toCaseFolded();
    for (const QString &field :
         {e.reason, e.action, e.outcome, e.service.id(), e.actor, e.kind, e.releaseId}) {
        if (field.toCaseFolded().contains(w))
            return true;
    }
    return false;
}

// A busy journal: `count` entries over a day in `lanes` lanes with a realistic mix of kinds.
QList<JournalEntry> busyJournal(int count, int lanes = 12, unsigned seed = 7)
{
    std::mt19937 random(seed);
    const QStringList kinds{s("gate-measured"),   s("gate-measured"), s("gate-measured"),
                            s("weight-set"),      s("stage-started"), journalkind::intent,
                            journalkind::outcome, s("paused"),        s("aborted")};
    const QStringList words{s("timeout"), s("canary"),  s("baseline"), s("limit"),
                            s("router"),  s("refused"), s("stage"),    s("ÄNDERUNG")};
    QList<JournalEntry> entries;
    entries.reserve(count);
    qint64 at = t0;
    for (int i = 0; i < count; ++i) {
        at += qint64(random() % 200);
        const int lane = int(random() % unsigned(lanes));
        const ServiceKey key{QStringLiteral("svc%1").arg(lane / 2),
                             lane % 2 ? s("staging") : s("production")};
        QString reason = QStringLiteral("entry %1").arg(i);
        for (int w = 0; w < 5; ++w)
            reason += QLatin1Char(' ') + words.at(int(random() % unsigned(words.size())));
        const QString kind = kinds.at(int(random() % unsigned(kinds.size())));
        JournalEntry e
            = entry(i + 1, at, key, kind, random() % 10 == 0 ? s("alice") : automaticActor, reason);
        if (kind == s("gate-measured"))
            e.reason.prepend(random() % 20 == 0 ? s("gate p99: fail: ") : s("gate p99: pass: "));
        entries.append(e);
    }
    return entries;
}

} // namespace

class TestTimeline : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void rowsFollowTimeAndSkewIsInserted();
    void namesAreInternedOnce();
    void categories_data();
    void categories();
    void filters_data();
    void filters();
    void filterFromARowTakesOnlyNewerRows();
    void searchIgnoresCaseInEveryScript();
    void largeFiltersMatchASimpleScan();
    void densityCountsPerLaneAndBucket();

    void modelListsMatchesNewestFirst();
    void modelAsksForEntriesItLacks();

    void zoomKeepsTheTimeUnderTheCursor();
    void zoomStopsAtTheLimits();
    void homeFitsEverything();
    void keysZoomAndPan();
    void dragPans();
    void clickSelectsTheNearestMark();
    void denseLanesDrawCountsUntilZoomedIn();

    void emptyJournalSaysWhatWillAppear();
    void entriesShowWithTheirCount();
    void filtersNarrowTheLanesAndTheList();
    void searchWaitsForAPauseInTyping();
    void periodsCountBackFromTheClock();
    void selectingShowsEveryDetail();
    void focusServiceShowsOneLane();
    void largeJournalsFilterOffTheGuiThread();
    void followsAJournal();
};

void TestTimeline::rowsFollowTimeAndSkewIsInserted()
{
    TimelineIndex index;
    index.append(entry(1, t0, payments, s("started"), s("alice"), s("a")));
    index.append(entry(2, t0 + 10, payments, s("held"), automaticActor, s("b")));
    // A second console with a clock 7 ms behind writes the next entry.
    index.append(entry(3, t0 + 3, checkoutStaging, s("paused"), s("bob"), s("c")));
    index.append(entry(4, t0 + 10, payments, s("resumed"), s("bob"), s("d")));
    index.append(entry(5, t0 + 3, payments, s("scaled"), automaticActor, s("e")));

    QCOMPARE(index.size(), 5);
    QList<qint64> times;
    QList<qint64> sequences;
    for (qsizetype row = 0; row < index.size(); ++row) {
        times.append(index.timeAt(row) - t0);
        sequences.append(index.sequenceAt(row));
    }
    QCOMPARE(times, (QList<qint64>{0, 3, 3, 10, 10}));
    QCOMPARE(sequences, (QList<qint64>{1, 3, 5, 2, 4}));
    QCOMPARE(index.lastSequence(), 5);
    QCOMPARE(index.rowOf(5, t0 + 3), 2);
    QCOMPARE(index.rowOf(5, t0 + 4), -1);
    // The text travels with its row.
    QCOMPARE(index.searchTextAt(2), QByteArrayView("e\n"));
    QCOMPARE(index.searchTextAt(3), QByteArrayView("b\n"));
    QCOMPARE(index.rowsBetween(t0 + 3, t0 + 10), (std::pair<qsizetype, qsizetype>(1, 3)));
}

void TestTimeline::namesAreInternedOnce()
{
    const TimelineIndex index = indexOf(incident());
    QCOMPARE(index.services(), (QStringList{s("payments"), s("checkout")}));
    QCOMPARE(index.environments(), (QStringList{s("production"), s("staging")}));
    QCOMPARE(index.laneCount(), 3);
    QCOMPARE(index.lane(0), payments);
    QCOMPARE(index.lane(1), checkoutStaging);
    QCOMPARE(index.lane(2), checkoutProduction);
    QCOMPARE(index.actors(), (QStringList{s("alice"), automaticActor, s("bob"), s("carol")}));
    QCOMPARE(index.kinds().size(), 10);
    QVERIFY(index.isOperatorAt(0));
    QVERIFY(!index.isOperatorAt(1));
    QCOMPARE(index.releaseAt(8), s("checkout-r1"));
    // Strings are stored once, not per entry: a thousand more of the same names add no names.
    TimelineIndex grown = indexOf(incident());
    for (int i = 0; i < 1000; ++i)
        grown.append(
            entry(100 + i, t0 + 500'000 + i, payments, s("held"), automaticActor, s("bake done")));
    QCOMPARE(grown.laneCount(), 3);
    QCOMPARE(grown.actors().size(), 4);
    QCOMPARE(grown.kinds().size(), 11);
}

void TestTimeline::categories_data()
{
    QTest::addColumn<QString>("kind");
    QTest::addColumn<QString>("reason");
    QTest::addColumn<QString>("outcome");
    QTest::addColumn<QString>("category");
    QTest::newRow("gate passed") << s("gate-measured") << s("gate error-rate: pass: 0.2 % ≤ 1 %")
                                 << QString() << s("gate-pass");
    QTest::newRow("gate failed") << s("gate-measured") << s("gate error-rate: fail: 3 % > 1 %")
                                 << QString() << s("gate-fail");
    QTest::newRow("gate failed after a switch")
        << s("gate-measured") << s("gate errors after switch: fail: 3 % > 1 %") << QString()
        << s("gate-fail");
    QTest::newRow("gate undecided") << s("gate-measured") << s("gate p99: inconclusive: thin data")
                                    << QString() << s("waiting");
    QTest::newRow("action answered")
        << journalkind::outcome << QString() << s("ok") << s("progress");
    QTest::newRow("action refused") << journalkind::outcome << QString()
                                    << s("router: connection refused") << s("backend-error");
    QTest::newRow("action failed")
        << s("action-failed") << s("timeout") << QString() << s("backend-error");
    QTest::newRow("paused") << s("paused") << QString() << QString() << s("waiting");
    QTest::newRow("stalled") << s("stalled") << QString() << QString() << s("waiting");
    QTest::newRow("switched") << s("switched") << QString() << QString() << s("switch");
    QTest::newRow("switched back") << s("switched-back") << QString() << QString() << s("rollback");
    QTest::newRow("aborted") << s("aborted") << QString() << QString() << s("rollback");
    QTest::newRow("rollback asked")
        << journalkind::rollbackRequested << QString() << QString() << s("rollback");
    QTest::newRow("stage") << s("stage-started") << QString() << QString() << s("progress");
    QTest::newRow("unknown kind") << s("from-the-future") << QString() << QString()
                                  << s("progress");
}

void TestTimeline::categories()
{
    QFETCH(QString, kind);
    QFETCH(QString, reason);
    QFETCH(QString, outcome);
    QFETCH(QString, category);
    QCOMPARE(toString(timelineCategory(kind, reason, outcome)), category);
}

void TestTimeline::filters_data()
{
    QTest::addColumn<TimelineFilter>("filter");
    QTest::addColumn<QList<qint64>>("sequences");
    auto row = [](const char *name, auto change, QList<qint64> expected) {
        TimelineFilter f;
        change(f);
        QTest::newRow(name) << f << expected;
    };
    using F = TimelineFilter;
    row("nothing", [](F &) {}, {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13});
    row("service", [](F &f) { f.services = {s("payments")}; }, {1, 2, 3, 4, 5, 6, 7});
    row("environment", [](F &f) { f.environments = {s("staging")}; }, {8, 9, 10, 11});
    row("kind", [](F &f) { f.kinds = {s("gate-measured")}; }, {4, 5});
    row("two kinds", [](F &f) { f.kinds = {s("started"), s("switched")}; }, {1, 8, 9});
    row("gates failed", [](F &f) { f.categories = categoryBit(TimelineCategory::GateFail); }, {5});
    row("rollbacks", [](F &f) { f.categories = categoryBit(TimelineCategory::Rollback); },
        {6, 7, 12});
    row("backend errors", [](F &f) { f.categories = categoryBit(TimelineCategory::BackendError); },
        {11, 13});
    row("waiting", [](F &f) { f.categories = categoryBit(TimelineCategory::Waiting); }, {10});
    row("switches", [](F &f) { f.categories = categoryBit(TimelineCategory::Switch); }, {9});
    row("no category", [](F &f) { f.categories = 0; }, {});
    row("actor", [](F &f) { f.actors = {s("bob")}; }, {8, 10});
    row("operators", [](F &f) { f.origin = F::Origin::Operators; }, {1, 8, 10, 12});
    row("automatic", [](F &f) { f.origin = F::Origin::Automatic; }, {2, 3, 4, 5, 6, 7, 9, 11, 13});
    row("time range",
        [](F &f) {
            f.fromMs = t0 + 60'000;
            f.toMs = t0 + 200'000;
        },
        {4, 5, 6, 7});
    row("from only", [](F &f) { f.fromMs = t0 + 400'000; }, {12, 13});
    row("empty time range",
        [](F &f) {
            f.fromMs = t0 + 5;
            f.toMs = t0 + 5;
        },
        {});
    row("text in a reason", [](F &f) { f.text = s("TIMEOUT"); }, {11});
    row("text in actions", [](F &f) { f.text = s("2.4.0"); }, {1, 2, 3});
    row("text in an outcome", [](F &f) { f.text = s("Refused"); }, {13});
    row("text names a service", [](F &f) { f.text = s("checkout"); }, {8, 9, 10, 11, 12, 13});
    row("text names an actor", [](F &f) { f.text = s("carol"); }, {12});
    row("every word must appear", [](F &f) { f.text = s("error_rate  fail"); }, {5, 6});
    row("no such text", [](F &f) { f.text = s("kubernetes"); }, {});
    row("combined",
        [](F &f) {
            f.services = {s("checkout")};
            f.categories = categoryBit(TimelineCategory::Rollback)
                           | categoryBit(TimelineCategory::BackendError);
            f.origin = F::Origin::Automatic;
        },
        {11, 13});
    row("combined with text and time",
        [](F &f) {
            f.services = {s("checkout")};
            f.origin = F::Origin::Automatic;
            f.fromMs = t0 + 300'000;
            f.text = s("haproxy");
        },
        {11, 13});
    row("combined to nothing",
        [](F &f) {
            f.environments = {s("production")};
            f.actors = {s("bob")};
        },
        {});
}

void TestTimeline::filters()
{
    QFETCH(TimelineFilter, filter);
    QFETCH(QList<qint64>, sequences);
    const TimelineIndex index = indexOf(incident());
    const TimelineMatches matches = index.filter(filter);
    QCOMPARE(sequencesOf(index, matches.rows), sequences);
    // The per-lane counts add up to the rows.
    quint32 counted = 0;
    for (const quint32 count : matches.laneCounts)
        counted += count;
    QCOMPARE(qsizetype(counted), sequences.size());
}

void TestTimeline::filterFromARowTakesOnlyNewerRows()
{
    const TimelineIndex index = indexOf(incident());
    TimelineFilter filter;
    filter.services = {s("checkout")};
    QCOMPARE(sequencesOf(index, index.filter(filter, 9).rows), (QList<qint64>{10, 11, 12, 13}));
    QCOMPARE(sequencesOf(index, index.filter(filter, 13).rows), QList<qint64>());
}

void TestTimeline::searchIgnoresCaseInEveryScript()
{
    const TimelineIndex index = indexOf(incident());
    auto search = [&index](const QString &text) {
        TimelineFilter filter;
        filter.text = text;
        return sequencesOf(index, index.filter(filter).rows);
    };
    QCOMPARE(search(s("überweisung")), QList<qint64>{10});
    QCOMPARE(search(s("ÜBERWEISUNG")), QList<qint64>{10});
    QCOMPARE(search(s("PRÜFEN")), QList<qint64>{10});
    // Greek capitals fold to the same letters as the lower case, final sigma included.
    QCOMPARE(search(s("ΣΊΣΥΦΟΣ")), QList<qint64>{9});
    QCOMPARE(search(s("σίσυφος")), QList<qint64>{9});
    // The search text is folded once, at append.
    QCOMPARE(QString::fromUtf8(index.searchTextAt(9).toByteArray()),
             s("überweisung prüfen before going on\n"));
    QCOMPARE(search(s("≤")), QList<qint64>{4});
    // Words do not run on from one entry's text into the next.
    QCOMPARE(search(s("refusedcustomers")), QList<qint64>());
}

void TestTimeline::largeFiltersMatchASimpleScan()
{
    // Enough rows for the filter to split over threads and to search the text in one pass.
    const QList<JournalEntry> entries = busyJournal(300'000);
    const TimelineIndex index = indexOf(entries);
    struct Case {
        const char *name;
        TimelineFilter filter;
    };
    QList<Case> cases;
    TimelineFilter filter;
    filter.text = s("timeout");
    cases.append({"common word", filter});
    filter.text = s("änderung refused");
    cases.append({"two words, one not ASCII", filter});
    filter.text = s("svc3");
    cases.append({"a service's name", filter});
    filter = TimelineFilter();
    filter.services = {s("svc2")};
    filter.text = s("router");
    cases.append({"one service, then text per row", filter});
    filter = TimelineFilter();
    filter.fromMs = entries.at(1000).at.time_since_epoch().count();
    filter.toMs = entries.at(250'000).at.time_since_epoch().count();
    filter.categories
        = categoryBit(TimelineCategory::GateFail) | categoryBit(TimelineCategory::Rollback);
    filter.text = s("stage");
    cases.append({"time, category and text", filter});

    for (const Case &c : std::as_const(cases)) {
        QList<qint64> expected;
        const QStringList words = c.filter.text.split(QLatin1Char(' '), Qt::SkipEmptyParts);
        for (const JournalEntry &e : entries) {
            const qint64 at = toMSecsSinceEpoch(e.at);
            if (!c.filter.services.isEmpty() && !c.filter.services.contains(e.service.name))
                continue;
            if ((c.filter.fromMs && at < *c.filter.fromMs)
                || (c.filter.toMs && at >= *c.filter.toMs))
                continue;
            if (!(c.filter.categories & categoryBit(timelineCategory(e.kind, e.reason, e.outcome))))
                continue;
            if (std::all_of(words.cbegin(), words.cend(),
                            [&e](const QString &word) { return naiveMatch(e, word); }))
                expected.append(e.sequence);
        }
        QVERIFY2(!expected.isEmpty(), c.name);
        const QList<qint64> found = sequencesOf(index, index.filter(c.filter).rows);
        QVERIFY2(found == expected, qPrintable(QStringLiteral("%1: %2 found, %3 expected")
                                                   .arg(QString::fromLatin1(c.name))
                                                   .arg(found.size())
                                                   .arg(expected.size())));
    }

    // Counted over threads too, the counts are those of a simple scan.
    const TimelineMatches all = index.filter({});
    const qint64 from = index.firstMs();
    const qint64 to = index.lastMs() + 1;
    const TimelineDensity density = index.density(all.rows, from, to, 700);
    QCOMPARE(density.laneTotals, all.laneCounts);
    std::vector<quint32> expected(size_t(index.laneCount()) * 700, 0);
    for (qsizetype row = 0; row < index.size(); ++row)
        ++expected[size_t(index.laneAt(row)) * 700
                   + size_t(double(index.timeAt(row) - from) / density.msPerBucket)];
    QCOMPARE(density.counts, expected);
}

void TestTimeline::densityCountsPerLaneAndBucket()
{
    TimelineIndex index;
    index.append(entry(1, t0 - 1, payments, s("started"), s("alice"), s("before the range")));
    index.append(entry(2, t0, payments, s("started"), s("alice"), s("a")));
    index.append(
        entry(3, t0 + 5, payments, s("gate-measured"), automaticActor, s("gate e: fail: x")));
    index.append(entry(4, t0 + 12, checkoutStaging, s("switched"), automaticActor, s("b")));
    index.append(entry(5, t0 + 29, payments, s("aborted"), automaticActor, s("c")));
    index.append(entry(6, t0 + 30, payments, s("rolled-back"), automaticActor, s("after")));
    const TimelineMatches all = index.filter({});
    const TimelineDensity density = index.density(all.rows, t0, t0 + 30, 3);
    QCOMPARE(density.buckets, 3);
    QCOMPARE(density.lanes, 2);
    QCOMPARE(density.msPerBucket, 10.0);
    const int paymentsLane = 0;
    const int checkoutLane = 1;
    QCOMPARE((QList<quint32>{density.count(paymentsLane, 0), density.count(paymentsLane, 1),
                             density.count(paymentsLane, 2)}),
             (QList<quint32>{2, 0, 1}));
    QCOMPARE((QList<quint32>{density.count(checkoutLane, 0), density.count(checkoutLane, 1),
                             density.count(checkoutLane, 2)}),
             (QList<quint32>{0, 1, 0}));
    QCOMPARE(
        density.categoryMask(paymentsLane, 0),
        quint8(categoryBit(TimelineCategory::Progress) | categoryBit(TimelineCategory::GateFail)));
    QCOMPARE(density.categoryMask(paymentsLane, 2),
             quint8(categoryBit(TimelineCategory::Rollback)));
    QCOMPARE(density.categoryMask(checkoutLane, 1), quint8(categoryBit(TimelineCategory::Switch)));
    QCOMPARE(density.laneTotals, (std::vector<quint32>{3, 1}));

    // Only the rows given are counted: a filtered result draws as filtered.
    TimelineFilter failures;
    failures.categories = categoryBit(TimelineCategory::GateFail);
    const TimelineDensity filtered = index.density(index.filter(failures).rows, t0, t0 + 30, 3);
    QCOMPARE(filtered.laneTotals, (std::vector<quint32>{1, 0}));
}

void TestTimeline::modelListsMatchesNewestFirst()
{
    const QList<JournalEntry> entries = incident();
    const TimelineIndex index = indexOf(entries);
    TimelineFilter filter;
    filter.services = {s("payments")};
    filter.categories = ~categoryBit(TimelineCategory::Progress);
    TimelineMatches matches = index.filter(filter);
    TimelineModel model;
    QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
    model.setLookup([&entries](qint64 sequence) { return &entries.at(sequence - 1); });
    model.setMatches(&index, &matches.rows);
    QCOMPARE(dumpModel(model),
             s("Time (UTC) | Service | What | Who | Details\n"
               "2026-05-28 20:29:40.000 | payments · production | Rolled back | signalbox | "
               "2.3.1 serves all traffic\n"
               "2026-05-28 20:28:41.000 | payments · production | Aborted | signalbox | "
               "gate error_rate failed 1 of 1 allowed measurements\n"
               "2026-05-28 20:28:40.000 | payments · production | Gate failed | signalbox | "
               "gate error_rate: fail: 2.10 % above 1.00 %\n"
               "2026-05-28 20:27:40.000 | payments · production | Gate passed | signalbox | "
               "gate error_rate: pass: 0.20 % ≤ 1.00 %"));
    QCOMPARE(model.rowOf(matches.rows.front()), 3);
    QCOMPARE(model.indexRow(0), matches.rows.back());

    model.sort(TimelineModel::TimeColumn, Qt::AscendingOrder);
    QCOMPARE(model.index(0, TimelineModel::KindColumn).data().toString(), s("Gate passed"));
    QCOMPARE(model.rowOf(matches.rows.front()), 0);

    // New matching rows arrive at the end of the result and show in the order chosen.
    const qsizetype before = qsizetype(matches.rows.size());
    matches.rows.push_back(quint32(index.size() - 1));
    model.rowsAppended(before);
    QCOMPARE(model.rowCount(), 5);
    QCOMPARE(model.index(4, TimelineModel::ActorColumn).data().toString(), automaticActor);
    QCOMPARE(model.index(4, TimelineModel::ReasonColumn).data().toString(),
             s("switch back to blue → haproxy: connection refused"));
}

void TestTimeline::modelAsksForEntriesItLacks()
{
    const TimelineIndex index = indexOf(incident());
    const TimelineMatches matches = index.filter({});
    TimelineModel model;
    model.setLookup([](qint64) { return nullptr; });
    model.setMatches(&index, &matches.rows);
    QSignalSpy wanted(&model, &TimelineModel::entriesWanted);
    QCOMPARE(model.index(0, TimelineModel::ReasonColumn).data().toString(), s("…"));
    QCOMPARE(model.index(1, TimelineModel::ReasonColumn).data().toString(), s("…"));
    QCOMPARE(model.index(0, TimelineModel::ReasonColumn).data().toString(), s("…"));
    // Gathered over one turn of the event loop, asked once each.
    QTRY_COMPARE(wanted.size(), 1);
    QCOMPARE(wanted.at(0).at(0).value<QList<qint64>>(), (QList<qint64>{12, 13}));
    QTest::qWait(10);
    QCOMPARE(wanted.size(), 1);
}

namespace {

struct ViewFixture {
    TimelineIndex index;
    TimelineMatches matches;
    TimelineView view;

    explicit ViewFixture(const QList<JournalEntry> &entries)
        : index(indexOf(entries))
        , matches(index.filter({}))
    {
        view.resize(900, 360);
        view.setMatches(&index, &matches);
        view.show();
    }
};

} // namespace

void TestTimeline::zoomKeepsTheTimeUnderTheCursor()
{
    ViewFixture f(incident());
    QVERIFY(QTest::qWaitForWindowExposed(&f.view));
    const QRect plot = f.view.plotRect();
    for (const double x : {plot.left() + 40.0, plot.center().x() * 1.0, plot.right() - 10.0}) {
        const double before = f.view.timeAtX(x);
        const qint64 span = f.view.toMs() - f.view.fromMs();
        f.view.zoomAt(2, x);
        QVERIFY(std::abs(f.view.timeAtX(x) - before) < 1);
        QVERIFY(std::abs(double(f.view.toMs() - f.view.fromMs()) - span / 2.0) <= 2);
        f.view.zoomAt(0.5, x);
        QVERIFY(std::abs(f.view.timeAtX(x) - before) < 1);
    }
    // The wheel zooms the same way around the pointer.
    const QPointF at(plot.left() + 100, plot.top() + 10);
    const double before = f.view.timeAtX(at.x());
    const qint64 span = f.view.toMs() - f.view.fromMs();
    QWheelEvent wheel(at, f.view.viewport()->mapToGlobal(at), QPoint(), QPoint(0, 120),
                      Qt::NoButton, Qt::NoModifier, Qt::NoScrollPhase, false);
    QCoreApplication::sendEvent(f.view.viewport(), &wheel);
    QVERIFY(f.view.toMs() - f.view.fromMs() < span);
    QVERIFY(std::abs(f.view.timeAtX(at.x()) - before) < 1);
}

void TestTimeline::zoomStopsAtTheLimits()
{
    ViewFixture f(incident());
    const double centre = f.view.plotRect().center().x();
    for (int i = 0; i < 60; ++i)
        f.view.zoomAt(2, centre);
    QCOMPARE(f.view.toMs() - f.view.fromMs(), TimelineView::minimumSpanMs);
    for (int i = 0; i < 80; ++i)
        f.view.zoomAt(0.5, centre);
    // Out to a fortnight at most for a journal of minutes, so a week always fits.
    QCOMPARE(f.view.toMs() - f.view.fromMs(), 14 * 24 * 3'600'000LL);
}

void TestTimeline::homeFitsEverything()
{
    ViewFixture f(incident());
    f.view.setVisibleRange(t0 + 100'000, t0 + 110'000);
    QTest::keyClick(&f.view, Qt::Key_Home);
    QVERIFY(f.view.fromMs() < t0);
    QVERIFY(f.view.toMs() > t0 + 420'000);
    // With room either side, but not much.
    QVERIFY(f.view.toMs() - f.view.fromMs() < 460'000);
    const QPointF first = f.view.markCentre(0);
    const QPointF last = f.view.markCentre(f.index.size() - 1);
    QVERIFY(f.view.plotRect().contains(first.toPoint()));
    QVERIFY(first.x() > f.view.plotRect().left() + 5);
    QVERIFY(last.x() < f.view.plotRect().right() - 5);
}

void TestTimeline::keysZoomAndPan()
{
    ViewFixture f(incident());
    const qint64 span = f.view.toMs() - f.view.fromMs();
    QTest::keyClick(&f.view, Qt::Key_Plus);
    QVERIFY(f.view.toMs() - f.view.fromMs() < span);
    QTest::keyClick(&f.view, Qt::Key_Minus);
    QVERIFY(std::abs(double(f.view.toMs() - f.view.fromMs() - span)) <= 2);
    const qint64 from = f.view.fromMs();
    QTest::keyClick(&f.view, Qt::Key_Right);
    QVERIFY(f.view.fromMs() > from);
    QTest::keyClick(&f.view, Qt::Key_Left);
    QTest::keyClick(&f.view, Qt::Key_Left);
    QVERIFY(f.view.fromMs() < from);
}

void TestTimeline::dragPans()
{
    ViewFixture f(incident());
    QVERIFY(QTest::qWaitForWindowExposed(&f.view));
    const QRect plot = f.view.plotRect();
    const qint64 from = f.view.fromMs();
    const double at = f.view.timeAtX(plot.center().x());
    QWidget *viewport = f.view.viewport();
    QTest::mousePress(viewport, Qt::LeftButton, {}, plot.center());
    QMouseEvent move(QEvent::MouseMove, QPointF(plot.center() + QPoint(120, 0)),
                     viewport->mapToGlobal(QPointF(plot.center() + QPoint(120, 0))), Qt::NoButton,
                     Qt::LeftButton, Qt::NoModifier);
    QCoreApplication::sendEvent(viewport, &move);
    QTest::mouseRelease(viewport, Qt::LeftButton, {}, plot.center() + QPoint(120, 0));
    // What was under the pointer moved with it, and a drag selects nothing.
    QVERIFY(f.view.fromMs() < from);
    QVERIFY(std::abs(f.view.timeAtX(plot.center().x() + 120) - at) < 2);
    QCOMPARE(f.view.selectedRow(), -1);
}

void TestTimeline::clickSelectsTheNearestMark()
{
    ViewFixture f(incident());
    QVERIFY(QTest::qWaitForWindowExposed(&f.view));
    QSignalSpy selected(&f.view, &TimelineView::selectedChanged);
    // The gate failure of payments, clicked a few pixels off.
    const qsizetype failure = 4;
    QCOMPARE(f.index.sequenceAt(failure), 5);
    f.view.setVisibleRange(t0 + 100'000, t0 + 140'000);
    const QPoint near = f.view.markCentre(failure).toPoint() + QPoint(3, -2);
    QCOMPARE(f.view.rowAt(near), failure);
    QTest::mouseClick(f.view.viewport(), Qt::LeftButton, {}, near);
    QCOMPARE(selected.size(), 1);
    QCOMPARE(selected.at(0).at(0).value<qsizetype>(), failure);
    QCOMPARE(f.view.selectedRow(), failure);
    QVERIFY(f.view.describe(failure).contains(s("Gate failed")));
    // Far from any mark nothing is selected.
    QTest::mouseClick(f.view.viewport(), Qt::LeftButton, {},
                      QPoint(f.view.plotRect().right() - 5, near.y()));
    QCOMPARE(f.view.selectedRow(), -1);
    QTest::keyClick(&f.view, Qt::Key_Escape);
    QCOMPARE(selected.size(), 2);
}

void TestTimeline::denseLanesDrawCountsUntilZoomedIn()
{
    // A gate measured every second in each of two lanes for five hours.
    QList<JournalEntry> entries;
    for (int i = 0; i < 36'000; ++i)
        entries.append(entry(i + 1, t0 + i * 500, i % 2 ? payments : checkoutStaging,
                             s("gate-measured"), automaticActor, s("gate e: pass: fine")));
    entries[20'001].reason = s("gate e: fail: not fine");
    ViewFixture f(entries);
    QVERIFY(QTest::qWaitForWindowExposed(&f.view));
    QCOMPARE(f.view.lanes().size(), 2);
    QVERIFY(f.view.laneShowsDensity(payments));
    const QImage all = f.view.grab().toImage();
    // A minute: sixty marks a lane, well apart.
    f.view.setVisibleRange(t0 + 600'000, t0 + 660'000);
    QVERIFY(!f.view.laneShowsDensity(payments));
    QVERIFY(!f.view.laneShowsDensity(checkoutStaging));
    const QImage minute = f.view.grab().toImage();
    QVERIFY(minute != all);
    // Zoomed out, the failure among the counts is still marked in its colour.
    const QColor failed = timelineCategoryColor(TimelineCategory::GateFail, f.view.palette());
    auto hasColor = [&failed](const QImage &image, const QRect &area) {
        for (int y = area.top(); y <= area.bottom(); ++y) {
            for (int x = area.left(); x <= area.right(); ++x) {
                if (image.pixelColor(x, y) == failed)
                    return true;
            }
        }
        return false;
    };
    QTest::keyClick(&f.view, Qt::Key_Home);
    const QImage again = f.view.grab().toImage();
    const qsizetype failure = f.index.rowOf(20'002, t0 + 20'001 * 500);
    const QPoint at = f.view.markCentre(failure).toPoint();
    QVERIFY(hasColor(again, QRect(at - QPoint(12, 6), at + QPoint(12, 6))));
    // And only in its own lane, not in the other one above it.
    const QPoint above = at - QPoint(0, TimelineView::laneHeight);
    QVERIFY(!hasColor(again, QRect(above - QPoint(12, 6), above + QPoint(12, 6))));
}

void TestTimeline::emptyJournalSaysWhatWillAppear()
{
    TimelinePanel panel;
    QVERIFY(panel.showsEmptyState());
    panel.setEntries({});
    QVERIFY(panel.showsEmptyState());
    QCOMPARE(panel.emptyStateText(), s("No events yet. Releases, gate verdicts and operator "
                                       "actions appear here as they happen."));
    panel.setEntries(incident());
    QVERIFY(!panel.showsEmptyState());
}

void TestTimeline::entriesShowWithTheirCount()
{
    TimelinePanel panel;
    panel.resize(1200, 800);
    panel.setEntries(incident());
    QCOMPARE(panel.countText(), s("13 of 13 events"));
    QCOMPARE(panel.view()->lanes(),
             (QList<ServiceKey>{checkoutProduction, checkoutStaging, payments}));
    QCOMPARE(panel.model()->rowCount(), 13);
    QCOMPARE(panel.model()->index(0, TimelineModel::ReasonColumn).data().toString(),
             s("switch back to blue → haproxy: connection refused"));
}

void TestTimeline::filtersNarrowTheLanesAndTheList()
{
    TimelinePanel panel;
    panel.setEntries(incident());
    TimelineFilter filter;
    filter.categories
        = categoryBit(TimelineCategory::Rollback) | categoryBit(TimelineCategory::BackendError);
    panel.setFilter(filter);
    QCOMPARE(panel.countText(), s("5 of 13 events"));
    QCOMPARE(panel.view()->lanes().size(), 3);
    filter.origin = TimelineFilter::Origin::Operators;
    panel.setFilter(filter);
    QCOMPARE(panel.countText(), s("1 of 13 events"));
    QCOMPARE(panel.view()->lanes(), QList<ServiceKey>{checkoutProduction});

    panel.setCustomPeriod(t0, t0 + 150'000);
    QCOMPARE(panel.period(), TimelinePanel::Period::Custom);
    QCOMPARE(panel.countText(), s("0 of 13 events"));
    // The view shows the period chosen.
    QCOMPARE(panel.view()->fromMs(), t0);
    panel.clearFilters();
    QCOMPARE(panel.countText(), s("13 of 13 events"));
    QCOMPARE(panel.period(), TimelinePanel::Period::All);
}

void TestTimeline::searchWaitsForAPauseInTyping()
{
    TimelinePanel panel;
    panel.setEntries(incident());
    QSignalSpy shown(&panel, &TimelinePanel::matchesShown);
    QTest::keyClicks(panel.searchField(), s("HAPROXY"));
    QCOMPARE(shown.size(), 0);
    QTRY_COMPARE(panel.countText(), s("2 of 13 events"));
    QCOMPARE(shown.size(), 1);
    QCOMPARE(panel.filter().text, s("HAPROXY"));
}

void TestTimeline::periodsCountBackFromTheClock()
{
    VirtualClock clock(fromMSecsSinceEpoch(t0 + 3'600'000 + 250'000));
    TimelinePanel panel;
    panel.setClock(&clock);
    panel.setEntries(incident());
    panel.setPeriod(TimelinePanel::Period::LastHour);
    QCOMPARE(panel.filter().fromMs, t0 + 250'000);
    // Open at the end, so entries arriving later still show.
    QCOMPARE(panel.filter().toMs, std::nullopt);
    QCOMPARE(panel.countText(), s("5 of 13 events"));
    // The view shows the hour.
    QCOMPARE(panel.view()->fromMs(), t0 + 250'000);
    QCOMPARE(panel.view()->toMs(), t0 + 3'600'000 + 250'000);
    panel.setPeriod(TimelinePanel::Period::LastDay);
    QCOMPARE(panel.countText(), s("13 of 13 events"));
    clock.advanceTo(fromMSecsSinceEpoch(t0 + 8 * 24 * 3'600'000LL));
    panel.setPeriod(TimelinePanel::Period::LastWeek);
    QCOMPARE(panel.countText(), s("0 of 13 events"));
    panel.setPeriod(TimelinePanel::Period::All);
    QCOMPARE(panel.countText(), s("13 of 13 events"));
    QCOMPARE(panel.filter().fromMs, std::nullopt);
}

void TestTimeline::selectingShowsEveryDetail()
{
    TimelinePanel panel;
    panel.resize(1200, 800);
    panel.setEntries(incident());
    QCOMPARE(panel.detailsText(), QString());
    QVERIFY(!panel.selectedEntry());
    QSignalSpy selected(&panel, &TimelinePanel::selectedChanged);
    QVERIFY(panel.selectSequence(5));
    QCOMPARE(selected.size(), 1);
    QCOMPARE(panel.selectedEntry()->sequence, 5);
    QCOMPARE(panel.detailsText(), s("Gate failed\n"
                                    "When: Thu 2026-05-28 20:28:40.000 UTC\n"
                                    "Sequence: #5 · hash a3f09c7e5b12…\n"
                                    "Who: signalbox (automatic)\n"
                                    "Service: payments (production)\n"
                                    "Release: payments-r1\n"
                                    "Kind: gate-measured\n"
                                    "Reason: gate error_rate: fail: 2.10 % above 1.00 %\n"
                                    "error_rate.canary = 0.021\n"
                                    "error_rate.limit = 0.01"));
    // The list follows the timeline's selection, and the other way round.
    const QModelIndex current = panel.table()->currentIndex();
    QCOMPARE(
        panel.model()->data(current.siblingAtColumn(0), TimelineModel::SequenceRole).toLongLong(),
        5);
    panel.table()->setCurrentIndex(panel.model()->index(0, 0));
    QCOMPARE(panel.selectedEntry()->sequence, 13);
    QVERIFY(panel.detailsText().contains(s("Action: switch back to blue")));
    QVERIFY(panel.detailsText().contains(s("Outcome: haproxy: connection refused")));
    QVERIFY(panel.detailsText().contains(s("Who: signalbox (automatic)")));
    QVERIFY(panel.selectSequence(12));
    QVERIFY(panel.detailsText().contains(s("Who: carol (operator)")));
    QVERIFY(!panel.selectSequence(99));
}

void TestTimeline::focusServiceShowsOneLane()
{
    TimelinePanel panel;
    panel.setEntries(incident());
    panel.focusService(checkoutStaging);
    QCOMPARE(panel.view()->lanes(), QList<ServiceKey>{checkoutStaging});
    QCOMPARE(panel.countText(), s("4 of 13 events"));
    QCOMPARE(panel.filter().services, QSet<QString>{s("checkout")});
    QCOMPARE(panel.filter().environments, QSet<QString>{s("staging")});
}

void TestTimeline::largeJournalsFilterOffTheGuiThread()
{
    const QList<JournalEntry> entries = busyJournal(120'000);
    TimelinePanel panel;
    panel.setEntries(entries);
    QTRY_VERIFY(!panel.isBusy());
    QCOMPARE(panel.countText(), s("120,000 of 120,000 events"));
    TimelineFilter first;
    first.text = s("timeout");
    TimelineFilter second;
    second.services = {s("svc1")};
    second.text = s("refused");
    // The first filter's result is dropped: a newer one was asked for while it ran.
    panel.setFilter(first);
    QVERIFY(panel.isBusy());
    QVERIFY(panel.countText().endsWith(s("filtering…")));
    panel.setFilter(second);
    QTRY_VERIFY(!panel.isBusy());
    qsizetype expected = 0;
    for (const JournalEntry &e : entries)
        expected += e.service.name == s("svc1") && naiveMatch(e, s("refused"));
    QCOMPARE(panel.matchCount(), expected);
}

void TestTimeline::followsAJournal()
{
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    Journal journal(dir.filePath(s("journal.db")));
    QSignalSpy opened(&journal, &Journal::opened);
    QTRY_COMPARE(opened.size(), 1);
    QList<JournalEntry> first = incident().mid(0, 7);
    bool appended = false;
    journal.append(first, {}, [&appended](const auto &result) { appended = result.ok(); });
    QTRY_VERIFY(appended);

    TimelinePanel panel;
    panel.resize(1200, 800);
    panel.setJournal(&journal);
    QVERIFY(panel.showsEmptyState());
    QTRY_VERIFY(!panel.isBusy());
    QCOMPARE(panel.countText(), s("7 of 7 events"));

    // Details come from the journal, as stored: with their hash.
    QVERIFY(panel.selectSequence(5));
    QTRY_VERIFY(panel.detailsText().contains(s("Reason: gate error_rate: fail")));
    QVERIFY(panel.detailsText().contains(s("error_rate.canary = 0.021")));
    QVERIFY(panel.selectedEntry());
    QVERIFY(!panel.selectedEntry()->hash.isEmpty());
    QTRY_COMPARE(panel.model()->index(0, TimelineModel::ReasonColumn).data().toString(),
                 s("2.3.1 serves all traffic"));

    // New entries follow, in the list and on the lanes.
    appended = false;
    journal.append(incident().mid(7), {},
                   [&appended](const auto &result) { appended = result.ok(); });
    QTRY_VERIFY(appended);
    QTRY_COMPARE(panel.countText(), s("13 of 13 events"));
    QCOMPARE(panel.view()->lanes().size(), 3);
    QCOMPARE(panel.model()->rowCount(), 13);
}

QTEST_MAIN(TestTimeline)
#include "tst_timeline.moc"
