#include "workspace.h"

#include "yamlreader.h"

#include <QCryptographicHash>
#include <QDir>
#include <QFileInfo>
#include <QRegularExpression>
#include <QStandardPaths>

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

QString Workspace::journalPath() const
{
    if (!journal.isEmpty())
        return journal;
    if (file.startsWith(QLatin1Char(':')))
        return {};
    // The path's hash tells apart two workspaces of one name in different folders.
    const QByteArray where = QCryptographicHash::hash(QFileInfo(file).absoluteFilePath().toUtf8(),
                                                      QCryptographicHash::Sha1)
                                 .toHex()
                                 .left(8);
    QString safeName = name;
    safeName.replace(QRegularExpression(QStringLiteral("[^A-Za-z0-9_.-]+")), QStringLiteral("-"));
    return QDir(QStandardPaths::writableLocation(QStandardPaths::AppDataLocation))
        .filePath(
            QStringLiteral("journals/%1-%2.sqlite").arg(safeName, QString::fromLatin1(where)));
}

ServiceKey readBoundService(const YamlMap &map, const Workspace &workspace, const AdapterSpec &spec)
{
    const ServiceKey key{map.requiredString("service"), map.requiredString("environment")};
    const ServiceSpec *service = workspace.service(key);
    if (!service) {
        QStringList known;
        for (const ServiceSpec &s : workspace.services) {
            if (s.key.environment == key.environment)
                known.append(s.key.name);
        }
        const QString nearest = nearestWord(key.name, known);
        failAt(map.file(), map.node("service"),
               QStringLiteral("%1 '%2' settings name service '%3' in %4, which the workspace does "
                              "not define%5")
                   .arg(spec.type, spec.name, key.name, key.environment,
                        nearest.isEmpty() ? QString()
                                          : QStringLiteral("; did you mean '%1'?").arg(nearest)));
    }
    if (!service->isBoundTo(spec.name))
        failAt(map.file(), map.node("service"),
               QStringLiteral("service '%1' (%2) is not bound to %3 '%4'; bind it under the "
                              "service's adapters or remove these settings")
                   .arg(key.name, key.environment, spec.type, spec.name));
    return key;
}

} // namespace sb
