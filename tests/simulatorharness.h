#pragma once

// Opens simulated workspaces written inline by a test, on a virtual clock, and runs
// asynchronous adapter verbs to completion.

#include "adapterregistry.h"
#include "builtinadapters.h"
#include "clock.h"
#include "simulator/simulatoradapter.h"
#include "workspacesession.h"

#include <QCoreApplication>
#include <QFile>
#include <QTemporaryDir>

#include <memory>
#include <optional>

namespace sb::testing {

class SimulatedWorkspace
{
public:
    SimulatedWorkspace()
        : clock(VirtualClock::defaultStart())
    {
        registerBuiltinAdapters(registry);
    }

    // Writes `yaml` to a file and opens it; the Diagnostic when it does not load.
    std::optional<Diagnostic> open(const QByteArray &yaml)
    {
        path = dir.filePath(QStringLiteral("signalbox.yaml"));
        QFile file(path);
        if (!file.open(QIODevice::WriteOnly) || file.write(yaml) != yaml.size())
            qFatal("cannot write %s", qPrintable(path));
        file.close();
        auto opened = WorkspaceSession::open(path, registry, &clock);
        if (!opened)
            return opened.error();
        session = std::move(opened).value();
        return std::nullopt;
    }

    sim::SimulatorAdapter *simulator() const
    {
        return qobject_cast<sim::SimulatorAdapter *>(session->adapters().front().get());
    }

    // Advances simulated time a tick at a time, letting queued answers through in between.
    void run(Duration length, Duration step = std::chrono::seconds(1))
    {
        const TimePoint end = clock.now() + length;
        while (clock.now() < end) {
            clock.advanceTo(std::min(end, clock.now() + step));
            settle();
        }
    }

    static void settle()
    {
        for (int i = 0; i < 4; ++i)
            QCoreApplication::processEvents();
    }

    // Calls an asynchronous verb and waits for its single answer.
    template <typename T, typename Call>
    static std::optional<Result<T>> await(Call call)
    {
        std::optional<Result<T>> answer;
        int calls = 0;
        call([&answer, &calls](Result<T> result) {
            answer = std::move(result);
            ++calls;
        });
        if (answer)
            qFatal("an adapter answered from inside the call; answers must be asynchronous");
        for (int i = 0; i < 100 && !answer; ++i)
            QCoreApplication::processEvents();
        if (calls > 1)
            qFatal("an adapter answered twice");
        return answer;
    }

    QTemporaryDir dir;
    QString path;
    AdapterRegistry registry;
    VirtualClock clock;
    std::unique_ptr<WorkspaceSession> session;
};

} // namespace sb::testing
