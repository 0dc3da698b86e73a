// The session between adapters and the console: what it asks for, how often, and what it keeps
// when a backend fails.

#include "adapterregistry.h"
#include "clock.h"
#include "workspacesession.h"

#include <QFile>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QTest>

using namespace sb;

namespace {

const ServiceKey web{QStringLiteral("web"), QStringLiteral("production")};

// Holds every fleet request until the test answers it, like a slow backend.
class HeldAdapter final : public Adapter, public FleetSource
{
public:
    explicit HeldAdapter(const QString &name)
        : Adapter(name, QStringLiteral("held"))
    {}
    FleetSource *fleetSource() override { return this; }
    void start() override
    {
        setConnectionState(ConnectionState::Connected, QStringLiteral("test"));
    }
    void fleet(const ServiceKey &, Callback<FleetSnapshot> done) override { pending.append(done); }

    void answer(Result<FleetSnapshot> result)
    {
        const Callback<FleetSnapshot> done = pending.takeFirst();
        done(std::move(result));
    }
    void announceChange() { Q_EMIT fleetChanged(web); }

    QList<Callback<FleetSnapshot>> pending;
};

FleetSnapshot fleetWith(int instances)
{
    FleetSnapshot fleet;
    fleet.service = web;
    for (int i = 0; i < instances; ++i)
        fleet.instances.append(Instance{QStringLiteral("web-%1").arg(i),
                                        QStringLiteral("1.0"),
                                        InstanceState::Ready,
                                        {},
                                        QStringLiteral("a")});
    return fleet;
}

} // namespace

class TestWorkspaceSession : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void init();
    void oneRequestAtATimePerObservation();
    void aFailedFetchKeepsTheLastGoodObservation();
    void answersArriveAsOneSnapshotSignal();

private:
    std::unique_ptr<WorkspaceSession> open();

    QTemporaryDir m_dir;
    AdapterRegistry m_registry;
    VirtualClock m_clock{VirtualClock::defaultStart()};
    HeldAdapter *m_adapter = nullptr;
};

void TestWorkspaceSession::init()
{
    m_registry = AdapterRegistry();
    m_registry.add(AdapterType{QStringLiteral("held"),
                               QStringLiteral("test backend"),
                               {Capability::Fleet},
                               [this](const AdapterSpec &spec, const AdapterContext &) {
                                   auto adapter = std::make_unique<HeldAdapter>(spec.name);
                                   m_adapter = adapter.get();
                                   return adapter;
                               }});
}

std::unique_ptr<WorkspaceSession> TestWorkspaceSession::open()
{
    const QString path = m_dir.filePath(QStringLiteral("signalbox.yaml"));
    QFile file(path);
    if (!file.open(QIODevice::WriteOnly))
        return nullptr;
    file.write("environments: [production]\n"
               "adapters: [{name: backend, type: held}]\n"
               "services: [{name: web, environment: production, adapter: backend}]\n");
    file.close();
    auto opened = WorkspaceSession::open(path, m_registry, &m_clock);
    return opened ? std::move(opened).value() : nullptr;
}

void TestWorkspaceSession::oneRequestAtATimePerObservation()
{
    auto session = open();
    QVERIFY(session);
    session->start();
    QCOMPARE(m_adapter->pending.size(), 1);

    // Changes announced while the backend is still answering do not pile up requests...
    for (int i = 0; i < 5; ++i)
        m_adapter->announceChange();
    QCOMPARE(m_adapter->pending.size(), 1);
    // ...but one more request follows the answer, so the last change is not missed.
    m_adapter->answer(fleetWith(2));
    QCOMPARE(m_adapter->pending.size(), 1);
    m_adapter->answer(fleetWith(3));
    QCOMPARE(m_adapter->pending.size(), 0);
    QCOMPARE(session->snapshot().services.constFirst().fleet->instances.size(), 3);
}

void TestWorkspaceSession::aFailedFetchKeepsTheLastGoodObservation()
{
    auto session = open();
    QVERIFY(session);
    session->start();
    m_adapter->answer(fleetWith(4));
    m_adapter->announceChange();
    m_adapter->answer(Error{Error::Kind::Timeout, QStringLiteral("backend did not answer in 5 s")});

    const ServiceStatus &status = session->snapshot().services.constFirst();
    QVERIFY(status.fleet);
    QCOMPARE(status.fleet->instances.size(), 4);
    QCOMPARE(status.fleetError, QStringLiteral("backend did not answer in 5 s"));

    m_adapter->announceChange();
    m_adapter->answer(fleetWith(5));
    QVERIFY(session->snapshot().services.constFirst().fleetError.isEmpty());
}

void TestWorkspaceSession::answersArriveAsOneSnapshotSignal()
{
    auto session = open();
    QVERIFY(session);
    QSignalSpy changed(session.get(), &WorkspaceSession::snapshotChanged);
    session->start();
    m_adapter->answer(fleetWith(1));
    m_adapter->announceChange();
    m_adapter->answer(fleetWith(2));
    QCOMPARE(changed.size(), 0); // coalesced until the event loop turns
    QTRY_COMPARE(changed.size(), 1);
    QCOMPARE(session->snapshot().services.constFirst().fleet->instances.size(), 2);
}

QTEST_GUILESS_MAIN(TestWorkspaceSession)
#include "tst_workspacesession.moc"
