#pragma once

#include "httpclient.h"

#include <QStringList>
#include <QUrl>

#include <chrono>

namespace sb {
class YamlMap;
}

namespace sb::http {

// How an adapter reaches an HTTP backend, read from its workspace settings:
//   url: https://prometheus.internal:9090   (required; http or https)
//   timeout: 5s                              per request
//   retries: 2                               for reads only
//   tls_verify: true                         false only for a lab; the console says so
//   ca_file: /etc/ssl/private-ca.pem         relative to the workspace file
//   token_env: PROMETHEUS_TOKEN              bearer token from this environment variable,
//   token_file: /run/secrets/prom-token      or from this file (one of the two)
struct EndpointSettings {
    QUrl url;
    std::chrono::milliseconds timeout{5000};
    int retries = 2;
    TlsOptions tls;
    QByteArray bearerToken; // read once when the workspace opens; never shown

    // A request for `path` (with `query`) under url, carrying timeout, retries, TLS and token.
    Request request(const QString &path, const QList<QPair<QString, QString>> &query = {}) const;
};

// The keys above, for a settings map's allowed keys.
QStringList endpointKeys();

// Reads them from `map`; a bad value, a token variable that is unset or a token file that cannot
// be read throws DiagnosticError at the key. `what` names the adapter in messages ("prometheus
// 'metrics'").
EndpointSettings readEndpoint(const YamlMap &map, const QString &what);

} // namespace sb::http
