#pragma once

#include <QList>
#include <QWidget>

namespace sb {

// A canary's stages in a row of circles joined by a line: those done filled, the current one
// ringed in the accent colour (red when the release stopped there), those to come hollow. Each
// has its weight inside and, below, what it does ("bake 10 min", a countdown for the current
// one, "approval").
class StageStepper : public QWidget
{
    Q_OBJECT
public:
    struct Step {
        enum class State { Done, Current, Failed, Pending };
        QString title;    // "5 %"
        QString subtitle; // "bake 20 min", "3 min 12 s left"
        State state = State::Pending;

        friend bool operator==(const Step &, const Step &) = default;
    };

    explicit StageStepper(QWidget *parent = nullptr);

    void setSteps(const QList<Step> &steps);
    const QList<Step> &steps() const { return m_steps; }

    QSize sizeHint() const override;
    QSize minimumSizeHint() const override;

protected:
    void paintEvent(QPaintEvent *event) override;

private:
    QList<Step> m_steps;
};

} // namespace sb
