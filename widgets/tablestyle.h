#pragma once

class QLabel;
class QString;
class QTableView;
class QWidget;

namespace sb {

// The console's tables all read the same way: whole rows selected, no editing, no grid,
// alternating rows of a fixed height, headers on the left.
constexpr int tableRowHeight = 26;
void configureTable(QTableView *view);

// A bold heading above a section of a pane ("Versions", "Gates").
QLabel *sectionLabel(const QString &text, QWidget *parent);

} // namespace sb
