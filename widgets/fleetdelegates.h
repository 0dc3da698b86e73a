#pragma once

#include <QStyledItemDelegate>

namespace sb {

// Service list: a coloured dot before the health text (the text keeps it readable without colour).
class HealthDelegate : public QStyledItemDelegate
{
    Q_OBJECT
public:
    using QStyledItemDelegate::QStyledItemDelegate;
    void paint(QPainter *painter, const QStyleOptionViewItem &option,
               const QModelIndex &index) const override;
};

// Version table: traffic shares as bars behind the figure, and error rates and latencies
// coloured once they cross the health thresholds.
class VersionDelegate : public QStyledItemDelegate
{
    Q_OBJECT
public:
    using QStyledItemDelegate::QStyledItemDelegate;
    void paint(QPainter *painter, const QStyleOptionViewItem &option,
               const QModelIndex &index) const override;
};

} // namespace sb
