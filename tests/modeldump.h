#pragma once

#include <QAbstractItemModel>
#include <QString>

// A flat model as text, for whole-table comparisons in tests: the horizontal header line first,
// then one line per row, cells joined with " | ".
QString dumpModel(const QAbstractItemModel &model, int role = Qt::DisplayRole);
