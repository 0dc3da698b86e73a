// signalbox: the console. With no display, or with --screenshot, it renders the console
// offscreen on the virtual clock and saves a PNG instead of opening a window.

#include "adapterregistry.h"
#include "builtinadapters.h"
#include "clock.h"
#include "mainwindow.h"
#include "workspaceloader.h"
#include "workspacesession.h"

#include <QApplication>
#include <QCommandLineParser>
#include <QDir>
#include <QFileInfo>
#include <QImageWriter>
#include <QPixmap>
#include <QTimer>

#include <cstdio>
#include <cstdlib>

namespace {

const auto demoWorkspace = QStringLiteral(":/workspaces/demo.yaml");
const QSize screenshotSize(1440, 900);
constexpr double maxAfterSeconds = 7 * 24 * 3600;
// Without a display the picture stands in for the console a new user would have watched: a few
// simulated minutes into the demo, so its canaries are under way.
constexpr double headlessDemoSeconds = 300;

void printError(const QString &message)
{
    std::fprintf(stderr, "signalbox: %s\n", qPrintable(message));
}

bool hasDisplay()
{
    return qEnvironmentVariableIsSet("DISPLAY") || qEnvironmentVariableIsSet("WAYLAND_DISPLAY");
}

bool platformChosen(int argc, char **argv)
{
    if (qEnvironmentVariableIsSet("QT_QPA_PLATFORM"))
        return true;
    for (int i = 1; i < argc; ++i) {
        if (qstrcmp(argv[i], "-platform") == 0 || qstrcmp(argv[i], "--platform") == 0)
            return true;
    }
    return false;
}

bool wantsScreenshot(int argc, char **argv)
{
    for (int i = 1; i < argc; ++i) {
        if (qstrcmp(argv[i], "--screenshot") == 0 || qstrncmp(argv[i], "--screenshot=", 13) == 0)
            return true;
    }
    return false;
}

// "checkout" picks the first environment the workspace lists it in; "checkout/staging" is exact.
std::optional<sb::ServiceKey> findService(const sb::Workspace &workspace, const QString &text)
{
    const QString name = text.section(QLatin1Char('/'), 0, 0);
    const QString environment = text.section(QLatin1Char('/'), 1);
    for (const sb::ServiceSpec &service : workspace.services) {
        if (service.key.name == name
            && (environment.isEmpty() || service.key.environment == environment))
            return service.key;
    }
    return std::nullopt;
}

// True when every adapter of the workspace is simulated, so a screenshot may run on simulated
// time; real backends answer in real time. A workspace that does not load answers true: the
// window then shows why.
bool simulatedOnly(const QString &path, const sb::AdapterRegistry &registry)
{
    const auto loaded = sb::loadWorkspace(path, registry);
    if (!loaded)
        return true;
    for (const sb::AdapterSpec &adapter : loaded.value().adapters) {
        const sb::AdapterType *type = registry.find(adapter.type);
        if (type && !type->simulated)
            return false;
    }
    return true;
}

int renderScreenshot(sb::MainWindow &window, sb::Clock &clock, const QString &file,
                     const std::optional<sb::ServiceKey> &service, double afterSeconds,
                     bool timeline)
{
    const sb::Duration after(qint64(afterSeconds * 1000));
    if (auto *simulated = qobject_cast<sb::VirtualClock *>(&clock)) {
        // Second by second, letting the adapters answer in between, as the live console would
        // see it.
        const auto end = simulated->now() + after;
        while (simulated->now() < end) {
            simulated->advanceTo(std::min(end, simulated->now() + std::chrono::seconds(1)));
            QCoreApplication::processEvents();
        }
    } else {
        QEventLoop waiting;
        QTimer::singleShot(after, &waiting, &QEventLoop::quit);
        waiting.exec();
    }
    for (int round = 0; round < 4; ++round)
        QCoreApplication::processEvents();
    if (service)
        window.selectService(*service);
    if (timeline)
        window.showTimeline();

    window.resize(screenshotSize);
    window.show();
    QCoreApplication::processEvents();
    const QPixmap picture = window.grab();
    QImageWriter writer(file, "png");
    if (!writer.write(picture.toImage())) {
        printError(QStringLiteral("could not write the screenshot to %1: %2")
                       .arg(QDir::toNativeSeparators(QFileInfo(file).absoluteFilePath()),
                            writer.errorString()));
        return 1;
    }
    return 0;
}

} // namespace

int main(int argc, char **argv)
{
    // The platform must be chosen before QApplication exists.
    const bool screenshotRequested = wantsScreenshot(argc, argv);
    const bool headless = !screenshotRequested && !platformChosen(argc, argv) && !hasDisplay();
    if (screenshotRequested || headless)
        qputenv("QT_QPA_PLATFORM", "offscreen");

    QApplication app(argc, argv);
    QApplication::setOrganizationName(QStringLiteral("Signalbox"));
    QApplication::setApplicationName(QStringLiteral("signalbox"));
    QApplication::setApplicationDisplayName(QStringLiteral("Signalbox"));
    QApplication::setApplicationVersion(QStringLiteral(SIGNALBOX_VERSION));
    QApplication::setDesktopFileName(QStringLiteral("signalbox"));

    QCommandLineParser parser;
    parser.setApplicationDescription(
        QStringLiteral("Signalbox, a control console for zero-downtime releases.\n"
                       "Without --workspace it opens the built-in simulated demo fleet."));
    parser.addHelpOption();
    parser.addVersionOption();
    const QCommandLineOption workspaceOption(
        QStringLiteral("workspace"), QStringLiteral("Open the workspace FILE (signalbox.yaml)."),
        QStringLiteral("FILE"));
    const QCommandLineOption journalOption(
        QStringLiteral("journal"),
        QStringLiteral("Keep the audit journal in FILE (SQLite) instead of the workspace's own "
                       "'journal:' or the default; see docs/journal.md."),
        QStringLiteral("FILE"));
    const QCommandLineOption screenshotOption(
        QStringLiteral("screenshot"),
        QStringLiteral("Render the console offscreen at %1x%2 on the virtual clock, save it as "
                       "a PNG to FILE and exit.")
            .arg(screenshotSize.width())
            .arg(screenshotSize.height()),
        QStringLiteral("FILE"));
    const QCommandLineOption serviceOption(
        QStringLiteral("service"),
        QStringLiteral("With --screenshot: select service NAME, or NAME/ENVIRONMENT."),
        QStringLiteral("NAME"));
    const QCommandLineOption afterOption(
        QStringLiteral("after"),
        QStringLiteral("With --screenshot: run SECONDS first (default 0): simulated time, or "
                       "real time when the workspace has real backends."),
        QStringLiteral("SECONDS"), QStringLiteral("0"));
    const QCommandLineOption timelineOption(
        QStringLiteral("timeline"),
        QStringLiteral("With --screenshot: show the Timeline page, the whole journal."));
    QCommandLineOption quitAfterPaintOption(
        QStringLiteral("quit-after-first-paint"),
        QStringLiteral("Exit as soon as the main window has painted once (start-up benchmark)."));
    quitAfterPaintOption.setFlags(QCommandLineOption::HiddenFromHelp);
    parser.addOptions({workspaceOption, journalOption, screenshotOption, serviceOption, afterOption,
                       timelineOption, quitAfterPaintOption});
    parser.process(app);

    if (!parser.positionalArguments().isEmpty()) {
        printError(
            QStringLiteral("unexpected argument '%1'; to open a workspace use --workspace FILE")
                .arg(parser.positionalArguments().constFirst()));
        return 2;
    }
    bool afterOk = false;
    const double afterSeconds = parser.value(afterOption).toDouble(&afterOk);
    if (!afterOk || afterSeconds < 0 || afterSeconds > maxAfterSeconds) {
        printError(QStringLiteral("--after expects seconds between 0 and %1, "
                                  "like 120; got '%2'")
                       .arg(maxAfterSeconds)
                       .arg(parser.value(afterOption)));
        return 2;
    }
    if (!screenshotRequested
        && (parser.isSet(serviceOption) || parser.isSet(afterOption)
            || parser.isSet(timelineOption))) {
        printError(QStringLiteral("--service, --after and --timeline go with --screenshot FILE"));
        return 2;
    }

    const QString workspacePath
        = parser.isSet(workspaceOption) ? parser.value(workspaceOption) : demoWorkspace;

    sb::AdapterRegistry registry;
    sb::registerBuiltinAdapters(registry);

    if (screenshotRequested || headless) {
        const QString file = screenshotRequested ? parser.value(screenshotOption)
                                                 : QStringLiteral("signalbox-screenshot.png");
        if (headless)
            std::fprintf(stderr,
                         "signalbox: no display found (DISPLAY and WAYLAND_DISPLAY are unset), so "
                         "the console is saved as a picture instead: %s\n"
                         "signalbox: run it on a desktop, over ssh -X, or under xvfb-run to use "
                         "it; --screenshot FILE chooses where the picture goes.\n",
                         qPrintable(QDir::toNativeSeparators(QFileInfo(file).absoluteFilePath())));
        std::unique_ptr<sb::Clock> clock;
        if (simulatedOnly(workspacePath, registry))
            clock = std::make_unique<sb::VirtualClock>(sb::VirtualClock::defaultStart());
        else
            clock = std::make_unique<sb::RealClock>();
        sb::MainWindow window(registry, clock.get());
        window.setRemembersState(false);
        window.setJournalPath(parser.value(journalOption));
        if (const auto problem = window.openWorkspace(workspacePath)) {
            printError(problem->toString());
            if (const QString excerpt = sb::sourceExcerpt(*problem); !excerpt.isEmpty())
                std::fprintf(stderr, "%s\n", qPrintable(excerpt));
            return 1;
        }
        std::optional<sb::ServiceKey> service;
        if (parser.isSet(serviceOption)) {
            service = findService(window.session()->workspace(), parser.value(serviceOption));
            if (!service) {
                QStringList names;
                for (const sb::ServiceSpec &spec : window.session()->workspace().services)
                    names << spec.key.id();
                printError(QStringLiteral("no service '%1' in workspace '%2'; choose one of: %3")
                               .arg(parser.value(serviceOption), window.session()->workspace().name,
                                    names.join(QStringLiteral(", "))));
                return 2;
            }
        }
        const bool demoPicture = headless && !parser.isSet(workspaceOption);
        if (demoPicture)
            std::fprintf(stderr, "signalbox: the picture shows the demo %g simulated minutes in.\n",
                         headlessDemoSeconds / 60);
        return renderScreenshot(window, *clock, file, service,
                                demoPicture ? headlessDemoSeconds : afterSeconds,
                                parser.isSet(timelineOption));
    }

    sb::RealClock clock;
    sb::MainWindow window(registry, &clock);
    window.setJournalPath(parser.value(journalOption));
    window.openWorkspace(workspacePath);
    window.restoreLayout();
    if (parser.isSet(quitAfterPaintOption))
        QObject::connect(&window, &sb::MainWindow::firstPainted, &app, &QCoreApplication::quit);
    window.show();
    return app.exec();
}
