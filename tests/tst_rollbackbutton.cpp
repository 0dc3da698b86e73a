// The rollback as the on-call engineer meets it in the window: the same action on the toolbar,
// in the Release menu, above the release panel and on Ctrl+Shift+B, labelled with what it will
// do; one click and one confirmation; and the roll-back-recent dialog that lists before it acts.

#include "adapterregistry.h"
#include "builtinadapters.h"
#include "clock.h"
#include "journal.h"
#include "mainwindow.h"
#include "reasondialog.h"
#include "releasecontroller.h"
#include "releasepanel.h"
#include "rollbackrecentdialog.h"
#include "workspacesession.h"

#include <QAction>
#include <QListWidget>
#include <QPushButton>
#include <QStandardPaths>
#include <QTest>
#include <QToolButton>

using namespace sb;
using namespace std::chrono_literals;

namespace {

const ServiceKey payments{QStringLiteral("payments"), QStringLiteral("production")};
const ServiceKey checkout{QStringLiteral("checkout"), QStringLiteral("production")};
const ServiceKey search{QStringLiteral("search"), QStringLiteral("production")};

void run(VirtualClock &clock, Duration length)
{
    const TimePoint end = clock.now() + length;
    while (clock.now() < end) {
        clock.advanceTo(std::min(end, clock.now() + Duration(1s)));
        for (int i = 0; i < 3; ++i)
            QCoreApplication::processEvents();
    }
}

struct Console {
    explicit Console(const AdapterRegistry &registry)
        : clock(VirtualClock::defaultStart())
        , window(registry, &clock)
    {
        window.setRemembersState(false);
        window.setOperatorName(QStringLiteral("ana"));
        window.openWorkspace(QStringLiteral(":/workspaces/demo.yaml"));
        window.resize(1440, 900);
        window.show();
    }
    double weightOf(const ServiceKey &service, const QString &version) const
    {
        for (const ServiceStatus &status : window.session()->snapshot().services) {
            if (status.key == service && status.traffic)
                return status.traffic->weightOf(version);
        }
        return -1;
    }
    VirtualClock clock;
    MainWindow window;
};

} // namespace

class TestRollbackButton : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void initTestCase()
    {
        QStandardPaths::setTestModeEnabled(true);
        registerBuiltinAdapters(m_registry);
    }
    void saysWhatItWillDoEverywhere();
    void oneClickOneConfirmSwitchesBack();
    void rollBackRecentListsFirst();

private:
    AdapterRegistry m_registry;
};

void TestRollbackButton::saysWhatItWillDoEverywhere()
{
    Console console(m_registry);
    QAction *rollback = console.window.rollbackAction();
    QVERIFY(console.window.selectService(payments));
    QVERIFY(!rollback->isEnabled());
    QVERIFY2(rollback->toolTip().contains(QStringLiteral("no release")),
             qPrintable(rollback->toolTip()));

    run(console.clock, 150s); // the demo switches payments to 3.9.0 at about 110 s
    QCOMPARE(console.weightOf(payments, QStringLiteral("3.9.0")), 100.0);
    QVERIFY(rollback->isEnabled());
    QCOMPARE(rollback->text(), QStringLiteral("Switch back to 3.8.0 (instant)"));
    QCOMPARE(rollback->shortcut(), QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_B));
    auto *toolbarButton = console.window.findChild<QToolButton *>(QStringLiteral("rollbackButton"));
    QVERIFY(toolbarButton);
    QCOMPARE(toolbarButton->defaultAction(), rollback);
    QVERIFY(toolbarButton->isVisible());
    auto *panelButton = console.window.releasePanel()->findChild<QToolButton *>(
        QStringLiteral("panelRollbackButton"));
    QVERIFY(panelButton);
    QCOMPARE(panelButton->defaultAction(), rollback);

    // Another service, another strategy, another label.
    QVERIFY(console.window.selectService(search));
    QVERIFY2(rollback->text().startsWith(QStringLiteral("Roll back to 5.0.3")),
             qPrintable(rollback->text()));
    QVERIFY(console.window.selectService(checkout));
    QCOMPARE(rollback->text(), QStringLiteral("Canary to 0 % (instant)"));
}

void TestRollbackButton::oneClickOneConfirmSwitchesBack()
{
    Console console(m_registry);
    run(console.clock, 150s);
    QVERIFY(console.window.selectService(payments));
    console.window.activateWindow();
    QTest::keyClick(&console.window, Qt::Key_B, Qt::ControlModifier | Qt::ShiftModifier);
    auto *dialog = console.window.findChild<ReasonDialog *>(QStringLiteral("rollbackDialog"));
    QVERIFY(dialog);
    QVERIFY(dialog->isVisible());
    QVERIFY2(dialog->findChild<QPushButton *>() != nullptr, "the dialog has buttons");
    QCOMPARE(dialog->acceptButton()->text(), QStringLiteral("Switch back to 3.8.0 (instant)"));
    // The reason is optional: the button works on an empty field.
    QVERIFY(dialog->acceptButton()->isEnabled());
    QTest::mouseClick(dialog->acceptButton(), Qt::LeftButton);
    QTRY_VERIFY_WITH_TIMEOUT(
        (run(console.clock, 1s), console.weightOf(payments, QStringLiteral("3.8.0")) == 100.0),
        10'000);
    // Progress is on show, and the button says a rollback is under way or done.
    QCOMPARE(console.window.detailTabs()->currentIndex(), 1);
    QVERIFY(!console.window.rollbackAction()->isEnabled());
}

void TestRollbackButton::rollBackRecentListsFirst()
{
    Console console(m_registry);
    run(console.clock, 150s);
    console.window.rollbackRecentAction()->trigger();
    auto *dialog = console.window.findChild<RollbackRecentDialog *>();
    QVERIFY(dialog);
    QVERIFY(dialog->isVisible());
    // Everything the demo released so far, with what its rollback does; nothing done yet.
    QStringList listed;
    for (int row = 0; row < dialog->list()->count(); ++row)
        listed.append(dialog->list()->item(row)->text());
    QVERIFY2(
        listed.contains(QStringLiteral("payments (production): Switch back to 3.8.0 (instant)")),
        qPrintable(listed.join('\n')));
    QVERIFY2(listed.contains(QStringLiteral("checkout (production): Canary to 0 % (instant)")),
             qPrintable(listed.join('\n')));
    QCOMPARE(dialog->acceptButton()->text(),
             QStringLiteral("Roll Back %1 Releases").arg(listed.size()));
    QCOMPARE(console.weightOf(payments, QStringLiteral("3.9.0")), 100.0);
    // Releases still in flight are listed however short the window: their traffic may have
    // moved a moment ago.
    dialog->setMinutes(1);
    QCOMPARE(dialog->list()->count(), listed.size());
    dialog->setMinutes(60);

    QTest::mouseClick(dialog->acceptButton(), Qt::LeftButton);
    run(console.clock, 5s);
    QCOMPARE(console.weightOf(payments, QStringLiteral("3.8.0")), 100.0);
    QCOMPARE(console.weightOf(checkout, QStringLiteral("2.4.0")), 0.0);

    // Once they are rolled back, there is nothing left to list, and nothing to accept.
    run(console.clock, 5min);
    console.window.rollbackRecentAction()->trigger();
    RollbackRecentDialog *again = nullptr;
    for (RollbackRecentDialog *candidate : console.window.findChildren<RollbackRecentDialog *>())
        again = candidate->isVisible() ? candidate : again;
    QVERIFY(again);
    QCOMPARE(again->list()->count(), 0);
    QVERIFY(!again->acceptButton()->isEnabled());
}

QTEST_MAIN(TestRollbackButton)
#include "tst_rollbackbutton.moc"
