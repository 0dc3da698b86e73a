#include "fleet.h"

#include <QHash>
#include <QVarLengthArray>

#include <algorithm>
#include <cmath>

namespace sb {

size_t qHash(const ServiceKey &key, size_t seed) noexcept
{
    return qHashMulti(seed, key.name, key.environment);
}

QString toString(InstanceState state)
{
    switch (state) {
    case InstanceState::Starting: return QStringLiteral("starting");
    case InstanceState::Ready: return QStringLiteral("ready");
    case InstanceState::Draining: return QStringLiteral("draining");
    case InstanceState::Terminated: return QStringLiteral("terminated");
    case InstanceState::Failed: return QStringLiteral("failed");
    }
    return {};
}

QString toString(Health health)
{
    switch (health) {
    case Health::Unknown: return QStringLiteral("unknown");
    case Health::Healthy: return QStringLiteral("healthy");
    case Health::Degraded: return QStringLiteral("degraded");
    case Health::Critical: return QStringLiteral("critical");
    }
    return {};
}

QString toString(Strategy strategy)
{
    switch (strategy) {
    case Strategy::None: return QStringLiteral("none");
    case Strategy::Rolling: return QStringLiteral("rolling");
    case Strategy::BlueGreen: return QStringLiteral("blue-green");
    case Strategy::Canary: return QStringLiteral("canary");
    }
    return {};
}

std::optional<Strategy> strategyFromString(const QString &text)
{
    for (Strategy s : {Strategy::None, Strategy::Rolling, Strategy::BlueGreen, Strategy::Canary}) {
        if (toString(s) == text)
            return s;
    }
    return std::nullopt;
}

std::optional<double> MetricsSnapshot::overallErrorRatio() const
{
    qint64 requests = 0;
    double errors = 0;
    for (const VersionMetrics &m : versions) {
        // A version whose source has no error rate (NaN, or a reason in noData) tells nothing
        // either way; its requests must not dilute the others'.
        if (!std::isfinite(m.errorRatio) || m.noData.contains(QStringLiteral("error_rate")))
            continue;
        requests += m.requests;
        errors += m.errorRatio * double(m.requests);
    }
    if (requests == 0)
        return std::nullopt;
    return errors / double(requests);
}

const VersionMetrics *MetricsSnapshot::find(const QString &version) const &
{
    for (const VersionMetrics &m : versions) {
        if (m.version == version)
            return &m;
    }
    return nullptr;
}

namespace {

// Compares text with runs of digits taken as numbers: "2.9" before "2.10".
int naturalCompare(QStringView a, QStringView b)
{
    qsizetype i = 0, j = 0;
    while (i < a.size() && j < b.size()) {
        if (a[i].isDigit() && b[j].isDigit()) {
            qsizetype iEnd = i, jEnd = j;
            while (iEnd < a.size() && a[iEnd].isDigit())
                ++iEnd;
            while (jEnd < b.size() && b[jEnd].isDigit())
                ++jEnd;
            // As numbers of any length: without leading zeros, the longer run is larger, and
            // runs of equal length compare digit by digit.
            QStringView x = a.mid(i, iEnd - i), y = b.mid(j, jEnd - j);
            while (x.size() > 1 && x.front() == QLatin1Char('0'))
                x = x.mid(1);
            while (y.size() > 1 && y.front() == QLatin1Char('0'))
                y = y.mid(1);
            if (x.size() != y.size())
                return x.size() < y.size() ? -1 : 1;
            if (const int order = x.compare(y); order != 0)
                return order < 0 ? -1 : 1;
            i = iEnd;
            j = jEnd;
        } else {
            if (a[i] != b[j])
                return a[i] < b[j] ? -1 : 1;
            ++i;
            ++j;
        }
    }
    const qsizetype restA = a.size() - i, restB = b.size() - j;
    return restA == restB ? 0 : (restA < restB ? -1 : 1);
}

} // namespace

bool versionLessThan(const QString &a, const QString &b)
{
    // As semantic versioning orders them: a pre-release ("7.3.0-rc.1") comes before its release.
    const qsizetype dashA = a.indexOf(QLatin1Char('-')), dashB = b.indexOf(QLatin1Char('-'));
    const QStringView coreA = dashA < 0 ? QStringView(a) : QStringView(a).left(dashA);
    const QStringView coreB = dashB < 0 ? QStringView(b) : QStringView(b).left(dashB);
    if (const int order = naturalCompare(coreA, coreB); order != 0)
        return order < 0;
    if ((dashA < 0) != (dashB < 0))
        return dashA >= 0;
    return dashA >= 0 && naturalCompare(QStringView(a).mid(dashA), QStringView(b).mid(dashB)) < 0;
}

QStringList liveVersions(const FleetSnapshot &fleet)
{
    QStringList versions;
    for (const Instance &instance : fleet.instances) {
        if (isLive(instance.state) && !versions.contains(instance.version))
            versions.append(instance.version);
    }
    std::sort(versions.begin(), versions.end(), versionLessThan);
    return versions;
}

QList<VersionSummary> summarizeVersions(const ServiceStatus &status)
{
    QMap<QString, VersionSummary> byVersion;
    auto entry = [&byVersion](const QString &version) -> VersionSummary & {
        auto it = byVersion.find(version);
        if (it == byVersion.end()) {
            it = byVersion.insert(version, VersionSummary{});
            it->version = version;
        }
        return *it;
    };

    if (status.fleet) {
        for (const Instance &instance : status.fleet->instances) {
            if (!isLive(instance.state))
                continue;
            VersionSummary &summary = entry(instance.version);
            ++summary.total;
            switch (instance.state) {
            case InstanceState::Starting: ++summary.starting; break;
            case InstanceState::Ready: ++summary.ready; break;
            case InstanceState::Draining: ++summary.draining; break;
            case InstanceState::Failed: ++summary.failed; break;
            case InstanceState::Terminated: break;
            }
        }
    }
    if (status.traffic) {
        for (auto it = status.traffic->weightPercent.cbegin();
             it != status.traffic->weightPercent.cend(); ++it) {
            // A version that is routed to but has no instances is exactly what the user must see.
            if (it.value() > 0 || byVersion.contains(it.key()))
                entry(it.key()).weightPercent = it.value();
        }
    }
    if (status.metrics) {
        double totalRate = 0;
        for (const VersionMetrics &m : status.metrics->versions)
            totalRate += m.requestsPerSecond;
        for (const VersionMetrics &m : status.metrics->versions) {
            if (!byVersion.contains(m.version) && m.requests == 0)
                continue;
            VersionSummary &summary = entry(m.version);
            if (totalRate > 0)
                summary.observedSharePercent = 100.0 * m.requestsPerSecond / totalRate;
            if (m.requests > 0) {
                // Only values the source had: NaN would read as "nan %" in the fleet view.
                if (std::isfinite(m.errorRatio))
                    summary.errorRatio = m.errorRatio;
                if (std::isfinite(m.p99Ms))
                    summary.p99Ms = m.p99Ms;
            }
        }
    }

    QList<VersionSummary> result = byVersion.values();
    std::sort(result.begin(), result.end(), [](const VersionSummary &x, const VersionSummary &y) {
        return versionLessThan(x.version, y.version);
    });
    return result;
}

HealthVerdict assessHealth(const ServiceStatus &status)
{
    if (!status.fleet)
        return {Health::Unknown, status.fleetError.isEmpty()
                                     ? QStringLiteral("no fleet observed yet")
                                     : status.fleetError};

    int ready = 0, failed = 0, live = 0;
    QVarLengthArray<QStringView, 4> versionsReady;
    for (const Instance &instance : status.fleet->instances) {
        if (!isLive(instance.state))
            continue;
        ++live;
        failed += instance.state == InstanceState::Failed;
        if (instance.state == InstanceState::Ready) {
            ++ready;
            if (!versionsReady.contains(QStringView(instance.version)))
                versionsReady.append(instance.version);
        }
    }
    const double errorRatio = status.metrics ? status.metrics->overallErrorRatio().value_or(0) : 0;
    QString routedToNothing;
    if (status.traffic) {
        for (auto it = status.traffic->weightPercent.cbegin();
             it != status.traffic->weightPercent.cend() && routedToNothing.isEmpty(); ++it) {
            if (it.value() > 0 && !versionsReady.contains(QStringView(it.key())))
                routedToNothing = it.key();
        }
    }
    const auto percent = [](double ratio) { return QString::number(100 * ratio, 'f', 1); };

    // Starting and draining instances are expected during any release; only failures and
    // missing capacity count against readiness.
    const double readyFraction = ready + failed > 0 ? double(ready) / double(ready + failed) : 0.0;
    if (live == 0)
        return {Health::Critical, QStringLiteral("no instances")};
    if (ready == 0)
        return {Health::Critical, QStringLiteral("no instance is ready")};
    if (!routedToNothing.isEmpty())
        return {Health::Critical,
                QStringLiteral("traffic is routed to %1, which has no ready instance")
                    .arg(routedToNothing)};
    if (readyFraction < health::criticalReadyFraction)
        return {Health::Critical,
                QStringLiteral("%1 of %2 instances failed").arg(failed).arg(ready + failed)};
    if (errorRatio >= health::criticalErrorRatio)
        return {Health::Critical,
                QStringLiteral("error rate %1 % is at or above %2 %")
                    .arg(percent(errorRatio), percent(health::criticalErrorRatio))};
    if (failed > 0)
        return {Health::Degraded, failed == 1 ? QStringLiteral("1 instance failed")
                                              : QStringLiteral("%1 instances failed").arg(failed)};
    if (errorRatio >= health::degradedErrorRatio)
        return {Health::Degraded,
                QStringLiteral("error rate %1 % is at or above %2 %")
                    .arg(percent(errorRatio), percent(health::degradedErrorRatio))};
    if (!status.trafficError.isEmpty())
        return {Health::Degraded, status.trafficError};
    if (!status.metricsError.isEmpty())
        return {Health::Degraded, status.metricsError};
    return {Health::Healthy, {}};
}

Health healthOf(const ServiceStatus &status)
{
    return assessHealth(status).health;
}

QDebug operator<<(QDebug debug, const ServiceKey &key)
{
    QDebugStateSaver saver(debug);
    debug.nospace() << "ServiceKey(" << key.id() << ')';
    return debug;
}

QDebug operator<<(QDebug debug, const Instance &instance)
{
    QDebugStateSaver saver(debug);
    debug.nospace() << "Instance(" << instance.id << ' ' << instance.version << ' '
                    << toString(instance.state) << " since " << formatUtc(instance.since) << ' '
                    << instance.zone << ')';
    return debug;
}

QDebug operator<<(QDebug debug, const TrafficSplit &split)
{
    QDebugStateSaver saver(debug);
    debug.nospace() << "TrafficSplit(" << split.weightPercent << " active=" << split.activeVersion
                    << ')';
    return debug;
}

QDebug operator<<(QDebug debug, const VersionSummary &s)
{
    QDebugStateSaver saver(debug);
    debug.nospace() << "VersionSummary(" << s.version << " total=" << s.total
                    << " ready=" << s.ready << " weight=" << s.weightPercent << ')';
    return debug;
}

QDebug operator<<(QDebug debug, const Error &error)
{
    QDebugStateSaver saver(debug);
    debug.nospace() << "Error(" << int(error.kind) << ", " << error.message << ')';
    return debug;
}

} // namespace sb
