#include "journal.h"

#include <QCoreApplication>
#include <QCryptographicHash>
#include <QDateTime>
#include <QDir>
#include <QFileInfo>
#include <QIODevice>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QJsonParseError>
#include <QLocale>
#include <QSqlDatabase>
#include <QSqlError>
#include <QSqlQuery>
#include <QThread>
#include <QThreadPool>
#include <QtEndian>

#include <atomic>
#include <cmath>
#include <deque>
#include <future>
#include <vector>

namespace sb {

namespace {

// "SBJL" in the SQLite header marks the file as a journal, so another program's database is
// refused rather than written into.
constexpr int applicationId = 0x53424a4c;
constexpr int schemaVersion = 1;
// Another process appending holds the write lock for one fsync; a checkpoint for a few more.
constexpr int busyTimeoutMs = 5000;
// Rows handed to one hashing task while verifying: large enough that a task outweighs its
// scheduling, small enough that the reader never waits long for a free thread.
constexpr int verifyBatchRows = 4096;

// Positions in the JSON array of an entry's body.
namespace field {
enum : int {
    At,
    Actor,
    Service,
    Environment,
    ReleaseId,
    Kind,
    Stage,
    Action,
    Reason,
    Outcome,
    Intent,
    Values,
    Count
};
} // namespace field

// The generated columns mirror the body's positions above.
const char *const schema[] = {
    "CREATE TABLE entries ("
    " sequence INTEGER PRIMARY KEY,"
    " previous_hash BLOB NOT NULL,"
    " hash BLOB NOT NULL,"
    " body TEXT NOT NULL,"
    " at INTEGER GENERATED ALWAYS AS (json_extract(body, '$[0]')) VIRTUAL,"
    " actor TEXT GENERATED ALWAYS AS (json_extract(body, '$[1]')) VIRTUAL,"
    " service TEXT GENERATED ALWAYS AS (json_extract(body, '$[2]')) VIRTUAL,"
    " environment TEXT GENERATED ALWAYS AS (json_extract(body, '$[3]')) VIRTUAL,"
    " release_id TEXT GENERATED ALWAYS AS (json_extract(body, '$[4]')) VIRTUAL,"
    " kind TEXT GENERATED ALWAYS AS (json_extract(body, '$[5]')) VIRTUAL,"
    " stage INTEGER GENERATED ALWAYS AS (json_extract(body, '$[6]')) VIRTUAL,"
    " action TEXT GENERATED ALWAYS AS (json_extract(body, '$[7]')) VIRTUAL,"
    " reason TEXT GENERATED ALWAYS AS (json_extract(body, '$[8]')) VIRTUAL,"
    " outcome TEXT GENERATED ALWAYS AS (json_extract(body, '$[9]')) VIRTUAL,"
    " intent INTEGER GENERATED ALWAYS AS (json_extract(body, '$[10]')) VIRTUAL,"
    " metric_values TEXT GENERATED ALWAYS AS (json_extract(body, '$[11]')) VIRTUAL)",
    "CREATE INDEX entries_by_service ON entries (service, environment)",
    "CREATE INDEX entries_by_release ON entries (release_id)",
    "CREATE INDEX entries_by_time ON entries (at)",
    // Stops mistakes; a determined editor drops these first, and the hash chain shows it.
    "CREATE TRIGGER entries_no_update BEFORE UPDATE ON entries"
    " BEGIN SELECT RAISE(ABORT, 'journal entries are append-only'); END",
    "CREATE TRIGGER entries_no_delete BEFORE DELETE ON entries"
    " BEGIN SELECT RAISE(ABORT, 'journal entries are append-only'); END",
    "CREATE TABLE releases ("
    " service TEXT NOT NULL,"
    " environment TEXT NOT NULL,"
    " release_id TEXT NOT NULL,"
    " state BLOB NOT NULL,"
    " PRIMARY KEY (service, environment)) WITHOUT ROWID",
};

QString errorText(const QSqlError &error)
{
    const QString text = error.databaseText();
    return text.isEmpty() ? error.text() : text;
}

QString displayPath(const QString &path)
{
    return QDir::toNativeSeparators(path);
}

// A null QString binds as NULL, which the NOT NULL columns refuse.
QString notNull(const QString &text)
{
    return text.isNull() ? QStringLiteral("") : text;
}

// Text as SQLite will hold it: valid UTF-8, so what was hashed is what is stored.
QString normalized(const QString &text)
{
    return QString::fromUtf8(text.toUtf8());
}

void appendJsonString(QByteArray &out, const QString &text)
{
    static const char hexDigits[] = "0123456789abcdef";
    out += '"';
    for (const char c : text.toUtf8()) {
        switch (c) {
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        case '\n': out += "\\n"; break;
        case '\r': out += "\\r"; break;
        case '\t': out += "\\t"; break;
        default:
            if (uchar(c) < 0x20) {
                out += "\\u00";
                out += hexDigits[uchar(c) >> 4];
                out += hexDigits[uchar(c) & 0xf];
            } else {
                out += c;
            }
        }
    }
    out += '"';
}

// The shortest text that reads back as the same double (a negative zero as zero). JSON has no
// NaN or infinities, so they are strings.
void appendJsonDouble(QByteArray &out, double value)
{
    if (std::isnan(value))
        out += "\"NaN\"";
    else if (std::isinf(value))
        out += value > 0 ? "\"Infinity\"" : "\"-Infinity\"";
    else
        out += QByteArray::number(value, 'g', QLocale::FloatingPointShortest);
}

std::optional<double> jsonDouble(const QJsonValue &value)
{
    if (value.isDouble())
        return value.toDouble();
    const QString text = value.toString();
    if (text == QLatin1String("NaN"))
        return qQNaN();
    if (text == QLatin1String("Infinity"))
        return qInf();
    if (text == QLatin1String("-Infinity"))
        return -qInf();
    return std::nullopt;
}

void appendJsonValues(QByteArray &out, const QMap<QString, double> &values)
{
    out += '{';
    for (auto it = values.cbegin(); it != values.cend(); ++it) {
        if (it != values.cbegin())
            out += ',';
        appendJsonString(out, it.key());
        out += ':';
        appendJsonDouble(out, it.value());
    }
    out += '}';
}

// Every field but sequence and the hashes, as a JSON array in `field` order. Written by hand
// rather than by QJsonDocument so the bytes, and so the hashes, never depend on Qt's formatting.
QByteArray encodeBody(const JournalEntry &entry)
{
    QByteArray body;
    body.reserve(160 + entry.reason.size() + 32 * entry.values.size());
    body += '[';
    body += QByteArray::number(toMSecsSinceEpoch(entry.at));
    for (const QString *text : {&entry.actor, &entry.service.name, &entry.service.environment,
                                &entry.releaseId, &entry.kind}) {
        body += ',';
        appendJsonString(body, *text);
    }
    body += ',';
    body += QByteArray::number(entry.stage);
    for (const QString *text : {&entry.action, &entry.reason, &entry.outcome}) {
        body += ',';
        appendJsonString(body, *text);
    }
    body += ',';
    body += QByteArray::number(entry.intent);
    body += ',';
    appendJsonValues(body, entry.values);
    body += ']';
    return body;
}

// Fills every field but sequence and the hashes; an error says what is wrong.
std::optional<QString> decodeBody(const QByteArray &body, JournalEntry &entry)
{
    QJsonParseError error;
    const QJsonDocument document = QJsonDocument::fromJson(body, &error);
    if (error.error != QJsonParseError::NoError)
        return error.errorString();
    const QJsonArray fields = document.array();
    if (!document.isArray() || fields.size() != field::Count)
        return QStringLiteral("not an array of %1 fields").arg(int(field::Count));
    const auto text = [&](int position) { return fields.at(position).toString(); };
    entry.at = fromMSecsSinceEpoch(fields.at(field::At).toInteger());
    entry.actor = text(field::Actor);
    entry.service = ServiceKey{text(field::Service), text(field::Environment)};
    entry.releaseId = text(field::ReleaseId);
    entry.kind = text(field::Kind);
    entry.stage = int(fields.at(field::Stage).toInteger(-1));
    entry.action = text(field::Action);
    entry.reason = text(field::Reason);
    entry.outcome = text(field::Outcome);
    entry.intent = fields.at(field::Intent).toInteger();
    entry.values.clear();
    const QJsonObject values = fields.at(field::Values).toObject();
    for (auto it = values.begin(); it != values.end(); ++it) {
        const std::optional<double> value = jsonDouble(it.value());
        if (!value)
            return QStringLiteral("the value of %1 is not a number").arg(it.key());
        entry.values.insert(it.key(), *value);
    }
    return std::nullopt;
}

// The raw BLAKE2b-256 of an entry: its sequence, the previous entry's raw hash, each behind a fixed
// width or a length, then the body. BLAKE2b is as much a cryptographic hash as SHA-256 and about
// twice as fast in Qt 6.4, which keeps verifying a million entries within 2 s on two cores. The
// body is JSON with every string quoted and escaped, so no two different entries share an encoding.
// The view points into `hash`.
QByteArrayView digest(QCryptographicHash &hash, qint64 sequence, QByteArrayView previous,
                      QByteArrayView body)
{
    char prefix[12];
    qToBigEndian<qint64>(sequence, prefix);
    qToBigEndian<quint32>(quint32(previous.size()), prefix + 8);
    hash.reset();
    hash.addData(QByteArrayView(prefix, sizeof prefix));
    hash.addData(previous);
    hash.addData(body);
    return hash.resultView();
}

// Begins on construction, rolls back unless committed.
class Transaction
{
public:
    Transaction(const QSqlDatabase &db, const char *begin)
        : m_db(db)
    {
        QSqlQuery query(m_db);
        m_open = query.exec(QString::fromLatin1(begin));
        if (!m_open)
            m_error = errorText(query.lastError());
    }
    ~Transaction()
    {
        if (m_open)
            QSqlQuery(m_db).exec(QStringLiteral("ROLLBACK"));
    }
    Transaction(const Transaction &) = delete;
    Transaction &operator=(const Transaction &) = delete;

    bool isOpen() const { return m_open; }
    const QString &error() const { return m_error; }
    bool commit()
    {
        QSqlQuery query(m_db);
        if (!query.exec(QStringLiteral("COMMIT"))) {
            m_error = errorText(query.lastError());
            return false;
        }
        m_open = false;
        return true;
    }

private:
    QSqlDatabase m_db;
    bool m_open = false;
    QString m_error;
};

std::optional<QVariant> scalar(const QSqlDatabase &db, const QString &sql, QString *error)
{
    QSqlQuery query(db);
    if (!query.exec(sql) || !query.next()) {
        *error = errorText(query.lastError());
        return std::nullopt;
    }
    return query.value(0);
}

// What the SQLite header and schema say the file is.
struct Identity {
    int applicationId = 0;
    int version = 0;
    qint64 schemaObjects = 0;

    // A file with nothing in it yet becomes a journal.
    bool isNew() const { return applicationId == 0 && schemaObjects == 0; }
};

std::optional<Identity> readIdentity(const QSqlDatabase &db, QString *error)
{
    const auto id = scalar(db, QStringLiteral("PRAGMA application_id"), error);
    const auto version
        = id ? scalar(db, QStringLiteral("PRAGMA user_version"), error) : std::nullopt;
    const auto objects
        = version ? scalar(db, QStringLiteral("SELECT count(*) FROM sqlite_schema"), error)
                  : std::nullopt;
    if (!objects)
        return std::nullopt;
    return Identity{id->toInt(), version->toInt(), objects->toLongLong()};
}

// Why a file that is not new cannot be used as this version's journal, if it cannot.
std::optional<QString> refusal(const Identity &identity, const QString &file)
{
    if (identity.applicationId == 0)
        return QStringLiteral("%1 is an SQLite database with tables of its own, not a Signalbox "
                              "journal: choose another file")
            .arg(file);
    if (identity.applicationId != applicationId)
        return QStringLiteral("%1 is the database of another program, not a Signalbox journal: "
                              "choose another file")
            .arg(file);
    if (identity.version > schemaVersion)
        return QStringLiteral("%1 was written by a newer Signalbox (journal format %2; this one "
                              "reads format %3): open it with that version, or choose another file")
            .arg(file)
            .arg(identity.version)
            .arg(schemaVersion);
    if (identity.version < 1)
        return QStringLiteral("%1 is a damaged journal: its format is missing. Restore it from a "
                              "backup, or choose another file")
            .arg(file);
    return std::nullopt;
}

// Checks what the file holds before changing anything in it, then switches it to the
// write-ahead log and full sync and creates the tables when the file is new.
std::optional<QString> prepare(const QSqlDatabase &db, const QString &path)
{
    const QString file = displayPath(path);
    QString error;
    const auto identity = readIdentity(db, &error);
    if (!identity) {
        if (error.contains(QLatin1String("not a database")))
            return QStringLiteral("%1 is not a Signalbox journal (it is not an SQLite database): "
                                  "choose another file, or move this one away")
                .arg(file);
        return QStringLiteral("cannot read the journal %1: %2").arg(file, error);
    }
    if (!identity->isNew()) {
        if (auto problem = refusal(*identity, file))
            return problem;
    }

    const auto mode = scalar(db, QStringLiteral("PRAGMA journal_mode=WAL"), &error);
    if (!mode)
        return QStringLiteral("cannot write to the journal %1: %2").arg(file, error);
    if (mode->toString().compare(QLatin1String("wal"), Qt::CaseInsensitive) != 0)
        return QStringLiteral("%1 cannot use a write-ahead log (SQLite kept journal mode \"%2\"): "
                              "keep the journal on a local disk")
            .arg(file, mode->toString());
    QSqlQuery(db).exec(QStringLiteral("PRAGMA synchronous=FULL"));
    // 2 is FULL: every commit is flushed to the disk before it returns.
    const auto synchronous = scalar(db, QStringLiteral("PRAGMA synchronous"), &error);
    if (!synchronous || synchronous->toInt() != 2)
        return QStringLiteral("cannot make the journal %1 flush every append to the disk: %2")
            .arg(file, synchronous
                           ? QStringLiteral("SQLite kept synchronous=%1").arg(synchronous->toInt())
                           : error);

    // The write lock first, so two consoles opening one new file create the tables once; it also
    // proves the file can be written.
    Transaction transaction(db, "BEGIN IMMEDIATE");
    if (!transaction.isOpen())
        return QStringLiteral("cannot write to the journal %1: %2").arg(file, transaction.error());
    const auto current = readIdentity(db, &error);
    if (!current)
        return QStringLiteral("cannot read the journal %1: %2").arg(file, error);
    if (current->isNew()) {
        QSqlQuery query(db);
        for (const char *statement : schema) {
            if (!query.exec(QString::fromLatin1(statement)))
                return QStringLiteral("cannot create the journal %1: %2")
                    .arg(file, errorText(query.lastError()));
        }
        if (!query.exec(QStringLiteral("PRAGMA application_id=%1").arg(applicationId))
            || !query.exec(QStringLiteral("PRAGMA user_version=%1").arg(schemaVersion)))
            return QStringLiteral("cannot create the journal %1: %2")
                .arg(file, errorText(query.lastError()));
    } else if (auto problem = refusal(*current, file)) {
        return problem;
    } else {
        const auto tables = scalar(db,
                                   QStringLiteral("SELECT count(*) FROM sqlite_schema WHERE "
                                                  "type = 'table' AND name IN ('entries', "
                                                  "'releases')"),
                                   &error);
        if (!tables || tables->toInt() != 2)
            return QStringLiteral("%1 is a damaged journal: its tables are missing. Restore it "
                                  "from a backup, or choose another file")
                .arg(file);
    }
    if (!transaction.commit())
        return QStringLiteral("cannot write to the journal %1: %2").arg(file, transaction.error());
    return std::nullopt;
}

// "entry 41 (2026-11-24 09:12:03 UTC, gate-measured, checkout/production)"
QString describe(qint64 sequence, const QByteArray &body)
{
    JournalEntry entry;
    if (decodeBody(body, entry))
        return QStringLiteral("entry %1 (unreadable)").arg(sequence);
    QString details = formatUtc(entry.at) + QStringLiteral(", ") + entry.kind;
    if (!entry.service.name.isEmpty())
        details += QStringLiteral(", ") + entry.service.id();
    return QStringLiteral("entry %1 (%2)").arg(sequence).arg(details);
}

struct StoredRow {
    qint64 sequence = 0;
    QByteArray previousHash; // raw
    QByteArray hash;         // raw
    QByteArray body;
};

QString rowsSql(const JournalFilter &filter, QVariantList &bindings)
{
    QString sql = QStringLiteral("SELECT sequence, previous_hash, hash, CAST(body AS BLOB) FROM "
                                 "entries WHERE sequence > ?");
    bindings << filter.afterSequence;
    const auto equal = [&](const char *column, const QString &value) {
        if (value.isEmpty())
            return;
        sql += QStringLiteral(" AND %1 = ?").arg(QLatin1String(column));
        bindings << value;
    };
    equal("service", filter.service);
    equal("environment", filter.environment);
    equal("release_id", filter.releaseId);
    equal("kind", filter.kind);
    equal("actor", filter.actor);
    if (filter.from) {
        sql += QStringLiteral(" AND at >= ?");
        bindings << toMSecsSinceEpoch(*filter.from);
    }
    if (filter.to) {
        sql += QStringLiteral(" AND at < ?");
        bindings << toMSecsSinceEpoch(*filter.to);
    }
    sql += QStringLiteral(" ORDER BY sequence");
    if (filter.limit >= 0) {
        sql += QStringLiteral(" LIMIT ?");
        bindings << filter.limit;
    }
    return sql;
}

QByteArray isoUtc(TimePoint at)
{
    return QDateTime::fromMSecsSinceEpoch(toMSecsSinceEpoch(at), Qt::UTC)
        .toString(Qt::ISODateWithMs)
        .toUtf8();
}

// Collects output and hands it to the device in large writes; the first failure sticks.
class Writer
{
public:
    explicit Writer(QIODevice *out)
        : m_out(out)
    {}
    QByteArray &buffer() { return m_buffer; }
    bool flushIfFull() { return m_buffer.size() < 1 << 16 || flush(); }
    bool flush()
    {
        if (!m_buffer.isEmpty() && m_out->write(m_buffer) != m_buffer.size())
            return false;
        m_buffer.clear();
        return true;
    }
    QString error() const
    {
        return QStringLiteral("cannot write the export: %1").arg(m_out->errorString());
    }

private:
    QIODevice *m_out;
    QByteArray m_buffer;
};

QByteArray csvField(const QByteArray &text)
{
    if (!text.contains(',') && !text.contains('"') && !text.contains('\n') && !text.contains('\r'))
        return text;
    QByteArray quoted = text;
    quoted.replace('"', "\"\"");
    return '"' + quoted + '"';
}

QByteArray csvValues(const QMap<QString, double> &values)
{
    QByteArray text;
    for (auto it = values.cbegin(); it != values.cend(); ++it) {
        if (!text.isEmpty())
            text += ';';
        text += it.key().toUtf8() + '=';
        // Strings in JSON, bare here.
        QByteArray number;
        appendJsonDouble(number, it.value());
        text += number.startsWith('"') ? number.mid(1, number.size() - 2) : number;
    }
    return text;
}

std::atomic<int> connectionCounter{0};

} // namespace

JournalEntry journalEntry(const ReleaseEvent &event)
{
    JournalEntry entry;
    entry.at = event.at;
    entry.actor = event.actor;
    entry.service = event.service;
    entry.releaseId = event.releaseId;
    entry.kind = toString(event.kind);
    entry.stage = event.stage;
    entry.reason = event.reason;
    entry.values = event.values;
    return entry;
}

std::optional<ReleaseEvent> releaseEvent(const JournalEntry &entry)
{
    const std::optional<ReleaseEvent::Kind> kind = releaseEventKind(entry.kind);
    if (!kind)
        return std::nullopt;
    ReleaseEvent event;
    event.at = entry.at;
    event.actor = entry.actor;
    event.service = entry.service;
    event.releaseId = entry.releaseId;
    event.kind = *kind;
    event.stage = entry.stage;
    event.reason = entry.reason;
    event.values = entry.values;
    return event;
}

QByteArray entryHash(const JournalEntry &entry)
{
    QCryptographicHash hash(QCryptographicHash::Blake2b_256);
    return digest(hash, entry.sequence, QByteArray::fromHex(entry.previousHash), encodeBody(entry))
        .toByteArray()
        .toHex();
}

bool JournalFilter::matches(const JournalEntry &entry) const
{
    const auto equal = [](const QString &wanted, const QString &actual) {
        return wanted.isEmpty() || wanted == actual;
    };
    return entry.sequence > afterSequence && equal(service, entry.service.name)
           && equal(environment, entry.service.environment) && equal(releaseId, entry.releaseId)
           && equal(kind, entry.kind) && equal(actor, entry.actor) && (!from || entry.at >= *from)
           && (!to || entry.at < *to);
}

JournalStore::JournalStore(QString path, QString connectionName)
    : m_path(std::move(path))
    , m_connection(std::move(connectionName))
{}

JournalStore::~JournalStore()
{
    {
        QSqlDatabase db = QSqlDatabase::database(m_connection, false);
        db.close();
    }
    QSqlDatabase::removeDatabase(m_connection);
}

Result<std::unique_ptr<JournalStore>, QString> JournalStore::open(const QString &path)
{
    const QFileInfo info(path);
    const QString file = displayPath(info.absoluteFilePath());
    if (!QDir().mkpath(info.absolutePath()))
        return QStringLiteral("cannot create the folder %1 for the journal: choose a writable "
                              "location")
            .arg(displayPath(info.absolutePath()));
    if (info.exists() && !info.isFile())
        return QStringLiteral("%1 is not a file: choose a file for the journal").arg(file);
    if (info.exists() && !info.isWritable())
        return QStringLiteral("cannot write to the journal %1: make it writable, or choose another "
                              "file")
            .arg(file);
    if (!QFileInfo(info.absolutePath()).isWritable())
        return QStringLiteral("cannot write in the folder %1, where the journal %2 keeps its log: "
                              "choose a writable location")
            .arg(displayPath(info.absolutePath()), file);

    std::unique_ptr<JournalStore> store(new JournalStore(
        info.absoluteFilePath(), QStringLiteral("signalbox-journal-%1").arg(++connectionCounter)));
    QSqlDatabase db = QSqlDatabase::addDatabase(QStringLiteral("QSQLITE"), store->m_connection);
    if (!db.isValid())
        return QStringLiteral("cannot open the journal %1: Qt's SQLite driver is missing (on "
                              "Debian, install libqt6sql6-sqlite)")
            .arg(file);
    db.setDatabaseName(info.absoluteFilePath());
    db.setConnectOptions(QStringLiteral("QSQLITE_BUSY_TIMEOUT=%1").arg(busyTimeoutMs));
    if (!db.open())
        return QStringLiteral("cannot open the journal %1: %2")
            .arg(file, errorText(db.lastError()));
    if (auto problem = prepare(db, store->m_path))
        return *problem;
    return store;
}

Result<QList<JournalEntry>, QString> JournalStore::append(QList<JournalEntry> entries,
                                                          const QList<ReleaseRecord> &releases)
{
    const QSqlDatabase db = QSqlDatabase::database(m_connection, false);
    const auto failed = [&](const QString &error) {
        return QStringLiteral("cannot append to the journal %1: %2")
            .arg(displayPath(m_path), error);
    };
    // The write lock before reading the chain's end, so another process cannot append between.
    Transaction transaction(db, "BEGIN IMMEDIATE");
    if (!transaction.isOpen())
        return failed(transaction.error());

    qint64 sequence = 0;
    // Not null even when empty: the column is NOT NULL and a null QByteArray binds as NULL.
    QByteArray previous("");
    {
        QSqlQuery last(db);
        if (!last.exec(QStringLiteral(
                "SELECT sequence, hash FROM entries ORDER BY sequence DESC LIMIT 1")))
            return failed(errorText(last.lastError()));
        if (last.next()) {
            sequence = last.value(0).toLongLong();
            previous = last.value(1).toByteArray();
        }
    }

    QSqlQuery insert(db);
    if (!insert.prepare(QStringLiteral("INSERT INTO entries (sequence, previous_hash, hash, body) "
                                       "VALUES (?, ?, ?, CAST(? AS TEXT))")))
        return failed(errorText(insert.lastError()));
    QCryptographicHash hash(QCryptographicHash::Blake2b_256);
    for (JournalEntry &entry : entries) {
        for (QString *text :
             {&entry.actor, &entry.service.name, &entry.service.environment, &entry.releaseId,
              &entry.kind, &entry.action, &entry.reason, &entry.outcome})
            *text = normalized(*text);
        QMap<QString, double> values;
        for (auto it = entry.values.cbegin(); it != entry.values.cend(); ++it)
            values.insert(normalized(it.key()), it.value());
        entry.values = values;

        entry.sequence = ++sequence;
        const QByteArray body = encodeBody(entry);
        const QByteArray raw = digest(hash, entry.sequence, previous, body).toByteArray();
        insert.bindValue(0, entry.sequence);
        insert.bindValue(1, previous);
        insert.bindValue(2, raw);
        insert.bindValue(3, body);
        if (!insert.exec())
            return failed(errorText(insert.lastError()));
        entry.previousHash = previous.toHex();
        entry.hash = raw.toHex();
        previous = raw;
    }

    QSqlQuery save(db);
    QSqlQuery forget(db);
    if (!save.prepare(QStringLiteral("INSERT OR REPLACE INTO releases (service, environment, "
                                     "release_id, state) VALUES (?, ?, ?, ?)"))
        || !forget.prepare(QStringLiteral("DELETE FROM releases WHERE service = ? AND "
                                          "environment = ? AND (? OR release_id = ?)")))
        return failed(
            errorText(save.lastError().isValid() ? save.lastError() : forget.lastError()));
    for (const ReleaseRecord &record : releases) {
        QSqlQuery &query = record.state.isEmpty() ? forget : save;
        query.bindValue(0, notNull(record.service.name));
        query.bindValue(1, notNull(record.service.environment));
        if (record.state.isEmpty()) {
            query.bindValue(2, record.releaseId.isEmpty());
            query.bindValue(3, notNull(record.releaseId));
        } else {
            query.bindValue(2, notNull(record.releaseId));
            query.bindValue(3, record.state);
        }
        if (!query.exec())
            return failed(errorText(query.lastError()));
    }

    if (!transaction.commit())
        return failed(transaction.error());
    return entries;
}

JournalCheck JournalStore::verify() const
{
    const QSqlDatabase db = QSqlDatabase::database(m_connection, false);
    const QString file = displayPath(m_path);
    JournalCheck check;
    // One snapshot for the whole walk: entries another process appends meanwhile are not half
    // seen.
    Transaction snapshot(db, "BEGIN");
    QSqlQuery query(db);
    query.setForwardOnly(true);
    if (!snapshot.isOpen()
        || !query.exec(QStringLiteral("SELECT sequence, previous_hash, hash, CAST(body AS BLOB) "
                                      "FROM entries ORDER BY sequence"))) {
        check.problem
            = QStringLiteral("cannot read the journal %1: %2")
                  .arg(file, snapshot.isOpen() ? errorText(query.lastError()) : snapshot.error());
        return check;
    }

    // The reader checks sequences and links in order; hashing, most of the work, runs on a pool.
    // Each task answers its first row whose hash does not match.
    struct Broken {
        qint64 position = -1;
        StoredRow row;
        QString problem;
    };
    using Batch = std::vector<StoredRow>;
    QThreadPool pool;
    std::deque<std::future<Broken>> pending;
    Broken broken;
    const auto settle = [&](std::future<Broken> &result) {
        Broken found = result.get();
        if (found.position >= 0 && (broken.position < 0 || found.position < broken.position))
            broken = std::move(found);
    };
    const auto hashLater = [&](Batch &&batch, qint64 firstPosition) {
        auto task = std::make_shared<std::packaged_task<Broken()>>(
            [batch = std::move(batch), firstPosition] {
                QCryptographicHash hash(QCryptographicHash::Blake2b_256);
                for (size_t i = 0; i < batch.size(); ++i) {
                    const StoredRow &row = batch[i];
                    if (digest(hash, row.sequence, row.previousHash, row.body) != row.hash)
                        return Broken{firstPosition + qint64(i), row,
                                      QStringLiteral("does not match its hash: it was changed "
                                                     "after it was written")};
                }
                return Broken{};
            });
        pending.push_back(task->get_future());
        pool.start([task] { (*task)(); });
        // Bounds the rows held in memory to a few batches.
        while (pending.size() > size_t(pool.maxThreadCount()) + 1) {
            settle(pending.front());
            pending.pop_front();
        }
    };

    Batch batch;
    batch.reserve(verifyBatchRows);
    qint64 position = 0;
    qint64 batchStart = 0;
    QByteArray lastHash;
    while (broken.position < 0 && query.next()) {
        StoredRow row{query.value(0).toLongLong(), query.value(1).toByteArray(),
                      query.value(2).toByteArray(), query.value(3).toByteArray()};
        const qint64 expected = position + 1;
        QString linkProblem;
        if (row.sequence != expected) {
            linkProblem = row.sequence - expected == 1
                              ? QStringLiteral("comes where entry %1 should: entry %1 was removed")
                                    .arg(expected)
                              : QStringLiteral("comes where entry %1 should: entries %1 to %2 were "
                                               "removed")
                                    .arg(expected)
                                    .arg(row.sequence - 1);
        } else if (row.previousHash != lastHash) {
            linkProblem = position == 0
                              ? QStringLiteral("should begin the chain but names an entry before "
                                               "it: the entries before it were removed")
                              : QStringLiteral("does not link to entry %1: entries were removed, "
                                               "reordered or rewritten before it")
                                    .arg(expected - 1);
        }
        if (!linkProblem.isEmpty()) {
            // An earlier row whose hash fails still comes first; the pending tasks decide that.
            broken = Broken{position, row, linkProblem};
            break;
        }
        lastHash = row.hash;
        batch.push_back(std::move(row));
        ++position;
        if (batch.size() == size_t(verifyBatchRows)) {
            hashLater(std::move(batch), batchStart);
            batch = Batch();
            batch.reserve(verifyBatchRows);
            batchStart = position;
        }
    }
    const bool readAll = broken.position < 0;
    const QSqlError readError = query.lastError();
    if (!batch.empty())
        hashLater(std::move(batch), batchStart);
    for (std::future<Broken> &result : pending)
        settle(result);
    query.finish();

    if (readAll && readError.isValid()) {
        check.problem
            = QStringLiteral("cannot read the journal %1: %2").arg(file, errorText(readError));
        return check;
    }
    if (broken.position < 0) {
        check.entries = position;
        check.lastHash = lastHash.toHex();
        return check;
    }
    check.firstBroken = broken.row.sequence;
    check.problem
        = describe(broken.row.sequence, broken.row.body) + QLatin1Char(' ') + broken.problem;
    QString error;
    check.entries = scalar(db, QStringLiteral("SELECT count(*) FROM entries"), &error)
                        .value_or(QVariant(position))
                        .toLongLong();
    return check;
}

qint64 JournalStore::lastSequence() const
{
    QString error;
    const auto last
        = scalar(QSqlDatabase::database(m_connection, false),
                 QStringLiteral("SELECT coalesce(max(sequence), 0) FROM entries"), &error);
    if (!last)
        qWarning("cannot read the journal %s: %s", qPrintable(displayPath(m_path)),
                 qPrintable(error));
    return last ? last->toLongLong() : 0;
}

Result<QList<JournalEntry>, QString> JournalStore::entries(const JournalFilter &filter) const
{
    QList<JournalEntry> found;
    const auto done = forEach(filter, [&](const JournalEntry &entry) {
        found.append(entry);
        return true;
    });
    if (!done)
        return done.error();
    return found;
}

Result<Done, QString>
JournalStore::forEach(const JournalFilter &filter,
                      const std::function<bool(const JournalEntry &)> &visit) const
{
    const QSqlDatabase db = QSqlDatabase::database(m_connection, false);
    QVariantList bindings;
    QSqlQuery query(db);
    query.setForwardOnly(true);
    bool ok = query.prepare(rowsSql(filter, bindings));
    for (int i = 0; ok && i < bindings.size(); ++i)
        query.bindValue(i, bindings.at(i));
    if (!ok || !query.exec())
        return QStringLiteral("cannot read the journal %1: %2")
            .arg(displayPath(m_path), errorText(query.lastError()));
    JournalEntry entry;
    while (query.next()) {
        entry.sequence = query.value(0).toLongLong();
        entry.previousHash = query.value(1).toByteArray().toHex();
        entry.hash = query.value(2).toByteArray().toHex();
        if (auto problem = decodeBody(query.value(3).toByteArray(), entry))
            return QStringLiteral("cannot read entry %1 of the journal %2: %3")
                .arg(entry.sequence)
                .arg(displayPath(m_path), *problem);
        if (!visit(entry))
            break;
    }
    if (query.lastError().isValid())
        return QStringLiteral("cannot read the journal %1: %2")
            .arg(displayPath(m_path), errorText(query.lastError()));
    return Done{};
}

Result<QList<ReleaseRecord>, QString> JournalStore::savedReleases() const
{
    QSqlQuery query(QSqlDatabase::database(m_connection, false));
    if (!query.exec(QStringLiteral("SELECT service, environment, release_id, state FROM releases "
                                   "ORDER BY service, environment")))
        return QStringLiteral("cannot read the releases in flight from the journal %1: %2")
            .arg(displayPath(m_path), errorText(query.lastError()));
    QList<ReleaseRecord> records;
    while (query.next())
        records.append(ReleaseRecord{{query.value(0).toString(), query.value(1).toString()},
                                     query.value(2).toString(),
                                     query.value(3).toByteArray()});
    return records;
}

Result<qint64, QString> JournalStore::exportJsonLines(QIODevice *out,
                                                      const JournalFilter &filter) const
{
    Writer writer(out);
    qint64 count = 0;
    bool written = true;
    const auto done = forEach(filter, [&](const JournalEntry &entry) {
        QByteArray &line = writer.buffer();
        const auto text = [&](const char *name, const QString &value) {
            line += ",\"";
            line += name;
            line += "\":";
            appendJsonString(line, value);
        };
        const auto number = [&](const char *name, qint64 value) {
            line += ",\"";
            line += name;
            line += "\":";
            line += QByteArray::number(value);
        };
        line += "{\"sequence\":" + QByteArray::number(entry.sequence);
        line += ",\"at\":\"" + isoUtc(entry.at) + '"';
        text("actor", entry.actor);
        text("service", entry.service.name);
        text("environment", entry.service.environment);
        text("release_id", entry.releaseId);
        text("kind", entry.kind);
        number("stage", entry.stage);
        text("action", entry.action);
        text("reason", entry.reason);
        text("outcome", entry.outcome);
        number("intent", entry.intent);
        line += ",\"values\":";
        appendJsonValues(line, entry.values);
        line += ",\"previous_hash\":\"" + entry.previousHash + "\",\"hash\":\"" + entry.hash
                + "\"}\n";
        ++count;
        written = writer.flushIfFull();
        return written;
    });
    if (!done)
        return done.error();
    if (!written || !writer.flush())
        return writer.error();
    return count;
}

Result<qint64, QString> JournalStore::exportCsv(QIODevice *out, const JournalFilter &filter) const
{
    Writer writer(out);
    writer.buffer() = "sequence,at,actor,service,environment,release_id,kind,stage,action,reason,"
                      "outcome,intent,values,previous_hash,hash\r\n";
    qint64 count = 0;
    bool written = true;
    const auto done = forEach(filter, [&](const JournalEntry &entry) {
        const QByteArray fields[] = {QByteArray::number(entry.sequence),
                                     isoUtc(entry.at),
                                     entry.actor.toUtf8(),
                                     entry.service.name.toUtf8(),
                                     entry.service.environment.toUtf8(),
                                     entry.releaseId.toUtf8(),
                                     entry.kind.toUtf8(),
                                     QByteArray::number(entry.stage),
                                     entry.action.toUtf8(),
                                     entry.reason.toUtf8(),
                                     entry.outcome.toUtf8(),
                                     QByteArray::number(entry.intent),
                                     csvValues(entry.values),
                                     entry.previousHash,
                                     entry.hash};
        QByteArray &line = writer.buffer();
        for (const QByteArray &field : fields) {
            if (&field != fields)
                line += ',';
            line += csvField(field);
        }
        line += "\r\n";
        ++count;
        written = writer.flushIfFull();
        return written;
    });
    if (!done)
        return done.error();
    if (!written || !writer.flush())
        return writer.error();
    return count;
}

namespace {

// Lives on the journal's thread and owns the store there, since a Qt SQL connection may only be
// used by the thread that opened it.
class JournalWorker : public QObject
{
public:
    std::unique_ptr<JournalStore> store;
    QString openError;
};

} // namespace

Journal::Journal(const QString &path, QObject *parent, Threading threading)
    : QObject(parent)
    , m_path(path)
    , m_thread(threading == Threading::OwnThread ? new QThread : nullptr)
    , m_worker(new JournalWorker)
{
    if (m_thread) {
        m_thread->setObjectName(QStringLiteral("signalbox-journal"));
        m_worker->moveToThread(m_thread);
        m_thread->start();
    }
    auto *worker = static_cast<JournalWorker *>(m_worker);
    // Answers are posted to this object: Qt drops them if it is destroyed before they arrive.
    QMetaObject::invokeMethod(
        m_worker,
        [this, worker, path] {
            auto result = JournalStore::open(path);
            if (!result) {
                worker->openError = result.error();
                QMetaObject::invokeMethod(
                    this, [this, error = result.error()] { Q_EMIT openFailed(error); },
                    Qt::QueuedConnection);
                return;
            }
            std::unique_ptr<JournalStore> store = std::move(result).value();
            const JournalCheck check = store->verify();
            const auto inFlight = store->savedReleases();
            if (!inFlight) {
                worker->openError = inFlight.error();
                QMetaObject::invokeMethod(
                    this, [this, error = inFlight.error()] { Q_EMIT openFailed(error); },
                    Qt::QueuedConnection);
                return;
            }
            worker->store = std::move(store);
            QMetaObject::invokeMethod(
                this, [this, check, records = inFlight.value()] { Q_EMIT opened(check, records); },
                Qt::QueuedConnection);
        },
        Qt::QueuedConnection);
}

Journal::~Journal()
{
    if (!m_thread) {
        // Whatever is still queued is written before the store closes.
        QCoreApplication::sendPostedEvents(m_worker);
        delete m_worker;
        return;
    }
    auto *worker = static_cast<JournalWorker *>(m_worker);
    // Queued behind every call made so far, so their work is done before the thread ends.
    QMetaObject::invokeMethod(
        m_worker,
        [worker] {
            worker->store.reset();
            QThread::currentThread()->quit();
        },
        Qt::QueuedConnection);
    m_thread->wait();
    delete m_worker;
    delete m_thread;
}

void Journal::append(QList<JournalEntry> entries, QList<ReleaseRecord> releases, Appended done)
{
    auto *worker = static_cast<JournalWorker *>(m_worker);
    QMetaObject::invokeMethod(
        m_worker,
        [this, worker, entries = std::move(entries), releases = std::move(releases),
         done = std::move(done)]() mutable {
            Result<QList<JournalEntry>, QString> result
                = worker->store ? worker->store->append(std::move(entries), releases)
                                : Result<QList<JournalEntry>, QString>(worker->openError);
            QMetaObject::invokeMethod(
                this,
                [this, result = std::move(result), done = std::move(done)] {
                    if (done)
                        done(result);
                    if (result)
                        Q_EMIT appended(result.value());
                },
                Qt::QueuedConnection);
        },
        Qt::QueuedConnection);
}

void Journal::run(std::function<void(JournalStore *)> work, std::function<void()> done)
{
    auto *worker = static_cast<JournalWorker *>(m_worker);
    QMetaObject::invokeMethod(
        m_worker,
        [this, worker, work = std::move(work), done = std::move(done)] {
            if (work)
                work(worker->store.get());
            QMetaObject::invokeMethod(
                this,
                [done] {
                    if (done)
                        done();
                },
                Qt::QueuedConnection);
        },
        Qt::QueuedConnection);
}

} // namespace sb
