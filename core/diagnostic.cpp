#include "diagnostic.h"

#include <QFile>

namespace sb {

QString Diagnostic::toString() const
{
    // Without a position the message is about the whole file ("cannot open", "empty").
    if (line <= 0)
        return file + QStringLiteral(": ") + message;
    return QStringLiteral("%1:%2:%3: %4").arg(file).arg(line).arg(column).arg(message);
}

QString sourceExcerpt(const Diagnostic &diagnostic)
{
    // Workspaces are small; a file far larger is not one, and its line is not worth a long read.
    constexpr qint64 maxBytes = 8 * 1024 * 1024;
    constexpr qsizetype maxShown = 160;
    if (diagnostic.line <= 0)
        return {};
    QFile file(diagnostic.file);
    if (!file.open(QIODevice::ReadOnly) || file.size() > maxBytes)
        return {};
    int number = 0;
    while (!file.atEnd()) {
        const QByteArray raw = file.readLine(maxBytes);
        if (++number < diagnostic.line)
            continue;
        QString text = QString::fromUtf8(raw).chopped(raw.endsWith('\n') ? 1 : 0);
        text.replace(QLatin1Char('\t'), QLatin1Char(' '));
        if (text.endsWith(QLatin1Char('\r')))
            text.chop(1);
        if (text.size() > maxShown)
            text = text.left(maxShown) + QStringLiteral("…");
        const QString gutter = QString::number(number);
        const int caret = std::clamp(diagnostic.column - 1, 0, int(text.size()));
        return QStringLiteral("%1 | %2\n%3 | %4^")
            .arg(gutter, text, QString(gutter.size(), QLatin1Char(' ')),
                 QString(caret, QLatin1Char(' ')));
    }
    return {};
}

QDebug operator<<(QDebug debug, const Diagnostic &diagnostic)
{
    const QDebugStateSaver saver(debug);
    debug.noquote().nospace() << "Diagnostic(" << diagnostic.toString() << ')';
    return debug;
}

} // namespace sb
