#pragma once

#include "diagnostic.h"
#include "fleet.h"

#include <QHashFunctions>
#include <QList>
#include <QMap>
#include <QString>
#include <QStringList>

#include <yaml-cpp/yaml.h>

#include <optional>

namespace sb {

enum class Capability { Fleet, Traffic, Deploy, Metrics };
QString toString(Capability capability); // "fleet", "traffic", "deploy", "metrics"
std::optional<Capability> capabilityFromString(const QString &text);
inline size_t qHash(Capability capability, size_t seed = 0) noexcept
{
    return ::qHash(int(capability), seed);
}
inline constexpr Capability allCapabilities[]
    = {Capability::Fleet, Capability::Traffic, Capability::Deploy, Capability::Metrics};

struct AdapterSpec {
    QString name;
    QString type;
    // Type-specific; the adapter's factory validates it (with the file for its messages).
    YAML::Node settings;
    QString file;
    int line = 0;
};

struct ServiceSpec {
    ServiceKey key;
    Strategy strategy = Strategy::None;
    QString description;
    // Which adapter (by name) serves each capability; a capability may be left unbound.
    QMap<Capability, QString> bindings;
    int line = 0;
};

struct Workspace {
    QString file;      // absolute path it was loaded from
    QByteArray source; // the text it was parsed from, to quote lines in later messages
    QString name;
    QStringList environments;
    QList<AdapterSpec> adapters;
    QList<ServiceSpec> services;

    const AdapterSpec *adapter(const QString &name) const;
    const ServiceSpec *service(const ServiceKey &key) const;
};

} // namespace sb
