// Clocks: every engine schedules through them, so their order and cancellation are rules.

#include "clock.h"
#include "timepoint.h"

#include <QSignalSpy>
#include <QTest>

using namespace sb;
using namespace std::chrono_literals;

class TestClock : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void virtualClockRunsCallbacksInTimeOrder();
    void callbacksSeeTheirDueTime();
    void workScheduledWhileAdvancingRunsInOrder();
    void cancelledAndOrphanedCallbacksDoNotRun();
    void realClockFiresAndCancels();
    void realClockWaitsPastTheLongestQTimer();
    void timeoutsReadAsWritten_data();
    void timeoutsReadAsWritten();
};

void TestClock::virtualClockRunsCallbacksInTimeOrder()
{
    VirtualClock clock(VirtualClock::defaultStart());
    QStringList order;
    clock.schedule(3s, nullptr, [&] { order << "c"; });
    clock.schedule(1s, nullptr, [&] { order << "a"; });
    clock.schedule(2s, nullptr, [&] { order << "b1"; });
    clock.schedule(2s, nullptr, [&] { order << "b2"; }); // ties keep the order they came in
    clock.advance(2s);
    QCOMPARE(order, (QStringList{"a", "b1", "b2"}));
    clock.advance(1s);
    QCOMPARE(order, (QStringList{"a", "b1", "b2", "c"}));
    QCOMPARE(clock.now(), VirtualClock::defaultStart() + 3s);
}

void TestClock::callbacksSeeTheirDueTime()
{
    VirtualClock clock(VirtualClock::defaultStart());
    TimePoint seen;
    clock.schedule(1500ms, nullptr, [&] { seen = clock.now(); });
    clock.advance(10s);
    QCOMPARE(seen, VirtualClock::defaultStart() + 1500ms);
    QCOMPARE(clock.now(), VirtualClock::defaultStart() + 10s);
}

void TestClock::workScheduledWhileAdvancingRunsInOrder()
{
    // A ticking engine reschedules itself from its callback; one advance runs every tick.
    VirtualClock clock(VirtualClock::defaultStart());
    QList<TimePoint> ticks;
    std::function<void()> tick = [&] {
        ticks << clock.now();
        clock.schedule(1s, nullptr, tick);
    };
    clock.schedule(1s, nullptr, tick);
    clock.schedule(2500ms, nullptr, [&] { ticks << clock.now(); });
    clock.advance(3s);
    const TimePoint t0 = VirtualClock::defaultStart();
    QCOMPARE(ticks, (QList<TimePoint>{t0 + 1s, t0 + 2s, t0 + 2500ms, t0 + 3s}));
}

void TestClock::cancelledAndOrphanedCallbacksDoNotRun()
{
    VirtualClock clock(VirtualClock::defaultStart());
    int ran = 0;
    const Clock::TimerId cancelled = clock.schedule(1s, nullptr, [&] { ++ran; });
    auto *owner = new QObject;
    clock.schedule(1s, owner, [&] { ++ran; });
    clock.schedule(1s, nullptr, [&] { ran += 10; });
    clock.cancel(cancelled);
    delete owner;
    clock.advance(1s);
    QCOMPARE(ran, 10);
}

void TestClock::realClockFiresAndCancels()
{
    RealClock clock;
    const TimePoint before = clock.now();
    bool fired = false, cancelledFired = false, orphanFired = false;
    clock.schedule(20ms, nullptr, [&] { fired = true; });
    clock.cancel(clock.schedule(10ms, nullptr, [&] { cancelledFired = true; }));
    auto *owner = new QObject;
    clock.schedule(10ms, owner, [&] { orphanFired = true; });
    delete owner;
    QTRY_VERIFY(fired);
    QVERIFY(clock.now() - before >= 20ms);
    QVERIFY(!cancelledFired);
    QVERIFY(!orphanFired);
}

void TestClock::realClockWaitsPastTheLongestQTimer()
{
    // 2^32 ms and a little: squeezed into QTimer's int it would wrap to 10 ms.
    RealClock clock;
    bool fired = false;
    clock.schedule(Duration((qint64(1) << 32) + 10), nullptr, [&] { fired = true; });
    QTest::qWait(100);
    QVERIFY(!fired);
}

void TestClock::timeoutsReadAsWritten_data()
{
    QTest::addColumn<qint64>("milliseconds");
    QTest::addColumn<QString>("text");
    QTest::newRow("below a second") << qint64(300) << QStringLiteral("300 ms");
    QTest::newRow("whole seconds") << qint64(2000) << QStringLiteral("2 s");
    QTest::newRow("tenths") << qint64(1500) << QStringLiteral("1.5 s");
    QTest::newRow("milliseconds past a second") << qint64(1250) << QStringLiteral("1.250 s");
    QTest::newRow("minutes") << qint64(90'000) << QStringLiteral("1 min 30 s");
}

void TestClock::timeoutsReadAsWritten()
{
    QFETCH(qint64, milliseconds);
    QFETCH(QString, text);
    QCOMPARE(sb::formatTimeout(sb::Duration(milliseconds)), text);
}

QTEST_GUILESS_MAIN(TestClock)
#include "tst_clock.moc"
