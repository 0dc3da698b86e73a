#pragma once

#include "fleet.h"
#include "release.h"
#include "strategypanel.h"

class QLabel;
class QPushButton;
class QStackedWidget;
class QTableView;

namespace sb {

class BadgeLine;
class ColourCard;
class GateModel;
class ReleaseEventModel;
class TextLine;

// The selected service's blue-green release: its two colours side by side (version, instances
// ready of running, the router's weight and the share really observed, error rate and p99) with
// the live one marked, a large Switch between them and Switch back beside it, the warm window's
// countdown with Extend, Pause / Resume, the doubled capacity while both colours run, the gates
// before and after the switch, and the events. Once the old colour is retired it says plainly
// that going back is a new deploy and how long that would take. Buttons are enabled exactly when
// the engine would accept them; why not is in their tooltip, and for the button that matters in
// the phase, under it.
class BlueGreenPanel : public StrategyPanel
{
    Q_OBJECT
public:
    explicit BlueGreenPanel(Clock *clock, QWidget *parent = nullptr);

    QPushButton *switchButton() const { return m_switch; }
    QPushButton *switchBackButton() const { return m_switchBack; }
    QPushButton *extendButton() const { return m_extend; }
    // Pause, or Resume while paused.
    QPushButton *pauseButton() const { return m_pause; }
    QPushButton *abortButton() const { return m_abort; }
    GateModel *gateModel() const { return m_gates; }
    ReleaseEventModel *eventModel() const { return m_events; }
    // As shown, for tests and accessibility.
    QString phaseText() const;
    QString oldColourText() const;
    QString newColourText() const;
    // Under the buttons: the warm window's countdown, or why Switch or Switch Back cannot apply.
    QString switchHintText() const;
    QString capacityText() const;
    QString retiredText() const;
    QString reasonText() const;

private:
    QWidget *buildReleasePage();
    void forgetShown() override;
    void refresh() override;
    void confirmCommand(ReleaseCommand command);

    QLabel *m_title;
    BadgeLine *m_phase;
    QLabel *m_meta;
    QPushButton *m_pause;
    QPushButton *m_extend;
    QPushButton *m_abort;
    ColourCard *m_oldCard;
    ColourCard *m_newCard;
    QPushButton *m_switch;
    QPushButton *m_switchBack;
    QLabel *m_switchHint;
    TextLine *m_capacity;
    QLabel *m_retired;
    QLabel *m_reason;
    GateModel *m_gates;
    QWidget *m_gatesBox;
    QTableView *m_gateView;
    ReleaseEventModel *m_events;
    QTableView *m_eventView;
};

} // namespace sb
