#include "nginxsettings.h"

#include "yamlreader.h"

#include <QDir>
#include <QFileInfo>
#include <QRegularExpression>
#include <QSet>

namespace sb::nginx {

namespace {

QString resolvePath(const QString &base, const QString &path)
{
    return QDir::cleanPath(QDir(base).absoluteFilePath(path));
}

// Everything written into the include file must stay one nginx token, so a value can never
// end the directive or open a block of its own.
void checkServerAddress(const QString &file, const YAML::Node &node, const QString &address)
{
    static const QRegularExpression form(
        QStringLiteral("^(\\[[0-9A-Fa-f:.]+\\]|[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?)"
                       "(:([0-9]{1,5}))?$"));
    if (address.startsWith(QLatin1String("unix:")))
        failAt(file, node,
               QStringLiteral("server %1 is a unix socket, which Signalbox cannot probe for "
                              "health; give the server's host:port")
                   .arg(quotedValue(address)));
    const QRegularExpressionMatch match = form.match(address);
    if (!match.hasMatch())
        failAt(file, node,
               QStringLiteral("server %1 is not a host:port address; write it as nginx's server "
                              "directive takes it, like 127.0.0.1:8081 or app-1.internal:8080")
                   .arg(quotedValue(address)));
    if (match.hasCaptured(4)) {
        const int port = match.captured(4).toInt();
        if (port < 1 || port > 65535)
            failAt(file, node,
                   QStringLiteral("server %1 has port %2, outside 1 to 65535")
                       .arg(quotedValue(address))
                       .arg(port));
    }
}

QList<VersionServers> readVersions(const YamlMap &service, const QString &what)
{
    const QString &file = service.file();
    const YAML::Node node = service.node("versions");
    if (nodeType(node) != YAML::NodeType::Map || node.size() == 0)
        failAt(file, nodeType(node) == YAML::NodeType::Undefined ? service.self() : node,
               QStringLiteral("%1 needs versions: a mapping from each version to the servers it "
                              "runs on, like {\"1.4.0\": [\"127.0.0.1:8081\"]}")
                   .arg(what));
    QList<VersionServers> versions;
    QSet<QString> seen;
    for (auto it = node.begin(); it != node.end(); ++it) {
        VersionServers version;
        version.version = QString::fromStdString(it->first.Scalar()).trimmed();
        if (version.version.isEmpty())
            failAt(file, it->first, QStringLiteral("a version of %1 has an empty name").arg(what));
        const YAML::Node servers = it->second;
        if (nodeType(servers) != YAML::NodeType::Sequence || servers.size() == 0)
            failAt(file, nodeType(servers) == YAML::NodeType::Sequence ? servers : it->first,
                   QStringLiteral("version '%1' of %2 must list its servers, like "
                                  "[\"127.0.0.1:8081\", \"127.0.0.1:8082\"]")
                       .arg(version.version, what));
        for (const YAML::Node &server : servers) {
            if (nodeType(server) != YAML::NodeType::Scalar)
                failAt(file, server,
                       QStringLiteral("each server of version '%1' must be a host:port address")
                           .arg(version.version));
            const QString address = QString::fromStdString(server.Scalar()).trimmed();
            checkServerAddress(file, server, address);
            if (seen.contains(address))
                failAt(file, server,
                       QStringLiteral("server %1 is listed twice for %2; a server runs one "
                                      "version at a time")
                           .arg(address, what));
            seen.insert(address);
            version.servers.append(address);
        }
        versions.append(version);
    }
    return versions;
}

ServiceSettings readService(const YAML::Node &node, const AdapterSpec &spec,
                            const Workspace &workspace, const QString &base)
{
    const QString &file = spec.file;
    const YamlMap map(node, file, QStringLiteral("a service of nginx '%1'").arg(spec.name),
                      {QStringLiteral("service"), QStringLiteral("environment"),
                       QStringLiteral("upstream"), QStringLiteral("file"),
                       QStringLiteral("health_path"), QStringLiteral("versions")});
    ServiceSettings service;
    service.service = readBoundService(map, workspace, spec);
    const QString what = QStringLiteral("service '%1' (%2)")
                             .arg(service.service.name, service.service.environment);

    static const QRegularExpression upstreamName(QStringLiteral("^[A-Za-z0-9_.-]+$"));
    service.upstream = map.requiredString("upstream").trimmed();
    if (!upstreamName.match(service.upstream).hasMatch())
        failAt(file, map.node("upstream"),
               QStringLiteral("upstream name %1 may hold only letters, digits, '_', '.' and '-'")
                   .arg(quotedValue(service.upstream)));

    service.fileAsWritten = map.requiredString("file").trimmed();
    service.file = resolvePath(base, service.fileAsWritten);

    service.healthPath = map.requiredString("health_path").trimmed();
    static const QRegularExpression pathForm(QStringLiteral("^/[^\\s#]*$"));
    if (!pathForm.match(service.healthPath).hasMatch())
        failAt(file, map.node("health_path"),
               QStringLiteral("health_path %1 must be a path starting with '/', like /ready")
                   .arg(quotedValue(service.healthPath)));

    service.versions = readVersions(map, what);
    return service;
}

} // namespace

const VersionServers *ServiceSettings::find(const QString &version) const
{
    for (const VersionServers &v : versions) {
        if (v.version == version)
            return &v;
    }
    return nullptr;
}

QString ServiceSettings::versionOf(const QString &server) const
{
    for (const VersionServers &v : versions) {
        if (v.servers.contains(server))
            return v.version;
    }
    return QString();
}

const ServiceSettings *NginxSettings::find(const ServiceKey &key) const
{
    for (const ServiceSettings &s : services) {
        if (s.service == key)
            return &s;
    }
    return nullptr;
}

NginxSettings parseNginxSettings(const AdapterSpec &spec, const Workspace &workspace)
{
    const QString &file = spec.file;
    const QString base
        = QFileInfo(workspace.file.isEmpty() ? spec.file : workspace.file).absolutePath();
    if (!spec.settings.IsDefined() || spec.settings.IsNull())
        failAt(file, spec.settings,
               QStringLiteral("nginx '%1' needs settings: at least its services with their "
                              "upstream, file, health_path and versions")
                   .arg(spec.name));
    const YamlMap map(spec.settings, file, QStringLiteral("settings of nginx '%1'").arg(spec.name),
                      {QStringLiteral("program"), QStringLiteral("config"),
                       QStringLiteral("prefix"), QStringLiteral("timeout"),
                       QStringLiteral("health_interval"), QStringLiteral("drain"),
                       QStringLiteral("services")});
    NginxSettings settings;
    const QString program = map.string("program", QString()).trimmed();
    // A bare name is looked up on PATH, as a shell would; anything with a slash is a path.
    settings.program = program.contains(QLatin1Char('/')) ? resolvePath(base, program) : program;
    const QString config = map.string("config", QString()).trimmed();
    if (!config.isEmpty())
        settings.config = resolvePath(base, config);
    const QString prefix = map.string("prefix", QString()).trimmed();
    if (!prefix.isEmpty())
        settings.prefix = resolvePath(base, prefix);
    settings.timeout = map.duration("timeout", settings.timeout, Duration(100));
    settings.healthInterval
        = map.duration("health_interval", settings.healthInterval, Duration(100));
    settings.drain = map.duration("drain", settings.drain);

    const YAML::Node services = map.node("services");
    requireSequence(file, services, QStringLiteral("services of nginx '%1'").arg(spec.name));
    for (const YAML::Node &node : services) {
        ServiceSettings service = readService(node, spec, workspace, base);
        if (settings.find(service.service))
            failAt(file, node,
                   QStringLiteral("service '%1' (%2) is listed twice under nginx '%3'")
                       .arg(service.service.name, service.service.environment, spec.name));
        // One nginx configuration holds every upstream, and each file is written whole.
        for (const ServiceSettings &other : std::as_const(settings.services)) {
            if (other.upstream == service.upstream)
                failAt(file, findEntry(node, "upstream")->value,
                       QStringLiteral("upstream '%1' is already used by service '%2' (%3); "
                                      "nginx allows each upstream name once")
                           .arg(service.upstream, other.service.name, other.service.environment));
            if (other.file == service.file)
                failAt(
                    file, findEntry(node, "file")->value,
                    QStringLiteral("file %1 is already written for service '%2' (%3); give "
                                   "each service a file of its own")
                        .arg(service.fileAsWritten, other.service.name, other.service.environment));
        }
        settings.services.append(service);
    }
    for (const ServiceSpec &service : workspace.services) {
        if (service.isBoundTo(spec.name) && !settings.find(service.key))
            failAt(file, services.IsDefined() ? services : spec.settings,
                   QStringLiteral("service '%1' (%2) is bound to nginx '%3', but its settings do "
                                  "not list it; add it under services with its upstream, file, "
                                  "health_path and versions")
                       .arg(service.key.name, service.key.environment, spec.name));
    }
    return settings;
}

} // namespace sb::nginx
