#pragma once

#include "timepoint.h"

#include <QHash>
#include <QObject>
#include <QPointer>

#include <functional>
#include <map>

class QTimer;

namespace sb {

// Every engine reads time and schedules work through a Clock, so that the same code runs on the
// wall clock in production and on a virtual clock in tests, the simulator and --screenshot.
class Clock : public QObject
{
    Q_OBJECT
public:
    using TimerId = quint64;

    using QObject::QObject;
    ~Clock() override;

    virtual TimePoint now() const = 0;

    // Runs callback once, `delay` from now. The callback is dropped if `context` is destroyed
    // first, like QTimer::singleShot with a context object.
    virtual TimerId schedule(Duration delay, QObject *context, std::function<void()> callback) = 0;
    virtual void cancel(TimerId id) = 0;
};

class RealClock final : public Clock
{
    Q_OBJECT
public:
    using Clock::Clock;

    TimePoint now() const override;
    TimerId schedule(Duration delay, QObject *context, std::function<void()> callback) override;
    void cancel(TimerId id) override;

private:
    TimerId m_nextId = 1;
    QHash<TimerId, QPointer<QTimer>> m_timers;
};

// Time moves only when advance() is called; due callbacks run in time order (ties in the order
// they were scheduled), each seeing now() equal to its due time.
class VirtualClock final : public Clock
{
    Q_OBJECT
public:
    explicit VirtualClock(TimePoint start, QObject *parent = nullptr);

    TimePoint now() const override { return m_now; }
    TimerId schedule(Duration delay, QObject *context, std::function<void()> callback) override;
    void cancel(TimerId id) override;

    void advance(Duration by);
    void advanceTo(TimePoint target);

    // A fixed, recognisable epoch for deterministic runs: 2026-01-05 09:00:00 UTC, a Monday.
    static TimePoint defaultStart();

private:
    struct Pending {
        TimerId id;
        QPointer<QObject> context;
        bool hadContext;
        std::function<void()> callback;
    };
    TimePoint m_now;
    TimerId m_nextId = 1;
    std::multimap<TimePoint, Pending> m_queue;
};

} // namespace sb
