#pragma once

#include "adapterregistry.h"
#include "clock.h"
#include "mainwindow.h"
#include "syntheticfleet.h"

#include <QCoreApplication>

namespace sb::bench {

// The main window showing a synthetic fleet offscreen at the screenshot size, its focus
// service selected: the console every in-process benchmark measures.
class BenchConsole
{
public:
    explicit BenchConsole(SyntheticFleet &fleet)
        : m_fleet(fleet)
        , m_clock(fleet.snapshot().at)
        , window(m_registry, &m_clock)
    {
        window.setRemembersState(false);
        window.resize(1440, 900);
        window.applySnapshot(fleet.snapshot());
        window.show();
        QCoreApplication::processEvents();
        m_selected = window.selectService(fleet.focusService());
        QCoreApplication::processEvents();
    }

    bool selected() const { return m_selected; }

    // The next snapshot, untimed: producing it is the adapters' work, not the console's.
    const ConsoleSnapshot &nextSnapshot()
    {
        m_fleet.tick();
        m_clock.advanceTo(m_fleet.snapshot().at);
        return m_fleet.snapshot();
    }

private:
    SyntheticFleet &m_fleet;
    AdapterRegistry m_registry; // empty: the window is fed snapshots, not a workspace
    VirtualClock m_clock;
    bool m_selected = false;

public:
    MainWindow window;
};

} // namespace sb::bench
