// The two journal costs the console feels. A durable append: an intent must be on the disk
// before the adapter is called, one entry, one fsync. Opening a long journal: open, walk and hash
// the whole chain, read the releases in flight, before the console can show what happened.

#include "benchstats.h"
#include "journal.h"

#include <QCoreApplication>
#include <QFile>
#include <QFileInfo>
#include <QStorageInfo>
#include <QTemporaryDir>

#include <cstdlib>
#include <ctime>
#include <random>

#include <unistd.h>

namespace {

constexpr int defaultOpenRuns = 3;
constexpr int defaultAppends = 500;
constexpr int warmupAppends = 20;
constexpr qint64 longJournalEntries = 1000000;
// Large batches build the long journal quickly; each is one transaction like any append.
constexpr int buildBatch = 20000;
constexpr double appendTargetMs = 2;
constexpr double openTargetS = 2;

const char *const services[]
    = {"checkout", "search", "payments", "catalog", "accounts", "shipping", "pricing", "reviews"};
const char *const environments[] = {"production", "staging"};
const char *const metrics[] = {"error_rate.canary", "error_rate.baseline", "error_rate.limit",
                               "latency.p99_ms.canary", "latency.p99_ms.baseline"};

// Entries like a busy console writes: mostly gate measurements with a reason of 60 to 120
// characters and 3 to 5 metric values, then intents and outcomes of backend calls.
class EntryMaker
{
public:
    sb::JournalEntry next()
    {
        sb::JournalEntry entry;
        m_at += sb::Duration(250 + m_random() % 1500);
        entry.at = m_at;
        const unsigned pick = m_random();
        entry.service
            = {QLatin1String(services[pick % 8]), QLatin1String(environments[pick / 8 % 2])};
        entry.releaseId = entry.service.name + QStringLiteral("-2.%1.0").arg(pick / 16 % 40);
        entry.stage = int(pick / 640 % 5);
        const unsigned kind = pick / 3200 % 10;
        if (kind < 6) {
            entry.actor = sb::automaticActor;
            entry.kind = toString(sb::ReleaseEvent::Kind::GateMeasured);
            entry.reason = QStringLiteral(
                               "error rate %1 % on the canary against %2 % on the baseline, under "
                               "the %3 % limit over %4 requests")
                               .arg(double(m_random() % 10000) / 1e4, 0, 'f', 4)
                               .arg(double(m_random() % 10000) / 1e4, 0, 'f', 4)
                               .arg(1.0, 0, 'f', 2)
                               .arg(m_random() % 100000);
            entry.reason.truncate(60 + int(m_random() % 61));
            const int values = 3 + int(m_random() % 3);
            for (int i = 0; i < values; ++i)
                entry.values.insert(QLatin1String(metrics[i]),
                                    std::uniform_real_distribution<double>(0, 0.05)(m_random));
        } else {
            entry.actor = kind == 9 ? QStringLiteral("alice.jones") : sb::automaticActor;
            entry.kind = kind < 8 ? sb::journalkind::intent : sb::journalkind::outcome;
            entry.action = QStringLiteral("set the canary weight to %1 % on the router")
                               .arg(5 * (1 + entry.stage));
            entry.reason = QStringLiteral("stage %1 began after a clean bake of 10 minutes; the "
                                          "gates held for every interval")
                               .arg(entry.stage + 1);
            entry.reason.truncate(60 + int(m_random() % 61));
            if (entry.kind == sb::journalkind::outcome) {
                entry.outcome = QStringLiteral("ok");
                entry.intent = 1 + m_made / 2;
            }
            entry.values = {{QStringLiteral("weight.canary"), 5.0 * (1 + entry.stage)},
                            {QStringLiteral("weight.stable"), 100 - 5.0 * (1 + entry.stage)},
                            {QStringLiteral("instances.canary"), double(1 + entry.stage)}};
        }
        ++m_made;
        return entry;
    }

private:
    std::mt19937 m_random{20261124};
    sb::TimePoint m_at = sb::fromMSecsSinceEpoch(1795000000000);
    qint64 m_made = 0;
};

std::unique_ptr<sb::JournalStore> openOrDie(const QString &path)
{
    auto opened = sb::JournalStore::open(path);
    if (!opened)
        qFatal("%s", qPrintable(opened.error()));
    return std::move(opened).value();
}

struct AppendTimes {
    std::vector<double> appends;
    // The disk's own flush of one overwritten 4 KiB page, taken between the appends so both see
    // the same neighbours: what an append costs beyond it is the journal's.
    std::vector<double> flushes;
};

AppendTimes appendTimes(const QString &path, const QString &flushPath, int appends)
{
    auto store = openOrDie(path);
    QFile flushFile(flushPath);
    if (!flushFile.open(QIODevice::ReadWrite))
        qFatal("cannot write %s", qPrintable(flushPath));
    const QByteArray page(4096, 'x');
    EntryMaker maker;
    AppendTimes times;
    for (int i = 0; i < warmupAppends + appends; ++i) {
        QList<sb::JournalEntry> entries{maker.next()};
        auto start = std::chrono::steady_clock::now();
        const auto appended = store->append(std::move(entries));
        const double appendMs = sb::bench::millisecondsSince(start);
        if (!appended)
            qFatal("%s", qPrintable(appended.error()));

        start = std::chrono::steady_clock::now();
        if (::pwrite(flushFile.handle(), page.constData(), size_t(page.size()), 0) != page.size()
            || ::fdatasync(flushFile.handle()) != 0)
            qFatal("cannot flush %s", qPrintable(flushPath));
        const double flushMs = sb::bench::millisecondsSince(start);
        if (i >= warmupAppends) {
            times.appends.push_back(appendMs);
            times.flushes.push_back(flushMs);
        }
    }
    return times;
}

void buildLongJournal(const QString &path)
{
    const auto start = std::chrono::steady_clock::now();
    auto store = openOrDie(path);
    EntryMaker maker;
    for (qint64 made = 0; made < longJournalEntries; made += buildBatch) {
        QList<sb::JournalEntry> entries;
        entries.reserve(buildBatch);
        for (int i = 0; i < buildBatch; ++i)
            entries.append(maker.next());
        // One release in flight, as a console that stopped mid-release leaves it.
        const QList<sb::ReleaseRecord> releases{
            {entries.last().service, entries.last().releaseId, QByteArray(2000, 'x')}};
        const auto appended = store->append(std::move(entries), releases);
        if (!appended)
            qFatal("%s", qPrintable(appended.error()));
    }
    std::printf("# built %lld entries (%.0f MB) in %.1f s\n",
                static_cast<long long>(store->lastSequence()), double(QFileInfo(path).size()) / 1e6,
                sb::bench::millisecondsSince(start) / 1000);
}

struct OpenTime {
    double wallSeconds;
    // Of every thread, so it holds still when neighbours take the cores and the wall time grows.
    double cpuSeconds;
};

// Open, verify and read the releases in flight in a fresh store, as the console does on start.
OpenTime openVerify(const QString &path)
{
    const auto start = std::chrono::steady_clock::now();
    const std::clock_t cpuStart = std::clock();
    auto store = openOrDie(path);
    const sb::JournalCheck check = store->verify();
    const auto inFlight = store->savedReleases();
    const OpenTime time{sb::bench::millisecondsSince(start) / 1000,
                        double(std::clock() - cpuStart) / CLOCKS_PER_SEC};
    if (!check.intact() || check.entries != longJournalEntries || !inFlight
        || inFlight.value().isEmpty())
        qFatal("the long journal did not verify: %lld entries, %s",
               static_cast<long long>(check.entries), qPrintable(check.problem));
    return time;
}

} // namespace

int main(int argc, char **argv)
{
    QCoreApplication app(argc, argv);
    const int openRuns = argc > 1 ? std::max(1, std::atoi(argv[1])) : defaultOpenRuns;
    const int appends = argc > 2 ? std::max(1, std::atoi(argv[2])) : defaultAppends;
    char method[200];
    std::snprintf(method, sizeof method,
                  "medians of %d one-entry appends after %d warm-up ones, and of %d opens of a "
                  "%lld-entry journal",
                  appends, warmupAppends, openRuns, static_cast<long long>(longJournalEntries));
    sb::bench::printHeader("bench_journal", method);

    QTemporaryDir dir;
    if (!dir.isValid())
        qFatal("cannot create a temporary folder: %s", qPrintable(dir.errorString()));
    const QString fileSystem = QString::fromUtf8(QStorageInfo(dir.path()).fileSystemType());
    std::printf("# journals in %s (%s), synchronous=FULL: every append waits for its fsync\n",
                qPrintable(dir.path()), qPrintable(fileSystem));
    if (fileSystem == QLatin1String("tmpfs") || fileSystem == QLatin1String("ramfs"))
        std::fprintf(stderr,
                     "bench_journal: %s is in memory, so the append figures do not "
                     "measure a disk; set TMPDIR to a folder on one\n",
                     qPrintable(dir.path()));
    std::fflush(stdout);

    const AppendTimes times = appendTimes(dir.filePath(QStringLiteral("append.sqlite")),
                                          dir.filePath(QStringLiteral("flush.bin")), appends);
    sb::bench::printFigure("journal_append_median_ms", sb::bench::median(times.appends), 3);
    sb::bench::printFigure("journal_append_p95_ms", sb::bench::percentile(times.appends, 95), 3);
    sb::bench::printFigure("journal_append_median_target_ms", appendTargetMs, 0);
    sb::bench::printFigure("journal_disk_flush_median_ms", sb::bench::median(times.flushes), 3);
    std::fflush(stdout);

    const QString longPath = dir.filePath(QStringLiteral("long.sqlite"));
    buildLongJournal(longPath);
    std::printf("# the file was just written, so the opens read it from the page cache\n");
    std::vector<double> wall;
    std::vector<double> cpu;
    for (int run = 0; run < openRuns; ++run) {
        const OpenTime time = openVerify(longPath);
        wall.push_back(time.wallSeconds);
        cpu.push_back(time.cpuSeconds);
    }
    sb::bench::printFigure("journal_open_verify_1m_s", sb::bench::median(wall), 3);
    sb::bench::printFigure("journal_open_verify_1m_s_max",
                           *std::max_element(wall.begin(), wall.end()), 3);
    sb::bench::printFigure("journal_open_verify_1m_target_s", openTargetS, 0);
    sb::bench::printFigure("journal_open_verify_1m_cpu_s", sb::bench::median(cpu), 3);
    return 0;
}
