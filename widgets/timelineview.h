#pragma once

#include "timelineindex.h"

#include <QAbstractScrollArea>
#include <QHash>
#include <QPixmap>

#include <functional>
#include <span>

class QPainter;

namespace sb {

// The colour a category's marks take on the timeline and on a release's charts: gate failures
// red, rollbacks violet, backend errors magenta, pauses amber, switches teal, gate passes green,
// plain progress blue. Shape tells them apart too (paintTimelineMark).
QColor timelineCategoryColor(TimelineCategory category, const QPalette &palette);
// A mark centred on `centre`, `size` pixels across: a dot for progress, a triangle up for a gate
// passed and down for one failed, a square for a pause, a diamond for a switch, a triangle
// pointing back for a rollback, a cross for a backend error. An operator's action is ringed.
void paintTimelineMark(QPainter &painter, const QPointF &centre, double size,
                       TimelineCategory category, bool byOperator, const QPalette &palette);

// The journal on a time axis: one lane per service and environment, each matching entry a mark
// at its time, the axis in UTC on top. Where a lane has more entries than fit as marks (a week
// of a busy service), it draws how many there are per pixel instead, with the failures, rollbacks
// and errors among them still marked. Only the visible range is drawn, from per-pixel counts, so
// a million entries zoom and pan smoothly.
//
// Wheel zooms around the cursor (Shift+wheel scrolls the lanes), dragging pans, a click selects
// the nearest mark; +/- zoom, arrows pan, Home fits everything, Escape clears the selection.
class TimelineView : public QAbstractScrollArea
{
    Q_OBJECT
public:
    using Lookup = std::function<const JournalEntry *(qint64 sequence)>;

    static constexpr qint64 minimumSpanMs = 10'000;
    static constexpr int laneHeight = 26;

    explicit TimelineView(QWidget *parent = nullptr);

    // What to draw: `matches` of `index`. Neither is owned; both must outlive the view or the
    // next call. The first matches fit the view to them.
    void setMatches(const TimelineIndex *index, const TimelineMatches *matches);
    // After rows were appended to the matches in place. While the newest entry was on show, the
    // view follows the new ones.
    void matchesChanged();
    // Full entries for tooltips' reasons; null while one is being fetched.
    void setLookup(Lookup lookup);
    void entriesArrived();

    qint64 fromMs() const { return qint64(m_fromMs); }
    qint64 toMs() const { return qint64(m_fromMs + m_spanMs); }
    void setVisibleRange(qint64 fromMs, qint64 toMs);
    // Zooms in by `factor` (below 1 zooms out) keeping the time under viewport x where it is.
    void zoomAt(double factor, double x);
    // Shows every matching entry, or the whole journal when none match.
    void fitAll();
    double xForTime(double ms) const;
    double timeAtX(double x) const;
    // Where marks are drawn, in viewport coordinates: right of the lane names, below the axis.
    QRect plotRect() const;

    // Lanes on show, top to bottom: the services with matching entries.
    QList<ServiceKey> lanes() const;
    // Whether some of the lane's visible entries are too close together for marks at the
    // current zoom, and draw as per-pixel counts.
    bool laneShowsDensity(const ServiceKey &lane) const;
    // The centre of a row's mark in viewport coordinates, for tests and tooltips.
    QPointF markCentre(qsizetype row) const;
    // The nearest matching row to a viewport point within a few pixels, or -1.
    qsizetype rowAt(const QPoint &point) const;
    QString describe(qsizetype row) const;

    qsizetype selectedRow() const { return m_selected; }
    // Selects a row of the index (-1: none) and, if asked, pans and scrolls it into view.
    void setSelectedRow(qsizetype row, bool reveal = false);
    // Draws a lane (focusService) with a band behind it.
    void setHighlightedLane(const std::optional<ServiceKey> &lane);

Q_SIGNALS:
    void selectedChanged(qsizetype row);
    // A tooltip needs this entry's reason.
    void entryWanted(qint64 sequence);

protected:
    void paintEvent(QPaintEvent *event) override;
    void resizeEvent(QResizeEvent *event) override;
    bool viewportEvent(QEvent *event) override;
    void wheelEvent(QWheelEvent *event) override;
    void mousePressEvent(QMouseEvent *event) override;
    void mouseMoveEvent(QMouseEvent *event) override;
    void mouseReleaseEvent(QMouseEvent *event) override;
    void mouseDoubleClickEvent(QMouseEvent *event) override;
    void keyPressEvent(QKeyEvent *event) override;
    void changeEvent(QEvent *event) override;
    void scrollContentsBy(int dx, int dy) override;

private:
    struct Tick {
        double ms;
        QString label;
    };
    void relayoutLanes();
    void updateScrollBar();
    void setRange(double fromMs, double spanMs);
    void panBy(double pixels);
    double maximumSpanMs() const;
    // The visible matches per lane and pixel column, and per cell of a few columns, computed
    // once per range and result.
    struct Density {
        TimelineDensity counts;
        // Cells are fixed in time, so that panning does not regroup them: visible cell i is the
        // (firstCell + i)th of the epoch at this zoom.
        double firstCell = 0;
        int cells = 0;
        std::vector<int> cellOf;         // by pixel column
        std::vector<quint32> cellCounts; // [lane * cells + cell]
    };
    const Density &density() const;
    // The visible cell a time falls in, or -1 outside the view.
    int cellAt(double ms) const;
    bool denseCell(int lane, int cell) const;
    // The categories a full cell still marks at this zoom, most telling first.
    std::span<const TimelineCategory> markedInCounts() const;
    int laneTop(int position) const;
    int lanePosition(int laneId) const;
    const QPixmap &sprite(TimelineCategory category, bool byOperator, double size) const;
    void paintAxis(QPainter &painter, const QRect &plot) const;
    void paintLanes(QPainter &painter, const QRect &plot) const;
    void paintDensity(QPainter &painter, const QRect &plot) const;
    void paintMarks(QPainter &painter, const QRect &plot) const;
    QList<Tick> ticks(double stepMs, const QString &format) const;
    void showTip(const QPoint &point, const QPoint &globalPoint);

    const TimelineIndex *m_index = nullptr;
    const TimelineMatches *m_matches = nullptr;
    Lookup m_lookup;
    QList<int> m_lanes;         // lane ids, top to bottom
    std::vector<int> m_laneRow; // lane id -> position in m_lanes, or -1
    std::optional<ServiceKey> m_highlighted;
    int m_nameWidth = 160;
    double m_fromMs = 0;
    double m_spanMs = 3'600'000;
    bool m_fitted = false;
    double m_newestShownMs = 0;
    qsizetype m_selected = -1;
    qsizetype m_hovered = -1;

    QPoint m_pressPoint;
    double m_pressFromMs = 0;
    int m_pressScroll = 0;
    bool m_dragging = false;
    bool m_pressed = false;

    qsizetype m_tipRow = -1;
    QPoint m_tipGlobal;

    mutable quint64 m_generation = 0; // bumped on every new or grown result
    mutable Density m_density;
    mutable quint64 m_densityGeneration = ~quint64(0);
    mutable double m_densityFromMs = 0;
    mutable double m_densitySpanMs = 0;
    mutable QHash<quint32, QPixmap> m_sprites;
};

} // namespace sb
