#pragma once

#include "fleet.h"

#include <QDialog>

class QComboBox;
class QFormLayout;
class QLabel;
class QLineEdit;
class QPushButton;
class QTableWidget;

namespace sb {

class Clock;
struct ServiceSpec;
class ReleaseController;
class WorkspaceSession;

// Starts a release under the service's strategy: the service, the version, the plan for a
// canary (with its stages), a reason, and, before anyone clicks, what will happen and how the
// release is rolled back: a canary's duration and worst case to roll back, a blue-green's warm
// window in which switching back takes seconds, a rolling update's budgets and that going back
// is a rolling update too. The engine checks the choice as it is made, so a release it would
// refuse cannot be started and the reason shows in the dialog.
class StartReleaseDialog : public QDialog
{
    Q_OBJECT
public:
    StartReleaseDialog(ReleaseController *controller, const WorkspaceSession *session,
                       const ServiceKey &preselected, QWidget *parent = nullptr);

    QComboBox *serviceCombo() const { return m_service; }
    QComboBox *versionCombo() const { return m_version; }
    QComboBox *planCombo() const { return m_plan; }
    QLineEdit *reasonEdit() const { return m_reason; }
    QPushButton *startButton() const { return m_startButton; }
    QString durationText() const;
    QString rollbackText() const;
    QString problemText() const;
    ServiceKey chosenService() const;

    void accept() override;

private:
    void serviceChosen();
    void update();
    // Each describes what the release would do and returns the engine's refusal, if any.
    QString describeCanary(const ServiceStatus *status);
    QString describeBlueGreen(const ServiceSpec &spec, const ServiceStatus *status);
    QString describeRolling(const ServiceSpec &spec, const ServiceStatus *status);
    const ServiceStatus *observed(const ServiceKey &key) const;

    ReleaseController *m_controller;
    const WorkspaceSession *m_session;
    QFormLayout *m_form;
    QComboBox *m_service;
    QLabel *m_strategy;
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
