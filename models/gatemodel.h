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
        VerdictRole,             // int Verdict, invalid before the first measurement
        FailuresRole,            // int failing measurements in this stage
        FailureLimitRole,        // int
    };
    Q_ENUM(Role)

    struct Row {
        QString key; // unique in the model: the gate, or "pre-switch/<gate>"
        QString gate;
        GateSpec spec;
        GateState state;
        QString check;   // blue-green: "Pre-switch" or "Post-switch", before the metric
        QString pending; // the why before the first measurement

        friend bool operator==(const Row &, const Row &) = default;
    };

    explicit GateModel(QObject *parent = nullptr);

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
    void setRows(const QString &releaseId, int stage, std::vector<Row> rows, bool blueGreen);

    template <typename, typename>
    friend class RowStore;

    RowStore<Row, QString> m_rows;
    QString m_releaseId;
    int m_stage = -1;
    bool m_blueGreen = false; // names the arms New and Old instead of Canary and Baseline
};

} // namespace sb
