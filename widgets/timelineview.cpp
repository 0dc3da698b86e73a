#include "timelineview.h"

#include "theme.h"
#include "timelinemodel.h"

#include <QDateTime>
#include <QHelpEvent>
#include <QImage>
#include <QKeyEvent>
#include <QLocale>
#include <QPainter>
#include <QPainterPath>
#include <QScrollBar>
#include <QToolTip>
#include <QWheelEvent>

#include <algorithm>
#include <cmath>
#include <span>

namespace sb {

namespace {

constexpr qint64 second = 1000;
constexpr qint64 minute = 60 * second;
constexpr qint64 hour = 60 * minute;
constexpr qint64 day = 24 * hour;
constexpr int rightMargin = 14;
constexpr double markSize = 10;
// A lane is drawn in cells of this many pixels, about a mark's width: a cell with a few entries
// shows each as a mark, a fuller one how many there are per pixel, with one mark for the most
// telling failure among them. So a week is bars with its failures marked, a minute is marks, and
// everything between is what fits.
constexpr int cellPixels = 10;
constexpr quint32 marksPerCell = 3;
// A click or a hover finds a mark this far away.
constexpr double pickPixels = 8;

// What a full cell still marks, most telling first. Pauses and switches are routine over a week
// and would hide the failures; over a day or less they are few enough to mark too.
// A rollback first: where a gate failed and the release went back, the going back is the story.
constexpr TimelineCategory notableOrder[]
    = {TimelineCategory::Rollback, TimelineCategory::GateFail, TimelineCategory::BackendError,
       TimelineCategory::Switch, TimelineCategory::Waiting};
constexpr int troubleCount = 3;
constexpr qint64 notableSpanMs = 36 * hour;

bool isNotable(TimelineCategory category)
{
    return category != TimelineCategory::Progress && category != TimelineCategory::GatePass;
}

QString utcText(double ms, const QString &format)
{
    return QDateTime::fromMSecsSinceEpoch(qint64(std::floor(ms)), Qt::UTC).toString(format);
}

QString countText(qint64 count)
{
    return QLocale(QLocale::English).toString(count);
}

QString categoryWords(TimelineCategory category, qint64 count)
{
    const bool one = count == 1;
    QString words;
    switch (category) {
    case TimelineCategory::Progress:
        words = one ? QObject::tr("release step") : QObject::tr("release steps");
        break;
    case TimelineCategory::GatePass:
        words = one ? QObject::tr("gate passed") : QObject::tr("gates passed");
        break;
    case TimelineCategory::GateFail:
        words = one ? QObject::tr("gate failed") : QObject::tr("gates failed");
        break;
    case TimelineCategory::Waiting: words = QObject::tr("paused or held"); break;
    case TimelineCategory::Switch:
        words = one ? QObject::tr("switch") : QObject::tr("switches");
        break;
    case TimelineCategory::Rollback:
        words = one ? QObject::tr("rollback") : QObject::tr("rollbacks");
        break;
    case TimelineCategory::BackendError:
        words = one ? QObject::tr("backend error") : QObject::tr("backend errors");
        break;
    }
    return countText(count) + QLatin1Char(' ') + words;
}

// Steps the axis counts time in, and how a tick of each reads.
struct TickStep {
    qint64 ms;
    const char *format;
};
constexpr TickStep tickSteps[] = {
    {second, "HH:mm:ss"},      {2 * second, "HH:mm:ss"},  {5 * second, "HH:mm:ss"},
    {10 * second, "HH:mm:ss"}, {15 * second, "HH:mm:ss"}, {30 * second, "HH:mm:ss"},
    {minute, "HH:mm"},         {2 * minute, "HH:mm"},     {5 * minute, "HH:mm"},
    {10 * minute, "HH:mm"},    {15 * minute, "HH:mm"},    {30 * minute, "HH:mm"},
    {hour, "HH:mm"},           {2 * hour, "HH:mm"},       {3 * hour, "HH:mm"},
    {6 * hour, "HH:mm"},       {12 * hour, "HH:mm"},      {day, "ddd d"},
    {2 * day, "ddd d"},        {7 * day, "d MMM"},        {28 * day, "d MMM"},
};

} // namespace

QColor timelineCategoryColor(TimelineCategory category, const QPalette &palette)
{
    const bool dark = theme::isDark(palette);
    switch (category) {
    case TimelineCategory::Progress: return theme::stateColor(InstanceState::Starting, palette);
    case TimelineCategory::GatePass: return theme::verdictColor(Verdict::Pass, palette);
    case TimelineCategory::GateFail: return theme::verdictColor(Verdict::Fail, palette);
    case TimelineCategory::Waiting: return theme::stateColor(InstanceState::Draining, palette);
    case TimelineCategory::Switch:
        return dark ? QColor(0x2d, 0xd4, 0xbf) : QColor(0x0f, 0x76, 0x6e);
    case TimelineCategory::Rollback:
        return dark ? QColor(0xc0, 0x84, 0xfc) : QColor(0x7c, 0x3a, 0xed);
    case TimelineCategory::BackendError:
        return dark ? QColor(0xf4, 0x72, 0xb6) : QColor(0xbe, 0x18, 0x5d);
    }
    return palette.color(QPalette::Mid);
}

void paintTimelineMark(QPainter &painter, const QPointF &centre, double size,
                       TimelineCategory category, bool byOperator, const QPalette &palette)
{
    const QColor color = timelineCategoryColor(category, palette);
    const double r = size / 2;
    const double x = centre.x();
    const double y = centre.y();
    painter.save();
    painter.setRenderHint(QPainter::Antialiasing);
    // A halo of the background keeps overlapping marks apart.
    painter.setPen(QPen(palette.color(QPalette::Base), 1));
    painter.setBrush(color);
    auto polygon
        = [&](std::initializer_list<QPointF> points) { painter.drawPolygon(QPolygonF(points)); };
    switch (category) {
    case TimelineCategory::Progress: painter.drawEllipse(centre, r * 0.72, r * 0.72); break;
    case TimelineCategory::GatePass:
        polygon({{x, y - r}, {x + r, y + r * 0.8}, {x - r, y + r * 0.8}});
        break;
    case TimelineCategory::GateFail: {
        const double big = r * 1.2;
        polygon({{x - big, y - big * 0.8}, {x + big, y - big * 0.8}, {x, y + big}});
        break;
    }
    case TimelineCategory::Waiting:
        painter.drawRect(QRectF(x - r * 0.8, y - r * 0.8, r * 1.6, r * 1.6));
        break;
    case TimelineCategory::Switch: polygon({{x, y - r}, {x + r, y}, {x, y + r}, {x - r, y}}); break;
    case TimelineCategory::Rollback:
        polygon({{x - r, y}, {x + r * 0.8, y - r}, {x + r * 0.8, y + r}});
        break;
    case TimelineCategory::BackendError: {
        QPen cross(color, std::max(2.0, size * 0.26), Qt::SolidLine, Qt::RoundCap);
        painter.setPen(cross);
        const double d = r * 0.8;
        painter.drawLine(QPointF(x - d, y - d), QPointF(x + d, y + d));
        painter.drawLine(QPointF(x + d, y - d), QPointF(x - d, y + d));
        break;
    }
    }
    if (byOperator) {
        painter.setPen(QPen(palette.color(QPalette::WindowText), 1.3));
        painter.setBrush(Qt::NoBrush);
        painter.drawEllipse(centre, r + 2.5, r + 2.5);
    }
    painter.restore();
}

TimelineView::TimelineView(QWidget *parent)
    : QAbstractScrollArea(parent)
{
    setFocusPolicy(Qt::StrongFocus);
    setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
    setVerticalScrollBarPolicy(Qt::ScrollBarAsNeeded);
    setFrameShape(QFrame::NoFrame);
    viewport()->setMouseTracking(true);
    viewport()->setAttribute(Qt::WA_OpaquePaintEvent);
    viewport()->setCursor(Qt::OpenHandCursor);
    setAccessibleName(tr("Deploy timeline"));
    const qint64 now = QDateTime::currentMSecsSinceEpoch();
    m_fromMs = double(now - hour);
}

void TimelineView::setMatches(const TimelineIndex *index, const TimelineMatches *matches)
{
    m_index = index;
    m_matches = matches;
    ++m_generation;
    m_hovered = -1;
    if (!m_index || m_selected >= m_index->size())
        m_selected = -1;
    relayoutLanes();
    m_newestShownMs
        = matches && !matches->rows.empty() ? double(index->timeAt(matches->rows.back())) : 0;
    if (!m_fitted && matches && !matches->rows.empty()) {
        m_fitted = true;
        fitAll();
    }
    viewport()->update();
}

void TimelineView::matchesChanged()
{
    const bool following = m_fromMs + m_spanMs >= m_newestShownMs;
    ++m_generation;
    relayoutLanes();
    if (!m_matches || m_matches->rows.empty())
        return;
    const auto newest = double(m_index->timeAt(m_matches->rows.back()));
    if (following && newest > m_fromMs + m_spanMs)
        setRange(newest - m_spanMs * 0.9, m_spanMs);
    m_newestShownMs = newest;
    if (!m_fitted) {
        m_fitted = true;
        fitAll();
    }
    viewport()->update();
}

void TimelineView::setLookup(Lookup lookup)
{
    m_lookup = std::move(lookup);
}

void TimelineView::entriesArrived()
{
    if (m_tipRow >= 0 && QToolTip::isVisible())
        QToolTip::showText(m_tipGlobal, describe(m_tipRow), viewport());
}

void TimelineView::relayoutLanes()
{
    m_lanes.clear();
    m_laneRow.assign(m_index ? size_t(m_index->laneCount()) : 0, -1);
    int widest = 0;
    if (m_index && m_matches) {
        for (int lane = 0; lane < m_index->laneCount(); ++lane) {
            if (size_t(lane) < m_matches->laneCounts.size() && m_matches->laneCounts[lane] > 0)
                m_lanes.append(lane);
        }
        std::sort(m_lanes.begin(), m_lanes.end(),
                  [this](int a, int b) { return m_index->lane(a) < m_index->lane(b); });
        const QFontMetrics metrics(font());
        for (qsizetype i = 0; i < m_lanes.size(); ++i) {
            m_laneRow[size_t(m_lanes.at(i))] = int(i);
            const ServiceKey &key = m_index->lane(m_lanes.at(i));
            widest = std::max(
                widest, metrics.horizontalAdvance(key.name + QLatin1Char(' ') + key.environment));
        }
    }
    m_nameWidth = std::clamp(widest + 24, 120, 260);
    updateScrollBar();
}

void TimelineView::updateScrollBar()
{
    const int plotHeight = plotRect().height();
    verticalScrollBar()->setRange(0, std::max(0, int(m_lanes.size()) * laneHeight - plotHeight));
    verticalScrollBar()->setPageStep(plotHeight);
    verticalScrollBar()->setSingleStep(laneHeight);
}

QRect TimelineView::plotRect() const
{
    const int axisHeight = 2 * fontMetrics().height() + 14;
    const QRect area = viewport()->rect();
    return QRect(m_nameWidth, axisHeight, std::max(1, area.width() - m_nameWidth - rightMargin),
                 std::max(1, area.height() - axisHeight));
}

double TimelineView::xForTime(double ms) const
{
    const QRect plot = plotRect();
    return plot.left() + (ms - m_fromMs) * plot.width() / m_spanMs;
}

double TimelineView::timeAtX(double x) const
{
    const QRect plot = plotRect();
    return m_fromMs + (x - plot.left()) * m_spanMs / plot.width();
}

double TimelineView::maximumSpanMs() const
{
    const double data
        = m_index && !m_index->isEmpty() ? double(m_index->lastMs() - m_index->firstMs()) * 1.5 : 0;
    return std::max(data, double(14 * day));
}

void TimelineView::setRange(double fromMs, double spanMs)
{
    spanMs = std::clamp(spanMs, double(minimumSpanMs), maximumSpanMs());
    if (fromMs == m_fromMs && spanMs == m_spanMs)
        return;
    m_fromMs = fromMs;
    m_spanMs = spanMs;
    viewport()->update();
}

void TimelineView::setVisibleRange(qint64 fromMs, qint64 toMs)
{
    const double span = std::max<double>(double(toMs - fromMs), double(minimumSpanMs));
    // A range narrower than the least the view shows is centred in it.
    setRange(double(fromMs + toMs) / 2 - span / 2, span);
    m_fitted = true;
}

void TimelineView::zoomAt(double factor, double x)
{
    if (factor <= 0)
        return;
    const double anchor = timeAtX(x);
    const double span = std::clamp(m_spanMs / factor, double(minimumSpanMs), maximumSpanMs());
    const QRect plot = plotRect();
    setRange(anchor - (x - plot.left()) * span / plot.width(), span);
}

void TimelineView::panBy(double pixels)
{
    setRange(m_fromMs + pixels * m_spanMs / plotRect().width(), m_spanMs);
}

void TimelineView::fitAll()
{
    qint64 first = 0;
    qint64 last = 0;
    if (m_matches && !m_matches->rows.empty()) {
        first = m_index->timeAt(m_matches->rows.front());
        last = m_index->timeAt(m_matches->rows.back());
    } else if (m_index && !m_index->isEmpty()) {
        first = m_index->firstMs();
        last = m_index->lastMs();
    } else {
        return;
    }
    // Room either side, so the first and last marks are not cut in half at the edges.
    const double span = std::max(double(last - first), double(minute));
    const double pad = span * 0.03;
    setRange(double(first + last) / 2 - span / 2 - pad, span + 2 * pad);
}

const TimelineView::Density &TimelineView::density() const
{
    const int width = plotRect().width();
    if (m_densityGeneration == m_generation && m_densityFromMs == m_fromMs
        && m_densitySpanMs == m_spanMs && m_density.counts.buckets == width)
        return m_density;
    m_densityGeneration = m_generation;
    m_densityFromMs = m_fromMs;
    m_densitySpanMs = m_spanMs;
    Density &d = m_density;
    if (!m_index || !m_matches) {
        d = Density();
        return d;
    }
    d.counts = m_index->density(m_matches->rows, qint64(std::floor(m_fromMs)),
                                qint64(std::ceil(m_fromMs + m_spanMs)), width);
    const double msPerPixel = m_spanMs / width;
    d.firstCell = std::floor(m_fromMs / msPerPixel / cellPixels);
    d.cellOf.resize(size_t(width));
    for (int bucket = 0; bucket < width; ++bucket)
        d.cellOf[size_t(bucket)]
            = int(std::floor((m_fromMs / msPerPixel + bucket + 0.5) / cellPixels) - d.firstCell);
    d.cells = d.cellOf.empty() ? 0 : d.cellOf.back() + 1;
    d.cellCounts.assign(size_t(d.counts.lanes) * size_t(d.cells), 0);
    for (int lane = 0; lane < d.counts.lanes; ++lane) {
        if (d.counts.laneTotals[size_t(lane)] == 0)
            continue;
        quint32 *cells = d.cellCounts.data() + size_t(lane) * size_t(d.cells);
        for (int bucket = 0; bucket < width; ++bucket)
            cells[d.cellOf[size_t(bucket)]] += d.counts.count(lane, bucket);
    }
    return d;
}

std::span<const TimelineCategory> TimelineView::markedInCounts() const
{
    return std::span(notableOrder)
        .first(m_spanMs <= double(notableSpanMs) ? std::size(notableOrder) : troubleCount);
}

int TimelineView::cellAt(double ms) const
{
    // The pixel column as TimelineIndex::density() counts it.
    const Density &d = density();
    const double bucket = std::floor((ms - d.counts.fromMs) / d.counts.msPerBucket);
    if (bucket < 0 || bucket >= d.counts.buckets)
        return -1;
    return d.cellOf[size_t(bucket)];
}

bool TimelineView::denseCell(int lane, int cell) const
{
    const Density &d = density();
    if (cell < 0 || cell >= d.cells || lane < 0 || lane >= d.counts.lanes)
        return false;
    return d.cellCounts[size_t(lane) * size_t(d.cells) + size_t(cell)] > marksPerCell;
}

int TimelineView::laneTop(int position) const
{
    return plotRect().top() + position * laneHeight - verticalScrollBar()->value();
}

int TimelineView::lanePosition(int laneId) const
{
    return laneId >= 0 && size_t(laneId) < m_laneRow.size() ? m_laneRow[size_t(laneId)] : -1;
}

QList<ServiceKey> TimelineView::lanes() const
{
    QList<ServiceKey> keys;
    for (const int lane : m_lanes)
        keys.append(m_index->lane(lane));
    return keys;
}

bool TimelineView::laneShowsDensity(const ServiceKey &key) const
{
    const Density &d = density();
    for (const int lane : m_lanes) {
        if (m_index->lane(lane) != key)
            continue;
        for (int cell = 0; cell < d.cells; ++cell) {
            if (denseCell(lane, cell))
                return true;
        }
    }
    return false;
}

QPointF TimelineView::markCentre(qsizetype row) const
{
    if (!m_index || row < 0 || row >= m_index->size())
        return {};
    const int position = lanePosition(m_index->laneAt(row));
    if (position < 0)
        return {};
    return {xForTime(double(m_index->timeAt(row))), laneTop(position) + laneHeight / 2.0};
}

qsizetype TimelineView::rowAt(const QPoint &point) const
{
    const QRect plot = plotRect();
    if (!m_matches || !plot.contains(point))
        return -1;
    const int position = (point.y() - plot.top() + verticalScrollBar()->value()) / laneHeight;
    if (position < 0 || position >= m_lanes.size())
        return -1;
    const int lane = m_lanes.at(position);
    const double tolerance = pickPixels * m_spanMs / plot.width();
    const double at = timeAtX(point.x());
    const std::vector<quint32> &rows = m_matches->rows;
    auto byTime = [this](quint32 row, double ms) { return double(m_index->timeAt(row)) < ms; };
    const auto first = std::lower_bound(rows.cbegin(), rows.cend(), at - tolerance, byTime);
    const auto last = std::lower_bound(first, rows.cend(), at + tolerance, byTime);
    // Over counts only their marked failures are marks to pick; the rest of the cell is a
    // number, which the tooltip gives.
    const bool overCounts = denseCell(lane, cellAt(at));
    const auto marked = markedInCounts();
    // A failure or rollback nearby wins over routine marks: it is what is drawn on top.
    qsizetype best = -1;
    double bestDistance = 0;
    bool bestNotable = false;
    for (auto it = first; it != last; ++it) {
        if (m_index->laneAt(*it) != lane)
            continue;
        const TimelineCategory category = m_index->categoryAt(*it);
        if (overCounts && std::find(marked.begin(), marked.end(), category) == marked.end())
            continue;
        const double distance = std::abs(double(m_index->timeAt(*it)) - at);
        const bool notable = isNotable(category);
        if (best < 0 || (notable && !bestNotable)
            || (notable == bestNotable && distance < bestDistance)) {
            best = *it;
            bestDistance = distance;
            bestNotable = notable;
        }
    }
    return best;
}

QString TimelineView::describe(qsizetype row) const
{
    if (!m_index || row < 0 || row >= m_index->size())
        return {};
    const ServiceKey &lane = m_index->lane(m_index->laneAt(row));
    // The two lines of facts are kept whole and set the tooltip's width; the reason wraps to it.
    QString text
        = QStringLiteral("<nobr><b>%1</b> · %2 (%3)</nobr><br><nobr>%4 UTC · by %5</nobr>")
              .arg(timelineKindText(m_index->kindAt(row), m_index->categoryAt(row)).toHtmlEscaped(),
                   lane.name.toHtmlEscaped(), lane.environment.toHtmlEscaped(),
                   utcText(double(m_index->timeAt(row)),
                           QStringLiteral("ddd d MMM yyyy HH:mm:ss.zzz")),
                   m_index->actorAt(row).toHtmlEscaped());
    const qint64 sequence = m_index->sequenceAt(row);
    const JournalEntry *entry = m_lookup ? m_lookup(sequence) : nullptr;
    if (entry)
        text += QStringLiteral("<br>") + timelineSummary(*entry).toHtmlEscaped();
    else
        text += QStringLiteral("<br><i>%1</i>").arg(tr("Loading the details…"));
    return text;
}

void TimelineView::setSelectedRow(qsizetype row, bool reveal)
{
    if (!m_index || row >= m_index->size())
        row = -1;
    if (reveal && row >= 0) {
        const auto at = double(m_index->timeAt(row));
        if (at < m_fromMs || at > m_fromMs + m_spanMs)
            setRange(at - m_spanMs / 2, m_spanMs);
        const int position = lanePosition(m_index->laneAt(row));
        if (position >= 0) {
            const int top = position * laneHeight;
            QScrollBar *bar = verticalScrollBar();
            if (top < bar->value() || top + laneHeight > bar->value() + bar->pageStep())
                bar->setValue(top - bar->pageStep() / 2);
        }
    }
    if (row == m_selected)
        return;
    m_selected = row;
    viewport()->update();
    Q_EMIT selectedChanged(row);
}

void TimelineView::setHighlightedLane(const std::optional<ServiceKey> &lane)
{
    m_highlighted = lane;
    if (lane && m_index) {
        for (qsizetype i = 0; i < m_lanes.size(); ++i) {
            if (m_index->lane(m_lanes.at(i)) == *lane)
                verticalScrollBar()->setValue(int(i) * laneHeight);
        }
    }
    viewport()->update();
}

const QPixmap &TimelineView::sprite(TimelineCategory category, bool byOperator, double size) const
{
    const auto key = quint32(category) | quint32(byOperator) << 4 | quint32(size) << 5;
    auto found = m_sprites.find(key);
    if (found != m_sprites.end())
        return *found;
    // Drawn once per palette and size: a pixmap copy is far cheaper than antialiased paths for
    // the thousands of marks a busy hour has.
    const int extent = int(std::ceil(size * 1.2)) + 8;
    const qreal ratio = devicePixelRatioF();
    QPixmap pixmap(QSize(extent, extent) * ratio);
    pixmap.setDevicePixelRatio(ratio);
    pixmap.fill(Qt::transparent);
    QPainter painter(&pixmap);
    paintTimelineMark(painter, QPointF(extent / 2.0, extent / 2.0), size, category, byOperator,
                      palette());
    painter.end();
    return *m_sprites.insert(key, pixmap);
}

QList<TimelineView::Tick> TimelineView::ticks(double stepMs, const QString &format) const
{
    QList<Tick> found;
    // Weeks start on Monday; the epoch was a Thursday.
    const double offset = stepMs == double(7 * day) ? double(4 * day) : 0;
    const double end = m_fromMs + m_spanMs;
    for (double at = std::ceil((m_fromMs - offset) / stepMs) * stepMs + offset; at <= end;
         at += stepMs)
        found.append({at, utcText(at, format)});
    return found;
}

void TimelineView::paintEvent(QPaintEvent *)
{
    QPainter painter(viewport());
    const QPalette &pal = palette();
    const QRect area = viewport()->rect();
    const QRect plot = plotRect();
    painter.fillRect(area, pal.color(QPalette::Base));

    painter.save();
    painter.setClipRect(QRect(plot.left(), plot.top(), plot.width() + rightMargin, plot.height()));
    paintLanes(painter, plot);
    if (m_index && m_matches) {
        paintDensity(painter, plot);
        paintMarks(painter, plot);
    }
    painter.restore();

    // Lane names on the left, over anything panned under them.
    painter.fillRect(QRect(0, plot.top(), m_nameWidth, plot.height()), pal.color(QPalette::Window));
    painter.save();
    painter.setClipRect(QRect(0, plot.top(), m_nameWidth, plot.height()));
    const QFontMetrics metrics(font());
    for (qsizetype position = 0; position < m_lanes.size(); ++position) {
        const int top = laneTop(int(position));
        if (top + laneHeight < plot.top() || top > plot.bottom())
            continue;
        const ServiceKey &key = m_index->lane(m_lanes.at(position));
        const QRect box(10, top, m_nameWidth - 16, laneHeight);
        const QString name = key.name.isEmpty() ? tr("console") : key.name;
        const int nameWidth = metrics.horizontalAdvance(name);
        painter.setPen(pal.color(QPalette::WindowText));
        painter.drawText(box, Qt::AlignLeft | Qt::AlignVCenter,
                         metrics.elidedText(name, Qt::ElideRight, box.width()));
        painter.setPen(pal.color(QPalette::PlaceholderText));
        const QRect rest
            = box.adjusted(nameWidth + metrics.horizontalAdvance(QLatin1Char(' ')), 0, 0, 0);
        if (rest.width() > 12)
            painter.drawText(rest, Qt::AlignLeft | Qt::AlignVCenter,
                             metrics.elidedText(key.environment, Qt::ElideRight, rest.width()));
    }
    painter.restore();
    QColor edge = pal.color(QPalette::WindowText);
    edge.setAlphaF(0.25f);
    painter.setPen(edge);
    painter.drawLine(m_nameWidth, plot.top(), m_nameWidth, area.bottom());

    paintAxis(painter, plot);

    if (m_lanes.isEmpty()) {
        painter.setPen(pal.color(QPalette::PlaceholderText));
        painter.drawText(plot, Qt::AlignCenter | Qt::TextWordWrap,
                         m_index && !m_index->isEmpty() ? tr("No events match the filters.")
                                                        : QString());
    }
}

void TimelineView::paintLanes(QPainter &painter, const QRect &plot) const
{
    const QPalette &pal = palette();
    QColor separator = pal.color(QPalette::WindowText);
    separator.setAlphaF(0.14f);
    for (qsizetype position = 0; position < m_lanes.size(); ++position) {
        const int top = laneTop(int(position));
        if (top + laneHeight < plot.top() || top > plot.bottom())
            continue;
        const QRect band(plot.left(), top, plot.width() + rightMargin, laneHeight);
        const ServiceKey &key = m_index->lane(m_lanes.at(position));
        if (m_highlighted && key == *m_highlighted)
            painter.fillRect(band, theme::tint(pal.color(QPalette::Highlight), pal, 0.16));
        else if (position % 2)
            painter.fillRect(band, pal.color(QPalette::AlternateBase));
        // A firmer line where the next service begins than between its environments.
        const bool serviceEnds = position + 1 == m_lanes.size()
                                 || m_index->lane(m_lanes.at(position + 1)).name != key.name;
        if (serviceEnds) {
            painter.setPen(separator);
            painter.drawLine(band.left(), band.bottom(), band.right(), band.bottom());
        }
    }
}

void TimelineView::paintDensity(QPainter &painter, const QRect &plot) const
{
    const Density &d = density();
    const TimelineDensity &counts = d.counts;
    const std::vector<int> &cellOf = d.cellOf;

    quint32 most = 0;
    QList<int> shown;
    for (qsizetype position = 0; position < m_lanes.size(); ++position) {
        const int top = laneTop(int(position));
        const int lane = m_lanes.at(position);
        if (top + laneHeight < plot.top() || top > plot.bottom())
            continue;
        bool dense = false;
        for (int bucket = 0; bucket < counts.buckets; ++bucket) {
            if (denseCell(lane, cellOf[size_t(bucket)])) {
                most = std::max(most, counts.count(lane, bucket));
                dense = true;
            }
        }
        if (dense)
            shown.append(int(position));
    }
    if (shown.isEmpty())
        return;

    // Bars as pixel columns written straight into an image: tens of thousands of fillRect calls
    // would cost a frame on their own.
    const QPalette &pal = palette();
    QColor barColor = timelineCategoryColor(TimelineCategory::Progress, pal);
    barColor.setAlphaF(0.5f);
    const QRgb bar = qPremultiply(barColor.rgba());
    QImage image(counts.buckets, plot.height(), QImage::Format_ARGB32_Premultiplied);
    image.fill(Qt::transparent);
    const int tallest = laneHeight - 8;
    // Logarithmic, so a quiet hour still shows beside a busy one.
    const double scale = tallest / std::log1p(double(std::max<quint32>(most, 1)));
    for (const int position : std::as_const(shown)) {
        const int lane = m_lanes.at(position);
        const int bottom = laneTop(position) - plot.top() + laneHeight - 4;
        for (int bucket = 0; bucket < counts.buckets; ++bucket) {
            const quint32 count = counts.count(lane, bucket);
            if (count == 0 || !denseCell(lane, cellOf[size_t(bucket)]))
                continue;
            const int height = std::max(2, int(std::lround(std::log1p(double(count)) * scale)));
            for (int y = std::max(0, bottom - height); y < std::min(bottom, image.height()); ++y)
                reinterpret_cast<QRgb *>(image.scanLine(y))[bucket] = bar;
        }
    }
    painter.drawImage(plot.topLeft(), image);

    // The worst trouble in each full cell, marked at the cell's middle.
    const double cellMs = cellPixels * m_spanMs / plot.width();
    for (const int position : std::as_const(shown)) {
        const int lane = m_lanes.at(position);
        const double y = laneTop(position) + laneHeight / 2.0;
        std::vector<quint8> found(size_t(d.cells), 0);
        for (int bucket = 0; bucket < counts.buckets; ++bucket)
            found[size_t(cellOf[size_t(bucket)])] |= counts.categoryMask(lane, bucket);
        for (int cell = 0; cell < d.cells; ++cell) {
            if (!denseCell(lane, cell))
                continue;
            for (const TimelineCategory category : markedInCounts()) {
                if (!(found[size_t(cell)] & categoryBit(category)))
                    continue;
                const double x = xForTime((d.firstCell + cell + 0.5) * cellMs);
                const QPixmap &mark = sprite(category, false, markSize - 1);
                const double half = mark.width() / mark.devicePixelRatio() / 2;
                painter.drawPixmap(QPointF(x - half, y - half), mark);
                break;
            }
        }
    }
}

void TimelineView::paintMarks(QPainter &painter, const QRect &plot) const
{
    const QPalette &pal = palette();
    const std::vector<quint32> &rows = m_matches->rows;
    // Half a mark either side, so marks at the edges are drawn cut rather than popping.
    const double margin = markSize * m_spanMs / plot.width();
    auto byTime = [this](quint32 row, double ms) { return double(m_index->timeAt(row)) < ms; };
    const auto first = std::lower_bound(rows.cbegin(), rows.cend(), m_fromMs - margin, byTime);
    const auto last = std::lower_bound(first, rows.cend(), m_fromMs + m_spanMs + margin, byTime);

    std::vector<quint8> laneShown(m_laneRow.size(), 0);
    bool anyShown = false;
    for (qsizetype position = 0; position < m_lanes.size(); ++position) {
        const int top = laneTop(int(position));
        if (top + laneHeight < plot.top() || top > plot.bottom())
            continue;
        laneShown[size_t(m_lanes.at(position))] = 1;
        anyShown = true;
    }
    if (anyShown) {
        // Inline rather than through cellAt(): at a week's zoom this runs for every entry.
        const Density &d = density();
        const double bucketsPerMs = 1 / d.counts.msPerBucket;
        auto inBar = [&d, bucketsPerMs](int lane, double at) {
            const double bucket = std::floor((at - double(d.counts.fromMs)) * bucketsPerMs);
            // Just outside the view a row is half a mark, never part of a bar.
            if (bucket < 0 || bucket >= d.counts.buckets)
                return false;
            return d.cellCounts[size_t(lane) * size_t(d.cells) + size_t(d.cellOf[size_t(bucket)])]
                   > marksPerCell;
        };
        // Positions worked out here rather than through xForTime() and laneTop(), which
        // measure the layout again each time: an hour of a busy journal is thousands of marks.
        const double pixelsPerMs = plot.width() / m_spanMs;
        const int scroll = verticalScrollBar()->value();
        auto draw = [&](quint32 row, TimelineCategory category, double at) {
            const QPixmap &mark = sprite(category, m_index->isOperatorAt(row), markSize);
            const double half = mark.width() / mark.devicePixelRatio() / 2;
            const double x = plot.left() + (at - m_fromMs) * pixelsPerMs;
            const double y = plot.top() + m_laneRow[m_index->laneAt(row)] * laneHeight - scroll
                             + laneHeight / 2.0;
            painter.drawPixmap(QPointF(x - half, y - half), mark);
        };
        // Routine marks first, so the telling ones, kept aside, are drawn over them.
        std::vector<quint32> notable;
        for (auto it = first; it != last; ++it) {
            const quint32 row = *it;
            const int lane = m_index->laneAt(row);
            if (!laneShown[size_t(lane)])
                continue;
            const auto at = double(m_index->timeAt(row));
            if (inBar(lane, at))
                continue;
            const TimelineCategory category = m_index->categoryAt(row);
            if (isNotable(category))
                notable.push_back(row);
            else
                draw(row, category, at);
        }
        for (const quint32 row : notable)
            draw(row, m_index->categoryAt(row), double(m_index->timeAt(row)));
    }

    painter.setRenderHint(QPainter::Antialiasing);
    if (m_hovered >= 0 && m_hovered != m_selected) {
        const QPointF centre = markCentre(m_hovered);
        if (!centre.isNull()) {
            QColor ring = pal.color(QPalette::WindowText);
            ring.setAlphaF(0.5f);
            painter.setPen(QPen(ring, 1.5));
            painter.setBrush(Qt::NoBrush);
            painter.drawEllipse(centre, markSize * 0.9, markSize * 0.9);
        }
    }
    if (m_selected >= 0) {
        const double x = xForTime(double(m_index->timeAt(m_selected)));
        QColor line = pal.color(QPalette::Highlight);
        line.setAlphaF(0.55f);
        painter.setPen(QPen(line, 1));
        painter.drawLine(QPointF(x, plot.top()), QPointF(x, plot.bottom()));
        const QPointF centre = markCentre(m_selected);
        if (!centre.isNull()) {
            painter.setPen(QPen(pal.color(QPalette::Highlight), 2.5));
            painter.setBrush(Qt::NoBrush);
            painter.drawEllipse(centre, markSize, markSize);
        }
    }
}

void TimelineView::paintAxis(QPainter &painter, const QRect &plot) const
{
    const QPalette &pal = palette();
    const QRect area = viewport()->rect();
    const QRect axis(0, 0, area.width(), plot.top());
    painter.fillRect(axis, pal.color(QPalette::Window));
    QFont small = font();
    small.setPointSizeF(small.pointSizeF() * 0.9);
    painter.setFont(small);
    const QFontMetrics metrics(small);
    const int rowHeight = axis.height() / 2;
    const QRect contextRow(plot.left(), 2, plot.width(), rowHeight);
    const QRect tickRow(plot.left(), rowHeight, plot.width(), axis.height() - rowHeight);

    // The finest step whose labels keep a gap between them.
    const double pixelsPerMs = plot.width() / m_spanMs;
    const TickStep *step = std::end(tickSteps) - 1;
    for (const TickStep &candidate : tickSteps) {
        const QString sample = utcText(0, QString::fromLatin1(candidate.format));
        if (double(candidate.ms) * pixelsPerMs >= metrics.horizontalAdvance(sample) + 28) {
            step = &candidate;
            break;
        }
    }
    const bool byDay = step->ms >= day;

    QColor grid = pal.color(QPalette::WindowText);
    grid.setAlphaF(0.08f);
    QColor dayLine = pal.color(QPalette::WindowText);
    dayLine.setAlphaF(0.22f);
    const QList<Tick> marks = ticks(double(step->ms), QString::fromLatin1(step->format));

    painter.save();
    painter.setClipRect(QRect(plot.left(), 0, plot.width() + rightMargin, area.height()));
    for (const Tick &tick : marks) {
        const double x = std::round(xForTime(tick.ms)) + 0.5;
        painter.setPen(grid);
        painter.drawLine(QPointF(x, plot.top()), QPointF(x, plot.bottom()));
        painter.setPen(pal.color(QPalette::PlaceholderText));
        painter.drawLine(QPointF(x, plot.top() - 4), QPointF(x, plot.top()));
        const int width = metrics.horizontalAdvance(tick.label);
        QRectF label(x - width / 2.0, tickRow.top(), width, tickRow.height() - 4);
        // The first label may be pushed right rather than cut by the lane names.
        if (label.left() < plot.left())
            continue;
        painter.setPen(pal.color(QPalette::WindowText));
        painter.drawText(label, Qt::AlignCenter, tick.label);
    }

    // Above the ticks, the day (or month) they belong to, held at the left edge while it lasts.
    const QString contextFormat
        = byDay ? QStringLiteral("MMMM yyyy") : QStringLiteral("dddd d MMMM yyyy");
    auto periodStart = [byDay](double ms) {
        const QDateTime at = QDateTime::fromMSecsSinceEpoch(qint64(std::floor(ms)), Qt::UTC);
        const QDate date = byDay ? QDate(at.date().year(), at.date().month(), 1) : at.date();
        return double(QDateTime(date, QTime(0, 0), Qt::UTC).toMSecsSinceEpoch());
    };
    auto periodEnd = [byDay](double start) {
        const QDateTime at = QDateTime::fromMSecsSinceEpoch(qint64(start), Qt::UTC);
        return double((byDay ? at.addMonths(1) : at.addDays(1)).toMSecsSinceEpoch());
    };
    QFont bold = small;
    bold.setBold(true);
    painter.setFont(bold);
    const QFontMetrics boldMetrics(bold);
    for (double start = periodStart(m_fromMs); start < m_fromMs + m_spanMs;
         start = periodEnd(start)) {
        const double end = periodEnd(start);
        const double left = std::max(xForTime(start), double(plot.left()));
        const double right = std::min(xForTime(end), double(plot.right()));
        if (start > m_fromMs) {
            const double x = std::round(xForTime(start)) + 0.5;
            painter.setPen(dayLine);
            painter.drawLine(QPointF(x, contextRow.top()), QPointF(x, plot.bottom()));
        }
        const QString text = utcText(start, contextFormat);
        const double room = right - left - 12;
        if (room < 30)
            continue;
        painter.setPen(pal.color(QPalette::WindowText));
        painter.drawText(QRectF(left + 6, contextRow.top(), room, contextRow.height()),
                         Qt::AlignLeft | Qt::AlignVCenter,
                         boldMetrics.elidedText(text, Qt::ElideRight, int(room)));
    }
    painter.restore();

    painter.setFont(small);
    painter.setPen(pal.color(QPalette::PlaceholderText));
    painter.drawText(QRect(10, tickRow.top(), m_nameWidth - 16, tickRow.height() - 4),
                     Qt::AlignLeft | Qt::AlignVCenter, tr("UTC"));
    QColor edge = pal.color(QPalette::WindowText);
    edge.setAlphaF(0.25f);
    painter.setPen(edge);
    painter.drawLine(0, plot.top() - 1, area.width(), plot.top() - 1);
    painter.setFont(font());
}

void TimelineView::resizeEvent(QResizeEvent *event)
{
    QAbstractScrollArea::resizeEvent(event);
    updateScrollBar();
}

void TimelineView::scrollContentsBy(int, int)
{
    viewport()->update();
}

void TimelineView::showTip(const QPoint &point, const QPoint &globalPoint)
{
    const QRect plot = plotRect();
    m_tipRow = rowAt(point);
    m_tipGlobal = globalPoint;
    if (m_tipRow >= 0) {
        const qint64 sequence = m_index->sequenceAt(m_tipRow);
        if (!m_lookup || !m_lookup(sequence))
            Q_EMIT entryWanted(sequence);
        QToolTip::showText(globalPoint, describe(m_tipRow), viewport());
        return;
    }
    const int position = (point.y() - plot.top() + verticalScrollBar()->value()) / laneHeight;
    if (point.y() < plot.top() || position < 0 || position >= m_lanes.size()) {
        QToolTip::hideText();
        return;
    }
    const int lane = m_lanes.at(position);
    const ServiceKey &key = m_index->lane(lane);
    if (point.x() < plot.left()) {
        QToolTip::showText(
            globalPoint,
            tr("%1 (%2): %3 matching events")
                .arg(key.name, key.environment, countText(m_matches->laneCounts[size_t(lane)])),
            viewport());
        return;
    }
    const int cell = cellAt(timeAtX(point.x()));
    if (!denseCell(lane, cell)) {
        QToolTip::hideText();
        return;
    }
    // Over counts: what the cell under the pointer holds.
    const double msPerPixel = m_spanMs / plot.width();
    const double cellMs = cellPixels * msPerPixel;
    const double from = (density().firstCell + cell) * cellMs;
    const double to = from + cellMs;
    qint64 perCategory[timelineCategoryCount] = {};
    qint64 total = 0;
    const std::vector<quint32> &rows = m_matches->rows;
    auto byTime = [this](quint32 row, double ms) { return double(m_index->timeAt(row)) < ms; };
    for (auto it = std::lower_bound(rows.cbegin(), rows.cend(), from, byTime);
         it != rows.cend() && double(m_index->timeAt(*it)) < to; ++it) {
        if (m_index->laneAt(*it) == lane) {
            ++perCategory[int(m_index->categoryAt(*it))];
            ++total;
        }
    }
    if (total == 0) {
        QToolTip::hideText();
        return;
    }
    QStringList parts;
    for (int category = timelineCategoryCount - 1; category >= 0; --category) {
        if (perCategory[category] > 0)
            parts.append(categoryWords(TimelineCategory(category), perCategory[category]));
    }
    const QString format
        = cellMs < double(minute) ? QStringLiteral("HH:mm:ss") : QStringLiteral("HH:mm");
    QToolTip::showText(globalPoint,
                       tr("%1 (%2), %3 events %4–%5 UTC: %6.\nZoom in to see them one by one.")
                           .arg(key.name, key.environment, countText(total),
                                utcText(from, QStringLiteral("ddd d MMM ") + format),
                                utcText(to, format), parts.join(QStringLiteral(", "))),
                       viewport());
}

bool TimelineView::viewportEvent(QEvent *event)
{
    if (event->type() == QEvent::ToolTip) {
        auto *help = static_cast<QHelpEvent *>(event);
        showTip(help->pos(), help->globalPos());
        return true;
    }
    if (event->type() == QEvent::Leave && m_hovered >= 0) {
        m_hovered = -1;
        viewport()->update();
    }
    return QAbstractScrollArea::viewportEvent(event);
}

void TimelineView::wheelEvent(QWheelEvent *event)
{
    const QPoint angle = event->angleDelta();
    if (event->modifiers() & Qt::ShiftModifier) {
        // Shift turns a wheel's vertical steps into horizontal ones on some platforms.
        const int steps = angle.y() != 0 ? angle.y() : angle.x();
        verticalScrollBar()->setValue(verticalScrollBar()->value() - steps / 120 * laneHeight * 3);
    } else if (std::abs(angle.x()) > std::abs(angle.y())) {
        panBy(-angle.x() / 2.0);
    } else if (angle.y() != 0) {
        // 120 per notch: a fifth in or out each, so a week to a minute is some forty notches.
        zoomAt(std::pow(1.2, angle.y() / 120.0), event->position().x());
    }
    event->accept();
}

void TimelineView::mousePressEvent(QMouseEvent *event)
{
    if (event->button() != Qt::LeftButton) {
        QAbstractScrollArea::mousePressEvent(event);
        return;
    }
    m_pressed = true;
    m_dragging = false;
    m_pressPoint = event->position().toPoint();
    m_pressFromMs = m_fromMs;
    m_pressScroll = verticalScrollBar()->value();
}

void TimelineView::mouseMoveEvent(QMouseEvent *event)
{
    const QPoint point = event->position().toPoint();
    if (m_pressed) {
        const QPoint moved = point - m_pressPoint;
        if (!m_dragging && moved.manhattanLength() >= 4) {
            m_dragging = true;
            viewport()->setCursor(Qt::ClosedHandCursor);
        }
        if (m_dragging) {
            setRange(m_pressFromMs - moved.x() * m_spanMs / plotRect().width(), m_spanMs);
            verticalScrollBar()->setValue(m_pressScroll - moved.y());
        }
        return;
    }
    const qsizetype hovered = rowAt(point);
    if (hovered != m_hovered) {
        m_hovered = hovered;
        viewport()->update();
    }
}

void TimelineView::mouseReleaseEvent(QMouseEvent *event)
{
    if (event->button() != Qt::LeftButton || !m_pressed) {
        QAbstractScrollArea::mouseReleaseEvent(event);
        return;
    }
    m_pressed = false;
    if (m_dragging) {
        m_dragging = false;
        viewport()->setCursor(Qt::OpenHandCursor);
        return;
    }
    const QPoint point = event->position().toPoint();
    if (plotRect().contains(point))
        setSelectedRow(rowAt(point));
}

void TimelineView::mouseDoubleClickEvent(QMouseEvent *event)
{
    if (event->button() == Qt::LeftButton && plotRect().contains(event->position().toPoint()))
        zoomAt(4, event->position().x());
}

void TimelineView::keyPressEvent(QKeyEvent *event)
{
    const QRect plot = plotRect();
    const double centre = plot.left() + plot.width() / 2.0;
    switch (event->key()) {
    case Qt::Key_Plus:
    case Qt::Key_Equal: zoomAt(1.5, centre); break;
    case Qt::Key_Minus: zoomAt(1 / 1.5, centre); break;
    case Qt::Key_Left: panBy(-plot.width() / 8.0); break;
    case Qt::Key_Right: panBy(plot.width() / 8.0); break;
    case Qt::Key_Up:
        verticalScrollBar()->setValue(verticalScrollBar()->value() - laneHeight);
        break;
    case Qt::Key_Down:
        verticalScrollBar()->setValue(verticalScrollBar()->value() + laneHeight);
        break;
    case Qt::Key_Home: fitAll(); break;
    case Qt::Key_Escape: setSelectedRow(-1); break;
    default: QAbstractScrollArea::keyPressEvent(event); return;
    }
    event->accept();
}

void TimelineView::changeEvent(QEvent *event)
{
    QAbstractScrollArea::changeEvent(event);
    if (event->type() == QEvent::PaletteChange || event->type() == QEvent::StyleChange
        || event->type() == QEvent::FontChange) {
        m_sprites.clear();
        relayoutLanes();
        viewport()->update();
    }
}

} // namespace sb
