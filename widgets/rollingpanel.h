#pragma once

#include "fleet.h"
#include "release.h"
#include "strategypanel.h"

class QLabel;
class QProgressBar;
class QPushButton;
class QStackedWidget;
class QTableView;

namespace sb {

class BadgeLine;
class InstanceGridView;
class InstanceModel;
class ReleaseEventModel;
class TextLine;

// The selected service's rolling release: the instance grid with the old version and the new
// one in their own colours, surge instances ringed and draining ones half-filled; the capacity
// budget (how many may be unavailable and how many extra may run, beside how many are now);
// progress with its ETA; Pause, Resume and Roll back, whose confirmation says how long going
// back would take. When the progress deadline stalls the release a banner says so and what to
// do. Every button goes through the ReleaseController and is enabled exactly when the engine
// would accept it.
class RollingPanel : public StrategyPanel
{
    Q_OBJECT
public:
    explicit RollingPanel(Clock *clock, QWidget *parent = nullptr);

    QPushButton *pauseButton() const { return m_pause; }
    QPushButton *rollBackButton() const { return m_rollBack; }
    QProgressBar *progressBar() const { return m_progress; }
    InstanceGridView *grid() const { return m_grid; }
    InstanceModel *instanceModel() const { return m_instances; }
    ReleaseEventModel *eventModel() const { return m_events; }
    // As shown, for tests and accessibility.
    QString phaseText() const;
    QString progressText() const;
    QString etaText() const;
    QString budgetText() const;
    QString countsText() const;
    QString bannerText() const;
    QString reasonText() const;

private:
    QWidget *buildReleasePage();
    void forgetShown() override;
    void refresh() override;
    void confirmRollBack();

    QLabel *m_title;
    BadgeLine *m_phase;
    QLabel *m_meta;
    QPushButton *m_pause;
    QPushButton *m_rollBack;
    QLabel *m_banner;
    TextLine *m_progressLine;
    QProgressBar *m_progress;
    TextLine *m_eta;
    BadgeLine *m_budget;
    TextLine *m_counts;
    QLabel *m_reason;
    InstanceModel *m_instances;
    InstanceGridView *m_grid;
    ReleaseEventModel *m_events;
    QTableView *m_eventView;
};

} // namespace sb
