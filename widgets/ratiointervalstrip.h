#pragma once

#include "gatemodel.h"

#include <QPointer>
#include <QWidget>

#include <optional>

class QAbstractItemModel;

namespace sb {

// The confidence interval for k (the canary's event rate over the baseline's) of each event a
// sequential gate counts, as bars on a log axis: where the judge's decision stands at a glance.
// Each bar has the colour of its event's decision; a bar that runs off the axis, or is not
// bounded yet, ends in an arrow. Marks at k0 (above it is a regression) and at promoteBelow
// (below it is safe to promote). Follows a GateModel's sequential gate and hides while the
// model has none.
class RatioIntervalStrip : public QWidget
{
    Q_OBJECT
public:
    // The axis: a quarter of the baseline's rate to sixteen times it.
    static constexpr double axisLow = 0.25;
    static constexpr double axisHigh = 16;

    explicit RatioIntervalStrip(QWidget *parent = nullptr);

    // Reads GateModel::JudgeRole of the model's rows, whenever they change.
    void setModel(QAbstractItemModel *model);
    const std::optional<GateModel::Judge> &judge() const { return m_judge; }
    // One line per event as drawn ("errors k 0.52–1.9, no evidence yet"), for tests and
    // accessibility.
    QString text() const;
    // Where `ratio` falls on the axis: 0 at its left end, 1 at its right, clamped to them.
    static double axisFraction(double ratio);
    // Where the bar of the judge's `event`-th counted event is drawn, without its arrows; empty
    // when there is no such event.
    QRectF barRect(int event) const;

    QSize sizeHint() const override;
    QSize minimumSizeHint() const override;

protected:
    void paintEvent(QPaintEvent *event) override;
    void changeEvent(QEvent *event) override;

private:
    struct Placement; // where the caption, the rows, the axis and the texts go
    Placement placement() const;
    QString eventLabel(const EventReading &event) const;
    QString eventText(const EventReading &event) const;
    void reload();

    QPointer<QAbstractItemModel> m_model;
    std::optional<GateModel::Judge> m_judge;
};

} // namespace sb
