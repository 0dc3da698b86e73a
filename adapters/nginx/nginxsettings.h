#pragma once

#include "fleet.h"
#include "timepoint.h"
#include "workspace.h"

#include <QList>
#include <QString>
#include <QStringList>

#include <chrono>

namespace sb::nginx {

// The servers one version runs on, provisioned outside Signalbox; scaling admits them into the
// upstream in this order and takes them out in reverse.
struct VersionServers {
    QString version;
    QStringList servers; // "host:port" or "unix:/path", as nginx's server directive takes them
};

struct ServiceSettings {
    ServiceKey service;
    QString upstream;      // the name of the upstream block the file defines
    QString file;          // absolute path of the include file Signalbox owns
    QString fileAsWritten; // as the workspace names it, for messages
    QString healthPath;    // probed on every admitted server, like "/ready"
    QList<VersionServers> versions;

    const VersionServers *find(const QString &version) const;
    // The version a server belongs to, or empty when none lists it.
    QString versionOf(const QString &server) const;
};

struct NginxSettings {
    // Empty: nginx on PATH, else /usr/sbin/nginx, looked up when the adapter starts.
    QString program;
    QString config; // absolute; empty for nginx's compiled-in default
    QString prefix; // absolute; empty for nginx's compiled-in default
    Duration timeout{std::chrono::seconds(10)};
    Duration healthInterval{std::chrono::seconds(1)};
    // How long a server taken out by a scale-down is shown as draining: nginx lets its
    // connections finish on their own, for up to worker_shutdown_timeout.
    Duration drain{std::chrono::seconds(10)};
    QList<ServiceSettings> services;

    const ServiceSettings *find(const ServiceKey &key) const;
};

// Validates `spec.settings` against the workspace: every service named must exist there and be
// bound to this adapter, and every service bound to it must be listed. Relative paths are
// resolved against the workspace file's folder. Throws DiagnosticError located in spec.file.
NginxSettings parseNginxSettings(const AdapterSpec &spec, const Workspace &workspace);

} // namespace sb::nginx
