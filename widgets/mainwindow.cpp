#include "mainwindow.h"

#include "badgeline.h"
#include "clock.h"
#include "consolesettings.h"
#include "fleetdelegates.h"
#include "instancegridview.h"
#include "instancemodel.h"
#include "journal.h"
#include "reasondialog.h"
#include "releasecontroller.h"
#include "releasepanel.h"
#include "rollback.h"
#include "rollbackrecentdialog.h"
#include "servicefilterproxy.h"
#include "servicelistmodel.h"
#include "startreleasedialog.h"
#include "tablestyle.h"
#include "textline.h"
#include "theme.h"
#include "timelinepanel.h"
#include "timelineview.h"
#include "versionmodel.h"
#include "workspacesession.h"

#include <QAbstractButton>
#include <QAction>
#include <QApplication>
#include <QCloseEvent>
#include <QComboBox>
#include <QFileDialog>
#include <QFileInfo>
#include <QFontDatabase>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QMenuBar>
#include <QMessageBox>
#include <QPushButton>
#include <QScrollArea>
#include <QSplitter>
#include <QStackedWidget>
#include <QStatusBar>
#include <QStyle>
#include <QTabWidget>
#include <QTableView>
#include <QTemporaryDir>
#include <QTimer>
#include <QToolBar>
#include <QToolButton>
#include <QVBoxLayout>

namespace sb {

namespace {

QString counted(int count, const QString &singular, const QString &plural)
{
    return QStringLiteral("%1 %2").arg(count).arg(count == 1 ? singular : plural);
}

QString canaryNote(const CanaryRun &run, const ServiceStatus &observed, TimePoint now)
{
    const QString weight
        = QStringLiteral("%1 %").arg(run.plan.stage(run.status.stage).weightPercent, 0, 'g', 4);
    switch (canary::phase(run.plan, run.status, observed, now)) {
    case CanaryPhase::Scaling:
    case CanaryPhase::Shifting:
    case CanaryPhase::Baking:
    case CanaryPhase::Completing: return weight;
    case CanaryPhase::Holding: return QObject::tr("%1 held").arg(weight);
    case CanaryPhase::Paused: return QObject::tr("paused");
    case CanaryPhase::Aborting: return QObject::tr("aborting");
    case CanaryPhase::Aborted: return QObject::tr("aborted");
    case CanaryPhase::Succeeded: return QObject::tr("done");
    }
    return {};
}

QString blueGreenNote(const BlueGreenRun &run, const ServiceStatus &observed, TimePoint now)
{
    switch (bluegreen::phase(run.plan, run.status, observed, now)) {
    // The versions have their own column; the note stays short enough not to be cut.
    case BlueGreenPhase::Deploying: return QObject::tr("deploying");
    case BlueGreenPhase::Verifying: return QObject::tr("verifying");
    case BlueGreenPhase::AwaitingSwitch: return QObject::tr("ready to switch");
    case BlueGreenPhase::Switching: return QObject::tr("switching");
    case BlueGreenPhase::Warm:
        // Minutes are enough in the list; the panel counts the seconds.
        if (const auto left = bluegreen::warmRemaining(run.plan, run.status, now))
            return QObject::tr("warm %1").arg(
                formatDuration(std::chrono::ceil<std::chrono::minutes>(*left)));
        return QObject::tr("warm");
    case BlueGreenPhase::Paused: return QObject::tr("paused");
    case BlueGreenPhase::SwitchingBack: return QObject::tr("switching back");
    case BlueGreenPhase::Retiring: return QObject::tr("retiring old");
    case BlueGreenPhase::Succeeded: return QObject::tr("done");
    case BlueGreenPhase::Undoing: return QObject::tr("undoing");
    case BlueGreenPhase::RolledBack:
        return run.status.switchedBack ? QObject::tr("switched back") : QObject::tr("aborted");
    }
    return {};
}

QString rollingNote(const RollingRun &run, const ServiceStatus &observed, TimePoint now)
{
    const RollingProgress progress = rolling::progress(run.plan, run.status, observed, now);
    const QString count = QStringLiteral("%1/%2").arg(progress.targetReady).arg(progress.replicas);
    switch (rolling::phase(run.plan, run.status)) {
    case RollingPhase::Progressing: return count;
    case RollingPhase::Paused: return QObject::tr("%1 paused").arg(count);
    case RollingPhase::Stalled: return QObject::tr("%1 stalled").arg(count);
    case RollingPhase::RollingBack: return QObject::tr("rolling back %1").arg(count);
    case RollingPhase::Succeeded: return QObject::tr("done");
    case RollingPhase::RolledBack: return QObject::tr("rolled back");
    }
    return {};
}

// The word on a service's release in the service list, after its strategy: where it stands while
// it runs ("5 %", "warm 24 min", "12/16"), or how it ended.
QString releaseNote(const ReleaseController::Release &release, const ServiceStatus *observed,
                    TimePoint now)
{
    static const ServiceStatus unobserved;
    const ServiceStatus &seen = observed ? *observed : unobserved;
    if (const CanaryRun *run = release.canary())
        return canaryNote(*run, seen, now);
    if (const BlueGreenRun *run = release.blueGreen())
        return blueGreenNote(*run, seen, now);
    return rollingNote(*release.rolling(), seen, now);
}

QString percent(double ratio)
{
    return QStringLiteral("%1 %").arg(100.0 * ratio, 0, 'f', ratio < 0.1 ? 2 : 1);
}

} // namespace

MainWindow::MainWindow(const AdapterRegistry &registry, Clock *clock, QWidget *parent)
    : QMainWindow(parent)
    , m_registry(registry)
    , m_clock(clock)
    , m_serviceModel(new ServiceListModel(this))
    , m_serviceProxy(new ServiceFilterProxy(this))
    , m_versionModel(new VersionModel(this))
    , m_instanceModel(new InstanceModel(this))
{
    setWindowTitle(tr("Signalbox"));
    setWindowIcon(QIcon(QStringLiteral(":/icons/signalbox.svg")));
    m_serviceProxy->setSourceModel(m_serviceModel);

    m_splitter = new QSplitter(Qt::Horizontal, this);
    m_splitter->addWidget(buildServicePane());
    m_detailStack = new QStackedWidget(m_splitter);
    m_detailStack->addWidget(buildDetailPane());
    m_detailStack->addWidget(buildErrorPage());
    m_splitter->addWidget(m_detailStack);
    m_splitter->setSizes({728, 712});
    m_splitter->setChildrenCollapsible(false);
    m_splitter->installEventFilter(this);
    // The timeline spans every service, so it takes the whole window rather than a detail tab.
    m_mainTabs = new QTabWidget(this);
    m_mainTabs->setDocumentMode(true);
    m_mainTabs->addTab(m_splitter, tr("Services"));
    m_timeline = new TimelinePanel(m_mainTabs);
    m_timeline->setClock(m_clock);
    m_mainTabs->addTab(m_timeline, tr("Timeline"));
    setCentralWidget(m_mainTabs);

    m_workspaceLabel = new QLabel(this);
    statusBar()->addWidget(m_workspaceLabel);
    m_adapterStatus = new QWidget(this);
    m_adapterLayout = new QHBoxLayout(m_adapterStatus);
    m_adapterLayout->setContentsMargins(0, 0, 0, 0);
    m_adapterLayout->setSpacing(12);
    statusBar()->addPermanentWidget(m_adapterStatus);
    m_clockLabel = new TextLine(this);
    m_clockLabel->setWidthFromSample(tr("Simulated %1").arg(formatUtc(TimePoint())));
    m_clockLabel->setToolTip(
        tr("The console's clock. In a simulated workspace it is simulated time."));
    statusBar()->addPermanentWidget(m_clockLabel);

    buildMenus();
    // The rollback sits where an incident's first glance lands, whatever tab is open.
    QToolBar *incident = addToolBar(tr("Incident"));
    incident->setObjectName(QStringLiteral("incidentToolBar"));
    incident->setMovable(false);
    incident->setToolButtonStyle(Qt::ToolButtonTextBesideIcon);
    m_rollbackAction->setIcon(style()->standardIcon(QStyle::SP_ArrowBack));
    // Which service the button acts on, since the toolbar stays put while the pages change.
    m_rollbackTarget = new QLabel(incident);
    m_rollbackTarget->setContentsMargins(8, 0, 4, 0);
    incident->addWidget(m_rollbackTarget);
    m_rollbackButton = new QToolButton(incident);
    m_rollbackButton->setDefaultAction(m_rollbackAction);
    m_rollbackButton->setObjectName(QStringLiteral("rollbackButton"));
    m_rollbackButton->setToolButtonStyle(Qt::ToolButtonTextBesideIcon);
    QFont strong = m_rollbackButton->font();
    strong.setBold(true);
    m_rollbackButton->setFont(strong);
    theme::markDestructive(m_rollbackButton);
    incident->addWidget(m_rollbackButton);
    incident->addSeparator();
    incident->addAction(m_rollbackRecentAction);
    m_releasePanel->setRollbackAction(m_rollbackAction);
    updateRollback();
    resize(1440, 900);
}

MainWindow::~MainWindow() = default;

void MainWindow::buildMenus()
{
    QMenu *file = menuBar()->addMenu(tr("&File"));
    QAction *open = file->addAction(tr("&Open Workspace…"), this, &MainWindow::chooseWorkspace);
    open->setShortcut(QKeySequence::Open);
    QAction *reloadAction = file->addAction(tr("&Reload Workspace"), this, &MainWindow::reload);
    reloadAction->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_R));
    file->addSeparator();
    QAction *quit = file->addAction(tr("&Quit"), this, &QWidget::close);
    quit->setShortcut(QKeySequence::Quit);

    QMenu *view = menuBar()->addMenu(tr("&View"));
    QAction *find = view->addAction(tr("&Filter Services"), this, [this] {
        m_filterEdit->setFocus();
        m_filterEdit->selectAll();
    });
    find->setShortcut(QKeySequence::Find);
    QAction *attention
        = view->addAction(tr("Only Services Needing &Attention"), this, [this](bool on) {
              m_healthCombo->setCurrentIndex(
                  m_healthCombo->findData(int(on ? ServiceFilterProxy::HealthFilter::NeedsAttention
                                                 : ServiceFilterProxy::HealthFilter::All)));
          });
    attention->setCheckable(true);
    attention->setShortcut(QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_A));
    connect(m_healthCombo, &QComboBox::currentIndexChanged, attention, [this, attention] {
        attention->setChecked(m_healthCombo->currentData().toInt()
                              == int(ServiceFilterProxy::HealthFilter::NeedsAttention));
    });
    view->addSeparator();
    view->addAction(tr("Go to &Services"), QKeySequence(Qt::CTRL | Qt::Key_1), this, [this] {
        m_mainTabs->setCurrentWidget(m_splitter);
        m_serviceView->setFocus();
    });
    view->addAction(tr("Go to &Versions"), QKeySequence(Qt::CTRL | Qt::Key_2), this, [this] {
        m_mainTabs->setCurrentWidget(m_splitter);
        m_versionView->setFocus();
    });
    view->addAction(tr("Go to &Instances"), QKeySequence(Qt::CTRL | Qt::Key_3), this, [this] {
        m_mainTabs->setCurrentWidget(m_splitter);
        m_instanceGrid->setFocus();
    });
    view->addAction(tr("&Timeline"), QKeySequence(Qt::CTRL | Qt::Key_5), this,
                    [this] { showTimeline(); });
    view->addAction(tr("Timeline of the Selected Service"),
                    QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_5), this, [this] {
                        if (const std::optional<ServiceKey> service = selectedService())
                            m_timeline->focusService(*service);
                        showTimeline();
                    });

    QMenu *release = menuBar()->addMenu(tr("&Release"));
    release->addAction(tr("Start &Release…"), QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_N), this,
                       [this] { openStartRelease(); });
    release->addSeparator();
    m_rollbackAction = release->addAction(tr("Roll &Back"), this, &MainWindow::confirmRollback);
    m_rollbackAction->setShortcut(QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_B));
    m_rollbackRecentAction = release->addAction(tr("Roll Back &Recent Releases…"), this,
                                                &MainWindow::openRollbackRecent);
    m_rollbackRecentAction->setToolTip(
        tr("Roll back everything released in the last minutes, for an incident whose cause is "
           "not known yet; lists what it will do first"));
    release->addSeparator();
    release->addAction(tr("Show Release &Panel"), QKeySequence(Qt::CTRL | Qt::Key_4), this, [this] {
        m_mainTabs->setCurrentWidget(m_splitter);
        m_detailTabs->setCurrentWidget(m_releasePanel);
        m_releasePanel->setFocus();
    });

    QMenu *help = menuBar()->addMenu(tr("&Help"));
    help->addAction(tr("&About Signalbox"), this, [this] {
        QMessageBox::about(this, tr("About Signalbox"),
                           tr("<b>Signalbox %1</b><p>A control console for zero-downtime releases: "
                              "fleets per version, canaries, blue-green, rolling updates and "
                              "rollback.</p>")
                               .arg(QStringLiteral(SIGNALBOX_VERSION)));
    });
}

QWidget *MainWindow::buildServicePane()
{
    auto *pane = new QWidget(this);
    auto *layout = new QVBoxLayout(pane);
    layout->setContentsMargins(10, 10, 6, 6);
    auto *heading = new QHBoxLayout;
    heading->addWidget(sectionLabel(tr("Services"), pane));
    m_healthTally = new BadgeLine(Qt::AlignRight, pane);
    heading->addWidget(m_healthTally, 1);
    layout->addLayout(heading);

    auto *filters = new QHBoxLayout;
    m_filterEdit = new QLineEdit(pane);
    m_filterEdit->setObjectName(QStringLiteral("serviceFilter"));
    m_filterEdit->setPlaceholderText(tr("Filter by name (Ctrl+F)"));
    m_filterEdit->setClearButtonEnabled(true);
    m_filterEdit->setAccessibleName(tr("Filter services by name"));
    connect(m_filterEdit, &QLineEdit::textChanged, m_serviceProxy,
            &ServiceFilterProxy::setNameFilter);
    filters->addWidget(m_filterEdit, 3);

    m_environmentCombo = new QComboBox(pane);
    m_environmentCombo->setAccessibleName(tr("Filter services by environment"));
    m_environmentCombo->addItem(tr("All environments"), QString());
    connect(m_environmentCombo, &QComboBox::currentIndexChanged, this, [this] {
        m_serviceProxy->setEnvironmentFilter(m_environmentCombo->currentData().toString());
    });
    filters->addWidget(m_environmentCombo, 2);

    m_healthCombo = new QComboBox(pane);
    m_healthCombo->setAccessibleName(tr("Filter services by health"));
    using HF = ServiceFilterProxy::HealthFilter;
    const std::pair<QString, HF> healthChoices[] = {
        {tr("Any health"), HF::All},    {tr("Needs attention"), HF::NeedsAttention},
        {tr("Healthy"), HF::Healthy},   {tr("Degraded"), HF::Degraded},
        {tr("Critical"), HF::Critical}, {tr("Unknown"), HF::Unknown},
    };
    for (const auto &[label, filter] : healthChoices)
        m_healthCombo->addItem(label, int(filter));
    connect(m_healthCombo, &QComboBox::currentIndexChanged, this,
            [this] { m_serviceProxy->setHealthFilter(HF(m_healthCombo->currentData().toInt())); });
    filters->addWidget(m_healthCombo, 2);
    layout->addLayout(filters);

    m_serviceView = new QTableView(pane);
    m_serviceView->setAccessibleName(tr("Services"));
    configureTable(m_serviceView);
    m_serviceView->setModel(m_serviceProxy);
    m_serviceView->setItemDelegate(new ServiceListDelegate(m_serviceView));
    m_serviceView->setSortingEnabled(true);
    // Workspace order until the user picks a column: it is the order the team wrote down.
    m_serviceView->horizontalHeader()->setSortIndicator(-1, Qt::AscendingOrder);
    m_serviceProxy->sort(-1);
    m_serviceView->horizontalHeader()->setStretchLastSection(true);
    connect(m_serviceView->selectionModel(), &QItemSelectionModel::currentRowChanged, this,
            &MainWindow::showSelected);
    layout->addWidget(m_serviceView, 1);

    setTabOrder(m_filterEdit, m_environmentCombo);
    setTabOrder(m_environmentCombo, m_healthCombo);
    setTabOrder(m_healthCombo, m_serviceView);
    return pane;
}

QWidget *MainWindow::buildDetailPane()
{
    auto *pane = new QWidget(this);
    auto *layout = new QVBoxLayout(pane);
    layout->setContentsMargins(12, 10, 10, 6);
    layout->setSpacing(6);

    m_titleLabel = new QLabel(pane);
    QFont titleFont = m_titleLabel->font();
    titleFont.setPointSizeF(titleFont.pointSizeF() * 1.6);
    titleFont.setBold(true);
    m_titleLabel->setFont(titleFont);
    m_titleLabel->setTextInteractionFlags(Qt::TextSelectableByMouse);
    layout->addWidget(m_titleLabel);

    m_badges = new BadgeLine(Qt::AlignLeft, pane);
    layout->addWidget(m_badges);
    m_summaryLabel = new TextLine(pane);
    layout->addWidget(m_summaryLabel);

    m_reloadBanner = new QLabel(pane);
    m_reloadBanner->setWordWrap(true);
    m_reloadBanner->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_reloadBanner->setAutoFillBackground(true);
    m_reloadBanner->setMargin(8);
    m_reloadBanner->hide();
    layout->addWidget(m_reloadBanner);

    m_journalBanner = new QLabel(pane);
    m_journalBanner->setWordWrap(true);
    m_journalBanner->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_journalBanner->setAutoFillBackground(true);
    m_journalBanner->setMargin(8);
    m_journalBanner->hide();
    layout->addWidget(m_journalBanner);

    m_detailTabs = new QTabWidget(pane);
    m_detailTabs->setDocumentMode(true);
    m_detailTabs->addTab(buildFleetTab(), tr("Fleet"));
    m_releasePanel = new ReleasePanel(m_clock, m_detailTabs);
    m_detailTabs->addTab(m_releasePanel, tr("Release"));
    connect(m_releasePanel, &ReleasePanel::startRequested, this,
            [this](const ServiceKey &service) { openStartRelease(service); });
    layout->addWidget(m_detailTabs, 1);
    return pane;
}

QWidget *MainWindow::buildFleetTab()
{
    auto *pane = new QWidget(this);
    auto *layout = new QVBoxLayout(pane);
    layout->setContentsMargins(0, 4, 0, 0);
    layout->setSpacing(6);
    layout->addWidget(sectionLabel(tr("Versions"), pane));
    m_versionView = new QTableView(pane);
    m_versionView->setAccessibleName(tr("Versions of the selected service"));
    configureTable(m_versionView);
    m_versionView->setModel(m_versionModel);
    m_versionView->setItemDelegate(new VersionDelegate(m_versionView));
    m_versionView->horizontalHeader()->setSectionResizeMode(QHeaderView::Stretch);
    m_versionView->setVerticalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
    m_versionView->setSizePolicy(QSizePolicy::Expanding, QSizePolicy::Fixed);
    // Tall enough for every version without scrolling; a service rarely runs more than three.
    auto fitVersions = [this] {
        const int rows = std::max(1, m_versionModel->rowCount());
        m_versionView->setFixedHeight(m_versionView->horizontalHeader()->sizeHint().height()
                                      + rows * tableRowHeight + 2 * m_versionView->frameWidth());
    };
    connect(m_versionModel, &QAbstractItemModel::rowsInserted, this, fitVersions);
    connect(m_versionModel, &QAbstractItemModel::rowsRemoved, this, fitVersions);
    connect(m_versionModel, &QAbstractItemModel::modelReset, this, fitVersions);
    fitVersions();
    layout->addWidget(m_versionView);

    layout->addSpacing(6);
    layout->addWidget(sectionLabel(tr("Instances"), pane));
    m_instanceGrid = new InstanceGridView(pane);
    m_instanceGrid->setModel(m_instanceModel);
    auto *scroll = new QScrollArea(pane);
    scroll->setWidget(m_instanceGrid);
    scroll->setWidgetResizable(true);
    scroll->setFrameShape(QFrame::NoFrame);
    layout->addWidget(scroll, 1);
    connect(m_instanceGrid, &InstanceGridView::currentInstanceChanged, this,
            [this](const QString &text) { statusBar()->showMessage(text); });

    setTabOrder(m_serviceView, m_versionView);
    setTabOrder(m_versionView, m_instanceGrid);
    return pane;
}

QWidget *MainWindow::buildErrorPage()
{
    auto *page = new QWidget(this);
    auto *layout = new QVBoxLayout(page);
    layout->setContentsMargins(24, 24, 24, 24);
    auto *top = new QHBoxLayout;
    auto *icon = new QLabel(page);
    icon->setPixmap(style()->standardIcon(QStyle::SP_MessageBoxCritical).pixmap(40, 40));
    top->addWidget(icon, 0, Qt::AlignTop);
    m_errorTitle = new QLabel(tr("This workspace could not be loaded"), page);
    QFont font = m_errorTitle->font();
    font.setBold(true);
    font.setPointSizeF(font.pointSizeF() * 1.3);
    m_errorTitle->setFont(font);
    top->addWidget(m_errorTitle, 1);
    layout->addLayout(top);

    m_errorText = new QLabel(page);
    m_errorText->setFont(QFontDatabase::systemFont(QFontDatabase::FixedFont));
    m_errorText->setWordWrap(true);
    m_errorText->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_errorText->setAccessibleName(tr("Workspace error"));
    layout->addWidget(m_errorText);
    m_errorExcerpt = new QLabel(page);
    m_errorExcerpt->setFont(QFontDatabase::systemFont(QFontDatabase::FixedFont));
    m_errorExcerpt->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_errorExcerpt->setAutoFillBackground(true);
    m_errorExcerpt->setBackgroundRole(QPalette::Base);
    m_errorExcerpt->setMargin(8);
    layout->addWidget(m_errorExcerpt);

    auto *hint = new QLabel(tr("Nothing from this file was applied. Fix the line named above and "
                               "reload with Ctrl+R, or open another workspace with Ctrl+O. "
                               "The format is described in docs/workspace.md."),
                            page);
    hint->setWordWrap(true);
    layout->addWidget(hint);
    layout->addStretch(1);
    return page;
}

std::optional<Diagnostic> MainWindow::openWorkspace(const QString &path)
{
    auto opened = WorkspaceSession::open(path, m_registry, m_clock);
    if (!opened) {
        const Diagnostic &problem = opened.error();
        if (m_session) {
            // Keep the working console; say what is wrong with the new file above it.
            m_reloadBanner->setText(tr("<b>Reload failed, still showing the last good "
                                       "workspace.</b><br>%1")
                                        .arg(problem.toString().toHtmlEscaped()));
            QPalette pal = m_reloadBanner->palette();
            pal.setColor(QPalette::Window,
                         theme::tint(theme::healthColor(Health::Critical, pal), pal, 0.2));
            m_reloadBanner->setPalette(pal);
            m_reloadBanner->show();
        } else {
            m_workspacePath = path;
            m_errorText->setText(problem.toString());
            const QString excerpt = sourceExcerpt(problem);
            m_errorExcerpt->setText(excerpt);
            m_errorExcerpt->setVisible(!excerpt.isEmpty());
            m_detailStack->setCurrentIndex(1);
            m_workspaceLabel->setText(tr("No workspace loaded"));
        }
        return problem;
    }

    if (m_session)
        saveSettings();
    m_releasePanel->setController(nullptr);
    m_releases.reset();
    m_timeline->setJournal(nullptr);
    // Its destructor waits for the last writes of the controller just gone.
    m_journal.reset();
    m_session = std::move(opened).value();
    const Workspace &opening = m_session->workspace();
    const QString operatorName = !m_operatorOverride.isEmpty()     ? m_operatorOverride
                                 : !opening.operatorName.isEmpty() ? opening.operatorName
                                                                   : ReleaseController::osUser();
    m_releases = std::make_unique<ReleaseController>(m_session.get(), operatorName);
    m_releasePanel->setController(m_releases.get());
    openJournal(opening);
    connect(m_releases.get(), &ReleaseController::releaseChanged, this,
            &MainWindow::updateReleaseNote);
    connect(m_releases.get(), &ReleaseController::releaseChanged, this,
            &MainWindow::updateRollback);
    connect(
        m_releases.get(), &ReleaseController::scheduledReleaseRefused, this,
        [this](const ServiceKey &service, const QString &reason) {
            statusBar()->showMessage(
                tr("The workspace's release of %1 did not start: %2").arg(service.id(), reason));
        });
    m_shownService.reset();
    m_workspacePath = path;
    m_reloadBanner->hide();
    m_detailStack->setCurrentIndex(0);

    const Workspace &workspace = m_session->workspace();
    setWindowTitle(tr("%1 — Signalbox").arg(workspace.name));
    m_workspaceLabel->setText(QStringLiteral("%1 · %2").arg(
        workspace.name, counted(int(workspace.services.size()), tr("service"), tr("services"))));
    m_workspaceLabel->setToolTip(workspace.file);

    const QSignalBlocker blocker(m_environmentCombo);
    while (m_environmentCombo->count() > 1)
        m_environmentCombo->removeItem(1);
    for (const QString &environment : workspace.environments)
        m_environmentCombo->addItem(environment, environment);
    m_environmentCombo->setCurrentIndex(0);
    m_serviceProxy->setEnvironmentFilter(QString());

    if (m_remembersState)
        m_pendingSelection = ConsoleSettings::load(workspace.file).lastService;

    rebuildAdapterStatus();
    connect(m_session.get(), &WorkspaceSession::snapshotChanged, this, [this] {
        applySnapshot(m_session->snapshot());
        // Counts and countdowns move with the fleet and the clock, not only with the release.
        for (const ServiceKey &service : m_releases->activeServices())
            updateReleaseNote(service);
        updateRollback();
    });
    m_session->start();
    m_releases->startScheduled();
    applySnapshot(m_session->snapshot());
    m_serviceView->setFocus();
    return std::nullopt;
}

void MainWindow::openJournal(const Workspace &workspace)
{
    const QString path
        = !m_journalOverride.isEmpty() ? m_journalOverride : defaultJournalPath(workspace);
    m_journalBanner->hide();
    if (path.isEmpty())
        return;
    // On a virtual clock (screenshots, tests) the journal keeps step with simulated time.
    m_journal = std::make_unique<Journal>(path, nullptr,
                                          dynamic_cast<VirtualClock *>(m_clock)
                                              ? Journal::Threading::CallersThread
                                              : Journal::Threading::OwnThread);
    m_releases->setJournal(m_journal.get());
    m_timeline->setJournal(m_journal.get());
    connect(m_journal.get(), &Journal::opened, this,
            [this](const JournalCheck &check, const QList<ReleaseRecord> &saved) {
                QStringList problems;
                if (!check.intact())
                    problems.append(tr("<b>The journal has been altered.</b> %1. Entries from "
                                       "there on cannot be trusted; keep the file for "
                                       "investigation. New entries are still recorded.")
                                        .arg(check.problem.toHtmlEscaped()));
                QList<ServiceKey> takenUp;
                for (const QString &problem : m_releases->restore(saved, &takenUp))
                    problems.append(problem.toHtmlEscaped());
                // Written out for one and for several: without a translation loaded, %n's
                // plural form reads "1 release(s) ... are back".
                if (takenUp.size() == 1)
                    statusBar()->showMessage(
                        tr("A release in flight when the console stopped is back, paused; "
                           "resume it once you have checked it."));
                else if (takenUp.size() > 1)
                    statusBar()->showMessage(
                        tr("%1 releases in flight when the console stopped are back, paused; "
                           "resume each once you have checked it.")
                            .arg(takenUp.size()));
                if (!problems.isEmpty())
                    showJournalWarning(problems.join(QStringLiteral("<br>")));
            });
    connect(m_journal.get(), &Journal::openFailed, this, [this](const QString &error) {
        showJournalWarning(tr("<b>The journal could not be opened</b>, so no release action "
                              "can run (each waits for its record): %1")
                               .arg(error.toHtmlEscaped()));
    });
    connect(m_releases.get(), &ReleaseController::journalFailed, this,
            [this](const QString &error) {
                showJournalWarning(tr("<b>The journal could not be written</b>; release "
                                      "actions wait until it can: %1")
                                       .arg(error.toHtmlEscaped()));
            });
}

QString MainWindow::defaultJournalPath(const Workspace &workspace)
{
    // Screenshots and benchmarks leave nothing behind, unless the workspace names its journal.
    const QString kept
        = !workspace.journal.isEmpty() || m_remembersState ? workspace.journalPath() : QString();
    if (!kept.isEmpty())
        return kept;
    m_scratch = std::make_unique<QTemporaryDir>();
    return m_scratch->isValid() ? m_scratch->filePath(QStringLiteral("journal.sqlite")) : QString();
}

void MainWindow::showJournalWarning(const QString &html)
{
    m_journalBanner->setText(html);
    QPalette pal = m_journalBanner->palette();
    pal.setColor(QPalette::Window,
                 theme::tint(theme::healthColor(Health::Critical, pal), pal, 0.2));
    m_journalBanner->setPalette(pal);
    m_journalBanner->show();
}

QString MainWindow::journalWarning() const
{
    return m_journalBanner->isHidden() ? QString() : m_journalBanner->text();
}

void MainWindow::showTimeline()
{
    m_mainTabs->setCurrentWidget(m_timeline);
    m_timeline->view()->setFocus();
}

void MainWindow::updateRollback()
{
    const std::optional<ServiceKey> service = selectedService();
    m_rollbackTarget->setText(service ? tr("%1 (%2):").arg(service->name, service->environment)
                                      : QString());
    if (!m_releases || !service) {
        m_rollbackAction->setText(tr("Roll Back"));
        m_rollbackAction->setEnabled(false);
        m_rollbackAction->setToolTip(tr("Select a service to roll back"));
        return;
    }
    const RollbackOption option = m_releases->rollbackOption(*service);
    m_rollbackAction->setText(option.label);
    m_rollbackAction->setEnabled(option.available());
    m_rollbackAction->setToolTip(
        option.available()
            ? tr("%1 (%2): %3").arg(service->name, service->environment, option.detail)
            : tr("%1 (%2): %3").arg(service->name, service->environment, option.why));
}

void MainWindow::confirmRollback()
{
    const std::optional<ServiceKey> service = selectedService();
    if (!m_releases || !service)
        return;
    const RollbackOption option = m_releases->rollbackOption(*service);
    if (!option.available()) {
        statusBar()->showMessage(option.why);
        return;
    }
    // Not marked destructive: in an incident Enter confirms, and a rollback only reduces risk.
    auto *dialog = new ReasonDialog(
        {tr("Roll back %1 (%2)").arg(service->name, service->environment),
         tr("%1\n\nExpected recovery: %2.").arg(option.detail, estimateText(option.estimate)),
         option.label, false, false},
        this);
    dialog->setObjectName(QStringLiteral("rollbackDialog"));
    connect(dialog, &QDialog::accepted, this, [this, dialog, key = *service] {
        const Result<Done, QString> done = m_releases->rollBack(key, dialog->reason());
        if (!done) {
            QMessageBox::warning(this, tr("Rollback refused"), done.error());
            return;
        }
        selectService(key);
        m_mainTabs->setCurrentWidget(m_splitter);
        m_detailTabs->setCurrentIndex(1);
        statusBar()->showMessage(tr("Rolling back %1 (%2)").arg(key.name, key.environment));
    });
    dialog->open();
}

void MainWindow::openRollbackRecent()
{
    if (!m_releases)
        return;
    auto *dialog = new RollbackRecentDialog(m_releases.get(), m_clock, this);
    connect(dialog, &QDialog::accepted, this, [this, dialog] {
        QStringList refused;
        int started = 0;
        for (const RollbackOption &option : dialog->options()) {
            const Result<Done, QString> done
                = m_releases->rollBack(option.service, dialog->reason());
            if (done)
                ++started;
            else
                refused.append(QStringLiteral("%1: %2").arg(option.service.id(), done.error()));
        }
        statusBar()->showMessage(started == 1 ? tr("Rolling back 1 release")
                                              : tr("Rolling back %1 releases").arg(started));
        if (!refused.isEmpty())
            QMessageBox::warning(this, tr("Some rollbacks were refused"),
                                 refused.join(QLatin1Char('\n')));
    });
    dialog->open();
}

void MainWindow::updateReleaseNote(const ServiceKey &service)
{
    if (const ReleaseController::Release *release = m_releases->release(service))
        m_serviceModel->setReleaseNote(service,
                                       releaseNote(*release, statusOf(service), m_clock->now()));
}

void MainWindow::whenNoReleaseIsDropped(const QString &action, std::function<void()> proceed)
{
    const QList<ServiceKey> running
        = m_releases ? m_releases->activeServices() : QList<ServiceKey>();
    if (running.isEmpty()) {
        proceed();
        return;
    }
    QStringList names;
    for (const ServiceKey &service : running)
        names.append(service.id());
    auto *box = new QMessageBox(
        QMessageBox::Warning, action,
        tr("Releases in progress: %1.\n\nA new workspace stops this console from driving "
           "them: their traffic and instances stay as they are now, and nothing promotes, "
           "switches or rolls them back until someone does.")
            .arg(names.join(QStringLiteral(", "))),
        QMessageBox::Cancel, this);
    QPushButton *go = box->addButton(tr("%1 Anyway").arg(action), QMessageBox::DestructiveRole);
    box->setDefaultButton(QMessageBox::Cancel);
    box->setAttribute(Qt::WA_DeleteOnClose);
    connect(box, &QMessageBox::finished, this, [box, go, proceed = std::move(proceed)] {
        if (box->clickedButton() == static_cast<QAbstractButton *>(go))
            proceed();
    });
    box->open();
}

void MainWindow::reload()
{
    if (m_workspacePath.isEmpty())
        return;
    whenNoReleaseIsDropped(tr("Reload"), [this] { openWorkspace(m_workspacePath); });
}

void MainWindow::chooseWorkspace()
{
    whenNoReleaseIsDropped(tr("Open"), [this] {
        const QString path = QFileDialog::getOpenFileName(
            this, tr("Open Workspace"), QFileInfo(m_workspacePath).absolutePath(),
            tr("Signalbox workspaces (*.yaml *.yml)"));
        if (!path.isEmpty())
            openWorkspace(path);
    });
}

CanaryPanel *MainWindow::canaryPanel() const
{
    return m_releasePanel->canaryPanel();
}

void MainWindow::openStartRelease(const std::optional<ServiceKey> &service)
{
    if (!m_releases)
        return;
    const ServiceKey key = service ? *service : selectedService().value_or(ServiceKey{});
    auto *dialog = new StartReleaseDialog(m_releases.get(), m_session.get(), key, this);
    connect(dialog, &QDialog::accepted, this, [this, dialog] {
        selectService(dialog->chosenService());
        m_detailTabs->setCurrentWidget(m_releasePanel);
    });
    dialog->open();
}

void MainWindow::rebuildAdapterStatus()
{
    while (QLayoutItem *item = m_adapterLayout->takeAt(0)) {
        delete item->widget();
        delete item;
    }
    for (const auto &adapter : m_session->adapters()) {
        auto *label = new QLabel(m_adapterStatus);
        label->setTextFormat(Qt::RichText);
        auto refresh = [label, adapter = adapter.get()] {
            const QPalette pal = label->palette();
            label->setText(QStringLiteral("<span style=\"color:%1\">●</span> %2: %3")
                               .arg(theme::connectionColor(adapter->connectionState(), pal).name(),
                                    adapter->name().toHtmlEscaped(),
                                    toString(adapter->connectionState())));
            label->setToolTip(
                QStringLiteral("%1 (%2)\n%3")
                    .arg(adapter->name(), adapter->type(), adapter->connectionDetail()));
        };
        refresh();
        connect(adapter.get(), &Adapter::connectionStateChanged, label, refresh);
        m_adapterLayout->addWidget(label);
    }
}

void MainWindow::applySnapshot(const ConsoleSnapshot &snapshot)
{
    const bool firstLoad = m_serviceModel->rowCount() == 0;
    m_snapshot = snapshot;
    m_serviceModel->setSnapshot(m_snapshot);
    if (firstLoad && m_serviceModel->rowCount() > 0) {
        m_serviceView->resizeColumnsToContents();
        for (int column = 0; column < ServiceListModel::ColumnCount; ++column)
            m_serviceView->setColumnWidth(column, m_serviceView->columnWidth(column) + 6);
        // Health changes after this measurement; leave room for its longest word and the dot.
        const int healthWidth = m_serviceView->fontMetrics().horizontalAdvance(tr("Degraded")) + 36;
        m_serviceView->setColumnWidth(
            ServiceListModel::HealthColumn,
            std::max(healthWidth, m_serviceView->columnWidth(ServiceListModel::HealthColumn)));
        // So does a release's note beside the strategy.
        int strategyWidth = 0;
        for (const QString &longest : {tr("Canary · 50 % held"), tr("Blue-green · ready to switch"),
                                       tr("Rolling · rolling back 16/16")})
            strategyWidth = std::max(strategyWidth,
                                     m_serviceView->fontMetrics().horizontalAdvance(longest) + 8);
        m_serviceView->setColumnWidth(
            ServiceListModel::StrategyColumn,
            std::max(strategyWidth, m_serviceView->columnWidth(ServiceListModel::StrategyColumn)));
    }
    updateHealthTally();
    if (!m_pendingSelection.isEmpty()) {
        for (const ServiceStatus &status : m_snapshot.services) {
            if (status.key.id() == m_pendingSelection) {
                selectService(status.key);
                break;
            }
        }
        m_pendingSelection.clear();
    }
    if (!m_serviceView->currentIndex().isValid() && m_serviceProxy->rowCount() > 0)
        m_serviceView->setCurrentIndex(m_serviceProxy->index(0, 0));
    showSelected();
    updateClockLabel();
}

const ServiceStatus *MainWindow::statusOf(const ServiceKey &key) const
{
    // By key, not by the list model's row: while the model applies a snapshot that adds or
    // removes services its rows do not match the snapshot's yet. A few hundred at most.
    for (const ServiceStatus &status : m_snapshot.services) {
        if (status.key == key)
            return &status;
    }
    return nullptr;
}

std::optional<ServiceKey> MainWindow::selectedService() const
{
    const QModelIndex current = m_serviceView->currentIndex();
    if (!current.isValid())
        return std::nullopt;
    return m_serviceModel->keyAt(m_serviceProxy->mapToSource(current).row());
}

bool MainWindow::selectService(const ServiceKey &key)
{
    const int row = m_serviceModel->rowOf(key);
    if (row < 0)
        return false;
    const QModelIndex index = m_serviceProxy->mapFromSource(m_serviceModel->index(row, 0));
    if (!index.isValid())
        return false;
    m_serviceView->setCurrentIndex(index);
    m_serviceView->scrollTo(index);
    return true;
}

void MainWindow::showSelected()
{
    const std::optional<ServiceKey> key = selectedService();
    const ServiceStatus *status = key ? statusOf(*key) : nullptr;
    if (!status) {
        m_versionModel->clear();
        m_instanceModel->clear();
        updateHeader(nullptr);
        return;
    }
    m_versionModel->setService(*status);
    m_releasePanel->showService(*status);
    // A service in a release opens on it, and so does one whose release just started; any other
    // opens on its fleet.
    const bool releasing = m_releases && m_releases->release(status->key);
    if (m_shownService != status->key || releasing != m_shownReleasing)
        m_detailTabs->setCurrentIndex(releasing ? 1 : 0);
    m_shownService = status->key;
    m_shownReleasing = releasing;
    m_instanceGrid->setNow(m_snapshot.at);
    if (status->fleet)
        m_instanceModel->setFleet(*status->fleet);
    else
        m_instanceModel->setFleet(FleetSnapshot{status->key, m_snapshot.at, {}});
    updateHeader(status);
    updateRollback();
}

void MainWindow::updateHeader(const ServiceStatus *status)
{
    if (!status) {
        m_titleLabel->setText(m_snapshot.services.isEmpty() ? tr("No services")
                                                            : tr("No service selected"));
        m_badges->setBadges({});
        m_summaryLabel->setText(QString());
        return;
    }
    const QPalette pal = palette();
    const HealthVerdict verdict = assessHealth(*status);
    const Health health = verdict.health;
    m_titleLabel->setText(status->key.name);
    const QColor neutral = pal.color(QPalette::PlaceholderText);
    QList<Badge> badges = {
        {Badge::Style::Chip, status->key.environment, neutral},
        {Badge::Style::Chip, toString(status->strategy),
         theme::stateColor(InstanceState::Starting, pal)},
        {Badge::Style::Chip, toString(health), theme::healthColor(health, pal)},
    };
    // Why it is not healthy comes right after the verdict, where the eye already is.
    if (!verdict.reason.isEmpty())
        badges.append({Badge::Style::Text, verdict.reason, theme::healthColor(health, pal)});
    if (m_session) {
        if (const ServiceSpec *spec = m_session->workspace().service(status->key);
            spec && !spec->description.isEmpty())
            badges.append({Badge::Style::Text, spec->description, neutral});
    }
    m_badges->setBadges(badges);

    QStringList parts;
    const QList<VersionSummary> versions = summarizeVersions(*status);
    int live = 0, ready = 0;
    for (const VersionSummary &v : versions) {
        live += v.total;
        ready += v.ready;
    }
    parts << tr("%1 of %2 ready").arg(ready).arg(counted(live, tr("instance"), tr("instances")));
    parts << counted(int(versions.size()), tr("version"), tr("versions"));
    if (status->metrics) {
        double rate = 0, worstP99 = 0;
        for (const VersionMetrics &m : status->metrics->versions) {
            rate += m.requestsPerSecond;
            if (m.requests > 0)
                worstP99 = std::max(worstP99, m.p99Ms);
        }
        // Right after start no interval has been measured; "0 req/s" would claim an outage.
        if (const std::optional<double> errors = status->metrics->overallErrorRatio()) {
            parts << tr("%1 req/s").arg(rate, 0, 'f', 0);
            parts << tr("%1 errors").arg(percent(*errors));
            parts << tr("worst p99 %1 ms").arg(worstP99, 0, 'f', 0);
        } else {
            parts << tr("no requests measured yet");
        }
    }
    // A backend error that decided the verdict is already shown beside it.
    for (const QString &problem :
         {status->fleetError, status->trafficError, status->metricsError}) {
        if (!problem.isEmpty() && problem != verdict.reason)
            parts << problem;
    }
    m_summaryLabel->setText(parts.join(QStringLiteral("  ·  ")));
}

void MainWindow::updateHealthTally()
{
    // The list model has already judged every service's health for this snapshot.
    int counts[4] = {};
    for (int row = 0; row < m_serviceModel->rowCount(); ++row)
        ++counts[m_serviceModel->index(row, 0).data(ServiceListModel::HealthRole).toInt()];
    QList<Badge> tally;
    for (Health health : {Health::Critical, Health::Degraded, Health::Unknown, Health::Healthy}) {
        if (counts[int(health)] > 0)
            tally.append({Badge::Style::Dot,
                          QStringLiteral("%1 %2").arg(counts[int(health)]).arg(toString(health)),
                          theme::healthColor(health, palette())});
    }
    m_healthTally->setBadges(tally);
}

void MainWindow::changeEvent(QEvent *event)
{
    // Colours are baked into rich text; repaint them when the desktop switches light and dark.
    if (event->type() == QEvent::PaletteChange && m_session) {
        rebuildAdapterStatus();
        updateHealthTally();
        showSelected();
    }
    QMainWindow::changeEvent(event);
}

void MainWindow::updateClockLabel()
{
    const bool simulated = qobject_cast<VirtualClock *>(m_clock) != nullptr;
    const QString time = formatUtc(m_clock->now());
    m_clockLabel->setText(simulated ? tr("Simulated %1").arg(time) : time);
}

QString MainWindow::loadErrorText() const
{
    return m_detailStack->currentIndex() == 1 ? m_errorText->text() : QString();
}

bool MainWindow::eventFilter(QObject *watched, QEvent *event)
{
    if (watched == m_splitter && event->type() == QEvent::Paint && !m_painted) {
        m_painted = true;
        // After this paint completes, so whoever listens measures a frame that exists.
        QTimer::singleShot(0, this, &MainWindow::firstPainted);
    }
    return QMainWindow::eventFilter(watched, event);
}

void MainWindow::restoreLayout()
{
    const ConsoleSettings settings = ConsoleSettings::load(m_workspacePath);
    if (!settings.windowGeometry.isEmpty())
        restoreGeometry(settings.windowGeometry);
    if (!settings.windowState.isEmpty())
        restoreState(settings.windowState);
    if (!settings.splitterState.isEmpty())
        m_splitter->restoreState(settings.splitterState);
}

void MainWindow::saveSettings() const
{
    if (!m_session || !m_remembersState)
        return;
    ConsoleSettings settings;
    settings.windowGeometry = saveGeometry();
    settings.windowState = saveState();
    settings.splitterState = m_splitter->saveState();
    if (const std::optional<ServiceKey> key = selectedService())
        settings.lastService = key->id();
    settings.save(m_session->workspace().file);
}

void MainWindow::closeEvent(QCloseEvent *event)
{
    saveSettings();
    QMainWindow::closeEvent(event);
}

} // namespace sb
