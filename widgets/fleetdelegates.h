#pragma once

#include <QHash>
#include <QStaticText>
#include <QStyledItemDelegate>

namespace sb {

// Service list. Draws each cell's text from a cache of laid-out text: the list repaints every
// refresh and shaping each cell's text anew cost more than everything else in a frame. The
// health cell gets a coloured dot before its word (the word keeps it readable without colour).
class ServiceListDelegate : public QStyledItemDelegate
{
    Q_OBJECT
public:
    using QStyledItemDelegate::QStyledItemDelegate;
    void paint(QPainter *painter, const QStyleOptionViewItem &option,
               const QModelIndex &index) const override;

private:
    const QStaticText &laidOut(const QString &text) const;

    mutable QHash<QString, QStaticText> m_texts;
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
