#include "clock.h"

#include <QDateTime>
#include <QTimer>

#include <limits>

namespace sb {

Clock::~Clock() = default;

TimePoint RealClock::now() const
{
    return std::chrono::time_point_cast<Duration>(std::chrono::system_clock::now());
}

namespace {

// QTimer takes an int of milliseconds, about 24.8 days; a later deadline is reached in steps.
void armUntil(QTimer *timer, std::chrono::steady_clock::time_point due)
{
    constexpr qint64 longestStepMs = std::numeric_limits<int>::max();
    const auto remaining
        = std::chrono::ceil<std::chrono::milliseconds>(due - std::chrono::steady_clock::now());
    timer->start(int(std::clamp<qint64>(remaining.count(), 0, longestStepMs)));
}

} // namespace

Clock::TimerId RealClock::schedule(Duration delay, QObject *context, std::function<void()> callback)
{
    const TimerId id = m_nextId++;
    const auto due = std::chrono::steady_clock::now() + std::max(delay, Duration(0));
    auto *timer = new QTimer(this);
    timer->setSingleShot(true);
    timer->setTimerType(Qt::PreciseTimer);
    QPointer<QObject> guard(context);
    const bool hadContext = context != nullptr;
    connect(timer, &QTimer::timeout, this, [this, id, timer, due, guard, hadContext, callback] {
        if (std::chrono::steady_clock::now() < due) {
            armUntil(timer, due);
            return;
        }
        m_timers.remove(id);
        timer->deleteLater();
        if (!hadContext || guard)
            callback();
    });
    m_timers.insert(id, timer);
    armUntil(timer, due);
    return id;
}

void RealClock::cancel(TimerId id)
{
    if (QPointer<QTimer> timer = m_timers.take(id))
        timer->deleteLater();
}

VirtualClock::VirtualClock(TimePoint start, QObject *parent)
    : Clock(parent)
    , m_now(start)
{}

TimePoint VirtualClock::defaultStart()
{
    return fromMSecsSinceEpoch(
        QDateTime(QDate(2026, 1, 5), QTime(9, 0), Qt::UTC).toMSecsSinceEpoch());
}

Clock::TimerId VirtualClock::schedule(Duration delay, QObject *context,
                                      std::function<void()> callback)
{
    const TimerId id = m_nextId++;
    m_queue.emplace(m_now + std::max(delay, Duration(0)),
                    Pending{id, context, context != nullptr, std::move(callback)});
    return id;
}

void VirtualClock::cancel(TimerId id)
{
    for (auto it = m_queue.begin(); it != m_queue.end(); ++it) {
        if (it->second.id == id) {
            m_queue.erase(it);
            return;
        }
    }
}

void VirtualClock::advance(Duration by)
{
    advanceTo(m_now + by);
}

void VirtualClock::advanceTo(TimePoint target)
{
    // Callbacks may schedule more work, possibly due before target; take one at a time.
    while (!m_queue.empty() && m_queue.begin()->first <= target) {
        auto node = m_queue.extract(m_queue.begin());
        m_now = std::max(m_now, node.key());
        Pending &pending = node.mapped();
        if (!pending.hadContext || pending.context)
            pending.callback();
    }
    m_now = std::max(m_now, target);
}

} // namespace sb
