#pragma once

#include <QDebug>
#include <QString>

#include <functional>
#include <utility>
#include <variant>

namespace sb {

// What an adapter verb answers when it cannot deliver a value. The message is written for the
// user: it names the subject and, where there is one, the way out.
struct Error {
    enum class Kind {
        Unsupported, // the adapter does not offer this verb at all
        Unavailable, // the backend could not be reached or refused
        Timeout,
        Invalid, // the request or the backend's answer did not make sense
        Failed,  // the backend understood and said no
    };
    Kind kind = Kind::Failed;
    QString message;

    friend bool operator==(const Error &, const Error &) = default;
};

QDebug operator<<(QDebug debug, const Error &error);

template <typename T, typename E = Error>
class Result
{
public:
    Result(T value)
        : m_state(std::move(value))
    {}
    Result(E error)
        : m_state(std::move(error))
    {}

    bool ok() const { return std::holds_alternative<T>(m_state); }
    explicit operator bool() const { return ok(); }
    const T &value() const & { return std::get<T>(m_state); }
    T &&value() && { return std::get<T>(std::move(m_state)); }
    const E &error() const { return std::get<E>(m_state); }

private:
    std::variant<T, E> m_state;
};

// For verbs that succeed with nothing to say.
struct Done {
    friend bool operator==(const Done &, const Done &) = default;
};

template <typename T>
using Callback = std::function<void(Result<T>)>;

} // namespace sb
