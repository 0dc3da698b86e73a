// The canary judges on synthetic traffic: how often each blames a healthy canary, and how soon
// each catches a canary that errs more. Every run generates its own traffic second by second
// (100 requests a second, 5 % of them to the canary, errors drawn per arm) and feeds the same
// stream to the sequential judge and to a threshold gate set up like a typical Argo Rollouts
// analysis, through the judges signalbox-ctl judge runs (core/judgestream.h).
//
//   bench_judge [--seeds N]   N seeded runs per cell, default 1000

#include "benchstats.h"
#include "judgestream.h"

#include <QString>

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <optional>
#include <random>
#include <thread>
#include <vector>

using namespace sb;

namespace {

// 1,000 rather than the 400 asked for, so that the Wilson interval of a false-alarm rate near
// 3 % stays under the 5 % target when the rate does.
constexpr int defaultSeeds = 1000;
constexpr int horizonSeconds = 60 * 60;
// A threshold analysis often runs for one canary step only: false alarms by then, too (after
// the shared incident, which ends at minute 15).
constexpr int stepSeconds = 20 * 60;
constexpr double canaryRequestsPerSecond = 5;
constexpr double baselineRequestsPerSecond = 95;
constexpr double baselineErrorRate = 0.005;
constexpr double slowShare = 0.01;
// The shared incident: both arms' error rates five times higher from minute 10 to minute 15.
constexpr double incidentFactor = 5;
constexpr int incidentFrom = 10 * 60;
constexpr int incidentUntil = 15 * 60;
constexpr double falseAlarmTarget = 0.05;

// The threshold gate as an Argo Rollouts analysis is typically written: a measurement a minute,
// successCondition canary error rate <= 1 %, failureLimit 3. Argo fails the analysis when the
// failed measurements exceed failureLimit; a workspace gate rolls back at its failure_limit-th
// failure, so the same analysis here has failure limit 4.
constexpr int argoFailureLimit = 3;
constexpr int thresholdFailureLimit = argoFailureLimit + 1;
constexpr qint64 thresholdMinRequests = 100;
const char *const thresholdBound = "<= 1%";

struct Cell {
    const char *key;   // in the figures' names
    const char *title; // in the table
    double regression; // the canary's error rate over the baseline's, from the start
    bool sharedIncident;
    bool splitJudge;               // also runs the judge on errors and slow requests
    std::optional<double> targetS; // time to detect, for a regression
};

const std::vector<Cell> cells{
    {"healthy", "healthy canary", 1, false, true, std::nullopt},
    {"shared_incident", "shared incident x5, min 10-15", 1, true, true, std::nullopt},
    {"2x", "2x errors from the start", 2, false, true, 7 * 60.0},
    {"5x", "5x errors from the start", 5, false, false, 45.0},
    {"10x", "10x errors from the start", 10, false, false, 15.0},
};

bool isRegression(const Cell &cell)
{
    return cell.targetS.has_value();
}

// When each judge decided in one run, in simulated seconds; none within the horizon.
struct RunOutcome {
    std::optional<double> sequentialRollback;
    std::optional<double> sequentialPromote; // its first "safe to promote"
    std::optional<double> splitRollback;
    std::optional<double> thresholdRollback;
};

const GateSpec &thresholdGate()
{
    static const GateSpec gate = [] {
        auto made = errorRateGate(QString::fromLatin1(thresholdBound), thresholdMinRequests,
                                  thresholdFailureLimit, std::chrono::minutes(1));
        if (const QString *problem = std::get_if<QString>(&made)) {
            std::fprintf(stderr, "bench_judge: %s\n", qPrintable(*problem));
            std::exit(1);
        }
        return std::get<GateSpec>(std::move(made));
    }();
    return gate;
}

// One second of traffic; slow requests only for the cells that count them.
StreamInterval nextSecond(std::mt19937_64 &random,
                          std::poisson_distribution<qint64> &canaryArrivals,
                          std::poisson_distribution<qint64> &baselineArrivals, const Cell &cell,
                          int second)
{
    const bool inIncident = cell.sharedIncident && second > incidentFrom && second <= incidentUntil;
    const double baselineRate = baselineErrorRate * (inIncident ? incidentFactor : 1);
    const double canaryRate = std::min(1.0, baselineRate * cell.regression);
    StreamInterval interval;
    interval.t = second;
    interval.canaryRequests = canaryArrivals(random);
    interval.baselineRequests = baselineArrivals(random);
    interval.canaryErrors
        = std::binomial_distribution<qint64>(interval.canaryRequests, canaryRate)(random);
    interval.baselineErrors
        = std::binomial_distribution<qint64>(interval.baselineRequests, baselineRate)(random);
    if (cell.splitJudge) {
        interval.slow = SlowCounts{
            std::binomial_distribution<qint64>(interval.baselineRequests, slowShare)(random),
            std::binomial_distribution<qint64>(interval.canaryRequests, slowShare)(random)};
    }
    return interval;
}

std::uint64_t seedOf(size_t cellIndex, int run)
{
    return std::uint64_t(cellIndex) * 1'000'000 + std::uint64_t(run);
}

RunOutcome runOnce(const Cell &cell, std::uint64_t seed)
{
    std::mt19937_64 random(seed);
    std::poisson_distribution<qint64> canaryArrivals(canaryRequestsPerSecond);
    std::poisson_distribution<qint64> baselineArrivals(baselineRequestsPerSecond);
    SequentialStreamJudge sequential{SequentialSettings{}};
    std::optional<SequentialStreamJudge> split;
    if (cell.splitJudge)
        split.emplace(SequentialSettings{});
    ThresholdStreamJudge threshold(thresholdGate());

    RunOutcome outcome;
    for (int second = 1; second <= horizonSeconds; ++second) {
        const StreamInterval withSlow
            = nextSecond(random, canaryArrivals, baselineArrivals, cell, second);
        StreamInterval errorsOnly = withSlow;
        errorsOnly.slow.reset();
        if (const auto change = sequential.add(errorsOnly)) {
            if (change->decision == JudgeDecision::Rollback)
                outcome.sequentialRollback = change->t;
            else if (change->decision == JudgeDecision::Promote && !outcome.sequentialPromote)
                outcome.sequentialPromote = change->t;
        }
        if (split) {
            if (const auto change = split->add(withSlow);
                change && change->decision == JudgeDecision::Rollback)
                outcome.splitRollback = change->t;
        }
        if (const auto change = threshold.add(errorsOnly);
            change && change->decision == JudgeDecision::Rollback)
            outcome.thresholdRollback = change->t;
        // Rollback is final; a healthy run goes on to the horizon, where promotion is measured.
        const bool allRolledBack = sequential.decision() == JudgeDecision::Rollback
                                   && threshold.decision() == JudgeDecision::Rollback
                                   && (!split || split->decision() == JudgeDecision::Rollback);
        if (allRolledBack)
            break;
    }
    return outcome;
}

// Every cell's runs, spread over the machine's cores; results by cell, then by run.
std::vector<std::vector<RunOutcome>> runAll(int seeds)
{
    std::vector<std::vector<RunOutcome>> outcomes(cells.size(),
                                                  std::vector<RunOutcome>(size_t(seeds)));
    const size_t jobs = cells.size() * size_t(seeds);
    std::atomic<size_t> next{0};
    const auto work = [&] {
        for (size_t job = next++; job < jobs; job = next++) {
            const size_t cellIndex = job / size_t(seeds);
            const int run = int(job % size_t(seeds));
            outcomes[cellIndex][size_t(run)] = runOnce(cells[cellIndex], seedOf(cellIndex, run));
        }
    };
    std::vector<std::thread> threads;
    const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
    for (unsigned i = 0; i < cores; ++i)
        threads.emplace_back(work);
    for (std::thread &thread : threads)
        thread.join();
    return outcomes;
}

struct Rate {
    double value = 0;
    double low = 0; // the 95 % Wilson score interval
    double high = 0;
};

Rate wilson(int hits, int runs)
{
    const double z = 1.959964;
    const double n = runs;
    const double p = double(hits) / n;
    const double denominator = 1 + z * z / n;
    const double centre = (p + z * z / (2 * n)) / denominator;
    const double half = z * std::sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator;
    return {p, std::max(0.0, centre - half), std::min(1.0, centre + half)};
}

struct Detection {
    double median = 0; // infinity when fewer than half the runs detected within the horizon
    double p90 = 0;
    double detected = 0; // the fraction of runs that detected within the horizon
};

Detection detection(const std::vector<std::optional<double>> &times)
{
    std::vector<double> values;
    int detected = 0;
    for (const std::optional<double> &time : times) {
        values.push_back(time ? *time : std::numeric_limits<double>::infinity());
        detected += time ? 1 : 0;
    }
    return {sb::bench::median(values), sb::bench::percentile(values, 90),
            double(detected) / double(times.size())};
}

template <typename Field>
std::vector<std::optional<double>> timesOf(const std::vector<RunOutcome> &runs, Field field)
{
    std::vector<std::optional<double>> times;
    for (const RunOutcome &run : runs)
        times.push_back(run.*field);
    return times;
}

QString seconds(double value)
{
    return std::isfinite(value) ? QStringLiteral("%1 s").arg(value, 0, 'f', 0)
                                : QStringLiteral("> %1 s").arg(horizonSeconds);
}

QString percent(double value)
{
    return QStringLiteral("%1 %").arg(100 * value, 0, 'f', 1);
}

void comment(const QString &line)
{
    std::printf(line.isEmpty() ? "#\n" : "# %s\n", qPrintable(line));
}

struct Judge {
    const char *key;
    const char *title;
    std::optional<double> RunOutcome::*rollback;
};

const Judge sequentialJudge{"sequential", "sequential, errors", &RunOutcome::sequentialRollback};
const Judge splitJudge{"sequential_split", "sequential, errors + slow", &RunOutcome::splitRollback};
const Judge thresholdJudge{"threshold", "threshold, Argo-like", &RunOutcome::thresholdRollback};

void falseAlarmRows(const Cell &cell, const std::vector<RunOutcome> &runs)
{
    std::vector<Judge> judges{sequentialJudge};
    if (cell.splitJudge)
        judges.push_back(splitJudge);
    judges.push_back(thresholdJudge);
    bool first = true;
    for (const Judge &judge : judges) {
        int alarms = 0;
        int alarmsInStep = 0;
        for (const RunOutcome &run : runs) {
            alarms += (run.*judge.rollback) ? 1 : 0;
            alarmsInStep += (run.*judge.rollback) && *(run.*judge.rollback) <= stepSeconds ? 1 : 0;
        }
        const Rate rate = wilson(alarms, int(runs.size()));
        const double inStep = double(alarmsInStep) / double(runs.size());
        comment(QStringLiteral("%1  %2  %3  %4  %5  %6")
                    .arg(QLatin1String(first ? cell.title : ""), -30)
                    .arg(QLatin1String(judge.title), -26)
                    .arg(percent(rate.value), 12)
                    .arg(QStringLiteral("%1 to %2").arg(percent(rate.low), percent(rate.high)), -20)
                    .arg(percent(inStep), 10)
                    .arg(QStringLiteral("<= %1").arg(percent(falseAlarmTarget))));
        first = false;
        const QString name = QStringLiteral("judge_%1_false_alarm_%2")
                                 .arg(QLatin1String(judge.key), QLatin1String(cell.key));
        sb::bench::printFigure(qPrintable(name), rate.value, 3);
        sb::bench::printFigure(qPrintable(name + QStringLiteral("_wilson_low")), rate.low, 3);
        sb::bench::printFigure(qPrintable(name + QStringLiteral("_wilson_high")), rate.high, 3);
        sb::bench::printFigure(qPrintable(name + QStringLiteral("_within_20min")), inStep, 3);
    }
}

void detectionRows(const Cell &cell, const std::vector<RunOutcome> &runs)
{
    std::vector<Judge> judges{sequentialJudge};
    if (cell.splitJudge)
        judges.push_back(splitJudge);
    judges.push_back(thresholdJudge);
    bool first = true;
    for (const Judge &judge : judges) {
        const Detection found = detection(timesOf(runs, judge.rollback));
        comment(QStringLiteral("%1  %2  %3  %4  %5  %6")
                    .arg(QLatin1String(first ? cell.title : ""), -30)
                    .arg(QLatin1String(judge.title), -26)
                    .arg(seconds(found.median), 9)
                    .arg(seconds(found.p90), 9)
                    .arg(percent(found.detected), 8)
                    .arg(QStringLiteral("<= %1").arg(seconds(*cell.targetS))));
        first = false;
        const QString name = QStringLiteral("judge_%1_detect_%2")
                                 .arg(QLatin1String(judge.key), QLatin1String(cell.key));
        sb::bench::printFigure(qPrintable(name + QStringLiteral("_median_s")), found.median, 0);
        sb::bench::printFigure(qPrintable(name + QStringLiteral("_p90_s")), found.p90, 0);
        sb::bench::printFigure(qPrintable(name + QStringLiteral("_detected")), found.detected, 3);
    }
}

int seedsFrom(int argc, char **argv)
{
    if (argc == 1)
        return defaultSeeds;
    if (argc == 3 && std::strcmp(argv[1], "--seeds") == 0) {
        char *end = nullptr;
        const long seeds = std::strtol(argv[2], &end, 10);
        if (end != argv[2] && *end == '\0' && seeds >= 1 && seeds <= 1'000'000)
            return int(seeds);
    }
    std::fprintf(stderr,
                 "bench_judge: usage: bench_judge [--seeds N], N from 1 to 1000000 "
                 "seeded runs per cell (default %d)\n",
                 defaultSeeds);
    std::exit(2);
}

} // namespace

int main(int argc, char **argv)
{
    const int seeds = seedsFrom(argc, argv);
    char method[200];
    std::snprintf(method, sizeof method,
                  "rates and percentiles over %d seeded runs per cell, in simulated time (not "
                  "wall-clock)",
                  seeds);
    sb::bench::printHeader("bench_judge", method);
    comment(QStringLiteral(
                "traffic: %1 requests/s, canary ~ Poisson(%2)/s and baseline ~ Poisson(%3)/s "
                "(canary weight 5 %), errors binomial per arm, baseline error rate %4; "
                "checked every second for up to %5 min; run r of cell c seeded with "
                "std::mt19937_64(1000000 c + r)")
                .arg(canaryRequestsPerSecond + baselineRequestsPerSecond)
                .arg(canaryRequestsPerSecond)
                .arg(baselineRequestsPerSecond)
                .arg(percent(baselineErrorRate))
                .arg(horizonSeconds / 60));
    comment(QStringLiteral(
        "sequential: alpha 0.05, k0 1, promote below 2, on errors alone; the 'errors + slow' row "
        "also counts slow requests (1 % of requests in both arms, not changed by the "
        "regression), alpha split between the two"));
    comment(QStringLiteral(
                "threshold: like a typical Argo Rollouts analysis, a measurement a minute, canary "
                "error rate %1, failureLimit %2. Argo fails the analysis when the failed "
                "measurements exceed failureLimit, at the %3th failing minute, while a Signalbox "
                "gate rolls back at its failure_limit-th failure: so the gate here has failure "
                "limit %3. Min requests %4, always met at ~300 canary requests a minute")
                .arg(QLatin1String(thresholdBound))
                .arg(argoFailureLimit)
                .arg(thresholdFailureLimit)
                .arg(thresholdMinRequests));
    comment(QStringLiteral("a false alarm is a rollback at any time within the %1 minutes, also "
                           "after the sequential judge said safe to promote; a time to detect is "
                           "from the start of the run to the rollback")
                .arg(horizonSeconds / 60));
    std::fflush(stdout);

    const auto started = std::chrono::steady_clock::now();
    const std::vector<std::vector<RunOutcome>> outcomes = runAll(seeds);
    const double wallSeconds = sb::bench::millisecondsSince(started) / 1000;

    sb::bench::printFigure("judge_seeds", seeds, 0);
    sb::bench::printFigure("judge_horizon_s", horizonSeconds, 0);
    comment(QString());
    comment(QStringLiteral("%1  %2  %3  %4  %5  %6")
                .arg(QStringLiteral("cell"), -30)
                .arg(QStringLiteral("judge"), -26)
                .arg(QStringLiteral("false alarms"), 12)
                .arg(QStringLiteral("95 % Wilson"), -20)
                .arg(QStringLiteral("by 20 min"), 10)
                .arg(QStringLiteral("target")));
    for (size_t i = 0; i < cells.size(); ++i) {
        if (!isRegression(cells[i]))
            falseAlarmRows(cells[i], outcomes[i]);
    }
    sb::bench::printFigure("judge_false_alarm_target", falseAlarmTarget, 3);

    comment(QString());
    comment(QStringLiteral("%1  %2  %3  %4  %5  %6")
                .arg(QStringLiteral("cell"), -30)
                .arg(QStringLiteral("judge"), -26)
                .arg(QStringLiteral("median"), 9)
                .arg(QStringLiteral("p90"), 9)
                .arg(QStringLiteral("detected"), 8)
                .arg(QStringLiteral("target (median)")));
    for (size_t i = 0; i < cells.size(); ++i) {
        if (!isRegression(cells[i]))
            continue;
        detectionRows(cells[i], outcomes[i]);
        sb::bench::printFigure(
            qPrintable(QStringLiteral("judge_detect_%1_target_s").arg(QLatin1String(cells[i].key))),
            *cells[i].targetS, 0);
    }

    // How soon the sequential judge calls a healthy canary safe to promote (k < 2 shown).
    const Detection promoted = detection(timesOf(outcomes.front(), &RunOutcome::sequentialPromote));
    comment(QString());
    comment(QStringLiteral("healthy canary, sequential: safe to promote after %1 (median), %2 "
                           "(p90), %3 of runs within %4 min")
                .arg(seconds(promoted.median), seconds(promoted.p90), percent(promoted.detected))
                .arg(horizonSeconds / 60));
    sb::bench::printFigure("judge_sequential_promote_healthy_median_s", promoted.median, 0);
    sb::bench::printFigure("judge_sequential_promote_healthy_p90_s", promoted.p90, 0);
    sb::bench::printFigure("judge_sequential_promote_healthy_within_horizon", promoted.detected, 3);

    comment(QStringLiteral("wall time of the bench: %1 s on %2 threads")
                .arg(wallSeconds, 0, 'f', 1)
                .arg(std::max(1u, std::thread::hardware_concurrency())));
    sb::bench::printFigure("judge_bench_wall_s", wallSeconds, 1);
    return 0;
}
