#include "strategypanel.h"

#include "releasecontroller.h"
#include "releasepanel.h"
#include "tablestyle.h"
#include "theme.h"

#include <QHBoxLayout>
#include <QLabel>
#include <QPushButton>
#include <QStackedWidget>
#include <QVBoxLayout>

namespace sb {

StrategyPanel::StrategyPanel(Clock *clock, QWidget *parent)
    : QWidget(parent)
    , m_clock(clock)
    , m_message(new QLabel(this))
{
    m_message->setWordWrap(true);
    m_message->setTextFormat(Qt::PlainText);
    m_message->setTextInteractionFlags(Qt::TextSelectableByMouse);
    QPalette warn = m_message->palette();
    warn.setColor(QPalette::WindowText, theme::healthColor(Health::Critical, warn));
    m_message->setPalette(warn);
    m_message->hide();
}

void StrategyPanel::setController(ReleaseController *controller)
{
    if (m_controller)
        disconnect(m_controller, nullptr, this, nullptr);
    m_controller = controller;
    forgetShown();
    if (m_controller) {
        connect(m_controller, &ReleaseController::releaseChanged, this,
                [this](const ServiceKey &service) {
                    if (service == m_observed.key)
                        refresh();
                });
    }
    refresh();
}

void StrategyPanel::showService(const ServiceStatus &observed)
{
    if (observed.key != m_observed.key)
        showMessage(QString());
    m_observed = observed;
    refresh();
}

QString StrategyPanel::messageText() const
{
    return m_message->isVisible() ? m_message->text() : QString();
}

void StrategyPanel::runCommand(ReleaseCommand command, const QString &reason)
{
    if (!m_controller)
        return;
    const Result<Done, QString> done = m_controller->command(m_observed.key, command, reason);
    // The panel names the service already; its refusal need not.
    showMessage(done ? QString() : panelparts::sentence(done.error(), m_observed.key));
}

void StrategyPanel::setPages(QWidget *releasePage, const QString &startLabel,
                             const QString &startTip)
{
    auto *empty = new QWidget(this);
    auto *emptyLayout = new QVBoxLayout(empty);
    emptyLayout->setContentsMargins(4, 12, 4, 4);
    m_emptyTitle = sectionLabel(QString(), empty);
    emptyLayout->addWidget(m_emptyTitle);
    m_emptyText = new QLabel(empty);
    m_emptyText->setWordWrap(true);
    m_emptyText->setTextFormat(Qt::PlainText);
    emptyLayout->addWidget(m_emptyText);
    m_start = new QPushButton(startLabel.isEmpty() ? tr("Start Release…") : startLabel, empty);
    m_start->setToolTip(startTip.isEmpty()
                            ? tr("Choose a version, and see what will happen and how it is "
                                 "rolled back, before anything changes (Ctrl+Shift+N)")
                            : startTip);
    connect(m_start, &QPushButton::clicked, this,
            [this] { Q_EMIT startRequested(m_observed.key); });
    auto *row = new QHBoxLayout;
    row->addWidget(m_start);
    row->addStretch();
    emptyLayout->addSpacing(6);
    emptyLayout->addLayout(row);
    emptyLayout->addStretch();

    m_pages = new QStackedWidget(this);
    m_pages->addWidget(empty);
    m_pages->addWidget(releasePage);
    auto *layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addWidget(m_pages);
}

void StrategyPanel::showMessage(const QString &message)
{
    m_message->setText(message);
    m_message->setVisible(!message.isEmpty());
}

} // namespace sb
