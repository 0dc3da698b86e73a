#include "releasecodec.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QJsonParseError>
#include <QJsonValue>
#include <QStringList>

#include <cmath>
#include <concepts>
#include <limits>
#include <type_traits>

namespace sb {

namespace {

constexpr int currentFormat = 1;
// Far above what a release holds (a few stages, gates and requests), and low enough that a
// corrupted or hostile record cannot hand the engines work without end.
constexpr qsizetype maxEntries = 10000;
constexpr qsizetype maxBytes = 16 * 1024 * 1024;

template <typename S, typename T>
concept Is = std::same_as<std::remove_const_t<S>, T>;

// Fields added to the records after format 1 shipped, which records written before may lack;
// they read as their defaults (empty, a threshold gate, no sequential gates' evidence). Every
// other field is required.
bool addedSinceFirstFormat(QLatin1StringView key)
{
    return key == QLatin1StringView("noData") || key == QLatin1StringView("method")
           || key == QLatin1StringView("sequential") || key == QLatin1StringView("judges");
}

// Each record's fields, listed once for both directions, under their C++ names.

template <Is<ServiceKey> S, typename F>
void fields(S &s, F &&field)
{
    field("name", s.name);
    field("environment", s.environment);
}

template <Is<MetricDefinition> S, typename F>
void fields(S &s, F &&field)
{
    field("name", s.name);
    field("title", s.title);
    field("unit", s.unit);
    field("higherIsBetter", s.higherIsBetter);
    field("group", s.group);
    field("builtIn", s.builtIn);
}

template <Is<GateBound> S, typename F>
void fields(S &s, F &&field)
{
    field("comparison", s.comparison);
    field("relative", s.relative);
    field("factor", s.factor);
    field("offset", s.offset);
    field("text", s.text);
}

template <Is<SequentialSettings> S, typename F>
void fields(S &s, F &&field)
{
    field("alpha", s.alpha);
    field("k0", s.k0);
    field("promoteBelow", s.promoteBelow);
}

template <Is<SequentialGate> S, typename F>
void fields(S &s, F &&field)
{
    field("settings", s.settings);
    field("counts", s.counts);
    field("slowerThanMs", s.slowerThanMs);
}

template <Is<GateSpec> S, typename F>
void fields(S &s, F &&field)
{
    field("name", s.name);
    field("method", s.method);
    field("metric", s.metric);
    field("bound", s.bound);
    field("minRequests", s.minRequests);
    field("failureLimit", s.failureLimit);
    field("interval", s.interval);
    field("sequential", s.sequential);
    field("origin", s.origin);
}

template <Is<Measurement> S, typename F>
void fields(S &s, F &&field)
{
    field("at", s.at);
    field("verdict", s.verdict);
    field("canary", s.canary);
    field("baseline", s.baseline);
    field("limit", s.limit);
    field("canaryRequests", s.canaryRequests);
    field("baselineRequests", s.baselineRequests);
    field("why", s.why);
}

template <Is<ArmCounts> S, typename F>
void fields(S &s, F &&field)
{
    field("requests", s.requests);
    field("events", s.events);
}

template <Is<RateRatioEvidence> S, typename F>
void fields(S &s, F &&field)
{
    field("event", s.event);
    field("k0", s.k0);
    field("promoteBelow", s.promoteBelow);
    field("regressionLogRatios", s.regressionLogRatios);
    field("promoteLogRatios", s.promoteLogRatios);
    field("profileLogLikelihood", s.profileLogLikelihood);
    field("baseline", s.baseline);
    field("canary", s.canary);
    field("intervals", s.intervals);
}

template <Is<JudgeEvidence> S, typename F>
void fields(S &s, F &&field)
{
    field("events", s.events);
}

template <Is<SequentialGateState> S, typename F>
void fields(S &s, F &&field)
{
    field("evidence", s.evidence);
    field("slowerThanMs", s.slowerThanMs);
    field("readUntil", s.readUntil);
    field("decision", s.decision);
}

template <Is<GateState> S, typename F>
void fields(S &s, F &&field)
{
    field("gate", s.gate);
    field("measurements", s.measurements);
    field("failures", s.failures);
    field("last", s.last);
}

template <Is<Request> S, typename F>
void fields(S &s, F &&field)
{
    field("target", s.target);
    field("at", s.at);
    field("failed", s.failed);
    field("version", s.version);
}

template <Is<ReleaseAction> S, typename F>
void fields(S &s, F &&field)
{
    field("kind", s.kind);
    field("weights", s.weights);
    field("version", s.version);
    field("instances", s.instances);
}

template <Is<LatencyHistogram> S, typename F>
void fields(S &s, F &&field)
{
    field("boundsMs", s.boundsMs);
    field("cumulativeCounts", s.cumulativeCounts);
}

template <Is<VersionMetrics> S, typename F>
void fields(S &s, F &&field)
{
    field("version", s.version);
    field("requestsPerSecond", s.requestsPerSecond);
    field("errorRatio", s.errorRatio);
    field("p50Ms", s.p50Ms);
    field("p99Ms", s.p99Ms);
    field("requests", s.requests);
    field("custom", s.custom);
    field("noData", s.noData);
    field("latency", s.latency);
}

template <Is<CanaryStage> S, typename F>
void fields(S &s, F &&field)
{
    field("weightPercent", s.weightPercent);
    field("bake", s.bake);
    field("gates", s.gates);
    field("approval", s.approval);
}

template <Is<CanaryPlan> S, typename F>
void fields(S &s, F &&field)
{
    field("name", s.name);
    field("origin", s.origin);
    field("stages", s.stages);
    field("gates", s.gates);
}

template <Is<CanaryStatus> S, typename F>
void fields(S &s, F &&field)
{
    field("id", s.id);
    field("service", s.service);
    field("stableVersion", s.stableVersion);
    field("canaryVersion", s.canaryVersion);
    field("replicas", s.replicas);
    field("startedAt", s.startedAt);
    field("startedBy", s.startedBy);
    field("stage", s.stage);
    field("stageStartedAt", s.stageStartedAt);
    field("bakeStartedAt", s.bakeStartedAt);
    field("pausedDuringBake", s.pausedDuringBake);
    field("pausedAt", s.pausedAt);
    field("gates", s.gates);
    field("judges", s.judges);
    field("holdReason", s.holdReason);
    field("aborted", s.aborted);
    field("abortReason", s.abortReason);
    field("endedAt", s.endedAt);
    field("weightRequest", s.weightRequest);
    field("canaryScaleRequest", s.canaryScaleRequest);
    field("stableScaleRequest", s.stableScaleRequest);
}

template <Is<BlueGreenPlan> S, typename F>
void fields(S &s, F &&field)
{
    field("origin", s.origin);
    field("warmWindow", s.warmWindow);
    field("autoSwitch", s.autoSwitch);
    field("preSwitchGates", s.preSwitchGates);
    field("postSwitchGates", s.postSwitchGates);
    field("gates", s.gates);
}

template <Is<BlueGreenStatus> S, typename F>
void fields(S &s, F &&field)
{
    field("id", s.id);
    field("service", s.service);
    field("oldVersion", s.oldVersion);
    field("newVersion", s.newVersion);
    field("replicas", s.replicas);
    field("startedAt", s.startedAt);
    field("startedBy", s.startedBy);
    field("deployAskedAt", s.deployAskedAt);
    field("newHeldAtDeploy", s.newHeldAtDeploy);
    field("readyAt", s.readyAt);
    field("preSwitchGates", s.preSwitchGates);
    field("oldBefore", s.oldBefore);
    field("switchedAt", s.switchedAt);
    field("switchedBy", s.switchedBy);
    field("switchReason", s.switchReason);
    field("extended", s.extended);
    field("postSwitchGates", s.postSwitchGates);
    field("postSwitchDataUntil", s.postSwitchDataUntil);
    field("holdReason", s.holdReason);
    field("pausedAt", s.pausedAt);
    field("switchedBack", s.switchedBack);
    field("aborted", s.aborted);
    field("abortReason", s.abortReason);
    field("retiredAt", s.retiredAt);
    field("endedAt", s.endedAt);
    field("pinRequest", s.pinRequest);
    field("newScaleRequest", s.newScaleRequest);
    field("switchRequest", s.switchRequest);
    field("oldScaleRequest", s.oldScaleRequest);
    field("refusedAction", s.refusedAction);
    field("refusedBecause", s.refusedBecause);
}

template <Is<InstanceBudget> S, typename F>
void fields(S &s, F &&field)
{
    field("value", s.value);
    field("percent", s.percent);
}

template <Is<RollingPlan> S, typename F>
void fields(S &s, F &&field)
{
    field("origin", s.origin);
    field("maxSurge", s.maxSurge);
    field("maxUnavailable", s.maxUnavailable);
    field("progressDeadline", s.progressDeadline);
}

template <Is<RollingStatus> S, typename F>
void fields(S &s, F &&field)
{
    field("id", s.id);
    field("service", s.service);
    field("fromVersion", s.fromVersion);
    field("toVersion", s.toVersion);
    field("replicas", s.replicas);
    field("startedAt", s.startedAt);
    field("startedBy", s.startedBy);
    field("lastProgressAt", s.lastProgressAt);
    field("readyTarget", s.readyTarget);
    field("remainingOther", s.remainingOther);
    field("draining", s.draining);
    field("failedSinceProgress", s.failedSinceProgress);
    field("failuresCountedTo", s.failuresCountedTo);
    field("pausedAt", s.pausedAt);
    field("stalled", s.stalled);
    field("rollbackStartedAt", s.rollbackStartedAt);
    field("rollbackReason", s.rollbackReason);
    field("replacedAtRollback", s.replacedAtRollback);
    field("endedAt", s.endedAt);
    field("fromScaleRequest", s.fromScaleRequest);
    field("toScaleRequest", s.toScaleRequest);
    field("fromScaleRefusedForGood", s.fromScaleRefusedForGood);
    field("toScaleRefusedForGood", s.toScaleRefusedForGood);
}

// Enums by name: toString's where the type has one. Parsing accepts exactly these names.
template <typename E>
struct Names;

template <>
struct Names<Verdict> {
    static constexpr Verdict values[] = {Verdict::Pass, Verdict::Fail, Verdict::Inconclusive};
    static QString of(Verdict v) { return toString(v); }
};

template <>
struct Names<GateMethod> {
    static constexpr GateMethod values[] = {GateMethod::Threshold, GateMethod::Sequential};
    static QString of(GateMethod m) { return toString(m); }
};

template <>
struct Names<CountedEvent> {
    static constexpr CountedEvent values[] = {CountedEvent::Errors, CountedEvent::SlowRequests};
    static QString of(CountedEvent e) { return toString(e); }
};

template <>
struct Names<JudgeDecision> {
    static constexpr JudgeDecision values[]
        = {JudgeDecision::Continue, JudgeDecision::Rollback, JudgeDecision::Promote};
    static QString of(JudgeDecision d) { return toString(d); }
};

template <>
struct Names<MetricUnit> {
    static constexpr MetricUnit values[]
        = {MetricUnit::Ratio, MetricUnit::Milliseconds, MetricUnit::PerSecond,
           MetricUnit::Cores, MetricUnit::Megabytes,    MetricUnit::Number};
    static QString of(MetricUnit u) { return toString(u); }
};

template <>
struct Names<MetricGroup> {
    static constexpr MetricGroup values[]
        = {MetricGroup::Health, MetricGroup::Business, MetricGroup::Resources};
    static QString of(MetricGroup g) { return toString(g); }
};

template <>
struct Names<GateBound::Comparison> {
    using C = GateBound::Comparison;
    static constexpr C values[] = {C::Below, C::AtMost, C::Above, C::AtLeast};
    static QString of(C c)
    {
        switch (c) {
        case C::Below: return QStringLiteral("below");
        case C::AtMost: return QStringLiteral("at-most");
        case C::Above: return QStringLiteral("above");
        case C::AtLeast: return QStringLiteral("at-least");
        }
        return {};
    }
};

template <>
struct Names<ReleaseAction::Kind> {
    using K = ReleaseAction::Kind;
    static constexpr K values[] = {K::SetWeights, K::Scale, K::Switch};
    static QString of(K k)
    {
        switch (k) {
        case K::SetWeights: return QStringLiteral("set-weights");
        case K::Scale: return QStringLiteral("scale");
        case K::Switch: return QStringLiteral("switch");
        }
        return {};
    }
};

template <typename E>
QString expectedNames()
{
    QStringList names;
    for (E e : Names<E>::values)
        names.append(Names<E>::of(e));
    return QStringLiteral("expected one of ") + names.join(QStringLiteral(", "));
}

// JSON has no NaN or infinities, and a latency quantile of an empty histogram is NaN, so they
// travel as strings, spelt as the journal spells them. So does a negative zero, which
// QJsonDocument writes as "-0" and reads back as the integer 0.
const QString nanText = QStringLiteral("NaN");
const QString infinityText = QStringLiteral("Infinity");
const QString minusInfinityText = QStringLiteral("-Infinity");
const QString minusZeroText = QStringLiteral("-0.0");

struct Encoder {
    static QJsonValue write(const QString &s) { return s; }
    static QJsonValue write(bool b) { return b; }
    static QJsonValue write(int n) { return n; }
    static QJsonValue write(qint64 n) { return n; }
    static QJsonValue write(double d)
    {
        if (std::isnan(d))
            return nanText;
        if (std::isinf(d))
            return d > 0 ? infinityText : minusInfinityText;
        if (d == 0 && std::signbit(d))
            return minusZeroText;
        return d;
    }
    static QJsonValue write(TimePoint t) { return toMSecsSinceEpoch(t); }
    static QJsonValue write(Duration d) { return qint64(d.count()); }

    template <typename E>
    requires std::is_enum_v<E>
    static QJsonValue write(const E &e) { return Names<E>::of(e); }

    template <typename T>
    static QJsonValue write(const QList<T> &list)
    {
        QJsonArray array;
        for (const T &item : list)
            array.append(write(item));
        return array;
    }

    template <typename T>
    static QJsonValue write(const QMap<QString, T> &map)
    {
        QJsonObject object;
        for (auto it = map.cbegin(); it != map.cend(); ++it)
            object.insert(it.key(), write(it.value()));
        return object;
    }

    template <typename R>
    requires std::is_class_v<R>
    static QJsonValue write(const R &record)
    {
        QJsonObject object;
        fields(record, [&object](const char *key, const auto &member) {
            put(object, QLatin1StringView(key), member);
        });
        return object;
    }

    template <typename T>
    static void put(QJsonObject &object, QLatin1StringView key, const T &member)
    {
        object.insert(key, write(member));
    }

    // Absent optionals are left out, so that absent and present stay apart.
    template <typename T>
    static void put(QJsonObject &object, QLatin1StringView key, const std::optional<T> &member)
    {
        if (member)
            object.insert(key, write(*member));
    }
};

// Reads into values, stopping at the first problem, which it names by its path in the record:
// "status.gates[2].last.verdict: expected one of pass, fail, inconclusive".
class Decoder
{
public:
    bool failed() const { return !m_error.isEmpty(); }
    const QString &error() const { return m_error; }

    void fail(const QString &path, const QString &what)
    {
        if (m_error.isEmpty())
            m_error = path + QStringLiteral(": ") + what;
    }

    static QString join(const QString &path, const QString &key)
    {
        return path.isEmpty() ? key : path + QLatin1Char('.') + key;
    }

    template <typename T>
    void take(const QJsonObject &object, const QString &path, QLatin1StringView key, T &out)
    {
        if (failed())
            return;
        const QString at = join(path, key);
        const auto it = object.constFind(key);
        if (it == object.constEnd()) {
            if (!addedSinceFirstFormat(key))
                return fail(at, QStringLiteral("missing"));
            out = T{}; // a record from before the field existed
            return;
        }
        read(it.value(), at, out);
    }

    template <typename T>
    void take(const QJsonObject &object, const QString &path, QLatin1StringView key,
              std::optional<T> &out)
    {
        if (failed())
            return;
        out.reset();
        const auto it = object.constFind(key);
        if (it == object.constEnd())
            return;
        T value{};
        read(it.value(), join(path, key), value);
        if (!failed())
            out = std::move(value);
    }

    void read(const QJsonValue &v, const QString &path, QString &out)
    {
        if (!v.isString())
            return fail(path, QStringLiteral("expected a string"));
        out = v.toString();
    }

    void read(const QJsonValue &v, const QString &path, bool &out)
    {
        if (!v.isBool())
            return fail(path, QStringLiteral("expected true or false"));
        out = v.toBool();
    }

    void read(const QJsonValue &v, const QString &path, int &out)
    {
        qint64 n = 0;
        if (!integer(v, path, n))
            return;
        if (n < std::numeric_limits<int>::min() || n > std::numeric_limits<int>::max()) {
            return fail(path,
                        QStringLiteral("%1 is out of range; expected an integer from %2 to %3")
                            .arg(n)
                            .arg(std::numeric_limits<int>::min())
                            .arg(std::numeric_limits<int>::max()));
        }
        out = int(n);
    }

    void read(const QJsonValue &v, const QString &path, qint64 &out) { integer(v, path, out); }

    void read(const QJsonValue &v, const QString &path, double &out)
    {
        if (v.isDouble()) {
            out = v.toDouble();
            return;
        }
        const QString text = v.toString();
        if (text == nanText)
            out = std::numeric_limits<double>::quiet_NaN();
        else if (text == infinityText)
            out = std::numeric_limits<double>::infinity();
        else if (text == minusInfinityText)
            out = -std::numeric_limits<double>::infinity();
        else if (text == minusZeroText)
            out = -0.0;
        else
            fail(path, QStringLiteral("expected a number, \"NaN\", \"Infinity\", \"-Infinity\" "
                                      "or \"-0.0\""));
    }

    void read(const QJsonValue &v, const QString &path, TimePoint &out)
    {
        qint64 ms = 0;
        if (integer(v, path, ms))
            out = fromMSecsSinceEpoch(ms);
    }

    void read(const QJsonValue &v, const QString &path, Duration &out)
    {
        qint64 ms = 0;
        if (integer(v, path, ms))
            out = Duration(ms);
    }

    template <typename E>
    requires std::is_enum_v<E>
    void read(const QJsonValue &v, const QString &path, E &out)
    {
        if (v.isString()) {
            const QString text = v.toString();
            for (E e : Names<E>::values) {
                if (Names<E>::of(e) == text) {
                    out = e;
                    return;
                }
            }
        }
        fail(path, expectedNames<E>());
    }

    template <typename T>
    void read(const QJsonValue &v, const QString &path, QList<T> &out)
    {
        if (!v.isArray())
            return fail(path, QStringLiteral("expected an array"));
        const QJsonArray array = v.toArray();
        if (!fits(array.size(), path))
            return;
        out.clear();
        out.reserve(array.size());
        for (qsizetype i = 0; i < array.size() && !failed(); ++i) {
            T item{};
            read(array.at(i), QStringLiteral("%1[%2]").arg(path).arg(i), item);
            out.append(std::move(item));
        }
    }

    template <typename T>
    void read(const QJsonValue &v, const QString &path, QMap<QString, T> &out)
    {
        if (!v.isObject())
            return fail(path, QStringLiteral("expected an object"));
        const QJsonObject object = v.toObject();
        if (!fits(object.size(), path))
            return;
        out.clear();
        for (auto it = object.constBegin(); it != object.constEnd() && !failed(); ++it) {
            T item{};
            read(it.value(), join(path, it.key()), item);
            out.insert(it.key(), std::move(item));
        }
    }

    template <typename R>
    requires std::is_class_v<R>
    void read(const QJsonValue &v, const QString &path, R &out)
    {
        if (!v.isObject())
            return fail(path, QStringLiteral("expected an object"));
        const QJsonObject object = v.toObject();
        fields(out, [&](const char *key, auto &member) {
            take(object, path, QLatin1StringView(key), member);
        });
    }

private:
    bool integer(const QJsonValue &v, const QString &path, qint64 &out)
    {
        // toInteger answers its default for a fraction or a double beyond qint64.
        const qint64 n = v.toInteger(0);
        if (!v.isDouble() || (n == 0 && v.toDouble() != 0)) {
            fail(path, QStringLiteral("expected an integer"));
            return false;
        }
        out = n;
        return true;
    }

    bool fits(qsizetype size, const QString &path)
    {
        if (size <= maxEntries)
            return true;
        fail(path,
             QStringLiteral("%1 entries; a release has at most %2").arg(size).arg(maxEntries));
        return false;
    }

    QString m_error;
};

// A field of a record and what is wrong with it.
struct FieldProblem {
    QString field; // after the record's path: ".k0", ".profileLogLikelihood[3]"
    QString problem;
};

// What makes evidence fail isWellFormed(), named by field.
FieldProblem evidenceProblem(const RateRatioEvidence &evidence)
{
    const auto listProblem = [](const char *name, const QList<double> &values,
                                qsizetype expected) -> std::optional<FieldProblem> {
        const QString field = QLatin1Char('.') + QLatin1StringView(name);
        if (values.size() != expected)
            return FieldProblem{
                field, QStringLiteral("%1 values, expected %2").arg(values.size()).arg(expected)};
        for (qsizetype i = 0; i < values.size(); ++i) {
            if (!std::isfinite(values.at(i)))
                return FieldProblem{
                    QStringLiteral("%1[%2]").arg(field).arg(i),
                    QStringLiteral("%1, expected a finite number").arg(values.at(i))};
        }
        return std::nullopt;
    };
    const auto countsProblem
        = [](const char *arm, const ArmCounts &counts) -> std::optional<FieldProblem> {
        if (counts.requests >= 0 && counts.events >= 0 && counts.events <= counts.requests)
            return std::nullopt;
        return FieldProblem{QLatin1Char('.') + QLatin1StringView(arm),
                            QStringLiteral("%1 events in %2 requests; expected from 0 to the "
                                           "number of requests")
                                .arg(counts.events)
                                .arg(counts.requests)};
    };
    for (const std::optional<FieldProblem> &found :
         {listProblem("regressionLogRatios", evidence.regressionLogRatios,
                      ratioevidence::alternatives),
          listProblem("promoteLogRatios", evidence.promoteLogRatios, ratioevidence::alternatives),
          listProblem("profileLogLikelihood", evidence.profileLogLikelihood,
                      ratioevidence::gridPoints),
          countsProblem("baseline", evidence.baseline), countsProblem("canary", evidence.canary)}) {
        if (found)
            return *found;
    }
    if (!(evidence.k0 > 0 && std::isfinite(evidence.k0)))
        return {QStringLiteral(".k0"),
                QStringLiteral("%1, expected a ratio above 0").arg(evidence.k0)};
    if (!(evidence.promoteBelow > evidence.k0 && std::isfinite(evidence.promoteBelow))) {
        return {QStringLiteral(".promoteBelow"),
                QStringLiteral("%1, expected a ratio above k0 (%2)")
                    .arg(evidence.promoteBelow)
                    .arg(evidence.k0)};
    }
    if (evidence.intervals < 0) {
        return {QStringLiteral(".intervals"),
                QStringLiteral("%1, expected 0 or more").arg(evidence.intervals)};
    }
    // isWellFormed() checks something this function does not know of yet.
    return {QString(), QStringLiteral("the evidence is not well formed")};
}

// Each sequential gate's state: for a sequential gate of the plan, with evidence the judge can
// read. Evidence that is not well formed would turn into any decision at all, a rollback or a
// promotion included.
QString judgesInconsistency(const CanaryPlan &plan,
                            const QMap<QString, SequentialGateState> &judges)
{
    for (auto it = judges.cbegin(); it != judges.cend(); ++it) {
        const QString path = QStringLiteral("status.judges.") + it.key();
        const auto gate = plan.gates.constFind(it.key());
        if (gate == plan.gates.cend() || gate->method != GateMethod::Sequential) {
            return QStringLiteral("%1: plan '%2' has no sequential gate '%3'")
                .arg(path, plan.name, it.key());
        }
        const QString subject = QStringLiteral("gate '%1'").arg(it.key());
        if (it->slowerThanMs && !(*it->slowerThanMs > 0 && std::isfinite(*it->slowerThanMs))) {
            return QStringLiteral("%1.slowerThanMs: %2: %3 ms is not a latency above 0")
                .arg(path, subject)
                .arg(*it->slowerThanMs);
        }
        QList<CountedEvent> seen;
        for (qsizetype i = 0; i < it->evidence.events.size(); ++i) {
            const RateRatioEvidence &evidence = it->evidence.events.at(i);
            const QString at = QStringLiteral("%1.evidence.events[%2]").arg(path).arg(i);
            if (!isWellFormed(evidence)) {
                const FieldProblem found = evidenceProblem(evidence);
                return QStringLiteral("%1%2: %3: %4").arg(at, found.field, subject, found.problem);
            }
            if (!gate->sequential.counts.contains(evidence.event)) {
                return QStringLiteral("%1.event: %2 does not count %3")
                    .arg(at, subject, toString(evidence.event));
            }
            if (seen.contains(evidence.event)) {
                return QStringLiteral("%1.event: %2 has evidence on %3 twice")
                    .arg(at, subject, toString(evidence.event));
            }
            seen.append(evidence.event);
        }
    }
    return {};
}

// What the engines take for granted of a plan and status they run, checked once here so a
// damaged record is refused in words instead of misleading them.
QString inconsistency(const CanaryRun &run)
{
    int stage = -1;
    if (const QString problem = checkPlan(run.plan, &stage); !problem.isEmpty()) {
        const QString path
            = stage < 0 ? QStringLiteral("plan") : QStringLiteral("plan.stages[%1]").arg(stage);
        return path + QStringLiteral(": ") + problem;
    }
    if (run.status.stage < 0 || run.status.stage > run.plan.finalStage()) {
        return QStringLiteral("status.stage: %1 is not a stage of plan '%2', which has stages 0 "
                              "to %3")
            .arg(run.status.stage)
            .arg(run.plan.name)
            .arg(run.plan.finalStage());
    }
    return judgesInconsistency(run.plan, run.status.judges);
}

QString inconsistency(const BlueGreenRun &run)
{
    // The blue-green engine measures every gate interval by interval, as threshold gates do.
    for (const GateSpec &gate : run.plan.gates) {
        if (gate.method != GateMethod::Threshold) {
            return QStringLiteral("plan.gates.%1.method: gate '%1' is %2; a blue-green release "
                                  "never serves both colours side by side, which a sequential "
                                  "gate needs, so its gates are threshold gates")
                .arg(gate.name, toString(gate.method));
        }
    }
    return {};
}

QString inconsistency(const RollingRun &run)
{
    if (const QString problem = checkPlan(run.plan); !problem.isEmpty())
        return QStringLiteral("plan: ") + problem;
    return {};
}

template <typename Run>
Result<ReleaseController::Release, QString> decodeRun(Decoder &decoder, const QJsonObject &root)
{
    Run run;
    decoder.take(root, {}, QLatin1StringView("plan"), run.plan);
    decoder.take(root, {}, QLatin1StringView("status"), run.status);
    ReleaseController::Release release;
    decoder.take(root, {}, QLatin1StringView("reason"), release.reason);
    if (decoder.failed())
        return decoder.error();
    if (QString problem = inconsistency(run); !problem.isEmpty())
        return problem;
    release.run = std::move(run);
    return release;
}

} // namespace

QByteArray encodeRelease(const ReleaseController::Release &release)
{
    QJsonObject root;
    root.insert(QLatin1StringView("format"), currentFormat);
    root.insert(QLatin1StringView("strategy"), toString(release.strategy()));
    std::visit(
        [&root](const auto &run) {
            root.insert(QLatin1StringView("plan"), Encoder::write(run.plan));
            root.insert(QLatin1StringView("status"), Encoder::write(run.status));
        },
        release.run);
    root.insert(QLatin1StringView("reason"), release.reason);
    return QJsonDocument(root).toJson(QJsonDocument::Compact);
}

Result<ReleaseController::Release, QString> decodeRelease(const QByteArray &json)
{
    if (json.size() > maxBytes) {
        return QStringLiteral("the record is %1 bytes; a release is never more than %2")
            .arg(json.size())
            .arg(maxBytes);
    }
    QJsonParseError parseError;
    const QJsonDocument document = QJsonDocument::fromJson(json, &parseError);
    if (parseError.error != QJsonParseError::NoError) {
        return QStringLiteral("not JSON: %1 at offset %2")
            .arg(parseError.errorString())
            .arg(parseError.offset);
    }
    if (!document.isObject())
        return QStringLiteral("expected a JSON object");
    const QJsonObject root = document.object();

    Decoder decoder;
    int format = 0;
    decoder.take(root, {}, QLatin1StringView("format"), format);
    if (decoder.failed())
        return decoder.error();
    if (format > currentFormat) {
        return QStringLiteral("format %1 is newer than this version of Signalbox reads (up to "
                              "%2); open it with the version that wrote it, or a newer one")
            .arg(format)
            .arg(currentFormat);
    }
    if (format < 1)
        return QStringLiteral("format: %1 is not a format; expected 1").arg(format);

    QString strategyName;
    decoder.take(root, {}, QLatin1StringView("strategy"), strategyName);
    switch (strategyFromString(strategyName).value_or(Strategy::None)) {
    case Strategy::Canary: return decodeRun<CanaryRun>(decoder, root);
    case Strategy::BlueGreen: return decodeRun<BlueGreenRun>(decoder, root);
    case Strategy::Rolling: return decodeRun<RollingRun>(decoder, root);
    case Strategy::None: break;
    }
    if (decoder.failed())
        return decoder.error();
    return QStringLiteral("strategy: expected one of canary, blue-green, rolling");
}

} // namespace sb
