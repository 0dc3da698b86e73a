#pragma once

#include "fleet.h"

#include <QPersistentModelIndex>
#include <QPointer>
#include <QSet>
#include <QWidget>

#include <optional>

class QAbstractItemModel;

namespace sb {

// The instances of one service as a grid of cells coloured (and shaped) by state, one block per
// version, with a legend of counts. It reads an InstanceModel and repaints when it changes.
// Arrow keys move a current cell whose details the widget announces for the status line.
class InstanceGridView : public QWidget
{
    Q_OBJECT
public:
    // A release's view of the grid: cells take the colour of their version's part in it (old or
    // new) instead of their state, which their shape still shows, failed ones stay the failure
    // colour, and instances above the service's size are ringed as surge.
    struct ReleaseMarking {
        QString oldVersion;
        QString newVersion;
        QSet<QString> surge; // instance ids

        friend bool operator==(const ReleaseMarking &, const ReleaseMarking &) = default;
    };

    explicit InstanceGridView(QWidget *parent = nullptr);

    void setModel(QAbstractItemModel *model);
    void setReleaseMarking(const std::optional<ReleaseMarking> &marking);
    const std::optional<ReleaseMarking> &releaseMarking() const { return m_marking; }
    // "since when" in tooltips is relative to the console's clock, not the wall clock.
    void setNow(TimePoint now);

    QSize sizeHint() const override;
    QSize minimumSizeHint() const override;
    bool hasHeightForWidth() const override { return true; }
    int heightForWidth(int width) const override;

    // Text describing an instance row, for tooltips and the status line.
    QString describe(int row) const;
    int currentRow() const;
    // The row under a point in widget coordinates, or -1.
    int rowAt(const QPoint &point) const;

Q_SIGNALS:
    void currentInstanceChanged(const QString &description);

protected:
    void paintEvent(QPaintEvent *event) override;
    void resizeEvent(QResizeEvent *event) override;
    bool event(QEvent *event) override;
    void keyPressEvent(QKeyEvent *event) override;
    void mousePressEvent(QMouseEvent *event) override;
    void changeEvent(QEvent *event) override;

private:
    struct Group {
        QString version;
        int firstRow = 0;
        int count = 0;
        int counts[5] = {}; // per InstanceState
        int top = 0;        // y of the group's header
    };
    void scheduleRelayout();
    void ensureLaidOut();
    void relayout();
    void setCurrent(int row, bool showTip);
    QRect cellRect(int row) const;
    int columnsFor(int width) const;
    int layoutHeight(int width, QList<Group> *groups) const;
    QColor cellColor(const QString &version, InstanceState state) const;
    void paintLegend(QPainter &painter) const;
    void paintReleaseLegend(QPainter &painter) const;

    QPointer<QAbstractItemModel> m_model;
    QList<Group> m_groups;
    QList<int> m_groupOfRow;
    QPersistentModelIndex m_current;
    int m_height = 0; // as last laid out
    bool m_relayoutPending = false;
    TimePoint m_now;
    std::optional<ReleaseMarking> m_marking;
};

} // namespace sb
