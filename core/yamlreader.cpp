#include "yamlreader.h"

#include <QFile>
#include <QFileInfo>
#include <QSet>

#include <algorithm>
#include <cmath>
#include <vector>

namespace sb {

namespace {

using NodeType = YAML::NodeType;

QString scalarText(const YAML::Node &node)
{
    return QString::fromStdString(node.Scalar());
}

// What the user wrote, in the words of a message: "got 'abc'", "got a list".
QString describe(const YAML::Node &node)
{
    switch (nodeType(node)) {
    case NodeType::Undefined: return QStringLiteral("nothing");
    case NodeType::Null: return QStringLiteral("an empty value");
    case NodeType::Scalar: return quotedValue(scalarText(node));
    case NodeType::Sequence: return QStringLiteral("a list");
    case NodeType::Map: return QStringLiteral("a mapping");
    }
    return QStringLiteral("an unexpected value");
}

QString formatNumber(double value)
{
    if (std::abs(value) < 1e15 && value == std::floor(value))
        return QString::number(static_cast<qint64>(value));
    return QString::number(value, 'g', 12);
}

// Written in the syntax parseDuration() accepts, so a minimum reads like something to type.
QString formatDurationSyntax(Duration duration)
{
    qint64 ms = duration.count();
    if (ms == 0)
        return QStringLiteral("0s");
    QString text;
    if (ms < 0) {
        text = QStringLiteral("-");
        ms = -ms;
    }
    const qint64 hours = ms / 3'600'000;
    const qint64 minutes = ms / 60'000 % 60;
    const qint64 seconds = ms / 1000 % 60;
    const qint64 millis = ms % 1000;
    if (hours)
        text += QString::number(hours) + QLatin1Char('h');
    if (minutes)
        text += QString::number(minutes) + QLatin1Char('m');
    if (seconds)
        text += QString::number(seconds) + QLatin1Char('s');
    if (millis)
        text += QString::number(millis) + QStringLiteral("ms");
    return text;
}

// Plain decimal or scientific notation only: YAML's hex and octal forms are rare in
// configuration and "010" silently meaning 8 would be a trap.
std::optional<double> parseNumber(const QString &text)
{
    bool ok = false;
    const double value = text.trimmed().toDouble(&ok);
    if (!ok || !std::isfinite(value))
        return std::nullopt;
    return value;
}

const QString durationForms = QStringLiteral("250ms, 30s, 2m, 1h30m or a number of seconds");

} // namespace

QString quotedValue(const QString &text)
{
    constexpr qsizetype maxShown = 60;
    QString shown
        = text.size() <= maxShown ? text : text.left(maxShown - 3) + QStringLiteral("...");
    for (QChar &c : shown) {
        if (c.category() == QChar::Other_Control)
            c = QLatin1Char(' ');
    }
    return QLatin1Char('\'') + shown + QLatin1Char('\'');
}

YAML::NodeType::value nodeType(const YAML::Node &node)
{
    return node.IsDefined() ? node.Type() : NodeType::Undefined;
}

Diagnostic diagnosticAtMark(const QString &file, const YAML::Mark &mark, const QString &message)
{
    if (mark.is_null() || mark.line < 0 || mark.column < 0)
        return Diagnostic{file, 0, 0, message};
    return Diagnostic{file, mark.line + 1, mark.column + 1, message};
}

Diagnostic diagnosticAt(const QString &file, const YAML::Node &node, const QString &message)
{
    return node.IsDefined() ? diagnosticAtMark(file, node.Mark(), message)
                            : Diagnostic{file, 0, 0, message};
}

void failAt(const QString &file, const YAML::Node &node, const QString &message)
{
    throw DiagnosticError(diagnosticAt(file, node, message));
}

void requireSequence(const QString &file, const YAML::Node &node, const QString &what)
{
    switch (nodeType(node)) {
    case NodeType::Undefined:
    case NodeType::Null:
    case NodeType::Sequence: return;
    case NodeType::Scalar:
    case NodeType::Map: break;
    }
    failAt(file, node,
           QStringLiteral("%1 must be a list (one '- item' per line, or [a, b]), got %2")
               .arg(what, describe(node)));
}

std::optional<YamlEntry> findEntry(const YAML::Node &map, const char *key)
{
    if (nodeType(map) != NodeType::Map)
        return std::nullopt;
    const std::string wanted(key);
    for (auto it = map.begin(); it != map.end(); ++it) {
        if (nodeType(it->first) == NodeType::Scalar && it->first.Scalar() == wanted)
            return YamlEntry{it->first, it->second};
    }
    return std::nullopt;
}

Result<QByteArray, Diagnostic> readUserFile(const QString &path, const QString &what)
{
    // A file the user writes is a page or two; anything far larger is the wrong file, and
    // reading it whole would stall the console.
    constexpr qint64 maxBytes = 8 * 1024 * 1024;
    if (path.isEmpty())
        return Diagnostic{path, 0, 0, QStringLiteral("no %1 was given").arg(what)};
    const QFileInfo info(path);
    const QString file = info.absoluteFilePath();
    if (info.isDir())
        return Diagnostic{file, 0, 0,
                          QStringLiteral("cannot read the %1: it is a directory").arg(what)};
    if (info.exists() && !info.isFile()) {
        return Diagnostic{file, 0, 0,
                          QStringLiteral("cannot read the %1: it is not a regular file (a pipe, "
                                         "socket or device); save it as a file")
                              .arg(what)};
    }
    QFile input(file);
    if (!input.open(QIODevice::ReadOnly)) {
        return Diagnostic{file, 0, 0,
                          QStringLiteral("cannot open the %1: %2").arg(what, input.errorString())};
    }
    // Read one byte past the limit rather than trusting size(), which is 0 for pipes.
    const QByteArray data = input.read(maxBytes + 1);
    if (input.error() != QFileDevice::NoError) {
        return Diagnostic{file, 0, 0,
                          QStringLiteral("cannot read the %1: %2").arg(what, input.errorString())};
    }
    if (data.size() > maxBytes) {
        return Diagnostic{file, 0, 0,
                          QStringLiteral("the %1 is larger than %2 MB; is this the right file?")
                              .arg(what)
                              .arg(maxBytes / (1024 * 1024))};
    }
    return data;
}

QString nearestWord(const QString &word, const QStringList &candidates)
{
    const QString typed = word.toLower();
    const qsizetype allowed = std::max<qsizetype>(1, typed.size() / 3);
    QString best;
    qsizetype bestDistance = allowed + 1;
    std::vector<qsizetype> previous, current;
    for (const QString &candidate : candidates) {
        const QString other = candidate.toLower();
        // The length difference is a lower bound of the distance; it also keeps a pasted
        // paragraph from costing a full quadratic comparison.
        if (std::abs(other.size() - typed.size()) >= bestDistance)
            continue;
        previous.resize(other.size() + 1);
        current.resize(other.size() + 1);
        for (qsizetype j = 0; j <= other.size(); ++j)
            previous[j] = j;
        for (qsizetype i = 1; i <= typed.size(); ++i) {
            current[0] = i;
            for (qsizetype j = 1; j <= other.size(); ++j) {
                const qsizetype substitution = typed[i - 1] == other[j - 1] ? 0 : 1;
                current[j] = std::min(
                    {previous[j] + 1, current[j - 1] + 1, previous[j - 1] + substitution});
            }
            std::swap(previous, current);
        }
        const qsizetype distance = previous[other.size()];
        if (distance < bestDistance) {
            bestDistance = distance;
            best = candidate;
        }
    }
    return best;
}

std::optional<Duration> parseDuration(const QString &input)
{
    const QString text = input.trimmed();
    if (text.isEmpty())
        return std::nullopt;
    // Beyond this nobody means it, and the millisecond count stays far from overflowing.
    constexpr double maxMs = 1e15;

    if (const std::optional<double> seconds = parseNumber(text)) {
        if (*seconds < 0 || *seconds * 1000 > maxMs)
            return std::nullopt;
        return Duration(std::llround(*seconds * 1000));
    }

    struct Unit {
        QLatin1StringView suffix;
        double ms;
    };
    // Largest first and "ms" before "m", so a prefix match picks the right unit; each part
    // must use a smaller unit than the one before ("1h30m", not "30m1h" or "1m1m").
    static const Unit units[] = {{QLatin1StringView("h"), 3'600'000},
                                 {QLatin1StringView("ms"), 1},
                                 {QLatin1StringView("m"), 60'000},
                                 {QLatin1StringView("s"), 1000}};
    static const double rank[] = {3, 0, 2, 1};

    double total = 0;
    double lastRank = 4;
    qsizetype pos = 0;
    while (pos < text.size()) {
        while (pos < text.size() && text[pos].isSpace())
            ++pos;
        if (pos == text.size())
            break;
        const qsizetype start = pos;
        bool seenDot = false;
        while (pos < text.size()
               && ((text[pos] >= QLatin1Char('0') && text[pos] <= QLatin1Char('9'))
                   || (text[pos] == QLatin1Char('.') && !seenDot))) {
            seenDot = seenDot || text[pos] == QLatin1Char('.');
            ++pos;
        }
        const std::optional<double> value = parseNumber(text.mid(start, pos - start));
        if (!value)
            return std::nullopt;
        while (pos < text.size() && text[pos].isSpace())
            ++pos;
        int matched = -1;
        for (int u = 0; u < 4; ++u) {
            if (QStringView(text).mid(pos).startsWith(units[u].suffix)) {
                matched = u;
                break;
            }
        }
        if (matched < 0 || rank[matched] >= lastRank)
            return std::nullopt;
        pos += units[matched].suffix.size();
        // A unit glued to letters ("5sec", "2min") is not one of ours.
        if (pos < text.size() && text[pos].isLetter())
            return std::nullopt;
        lastRank = rank[matched];
        total += *value * units[matched].ms;
        if (total > maxMs)
            return std::nullopt;
    }
    if (lastRank == 4)
        return std::nullopt;
    return Duration(std::llround(total));
}

YamlMap::YamlMap(const YAML::Node &node, QString file, QString what, QStringList allowedKeys)
    : m_node(node)
    , m_file(std::move(file))
    , m_what(std::move(what))
{
    if (nodeType(node) != NodeType::Map) {
        failAt(m_file, node,
               QStringLiteral("%1 must be a mapping of keys to values ('key: value' lines), got %2")
                   .arg(m_what, describe(node)));
    }
    QSet<QString> seen;
    for (auto it = node.begin(); it != node.end(); ++it) {
        const YAML::Node key = it->first;
        if (nodeType(key) != NodeType::Scalar) {
            failAt(m_file, key,
                   QStringLiteral("keys in %1 must be plain names, got %2")
                       .arg(m_what, describe(key)));
        }
        const QString name = scalarText(key);
        if (!allowedKeys.contains(name)) {
            QString message = QStringLiteral("unknown key %1 in %2").arg(quotedValue(name), m_what);
            const QString nearest = nearestWord(name, allowedKeys);
            if (!nearest.isEmpty())
                message += QStringLiteral("; did you mean '%1'?").arg(nearest);
            else if (allowedKeys.isEmpty())
                message += QStringLiteral("; it takes no keys");
            else
                message
                    += QStringLiteral("; valid keys are ") + allowedKeys.join(QStringLiteral(", "));
            failAt(m_file, key, message);
        }
        // yaml-cpp keeps both copies of a repeated key and lookups would silently pick one.
        if (seen.contains(name)) {
            failAt(m_file, key,
                   QStringLiteral("key '%1' appears twice in %2; keep one").arg(name, m_what));
        }
        seen.insert(name);
    }
}

bool YamlMap::has(const char *key) const
{
    const NodeType::value type = nodeType(node(key));
    return type != NodeType::Undefined && type != NodeType::Null;
}

YAML::Node YamlMap::node(const char *key) const
{
    if (const std::optional<YamlEntry> entry = findEntry(m_node, key))
        return entry->value;
    return YAML::Node(NodeType::Undefined);
}

YAML::Node YamlMap::keyNode(const char *key) const
{
    if (const std::optional<YamlEntry> entry = findEntry(m_node, key))
        return entry->key;
    return YAML::Node(NodeType::Undefined);
}

QString YamlMap::requiredString(const char *key) const
{
    const std::optional<YamlEntry> entry = findEntry(m_node, key);
    if (!entry) {
        failAt(
            m_file, m_node,
            QStringLiteral("%1 is missing required key '%2'").arg(m_what, QLatin1StringView(key)));
    }
    const QLatin1StringView name(key);
    switch (nodeType(entry->value)) {
    case NodeType::Undefined:
    case NodeType::Null:
        failAt(m_file, entry->key,
               QStringLiteral("%1 in %2 has no value; write one after '%1:'").arg(name, m_what));
    case NodeType::Scalar: break;
    case NodeType::Sequence:
    case NodeType::Map:
        failAt(
            m_file, entry->value,
            QStringLiteral("%1 must be a single value, got %2").arg(name, describe(entry->value)));
    }
    const QString text = scalarText(entry->value);
    if (text.trimmed().isEmpty()) {
        failAt(m_file, entry->value,
               QStringLiteral("%1 in %2 is empty; give it a value").arg(name, m_what));
    }
    return text;
}

QString YamlMap::string(const char *key, const QString &fallback) const
{
    const YAML::Node value = node(key);
    switch (nodeType(value)) {
    case NodeType::Undefined:
    case NodeType::Null: return fallback;
    case NodeType::Scalar: return scalarText(value);
    case NodeType::Sequence:
    case NodeType::Map: break;
    }
    failAt(m_file, value,
           QStringLiteral("%1 must be a single value, got %2")
               .arg(QLatin1StringView(key), describe(value)));
}

QString YamlMap::choice(const char *key, const QStringList &choices, const QString &fallback) const
{
    const QString text = string(key, fallback);
    if (choices.contains(text))
        return text;
    QString message
        = QStringLiteral("unknown %1 %2").arg(QLatin1StringView(key), quotedValue(text));
    const QString nearest = nearestWord(text, choices);
    if (!nearest.isEmpty())
        message += QStringLiteral("; did you mean '%1'?").arg(nearest);
    message += QStringLiteral(" (choose one of: %1)").arg(choices.join(QStringLiteral(", ")));
    failAt(m_file, node(key), message);
}

double YamlMap::number(const char *key, double fallback, double min, double max) const
{
    const YAML::Node value = node(key);
    const NodeType::value type = nodeType(value);
    if (type == NodeType::Undefined || type == NodeType::Null)
        return fallback;
    const QLatin1StringView name(key);
    const std::optional<double> parsed
        = type == NodeType::Scalar ? parseNumber(scalarText(value)) : std::nullopt;
    if (!parsed)
        failAt(m_file, value,
               QStringLiteral("%1 must be a number, got %2").arg(name, describe(value)));
    const QString written = scalarText(value).trimmed();
    if (*parsed < min) {
        failAt(
            m_file, value,
            QStringLiteral("%1 %2 is below the minimum %3").arg(name, written, formatNumber(min)));
    }
    if (*parsed > max) {
        failAt(
            m_file, value,
            QStringLiteral("%1 %2 is above the maximum %3").arg(name, written, formatNumber(max)));
    }
    return *parsed;
}

int YamlMap::integer(const char *key, int fallback, int min, int max) const
{
    const YAML::Node value = node(key);
    const NodeType::value type = nodeType(value);
    if (type == NodeType::Undefined || type == NodeType::Null)
        return fallback;
    const std::optional<double> parsed
        = type == NodeType::Scalar ? parseNumber(scalarText(value)) : std::nullopt;
    if (parsed && *parsed != std::floor(*parsed)) {
        failAt(m_file, value,
               QStringLiteral("%1 must be a whole number, got %2")
                   .arg(QLatin1StringView(key), describe(value)));
    }
    // The range check runs on the double, so a huge value reads "above the maximum" instead of
    // overflowing the conversion.
    return static_cast<int>(number(key, fallback, min, max));
}

bool YamlMap::boolean(const char *key, bool fallback) const
{
    const YAML::Node value = node(key);
    const NodeType::value type = nodeType(value);
    if (type == NodeType::Undefined || type == NodeType::Null)
        return fallback;
    bool result = fallback;
    if (type != NodeType::Scalar || !YAML::convert<bool>::decode(value, result)) {
        failAt(m_file, value,
               QStringLiteral("%1 must be true or false, got %2")
                   .arg(QLatin1StringView(key), describe(value)));
    }
    return result;
}

Duration YamlMap::duration(const char *key, Duration fallback, Duration min) const
{
    const YAML::Node value = node(key);
    const NodeType::value type = nodeType(value);
    if (type == NodeType::Undefined || type == NodeType::Null)
        return fallback;
    const QLatin1StringView name(key);
    const QString written = type == NodeType::Scalar ? scalarText(value).trimmed() : QString();
    const std::optional<Duration> parsed
        = type == NodeType::Scalar ? parseDuration(written) : std::nullopt;
    if (!parsed) {
        if (written.startsWith(QLatin1Char('-'))) {
            failAt(m_file, value,
                   QStringLiteral("%1 cannot be negative, got %2; write a duration such as %3")
                       .arg(name, quotedValue(written), durationForms));
        }
        failAt(m_file, value,
               QStringLiteral("%1 must be a duration such as %2, got %3")
                   .arg(name, durationForms, describe(value)));
    }
    if (*parsed < min) {
        failAt(m_file, value,
               QStringLiteral("%1 %2 is below the minimum %3")
                   .arg(name, written, formatDurationSyntax(min)));
    }
    return *parsed;
}

double YamlMap::ratio(const char *key, double fallback) const
{
    const YAML::Node value = node(key);
    const NodeType::value type = nodeType(value);
    if (type == NodeType::Undefined || type == NodeType::Null)
        return fallback;
    const QLatin1StringView name(key);
    QString written = type == NodeType::Scalar ? scalarText(value).trimmed() : QString();
    const bool percent = written.endsWith(QLatin1Char('%'));
    std::optional<double> parsed = type == NodeType::Scalar
                                       ? parseNumber(percent ? written.chopped(1) : written)
                                       : std::nullopt;
    if (!parsed) {
        failAt(m_file, value,
               QStringLiteral("%1 must be a ratio such as 0.02 or 2%, got %2")
                   .arg(name, describe(value)));
    }
    const double ratio = percent ? *parsed / 100 : *parsed;
    if (ratio < 0) {
        failAt(m_file, value,
               QStringLiteral("%1 %2 is below %3")
                   .arg(name, written, percent ? QStringLiteral("0%") : QStringLiteral("0")));
    }
    if (ratio > 1) {
        // "5" for 5 % is the likely mistake, so show both ways of writing a ratio.
        failAt(m_file, value,
               QStringLiteral("%1 %2 is above %3; write a ratio as 0.02 or 2%")
                   .arg(name, written, percent ? QStringLiteral("100%") : QStringLiteral("1")));
    }
    return ratio;
}

QStringList YamlMap::stringList(const char *key) const
{
    const YAML::Node value = node(key);
    const QLatin1StringView name(key);
    requireSequence(m_file, value, name);
    QStringList items;
    if (nodeType(value) != NodeType::Sequence)
        return items;
    for (const YAML::Node &item : value) {
        if (nodeType(item) != NodeType::Scalar) {
            failAt(m_file, item,
                   QStringLiteral("each item of %1 must be a single value, got %2")
                       .arg(name, describe(item)));
        }
        items.append(scalarText(item));
    }
    return items;
}

} // namespace sb
