#include "fleetdelegates.h"

#include "servicelistmodel.h"
#include "theme.h"
#include "versionmodel.h"

#include <QApplication>
#include <QPainter>

namespace sb {

void HealthDelegate::paint(QPainter *painter, const QStyleOptionViewItem &option,
                           const QModelIndex &index) const
{
    QStyleOptionViewItem opt = option;
    initStyleOption(&opt, index);
    const Health health = Health(index.data(ServiceListModel::HealthRole).toInt());
    const QString text = opt.text;
    opt.text.clear();
    QStyle *style = opt.widget ? opt.widget->style() : QApplication::style();
    style->drawControl(QStyle::CE_ItemViewItem, &opt, painter, opt.widget);

    painter->save();
    painter->setRenderHint(QPainter::Antialiasing);
    const int dot = 10;
    const QRect r = opt.rect.adjusted(6, 0, 0, 0);
    painter->setPen(Qt::NoPen);
    painter->setBrush(theme::healthColor(health, opt.palette));
    painter->drawEllipse(QRect(r.left(), r.center().y() - dot / 2, dot, dot));
    painter->setPen(opt.palette.color(opt.state & QStyle::State_Selected ? QPalette::HighlightedText
                                                                         : QPalette::Text));
    painter->drawText(r.adjusted(dot + 6, 0, 0, 0), Qt::AlignLeft | Qt::AlignVCenter, text);
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
