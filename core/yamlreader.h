#pragma once

#include "diagnostic.h"
#include "result.h"
#include "timepoint.h"

#include <QString>
#include <QStringList>

#include <yaml-cpp/depthguard.h>
#include <yaml-cpp/yaml.h>

#include <exception>
#include <optional>

namespace sb {

// Reads one YAML mapping with the checks every section of a workspace needs: the node is a
// mapping, every key is one we know (else the nearest valid key is suggested), required keys are
// present, and values have the right type and range. Every failure throws DiagnosticError located
// at the offending node.
class YamlMap
{
public:
    // `what` names the mapping in messages, e.g. "adapter 'sim'" or "service 'checkout'".
    YamlMap(const YAML::Node &node, QString file, QString what, QStringList allowedKeys);

    // True when the key is present with a value; `key:` left empty counts as absent, as it does
    // for every optional getter below (they return the fallback).
    bool has(const char *key) const;
    // The raw node for a key, or an undefined node when absent.
    YAML::Node node(const char *key) const;
    // Where the key itself is written, or an undefined node when absent. Messages about an
    // empty value point here: yaml-cpp places an empty value at the next token, often a line below.
    YAML::Node keyNode(const char *key) const;

    QString requiredString(const char *key) const;
    QString string(const char *key, const QString &fallback) const;
    // One of `choices`; anything else names the choices in the message.
    QString choice(const char *key, const QStringList &choices, const QString &fallback) const;
    double number(const char *key, double fallback, double min, double max) const;
    int integer(const char *key, int fallback, int min, int max) const;
    bool boolean(const char *key, bool fallback) const;
    // "250ms", "30s", "2m", "1h30m", or a bare number of seconds.
    Duration duration(const char *key, Duration fallback, Duration min = Duration(0)) const;
    // A ratio written as 0.02 or "2%", checked to lie in [0, 1].
    double ratio(const char *key, double fallback) const;
    QStringList stringList(const char *key) const;

    const QString &file() const { return m_file; }
    const QString &what() const { return m_what; }
    const YAML::Node &self() const { return m_node; }

private:
    YAML::Node m_node;
    QString m_file;
    QString m_what;
};

// The position of a node as a Diagnostic (yaml-cpp's marks are 0-based).
Diagnostic diagnosticAt(const QString &file, const YAML::Node &node, const QString &message);
Diagnostic diagnosticAtMark(const QString &file, const YAML::Mark &mark, const QString &message);

// A node's type, with a node read through a missing key (a yaml-cpp "zombie", whose Type()
// throws) answering Undefined, so checks never throw anything but DiagnosticError.
YAML::NodeType::value nodeType(const YAML::Node &node);
[[noreturn]] void failAt(const QString &file, const YAML::Node &node, const QString &message);

// Requires a sequence (an absent key reads as empty); anything else fails naming `what`.
void requireSequence(const QString &file, const YAML::Node &node, const QString &what);

// The valid word closest to `word` by edit distance, or empty when none is close enough to be a
// plausible typo.
QString nearestWord(const QString &word, const QStringList &candidates);

// Text from the file as it appears inside a message: in single quotes, on one line, and cut when
// long, so a stray multi-line or pasted value cannot swamp the message.
QString quotedValue(const QString &text);

// Parses the duration syntax above from a scalar's text; nullopt when it does not parse.
std::optional<Duration> parseDuration(const QString &text);

// A key of a mapping and its value, as written.
struct YamlEntry {
    YAML::Node key;
    YAML::Node value;
};
// Looks a key up by iterating, never with operator[]: on a non-const node that inserts the key,
// and on a const one it returns a node that throws. Nullopt when absent or not a mapping.
std::optional<YamlEntry> findEntry(const YAML::Node &map, const char *key);

// Reads a file the user named, `what` naming it in messages ("workspace file", "manifest").
// Directories, pipes, sockets and devices (which could block the console forever) and files over
// 8 MB are refused without reading them; every failure names the file and what to do.
Result<QByteArray, Diagnostic> readUserFile(const QString &path, const QString &what);

// Runs `parse`, turning what yaml-cpp and the parser throw into a Diagnostic in `file`;
// `what` names the document ("workspace", "Rollout manifest").
template <typename T, typename Parse>
Result<T, Diagnostic> catchYamlErrors(const QString &file, const QString &what, Parse parse)
{
    try {
        return parse();
    } catch (const DiagnosticError &error) {
        return error.diagnostic();
    } catch (const YAML::DeepRecursion &error) {
        return diagnosticAtMark(file, error.mark,
                                QStringLiteral("the YAML is nested too deeply to be a %1 (lists "
                                               "or mappings inside each other hundreds of levels "
                                               "down); is this the right file?")
                                    .arg(what));
    } catch (const YAML::ParserException &error) {
        return diagnosticAtMark(file, error.mark,
                                QStringLiteral("this is not valid YAML: %1; check the indentation "
                                               "and quoting here and on the line above")
                                    .arg(QString::fromStdString(error.msg)));
    } catch (const YAML::Exception &error) {
        return diagnosticAtMark(file, error.mark,
                                QStringLiteral("could not read the %1: %2")
                                    .arg(what, QString::fromStdString(error.msg)));
    } catch (const std::exception &error) {
        return Diagnostic{file, 0, 0,
                          QStringLiteral("could not read the %1: %2")
                              .arg(what, QString::fromLocal8Bit(error.what()))};
    } catch (...) {
        return Diagnostic{file, 0, 0, QStringLiteral("could not read the %1").arg(what)};
    }
}

} // namespace sb
