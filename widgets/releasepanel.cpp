#include "releasepanel.h"

#include "bluegreenpanel.h"
#include "canarypanel.h"
#include "gatemodel.h"
#include "releasecontroller.h"
#include "releaseeventmodel.h"
#include "rollingpanel.h"
#include "tablestyle.h"
#include "theme.h"

#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QPainter>
#include <QPushButton>
#include <QSplitter>
#include <QStackedWidget>
#include <QStyledItemDelegate>
#include <QTableView>
#include <QToolButton>
#include <QVBoxLayout>

namespace sb {

namespace {

// The verdict column: a coloured dot before the word, the word keeps it readable without colour.
class VerdictDelegate : public QStyledItemDelegate
{
public:
    using QStyledItemDelegate::QStyledItemDelegate;

    void paint(QPainter *painter, const QStyleOptionViewItem &option,
               const QModelIndex &index) const override
    {
        QStyleOptionViewItem opt = option;
        initStyleOption(&opt, index);
        const QVariant verdict = index.data(GateModel::VerdictRole);
        const QColor dot = verdict.isValid()
                               ? theme::verdictColor(Verdict(verdict.toInt()), opt.palette)
                               : opt.palette.color(QPalette::PlaceholderText);
        const QString text = opt.text;
        opt.text.clear();
        opt.widget->style()->drawControl(QStyle::CE_ItemViewItem, &opt, painter, opt.widget);
        painter->save();
        painter->setRenderHint(QPainter::Antialiasing);
        const int size = 9;
        const QRect r = opt.rect.adjusted(6, 0, 0, 0);
        painter->setPen(Qt::NoPen);
        painter->setBrush(dot);
        painter->drawEllipse(QRect(r.left(), r.center().y() - size / 2, size, size));
        painter->setPen(opt.palette.color(
            opt.state & QStyle::State_Selected ? QPalette::HighlightedText : QPalette::Text));
        QFont font = opt.font;
        font.setBold(verdict.isValid() && Verdict(verdict.toInt()) == Verdict::Fail);
        painter->setFont(font);
        painter->drawText(r.adjusted(size + 6, 0, 0, 0), Qt::AlignVCenter | Qt::AlignLeft, text);
        painter->restore();
    }
};

} // namespace

ReleasePanel::ReleasePanel(Clock *clock, QWidget *parent)
    : QWidget(parent)
    , m_canary(new CanaryPanel(clock, this))
    , m_blueGreen(new BlueGreenPanel(clock, this))
    , m_rolling(new RollingPanel(clock, this))
{
    auto *layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    m_rollback = new QToolButton(this);
    m_rollback->setObjectName(QStringLiteral("panelRollbackButton"));
    m_rollback->setToolButtonStyle(Qt::ToolButtonTextBesideIcon);
    theme::markDestructive(m_rollback);
    m_rollback->hide();
    auto *incident = new QHBoxLayout;
    incident->setContentsMargins(0, 6, 0, 0);
    incident->addStretch();
    incident->addWidget(m_rollback);
    layout->addLayout(incident);
    m_pages = new QStackedWidget(this);
    m_pages->addWidget(m_canary);
    m_pages->addWidget(m_blueGreen);
    m_pages->addWidget(m_rolling);

    m_noStrategy = new QWidget(this);
    auto *none = new QVBoxLayout(m_noStrategy);
    none->setContentsMargins(4, 12, 4, 4);
    m_noStrategyTitle = sectionLabel(QString(), m_noStrategy);
    none->addWidget(m_noStrategyTitle);
    m_noStrategyText = new QLabel(m_noStrategy);
    m_noStrategyText->setWordWrap(true);
    m_noStrategyText->setTextFormat(Qt::PlainText);
    none->addWidget(m_noStrategyText);
    none->addStretch();
    m_pages->addWidget(m_noStrategy);
    layout->addWidget(m_pages);

    connect(m_canary, &CanaryPanel::startRequested, this, &ReleasePanel::startRequested);
    connect(m_blueGreen, &BlueGreenPanel::startRequested, this, &ReleasePanel::startRequested);
    connect(m_rolling, &RollingPanel::startRequested, this, &ReleasePanel::startRequested);
}

void ReleasePanel::setRollbackAction(QAction *action)
{
    m_rollback->setDefaultAction(action);
    m_rollback->setVisible(action != nullptr);
}

void ReleasePanel::setController(ReleaseController *controller)
{
    if (m_controller)
        disconnect(m_controller, nullptr, this, nullptr);
    m_controller = controller;
    m_canary->setController(controller);
    m_blueGreen->setController(controller);
    m_rolling->setController(controller);
    if (m_controller) {
        // The panels refresh themselves; a release that starts may need another panel.
        connect(m_controller, &ReleaseController::releaseChanged, this,
                [this](const ServiceKey &service) {
                    if (service == m_observed.key && panelFor(strategy()) != currentPanel())
                        choosePanel();
                });
    }
    choosePanel();
}

void ReleasePanel::showService(const ServiceStatus &observed)
{
    m_observed = observed;
    choosePanel();
}

Strategy ReleasePanel::strategy() const
{
    // A release keeps the strategy it started with, even if a reload changed the service's.
    const ReleaseController::Release *release
        = m_controller ? m_controller->release(m_observed.key) : nullptr;
    return release ? release->strategy() : m_observed.strategy;
}

QWidget *ReleasePanel::panelFor(Strategy strategy) const
{
    switch (strategy) {
    case Strategy::Canary: return m_canary;
    case Strategy::BlueGreen: return m_blueGreen;
    case Strategy::Rolling: return m_rolling;
    case Strategy::None: break;
    }
    return m_noStrategy;
}

void ReleasePanel::choosePanel()
{
    QWidget *panel = panelFor(strategy());
    if (panel == m_canary)
        m_canary->showService(m_observed);
    else if (panel == m_blueGreen)
        m_blueGreen->showService(m_observed);
    else if (panel == m_rolling)
        m_rolling->showService(m_observed);
    else
        showNoStrategy();
    m_pages->setCurrentWidget(panel);
}

void ReleasePanel::showNoStrategy()
{
    const ServiceKey &key = m_observed.key;
    m_noStrategyTitle->setText(
        tr("%1 (%2) is not released from Signalbox").arg(key.name, key.environment));
    m_noStrategyText->setText(
        tr("Its strategy is none, so the console shows its fleet but starts no release of it. "
           "Set 'strategy' to canary, blue-green or rolling for it in the workspace "
           "(docs/workspace.md describes each) and reload with Ctrl+R."));
}

QWidget *ReleasePanel::currentPanel() const
{
    return m_pages->currentWidget();
}

QString ReleasePanel::noStrategyText() const
{
    return m_pages->currentWidget() == m_noStrategy ? m_noStrategyText->text() : QString();
}

namespace panelparts {

QTableView *createGateView(GateModel *model, QWidget *parent)
{
    auto *view = new QTableView(parent);
    configureTable(view);
    view->setModel(model);
    view->setItemDelegateForColumn(GateModel::VerdictColumn, new VerdictDelegate(view));
    view->horizontalHeader()->setStretchLastSection(true);
    view->setColumnWidth(GateModel::MetricColumn, 120);
    view->setColumnWidth(GateModel::CanaryColumn, 70);
    view->setColumnWidth(GateModel::BaselineColumn, 72);
    view->setColumnWidth(GateModel::BoundColumn, 150);
    view->setColumnWidth(GateModel::VerdictColumn, 118); // "Not measured" beside its dot
    view->setAccessibleName(QObject::tr("Gates"));
    return view;
}

QTableView *addEventsSection(ReleaseEventModel *model, QSplitter *splitter)
{
    auto *box = new QWidget(splitter);
    auto *layout = new QVBoxLayout(box);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addWidget(sectionLabel(QObject::tr("Events"), box));
    auto *view = new QTableView(box);
    configureTable(view);
    view->setModel(model);
    view->horizontalHeader()->setStretchLastSection(true);
    view->setColumnWidth(ReleaseEventModel::TimeColumn, 76);
    view->setColumnWidth(ReleaseEventModel::ActorColumn, 86);
    view->setColumnWidth(ReleaseEventModel::KindColumn, 110);
    view->setAccessibleName(QObject::tr("Release events"));
    layout->addWidget(view);
    splitter->addWidget(box);
    return view;
}

QString sentence(QString reason, const ServiceKey &service)
{
    const QString subject = QStringLiteral("%1 (%2)").arg(service.name, service.environment);
    if (reason.startsWith(subject)) {
        reason.remove(0, subject.size());
        if (reason.startsWith(QLatin1Char(':')))
            reason.remove(0, 1);
        reason = reason.trimmed();
    }
    if (!reason.isEmpty())
        reason[0] = reason[0].toUpper();
    return reason;
}

} // namespace panelparts

} // namespace sb
