#include "upstreamfile.h"

#include "yamlreader.h"

#include <QFileInfo>
#include <QSaveFile>

#include <algorithm>
#include <cmath>

#include <fcntl.h>
#include <unistd.h>

namespace sb::nginx {

namespace {

struct Token {
    enum class Kind { Word, Semicolon, Open, Close, End };
    Kind kind = Kind::End;
    QString text;
    int line = 1;
};

// nginx's configuration syntax: words separated by blanks, ';', '{' and '}' as tokens of their
// own, '#' comments to the end of the line, and quoted words with backslash escapes.
class Tokenizer
{
public:
    explicit Tokenizer(const QString &text)
        : m_text(text)
    {}

    Result<Token, QString> next()
    {
        skipBlanksAndComments();
        Token token;
        token.line = m_line;
        if (m_pos >= m_text.size())
            return token;
        const QChar c = m_text.at(m_pos);
        if (c == QLatin1Char(';') || c == QLatin1Char('{') || c == QLatin1Char('}')) {
            ++m_pos;
            token.kind = c == QLatin1Char(';')   ? Token::Kind::Semicolon
                         : c == QLatin1Char('{') ? Token::Kind::Open
                                                 : Token::Kind::Close;
            token.text = c;
            return token;
        }
        token.kind = Token::Kind::Word;
        if (c == QLatin1Char('"') || c == QLatin1Char('\'')) {
            const qsizetype start = m_pos++;
            while (m_pos < m_text.size() && m_text.at(m_pos) != c) {
                if (m_text.at(m_pos) == QLatin1Char('\\'))
                    ++m_pos;
                else if (m_text.at(m_pos) == QLatin1Char('\n'))
                    ++m_line;
                ++m_pos;
            }
            if (m_pos >= m_text.size())
                return QStringLiteral("line %1: a quoted word is never closed").arg(token.line);
            ++m_pos;
            token.text = m_text.mid(start, m_pos - start);
            return token;
        }
        const qsizetype start = m_pos;
        while (m_pos < m_text.size()) {
            const QChar d = m_text.at(m_pos);
            if (d.isSpace() || d == QLatin1Char(';') || d == QLatin1Char('{')
                || d == QLatin1Char('}'))
                break;
            ++m_pos;
        }
        token.text = m_text.mid(start, m_pos - start);
        return token;
    }

private:
    void skipBlanksAndComments()
    {
        while (m_pos < m_text.size()) {
            const QChar c = m_text.at(m_pos);
            if (c == QLatin1Char('\n')) {
                ++m_line;
                ++m_pos;
            } else if (c.isSpace()) {
                ++m_pos;
            } else if (c == QLatin1Char('#')) {
                while (m_pos < m_text.size() && m_text.at(m_pos) != QLatin1Char('\n'))
                    ++m_pos;
            } else {
                return;
            }
        }
    }

    QString m_text;
    qsizetype m_pos = 0;
    int m_line = 1;
};

Result<UpstreamServer, QString> parseServer(const QStringList &words, int line)
{
    if (words.size() < 2)
        return QStringLiteral("line %1: server needs an address, like server 127.0.0.1:8081;")
            .arg(line);
    UpstreamServer server;
    server.address = words.at(1);
    for (qsizetype i = 2; i < words.size(); ++i) {
        const QString &word = words.at(i);
        if (word == QLatin1String("down")) {
            server.down = true;
        } else if (word.startsWith(QLatin1String("weight="))) {
            bool ok = false;
            server.weight = word.mid(7).toInt(&ok);
            if (!ok || server.weight < 1)
                return QStringLiteral("line %1: %2 of server %3 is not a positive whole number")
                    .arg(line)
                    .arg(word, server.address);
        } else {
            server.parameters.append(word);
        }
    }
    return server;
}

} // namespace

const UpstreamServer *UpstreamFile::find(const QString &address) const
{
    for (const UpstreamServer &server : servers) {
        if (server.address == address)
            return &server;
    }
    return nullptr;
}

Result<UpstreamFile, QString> parseUpstreamFile(const QByteArray &text)
{
    Tokenizer tokens(QString::fromUtf8(text));
    auto expectWord = [&](const QString &what) -> Result<Token, QString> {
        Result<Token, QString> token = tokens.next();
        if (token && token.value().kind != Token::Kind::Word)
            return QStringLiteral("line %1: expected %2, found %3")
                .arg(token.value().line)
                .arg(what, token.value().kind == Token::Kind::End
                               ? QStringLiteral("the end of the file")
                               : QStringLiteral("'%1'").arg(token.value().text));
        return token;
    };

    Result<Token, QString> keyword = expectWord(QStringLiteral("an upstream block"));
    if (!keyword)
        return keyword.error();
    if (keyword.value().text != QLatin1String("upstream"))
        return QStringLiteral("line %1: found '%2' where the upstream block should begin; the "
                              "file holds one upstream block and nothing else")
            .arg(keyword.value().line)
            .arg(keyword.value().text);
    Result<Token, QString> name = expectWord(QStringLiteral("the upstream's name"));
    if (!name)
        return name.error();
    UpstreamFile file;
    file.name = name.value().text;
    Result<Token, QString> open = tokens.next();
    if (!open)
        return open.error();
    if (open.value().kind != Token::Kind::Open)
        return QStringLiteral("line %1: expected '{' after upstream %2")
            .arg(open.value().line)
            .arg(file.name);

    QStringList words;
    int directiveLine = 0;
    for (;;) {
        Result<Token, QString> next = tokens.next();
        if (!next)
            return next.error();
        const Token &token = next.value();
        switch (token.kind) {
        case Token::Kind::Word:
            if (words.isEmpty())
                directiveLine = token.line;
            words.append(token.text);
            continue;
        case Token::Kind::Open:
            return QStringLiteral("line %1: an upstream block cannot hold a block of its own")
                .arg(token.line);
        case Token::Kind::End:
            return QStringLiteral("line %1: the upstream block is never closed with '}'")
                .arg(token.line);
        case Token::Kind::Close:
            if (!words.isEmpty())
                return QStringLiteral("line %1: '%2' needs a ';' at its end")
                    .arg(directiveLine)
                    .arg(words.first());
            break;
        case Token::Kind::Semicolon:
            if (words.isEmpty())
                return QStringLiteral("line %1: a ';' with no directive before it").arg(token.line);
            if (words.first() == QLatin1String("server")) {
                Result<UpstreamServer, QString> server = parseServer(words, directiveLine);
                if (!server)
                    return server.error();
                if (file.find(server.value().address))
                    return QStringLiteral("line %1: server %2 is listed twice")
                        .arg(directiveLine)
                        .arg(server.value().address);
                file.servers.append(server.value());
            } else {
                file.directives.append(words);
            }
            words.clear();
            continue;
        }
        break;
    }
    Result<Token, QString> rest = tokens.next();
    if (!rest)
        return rest.error();
    if (rest.value().kind != Token::Kind::End)
        return QStringLiteral("line %1: found '%2' after the upstream block; the file holds one "
                              "upstream block and nothing else")
            .arg(rest.value().line)
            .arg(rest.value().text);
    return file;
}

QByteArray renderUpstreamFile(const UpstreamFile &file, const ServiceKey &service)
{
    QString text = QStringLiteral(
                       "# Written by Signalbox for service %1 (%2). Signalbox rewrites this file\n"
                       "# on every traffic or deploy change: edits made here while it manages the\n"
                       "# service are replaced. Directives other than server are kept.\n")
                       .arg(service.name, service.environment);
    text += QStringLiteral("upstream %1 {\n").arg(file.name);
    for (const QStringList &directive : file.directives)
        text += QStringLiteral("    %1;\n").arg(directive.join(QLatin1Char(' ')));
    for (const UpstreamServer &server : file.servers) {
        QStringList words{QStringLiteral("server"), server.address};
        if (server.down)
            words.append(QStringLiteral("down"));
        else if (server.weight != 1)
            words.append(QStringLiteral("weight=%1").arg(server.weight));
        words += server.parameters;
        text += QStringLiteral("    %1;\n").arg(words.join(QLatin1Char(' ')));
    }
    text += QStringLiteral("}\n");
    return text.toUtf8();
}

QMap<QString, QList<int>> spreadWeights(const QMap<QString, double> &percent,
                                        const QMap<QString, int> &serverCount)
{
    struct Share {
        QString version;
        int whole = 0;
        double remainder = 0;
    };
    QList<Share> shares;
    double total = 0;
    for (auto it = percent.cbegin(); it != percent.cend(); ++it) {
        if (it.value() > 0 && serverCount.value(it.key()) > 0)
            total += it.value();
    }
    int assigned = 0;
    for (auto it = percent.cbegin(); it != percent.cend(); ++it) {
        if (!(it.value() > 0) || serverCount.value(it.key()) <= 0 || total <= 0)
            continue;
        const double exact = it.value() / total * totalWeight;
        Share share{it.key(), int(std::floor(exact)), exact - std::floor(exact)};
        assigned += share.whole;
        shares.append(share);
    }
    // Largest remainder: the units lost to rounding down go to the largest fractions.
    QList<Share *> byRemainder;
    for (Share &share : shares)
        byRemainder.append(&share);
    std::stable_sort(byRemainder.begin(), byRemainder.end(),
                     [](const Share *a, const Share *b) { return a->remainder > b->remainder; });
    for (qsizetype i = 0; assigned < totalWeight && i < byRemainder.size(); ++i, ++assigned)
        ++byRemainder[i]->whole;

    QMap<QString, QList<int>> weights;
    for (const Share &share : std::as_const(shares)) {
        const int servers = serverCount.value(share.version);
        const int whole = std::max(share.whole, servers);
        QList<int> split(servers, whole / servers);
        for (int i = 0; i < whole % servers; ++i)
            ++split[i];
        weights.insert(share.version, split);
    }
    return weights;
}

QMap<QString, double> percentages(const UpstreamFile &file,
                                  const QHash<QString, QString> &versionOf)
{
    QMap<QString, qint64> weightOf;
    qint64 total = 0;
    for (const UpstreamServer &server : file.servers) {
        const QString version = versionOf.value(server.address);
        qint64 &weight = weightOf[version];
        if (!server.down) {
            weight += server.weight;
            total += server.weight;
        }
    }
    QMap<QString, double> percent;
    for (auto it = weightOf.cbegin(); it != weightOf.cend(); ++it)
        percent.insert(it.key(), total > 0 ? 100.0 * double(it.value()) / double(total) : 0.0);
    return percent;
}

Result<QByteArray, QString> readTextFile(const QString &path)
{
    Result<QByteArray, Diagnostic> read = readUserFile(path, QStringLiteral("upstream file"));
    if (!read)
        return QStringLiteral("%1: %2").arg(read.error().file, read.error().message);
    return read.value();
}

Result<QByteArray, QString> replaceFileContent(const QString &path, const QByteArray &content)
{
    Result<QByteArray, QString> previous = readTextFile(path);
    if (!previous)
        return previous;
    QSaveFile file(path);
    if (!file.open(QIODevice::WriteOnly))
        return QStringLiteral("cannot write %1: %2; the console's user needs write access to the "
                              "file's folder, where the new text is prepared beside it")
            .arg(path, file.errorString());
    if (file.write(content) != content.size() || !file.commit())
        return QStringLiteral("cannot write %1: %2").arg(path, file.errorString());
    // The rename is only durable once the folder's entry is on disk too.
    const QByteArray folder = QFile::encodeName(QFileInfo(path).absolutePath());
    const int fd = ::open(folder.constData(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        ::fsync(fd);
        ::close(fd);
    }
    return previous;
}

} // namespace sb::nginx
