#pragma once

#include "fleet.h"
#include "releaseevent.h"
#include "result.h"
#include "timepoint.h"

#include <QByteArray>
#include <QList>
#include <QMap>
#include <QObject>
#include <QString>

#include <functional>
#include <memory>
#include <optional>

class QIODevice;
class QThread;

namespace sb {

// One line of the audit trail: an operator's action, an automatic decision, what was asked of a
// backend and what it answered. Entries are only ever appended; each carries the hash of the one
// before it, so an entry changed or removed afterwards breaks the chain from there on.
//
// What the chain proves, and what it cannot: verify() finds an entry whose fields were changed,
// an entry removed from the middle, entries reordered or renumbered, and a changed hash, and
// names the first such entry. It cannot see entries cut from the end: a shorter chain is still a
// valid chain. Nor can it see a chain rewritten from some entry on by someone who recomputes
// every later hash. Both need an anchor kept outside the file: JournalCheck::lastHash written
// down elsewhere (an export, a ticket, a second journal) proves later that the chain still
// reaches it.
struct JournalEntry {
    qint64 sequence = 0; // 1, 2, 3, ... with no gaps; assigned by the journal
    TimePoint at;        // UTC, as the console's clock read it
    QString actor;       // the operator, or automaticActor for decisions nobody clicked
    ServiceKey service;  // empty for entries about the console itself
    QString releaseId;
    QString kind;   // a ReleaseEvent kind ("gate-measured") or one of journalkind below
    int stage = -1; // 0-based canary stage; -1 when not about a stage
    QString action; // intents and outcomes: what was asked of a backend, in words
    QString reason;
    QString outcome;   // outcomes: "ok", or the backend's error; empty otherwise
    qint64 intent = 0; // outcomes: the sequence of the intent they answer
    // The metric values the decision saw, as ReleaseEvent::values.
    QMap<QString, double> values;
    QByteArray previousHash; // hex BLAKE2b-256 of the previous entry; empty for the first
    QByteArray hash;         // hex BLAKE2b-256 over previousHash and every field above

    friend bool operator==(const JournalEntry &, const JournalEntry &) = default;
};

namespace journalkind {
// Written and made durable before an adapter is called.
inline const QString intent = QStringLiteral("action-intent");
// What the adapter answered (outcome "ok" or its error), or that it did not answer in time.
inline const QString outcome = QStringLiteral("action-outcome");
// A release in flight when the console stopped, taken up again paused.
inline const QString restored = QStringLiteral("release-restored");
// An operator asked for a rollback; the entries that carry it out follow.
inline const QString rollbackRequested = QStringLiteral("rollback-requested");
} // namespace journalkind

// The entry for a release event (sequence and hashes left for the journal to fill in).
JournalEntry journalEntry(const ReleaseEvent &event);
// The release event an entry records, when its kind is one; nothing for journal-only kinds.
std::optional<ReleaseEvent> releaseEvent(const JournalEntry &entry);

// The hex BLAKE2b-256 an entry must carry, from its fields and previousHash.
QByteArray entryHash(const JournalEntry &entry);

// What opening a journal found.
struct JournalCheck {
    qint64 entries = 0;
    // The first entry whose hash does not match its contents or whose link to the one before it
    // is broken (a change, a removal, a reordering); 0 when the chain holds.
    qint64 firstBroken = 0;
    QString problem; // in words, naming the entry: "entry 41 (2026-11-24 09:12:03 UTC, ...) ..."
    // The hash of the last entry when the chain holds; empty for an empty or broken journal.
    QByteArray lastHash;

    bool intact() const { return firstBroken == 0 && problem.isEmpty(); }
};

// The saved state of a service's latest release, so a restarted console can take it up again if
// it was in flight, or still roll it back if it had finished. `state` is releasecodec's JSON; the
// journal stores it as it is given.
// One record per service: saving replaces the service's previous record. The records are state,
// not history, so the hash chain does not cover them; decodeRelease() checks what it reads.
struct ReleaseRecord {
    ServiceKey service;
    QString releaseId;
    // Empty: the release finished, forget the service's record (only if it is this release's,
    // when releaseId is given, so a late "finished" never drops a newer release).
    QByteArray state;

    friend bool operator==(const ReleaseRecord &, const ReleaseRecord &) = default;
};

// Which entries a listing or an export wants. Empty fields match everything.
struct JournalFilter {
    QString service; // ServiceKey::name
    QString environment;
    QString releaseId;
    QString kind;
    QString actor;
    std::optional<TimePoint> from; // inclusive
    std::optional<TimePoint> to;   // exclusive
    qint64 afterSequence = 0;      // entries after this one
    qint64 limit = -1;             // at most this many, oldest first; -1 for all

    bool matches(const JournalEntry &entry) const;
};

// The journal in an SQLite file through Qt SQL: write-ahead log, every append one transaction
// that is on disk before append() returns. Synchronous and bound to the thread that opened it;
// the console reaches it through Journal below, the command line and the tests directly. Two
// processes may append to one file: each append takes the write lock first and reads the
// chain's end inside its own transaction.
//
// Schema (PRAGMA application_id 0x53424a4c "SBJL", user_version 1): `entries` keeps sequence,
// previous_hash and hash (raw BLAKE2b-256 bytes) and `body`, the other fields as one compact JSON
// array; the columns at, actor, service, ... are generated from the body for filters and for
// reading the file by hand, so they can never disagree with what was hashed. Triggers refuse
// updates and deletes. `releases` keeps one ReleaseRecord per service.
class JournalStore
{
public:
    // Opens the file, creating it and its folder when missing. Fails, in words naming the file,
    // when it is not a journal or cannot be opened for writing. Does not verify.
    static Result<std::unique_ptr<JournalStore>, QString> open(const QString &path);
    ~JournalStore();
    JournalStore(const JournalStore &) = delete;
    JournalStore &operator=(const JournalStore &) = delete;

    const QString &path() const { return m_path; }

    // Appends `entries` in order and saves or forgets `releases` in the same transaction, durable
    // on return. Returns the entries as stored: sequences and hashes filled in.
    Result<QList<JournalEntry>, QString> append(QList<JournalEntry> entries,
                                                const QList<ReleaseRecord> &releases = {});
    // Walks the whole chain, hashing on several threads.
    JournalCheck verify() const;
    qint64 lastSequence() const;

    // Entries matching `filter`, oldest first.
    Result<QList<JournalEntry>, QString> entries(const JournalFilter &filter = {}) const;
    // Calls `visit` for every matching entry without holding them all; stops when it returns
    // false. `visit` must not append: the listing holds the file open for reading.
    Result<Done, QString> forEach(const JournalFilter &filter,
                                  const std::function<bool(const JournalEntry &)> &visit) const;
    // The releases saved, one per service: in flight, or the latest finished.
    Result<QList<ReleaseRecord>, QString> savedReleases() const;

    // One JSON object per line, fields named as in JournalEntry ("sequence", "at" as ISO 8601
    // UTC with milliseconds, "previous_hash", ...); and CSV with a header row (RFC 4180 quoting,
    // values as "name=value;..."). Both include the hashes, so an export can be checked.
    Result<qint64, QString> exportJsonLines(QIODevice *out, const JournalFilter &filter = {}) const;
    Result<qint64, QString> exportCsv(QIODevice *out, const JournalFilter &filter = {}) const;

private:
    explicit JournalStore(QString path, QString connectionName);

    QString m_path;
    QString m_connection; // Qt SQL connection name, unique per store
};

// The console's journal: a JournalStore on a thread of its own, so no disk flush ever waits on
// the GUI thread. Calls are queued and run in the order made; answers come back on the thread
// that owns this object.
class Journal : public QObject
{
    Q_OBJECT
public:
    enum class Threading {
        OwnThread, // the console on the real clock: no disk flush ever waits on its thread
        // Queued on the caller's own event loop instead: for runs on a virtual clock, where a
        // simulated minute passes in milliseconds and the journal must keep pace with it.
        CallersThread,
    };
    // Opens and verifies `path` on the journal's thread; `opened` or `openFailed` follows.
    explicit Journal(const QString &path, QObject *parent = nullptr,
                     Threading threading = Threading::OwnThread);
    // Waits for queued appends to reach the disk, then closes.
    ~Journal() override;

    const QString &path() const { return m_path; }

    using Appended = std::function<void(const Result<QList<JournalEntry>, QString> &)>;
    // As JournalStore::append; `done` is called once the entries are durable, or with the error.
    // A journal that failed to open answers every append with that error.
    void append(QList<JournalEntry> entries, QList<ReleaseRecord> releases, Appended done);
    // Runs `work` on the journal's thread with its store (nullptr when it failed to open), then
    // `done` back on this object's thread. For reads the console must not wait for.
    //
    // Answers for work that completes while this object is being destroyed are dropped; the
    // work itself is done.
    void run(std::function<void(JournalStore *)> work, std::function<void()> done);

Q_SIGNALS:
    // The journal is open: what verifying found, and the releases saved.
    void opened(const sb::JournalCheck &check, const QList<sb::ReleaseRecord> &saved);
    void openFailed(const QString &error);
    // Entries as stored, after every successful append (after its `done`).
    void appended(const QList<sb::JournalEntry> &entries);

private:
    QString m_path;
    QThread *m_thread; // null on the caller's thread
    // Lives on m_thread, or on the owner's thread without one; owns the store there.
    QObject *m_worker;
};

} // namespace sb

Q_DECLARE_METATYPE(sb::JournalCheck)
Q_DECLARE_METATYPE(sb::JournalEntry)
Q_DECLARE_METATYPE(sb::ReleaseRecord)
