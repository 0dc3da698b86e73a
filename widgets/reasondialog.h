#pragma once

#include <QDialog>

class QDialogButtonBox;
class QLabel;
class QLineEdit;
class QPushButton;

namespace sb {

// The confirmation before an operator action: what will happen, in the words of the service
// and versions concerned, a reason for the journal (required for promotions), and a button that
// names the action. Opened with open(), never exec(), so the console keeps running behind it.
class ReasonDialog : public QDialog
{
    Q_OBJECT
public:
    struct Request {
        QString title;       // "Promote checkout"
        QString text;        // what will happen
        QString acceptLabel; // "Promote to 25 %"
        bool reasonRequired = false;
        bool destructive = false;
    };

    ReasonDialog(const Request &request, QWidget *parent = nullptr);

    QString reason() const;
    QLineEdit *reasonEdit() const { return m_reason; }
    QPushButton *acceptButton() const { return m_accept; }

private:
    QLineEdit *m_reason;
    QPushButton *m_accept;
};

} // namespace sb
