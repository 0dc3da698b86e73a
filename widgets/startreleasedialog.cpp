#include "startreleasedialog.h"

#include "bluegreenengine.h"
#include "canaryengine.h"
#include "clock.h"
#include "releasecontroller.h"
#include "rollingengine.h"
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

#include <algorithm>

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
    setWindowTitle(tr("Start Release"));
    setAttribute(Qt::WA_DeleteOnClose);
    auto *layout = new QVBoxLayout(this);
    m_form = new QFormLayout;
    m_service = new QComboBox(this);
    for (const ServiceSpec &spec : session->workspace().services) {
        if (spec.strategy != Strategy::None)
            m_service->addItem(spec.key.id(), QVariant::fromValue(spec.key));
    }
    m_service->setCurrentIndex(std::max(0, m_service->findText(preselected.id())));
    m_form->addRow(tr("&Service:"), m_service);
    m_strategy = new QLabel(this);
    m_form->addRow(tr("Strategy:"), m_strategy);
    m_version = new QComboBox(this);
    m_version->setEditable(true);
    m_version->lineEdit()->setPlaceholderText(tr("the version to release, e.g. 2.4.0"));
    m_form->addRow(tr("&Version:"), m_version);
    m_plan = new QComboBox(this);
    for (const CanaryPlan &plan : session->workspace().plans)
        m_plan->addItem(tr("%1 (%2)").arg(plan.name, plan.origin), plan.name);
    m_form->addRow(tr("&Plan:"), m_plan);
    m_reason = new QLineEdit(this);
    m_reason->setPlaceholderText(tr("optional: a ticket or a sentence for the journal"));
    m_form->addRow(tr("&Reason:"), m_reason);
    layout->addLayout(m_form);

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
    // Without the canary's stages the texts sit under the form, not at the bottom.
    layout->addStretch();

    auto *buttons = new QDialogButtonBox(this);
    m_startButton = buttons->addButton(tr("Start Release"), QDialogButtonBox::AcceptRole);
    buttons->addButton(QDialogButtonBox::Cancel);
    connect(buttons, &QDialogButtonBox::accepted, this, &StartReleaseDialog::accept);
    connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
    layout->addWidget(buttons);

    connect(m_service, &QComboBox::currentIndexChanged, this, &StartReleaseDialog::serviceChosen);
    connect(m_version, &QComboBox::currentTextChanged, this, &StartReleaseDialog::update);
    connect(m_plan, &QComboBox::currentIndexChanged, this, &StartReleaseDialog::update);
    serviceChosen();
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
    // Room for a canary's stages; the other strategies need only their texts.
    const bool canary = spec && spec->strategy == Strategy::Canary;
    layout()->activate();
    resize(640, canary ? 520 : std::max(minimumSizeHint().height(), layout()->heightForWidth(640)));
}

void StartReleaseDialog::update()
{
    const ServiceKey key = chosenService();
    const ServiceSpec *spec = m_session->workspace().service(key);
    const Strategy strategy = spec ? spec->strategy : Strategy::None;
    m_form->setRowVisible(m_plan, strategy == Strategy::Canary);
    m_stages->setVisible(strategy == Strategy::Canary);
    m_stages->setRowCount(0);
    QString problem;
    const ServiceStatus *status = observed(key);
    switch (strategy) {
    case Strategy::Canary:
        m_strategy->setText(tr("canary: a share of traffic, stage by stage"));
        m_startButton->setText(tr("Start Canary"));
        problem = describeCanary(status);
        break;
    case Strategy::BlueGreen:
        m_strategy->setText(tr("blue-green: all traffic at once, the old colour kept warm"));
        m_startButton->setText(tr("Start Blue-Green Release"));
        problem = describeBlueGreen(*spec, status);
        break;
    case Strategy::Rolling:
        m_strategy->setText(tr("rolling: instances replaced a few at a time"));
        m_startButton->setText(tr("Start Rolling Release"));
        problem = describeRolling(*spec, status);
        break;
    case Strategy::None:
        m_strategy->clear();
        m_duration->clear();
        m_rollback->clear();
        problem = tr("This workspace has no service with a release strategy; set 'strategy' to "
                     "canary, blue-green or rolling for one.");
        break;
    }
    if (problem.isEmpty() && !status)
        problem = tr("%1 is not in this workspace.").arg(key.id());
    if (problem.isEmpty()) {
        if (const ReleaseController::Release *current = m_controller->release(key);
            current && !current->finished())
            problem = tr("%1 already has a release in progress (%2); finish or abort it first.")
                          .arg(key.id(), current->version());
    }
    m_problem->setText(problem);
    m_problem->setVisible(!problem.isEmpty());
    m_startButton->setEnabled(problem.isEmpty());
}

QString StartReleaseDialog::describeCanary(const ServiceStatus *status)
{
    const CanaryPlan *plan = m_session->workspace().plan(m_plan->currentData().toString());
    if (!plan) {
        m_duration->clear();
        m_rollback->clear();
        return tr("This workspace has no canary plan.");
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
    QString problem;
    QString stable;
    int replicas = 0;
    if (status) {
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
    const Duration detection = plan->worstCaseDetection();
    const auto judge
        = std::find_if(plan->gates.cbegin(), plan->gates.cend(),
                       [](const GateSpec &g) { return g.method == GateMethod::Sequential; });
    // A sequential gate has no fixed worst case: it acts as soon as its evidence suffices.
    const QString judgeText
        = judge == plan->gates.cend()
              ? QString()
              : tr("Gate %1 rolls back as soon as its evidence shows a regression, within seconds "
                   "for a large one; it blames a healthy canary in at most %2 of releases.")
                    .arg(judge->name, QStringLiteral("%1 %").arg(
                                          judge->sequential.settings.alpha * 100, 0, 'g', 3));
    QString rollback;
    if (detection > Duration(0)) {
        rollback = tr("<b>Worst case to roll back: %1</b> (the slowest threshold gate's failing "
                      "measurements).")
                       .arg(formatDuration(detection));
        if (!judgeText.isEmpty())
            rollback += QLatin1Char(' ') + judgeText;
    } else {
        rollback = QStringLiteral("<b>%1</b>").arg(judgeText);
    }
    if (stable.isEmpty())
        rollback += tr(" Then all traffic returns to the version serving now in one router call.");
    else
        rollback += tr(" Then all traffic returns to %1 in one router call. %1 keeps its %2 "
                       "instances until the release completes.")
                        .arg(stable)
                        .arg(replicas);
    m_rollback->setText(rollback);
    return problem;
}

QString StartReleaseDialog::describeBlueGreen(const ServiceSpec &spec, const ServiceStatus *status)
{
    const BlueGreenPlan &plan = spec.blueGreen;
    const QString typed = m_version->currentText().trimmed();
    QString problem;
    QString live = tr("the live colour");
    int replicas = 0;
    if (status) {
        const auto dryRun = bluegreen::start(plan, *status, typed, m_controller->operatorName(),
                                             QString(), m_session->clock()->now());
        if (dryRun) {
            live = dryRun.value().status.oldVersion;
            replicas = dryRun.value().status.replicas;
        } else {
            problem = dryRun.error();
        }
    }
    const QString next = typed.isEmpty() ? tr("the new version") : typed;
    QString what = replicas > 0 ? tr("<b>What happens:</b> %1 comes up beside %2 as the idle "
                                     "colour, %3 instances taking no production traffic")
                                      .arg(next, live)
                                      .arg(replicas)
                                : tr("<b>What happens:</b> %1 comes up beside %2 as the idle "
                                     "colour, at full size, taking no production traffic")
                                      .arg(next, live);
    if (!plan.preSwitchGates.isEmpty())
        what += tr("; its pre-switch gates (%1) check it on smoke traffic")
                    .arg(plan.preSwitchGates.join(QStringLiteral(", ")));
    what += plan.autoSwitch
                ? tr(". Then all traffic moves to it in one router call, as soon as it is ready "
                     "and its gates pass.")
                : tr(". Then all traffic moves to it in one router call when you press Switch.");
    if (replicas > 0)
        what += tr(" While both colours run the service uses %1 instances.").arg(2 * replicas);
    m_duration->setText(what);

    QString rollback
        = tr("<b>Roll back: switch back in seconds</b> until the warm window ends, "
             "%1 after the switch (Extend adds %2 at a time): all traffic returns "
             "to %3 in one router call.")
              .arg(formatDuration(plan.warmWindow), formatDuration(bluegreen::extendStep), live);
    if (!plan.postSwitchGates.isEmpty())
        rollback += tr(" Post-switch gates (%1) switch back by themselves when they fail.")
                        .arg(plan.postSwitchGates.join(QStringLiteral(", ")));
    rollback += tr(" After the window %1 is retired, and going back is a new deploy.").arg(live);
    m_rollback->setText(rollback);
    return problem;
}

QString StartReleaseDialog::describeRolling(const ServiceSpec &spec, const ServiceStatus *status)
{
    const RollingPlan &plan = spec.rolling;
    const QString typed = m_version->currentText().trimmed();
    QString problem;
    QString from = tr("the version serving now");
    int replicas = 0;
    if (status) {
        const auto dryRun = rolling::start(plan, *status, typed, m_controller->operatorName(),
                                           QString(), m_session->clock()->now());
        if (dryRun) {
            from = dryRun.value().status.fromVersion;
            replicas = dryRun.value().status.replicas;
        } else {
            problem = dryRun.error();
        }
    }
    const QString next = typed.isEmpty() ? tr("the new version") : typed;
    QString what;
    if (replicas > 0) {
        const ResolvedBudget budget = resolveBudget(plan, replicas);
        what = tr("<b>What happens:</b> the %1 instances of %2 are replaced by %3 a few at a "
                  "time: at most %4 extra running (max surge %5) and at most %6 fewer than %1 "
                  "ready (max unavailable %7).")
                   .arg(replicas)
                   .arg(from, next)
                   .arg(budget.surge)
                   .arg(plan.maxSurge.text())
                   .arg(budget.unavailable)
                   .arg(plan.maxUnavailable.text());
    } else {
        what = tr("<b>What happens:</b> the instances of %1 are replaced by %2 a few at a time, "
                  "within max surge %3 and max unavailable %4.")
                   .arg(from, next, plan.maxSurge.text(), plan.maxUnavailable.text());
    }
    what += tr(" If nothing progresses for %1 it pauses with an alert.")
                .arg(formatDuration(plan.progressDeadline));
    m_duration->setText(what);
    m_rollback->setText(tr("<b>Roll back: a rolling update back to %1</b>, under the same "
                           "budgets; it takes about as long as the release has taken so far. "
                           "Pause stops it where it is.")
                            .arg(from));
    return problem;
}

void StartReleaseDialog::accept()
{
    // Plans are for canaries; the other strategies take theirs from the workspace.
    const ServiceSpec *spec = m_session->workspace().service(chosenService());
    const QString plan
        = spec && spec->strategy == Strategy::Canary ? m_plan->currentData().toString() : QString();
    const Result<Done, QString> started
        = m_controller->start(chosenService(), m_version->currentText(), plan, m_reason->text());
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
