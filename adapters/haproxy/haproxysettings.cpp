#include "haproxysettings.h"

#include "yamlreader.h"

#include <QHash>
#include <QRegularExpression>

namespace sb::haproxy {

namespace {

// HAProxy's own rule for proxy and server names. Checking it here also keeps anything that
// would split or extend a runtime API command line (spaces, ';') out of the commands we send.
bool isValidName(const QString &name)
{
    static const QRegularExpression valid(QStringLiteral("^[A-Za-z0-9_.:-]+$"));
    return valid.match(name).hasMatch();
}

QString requiredName(const YamlMap &map, const char *key, const QString &what)
{
    const QString name = map.requiredString(key);
    if (!isValidName(name))
        failAt(map.file(), map.node(key),
               QStringLiteral("%1 %2 is not a valid HAProxy name: use letters, digits, '-', '_', "
                              "'.' and ':' as in haproxy.cfg")
                   .arg(what, quotedValue(name)));
    return name;
}

QList<VersionSlots> readVersions(const YamlMap &map, const ServiceSettings &service)
{
    const QString &file = map.file();
    if (!map.has("versions"))
        failAt(file, map.keyNode("versions").IsDefined() ? map.keyNode("versions") : map.self(),
               QStringLiteral("service '%1' needs versions: which servers of backend %2 run which "
                              "version, like \"1.4.0\": [blue1, blue2]")
                   .arg(service.service.id(), service.backend));
    const YAML::Node node = map.node("versions");
    if (!node.IsMap())
        failAt(file, node,
               QStringLiteral("versions of '%1' must map each version to its servers, like "
                              "\"1.4.0\": [blue1, blue2]")
                   .arg(service.service.id()));

    QList<VersionSlots> versions;
    QHash<QString, QString> versionOfServer;
    for (auto it = node.begin(); it != node.end(); ++it) {
        if (nodeType(it->first) != YAML::NodeType::Scalar)
            failAt(file, it->first,
                   QStringLiteral("a version of '%1' must be a plain name like \"1.4.0\"")
                       .arg(service.service.id()));
        VersionSlots placement;
        placement.version = QString::fromStdString(it->first.Scalar()).trimmed();
        if (placement.version.isEmpty())
            failAt(file, it->first,
                   QStringLiteral("a version of '%1' has an empty name").arg(service.service.id()));
        for (const VersionSlots &seen : versions) {
            if (seen.version == placement.version)
                failAt(file, it->first,
                       QStringLiteral("version '%1' of '%2' is listed twice; keep one")
                           .arg(placement.version, service.service.id()));
        }
        const YAML::Node servers = it->second;
        if (nodeType(servers) != YAML::NodeType::Sequence || servers.size() == 0)
            failAt(file, servers.IsDefined() && !servers.IsNull() ? servers : it->first,
                   QStringLiteral("version '%1' of '%2' must list its servers in backend %3, like "
                                  "[green1, green2]")
                       .arg(placement.version, service.service.id(), service.backend));
        for (const YAML::Node &server : servers) {
            const QString name = nodeType(server) == YAML::NodeType::Scalar
                                     ? QString::fromStdString(server.Scalar())
                                     : QString();
            if (!isValidName(name))
                failAt(file, server,
                       QStringLiteral("server %1 of version '%2' is not a valid HAProxy server "
                                      "name: use letters, digits, '-', '_', '.' and ':' as in "
                                      "haproxy.cfg")
                           .arg(quotedValue(name), placement.version));
            if (const QString other = versionOfServer.value(name); !other.isNull())
                failAt(
                    file, server,
                    other == placement.version
                        ? QStringLiteral("server '%1' is listed twice for version '%2'; keep one")
                              .arg(name, other)
                        : QStringLiteral("server '%1' is listed for both version '%2' and "
                                         "'%3'; a server runs one version")
                              .arg(name, other, placement.version));
            versionOfServer.insert(name, placement.version);
            placement.servers.append(name);
        }
        versions.append(placement);
    }
    if (versions.isEmpty())
        failAt(file, node,
               QStringLiteral("versions of '%1' is empty; list at least the version running now, "
                              "like \"1.4.0\": [blue1, blue2]")
                   .arg(service.service.id()));
    return versions;
}

} // namespace

QString RuntimeApiAddress::display() const
{
    if (kind == Kind::Unix)
        return path;
    const bool ipv6 = host.contains(QLatin1Char(':'));
    return (ipv6 ? QLatin1Char('[') + host + QLatin1Char(']') : host) + QLatin1Char(':')
           + QString::number(port);
}

QString RuntimeApiAddress::statsSocketLine() const
{
    if (kind == Kind::Unix)
        return QStringLiteral("stats socket %1 level admin").arg(path);
    const bool ipv6 = host.contains(QLatin1Char(':'));
    return QStringLiteral("stats socket %1@%2 level admin")
        .arg(ipv6 ? QStringLiteral("ipv6") : QStringLiteral("ipv4"), display());
}

Result<RuntimeApiAddress, QString> parseRuntimeApiAddress(const QString &input)
{
    QString text = input.trimmed();
    const QString forms
        = QStringLiteral("write host:port for `stats socket ipv4@host:port`, or the "
                         "absolute path of a Unix socket");
    RuntimeApiAddress address;
    if (text.startsWith(QLatin1String("unix@")))
        text = text.mid(5);
    if (text.startsWith(QLatin1Char('/'))) {
        address.kind = RuntimeApiAddress::Kind::Unix;
        address.path = text;
        return address;
    }
    for (const char *prefix : {"ipv4@", "ipv6@"}) {
        if (text.startsWith(QLatin1String(prefix)))
            text = text.mid(5);
    }
    QString host, port;
    if (text.startsWith(QLatin1Char('['))) {
        const qsizetype close = text.indexOf(QLatin1String("]:"));
        if (close < 0)
            return QStringLiteral("%1 is not an address; %2").arg(quotedValue(input), forms);
        host = text.mid(1, close - 1);
        port = text.mid(close + 2);
    } else {
        const qsizetype colon = text.lastIndexOf(QLatin1Char(':'));
        if (colon <= 0 || text.count(QLatin1Char(':')) > 1)
            return QStringLiteral("%1 is neither host:port nor a socket path; %2")
                .arg(quotedValue(input), forms);
        host = text.left(colon);
        port = text.mid(colon + 1);
    }
    bool ok = false;
    const uint number = port.toUInt(&ok);
    if (!ok || number == 0 || number > 65535)
        return QStringLiteral("the port in %1 must be a number from 1 to 65535")
            .arg(quotedValue(input));
    if (host.isEmpty() || host.contains(QLatin1Char(' ')))
        return QStringLiteral("%1 has no host before the port; %2").arg(quotedValue(input), forms);
    address.kind = RuntimeApiAddress::Kind::Tcp;
    address.host = host;
    address.port = quint16(number);
    return address;
}

const VersionSlots *ServiceSettings::find(const QString &version) const
{
    for (const VersionSlots &placement : versions) {
        if (placement.version == version)
            return &placement;
    }
    return nullptr;
}

QStringList ServiceSettings::versionNames() const
{
    QStringList names;
    for (const VersionSlots &placement : versions)
        names.append(placement.version);
    return names;
}

const ServiceSettings *HaproxySettings::find(const ServiceKey &key) const
{
    for (const ServiceSettings &service : services) {
        if (service.service == key)
            return &service;
    }
    return nullptr;
}

HaproxySettings parseHaproxySettings(const AdapterSpec &spec, const Workspace &workspace)
{
    HaproxySettings settings;
    const QString &file = spec.file;
    const YamlMap map(
        spec.settings, file, QStringLiteral("settings of haproxy '%1'").arg(spec.name),
        {QStringLiteral("runtime_api"), QStringLiteral("timeout"), QStringLiteral("poll_interval"),
         QStringLiteral("start_timeout"), QStringLiteral("services")});

    const Result<RuntimeApiAddress, QString> address
        = parseRuntimeApiAddress(map.requiredString("runtime_api"));
    if (!address)
        failAt(file, map.node("runtime_api"), QStringLiteral("runtime_api: ") + address.error());
    settings.runtimeApi = address.value();
    settings.timeout = map.duration("timeout", settings.timeout, Duration(10));
    settings.pollInterval = map.duration("poll_interval", settings.pollInterval, Duration(100));
    settings.startTimeout = map.duration("start_timeout", settings.startTimeout);

    const YAML::Node servicesNode = map.node("services");
    requireSequence(file, servicesNode, QStringLiteral("services of haproxy '%1'").arg(spec.name));
    QHash<QString, ServiceKey> serviceOfBackend;
    for (const YAML::Node &node : servicesNode) {
        const YamlMap entry(node, file, QStringLiteral("a service of haproxy '%1'").arg(spec.name),
                            {QStringLiteral("service"), QStringLiteral("environment"),
                             QStringLiteral("backend"), QStringLiteral("versions")});
        ServiceSettings service;
        service.service = readBoundService(entry, workspace, spec);
        if (settings.find(service.service))
            failAt(file, node,
                   QStringLiteral("service '%1' is listed twice under haproxy '%2'; keep one")
                       .arg(service.service.id(), spec.name));
        service.backend = requiredName(entry, "backend", QStringLiteral("backend"));
        if (const auto other = serviceOfBackend.constFind(service.backend);
            other != serviceOfBackend.constEnd())
            failAt(file, entry.node("backend"),
                   QStringLiteral("backend %1 already serves '%2'; each service needs its own "
                                  "backend")
                       .arg(service.backend, other->id()));
        serviceOfBackend.insert(service.backend, service.service);
        service.versions = readVersions(entry, service);
        const Strategy strategy = workspace.service(service.service)->strategy;
        service.routerSetsWeights = strategy == Strategy::Canary || strategy == Strategy::BlueGreen;
        settings.services.append(service);
    }

    for (const ServiceSpec &service : workspace.services) {
        if (service.isBoundTo(spec.name) && !settings.find(service.key))
            failAt(file, servicesNode.IsDefined() ? servicesNode : map.self(),
                   QStringLiteral("service '%1' is bound to haproxy '%2' but not listed under its "
                                  "services; add it with its backend and versions")
                       .arg(service.key.id(), spec.name));
    }
    return settings;
}

} // namespace sb::haproxy
