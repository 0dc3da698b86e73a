#include "demoservice.h"
#include "serviceoptions.h"
#include "terminationsignals.h"

#include <QCoreApplication>

#include <cstdio>

// Exit codes: 0 after a graceful shutdown, 1 when it cannot listen or the shutdown timed out,
// 2 for a bad command line, 128 + the signal number when a second signal cut the shutdown short.
int main(int argc, char *argv[])
{
    QCoreApplication app(argc, argv);
    QCoreApplication::setApplicationName(QStringLiteral("signalbox-demo-service"));
    const QStringList arguments = app.arguments().mid(1);

    if (sb::demo::wantsHelp(arguments)) {
        std::fputs(sb::demo::usageText().toLocal8Bit().constData(), stdout);
        return 0;
    }

    sb::demo::ServiceOptions options;
    try {
        options = sb::demo::parseServiceOptions(arguments);
    } catch (const sb::demo::OptionError &error) {
        std::fprintf(stderr, "signalbox-demo-service: %s\n(run with --help for the options)\n",
                     error.what());
        return 2;
    }

    sb::demo::TerminationSignals terminationSignals;
    if (!terminationSignals.install()) {
        std::fprintf(stderr, "signalbox-demo-service: %s\n",
                     terminationSignals.errorString().toLocal8Bit().constData());
        return 1;
    }

    sb::demo::DemoService service(options);
    if (!service.listen()) {
        std::fprintf(stderr, "signalbox-demo-service: %s\n",
                     service.errorString().toLocal8Bit().constData());
        return 1;
    }
    QObject::connect(&terminationSignals, &sb::demo::TerminationSignals::received, &service,
                     &sb::demo::DemoService::handleTerminationSignal);
    QObject::connect(&service, &sb::demo::DemoService::finished, &app, &QCoreApplication::exit);

    std::printf("listening on %s\n", service.url().toLocal8Bit().constData());
    std::fflush(stdout);
    return app.exec();
}
