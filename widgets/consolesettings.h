#pragma once

#include <QByteArray>
#include <QString>

namespace sb {

// What the console remembers between runs. QSettings under the organisation and application
// names that main() sets.
struct ConsoleSettings {
    QByteArray windowGeometry;
    QByteArray windowState;
    QByteArray splitterState;
    // ServiceKey::id() of the last selected service, per workspace file.
    QString lastService;

    static ConsoleSettings load(const QString &workspaceFile);
    void save(const QString &workspaceFile) const;
};

} // namespace sb
