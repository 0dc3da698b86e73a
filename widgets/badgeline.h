#pragma once

#include <QColor>
#include <QList>
#include <QWidget>

namespace sb {

struct Badge {
    enum class Style {
        Chip, // text on a tinted, rounded background
        Dot,  // a coloured dot before the text
        Text, // text in the colour, or the window's text colour when none is given
    };
    Style style = Style::Text;
    QString text;
    QColor color;

    friend bool operator==(const Badge &, const Badge &) = default;
};

// A row of badges painted in one line, for facts that change with every refresh (health
// verdicts, tallies). Like TextLine, a change repaints the row without laying out the window.
class BadgeLine : public QWidget
{
    Q_OBJECT
public:
    explicit BadgeLine(Qt::Alignment alignment = Qt::AlignLeft, QWidget *parent = nullptr);

    void setBadges(const QList<Badge> &badges);
    const QList<Badge> &badges() const { return m_badges; }
    // The badges as plain text, for tests and accessibility.
    QString text() const;

    QSize sizeHint() const override;
    QSize minimumSizeHint() const override;

protected:
    void paintEvent(QPaintEvent *event) override;

private:
    int badgeWidth(const Badge &badge) const;

    Qt::Alignment m_alignment;
    QList<Badge> m_badges;
};

} // namespace sb
