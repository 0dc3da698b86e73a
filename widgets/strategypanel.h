#pragma once

#include "fleet.h"
#include "release.h"

#include <QPointer>
#include <QWidget>

class QLabel;
class QPushButton;
class QStackedWidget;

namespace sb {

class Clock;
class ReleaseController;

// What the canary, blue-green and rolling panels do alike: follow the controller's releases of
// the service on show, run an operator's command through the controller, and show its refusal
// inline, never in a modal.
class StrategyPanel : public QWidget
{
    Q_OBJECT
public:
    explicit StrategyPanel(Clock *clock, QWidget *parent = nullptr);

    void setController(ReleaseController *controller);
    // The service to show and what is observed of it now.
    void showService(const ServiceStatus &observed);
    // The refusal or failure of the last command, as shown; empty when none is.
    QString messageText() const;
    QPushButton *startButton() const { return m_start; }

Q_SIGNALS:
    // "Start…" on a service without a running release.
    void startRequested(const sb::ServiceKey &service);

protected:
    // Another controller: forget everything shown of the last one's releases.
    virtual void forgetShown() = 0;
    virtual void refresh() = 0;
    void runCommand(ReleaseCommand command, const QString &reason);
    // Subclasses place the label in their layout; it is hidden while empty.
    void showMessage(const QString &message);
    // Lays the panel out as two pages: before a release, what the strategy does and Start
    // (`startLabel`, `startTip`, or the generic Start Release…); then `releasePage`. Called
    // once, from the constructor.
    void setPages(QWidget *releasePage, const QString &startLabel = QString(),
                  const QString &startTip = QString());

    Clock *m_clock;
    QPointer<ReleaseController> m_controller;
    ServiceStatus m_observed;
    QLabel *m_message;
    // Page 0 says what the strategy does and offers Start; page 1 is the release.
    QStackedWidget *m_pages = nullptr;
    QLabel *m_emptyTitle = nullptr;
    QLabel *m_emptyText = nullptr;
    QPushButton *m_start = nullptr;
};

} // namespace sb
