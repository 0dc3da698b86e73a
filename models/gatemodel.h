#pragma once

#include "bluegreenengine.h"
#include "canaryengine.h"
#include "rowstore.h"

#include <QAbstractTableModel>

namespace sb {

// One row per gate of a canary release's current stage, or of a blue-green release's pre- and
// post-switch checks: the metric it checks, the values its last measurement saw, the bound it
// applies, its verdict and why; the gate's name and settings are in the tooltip. Rows are keyed
// by gate (and check); the same release refreshes in place, another release or stage resets.
//
// A sequential gate's row reads the judge's evidence for the whole release instead: the gate's
// name; where the arms' values go, the confidence interval for k of each counted event, a line
// each; what the bounds on k mean; and the judge's decision in words. The e-values, totals and
// the slow threshold are in the tooltip.
class GateModel : public QAbstractTableModel
{
    Q_OBJECT
public:
    enum Column {
        MetricColumn,
        CanaryColumn,
        BaselineColumn,
        BoundColumn,
        VerdictColumn,
        WhyColumn,
        ColumnCount
    };
    Q_ENUM(Column)

    enum Role {
        GateRole = Qt::UserRole, // QString, the gate's name
        // int Verdict, invalid before the first measurement. A sequential gate's is its
        // judge's decision, as verdictOf() reads it.
        VerdictRole,
        FailuresRole,     // int failing measurements in this stage
        FailureLimitRole, // int
        JudgeRole,        // GateModel::Judge for a sequential gate, invalid for a threshold gate
    };
    Q_ENUM(Role)

    // A sequential gate's settings and what its evidence says now.
    struct Judge {
        QString gate;
        SequentialSettings settings;
        std::optional<double> slowerThanMs; // none until the gate fixed it
        JudgeReading reading;
    };

    struct Row {
        QString key; // unique in the model: the gate, or "pre-switch/<gate>"
        QString gate;
        GateSpec spec;
        GateState state;
        QString check;   // blue-green: "Pre-switch" or "Post-switch", before the metric
        QString pending; // the why before the first measurement
        // A sequential gate's evidence for the whole release, and its reading: read once per
        // refresh rather than in every call to data().
        std::optional<SequentialGateState> judge;
        std::optional<JudgeReading> reading;
    };

    explicit GateModel(QObject *parent = nullptr);

    // The verdict a judge's decision reads as, and is coloured as: regression fails, safe to
    // promote passes, no evidence yet waits.
    static Verdict verdictOf(JudgeDecision decision);
    // An interval for k as the gates table writes it: "k 0.52–1.9", "k ≥ 1.2", "k unbounded".
    static QString intervalText(const RatioInterval &ratio);

    // The arms are the canary and the baseline.
    void setRelease(const CanaryPlan &plan, const CanaryStatus &status);
    // The arms are the new colour and the old one; every gate of the plan has a row, measured
    // or not.
    void setRelease(const BlueGreenPlan &plan, const BlueGreenStatus &status);
    void clear();

    int rowCount(const QModelIndex &parent = QModelIndex()) const override;
    int columnCount(const QModelIndex &parent = QModelIndex()) const override;
    QVariant data(const QModelIndex &index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation,
                        int role = Qt::DisplayRole) const override;

private:
    static ColumnSpan changedColumns(const Row &before, const Row &after);
    QVariant display(const Row &row, int column) const;
    QVariant displayJudge(const Row &row, int column) const;
    QString judgeToolTip(const Row &row) const;
    void setRows(const QString &releaseId, int stage, std::vector<Row> rows, bool blueGreen);

    template <typename, typename>
    friend class RowStore;

    RowStore<Row, QString> m_rows;
    QString m_releaseId;
    int m_stage = -1;
    bool m_blueGreen = false; // names the arms New and Old instead of Canary and Baseline
};

} // namespace sb

Q_DECLARE_METATYPE(sb::GateModel::Judge)
