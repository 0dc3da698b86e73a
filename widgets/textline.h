#pragma once

#include <QWidget>

namespace sb {

// One line of plain text that changes often (live figures, the clock). Unlike QLabel, a new
// text only repaints the line: it never asks the window to lay itself out again, which at one
// refresh a second per label was a large share of a frame. Text too long for the width is elided.
class TextLine : public QWidget
{
    Q_OBJECT
public:
    explicit TextLine(QWidget *parent = nullptr);

    QString text() const { return m_text; }
    void setText(const QString &text);
    // The width the line asks for, from a sample of its longest expected text.
    void setWidthFromSample(const QString &sample);

    QSize sizeHint() const override;
    QSize minimumSizeHint() const override;

protected:
    void paintEvent(QPaintEvent *event) override;
    void changeEvent(QEvent *event) override;

private:
    QString m_text;
    QString m_widthSample;
};

} // namespace sb
