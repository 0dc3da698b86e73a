#include "timeserieschart.h"

#include <QChart>
#include <QChartView>
#include <QEvent>
#include <QGraphicsLayout>
#include <QGraphicsScene>
#include <QHelpEvent>
#include <QImage>
#include <QLegend>
#include <QLineSeries>
#include <QPainter>
#include <QToolTip>
#include <QVBoxLayout>
#include <QValueAxis>

#include <algorithm>
#include <cmath>
#include <limits>

namespace sb {

namespace {

constexpr double msPerMinute = 60'000;
// Room above the highest value, and after the newest point so a live chart does not rescale on
// every tick.
constexpr double yHeadroom = 1.15;
constexpr double xHeadroom = 0.08;
constexpr int yTicks = 4;
constexpr int xTicks = 5;
// Slices each series' line is cut into, so a refresh restrokes and repaints only the slices that
// changed (see push()). More slices make each cheaper but add items to the scene.
constexpr int chunksPerSeries = 32;

// 1, 2, 2.5, 5 times a power of ten: the first at or above `raw`.
double niceStep(double raw)
{
    const double magnitude = std::pow(10.0, std::floor(std::log10(raw)));
    for (const double factor : {1.0, 2.0, 2.5, 5.0}) {
        if (factor * magnitude >= raw * (1 - 1e-9))
            return factor * magnitude;
    }
    return 10 * magnitude;
}

// Steps a reader counts time in.
double niceMinutes(double raw)
{
    for (const double step :
         {1.0, 2.0, 5.0, 10.0, 15.0, 20.0, 30.0, 60.0, 120.0, 180.0, 360.0, 720.0}) {
        if (step >= raw)
            return step;
    }
    return 1440 * std::ceil(raw / 1440);
}

int decimalsFor(double step)
{
    for (int decimals = 0; decimals < 4; ++decimals) {
        const double scaled = step * std::pow(10.0, decimals);
        if (std::abs(scaled - std::round(scaled)) < 1e-6)
            return decimals;
    }
    return 4;
}

QFont scaledFont(QFont font, double factor, bool bold = false)
{
    font.setPointSizeF(font.pointSizeF() * factor);
    font.setBold(bold);
    return font;
}

} // namespace

// Draws the markers over the series. Painting them here, rather than as two-point series, keeps
// them out of the legend and the ranges, and costs a few lines per frame.
class ChartView : public QChartView
{
public:
    struct Line {
        double x; // minutes since the origin
        QString label;
        double labelWidth = 0;
    };
    struct EventLine {
        double x; // minutes since the origin
        QString label;
        QColor color;
        QString toolTip;
        QImage glyph;
        double labelWidth = 0;
    };
    // An event's line is found this many pixels either side of it.
    static constexpr double eventPickPixels = 4;

    ChartView(QChart *chart, QValueAxis *xAxis, QWidget *parent)
        : QChartView(chart, parent)
        , m_xAxis(xAxis)
    {}

    QList<Line> lines;
    QList<EventLine> events;
    QColor lineColor;
    QColor textColor;
    QColor labelBackground;
    QFont font;

    // Once per change of labels or font rather than on every frame.
    void measureLabels()
    {
        const QFontMetricsF metrics(font);
        for (Line &line : lines)
            line.labelWidth = metrics.horizontalAdvance(line.label);
        for (EventLine &event : events)
            event.labelWidth = metrics.horizontalAdvance(event.label);
    }

    // Where minutes since the origin are drawn, on a pixel centre; NaN outside the axis.
    double xOf(double minutes) const
    {
        const double min = m_xAxis->min();
        const double max = m_xAxis->max();
        if (max <= min || minutes < min || minutes > max)
            return std::numeric_limits<double>::quiet_NaN();
        const QRectF plot = chart()->plotArea();
        return std::round(plot.left() + (minutes - min) / (max - min) * plot.width()) + 0.5;
    }

    int eventAt(const QPoint &point) const
    {
        int nearest = -1;
        double nearestDistance = eventPickPixels;
        for (qsizetype i = 0; i < events.size(); ++i) {
            const double distance = std::abs(xOf(events.at(i).x) - point.x());
            // NaN, for an event off the axis, compares false and is never nearest.
            if (distance <= nearestDistance) {
                nearest = int(i);
                nearestDistance = distance;
            }
        }
        return chart()->plotArea().contains(point) ? nearest : -1;
    }

protected:
    void drawForeground(QPainter *painter, const QRectF &exposed) override
    {
        drawEvents(painter, exposed);
        const double min = m_xAxis->min();
        const double max = m_xAxis->max();
        if (lines.isEmpty() || max <= min)
            return;
        const QRectF plot = chart()->plotArea();
        const double labelHeight = QFontMetricsF(font).height();
        painter->save();
        painter->setRenderHint(QPainter::Antialiasing, false);
        painter->setFont(font);
        painter->setPen(QPen(lineColor, 1, Qt::DashLine));
        double labelsEnd = -std::numeric_limits<double>::infinity();
        for (const Line &line : std::as_const(lines)) {
            if (line.x < min || line.x > max)
                continue;
            // On a pixel centre, so an unantialiased one-pixel line stays crisp.
            const double x
                = std::round(plot.left() + (line.x - min) / (max - min) * plot.width()) + 0.5;
            // A live refresh exposes only the slices that changed; markers elsewhere stay as
            // they were painted.
            if (x >= exposed.left() - 1 && x <= exposed.right() + 1)
                painter->drawLine(QPointF(x, plot.top()), QPointF(x, plot.bottom()));

            double left = x + 3;
            if (left + line.labelWidth > plot.right())
                left = x - 3 - line.labelWidth;
            // Stages close together keep their lines; a label that would overprint another goes.
            if (left < labelsEnd + 4)
                continue;
            const QRectF box(left - 1, plot.top() + 1, line.labelWidth + 2, labelHeight);
            labelsEnd = box.right();
            if (!box.intersects(exposed))
                continue;
            painter->fillRect(box, labelBackground);
            painter->setPen(textColor);
            painter->drawText(box, Qt::AlignCenter, line.label);
            painter->setPen(QPen(lineColor, 1, Qt::DashLine));
        }
        painter->restore();
    }

    bool viewportEvent(QEvent *event) override
    {
        if (event->type() == QEvent::ToolTip) {
            auto *help = static_cast<QHelpEvent *>(event);
            const int found = eventAt(help->pos());
            if (found >= 0)
                QToolTip::showText(help->globalPos(), events.at(found).toolTip, viewport());
            else
                QToolTip::hideText();
            return true;
        }
        return QChartView::viewportEvent(event);
    }

private:
    // Events under the stage lines' labels: their labels sit at the foot of the plot, so the two
    // kinds of label never meet.
    void drawEvents(QPainter *painter, const QRectF &exposed)
    {
        if (events.isEmpty())
            return;
        const QRectF plot = chart()->plotArea();
        const double labelHeight = QFontMetricsF(font).height();
        painter->save();
        painter->setRenderHint(QPainter::Antialiasing, false);
        painter->setFont(font);
        // The glyphs in a row at the foot, labels in rows above them, the lowest free one
        // taken: events come in bursts (a gate failing, the abort, the rollback) and one row
        // would keep only the first label.
        constexpr int labelRows = 3;
        double rowEnds[labelRows];
        std::fill(std::begin(rowEnds), std::end(rowEnds), -std::numeric_limits<double>::infinity());
        double glyphRow = 0;
        for (const EventLine &event : std::as_const(events)) {
            if (!event.glyph.isNull())
                glyphRow
                    = std::max(glyphRow, event.glyph.height() / event.glyph.devicePixelRatio());
        }
        for (const EventLine &event : std::as_const(events)) {
            const double x = xOf(event.x);
            if (std::isnan(x))
                continue;
            // Dotted, so an event never reads as a spike in a series of the same colour.
            QColor line = event.color;
            line.setAlphaF(0.85f);
            if (x >= exposed.left() - 1 && x <= exposed.right() + 1) {
                painter->setPen(QPen(line, 1, Qt::DotLine));
                painter->drawLine(QPointF(x, plot.top()), QPointF(x, plot.bottom() - glyphRow));
                if (!event.glyph.isNull()) {
                    const double size = event.glyph.width() / event.glyph.devicePixelRatio();
                    painter->drawImage(QPointF(x - size / 2, plot.bottom() - glyphRow),
                                       event.glyph);
                }
            }
            if (event.label.isEmpty())
                continue;
            double left = x + 2;
            if (left + event.labelWidth > plot.right())
                left = x - 2 - event.labelWidth;
            int row = 0;
            while (row < labelRows && left < rowEnds[row] + 4)
                ++row;
            // Where every row is taken the line, its glyph and its tooltip still tell.
            if (row == labelRows)
                continue;
            const QRectF box(left - 1, plot.bottom() - glyphRow - (row + 1) * labelHeight,
                             event.labelWidth + 2, labelHeight);
            rowEnds[row] = box.right();
            if (!box.intersects(exposed))
                continue;
            painter->fillRect(box, labelBackground);
            painter->setPen(event.color);
            painter->drawText(box, Qt::AlignCenter, event.label);
        }
        painter->restore();
    }

    QValueAxis *m_xAxis;
};

// The title on the left and the legend on the right, in one line above the plot: the chart's own
// title and legend would take a line each.
class ChartHeader : public QWidget
{
public:
    struct Entry {
        QString name;
        QPen pen;
    };

    ChartHeader(const QString &title, QWidget *parent)
        : QWidget(parent)
        , m_title(title)
    {
        setSizePolicy(QSizePolicy::Preferred, QSizePolicy::Fixed);
        setAccessibleName(title);
    }

    QString title() const { return m_title; }
    void setEntries(const QList<Entry> &entries)
    {
        m_entries = entries;
        update();
    }
    void setFonts(const QFont &titleFont, const QFont &legendFont)
    {
        m_titleFont = titleFont;
        m_legendFont = legendFont;
        updateGeometry();
        update();
    }

    QSize sizeHint() const override
    {
        return {0, std::max(QFontMetrics(m_titleFont).height(), QFontMetrics(m_legendFont).height())
                       + 4};
    }
    QSize minimumSizeHint() const override { return sizeHint(); }

protected:
    void paintEvent(QPaintEvent *) override
    {
        constexpr int sample = 16;
        constexpr int sampleGap = 4;
        constexpr int spacing = 12;
        QPainter painter(this);
        painter.setFont(m_titleFont);
        painter.setPen(palette().color(QPalette::WindowText));
        const QRect titleRect = painter.boundingRect(rect().adjusted(4, 0, 0, 0),
                                                     Qt::AlignLeft | Qt::AlignVCenter, m_title);
        painter.drawText(titleRect, Qt::AlignLeft | Qt::AlignVCenter, m_title);

        // Right to left, so the newest series stays nearest the edge; entries that would reach
        // the title are left out rather than drawn over it.
        painter.setFont(m_legendFont);
        const QFontMetrics metrics(m_legendFont);
        int right = width() - 6;
        const int middle = height() / 2;
        for (auto it = m_entries.crbegin(); it != m_entries.crend(); ++it) {
            const int textWidth = metrics.horizontalAdvance(it->name);
            const int left = right - textWidth - sampleGap - sample;
            if (left < titleRect.right() + spacing)
                break;
            painter.setPen(it->pen);
            painter.drawLine(left, middle, left + sample, middle);
            painter.setPen(palette().color(QPalette::WindowText));
            painter.drawText(QRect(right - textWidth, 0, textWidth, height()),
                             Qt::AlignLeft | Qt::AlignVCenter, it->name);
            right = left - spacing;
        }
    }

private:
    QString m_title;
    QList<Entry> m_entries;
    QFont m_titleFont;
    QFont m_legendFont;
};

TimeSeriesChart::TimeSeriesChart(const QString &title, Unit unit, QWidget *parent)
    : QWidget(parent)
    , m_unit(unit)
    , m_scale(unit == Unit::Percent ? 100 : 1)
    , m_chart(new QChart)
    , m_xAxis(new QValueAxis(m_chart))
    , m_yAxis(new QValueAxis(m_chart))
{
    m_chart->setAnimationOptions(QChart::NoAnimation);
    m_chart->setDropShadowEnabled(false);
    m_chart->setBackgroundRoundness(0);
    m_chart->setMargins(QMargins(2, 8, 8, 2));
    m_chart->layout()->setContentsMargins(0, 0, 0, 0);
    m_chart->legend()->hide();

    for (QValueAxis *axis : {m_xAxis, m_yAxis}) {
        axis->setTickType(QValueAxis::TicksDynamic);
        axis->setTickAnchor(0);
        axis->setMinorTickCount(0);
    }
    m_xAxis->setLabelFormat(QStringLiteral("%.0f"));
    m_xAxis->setTitleText(tr("minutes since start"));
    m_chart->addAxis(m_xAxis, Qt::AlignBottom);
    m_chart->addAxis(m_yAxis, Qt::AlignLeft);
    setTimeRange(0, 0);
    setValueTop(0);

    m_header = new ChartHeader(title, this);
    m_view = new ChartView(m_chart, m_xAxis, this);
    m_view->setFrameShape(QFrame::NoFrame);
    // Every item's bounding rect already holds its antialiased pixels (Qt Charts pads line items
    // for the pen), so growing each dirty rect only drags neighbouring slices into a repaint.
    m_view->setOptimizationFlag(QGraphicsView::DontAdjustForAntialiasing);
    // Slices change geometry every second: a BSP index would be rebuilt for them each time, and
    // the many small rects they dirty repaint faster merged where they crowd (both measured with
    // bench_release_charts).
    m_chart->scene()->setItemIndexMethod(QGraphicsScene::NoIndex);
    m_view->setViewportUpdateMode(QGraphicsView::SmartViewportUpdate);
    auto *layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->setSpacing(0);
    layout->addWidget(m_header);
    layout->addWidget(m_view);

    // Decimation is by pixel column, so a new plot width means a new picture.
    connect(m_chart, &QChart::plotAreaChanged, this, [this](const QRectF &plotArea) {
        const int width = int(std::ceil(plotArea.width()));
        if (width != m_plotWidth) {
            m_plotWidth = width;
            pushAll();
        }
    });
    applyPalette();
}

TimeSeriesChart::~TimeSeriesChart() = default;

int TimeSeriesChart::addSeries(const QString &name, const QColor &color, Qt::PenStyle style)
{
    Series series;
    series.name = name;
    // One pixel wide: the raster engine draws such lines with its cosmetic stroker, several times
    // faster than a wider pen, which goes through the general path stroker segment by segment.
    series.pen = QPen(color, 1, style);
    series.pen.setCapStyle(Qt::FlatCap);
    for (int i = 0; i < chunksPerSeries; ++i) {
        auto *chunk = new QLineSeries(m_chart);
        m_chart->addSeries(chunk);
        chunk->attachAxis(m_xAxis);
        chunk->attachAxis(m_yAxis);
        chunk->setPen(series.pen);
        chunk->setVisible(false);
        series.chunks.append(chunk);
    }
    m_series.append(series);
    return int(m_series.size() - 1);
}

void TimeSeriesChart::setSeriesVisible(Series &series, bool visible)
{
    if (series.visible == visible)
        return;
    series.visible = visible;
    for (QLineSeries *chunk : std::as_const(series.chunks))
        chunk->setVisible(visible);
    updateLegend();
}

void TimeSeriesChart::updateLegend()
{
    QList<ChartHeader::Entry> entries;
    for (const Series &series : std::as_const(m_series)) {
        if (series.visible)
            entries.append({series.name, series.pen});
    }
    m_header->setEntries(entries);
}

QString TimeSeriesChart::title() const
{
    return m_header->title();
}

QString TimeSeriesChart::seriesName(int index) const
{
    Q_ASSERT(index >= 0 && index < m_series.size());
    return m_series.at(index).name;
}

void TimeSeriesChart::setSeriesName(int index, const QString &name)
{
    Q_ASSERT(index >= 0 && index < m_series.size());
    m_series[index].name = name;
    updateLegend();
}

void TimeSeriesChart::setSeriesColor(int index, const QColor &color)
{
    Q_ASSERT(index >= 0 && index < m_series.size());
    Series &series = m_series[index];
    if (series.pen.color() == color)
        return;
    series.pen.setColor(color);
    for (QLineSeries *chunk : std::as_const(series.chunks))
        chunk->setPen(series.pen);
    updateLegend();
}

void TimeSeriesChart::setOrigin(qint64 originMs)
{
    if (originMs == m_originMs)
        return;
    const double shift = double(originMs - m_originMs) / msPerMinute;
    m_originMs = originMs;
    for (Series &series : m_series) {
        series.minX -= shift;
        series.maxX -= shift;
    }
    for (ChartView::Line &line : m_view->lines)
        line.x -= shift;
    for (ChartView::EventLine &event : m_view->events)
        event.x -= shift;
    // Every bound moved, so the range is chosen afresh rather than kept.
    updateTimeRange(true);
    pushAll();
    m_view->viewport()->update();
}

double TimeSeriesChart::toChartX(double ms) const
{
    return (ms - double(m_originMs)) / msPerMinute;
}

void TimeSeriesChart::setSeriesPoints(int index, const QList<QPointF> &points)
{
    Q_ASSERT(index >= 0 && index < m_series.size());
    if (index < 0 || index >= m_series.size())
        return;
    Series &series = m_series[index];
    series.points = points;
    if (!points.isEmpty()) {
        // Time only moves forward, so the x bounds are the ends.
        series.minX = toChartX(points.first().x());
        series.maxX = toChartX(points.last().x());
    }
    setSeriesVisible(series, !points.isEmpty());
    if (updateTimeRange()) {
        pushAll();
    } else {
        push(series);
        settle();
    }
}

const QList<QPointF> &TimeSeriesChart::seriesPoints(int index) const
{
    Q_ASSERT(index >= 0 && index < m_series.size());
    return m_series.at(index).points;
}

QList<QPointF> TimeSeriesChart::shownPoints(int index) const
{
    Q_ASSERT(index >= 0 && index < m_series.size());
    return m_series.at(index).shown;
}

void TimeSeriesChart::setMarkers(const QList<Marker> &markers)
{
    m_markers = markers;
    m_view->lines.clear();
    for (const Marker &marker : markers)
        m_view->lines.append({toChartX(double(marker.atMs)), marker.label});
    m_view->measureLabels();
    if (updateTimeRange())
        pushAll();
    m_view->viewport()->update();
}

void TimeSeriesChart::setEventMarkers(const QList<EventMarker> &markers)
{
    if (markers == m_eventMarkers)
        return;
    m_eventMarkers = markers;
    m_view->events.clear();
    for (const EventMarker &marker : markers)
        m_view->events.append({toChartX(double(marker.atMs)), marker.label, marker.color,
                               marker.toolTip, marker.glyph});
    m_view->measureLabels();
    if (updateTimeRange())
        pushAll();
    m_view->viewport()->update();
}

QString TimeSeriesChart::eventToolTipAt(const QPoint &point) const
{
    const int found = m_view->eventAt(point);
    return found >= 0 ? m_view->events.at(found).toolTip : QString();
}

double TimeSeriesChart::eventMarkerX(int index) const
{
    Q_ASSERT(index >= 0 && index < m_view->events.size());
    return m_view->xOf(m_view->events.at(index).x);
}

void TimeSeriesChart::clear()
{
    for (Series &series : m_series) {
        series.points.clear();
        series.shown.clear();
        for (QLineSeries *chunk : std::as_const(series.chunks))
            chunk->clear();
        setSeriesVisible(series, false);
    }
    m_markers.clear();
    m_view->lines.clear();
    m_eventMarkers.clear();
    m_view->events.clear();
    // The next data is another release's, so its scale owes nothing to this one's.
    setValueTop(0);
    m_view->viewport()->update();
}

QPointF TimeSeriesChart::xRange() const
{
    return {m_xAxis->min(), m_xAxis->max()};
}

QPointF TimeSeriesChart::yRange() const
{
    return {m_yAxis->min(), m_yAxis->max()};
}

bool TimeSeriesChart::updateTimeRange(bool rechoose)
{
    double low = std::numeric_limits<double>::infinity();
    double high = -low;
    for (const Series &series : std::as_const(m_series)) {
        if (series.points.isEmpty())
            continue;
        low = std::min(low, series.minX);
        high = std::max(high, series.maxX);
    }
    if (low > high)
        return false;
    for (const ChartView::Line &line : std::as_const(m_view->lines)) {
        low = std::min(low, line.x);
        high = std::max(high, line.x);
    }
    for (const ChartView::EventLine &event : std::as_const(m_view->events)) {
        low = std::min(low, event.x);
        high = std::max(high, event.x);
    }
    const double xMin = m_xAxis->min();
    const double xMax = m_xAxis->max();
    // A sliding window drifts right inside the range; only a point past its end, or data that
    // fills less than half of it (a new release), chooses a new range.
    if (!rechoose && low >= xMin && high <= xMax && high - low >= (xMax - xMin) / 2)
        return false;
    setTimeRange(low, high);
    return true;
}

void TimeSeriesChart::settle()
{
    double top = 0;
    bool dense = false;
    for (const Series &series : std::as_const(m_series)) {
        if (series.points.isEmpty())
            continue;
        top = std::max(top, series.maxY);
        dense = dense || series.points.size() > m_plotWidth;
    }
    // Kept while the data stays inside with some room, so labels do not change on every tick.
    const double yMax = m_yAxis->max();
    if (top * 1.02 > yMax || top * yHeadroom < yMax * 0.4)
        setValueTop(top);
    // A decimated series is a band of one-pixel strokes, where antialiasing costs time and shows
    // nothing; a sparse one is a line, which reads better smoothed.
    if (m_view->renderHints().testFlag(QPainter::Antialiasing) == dense)
        m_view->setRenderHint(QPainter::Antialiasing, !dense);
}

void TimeSeriesChart::setTimeRange(double low, double high)
{
    const double span = std::max(high - low, 1.0);
    m_xAxis->setRange(low, high + span * xHeadroom);
    m_xAxis->setTickInterval(niceMinutes(span / xTicks));
}

bool TimeSeriesChart::setValueTop(double top)
{
    const double minimumTop = m_unit == Unit::Milliseconds ? 10 : 1;
    const double wanted = std::max(top * yHeadroom, minimumTop);
    const double step = niceStep(wanted / yTicks);
    const double newTop = std::ceil(wanted / step - 1e-9) * step;
    if (newTop == m_yAxis->max() && step == m_yAxis->tickInterval())
        return false;
    m_yAxis->setRange(0, newTop);
    m_yAxis->setTickInterval(step);
    const QString number
        = QStringLiteral("%.") + QString::number(decimalsFor(step)) + QLatin1Char('f');
    switch (m_unit) {
    case Unit::Number: m_yAxis->setLabelFormat(number); break;
    case Unit::Percent: m_yAxis->setLabelFormat(number + QStringLiteral(" %%")); break;
    case Unit::Milliseconds: m_yAxis->setLabelFormat(number + QStringLiteral(" ms")); break;
    }
    return true;
}

void TimeSeriesChart::pushAll()
{
    for (Series &series : m_series)
        push(series);
    settle();
}

void TimeSeriesChart::push(Series &series)
{
    // Until the chart is laid out there are no pixel columns to decimate to, and nothing shows;
    // the new plot area pushes every series.
    const double xMin = m_xAxis->min();
    const double xMax = m_xAxis->max();
    if (m_plotWidth <= 0 || xMax <= xMin)
        return;
    const double columnsPerMinute = m_plotWidth / (xMax - xMin);
    auto columnOf = [&](double minutes) {
        return std::clamp(qsizetype((minutes - xMin) * columnsPerMinute), qsizetype(0),
                          qsizetype(m_plotWidth - 1));
    };
    auto toChart = [this](const QPointF &point) {
        return QPointF(toChartX(point.x()), point.y() * m_scale);
    };

    const QPointF *points = series.points.constData();
    const qsizetype count = series.points.size();
    QList<QPointF> &shown = series.shown;
    shown.clear();
    if (count <= m_plotWidth) {
        shown.reserve(count);
        for (qsizetype i = 0; i < count; ++i)
            shown.append(toChart(points[i]));
    } else {
        // The lowest and highest point of each pixel column, in time order: the line then covers
        // exactly the pixels the full series would, with at most two points per column. Columns
        // are found on the raw times, so only the points kept are converted.
        shown.reserve(2 * m_plotWidth + 2);
        const double leftMs = double(m_originMs) + xMin * msPerMinute;
        const double columnsPerMs = columnsPerMinute / msPerMinute;
        qsizetype column = -1;
        qsizetype lowest = 0;
        qsizetype highest = 0;
        auto flush = [&] {
            if (column < 0)
                return;
            shown.append(toChart(points[std::min(lowest, highest)]));
            if (lowest != highest)
                shown.append(toChart(points[std::max(lowest, highest)]));
        };
        shown.append(toChart(points[0]));
        for (qsizetype i = 1; i + 1 < count; ++i) {
            const auto pointColumn = qsizetype((points[i].x() - leftMs) * columnsPerMs);
            if (pointColumn != column) {
                flush();
                column = pointColumn;
                lowest = highest = i;
            } else if (points[i].y() < points[lowest].y()) {
                lowest = i;
            } else if (points[i].y() > points[highest].y()) {
                highest = i;
            }
        }
        flush();
        shown.append(toChart(points[count - 1]));
    }
    // Every column's highest point is shown, so the highest shown is the highest.
    series.maxY = 0;
    for (const QPointF &point : std::as_const(shown))
        series.maxY = std::max(series.maxY, point.y());

    // Qt Charts strokes a series' whole outline again on every replace(), and repaints all of
    // it, so the line is cut into slices of the plot's width and only slices whose points
    // changed are pushed. While the x range holds, a pixel column keeps its points, so a sliding
    // window changes only the slices at its two ends. Each slice ends on the next one's first
    // point, so the line stays joined.
    const qsizetype chunks = series.chunks.size();
    auto chunkOf = [&](const QPointF &point) { return columnOf(point.x()) * chunks / m_plotWidth; };
    qsizetype begin = 0;
    for (qsizetype chunk = 0; chunk < chunks; ++chunk) {
        qsizetype end = begin;
        while (end < shown.size() && chunkOf(shown.at(end)) <= chunk)
            ++end;
        const qsizetype sliceEnd = end > begin ? std::min(end + 1, shown.size()) : begin;
        QLineSeries *line = series.chunks.at(chunk);
        // Compared in place: most slices are unchanged, and copying each just to compare it
        // cost more than the comparison.
        const QList<QPointF> current = line->points();
        if (!std::equal(current.cbegin(), current.cend(), shown.cbegin() + begin,
                        shown.cbegin() + sliceEnd))
            line->replace(shown.mid(begin, sliceEnd - begin));
        begin = end;
    }
}

void TimeSeriesChart::changeEvent(QEvent *event)
{
    QWidget::changeEvent(event);
    if (event->type() == QEvent::PaletteChange || event->type() == QEvent::FontChange)
        applyPalette();
}

void TimeSeriesChart::applyPalette()
{
    const QPalette &pal = palette();
    const QColor text = pal.color(QPalette::WindowText);
    const QColor muted = pal.color(QPalette::PlaceholderText);
    const QColor base = pal.color(QPalette::Base);
    QColor grid = text;
    grid.setAlphaF(0.1f);
    QColor axisLine = text;
    axisLine.setAlphaF(0.3f);

    m_chart->setBackgroundBrush(base);
    m_chart->setBackgroundPen(Qt::NoPen);
    m_view->setBackgroundBrush(base);
    m_header->setAutoFillBackground(true);
    QPalette headerPalette = pal;
    headerPalette.setColor(QPalette::Window, base);
    m_header->setPalette(headerPalette);
    m_header->setFonts(scaledFont(font(), 0.95, true), scaledFont(font(), 0.85));
    const QFont axisFont = scaledFont(font(), 0.8);
    for (QValueAxis *axis : {m_xAxis, m_yAxis}) {
        axis->setLabelsColor(muted);
        axis->setLabelsFont(axisFont);
        axis->setLinePenColor(axisLine);
        axis->setGridLineColor(grid);
        axis->setTitleBrush(muted);
        axis->setTitleFont(axisFont);
    }
    QColor markerLine = text;
    markerLine.setAlphaF(0.45f);
    QColor labelBackground = base;
    labelBackground.setAlphaF(0.85f);
    m_view->lineColor = markerLine;
    m_view->textColor = muted;
    m_view->labelBackground = labelBackground;
    m_view->font = axisFont;
    m_view->measureLabels();
    m_view->viewport()->update();
}

} // namespace sb
