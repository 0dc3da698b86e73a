#include "badgeline.h"

#include "theme.h"

#include <QPainter>

namespace sb {

namespace {
constexpr int chipPadding = 6;
constexpr int dotSize = 9;
constexpr int dotGap = 5;
constexpr int spacing = 10;
} // namespace

BadgeLine::BadgeLine(Qt::Alignment alignment, QWidget *parent)
    : QWidget(parent)
    , m_alignment(alignment)
{
    setSizePolicy(QSizePolicy::Preferred, QSizePolicy::Fixed);
}

void BadgeLine::setBadges(const QList<Badge> &badges)
{
    if (badges == m_badges)
        return;
    m_badges = badges;
    setAccessibleName(text());
    update();
}

QString BadgeLine::text() const
{
    QStringList parts;
    for (const Badge &badge : m_badges)
        parts << badge.text;
    return parts.join(QLatin1Char(' '));
}

int BadgeLine::badgeWidth(const Badge &badge) const
{
    const int textWidth = fontMetrics().horizontalAdvance(badge.text);
    switch (badge.style) {
    case Badge::Style::Chip: return textWidth + 2 * chipPadding;
    case Badge::Style::Dot: return dotSize + dotGap + textWidth;
    case Badge::Style::Text: return textWidth;
    }
    return textWidth;
}

QSize BadgeLine::sizeHint() const
{
    return {0, fontMetrics().height() + 6};
}

QSize BadgeLine::minimumSizeHint() const
{
    return sizeHint();
}

void BadgeLine::paintEvent(QPaintEvent *)
{
    QPainter painter(this);
    painter.setRenderHint(QPainter::Antialiasing);
    const QPalette &pal = palette();
    int total = 0;
    for (const Badge &badge : m_badges)
        total += badgeWidth(badge) + spacing;
    int x = m_alignment & Qt::AlignRight ? std::max(0, width() - total + spacing) : 0;
    const int textHeight = fontMetrics().height();
    const int top = (height() - textHeight) / 2;

    for (const Badge &badge : m_badges) {
        const int w = badgeWidth(badge);
        if (x >= width())
            break;
        QRect textRect(x, top, w, textHeight);
        switch (badge.style) {
        case Badge::Style::Chip:
            painter.setPen(Qt::NoPen);
            painter.setBrush(theme::tint(badge.color, pal, 0.22));
            painter.drawRoundedRect(QRectF(x, 0.5, w, height() - 1), 4, 4);
            textRect.adjust(chipPadding, 0, -chipPadding, 0);
            painter.setPen(pal.color(QPalette::Text));
            break;
        case Badge::Style::Dot:
            painter.setPen(Qt::NoPen);
            painter.setBrush(badge.color);
            painter.drawEllipse(QRect(x, height() / 2 - dotSize / 2, dotSize, dotSize));
            textRect.adjust(dotSize + dotGap, 0, 0, 0);
            painter.setPen(pal.color(QPalette::WindowText));
            break;
        case Badge::Style::Text:
            painter.setPen(badge.color.isValid() ? badge.color : pal.color(QPalette::WindowText));
            break;
        }
        // The last badge may not fit a narrow window; elide it rather than clip mid-glyph.
        const int room = width() - textRect.left();
        const QString shown = fontMetrics().horizontalAdvance(badge.text) <= room
                                  ? badge.text
                                  : fontMetrics().elidedText(badge.text, Qt::ElideRight, room);
        painter.drawText(QRect(textRect.left(), top, room, textHeight),
                         Qt::AlignLeft | Qt::AlignVCenter | Qt::TextSingleLine, shown);
        x += w + spacing;
    }
}

} // namespace sb
