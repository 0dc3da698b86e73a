#include "diagnostic.h"

namespace sb {

QString Diagnostic::toString() const
{
    // Without a position the message is about the whole file ("cannot open", "empty").
    if (line <= 0)
        return file + QStringLiteral(": ") + message;
    return QStringLiteral("%1:%2:%3: %4").arg(file).arg(line).arg(column).arg(message);
}

QDebug operator<<(QDebug debug, const Diagnostic &diagnostic)
{
    const QDebugStateSaver saver(debug);
    debug.noquote().nospace() << "Diagnostic(" << diagnostic.toString() << ')';
    return debug;
}

} // namespace sb
