#include "rollbackrecentdialog.h"

#include "clock.h"
#include "theme.h"

#include <QDialogButtonBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QListWidget>
#include <QPushButton>
#include <QSpinBox>
#include <QVBoxLayout>

namespace sb {

namespace {
// Long enough to reach back past the start of most incidents' causes.
constexpr int defaultMinutes = 60;
} // namespace

RollbackRecentDialog::RollbackRecentDialog(ReleaseController *controller, Clock *clock,
                                           QWidget *parent)
    : QDialog(parent)
    , m_controller(controller)
    , m_clock(clock)
{
    setWindowTitle(tr("Roll Back Recent Releases"));
    setAttribute(Qt::WA_DeleteOnClose);
    auto *layout = new QVBoxLayout(this);

    auto *window = new QHBoxLayout;
    auto *windowLabel = new QLabel(tr("Roll back everything released in the last"), this);
    window->addWidget(windowLabel);
    m_minutes = new QSpinBox(this);
    m_minutes->setRange(1, 7 * 24 * 60);
    m_minutes->setValue(defaultMinutes);
    m_minutes->setSuffix(tr(" min"));
    m_minutes->setAccessibleName(tr("Minutes"));
    windowLabel->setBuddy(m_minutes);
    window->addWidget(m_minutes);
    window->addStretch();
    layout->addLayout(window);

    layout->addWidget(new QLabel(tr("This will, in this order:"), this));
    m_list = new QListWidget(this);
    m_list->setSelectionMode(QAbstractItemView::NoSelection);
    m_list->setFocusPolicy(Qt::NoFocus);
    m_list->setWordWrap(true);
    layout->addWidget(m_list, 1);
    m_empty = new QLabel(this);
    m_empty->setWordWrap(true);
    layout->addWidget(m_empty);

    auto *reasonLabel = new QLabel(tr("Reason (optional, kept in the journal):"), this);
    layout->addWidget(reasonLabel);
    m_reason = new QLineEdit(this);
    m_reason->setPlaceholderText(tr("e.g. INC-123: checkout errors since 14:02"));
    m_reason->setAccessibleName(tr("Reason"));
    reasonLabel->setBuddy(m_reason);
    layout->addWidget(m_reason);

    auto *buttons = new QDialogButtonBox(this);
    m_accept = buttons->addButton(tr("Roll Back"), QDialogButtonBox::AcceptRole);
    theme::markDestructive(m_accept);
    QPushButton *cancel = buttons->addButton(QDialogButtonBox::Cancel);
    // Several services at once: Enter alone must not do it.
    cancel->setDefault(true);
    m_accept->setAutoDefault(false);
    connect(buttons, &QDialogButtonBox::accepted, this, &QDialog::accept);
    connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
    layout->addWidget(buttons);

    connect(m_minutes, &QSpinBox::valueChanged, this, &RollbackRecentDialog::refresh);
    connect(m_controller, &ReleaseController::releaseChanged, this, &RollbackRecentDialog::refresh);
    setMinimumSize(560, 360);
    refresh();
}

int RollbackRecentDialog::minutes() const
{
    return m_minutes->value();
}

void RollbackRecentDialog::setMinutes(int minutes)
{
    m_minutes->setValue(minutes);
}

QString RollbackRecentDialog::reason() const
{
    return m_reason->text().trimmed();
}

void RollbackRecentDialog::refresh()
{
    const TimePoint since = m_clock->now() - std::chrono::minutes(m_minutes->value());
    m_options = m_controller->rollbacksSince(since);
    m_list->clear();
    for (const RollbackOption &option : std::as_const(m_options)) {
        auto *item = new QListWidgetItem(
            QStringLiteral("%1 (%2): %3")
                .arg(option.service.name, option.service.environment, option.label),
            m_list);
        item->setToolTip(option.detail);
    }
    m_list->setVisible(!m_options.isEmpty());
    m_empty->setVisible(m_options.isEmpty());
    m_empty->setText(tr("Nothing released in the last %1 min can be rolled back: releases "
                        "already rolled back, or still being rolled back, are left as they are.")
                         .arg(m_minutes->value()));
    m_accept->setEnabled(!m_options.isEmpty());
    m_accept->setText(m_options.size() == 1 ? tr("Roll Back 1 Release")
                                            : tr("Roll Back %1 Releases").arg(m_options.size()));
}

} // namespace sb
