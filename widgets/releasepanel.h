#pragma once

#include "fleet.h"

#include <QPointer>
#include <QWidget>

class QAction;
class QLabel;
class QPushButton;
class QSplitter;
class QStackedWidget;
class QTableView;
class QToolButton;

namespace sb {

class BlueGreenPanel;
class CanaryPanel;
class Clock;
class GateModel;
class ReleaseController;
class ReleaseEventModel;
class RollingPanel;

// The Release tab: the selected service's release in the panel of its strategy (canary,
// blue-green or rolling), or why a service without a strategy has none.
class ReleasePanel : public QWidget
{
    Q_OBJECT
public:
    explicit ReleasePanel(Clock *clock, QWidget *parent = nullptr);

    void setController(ReleaseController *controller);
    // The window's rollback, shown above every strategy's panel so it is never a tab away.
    void setRollbackAction(QAction *action);
    void showService(const ServiceStatus &observed);

    CanaryPanel *canaryPanel() const { return m_canary; }
    BlueGreenPanel *blueGreenPanel() const { return m_blueGreen; }
    RollingPanel *rollingPanel() const { return m_rolling; }
    // The strategy's panel on show, or the explanation for a service without one.
    QWidget *currentPanel() const;
    QString noStrategyText() const;

Q_SIGNALS:
    void startRequested(const sb::ServiceKey &service);

private:
    Strategy strategy() const;
    QWidget *panelFor(Strategy strategy) const;
    void choosePanel();
    void showNoStrategy();

    QPointer<ReleaseController> m_controller;
    ServiceStatus m_observed;
    QStackedWidget *m_pages;
    QToolButton *m_rollback;
    CanaryPanel *m_canary;
    BlueGreenPanel *m_blueGreen;
    RollingPanel *m_rolling;
    QWidget *m_noStrategy;
    QLabel *m_noStrategyTitle;
    QLabel *m_noStrategyText;
};

// What the blue-green and rolling panels build alike.
namespace panelparts {
// Gates with their verdicts as a coloured dot before the word.
QTableView *createGateView(GateModel *model, QWidget *parent);
// The "Events" section, the release's events newest first, added to `splitter`; the table.
QTableView *addEventsSection(ReleaseEventModel *model, QSplitter *splitter);
// The engine's sentence for the panel of `service`: without the "payments (production)" it may
// start with, which the panel shows already, and starting with a capital.
QString sentence(QString reason, const ServiceKey &service);
} // namespace panelparts

} // namespace sb
