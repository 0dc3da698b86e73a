#pragma once

#include "canaryengine.h"
#include "fleet.h"
#include "strategypanel.h"

class QLabel;
class QPushButton;
class QStackedWidget;
class QTableView;

namespace sb {

class BadgeLine;
class GateModel;
class RatioIntervalStrip;
class ReleaseCharts;
class ReleaseEventModel;
class StageStepper;
class TextLine;

// The selected service's canary: its stages with the current one and the bake countdown, the
// weight the router is set to beside the share the canary really gets, the gates' verdicts, the
// live charts and the events so far, and the operator's buttons, enabled exactly when the
// engine would accept them. Every button goes through the ReleaseController; a refusal shows
// here, in the panel, never in a modal.
class CanaryPanel : public StrategyPanel
{
    Q_OBJECT
public:
    explicit CanaryPanel(Clock *clock, QWidget *parent = nullptr);

    QPushButton *promoteButton() const { return m_promote; }
    QPushButton *promoteFullyButton() const { return m_promoteFully; }
    QPushButton *pauseButton() const { return m_pause; }
    QPushButton *abortButton() const { return m_abort; }
    QPushButton *retryButton() const { return m_retry; }
    StageStepper *stepper() const { return m_stepper; }
    GateModel *gateModel() const { return m_gates; }
    QTableView *gateView() const { return m_gateView; }
    // The sequential gate's intervals for k, under the gates; hidden without one.
    RatioIntervalStrip *intervalStrip() const { return m_intervals; }
    ReleaseEventModel *eventModel() const { return m_events; }
    ReleaseCharts *charts() const { return m_charts; }
    // The facts line and the engine's sentence, as shown.
    QString factsText() const;
    QString reasonText() const;

private:
    QWidget *buildReleasePage();
    void forgetShown() override;
    void refresh() override;
    void confirmCommand(canary::Command command);
    void layOutJudgeRows();

    QString m_shownTraceOf; // release id whose trace the charts show
    std::optional<TimePoint> m_shownTraceAt;

    QLabel *m_title;
    BadgeLine *m_phase;
    QLabel *m_meta;
    QPushButton *m_promote;
    QPushButton *m_promoteFully;
    QPushButton *m_pause;
    QPushButton *m_abort;
    QPushButton *m_retry;
    StageStepper *m_stepper;
    TextLine *m_facts;
    QLabel *m_reason;
    GateModel *m_gates;
    QTableView *m_gateView;
    RatioIntervalStrip *m_intervals;
    ReleaseCharts *m_charts;
    ReleaseEventModel *m_events;
    QTableView *m_eventView;
};

} // namespace sb
