#pragma once

#include "rollback.h"

#include <QDialog>

class QLabel;
class QLineEdit;
class QListWidget;
class QPushButton;
class QSpinBox;

namespace sb {

class Clock;
class ReleaseController;

// "Roll back everything released in the last N minutes", for an incident whose cause is not
// known yet: it lists, per service, what its rollback will do before anything is done, and
// lists it again whenever N changes or a release moves. Opened with open(); the caller runs the
// rollbacks on accepted().
class RollbackRecentDialog : public QDialog
{
    Q_OBJECT
public:
    RollbackRecentDialog(ReleaseController *controller, Clock *clock, QWidget *parent = nullptr);

    int minutes() const;
    void setMinutes(int minutes);
    // What the list shows now, in its order.
    const QList<RollbackOption> &options() const { return m_options; }
    QString reason() const;
    QPushButton *acceptButton() const { return m_accept; }
    QListWidget *list() const { return m_list; }

private:
    void refresh();

    ReleaseController *m_controller;
    Clock *m_clock;
    QList<RollbackOption> m_options;
    QSpinBox *m_minutes;
    QListWidget *m_list;
    QLabel *m_empty;
    QLineEdit *m_reason;
    QPushButton *m_accept;
};

} // namespace sb
