#pragma once

#include "releaseevent.h"

#include <QWidget>

class QLabel;
class QStackedWidget;

namespace sb {

struct ReleaseTrace;
class TimeSeriesChart;

// A canary release's live charts, side by side: error rate and p99 latency, canary against
// baseline with the gate's limit, stage boundaries and the release's events marked. Before the
// first sample it says so instead of drawing empty axes.
class ReleaseCharts : public QWidget
{
    Q_OBJECT
public:
    // Series indices, the same in both charts.
    enum Series { Canary, Baseline, Limit };

    explicit ReleaseCharts(QWidget *parent = nullptr);

    void setTrace(const ReleaseTrace &trace, const QString &canaryVersion,
                  const QString &stableVersion);
    // Marks on both charts where the release's telling events happened: gates failed, pauses and
    // resumes, promotions, switches, aborts, rollbacks, backend errors; each in the colour and
    // with the words the timeline gives it. Stage advances are the stage lines already.
    void setEvents(const QList<ReleaseEvent> &events);
    void clear();
    // True while there is nothing to draw and the empty-state text shows.
    bool isEmpty() const;
    QString emptyText() const;

    TimeSeriesChart *errorRateChart() const { return m_errorRate; }
    TimeSeriesChart *latencyChart() const { return m_latency; }

protected:
    void changeEvent(QEvent *event) override;

private:
    void applyColors();

    QList<ReleaseEvent> m_events; // as given, to colour again with a new palette
    QStackedWidget *m_pages;
    QLabel *m_emptyLabel;
    TimeSeriesChart *m_errorRate;
    TimeSeriesChart *m_latency;
};

} // namespace sb
