#pragma once

#include "journal.h"
#include "timelineindex.h"

#include <QCache>
#include <QPointer>
#include <QSet>
#include <QWidget>

#include <memory>
#include <optional>

class QComboBox;
class QDateTimeEdit;
class QFormLayout;
class QLabel;
class QLineEdit;
class QPushButton;
class QStackedWidget;
class QTableView;
class QTableWidget;
class QTimer;

namespace sb {

class Clock;
class TextLine;
class TimelineModel;
class TimelineView;

// The Timeline page: the journal on a time axis, to reconstruct an incident or watch today's
// releases. A filter bar (services, environments, kinds of event, who, a period, a search), the
// lanes, how many entries match, the matching entries as a list, and the selected entry in full:
// time to the millisecond, sequence and hash, who, what, why, the outcome and every metric value
// the decision saw.
//
// The journal is read once, off the GUI thread, into a TimelineIndex; new entries follow live.
// Filters over a large journal run on the pool, a newer filter replacing an older one's result.
// Full entries are fetched from the journal as they come into view.
class TimelinePanel : public QWidget
{
    Q_OBJECT
public:
    enum class Period { All, LastHour, LastDay, LastWeek, Custom };
    Q_ENUM(Period)

    explicit TimelinePanel(QWidget *parent = nullptr);
    ~TimelinePanel() override;

    // Periods ("last hour") count back from this clock's time; from the system's without one.
    void setClock(Clock *clock);
    // Reads every entry of `journal` on its thread, then follows Journal::appended. Not owned.
    void setJournal(Journal *journal);
    // Shows these entries instead of a journal's, kept in memory as given.
    void setEntries(const QList<JournalEntry> &entries);
    // Shows only this service's lane; clearing the filters shows every lane again.
    void focusService(const ServiceKey &service);
    // The selected entry, once its details are at hand.
    std::optional<JournalEntry> selectedEntry() const;
    // Selects an entry by sequence and brings it into view; false when it is not shown.
    bool selectSequence(qint64 sequence);

    const TimelineFilter &filter() const { return m_filter; }
    // Every filter at once, the search field and period included (the period turns custom
    // when the filter has a time range).
    void setFilter(const TimelineFilter &filter);
    void setPeriod(Period period);
    // [fromMs, toMs), milliseconds since the epoch.
    void setCustomPeriod(qint64 fromMs, qint64 toMs);
    Period period() const { return m_period; }
    void clearFilters();

    TimelineView *view() const { return m_view; }
    TimelineModel *model() const { return m_model; }
    QTableView *table() const { return m_table; }
    QLineEdit *searchField() const { return m_search; }
    const TimelineIndex *index() const { return m_index.get(); }
    qsizetype matchCount() const;
    // "1,204 of 1,000,000 events", as shown.
    QString countText() const;
    // True while the page says there is nothing (yet) instead of showing the timeline.
    bool showsEmptyState() const;
    QString emptyStateText() const;
    // The details pane as "label: value" lines, values included; empty with nothing selected.
    QString detailsText() const;
    // Reading the journal, or filtering off the GUI thread.
    bool isBusy() const { return m_loading || m_filtering; }

Q_SIGNALS:
    void selectedChanged();
    // A filter's result is on show.
    void matchesShown();

private:
    enum Field { When, Sequence, Who, Service, Release, Kind, Stage, Action, Reason, Outcome };

    QWidget *buildFilterBar();
    QWidget *buildDetails();
    void adopt(std::shared_ptr<TimelineIndex> index, const QString &problem);
    void appendEntries(const QList<sb::JournalEntry> &entries);
    void applyFilters(bool fitView);
    void refilter();
    void showMatches(TimelineMatches matches);
    void updateCount();
    void updateButtons();
    void updateEmptyState();
    void showDetails();
    void onViewSelected(qsizetype row);
    void onTableSelected();
    qint64 nowMs() const;
    std::optional<std::pair<qint64, qint64>> periodRange() const;
    const JournalEntry *entryFor(qint64 sequence) const;
    void fetch(QList<qint64> sequences);
    void entriesArrived();
    void fillServiceMenu();
    void fillEnvironmentMenu();
    void fillEventsMenu();
    void fillWhoMenu();

    QPointer<Clock> m_clock;
    QPointer<Journal> m_journal;
    std::shared_ptr<TimelineIndex> m_index;
    // What the view and the list show; replaced whole by a new filter, grown in place by live
    // entries.
    std::shared_ptr<TimelineMatches> m_matches;
    QList<JournalEntry> m_entries; // setEntries()
    QHash<qint64, qsizetype> m_entryAt;
    mutable QCache<qint64, JournalEntry> m_fetched;
    QSet<qint64> m_fetching;
    QSet<qint64> m_missing; // asked for and not found: never asked again
    QString m_problem;

    TimelineFilter m_filter;
    Period m_period = Period::All;
    qint64 m_customFromMs = 0;
    qint64 m_customToMs = 0;
    bool m_loading = false;
    quint64 m_loadGeneration = 0;
    bool m_filtering = false;
    bool m_refilterPending = false;
    bool m_fitPending = false;
    quint64 m_filterGeneration = 0;
    QList<JournalEntry> m_pendingAppends;
    qint64 m_selectedSequence = -1;
    bool m_syncingSelection = false;

    QStackedWidget *m_pages;
    QLabel *m_emptyTitle;
    QLabel *m_emptyText;
    QPushButton *m_serviceButton;
    QPushButton *m_environmentButton;
    QPushButton *m_eventsButton;
    QPushButton *m_whoButton;
    QPushButton *m_clearButton;
    QComboBox *m_periodBox;
    QDateTimeEdit *m_fromEdit;
    QDateTimeEdit *m_toEdit;
    QLineEdit *m_search;
    QTimer *m_searchTimer;
    TextLine *m_count;
    TimelineView *m_view;
    TimelineModel *m_model;
    QTableView *m_table;
    QStackedWidget *m_detailPages;
    QLabel *m_detailTitle;
    QFormLayout *m_detailForm;
    QLabel *m_detailValues[Outcome + 1];
    QLabel *m_valuesHeading;
    QTableWidget *m_values;
};

} // namespace sb
