#include "fleetdelegates.h"

#include "servicelistmodel.h"
#include "theme.h"
#include "versionmodel.h"

#include <QApplication>
#include <QPainter>

namespace sb {

const QStaticText &ServiceListDelegate::laidOut(const QString &text) const
{
    // Cell texts repeat (names, environments, health words, counts); a bound keeps a long
    // session's cache from growing without end.
    constexpr qsizetype maxCached = 4096;
    auto it = m_texts.find(text);
    if (it == m_texts.end()) {
        if (m_texts.size() >= maxCached)
            m_texts.clear();
        QStaticText laid(text);
        laid.setTextFormat(Qt::PlainText);
        laid.setPerformanceHint(QStaticText::AggressiveCaching);
        it = m_texts.insert(text, laid);
    }
    return *it;
}

void ServiceListDelegate::paint(QPainter *painter, const QStyleOptionViewItem &option,
                                const QModelIndex &index) const
{
    constexpr int padding = 6;
    constexpr int dot = 10;
    const bool health = index.column() == ServiceListModel::HealthColumn;
    const QString text = index.data(Qt::DisplayRole).toString();
    const QStaticText &laid = laidOut(text);
    painter->save();
    painter->setFont(option.font);
    const int indent = health ? dot + padding : 0;
    const QRect area = option.rect.adjusted(padding + indent, 0, -padding, 0);
    if (laid.size().width() > area.width()) {
        // Too narrow: let the style elide it, which is slower but rare.
        painter->restore();
        QStyledItemDelegate::paint(painter, option, index);
        return;
    }

    QStyle *style = option.widget ? option.widget->style() : QApplication::style();
    style->drawPrimitive(QStyle::PE_PanelItemViewItem, &option, painter, option.widget);
    if (health) {
        painter->setRenderHint(QPainter::Antialiasing);
        painter->setPen(Qt::NoPen);
        painter->setBrush(theme::healthColor(
            Health(index.data(ServiceListModel::HealthRole).toInt()), option.palette));
        painter->drawEllipse(
            QRect(option.rect.left() + padding, option.rect.center().y() - dot / 2 + 1, dot, dot));
    }
    const bool selected = option.state & QStyle::State_Selected;
    painter->setPen(option.palette.color(selected ? QPalette::HighlightedText : QPalette::Text));
    const Qt::Alignment alignment = Qt::Alignment(index.data(Qt::TextAlignmentRole).toInt());
    const qreal x
        = alignment & Qt::AlignRight ? area.right() + 1 - laid.size().width() : area.left();
    painter->drawStaticText(QPointF(x, area.top() + (area.height() - laid.size().height()) / 2),
                            laid);
    painter->restore();
}

void VersionDelegate::paint(QPainter *painter, const QStyleOptionViewItem &option,
                            const QModelIndex &index) const
{
    const int column = index.column();
    if (column == VersionModel::TrafficSetColumn || column == VersionModel::TrafficObservedColumn) {
        const QVariant share = index.data(column == VersionModel::TrafficSetColumn
                                              ? VersionModel::WeightRole
                                              : VersionModel::ObservedShareRole);
        QStyleOptionViewItem opt = option;
        initStyleOption(&opt, index);
        QStyle *style = opt.widget ? opt.widget->style() : QApplication::style();
        const QString text = opt.text;
        opt.text.clear();
        style->drawControl(QStyle::CE_ItemViewItem, &opt, painter, opt.widget);
        painter->save();
        if (share.isValid()) {
            const QRectF track = QRectF(opt.rect).adjusted(6, opt.rect.height() / 2.0 + 5, -6, -4);
            const QColor accent = theme::stateColor(InstanceState::Starting, opt.palette);
            painter->setRenderHint(QPainter::Antialiasing);
            painter->setPen(Qt::NoPen);
            painter->setBrush(theme::tint(accent, opt.palette, 0.15));
            painter->drawRoundedRect(track, 2, 2);
            QRectF filled = track;
            filled.setWidth(track.width() * std::clamp(share.toDouble(), 0.0, 100.0) / 100.0);
            painter->setBrush(accent);
            painter->drawRoundedRect(filled, 2, 2);
        }
        painter->setPen(opt.palette.color(
            opt.state & QStyle::State_Selected ? QPalette::HighlightedText : QPalette::Text));
        painter->drawText(opt.rect.adjusted(6, 2, -6, -(opt.rect.height() / 2 - 4)),
                          Qt::AlignRight | Qt::AlignVCenter, text);
        painter->restore();
        return;
    }

    QStyleOptionViewItem opt = option;
    if (column == VersionModel::ErrorRateColumn) {
        const QVariant ratio = index.data(VersionModel::ErrorRatioRole);
        if (ratio.isValid() && ratio.toDouble() >= health::degradedErrorRatio) {
            const Health level = ratio.toDouble() >= health::criticalErrorRatio ? Health::Critical
                                                                                : Health::Degraded;
            opt.palette.setColor(QPalette::Text, theme::healthColor(level, opt.palette));
            opt.font.setBold(true);
        }
    }
    QStyledItemDelegate::paint(painter, opt, index);
}

} // namespace sb
