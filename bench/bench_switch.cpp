// The figures of a traffic change on a real balancer, under a bounded load of 20 connections
// through it: failed requests during blue-green switches and canary weight changes, and the time
// from the switch action to the first answer from the new colour. HAProxy (runtime API) and nginx
// (upstream file, validation, reload), each in front of two blue and two green demo services.
//
//   bench_switch [seconds of load per run, default 10]

#include "adapterregistry.h"
#include "benchstats.h"
#include "builtinadapters.h"
#include "clock.h"
#include "loadgenerator.h"
#include "serverprocess.h"
#include "workspacesession.h"

#include <QCoreApplication>
#include <QDir>
#include <QElapsedTimer>
#include <QFile>
#include <QTemporaryDir>
#include <QTimer>

#include <cstdio>
#include <memory>
#include <vector>

using namespace sb;
using namespace std::chrono_literals;
using sb::test::LoadGenerator;
using sb::test::ServerProcess;

namespace {

const ServiceKey service{QStringLiteral("shop"), QStringLiteral("bench")};
const QString blue = QStringLiteral("1.0.0");
const QString green = QStringLiteral("2.0.0");

[[noreturn]] void fail(const QString &message)
{
    std::fprintf(stderr, "bench_switch: %s\n", qPrintable(message));
    std::exit(1);
}

void writeFile(const QString &path, const QString &text)
{
    QFile file(path);
    if (!file.open(QIODevice::WriteOnly) || file.write(text.toUtf8()) < 0)
        fail(QStringLiteral("cannot write %1").arg(path));
}

// Runs the event loop until `done` holds or `timeout` passes.
template <typename Predicate>
bool waitUntil(Predicate done, std::chrono::milliseconds timeout)
{
    QElapsedTimer timer;
    timer.start();
    while (!done()) {
        if (timer.elapsed() > timeout.count())
            return false;
        QCoreApplication::processEvents(QEventLoop::AllEvents, 10);
    }
    return true;
}

void wait(std::chrono::milliseconds length)
{
    QElapsedTimer timer;
    timer.start();
    waitUntil([&] { return timer.elapsed() >= length.count(); }, length + 1s);
}

// Two demo services per colour on free ports.
struct DemoFleet {
    std::vector<std::unique_ptr<ServerProcess>> processes;
    QStringList blueAddresses;
    QStringList greenAddresses;

    void start()
    {
        for (const QString &version : {blue, green}) {
            for (int i = 1; i <= 2; ++i) {
                const quint16 port = sb::test::freeLoopbackPort();
                auto process
                    = std::make_unique<ServerProcess>(QStringLiteral("demo %1").arg(version));
                if (!process->start(sb::test::demoServiceProgram(),
                                    {QStringLiteral("--service"), service.name,
                                     QStringLiteral("--version"), version, QStringLiteral("--port"),
                                     QString::number(port), QStringLiteral("--latency"),
                                     QStringLiteral("5ms")})
                    || !process->waitForPort(port))
                    fail(process->error());
                (version == blue ? blueAddresses : greenAddresses)
                    .append(QStringLiteral("127.0.0.1:%1").arg(port));
                processes.push_back(std::move(process));
            }
        }
    }
};

// A balancer in front of the fleet, opened as a workspace the way the console opens it.
struct Balancer {
    QString name;
    std::unique_ptr<ServerProcess> process;
    quint16 frontEnd = 0;
    QString workspace; // the workspace file
};

Balancer startHaproxy(const QTemporaryDir &dir, const DemoFleet &fleet)
{
    Balancer balancer{QStringLiteral("haproxy"), std::make_unique<ServerProcess>("haproxy"),
                      sb::test::freeLoopbackPort(), dir.filePath(QStringLiteral("haproxy.yaml"))};
    const quint16 runtimeApi = sb::test::freeLoopbackPort();
    writeFile(dir.filePath(QStringLiteral("haproxy.cfg")),
              QStringLiteral("global\n"
                             "    stats socket ipv4@127.0.0.1:%1 level admin\n"
                             "defaults\n"
                             "    mode http\n"
                             "    timeout connect 2s\n"
                             "    timeout client 30s\n"
                             "    timeout server 30s\n"
                             "frontend shop\n"
                             "    bind 127.0.0.1:%2\n"
                             "    default_backend shop\n"
                             "backend shop\n"
                             "    option httpchk GET /ready\n"
                             "    default-server check inter 500ms fall 2 rise 1\n"
                             "    server blue1 %3 weight 100\n"
                             "    server blue2 %4 weight 100\n"
                             "    server green1 %5 weight 0\n"
                             "    server green2 %6 weight 0\n")
                  .arg(runtimeApi)
                  .arg(balancer.frontEnd)
                  .arg(fleet.blueAddresses[0], fleet.blueAddresses[1], fleet.greenAddresses[0],
                       fleet.greenAddresses[1]));
    if (!balancer.process->start(sb::test::findProgram(QStringLiteral("haproxy")),
                                 {QStringLiteral("-db"), QStringLiteral("-f"),
                                  dir.filePath(QStringLiteral("haproxy.cfg"))})
        || !balancer.process->waitForPort(balancer.frontEnd))
        fail(balancer.process->error());
    writeFile(balancer.workspace,
              QStringLiteral("workspace: bench\n"
                             "environments: [bench]\n"
                             "adapters:\n"
                             "  - name: lb\n"
                             "    type: haproxy\n"
                             "    settings:\n"
                             "      runtime_api: 127.0.0.1:%1\n"
                             "      poll_interval: 200ms\n"
                             "      services:\n"
                             "        - service: shop\n"
                             "          environment: bench\n"
                             "          backend: shop\n"
                             "          versions:\n"
                             "            \"1.0.0\": [blue1, blue2]\n"
                             "            \"2.0.0\": [green1, green2]\n"
                             "services:\n"
                             "  - {name: shop, environment: bench, adapter: lb}\n")
                  .arg(runtimeApi));
    return balancer;
}

Balancer startNginx(const QTemporaryDir &dir, const DemoFleet &fleet)
{
    Balancer balancer{QStringLiteral("nginx"), std::make_unique<ServerProcess>("nginx"),
                      sb::test::freeLoopbackPort(), dir.filePath(QStringLiteral("nginx.yaml"))};
    const QString prefix = dir.filePath(QStringLiteral("nginx"));
    QDir().mkpath(prefix + QStringLiteral("/upstreams"));
    QDir().mkpath(prefix + QStringLiteral("/temp"));
    writeFile(prefix + QStringLiteral("/upstreams/shop.conf"),
              QStringLiteral("upstream shop {\n"
                             "    server %1 weight=1;\n"
                             "    server %2 weight=1;\n"
                             "    server %3 down;\n"
                             "    server %4 down;\n"
                             "}\n")
                  .arg(fleet.blueAddresses[0], fleet.blueAddresses[1], fleet.greenAddresses[0],
                       fleet.greenAddresses[1]));
    // The settings docs/adapters/nginx.md recommends against resets during reloads.
    writeFile(prefix + QStringLiteral("/nginx.conf"),
              QStringLiteral("worker_processes 1;\n"
                             "worker_shutdown_timeout 10s;\n"
                             "pid %1/nginx.pid;\n"
                             "error_log %1/error.log warn;\n"
                             "events { worker_connections 1024; }\n"
                             "http {\n"
                             "    access_log off;\n"
                             "    client_body_temp_path %1/temp/body;\n"
                             "    proxy_temp_path %1/temp/proxy;\n"
                             "    fastcgi_temp_path %1/temp/fastcgi;\n"
                             "    uwsgi_temp_path %1/temp/uwsgi;\n"
                             "    scgi_temp_path %1/temp/scgi;\n"
                             "    include upstreams/shop.conf;\n"
                             "    server {\n"
                             "        listen 127.0.0.1:%2;\n"
                             "        location / {\n"
                             "            proxy_pass http://shop;\n"
                             "            proxy_next_upstream error timeout http_502 http_503;\n"
                             "        }\n"
                             "    }\n"
                             "}\n")
                  .arg(prefix)
                  .arg(balancer.frontEnd));
    const QString nginx = sb::test::findProgram(QStringLiteral("nginx"));
    if (!balancer.process->start(nginx, {QStringLiteral("-p"), prefix, QStringLiteral("-c"),
                                         prefix + QStringLiteral("/nginx.conf"),
                                         QStringLiteral("-e"), QStringLiteral("stderr"),
                                         QStringLiteral("-g"), QStringLiteral("daemon off;")})
        || !balancer.process->waitForPort(balancer.frontEnd))
        fail(balancer.process->error());
    writeFile(balancer.workspace,
              QStringLiteral("workspace: bench\n"
                             "environments: [bench]\n"
                             "adapters:\n"
                             "  - name: edge\n"
                             "    type: nginx\n"
                             "    settings:\n"
                             "      program: %1\n"
                             "      config: %2/nginx.conf\n"
                             "      prefix: %2\n"
                             "      health_interval: 500ms\n"
                             "      services:\n"
                             "        - service: shop\n"
                             "          environment: bench\n"
                             "          upstream: shop\n"
                             "          file: %2/upstreams/shop.conf\n"
                             "          health_path: /ready\n"
                             "          versions:\n"
                             "            \"1.0.0\": [\"%3\", \"%4\"]\n"
                             "            \"2.0.0\": [\"%5\", \"%6\"]\n"
                             "services:\n"
                             "  - {name: shop, environment: bench, adapter: edge}\n")
                  .arg(nginx, prefix, fleet.blueAddresses[0], fleet.blueAddresses[1],
                       fleet.greenAddresses[0], fleet.greenAddresses[1]));
    return balancer;
}

// Runs one adapter verb to completion; exits on an error, since every later figure depends on it.
template <typename T, typename Verb>
T await(Verb verb, const char *what)
{
    std::optional<Result<T>> answer;
    verb([&answer](Result<T> result) { answer = std::move(result); });
    if (!waitUntil([&] { return answer.has_value(); }, 30s))
        fail(QStringLiteral("%1 did not answer within 30 s").arg(QLatin1String(what)));
    if (!*answer)
        fail(QStringLiteral("%1 failed: %2").arg(QLatin1String(what), answer->error().message));
    return std::move(*answer).value();
}

struct Figures {
    LoadGenerator::Counts switches;
    std::vector<double> toFirstNewAnswerMs;
    LoadGenerator::Counts weightChanges;
};

Figures measure(const Balancer &balancer, std::chrono::seconds load)
{
    RealClock clock;
    AdapterRegistry registry;
    registerBuiltinAdapters(registry);
    auto opened = WorkspaceSession::open(balancer.workspace, registry, &clock);
    if (!opened)
        fail(opened.error().toString());
    std::unique_ptr<WorkspaceSession> session = std::move(opened).value();
    session->start();
    Adapter *adapter = session->adapterFor(service, Capability::Traffic);
    TrafficRouter *router = adapter->trafficRouter();
    Deployer *deployer = adapter->deployer();

    // Both colours admitted and ready, all traffic on blue.
    await<Done>([&](auto done) { deployer->scale(service, green, 2, done); }, "scale green to 2");
    await<TrafficSplit>([&](auto done) { router->switchTo(service, blue, done); },
                        "switch to blue");
    if (!waitUntil(
            [&] {
                const ServiceStatus &status = session->snapshot().services.front();
                return status.fleet
                       && std::count_if(status.fleet->instances.cbegin(),
                                        status.fleet->instances.cend(),
                                        [](const Instance &instance) {
                                            return instance.state == InstanceState::Ready;
                                        })
                              == 4;
            },
            30s))
        fail(QStringLiteral("%1: the four demo services did not all become ready")
                 .arg(balancer.name));

    Figures figures;
    const QUrl url(QStringLiteral("http://127.0.0.1:%1/").arg(balancer.frontEnd));
    const auto flipEvery = 1s;

    // Blue-green: flip the colour every second under load, timing each flip to the first answer
    // from the colour it flipped to.
    {
        LoadGenerator generator(url, 20);
        generator.start();
        wait(1s);
        QString live = blue;
        for (auto elapsed = 1s; elapsed + flipEvery <= load; elapsed += flipEvery) {
            const QString next = live == blue ? green : blue;
            generator.resetCountsOf(next);
            const auto asked = std::chrono::steady_clock::now();
            await<TrafficSplit>([&](auto done) { router->switchTo(service, next, done); },
                                "switch");
            waitUntil([&] { return generator.firstAnswerFrom(next).has_value(); }, flipEvery);
            if (const auto first = generator.firstAnswerFrom(next))
                figures.toFirstNewAnswerMs.push_back(
                    std::chrono::duration<double, std::milli>(*first - asked).count());
            live = next;
            wait(std::chrono::duration_cast<std::chrono::milliseconds>(
                flipEvery - (std::chrono::steady_clock::now() - asked)));
        }
        generator.stop();
        waitUntil([&] { return generator.idle(); }, 10s);
        figures.switches = generator.counts();
    }

    // Canary: the playbook's stages of weight, one every two seconds, under the same load.
    {
        await<TrafficSplit>([&](auto done) { router->switchTo(service, blue, done); },
                            "switch to blue");
        LoadGenerator generator(url, 20);
        generator.start();
        wait(1s);
        const double stages[] = {1, 5, 25, 50, 100, 0};
        const auto stageEvery = std::chrono::duration_cast<std::chrono::milliseconds>(
            (load - 1s) / std::size(stages));
        for (double weight : stages) {
            await<TrafficSplit>(
                [&](auto done) {
                    router->setWeights(service, {{blue, 100 - weight}, {green, weight}}, done);
                },
                "set weights");
            wait(stageEvery);
        }
        generator.stop();
        waitUntil([&] { return generator.idle(); }, 10s);
        figures.weightChanges = generator.counts();
    }
    return figures;
}

void report(const QString &balancer, const Figures &figures)
{
    auto figure = [&](const char *name, double value, int decimals = 0) {
        sb::bench::printFigure(
            qPrintable(QStringLiteral("%1_%2").arg(balancer, QLatin1String(name))), value,
            decimals);
    };
    figure("switch_requests", double(figures.switches.total()));
    figure("switch_failed_requests", double(figures.switches.failed()));
    figure("switch_non2xx", double(figures.switches.non2xx));
    figure("switch_connection_resets", double(figures.switches.resets));
    figure("switches", double(figures.toFirstNewAnswerMs.size()));
    figure("switch_to_first_new_answer_ms_median", sb::bench::median(figures.toFirstNewAnswerMs),
           1);
    figure("switch_to_first_new_answer_ms_p90",
           sb::bench::percentile(figures.toFirstNewAnswerMs, 90), 1);
    figure("weight_change_requests", double(figures.weightChanges.total()));
    figure("weight_change_failed_requests", double(figures.weightChanges.failed()));
    figure("weight_change_non2xx", double(figures.weightChanges.non2xx));
    figure("weight_change_connection_resets", double(figures.weightChanges.resets));
    std::fflush(stdout);
}

} // namespace

int main(int argc, char **argv)
{
    QCoreApplication app(argc, argv);
    const std::chrono::seconds load(argc > 1 ? std::max(4, std::atoi(argv[1])) : 10);
    sb::bench::printHeader("bench_switch",
                           "20 connections of load per run; medians over one flip a second");

    QTemporaryDir dir;
    DemoFleet fleet;
    fleet.start();
    {
        Balancer haproxy = startHaproxy(dir, fleet);
        report(QStringLiteral("haproxy"), measure(haproxy, load));
    }
    {
        Balancer nginx = startNginx(dir, fleet);
        report(QStringLiteral("nginx"), measure(nginx, load));
    }
    return 0;
}
