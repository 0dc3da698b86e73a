#include "stagestepper.h"

#include "theme.h"

#include <QPainter>
#include <QPainterPath>

namespace sb {

namespace {

constexpr int diameter = 34;
constexpr int margin = 6;

} // namespace

StageStepper::StageStepper(QWidget *parent)
    : QWidget(parent)
{
    setSizePolicy(QSizePolicy::Expanding, QSizePolicy::Fixed);
    setAccessibleName(tr("Canary stages"));
}

void StageStepper::setSteps(const QList<Step> &steps)
{
    if (steps == m_steps)
        return;
    m_steps = steps;
    QStringList described;
    for (const Step &step : steps) {
        const char *state = step.state == Step::State::Done      ? "done"
                            : step.state == Step::State::Current ? "current"
                            : step.state == Step::State::Failed  ? "stopped here"
                                                                 : "to come";
        described.append(
            QStringLiteral("%1 (%2, %3)").arg(step.title, QLatin1StringView(state), step.subtitle));
    }
    setAccessibleDescription(described.join(QStringLiteral("; ")));
    update();
}

QSize StageStepper::sizeHint() const
{
    return {120 * int(std::max<qsizetype>(m_steps.size(), 1)), minimumSizeHint().height()};
}

QSize StageStepper::minimumSizeHint() const
{
    const int line = fontMetrics().height();
    return {80 * int(std::max<qsizetype>(m_steps.size(), 1)),
            margin + diameter + 4 + line + margin};
}

void StageStepper::paintEvent(QPaintEvent *)
{
    if (m_steps.isEmpty())
        return;
    QPainter painter(this);
    painter.setRenderHint(QPainter::Antialiasing);
    const QPalette &pal = palette();
    const QColor done = theme::healthColor(Health::Healthy, pal);
    const QColor current = pal.color(QPalette::Highlight);
    const QColor failed = theme::healthColor(Health::Critical, pal);
    const QColor pending = pal.color(QPalette::Mid);
    const QColor text = pal.color(QPalette::WindowText);
    const QColor faint = pal.color(QPalette::PlaceholderText);

    const int count = int(m_steps.size());
    const double slot = double(width()) / count;
    const int centreY = margin + diameter / 2;
    auto centreX = [slot](int i) { return slot * (i + 0.5); };

    // The line behind the circles: solid through the stages reached.
    for (int i = 0; i + 1 < count; ++i) {
        const bool reached = m_steps[i + 1].state != Step::State::Pending;
        painter.setPen(QPen(reached ? done : pending, reached ? 3 : 2));
        painter.drawLine(QPointF(centreX(i) + diameter / 2.0 + 3, centreY),
                         QPointF(centreX(i + 1) - diameter / 2.0 - 3, centreY));
    }

    QFont bold = font();
    bold.setBold(true);
    for (int i = 0; i < count; ++i) {
        const Step &step = m_steps[i];
        const QRectF circle(centreX(i) - diameter / 2.0, margin, diameter, diameter);
        QColor ring = pending;
        QColor fill = pal.color(QPalette::Base);
        QColor label = faint;
        switch (step.state) {
        case Step::State::Done:
            ring = fill = done;
            label = pal.color(QPalette::Base);
            break;
        case Step::State::Current:
            ring = current;
            fill = theme::tint(current, pal, 0.22);
            label = text;
            break;
        case Step::State::Failed:
            ring = failed;
            fill = theme::tint(failed, pal, 0.22);
            label = text;
            break;
        case Step::State::Pending: break;
        }
        painter.setPen(QPen(
            ring, step.state == Step::State::Current || step.state == Step::State::Failed ? 3 : 2));
        painter.setBrush(fill);
        painter.drawEllipse(circle.adjusted(1.5, 1.5, -1.5, -1.5));

        painter.setFont(step.state == Step::State::Pending ? font() : bold);
        painter.setPen(label);
        QFont small = painter.font();
        small.setPointSizeF(small.pointSizeF() * 0.85);
        painter.setFont(small);
        painter.drawText(circle, Qt::AlignCenter, step.title);

        painter.setFont(step.state == Step::State::Current || step.state == Step::State::Failed
                            ? bold
                            : font());
        painter.setPen(step.state == Step::State::Pending  ? faint
                       : step.state == Step::State::Failed ? failed
                                                           : text);
        const QRectF below(slot * i, circle.bottom() + 4, slot, fontMetrics().height() + 2);
        painter.drawText(below, Qt::AlignHCenter | Qt::AlignTop,
                         fontMetrics().elidedText(step.subtitle, Qt::ElideRight, int(slot) - 4));
    }
}

} // namespace sb
