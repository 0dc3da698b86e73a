#pragma once

#include "result.h"

#include <QByteArray>
#include <QByteArrayView>
#include <QHash>
#include <QList>
#include <QObject>
#include <QPair>
#include <QString>
#include <QUrl>

#include <chrono>
#include <functional>
#include <memory>

namespace sb::http {

struct TlsOptions {
    // Off only when a workspace says `tls_verify: false`, which the console then shows.
    bool verifyPeer = true;
    // A PEM bundle of the CAs to trust; empty for the system's.
    QString caFile;

    friend bool operator==(const TlsOptions &, const TlsOptions &) = default;
};

struct Request {
    QByteArray method = "GET";
    QUrl url;
    QList<QPair<QByteArray, QByteArray>> headers;
    QByteArray body;
    // The whole exchange of one attempt, connecting included.
    std::chrono::milliseconds timeout{5000};
    // Extra attempts after a failure a retry can cure (refused, reset, timeout, 502, 503, 504;
    // not a host name that does not resolve), waiting retryBackoff, then twice that, and so on;
    // each attempt has the whole timeout. Honoured for GET and HEAD only: anything else may have
    // changed the backend, so it is never sent twice.
    int retries = 0;
    std::chrono::milliseconds retryBackoff{250};
    // Sent as "Authorization: Bearer ..."; never part of a message, a log line or the journal.
    QByteArray bearerToken;
    TlsOptions tls;
};

struct Response {
    int status = 0;
    // Names lower-cased, in the order received.
    QList<QPair<QByteArray, QByteArray>> headers;
    QByteArray body;
    // Of the attempt that answered.
    std::chrono::microseconds elapsed{0};
    int attempts = 1;

    // The first header of that name (case-insensitive), or empty.
    QByteArray header(QByteArrayView name) const;
};

enum class Failure {
    NameResolution, // the host name does not resolve
    Refused,        // nothing listens there
    Reset,          // the connection closed or reset before a whole answer came
    Timeout,
    Tls,           // handshake or certificate verification failed
    HttpStatus,    // an answer other than 2xx; the status and body are kept
    MalformedBody, // reported by the caller, which knows what the body should be
    Cancelled,     // never delivered to a callback; for completeness of the mapping
    Other,
};
QString toString(Failure failure);

struct HttpError {
    Failure failure = Failure::Other;
    int status = 0;  // HttpStatus only
    QByteArray body; // HttpStatus only: what the server said, for callers that parse errors
    // For the user: what was asked of where, what went wrong and what to do. Names the URL
    // without credentials or query string.
    QString message;

    // Unreachable, reset, TLS and 5xx are Unavailable; a timeout is Timeout; a malformed body
    // is Invalid; other statuses are Failed.
    Error toError() const;
};

// "https://prom.example:9090/api/v1/query": the URL as messages show it, without user
// information, query or fragment, which may carry secrets or pages of PromQL.
QString displayUrl(const QUrl &url);

// For callers that find a 2xx body they cannot use: "Prometheus at <url> answered with a body
// that could not be used: <why>", `why` saying what was expected ("not JSON: ...").
HttpError malformedBody(const QString &peer, const QUrl &url, const QString &why);

// HTTP over libcurl's multi interface, driven by the event loop of the thread it lives in
// (socket notifiers and one timer): nothing waits on the network. One client can carry many
// requests at once and reuses connections between them, so an adapter keeps one client for its
// lifetime. Redirects are not followed and proxy environment variables are ignored
// (docs/http.md).
class HttpClient : public QObject
{
    Q_OBJECT
public:
    using Done = std::function<void(Result<Response, HttpError>)>;

    explicit HttpClient(QObject *parent = nullptr);
    // Whatever is in flight is abandoned and its callbacks are not called.
    ~HttpClient() override;

    // `done` is called exactly once, from the event loop and never from inside send(), unless
    // the request is cancelled or the client destroyed first. A 2xx answer is a Response; every
    // other outcome is an HttpError. `peer` names the backend in messages ("Prometheus",
    // "nginx upstream 127.0.0.1:8081").
    quint64 send(const QString &peer, Request request, Done done);
    // Abandons a request, whether on the wire or waiting to retry; its callback is not called.
    // Unknown or finished ids are ignored. Safe from inside any callback.
    void cancel(quint64 id);
    // Requests sent whose callback has not been called yet (nor cancelled).
    int inFlight() const;

private:
    struct Private;
    std::unique_ptr<Private> d;
};

} // namespace sb::http
