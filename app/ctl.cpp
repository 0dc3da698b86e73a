// signalbox-ctl: the console's command-line twin, for incidents over SSH and for scripts. It
// drives releases through the same workspace session, release controller and journal as the
// window, so an action taken here is recorded, restored after a crash and rolled back exactly
// as a click would be.

#include "adapterregistry.h"
#include "builtinadapters.h"
#include "clock.h"
#include "journal.h"
#include "judgestream.h"
#include "releasecontroller.h"
#include "rollback.h"
#include "workspaceloader.h"
#include "workspacesession.h"

#include <QBuffer>
#include <QCommandLineParser>
#include <QCoreApplication>
#include <QDateTime>
#include <QElapsedTimer>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QRegularExpression>
#include <QSaveFile>
#include <QTemporaryDir>
#include <QTimer>

#include <cmath>
#include <cstdio>
#include <deque>
#include <functional>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <variant>

namespace sb {
namespace {

using namespace std::chrono_literals;

enum Exit : int {
    ExitDone = 0,
    ExitRefused = 1,
    ExitUsage = 2,
    ExitUnusable = 3,
    ExitIncomplete = 4,
};

const auto demoWorkspace = QStringLiteral(":/workspaces/demo.yaml");
constexpr double maxSeconds = 7 * 24 * 3600;
// A journal with entries further than this from the virtual clock's epoch was written on the
// real clock, and a simulation cannot stand where it left off.
constexpr Duration maxSimulatedSpan = std::chrono::days(30);
// How long the adapters get to answer their first requests before a command goes on with what
// it has.
constexpr Duration firstObservationWait = 10s;
constexpr Duration journalOpenWait = 30s;

const QString exitCodesText = QStringLiteral(
    "Exit codes:\n"
    "  0  done\n"
    "  1  refused: the release cannot take that now (the reason is on stderr)\n"
    "  2  usage error: unknown command or option, bad SERVICE or number; judge: a\n"
    "     malformed line on stdin (the decision is still printed)\n"
    "  3  the workspace or the journal cannot be used, or journal verify found it altered\n"
    "  4  accepted, but it did not complete: a backend refused or did not answer, or\n"
    "     --timeout passed; what is known is on stderr\n");

void printError(const QString &message)
{
    std::fprintf(stderr, "signalbox-ctl: %s\n", message.toUtf8().constData());
    std::fflush(stderr);
}

void printLine(std::FILE *to, const QString &line)
{
    std::fputs(line.toUtf8().constData(), to);
    std::fputc('\n', to);
    std::fflush(to);
}

int usageError(const QString &message)
{
    printError(message);
    return ExitUsage;
}

QString percentText(double percent)
{
    const double rounded = std::round(percent * 10) / 10;
    return (rounded == std::round(rounded) ? QString::number(qint64(rounded))
                                           : QString::number(rounded, 'f', 1))
           + QLatin1Char('%');
}

// ---------------------------------------------------------------------------------------------
// The command line

struct Options {
    QString command;
    QStringList arguments; // after the command
    QString workspacePath;
    QString journalPath; // --journal; empty for the workspace's own
    bool simulate = false;
    double afterSeconds = 0;
    QString operatorName;
    bool json = false;
    std::optional<double> timeoutSeconds;
    bool followJournal = false;
    QString reason;
    bool fully = false;
    QString plan;
    // journal list and export
    JournalFilter filter;
    std::optional<double> lastMinutes;
    qint64 limit = -1;
    QString format = QStringLiteral("jsonl");
    QString output;
    // judge
    GateMethod judgeMethod = GateMethod::Sequential;
    SequentialSettings sequential;
    GateSpec thresholdGate;
    QString judgeWarning; // options given that the method does not use
};

// What each command takes: its arguments and the options that only it uses.
struct CommandSpec {
    QString name;
    QString arguments; // for messages: "SERVICE VERSION"
    int argumentCount;
    QStringList options;
    std::optional<ReleaseCommand> command;
};

const QList<CommandSpec> &commandSpecs()
{
    const QStringList acting{QStringLiteral("reason"), QStringLiteral("json")};
    static const QList<CommandSpec> specs{
        {QStringLiteral("status"), {}, 0, {QStringLiteral("json")}, std::nullopt},
        {QStringLiteral("start"), QStringLiteral("SERVICE VERSION"), 2,
         acting + QStringList{QStringLiteral("plan")}, std::nullopt},
        {QStringLiteral("rollback"), QStringLiteral("SERVICE"), 1, acting, std::nullopt},
        {QStringLiteral("promote"), QStringLiteral("SERVICE"), 1,
         acting + QStringList{QStringLiteral("fully")}, ReleaseCommand::Promote},
        {QStringLiteral("pause"), QStringLiteral("SERVICE"), 1, acting, ReleaseCommand::Pause},
        {QStringLiteral("resume"), QStringLiteral("SERVICE"), 1, acting, ReleaseCommand::Resume},
        {QStringLiteral("abort"), QStringLiteral("SERVICE"), 1, acting, ReleaseCommand::Abort},
        {QStringLiteral("retry"), QStringLiteral("SERVICE"), 1, acting, ReleaseCommand::Retry},
        {QStringLiteral("switch"), QStringLiteral("SERVICE"), 1, acting, ReleaseCommand::Switch},
        {QStringLiteral("extend"), QStringLiteral("SERVICE"), 1, acting, ReleaseCommand::Extend},
        {QStringLiteral("journal"),
         QStringLiteral("list|verify|export"),
         1,
         {QStringLiteral("json"), QStringLiteral("service"), QStringLiteral("environment"),
          QStringLiteral("kind"), QStringLiteral("actor"), QStringLiteral("since"),
          QStringLiteral("last"), QStringLiteral("limit"), QStringLiteral("format"),
          QStringLiteral("output")},
         std::nullopt},
        // No arguments: the stream comes on stdin. The text is for the message that says so.
        {QStringLiteral("judge"),
         QStringLiteral("--method sequential|threshold < FILE"),
         0,
         {QStringLiteral("method"), QStringLiteral("alpha"), QStringLiteral("k0"),
          QStringLiteral("promote-below"), QStringLiteral("bound"), QStringLiteral("interval"),
          QStringLiteral("failure-limit"), QStringLiteral("min-requests")},
         std::nullopt},
    };
    return specs;
}

const CommandSpec *findCommand(const QString &name)
{
    for (const CommandSpec &spec : commandSpecs()) {
        if (spec.name == name)
            return &spec;
    }
    return nullptr;
}

const QString commandsText = QStringLiteral(
    "Commands:\n"
    "  status                        every service: versions serving, the release in flight,\n"
    "                                the rollback button\n"
    "  rollback SERVICE              run the service's rollback and wait until the previous\n"
    "                                version serves all traffic again\n"
    "  start SERVICE VERSION         start a release under the service's strategy\n"
    "  promote SERVICE [--fully]     canary: cut the current stage short (--reason required)\n"
    "  pause | resume SERVICE        hold or release a canary, blue-green or rolling release\n"
    "  abort SERVICE                 canary; blue-green before its switch\n"
    "  retry SERVICE                 canary: start an aborted release again\n"
    "  switch SERVICE                blue-green: all traffic to the new colour now\n"
    "  extend SERVICE                blue-green: keep the old colour warm for longer\n"
    "  journal list                  audit entries, filtered; --limit N shows the last N\n"
    "  journal verify                check the journal's hash chain\n"
    "  journal export                every entry as JSON lines or CSV\n"
    "  judge --method M < FILE       read per-interval counts of a baseline and a canary and\n"
    "                                print when the judge would roll back or promote\n"
    "SERVICE is NAME or NAME/ENVIRONMENT, like checkout/production.\n");

std::optional<double> parseNumber(const QString &text, double min, double max)
{
    bool ok = false;
    const double value = text.toDouble(&ok);
    if (!ok || !std::isfinite(value) || value < min || value > max)
        return std::nullopt;
    return value;
}

std::optional<QDateTime> parseTime(const QString &text)
{
    QDateTime time = QDateTime::fromString(text, Qt::ISODateWithMs);
    if (!time.isValid())
        return std::nullopt;
    // Without an offset a time is taken as UTC, as the journal writes it.
    if (time.timeSpec() == Qt::LocalTime)
        time.setTimeSpec(Qt::UTC);
    return time;
}

// The judge's options as given on the command line; none for those not given.
struct JudgeOptionValues {
    std::optional<QString> method;
    std::optional<QString> alpha;
    std::optional<QString> k0;
    std::optional<QString> promoteBelow;
    std::optional<QString> bound;
    std::optional<QString> interval;
    std::optional<QString> failureLimit;
    std::optional<QString> minRequests;
};

std::optional<qint64> parseInteger(const QString &text, qint64 min, qint64 max)
{
    bool ok = false;
    const qint64 value = text.toLongLong(&ok);
    if (!ok || value < min || value > max)
        return std::nullopt;
    return value;
}

// Checks every judge option given, also those the method does not use (their values are a
// mistake all the same), and notes the unused ones for a warning.
std::optional<int> parseJudgeOptions(const JudgeOptionValues &values, Options &options)
{
    if (!values.method)
        return usageError(QStringLiteral("judge needs --method sequential or --method threshold; "
                                         "write: signalbox-ctl judge --method sequential < "
                                         "stream.csv"));
    const std::optional<GateMethod> method = gateMethodFromString(*values.method);
    if (!method)
        return usageError(QStringLiteral("--method expects sequential or threshold; got '%1'")
                              .arg(*values.method));
    options.judgeMethod = *method;

    SequentialSettings &settings = options.sequential;
    if (values.alpha) {
        const std::optional<double> alpha = parseNumber(*values.alpha, 0, 0.5);
        if (!alpha || *alpha <= 0)
            return usageError(QStringLiteral("--alpha expects a bound on false alarms above 0 "
                                             "and at most 0.5, like 0.05; got '%1'")
                                  .arg(*values.alpha));
        settings.alpha = *alpha;
    }
    if (values.k0) {
        const std::optional<double> k0 = parseNumber(*values.k0, 0, 1e6);
        if (!k0 || *k0 <= 0)
            return usageError(QStringLiteral("--k0 expects a ratio above 0, like 1 (any rise is a "
                                             "regression) or 1.2 (a rise of over 20 %); got '%1'")
                                  .arg(*values.k0));
        settings.k0 = *k0;
    }
    settings.promoteBelow = 2 * settings.k0;
    if (values.promoteBelow) {
        const std::optional<double> promoteBelow = parseNumber(*values.promoteBelow, 0, 1e6);
        if (!promoteBelow || *promoteBelow <= settings.k0)
            return usageError(QStringLiteral("--promote-below expects a ratio above --k0 (%1), "
                                             "like %2; got '%3'")
                                  .arg(QString::number(settings.k0),
                                       QString::number(2 * settings.k0), *values.promoteBelow));
        settings.promoteBelow = *promoteBelow;
    }

    Duration interval = std::chrono::minutes(1);
    if (values.interval) {
        const std::optional<double> seconds = parseNumber(*values.interval, 1, maxSeconds);
        if (!seconds)
            return usageError(QStringLiteral("--interval expects seconds from 1 to %1, like 60; "
                                             "got '%2'")
                                  .arg(maxSeconds)
                                  .arg(*values.interval));
        interval = Duration(std::llround(*seconds * 1000));
    }
    int failureLimit = 3;
    if (values.failureLimit) {
        const std::optional<qint64> limit = parseInteger(*values.failureLimit, 1, 1000);
        if (!limit)
            return usageError(QStringLiteral("--failure-limit expects the failing measurement "
                                             "that rolls back, from 1 to 1000, like 3; got '%1'")
                                  .arg(*values.failureLimit));
        failureLimit = int(*limit);
    }
    qint64 minRequests = 100;
    if (values.minRequests) {
        const std::optional<qint64> requests
            = parseInteger(*values.minRequests, 0, std::numeric_limits<qint64>::max());
        if (!requests)
            return usageError(QStringLiteral("--min-requests expects a number of requests, 0 or "
                                             "more, like 100; got '%1'")
                                  .arg(*values.minRequests));
        minRequests = *requests;
    }
    auto gate = errorRateGate(values.bound.value_or(QStringLiteral("<= 1%")), minRequests,
                              failureLimit, interval);
    if (const QString *problem = std::get_if<QString>(&gate))
        return usageError(QStringLiteral("--%1").arg(*problem));
    options.thresholdGate = std::get<GateSpec>(std::move(gate));

    const bool sequential = options.judgeMethod == GateMethod::Sequential;
    const QList<std::pair<bool, QString>> given{
        {values.alpha && !sequential, QStringLiteral("--alpha")},
        {values.k0 && !sequential, QStringLiteral("--k0")},
        {values.promoteBelow && !sequential, QStringLiteral("--promote-below")},
        {values.bound && sequential, QStringLiteral("--bound")},
        {values.interval && sequential, QStringLiteral("--interval")},
        {values.failureLimit && sequential, QStringLiteral("--failure-limit")},
        {values.minRequests && sequential, QStringLiteral("--min-requests")},
    };
    QStringList unused;
    for (const auto &[isUnused, name] : given) {
        if (isUnused)
            unused.append(name);
    }
    if (!unused.isEmpty())
        options.judgeWarning
            = QStringLiteral("%1 %2 not apply to --method %3; %4")
                  .arg(unused.join(QStringLiteral(", ")),
                       unused.size() == 1 ? QStringLiteral("does") : QStringLiteral("do"),
                       toString(options.judgeMethod),
                       unused.size() == 1 ? QStringLiteral("ignoring it")
                                          : QStringLiteral("ignoring them"));
    return std::nullopt;
}

// Parses the command line into `options`; an exit code when it is wrong or already answered.
std::optional<int> parseCommandLine(const QStringList &arguments, Options &options)
{
    QCommandLineParser parser;
    parser.setSingleDashWordOptionMode(QCommandLineParser::ParseAsLongOptions);
    const QCommandLineOption help({QStringLiteral("h"), QStringLiteral("help")},
                                  QStringLiteral("Show this help and exit."));
    const QCommandLineOption version(QStringLiteral("version"),
                                     QStringLiteral("Show the version and exit."));
    const QCommandLineOption workspace(
        QStringLiteral("workspace"),
        QStringLiteral("The workspace FILE (signalbox.yaml); default: the built-in demo."),
        QStringLiteral("FILE"));
    const QCommandLineOption journal(
        QStringLiteral("journal"),
        QStringLiteral("Keep the audit journal in FILE (SQLite) instead of the workspace's "
                       "'journal:' or the console's default. The built-in demo keeps one only "
                       "when this is given."),
        QStringLiteral("FILE"));
    const QCommandLineOption simulate(
        QStringLiteral("simulate"),
        QStringLiteral("Run on the virtual clock from 2026-01-05 09:00 UTC; the workspace's "
                       "simulator picks up where the journal's earlier simulated runs left it."));
    const QCommandLineOption after(
        QStringLiteral("after"),
        QStringLiteral("With --simulate: run SECONDS of simulated time first, letting the "
                       "workspace's scheduled releases happen."),
        QStringLiteral("SECONDS"));
    const QCommandLineOption operatorOption(
        QStringLiteral("operator"),
        QStringLiteral("Record actions as NAME; default: the workspace's 'operator:', else the "
                       "account name."),
        QStringLiteral("NAME"));
    const QCommandLineOption json(
        QStringLiteral("json"),
        QStringLiteral("Machine-readable output: status and journal list print JSON, and the "
                       "commands that act print the service's status as JSON."));
    const QCommandLineOption timeout(
        QStringLiteral("timeout"),
        QStringLiteral("How long a command waits for its effect, in seconds (simulated ones "
                       "with --simulate); default 10 for status, 60 for the commands that act, "
                       "1800 for rollback."),
        QStringLiteral("SECONDS"));
    const QCommandLineOption follow(
        QStringLiteral("follow-journal"),
        QStringLiteral("Print every journal entry as soon as it is on disk: 'journal SEQUENCE "
                       "HASH KIND SERVICE RELEASE [stage=N]'."));
    const QCommandLineOption reason(
        QStringLiteral("reason"), QStringLiteral("Why, for the journal."), QStringLiteral("TEXT"));
    const QCommandLineOption fully(QStringLiteral("fully"),
                                   QStringLiteral("promote: straight to 100 %."));
    const QCommandLineOption plan(QStringLiteral("plan"),
                                  QStringLiteral("start: the canary plan NAME."),
                                  QStringLiteral("NAME"));
    const QCommandLineOption service(
        QStringLiteral("service"),
        QStringLiteral("journal list, export: entries of service NAME or NAME/ENVIRONMENT."),
        QStringLiteral("NAME"));
    const QCommandLineOption environment(
        QStringLiteral("environment"),
        QStringLiteral("journal list, export: entries of ENVIRONMENT."),
        QStringLiteral("ENVIRONMENT"));
    const QCommandLineOption kind(
        QStringLiteral("kind"),
        QStringLiteral("journal list, export: entries of KIND (stage-started, action-intent, "
                       "rollback-requested, ...)."),
        QStringLiteral("KIND"));
    const QCommandLineOption actor(QStringLiteral("actor"),
                                   QStringLiteral("journal list, export: entries by ACTOR."),
                                   QStringLiteral("ACTOR"));
    const QCommandLineOption since(
        QStringLiteral("since"),
        QStringLiteral("journal list, export: entries from TIME on (ISO 8601, UTC unless it "
                       "says otherwise)."),
        QStringLiteral("TIME"));
    const QCommandLineOption last(
        QStringLiteral("last"),
        QStringLiteral("journal list, export: entries of the last MINUTES (counted back from "
                       "the journal's last entry with --simulate)."),
        QStringLiteral("MINUTES"));
    const QCommandLineOption limit(QStringLiteral("limit"),
                                   QStringLiteral("journal list: the last N matching entries."),
                                   QStringLiteral("N"));
    const QCommandLineOption format(QStringLiteral("format"),
                                    QStringLiteral("journal export: jsonl (default) or csv."),
                                    QStringLiteral("FORMAT"));
    const QCommandLineOption output(QStringLiteral("output"),
                                    QStringLiteral("journal export: write to FILE, not stdout."),
                                    QStringLiteral("FILE"));
    const QCommandLineOption method(
        QStringLiteral("method"),
        QStringLiteral("judge: sequential (the anytime-valid test) or threshold (a gate on the "
                       "canary's error rate)."),
        QStringLiteral("METHOD"));
    const QCommandLineOption alpha(
        QStringLiteral("alpha"),
        QStringLiteral("judge, sequential: the bound on false alarms; default 0.05."),
        QStringLiteral("A"));
    const QCommandLineOption k0(
        QStringLiteral("k0"),
        QStringLiteral("judge, sequential: a regression is the canary's rate above K times the "
                       "baseline's; default 1."),
        QStringLiteral("K"));
    const QCommandLineOption promoteBelow(
        QStringLiteral("promote-below"),
        QStringLiteral("judge, sequential: safe to promote is the canary's rate shown below K "
                       "times the baseline's; default 2 x k0."),
        QStringLiteral("K"));
    const QCommandLineOption bound(
        QStringLiteral("bound"),
        QStringLiteral("judge, threshold: what the canary's error rate must keep, as a "
                       "workspace gate writes it; default \"<= 1%\"."),
        QStringLiteral("BOUND"));
    const QCommandLineOption interval(
        QStringLiteral("interval"),
        QStringLiteral("judge, threshold: seconds per measurement; default 60."),
        QStringLiteral("SECONDS"));
    const QCommandLineOption failureLimit(
        QStringLiteral("failure-limit"),
        QStringLiteral("judge, threshold: the failing measurement that rolls back; default 3."),
        QStringLiteral("N"));
    const QCommandLineOption minRequests(
        QStringLiteral("min-requests"),
        QStringLiteral("judge, threshold: fewer canary requests in an interval make its "
                       "measurement inconclusive; default 100."),
        QStringLiteral("N"));
    parser.addOptions({help,         version,        workspace, journal,      simulate,
                       after,        operatorOption, json,      timeout,      follow,
                       reason,       fully,          plan,      service,      environment,
                       kind,         actor,          since,     last,         limit,
                       format,       output,         method,    alpha,        k0,
                       promoteBelow, bound,          interval,  failureLimit, minRequests});
    parser.addPositionalArgument(QStringLiteral("command"),
                                 QStringLiteral("One of the commands below."),
                                 QStringLiteral("COMMAND [ARGUMENTS]"));
    parser.setApplicationDescription(
        QStringLiteral("signalbox-ctl, the command-line twin of the Signalbox console: the same "
                       "workspace, release controller and journal, for incidents over SSH and "
                       "for scripts.\n\n")
        + commandsText);

    if (!parser.parse(arguments))
        return usageError(parser.errorText() + QStringLiteral("; see signalbox-ctl --help"));
    if (parser.isSet(help)) {
        printLine(stdout, parser.helpText() + QLatin1Char('\n') + exitCodesText);
        return ExitDone;
    }
    if (parser.isSet(version)) {
        printLine(stdout, QStringLiteral("signalbox-ctl " SIGNALBOX_VERSION));
        return ExitDone;
    }

    const QStringList positional = parser.positionalArguments();
    if (positional.isEmpty())
        return usageError(QStringLiteral("no command given; try 'signalbox-ctl status', or "
                                         "signalbox-ctl --help for the others"));
    options.command = positional.constFirst();
    const CommandSpec *spec = findCommand(options.command);
    if (!spec) {
        QStringList names;
        for (const CommandSpec &known : commandSpecs())
            names.append(known.name);
        return usageError(QStringLiteral("unknown command '%1'; the commands are %2")
                              .arg(options.command, names.join(QStringLiteral(", "))));
    }
    options.arguments = positional.mid(1);
    const QString synopsis = QStringLiteral("%1 %2").arg(spec->name, spec->arguments).trimmed();
    if (options.arguments.size() != spec->argumentCount) {
        if (options.arguments.size() > spec->argumentCount)
            return usageError(QStringLiteral("unexpected argument '%1'; write: signalbox-ctl %2")
                                  .arg(options.arguments.at(spec->argumentCount), synopsis));
        return usageError(QStringLiteral("%1 needs %2; write: signalbox-ctl %3")
                              .arg(spec->name, spec->arguments, synopsis));
    }
    const bool journalCommand = spec->name == QLatin1String("journal");
    if (journalCommand) {
        const QString sub = options.arguments.constFirst();
        if (sub != QLatin1String("list") && sub != QLatin1String("verify")
            && sub != QLatin1String("export"))
            return usageError(QStringLiteral("unknown journal command '%1'; write journal list, "
                                             "journal verify or journal export")
                                  .arg(sub));
    }

    // Options that belong to other commands are a mistake worth saying, not ignoring.
    const QList<std::pair<const QCommandLineOption *, QString>> specific{
        {&reason, QStringLiteral("reason")},
        {&fully, QStringLiteral("fully")},
        {&plan, QStringLiteral("plan")},
        {&json, QStringLiteral("json")},
        {&service, QStringLiteral("service")},
        {&environment, QStringLiteral("environment")},
        {&kind, QStringLiteral("kind")},
        {&actor, QStringLiteral("actor")},
        {&since, QStringLiteral("since")},
        {&last, QStringLiteral("last")},
        {&limit, QStringLiteral("limit")},
        {&format, QStringLiteral("format")},
        {&output, QStringLiteral("output")},
        {&method, QStringLiteral("method")},
        {&alpha, QStringLiteral("alpha")},
        {&k0, QStringLiteral("k0")},
        {&promoteBelow, QStringLiteral("promote-below")},
        {&bound, QStringLiteral("bound")},
        {&interval, QStringLiteral("interval")},
        {&failureLimit, QStringLiteral("failure-limit")},
        {&minRequests, QStringLiteral("min-requests")},
    };
    for (const auto &[option, name] : specific) {
        if (parser.isSet(*option) && !spec->options.contains(name)) {
            QStringList users;
            for (const CommandSpec &other : commandSpecs()) {
                if (other.options.contains(name))
                    users.append(other.name);
            }
            return usageError(QStringLiteral("--%1 goes with %2, not with %3")
                                  .arg(name, users.join(QStringLiteral(", ")), spec->name));
        }
    }
    if (journalCommand) {
        const QString sub = options.arguments.constFirst();
        auto only = [&](const QCommandLineOption &option, const QString &name,
                        const QString &with) -> std::optional<int> {
            if (parser.isSet(option) && sub != with)
                return usageError(QStringLiteral("--%1 goes with journal %2").arg(name, with));
            return std::nullopt;
        };
        if (auto bad = only(json, QStringLiteral("json"), QStringLiteral("list")))
            return bad;
        if (auto bad = only(limit, QStringLiteral("limit"), QStringLiteral("list")))
            return bad;
        if (auto bad = only(format, QStringLiteral("format"), QStringLiteral("export")))
            return bad;
        if (auto bad = only(output, QStringLiteral("output"), QStringLiteral("export")))
            return bad;
        if (sub == QLatin1String("verify")) {
            for (const auto &[option, name] : specific) {
                if (parser.isSet(*option))
                    return usageError(
                        QStringLiteral("journal verify checks every entry; --%1 does not apply")
                            .arg(name));
            }
        }
        for (const auto *option : {&after, &timeout, &follow, &operatorOption}) {
            if (parser.isSet(*option))
                return usageError(QStringLiteral("--%1 goes with the commands that run the "
                                                 "workspace, not with journal")
                                      .arg(option->names().constFirst()));
        }
    }

    if (spec->name == QLatin1String("judge")) {
        for (const auto *option :
             {&workspace, &journal, &simulate, &after, &timeout, &follow, &operatorOption}) {
            if (parser.isSet(*option))
                return usageError(QStringLiteral("--%1 does not apply to judge: it reads counts "
                                                 "from stdin, not a workspace")
                                      .arg(option->names().constFirst()));
        }
        const JudgeOptionValues values{
            parser.isSet(method) ? std::optional(parser.value(method)) : std::nullopt,
            parser.isSet(alpha) ? std::optional(parser.value(alpha)) : std::nullopt,
            parser.isSet(k0) ? std::optional(parser.value(k0)) : std::nullopt,
            parser.isSet(promoteBelow) ? std::optional(parser.value(promoteBelow)) : std::nullopt,
            parser.isSet(bound) ? std::optional(parser.value(bound)) : std::nullopt,
            parser.isSet(interval) ? std::optional(parser.value(interval)) : std::nullopt,
            parser.isSet(failureLimit) ? std::optional(parser.value(failureLimit)) : std::nullopt,
            parser.isSet(minRequests) ? std::optional(parser.value(minRequests)) : std::nullopt};
        return parseJudgeOptions(values, options);
    }

    options.workspacePath = parser.isSet(workspace) ? parser.value(workspace) : demoWorkspace;
    options.journalPath = parser.value(journal);
    if (parser.isSet(journal) && options.journalPath.isEmpty())
        return usageError(QStringLiteral("--journal needs a file name, like --journal "
                                         "incident.sqlite"));
    options.simulate = parser.isSet(simulate);
    options.operatorName = parser.value(operatorOption).trimmed();
    if (parser.isSet(operatorOption) && options.operatorName.isEmpty())
        return usageError(QStringLiteral("--operator needs a name, like --operator alice"));
    options.json = parser.isSet(json);
    options.followJournal = parser.isSet(follow);
    options.reason = parser.value(reason).trimmed();
    options.fully = parser.isSet(fully);
    options.plan = parser.value(plan).trimmed();

    if (parser.isSet(after)) {
        if (!options.simulate)
            return usageError(QStringLiteral("--after runs simulated time, so it goes with "
                                             "--simulate"));
        const auto seconds = parseNumber(parser.value(after), 0, maxSeconds);
        if (!seconds)
            return usageError(QStringLiteral("--after expects simulated seconds from 0 to %1, "
                                             "like 120; got '%2'")
                                  .arg(maxSeconds)
                                  .arg(parser.value(after)));
        options.afterSeconds = *seconds;
    }
    if (parser.isSet(timeout)) {
        options.timeoutSeconds = parseNumber(parser.value(timeout), 0, maxSeconds);
        if (!options.timeoutSeconds)
            return usageError(QStringLiteral("--timeout expects seconds from 0 to %1, like 300; "
                                             "got '%2'")
                                  .arg(maxSeconds)
                                  .arg(parser.value(timeout)));
    }
    if (spec->name == QLatin1String("promote") && options.reason.isEmpty())
        return usageError(QStringLiteral("promote needs --reason TEXT: the journal keeps why a "
                                         "stage was cut short"));
    if (spec->name == QLatin1String("switch") && options.reason.isEmpty())
        return usageError(QStringLiteral("switch needs --reason TEXT: the journal keeps why "
                                         "traffic moved before the release did it"));

    // journal list and export filters
    const QString serviceText = parser.value(service);
    options.filter.service = serviceText.section(QLatin1Char('/'), 0, 0);
    options.filter.environment = serviceText.section(QLatin1Char('/'), 1);
    if (parser.isSet(environment)) {
        if (!options.filter.environment.isEmpty()
            && options.filter.environment != parser.value(environment))
            return usageError(QStringLiteral("--service %1 and --environment %2 disagree; give "
                                             "the environment once")
                                  .arg(serviceText, parser.value(environment)));
        options.filter.environment = parser.value(environment);
    }
    options.filter.kind = parser.value(kind);
    options.filter.actor = parser.value(actor);
    if (parser.isSet(since) && parser.isSet(last))
        return usageError(QStringLiteral("give --since TIME or --last MINUTES, not both"));
    if (parser.isSet(since)) {
        const std::optional<QDateTime> from = parseTime(parser.value(since));
        if (!from)
            return usageError(QStringLiteral("--since expects an ISO 8601 time, like "
                                             "2026-01-05T09:30:00Z; got '%1'")
                                  .arg(parser.value(since)));
        options.filter.from = fromMSecsSinceEpoch(from->toMSecsSinceEpoch());
    }
    if (parser.isSet(last)) {
        options.lastMinutes = parseNumber(parser.value(last), 0, 366 * 24 * 60);
        if (!options.lastMinutes)
            return usageError(QStringLiteral("--last expects minutes, like 30; got '%1'")
                                  .arg(parser.value(last)));
    }
    if (parser.isSet(limit)) {
        bool ok = false;
        options.limit = parser.value(limit).toLongLong(&ok);
        if (!ok || options.limit < 1)
            return usageError(QStringLiteral("--limit expects a number of entries, 1 or more, "
                                             "like 50; got '%1'")
                                  .arg(parser.value(limit)));
    }
    if (parser.isSet(format)) {
        options.format = parser.value(format);
        if (options.format != QLatin1String("jsonl") && options.format != QLatin1String("csv"))
            return usageError(
                QStringLiteral("--format expects jsonl or csv; got '%1'").arg(options.format));
    }
    options.output = parser.value(output);
    return std::nullopt;
}

// "checkout" when it runs in one environment only; "checkout/staging" exactly.
std::variant<ServiceKey, QString> resolveService(const Workspace &workspace, const QString &text)
{
    const QString name = text.section(QLatin1Char('/'), 0, 0);
    const QString environment = text.section(QLatin1Char('/'), 1);
    QStringList matches;
    QStringList all;
    ServiceKey found;
    for (const ServiceSpec &service : workspace.services) {
        all.append(service.key.id());
        if (service.key.name == name
            && (environment.isEmpty() || service.key.environment == environment)) {
            matches.append(service.key.id());
            found = service.key;
        }
    }
    if (matches.size() == 1)
        return found;
    if (matches.size() > 1)
        return QStringLiteral("'%1' runs in more than one environment; write %2")
            .arg(text, matches.join(QStringLiteral(" or ")));
    return QStringLiteral("no service '%1' in workspace '%2'; choose one of: %3")
        .arg(text, workspace.name, all.join(QStringLiteral(", ")));
}

void printDiagnostic(const Diagnostic &problem)
{
    printError(problem.toString());
    if (const QString excerpt = sourceExcerpt(problem); !excerpt.isEmpty())
        printLine(stderr, excerpt);
}

// ---------------------------------------------------------------------------------------------
// What status shows, as text and as JSON from the same values

struct ReleaseView {
    QString id;
    Strategy strategy = Strategy::None;
    QString fromVersion;
    QString version;
    QString phase;
    bool paused = false;
    bool finished = false;
    bool succeeded = false;
    // canary
    int stage = -1;
    int stages = 0;
    double weightPercent = 0;
    // blue-green
    bool switched = false;
    std::optional<Duration> warmRemaining;
    // rolling
    bool rollingBack = false;
    int ready = 0;
    int replicas = 0;
    QString reason;
};

ReleaseView viewOf(const ReleaseController::Release &release, const ServiceStatus &observed,
                   TimePoint now)
{
    ReleaseView view;
    view.id = release.id();
    view.strategy = release.strategy();
    view.version = release.version();
    view.finished = release.finished();
    view.reason = release.reason;
    if (const CanaryRun *run = release.canary()) {
        view.fromVersion = run->status.stableVersion;
        view.phase = toString(canary::phase(run->plan, run->status, observed, now));
        view.paused = run->status.pausedAt.has_value();
        view.succeeded = run->status.succeeded();
        view.stage = run->status.stage;
        view.stages = int(run->plan.stages.size());
        view.weightPercent = canary::desiredWeight(run->plan, run->status);
    } else if (const BlueGreenRun *run = release.blueGreen()) {
        view.fromVersion = run->status.oldVersion;
        view.phase = toString(bluegreen::phase(run->plan, run->status, observed, now));
        view.paused = run->status.pausedAt.has_value();
        view.succeeded = run->status.succeeded();
        view.switched = run->status.switchedAt.has_value();
        view.warmRemaining = bluegreen::warmRemaining(run->plan, run->status, now);
    } else if (const RollingRun *run = release.rolling()) {
        view.fromVersion = run->status.fromVersion;
        view.phase = toString(rolling::phase(run->plan, run->status));
        view.paused = run->status.pausedAt.has_value();
        view.succeeded = run->status.succeeded();
        view.rollingBack = run->status.rollingBack();
        const RollingProgress progress = rolling::progress(run->plan, run->status, observed, now);
        view.ready = progress.targetReady;
        view.replicas = progress.replicas;
    }
    return view;
}

QString releaseText(const ReleaseView &view)
{
    QString text = QStringLiteral("%1 -> %2 %3").arg(view.fromVersion, view.version, view.phase);
    if (view.strategy == Strategy::Canary && !view.finished)
        text += QStringLiteral(", stage %1/%2 at %3")
                    .arg(view.stage + 1)
                    .arg(view.stages)
                    .arg(percentText(view.weightPercent));
    if (view.strategy == Strategy::BlueGreen && !view.finished) {
        if (view.paused)
            text += view.switched ? QStringLiteral(" after the switch")
                                  : QStringLiteral(" before the switch");
        if (view.warmRemaining)
            text += QStringLiteral(", %1 warm %2 more")
                        .arg(view.fromVersion, formatDuration(*view.warmRemaining));
    }
    if (view.strategy == Strategy::Rolling && !view.finished)
        text += QStringLiteral(", %1/%2 ready").arg(view.ready).arg(view.replicas);
    if (view.paused && view.phase != QLatin1String("paused"))
        text += QStringLiteral(", paused");
    return text;
}

QJsonObject releaseJson(const ReleaseView &view)
{
    QJsonObject object{
        {QStringLiteral("id"), view.id},
        {QStringLiteral("strategy"), toString(view.strategy)},
        {QStringLiteral("from_version"), view.fromVersion},
        {QStringLiteral("version"), view.version},
        {QStringLiteral("phase"), view.phase},
        {QStringLiteral("paused"), view.paused},
        {QStringLiteral("finished"), view.finished},
        {QStringLiteral("succeeded"), view.succeeded},
        {QStringLiteral("reason"), view.reason},
    };
    switch (view.strategy) {
    case Strategy::Canary:
        object.insert(QStringLiteral("stage"), view.stage);
        object.insert(QStringLiteral("stages"), view.stages);
        object.insert(QStringLiteral("weight_percent"), view.weightPercent);
        break;
    case Strategy::BlueGreen:
        object.insert(QStringLiteral("switched"), view.switched);
        object.insert(QStringLiteral("warm_remaining_seconds"),
                      view.warmRemaining ? QJsonValue(double(view.warmRemaining->count()) / 1000)
                                         : QJsonValue());
        break;
    case Strategy::Rolling:
        object.insert(QStringLiteral("rolling_back"), view.rollingBack);
        object.insert(QStringLiteral("ready"), view.ready);
        object.insert(QStringLiteral("replicas"), view.replicas);
        break;
    case Strategy::None: break;
    }
    return object;
}

struct ServiceRow {
    ServiceKey key;
    Strategy strategy = Strategy::None;
    HealthVerdict health;
    QList<VersionSummary> versions;
    QString observationError; // the fleet's, when it did not answer
    QString trafficError;
    QString metricsError;
    std::optional<ReleaseView> release;
    RollbackOption rollback;
};

ServiceRow rowOf(const ServiceStatus &observed, const ReleaseController &controller, TimePoint now)
{
    ServiceRow row;
    row.key = observed.key;
    row.strategy = observed.strategy;
    row.health = assessHealth(observed);
    for (const VersionSummary &summary : summarizeVersions(observed)) {
        if (summary.total > 0 || summary.weightPercent > 0)
            row.versions.append(summary);
    }
    std::sort(row.versions.begin(), row.versions.end(),
              [](const VersionSummary &a, const VersionSummary &b) {
                  return versionLessThan(a.version, b.version);
              });
    if (!observed.fleet)
        row.observationError = observed.fleetError.isEmpty() ? QStringLiteral("fleet not seen yet")
                                                             : observed.fleetError;
    row.trafficError = observed.trafficError;
    row.metricsError = observed.metricsError;
    if (const ReleaseController::Release *release = controller.release(observed.key))
        row.release = viewOf(*release, observed, now);
    row.rollback = controller.rollbackOption(observed.key);
    return row;
}

QString servingText(const ServiceRow &row)
{
    if (!row.observationError.isEmpty() && row.versions.isEmpty())
        return QStringLiteral("unknown: %1").arg(row.observationError);
    QStringList parts;
    for (const VersionSummary &version : row.versions)
        parts.append(QStringLiteral("%1 %2 %3/%4")
                         .arg(version.version, percentText(version.weightPercent))
                         .arg(version.ready)
                         .arg(version.total));
    return parts.join(QStringLiteral(", "));
}

QString rollbackText(const RollbackOption &option)
{
    return option.kind == RollbackOption::Kind::Unavailable ? QStringLiteral("-") : option.label;
}

QJsonObject rowJson(const ServiceRow &row)
{
    QJsonArray versions;
    for (const VersionSummary &version : row.versions)
        versions.append(QJsonObject{
            {QStringLiteral("version"), version.version},
            {QStringLiteral("traffic_percent"), version.weightPercent},
            {QStringLiteral("instances"), version.total},
            {QStringLiteral("ready"), version.ready},
            {QStringLiteral("starting"), version.starting},
            {QStringLiteral("draining"), version.draining},
            {QStringLiteral("failed"), version.failed},
        });
    const RollbackOption &option = row.rollback;
    return QJsonObject{
        {QStringLiteral("service"), row.key.id()},
        {QStringLiteral("name"), row.key.name},
        {QStringLiteral("environment"), row.key.environment},
        {QStringLiteral("strategy"), toString(row.strategy)},
        {QStringLiteral("health"), toString(row.health.health)},
        {QStringLiteral("health_reason"), row.health.reason},
        {QStringLiteral("observation_error"), row.observationError},
        {QStringLiteral("traffic_error"), row.trafficError},
        {QStringLiteral("metrics_error"), row.metricsError},
        {QStringLiteral("versions"), versions},
        {QStringLiteral("release"),
         row.release ? QJsonValue(releaseJson(*row.release)) : QJsonValue()},
        {QStringLiteral("rollback"),
         QJsonObject{
             {QStringLiteral("kind"), toString(option.kind)},
             {QStringLiteral("label"), option.label},
             {QStringLiteral("from_version"), option.fromVersion},
             {QStringLiteral("to_version"), option.toVersion},
             {QStringLiteral("estimate_seconds"),
              option.estimate ? QJsonValue(double(option.estimate->count()) / 1000) : QJsonValue()},
             {QStringLiteral("why"), option.why},
         }},
    };
}

void printRows(const QList<ServiceRow> &rows, bool json)
{
    if (json) {
        QJsonArray array;
        for (const ServiceRow &row : rows)
            array.append(rowJson(row));
        std::fputs(QJsonDocument(array).toJson(QJsonDocument::Indented).constData(), stdout);
        std::fflush(stdout);
        return;
    }
    QList<QStringList> table{{QStringLiteral("SERVICE"), QStringLiteral("STRATEGY"),
                              QStringLiteral("HEALTH"), QStringLiteral("SERVING"),
                              QStringLiteral("RELEASE"), QStringLiteral("ROLLBACK")}};
    for (const ServiceRow &row : rows)
        table.append({row.key.id(), toString(row.strategy), toString(row.health.health),
                      servingText(row),
                      row.release ? releaseText(*row.release) : QStringLiteral("-"),
                      rollbackText(row.rollback)});
    QList<qsizetype> widths(table.constFirst().size(), 0);
    for (const QStringList &cells : std::as_const(table)) {
        for (qsizetype i = 0; i < cells.size(); ++i)
            widths[i] = std::max(widths[i], cells.at(i).size());
    }
    for (const QStringList &cells : std::as_const(table)) {
        QString line;
        for (qsizetype i = 0; i < cells.size(); ++i)
            line
                += i + 1 < cells.size() ? cells.at(i).leftJustified(widths.at(i) + 2) : cells.at(i);
        printLine(stdout, line);
    }
}

// ---------------------------------------------------------------------------------------------
// The workspace running: session, journal and controller, on the real or the virtual clock

Duration timeoutOf(const Options &options, Duration fallback)
{
    return options.timeoutSeconds ? Duration(qint64(*options.timeoutSeconds * 1000)) : fallback;
}

// An adapter call a journal's intent recorded, read back from its words.
struct ReplayedCall {
    ReleaseAction action;
    bool understood = false;
};

ReplayedCall callOf(const QString &words)
{
    static const QRegularExpression scale(QStringLiteral("^scale (\\S+) to (\\d+) instances?$"));
    static const QRegularExpression switchTo(QStringLiteral("^switch all traffic to (\\S+)$"));
    static const QRegularExpression weights(QStringLiteral("^set weights (.+)$"));
    static const QRegularExpression weight(QStringLiteral("^(\\S+) (\\S+) %$"));
    ReplayedCall call;
    if (const auto m = scale.match(words); m.hasMatch()) {
        call.action.kind = ReleaseAction::Kind::Scale;
        call.action.version = m.captured(1);
        call.action.instances = m.captured(2).toInt();
        call.understood = true;
    } else if (const auto m = switchTo.match(words); m.hasMatch()) {
        call.action.kind = ReleaseAction::Kind::Switch;
        call.action.version = m.captured(1);
        call.understood = true;
    } else if (const auto m = weights.match(words); m.hasMatch()) {
        call.action.kind = ReleaseAction::Kind::SetWeights;
        call.understood = true;
        for (const QString &part : m.captured(1).split(QStringLiteral(", "))) {
            const auto w = weight.match(part);
            bool ok = false;
            const double percent = w.hasMatch() ? w.captured(2).toDouble(&ok) : 0;
            if (!ok) {
                call.understood = false;
                break;
            }
            call.action.weights.insert(w.captured(1), percent);
        }
    }
    return call;
}

// One run of the workspace as the window runs it: session, controller and journal, on the real
// clock or, with --simulate, on the virtual one.
class Console
{
public:
    explicit Console(const Options &options)
        : m_options(options)
    {
        registerBuiltinAdapters(m_registry);
        m_wake.setInterval(100);
    }

    // Opens the workspace and the journal and takes up the releases it kept in flight. An exit
    // code when either cannot be used.
    std::optional<int> open();

    WorkspaceSession &session() const { return *m_session; }
    ReleaseController &controller() const { return *m_controller; }
    Clock &clock() const { return *m_clock; }

    // Lets everything queued happen, the journal's writes included, without moving the clock.
    void settle();
    // Runs `length` of simulated time, a second at a time.
    void runFor(Duration length);
    // Waits until `done`, for up to `timeout` on the console's clock.
    bool waitFor(const std::function<bool()> &done, Duration timeout);

    // The last sequence this run wrote, and the entries written after `after`.
    qint64 lastSequence() const { return m_lastSequence; }
    QList<JournalEntry> writtenAfter(qint64 after) const;
    const QStringList &journalErrors() const { return m_journalErrors; }

    QList<ServiceRow> rows(const std::optional<ServiceKey> &only = std::nullopt) const;

private:
    struct History {
        QList<JournalEntry> intents;
        std::optional<TimePoint> first;
        std::optional<TimePoint> last;
    };
    void step();
    void barrier();
    bool waitOnJournal(const std::function<bool()> &done);
    std::optional<int> replay(const History &history);
    void printEntry(const JournalEntry &entry) const;

    const Options &m_options;
    AdapterRegistry m_registry;
    std::unique_ptr<QTemporaryDir> m_scratch;
    std::unique_ptr<Clock> m_clock;
    VirtualClock *m_virtual = nullptr;
    std::unique_ptr<WorkspaceSession> m_session;
    std::unique_ptr<Journal> m_journal;
    std::unique_ptr<ReleaseController> m_controller;
    QTimer m_wake; // wakes the event loop while waiting on the real clock
    qint64 m_appends = 0;
    qint64 m_lastSequence = 0;
    QList<JournalEntry> m_written; // by this run, in order
    QStringList m_journalErrors;
};

std::optional<int> Console::open()
{
    if (m_options.simulate) {
        auto clock = std::make_unique<VirtualClock>(VirtualClock::defaultStart());
        m_virtual = clock.get();
        m_clock = std::move(clock);
    } else {
        m_clock = std::make_unique<RealClock>();
    }
    auto opened = WorkspaceSession::open(m_options.workspacePath, m_registry, m_clock.get());
    if (!opened) {
        printDiagnostic(opened.error());
        return ExitUnusable;
    }
    m_session = std::move(opened).value();
    const Workspace &workspace = m_session->workspace();

    QString path
        = m_options.journalPath.isEmpty() ? workspace.journalPath() : m_options.journalPath;
    if (path.isEmpty()) {
        // The built-in demo starts afresh every run, so its history lasts that run only.
        m_scratch = std::make_unique<QTemporaryDir>();
        if (!m_scratch->isValid()) {
            printError(QStringLiteral("cannot create a temporary journal: %1")
                           .arg(m_scratch->errorString()));
            return ExitUnusable;
        }
        path = m_scratch->filePath(QStringLiteral("journal.sqlite"));
    }

    m_journal = std::make_unique<Journal>(path);
    std::optional<JournalCheck> check;
    QList<ReleaseRecord> saved;
    QString openError;
    const QMetaObject::Connection opening
        = QObject::connect(m_journal.get(), &Journal::opened, m_journal.get(),
                           [&](const JournalCheck &found, const QList<ReleaseRecord> &records) {
                               check = found;
                               saved = records;
                           });
    const QMetaObject::Connection failing
        = QObject::connect(m_journal.get(), &Journal::openFailed, m_journal.get(),
                           [&](const QString &error) { openError = error; });
    QObject::connect(m_journal.get(), &Journal::appended, m_journal.get(),
                     [this](const QList<JournalEntry> &entries) {
                         ++m_appends;
                         for (const JournalEntry &entry : entries) {
                             m_lastSequence = std::max(m_lastSequence, entry.sequence);
                             m_written.append(entry);
                             if (m_options.followJournal)
                                 printEntry(entry);
                         }
                     });
    const bool answered = waitOnJournal([&] { return check || !openError.isEmpty(); });
    QObject::disconnect(opening);
    QObject::disconnect(failing);
    if (!answered) {
        printError(QStringLiteral("the journal %1 did not open within %2")
                       .arg(path, formatDuration(journalOpenWait)));
        return ExitUnusable;
    }
    if (!openError.isEmpty()) {
        printError(QStringLiteral("the journal cannot be used, so no action could be recorded: "
                                  "%1")
                       .arg(openError));
        return ExitUnusable;
    }
    if (!check->intact())
        printError(QStringLiteral("warning: the journal %1 has been altered: %2. Entries from "
                                  "there on cannot be trusted; keep the file for investigation "
                                  "('signalbox-ctl journal verify' names the entry). New entries "
                                  "are still recorded.")
                       .arg(path, check->problem));

    bool freshWorld = true;
    m_session->start();
    if (m_virtual) {
        auto history = std::make_shared<History>();
        bool read = false;
        m_journal->run(
            [history](JournalStore *store) {
                if (!store)
                    return;
                store->forEach({}, [&history = *history](const JournalEntry &entry) {
                    history.first = history.first ? std::min(*history.first, entry.at) : entry.at;
                    history.last = history.last ? std::max(*history.last, entry.at) : entry.at;
                    if (entry.kind == journalkind::intent)
                        history.intents.append(entry);
                    return true;
                });
            },
            [&read] { read = true; });
        waitOnJournal([&read] { return read; });
        if (history->last) {
            freshWorld = false;
            if (const std::optional<int> failed = replay(*history))
                return failed;
        }
    }

    const QString operatorName = !m_options.operatorName.isEmpty()   ? m_options.operatorName
                                 : !workspace.operatorName.isEmpty() ? workspace.operatorName
                                                                     : ReleaseController::osUser();
    m_controller = std::make_unique<ReleaseController>(m_session.get(), operatorName);
    m_controller->setJournal(m_journal.get());
    // On real infrastructure, status only looks: the console that drives the releases may be
    // running, and a second driver would fight it.
    m_controller->setReadOnly(!m_virtual && m_options.command == QLatin1String("status"));
    QObject::connect(m_controller.get(), &ReleaseController::journalFailed, m_controller.get(),
                     [this](const QString &error) {
                         m_journalErrors.append(error);
                         printError(QStringLiteral("the journal could not be written, so the "
                                                   "actions waiting on it did not run: %1")
                                        .arg(error));
                     });
    QObject::connect(m_controller.get(), &ReleaseController::scheduledReleaseRefused,
                     m_controller.get(), [](const ServiceKey &service, const QString &reason) {
                         printError(QStringLiteral("the workspace's release of %1 did not start: "
                                                   "%2")
                                        .arg(service.id(), reason));
                     });
    QList<ServiceKey> takenUp;
    for (const QString &problem : m_controller->restore(saved, &takenUp))
        printError(QStringLiteral("warning: %1").arg(problem));
    if (!takenUp.isEmpty()) {
        QStringList services;
        for (const ServiceKey &service : std::as_const(takenUp))
            services.append(service.id());
        const bool looking = !m_virtual && m_options.command == QLatin1String("status");
        printError((looking ? QStringLiteral("%1 in flight, as last saved in the journal: %2")
                            : QStringLiteral("%1 in flight when the last run stopped: %2; each is "
                                             "back paused (a rollback under way carries on) "
                                             "until an operator resumes it"))
                       .arg(takenUp.size() == 1
                                ? QStringLiteral("1 release was")
                                : QStringLiteral("%1 releases were").arg(takenUp.size()),
                            services.join(QStringLiteral(", "))));
    }

    if (m_virtual) {
        settle();
    } else {
        const auto observed = [this] {
            for (const ServiceStatus &status : m_session->snapshot().services) {
                if (!status.fleet && status.fleetError.isEmpty())
                    return false;
            }
            return true;
        };
        waitFor(observed, timeoutOf(m_options, firstObservationWait));
    }

    if (m_virtual && m_options.afterSeconds > 0) {
        // The workspace's own releases belong to the simulation's first run; a journal that
        // already has history has seen them.
        if (freshWorld)
            m_controller->startScheduled();
        runFor(Duration(qint64(m_options.afterSeconds * 1000)));
    }
    return std::nullopt;
}

// Plays the adapter calls the journal's earlier simulated runs made, each at its time, on this
// fresh simulation. With the same seed the simulated fleet then stands where those runs left it,
// so a release taken up from the journal meets its own fleet, not a new one.
std::optional<int> Console::replay(const History &history)
{
    const TimePoint epoch = VirtualClock::defaultStart();
    if (*history.first < epoch || *history.last > epoch + maxSimulatedSpan) {
        printError(
            QStringLiteral("the journal %1 was kept on the real clock (its entries run "
                           "from %2 to %3), so a simulation cannot pick up from it; give "
                           "--simulate a journal of its own with --journal FILE")
                .arg(m_journal->path(), formatUtc(*history.first), formatUtc(*history.last)));
        return ExitUnusable;
    }
    settle();
    for (const JournalEntry &intent : history.intents) {
        const ReplayedCall call = callOf(intent.action);
        if (!call.understood) {
            printError(QStringLiteral("warning: entry %1 asks for '%2', which the simulation "
                                      "cannot replay; the simulated fleet may differ from the "
                                      "one the journal saw")
                           .arg(intent.sequence)
                           .arg(intent.action));
            continue;
        }
        m_virtual->advanceTo(std::max(m_virtual->now(), intent.at));
        const auto ignore = [](const auto &) {};
        const ReleaseAction &action = call.action;
        switch (action.kind) {
        case ReleaseAction::Kind::Scale:
            if (Adapter *adapter = m_session->adapterFor(intent.service, Capability::Deploy);
                adapter && adapter->deployer())
                adapter->deployer()->scale(intent.service, action.version, action.instances,
                                           ignore);
            break;
        case ReleaseAction::Kind::SetWeights:
            if (Adapter *adapter = m_session->adapterFor(intent.service, Capability::Traffic);
                adapter && adapter->trafficRouter())
                adapter->trafficRouter()->setWeights(intent.service, action.weights, ignore);
            break;
        case ReleaseAction::Kind::Switch:
            if (Adapter *adapter = m_session->adapterFor(intent.service, Capability::Traffic);
                adapter && adapter->trafficRouter())
                adapter->trafficRouter()->switchTo(intent.service, action.version, ignore);
            break;
        }
        for (int round = 0; round < 4; ++round)
            QCoreApplication::processEvents();
    }
    m_virtual->advanceTo(std::max(m_virtual->now(), *history.last));
    settle();
    return std::nullopt;
}

void Console::printEntry(const JournalEntry &entry) const
{
    QString line = QStringLiteral("journal %1 %2 %3 %4 %5")
                       .arg(entry.sequence)
                       .arg(QString::fromLatin1(entry.hash.left(12)), entry.kind,
                            entry.service.name.isEmpty() ? QStringLiteral("-") : entry.service.id(),
                            entry.releaseId.isEmpty() ? QStringLiteral("-") : entry.releaseId);
    if (entry.stage >= 0)
        line += QStringLiteral(" stage=%1").arg(entry.stage);
    // With --json, stdout carries only the JSON a script parses.
    printLine(m_options.json ? stderr : stdout, line);
}

bool Console::waitOnJournal(const std::function<bool()> &done)
{
    QElapsedTimer timer;
    timer.start();
    m_wake.start();
    while (!done() && timer.elapsed() < journalOpenWait.count())
        QCoreApplication::processEvents(QEventLoop::WaitForMoreEvents);
    m_wake.stop();
    return done();
}

void Console::barrier()
{
    // The journal runs its work in order: once this is back, every write queued before it is.
    bool done = false;
    m_journal->run([](JournalStore *) {}, [&done] { done = true; });
    while (!done)
        QCoreApplication::processEvents(QEventLoop::WaitForMoreEvents);
}

void Console::settle()
{
    // A write's answer runs the actions it held, whose answers may write again: go on until a
    // round writes nothing, so simulated timing never depends on how fast the disk is.
    for (int round = 0; round < 20; ++round) {
        const qint64 before = m_appends;
        for (int i = 0; i < 4; ++i)
            QCoreApplication::processEvents();
        barrier();
        for (int i = 0; i < 4; ++i)
            QCoreApplication::processEvents();
        if (m_appends == before)
            return;
    }
}

void Console::step()
{
    m_virtual->advance(1s);
    settle();
}

void Console::runFor(Duration length)
{
    const TimePoint end = m_clock->now() + length;
    while (m_clock->now() < end) {
        m_virtual->advanceTo(std::min(end, m_clock->now() + Duration(1s)));
        settle();
    }
}

bool Console::waitFor(const std::function<bool()> &done, Duration timeout)
{
    if (m_virtual) {
        const TimePoint end = m_clock->now() + timeout;
        settle();
        while (!done()) {
            if (m_clock->now() >= end)
                return false;
            step();
        }
        return true;
    }
    QElapsedTimer timer;
    timer.start();
    m_wake.start();
    while (!done() && timer.elapsed() < timeout.count())
        QCoreApplication::processEvents(QEventLoop::WaitForMoreEvents);
    m_wake.stop();
    return done();
}

QList<JournalEntry> Console::writtenAfter(qint64 after) const
{
    QList<JournalEntry> entries;
    for (const JournalEntry &entry : m_written) {
        if (entry.sequence > after)
            entries.append(entry);
    }
    return entries;
}

QList<ServiceRow> Console::rows(const std::optional<ServiceKey> &only) const
{
    QList<ServiceRow> rows;
    for (const ServiceStatus &status : m_session->snapshot().services) {
        if (!only || status.key == *only)
            rows.append(rowOf(status, *m_controller, m_clock->now()));
    }
    return rows;
}

// ---------------------------------------------------------------------------------------------
// The commands that run the workspace

// Prints the service's events while a command waits: on stdout, or on stderr when stdout is
// JSON.
QMetaObject::Connection printEvents(Console &console, const ServiceKey &service, bool json)
{
    return QObject::connect(&console.controller(), &ReleaseController::eventRecorded,
                            &console.controller(), [service, json](const ReleaseEvent &event) {
                                if (event.service != service)
                                    return;
                                printLine(json ? stderr : stdout,
                                          QStringLiteral("%1 %2 %3: %4")
                                              .arg(formatUtc(event.at), service.id(),
                                                   toString(event.kind), event.reason));
                            });
}

void printOutcome(Console &console, const ServiceKey &service, const QString &summary, bool json)
{
    printLine(json ? stderr : stdout, summary);
    printRows(console.rows(service), json);
}

// Waits until every action the operator's command asked for was answered: done, or exit 4
// naming the first that failed.
int awaitAnswers(Console &console, const ServiceKey &service, qint64 after, Duration timeout,
                 const QString &what)
{
    const QString actor = console.controller().operatorName();
    QStringList failures;
    const auto answered = [&] {
        QHash<qint64, QString> pending;
        failures.clear();
        for (const JournalEntry &entry : console.writtenAfter(after)) {
            if (entry.service != service || entry.actor != actor)
                continue;
            if (entry.kind == journalkind::intent)
                pending.insert(entry.sequence, entry.action);
            else if (entry.kind == journalkind::outcome && pending.contains(entry.intent)) {
                if (entry.outcome != QLatin1String("ok"))
                    failures.append(QStringLiteral("'%1' was refused: %2")
                                        .arg(pending.value(entry.intent), entry.outcome));
                pending.remove(entry.intent);
            }
        }
        return pending.isEmpty() || !console.journalErrors().isEmpty();
    };
    // A write after the command's own proves it durable, with the intents it held.
    console.settle();
    const bool inTime = console.waitFor(answered, timeout);
    if (!console.journalErrors().isEmpty()) {
        printError(QStringLiteral("%1 was accepted, but the journal could not record it, so it "
                                  "did not run")
                       .arg(what));
        return ExitIncomplete;
    }
    if (!failures.isEmpty()) {
        const ReleaseController::Release *release = console.controller().release(service);
        printError(QStringLiteral("%1 was accepted, but %2. Now: %3")
                       .arg(what, failures.join(QStringLiteral("; ")),
                            release ? release->reason : QString()));
        return ExitIncomplete;
    }
    if (!inTime) {
        printError(QStringLiteral("%1 was accepted, but its backend calls were not answered "
                                  "within %2")
                       .arg(what, formatDuration(timeout)));
        return ExitIncomplete;
    }
    return ExitDone;
}

int runStatus(Console &console, const Options &options)
{
    printRows(console.rows(), options.json);
    return ExitDone;
}

int runStart(Console &console, const Options &options, const ServiceKey &service)
{
    const QString version = options.arguments.at(1);
    const qint64 before = console.lastSequence();
    const QMetaObject::Connection events = printEvents(console, service, options.json);
    const Result<Done, QString> started
        = console.controller().start(service, version, options.plan, options.reason);
    if (!started) {
        QObject::disconnect(events);
        printError(started.error());
        return ExitRefused;
    }
    const int code = awaitAnswers(console, service, before, timeoutOf(options, 60s),
                                  QStringLiteral("the release of %1").arg(version));
    QObject::disconnect(events);
    if (code == ExitDone)
        printOutcome(console, service,
                     QStringLiteral("%1: started %2")
                         .arg(service.id(), console.controller().release(service)->id()),
                     options.json);
    return code;
}

int runCommand(Console &console, const Options &options, const ServiceKey &service,
               ReleaseCommand command)
{
    const qint64 before = console.lastSequence();
    const QMetaObject::Connection events = printEvents(console, service, options.json);
    const Result<Done, QString> done
        = console.controller().command(service, command, options.reason);
    if (!done) {
        QObject::disconnect(events);
        printError(done.error());
        return ExitRefused;
    }
    const int code
        = awaitAnswers(console, service, before, timeoutOf(options, 60s), toString(command));
    QObject::disconnect(events);
    if (code == ExitDone)
        printOutcome(console, service,
                     QStringLiteral("%1: %2 done").arg(service.id(), toString(command)),
                     options.json);
    return code;
}

int runRollback(Console &console, const Options &options, const ServiceKey &service)
{
    ReleaseController &controller = console.controller();
    const RollbackOption option = controller.rollbackOption(service);
    std::FILE *progress = options.json ? stderr : stdout;
    if (option.available())
        printLine(progress, QStringLiteral("%1: %2").arg(service.id(), option.label));
    const QMetaObject::Connection events = printEvents(console, service, options.json);
    const Result<Done, QString> done = controller.rollBack(service, options.reason);
    if (!done) {
        QObject::disconnect(events);
        console.settle(); // the refusal is journaled too
        printError(done.error());
        return ExitRefused;
    }
    // A redeploy is a release of its own; a command turns the release under way around.
    const QString releaseId = controller.release(service)->id();
    bool announced = false;
    const auto finished = [&] {
        const ReleaseController::Release *release = controller.release(service);
        for (const ServiceStatus &status : console.session().snapshot().services) {
            if (status.key == service && !announced && status.traffic
                && status.traffic->weightOf(option.toVersion) >= 100) {
                announced = true;
                printLine(progress, QStringLiteral("%1 %2: %3 serves all traffic")
                                        .arg(formatUtc(console.clock().now()), service.id(),
                                             option.toVersion));
            }
        }
        return !release || release->id() != releaseId || release->finished();
    };
    const bool inTime = console.waitFor(finished, timeoutOf(options, 1800s));
    QObject::disconnect(events);
    const ReleaseController::Release *release = controller.release(service);
    if (!inTime) {
        const RollbackOption now = controller.rollbackOption(service);
        printError(QStringLiteral("the rollback of %1 to %2 was accepted but has not finished "
                                  "within %3: %4. It carries on whenever a console or "
                                  "signalbox-ctl runs this workspace.")
                       .arg(service.id(), option.toVersion,
                            formatDuration(timeoutOf(options, 1800s)),
                            !now.why.isEmpty() ? now.why
                            : release          ? release->reason
                                               : QString()));
        return ExitIncomplete;
    }
    const bool backOnPrevious
        = option.kind == RollbackOption::Kind::Command
              ? release && release->finished()
              : release && release->finished()
                    && std::visit([](const auto &run) { return run.status.succeeded(); },
                                  release->run);
    if (!backOnPrevious) {
        printError(QStringLiteral("the rollback of %1 to %2 ended without %2 serving all "
                                  "traffic: %3")
                       .arg(service.id(), option.toVersion, release ? release->reason : QString()));
        return ExitIncomplete;
    }
    printOutcome(console, service,
                 QStringLiteral("%1: rolled back; %2 serves all traffic")
                     .arg(service.id(), option.toVersion),
                 options.json);
    return ExitDone;
}

int runWorkspace(const Options &options)
{
    Console console(options);
    if (const std::optional<int> failed = console.open())
        return *failed;
    const CommandSpec &spec = *findCommand(options.command);
    int code = ExitDone;
    if (spec.name == QLatin1String("status")) {
        code = runStatus(console, options);
    } else {
        const auto resolved
            = resolveService(console.session().workspace(), options.arguments.constFirst());
        if (const QString *problem = std::get_if<QString>(&resolved))
            return usageError(*problem);
        const ServiceKey service = std::get<ServiceKey>(resolved);
        console.settle();
        if (spec.name == QLatin1String("start"))
            code = runStart(console, options, service);
        else if (spec.name == QLatin1String("rollback"))
            code = runRollback(console, options, service);
        else
            code = runCommand(console, options, service,
                              options.fully ? ReleaseCommand::PromoteFully : *spec.command);
    }
    console.settle();
    return code;
}

// ---------------------------------------------------------------------------------------------
// journal list, verify and export: straight on the file, without running the workspace

QString entryLine(const JournalEntry &entry)
{
    QStringList detail;
    if (entry.stage >= 0)
        detail.append(QStringLiteral("stage %1").arg(entry.stage + 1));
    if (!entry.action.isEmpty())
        detail.append(entry.action);
    if (!entry.reason.isEmpty())
        detail.append(entry.reason);
    if (!entry.outcome.isEmpty())
        detail.append(QStringLiteral("-> %1").arg(entry.outcome));
    return QStringLiteral("%1  %2  %3  %4  %5  %6")
        .arg(QString::number(entry.sequence).rightJustified(6), formatUtc(entry.at),
             entry.actor.leftJustified(12),
             (entry.service.name.isEmpty() ? QStringLiteral("-") : entry.service.id())
                 .leftJustified(26),
             entry.kind.leftJustified(18), detail.join(QStringLiteral("; ")));
}

std::optional<JournalEntry> lastEntry(const JournalStore &store)
{
    JournalFilter filter;
    filter.afterSequence = store.lastSequence() - 1;
    const Result<QList<JournalEntry>, QString> entries = store.entries(filter);
    if (!entries || entries.value().isEmpty())
        return std::nullopt;
    return entries.value().constLast();
}

int journalList(const JournalStore &store, const Options &options, JournalFilter filter)
{
    std::deque<JournalEntry> kept;
    const Result<Done, QString> read = store.forEach(filter, [&](const JournalEntry &entry) {
        kept.push_back(entry);
        if (options.limit > 0 && qint64(kept.size()) > options.limit)
            kept.pop_front();
        return true;
    });
    if (!read) {
        printError(read.error());
        return ExitUnusable;
    }
    if (!options.json) {
        for (const JournalEntry &entry : kept)
            printLine(stdout, entryLine(entry));
        return ExitDone;
    }
    // The export's own fields, so a listing and an export read the same.
    QJsonArray array;
    if (!kept.empty()) {
        filter.afterSequence = kept.front().sequence - 1;
        filter.limit = qint64(kept.size());
        QBuffer buffer;
        buffer.open(QIODevice::WriteOnly);
        if (const auto exported = store.exportJsonLines(&buffer, filter); !exported) {
            printError(exported.error());
            return ExitUnusable;
        }
        for (const QByteArray &line : buffer.data().split('\n')) {
            if (!line.trimmed().isEmpty())
                array.append(QJsonDocument::fromJson(line).object());
        }
    }
    std::fputs(QJsonDocument(array).toJson(QJsonDocument::Indented).constData(), stdout);
    std::fflush(stdout);
    return ExitDone;
}

int journalVerify(const JournalStore &store)
{
    const JournalCheck check = store.verify();
    if (!check.intact()) {
        printLine(stdout, QStringLiteral("%1: %2 entries; altered at entry %3")
                              .arg(store.path())
                              .arg(check.entries)
                              .arg(check.firstBroken));
        printError(QStringLiteral("the journal %1 has been altered: %2. Entries from there on "
                                  "cannot be trusted; keep the file for investigation.")
                       .arg(store.path(), check.problem));
        return ExitUnusable;
    }
    // The chain cannot show entries cut off its end: the count and the last hash, compared
    // with a copy kept elsewhere, can.
    const std::optional<JournalEntry> last = lastEntry(store);
    printLine(stdout,
              QStringLiteral("%1: %2 entries, intact%3")
                  .arg(store.path())
                  .arg(check.entries)
                  .arg(last ? QStringLiteral("; last hash %1").arg(QString::fromLatin1(last->hash))
                            : QString()));
    return ExitDone;
}

int journalExport(const JournalStore &store, const Options &options, const JournalFilter &filter)
{
    const bool csv = options.format == QLatin1String("csv");
    auto write = [&](QIODevice *out) {
        return csv ? store.exportCsv(out, filter) : store.exportJsonLines(out, filter);
    };
    if (options.output.isEmpty()) {
        QFile out;
        if (!out.open(stdout, QIODevice::WriteOnly)) {
            printError(QStringLiteral("cannot write to stdout"));
            return ExitUnusable;
        }
        const Result<qint64, QString> written = write(&out);
        if (!written) {
            printError(written.error());
            return ExitUnusable;
        }
        return ExitDone;
    }
    QSaveFile out(options.output);
    if (!out.open(QIODevice::WriteOnly)) {
        printError(QStringLiteral("cannot write %1: %2").arg(options.output, out.errorString()));
        return ExitUnusable;
    }
    const Result<qint64, QString> written = write(&out);
    if (!written) {
        printError(written.error());
        return ExitUnusable;
    }
    if (!out.commit()) {
        printError(QStringLiteral("cannot write %1: %2").arg(options.output, out.errorString()));
        return ExitUnusable;
    }
    printLine(stdout,
              QStringLiteral("%1 entries written to %2").arg(written.value()).arg(options.output));
    return ExitDone;
}

int runJournal(const Options &options)
{
    QString path = options.journalPath;
    if (path.isEmpty()) {
        AdapterRegistry registry;
        registerBuiltinAdapters(registry);
        const Result<Workspace, Diagnostic> workspace
            = loadWorkspace(options.workspacePath, registry);
        if (!workspace) {
            printDiagnostic(workspace.error());
            return ExitUnusable;
        }
        path = workspace.value().journalPath();
        if (path.isEmpty())
            return usageError(QStringLiteral("the built-in demo keeps no journal between runs; "
                                             "name the file with --journal FILE"));
    }
    // Opening creates a missing file; a listing must not leave an empty journal behind.
    if (!QFile::exists(path)) {
        printError(QStringLiteral("there is no journal at %1 yet").arg(path));
        return ExitUnusable;
    }
    Result<std::unique_ptr<JournalStore>, QString> opened = JournalStore::open(path);
    if (!opened) {
        printError(opened.error());
        return ExitUnusable;
    }
    const std::unique_ptr<JournalStore> store = std::move(opened).value();
    const QString sub = options.arguments.constFirst();
    if (sub == QLatin1String("verify"))
        return journalVerify(*store);

    JournalFilter filter = options.filter;
    if (options.lastMinutes) {
        TimePoint now = fromMSecsSinceEpoch(QDateTime::currentMSecsSinceEpoch());
        // Simulated entries live on the virtual clock; count back from the last of them.
        if (const std::optional<JournalEntry> last = lastEntry(*store); options.simulate && last)
            now = last->at;
        filter.from = now - Duration(qint64(*options.lastMinutes * 60'000));
    }
    return sub == QLatin1String("list") ? journalList(*store, options, filter)
                                        : journalExport(*store, options, filter);
}

// ---------------------------------------------------------------------------------------------
// judge: a count stream on stdin, without a workspace or a journal

int runJudge(const Options &options)
{
    if (!options.judgeWarning.isEmpty())
        printError(options.judgeWarning);
    std::unique_ptr<StreamJudge> judge;
    if (options.judgeMethod == GateMethod::Sequential)
        judge = std::make_unique<SequentialStreamJudge>(options.sequential);
    else
        judge = std::make_unique<ThresholdStreamJudge>(options.thresholdGate);

    StreamParser parser;
    bool malformed = false;
    std::optional<double> lastT;
    double decidedAt = 0;
    std::string line;
    // Line by line, so that a stream still being written (tail -f) is judged as it comes.
    while (std::getline(std::cin, line)) {
        const StreamParser::Line parsed
            = parser.parse(QString::fromUtf8(line.data(), qsizetype(line.size())));
        if (const StreamError *error = std::get_if<StreamError>(&parsed)) {
            printError(QStringLiteral("stdin:%1: %2").arg(error->line).arg(error->message));
            malformed = true;
            continue;
        }
        const StreamInterval *interval = std::get_if<StreamInterval>(&parsed);
        if (!interval)
            continue;
        lastT = interval->t;
        if (const std::optional<DecisionChange> change = judge->add(*interval)) {
            decidedAt = change->t;
            printLine(stdout, QStringLiteral("t=%1 decision=%2 %3")
                                  .arg(formatStreamTime(change->t), toString(change->decision),
                                       change->why));
        }
    }
    if (!lastT && !malformed)
        printError(QStringLiteral("stdin held no counts; write lines of "
                                  "t,baseline_requests,baseline_errors,canary_requests,"
                                  "canary_errors"));
    const JudgeDecision decision = judge->decision();
    const double at = decision == JudgeDecision::Continue ? lastT.value_or(0) : decidedAt;
    printLine(stdout,
              QStringLiteral("decision=%1 t=%2").arg(toString(decision), formatStreamTime(at)));
    return malformed ? ExitUsage : ExitDone;
}

} // namespace
} // namespace sb

int main(int argc, char **argv)
{
    QCoreApplication app(argc, argv);
    // The window's names, so the default journal of a workspace is the one the window keeps.
    QCoreApplication::setOrganizationName(QStringLiteral("Signalbox"));
    QCoreApplication::setApplicationName(QStringLiteral("signalbox"));
    QCoreApplication::setApplicationVersion(QStringLiteral(SIGNALBOX_VERSION));

    sb::Options options;
    if (const std::optional<int> answered = sb::parseCommandLine(app.arguments(), options))
        return *answered;
    if (options.command == QLatin1String("journal"))
        return sb::runJournal(options);
    if (options.command == QLatin1String("judge"))
        return sb::runJudge(options);
    return sb::runWorkspace(options);
}
