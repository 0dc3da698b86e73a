#include "httpclient.h"

#include "timepoint.h"

#include <QFileInfo>
#include <QHash>
#include <QLoggingCategory>
#include <QPointer>
#include <QSocketNotifier>
#include <QTimer>

#include <curl/curl.h>

#include <algorithm>
#include <limits>
#include <map>
#include <mutex>

namespace sb::http {

namespace {

Q_LOGGING_CATEGORY(lcHttp, "signalbox.http")

// A Prometheus answer for a long range is tens of MB at most; more than this is a wrong
// endpoint or a runaway server, and is not worth the console's memory.
constexpr qsizetype maxBodyBytes = 128 * 1024 * 1024;
constexpr int maxBodyInMessage = 200;

void initCurlOnce()
{
    // curl_global_init is not thread-safe itself, and must run before any other curl call.
    static std::once_flag once;
    std::call_once(once, [] {
        const CURLcode code = curl_global_init(CURL_GLOBAL_DEFAULT);
        if (code != CURLE_OK)
            qCCritical(lcHttp) << "curl_global_init failed:" << curl_easy_strerror(code);
    });
}

// Whether curl's built-in CA directory (hashed, as update-ca-certificates keeps
// /etc/ssl/certs) exists. Trusting the directory alone lets OpenSSL load the few certificates a
// handshake needs, where the bundle file is parsed whole (some 150 certificates, tens of
// milliseconds on the event loop) before the first handshake of every client.
bool hasSystemCaDirectory()
{
    static const bool exists = [] {
        CURL *easy = curl_easy_init();
        if (!easy)
            return false;
        const char *directory = nullptr;
        curl_easy_getinfo(easy, CURLINFO_CAPATH, &directory);
        const bool found = directory && QFileInfo(QString::fromLocal8Bit(directory)).isDir();
        curl_easy_cleanup(easy);
        return found;
    }();
    return exists;
}

// The body as a message shows it: one line, printable, cut at maxBodyInMessage characters.
QString bodyExcerpt(const QByteArray &body)
{
    QString text = QString::fromUtf8(body.left(maxBodyInMessage * 4));
    for (QChar &c : text) {
        if (!c.isPrint())
            c = QLatin1Char(' ');
    }
    text = text.simplified();
    if (text.size() > maxBodyInMessage)
        text = text.left(maxBodyInMessage - 1) + QChar(0x2026);
    return text;
}

bool isRetryableMethod(const QByteArray &method)
{
    return method == "GET" || method == "HEAD";
}

bool isRetryable(const HttpError &error)
{
    switch (error.failure) {
    case Failure::Refused:
    case Failure::Reset:
    case Failure::Timeout: return true;
    case Failure::HttpStatus:
        return error.status == 502 || error.status == 503 || error.status == 504;
    // A host name that does not resolve is a typo or a missing DNS entry far more often than a
    // passing glitch, and waiting will not fix it.
    case Failure::NameResolution:
    case Failure::Tls:
    case Failure::MalformedBody:
    case Failure::Cancelled:
    case Failure::Other: return false;
    }
    return false;
}

QByteArray headerValue(const QList<QPair<QByteArray, QByteArray>> &headers, QByteArrayView name)
{
    for (const auto &[key, value] : headers) {
        if (key.compare(name, Qt::CaseInsensitive) == 0)
            return value;
    }
    return {};
}

bool hasLineBreak(QByteArrayView text)
{
    return text.contains('\r') || text.contains('\n') || text.contains('\0');
}

// "Prometheus at http://127.0.0.1:9090 (GET /api/v1/query)": who was asked what, without
// credentials or query.
QString subject(const QString &peer, const QByteArray &method, const QUrl &url, int attempts)
{
    const QString origin = url.adjusted(QUrl::RemoveUserInfo | QUrl::RemovePath | QUrl::RemoveQuery
                                        | QUrl::RemoveFragment)
                               .toString();
    QString path = url.path();
    if (path.isEmpty())
        path = QStringLiteral("/");
    QString text
        = QStringLiteral("%1 at %2 (%3 %4").arg(peer, origin, QString::fromLatin1(method), path);
    if (attempts > 1)
        text += QStringLiteral(", %1 attempts").arg(attempts);
    return text + QLatin1Char(')');
}

} // namespace

QString toString(Failure failure)
{
    switch (failure) {
    case Failure::NameResolution: return QStringLiteral("name resolution");
    case Failure::Refused: return QStringLiteral("refused");
    case Failure::Reset: return QStringLiteral("reset");
    case Failure::Timeout: return QStringLiteral("timeout");
    case Failure::Tls: return QStringLiteral("tls");
    case Failure::HttpStatus: return QStringLiteral("http status");
    case Failure::MalformedBody: return QStringLiteral("malformed body");
    case Failure::Cancelled: return QStringLiteral("cancelled");
    case Failure::Other: return QStringLiteral("other");
    }
    return QStringLiteral("unknown");
}

QByteArray Response::header(QByteArrayView name) const
{
    return headerValue(headers, name);
}

Error HttpError::toError() const
{
    switch (failure) {
    case Failure::NameResolution:
    case Failure::Refused:
    case Failure::Reset:
    case Failure::Tls: return Error{Error::Kind::Unavailable, message};
    case Failure::Timeout: return Error{Error::Kind::Timeout, message};
    case Failure::HttpStatus:
        return Error{status >= 500 ? Error::Kind::Unavailable : Error::Kind::Failed, message};
    case Failure::MalformedBody: return Error{Error::Kind::Invalid, message};
    case Failure::Cancelled:
    case Failure::Other: return Error{Error::Kind::Failed, message};
    }
    return Error{Error::Kind::Failed, message};
}

QString displayUrl(const QUrl &url)
{
    return url.adjusted(QUrl::RemoveUserInfo | QUrl::RemoveQuery | QUrl::RemoveFragment).toString();
}

HttpError malformedBody(const QString &peer, const QUrl &url, const QString &why)
{
    HttpError error;
    error.failure = Failure::MalformedBody;
    error.message = QStringLiteral("%1 at %2 answered with a body that could not be used: %3")
                        .arg(peer, displayUrl(url), why);
    return error;
}

struct HttpClient::Private {
    struct Transfer {
        quint64 id = 0;
        QString peer;
        Request request;
        Done done;
        CURL *easy = nullptr;
        curl_slist *headerList = nullptr;
        bool inMulti = false;
        int attempt = 1;
        std::unique_ptr<QTimer> retryTimer;
        QByteArray body;
        bool bodyTooLarge = false;
        QList<QPair<QByteArray, QByteArray>> headers;
        char errorBuffer[CURL_ERROR_SIZE] = {};
    };
    struct SocketWatch {
        QSocketNotifier *read = nullptr;
        QSocketNotifier *write = nullptr;
    };

    HttpClient *q;
    CURLM *multi = nullptr;
    QTimer curlTimer;
    quint64 lastId = 0;
    std::map<quint64, std::unique_ptr<Transfer>> transfers;
    QHash<curl_socket_t, SocketWatch> sockets;

    explicit Private(HttpClient *client)
        : q(client)
    {}

    static int onSocket(CURL *, curl_socket_t socket, int what, void *self, void *)
    {
        static_cast<Private *>(self)->watchSocket(socket, what);
        return 0;
    }
    static int onTimer(CURLM *, long timeoutMs, void *self)
    {
        // Only arms the timer: curl must not be re-entered from inside its own callback.
        QTimer &timer = static_cast<Private *>(self)->curlTimer;
        if (timeoutMs < 0)
            timer.stop();
        else
            timer.start(int(std::min<long>(timeoutMs, std::numeric_limits<int>::max())));
        return 0;
    }
    static size_t onBody(char *data, size_t size, size_t count, void *userp)
    {
        auto *transfer = static_cast<Transfer *>(userp);
        const size_t bytes = size * count;
        if (transfer->body.size() + qsizetype(bytes) > maxBodyBytes) {
            transfer->bodyTooLarge = true;
            return 0; // makes curl abort the transfer with CURLE_WRITE_ERROR
        }
        transfer->body.append(data, qsizetype(bytes));
        return bytes;
    }
    static size_t onHeader(char *data, size_t size, size_t count, void *userp)
    {
        auto *transfer = static_cast<Transfer *>(userp);
        const size_t bytes = size * count;
        const QByteArray line = QByteArray(data, qsizetype(bytes)).trimmed();
        // A status line starts the headers of a new answer (after a "100 Continue").
        if (line.startsWith("HTTP/")) {
            transfer->headers.clear();
        } else if (const qsizetype colon = line.indexOf(':'); colon > 0) {
            transfer->headers.append(
                {line.left(colon).trimmed().toLower(), line.mid(colon + 1).trimmed()});
        }
        return bytes;
    }

    void watchSocket(curl_socket_t socket, int what)
    {
        if (what == CURL_POLL_REMOVE) {
            const SocketWatch watch = sockets.take(socket);
            // Possibly inside this very notifier's signal: disable now, delete later.
            for (QSocketNotifier *notifier : {watch.read, watch.write}) {
                if (notifier) {
                    notifier->setEnabled(false);
                    notifier->deleteLater();
                }
            }
            return;
        }
        SocketWatch &watch = sockets[socket];
        const bool wantRead = what == CURL_POLL_IN || what == CURL_POLL_INOUT;
        const bool wantWrite = what == CURL_POLL_OUT || what == CURL_POLL_INOUT;
        if (wantRead && !watch.read)
            watch.read = makeNotifier(socket, QSocketNotifier::Read, CURL_CSELECT_IN);
        if (wantWrite && !watch.write)
            watch.write = makeNotifier(socket, QSocketNotifier::Write, CURL_CSELECT_OUT);
        if (watch.read)
            watch.read->setEnabled(wantRead);
        if (watch.write)
            watch.write->setEnabled(wantWrite);
    }

    QSocketNotifier *makeNotifier(curl_socket_t socket, QSocketNotifier::Type type, int event)
    {
        // Not a child of the client: it may be destroyed from inside the notifier's signal,
        // and removed ones are deleted later.
        auto *notifier = new QSocketNotifier(qintptr(socket), type);
        QObject::connect(notifier, &QSocketNotifier::activated, q,
                         [this, socket, event] { drive(socket, event); });
        return notifier;
    }

    // Lets curl act on a socket event or its timer, then finishes what completed.
    void drive(curl_socket_t socket, int event)
    {
        int running = 0;
        curl_multi_socket_action(multi, socket, event, &running);
        finishCompleted();
    }

    void finishCompleted()
    {
        QList<QPair<quint64, CURLcode>> completed;
        int queued = 0;
        while (CURLMsg *message = curl_multi_info_read(multi, &queued)) {
            if (message->msg != CURLMSG_DONE)
                continue;
            Transfer *transfer = nullptr;
            curl_easy_getinfo(message->easy_handle, CURLINFO_PRIVATE, &transfer);
            completed.append({transfer->id, message->data.result});
        }
        const QPointer<HttpClient> alive(q);
        for (const auto &[id, code] : completed) {
            // An earlier callback may have cancelled this one or destroyed the client.
            if (!alive)
                return;
            const auto found = transfers.find(id);
            if (found != transfers.end())
                finish(*found->second, code);
        }
    }

    void finish(Transfer &transfer, CURLcode code)
    {
        curl_multi_remove_handle(multi, transfer.easy);
        transfer.inMulti = false;
        long status = 0;
        curl_easy_getinfo(transfer.easy, CURLINFO_RESPONSE_CODE, &status);
        if (code == CURLE_OK && status >= 200 && status < 300) {
            Response response;
            response.status = int(status);
            response.headers = std::move(transfer.headers);
            response.body = std::move(transfer.body);
            curl_off_t micros = 0;
            curl_easy_getinfo(transfer.easy, CURLINFO_TOTAL_TIME_T, &micros);
            response.elapsed = std::chrono::microseconds(micros);
            response.attempts = transfer.attempt;
            deliver(transfer.id, std::move(response));
            return;
        }
        HttpError error = classify(transfer, code, int(status));
        if (transfer.attempt <= transfer.request.retries
            && isRetryableMethod(transfer.request.method) && isRetryable(error)) {
            scheduleRetry(transfer);
            return;
        }
        deliver(transfer.id, std::move(error));
    }

    HttpError classify(const Transfer &transfer, CURLcode code, int status) const
    {
        const Request &request = transfer.request;
        const QString who = subject(transfer.peer, request.method, request.url, transfer.attempt);
        const QString detail = QString::fromUtf8(transfer.errorBuffer).trimmed();
        const QString curlText
            = detail.isEmpty() ? QString::fromUtf8(curl_easy_strerror(code)) : detail;
        HttpError error;
        switch (code) {
        case CURLE_OK: {
            error.failure = Failure::HttpStatus;
            error.status = status;
            error.body = transfer.body;
            QString what = QStringLiteral("HTTP %1").arg(status);
            const QString excerpt = bodyExcerpt(transfer.body);
            if (!excerpt.isEmpty())
                what += QStringLiteral(": ") + excerpt;
            if (status >= 300 && status < 400) {
                // Redirects are not followed: a token must not travel to another address.
                const QUrl location(QString::fromUtf8(headerValue(transfer.headers, "location")));
                what += QStringLiteral("; it redirects%1, which is not followed: point url at "
                                       "the final address")
                            .arg(location.isEmpty()
                                     ? QString()
                                     : QStringLiteral(" to ")
                                           + displayUrl(request.url.resolved(location)));
            } else if (status == 401 || status == 403) {
                what += QStringLiteral("; check the token (token_env or token_file) and its "
                                       "permissions");
            }
            error.message = who + QStringLiteral(": ") + what;
            break;
        }
        case CURLE_COULDNT_RESOLVE_HOST:
            error.failure = Failure::NameResolution;
            error.message = QStringLiteral("%1: the host name '%2' does not resolve; check the "
                                           "url for typos and that the name is in the DNS")
                                .arg(who, request.url.host());
            break;
        case CURLE_COULDNT_CONNECT:
            error.failure = Failure::Refused;
            error.message = QStringLiteral("%1: connection refused; check that it runs and "
                                           "listens there")
                                .arg(who);
            break;
        case CURLE_RECV_ERROR:
        case CURLE_SEND_ERROR:
        case CURLE_GOT_NOTHING:
        case CURLE_PARTIAL_FILE:
            error.failure = Failure::Reset;
            error.message = QStringLiteral("%1: the connection closed before a whole answer came "
                                           "(%2); check the server's log and anything between")
                                .arg(who, curlText);
            break;
        case CURLE_OPERATION_TIMEDOUT:
            error.failure = Failure::Timeout;
            error.message = QStringLiteral("%1: no answer within %2; check that it is not "
                                           "overloaded, or raise timeout")
                                .arg(who, formatTimeout(request.timeout));
            break;
        case CURLE_PEER_FAILED_VERIFICATION:
            error.failure = Failure::Tls;
            error.message = QStringLiteral("%1: the TLS certificate could not be verified (%2); "
                                           "set ca_file to the CA that signed it")
                                .arg(who, curlText);
            break;
        case CURLE_SSL_CONNECT_ERROR:
        case CURLE_SSL_ENGINE_NOTFOUND:
        case CURLE_SSL_ENGINE_SETFAILED:
        case CURLE_SSL_CERTPROBLEM:
        case CURLE_SSL_CIPHER:
        case CURLE_SSL_ENGINE_INITFAILED:
        case CURLE_SSL_CACERT_BADFILE:
        case CURLE_SSL_SHUTDOWN_FAILED:
        case CURLE_SSL_CRL_BADFILE:
        case CURLE_SSL_ISSUER_ERROR:
        case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
        case CURLE_SSL_INVALIDCERTSTATUS:
        case CURLE_SSL_CLIENTCERT:
        case CURLE_USE_SSL_FAILED:
            error.failure = Failure::Tls;
            error.message = QStringLiteral("%1: the TLS handshake failed (%2); check that it "
                                           "speaks https on that port, and ca_file")
                                .arg(who, curlText);
            break;
        case CURLE_WRITE_ERROR:
            if (transfer.bodyTooLarge) {
                error.message = QStringLiteral("%1: the answer is larger than %2 MB; is this the "
                                               "right endpoint?")
                                    .arg(who)
                                    .arg(maxBodyBytes / (1024 * 1024));
                break;
            }
            [[fallthrough]];
        default: error.message = QStringLiteral("%1: %2").arg(who, curlText); break;
        }
        // A server may echo what it was sent; the token stays out of messages all the same.
        if (!request.bearerToken.isEmpty())
            error.message.replace(QString::fromUtf8(request.bearerToken), QStringLiteral("***"));
        return error;
    }

    void scheduleRetry(Transfer &transfer)
    {
        const int shift = std::min(transfer.attempt - 1, 20);
        const auto wait = std::min<std::chrono::milliseconds>(
            transfer.request.retryBackoff * (qint64(1) << shift), std::chrono::minutes(10));
        ++transfer.attempt;
        transfer.retryTimer = std::make_unique<QTimer>();
        transfer.retryTimer->setSingleShot(true);
        const quint64 id = transfer.id;
        QObject::connect(transfer.retryTimer.get(), &QTimer::timeout, q, [this, id] {
            const auto found = transfers.find(id);
            if (found != transfers.end())
                startAttempt(*found->second);
        });
        transfer.retryTimer->start(wait);
    }

    void startAttempt(Transfer &transfer)
    {
        transfer.body.clear();
        transfer.bodyTooLarge = false;
        transfer.headers.clear();
        transfer.errorBuffer[0] = '\0';
        const CURLMcode code = curl_multi_add_handle(multi, transfer.easy);
        if (code != CURLM_OK) {
            HttpError error;
            error.message = QStringLiteral("%1: could not start the request (%2)")
                                .arg(subject(transfer.peer, transfer.request.method,
                                             transfer.request.url, transfer.attempt),
                                     QString::fromUtf8(curl_multi_strerror(code)));
            failLater(transfer.id, std::move(error));
            return;
        }
        transfer.inMulti = true;
    }

    // For failures found before curl ran: the callback still comes from the event loop.
    void failLater(quint64 id, HttpError error)
    {
        QMetaObject::invokeMethod(
            q,
            [this, id, error = std::move(error)]() mutable {
                if (transfers.count(id))
                    deliver(id, std::move(error));
            },
            Qt::QueuedConnection);
    }

    void deliver(quint64 id, Result<Response, HttpError> result)
    {
        const auto found = transfers.find(id);
        Done done = std::move(found->second->done);
        release(*found->second);
        transfers.erase(found);
        done(std::move(result));
    }

    void release(Transfer &transfer)
    {
        transfer.retryTimer.reset();
        if (transfer.easy) {
            if (transfer.inMulti)
                curl_multi_remove_handle(multi, transfer.easy);
            curl_easy_cleanup(transfer.easy);
            transfer.easy = nullptr;
        }
        curl_slist_free_all(transfer.headerList);
        transfer.headerList = nullptr;
    }

    // Sets up the easy handle; an empty string when it is ready, else what is wrong.
    QString configure(Transfer &transfer)
    {
        const Request &request = transfer.request;
        const QString scheme = request.url.scheme();
        if (!request.url.isValid() || request.url.host().isEmpty()
            || (scheme != QLatin1String("http") && scheme != QLatin1String("https")))
            return QStringLiteral("the address is not an http:// or https:// URL with a host");
        if (request.method.isEmpty() || hasLineBreak(request.method)
            || request.method.contains(' '))
            return QStringLiteral("the method is not a single word");
        if (hasLineBreak(request.bearerToken))
            return QStringLiteral("the token contains a line break; check where it comes from");
        if (request.timeout <= std::chrono::milliseconds(0))
            return QStringLiteral("the timeout is not positive");

        CURL *easy = curl_easy_init();
        if (!easy)
            return QStringLiteral("curl could not set up the request");
        transfer.easy = easy;

        for (const auto &[name, value] : request.headers) {
            if (name.isEmpty() || hasLineBreak(name) || name.contains(':') || hasLineBreak(value))
                return QStringLiteral("header '%1' is not a valid header")
                    .arg(QString::fromUtf8(name.left(40)));
            transfer.headerList
                = curl_slist_append(transfer.headerList, (name + ": " + value).constData());
        }
        if (!request.bearerToken.isEmpty()) {
            transfer.headerList = curl_slist_append(
                transfer.headerList, ("Authorization: Bearer " + request.bearerToken).constData());
        }
        // Without this, curl waits up to a second for "100 Continue" before sending a large body.
        transfer.headerList = curl_slist_append(transfer.headerList, "Expect:");

        curl_easy_setopt(easy, CURLOPT_PRIVATE, &transfer);
        curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, transfer.errorBuffer);
        curl_easy_setopt(easy, CURLOPT_URL, request.url.toEncoded().constData());
        curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
        curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(easy, CURLOPT_FOLLOWLOCATION, 0L);
        // The backends are on the operator's network; a proxy meant for the web browser would
        // see tokens and add a hop that fails on its own. An empty string ignores *_proxy.
        curl_easy_setopt(easy, CURLOPT_PROXY, "");
        curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, long(request.timeout.count()));
        curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS, long(request.timeout.count()));
        curl_easy_setopt(easy, CURLOPT_TCP_KEEPALIVE, 1L);
        curl_easy_setopt(easy, CURLOPT_ACCEPT_ENCODING, "");
        curl_easy_setopt(easy, CURLOPT_USERAGENT, "Signalbox/" SIGNALBOX_VERSION);
        curl_easy_setopt(easy, CURLOPT_HTTPHEADER, transfer.headerList);
        curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, &Private::onBody);
        curl_easy_setopt(easy, CURLOPT_WRITEDATA, &transfer);
        curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, &Private::onHeader);
        curl_easy_setopt(easy, CURLOPT_HEADERDATA, &transfer);

        curl_easy_setopt(easy, CURLOPT_SSL_VERIFYPEER, request.tls.verifyPeer ? 1L : 0L);
        curl_easy_setopt(easy, CURLOPT_SSL_VERIFYHOST, request.tls.verifyPeer ? 2L : 0L);
        if (!request.tls.caFile.isEmpty())
            curl_easy_setopt(easy, CURLOPT_CAINFO, request.tls.caFile.toLocal8Bit().constData());
        else if (hasSystemCaDirectory())
            curl_easy_setopt(easy, CURLOPT_CAINFO, nullptr);

        if (request.method == "GET") {
            curl_easy_setopt(easy, CURLOPT_HTTPGET, 1L);
        } else if (request.method == "HEAD") {
            curl_easy_setopt(easy, CURLOPT_NOBODY, 1L);
        } else {
            if (request.method == "POST" || !request.body.isEmpty()) {
                // The request outlives the transfer, so curl can read the body in place.
                curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE,
                                 curl_off_t(request.body.size()));
                curl_easy_setopt(easy, CURLOPT_POSTFIELDS, request.body.constData());
            }
            if (request.method != "POST")
                curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, request.method.constData());
        }
        return {};
    }
};

HttpClient::HttpClient(QObject *parent)
    : QObject(parent)
    , d(std::make_unique<Private>(this))
{
    initCurlOnce();
    d->multi = curl_multi_init();
    curl_multi_setopt(d->multi, CURLMOPT_SOCKETFUNCTION, &Private::onSocket);
    curl_multi_setopt(d->multi, CURLMOPT_SOCKETDATA, d.get());
    curl_multi_setopt(d->multi, CURLMOPT_TIMERFUNCTION, &Private::onTimer);
    curl_multi_setopt(d->multi, CURLMOPT_TIMERDATA, d.get());
    d->curlTimer.setSingleShot(true);
    connect(&d->curlTimer, &QTimer::timeout, this, [this] { d->drive(CURL_SOCKET_TIMEOUT, 0); });
}

HttpClient::~HttpClient()
{
    for (auto &[id, transfer] : d->transfers)
        d->release(*transfer);
    d->transfers.clear();
    // Closes the cached connections, which removes their sockets through onSocket.
    curl_multi_cleanup(d->multi);
    for (const Private::SocketWatch &watch : std::as_const(d->sockets)) {
        for (QSocketNotifier *notifier : {watch.read, watch.write}) {
            if (notifier) {
                notifier->setEnabled(false);
                notifier->deleteLater();
            }
        }
    }
}

quint64 HttpClient::send(const QString &peer, Request request, Done done)
{
    const quint64 id = ++d->lastId;
    auto owned = std::make_unique<Private::Transfer>();
    Private::Transfer &transfer = *owned;
    transfer.id = id;
    transfer.peer = peer;
    transfer.request = std::move(request);
    transfer.request.method = transfer.request.method.toUpper();
    transfer.done = std::move(done);
    d->transfers.emplace(id, std::move(owned));

    const QString problem = d->configure(transfer);
    if (!problem.isEmpty()) {
        HttpError error;
        error.message = QStringLiteral("%1: %2").arg(
            subject(peer, transfer.request.method, transfer.request.url, 1), problem);
        d->failLater(id, std::move(error));
        return id;
    }
    d->startAttempt(transfer);
    return id;
}

void HttpClient::cancel(quint64 id)
{
    const auto found = d->transfers.find(id);
    if (found == d->transfers.end())
        return;
    d->release(*found->second);
    d->transfers.erase(found);
}

int HttpClient::inFlight() const
{
    return int(d->transfers.size());
}

} // namespace sb::http
