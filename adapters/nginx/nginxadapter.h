#pragma once

#include "adapter.h"
#include "adapterregistry.h"
#include "clock.h"
#include "http/httpclient.h"
#include "nginxsettings.h"
#include "upstreamfile.h"

#include <QHash>
#include <QMap>
#include <QStringList>

#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>

class QTimer;

namespace sb::nginx {

// Traffic, deploy and fleet for services behind nginx, through one upstream include file per
// service that Signalbox owns. A change renders the new file, puts it in place atomically, has
// `nginx -t` check the whole configuration and `nginx -s reload` apply it; when nginx refuses,
// the previous file is put back. Deploying admits pre-provisioned servers into the upstream (or
// takes them out); the fleet is what each admitted server's health path answers.
//
// Changes run one at a time, in the order asked, and never two nginx processes at once.
class NginxAdapter final : public Adapter, public FleetSource, public TrafficRouter, public Deployer
{
    Q_OBJECT
public:
    NginxAdapter(const QString &name, NginxSettings settings, Clock *clock);
    ~NginxAdapter() override;

    static AdapterType adapterType();

    FleetSource *fleetSource() override { return this; }
    TrafficRouter *trafficRouter() override { return this; }
    Deployer *deployer() override { return this; }
    void start() override;

    void fleet(const ServiceKey &service, Callback<FleetSnapshot> done) override;
    void traffic(const ServiceKey &service, Callback<TrafficSplit> done) override;
    void setWeights(const ServiceKey &service, const QMap<QString, double> &weightPercent,
                    Callback<TrafficSplit> done) override;
    void switchTo(const ServiceKey &service, const QString &version,
                  Callback<TrafficSplit> done) override;
    // Admits the version's first `instances` servers (in the order the settings list them) into
    // the upstream, or takes servers out, failed ones first. New servers of a version at 0 %
    // are written down until traffic is given to it.
    void scale(const ServiceKey &service, const QString &version, int instances,
               Callback<Done> done) override;

private:
    struct Health {
        InstanceState state = InstanceState::Starting;
        TimePoint since;
        // Set for servers admitted by a scale-up: until startupGrace after it, a server that
        // answers but not with 2xx is still starting rather than failed.
        std::optional<TimePoint> admittedAt;
        quint64 probe = 0; // the request in flight, 0 for none
    };
    struct Drain {
        QString version;
        TimePoint since;
        Clock::TimerId timer = 0;
    };
    struct Service {
        const ServiceSettings *settings = nullptr;
        QHash<QString, QString> versionOf; // server -> version, from the settings
        bool loaded = false;
        QString error; // why the file could not be read; every verb answers with it
        UpstreamFile file;
        QHash<QString, Health> health; // every admitted server
        QMap<QString, Drain> draining;
    };
    struct FileText {
        bool missing = false;
        QByteArray text;
        QString error;
    };
    struct NginxOutcome {
        enum class Kind { Passed, Refused, TimedOut, NotStarted };
        Kind kind = Kind::Passed;
        QString output; // what nginx printed, one line per message
    };
    // A new file on its way: written, then checked by nginx -t, then loaded by a reload.
    struct Change {
        ServiceKey key;
        UpstreamFile file;
        QByteArray content;
        QByteArray previous; // the text it replaced, put back when nginx refuses
        Callback<Done> done;
    };
    // The file of the change in flight, shared with the worker that writes it: if the adapter
    // goes before nginx has checked and loaded the change, the previous text is put back, so
    // the file never keeps a change nginx did not accept.
    struct UntestedWrite {
        std::mutex mutex;
        QString path;
        bool abandoned = false;             // the adapter went; write nothing more
        std::optional<QByteArray> previous; // set once the new text is in place
    };
    using Plan = std::function<Result<UpstreamFile>(const Service &)>;

    Service *find(const ServiceKey &key);
    template <typename T>
    Result<T> unknownService(const ServiceKey &key) const;
    template <typename T>
    void whenLoaded(const ServiceKey &key, Callback<T> done,
                    std::function<Result<T>(const Service &)> read);

    void enqueue(std::function<void()> job);
    void jobDone();
    void runNextJob();
    void load();
    void finishLoad(const QList<FileText> &texts);
    // Takes in a file read at start; answers why it cannot be used, or empty.
    QString adopt(Service &service, const FileText &read);
    void apply(const ServiceKey &key, Plan plan, Callback<Done> done);
    void testChange(const Change &change);
    void reloadChange(const Change &change);
    void restore(const Change &change, Error error, bool nginxMayHaveReloaded);
    void commit(Service &service, const UpstreamFile &file);
    void runNginx(const QStringList &arguments, std::function<void(NginxOutcome)> done);
    QStringList baseArguments() const;
    Error nginxError(const QString &step, const NginxOutcome &outcome) const;
    template <typename T>
    void inPool(std::function<T()> work, std::function<void(T)> then);

    Result<UpstreamFile> planWeights(const Service &service,
                                     const QMap<QString, double> &weightPercent) const;
    Result<UpstreamFile> planScale(const Service &service, const QString &version,
                                   int instances) const;
    TrafficSplit splitOf(const Service &service) const;
    FleetSnapshot snapshotOf(const Service &service) const;

    void probeAll();
    void probe(Service &service, const QString &server);
    void setHealth(Service &service, const QString &server, InstanceState state);
    void endDrain(const ServiceKey &key, const QString &server);

    NginxSettings m_settings;
    Clock *m_clock;
    QString m_program;
    std::map<ServiceKey, Service> m_services;
    bool m_started = false;
    bool m_loaded = false;
    // Reads asked before the files were read, answered once they are.
    QList<std::function<void()>> m_waitingForLoad;
    std::deque<std::function<void()>> m_jobs;
    std::shared_ptr<UntestedWrite> m_untested; // while a change is written but not loaded
    bool m_jobRunning = false;
    http::HttpClient *m_http;
    QTimer *m_probeTimer;
};

} // namespace sb::nginx
