#include "workspace.h"

namespace sb {

QString toString(Capability capability)
{
    switch (capability) {
    case Capability::Fleet: return QStringLiteral("fleet");
    case Capability::Traffic: return QStringLiteral("traffic");
    case Capability::Deploy: return QStringLiteral("deploy");
    case Capability::Metrics: return QStringLiteral("metrics");
    }
    return {};
}

std::optional<Capability> capabilityFromString(const QString &text)
{
    for (Capability capability : allCapabilities) {
        if (toString(capability) == text)
            return capability;
    }
    return std::nullopt;
}

const AdapterSpec *Workspace::adapter(const QString &name) const
{
    for (const AdapterSpec &spec : adapters) {
        if (spec.name == name)
            return &spec;
    }
    return nullptr;
}

const ServiceSpec *Workspace::service(const ServiceKey &key) const
{
    for (const ServiceSpec &spec : services) {
        if (spec.key == key)
            return &spec;
    }
    return nullptr;
}

const CanaryPlan *Workspace::plan(const QString &name) const
{
    for (const CanaryPlan &plan : plans) {
        if (plan.name == name)
            return &plan;
    }
    return nullptr;
}

} // namespace sb
