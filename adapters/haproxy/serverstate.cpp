#include "serverstate.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace sb::haproxy {

namespace {

QString unexpected(const QString &command, const QString &answer)
{
    const QString firstLine = answer.section(QLatin1Char('\n'), 0, 0).trimmed();
    return QStringLiteral("HAProxy answered `%1` with \"%2\" instead of the table expected; is "
                          "this HAProxy 2.x with a stats socket at level admin?")
        .arg(command, firstLine.left(200));
}

// HAProxy said something else than the table: its own error answer.
Error refused(const QString &command, const QString &answer)
{
    return Error{Error::Kind::Failed, unexpected(command, answer)};
}

Error invalid(QString message)
{
    return Error{Error::Kind::Invalid, std::move(message)};
}

} // namespace

QStringList stateCommands()
{
    // Type 4 is servers; -1 every proxy and server.
    return {QStringLiteral("show servers state"), QStringLiteral("show stat -1 4 -1")};
}

Result<BackendStates> parseServerStates(const QString &serversState, const QString &stat)
{
    const QStringList commands = stateCommands();

    // `show servers state`: a format version line ("1"), a "# name name ..." header, then one
    // line of space-separated fields per server.
    const QStringList lines = serversState.split(QLatin1Char('\n'), Qt::SkipEmptyParts);
    if (lines.size() < 2 || lines[0].trimmed() != QLatin1String("1")
        || !lines[1].startsWith(QLatin1String("# ")))
        return refused(commands[0], serversState);
    const QStringList header = lines[1].mid(2).split(QLatin1Char(' '), Qt::SkipEmptyParts);
    const char *const required[]
        = {"be_name",     "srv_name",    "srv_op_state",     "srv_admin_state",
           "srv_uweight", "srv_iweight", "srv_check_status", "srv_check_state"};
    QHash<QString, qsizetype> column;
    for (const char *name : required) {
        const qsizetype index = header.indexOf(QLatin1String(name));
        if (index < 0)
            return invalid(QStringLiteral("HAProxy's answer to `%1` has no column %2; this "
                                          "version of HAProxy is not supported")
                               .arg(commands[0], QLatin1String(name)));
        column.insert(QLatin1String(name), index);
    }

    BackendStates states;
    for (qsizetype i = 2; i < lines.size(); ++i) {
        const QStringList fields = lines[i].split(QLatin1Char(' '), Qt::SkipEmptyParts);
        if (fields.size() < header.size())
            return invalid(unexpected(commands[0], lines[i]));
        auto number = [&](const char *name, bool *ok) {
            bool parsed = false;
            const int value = fields[column.value(QLatin1String(name))].toInt(&parsed);
            *ok = *ok && parsed;
            return value;
        };
        bool ok = true;
        ServerState server;
        server.backend = fields[column.value(QStringLiteral("be_name"))];
        server.name = fields[column.value(QStringLiteral("srv_name"))];
        const int operational = number("srv_op_state", &ok);
        server.admin = number("srv_admin_state", &ok);
        server.weight = number("srv_uweight", &ok);
        server.configWeight = number("srv_iweight", &ok);
        server.checkStatus = number("srv_check_status", &ok);
        server.checkState = number("srv_check_state", &ok);
        if (!ok || operational < 0 || operational > 3)
            return invalid(unexpected(commands[0], lines[i]));
        server.operational = ServerState::Operational(operational);
        states[server.backend].append(server);
    }

    // `show stat`: CSV with a "# pxname,svname,..." header; only the current sessions are
    // taken from it.
    const QStringList statLines = stat.split(QLatin1Char('\n'), Qt::SkipEmptyParts);
    if (statLines.isEmpty() || !statLines[0].startsWith(QLatin1String("# ")))
        return refused(commands[1], stat);
    const QStringList statHeader = statLines[0].mid(2).split(QLatin1Char(','));
    const qsizetype pxname = statHeader.indexOf(QLatin1String("pxname"));
    const qsizetype svname = statHeader.indexOf(QLatin1String("svname"));
    const qsizetype scur = statHeader.indexOf(QLatin1String("scur"));
    if (pxname < 0 || svname < 0 || scur < 0)
        return invalid(QStringLiteral("HAProxy's answer to `%1` lacks the pxname, svname or scur "
                                      "column; this version of HAProxy is not supported")
                           .arg(commands[1]));
    const qsizetype needed = std::max({pxname, svname, scur}) + 1;
    for (qsizetype i = 1; i < statLines.size(); ++i) {
        const QStringList fields = statLines[i].split(QLatin1Char(','));
        if (fields.size() < needed)
            return invalid(unexpected(commands[1], statLines[i]));
        auto backend = states.find(fields[pxname]);
        if (backend == states.end())
            continue;
        for (ServerState &server : *backend) {
            if (server.name == fields[svname])
                server.sessions = fields[scur].toInt();
        }
    }
    return states;
}

const ServerState *findServer(const QList<ServerState> &servers, const QString &name)
{
    for (const ServerState &server : servers) {
        if (server.name == name)
            return &server;
    }
    return nullptr;
}

QHash<QString, int> weightsForSplit(const QMap<QString, double> &weightPercent,
                                    const QMap<QString, QStringList> &servingByVersion)
{
    // Largest remainder: each version gets the whole units of its exact share, and the units
    // left go to the versions with the largest fractions.
    struct Share {
        QString version;
        int units = 0;
        double fraction = 0;
        bool wanted = false;
    };
    std::vector<Share> shares;
    double sum = 0;
    for (auto it = weightPercent.cbegin(); it != weightPercent.cend(); ++it)
        sum += std::max(0.0, it.value());
    int assigned = 0;
    for (auto it = weightPercent.cbegin(); it != weightPercent.cend(); ++it) {
        if (!servingByVersion.contains(it.key()))
            continue;
        const double exact = sum > 0 ? std::max(0.0, it.value()) / sum * weightTotal : 0;
        Share share{it.key(), int(std::floor(exact)), exact - std::floor(exact), it.value() > 0};
        assigned += share.units;
        shares.push_back(share);
    }
    std::vector<Share *> byFraction;
    for (Share &share : shares)
        byFraction.push_back(&share);
    std::stable_sort(byFraction.begin(), byFraction.end(),
                     [](const Share *a, const Share *b) { return a->fraction > b->fraction; });
    for (Share *share : byFraction) {
        if (assigned >= weightTotal || sum <= 0)
            break;
        ++share->units;
        ++assigned;
    }
    // A version asked for a sliver (under a quarter percent) still gets one unit, taken from
    // the largest share, so it is not silently left without traffic.
    for (Share &share : shares) {
        if (share.wanted && share.units == 0) {
            auto largest = std::max_element(
                shares.begin(), shares.end(),
                [](const Share &a, const Share &b) { return a.units < b.units; });
            if (largest->units > 1) {
                --largest->units;
                share.units = 1;
            }
        }
    }

    QHash<QString, int> weights;
    for (const Share &share : shares) {
        const QStringList &servers = servingByVersion.value(share.version);
        if (servers.isEmpty())
            continue;
        const int each = share.units / int(servers.size());
        const int extra = share.units % int(servers.size());
        for (int i = 0; i < servers.size(); ++i)
            weights.insert(servers[i], each + (i < extra ? 1 : 0));
    }
    return weights;
}

} // namespace sb::haproxy
