#include "consolesettings.h"

#include <QSettings>

namespace sb {

namespace {
const auto geometryKey = QStringLiteral("window/geometry");
const auto stateKey = QStringLiteral("window/state");
const auto splitterKey = QStringLiteral("window/splitter");

QString selectionKey(const QString &workspaceFile)
{
    // Slashes would nest groups in QSettings; a selection is per file, flat.
    return QStringLiteral("selection/")
           + QString(workspaceFile).replace(QLatin1Char('/'), QLatin1Char('|'));
}
} // namespace

ConsoleSettings ConsoleSettings::load(const QString &workspaceFile)
{
    QSettings settings;
    ConsoleSettings loaded;
    loaded.windowGeometry = settings.value(geometryKey).toByteArray();
    loaded.windowState = settings.value(stateKey).toByteArray();
    loaded.splitterState = settings.value(splitterKey).toByteArray();
    loaded.lastService = settings.value(selectionKey(workspaceFile)).toString();
    return loaded;
}

void ConsoleSettings::save(const QString &workspaceFile) const
{
    QSettings settings;
    settings.setValue(geometryKey, windowGeometry);
    settings.setValue(stateKey, windowState);
    settings.setValue(splitterKey, splitterState);
    if (!lastService.isEmpty())
        settings.setValue(selectionKey(workspaceFile), lastService);
}

} // namespace sb
