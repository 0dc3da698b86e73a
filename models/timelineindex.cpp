#include "timelineindex.h"

#include <QFuture>
#include <QThreadPool>
#include <QtConcurrent/QtConcurrentRun>

#include <algorithm>
#include <cstring>
#include <limits>
#include <string_view>

namespace sb {

namespace {

// Below this many rows per thread a second thread costs more than it saves.
constexpr size_t rowsPerPart = 1 << 16;
// Offsets into the search text are 32-bit: past 4 GiB of text (some 40 million entries) newer
// entries are found by their other fields only.
constexpr qsizetype maxTextBytes = std::numeric_limits<quint32>::max();

// Calls f(part, begin, end) over [0, n) cut into one part per pool thread when n is large, the
// first part on the calling thread. Cuts fall on multiples of `align`.
template <typename F>
int inParts(size_t n, F &&f, size_t align = 1)
{
    const int threads = std::max(1, QThreadPool::globalInstance()->maxThreadCount());
    const int parts = int(std::clamp<size_t>(n / rowsPerPart, 1, size_t(threads)));
    if (parts == 1) {
        f(0, size_t(0), n);
        return 1;
    }
    auto cut = [&](int part) {
        return part == parts ? n : std::min(n, n * size_t(part) / size_t(parts) / align * align);
    };
    QList<QFuture<void>> others;
    for (int part = 1; part < parts; ++part)
        others.append(QtConcurrent::run(
            [&f, part, begin = cut(part), end = cut(part + 1)] { f(part, begin, end); }));
    f(0, size_t(0), cut(1));
    // A part the pool has not started yet is run here instead, so nested use cannot deadlock.
    for (QFuture<void> &other : others)
        other.waitForFinished();
    return parts;
}

template <typename T>
std::vector<T> joined(std::vector<std::vector<T>> &parts)
{
    if (parts.size() == 1)
        return std::move(parts.front());
    size_t total = 0;
    for (const auto &part : parts)
        total += part.size();
    std::vector<T> all;
    all.reserve(total);
    for (const auto &part : parts)
        all.insert(all.end(), part.cbegin(), part.cend());
    return all;
}

const char *findBytes(const char *begin, const char *end, QByteArrayView needle)
{
#ifdef Q_OS_WIN
    const std::string_view hay(begin, size_t(end - begin));
    const size_t at = hay.find(std::string_view(needle.data(), size_t(needle.size())));
    return at == std::string_view::npos ? nullptr : begin + at;
#else
    // glibc's memmem is vectorised: three times as fast on journal text as string_view::find.
    return static_cast<const char *>(
        memmem(begin, size_t(end - begin), needle.data(), size_t(needle.size())));
#endif
}

// Case-folded UTF-8, appended without temporaries: one code point at a time, ASCII (nearly all
// of a journal) by table.
void appendFolded(QByteArray &out, QStringView text)
{
    const qsizetype at = out.size();
    // UTF-16 takes at most three UTF-8 bytes per code unit.
    out.resize(at + 3 * text.size());
    char *to = out.data() + at;
    const char16_t *from = text.utf16();
    const char16_t *end = from + text.size();
    while (from < end) {
        char32_t c = *from++;
        if (c < 0x80) {
            *to++ = char(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
            continue;
        }
        if (QChar::isHighSurrogate(c) && from < end && QChar::isLowSurrogate(*from))
            c = QChar::surrogateToUcs4(char16_t(c), *from++);
        c = QChar::toCaseFolded(c);
        if (c < 0x800) {
            *to++ = char(0xc0 | c >> 6);
        } else if (c < 0x10000) {
            *to++ = char(0xe0 | c >> 12);
            *to++ = char(0x80 | (c >> 6 & 0x3f));
        } else {
            *to++ = char(0xf0 | c >> 18);
            *to++ = char(0x80 | (c >> 12 & 0x3f));
            *to++ = char(0x80 | (c >> 6 & 0x3f));
        }
        *to++ = char(0x80 | (c & 0x3f));
    }
    out.resize(to - out.constData());
}

QByteArray folded(QStringView text)
{
    QByteArray out;
    appendFolded(out, text);
    return out;
}

// A name table's entries that contain `word`, folded.
std::vector<quint8> namesContaining(const QStringList &names, const QByteArray &word)
{
    std::vector<quint8> hits(size_t(names.size()));
    for (qsizetype i = 0; i < names.size(); ++i)
        hits[size_t(i)] = folded(names.at(i)).contains(word);
    return hits;
}

std::vector<quint8> namesIn(const QStringList &names, const QSet<QString> &wanted)
{
    std::vector<quint8> ok(size_t(names.size()), wanted.isEmpty());
    if (!wanted.isEmpty()) {
        for (qsizetype i = 0; i < names.size(); ++i)
            ok[size_t(i)] = wanted.contains(names.at(i));
    }
    return ok;
}

} // namespace

QString toString(TimelineCategory category)
{
    switch (category) {
    case TimelineCategory::Progress: return QStringLiteral("progress");
    case TimelineCategory::GatePass: return QStringLiteral("gate-pass");
    case TimelineCategory::GateFail: return QStringLiteral("gate-fail");
    case TimelineCategory::Waiting: return QStringLiteral("waiting");
    case TimelineCategory::Switch: return QStringLiteral("switch");
    case TimelineCategory::Rollback: return QStringLiteral("rollback");
    case TimelineCategory::BackendError: return QStringLiteral("backend-error");
    }
    return {};
}

namespace {

// What each kind is, where the kind alone says; a gate's verdict and an action's outcome are
// read from the entry.
enum class KindClass { Progress, Gate, Outcome, Fixed };

struct KindInfo {
    KindClass kindClass = KindClass::Progress;
    TimelineCategory category = TimelineCategory::Progress;

    // In a byte, for the index's table of kinds.
    quint8 packed() const { return quint8(quint8(kindClass) << 4 | quint8(category)); }
    static KindInfo unpacked(quint8 byte)
    {
        return {KindClass(byte >> 4), TimelineCategory(byte & 0xf)};
    }
};

KindInfo kindInfo(const QString &kind)
{
    using Kind = ReleaseEvent::Kind;
    static const QHash<QString, KindInfo> known = [] {
        QHash<QString, KindInfo> k;
        k.insert(toString(Kind::GateMeasured), {KindClass::Gate, TimelineCategory::GatePass});
        k.insert(journalkind::outcome, {KindClass::Outcome, TimelineCategory::Progress});
        const std::pair<Kind, TimelineCategory> fixed[] = {
            {Kind::ActionFailed, TimelineCategory::BackendError},
            {Kind::Switched, TimelineCategory::Switch},
            {Kind::Paused, TimelineCategory::Waiting},
            {Kind::Resumed, TimelineCategory::Waiting},
            {Kind::Held, TimelineCategory::Waiting},
            {Kind::Stalled, TimelineCategory::Waiting},
            {Kind::Aborted, TimelineCategory::Rollback},
            {Kind::RolledBack, TimelineCategory::Rollback},
            {Kind::SwitchedBack, TimelineCategory::Rollback},
            {Kind::RollbackStarted, TimelineCategory::Rollback},
        };
        for (const auto &[kind, category] : fixed)
            k.insert(toString(kind), {KindClass::Fixed, category});
        k.insert(journalkind::rollbackRequested, {KindClass::Fixed, TimelineCategory::Rollback});
        return k;
    }();
    return known.value(kind);
}

TimelineCategory categoryOf(const KindInfo &info, const QString &reason, const QString &outcome)
{
    switch (info.kindClass) {
    case KindClass::Progress: return TimelineCategory::Progress;
    case KindClass::Fixed: return info.category;
    case KindClass::Gate: {
        // The verdict follows the gate: "gate error_rate: fail: ...", "gate error_rate after
        // switch: fail: ...".
        const qsizetype colon = reason.indexOf(u": ");
        const QStringView verdict = colon < 0 ? QStringView() : QStringView(reason).mid(colon + 2);
        if (verdict.startsWith(u"fail"))
            return TimelineCategory::GateFail;
        if (verdict.startsWith(u"inconclusive"))
            return TimelineCategory::Waiting;
        return TimelineCategory::GatePass;
    }
    case KindClass::Outcome:
        return outcome.isEmpty() || outcome == u"ok" ? TimelineCategory::Progress
                                                     : TimelineCategory::BackendError;
    }
    return TimelineCategory::Progress;
}

} // namespace

TimelineCategory timelineCategory(const QString &kind, const QString &reason,
                                  const QString &outcome)
{
    return categoryOf(kindInfo(kind), reason, outcome);
}

TimelineIndex::TimelineIndex()
{
    m_textStart.push_back(0);
}

void TimelineIndex::reserve(qsizetype entries)
{
    const auto n = size_t(entries);
    m_time.reserve(n);
    m_sequence.reserve(n);
    m_arrival.reserve(n);
    m_release.reserve(n);
    m_lane.reserve(n);
    m_actor.reserve(n);
    m_kind.reserve(n);
    m_category.reserve(n);
    m_textStart.reserve(n + 1);
}

void TimelineIndex::squeeze()
{
    m_time.shrink_to_fit();
    m_sequence.shrink_to_fit();
    m_arrival.shrink_to_fit();
    m_release.shrink_to_fit();
    m_lane.shrink_to_fit();
    m_actor.shrink_to_fit();
    m_kind.shrink_to_fit();
    m_category.shrink_to_fit();
    m_textStart.shrink_to_fit();
    QByteArray text;
    text.reserve(std::min(m_text.size() + m_text.size() / 8, maxTextBytes));
    text.append(QByteArrayView(m_text));
    m_text.swap(text);
}

quint32 TimelineIndex::intern(QStringList &names, QHash<QString, quint32> &ids, const QString &name,
                              quint32 capacity)
{
    const auto found = ids.constFind(name);
    if (found != ids.cend())
        return *found;
    // A column's ids are as narrow as real journals allow; a journal with more distinct names
    // than that files the rest under the last one rather than fail.
    if (quint32(names.size()) == capacity) {
        qWarning("timeline: more than %u distinct values; '%s' is shown as '%s'", capacity,
                 qPrintable(name), qPrintable(names.last()));
        return capacity - 1;
    }
    const auto id = quint32(names.size());
    names.append(name);
    ids.insert(name, id);
    return id;
}

quint16 TimelineIndex::internLane(const ServiceKey &key)
{
    const auto found = m_laneIds.constFind(key);
    if (found != m_laneIds.cend())
        return quint16(*found);
    constexpr quint32 capacity = std::numeric_limits<quint16>::max();
    if (quint32(m_lanes.size()) == capacity) {
        qWarning("timeline: more than %u services; %s is shown with the last one", capacity,
                 qPrintable(key.id()));
        return quint16(capacity - 1);
    }
    const auto id = quint32(m_lanes.size());
    m_lanes.append(key);
    m_laneIds.insert(key, id);
    m_laneService.push_back(intern(m_services, m_serviceIds, key.name, capacity));
    m_laneEnvironment.push_back(
        intern(m_environments, m_environmentIds, key.environment, capacity));
    return quint16(id);
}

quint16 TimelineIndex::internActor(const QString &actor)
{
    const auto before = m_actors.size();
    const auto id
        = quint16(intern(m_actors, m_actorIds, actor, std::numeric_limits<quint16>::max()));
    if (m_actors.size() != before)
        m_actorIsOperator.push_back(actor != automaticActor);
    return id;
}

void TimelineIndex::appendText(const JournalEntry &entry)
{
    const qsizetype start = m_text.size();
    // One line per field, so a word never matches across two fields or two entries.
    for (const QString *field : {&entry.reason, &entry.action, &entry.outcome}) {
        if (field->isEmpty())
            continue;
        appendFolded(m_text, *field);
        m_text.append('\n');
    }
    if (m_text.size() > maxTextBytes)
        m_text.truncate(start);
    m_textStart.push_back(quint32(m_text.size()));
}

void TimelineIndex::append(const JournalEntry &entry)
{
    const qint64 at = toMSecsSinceEpoch(entry.at);
    const auto arrival = quint32(m_textStart.size() - 1);
    appendText(entry);
    const quint16 lane = internLane(entry.service);
    const quint16 actor = internActor(entry.actor);
    const auto kind
        = quint16(intern(m_kinds, m_kindIds, entry.kind, std::numeric_limits<quint16>::max()));
    const quint32 release
        = intern(m_releases, m_releaseIds, entry.releaseId, std::numeric_limits<quint32>::max());
    const auto category = quint8(timelineCategory(entry.kind, entry.reason, entry.outcome));
    m_lastSequence = std::max(m_lastSequence, entry.sequence);

    const bool inOrder = m_time.empty() || at > m_time.back()
                         || (at == m_time.back() && entry.sequence > m_sequence.back());
    if (inOrder) {
        m_time.push_back(at);
        m_sequence.push_back(entry.sequence);
        m_arrival.push_back(arrival);
        m_release.push_back(release);
        m_lane.push_back(lane);
        m_actor.push_back(actor);
        m_kind.push_back(kind);
        m_category.push_back(category);
        return;
    }
    // Clock skew: the entry goes after every row older than it or as old with a lower sequence.
    // Skew is small, so the rows moved are the last few.
    auto row = size_t(std::upper_bound(m_time.cbegin(), m_time.cend(), at) - m_time.cbegin());
    while (row > 0 && m_time[row - 1] == at && m_sequence[row - 1] > entry.sequence)
        --row;
    auto insert = [row](auto &column, auto value) {
        column.insert(column.begin() + qsizetype(row), value);
    };
    insert(m_time, at);
    insert(m_sequence, entry.sequence);
    insert(m_arrival, arrival);
    insert(m_release, release);
    insert(m_lane, lane);
    insert(m_actor, actor);
    insert(m_kind, kind);
    insert(m_category, category);
}

void TimelineIndex::append(const QList<JournalEntry> &entries)
{
    for (const JournalEntry &entry : entries)
        append(entry);
}

QByteArrayView TimelineIndex::searchTextAt(qsizetype row) const
{
    const quint32 arrival = m_arrival[size_t(row)];
    const quint32 begin = m_textStart[arrival];
    return QByteArrayView(m_text.constData() + begin, m_textStart[arrival + 1] - begin);
}

std::pair<qsizetype, qsizetype> TimelineIndex::rowsBetween(qint64 fromMs, qint64 toMs) const
{
    const auto first = std::lower_bound(m_time.cbegin(), m_time.cend(), fromMs);
    const auto last = toMs <= fromMs ? first : std::lower_bound(first, m_time.cend(), toMs);
    return {first - m_time.cbegin(), last - m_time.cbegin()};
}

qsizetype TimelineIndex::rowOf(qint64 sequence, qint64 atMs) const
{
    const auto [first, last] = std::equal_range(m_time.cbegin(), m_time.cend(), atMs);
    for (auto it = first; it != last; ++it) {
        const auto row = size_t(it - m_time.cbegin());
        if (m_sequence[row] == sequence)
            return qsizetype(row);
    }
    return -1;
}

TimelineMatches TimelineIndex::filter(const TimelineFilter &filter, qsizetype firstRow) const
{
    TimelineMatches matches;
    matches.laneCounts.assign(m_lanes.size(), 0);
    auto [begin, end] = rowsBetween(filter.fromMs.value_or(std::numeric_limits<qint64>::min()),
                                    filter.toMs.value_or(std::numeric_limits<qint64>::max()));
    begin = std::max(begin, firstRow);
    if (begin >= end)
        return matches;

    // The filter as lookup tables by id, so a row is checked with a few byte loads.
    const std::vector<quint8> serviceOk = namesIn(m_services, filter.services);
    const std::vector<quint8> environmentOk = namesIn(m_environments, filter.environments);
    std::vector<quint8> laneOk(m_lanes.size());
    for (size_t lane = 0; lane < laneOk.size(); ++lane)
        laneOk[lane] = serviceOk[m_laneService[lane]] && environmentOk[m_laneEnvironment[lane]];
    std::vector<quint8> actorOk = namesIn(m_actors, filter.actors);
    for (size_t actor = 0; actor < actorOk.size(); ++actor) {
        if (filter.origin != TimelineFilter::Origin::Anyone)
            actorOk[actor] = actorOk[actor]
                             && m_actorIsOperator[actor]
                                    == (filter.origin == TimelineFilter::Origin::Operators);
    }
    std::vector<quint8> kindOk = namesIn(m_kinds, filter.kinds);
    const quint32 categories = filter.categories;

    std::vector<std::vector<quint32>> parts(
        size_t(QThreadPool::globalInstance()->maxThreadCount() + 1));
    const int used = inParts(size_t(end - begin), [&](int part, size_t from, size_t to) {
        std::vector<quint32> &rows = parts[size_t(part)];
        rows.reserve(to - from);
        for (size_t row = size_t(begin) + from; row < size_t(begin) + to; ++row) {
            if (laneOk[m_lane[row]] && actorOk[m_actor[row]] && kindOk[m_kind[row]]
                && (categories >> m_category[row] & 1))
                rows.push_back(quint32(row));
        }
    });
    parts.resize(size_t(used));
    std::vector<quint32> rows = joined(parts);

    const QStringList words = filter.text.split(QLatin1Char(' '), Qt::SkipEmptyParts);
    for (const QString &wordText : words) {
        if (rows.empty())
            break;
        const QByteArray word = folded(wordText);
        std::vector<quint8> laneHit(m_lanes.size());
        for (size_t lane = 0; lane < laneHit.size(); ++lane)
            laneHit[lane] = folded(m_lanes.at(qsizetype(lane)).id()).contains(word);
        const std::vector<quint8> actorHit = namesContaining(m_actors, word);
        const std::vector<quint8> kindHit = namesContaining(m_kinds, word);
        const std::vector<quint8> releaseHit = namesContaining(m_releases, word);
        auto namesHit = [&](size_t row) {
            return laneHit[m_lane[row]] || actorHit[m_actor[row]] || kindHit[m_kind[row]]
                   || releaseHit[m_release[row]];
        };

        quint32 firstArrival = std::numeric_limits<quint32>::max();
        quint32 lastArrival = 0;
        for (const quint32 row : rows) {
            firstArrival = std::min(firstArrival, m_arrival[row]);
            lastArrival = std::max(lastArrival, m_arrival[row]);
        }
        const char *text = m_text.constData();
        const qsizetype spanBytes = m_textStart[lastArrival + 1] - m_textStart[firstArrival];
        const qsizetype averageBytes = m_text.size() / qsizetype(m_textStart.size());
        // Few rows left: search each row's own text. Many: one pass over the whole span finds
        // every entry that has the word, far faster than a search per row.
        const bool perRow = qsizetype(rows.size()) * (averageBytes + 64) < spanBytes;
        std::vector<quint64> hasWord;
        const quint32 base = firstArrival / 64 * 64;
        if (!perRow) {
            hasWord.assign((lastArrival + 1 - base + 63) / 64, 0);
            inParts(
                lastArrival + 1 - base,
                [&](int, size_t from, size_t to) {
                    size_t arrival = std::max<size_t>(base + from, firstArrival);
                    const size_t stop = base + to;
                    const char *at = text + m_textStart[arrival];
                    const char *limit = text + m_textStart[stop];
                    while (const char *hit = findBytes(at, limit, word)) {
                        const auto offset = quint32(hit - text);
                        while (m_textStart[arrival + 1] <= offset)
                            ++arrival;
                        hasWord[(arrival - base) / 64] |= quint64(1) << ((arrival - base) % 64);
                        // The rest of this entry's text cannot add anything.
                        at = text + m_textStart[++arrival];
                        if (arrival >= stop)
                            break;
                    }
                },
                64);
        }
        std::vector<std::vector<quint32>> kept(
            size_t(QThreadPool::globalInstance()->maxThreadCount() + 1));
        const int keptParts = inParts(rows.size(), [&](int part, size_t from, size_t to) {
            std::vector<quint32> &out = kept[size_t(part)];
            for (size_t i = from; i < to; ++i) {
                const quint32 row = rows[i];
                bool hit = namesHit(row);
                if (!hit) {
                    const quint32 arrival = m_arrival[row];
                    if (perRow) {
                        hit = findBytes(text + m_textStart[arrival],
                                        text + m_textStart[arrival + 1], word);
                    } else {
                        hit = hasWord[(arrival - base) / 64] >> ((arrival - base) % 64) & 1;
                    }
                }
                if (hit)
                    out.push_back(row);
            }
        });
        kept.resize(size_t(keptParts));
        rows = joined(kept);
    }

    for (const quint32 row : rows)
        ++matches.laneCounts[m_lane[row]];
    matches.rows = std::move(rows);
    return matches;
}

TimelineDensity TimelineIndex::density(const std::vector<quint32> &rows, qint64 fromMs, qint64 toMs,
                                       int buckets) const
{
    TimelineDensity density;
    density.fromMs = fromMs;
    density.buckets = std::max(1, buckets);
    density.lanes = laneCount();
    density.msPerBucket = double(std::max<qint64>(toMs - fromMs, 1)) / density.buckets;
    const size_t cells = size_t(density.lanes) * size_t(density.buckets);
    density.counts.assign(cells, 0);
    density.categories.assign(cells, 0);
    density.laneTotals.assign(size_t(density.lanes), 0);

    auto byTime = [this](quint32 row, qint64 ms) { return m_time[row] < ms; };
    const auto first = std::lower_bound(rows.cbegin(), rows.cend(), fromMs, byTime);
    const auto last = std::lower_bound(first, rows.cend(), toMs, byTime);
    const double bucketsPerMs = 1.0 / density.msPerBucket;
    const int lastBucket = density.buckets - 1;
    // Each part counts into its own arrays, the first into the answer's; the rest are added in.
    struct Counts {
        std::vector<quint32> counts;
        std::vector<quint8> categories;
        std::vector<quint32> laneTotals;
    };
    std::vector<Counts> others(size_t(QThreadPool::globalInstance()->maxThreadCount()));
    const int parts = inParts(size_t(last - first), [&](int part, size_t from, size_t to) {
        Counts *own = part == 0 ? nullptr : &others[size_t(part - 1)];
        if (own) {
            own->counts.assign(cells, 0);
            own->categories.assign(cells, 0);
            own->laneTotals.assign(size_t(density.lanes), 0);
        }
        quint32 *counts = own ? own->counts.data() : density.counts.data();
        quint8 *categories = own ? own->categories.data() : density.categories.data();
        quint32 *laneTotals = own ? own->laneTotals.data() : density.laneTotals.data();
        for (auto it = first + qsizetype(from); it != first + qsizetype(to); ++it) {
            const quint32 row = *it;
            const int bucket
                = std::min(int(double(m_time[row] - fromMs) * bucketsPerMs), lastBucket);
            const size_t cell = size_t(m_lane[row]) * size_t(density.buckets) + size_t(bucket);
            ++counts[cell];
            categories[cell] |= quint8(1u << m_category[row]);
            ++laneTotals[m_lane[row]];
        }
    });
    for (int part = 1; part < parts; ++part) {
        const Counts &own = others[size_t(part - 1)];
        for (size_t cell = 0; cell < cells; ++cell) {
            density.counts[cell] += own.counts[cell];
            density.categories[cell] |= own.categories[cell];
        }
        for (size_t lane = 0; lane < density.laneTotals.size(); ++lane)
            density.laneTotals[lane] += own.laneTotals[lane];
    }
    return density;
}

qsizetype TimelineIndex::memoryUsage() const
{
    auto bytes = [](const auto &column) {
        return qsizetype(column.capacity()
                         * sizeof(typename std::decay_t<decltype(column)>::value_type));
    };
    auto names = [](const QStringList &list) {
        qsizetype total = list.capacity() * qsizetype(sizeof(QString));
        for (const QString &name : list)
            total += name.capacity() * 2 + 32;
        // The lookup hash: a node per name and a span of buckets.
        return total + list.size() * 48;
    };
    return bytes(m_time) + bytes(m_sequence) + bytes(m_arrival) + bytes(m_release) + bytes(m_lane)
           + bytes(m_actor) + bytes(m_kind) + bytes(m_category) + bytes(m_textStart)
           + m_text.capacity() + bytes(m_laneService) + bytes(m_laneEnvironment) + names(m_services)
           + names(m_environments) + names(m_kinds) + names(m_actors) + names(m_releases)
           + m_lanes.size() * qsizetype(sizeof(ServiceKey) + 64);
}

} // namespace sb
