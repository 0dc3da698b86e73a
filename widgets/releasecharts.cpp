#include "releasecharts.h"

#include "releasetrace.h"
#include "theme.h"
#include "timelineindex.h"
#include "timelinemodel.h"
#include "timelineview.h"
#include "timeserieschart.h"

#include <QDateTime>
#include <QEvent>
#include <QHBoxLayout>
#include <QLabel>
#include <QPainter>
#include <QStackedWidget>

namespace sb {

namespace {

// Neutral and dashed: a rule, not a measurement. Canary and baseline take the console's colours
// for them (theme.h) in both charts, so the eye pairs them without the legend.
QColor limitColor(const QPalette &palette)
{
    QColor color = palette.color(QPalette::WindowText);
    color.setAlphaF(0.6f);
    return color;
}

QString weightLabel(double percent)
{
    return QString::number(percent, 'g', 3) + QStringLiteral(" %");
}

// Repeats of one event closer together than this share one label.
constexpr qint64 repeatWindowMs = 10 * 60'000;

// A few words at the foot of the plot; empty for events the charts leave to the event list.
QString eventLabel(ReleaseEvent::Kind kind, TimelineCategory category)
{
    using Kind = ReleaseEvent::Kind;
    switch (kind) {
    case Kind::GateMeasured:
        return category == TimelineCategory::GateFail ? QObject::tr("gate failed") : QString();
    case Kind::Paused: return QObject::tr("paused");
    case Kind::Resumed: return QObject::tr("resumed");
    case Kind::Promoted: return QObject::tr("promoted");
    case Kind::PromotedFully: return QObject::tr("promoted fully");
    case Kind::Switched: return QObject::tr("switched");
    case Kind::SwitchedBack: return QObject::tr("switched back");
    case Kind::Aborted: return QObject::tr("aborted");
    case Kind::RollbackStarted: return QObject::tr("rolling back");
    case Kind::RolledBack: return QObject::tr("rolled back");
    case Kind::ActionFailed: return QObject::tr("backend error");
    case Kind::Stalled: return QObject::tr("stalled");
    case Kind::Retried: return QObject::tr("retried");
    case Kind::Started:
    case Kind::StageStarted:
    case Kind::WeightSet:
    case Kind::Held:
    case Kind::Succeeded:
    case Kind::Scaled:
    case Kind::WindowExtended: return {};
    }
    return {};
}

} // namespace

ReleaseCharts::ReleaseCharts(QWidget *parent)
    : QWidget(parent)
    , m_pages(new QStackedWidget(this))
    , m_emptyLabel(new QLabel(tr("No metrics yet"), this))
    , m_errorRate(new TimeSeriesChart(tr("Error rate"), TimeSeriesChart::Unit::Percent, this))
    , m_latency(new TimeSeriesChart(tr("p99 latency"), TimeSeriesChart::Unit::Milliseconds, this))
{
    m_emptyLabel->setAlignment(Qt::AlignCenter);
    m_emptyLabel->setForegroundRole(QPalette::PlaceholderText);

    auto *charts = new QWidget(this);
    auto *chartsLayout = new QHBoxLayout(charts);
    chartsLayout->setContentsMargins(0, 0, 0, 0);
    chartsLayout->setSpacing(8);
    for (TimeSeriesChart *chart : {m_errorRate, m_latency}) {
        chart->addSeries(tr("canary"), {});
        chart->addSeries(tr("baseline"), {});
        chart->addSeries(tr("limit"), {}, Qt::DashLine);
        chartsLayout->addWidget(chart, 1);
    }

    m_pages->addWidget(m_emptyLabel);
    m_pages->addWidget(charts);
    auto *layout = new QHBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addWidget(m_pages);
    applyColors();
}

void ReleaseCharts::setTrace(const ReleaseTrace &trace, const QString &canaryVersion,
                             const QString &stableVersion)
{
    const bool empty = trace.canaryErrorRatio.isEmpty() && trace.baselineErrorRatio.isEmpty()
                       && trace.canaryP99Ms.isEmpty() && trace.baselineP99Ms.isEmpty();
    if (empty) {
        clear();
        return;
    }

    QList<TimeSeriesChart::Marker> markers;
    for (const StageMark &stage : trace.stages)
        markers.append({toMSecsSinceEpoch(stage.at), weightLabel(stage.weightPercent)});
    if (trace.endedAt)
        markers.append({toMSecsSinceEpoch(*trace.endedAt), tr("end")});

    // The charts' page first, so they are laid out by the time they are drawn.
    m_pages->setCurrentIndex(1);
    const QString canaryName = tr("canary %1").arg(canaryVersion);
    const QString baselineName = tr("baseline %1").arg(stableVersion);
    auto fill = [&](TimeSeriesChart *chart, const TimeSeries &canary, const TimeSeries &baseline,
                    const TimeSeries &limit) {
        chart->setOrigin(toMSecsSinceEpoch(trace.startedAt));
        chart->setSeriesName(Canary, canaryName);
        chart->setSeriesName(Baseline, baselineName);
        chart->setMarkers(markers);
        chart->setSeriesPoints(Canary, canary.points());
        chart->setSeriesPoints(Baseline, baseline.points());
        chart->setSeriesPoints(Limit, limit.points());
    };
    fill(m_errorRate, trace.canaryErrorRatio, trace.baselineErrorRatio, trace.errorRatioLimit);
    fill(m_latency, trace.canaryP99Ms, trace.baselineP99Ms, trace.p99Limit);
}

void ReleaseCharts::setEvents(const QList<ReleaseEvent> &events)
{
    m_events = events;
    const QPalette &pal = palette();
    const qreal ratio = devicePixelRatioF();
    QHash<int, QImage> glyphs;
    auto glyph = [&](TimelineCategory category, bool byOperator) {
        const int key = int(category) * 2 + int(byOperator);
        if (!glyphs.contains(key)) {
            constexpr int extent = 15;
            QImage image(QSize(extent, extent) * ratio, QImage::Format_ARGB32_Premultiplied);
            image.setDevicePixelRatio(ratio);
            image.fill(Qt::transparent);
            QPainter painter(&image);
            paintTimelineMark(painter, QPointF(extent / 2.0, extent / 2.0), 9, category, byOperator,
                              pal);
            painter.end();
            glyphs.insert(key, image);
        }
        return glyphs.value(key);
    };

    QList<TimeSeriesChart::EventMarker> markers;
    // The run of one event repeating (a gate failing measurement after measurement): its first
    // line says how many times, the others stay unlabelled.
    QString runLabel;
    qsizetype runFirst = -1;
    int runLength = 0;
    for (const ReleaseEvent &event : events) {
        const TimelineCategory category = timelineCategory(toString(event.kind), event.reason);
        const QString label = eventLabel(event.kind, category);
        if (label.isEmpty())
            continue;
        const qint64 at = toMSecsSinceEpoch(event.at);
        const bool repeat = runFirst >= 0 && label == runLabel
                            && at - markers.at(runFirst).atMs <= repeatWindowMs;
        if (repeat) {
            ++runLength;
            markers[runFirst].label = tr("%1 ×%2").arg(label).arg(runLength);
        } else {
            runLabel = label;
            runFirst = markers.size();
            runLength = 1;
        }
        const QString when
            = QDateTime::fromMSecsSinceEpoch(at, Qt::UTC).toString(QStringLiteral("HH:mm:ss"));
        const QString tip = tr("%1 UTC · %2 · by %3\n%4")
                                .arg(when, timelineKindText(toString(event.kind), category),
                                     event.actor, event.reason);
        markers.append({at, repeat ? QString() : label, timelineCategoryColor(category, pal), tip,
                        glyph(category, event.actor != automaticActor)});
    }
    m_errorRate->setEventMarkers(markers);
    m_latency->setEventMarkers(markers);
}

void ReleaseCharts::clear()
{
    m_events.clear();
    m_errorRate->clear();
    m_latency->clear();
    m_pages->setCurrentIndex(0);
}

bool ReleaseCharts::isEmpty() const
{
    return m_pages->currentIndex() == 0;
}

QString ReleaseCharts::emptyText() const
{
    return m_emptyLabel->text();
}

void ReleaseCharts::changeEvent(QEvent *event)
{
    QWidget::changeEvent(event);
    if (event->type() == QEvent::PaletteChange)
        applyColors();
}

void ReleaseCharts::applyColors()
{
    const QPalette &pal = palette();
    for (TimeSeriesChart *chart : {m_errorRate, m_latency}) {
        chart->setSeriesColor(Canary, theme::canaryColor(pal));
        chart->setSeriesColor(Baseline, theme::baselineColor(pal));
        chart->setSeriesColor(Limit, limitColor(pal));
    }
    if (!m_events.isEmpty())
        setEvents(m_events);
}

} // namespace sb
