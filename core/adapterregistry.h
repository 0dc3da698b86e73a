#pragma once

#include "adapter.h"
#include "workspace.h"

#include <QList>
#include <QString>

#include <functional>
#include <memory>

namespace sb {

class Clock;

struct AdapterContext {
    Clock *clock = nullptr;
    const Workspace *workspace = nullptr;
};

// A kind of backend the workspace can name with `type:`.
struct AdapterType {
    QString type;
    QString description;
    QList<Capability> capabilities;
    // Builds the adapter from its spec without doing any I/O. Bad settings throw
    // DiagnosticError located in spec.file.
    std::function<std::unique_ptr<Adapter>(const AdapterSpec &spec, const AdapterContext &context)>
        create;
    // A stand-in for real infrastructure: what it does cannot reach users, so a workspace may
    // start releases on it by itself.
    bool simulated = false;
};

// Filled once from main() (a static library would drop self-registering objects).
class AdapterRegistry
{
public:
    void add(AdapterType type);
    const AdapterType *find(const QString &type) const;
    QStringList typeNames() const;

private:
    QList<AdapterType> m_types;
};

} // namespace sb
