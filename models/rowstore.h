#pragma once

#include <QAbstractItemModel>
#include <QDebug>
#include <QHash>
#include <QModelIndexList>

#include <algorithm>
#include <functional>
#include <utility>
#include <vector>

namespace sb {

// The columns of one row whose displayed values changed; empty when none did.
struct ColumnSpan {
    int first = -1;
    int last = -1;

    bool isEmpty() const { return first < 0; }
    // Grows the span to cover `column`; models build spans column by column.
    void add(int column)
    {
        first = first < 0 ? column : std::min(first, column);
        last = std::max(last, column);
    }
    friend bool operator==(const ColumnSpan &, const ColumnSpan &) = default;
};

// The rows of a flat model, and the diff that carries them from one snapshot to the next with the
// fewest signals: rows are matched by a stable key, so selection, the current index and the scroll
// position survive a live refresh, and views repaint only what changed.
//
// Removals and insertions run through a gap buffer, in ascending order, so each row moves at most
// once per phase. A refresh that retires or starts hundreds of scattered instances in a
// 10,000-row model stays linear instead of shifting the tail once per range. Between each begin/end
// pair, at() answers the row as views currently see it, which is what QAbstractItemModelTester
// and persistent indexes rely on.
//
// The model passes itself to apply() and must befriend RowStore, which calls its protected
// begin/end functions exactly as the model itself would.
template <typename Row, typename Key>
class RowStore
{
public:
    int size() const { return int(m_data.size() - gapSize()); }
    const Row &at(int row) const
    {
        const qsizetype physical = row < m_gapBegin ? row : row + gapSize();
        return m_data[size_t(physical)];
    }
    // -1 when absent. Valid between updates, not inside one.
    int indexOf(const Key &key) const { return m_index.value(key, -1); }

    // For the first load or a change of subject; the model wraps this in begin/endResetModel.
    template <typename KeyOf>
    void reset(std::vector<Row> rows, KeyOf keyOf)
    {
        m_data = std::move(rows);
        m_gapBegin = m_gapEnd = 0;
        dropDuplicates(m_data, keyOf, m_index);
    }

    // `keyOf` is anything std::invoke takes, a data member pointer included.
    // `next` is the complete new row list in display order. `stays(old, next)` says whether a row
    // whose key survives may keep its place (an instance whose version changed must move);
    // `changedColumns(old, next)` says which displayed columns differ.
    template <typename Model, typename KeyOf, typename Stays, typename ChangedColumns>
    void apply(Model *model, std::vector<Row> next, KeyOf keyOf, Stays stays,
               ChangedColumns changedColumns)
    {
        QHash<Key, int> nextIndex;
        dropDuplicates(next, keyOf, nextIndex);

        // 1. Rows that go, and where the survivors are headed.
        std::vector<std::pair<int, int>> removals; // inclusive, ascending
        std::vector<int> survivorTarget;
        survivorTarget.reserve(next.size());
        for (int row = 0; row < size(); ++row) {
            const auto it = nextIndex.constFind(std::invoke(keyOf, at(row)));
            if (it != nextIndex.cend() && stays(at(row), next[size_t(*it)])) {
                survivorTarget.push_back(*it);
            } else if (!removals.empty() && removals.back().second == row - 1) {
                removals.back().second = row;
            } else {
                removals.emplace_back(row, row);
            }
        }
        if (!removals.empty()) {
            int removed = 0; // earlier ranges are gone by the time later ones are announced
            for (const auto &[first, last] : removals) {
                model->beginRemoveRows(QModelIndex(), first - removed, last - removed);
                moveGapTo(first - removed);
                m_gapEnd += last - first + 1;
                model->endRemoveRows();
                removed += last - first + 1;
            }
            closeGap();
        }

        // 2. Survivors in a new relative order (a workspace reordered its services): rare, so a
        // plain layout change that carries persistent indexes along is enough.
        if (!std::is_sorted(survivorTarget.begin(), survivorTarget.end()))
            reorder(model, survivorTarget);

        // 3. Newcomers, in runs of adjacent final positions. Everything before a run is already
        // in its final place, so the run's final position is also its current one.
        std::vector<bool> survives(next.size(), false);
        for (int target : survivorTarget)
            survives[size_t(target)] = true;
        const int inserted = int(next.size() - survivorTarget.size());
        if (inserted > 0) {
            openGapAtFront(inserted);
            for (int first = 0; first < int(next.size());) {
                if (survives[size_t(first)]) {
                    ++first;
                    continue;
                }
                int last = first;
                while (last + 1 < int(next.size()) && !survives[size_t(last + 1)])
                    ++last;
                moveGapTo(first);
                model->beginInsertRows(QModelIndex(), first, last);
                for (int row = first; row <= last; ++row)
                    m_data[size_t(m_gapBegin++)] = next[size_t(row)];
                model->endInsertRows();
                first = last + 1;
            }
            Q_ASSERT(gapSize() == 0);
        }

        // 4. Changed values of survivors, one dataChanged per run of adjacent rows that changed
        // the same columns.
        std::vector<std::pair<int, ColumnSpan>> changed;
        for (int row = 0; row < int(next.size()); ++row) {
            if (!survives[size_t(row)])
                continue;
            const ColumnSpan span = changedColumns(m_data[size_t(row)], next[size_t(row)]);
            if (!span.isEmpty())
                changed.emplace_back(row, span);
        }
        m_data = std::move(next);
        m_gapBegin = m_gapEnd = 0;
        m_index = std::move(nextIndex);
        for (size_t i = 0; i < changed.size();) {
            size_t j = i;
            while (j + 1 < changed.size() && changed[j + 1].first == changed[j].first + 1
                   && changed[j + 1].second == changed[i].second)
                ++j;
            const ColumnSpan span = changed[i].second;
            emit model->dataChanged(model->index(changed[i].first, span.first),
                                    model->index(changed[j].first, span.last));
            i = j + 1;
        }
    }

private:
    qsizetype gapSize() const { return m_gapEnd - m_gapBegin; }

    // Gaps only ever move forward during one phase; that is what keeps a phase linear.
    void moveGapTo(qsizetype row)
    {
        Q_ASSERT(row >= m_gapBegin);
        const qsizetype count = row - m_gapBegin;
        std::move(m_data.begin() + m_gapEnd, m_data.begin() + m_gapEnd + count,
                  m_data.begin() + m_gapBegin);
        m_gapBegin += count;
        m_gapEnd += count;
    }
    void closeGap()
    {
        moveGapTo(size());
        m_data.resize(size_t(m_gapBegin));
        m_gapEnd = m_gapBegin;
    }
    void openGapAtFront(int count)
    {
        const size_t oldSize = m_data.size();
        m_data.resize(oldSize + size_t(count));
        std::move_backward(m_data.begin(), m_data.begin() + qsizetype(oldSize), m_data.end());
        m_gapBegin = 0;
        m_gapEnd = count;
    }

    template <typename Model>
    void reorder(Model *model, std::vector<int> &survivorTarget)
    {
        const int count = int(survivorTarget.size());
        std::vector<int> byTarget(static_cast<size_t>(count));
        for (int row = 0; row < count; ++row)
            byTarget[size_t(row)] = row;
        std::sort(byTarget.begin(), byTarget.end(), [&survivorTarget](int a, int b) {
            return survivorTarget[size_t(a)] < survivorTarget[size_t(b)];
        });
        std::vector<int> newRowOf(static_cast<size_t>(count));
        for (int rank = 0; rank < count; ++rank)
            newRowOf[size_t(byTarget[size_t(rank)])] = rank;

        emit model->layoutAboutToBeChanged({}, QAbstractItemModel::VerticalSortHint);
        const QModelIndexList from = model->persistentIndexList();
        QModelIndexList to;
        to.reserve(from.size());
        for (const QModelIndex &index : from)
            to.append(model->index(newRowOf[size_t(index.row())], index.column()));
        std::vector<Row> reordered;
        reordered.reserve(size_t(count));
        for (int row : byTarget)
            reordered.push_back(std::move(m_data[size_t(row)]));
        m_data = std::move(reordered);
        std::sort(survivorTarget.begin(), survivorTarget.end());
        model->changePersistentIndexList(from, to);
        emit model->layoutChanged({}, QAbstractItemModel::VerticalSortHint);
    }

    // Two rows with one key would make every later diff ambiguous; an adapter that reports the
    // same instance twice is wrong, and the first report wins.
    template <typename KeyOf>
    static void dropDuplicates(std::vector<Row> &rows, KeyOf keyOf, QHash<Key, int> &index)
    {
        index.clear();
        index.reserve(qsizetype(rows.size()));
        size_t kept = 0;
        for (size_t i = 0; i < rows.size(); ++i) {
            const Key key = std::invoke(keyOf, rows[i]);
            if (index.contains(key)) {
                qWarning() << "signalbox: dropping a duplicate row" << key;
                continue;
            }
            index.insert(key, int(kept));
            if (kept != i)
                rows[kept] = std::move(rows[i]);
            ++kept;
        }
        rows.resize(kept);
    }

    std::vector<Row> m_data;
    // Rows in [m_gapBegin, m_gapEnd) of m_data are not part of the model.
    qsizetype m_gapBegin = 0;
    qsizetype m_gapEnd = 0;
    QHash<Key, int> m_index;
};

} // namespace sb
