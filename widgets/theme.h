#pragma once

#include "adapter.h"
#include "fleet.h"
#include "gate.h"

#include <QColor>
#include <QPalette>

class QWidget;

namespace sb::theme {

// The desktop's palette decides light or dark; Qt 6.4 has no colour-scheme hint yet, so read
// the window colour's lightness.
bool isDark(const QPalette &palette);

// Colours chosen to stay distinct from each other, and readable in both palettes, for the
// most common colour-vision deficiencies: state is also told by shape and text elsewhere.
QColor stateColor(InstanceState state, const QPalette &palette);
QColor healthColor(Health health, const QPalette &palette);
QColor connectionColor(ConnectionState state, const QPalette &palette);
// Pass reads as healthy, fail as critical, inconclusive as a wait.
QColor verdictColor(Verdict verdict, const QPalette &palette);
// Canary and baseline in charts and figures: a warm and a cool colour, apart in every palette.
QColor canaryColor(const QPalette &palette);
QColor baselineColor(const QPalette &palette);
// The version a release retires and the one it brings, wherever both are shown side by side
// (blue-green's two colours, a rolling update's instance grid): the baseline's and the
// canary's colours, so old and new look the same in every panel and chart.
QColor oldVersionColor(const QPalette &palette);
QColor newVersionColor(const QPalette &palette);
// A banner's background: `color` washed strongly enough to stand out from the window.
QColor bannerColor(const QColor &color, const QPalette &palette);
// Red text on a button whose action cannot be undone, while it is enabled: disabled, it looks
// like every other disabled button.
void markDestructive(QWidget *button);
// A faint wash of `color` over the base colour, for badges and bars.
QColor tint(const QColor &color, const QPalette &palette, double strength = 0.18);

} // namespace sb::theme
