#include "endpointsettings.h"

#include "yamlreader.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QRegularExpression>

namespace sb::http {

namespace {

constexpr qint64 maxTokenFileBytes = 64 * 1024;
const std::chrono::milliseconds minTimeout{100};
constexpr int maxRetries = 10;

QUrl readUrl(const YamlMap &map, const QString &what)
{
    const QString text = map.requiredString("url").trimmed();
    const YAML::Node node = map.node("url");
    const QUrl url(text, QUrl::StrictMode);
    // Credentials in the address would end up in messages and logs.
    if (!url.userInfo().isEmpty() || text.contains(QLatin1Char('@')))
        failAt(map.file(), node,
               QStringLiteral("url of %1 must not carry a user name or password; give a bearer "
                              "token with token_env or token_file instead")
                   .arg(what));
    const QString scheme = url.scheme();
    if (!url.isValid() || url.host().isEmpty()
        || (scheme != QLatin1String("http") && scheme != QLatin1String("https")))
        failAt(map.file(), node,
               QStringLiteral("url of %1 must be an http:// or https:// address with a host, like "
                              "https://prometheus.internal:9090, got %2")
                   .arg(what, quotedValue(text)));
    if (url.hasQuery() || url.hasFragment())
        failAt(map.file(), node,
               QStringLiteral("url of %1 must not have a query (?...) or fragment (#...): the "
                              "adapter adds its own; remove them")
                   .arg(what));
    return url;
}

// A path as written, relative to the workspace file's folder.
QString resolvePath(const YamlMap &map, const QString &path)
{
    if (QDir::isAbsolutePath(path))
        return QDir::cleanPath(path);
    return QDir::cleanPath(QFileInfo(map.file()).absoluteDir().filePath(path));
}

// The reason `path` cannot be read as a small regular file, or empty.
QString unreadableFile(const QString &path)
{
    const QFileInfo info(path);
    if (!info.exists())
        return QStringLiteral("does not exist");
    if (info.isDir())
        return QStringLiteral("is a directory");
    if (!info.isFile())
        return QStringLiteral("is not a regular file");
    if (!info.isReadable())
        return QStringLiteral("cannot be read (permissions)");
    return {};
}

QString readCaFile(const YamlMap &map, const QString &what)
{
    const QString written = map.string("ca_file", QString()).trimmed();
    if (written.isEmpty())
        return {};
    const QString path = resolvePath(map, written);
    const YAML::Node node = map.node("ca_file");
    const QString hint = QStringLiteral("give the PEM file of the CA that signed %1's certificate "
                                        "(a relative path starts at the workspace file's folder)")
                             .arg(what);
    if (const QString why = unreadableFile(path); !why.isEmpty())
        failAt(map.file(), node, QStringLiteral("ca_file %1 %2; %3").arg(path, why, hint));
    const Result<QByteArray, Diagnostic> content
        = readUserFile(path, QStringLiteral("CA file of %1").arg(what));
    if (!content.ok())
        failAt(map.file(), node, content.error().message);
    if (!content.value().contains("-----BEGIN CERTIFICATE-----"))
        failAt(map.file(), node,
               QStringLiteral("ca_file %1 holds no PEM certificate (-----BEGIN CERTIFICATE-----); "
                              "%2")
                   .arg(path, hint));
    return path;
}

// The message never shows the token, only where it came from.
QByteArray checkedToken(const YamlMap &map, const char *key, const QString &source,
                        QByteArray token)
{
    token = token.trimmed();
    if (token.isEmpty())
        failAt(map.file(), map.node(key),
               QStringLiteral("%1 is empty; put the token there").arg(source));
    for (const char c : std::as_const(token)) {
        if (uchar(c) < 0x20 || uchar(c) == 0x7f)
            failAt(map.file(), map.node(key),
                   QStringLiteral("the token in %1 contains a line break or control character; a "
                                  "bearer token is a single line")
                       .arg(source));
    }
    return token;
}

QByteArray readTokenFromEnvironment(const YamlMap &map)
{
    const QString name = map.string("token_env", QString()).trimmed();
    static const QRegularExpression validName(QStringLiteral("^[A-Za-z_][A-Za-z0-9_]*$"));
    if (!validName.match(name).hasMatch())
        failAt(map.file(), map.node("token_env"),
               QStringLiteral("token_env must name an environment variable (letters, digits and "
                              "'_'), like PROMETHEUS_TOKEN, got %1")
                   .arg(quotedValue(name)));
    const QString source = QStringLiteral("environment variable %1").arg(name);
    if (!qEnvironmentVariableIsSet(name.toLocal8Bit().constData()))
        failAt(map.file(), map.node("token_env"),
               QStringLiteral("%1 is not set; export it with the token before starting the "
                              "console, or use token_file")
                   .arg(source));
    return checkedToken(map, "token_env", source, qgetenv(name.toLocal8Bit().constData()));
}

QByteArray readTokenFromFile(const YamlMap &map)
{
    const YAML::Node node = map.node("token_file");
    const QString path = resolvePath(map, map.string("token_file", QString()).trimmed());
    const QString hint = QStringLiteral("give the file that holds the bearer token (a relative "
                                        "path starts at the workspace file's folder)");
    if (const QString why = unreadableFile(path); !why.isEmpty())
        failAt(map.file(), node, QStringLiteral("token_file %1 %2; %3").arg(path, why, hint));
    if (QFileInfo(path).size() > maxTokenFileBytes)
        failAt(map.file(), node,
               QStringLiteral("token_file %1 is larger than %2 KB, too large for a token; is it "
                              "the right file?")
                   .arg(path)
                   .arg(maxTokenFileBytes / 1024));
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly))
        failAt(map.file(), node,
               QStringLiteral("token_file %1 cannot be opened: %2").arg(path, file.errorString()));
    return checkedToken(map, "token_file", QStringLiteral("token_file %1").arg(path),
                        file.read(maxTokenFileBytes + 1));
}

} // namespace

Request EndpointSettings::request(const QString &path,
                                  const QList<QPair<QString, QString>> &query) const
{
    Request request;
    request.url = url;
    QString joined = url.path();
    while (joined.endsWith(QLatin1Char('/')))
        joined.chop(1);
    joined += QLatin1Char('/') + (path.startsWith(QLatin1Char('/')) ? path.mid(1) : path);
    request.url.setPath(joined);
    if (!query.isEmpty()) {
        // Encoded by hand: QUrlQuery leaves '+' alone, which servers read as a space, and PromQL
        // is full of them.
        QByteArray encoded;
        for (const auto &[key, value] : query) {
            if (!encoded.isEmpty())
                encoded += '&';
            encoded += QUrl::toPercentEncoding(key) + '=' + QUrl::toPercentEncoding(value);
        }
        request.url.setQuery(QString::fromLatin1(encoded), QUrl::StrictMode);
    }
    request.timeout = timeout;
    request.retries = retries;
    request.tls = tls;
    request.bearerToken = bearerToken;
    return request;
}

QStringList endpointKeys()
{
    return {QStringLiteral("url"),        QStringLiteral("timeout"), QStringLiteral("retries"),
            QStringLiteral("tls_verify"), QStringLiteral("ca_file"), QStringLiteral("token_env"),
            QStringLiteral("token_file")};
}

EndpointSettings readEndpoint(const YamlMap &map, const QString &what)
{
    EndpointSettings settings;
    settings.url = readUrl(map, what);
    settings.timeout = map.duration("timeout", settings.timeout, minTimeout);
    settings.retries = map.integer("retries", settings.retries, 0, maxRetries);
    settings.tls.verifyPeer = map.boolean("tls_verify", true);
    settings.tls.caFile = readCaFile(map, what);
    const bool fromEnvironment = map.has("token_env");
    const bool fromFile = map.has("token_file");
    if (fromEnvironment && fromFile)
        failAt(map.file(), map.keyNode("token_file"),
               QStringLiteral("%1 gives both token_env and token_file; keep the one that holds "
                              "the token")
                   .arg(what));
    if (fromEnvironment)
        settings.bearerToken = readTokenFromEnvironment(map);
    else if (fromFile)
        settings.bearerToken = readTokenFromFile(map);
    return settings;
}

} // namespace sb::http
