// The deploy timeline over a million journal entries: a week of releases across 20 services in
// two or three environments each (canaries, blue-greens and rolling updates, with their gates,
// router and scaling calls, operators' pauses, failed gates, aborts, rollbacks and refused
// backend calls), reasons of 60 to 120 characters as the engines write them.
//
// Figures: building the index, filtering it (one service, a kind, a text search, a time range,
// all combined), painting the timeline zoomed out to the week and in to a minute, and the
// index's memory.

#include "benchstats.h"
#include "journal.h"
#include "timelineindex.h"
#include "timelineview.h"

#include <QApplication>
#include <QImage>
#include <QPainter>

#include <chrono>
#include <random>

namespace {

constexpr qsizetype entryCount = 1'000'000;
constexpr int filterRuns = 11;
constexpr int paintRuns = 21;
constexpr qint64 minuteMs = 60'000;
constexpr qint64 hourMs = 60 * minuteMs;
constexpr qint64 dayMs = 24 * hourMs;
constexpr qint64 weekStartMs = 1'779'667'200'000; // Monday 2026-05-25 00:00 UTC
// The Timeline page at the screenshot size leaves the lanes about this much room.
constexpr int viewWidth = 1400;
constexpr int viewHeight = 560;

const char *const serviceNames[]
    = {"payments", "checkout", "cart",  "search",          "catalog", "inventory", "accounts",
       "auth",     "notify",   "email", "shipping",        "pricing", "reviews",   "media",
       "gateway",  "ledger",   "fraud", "recommendations", "profile", "reporting"};
const char *const operators[] = {"alice", "bob", "carol", "dmitri", "eve", "farah"};
const char *const gates[] = {"error_rate", "p99_latency", "orders_per_request"};

enum class Kind : quint8 {
    Started,
    StageStarted,
    Intent,
    Outcome,
    WeightSet,
    Gate,
    Held,
    Paused,
    Resumed,
    Aborted,
    RolledBack,
    Succeeded,
    ActionFailed,
    Scaled,
    Switched,
    SwitchedBack,
    WindowExtended,
    RollbackRequested,
};

// One generated entry, small until it is turned into a JournalEntry: a million full entries
// would take a gigabyte before the index is even built.
struct Synthetic {
    qint64 at;
    quint16 lane;
    Kind kind;
    quint8 stage;
    quint8 detail; // gate index; 1 for a failure, where that applies
    quint8 actor;  // operators[actor - 1], or 0 for signalbox
    quint16 major; // the new version is major.minor.0, the old one major.(minor - 1).3
    quint16 minor;
    float value; // a measurement, or a weight
    float other; // the baseline, or an instance count
};

struct Lane {
    QString service;
    QString environment;
    int strategy; // 0 canary, 1 blue-green, 2 rolling
};

QList<Lane> lanes()
{
    QList<Lane> all;
    for (int i = 0; i < int(std::size(serviceNames)); ++i) {
        const QString name = QString::fromLatin1(serviceNames[i]);
        all.append({name, QStringLiteral("production"), i % 3});
        all.append({name, QStringLiteral("staging"), i % 3});
        if (i % 3 == 0)
            all.append({name, QStringLiteral("eu-production"), i % 3});
    }
    return all;
}

// Each lane runs release after release through the week, as its engine would journal them.
std::vector<Synthetic> generate(const QList<Lane> &laneList)
{
    std::mt19937 random(20260525);
    auto chance
        = [&random](double p) { return std::uniform_real_distribution<>(0, 1)(random) < p; };
    auto between = [&random](qint64 low, qint64 high) {
        return std::uniform_int_distribution<qint64>(low, high)(random);
    };
    std::vector<Synthetic> all;
    all.reserve(size_t(entryCount) + entryCount / 10);
    for (int laneIndex = 0; laneIndex < laneList.size(); ++laneIndex) {
        const Lane &lane = laneList.at(laneIndex);
        qint64 at = weekStartMs + between(0, 2 * hourMs);
        quint16 minor = quint16(between(1, 30));
        const auto major = quint16(between(1, 12));
        while (at < weekStartMs + 7 * dayMs) {
            ++minor;
            const auto who = quint8(between(1, std::size(operators)));
            auto add = [&](Kind kind, quint8 stage = 0, quint8 detail = 0, quint8 actor = 0,
                           float value = 0, float other = 0) {
                all.push_back({at, quint16(laneIndex), kind, stage, detail, actor, major, minor,
                               value, other});
            };
            auto call = [&](quint8 stage, float weight) {
                add(Kind::Intent, stage, 0, 0, weight);
                at += between(40, 900);
                if (chance(0.025)) {
                    add(Kind::Outcome, stage, 1, 0, weight);
                    at += between(5, 40);
                    add(Kind::ActionFailed, stage, 0, 0, weight);
                    at += between(5'000, 20'000);
                    add(Kind::Intent, stage, 0, 0, weight);
                    at += between(40, 900);
                }
                add(Kind::Outcome, stage, 0, 0, weight);
            };
            add(Kind::Started, 0, 0, who);
            at += between(200, 2'000);
            const double weights[] = {1, 5, 25, 50, 100};
            const int stages = lane.strategy == 0 ? 5 : lane.strategy == 1 ? 2 : 4;
            const int failAt = chance(0.07) ? int(between(0, stages - 1)) : -1;
            bool aborted = false;
            for (int stage = 0; stage < stages && !aborted; ++stage) {
                const auto s = quint8(stage);
                const float weight = lane.strategy == 0 ? float(weights[stage]) : 100.0f;
                add(lane.strategy == 2 ? Kind::Scaled : Kind::StageStarted, s, 0, 0, weight,
                    float(between(2, 40)));
                call(s, weight);
                at += between(20'000, 90'000);
                if (lane.strategy == 1 && stage == 1) {
                    add(Kind::Switched, s);
                    at += between(500, 3'000);
                } else if (lane.strategy != 2) {
                    call(s, weight);
                    at += between(500, 3'000);
                    add(Kind::WeightSet, s, 0, 0, weight);
                }
                const qint64 bakeEnd = at + between(6, 14) * minuteMs;
                const int gateCount = 2 + int(lane.service.size() % 2);
                int failures = 0;
                while (at < bakeEnd && !aborted) {
                    at += between(25'000, 35'000);
                    for (int gate = 0; gate < gateCount; ++gate) {
                        const bool fail
                            = stage == failAt && gate == 0 && at > bakeEnd - 5 * minuteMs;
                        const float baseline = gate == 0 ? float(between(10, 40)) / 10000.0f
                                                         : float(between(180, 260));
                        const float measured
                            = fail ? baseline * 4.0f : baseline * float(between(85, 125)) / 100.0f;
                        add(Kind::Gate, s, quint8(gate | (fail ? 0x80 : 0)), 0, measured, baseline);
                        at += between(1, 30);
                        if (fail && ++failures == 3) {
                            add(Kind::Aborted, s, 0, 0, measured, baseline);
                            at += between(100, 900);
                            call(s, 0);
                            at += between(5'000, 40'000);
                            add(lane.strategy == 1 ? Kind::SwitchedBack : Kind::RolledBack, s);
                            aborted = true;
                            break;
                        }
                    }
                    if (!aborted && chance(0.004)) {
                        add(Kind::Paused, s, 0, who);
                        at += between(2, 25) * minuteMs;
                        add(Kind::Resumed, s, 0, who);
                    }
                }
                if (!aborted && chance(0.03)) {
                    add(Kind::Held, s);
                    at += between(1, 5) * minuteMs;
                }
            }
            if (!aborted) {
                if (lane.strategy == 1 && chance(0.2)) {
                    add(Kind::WindowExtended, 1);
                    at += between(5, 20) * minuteMs;
                }
                if (lane.strategy == 1 && chance(0.04)) {
                    add(Kind::RollbackRequested, 1, 0, who);
                    at += between(300, 2'000);
                    call(1, 0);
                    add(Kind::SwitchedBack, 1);
                } else {
                    call(quint8(stages - 1), 100);
                    add(Kind::Succeeded, quint8(stages - 1), 0, 0, float(between(4, 40)));
                }
            }
            // Most teams release a few times a day; staging takes more of them.
            at += lane.environment == QLatin1String("staging") ? between(12, 60) * minuteMs
                                                               : between(20, 100) * minuteMs;
        }
    }
    std::stable_sort(all.begin(), all.end(),
                     [](const Synthetic &a, const Synthetic &b) { return a.at < b.at; });
    if (qsizetype(all.size()) > entryCount)
        all.resize(size_t(entryCount));
    return all;
}

// The entry as the engines and the controller would have journalled it.
sb::JournalEntry materialize(const Synthetic &s, qint64 sequence, const QList<Lane> &laneList)
{
    const Lane &lane = laneList.at(s.lane);
    const QString newVersion = QStringLiteral("%1.%2.0").arg(s.major).arg(s.minor);
    const QString oldVersion = QStringLiteral("%1.%2.3").arg(s.major).arg(s.minor - 1);
    sb::JournalEntry e;
    e.sequence = sequence;
    e.at = sb::fromMSecsSinceEpoch(s.at);
    e.service = {lane.service, lane.environment};
    e.actor = s.actor ? QString::fromLatin1(operators[s.actor - 1]) : sb::automaticActor;
    e.releaseId = QStringLiteral("%1/%2:%3").arg(lane.service, lane.environment, newVersion);
    e.stage = s.stage;
    const QString weight = QString::number(s.value, 'g', 3);
    const QString action
        = s.value >= 100 || lane.strategy != 0
              ? QStringLiteral("scale %1 to %2 instances").arg(newVersion).arg(s.stage + 3)
              : QStringLiteral("set weights %1=%2 %3=%4")
                    .arg(oldVersion)
                    .arg(100 - s.value)
                    .arg(newVersion, weight);
    switch (s.kind) {
    case Kind::Started:
        e.kind = QStringLiteral("started");
        e.stage = -1;
        e.reason = QStringLiteral("%1 of %2 from %3 to %4 with plan 'standard': ticket CHG-%5")
                       .arg(lane.strategy == 0   ? QStringLiteral("canary")
                            : lane.strategy == 1 ? QStringLiteral("blue-green release")
                                                 : QStringLiteral("rolling update"),
                            lane.service, oldVersion, newVersion)
                       .arg(s.minor * 37 + s.major);
        break;
    case Kind::StageStarted:
        e.kind = QStringLiteral("stage-started");
        e.reason = QStringLiteral("stage %1 of 5 begins: %2 % of traffic for %3, %4 canary "
                                  "instances first")
                       .arg(s.stage + 1)
                       .arg(weight, newVersion)
                       .arg(s.other);
        break;
    case Kind::Scaled:
        e.kind = QStringLiteral("scaled");
        e.reason = QStringLiteral("rolling step %1: %2 at %3 instances, %4 drained; max surge 25 %")
                       .arg(s.stage + 1)
                       .arg(newVersion)
                       .arg(s.other)
                       .arg(oldVersion);
        break;
    case Kind::Intent:
        e.kind = sb::journalkind::intent;
        e.action = action;
        e.reason = QStringLiteral("stage %1 needs this before its bake can begin on %2")
                       .arg(s.stage + 1)
                       .arg(lane.service);
        break;
    case Kind::Outcome:
        e.kind = sb::journalkind::outcome;
        e.action = action;
        e.outcome = s.detail ? QStringLiteral("haproxy: connection refused by 10.4.%1.%2:9000 "
                                              "(timeout after 20 s)")
                                   .arg(s.lane % 7)
                                   .arg(s.minor)
                             : QStringLiteral("ok");
        e.intent = sequence - 1;
        break;
    case Kind::ActionFailed:
        e.kind = QStringLiteral("action-failed");
        e.reason = QStringLiteral("the router refused the weights for %1 (timeout after 20 s); "
                                  "retrying in 15 s")
                       .arg(newVersion);
        break;
    case Kind::WeightSet:
        e.kind = QStringLiteral("weight-set");
        e.reason = QStringLiteral("%1 % of traffic on %2 confirmed by the router; baking for "
                                  "%3 min")
                       .arg(weight, newVersion)
                       .arg(6 + s.stage * 2);
        e.values.insert(QStringLiteral("weight.canary"), s.value);
        break;
    case Kind::Gate: {
        e.kind = QStringLiteral("gate-measured");
        const bool fail = s.detail & 0x80;
        const QString gate = QString::fromLatin1(gates[s.detail & 0x7f]);
        const bool ratio = (s.detail & 0x7f) == 0;
        auto shown = [ratio](double v) {
            return ratio ? QStringLiteral("%1 %").arg(v * 100, 0, 'f', 2)
                         : QStringLiteral("%1 ms").arg(v, 0, 'f', 0);
        };
        const double limit = ratio ? s.other * 1.5 + 0.001 : s.other * 1.2 + 25;
        e.reason
            = QStringLiteral("gate %1: %2: %3 %4 %5 (baseline %6, %7 requests in the last 30 s)")
                  .arg(gate, fail ? QStringLiteral("fail") : QStringLiteral("pass"), shown(s.value),
                       fail ? QStringLiteral(">") : QStringLiteral("≤"), shown(limit),
                       shown(s.other))
                  .arg(1000 + s.minor * 13 % 900);
        e.values.insert(gate + QStringLiteral(".canary"), s.value);
        e.values.insert(gate + QStringLiteral(".baseline"), s.other);
        e.values.insert(gate + QStringLiteral(".limit"), limit);
        break;
    }
    case Kind::Held:
        e.kind = QStringLiteral("held");
        e.reason
            = QStringLiteral("bake done; holding: gate orders_per_request has too few requests "
                             "(412 of 1,000)");
        break;
    case Kind::Paused:
        e.kind = QStringLiteral("paused");
        e.reason = QStringLiteral("pausing %1 to check the ledger alerts before going further")
                       .arg(newVersion);
        break;
    case Kind::Resumed:
        e.kind = QStringLiteral("resumed");
        e.reason
            = QStringLiteral("ledger alerts were a reporting job, unrelated to %1").arg(newVersion);
        break;
    case Kind::Aborted:
        e.kind = QStringLiteral("aborted");
        e.reason = QStringLiteral("gate error_rate failed 3 of 3 allowed measurements at stage %1: "
                                  "%2 % against baseline %3 %")
                       .arg(s.stage + 1)
                       .arg(s.value * 100, 0, 'f', 2)
                       .arg(s.other * 100, 0, 'f', 2);
        e.values.insert(QStringLiteral("error_rate.canary"), s.value);
        e.values.insert(QStringLiteral("error_rate.baseline"), s.other);
        break;
    case Kind::RolledBack:
        e.kind = QStringLiteral("rolled-back");
        e.reason = QStringLiteral("%1 serves all traffic again; %2 scaled down to 0 instances")
                       .arg(oldVersion, newVersion);
        break;
    case Kind::Succeeded:
        e.kind = QStringLiteral("succeeded");
        e.reason = QStringLiteral("%1 serves all traffic; %2 scaled down from %3 instances")
                       .arg(newVersion, oldVersion)
                       .arg(s.value);
        break;
    case Kind::Switched:
        e.kind = QStringLiteral("switched");
        e.reason = QStringLiteral("all traffic on green %1, observed on the router; blue %2 stays "
                                  "warm for 30 min")
                       .arg(newVersion, oldVersion);
        break;
    case Kind::SwitchedBack:
        e.kind = QStringLiteral("switched-back");
        e.reason = QStringLiteral("all traffic back on blue %1 inside the warm window; green %2 "
                                  "kept for inspection")
                       .arg(oldVersion, newVersion);
        break;
    case Kind::WindowExtended:
        e.kind = QStringLiteral("window-extended");
        e.reason = QStringLiteral("blue %1 stays warm 20 min longer: post-switch gates still "
                                  "measuring")
                       .arg(oldVersion);
        break;
    case Kind::RollbackRequested:
        e.kind = sb::journalkind::rollbackRequested;
        e.reason = QStringLiteral("customers report failed checkouts since the switch to %1; "
                                  "rolling back")
                       .arg(newVersion);
        break;
    }
    return e;
}

double timeFilter(const sb::TimelineIndex &index, const sb::TimelineFilter &filter,
                  qsizetype *matched)
{
    const auto start = std::chrono::steady_clock::now();
    const sb::TimelineMatches matches = index.filter(filter);
    const double elapsed = sb::bench::millisecondsSince(start);
    *matched = qsizetype(matches.rows.size());
    return elapsed;
}

// Paints the view `paintRuns` times, each after a small zoom so nothing drawn before is reused,
// as when the wheel turns.
std::vector<double> timePaints(sb::TimelineView &view, QImage &image)
{
    std::vector<double> times;
    const double centre = view.plotRect().center().x();
    for (int run = 0; run < paintRuns + 1; ++run) {
        view.zoomAt(run % 2 ? 1.02 : 1 / 1.02, centre);
        image.fill(Qt::white);
        const auto start = std::chrono::steady_clock::now();
        {
            QPainter painter(&image);
            view.render(&painter);
        }
        if (run > 0)
            times.push_back(sb::bench::millisecondsSince(start));
    }
    return times;
}

} // namespace

int main(int argc, char **argv)
{
    qputenv("QT_QPA_PLATFORM", "offscreen");
    QApplication app(argc, argv);
    sb::bench::printHeader("bench_timeline",
                           "medians of 11 runs per filter and 21 paints per zoom, after one "
                           "warm-up each");

    const QList<Lane> laneList = lanes();
    const std::vector<Synthetic> synthetic = generate(laneList);
    std::printf("# %lld entries in %lld lanes from %s to %s\n", qlonglong(synthetic.size()),
                qlonglong(laneList.size()),
                qPrintable(sb::formatUtc(sb::fromMSecsSinceEpoch(synthetic.front().at))),
                qPrintable(sb::formatUtc(sb::fromMSecsSinceEpoch(synthetic.back().at))));

    // The build as the panel does it from the journal: room for the count, entry by entry, then
    // the unused room given back. Turning the compact records into entries stands for the
    // journal's reading, so it stays out of the figure.
    sb::TimelineIndex index;
    double buildMs = 0;
    index.reserve(qsizetype(synthetic.size()));
    qsizetype textBytes = 0;
    constexpr qsizetype batch = 8192;
    for (qsizetype first = 0; first < qsizetype(synthetic.size()); first += batch) {
        QList<sb::JournalEntry> entries;
        const qsizetype end = std::min(first + batch, qsizetype(synthetic.size()));
        entries.reserve(end - first);
        for (qsizetype i = first; i < end; ++i) {
            entries.append(materialize(synthetic[size_t(i)], i + 1, laneList));
            textBytes += entries.last().reason.size();
        }
        const auto start = std::chrono::steady_clock::now();
        index.append(entries);
        buildMs += sb::bench::millisecondsSince(start);
    }
    const auto squeezeStart = std::chrono::steady_clock::now();
    index.squeeze();
    buildMs += sb::bench::millisecondsSince(squeezeStart);
    std::printf("# reasons average %.0f characters\n", double(textBytes) / double(index.size()));

    struct Case {
        const char *name;
        sb::TimelineFilter filter;
        bool representative = true; // counts toward timeline_filter_1m_ms
    };
    const qint64 lastMs = index.lastMs();
    std::vector<Case> cases(6);
    cases[0].name = "service";
    cases[0].filter.services = {QStringLiteral("payments")};
    cases[1].name = "kind";
    cases[1].filter.kinds = {QStringLiteral("aborted")};
    cases[2].name = "text";
    cases[2].filter.text = QStringLiteral("timeout");
    cases[3].name = "time_range";
    cases[3].filter.fromMs = lastMs - dayMs;
    cases[4].name = "combined";
    cases[4].filter.services = {QStringLiteral("payments"), QStringLiteral("checkout")};
    cases[4].filter.environments = {QStringLiteral("production")};
    cases[4].filter.categories = sb::categoryBit(sb::TimelineCategory::GateFail)
                                 | sb::categoryBit(sb::TimelineCategory::Rollback);
    cases[4].filter.fromMs = lastMs - 3 * dayMs;
    cases[4].filter.text = QStringLiteral("error_rate");
    // The hardest search: a word in most entries, each found and mapped to its row.
    cases[5].name = "text_common";
    cases[5].filter.text = QStringLiteral("requests");
    cases[5].representative = false;

    std::vector<double> all;
    double worst = 0;
    for (const Case &c : cases) {
        qsizetype matched = 0;
        timeFilter(index, c.filter, &matched);
        std::vector<double> runs;
        for (int run = 0; run < filterRuns; ++run)
            runs.push_back(timeFilter(index, c.filter, &matched));
        if (c.representative)
            all.insert(all.end(), runs.cbegin(), runs.cend());
        const double median = sb::bench::median(runs);
        worst = std::max(worst, median);
        std::printf("# filter %s: %lld matches\n", c.name, qlonglong(matched));
        char name[64];
        std::snprintf(name, sizeof name, "timeline_filter_1m_%s_ms", c.name);
        sb::bench::printFigure(name, median);
    }

    sb::TimelineMatches everything = index.filter({});
    sb::TimelineView view;
    view.resize(viewWidth, viewHeight);
    view.setMatches(&index, &everything);
    view.show();
    QCoreApplication::processEvents();
    QImage image(view.size(), QImage::Format_ARGB32_Premultiplied);
    view.setVisibleRange(weekStartMs, weekStartMs + 7 * dayMs);
    const std::vector<double> week = timePaints(view, image);
    // A busy minute in the middle of the week.
    const qint64 minuteStart = weekStartMs + 3 * dayMs + 14 * hourMs;
    view.setVisibleRange(minuteStart, minuteStart + minuteMs);
    const std::vector<double> minute = timePaints(view, image);

    std::printf("# the figures\n");
    sb::bench::printFigure("timeline_filter_1m_ms", sb::bench::median(all));
    sb::bench::printFigure("timeline_filter_1m_worst_ms", worst);
    sb::bench::printFigure("timeline_filter_1m_target_ms", 100, 0);
    sb::bench::printFigure("timeline_index_build_1m_ms", buildMs, 0);
    sb::bench::printFigure("timeline_paint_week_ms", sb::bench::median(week));
    sb::bench::printFigure("timeline_paint_minute_ms", sb::bench::median(minute));
    sb::bench::printFigure("timeline_index_mb", double(index.memoryUsage()) / (1024.0 * 1024.0), 1);
    return 0;
}
