#include "nginxadapter.h"

#include <QFileInfo>
#include <QFutureWatcher>
#include <QProcess>
#include <QPromise>
#include <QRegularExpression>
#include <QSet>
#include <QStandardPaths>
#include <QThreadPool>
#include <QTimer>
#include <QUrl>

#include <algorithm>
#include <cmath>
#include <memory>

namespace sb::nginx {

namespace {

// A server admitted by a scale-up that answers its health path with something other than 200
// is taken to be still starting for this long, then to have failed.
constexpr Duration startupGrace = std::chrono::seconds(30);

// A version at 100 % up to the rounding of percentages read back from integer weights.
constexpr double fullWeight = 100.0 - 1e-6;

QString defaultProgram()
{
    const QString onPath = QStandardPaths::findExecutable(QStringLiteral("nginx"));
    return onPath.isEmpty() ? QStringLiteral("/usr/sbin/nginx") : onPath;
}

QString describe(const ServiceKey &key)
{
    return QStringLiteral("%1 (%2)").arg(key.name, key.environment);
}

QString percentText(double percent)
{
    return QStringLiteral("%1 %").arg(percent, 0, 'g', 4);
}

// nginx's own messages joined on one line for the panel that shows them, without the time
// stamp and process ids an error_log on stderr adds or the notices of a signal process, and cut
// when a broken configuration floods the output.
QString nginxMessages(const QByteArray &output)
{
    constexpr qsizetype maxLength = 1200;
    static const QRegularExpression logPrefix(
        QStringLiteral("^\\d{4}/\\d\\d/\\d\\d \\d\\d:\\d\\d:\\d\\d (\\[\\w+\\]) \\d+#\\d+: "));
    static const QRegularExpression chatter(QStringLiteral("\\[(notice|info|debug)\\]"));
    QStringList lines;
    for (const QByteArray &line : output.split('\n')) {
        QString text = QString::fromLocal8Bit(line).trimmed();
        text.replace(logPrefix, QStringLiteral("nginx: \\1 "));
        if (!text.isEmpty() && !chatter.match(text).hasMatch())
            lines.append(text);
    }
    QString joined = lines.join(QStringLiteral("; "));
    if (joined.size() > maxLength)
        joined = joined.left(maxLength) + QStringLiteral(" ...");
    return joined;
}

// The weights a split is written with: each version's servers in file order take that
// version's weights in turn; versions without any are written down.
UpstreamFile withWeights(UpstreamFile file, const QMap<QString, QList<int>> &weights,
                         const QHash<QString, QString> &versionOf)
{
    QHash<QString, int> next;
    for (UpstreamServer &server : file.servers) {
        const QString version = versionOf.value(server.address);
        const auto found = weights.constFind(version);
        if (found == weights.cend()) {
            server.down = true;
            server.weight = 1;
            continue;
        }
        int &index = next[version];
        server.down = false;
        server.weight = found->value(index++, 1);
    }
    return file;
}

QMap<QString, int> serverCounts(const UpstreamFile &file, const QHash<QString, QString> &versionOf)
{
    QMap<QString, int> counts;
    for (const UpstreamServer &server : file.servers)
        ++counts[versionOf.value(server.address)];
    return counts;
}

int removalRank(InstanceState state)
{
    switch (state) {
    case InstanceState::Failed: return 0;
    case InstanceState::Starting: return 1;
    default: return 2;
    }
}

} // namespace

NginxAdapter::NginxAdapter(const QString &name, NginxSettings settings, Clock *clock)
    : Adapter(name, QStringLiteral("nginx"))
    , m_settings(std::move(settings))
    , m_clock(clock)
    , m_http(new http::HttpClient(this))
    , m_probeTimer(new QTimer(this))
{
    for (const ServiceSettings &settingsOfService : std::as_const(m_settings.services)) {
        Service &service = m_services[settingsOfService.service];
        service.settings = &settingsOfService;
        for (const VersionServers &version : settingsOfService.versions) {
            for (const QString &server : version.servers)
                service.versionOf.insert(server, version.version);
        }
    }
    m_probeTimer->setInterval(m_settings.healthInterval);
    connect(m_probeTimer, &QTimer::timeout, this, &NginxAdapter::probeAll);
}

NginxAdapter::~NginxAdapter()
{
    if (!m_untested)
        return;
    // In the pool, after (or instead of) the write: nothing here waits on the disk.
    QThreadPool::globalInstance()->start([untested = m_untested] {
        const std::lock_guard lock(untested->mutex);
        untested->abandoned = true;
        if (untested->previous)
            replaceFileContent(untested->path, *untested->previous);
    });
}

AdapterType NginxAdapter::adapterType()
{
    return AdapterType{
        QStringLiteral("nginx"),
        QStringLiteral("nginx: traffic weights and blue-green switches through an upstream file "
                       "Signalbox writes, admitting pre-provisioned servers, and their health"),
        {Capability::Fleet, Capability::Traffic, Capability::Deploy},
        [](const AdapterSpec &spec, const AdapterContext &context) -> std::unique_ptr<Adapter> {
            return std::make_unique<NginxAdapter>(
                spec.name, parseNginxSettings(spec, *context.workspace), context.clock);
        },
    };
}

void NginxAdapter::start()
{
    if (m_started)
        return;
    m_started = true;
    if (m_settings.program.isEmpty()) {
        m_program = defaultProgram();
    } else if (m_settings.program.contains(QLatin1Char('/'))) {
        m_program = m_settings.program;
    } else {
        // Left as written when PATH has no such program, so the error names what was asked for.
        const QString found = QStandardPaths::findExecutable(m_settings.program);
        m_program = found.isEmpty() ? m_settings.program : found;
    }
    setConnectionState(ConnectionState::Connecting,
                       QStringLiteral("reading the upstream files and testing nginx's "
                                      "configuration with %1 -t")
                           .arg(m_program));
    enqueue([this] { load(); });
}

NginxAdapter::Service *NginxAdapter::find(const ServiceKey &key)
{
    const auto found = m_services.find(key);
    return found == m_services.end() ? nullptr : &found->second;
}

template <typename T>
Result<T> NginxAdapter::unknownService(const ServiceKey &key) const
{
    return Error{Error::Kind::Invalid,
                 QStringLiteral("nginx '%1' does not manage %2; list it under the adapter's "
                                "services with its upstream and file")
                     .arg(name(), describe(key))};
}

template <typename T>
void NginxAdapter::whenLoaded(const ServiceKey &key, Callback<T> done,
                              std::function<Result<T>(const Service &)> read)
{
    const Service *service = find(key);
    if (!service)
        return answerLater<T>(std::move(done), unknownService<T>(key));
    if (!m_started)
        return answerLater<T>(std::move(done),
                              Error{Error::Kind::Unavailable,
                                    QStringLiteral("nginx '%1' has not been started").arg(name())});
    if (!m_loaded) {
        m_waitingForLoad.append([this, key, done = std::move(done), read = std::move(read)] {
            whenLoaded<T>(key, done, read);
        });
        return;
    }
    if (!service->loaded)
        return answerLater<T>(std::move(done), Error{Error::Kind::Unavailable, service->error});
    answerLater<T>(std::move(done), read(*service));
}

template <typename T>
void NginxAdapter::inPool(std::function<T()> work, std::function<void(T)> then)
{
    auto promise = std::make_shared<QPromise<T>>();
    auto *watcher = new QFutureWatcher<T>(this);
    connect(watcher, &QFutureWatcherBase::finished, this, [watcher, then = std::move(then)] {
        watcher->deleteLater();
        then(watcher->result());
    });
    watcher->setFuture(promise->future());
    promise->start();
    QThreadPool::globalInstance()->start([promise, work = std::move(work)] {
        promise->addResult(work());
        promise->finish();
    });
}

void NginxAdapter::enqueue(std::function<void()> job)
{
    m_jobs.push_back(std::move(job));
    if (!m_jobRunning && m_jobs.size() == 1)
        QTimer::singleShot(0, this, &NginxAdapter::runNextJob);
}

void NginxAdapter::jobDone()
{
    m_jobRunning = false;
    if (!m_jobs.empty())
        QTimer::singleShot(0, this, &NginxAdapter::runNextJob);
}

// From the event loop only, so a verb's callback never runs inside the verb.
void NginxAdapter::runNextJob()
{
    if (m_jobRunning || m_jobs.empty())
        return;
    m_jobRunning = true;
    std::function<void()> next = std::move(m_jobs.front());
    m_jobs.pop_front();
    next();
}

void NginxAdapter::load()
{
    QStringList paths;
    for (const auto &[key, service] : m_services)
        paths.append(service.settings->file);
    inPool<QList<FileText>>(
        [paths] {
            QList<FileText> texts;
            for (const QString &path : paths) {
                FileText text;
                text.missing = !QFileInfo::exists(path);
                if (!text.missing) {
                    Result<QByteArray, QString> read = readTextFile(path);
                    if (read)
                        text.text = read.value();
                    else
                        text.error = read.error();
                }
                texts.append(text);
            }
            return texts;
        },
        [this](const QList<FileText> &texts) { finishLoad(texts); });
}

void NginxAdapter::finishLoad(const QList<FileText> &texts)
{
    qsizetype index = 0;
    for (auto &[key, service] : m_services) {
        service.error = adopt(service, texts.at(index++));
        service.loaded = service.error.isEmpty();
    }
    m_loaded = true;
    const QList<std::function<void()>> waiting = std::exchange(m_waitingForLoad, {});
    for (const std::function<void()> &read : waiting)
        read();
    probeAll();
    m_probeTimer->start();

    runNginx({QStringLiteral("-t"), QStringLiteral("-q")}, [this](NginxOutcome tested) {
        QStringList problems, files;
        for (const auto &[key, service] : m_services) {
            files.append(service.settings->file);
            if (!service.loaded)
                problems.append(service.error);
        }
        if (tested.kind == NginxOutcome::Kind::NotStarted) {
            setConnectionState(ConnectionState::Disconnected,
                               nginxError(QStringLiteral("nginx -t"), tested).message);
        } else if (tested.kind != NginxOutcome::Kind::Passed) {
            setConnectionState(ConnectionState::Degraded,
                               nginxError(QStringLiteral("nginx -t"), tested).message);
        } else if (!problems.isEmpty()) {
            setConnectionState(ConnectionState::Degraded, problems.join(QLatin1Char('\n')));
        } else {
            setConnectionState(ConnectionState::Connected,
                               QStringLiteral("nginx -t passes for %1; upstream files read: %2")
                                   .arg(m_settings.config.isEmpty()
                                            ? QStringLiteral("nginx's default configuration")
                                            : m_settings.config,
                                        files.join(QStringLiteral(", "))));
        }
        jobDone();
    });
}

QString NginxAdapter::adopt(Service &service, const FileText &read)
{
    const ServiceSettings &settings = *service.settings;
    const QString subject = describe(settings.service);
    const QString example = QStringLiteral("upstream %1 { server %2; }")
                                .arg(settings.upstream, settings.versions.first().servers.first());
    if (read.missing)
        return QStringLiteral("the upstream file %1 for %2 does not exist; write it with the "
                              "servers that take traffic now, like '%3', and include it in the "
                              "http block of nginx's configuration (include %1;)")
            .arg(settings.file, subject, example);
    if (!read.error.isEmpty())
        return QStringLiteral("cannot read the upstream file for %1: %2").arg(subject, read.error);
    Result<UpstreamFile, QString> parsed = parseUpstreamFile(read.text);
    if (!parsed)
        return QStringLiteral("the upstream file %1 for %2 is not one upstream block: %3; it "
                              "should hold only '%4', with a server line per admitted server")
            .arg(settings.file, subject, parsed.error(), example);
    UpstreamFile file = parsed.value();
    if (file.name != settings.upstream)
        return QStringLiteral("the upstream file %1 for %2 defines upstream '%3', but the "
                              "settings name upstream '%4'; make them the same")
            .arg(settings.file, subject, file.name, settings.upstream);
    for (const UpstreamServer &server : std::as_const(file.servers)) {
        if (!service.versionOf.contains(server.address))
            return QStringLiteral("server %1 in the upstream file %2 is not one of the servers "
                                  "the settings list for %3; add it under its version in the "
                                  "settings, or take it out of the file")
                .arg(server.address, settings.file, subject);
    }
    // Signalbox writes every server of a version at 0 % down and keeps it admitted; a server
    // marked down beside others of its version taking traffic was taken out by hand, so it is
    // not admitted.
    QSet<QString> versionsUp;
    for (const UpstreamServer &server : std::as_const(file.servers)) {
        if (!server.down)
            versionsUp.insert(service.versionOf.value(server.address));
    }
    file.servers.removeIf([&](const UpstreamServer &server) {
        return server.down && versionsUp.contains(service.versionOf.value(server.address));
    });
    service.file = file;
    const TimePoint now = m_clock->now();
    for (const UpstreamServer &server : std::as_const(file.servers))
        service.health.insert(server.address, Health{InstanceState::Starting, now, {}, 0});
    return QString();
}

QStringList NginxAdapter::baseArguments() const
{
    QStringList arguments;
    if (!m_settings.prefix.isEmpty())
        arguments << QStringLiteral("-p") << m_settings.prefix;
    if (!m_settings.config.isEmpty())
        arguments << QStringLiteral("-c") << m_settings.config;
    return arguments;
}

void NginxAdapter::runNginx(const QStringList &arguments, std::function<void(NginxOutcome)> done)
{
    auto *process = new QProcess(this);
    auto *deadline = new QTimer(process);
    deadline->setSingleShot(true);
    auto timedOut = std::make_shared<bool>(false);
    process->setProgram(m_program);
    process->setArguments(baseArguments() + arguments);
    process->setProcessChannelMode(QProcess::MergedChannels);
    process->setStandardInputFile(QProcess::nullDevice());
    connect(deadline, &QTimer::timeout, process, [process, timedOut] {
        *timedOut = true;
        process->kill();
    });
    connect(process, &QProcess::finished, this,
            [process, timedOut, done](int exitCode, QProcess::ExitStatus status) {
                NginxOutcome outcome;
                outcome.output = nginxMessages(process->readAll());
                if (*timedOut)
                    outcome.kind = NginxOutcome::Kind::TimedOut;
                else if (status != QProcess::NormalExit || exitCode != 0)
                    outcome.kind = NginxOutcome::Kind::Refused;
                if (outcome.kind == NginxOutcome::Kind::Refused && outcome.output.isEmpty())
                    outcome.output = status == QProcess::NormalExit
                                         ? QStringLiteral("it exited with code %1").arg(exitCode)
                                         : QStringLiteral("it crashed");
                process->deleteLater();
                done(outcome);
            });
    connect(process, &QProcess::errorOccurred, this, [process, done](QProcess::ProcessError error) {
        if (error != QProcess::FailedToStart)
            return;
        process->deleteLater();
        done(NginxOutcome{NginxOutcome::Kind::NotStarted, process->errorString()});
    });
    deadline->start(m_settings.timeout);
    process->start();
}

Error NginxAdapter::nginxError(const QString &step, const NginxOutcome &outcome) const
{
    switch (outcome.kind) {
    case NginxOutcome::Kind::NotStarted:
        return Error{Error::Kind::Unavailable,
                     QStringLiteral("cannot run the nginx program %1 (%2); install the nginx "
                                    "package (apt install nginx) or set program: in the settings "
                                    "of nginx '%3'")
                         .arg(m_program, outcome.output, name())};
    case NginxOutcome::Kind::TimedOut:
        return Error{Error::Kind::Timeout,
                     QStringLiteral("%1 did not finish within %2 and was stopped; raise timeout: "
                                    "in the settings of nginx '%3' if the configuration is slow "
                                    "to load")
                         .arg(step, formatTimeout(m_settings.timeout), name())};
    case NginxOutcome::Kind::Refused:
        return Error{Error::Kind::Failed,
                     QStringLiteral("%1 failed: %2").arg(step, outcome.output)};
    case NginxOutcome::Kind::Passed: break;
    }
    qWarning("nginx '%s': asked for the error of a %s that passed", qPrintable(name()),
             qPrintable(step));
    Q_ASSERT_X(false, "NginxAdapter::nginxError", "asked for the error of a passed run");
    return Error{Error::Kind::Failed, QStringLiteral("%1 failed").arg(step)};
}

void NginxAdapter::apply(const ServiceKey &key, Plan plan, Callback<Done> done)
{
    enqueue([this, key, plan = std::move(plan), done = std::move(done)] {
        Service *service = find(key);
        if (!service) {
            done(unknownService<Done>(key));
            return jobDone();
        }
        if (!m_loaded || !service->loaded) {
            done(Error{Error::Kind::Unavailable,
                       m_loaded ? service->error
                                : QStringLiteral("nginx '%1' has not been started").arg(name())});
            return jobDone();
        }
        Result<UpstreamFile> planned = plan(*service);
        if (!planned) {
            done(planned.error());
            return jobDone();
        }
        if (planned.value() == service->file) {
            done(Done{});
            return jobDone();
        }
        Change change{key, planned.value(), renderUpstreamFile(planned.value(), key), {}, done};
        const QString path = service->settings->file;
        m_untested = std::make_shared<UntestedWrite>();
        m_untested->path = path;
        inPool<Result<QByteArray, QString>>(
            [path, content = change.content,
             untested = m_untested]() -> Result<QByteArray, QString> {
                const std::lock_guard lock(untested->mutex);
                if (untested->abandoned)
                    return QStringLiteral("the adapter was closed");
                Result<QByteArray, QString> written = replaceFileContent(path, content);
                if (written)
                    untested->previous = written.value();
                return written;
            },
            [this, change](const Result<QByteArray, QString> &written) mutable {
                if (!written) {
                    const Error error{Error::Kind::Failed,
                                      QStringLiteral("cannot put the new upstream file for %1 in "
                                                     "place, so nothing changed: %2")
                                          .arg(describe(change.key), written.error())};
                    m_untested.reset();
                    setConnectionState(ConnectionState::Degraded, error.message);
                    change.done(error);
                    return jobDone();
                }
                change.previous = written.value();
                testChange(change);
            });
    });
}

void NginxAdapter::testChange(const Change &change)
{
    runNginx({QStringLiteral("-t"), QStringLiteral("-q")}, [this, change](NginxOutcome tested) {
        if (tested.kind == NginxOutcome::Kind::Passed)
            return reloadChange(change);
        restore(change, nginxError(QStringLiteral("nginx -t"), tested), false);
    });
}

void NginxAdapter::reloadChange(const Change &change)
{
    runNginx(
        {QStringLiteral("-s"), QStringLiteral("reload")}, [this, change](NginxOutcome reloaded) {
            if (reloaded.kind != NginxOutcome::Kind::Passed) {
                // A reload command stopped at the deadline may have signalled nginx already.
                return restore(change, nginxError(QStringLiteral("nginx -s reload"), reloaded),
                               reloaded.kind == NginxOutcome::Kind::TimedOut);
            }
            m_untested.reset();
            commit(*find(change.key), change.file);
            setConnectionState(ConnectionState::Connected,
                               QStringLiteral("nginx -t and reload passed for %1 at %2")
                                   .arg(describe(change.key), formatTimeOfDay(m_clock->now())));
            change.done(Done{});
            jobDone();
        });
}

void NginxAdapter::restore(const Change &change, Error error, bool nginxMayHaveReloaded)
{
    const QString path = find(change.key)->settings->file;
    error.message = QStringLiteral("nginx '%1' could not change %2: %3")
                        .arg(name(), describe(change.key), error.message);
    inPool<Result<QByteArray, QString>>(
        [path, previous = change.previous] { return replaceFileContent(path, previous); },
        [this, path, error, nginxMayHaveReloaded,
         done = change.done](const Result<QByteArray, QString> &restored) mutable {
            if (restored)
                m_untested.reset();
            if (!restored)
                error.message += QStringLiteral(". Putting the previous upstream file back "
                                                "failed too (%1): the file holds the rejected "
                                                "change")
                                     .arg(restored.error());
            else if (nginxMayHaveReloaded)
                error.message += QStringLiteral(". The previous upstream file %1 is back in "
                                                "place, but nginx may have loaded the change; run "
                                                "nginx -s reload to make it follow the file again")
                                     .arg(path);
            else
                error.message += QStringLiteral(". The previous upstream file %1 is back in "
                                                "place, and nginx runs as it did")
                                     .arg(path);
            setConnectionState(error.kind == Error::Kind::Unavailable
                                   ? ConnectionState::Disconnected
                                   : ConnectionState::Degraded,
                               error.message);
            done(error);
            jobDone();
        });
}

void NginxAdapter::commit(Service &service, const UpstreamFile &file)
{
    const ServiceKey key = service.settings->service;
    const TrafficSplit before = splitOf(service);
    const TimePoint now = m_clock->now();
    bool fleetChangedNow = false;
    for (const UpstreamServer &server : std::as_const(service.file.servers)) {
        if (file.find(server.address))
            continue;
        const auto health = service.health.constFind(server.address);
        if (health != service.health.cend() && health->probe)
            m_http->cancel(health->probe);
        service.health.remove(server.address);
        const QString address = server.address;
        Drain drain{service.versionOf.value(address), now};
        drain.timer = m_clock->schedule(m_settings.drain, this,
                                        [this, key, address] { endDrain(key, address); });
        service.draining.insert(address, drain);
        fleetChangedNow = true;
    }
    QStringList admitted;
    for (const UpstreamServer &server : file.servers) {
        if (service.file.find(server.address))
            continue;
        const auto draining = service.draining.constFind(server.address);
        if (draining != service.draining.cend()) {
            m_clock->cancel(draining->timer);
            service.draining.remove(server.address);
        }
        service.health.insert(server.address, Health{InstanceState::Starting, now, now, 0});
        admitted.append(server.address);
        fleetChangedNow = true;
    }
    service.file = file;
    for (const QString &server : std::as_const(admitted))
        probe(service, server);
    if (splitOf(service) != before)
        Q_EMIT trafficChanged(key);
    if (fleetChangedNow)
        Q_EMIT fleetChanged(key);
}

Result<UpstreamFile> NginxAdapter::planWeights(const Service &service,
                                               const QMap<QString, double> &weightPercent) const
{
    const ServiceSettings &settings = *service.settings;
    const QString subject = describe(settings.service);
    QStringList configured;
    for (const VersionServers &version : settings.versions)
        configured.append(version.version);
    double total = 0;
    for (auto it = weightPercent.cbegin(); it != weightPercent.cend(); ++it) {
        if (!settings.find(it.key()))
            return Error{
                Error::Kind::Invalid,
                QStringLiteral("version '%1' of %2 has no servers in the settings of "
                               "nginx '%3'; configured versions: %4")
                    .arg(it.key(), subject, name(), configured.join(QStringLiteral(", ")))};
        if (!std::isfinite(it.value()) || it.value() < 0 || it.value() > 100)
            return Error{Error::Kind::Invalid,
                         QStringLiteral("weight %1 for version '%2' of %3 is not a percentage "
                                        "from 0 to 100")
                             .arg(it.value())
                             .arg(it.key(), subject)};
        total += it.value();
    }
    if (std::abs(total - 100) > 0.01)
        return Error{
            Error::Kind::Invalid,
            QStringLiteral("the weights for %1 add up to %2, not 100").arg(subject).arg(total)};
    const QMap<QString, int> counts = serverCounts(service.file, service.versionOf);
    for (auto it = weightPercent.cbegin(); it != weightPercent.cend(); ++it) {
        if (it.value() > 0 && counts.value(it.key()) == 0)
            return Error{Error::Kind::Failed,
                         QStringLiteral("version '%1' of %2 has no server in upstream %3 to take "
                                        "%4 of the traffic; scale it up first")
                             .arg(it.key(), subject, settings.upstream, percentText(it.value()))};
    }
    return withWeights(service.file, spreadWeights(weightPercent, counts), service.versionOf);
}

Result<UpstreamFile> NginxAdapter::planScale(const Service &service, const QString &version,
                                             int instances) const
{
    const ServiceSettings &settings = *service.settings;
    const QString subject = describe(settings.service);
    const VersionServers *configured = settings.find(version);
    if (!configured) {
        QStringList versions;
        for (const VersionServers &v : settings.versions)
            versions.append(v.version);
        return Error{Error::Kind::Invalid,
                     QStringLiteral("version '%1' of %2 has no servers in the settings of nginx "
                                    "'%3' to admit; configured versions: %4")
                         .arg(version, subject, name(), versions.join(QStringLiteral(", ")))};
    }
    if (instances < 0 || instances > configured->servers.size())
        return Error{Error::Kind::Invalid,
                     QStringLiteral("%1 can run %2 on at most the %3 servers the settings of "
                                    "nginx '%4' list for it, not %5; list more servers under the "
                                    "version")
                         .arg(subject, version)
                         .arg(configured->servers.size())
                         .arg(name())
                         .arg(instances)};
    QStringList admitted;
    for (const UpstreamServer &server : service.file.servers) {
        if (service.versionOf.value(server.address) == version)
            admitted.append(server.address);
    }
    if (admitted.size() == instances)
        return service.file;

    const QMap<QString, double> percent = percentages(service.file, service.versionOf);
    if (instances == 0 && percent.value(version) > 0)
        return Error{Error::Kind::Failed,
                     QStringLiteral("version '%1' takes %2 of %3's traffic; move it to another "
                                    "version (switch or set weights) before scaling it to 0")
                         .arg(version, percentText(percent.value(version)), subject)};

    UpstreamFile file = service.file;
    if (instances > admitted.size()) {
        qsizetype insertAt = 0;
        for (qsizetype i = 0; i < file.servers.size(); ++i) {
            if (service.versionOf.value(file.servers.at(i).address) == version)
                insertAt = i + 1;
        }
        if (insertAt == 0)
            insertAt = file.servers.size();
        for (const QString &server : configured->servers) {
            if (admitted.size() == instances)
                break;
            if (admitted.contains(server))
                continue;
            file.servers.insert(insertAt++, UpstreamServer{server, 1, false, {}});
            admitted.append(server);
        }
    } else {
        // Failed servers go first, then those still starting, then ready ones, last listed first.
        QStringList leaving = admitted;
        std::stable_sort(leaving.begin(), leaving.end(), [&](const QString &a, const QString &b) {
            const int rankA = removalRank(service.health.value(a).state);
            const int rankB = removalRank(service.health.value(b).state);
            if (rankA != rankB)
                return rankA < rankB;
            return configured->servers.indexOf(a) > configured->servers.indexOf(b);
        });
        leaving.resize(admitted.size() - instances);
        file.servers.removeIf(
            [&](const UpstreamServer &server) { return leaving.contains(server.address); });
    }
    if (file.servers.isEmpty())
        return Error{Error::Kind::Failed,
                     QStringLiteral("scaling version '%1' of %2 to 0 would leave upstream %3 "
                                    "without servers, which nginx does not accept; admit another "
                                    "version first")
                         .arg(version, subject, settings.upstream)};
    return withWeights(file, spreadWeights(percent, serverCounts(file, service.versionOf)),
                       service.versionOf);
}

TrafficSplit NginxAdapter::splitOf(const Service &service) const
{
    TrafficSplit split;
    split.weightPercent = percentages(service.file, service.versionOf);
    for (auto it = split.weightPercent.cbegin(); it != split.weightPercent.cend(); ++it) {
        if (it.value() >= fullWeight)
            split.activeVersion = it.key();
    }
    return split;
}

FleetSnapshot NginxAdapter::snapshotOf(const Service &service) const
{
    FleetSnapshot snapshot;
    snapshot.service = service.settings->service;
    snapshot.takenAt = m_clock->now();
    for (const UpstreamServer &server : service.file.servers) {
        const Health health = service.health.value(server.address);
        snapshot.instances.append(Instance{server.address, service.versionOf.value(server.address),
                                           health.state, health.since, QString()});
    }
    for (auto it = service.draining.cbegin(); it != service.draining.cend(); ++it)
        snapshot.instances.append(
            Instance{it.key(), it->version, InstanceState::Draining, it->since, QString()});
    std::sort(snapshot.instances.begin(), snapshot.instances.end(),
              [](const Instance &a, const Instance &b) { return a.id < b.id; });
    return snapshot;
}

void NginxAdapter::fleet(const ServiceKey &service, Callback<FleetSnapshot> done)
{
    whenLoaded<FleetSnapshot>(service, std::move(done),
                              [this](const Service &s) { return snapshotOf(s); });
}

void NginxAdapter::traffic(const ServiceKey &service, Callback<TrafficSplit> done)
{
    whenLoaded<TrafficSplit>(service, std::move(done),
                             [this](const Service &s) { return splitOf(s); });
}

void NginxAdapter::setWeights(const ServiceKey &service, const QMap<QString, double> &weightPercent,
                              Callback<TrafficSplit> done)
{
    apply(
        service, [this, weightPercent](const Service &s) { return planWeights(s, weightPercent); },
        [this, service, done](Result<Done> applied) {
            if (!applied)
                return done(applied.error());
            done(splitOf(*find(service)));
        });
}

void NginxAdapter::switchTo(const ServiceKey &service, const QString &version,
                            Callback<TrafficSplit> done)
{
    setWeights(service, {{version, 100.0}}, std::move(done));
}

void NginxAdapter::scale(const ServiceKey &service, const QString &version, int instances,
                         Callback<Done> done)
{
    apply(
        service,
        [this, version, instances](const Service &s) { return planScale(s, version, instances); },
        std::move(done));
}

void NginxAdapter::probeAll()
{
    for (auto &[key, service] : m_services) {
        if (!service.loaded)
            continue;
        for (const UpstreamServer &server : std::as_const(service.file.servers))
            probe(service, server.address);
    }
}

void NginxAdapter::probe(Service &service, const QString &server)
{
    Health &health = service.health[server];
    if (health.probe)
        return;
    http::Request request;
    request.url = QUrl(QStringLiteral("http://%1%2").arg(server, service.settings->healthPath));
    request.timeout = m_settings.healthInterval;
    const ServiceKey key = service.settings->service;
    health.probe = m_http->send(
        QStringLiteral("nginx upstream server %1").arg(server), request,
        [this, key, server](Result<http::Response, http::HttpError> answer) {
            Service *service = find(key);
            const auto health = service->health.find(server);
            if (health == service->health.end())
                return;
            health->probe = 0;
            InstanceState state = InstanceState::Failed;
            if (answer.ok())
                state = InstanceState::Ready;
            else if (answer.error().failure == http::Failure::HttpStatus && health->admittedAt
                     && m_clock->now() - *health->admittedAt < startupGrace)
                state = InstanceState::Starting;
            setHealth(*service, server, state);
        });
}

void NginxAdapter::setHealth(Service &service, const QString &server, InstanceState state)
{
    Health &health = service.health[server];
    if (health.state == state)
        return;
    health.state = state;
    health.since = m_clock->now();
    Q_EMIT fleetChanged(service.settings->service);
}

void NginxAdapter::endDrain(const ServiceKey &key, const QString &server)
{
    Service *service = find(key);
    if (service && service->draining.remove(server) > 0)
        Q_EMIT fleetChanged(key);
}

} // namespace sb::nginx
