#include "theme.h"

#include "adapter.h"

#include <QWidget>

namespace sb::theme {

bool isDark(const QPalette &palette)
{
    return palette.color(QPalette::Window).lightnessF() < 0.5;
}

QColor stateColor(InstanceState state, const QPalette &palette)
{
    const bool dark = isDark(palette);
    switch (state) {
    case InstanceState::Ready: return dark ? QColor(0x34, 0xd3, 0x99) : QColor(0x05, 0x96, 0x69);
    case InstanceState::Starting: return dark ? QColor(0x60, 0xa5, 0xfa) : QColor(0x25, 0x63, 0xeb);
    case InstanceState::Draining: return dark ? QColor(0xfb, 0xbf, 0x24) : QColor(0xd9, 0x77, 0x06);
    case InstanceState::Failed: return dark ? QColor(0xf8, 0x71, 0x71) : QColor(0xdc, 0x26, 0x26);
    case InstanceState::Terminated:
        return dark ? QColor(0x4b, 0x55, 0x63) : QColor(0xc4, 0xc9, 0xd0);
    }
    return palette.color(QPalette::Mid);
}

QColor healthColor(Health health, const QPalette &palette)
{
    switch (health) {
    case Health::Healthy: return stateColor(InstanceState::Ready, palette);
    case Health::Degraded: return stateColor(InstanceState::Draining, palette);
    case Health::Critical: return stateColor(InstanceState::Failed, palette);
    case Health::Unknown: return palette.color(QPalette::PlaceholderText);
    }
    return palette.color(QPalette::Mid);
}

QColor connectionColor(ConnectionState state, const QPalette &palette)
{
    switch (state) {
    case ConnectionState::Connected: return healthColor(Health::Healthy, palette);
    case ConnectionState::Connecting: return stateColor(InstanceState::Starting, palette);
    case ConnectionState::Degraded: return healthColor(Health::Degraded, palette);
    case ConnectionState::Disconnected: return healthColor(Health::Critical, palette);
    }
    return palette.color(QPalette::Mid);
}

QColor verdictColor(Verdict verdict, const QPalette &palette)
{
    switch (verdict) {
    case Verdict::Pass: return healthColor(Health::Healthy, palette);
    case Verdict::Fail: return healthColor(Health::Critical, palette);
    case Verdict::Inconclusive: return healthColor(Health::Degraded, palette);
    }
    return palette.color(QPalette::Mid);
}

QColor canaryColor(const QPalette &palette)
{
    return isDark(palette) ? QColor(0xfb, 0x92, 0x3c) : QColor(0xea, 0x58, 0x0c);
}

QColor baselineColor(const QPalette &palette)
{
    return isDark(palette) ? QColor(0x93, 0xc5, 0xfd) : QColor(0x1d, 0x4e, 0xd8);
}

QColor oldVersionColor(const QPalette &palette)
{
    return baselineColor(palette);
}

QColor newVersionColor(const QPalette &palette)
{
    return canaryColor(palette);
}

QColor bannerColor(const QColor &color, const QPalette &palette)
{
    return tint(color, palette, isDark(palette) ? 0.3 : 0.16);
}

void markDestructive(QWidget *button)
{
    QPalette red = button->palette();
    const QColor critical = healthColor(Health::Critical, red);
    for (QPalette::ColorGroup group : {QPalette::Active, QPalette::Inactive})
        red.setColor(group, QPalette::ButtonText, critical);
    button->setPalette(red);
}

QColor tint(const QColor &color, const QPalette &palette, double strength)
{
    const QColor base = palette.color(QPalette::Base);
    auto mix = [strength](double over, double under) {
        return over * strength + under * (1 - strength);
    };
    return QColor::fromRgbF(float(mix(color.redF(), base.redF())),
                            float(mix(color.greenF(), base.greenF())),
                            float(mix(color.blueF(), base.blueF())));
}

} // namespace sb::theme
