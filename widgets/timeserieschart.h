#pragma once

#include <QColor>
#include <QImage>
#include <QList>
#include <QPen>
#include <QPointF>
#include <QWidget>

class QChart;
class QLineSeries;
class QValueAxis;

namespace sb {

class ChartHeader;
class ChartView;

// A live chart of time series. Points come in as (milliseconds since the epoch, value) and are
// drawn against minutes since an origin time, with vertical markers on top: stage boundaries,
// labelled at the top, and events, in their colours and labelled at the foot.
//
// Built for a refresh every second: each series takes its whole window at once and pushes it
// with one replace(); a series denser than the plot is wide is decimated to the minimum and
// maximum of each pixel column, which draws the same picture for a fraction of the cost; each
// line is cut into slices across the plot and only slices whose points changed are pushed, since
// Qt Charts restrokes and repaints a whole series on every replace(); and the axes keep their
// range, so their labels do not relayout, until the data leaves it.
class TimeSeriesChart : public QWidget
{
    Q_OBJECT
public:
    // How values read on the y axis. Percent takes ratios (0.012) and shows percents ("1.2 %").
    enum class Unit { Number, Percent, Milliseconds };

    struct Marker {
        qint64 atMs = 0; // milliseconds since the epoch, like the points
        QString label;   // a few characters: "5 %", "end"

        friend bool operator==(const Marker &, const Marker &) = default;
    };
    // Something that happened to the release (a gate failed, an operator paused it): a dotted
    // line in the event's colour with its glyph at the foot of the plot, a short label beside
    // it, and the whole story as the line's tooltip.
    struct EventMarker {
        qint64 atMs = 0;
        QString label; // "gate failed", "paused"; empty for a line alone
        QColor color;
        QString toolTip;
        QImage glyph; // the timeline's mark for the event, or none

        friend bool operator==(const EventMarker &, const EventMarker &) = default;
    };

    explicit TimeSeriesChart(const QString &title, Unit unit, QWidget *parent = nullptr);
    ~TimeSeriesChart() override;

    // Adds an empty series and answers its index. An empty series stays out of the legend.
    int addSeries(const QString &name, const QColor &color, Qt::PenStyle style = Qt::SolidLine);
    QString title() const;
    int seriesCount() const { return int(m_series.size()); }
    QString seriesName(int index) const;
    void setSeriesName(int index, const QString &name);
    void setSeriesColor(int index, const QColor &color);

    // The x axis reads minutes since this time (milliseconds since the epoch).
    void setOrigin(qint64 originMs);
    // The whole series, oldest first.
    void setSeriesPoints(int index, const QList<QPointF> &points);
    const QList<QPointF> &seriesPoints(int index) const;
    // What the series draws: decimated, in minutes since the origin and in the unit's scale.
    QList<QPointF> shownPoints(int index) const;
    void setMarkers(const QList<Marker> &markers);
    const QList<Marker> &markers() const { return m_markers; }
    void setEventMarkers(const QList<EventMarker> &markers);
    const QList<EventMarker> &eventMarkers() const { return m_eventMarkers; }
    // The tooltip of the event marker nearest `point` (in the chart's view) within a few
    // pixels; empty when none is that close.
    QString eventToolTipAt(const QPoint &point) const;
    // Where an event marker's line is drawn, in the chart's view; for tests.
    double eventMarkerX(int index) const;
    // Every series emptied and every marker removed; names, colours and the origin stay.
    void clear();

    // The axes' ranges, in minutes since the origin and in the unit's scale.
    QPointF xRange() const;
    QPointF yRange() const;
    QChart *chart() const { return m_chart; }

protected:
    void changeEvent(QEvent *event) override;

private:
    struct Series {
        QString name;
        QPen pen;
        bool visible = false;        // an empty series is hidden
        QList<QLineSeries *> chunks; // the line's slices, left to right
        QList<QPointF> points;       // as given
        QList<QPointF> shown;        // as pushed, all slices together
        // Time bounds of `points` and the highest value shown, in chart units.
        double minX = 0;
        double maxX = 0;
        double maxY = 0;
    };

    void applyPalette();
    void updateLegend();
    void setSeriesVisible(Series &series, bool visible);
    // Chooses a new time range when the data has left it or shrunk well inside it, or when
    // `rechoose`; answers whether it changed, which moves every pixel column.
    bool updateTimeRange(bool rechoose = false);
    // The value range and render hints, from what the series show.
    void settle();
    // Ranges for data from `low` to `high` minutes and values up to `top`.
    void setTimeRange(double low, double high);
    bool setValueTop(double top);
    void push(Series &series);
    void pushAll();
    double toChartX(double ms) const;

    Unit m_unit;
    double m_scale;
    qint64 m_originMs = 0;
    QList<Series> m_series;
    QList<Marker> m_markers;
    QList<EventMarker> m_eventMarkers;
    int m_plotWidth = 0;

    QChart *m_chart;
    ChartHeader *m_header;
    ChartView *m_view;
    QValueAxis *m_xAxis;
    QValueAxis *m_yAxis;
};

} // namespace sb
