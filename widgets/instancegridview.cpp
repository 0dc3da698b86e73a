#include "instancegridview.h"

#include "instancemodel.h"
#include "theme.h"

#include <QAbstractItemModel>
#include <QHelpEvent>
#include <QKeyEvent>
#include <QPainter>
#include <QPainterPath>
#include <QToolTip>

namespace sb {

namespace {

constexpr int margin = 8;
constexpr int legendHeight = 26;
constexpr int headerHeight = 22;
constexpr int cell = 16;
constexpr int gap = 4;
constexpr int groupGap = 12;

constexpr InstanceState legendOrder[]
    = {InstanceState::Ready, InstanceState::Starting, InstanceState::Draining,
       InstanceState::Failed, InstanceState::Terminated};

InstanceState stateAt(const QAbstractItemModel *model, int row)
{
    return InstanceState(model->index(row, 0).data(InstanceModel::StateRole).toInt());
}

// Shape tells state apart without colour: solid ready, hollow starting, half-filled draining,
// crossed failed, dashed terminated.
void paintCell(QPainter &painter, const QRectF &r, InstanceState state, const QColor &color,
               const QPalette &pal)
{
    switch (state) {
    case InstanceState::Ready:
        painter.setPen(Qt::NoPen);
        painter.setBrush(color);
        painter.drawRoundedRect(r, 3, 3);
        break;
    case InstanceState::Starting:
        painter.setPen(QPen(color, 2));
        painter.setBrush(theme::tint(color, pal, 0.25));
        painter.drawRoundedRect(r.adjusted(1, 1, -1, -1), 3, 3);
        break;
    case InstanceState::Draining: {
        painter.setPen(QPen(color, 1.5));
        painter.setBrush(theme::tint(color, pal, 0.2));
        painter.drawRoundedRect(r.adjusted(0.5, 0.5, -0.5, -0.5), 3, 3);
        QPainterPath half;
        half.addRoundedRect(r, 3, 3);
        QPainterPath left;
        left.addRect(QRectF(r.left(), r.top(), r.width() / 2, r.height()));
        painter.setPen(Qt::NoPen);
        painter.setBrush(color);
        painter.drawPath(half.intersected(left));
        break;
    }
    case InstanceState::Failed: {
        painter.setPen(Qt::NoPen);
        painter.setBrush(color);
        painter.drawRoundedRect(r, 3, 3);
        painter.setPen(QPen(pal.color(QPalette::Base), 2));
        const qreal inset = r.width() / 4;
        painter.drawLine(r.topLeft() + QPointF(inset, inset),
                         r.bottomRight() - QPointF(inset, inset));
        painter.drawLine(r.topRight() + QPointF(-inset, inset),
                         r.bottomLeft() + QPointF(inset, -inset));
        break;
    }
    case InstanceState::Terminated:
        painter.setPen(QPen(color, 1.2, Qt::DashLine));
        painter.setBrush(Qt::NoBrush);
        painter.drawRoundedRect(r.adjusted(1, 1, -1, -1), 3, 3);
        break;
    }
}

// A surge instance's ring, outside the cell where the focus ring would not hide it.
void paintSurgeRing(QPainter &painter, const QRectF &r, const QPalette &pal)
{
    QPen pen(pal.color(QPalette::WindowText), 1.2, Qt::DotLine);
    painter.setPen(pen);
    painter.setBrush(Qt::NoBrush);
    painter.drawRoundedRect(r.adjusted(-2, -2, 2, 2), 4, 4);
}

} // namespace

InstanceGridView::InstanceGridView(QWidget *parent)
    : QWidget(parent)
{
    setFocusPolicy(Qt::StrongFocus);
    setMouseTracking(true);
    setSizePolicy(QSizePolicy::Expanding, QSizePolicy::Preferred);
    setAccessibleName(tr("Instances"));
}

void InstanceGridView::setModel(QAbstractItemModel *model)
{
    if (m_model)
        m_model->disconnect(this);
    m_model = model;
    if (model) {
        // A refresh can send many signals; lay out once for all of them.
        connect(model, &QAbstractItemModel::modelReset, this, &InstanceGridView::scheduleRelayout);
        connect(model, &QAbstractItemModel::layoutChanged, this,
                &InstanceGridView::scheduleRelayout);
        connect(model, &QAbstractItemModel::rowsInserted, this,
                &InstanceGridView::scheduleRelayout);
        connect(model, &QAbstractItemModel::rowsRemoved, this, &InstanceGridView::scheduleRelayout);
        connect(model, &QAbstractItemModel::dataChanged, this, &InstanceGridView::scheduleRelayout);
    }
    relayout();
}

void InstanceGridView::setReleaseMarking(const std::optional<ReleaseMarking> &marking)
{
    if (marking == m_marking)
        return;
    m_marking = marking;
    update();
}

void InstanceGridView::setNow(TimePoint now)
{
    m_now = now;
}

int InstanceGridView::columnsFor(int width) const
{
    return std::max(1, (width - 2 * margin + gap) / (cell + gap));
}

int InstanceGridView::layoutHeight(int width, QList<Group> *groups) const
{
    QList<Group> found;
    if (m_model) {
        const int rows = m_model->rowCount();
        for (int row = 0; row < rows; ++row) {
            const QString version
                = m_model->index(row, 0).data(InstanceModel::VersionRole).toString();
            if (found.isEmpty() || found.last().version != version)
                found.append(Group{version, row});
            Group &group = found.last();
            ++group.count;
            ++group.counts[int(stateAt(m_model, row))];
        }
    }
    const int columns = columnsFor(width);
    int y = margin + legendHeight;
    for (Group &group : found) {
        group.top = y;
        const int lines = (group.count + columns - 1) / columns;
        y += headerHeight + lines * (cell + gap) - gap + groupGap;
    }
    if (groups)
        *groups = found;
    return y + margin;
}

int InstanceGridView::heightForWidth(int width) const
{
    return layoutHeight(width, nullptr);
}

QSize InstanceGridView::sizeHint() const
{
    return {480, heightForWidth(480)};
}

QSize InstanceGridView::minimumSizeHint() const
{
    return {2 * margin + 8 * (cell + gap), margin * 2 + legendHeight + headerHeight + cell};
}

void InstanceGridView::scheduleRelayout()
{
    update();
    if (m_relayoutPending)
        return;
    m_relayoutPending = true;
    QMetaObject::invokeMethod(this, &InstanceGridView::relayout, Qt::QueuedConnection);
}

void InstanceGridView::ensureLaidOut()
{
    if (m_relayoutPending)
        relayout();
}

void InstanceGridView::relayout()
{
    m_relayoutPending = false;
    const int height = layoutHeight(width(), &m_groups);
    const int rows = m_model ? m_model->rowCount() : 0;
    m_groupOfRow.resize(rows);
    for (int g = 0; g < m_groups.size(); ++g) {
        for (int i = 0; i < m_groups[g].count; ++i)
            m_groupOfRow[m_groups[g].firstRow + i] = g;
    }
    // A state change repaints; only a change in the rows it needs lays the window out again.
    // The minimum height is what makes an enclosing scroll area scroll.
    if (height != m_height) {
        m_height = height;
        setMinimumHeight(height);
        updateGeometry();
    }
    update();
}

void InstanceGridView::resizeEvent(QResizeEvent *event)
{
    QWidget::resizeEvent(event);
    relayout();
}

QRect InstanceGridView::cellRect(int row) const
{
    if (row < 0 || row >= m_groupOfRow.size())
        return {};
    const Group &group = m_groups[m_groupOfRow[row]];
    const int columns = columnsFor(width());
    const int index = row - group.firstRow;
    return {margin + (index % columns) * (cell + gap),
            group.top + headerHeight + (index / columns) * (cell + gap), cell, cell};
}

int InstanceGridView::rowAt(const QPoint &point) const
{
    const int columns = columnsFor(width());
    for (const Group &group : m_groups) {
        const int top = group.top + headerHeight;
        if (point.y() < top)
            continue;
        const int column = (point.x() - margin) / (cell + gap);
        const int line = (point.y() - top) / (cell + gap);
        const int index = line * columns + column;
        if (point.x() < margin || column >= columns || index >= group.count)
            continue;
        const int row = group.firstRow + index;
        if (cellRect(row).contains(point))
            return row;
    }
    return -1;
}

QString InstanceGridView::describe(int row) const
{
    if (!m_model || row < 0 || row >= m_model->rowCount())
        return {};
    const QModelIndex index = m_model->index(row, 0);
    const TimePoint since = fromMSecsSinceEpoch(index.data(InstanceModel::SinceRole).toLongLong());
    const QString id = index.data(InstanceModel::IdRole).toString();
    QString text
        = tr("%1 · version %2 · %3 since %4 (%5) · zone %6")
              .arg(id, index.data(InstanceModel::VersionRole).toString(),
                   toString(stateAt(m_model, row)), formatUtc(since), formatDuration(m_now - since),
                   index.data(InstanceModel::ZoneRole).toString());
    if (m_marking && m_marking->surge.contains(id))
        text += tr(" · surge: above the service's size");
    return text;
}

QColor InstanceGridView::cellColor(const QString &version, InstanceState state) const
{
    const QPalette &pal = palette();
    if (!m_marking || state == InstanceState::Failed || state == InstanceState::Terminated)
        return theme::stateColor(state, pal);
    if (version == m_marking->newVersion)
        return theme::newVersionColor(pal);
    if (version == m_marking->oldVersion)
        return theme::oldVersionColor(pal);
    // A third version the release does not touch.
    return pal.color(QPalette::PlaceholderText);
}

void InstanceGridView::paintLegend(QPainter &painter) const
{
    // The service-wide count of each state.
    int totals[5] = {};
    for (const Group &group : m_groups) {
        for (int s = 0; s < 5; ++s)
            totals[s] += group.counts[s];
    }
    const QPalette &pal = palette();
    int x = margin;
    const QFontMetrics metrics = fontMetrics();
    for (InstanceState state : legendOrder) {
        const QRect swatch(x, margin + (legendHeight - cell) / 2 - 3, cell - 4, cell - 4);
        painter.setPen(Qt::NoPen);
        painter.setBrush(theme::stateColor(state, pal));
        painter.drawRoundedRect(swatch, 3, 3);
        const QString label = QStringLiteral("%1 %2").arg(toString(state)).arg(totals[int(state)]);
        painter.setPen(pal.color(QPalette::WindowText));
        painter.drawText(QPoint(swatch.right() + 6, swatch.bottom() - 1), label);
        x = swatch.right() + 6 + metrics.horizontalAdvance(label) + 16;
    }
}

void InstanceGridView::paintReleaseLegend(QPainter &painter) const
{
    // Colour says old or new, shape says state, a ring says surge: one entry for each, with the
    // service-wide count.
    const QPalette &pal = palette();
    int live[2] = {}; // old, new
    int totals[5] = {};
    for (const Group &group : m_groups) {
        const int count = group.count - group.counts[int(InstanceState::Terminated)];
        if (group.version == m_marking->oldVersion)
            live[0] += count;
        else if (group.version == m_marking->newVersion)
            live[1] += count;
        for (int s = 0; s < 5; ++s)
            totals[s] += group.counts[s];
    }
    struct Entry {
        InstanceState shape;
        QColor color;
        QString label;
        bool surge = false;
    };
    const QColor neutral = pal.color(QPalette::PlaceholderText);
    const Entry entries[] = {
        {InstanceState::Ready, theme::oldVersionColor(pal),
         tr("%1 old %2").arg(m_marking->oldVersion).arg(live[0])},
        {InstanceState::Ready, theme::newVersionColor(pal),
         tr("%1 new %2").arg(m_marking->newVersion).arg(live[1])},
        {InstanceState::Starting, neutral,
         tr("starting %1").arg(totals[int(InstanceState::Starting)])},
        {InstanceState::Draining, neutral,
         tr("draining %1").arg(totals[int(InstanceState::Draining)])},
        {InstanceState::Failed, theme::stateColor(InstanceState::Failed, pal),
         tr("failed %1").arg(totals[int(InstanceState::Failed)])},
        // The hollow cells that linger a moment after an instance stops.
        {InstanceState::Terminated, neutral,
         tr("stopped %1").arg(totals[int(InstanceState::Terminated)])},
        {InstanceState::Ready, pal.color(QPalette::Mid),
         tr("surge %1").arg(m_marking->surge.size()), true},
    };
    const QFontMetrics metrics = fontMetrics();
    int x = margin + 2;
    for (const Entry &entry : entries) {
        const QRectF swatch(x, margin + (legendHeight - cell) / 2 - 2, cell - 2, cell - 2);
        paintCell(painter, swatch, entry.shape, entry.color, pal);
        if (entry.surge)
            paintSurgeRing(painter, swatch, pal);
        painter.setPen(pal.color(QPalette::WindowText));
        const int textX = int(swatch.right()) + 7;
        painter.drawText(QPoint(textX, int(swatch.bottom()) - 2), entry.label);
        x = textX + metrics.horizontalAdvance(entry.label) + 16;
    }
}

void InstanceGridView::paintEvent(QPaintEvent *)
{
    ensureLaidOut();
    QPainter painter(this);
    painter.setRenderHint(QPainter::Antialiasing);
    const QPalette &pal = palette();

    if (m_marking)
        paintReleaseLegend(painter);
    else
        paintLegend(painter);

    if (m_groups.isEmpty()) {
        painter.setPen(pal.color(QPalette::PlaceholderText));
        painter.drawText(rect().adjusted(margin, margin + legendHeight, -margin, -margin),
                         Qt::AlignLeft | Qt::AlignTop, tr("No instances reported."));
        return;
    }

    QFont bold = font();
    bold.setBold(true);
    for (const Group &group : m_groups) {
        const int ready = group.counts[int(InstanceState::Ready)];
        // Terminated cells stay a moment so the user sees them go; they are not instances.
        const int live = group.count - group.counts[int(InstanceState::Terminated)];
        painter.setFont(bold);
        painter.setPen(pal.color(QPalette::WindowText));
        const QRect header(margin, group.top, width() - 2 * margin, headerHeight - 4);
        painter.drawText(header, Qt::AlignLeft | Qt::AlignVCenter, group.version);
        painter.setFont(font());
        painter.setPen(pal.color(QPalette::PlaceholderText));
        QString role;
        if (m_marking && group.version == m_marking->oldVersion)
            role = tr("old · ");
        else if (m_marking && group.version == m_marking->newVersion)
            role = tr("new · ");
        painter.drawText(
            header.adjusted(QFontMetrics(bold).horizontalAdvance(group.version) + 10, 0, 0, 0),
            Qt::AlignLeft | Qt::AlignVCenter,
            role
                + tr("%1 %2, %3 ready")
                      .arg(live)
                      .arg(live == 1 ? tr("instance") : tr("instances"))
                      .arg(ready));

        for (int i = 0; i < group.count; ++i) {
            const int row = group.firstRow + i;
            const QRectF r = QRectF(cellRect(row)).adjusted(0.5, 0.5, -0.5, -0.5);
            const InstanceState state = stateAt(m_model, row);
            paintCell(painter, r, state, cellColor(group.version, state), pal);
            if (m_marking
                && m_marking->surge.contains(
                    m_model->index(row, 0).data(InstanceModel::IdRole).toString()))
                paintSurgeRing(painter, r, pal);
            if (row == currentRow() && hasFocus()) {
                painter.setPen(QPen(pal.color(QPalette::Highlight), 2));
                painter.setBrush(Qt::NoBrush);
                painter.drawRoundedRect(r.adjusted(-2.5, -2.5, 2.5, 2.5), 4, 4);
            }
        }
    }
}

bool InstanceGridView::event(QEvent *event)
{
    if (event->type() == QEvent::ToolTip) {
        ensureLaidOut();
        auto *help = static_cast<QHelpEvent *>(event);
        const int row = rowAt(help->pos());
        if (row >= 0)
            QToolTip::showText(help->globalPos(),
                               describe(row).replace(QStringLiteral(" · "), QStringLiteral("\n")),
                               this, cellRect(row));
        else
            QToolTip::hideText();
        return true;
    }
    return QWidget::event(event);
}

int InstanceGridView::currentRow() const
{
    return m_current.isValid() ? m_current.row() : -1;
}

void InstanceGridView::setCurrent(int row, bool showTip)
{
    if (!m_model || m_model->rowCount() == 0)
        return;
    row = std::clamp(row, 0, m_model->rowCount() - 1);
    // Persistent, so the highlight stays on the same instance while rows come and go around it.
    m_current = QPersistentModelIndex(m_model->index(row, 0));
    update();
    const QString text = describe(row);
    Q_EMIT currentInstanceChanged(text);
    if (showTip)
        QToolTip::showText(mapToGlobal(cellRect(row).bottomRight()),
                           QString(text).replace(QStringLiteral(" · "), QStringLiteral("\n")),
                           this);
}

void InstanceGridView::keyPressEvent(QKeyEvent *event)
{
    if (!m_model || m_model->rowCount() == 0)
        return QWidget::keyPressEvent(event);
    const int columns = columnsFor(width());
    ensureLaidOut();
    const int current = std::max(0, currentRow());
    switch (event->key()) {
    case Qt::Key_Left: setCurrent(current - 1, true); break;
    case Qt::Key_Right: setCurrent(currentRow() < 0 ? 0 : current + 1, true); break;
    case Qt::Key_Up: setCurrent(current - columns, true); break;
    case Qt::Key_Down: setCurrent(currentRow() < 0 ? 0 : current + columns, true); break;
    case Qt::Key_Home: setCurrent(0, true); break;
    case Qt::Key_End: setCurrent(m_model->rowCount() - 1, true); break;
    default: QWidget::keyPressEvent(event); return;
    }
    event->accept();
}

void InstanceGridView::mousePressEvent(QMouseEvent *event)
{
    ensureLaidOut();
    const int row = rowAt(event->position().toPoint());
    if (row >= 0)
        setCurrent(row, false);
    QWidget::mousePressEvent(event);
}

void InstanceGridView::changeEvent(QEvent *event)
{
    if (event->type() == QEvent::PaletteChange || event->type() == QEvent::FontChange)
        relayout();
    QWidget::changeEvent(event);
}

} // namespace sb
