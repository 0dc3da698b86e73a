#include "adapterregistry.h"

namespace sb {

void AdapterRegistry::add(AdapterType type)
{
    Q_ASSERT_X(!find(type.type), "AdapterRegistry::add", "adapter type registered twice");
    m_types.append(std::move(type));
}

const AdapterType *AdapterRegistry::find(const QString &type) const
{
    for (const AdapterType &entry : m_types) {
        if (entry.type == type)
            return &entry;
    }
    return nullptr;
}

QStringList AdapterRegistry::typeNames() const
{
    QStringList names;
    for (const AdapterType &entry : m_types)
        names.append(entry.type);
    return names;
}

} // namespace sb
