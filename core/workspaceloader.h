#pragma once

#include "diagnostic.h"
#include "result.h"
#include "workspace.h"

#include <QByteArray>
#include <QString>

namespace sb {

class AdapterRegistry;

// Parses and checks the common structure of a workspace file: names, environments, adapter
// types known to `registry`, services and their capability bindings. Adapter settings are left
// to each adapter's factory. The first problem found is returned; nothing is half-loaded.
Result<Workspace, Diagnostic> loadWorkspace(const QString &path, const AdapterRegistry &registry);
Result<Workspace, Diagnostic> parseWorkspace(const QByteArray &yaml, const QString &file,
                                             const AdapterRegistry &registry);

} // namespace sb
