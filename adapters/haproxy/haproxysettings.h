#pragma once

#include "fleet.h"
#include "timepoint.h"
#include "workspace.h"

#include <QList>
#include <QString>
#include <QStringList>

namespace sb::haproxy {

// Where the runtime API listens: `stats socket ipv4@host:port` or `stats socket /path`.
struct RuntimeApiAddress {
    enum class Kind { Tcp, Unix };
    Kind kind = Kind::Tcp;
    QString host; // Tcp
    quint16 port = 0;
    QString path; // Unix

    // "127.0.0.1:9999" or "/run/haproxy/admin.sock", as messages show it.
    QString display() const;
    // The haproxy.cfg line that opens this socket, for messages that say how to fix a setup.
    QString statsSocketLine() const;
    friend bool operator==(const RuntimeApiAddress &, const RuntimeApiAddress &) = default;
};

// The servers of one version: pre-provisioned slots in the backend, in the order they are used.
struct VersionSlots {
    QString version;
    QStringList servers;
    friend bool operator==(const VersionSlots &, const VersionSlots &) = default;
};

struct ServiceSettings {
    ServiceKey service;
    QString backend;
    QList<VersionSlots> versions; // in the order written
    // Canary and blue-green services get their split from the release engine's setWeights and
    // switchTo: a server brought in by scale carries no traffic until the router asks. Rolling
    // services (and services without a strategy) have no router step, so traffic follows the
    // admitted servers at their configured weights, as in a plain pool.
    bool routerSetsWeights = false;

    const VersionSlots *find(const QString &version) const;
    QStringList versionNames() const;
};

struct HaproxySettings {
    RuntimeApiAddress runtimeApi;
    Duration timeout{std::chrono::seconds(2)};
    Duration pollInterval{std::chrono::seconds(1)};
    // How long a server brought into the pool may fail its health checks before it counts as
    // failed rather than still starting.
    Duration startTimeout{std::chrono::seconds(30)};
    QList<ServiceSettings> services;

    const ServiceSettings *find(const ServiceKey &key) const;
};

// Parses "127.0.0.1:9999", "ipv4@127.0.0.1:9999", "[::1]:9999", "/run/haproxy/admin.sock" or
// "unix@/run/haproxy/admin.sock"; the error says what is wrong in words.
Result<RuntimeApiAddress, QString> parseRuntimeApiAddress(const QString &text);

// Validates `spec.settings` against the workspace: every service named must be a workspace
// service bound to this adapter, and every service bound to it must be listed. Throws
// DiagnosticError located in spec.file.
HaproxySettings parseHaproxySettings(const AdapterSpec &spec, const Workspace &workspace);

} // namespace sb::haproxy
