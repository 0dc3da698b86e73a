#pragma once

#include "fleet.h"

#include <QDialog>

class QComboBox;
class QLabel;
class QLineEdit;
class QPushButton;
class QTableWidget;

namespace sb {

class Clock;
class ReleaseController;
class WorkspaceSession;

// Starts a canary: the service, the version and the plan, with the plan's stages and, before
// anyone clicks, how long the release takes at least and the worst case to roll it back. The
// engine checks the choice as it is made, so a release it would refuse cannot be started and
// the reason shows in the dialog.
class StartReleaseDialog : public QDialog
{
    Q_OBJECT
public:
    StartReleaseDialog(ReleaseController *controller, const WorkspaceSession *session,
                       const ServiceKey &preselected, QWidget *parent = nullptr);

    QComboBox *serviceCombo() const { return m_service; }
    QComboBox *versionCombo() const { return m_version; }
    QComboBox *planCombo() const { return m_plan; }
    QPushButton *startButton() const { return m_startButton; }
    QString durationText() const;
    QString rollbackText() const;
    QString problemText() const;
    ServiceKey chosenService() const;

    void accept() override;

private:
    void serviceChosen();
    void update();
    const ServiceStatus *observed(const ServiceKey &key) const;

    ReleaseController *m_controller;
    const WorkspaceSession *m_session;
    QComboBox *m_service;
    QComboBox *m_version;
    QComboBox *m_plan;
    QLineEdit *m_reason;
    QTableWidget *m_stages;
    QLabel *m_duration;
    QLabel *m_rollback;
    QLabel *m_problem;
    QPushButton *m_startButton;
};

} // namespace sb
