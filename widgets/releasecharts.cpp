#include "releasecharts.h"

#include "releasetrace.h"
#include "theme.h"
#include "timeserieschart.h"

#include <QEvent>
#include <QHBoxLayout>
#include <QLabel>
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

void ReleaseCharts::clear()
{
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
}

} // namespace sb
