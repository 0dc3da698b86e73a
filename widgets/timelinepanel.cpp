#include "timelinepanel.h"

#include "clock.h"
#include "tablestyle.h"
#include "textline.h"
#include "theme.h"
#include "timelinemodel.h"
#include "timelineview.h"

#include <QComboBox>
#include <QDateTime>
#include <QDateTimeEdit>
#include <QFormLayout>
#include <QFutureWatcher>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QItemSelectionModel>
#include <QLabel>
#include <QLineEdit>
#include <QLocale>
#include <QMenu>
#include <QMouseEvent>
#include <QPainter>
#include <QPushButton>
#include <QSplitter>
#include <QStackedWidget>
#include <QStyledItemDelegate>
#include <QTableView>
#include <QTableWidget>
#include <QTimer>
#include <QVBoxLayout>
#include <QtConcurrent/QtConcurrentRun>

#include <bit>

namespace sb {

namespace {

// Below this many entries a filter takes a few milliseconds: it runs at once, on this thread.
constexpr qsizetype backgroundFilterEntries = 50'000;
constexpr int searchDebounceMs = 250;
// Full entries kept from the journal for the list, the tooltips and the details.
constexpr int fetchedEntriesKept = 20'000;

constexpr qint64 hourMs = 3'600'000;

constexpr TimelineCategory categoryOrder[]
    = {TimelineCategory::Progress,    TimelineCategory::GatePass, TimelineCategory::GateFail,
       TimelineCategory::Waiting,     TimelineCategory::Switch,   TimelineCategory::Rollback,
       TimelineCategory::BackendError};
constexpr quint32 troubleCategories = categoryBit(TimelineCategory::GateFail)
                                      | categoryBit(TimelineCategory::Rollback)
                                      | categoryBit(TimelineCategory::BackendError);

QString categoryText(TimelineCategory category)
{
    switch (category) {
    case TimelineCategory::Progress: return QObject::tr("Progress");
    case TimelineCategory::GatePass: return QObject::tr("Gate passed");
    case TimelineCategory::GateFail: return QObject::tr("Gate failed");
    case TimelineCategory::Waiting: return QObject::tr("Paused or held");
    case TimelineCategory::Switch: return QObject::tr("Switch");
    case TimelineCategory::Rollback: return QObject::tr("Rollback");
    case TimelineCategory::BackendError: return QObject::tr("Backend error");
    }
    return {};
}

QString grouped(qint64 count)
{
    return QLocale(QLocale::English).toString(count);
}

QIcon markIcon(TimelineCategory category, bool byOperator, const QPalette &palette)
{
    QPixmap pixmap(18, 18);
    pixmap.fill(Qt::transparent);
    QPainter painter(&pixmap);
    paintTimelineMark(painter, QPointF(9, 9), 10, category, byOperator, palette);
    return QIcon(pixmap);
}

// A menu of checkboxes that stays open while they are ticked, so several can be chosen at once.
class ChecklistMenu : public QMenu
{
public:
    using QMenu::QMenu;

protected:
    void mouseReleaseEvent(QMouseEvent *event) override
    {
        QAction *action = activeAction();
        if (action && action->isEnabled() && action->isCheckable() && !action->menu()) {
            action->trigger();
            return;
        }
        QMenu::mouseReleaseEvent(event);
    }
    void keyPressEvent(QKeyEvent *event) override
    {
        QAction *action = activeAction();
        if ((event->key() == Qt::Key_Space || event->key() == Qt::Key_Return) && action
            && action->isCheckable() && !action->menu()) {
            action->trigger();
            return;
        }
        QMenu::keyPressEvent(event);
    }
};

// The marks and what they mean, in one line beside the count.
class Legend : public QWidget
{
public:
    explicit Legend(QWidget *parent)
        : QWidget(parent)
    {
        setSizePolicy(QSizePolicy::Preferred, QSizePolicy::Fixed);
    }

    QSize sizeHint() const override
    {
        int width = 0;
        for (const TimelineCategory category : categoryOrder)
            width += itemWidth(categoryText(category));
        return {width + itemWidth(tr("by an operator")), fontMetrics().height() + 4};
    }
    QSize minimumSizeHint() const override { return {0, sizeHint().height()}; }

protected:
    void paintEvent(QPaintEvent *) override
    {
        QPainter painter(this);
        const QPalette &pal = palette();
        // Right-aligned; what does not fit is left out from the left, never drawn over.
        int right = width();
        const double middle = height() / 2.0;
        auto item = [&](TimelineCategory category, bool byOperator, const QString &text) {
            const int itemRight = right;
            const int left = right - itemWidth(text);
            if (left < 0)
                return false;
            paintTimelineMark(painter, QPointF(left + 8, middle), 9, category, byOperator, pal);
            painter.setPen(pal.color(QPalette::PlaceholderText));
            painter.drawText(QRect(left + 18, 0, itemRight - left - 18, height()),
                             Qt::AlignLeft | Qt::AlignVCenter, text);
            right = left;
            return true;
        };
        if (!item(TimelineCategory::Progress, true, tr("by an operator")))
            return;
        for (auto it = std::crbegin(categoryOrder); it != std::crend(categoryOrder); ++it) {
            if (!item(*it, false, categoryText(*it)))
                return;
        }
    }

private:
    int itemWidth(const QString &text) const
    {
        return 18 + fontMetrics().horizontalAdvance(text) + 14;
    }
};

// The "What" column with the entry's mark before it, as on the timeline.
class MarkDelegate : public QStyledItemDelegate
{
public:
    using QStyledItemDelegate::QStyledItemDelegate;

protected:
    void initStyleOption(QStyleOptionViewItem *option, const QModelIndex &index) const override
    {
        QStyledItemDelegate::initStyleOption(option, index);
        const auto category = TimelineCategory(index.data(TimelineModel::CategoryRole).toInt());
        const bool byOperator = index.data(TimelineModel::OperatorRole).toBool();
        const int key = int(category) * 2 + int(byOperator);
        if (!m_icons.contains(key))
            m_icons.insert(key, markIcon(category, byOperator, option->palette));
        option->icon = m_icons.value(key);
        option->decorationSize = QSize(18, 18);
        option->features |= QStyleOptionViewItem::HasDecoration;
    }

private:
    mutable QHash<int, QIcon> m_icons;
};

QString formatValue(double value)
{
    return QString::number(value, 'g', 6);
}

} // namespace

TimelinePanel::TimelinePanel(QWidget *parent)
    : QWidget(parent)
    , m_matches(std::make_shared<TimelineMatches>())
    , m_fetched(fetchedEntriesKept)
{
    m_pages = new QStackedWidget(this);

    auto *empty = new QWidget(m_pages);
    auto *emptyLayout = new QVBoxLayout(empty);
    emptyLayout->setContentsMargins(4, 12, 4, 4);
    m_emptyTitle = sectionLabel(QString(), empty);
    emptyLayout->addWidget(m_emptyTitle);
    m_emptyText = new QLabel(empty);
    m_emptyText->setWordWrap(true);
    m_emptyText->setTextFormat(Qt::PlainText);
    emptyLayout->addWidget(m_emptyText);
    emptyLayout->addStretch();
    m_pages->addWidget(empty);

    auto *content = new QWidget(m_pages);
    auto *layout = new QVBoxLayout(content);
    layout->setContentsMargins(0, 4, 0, 0);
    layout->setSpacing(6);
    layout->addWidget(buildFilterBar());

    auto *countRow = new QHBoxLayout;
    m_count = new TextLine(content);
    m_count->setWidthFromSample(QStringLiteral("1,000,000 of 1,000,000 events · filtering…"));
    countRow->addWidget(m_count, 1);
    countRow->addWidget(new Legend(content), 0);
    layout->addLayout(countRow);

    auto *splitter = new QSplitter(Qt::Vertical, content);
    splitter->setChildrenCollapsible(false);
    m_view = new TimelineView(splitter);
    m_view->setMinimumHeight(160);
    splitter->addWidget(m_view);

    auto *lower = new QSplitter(Qt::Horizontal, splitter);
    lower->setChildrenCollapsible(false);
    auto *listBox = new QWidget(lower);
    auto *listLayout = new QVBoxLayout(listBox);
    listLayout->setContentsMargins(0, 0, 0, 0);
    listLayout->addWidget(sectionLabel(tr("Events"), listBox));
    m_model = new TimelineModel(this);
    m_table = new QTableView(listBox);
    configureTable(m_table);
    m_table->setModel(m_model);
    m_table->setItemDelegateForColumn(TimelineModel::KindColumn, new MarkDelegate(m_table));
    m_table->horizontalHeader()->setStretchLastSection(true);
    m_table->horizontalHeader()->setSortIndicatorShown(true);
    m_table->horizontalHeader()->setSortIndicator(TimelineModel::TimeColumn, Qt::DescendingOrder);
    m_table->setColumnWidth(TimelineModel::TimeColumn, 178);
    m_table->setColumnWidth(TimelineModel::ServiceColumn, 170);
    m_table->setColumnWidth(TimelineModel::KindColumn, 150);
    m_table->setColumnWidth(TimelineModel::ActorColumn, 90);
    m_table->setAccessibleName(tr("Matching events"));
    listLayout->addWidget(m_table);
    lower->addWidget(listBox);
    lower->addWidget(buildDetails());
    lower->setStretchFactor(0, 3);
    lower->setStretchFactor(1, 2);
    lower->setSizes({640, 400});
    splitter->addWidget(lower);
    splitter->setStretchFactor(0, 3);
    splitter->setStretchFactor(1, 2);
    splitter->setSizes({420, 280});
    layout->addWidget(splitter, 1);
    m_pages->addWidget(content);

    auto *outer = new QVBoxLayout(this);
    outer->setContentsMargins(0, 0, 0, 0);
    outer->addWidget(m_pages);

    auto lookup = [this](qint64 sequence) { return entryFor(sequence); };
    m_model->setLookup(lookup);
    m_view->setLookup(lookup);
    connect(m_model, &TimelineModel::entriesWanted, this, &TimelinePanel::fetch);
    connect(m_view, &TimelineView::entryWanted, this,
            [this](qint64 sequence) { fetch({sequence}); });
    connect(m_view, &TimelineView::selectedChanged, this, &TimelinePanel::onViewSelected);
    connect(m_table->selectionModel(), &QItemSelectionModel::currentRowChanged, this,
            &TimelinePanel::onTableSelected);
    // Time is the one order a journal has; any header flips it.
    connect(m_table->horizontalHeader(), &QHeaderView::sectionClicked, this, [this] {
        const Qt::SortOrder order = m_model->timeOrder() == Qt::DescendingOrder
                                        ? Qt::AscendingOrder
                                        : Qt::DescendingOrder;
        m_model->sort(TimelineModel::TimeColumn, order);
        m_table->horizontalHeader()->setSortIndicator(TimelineModel::TimeColumn, order);
    });

    m_view->setMatches(nullptr, m_matches.get());
    updateEmptyState();
    updateButtons();
}

TimelinePanel::~TimelinePanel() = default;

QWidget *TimelinePanel::buildFilterBar()
{
    auto *bar = new QWidget(this);
    auto *layout = new QHBoxLayout(bar);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->setSpacing(6);

    auto menuButton = [&](void (TimelinePanel::*fill)()) {
        auto *button = new QPushButton(bar);
        button->setAutoDefault(false);
        auto *menu = new ChecklistMenu(button);
        button->setMenu(menu);
        // Filled as it opens, from what the journal holds by then.
        connect(menu, &QMenu::aboutToShow, this, fill);
        layout->addWidget(button);
        return button;
    };
    m_serviceButton = menuButton(&TimelinePanel::fillServiceMenu);
    m_environmentButton = menuButton(&TimelinePanel::fillEnvironmentMenu);
    m_eventsButton = menuButton(&TimelinePanel::fillEventsMenu);
    m_whoButton = menuButton(&TimelinePanel::fillWhoMenu);

    m_periodBox = new QComboBox(bar);
    m_periodBox->addItem(tr("All time"), QVariant::fromValue(Period::All));
    m_periodBox->addItem(tr("Last hour"), QVariant::fromValue(Period::LastHour));
    m_periodBox->addItem(tr("Last 24 hours"), QVariant::fromValue(Period::LastDay));
    m_periodBox->addItem(tr("Last 7 days"), QVariant::fromValue(Period::LastWeek));
    m_periodBox->addItem(tr("Custom range"), QVariant::fromValue(Period::Custom));
    m_periodBox->setToolTip(tr("Which time the events must fall in (UTC)"));
    layout->addWidget(m_periodBox);
    m_fromEdit = new QDateTimeEdit(bar);
    m_toEdit = new QDateTimeEdit(bar);
    for (QDateTimeEdit *edit : {m_fromEdit, m_toEdit}) {
        edit->setTimeSpec(Qt::UTC);
        edit->setDisplayFormat(QStringLiteral("yyyy-MM-dd HH:mm"));
        edit->setCalendarPopup(true);
        edit->setVisible(false);
        layout->addWidget(edit);
        connect(edit, &QDateTimeEdit::editingFinished, this, [this] {
            setCustomPeriod(m_fromEdit->dateTime().toMSecsSinceEpoch(),
                            m_toEdit->dateTime().toMSecsSinceEpoch());
        });
    }
    m_fromEdit->setToolTip(tr("From (UTC, included)"));
    m_toEdit->setToolTip(tr("Until (UTC, not included)"));
    connect(m_periodBox, &QComboBox::activated, this,
            [this] { setPeriod(m_periodBox->currentData().value<Period>()); });

    m_search = new QLineEdit(bar);
    m_search->setPlaceholderText(tr("Search reasons, actions, versions, services…"));
    m_search->setClearButtonEnabled(true);
    m_search->setToolTip(tr("Every word must appear; case does not matter"));
    layout->addWidget(m_search, 1);
    m_searchTimer = new QTimer(this);
    m_searchTimer->setSingleShot(true);
    m_searchTimer->setInterval(searchDebounceMs);
    // A pause in typing, not every key, filters a million entries.
    connect(m_search, &QLineEdit::textChanged, m_searchTimer, qOverload<>(&QTimer::start));
    connect(m_searchTimer, &QTimer::timeout, this, [this] {
        m_filter.text = m_search->text().trimmed();
        applyFilters(false);
    });

    m_clearButton = new QPushButton(tr("Clear filters"), bar);
    m_clearButton->setAutoDefault(false);
    connect(m_clearButton, &QPushButton::clicked, this, &TimelinePanel::clearFilters);
    layout->addWidget(m_clearButton);
    return bar;
}

QWidget *TimelinePanel::buildDetails()
{
    m_detailPages = new QStackedWidget(this);
    auto *hint = new QLabel(tr("Select an event on the timeline or in the list to see all of "
                               "it: who, why, the outcome and the metric values it saw."),
                            m_detailPages);
    hint->setWordWrap(true);
    hint->setAlignment(Qt::AlignTop | Qt::AlignLeft);
    hint->setForegroundRole(QPalette::PlaceholderText);
    hint->setContentsMargins(4, 28, 4, 4);
    m_detailPages->addWidget(hint);

    auto *page = new QWidget(m_detailPages);
    auto *layout = new QVBoxLayout(page);
    layout->setContentsMargins(6, 0, 0, 0);
    m_detailTitle = sectionLabel(QString(), page);
    layout->addWidget(m_detailTitle);
    m_detailForm = new QFormLayout;
    m_detailForm->setLabelAlignment(Qt::AlignLeft);
    m_detailForm->setHorizontalSpacing(12);
    m_detailForm->setVerticalSpacing(3);
    const QString labels[]
        = {tr("When"), tr("Sequence"), tr("Who"),    tr("Service"), tr("Release"),
           tr("Kind"), tr("Stage"),    tr("Action"), tr("Reason"),  tr("Outcome")};
    for (int field = When; field <= Outcome; ++field) {
        auto *value = new QLabel(page);
        value->setTextFormat(Qt::PlainText);
        value->setWordWrap(true);
        value->setTextInteractionFlags(Qt::TextSelectableByMouse);
        auto *label = new QLabel(labels[field], page);
        label->setForegroundRole(QPalette::PlaceholderText);
        m_detailForm->addRow(label, value);
        m_detailValues[field] = value;
    }
    layout->addLayout(m_detailForm);
    m_valuesHeading = new QLabel(tr("Metric values"), page);
    QFont bold = m_valuesHeading->font();
    bold.setBold(true);
    m_valuesHeading->setFont(bold);
    layout->addSpacing(4);
    layout->addWidget(m_valuesHeading);
    m_values = new QTableWidget(0, 2, page);
    configureTable(m_values);
    m_values->setHorizontalHeaderLabels({tr("Metric"), tr("Value")});
    m_values->horizontalHeader()->setStretchLastSection(true);
    m_values->setColumnWidth(0, 190);
    m_values->setAccessibleName(tr("Metric values"));
    layout->addWidget(m_values, 1);
    layout->addStretch(0);
    m_detailPages->addWidget(page);
    return m_detailPages;
}

void TimelinePanel::setClock(Clock *clock)
{
    m_clock = clock;
}

qint64 TimelinePanel::nowMs() const
{
    return m_clock ? toMSecsSinceEpoch(m_clock->now()) : QDateTime::currentMSecsSinceEpoch();
}

void TimelinePanel::setJournal(Journal *journal)
{
    if (m_journal)
        m_journal->disconnect(this);
    m_journal = journal;
    m_entries.clear();
    m_entryAt.clear();
    m_fetched.clear();
    m_fetching.clear();
    m_missing.clear();
    m_pendingAppends.clear();
    m_problem.clear();
    ++m_loadGeneration;
    if (!journal) {
        adopt(std::make_shared<TimelineIndex>(), QString());
        return;
    }
    m_loading = true;
    updateEmptyState();
    // Entries appended while the journal is read are kept until it has been; those it read
    // already are recognised by their sequence then.
    connect(journal, &Journal::appended, this, &TimelinePanel::appendEntries);
    connect(journal, &Journal::openFailed, this, [this](const QString &error) {
        m_problem = error;
        updateEmptyState();
    });

    auto index = std::make_shared<TimelineIndex>();
    auto problem = std::make_shared<QString>();
    const quint64 generation = m_loadGeneration;
    QPointer<TimelinePanel> self(this);
    journal->run(
        [index, problem](JournalStore *store) {
            if (!store) {
                *problem = tr("The journal could not be opened, so there is no timeline.");
                return;
            }
            // Sequences have no gaps, so the last is the count, and the columns grow once.
            index->reserve(store->lastSequence());
            const auto read = store->forEach({}, [&index](const JournalEntry &entry) {
                index->append(entry);
                return true;
            });
            if (!read)
                *problem = read.error();
            index->squeeze();
        },
        [self, index, problem, generation] {
            if (self && self->m_loadGeneration == generation)
                self->adopt(index, *problem);
        });
}

void TimelinePanel::setEntries(const QList<JournalEntry> &entries)
{
    if (m_journal)
        m_journal->disconnect(this);
    m_journal = nullptr;
    ++m_loadGeneration;
    m_fetched.clear();
    m_fetching.clear();
    m_missing.clear();
    m_pendingAppends.clear();
    m_problem.clear();
    m_entries = entries;
    m_entryAt.clear();
    m_entryAt.reserve(entries.size());
    auto index = std::make_shared<TimelineIndex>();
    index->reserve(entries.size());
    for (qsizetype i = 0; i < entries.size(); ++i) {
        m_entryAt.insert(entries.at(i).sequence, i);
        index->append(entries.at(i));
    }
    adopt(std::move(index), QString());
}

void TimelinePanel::adopt(std::shared_ptr<TimelineIndex> index, const QString &problem)
{
    m_loading = false;
    if (!problem.isEmpty())
        m_problem = problem;
    m_index = std::move(index);
    // The old result pointed into the old index: nothing may show it any longer.
    m_matches = std::make_shared<TimelineMatches>();
    m_view->setSelectedRow(-1);
    m_selectedSequence = -1;
    m_view->setMatches(m_index.get(), m_matches.get());
    m_model->setMatches(m_index.get(), &m_matches->rows);
    m_fitPending = true;
    updateEmptyState();
    // What was appended while the journal was read; entries it read already are skipped.
    if (!m_pendingAppends.isEmpty())
        appendEntries(std::exchange(m_pendingAppends, {}));
    refilter();
}

void TimelinePanel::appendEntries(const QList<JournalEntry> &entries)
{
    // No filter may read the index while it grows; entries wait for it to finish.
    if (m_loading || m_filtering || !m_index) {
        m_pendingAppends += entries;
        return;
    }
    const qsizetype before = m_index->size();
    const qint64 newestBefore = m_index->lastMs();
    bool atEnd = true;
    for (const JournalEntry &entry : entries) {
        if (entry.sequence <= m_index->lastSequence())
            continue;
        atEnd = atEnd && (before == 0 || toMSecsSinceEpoch(entry.at) >= newestBefore);
        m_index->append(entry);
        // The newest entries are the ones a watcher reads next.
        if (m_journal) {
            m_fetched.insert(entry.sequence, new JournalEntry(entry));
        } else {
            m_entryAt.insert(entry.sequence, m_entries.size());
            m_entries.append(entry);
        }
    }
    if (m_index->size() == before)
        return;
    updateEmptyState();
    if (!atEnd) {
        // An entry from a skewed clock went in among the older rows, moving them: the result's
        // rows are stale.
        refilter();
        return;
    }
    // Only the new rows need checking against the filter.
    const TimelineMatches added = m_index->filter(m_filter, before);
    const auto previous = qsizetype(m_matches->rows.size());
    m_matches->rows.insert(m_matches->rows.end(), added.rows.cbegin(), added.rows.cend());
    m_matches->laneCounts.resize(added.laneCounts.size(), 0);
    for (size_t lane = 0; lane < added.laneCounts.size(); ++lane)
        m_matches->laneCounts[lane] += added.laneCounts[lane];
    m_model->rowsAppended(previous);
    m_view->matchesChanged();
    updateCount();
}

std::optional<std::pair<qint64, qint64>> TimelinePanel::periodRange() const
{
    const qint64 now = nowMs();
    switch (m_period) {
    case Period::All: return std::nullopt;
    case Period::LastHour: return std::pair(now - hourMs, now);
    case Period::LastDay: return std::pair(now - 24 * hourMs, now);
    case Period::LastWeek: return std::pair(now - 7 * 24 * hourMs, now);
    case Period::Custom: return std::pair(m_customFromMs, m_customToMs);
    }
    return std::nullopt;
}

void TimelinePanel::applyFilters(bool fitView)
{
    const auto range = periodRange();
    m_filter.fromMs = range ? std::optional(range->first) : std::nullopt;
    // A period up to now stays open at the end, so entries arriving later still show.
    m_filter.toMs
        = range && m_period == Period::Custom ? std::optional(range->second) : std::nullopt;
    if (fitView) {
        if (range)
            m_view->setVisibleRange(range->first, range->second);
        else
            m_fitPending = true;
    }
    updateButtons();
    refilter();
}

void TimelinePanel::refilter()
{
    if (!m_index || m_loading)
        return;
    if (m_filtering) {
        m_refilterPending = true;
        return;
    }
    if (m_index->size() < backgroundFilterEntries) {
        showMatches(m_index->filter(m_filter));
        return;
    }
    m_filtering = true;
    const quint64 generation = ++m_filterGeneration;
    std::shared_ptr<const TimelineIndex> index = m_index;
    // A watcher reports through the event loop even when the filter is done before it is
    // watched, so the panel never changes under the caller's feet.
    auto *watcher = new QFutureWatcher<TimelineMatches>(this);
    connect(watcher, &QFutureWatcherBase::finished, this, [this, watcher, generation] {
        watcher->deleteLater();
        m_filtering = false;
        // A newer filter, or another journal, made this result stale.
        const bool stale = m_refilterPending || generation != m_filterGeneration;
        m_refilterPending = false;
        if (!stale)
            showMatches(watcher->future().takeResult());
        if (!m_pendingAppends.isEmpty())
            appendEntries(std::exchange(m_pendingAppends, {}));
        if (stale)
            refilter();
    });
    watcher->setFuture(
        QtConcurrent::run([index, filter = m_filter] { return index->filter(filter); }));
    updateCount();
}

void TimelinePanel::showMatches(TimelineMatches matches)
{
    auto shown = std::make_shared<TimelineMatches>(std::move(matches));
    m_view->setMatches(m_index.get(), shown.get());
    m_model->setMatches(m_index.get(), &shown->rows);
    // Only now, with nothing pointing into it any more.
    m_matches = std::move(shown);
    if (m_fitPending) {
        m_fitPending = false;
        m_view->fitAll();
    }
    if (m_selectedSequence >= 0) {
        const qsizetype row = m_view->selectedRow();
        const int tableRow = row >= 0 ? m_model->rowOf(quint32(row)) : -1;
        m_syncingSelection = true;
        if (tableRow >= 0) {
            m_table->selectionModel()->setCurrentIndex(m_model->index(tableRow, 0),
                                                       QItemSelectionModel::ClearAndSelect
                                                           | QItemSelectionModel::Rows);
            m_table->scrollTo(m_model->index(tableRow, 0));
        }
        m_syncingSelection = false;
    }
    updateCount();
    Q_EMIT matchesShown();
}

qsizetype TimelinePanel::matchCount() const
{
    return qsizetype(m_matches->rows.size());
}

void TimelinePanel::updateCount()
{
    if (!m_index) {
        m_count->setText(QString());
        return;
    }
    QString text = tr("%1 of %2 events")
                       .arg(grouped(qsizetype(m_matches->rows.size())), grouped(m_index->size()));
    if (m_filtering)
        text += tr(" · filtering…");
    m_count->setText(text);
}

QString TimelinePanel::countText() const
{
    return m_count->text();
}

void TimelinePanel::updateEmptyState()
{
    if (!m_problem.isEmpty()) {
        m_emptyTitle->setText(tr("No timeline"));
        m_emptyText->setText(m_problem);
    } else if (m_loading) {
        m_emptyTitle->setText(tr("Reading the journal…"));
        m_emptyText->setText(tr("Every release, gate verdict and operator action recorded so far "
                                "is being read."));
    } else if (!m_index || m_index->isEmpty()) {
        // One sentence says it all; a heading above it would only repeat its start.
        m_emptyTitle->clear();
        m_emptyText->setText(tr("No events yet. Releases, gate verdicts and operator actions "
                                "appear here as they happen."));
    }
    m_emptyTitle->setVisible(!m_emptyTitle->text().isEmpty());
    const bool empty = !m_problem.isEmpty() || m_loading || !m_index || m_index->isEmpty();
    m_pages->setCurrentIndex(empty ? 0 : 1);
}

bool TimelinePanel::showsEmptyState() const
{
    return m_pages->currentIndex() == 0;
}

QString TimelinePanel::emptyStateText() const
{
    return m_emptyText->text();
}

void TimelinePanel::updateButtons()
{
    auto setText = [](QPushButton *button, const QString &what, const QSet<QString> &chosen,
                      const QString &all) {
        QString text;
        if (chosen.isEmpty())
            text = all;
        else if (chosen.size() == 1)
            text = *chosen.cbegin();
        else
            text = QObject::tr("%1 chosen").arg(chosen.size());
        button->setText(QStringLiteral("%1: %2").arg(what, text));
    };
    setText(m_serviceButton, tr("Service"), m_filter.services, tr("all"));
    setText(m_environmentButton, tr("Environment"), m_filter.environments, tr("all"));

    QString events;
    const int categories = std::popcount(m_filter.categories & allTimelineCategories);
    if (m_filter.categories == troubleCategories) {
        events = tr("failures and rollbacks");
    } else if (categories == 1) {
        for (const TimelineCategory category : categoryOrder) {
            if (m_filter.categories & categoryBit(category))
                events = categoryText(category).toLower();
        }
    } else if (categories < timelineCategoryCount) {
        events = tr("%1 of %2 kinds").arg(categories).arg(timelineCategoryCount);
    } else if (!m_filter.kinds.isEmpty()) {
        events = m_filter.kinds.size() == 1 ? *m_filter.kinds.cbegin()
                                            : tr("%1 kinds").arg(m_filter.kinds.size());
    } else {
        events = tr("all");
    }
    if (categories < timelineCategoryCount && !m_filter.kinds.isEmpty())
        events += tr(", %1 kinds").arg(m_filter.kinds.size());
    m_eventsButton->setText(tr("Events: %1").arg(events));

    QString who;
    switch (m_filter.origin) {
    case TimelineFilter::Origin::Anyone: who = tr("anyone"); break;
    case TimelineFilter::Origin::Operators: who = tr("operators"); break;
    case TimelineFilter::Origin::Automatic: who = tr("automatic"); break;
    }
    if (!m_filter.actors.isEmpty())
        who = m_filter.actors.size() == 1 ? *m_filter.actors.cbegin()
                                          : tr("%1 chosen").arg(m_filter.actors.size());
    m_whoButton->setText(tr("Who: %1").arg(who));

    const int period = m_periodBox->findData(QVariant::fromValue(m_period));
    m_periodBox->setCurrentIndex(period);
    const bool custom = m_period == Period::Custom;
    m_fromEdit->setVisible(custom);
    m_toEdit->setVisible(custom);
    if (custom) {
        m_fromEdit->setDateTime(QDateTime::fromMSecsSinceEpoch(m_customFromMs, Qt::UTC));
        m_toEdit->setDateTime(QDateTime::fromMSecsSinceEpoch(m_customToMs, Qt::UTC));
    }
    const bool filtered
        = !m_filter.services.isEmpty() || !m_filter.environments.isEmpty()
          || !m_filter.kinds.isEmpty() || m_filter.categories != allTimelineCategories
          || !m_filter.actors.isEmpty() || m_filter.origin != TimelineFilter::Origin::Anyone
          || m_period != Period::All || !m_filter.text.isEmpty();
    m_clearButton->setEnabled(filtered);
}

namespace {

// Checkable entries for `names`, ticked where in `chosen`; an empty set means all. Ticks change
// the set in place, so the menu can stay open over several.
void fillChecklist(QMenu *menu, QStringList names, QSet<QString> *chosen, const QString &allText,
                   const std::function<void()> &changed)
{
    menu->clear();
    QAction *all = menu->addAction(allText);
    all->setCheckable(true);
    all->setChecked(chosen->isEmpty());
    menu->addSeparator();
    names.sort(Qt::CaseInsensitive);
    QList<QAction *> items;
    for (const QString &name : std::as_const(names)) {
        QAction *action = menu->addAction(name.isEmpty() ? QObject::tr("(console)") : name);
        action->setCheckable(true);
        action->setChecked(chosen->contains(name));
        items.append(action);
        QObject::connect(action, &QAction::toggled, menu, [chosen, name, all, changed](bool on) {
            if (on)
                chosen->insert(name);
            else
                chosen->remove(name);
            all->setChecked(chosen->isEmpty());
            changed();
        });
    }
    QObject::connect(all, &QAction::triggered, menu, [chosen, items, all, changed] {
        chosen->clear();
        for (QAction *item : items) {
            const QSignalBlocker blocker(item);
            item->setChecked(false);
        }
        all->setChecked(true);
        changed();
    });
}

} // namespace

void TimelinePanel::fillServiceMenu()
{
    fillChecklist(m_serviceButton->menu(), m_index ? m_index->services() : QStringList(),
                  &m_filter.services, tr("All services"), [this] { applyFilters(false); });
}

void TimelinePanel::fillEnvironmentMenu()
{
    fillChecklist(m_environmentButton->menu(), m_index ? m_index->environments() : QStringList(),
                  &m_filter.environments, tr("All environments"), [this] { applyFilters(false); });
}

void TimelinePanel::fillEventsMenu()
{
    QMenu *menu = m_eventsButton->menu();
    menu->clear();
    QAction *all = menu->addAction(tr("All events"));
    connect(all, &QAction::triggered, this, [this] {
        m_filter.categories = allTimelineCategories;
        m_filter.kinds.clear();
        applyFilters(false);
    });
    QAction *trouble = menu->addAction(tr("Failures and rollbacks only"));
    trouble->setToolTip(tr("Gates failed, rollbacks and backend errors: where an incident starts"));
    connect(trouble, &QAction::triggered, this, [this] {
        m_filter.categories = troubleCategories;
        applyFilters(false);
    });
    menu->addSection(tr("Shown"));
    for (const TimelineCategory category : categoryOrder) {
        QAction *action
            = menu->addAction(markIcon(category, false, palette()), categoryText(category));
        action->setCheckable(true);
        action->setChecked(m_filter.categories & categoryBit(category));
        connect(action, &QAction::toggled, this, [this, category](bool on) {
            if (on)
                m_filter.categories |= categoryBit(category);
            else
                m_filter.categories &= ~categoryBit(category);
            applyFilters(false);
        });
    }
    menu->addSeparator();
    auto *kinds = new ChecklistMenu(tr("Kinds"), menu);
    fillChecklist(kinds, m_index ? m_index->kinds() : QStringList(), &m_filter.kinds,
                  tr("All kinds"), [this] { applyFilters(false); });
    menu->addMenu(kinds);
}

void TimelinePanel::fillWhoMenu()
{
    QMenu *menu = m_whoButton->menu();
    menu->clear();
    auto origin = [&](const QString &text, TimelineFilter::Origin value) {
        QAction *action = menu->addAction(text);
        action->setCheckable(true);
        action->setChecked(m_filter.origin == value && m_filter.actors.isEmpty());
        connect(action, &QAction::triggered, this, [this, value, menu] {
            m_filter.origin = value;
            m_filter.actors.clear();
            applyFilters(false);
            menu->close();
        });
    };
    origin(tr("Anyone"), TimelineFilter::Origin::Anyone);
    origin(tr("Operators"), TimelineFilter::Origin::Operators);
    origin(tr("Automatic (%1)").arg(automaticActor), TimelineFilter::Origin::Automatic);
    menu->addSection(tr("Only"));
    QStringList actors = m_index ? m_index->actors() : QStringList();
    actors.sort(Qt::CaseInsensitive);
    for (const QString &actor : std::as_const(actors)) {
        QAction *action = menu->addAction(actor);
        action->setCheckable(true);
        action->setChecked(m_filter.actors.contains(actor));
        connect(action, &QAction::toggled, this, [this, actor](bool on) {
            if (on)
                m_filter.actors.insert(actor);
            else
                m_filter.actors.remove(actor);
            m_filter.origin = TimelineFilter::Origin::Anyone;
            applyFilters(false);
        });
    }
}

void TimelinePanel::setFilter(const TimelineFilter &filter)
{
    m_filter = filter;
    if (filter.fromMs || filter.toMs) {
        m_period = Period::Custom;
        m_customFromMs = filter.fromMs.value_or(m_index ? m_index->firstMs() : 0);
        m_customToMs = filter.toMs.value_or(m_index ? m_index->lastMs() + 1 : nowMs());
    } else {
        m_period = Period::All;
    }
    const QSignalBlocker blocker(m_search);
    m_search->setText(filter.text);
    m_searchTimer->stop();
    applyFilters(false);
}

void TimelinePanel::setPeriod(Period period)
{
    if (period == Period::Custom && m_period != Period::Custom) {
        // A custom period starts as what the view shows.
        m_customFromMs = m_view->fromMs();
        m_customToMs = m_view->toMs();
    }
    m_period = period;
    applyFilters(true);
}

void TimelinePanel::setCustomPeriod(qint64 fromMs, qint64 toMs)
{
    m_period = Period::Custom;
    m_customFromMs = std::min(fromMs, toMs);
    m_customToMs = std::max(fromMs, toMs);
    applyFilters(true);
}

void TimelinePanel::clearFilters()
{
    m_filter = TimelineFilter();
    m_period = Period::All;
    const QSignalBlocker blocker(m_search);
    m_search->clear();
    m_searchTimer->stop();
    m_view->setHighlightedLane(std::nullopt);
    applyFilters(false);
}

void TimelinePanel::focusService(const ServiceKey &service)
{
    m_filter.services = {service.name};
    m_filter.environments = {service.environment};
    m_view->setHighlightedLane(service);
    applyFilters(false);
}

const JournalEntry *TimelinePanel::entryFor(qint64 sequence) const
{
    if (!m_journal) {
        const auto found = m_entryAt.constFind(sequence);
        return found == m_entryAt.cend() ? nullptr : &m_entries.at(*found);
    }
    return m_fetched.object(sequence);
}

void TimelinePanel::fetch(QList<qint64> sequences)
{
    if (!m_journal)
        return;
    sequences.removeIf([this](qint64 sequence) {
        return m_fetched.contains(sequence) || m_fetching.contains(sequence)
               || m_missing.contains(sequence);
    });
    if (sequences.isEmpty())
        return;
    std::sort(sequences.begin(), sequences.end());
    for (const qint64 sequence : std::as_const(sequences))
        m_fetching.insert(sequence);
    auto found = std::make_shared<QList<JournalEntry>>();
    const quint64 generation = m_loadGeneration;
    QPointer<TimelinePanel> self(this);
    m_journal->run(
        [sequences, found](JournalStore *store) {
            if (!store)
                return;
            // Runs of consecutive sequences, as a list of the newest entries has, in one read.
            for (qsizetype first = 0; first < sequences.size();) {
                qsizetype end = first + 1;
                while (end < sequences.size() && sequences.at(end) == sequences.at(end - 1) + 1)
                    ++end;
                JournalFilter filter;
                filter.afterSequence = sequences.at(first) - 1;
                filter.limit = end - first;
                store->forEach(filter, [&found](const JournalEntry &entry) {
                    found->append(entry);
                    return true;
                });
                first = end;
            }
        },
        [self, sequences, found, generation] {
            if (!self || self->m_loadGeneration != generation)
                return;
            for (const qint64 sequence : sequences)
                self->m_fetching.remove(sequence);
            for (const JournalEntry &entry : std::as_const(*found))
                self->m_fetched.insert(entry.sequence, new JournalEntry(entry));
            for (const qint64 sequence : sequences) {
                if (!self->m_fetched.contains(sequence))
                    self->m_missing.insert(sequence);
            }
            self->entriesArrived();
        });
}

void TimelinePanel::entriesArrived()
{
    m_model->entriesArrived();
    m_view->entriesArrived();
    showDetails();
}

void TimelinePanel::onViewSelected(qsizetype row)
{
    m_selectedSequence = row >= 0 ? m_index->sequenceAt(row) : -1;
    if (!m_syncingSelection) {
        m_syncingSelection = true;
        const int tableRow = row >= 0 ? m_model->rowOf(quint32(row)) : -1;
        if (tableRow >= 0) {
            m_table->selectionModel()->setCurrentIndex(m_model->index(tableRow, 0),
                                                       QItemSelectionModel::ClearAndSelect
                                                           | QItemSelectionModel::Rows);
            m_table->scrollTo(m_model->index(tableRow, 0));
        } else {
            m_table->selectionModel()->clear();
        }
        m_syncingSelection = false;
    }
    showDetails();
    Q_EMIT selectedChanged();
}

void TimelinePanel::onTableSelected()
{
    if (m_syncingSelection)
        return;
    const QModelIndex current = m_table->selectionModel()->currentIndex();
    if (!current.isValid())
        return;
    m_syncingSelection = true;
    m_view->setSelectedRow(m_model->indexRow(current.row()), true);
    m_syncingSelection = false;
}

bool TimelinePanel::selectSequence(qint64 sequence)
{
    if (!m_index)
        return false;
    for (const quint32 row : m_matches->rows) {
        if (m_index->sequenceAt(row) == sequence) {
            m_view->setSelectedRow(row, true);
            return true;
        }
    }
    return false;
}

std::optional<JournalEntry> TimelinePanel::selectedEntry() const
{
    if (m_selectedSequence < 0)
        return std::nullopt;
    const JournalEntry *entry = entryFor(m_selectedSequence);
    return entry ? std::optional(*entry) : std::nullopt;
}

void TimelinePanel::showDetails()
{
    const qsizetype row = m_view->selectedRow();
    if (!m_index || row < 0) {
        m_detailPages->setCurrentIndex(0);
        return;
    }
    m_detailPages->setCurrentIndex(1);
    const qint64 sequence = m_index->sequenceAt(row);
    const JournalEntry *entry = entryFor(sequence);
    if (!entry && m_journal)
        fetch({sequence});
    const ServiceKey &lane = m_index->lane(m_index->laneAt(row));
    const TimelineCategory category = m_index->categoryAt(row);
    m_detailTitle->setText(timelineKindText(m_index->kindAt(row), category));
    QPalette titlePalette = m_detailTitle->palette();
    titlePalette.setColor(QPalette::WindowText, category == TimelineCategory::Progress
                                                    ? palette().color(QPalette::WindowText)
                                                    : timelineCategoryColor(category, palette()));
    m_detailTitle->setPalette(titlePalette);

    auto set = [this](Field field, const QString &text) {
        m_detailValues[field]->setText(text);
        m_detailForm->setRowVisible(int(field), !text.isEmpty());
    };
    set(When, QDateTime::fromMSecsSinceEpoch(m_index->timeAt(row), Qt::UTC)
                      .toString(QStringLiteral("ddd yyyy-MM-dd HH:mm:ss.zzz"))
                  + QStringLiteral(" UTC"));
    QString sequenceText = QStringLiteral("#%1").arg(sequence);
    if (entry && !entry->hash.isEmpty())
        sequenceText += tr(" · hash %1…").arg(QString::fromLatin1(entry->hash.left(12)));
    set(Sequence, sequenceText);
    const QString actor = m_index->actorAt(row);
    set(Who, m_index->isOperatorAt(row) ? tr("%1 (operator)").arg(actor)
                                        : tr("%1 (automatic)").arg(actor));
    set(Service, lane.name.isEmpty() ? tr("the console itself")
                                     : QStringLiteral("%1 (%2)").arg(lane.name, lane.environment));
    set(Release, m_index->releaseAt(row));
    set(Kind, m_index->kindAt(row));
    if (!entry) {
        for (const Field field : {Stage, Action, Outcome})
            set(field, QString());
        set(Reason, m_journal ? tr("Loading…") : QString());
        m_valuesHeading->hide();
        m_values->hide();
        return;
    }
    set(Stage, entry->stage >= 0 ? QString::number(entry->stage + 1) : QString());
    set(Action, entry->action);
    set(Reason, entry->reason);
    set(Outcome, entry->outcome);
    QPalette outcomePalette = palette();
    if (category == TimelineCategory::BackendError)
        outcomePalette.setColor(QPalette::WindowText,
                                timelineCategoryColor(TimelineCategory::BackendError, palette()));
    m_detailValues[Outcome]->setPalette(outcomePalette);

    m_values->setRowCount(int(entry->values.size()));
    int valueRow = 0;
    for (auto it = entry->values.cbegin(); it != entry->values.cend(); ++it, ++valueRow) {
        m_values->setItem(valueRow, 0, new QTableWidgetItem(it.key()));
        auto *value = new QTableWidgetItem(formatValue(it.value()));
        value->setTextAlignment(Qt::AlignRight | Qt::AlignVCenter);
        m_values->setItem(valueRow, 1, value);
    }
    m_valuesHeading->setVisible(!entry->values.isEmpty());
    m_values->setVisible(!entry->values.isEmpty());
}

QString TimelinePanel::detailsText() const
{
    if (m_detailPages->currentIndex() == 0)
        return {};
    QStringList lines{m_detailTitle->text()};
    for (int field = When; field <= Outcome; ++field) {
        if (!m_detailForm->isRowVisible(field))
            continue;
        auto *label
            = qobject_cast<QLabel *>(m_detailForm->itemAt(field, QFormLayout::LabelRole)->widget());
        lines.append(QStringLiteral("%1: %2").arg(label->text(), m_detailValues[field]->text()));
    }
    if (m_values->isVisibleTo(m_detailPages)) {
        for (int row = 0; row < m_values->rowCount(); ++row)
            lines.append(QStringLiteral("%1 = %2").arg(m_values->item(row, 0)->text(),
                                                       m_values->item(row, 1)->text()));
    }
    return lines.join(QLatin1Char('\n'));
}

} // namespace sb
