#pragma once

#include "fleet.h"
#include "release.h"

#include <QPointer>
#include <QWidget>

class QLabel;

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

    Clock *m_clock;
    QPointer<ReleaseController> m_controller;
    ServiceStatus m_observed;
    QLabel *m_message;
};

} // namespace sb
