#include "reasondialog.h"

#include "theme.h"

#include <QDialogButtonBox>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QVBoxLayout>

namespace sb {

ReasonDialog::ReasonDialog(const Request &request, QWidget *parent)
    : QDialog(parent)
{
    setWindowTitle(request.title);
    setAttribute(Qt::WA_DeleteOnClose);
    auto *layout = new QVBoxLayout(this);
    auto *text = new QLabel(request.text, this);
    text->setWordWrap(true);
    text->setTextFormat(Qt::PlainText);
    layout->addWidget(text);

    auto *label = new QLabel(request.reasonRequired ? tr("Reason (required, kept in the journal):")
                                                    : tr("Reason (optional, kept in the journal):"),
                             this);
    layout->addSpacing(6);
    layout->addWidget(label);
    m_reason = new QLineEdit(this);
    m_reason->setPlaceholderText(tr("e.g. dashboards green for 15 min, INC-123"));
    m_reason->setAccessibleName(tr("Reason"));
    label->setBuddy(m_reason);
    layout->addWidget(m_reason);

    auto *buttons = new QDialogButtonBox(this);
    m_accept = buttons->addButton(request.acceptLabel, QDialogButtonBox::AcceptRole);
    QPushButton *cancel = buttons->addButton(QDialogButtonBox::Cancel);
    if (request.destructive)
        theme::markDestructive(m_accept);
    // Cancel is the default for anything destructive, so Enter never aborts by accident.
    (request.destructive ? cancel : m_accept)->setDefault(true);
    m_accept->setAutoDefault(!request.destructive);
    connect(buttons, &QDialogButtonBox::accepted, this, &QDialog::accept);
    connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
    layout->addWidget(buttons);

    if (request.reasonRequired) {
        m_accept->setEnabled(false);
        connect(m_reason, &QLineEdit::textChanged, m_accept, [this](const QString &reason) {
            m_accept->setEnabled(!reason.trimmed().isEmpty());
        });
    }
    setMinimumWidth(460);
}

QString ReasonDialog::reason() const
{
    return m_reason->text().trimmed();
}

} // namespace sb
