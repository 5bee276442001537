//===- Plot.cpp - Evaluation and training plots with gnuplot --------------===//
//
// The CSVs are parsed here and their numbers handed to gnuplot as inline data
// blocks: gnuplot never sees a token symbol as data (a `#` or `"` token would
// otherwise read as a comment or a quote), a column that an older file lacks
// or that is empty on every row is left out of the plot instead of failing
// it ("all points undefined"), and each series lists only its rows with a
// value, so lines run across the steps without a held-out evaluation.
//
//===----------------------------------------------------------------------===//

#include "training/Plot.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <initializer_list>
#include <limits>
#include <vector>

#include <fcntl.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

namespace ponder {

namespace {

constexpr double kMissing = std::numeric_limits<double>::quiet_NaN();

/// A CSV file: the header's column names and the rows' fields, each row
/// with its line number in the file (for errors).
struct CsvTable {
  std::string path;
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> rows;
  std::vector<int64_t> lines;

  /// The index of column `name`, or -1.
  int column(const std::string &name) const {
    for (size_t i = 0; i < header.size(); ++i)
      if (header[i] == name)
        return int(i);
    return -1;
  }
};

std::string trim(const std::string &s) {
  size_t b = s.find_first_not_of(" \t\r");
  if (b == std::string::npos)
    return "";
  size_t e = s.find_last_not_of(" \t\r");
  return s.substr(b, e - b + 1);
}

/// Splits one CSV line at its commas. The project's writers quote nothing
/// (a token symbol may itself be `"`), so neither does this.
std::vector<std::string> splitCsvLine(const std::string &line) {
  std::vector<std::string> fields;
  size_t start = 0;
  for (;;) {
    size_t comma = line.find(',', start);
    if (comma == std::string::npos) {
      fields.push_back(line.substr(start));
      return fields;
    }
    fields.push_back(line.substr(start, comma - start));
    start = comma + 1;
  }
}

/// Reads `path` as CSV with a header line; blank lines are skipped.
StatusOr<CsvTable> readCsv(const std::string &path) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0)
    return Status::error(path + ": no such file");
  if (!S_ISREG(st.st_mode))
    return Status::error(path + ": not a regular file");
  std::ifstream in(path);
  if (!in)
    return Status::error(path + ": cannot read the file");
  CsvTable table;
  table.path = path;
  std::string line;
  int64_t lineNumber = 0;
  while (std::getline(in, line)) {
    ++lineNumber;
    if (!line.empty() && line.back() == '\r')
      line.pop_back();
    if (trim(line).empty())
      continue;
    std::vector<std::string> fields = splitCsvLine(line);
    if (table.header.empty()) {
      for (std::string &f : fields)
        table.header.push_back(trim(f));
      continue;
    }
    table.rows.push_back(std::move(fields));
    table.lines.push_back(lineNumber);
  }
  if (in.bad())
    return Status::error(path + ": cannot read the file");
  if (table.header.empty())
    return Status::error(path + ": empty file, expected a CSV header");
  return table;
}

/// The number in `field`, NaN when the field is empty (a missing value).
/// False when the field is something else.
bool parseNumber(const std::string &field, double &value) {
  std::string s = trim(field);
  if (s.empty()) {
    value = kMissing;
    return true;
  }
  errno = 0;
  char *end = nullptr;
  value = std::strtod(s.c_str(), &end);
  if (end != s.c_str() + s.size())
    return false;
  if (!std::isfinite(value))
    value = kMissing; // "nan", "inf": nothing to draw
  return true;
}

/// Column `name` of `table` as numbers (NaN where empty), or all NaN when
/// the table has no such column.
StatusOr<std::vector<double>> numbers(const CsvTable &table,
                                      const std::string &name) {
  std::vector<double> values(table.rows.size(), kMissing);
  int c = table.column(name);
  if (c < 0)
    return values;
  for (size_t r = 0; r < table.rows.size(); ++r) {
    const std::vector<std::string> &row = table.rows[r];
    if (size_t(c) >= row.size())
      continue; // a short row (a file being written): missing
    if (!parseNumber(row[size_t(c)], values[r]))
      return Status::error(table.path + " line " +
                           std::to_string(table.lines[r]) + ": column '" +
                           name + "' is '" + trim(row[size_t(c)]) +
                           "', expected a number or nothing");
  }
  return values;
}

Status requireColumns(const CsvTable &table,
                      std::initializer_list<const char *> names) {
  for (const char *name : names)
    if (table.column(name) < 0)
      return Status::error(table.path + ": no column '" + name +
                           "' in the header");
  return Status::ok();
}

bool anyValue(const std::vector<double> &v) {
  return std::any_of(v.begin(), v.end(),
                     [](double x) { return !std::isnan(x); });
}

double maxValue(const std::vector<double> &v) {
  double m = 0;
  for (double x : v)
    if (!std::isnan(x))
      m = std::max(m, x);
  return m;
}

/// `s` as a gnuplot string literal: double quotes, with `\\` and `\"`
/// (gnuplot 5.4 misreads a single-quoted string that starts with a doubled
/// quote). Control characters (a newline would end the command) become
/// spaces. The terminal runs noenhanced, so `_`, `^`, `{`, `@` stay literal.
std::string quote(const std::string &s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\')
      out += '\\';
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f)
      out += ' ';
    else
      out += c;
  }
  return out + "\"";
}

std::string number(double x) {
  if (std::isnan(x))
    return "NaN";
  char buffer[32];
  std::snprintf(buffer, sizeof(buffer), "%.9g", x);
  return buffer;
}

std::string baseName(const std::string &path) {
  size_t slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

/// The per-position data of the evaluation CSV.
struct Positions {
  std::vector<double> position, scored, count, thinkTokens, depth, thinkDepth;
  std::vector<std::string> token;
};

StatusOr<Positions> readPositions(const std::string &path) {
  StatusOr<CsvTable> table = readCsv(path);
  if (!table)
    return table.getStatus();
  if (Status s = requireColumns(*table, {"position", "token", "depth"}); !s)
    return s;
  if (table->rows.empty())
    return Status::error(path + ": no rows after the header");
  // A token symbol with a comma in it (byte-level vocabularies) splits into
  // more fields than the header has: join them back into the token.
  int tokenColumn = table->column("token");
  for (size_t r = 0; r < table->rows.size(); ++r) {
    std::vector<std::string> &row = table->rows[r];
    size_t extra = row.size() > table->header.size()
                       ? row.size() - table->header.size()
                       : 0;
    if (extra == 0)
      continue;
    std::string token;
    for (size_t i = 0; i <= extra; ++i)
      token += (i ? "," : "") + row[size_t(tokenColumn) + i];
    row.erase(row.begin() + tokenColumn + 1,
              row.begin() + tokenColumn + 1 + long(extra));
    row[size_t(tokenColumn)] = token;
  }

  Positions p;
  struct Column {
    const char *name;
    std::vector<double> *values;
  } columns[] = {{"position", &p.position}, {"scored", &p.scored},
                 {"count", &p.count},       {"think_tokens", &p.thinkTokens},
                 {"depth", &p.depth},       {"think_depth", &p.thinkDepth}};
  for (const Column &c : columns) {
    StatusOr<std::vector<double>> v = numbers(*table, c.name);
    if (!v)
      return v.getStatus();
    *c.values = std::move(*v);
  }
  for (size_t r = 0; r < table->rows.size(); ++r) {
    if (std::isnan(p.position[r]))
      return Status::error(path + " line " + std::to_string(table->lines[r]) +
                           ": no position");
    const std::vector<std::string> &row = table->rows[r];
    p.token.push_back(size_t(tokenColumn) < row.size()
                          ? row[size_t(tokenColumn)]
                          : std::string());
  }
  return p;
}

/// The series of the metrics CSV that the bottom panel draws.
struct Metrics {
  std::vector<double> step, loss, heldout, reward, thinking;
};

StatusOr<Metrics> readMetrics(const std::string &path) {
  StatusOr<CsvTable> table = readCsv(path);
  if (!table)
    return table.getStatus();
  if (Status s = requireColumns(*table, {"step", "loss"}); !s)
    return s;
  Metrics m;
  struct Column {
    const char *name;
    std::vector<double> *values;
  } columns[] = {{"step", &m.step},
                 {"loss", &m.loss},
                 {"heldout_accuracy", &m.heldout},
                 {"reward", &m.reward},
                 {"think_per_verbal", &m.thinking}};
  for (const Column &c : columns) {
    StatusOr<std::vector<double>> v = numbers(*table, c.name);
    if (!v)
      return v.getStatus();
    *c.values = std::move(*v);
  }
  return m;
}

/// An inline data block `name` of the rows where both x and y have values.
std::string dataBlock(const std::string &name, const std::vector<double> &x,
                      const std::vector<double> &y) {
  std::string s = name + " << EOD\n";
  for (size_t i = 0; i < x.size(); ++i)
    if (!std::isnan(x[i]) && !std::isnan(y[i]))
      s += number(x[i]) + " " + number(y[i]) + "\n";
  return s + "EOD\n";
}

// Paul Tol's bright scheme: distinguishable, also in grey.
constexpr const char *kBlue = "#4477aa";
constexpr const char *kLightBlue = "#99bbdd";
constexpr const char *kRed = "#ee6677";
constexpr const char *kGreen = "#228833";
constexpr const char *kPurple = "#aa3377";
constexpr const char *kOrange = "#cc7711";

/// Settings both panels share; the left and right margins are fixed so that
/// the two panels' axes line up.
const char *kPanelSettings = "set lmargin 12\n"
                             "set rmargin 12\n"
                             "set grid ytics lc rgb '#dddddd' lt 1\n"
                             "set key outside top center horizontal\n"
                             "set ytics nomirror\n"
                             "set y2tics\n";

std::string positionsPanel(const Positions &p) {
  std::string s = kPanelSettings;
  double examples = maxValue(p.count);
  s += "set key title " +
       quote(examples > 0
                 ? "Per position (mean over " + number(examples) + " examples)"
                 : "Per position") +
       " font ',12'\n";

  // Every position's token as its x tic label; rotated when they would not
  // fit side by side, and every k-th when even that is too dense. ~820 px of
  // plot width, ~8 px per character, ~16 px per rotated label.
  double first = p.position.front(), last = p.position.front();
  size_t longest = 1;
  bool anyToken = false;
  for (size_t i = 0; i < p.position.size(); ++i) {
    first = std::min(first, p.position[i]);
    last = std::max(last, p.position[i]);
    longest = std::max(longest, p.token[i].size());
    anyToken = anyToken || !trim(p.token[i]).empty();
  }
  double span = last - first + 1;
  double slot = 820.0 / span;
  bool rotate = slot < 8.0 * double(longest + 1);
  size_t stride =
      rotate ? size_t(std::max(1.0, std::ceil(16.0 / slot))) : size_t(1);
  s += "set xrange [" + number(first - 0.6) + ":" + number(last + 0.6) + "]\n";
  if (anyToken) {
    s += "set xtics (";
    bool firstTic = true;
    for (size_t i = 0; i < p.position.size(); ++i) {
      if (int64_t(p.position[i] - first) % int64_t(stride) != 0)
        continue;
      s += std::string(firstTic ? "" : ", ") + quote(p.token[i]) + " " +
           number(p.position[i]);
      firstTic = false;
    }
    s += ")";
    s += rotate ? " rotate by 90 right\n" : "\n";
    s += "set xlabel " +
         quote(stride > 1 ? "token at each position (1 in " +
                                std::to_string(stride) + " labelled)"
                          : "token at each position") +
         "\n";
  } else {
    s += "set xlabel 'position'\n";
  }

  // Bars of the depth, shaded by whether the position is scored; the think
  // tokens on the right axis.
  std::vector<double> scoredDepth, promptDepth;
  bool haveScored = anyValue(p.scored);
  for (size_t i = 0; i < p.depth.size(); ++i) {
    bool scored = !haveScored || (!std::isnan(p.scored[i]) && p.scored[i] > 0);
    scoredDepth.push_back(scored ? p.depth[i] : kMissing);
    promptDepth.push_back(scored ? kMissing : p.depth[i]);
  }
  double depthMax = std::max(maxValue(p.depth), maxValue(p.thinkDepth));
  double thinkMax = maxValue(p.thinkTokens);
  s += "set ylabel 'mean halting depth N'\n";
  s += "set yrange [0:" + number(depthMax > 0 ? depthMax * 1.1 : 1) + "]\n";
  s += "set y2label 'think tokens per example'\n";
  s += "set y2range [0:" + number(thinkMax > 0 ? thinkMax * 1.1 : 1) + "]\n";
  s += "set style fill solid 0.8 border lc rgb '#333333'\n";
  s += "set boxwidth 0.8\n";
  s += dataBlock("$scored_depth", p.position, scoredDepth);
  s += dataBlock("$prompt_depth", p.position, promptDepth);
  s += dataBlock("$think_tokens", p.position, p.thinkTokens);
  s += dataBlock("$think_depth", p.position, p.thinkDepth);

  std::vector<std::string> plots;
  if (anyValue(scoredDepth))
    plots.push_back("$scored_depth using 1:2 with boxes lc rgb '" +
                    std::string(kBlue) + "' title " +
                    quote(haveScored ? "depth (scored)" : "depth"));
  if (anyValue(promptDepth))
    plots.push_back("$prompt_depth using 1:2 with boxes lc rgb '" +
                    std::string(kLightBlue) + "' title 'depth (not scored)'");
  if (anyValue(p.thinkDepth))
    plots.push_back("$think_depth using 1:2 with points pt 9 ps 1.6 lc rgb '" +
                    std::string(kGreen) + "' title 'depth of think tokens'");
  if (anyValue(p.thinkTokens))
    plots.push_back(
        "$think_tokens using 1:2 axes x1y2 with " +
        std::string(span <= 40 ? "linespoints pt 7 ps 1.2" : "lines") +
        " lw 2 lc rgb '" + std::string(kRed) +
        "' title 'think tokens per example'");
  s += "plot ";
  for (size_t i = 0; i < plots.size(); ++i)
    s += (i ? ", \\\n     " : "") + plots[i];
  return s + "\n";
}

/// The training panel, or "" when the metrics have nothing to draw.
std::string metricsPanel(const Metrics &m, const std::string &path) {
  bool loss = anyValue(m.loss), heldout = anyValue(m.heldout),
       reward = anyValue(m.reward), thinking = anyValue(m.thinking);
  if (!loss && !heldout && !reward)
    return "";
  std::string s = "reset\n";
  s += kPanelSettings;
  s += "set key title " + quote("Training (" + baseName(path) + ")") +
       " font ',12'\n";
  s += "set xlabel 'step'\n";
  s += std::string("set ylabel '") +
       (thinking ? "loss / think tokens per verbal" : "loss") + "'\n";
  s += "set y2label " +
       quote(heldout && reward ? "held-out accuracy / reward"
             : heldout         ? "held-out accuracy"
                               : "reward") +
       "\n";
  // Accuracy (and a reward in [0, 1]) on a fixed [0, 1] axis reads at once.
  bool unit = true;
  for (const std::vector<double> *v : {&m.heldout, &m.reward})
    for (double x : *v)
      unit = unit && (std::isnan(x) || (x >= 0 && x <= 1));
  if (unit)
    s += "set y2range [0:1.02]\n";
  s += "set xrange [*:*]\n";
  s += dataBlock("$loss", m.step, m.loss);
  s += dataBlock("$heldout", m.step, m.heldout);
  s += dataBlock("$reward", m.step, m.reward);
  s += dataBlock("$thinking", m.step, m.thinking);

  std::vector<std::string> plots;
  if (loss)
    plots.push_back("$loss using 1:2 with lines lw 1.5 lc rgb '" +
                    std::string(kBlue) + "' title 'loss'");
  if (thinking)
    plots.push_back("$thinking using 1:2 with lines lw 1.5 dt 2 lc rgb '" +
                    std::string(kOrange) + "' title 'think tokens per verbal'");
  if (reward)
    plots.push_back("$reward using 1:2 axes x1y2 with lines lw 1.5 lc rgb '" +
                    std::string(kPurple) + "' title 'reward'");
  if (heldout)
    plots.push_back("$heldout using 1:2 axes x1y2 with linespoints lw 2 pt 7 "
                    "ps 1.2 lc rgb '" +
                    std::string(kGreen) + "' title 'held-out accuracy'");
  if (!loss)
    s += "unset ytics\nunset ylabel\n";
  if (!heldout && !reward)
    s += "unset y2tics\nunset y2label\n";
  s += "plot ";
  for (size_t i = 0; i < plots.size(); ++i)
    s += (i ? ", \\\n     " : "") + plots[i];
  return s + "\n";
}

/// The first executable `name` in the directories of PATH.
StatusOr<std::string> findOnPath(const std::string &name) {
  const char *path = std::getenv("PATH");
  std::string dirs = path ? path : "/usr/local/bin:/usr/bin:/bin";
  size_t start = 0;
  for (;;) {
    size_t colon = dirs.find(':', start);
    std::string dir = dirs.substr(
        start, colon == std::string::npos ? std::string::npos : colon - start);
    if (!dir.empty()) {
      std::string candidate = dir + "/" + name;
      struct stat st;
      if (stat(candidate.c_str(), &st) == 0 && S_ISREG(st.st_mode) &&
          access(candidate.c_str(), X_OK) == 0)
        return candidate;
    }
    if (colon == std::string::npos)
      break;
    start = colon + 1;
  }
  return Status::error(name + " not found on PATH; install gnuplot-nox");
}

/// gnuplot's error on one line. gnuplot echoes the script line, a caret
/// under the column, then `"SCRIPT" line N: what` and sometimes a detail
/// ("system error: ..."): keep `line N: what (detail)`; the script is a
/// temporary file, so its name says nothing. Failing that, the last line.
std::string errorMessage(const std::string &text) {
  std::vector<std::string> lines;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos)
      end = text.size();
    std::string line = trim(text.substr(start, end - start));
    if (line.find_first_not_of(" ^") != std::string::npos)
      lines.push_back(line);
    start = end + 1;
  }
  if (lines.empty())
    return "";
  for (size_t i = lines.size(); i-- > 0;) {
    size_t at = lines[i].find(" line ");
    if (at == std::string::npos || lines[i][0] != '"' ||
        lines[i].find(':', at) == std::string::npos)
      continue;
    std::string message = lines[i].substr(at + 1);
    for (size_t j = i + 1; j < lines.size(); ++j)
      message += (j == i + 1 ? " (" : "; ") + lines[j];
    return message + (i + 1 < lines.size() ? ")" : "");
  }
  return lines.back();
}

/// Runs `gnuplot -d script` (-d: no ~/.gnuplot), its stdin /dev/null, its
/// stdout and stderr collected for the error message.
Status runGnuplot(const std::string &gnuplot, const std::string &script) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0)
    return Status::error(std::string("cannot run gnuplot: pipe: ") +
                         std::strerror(errno));
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, fds[1], 1);
  posix_spawn_file_actions_adddup2(&actions, fds[1], 2);
  std::string arg0 = "gnuplot", arg1 = "-d";
  std::string arg2 = script;
  char *argv[] = {arg0.data(), arg1.data(), arg2.data(), nullptr};
  pid_t pid;
  int spawned =
      posix_spawn(&pid, gnuplot.c_str(), &actions, nullptr, argv, environ);
  posix_spawn_file_actions_destroy(&actions);
  close(fds[1]);
  if (spawned != 0) {
    close(fds[0]);
    return Status::error("cannot run " + gnuplot + ": " +
                         std::strerror(spawned));
  }
  std::string output;
  char buffer[4096];
  for (;;) {
    ssize_t n = read(fds[0], buffer, sizeof(buffer));
    if (n > 0) {
      if (output.size() < (1 << 20))
        output.append(buffer, size_t(n));
    } else if (n == 0 || errno != EINTR) {
      break;
    }
  }
  close(fds[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0)
    if (errno != EINTR)
      return Status::error(std::string("cannot wait for gnuplot: ") +
                           std::strerror(errno));
  if (WIFSIGNALED(status))
    return Status::error("gnuplot was killed by signal " +
                         std::to_string(WTERMSIG(status)));
  if (WEXITSTATUS(status) != 0) {
    std::string message = errorMessage(output);
    return Status::error("gnuplot failed (exit " +
                         std::to_string(WEXITSTATUS(status)) + ")" +
                         (message.empty() ? "" : ": " + message));
  }
  return Status::ok();
}

} // namespace

Status plotEvaluation(const std::string &positionsCsv,
                      const std::string &metricsCsv, const std::string &pngPath,
                      const std::string &title) {
  StatusOr<Positions> positions = readPositions(positionsCsv);
  if (!positions)
    return positions.getStatus();
  std::string training;
  if (!metricsCsv.empty()) {
    struct stat st;
    if (stat(metricsCsv.c_str(), &st) == 0) {
      StatusOr<Metrics> metrics = readMetrics(metricsCsv);
      if (!metrics)
        return metrics.getStatus();
      training = metricsPanel(*metrics, metricsCsv);
    }
  }
  StatusOr<std::string> gnuplot = findOnPath("gnuplot");
  if (!gnuplot)
    return gnuplot.getStatus();

  std::string partial = pngPath + ".partial";
  std::string s = "# ponder eval --plot (runtime/Plot.cpp)\n"
                  "if (strstrt(GPVAL_TERMINALS, 'pngcairo') > 0) {\n"
                  "  set terminal pngcairo size 1000,800 noenhanced "
                  "font 'sans,11'\n"
                  "  title_font = 'sans:Bold,15'\n"
                  "} else {\n"
                  "  set terminal png size 1000,800 noenhanced\n"
                  "  title_font = ',14'\n"
                  "}\n";
  s += "set output " + quote(partial) + "\n";
  s += "set multiplot layout " + std::string(training.empty() ? "1" : "2") +
       ",1 title " + quote(title) + " font title_font\n";
  s += positionsPanel(*positions);
  s += training;
  s += "unset multiplot\nset output\n";

  std::string scriptPath = pngPath + ".gp.XXXXXX";
  int fd = mkstemp(scriptPath.data());
  if (fd < 0)
    return Status::error(pngPath +
                         ": cannot create the gnuplot script next to it: " +
                         std::strerror(errno));
  bool written = true;
  for (size_t done = 0; done < s.size();) {
    ssize_t n = write(fd, s.data() + done, s.size() - done);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0) {
      written = false;
      break;
    }
    done += size_t(n);
  }
  written = close(fd) == 0 && written;
  Status st =
      written ? runGnuplot(*gnuplot, scriptPath)
              : Status::error("cannot write the gnuplot script " + scriptPath);
  std::remove(scriptPath.c_str());

  struct stat out;
  if (st && (stat(partial.c_str(), &out) != 0 || out.st_size == 0))
    st = Status::error("gnuplot wrote no image");
  if (st && std::rename(partial.c_str(), pngPath.c_str()) != 0)
    st = Status::error(std::string("cannot rename the image into place: ") +
                       std::strerror(errno));
  if (!st) {
    std::remove(partial.c_str());
    return Status::error(pngPath + ": " + st.message());
  }
  return Status::ok();
}

} // namespace ponder
