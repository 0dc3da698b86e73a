#include "modeldump.h"

#include <QStringList>

QString dumpModel(const QAbstractItemModel &model, int role)
{
    const QString separator = QStringLiteral(" | ");
    QStringList lines;
    QStringList cells;
    for (int column = 0; column < model.columnCount(); ++column)
        cells << model.headerData(column, Qt::Horizontal, Qt::DisplayRole).toString();
    lines << cells.join(separator);
    for (int row = 0; row < model.rowCount(); ++row) {
        cells.clear();
        for (int column = 0; column < model.columnCount(); ++column)
            cells << model.data(model.index(row, column), role).toString();
        lines << cells.join(separator);
    }
    return lines.join(QLatin1Char('\n'));
}
