#pragma once

#include "fleet.h"
#include "result.h"

#include <QByteArray>
#include <QHash>
#include <QList>
#include <QMap>
#include <QString>
#include <QStringList>

namespace sb::nginx {

struct UpstreamServer {
    QString address;
    int weight = 1;
    bool down = false;
    // Parameters other than weight and down (max_fails=3, backup, ...), kept as written.
    QStringList parameters;

    friend bool operator==(const UpstreamServer &, const UpstreamServer &) = default;
};

// The include file Signalbox owns: one upstream block. Directives other than server (keepalive,
// zone, least_conn, ...) belong to the operator and are kept as written.
struct UpstreamFile {
    QString name;
    QList<QStringList> directives; // each as its words, without the ';'
    QList<UpstreamServer> servers;

    const UpstreamServer *find(const QString &address) const;
    friend bool operator==(const UpstreamFile &, const UpstreamFile &) = default;
};

// Reads the file's text. The message of an error says what is wrong and on which line
// ("line 4: server needs an address"), for the caller to prefix with the file's name.
Result<UpstreamFile, QString> parseUpstreamFile(const QByteArray &text);

// The file's text: a header saying Signalbox writes it, then the block. Servers at weight 1 are
// written without it, as are the weights of servers that are down.
QByteArray renderUpstreamFile(const UpstreamFile &file, const ServiceKey &service);

// The sum of all weights a split is written with: fine enough that a version's percentage read
// back from the weights is within 0.01 of the one asked for.
inline constexpr int totalWeight = 10000;

// nginx weights are positive integers. The versions' percentages are apportioned over
// totalWeight (largest remainder, so they add up exactly), and each version's part is split
// evenly over its `serverCount` servers, each getting at least 1. A version at 0 gets no weights:
// its servers are written down.
QMap<QString, QList<int>> spreadWeights(const QMap<QString, double> &percent,
                                        const QMap<QString, int> &serverCount);

// Each version's share of the weight of the servers that are not down, in percent, by the version
// `versionOf` names for each server. Versions whose servers are all down are at 0; with no
// server up at all, every version is.
QMap<QString, double> percentages(const UpstreamFile &file,
                                  const QHash<QString, QString> &versionOf);

// Blocking file work, for a worker thread: a disk flush can take long.
//
// The file's text; the message of an error names the file and what went wrong.
Result<QByteArray, QString> readTextFile(const QString &path);
// Replaces the file's content so that a reader sees the old or the new text, never a mix: a
// temporary file in the same folder (keeping the file's permissions), flushed to disk, renamed
// over it, and the folder flushed. Answers the text it replaced.
Result<QByteArray, QString> replaceFileContent(const QString &path, const QByteArray &content);

} // namespace sb::nginx
