#include "diagnostic.h"

namespace sb {

QString Diagnostic::toString() const
{
    // Without a position the message is about the whole file ("cannot open", "empty").
    if (line <= 0)
        return file + QStringLiteral(": ") + message;
    return QStringLiteral("%1:%2:%3: %4").arg(file).arg(line).arg(column).arg(message);
}

QByteArray sourceLineOf(const QByteArray &text, int line)
{
    if (line <= 0)
        return {};
    qsizetype start = 0;
    for (int number = 1; number < line; ++number) {
        start = text.indexOf('\n', start);
        if (start < 0)
            return {};
        ++start;
    }
    qsizetype end = text.indexOf('\n', start);
    if (end < 0)
        end = text.size();
    if (end > start && text[end - 1] == '\r')
        --end;
    return text.mid(start, end - start);
}

QString sourceExcerpt(const Diagnostic &diagnostic)
{
    constexpr qsizetype maxShown = 160;
    if (diagnostic.line <= 0 || diagnostic.sourceLine.isEmpty())
        return {};
    // yaml-cpp counts columns in bytes; the caret goes under the character that byte starts.
    const QByteArray &bytes = diagnostic.sourceLine;
    const qsizetype caretByte = std::clamp<qsizetype>(diagnostic.column - 1, 0, bytes.size());
    qsizetype caret = QString::fromUtf8(bytes.left(caretByte)).size();
    QString text = QString::fromUtf8(bytes);
    // Control characters would cut the excerpt short or reach the user's terminal.
    for (QChar &c : text) {
        if (c.category() == QChar::Other_Control)
            c = QLatin1Char(' ');
    }
    if (text.size() > maxShown) {
        text = text.left(maxShown) + QStringLiteral("…");
        caret = std::min(caret, maxShown);
    }
    const QString gutter = QString::number(diagnostic.line);
    return QStringLiteral("%1 | %2\n%3 | %4^")
        .arg(gutter, text, QString(gutter.size(), QLatin1Char(' ')),
             QString(caret, QLatin1Char(' ')));
}

QDebug operator<<(QDebug debug, const Diagnostic &diagnostic)
{
    const QDebugStateSaver saver(debug);
    debug.noquote().nospace() << "Diagnostic(" << diagnostic.toString() << ')';
    return debug;
}

} // namespace sb
