#include "startreleasedialog.h"

#include "canaryengine.h"
#include "clock.h"
#include "releasecontroller.h"
#include "theme.h"
#include "workspacesession.h"

#include <QComboBox>
#include <QDialogButtonBox>
#include <QFormLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QTableWidget>
#include <QVBoxLayout>

namespace sb {

namespace {

QString percentText(double percent)
{
    return QStringLiteral("%1 %").arg(percent, 0, 'g', 4);
}

} // namespace

StartReleaseDialog::StartReleaseDialog(ReleaseController *controller,
                                       const WorkspaceSession *session,
                                       const ServiceKey &preselected, QWidget *parent)
    : QDialog(parent)
    , m_controller(controller)
    , m_session(session)
{
    setWindowTitle(tr("Start Canary"));
    setAttribute(Qt::WA_DeleteOnClose);
    auto *layout = new QVBoxLayout(this);
    auto *form = new QFormLayout;
    m_service = new QComboBox(this);
    for (const ServiceSpec &spec : session->workspace().services) {
        if (spec.strategy == Strategy::Canary)
            m_service->addItem(spec.key.id(), QVariant::fromValue(spec.key));
    }
    m_service->setCurrentIndex(std::max(0, m_service->findText(preselected.id())));
    form->addRow(tr("&Service:"), m_service);
    m_version = new QComboBox(this);
    m_version->setEditable(true);
    m_version->lineEdit()->setPlaceholderText(tr("the version to release, e.g. 2.4.0"));
    form->addRow(tr("&Version:"), m_version);
    m_plan = new QComboBox(this);
    for (const CanaryPlan &plan : session->workspace().plans)
        m_plan->addItem(tr("%1 (%2)").arg(plan.name, plan.origin), plan.name);
    form->addRow(tr("&Plan:"), m_plan);
    m_reason = new QLineEdit(this);
    m_reason->setPlaceholderText(tr("optional: a ticket or a sentence for the journal"));
    form->addRow(tr("&Reason:"), m_reason);
    layout->addLayout(form);

    m_stages = new QTableWidget(0, 4, this);
    m_stages->setHorizontalHeaderLabels({tr("Weight"), tr("Bake"), tr("Gates"), tr("Approval")});
    m_stages->verticalHeader()->hide();
    m_stages->horizontalHeader()->setStretchLastSection(false);
    m_stages->horizontalHeader()->setSectionResizeMode(2, QHeaderView::Stretch);
    m_stages->setEditTriggers(QAbstractItemView::NoEditTriggers);
    m_stages->setSelectionMode(QAbstractItemView::NoSelection);
    m_stages->setFocusPolicy(Qt::NoFocus);
    m_stages->setShowGrid(false);
    m_stages->setAlternatingRowColors(true);
    m_stages->setAccessibleName(tr("Stages of the plan"));
    layout->addWidget(m_stages, 1);

    m_duration = new QLabel(this);
    m_duration->setWordWrap(true);
    layout->addWidget(m_duration);
    m_rollback = new QLabel(this);
    m_rollback->setWordWrap(true);
    layout->addWidget(m_rollback);
    m_problem = new QLabel(this);
    m_problem->setWordWrap(true);
    QPalette warn = m_problem->palette();
    warn.setColor(QPalette::WindowText, theme::healthColor(Health::Critical, palette()));
    m_problem->setPalette(warn);
    layout->addWidget(m_problem);

    auto *buttons = new QDialogButtonBox(this);
    m_startButton = buttons->addButton(tr("Start Canary"), QDialogButtonBox::AcceptRole);
    buttons->addButton(QDialogButtonBox::Cancel);
    connect(buttons, &QDialogButtonBox::accepted, this, &StartReleaseDialog::accept);
    connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
    layout->addWidget(buttons);

    connect(m_service, &QComboBox::currentIndexChanged, this, &StartReleaseDialog::serviceChosen);
    connect(m_version, &QComboBox::currentTextChanged, this, &StartReleaseDialog::update);
    connect(m_plan, &QComboBox::currentIndexChanged, this, &StartReleaseDialog::update);
    serviceChosen();
    resize(640, 520);
}

ServiceKey StartReleaseDialog::chosenService() const
{
    return m_service->currentData().value<ServiceKey>();
}

const ServiceStatus *StartReleaseDialog::observed(const ServiceKey &key) const
{
    for (const ServiceStatus &status : m_session->snapshot().services) {
        if (status.key == key)
            return &status;
    }
    return nullptr;
}

void StartReleaseDialog::serviceChosen()
{
    const ServiceKey key = chosenService();
    const ServiceSpec *spec = m_session->workspace().service(key);
    if (spec)
        m_plan->setCurrentIndex(std::max(0, m_plan->findData(spec->plan)));
    // Suggest the versions the fleet runs besides the one serving; any other can be typed.
    const QString typed = m_version->currentText();
    m_version->clear();
    if (const ServiceStatus *status = observed(key); status && status->fleet) {
        for (const QString &version : liveVersions(*status->fleet))
            m_version->addItem(version);
    }
    m_version->setEditText(typed);
    update();
}

void StartReleaseDialog::update()
{
    const ServiceKey key = chosenService();
    const CanaryPlan *plan = m_session->workspace().plan(m_plan->currentData().toString());
    m_stages->setRowCount(0);
    if (!plan) {
        m_startButton->setEnabled(false);
        m_problem->setText(tr("This workspace has no canary services."));
        return;
    }
    m_stages->setRowCount(int(plan->stages.size()));
    for (int i = 0; i < plan->stages.size(); ++i) {
        const CanaryStage &stage = plan->stage(i);
        const bool final = i == plan->finalStage();
        const QStringList cells{percentText(stage.weightPercent),
                                final ? tr("release completes") : formatDuration(stage.bake),
                                final ? QString() : stage.gates.join(QStringLiteral(", ")),
                                stage.approval ? tr("yes") : QString()};
        for (int c = 0; c < cells.size(); ++c)
            m_stages->setItem(i, c, new QTableWidgetItem(cells[c]));
    }
    m_stages->resizeColumnToContents(0);
    m_stages->resizeColumnToContents(1);

    QString duration = tr("<b>Takes at least %1</b>: %2 stages of bake")
                           .arg(formatDuration(plan->totalBake()))
                           .arg(plan->finalStage());
    if (plan->approvals() > 0)
        duration += tr(" and %n approval(s)", nullptr, plan->approvals());
    duration += tr(", plus each stage's instance start-up and first interval of metrics.");
    m_duration->setText(duration);

    // A dry run of the engine on what is observed now: the same check the start will make.
    const ServiceStatus *status = observed(key);
    QString problem;
    QString stable;
    int replicas = 0;
    if (!status) {
        problem = tr("%1 is not in this workspace.").arg(key.id());
    } else {
        const auto dryRun
            = canary::start(*plan, *status, m_version->currentText(), m_controller->operatorName(),
                            QString(), m_session->clock()->now());
        if (dryRun) {
            stable = dryRun.value().status.stableVersion;
            replicas = dryRun.value().status.replicas;
        } else {
            problem = dryRun.error();
        }
    }
    if (problem.isEmpty()) {
        if (const ReleaseController::Release *current = m_controller->release(key);
            current && !current->status.finished())
            problem = tr("%1 already has a release in progress (%2); finish or abort it first.")
                          .arg(key.id(), current->status.canaryVersion);
    }
    const Duration detection = plan->worstCaseDetection();
    m_rollback->setText(
        stable.isEmpty()
            ? tr("<b>Worst case to roll back: %1</b> to catch a regression, then one router call.")
                  .arg(formatDuration(detection))
            : tr("<b>Worst case to roll back: %1</b>. A regression is caught within that time "
                 "(the slowest gate's failing measurements), then all traffic returns to %2 in "
                 "one router call. %2 keeps its %3 instances until the release completes.")
                  .arg(formatDuration(detection), stable)
                  .arg(replicas));
    m_problem->setText(problem);
    m_problem->setVisible(!problem.isEmpty());
    m_startButton->setEnabled(problem.isEmpty());
}

void StartReleaseDialog::accept()
{
    const Result<Done, QString> started
        = m_controller->start(chosenService(), m_version->currentText(),
                              m_plan->currentData().toString(), m_reason->text());
    if (!started) {
        m_problem->setText(started.error());
        m_problem->show();
        return;
    }
    QDialog::accept();
}

QString StartReleaseDialog::durationText() const
{
    return m_duration->text();
}

QString StartReleaseDialog::rollbackText() const
{
    return m_rollback->text();
}

QString StartReleaseDialog::problemText() const
{
    return m_problem->isVisible() ? m_problem->text() : QString();
}

} // namespace sb
