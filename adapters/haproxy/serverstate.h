#pragma once

#include "result.h"

#include <QHash>
#include <QList>
#include <QMap>
#include <QString>
#include <QStringList>

namespace sb::haproxy {

// One server as HAProxy reports it, from `show servers state` (admin and operational state,
// weights, check) and `show stat` (current sessions).
struct ServerState {
    // HAProxy's srv_op_state.
    enum class Operational { Stopped = 0, Starting = 1, Running = 2, Stopping = 3 };

    QString backend;
    QString name;
    Operational operational = Operational::Stopped;
    int admin = 0;        // srv_admin_state flags
    int weight = 0;       // srv_uweight: the weight set in haproxy.cfg or by `set weight`
    int configWeight = 0; // srv_iweight: the weight haproxy.cfg gives it
    int checkStatus = 0;  // srv_check_status: the last finished check's outcome
    int checkState = 0;   // srv_check_state flags
    int sessions = 0;     // scur

    // Not in maintenance (forced, inherited or from a DNS failure): it is part of the pool.
    bool admitted() const { return !(admin & 0x23); }
    // Set to drain (forced or inherited): it finishes its sessions and takes no new ones.
    bool draining() const { return admin & 0x18; }
    bool checked() const { return checkState & 0x4; }
    // Health checks are on but none has finished since the server entered the pool: the
    // status is still "unknown" or "initializing" (srv_check_result cannot tell, as it reads
    // "unknown" while any check is under way).
    bool awaitingFirstCheck() const { return checked() && checkStatus < 3; }
    // In the pool and taking new requests by its weight.
    bool serving() const { return admitted() && !draining(); }

    friend bool operator==(const ServerState &, const ServerState &) = default;
};

// Every backend's servers, by backend name, in the order haproxy.cfg lists them.
using BackendStates = QHash<QString, QList<ServerState>>;

// The commands that read what parseServerStates() reads, in this order, in one command line.
QStringList stateCommands();

// Parses the answers to stateCommands(). The error quotes what HAProxy said instead.
Result<BackendStates> parseServerStates(const QString &serversState, const QString &stat);

const ServerState *findServer(const QList<ServerState> &servers, const QString &name);

// HAProxy weights for a split in percent. `servingByVersion` lists, per version, the servers
// that take requests; each version's share is spread over them. The weights add up to
// weightTotal (200, so every half percent is exact and one server's weight stays within
// HAProxy's 256), with the rounding that keeps each version's share closest to what was asked
// and no version that was asked for any share left with none.
constexpr int weightTotal = 200;
QHash<QString, int> weightsForSplit(const QMap<QString, double> &weightPercent,
                                    const QMap<QString, QStringList> &servingByVersion);

} // namespace sb::haproxy
