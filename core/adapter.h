#pragma once

#include "fleet.h"
#include "result.h"

#include <QMap>
#include <QObject>
#include <QString>
#include <QTimer>

namespace sb {

// Capabilities are narrow asynchronous verbs. The callback is always invoked exactly once, from
// the event loop of the adapter's thread and never from inside the call itself, with a value or
// a user-facing Error (Kind::Unsupported when a backend cannot do that verb at all).

class FleetSource
{
public:
    virtual ~FleetSource() = default;
    virtual void fleet(const ServiceKey &service, Callback<FleetSnapshot> done) = 0;
};

class TrafficRouter
{
public:
    virtual ~TrafficRouter() = default;
    virtual void traffic(const ServiceKey &service, Callback<TrafficSplit> done) = 0;
    // Weights in percent per version; they must add up to 100.
    virtual void setWeights(const ServiceKey &service, const QMap<QString, double> &weightPercent,
                            Callback<TrafficSplit> done)
        = 0;
    // Blue-green: all traffic to `version` in one router operation.
    virtual void switchTo(const ServiceKey &service, const QString &version,
                          Callback<TrafficSplit> done)
        = 0;
};

class Deployer
{
public:
    virtual ~Deployer() = default;
    // Start or stop instances of `version` until `instances` are live; 0 drains them all.
    virtual void scale(const ServiceKey &service, const QString &version, int instances,
                       Callback<Done> done)
        = 0;
};

class MetricsSource
{
public:
    virtual ~MetricsSource() = default;
    // The most recent interval's metrics for every version the backend has data for.
    virtual void metrics(const ServiceKey &service, Callback<MetricsSnapshot> done) = 0;
};

enum class ConnectionState { Connecting, Connected, Degraded, Disconnected };
QString toString(ConnectionState state);

// One configured backend. It offers the capabilities it implements (nullptr for the rest) and
// says when an observation of a service may have changed, so watchers refetch only then.
class Adapter : public QObject
{
    Q_OBJECT
public:
    Adapter(QString name, QString type, QObject *parent = nullptr);

    const QString &name() const { return m_name; }
    const QString &type() const { return m_type; }

    virtual FleetSource *fleetSource() { return nullptr; }
    virtual TrafficRouter *trafficRouter() { return nullptr; }
    virtual Deployer *deployer() { return nullptr; }
    virtual MetricsSource *metricsSource() { return nullptr; }

    // Begin connecting, watching or polling. Called once the whole workspace is built.
    virtual void start() = 0;

    ConnectionState connectionState() const { return m_state; }
    // Why the state is what it is, for the status bar tooltip.
    const QString &connectionDetail() const { return m_detail; }

Q_SIGNALS:
    void connectionStateChanged(sb::ConnectionState state, const QString &detail);
    void fleetChanged(const sb::ServiceKey &service);
    void trafficChanged(const sb::ServiceKey &service);
    void metricsChanged(const sb::ServiceKey &service);

protected:
    void setConnectionState(ConnectionState state, const QString &detail);
    // Hands `result` to `done` on a later turn of the event loop, never from inside the verb, as
    // the capabilities promise; nothing is delivered once the adapter is gone.
    template <typename T>
    void answerLater(Callback<T> done, Result<T> result)
    {
        QTimer::singleShot(0, this,
                           [done = std::move(done), result = std::move(result)] { done(result); });
    }

private:
    QString m_name;
    QString m_type;
    ConnectionState m_state = ConnectionState::Connecting;
    QString m_detail;
};

} // namespace sb
