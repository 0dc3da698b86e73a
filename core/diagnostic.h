#pragma once

#include <QByteArray>
#include <QDebug>
#include <QString>

#include <exception>

namespace sb {

// A problem in a file the user wrote, located so an editor can jump to it:
// "signalbox.yaml:14:7: stage weight 120 is above 100".
struct Diagnostic {
    Diagnostic() = default;
    Diagnostic(QString file, int line, int column, QString message)
        : file(std::move(file))
        , line(line)
        , column(column)
        , message(std::move(message))
    {}

    QString file;
    int line = 0;   // 1-based; 0 when the position is unknown
    int column = 0; // 1-based
    QString message;
    // The bytes of the line it points at, as read, so it can be shown without reading again.
    QByteArray sourceLine;

    QString toString() const;
    friend bool operator==(const Diagnostic &, const Diagnostic &) = default;
};

QDebug operator<<(QDebug debug, const Diagnostic &diagnostic);

// Line `line` (1-based) of `text`, without its line break; empty when there is none.
QByteArray sourceLineOf(const QByteArray &text, int line);

// The line the diagnostic points at, with a caret under its column, the way compilers show it:
//    7 |     environment: prodution
//      |                  ^
// Empty when the diagnostic carries no source line.
QString sourceExcerpt(const Diagnostic &diagnostic);

// Thrown inside parsers and caught at their public entry point, which turns it into a result.
class DiagnosticError : public std::exception
{
public:
    explicit DiagnosticError(Diagnostic diagnostic)
        : m_diagnostic(std::move(diagnostic))
    {}
    const Diagnostic &diagnostic() const { return m_diagnostic; }
    const char *what() const noexcept override { return "signalbox diagnostic"; }

private:
    Diagnostic m_diagnostic;
};

} // namespace sb
