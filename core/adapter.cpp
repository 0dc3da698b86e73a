#include "adapter.h"

namespace sb {

QString toString(ConnectionState state)
{
    switch (state) {
    case ConnectionState::Connecting: return QStringLiteral("connecting");
    case ConnectionState::Connected: return QStringLiteral("connected");
    case ConnectionState::Degraded: return QStringLiteral("degraded");
    case ConnectionState::Disconnected: return QStringLiteral("disconnected");
    }
    return {};
}

Adapter::Adapter(QString name, QString type, QObject *parent)
    : QObject(parent)
    , m_name(std::move(name))
    , m_type(std::move(type))
{}

void Adapter::setConnectionState(ConnectionState state, const QString &detail)
{
    if (state == m_state && detail == m_detail)
        return;
    m_state = state;
    m_detail = detail;
    Q_EMIT connectionStateChanged(state, detail);
}

} // namespace sb
