#pragma once

#include "diagnostic.h"
#include "fleet.h"

#include <QMainWindow>

#include <functional>
#include <memory>
#include <optional>

class QAction;
class QComboBox;
class QLabel;
class QLineEdit;
class QSplitter;
class QStackedWidget;
class QTableView;
class QTabWidget;
class QTemporaryDir;
class QToolButton;
class QHBoxLayout;

namespace sb {

class AdapterRegistry;
class BadgeLine;
class CanaryPanel;
class ReleasePanel;
class Clock;
class InstanceGridView;
class InstanceModel;
class Journal;
class ReleaseController;
class ServiceFilterProxy;
class ServiceListModel;
class TextLine;
class TimelinePanel;
class VersionModel;
class WorkspaceSession;
struct Workspace;

// The console: services on the left, the selected service's fleet per version and its release
// on the right, adapter connections in the status bar. It owns the open workspace session; a
// workspace that fails to load never replaces one that works.
class MainWindow : public QMainWindow
{
    Q_OBJECT
public:
    MainWindow(const AdapterRegistry &registry, Clock *clock, QWidget *parent = nullptr);
    ~MainWindow() override;

    // Opens and starts a workspace. On failure the message is shown where the fleet would be
    // and any workspace already open stays in force. Returns the problem, if any.
    std::optional<Diagnostic> openWorkspace(const QString &path);
    // Off for screenshots and benchmarks: nothing is read from or written to the user's settings.
    void setRemembersState(bool remember) { m_remembersState = remember; }
    // Who operator actions are recorded as; the workspace's `operator:`, else the OS user, unless
    // set here.
    void setOperatorName(const QString &name) { m_operatorOverride = name; }
    // The journal file for the workspaces opened from now on, instead of the workspace's own
    // `journal:` or the default (docs/journal.md).
    void setJournalPath(const QString &path) { m_journalOverride = path; }
    // Window geometry and layout from the last run.
    void restoreLayout();
    WorkspaceSession *session() const { return m_session.get(); }
    ReleaseController *releases() const { return m_releases.get(); }
    Journal *journal() const { return m_journal.get(); }
    // The rollback of the selected service: toolbar, Release menu, release panel, Ctrl+Shift+B.
    QAction *rollbackAction() const { return m_rollbackAction; }
    QAction *rollbackRecentAction() const { return m_rollbackRecentAction; }
    // The banner above the tabs for journal problems; hidden when there are none.
    QString journalWarning() const;

    // Shows a whole console snapshot; what the session calls on every change, and what
    // benchmarks drive directly.
    void applySnapshot(const ConsoleSnapshot &snapshot);
    bool selectService(const ServiceKey &key);
    std::optional<ServiceKey> selectedService() const;

    ServiceListModel *serviceModel() const { return m_serviceModel; }
    ServiceFilterProxy *serviceProxy() const { return m_serviceProxy; }
    VersionModel *versionModel() const { return m_versionModel; }
    InstanceModel *instanceModel() const { return m_instanceModel; }
    QTableView *serviceView() const { return m_serviceView; }
    QTableView *versionView() const { return m_versionView; }
    InstanceGridView *instanceGrid() const { return m_instanceGrid; }
    ReleasePanel *releasePanel() const { return m_releasePanel; }
    CanaryPanel *canaryPanel() const;
    QTabWidget *detailTabs() const { return m_detailTabs; }
    // Services and Timeline, the window's two pages.
    QTabWidget *mainTabs() const { return m_mainTabs; }
    TimelinePanel *timeline() const { return m_timeline; }
    // The Timeline page, every service's journal on one time axis (Ctrl+5).
    void showTimeline();
    // Opens the start dialog for `service` (the selected one when empty); non-blocking.
    void openStartRelease(const std::optional<ServiceKey> &service = std::nullopt);
    // The text shown where the fleet would be when the workspace failed to load.
    QString loadErrorText() const;

Q_SIGNALS:
    void firstPainted();

protected:
    void closeEvent(QCloseEvent *event) override;
    bool eventFilter(QObject *watched, QEvent *event) override;
    void changeEvent(QEvent *event) override;

private:
    void buildMenus();
    QWidget *buildServicePane();
    QWidget *buildDetailPane();
    QWidget *buildFleetTab();
    QWidget *buildErrorPage();
    void showSelected();
    void updateHeader(const ServiceStatus *status);
    void rebuildAdapterStatus();
    void updateClockLabel();
    void updateHealthTally();
    void updateReleaseNote(const sb::ServiceKey &service);
    void updateRollback();
    void confirmRollback();
    void openRollbackRecent();
    void openJournal(const Workspace &workspace);
    QString defaultJournalPath(const Workspace &workspace);
    void showJournalWarning(const QString &html);
    void reload();
    // Runs `proceed` at once, or after the operator agrees to leave running releases undriven.
    void whenNoReleaseIsDropped(const QString &action, std::function<void()> proceed);
    void chooseWorkspace();
    void saveSettings() const;
    const ServiceStatus *statusOf(const ServiceKey &key) const;

    const AdapterRegistry &m_registry;
    Clock *m_clock;
    std::unique_ptr<WorkspaceSession> m_session;
    // A journal of its own for each run of a workspace whose fleet is not kept either: the demo,
    // screenshots.
    std::unique_ptr<QTemporaryDir> m_scratch;
    std::unique_ptr<Journal> m_journal;
    // Declared after the session and the journal it uses, so it goes first.
    std::unique_ptr<ReleaseController> m_releases;
    QString m_operatorOverride;
    QString m_journalOverride;
    std::optional<ServiceKey> m_shownService;
    bool m_shownReleasing = false;
    QString m_workspacePath;
    ConsoleSnapshot m_snapshot;
    QString m_pendingSelection;
    bool m_painted = false;
    bool m_remembersState = true;

    ServiceListModel *m_serviceModel;
    ServiceFilterProxy *m_serviceProxy;
    VersionModel *m_versionModel;
    InstanceModel *m_instanceModel;

    QTabWidget *m_mainTabs = nullptr;
    TimelinePanel *m_timeline = nullptr;
    QSplitter *m_splitter = nullptr;
    QLineEdit *m_filterEdit = nullptr;
    QComboBox *m_environmentCombo = nullptr;
    QComboBox *m_healthCombo = nullptr;
    BadgeLine *m_healthTally = nullptr;
    QTableView *m_serviceView = nullptr;
    QStackedWidget *m_detailStack = nullptr;
    QLabel *m_titleLabel = nullptr;
    BadgeLine *m_badges = nullptr;
    TextLine *m_summaryLabel = nullptr;
    QLabel *m_reloadBanner = nullptr;
    QLabel *m_journalBanner = nullptr;
    QAction *m_rollbackAction = nullptr;
    QAction *m_rollbackRecentAction = nullptr;
    QToolButton *m_rollbackButton = nullptr;
    QLabel *m_rollbackTarget = nullptr;
    QTableView *m_versionView = nullptr;
    InstanceGridView *m_instanceGrid = nullptr;
    QTabWidget *m_detailTabs = nullptr;
    ReleasePanel *m_releasePanel = nullptr;
    QLabel *m_errorTitle = nullptr;
    QLabel *m_errorText = nullptr;
    QLabel *m_errorExcerpt = nullptr;
    QLabel *m_workspaceLabel = nullptr;
    TextLine *m_clockLabel = nullptr;
    QWidget *m_adapterStatus = nullptr;
    QHBoxLayout *m_adapterLayout = nullptr;
};

} // namespace sb
