#pragma once

#include "fleet.h"
#include "journal.h"

#include <QByteArray>
#include <QByteArrayView>
#include <QHash>
#include <QList>
#include <QSet>
#include <QString>
#include <QStringList>

#include <optional>
#include <utility>
#include <vector>

namespace sb {

// What a mark on the timeline says at a glance; its colour and shape follow from it.
enum class TimelineCategory : quint8 {
    Progress,     // a release moving along: start, stages, weights, scaling, success, actions
    GatePass,     // a gate's verdict: pass
    GateFail,     // a gate's verdict: fail
    Waiting,      // paused, resumed, held, stalled, or a gate that could not decide yet
    Switch,       // blue-green: traffic moved to the new colour
    Rollback,     // aborts, rollbacks, switch-backs and an operator's rollback request
    BackendError, // a backend refused or did not answer
};
constexpr int timelineCategoryCount = 7;
constexpr quint32 categoryBit(TimelineCategory category)
{
    return 1u << quint32(category);
}
constexpr quint32 allTimelineCategories = (1u << timelineCategoryCount) - 1;
QString toString(TimelineCategory category); // "progress", "gate-pass", ...
// From an entry's (or a ReleaseEvent's) kind, reason and outcome: a gate's verdict is the word
// after its name in the reason ("gate error_rate: fail: ..."), an outcome is "ok" or an error.
TimelineCategory timelineCategory(const QString &kind, const QString &reason,
                                  const QString &outcome = {});

// Which entries the timeline shows. Empty sets match everything.
struct TimelineFilter {
    enum class Origin { Anyone, Operators, Automatic };

    QSet<QString> services; // ServiceKey::name
    QSet<QString> environments;
    QSet<QString> kinds;
    quint32 categories = allTimelineCategories; // categoryBit()s
    QSet<QString> actors;
    Origin origin = Origin::Anyone;
    std::optional<qint64> fromMs; // inclusive, milliseconds since the epoch
    std::optional<qint64> toMs;   // exclusive
    // Every word must appear, in any case, in the reason, action, outcome, release, service,
    // environment, kind or actor.
    QString text;

    friend bool operator==(const TimelineFilter &, const TimelineFilter &) = default;
};

// The rows a filter matched, ascending (so oldest first), and how many fell in each lane.
struct TimelineMatches {
    std::vector<quint32> rows;
    std::vector<quint32> laneCounts; // by lane id
};

// Matching entries per lane and per time bucket over a range, for drawing a zoom level: a week
// of a million entries as density, a minute as single marks.
struct TimelineDensity {
    qint64 fromMs = 0;
    double msPerBucket = 1;
    int buckets = 0;
    int lanes = 0;
    std::vector<quint32> counts;    // [lane * buckets + bucket]
    std::vector<quint8> categories; // categoryBit()s present, same layout
    std::vector<quint32> laneTotals;

    quint32 count(int lane, int bucket) const { return counts[size_t(lane) * buckets + bucket]; }
    quint8 categoryMask(int lane, int bucket) const
    {
        return categories[size_t(lane) * buckets + bucket];
    }
};

// The journal in columns, for a timeline of millions of entries: per entry its time, sequence,
// lane (service and environment), kind, category, actor and release as small interned ids, and
// its reason, action and outcome case-folded in one UTF-8 buffer for searching. Full entries stay
// in the journal; a view fetches the few it shows by sequence.
//
// Rows are in time order (ties by sequence). Entries arrive in sequence order, which is time
// order but for clock skew between consoles writing one journal; an entry older than the newest
// is inserted where it belongs, at the cost of moving the rows after it.
//
// Not synchronised: filter() and density() may run on several threads at once, but none of them
// while append() runs.
class TimelineIndex
{
public:
    TimelineIndex();

    void reserve(qsizetype entries);
    // Gives back what growing left unused, once a journal has been read. The search text keeps
    // an eighth more room, so that live entries do not soon copy it all again.
    void squeeze();
    void append(const JournalEntry &entry);
    void append(const QList<JournalEntry> &entries);

    qsizetype size() const { return qsizetype(m_time.size()); }
    bool isEmpty() const { return m_time.empty(); }
    // Newest sequence held; 0 when empty.
    qint64 lastSequence() const { return m_lastSequence; }
    qint64 firstMs() const { return m_time.empty() ? 0 : m_time.front(); }
    qint64 lastMs() const { return m_time.empty() ? 0 : m_time.back(); }

    qint64 timeAt(qsizetype row) const { return m_time[size_t(row)]; }
    qint64 sequenceAt(qsizetype row) const { return m_sequence[size_t(row)]; }
    int laneAt(qsizetype row) const { return m_lane[size_t(row)]; }
    TimelineCategory categoryAt(qsizetype row) const
    {
        return TimelineCategory(m_category[size_t(row)]);
    }
    QString kindAt(qsizetype row) const { return m_kinds.at(m_kind[size_t(row)]); }
    QString actorAt(qsizetype row) const { return m_actors.at(m_actor[size_t(row)]); }
    QString releaseAt(qsizetype row) const { return m_releases.at(m_release[size_t(row)]); }
    // Whether an operator, not the console itself, is the entry's actor.
    bool isOperatorAt(qsizetype row) const { return m_actorIsOperator[m_actor[size_t(row)]]; }
    // The case-folded reason, action and outcome, one per line.
    QByteArrayView searchTextAt(qsizetype row) const;

    // Lanes are the services as they appear, one per service and environment.
    int laneCount() const { return int(m_lanes.size()); }
    const ServiceKey &lane(int lane) const { return m_lanes.at(lane); }
    // What has appeared so far, in first-seen order, for filter menus.
    const QStringList &services() const { return m_services; }
    const QStringList &environments() const { return m_environments; }
    const QStringList &kinds() const { return m_kinds; }
    const QStringList &actors() const { return m_actors; }

    // Rows with fromMs <= time < toMs, as [first, last).
    std::pair<qsizetype, qsizetype> rowsBetween(qint64 fromMs, qint64 toMs) const;
    // The row of an entry, or -1; `atMs` finds it without a scan.
    qsizetype rowOf(qint64 sequence, qint64 atMs) const;

    // The rows matching `filter` from `firstRow` on. Large ranges are split over the pool.
    TimelineMatches filter(const TimelineFilter &filter, qsizetype firstRow = 0) const;
    // `rows` (ascending, as filter() answers) counted per lane in `buckets` equal slices of
    // [fromMs, toMs).
    TimelineDensity density(const std::vector<quint32> &rows, qint64 fromMs, qint64 toMs,
                            int buckets) const;

    // Bytes held, capacity included.
    qsizetype memoryUsage() const;

private:
    static quint32 intern(QStringList &names, QHash<QString, quint32> &ids, const QString &name,
                          quint32 capacity);
    quint16 internLane(const ServiceKey &key);
    quint16 internActor(const QString &actor);
    void appendText(const JournalEntry &entry);

    // Columns, one value per row.
    std::vector<qint64> m_time;
    std::vector<qint64> m_sequence;
    std::vector<quint32> m_arrival; // which text belongs to the row: entries in arrival order
    std::vector<quint32> m_release;
    std::vector<quint16> m_lane;
    std::vector<quint16> m_actor;
    std::vector<quint16> m_kind;
    std::vector<quint8> m_category;

    // Search text in arrival order: entry i is m_text[m_textStart[i], m_textStart[i + 1]).
    QByteArray m_text;
    std::vector<quint32> m_textStart;
    qint64 m_lastSequence = 0;

    QList<ServiceKey> m_lanes;
    QHash<ServiceKey, quint32> m_laneIds;
    std::vector<quint32> m_laneService;     // by lane id
    std::vector<quint32> m_laneEnvironment; // by lane id
    QStringList m_services;
    QHash<QString, quint32> m_serviceIds;
    QStringList m_environments;
    QHash<QString, quint32> m_environmentIds;
    QStringList m_kinds;
    QHash<QString, quint32> m_kindIds;
    std::vector<quint8> m_kindInfo; // by kind id: what the kind says of the category
    QStringList m_actors;
    QHash<QString, quint32> m_actorIds;
    std::vector<bool> m_actorIsOperator;
    QStringList m_releases;
    QHash<QString, quint32> m_releaseIds;
    std::vector<quint32> m_laneRelease; // by lane id: the release of its newest entry
};

} // namespace sb
