#include "textline.h"

#include <QEvent>
#include <QPainter>

namespace sb {

TextLine::TextLine(QWidget *parent)
    : QWidget(parent)
{
    setSizePolicy(QSizePolicy::Preferred, QSizePolicy::Fixed);
}

void TextLine::setText(const QString &text)
{
    if (text == m_text)
        return;
    m_text = text;
    setAccessibleName(text);
    update();
}

void TextLine::setWidthFromSample(const QString &sample)
{
    m_widthSample = sample;
    updateGeometry();
}

QSize TextLine::sizeHint() const
{
    const QFontMetrics metrics = fontMetrics();
    return {m_widthSample.isEmpty() ? 0 : metrics.horizontalAdvance(m_widthSample) + 4,
            metrics.height()};
}

QSize TextLine::minimumSizeHint() const
{
    return {0, fontMetrics().height()};
}

void TextLine::paintEvent(QPaintEvent *)
{
    QPainter painter(this);
    painter.setPen(palette().color(QPalette::WindowText));
    painter.drawText(rect(), Qt::AlignLeft | Qt::AlignVCenter,
                     fontMetrics().elidedText(m_text, Qt::ElideRight, width()));
}

void TextLine::changeEvent(QEvent *event)
{
    if (event->type() == QEvent::FontChange)
        updateGeometry();
    QWidget::changeEvent(event);
}

} // namespace sb
