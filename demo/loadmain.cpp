// signalbox-demo-load: steady traffic through a balancer, so the demo services have requests for
// Prometheus to measure and a canary's gates have something to judge.
//
//   signalbox-demo-load --url http://127.0.0.1:18080/ [--rate 40] [--quiet]

#include <QCommandLineParser>
#include <QCoreApplication>
#include <QElapsedTimer>
#include <QMap>
#include <QNetworkAccessManager>
#include <QNetworkReply>
#include <QTextStream>
#include <QTimer>
#include <QUrl>

#include <cstdio>

namespace {

[[noreturn]] void usageError(const QString &message)
{
    QTextStream(stderr) << "signalbox-demo-load: " << message << '\n';
    std::exit(2);
}

} // namespace

int main(int argc, char *argv[])
{
    QCoreApplication app(argc, argv);
    QCoreApplication::setApplicationName(QStringLiteral("signalbox-demo-load"));

    QCommandLineParser parser;
    parser.setApplicationDescription(
        QStringLiteral("Sends a steady rate of GET requests and prints, every few seconds, how "
                       "many each version answered and how many failed."));
    parser.addHelpOption();
    const QCommandLineOption urlOption(QStringLiteral("url"),
                                       QStringLiteral("Where to send requests, e.g. "
                                                      "http://127.0.0.1:18080/."),
                                       QStringLiteral("url"));
    const QCommandLineOption rateOption(QStringLiteral("rate"),
                                        QStringLiteral("Requests per second (1 to 2000; default "
                                                       "40)."),
                                        QStringLiteral("per-second"), QStringLiteral("40"));
    const QCommandLineOption reportOption(QStringLiteral("report-every"),
                                          QStringLiteral("Seconds between reports; 0 for none "
                                                         "(default 5)."),
                                          QStringLiteral("seconds"), QStringLiteral("5"));
    parser.addOptions({urlOption, rateOption, reportOption});
    parser.process(app);

    const QUrl url(parser.value(urlOption), QUrl::StrictMode);
    if (!parser.isSet(urlOption))
        usageError(QStringLiteral("--url is required, e.g. --url http://127.0.0.1:18080/"));
    if (!url.isValid()
        || (url.scheme() != QLatin1String("http") && url.scheme() != QLatin1String("https")))
        usageError(QStringLiteral("--url '%1' is not an http or https URL; write it like "
                                  "http://127.0.0.1:18080/")
                       .arg(parser.value(urlOption)));
    bool ok = false;
    const int rate = parser.value(rateOption).toInt(&ok);
    if (!ok || rate < 1 || rate > 2000)
        usageError(QStringLiteral("--rate '%1' must be a whole number of requests per second "
                                  "from 1 to 2000, e.g. --rate 40")
                       .arg(parser.value(rateOption)));
    const int reportEvery = parser.value(reportOption).toInt(&ok);
    if (!ok || reportEvery < 0)
        usageError(QStringLiteral("--report-every '%1' must be a whole number of seconds, e.g. 5")
                       .arg(parser.value(reportOption)));

    QNetworkAccessManager network;
    QMap<QString, qint64> answeredByVersion; // "2.0.0 500" → count, since the last report
    qint64 failed = 0;

    // A timer per request slot would drift; one timer sends what the elapsed time owes.
    QElapsedTimer elapsed;
    elapsed.start();
    qint64 sent = 0;
    QTimer pacer;
    pacer.setInterval(10);
    QObject::connect(&pacer, &QTimer::timeout, [&] {
        const qint64 owed = elapsed.elapsed() * rate / 1000 - sent;
        for (qint64 i = 0; i < owed; ++i) {
            QNetworkRequest request(url);
            request.setTransferTimeout(5000);
            QNetworkReply *reply = network.get(request);
            QObject::connect(reply, &QNetworkReply::finished, reply, [&, reply] {
                reply->deleteLater();
                const int status
                    = reply->attribute(QNetworkRequest::HttpStatusCodeAttribute).toInt();
                if (status == 0) {
                    ++failed;
                    return;
                }
                const QString version = QString::fromLatin1(reply->rawHeader("X-Version"));
                ++answeredByVersion[QStringLiteral("%1 %2")
                                        .arg(version.isEmpty() ? QStringLiteral("?") : version)
                                        .arg(status)];
            });
        }
        sent += owed;
    });
    pacer.start();

    QTimer reporter;
    if (reportEvery > 0) {
        reporter.setInterval(reportEvery * 1000);
        QObject::connect(&reporter, &QTimer::timeout, [&] {
            QStringList parts;
            for (auto it = answeredByVersion.cbegin(); it != answeredByVersion.cend(); ++it)
                parts.append(QStringLiteral("%1: %2").arg(it.key()).arg(it.value()));
            if (failed)
                parts.append(QStringLiteral("no answer: %1").arg(failed));
            QTextStream(stdout) << "last " << reportEvery << " s: "
                                << (parts.isEmpty() ? QStringLiteral("nothing answered")
                                                    : parts.join(QStringLiteral(", ")))
                                << Qt::endl;
            answeredByVersion.clear();
            failed = 0;
        });
        reporter.start();
    }
    return app.exec();
}
