#include "ratiointervalstrip.h"

#include "theme.h"

#include <QAbstractItemModel>
#include <QEvent>
#include <QPainter>
#include <QPainterPath>

#include <cmath>

namespace sb {

namespace {

constexpr int margin = 4;
constexpr int columnGap = 12;
constexpr int arrowLength = 7; // room left and right of the axis for the arrows
constexpr int barHeight = 10;
constexpr double minimumBarWidth = 4;

QString tickText(double ratio)
{
    return ratio < 1 ? QString::number(ratio) : QString::number(ratio, 'f', 0);
}

QFont smallFont(const QFont &font)
{
    QFont small = font;
    small.setPointSizeF(font.pointSizeF() * 0.85);
    return small;
}

} // namespace

struct RatioIntervalStrip::Placement {
    int labelLeft = 0;
    int axisLeft = 0; // where axisLow sits; the arrows go beyond it
    int axisRight = 0;
    int textLeft = 0;
    int captionTop = 0;
    int rowsTop = 0;
    int rowHeight = 0;
    int axisTop = 0; // the tick labels' line

    double x(double ratio) const { return axisLeft + axisFraction(ratio) * (axisRight - axisLeft); }
    int rowCentre(int row) const { return rowsTop + row * rowHeight + rowHeight / 2; }
};

RatioIntervalStrip::RatioIntervalStrip(QWidget *parent)
    : QWidget(parent)
{
    setSizePolicy(QSizePolicy::Expanding, QSizePolicy::Fixed);
    setAccessibleName(tr("Confidence intervals for k"));
    hide();
}

void RatioIntervalStrip::setModel(QAbstractItemModel *model)
{
    if (m_model)
        disconnect(m_model, nullptr, this, nullptr);
    m_model = model;
    if (m_model) {
        connect(m_model, &QAbstractItemModel::modelReset, this, &RatioIntervalStrip::reload);
        connect(m_model, &QAbstractItemModel::layoutChanged, this, &RatioIntervalStrip::reload);
        connect(m_model, &QAbstractItemModel::rowsInserted, this, &RatioIntervalStrip::reload);
        connect(m_model, &QAbstractItemModel::rowsRemoved, this, &RatioIntervalStrip::reload);
        connect(m_model, &QAbstractItemModel::dataChanged, this, &RatioIntervalStrip::reload);
    }
    reload();
}

void RatioIntervalStrip::reload()
{
    std::optional<GateModel::Judge> judge;
    // A plan has at most one sequential gate (their false-alarm bounds would add up), so the
    // first is the only one.
    for (int row = 0; m_model && row < m_model->rowCount() && !judge; ++row) {
        const QVariant value = m_model->index(row, 0).data(GateModel::JudgeRole);
        if (value.isValid())
            judge = value.value<GateModel::Judge>();
    }
    const bool sizeChanged
        = judge.has_value() != m_judge.has_value()
          || (judge && judge->reading.events.size() != m_judge->reading.events.size());
    m_judge = std::move(judge);
    QStringList tip;
    if (m_judge) {
        for (const EventReading &event : m_judge->reading.events)
            tip.append(describe(event));
    }
    setToolTip(tip.join(QLatin1Char('\n')));
    setAccessibleDescription(text());
    if (sizeChanged)
        updateGeometry();
    setVisible(m_judge.has_value());
    update();
}

double RatioIntervalStrip::axisFraction(double ratio)
{
    const double fraction = std::log(ratio / axisLow) / std::log(axisHigh / axisLow);
    return std::clamp(fraction, 0.0, 1.0);
}

QString RatioIntervalStrip::eventLabel(const EventReading &event) const
{
    if (event.event == CountedEvent::SlowRequests && m_judge->slowerThanMs)
        return tr("slow (> %1)")
            .arg(formatMetricValue(*m_judge->slowerThanMs, MetricUnit::Milliseconds));
    return describe(event.event);
}

QString RatioIntervalStrip::eventText(const EventReading &event) const
{
    return tr("%1, %2").arg(GateModel::intervalText(event.ratio), describe(event.decision));
}

QString RatioIntervalStrip::text() const
{
    if (!m_judge)
        return {};
    QStringList lines;
    for (const EventReading &event : m_judge->reading.events)
        lines.append(tr("%1 %2").arg(eventLabel(event), eventText(event)));
    return lines.join(QLatin1Char('\n'));
}

RatioIntervalStrip::Placement RatioIntervalStrip::placement() const
{
    const QFontMetrics metrics = fontMetrics();
    Placement g;
    // Wide enough for the slow threshold once it is fixed, so the axis keeps its place then.
    int labelWidth
        = std::max(metrics.horizontalAdvance(describe(CountedEvent::SlowRequests)),
                   metrics.horizontalAdvance(tr("slow (> %1)").arg(QStringLiteral("1000 ms"))));
    // Room for the longest interval and decision, so the axis keeps its place as they change.
    int textWidth = metrics.horizontalAdvance(QStringLiteral("k 0.00–000, safe to promote"));
    if (m_judge) {
        for (const EventReading &event : m_judge->reading.events) {
            labelWidth = std::max(labelWidth, metrics.horizontalAdvance(eventLabel(event)));
            textWidth = std::max(textWidth, metrics.horizontalAdvance(eventText(event)));
        }
    }
    g.labelLeft = margin;
    g.axisLeft = g.labelLeft + labelWidth + columnGap + arrowLength;
    g.textLeft = width() - margin - textWidth;
    g.axisRight = std::max(g.axisLeft + 1, g.textLeft - columnGap - arrowLength);
    g.captionTop = margin;
    g.rowsTop = g.captionTop + metrics.height() + 2;
    g.rowHeight = metrics.height() + 6;
    const int rows = m_judge ? int(m_judge->reading.events.size()) : 0;
    g.axisTop = g.rowsTop + rows * g.rowHeight + 1;
    return g;
}

QSize RatioIntervalStrip::sizeHint() const
{
    const int rows = m_judge ? int(m_judge->reading.events.size()) : 0;
    const int line = fontMetrics().height();
    const int small = QFontMetrics(smallFont(font())).height();
    return {400, margin + line + 2 + rows * (line + 6) + 1 + small + margin};
}

QSize RatioIntervalStrip::minimumSizeHint() const
{
    return {240, sizeHint().height()};
}

void RatioIntervalStrip::changeEvent(QEvent *event)
{
    if (event->type() == QEvent::FontChange)
        updateGeometry();
    QWidget::changeEvent(event);
}

QRectF RatioIntervalStrip::barRect(int event) const
{
    if (!m_judge || event < 0 || event >= m_judge->reading.events.size())
        return {};
    const Placement g = placement();
    const RatioInterval &ratio = m_judge->reading.events.at(event).ratio;
    double left = ratio.lower ? g.x(*ratio.lower) : g.axisLeft;
    double right = ratio.upper ? g.x(*ratio.upper) : g.axisRight;
    // An interval off one end of the axis, or a very narrow one, still shows.
    if (right - left < minimumBarWidth) {
        const double middle = std::clamp((left + right) / 2, g.axisLeft + minimumBarWidth / 2,
                                         g.axisRight - minimumBarWidth / 2);
        left = middle - minimumBarWidth / 2;
        right = middle + minimumBarWidth / 2;
    }
    return {left, g.rowCentre(event) - barHeight / 2.0, right - left, double(barHeight)};
}

void RatioIntervalStrip::paintEvent(QPaintEvent *)
{
    if (!m_judge)
        return;
    QPainter painter(this);
    painter.setRenderHint(QPainter::Antialiasing);
    const QPalette &pal = palette();
    const QFontMetrics metrics = fontMetrics();
    const Placement g = placement();
    const QList<EventReading> &events = m_judge->reading.events;
    const int rowsBottom = g.rowsTop + int(events.size()) * g.rowHeight;
    const QColor faint = pal.color(QPalette::PlaceholderText);
    const QColor text = pal.color(QPalette::WindowText);

    // The caption, and what the marks mean at its right.
    const SequentialSettings &settings = m_judge->settings;
    const QColor regression = theme::verdictColor(Verdict::Fail, pal);
    const QColor safe = theme::verdictColor(Verdict::Pass, pal);
    const QString regressionWords
        = tr("regression above %1").arg(QString::number(settings.k0, 'g', 4));
    const QString safeWords
        = tr("safe below %1").arg(QString::number(settings.promoteBelow, 'g', 4));
    constexpr int markWidth = 8; // the mark's sample and the gap after it
    constexpr int legendGap = 14;
    const int legendWidth = 2 * markWidth + metrics.horizontalAdvance(regressionWords) + legendGap
                            + metrics.horizontalAdvance(safeWords);
    const QRect captionLine(g.labelLeft, g.captionTop, width() - 2 * margin, metrics.height());
    {
        int x = captionLine.right() - legendWidth;
        const int y = captionLine.center().y();
        auto legend = [&](const QColor &color, Qt::PenStyle style, const QString &words) {
            painter.setPen(QPen(color, 1.5, style));
            painter.drawLine(QPointF(x + 1, y - 6), QPointF(x + 1, y + 6));
            x += markWidth;
            painter.setPen(faint);
            const int w = metrics.horizontalAdvance(words);
            painter.drawText(QRect(x, captionLine.top(), w + 1, captionLine.height()),
                             Qt::AlignLeft | Qt::AlignVCenter, words);
            x += w + legendGap;
        };
        legend(regression, Qt::SolidLine, regressionWords);
        legend(safe, Qt::DashLine, safeWords);
    }
    painter.setPen(faint);
    const QString caption = tr("%1 · k = canary rate ÷ baseline rate").arg(m_judge->gate);
    const int captionRoom = std::max(0, captionLine.width() - legendWidth - legendGap);
    painter.drawText(captionLine.adjusted(0, 0, -(captionLine.width() - captionRoom), 0),
                     Qt::AlignLeft | Qt::AlignVCenter,
                     metrics.elidedText(caption, Qt::ElideRight, captionRoom));

    // The grid: every doubling of k, labelled below the last bar.
    QColor grid = pal.color(QPalette::Mid);
    grid.setAlphaF(0.35f);
    const QFont small = smallFont(font());
    painter.setFont(small);
    const QFontMetrics smallMetrics(small);
    for (double ratio = axisLow; ratio <= axisHigh; ratio *= 2) {
        const double x = g.x(ratio);
        painter.setPen(QPen(grid, 1));
        painter.drawLine(QPointF(x, g.rowsTop + 2), QPointF(x, rowsBottom - 2));
        painter.setPen(faint);
        const QString tick = tickText(ratio);
        const int tickWidth = smallMetrics.horizontalAdvance(tick);
        painter.drawText(
            QRectF(x - tickWidth / 2.0 - 2, g.axisTop, tickWidth + 4, smallMetrics.height()),
            Qt::AlignCenter, tick);
    }
    painter.setFont(font());

    // The marks the intervals are judged against, over every bar.
    painter.setPen(QPen(regression, 1.5));
    painter.drawLine(QPointF(g.x(settings.k0), g.rowsTop), QPointF(g.x(settings.k0), rowsBottom));
    painter.setPen(QPen(safe, 1.5, Qt::DashLine));
    painter.drawLine(QPointF(g.x(settings.promoteBelow), g.rowsTop),
                     QPointF(g.x(settings.promoteBelow), rowsBottom));

    for (int row = 0; row < events.size(); ++row) {
        const EventReading &event = events.at(row);
        const int centre = g.rowCentre(row);
        const int top = centre - g.rowHeight / 2;

        painter.setPen(text);
        painter.drawText(QRect(g.labelLeft, top, g.axisLeft - g.labelLeft, g.rowHeight),
                         Qt::AlignLeft | Qt::AlignVCenter, eventLabel(event));
        QFont words = font();
        words.setBold(event.decision == JudgeDecision::Rollback);
        painter.setFont(words);
        painter.drawText(QRect(g.textLeft, top, width() - margin - g.textLeft, g.rowHeight),
                         Qt::AlignLeft | Qt::AlignVCenter, eventText(event));
        painter.setFont(font());

        // The bar, its open ends clamped to the axis with an arrow beyond.
        const RatioInterval &ratio = event.ratio;
        const bool openLeft = !ratio.lower || *ratio.lower < axisLow;
        const bool openRight = !ratio.upper || *ratio.upper > axisHigh;
        const QRectF bar = barRect(row);
        QColor color = theme::verdictColor(GateModel::verdictOf(event.decision), pal);
        // Nothing known about k yet: the bar spans everything, faintly.
        if (!ratio.lower && !ratio.upper)
            color = theme::tint(color, pal, 0.45);
        painter.setPen(Qt::NoPen);
        painter.setBrush(color);
        painter.drawRoundedRect(bar, 3, 3);
        auto arrow = [&](double base, double direction) {
            QPainterPath path;
            path.moveTo(base, centre - barHeight / 2.0 - 2);
            path.lineTo(base + direction * arrowLength, centre);
            path.lineTo(base, centre + barHeight / 2.0 + 2);
            path.closeSubpath();
            painter.drawPath(path);
        };
        if (openLeft)
            arrow(g.axisLeft, -1);
        if (openRight)
            arrow(g.axisRight, 1);
    }
}

} // namespace sb
