//===- Csv.h - Reading the files the ponder command writes ------*- C++ -*-===//
//
// The tool tests read back metrics CSVs by column name, as a user's script
// would.
//
//===----------------------------------------------------------------------===//

#ifndef PONDER_UNITTESTS_TOOLS_CSV_H
#define PONDER_UNITTESTS_TOOLS_CSV_H

#include <algorithm>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace ponder {

inline std::string slurp(const std::string &path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

/// Column `name` of the CSV at `path` (its first line the header), one cell
/// per row, "" where a row has none.
inline std::vector<std::string> csvColumn(const std::string &path,
                                          const std::string &name) {
  std::stringstream in(slurp(path));
  std::string line, cell;
  std::getline(in, line);
  std::stringstream header(line);
  size_t index = 0;
  while (std::getline(header, cell, ',') && cell != name)
    ++index;
  std::vector<std::string> values;
  while (std::getline(in, line)) {
    std::vector<std::string> cells;
    std::stringstream row(line);
    while (std::getline(row, cell, ','))
      cells.push_back(cell);
    cells.resize(std::max(cells.size(), index + 1));
    values.push_back(cells[index]);
  }
  return values;
}

} // namespace ponder

#endif // PONDER_UNITTESTS_TOOLS_CSV_H
