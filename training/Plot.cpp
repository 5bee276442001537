//===- Plot.cpp - Evaluation and training plots with gnuplot --------------===//
//
// gnuplot reads both CSVs itself, by column name (the script below): empty
// fields, columns that an older metrics file lacks and series without a
// single value are left out of the picture there. This file runs gnuplot
// from PATH with the script on its stdin and the file names and title as
// arguments (never as script text, so none of them needs quoting), and
// moves the PNG into place.
//
//===----------------------------------------------------------------------===//

#include "training/Plot.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <vector>

#include <fcntl.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

namespace ponder {

namespace {

/// The plot, for gnuplot 5.4 (`gnuplot -c`: ARG1..ARG4). The CSV columns
/// are docs/evaluation.md's and docs/training.md's.
constexpr const char *kScript = R"gnuplot(
# ARG1: the per-position CSV; ARG2: the metrics CSV, or "" for none; ARG3:
# the PNG to write; ARG4: the title. Exit status 3: the last line printed
# is the whole error.
set datafile separator comma
set datafile commentschars ""   # a "#" token is data, not a comment

# The file must have a header with the required columns, and rows; a
# metrics file of a run that has not logged a step yet draws nothing.
metrics = ARG2
do for [f = 1:(metrics eq "" ? 1 : 2)] {
  file = f == 1 ? ARG1 : metrics
  undefine STATS_*
  stats file using 0 nooutput   # counts the header line too
  rows = exists("STATS_records") ? STATS_records - 1 : -1
  if (rows < 0) {
    print file . ": empty file, expected a CSV header"; exit status 3
  }
  if (rows == 0 && f == 1) {
    print file . ": no rows after the header"; exit status 3
  }
  if (rows > 0) {
    header = ","
    columns = STATS_columns
    stats file every ::0::0 using \
      (sum [i = 1:columns] (header = header . columnhead(i) . ",", 0)) \
      nooutput
    do for [c in (f == 1 ? "position token depth scored" : "step loss")] {
      if (!strstrt(header, "," . c . ",")) {
        print sprintf("%s: no column '%s' in the header", file, c)
        exit status 3
      }
    }
  }
  if (rows == 0) { metrics = "" }
}

# A row counts when its `key` column is a number (NaN, from an empty field
# or text, is not equal to itself). The per-position CSV quotes nothing: a
# token with a comma or a quote in it shifts or swallows the fields after
# it, so its row is left out rather than misread.
row(y) = column(key) == column(key) ? y : NaN

# n_C, min_C and max_C: the number of values in column C, the smallest and
# the largest; 0 when the column is absent or empty on every row (a column
# that an older metrics file lacks).
values = 'undefine STATS_*; \
  stats file using (row(column(c))) nooutput; \
  n = exists("STATS_records") ? STATS_records : 0; \
  eval sprintf("n_%s = %d; min_%s = %.17g; max_%s = %.17g", c, n, \
               c, n ? STATS_min : 0, c, n ? STATS_max : 0)'
file = ARG1; key = "scored"
do for [c in "position count think_tokens depth think_depth"] { @values }
file = metrics; key = "step"
do for [c in "loss heldout_accuracy reward think_per_verbal"] {
  if (metrics ne "") { @values } else { eval sprintf("n_%s = 0", c) }
}
training = n_loss + n_heldout_accuracy + n_reward > 0

if (strstrt(GPVAL_TERMINALS, "pngcairo") > 0) {
  set terminal pngcairo size 1000,800 noenhanced font "sans,11"
  title_font = "sans:Bold,15"
} else {
  set terminal png size 1000,800 noenhanced
  title_font = ",14"
}
set output ARG3
set multiplot layout (training ? 2 : 1),1 title ARG4 font title_font

# Paul Tol's bright scheme: distinguishable, also in grey.
blue = 0x4477aa; light_blue = 0x99bbdd; red = 0xee6677
green = 0x228833; purple = 0xaa3377; orange = 0xcc7711

# Both panels: fixed side margins, so that their axes line up.
set lmargin 12; set rmargin 12
set grid ytics lc rgb "#dddddd" lt 1
set key outside top center horizontal
set ytics nomirror

# Per position: the depth as bars, shaded by whether the position is
# scored, and the think tokens on the right axis. Each position's token
# labels it; rotated when they would not fit side by side, and every k-th
# when even that is too dense (~820 px of plot width, ~8 px per character,
# ~16 px per rotated label).
key = "scored"
set key title (max_count > 0 ? \
  sprintf("Per position (mean over %d examples)", max_count) : \
  "Per position") font ",12"
undefine STATS_*
stats ARG1 using (row(strlen(strcol("token")))) nooutput
longest = exists("STATS_max") ? STATS_max : 1
span = max_position - min_position + 1
slot = 820.0 / span
stride = slot < 8 * (longest + 1) ? ceil(16 / slot) : 1
set xtics nomirror
if (slot < 8 * (longest + 1)) { set xtics rotate by 90 right }
set xlabel (stride > 1 ? \
  sprintf("token at each position (1 in %d labelled)", stride) : \
  "token at each position")
set xrange [min_position - 0.6:max_position + 0.6]
label(p) = row(int(p - min_position) % stride) == 0 ? strcol("token") : ""
top = max_depth > max_think_depth ? max_depth : max_think_depth
set ylabel "mean halting depth N"
set yrange [0:(top > 0 ? top * 1.1 : 1)]
set style fill solid 0.8 border lc rgb "#333333"
set boxwidth 0.8
plots = 'ARG1 using "position":(row(column("depth"))):\
(column("scored") > 0 ? blue : light_blue):\
xticlabels(label(column("position"))) \
with boxes lc rgb variable notitle, \
keyentry with boxes lc rgb blue title "depth (scored)", \
keyentry with boxes lc rgb light_blue title "depth (not scored)"'
if (n_think_depth) {
  plots = plots . ', ARG1 using "position":(row(column("think_depth"))) \
    with points pt 9 ps 1.6 lc rgb green title "depth of think tokens"'
}
if (max_think_tokens > 0) {
  set y2label "think tokens per example"
  set y2range [0:max_think_tokens * 1.1]
  set y2tics
  plots = plots . ', ARG1 using "position":(row(column("think_tokens"))) \
    axes x1y2 with ' . (span <= 40 ? "linespoints pt 7 ps 1.2" : "lines") . \
    ' lw 2 lc rgb red title "think tokens per example"'
}
eval "plot " . plots

# Training: the loss (and the think tokens per verbal token) on the left
# axis, the held-out accuracy and the reward on the right.
if (training) {
  basename(s) = strstrt(s, "/") ? basename(s[strstrt(s, "/") + 1:]) : s
  set key title sprintf("Training (%s)", basename(metrics)) font ",12"
  set xtics norotate mirror autofreq
  set xlabel "step"
  set xrange [*:*]
  set yrange [*:*]
  set ylabel (n_think_per_verbal ? "loss / think tokens per verbal" : "loss")
  if (!n_loss) { unset ytics; unset ylabel }
  set y2label (n_heldout_accuracy && n_reward ? "held-out accuracy / reward" :\
               n_heldout_accuracy ? "held-out accuracy" : "reward")
  set y2tics
  # Accuracy (and a reward in [0, 1]) on a fixed [0, 1] axis reads at once.
  unit = min_heldout_accuracy >= 0 && max_heldout_accuracy <= 1 && \
         min_reward >= 0 && max_reward <= 1
  if (unit) { set y2range [0:1.02] } else { set y2range [*:*] }
  if (!n_heldout_accuracy && !n_reward) { unset y2tics; unset y2label }
  plots = ""
  if (n_loss) {
    plots = plots . ', metrics using "step":"loss" \
      with lines lw 1.5 lc rgb blue title "loss"'
  }
  if (n_think_per_verbal) {
    plots = plots . ', metrics using "step":"think_per_verbal" \
      with lines lw 1.5 dt 2 lc rgb orange title "think tokens per verbal"'
  }
  if (n_reward) {
    plots = plots . ', metrics using "step":"reward" axes x1y2 \
      with lines lw 1.5 lc rgb purple title "reward"'
  }
  if (n_heldout_accuracy) {
    plots = plots . ', metrics using "step":"heldout_accuracy" axes x1y2 \
      with linespoints lw 2 pt 7 ps 1.2 lc rgb green title "held-out accuracy"'
  }
  eval "plot " . plots[3:]
}
unset multiplot
set output
)gnuplot";

/// The depth on a text corpus (ARG1: per position in the window, ARG2: per
/// token, the tool's choice of rows in its order; ARG3: the PNG; ARG4: the
/// title): depth and NLL against the position, then depth bars per token.
constexpr const char *kTextDepthScript = R"gnuplot(
set datafile separator comma
set datafile commentschars ""
if (strstrt(GPVAL_TERMINALS, "pngcairo") > 0) {
  set terminal pngcairo size 1100,900 noenhanced font "sans,10"
} else {
  set terminal png size 1100,900 noenhanced
}
set output ARG3
set multiplot layout 2,1 title ARG4 font ",14"
blue = 0x4477aa; red = 0xee6677
set lmargin 12; set rmargin 12
set grid ytics lc rgb "#dddddd" lt 1
set key outside top center horizontal
set ytics nomirror
set xlabel "position in the window (target)"
set ylabel "mean halting depth N"
set y2label "mean NLL (nats)"
set y2tics
plot ARG1 using "position":"depth" with lines lw 2 lc rgb blue \
       title "depth of the predicting position", \
     ARG1 using "position":"nll" axes x1y2 with lines lw 1.5 lc rgb red \
       title "NLL of the target"
unset y2tics; unset y2label
set xlabel "target token (the most frequent, deepest first)"
set xtics rotate by 90 right nomirror
set style fill solid 0.8 border -1
set boxwidth 0.7
set yrange [0:*]
plot ARG2 using 0:"depth":xticlabels(strcol("token")) with boxes \
  lc rgb blue title "mean depth before the token"
unset multiplot
set output
)gnuplot";

/// gnuplot's exit status when the script rejects a CSV; its last line of
/// output is then the whole message.
constexpr int kRejected = 3;

std::string trim(const std::string &s) {
  size_t b = s.find_first_not_of(" \t\r");
  if (b == std::string::npos)
    return "";
  size_t e = s.find_last_not_of(" \t\r");
  return s.substr(b, e - b + 1);
}

/// The non-blank lines of gnuplot's output, less the lines of carets.
std::vector<std::string> outputLines(const std::string &text) {
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
  return lines;
}

/// gnuplot's error on one line. gnuplot echoes the script line, a caret
/// under the column, then `"SCRIPT" line N: what` and sometimes a detail
/// ("system error: ..."): keep `line N: what (detail)`; the script comes on
/// stdin, so its name says nothing. Failing that, the last line.
std::string errorMessage(const std::vector<std::string> &lines) {
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
  return lines.empty() ? "" : lines.back();
}

/// What gnuplot printed (stdout and stderr together) and its wait status.
struct GnuplotRun {
  int status = 0;
  std::string output;
};

/// Runs `gnuplot -d -c /dev/stdin ARGS...` (gnuplot from PATH; -d: no
/// ~/.gnuplot) with `text` on its stdin, an unlinked temporary file.
StatusOr<GnuplotRun> runGnuplot(const char *text,
                                std::vector<std::string> args) {
  FILE *script = std::tmpfile();
  if (!script || std::fputs(text, script) < 0 || std::fflush(script) != 0) {
    Status s = Status::error(std::string("cannot write the gnuplot script: ") +
                             std::strerror(errno));
    if (script)
      std::fclose(script);
    return s;
  }
  std::rewind(script);
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) {
    std::fclose(script);
    return Status::error(std::string("cannot run gnuplot: pipe: ") +
                         std::strerror(errno));
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, fileno(script), 0);
  posix_spawn_file_actions_adddup2(&actions, fds[1], 1);
  posix_spawn_file_actions_adddup2(&actions, fds[1], 2);
  args.insert(args.begin(), {"gnuplot", "-d", "-c", "/dev/stdin"});
  std::vector<char *> argv;
  for (std::string &arg : args)
    argv.push_back(arg.data());
  argv.push_back(nullptr);
  pid_t pid;
  int spawned =
      posix_spawnp(&pid, "gnuplot", &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  std::fclose(script);
  close(fds[1]);
  if (spawned != 0) {
    close(fds[0]);
    return Status::error(spawned == ENOENT
                             ? "gnuplot not found on PATH; install gnuplot-nox"
                             : std::string("cannot run gnuplot: ") +
                                   std::strerror(spawned));
  }
  GnuplotRun run;
  char buffer[4096];
  for (;;) {
    ssize_t n = read(fds[0], buffer, sizeof(buffer));
    if (n > 0) {
      if (run.output.size() < (1 << 20))
        run.output.append(buffer, size_t(n));
    } else if (n == 0 || errno != EINTR) {
      break;
    }
  }
  close(fds[0]);
  while (waitpid(pid, &run.status, 0) < 0)
    if (errno != EINTR)
      return Status::error(std::string("cannot wait for gnuplot: ") +
                           std::strerror(errno));
  return run;
}

/// Renames the image of `run` into place, or says why there is none: a
/// CSV that the script rejected names itself, any other error the PNG.
Status moveIntoPlace(const GnuplotRun &run, const std::string &partial,
                     const std::string &pngPath) {
  std::vector<std::string> lines = outputLines(run.output);
  int exitStatus = WIFEXITED(run.status) ? WEXITSTATUS(run.status) : 0;
  if (exitStatus == kRejected && !lines.empty())
    return Status::error(lines.back());
  std::string why;
  struct stat st;
  if (WIFSIGNALED(run.status)) {
    why =
        "gnuplot was killed by signal " + std::to_string(WTERMSIG(run.status));
  } else if (exitStatus != 0) {
    std::string message = errorMessage(lines);
    why = "gnuplot failed (exit " + std::to_string(exitStatus) + ")" +
          (message.empty() ? "" : ": " + message);
  } else if (stat(partial.c_str(), &st) != 0 || st.st_size == 0) {
    why = "gnuplot wrote no image";
  } else if (std::rename(partial.c_str(), pngPath.c_str()) != 0) {
    why = std::string("cannot rename the image into place: ") +
          std::strerror(errno);
  }
  return why.empty() ? Status::ok() : Status::error(pngPath + ": " + why);
}

Status requireFile(const std::string &path) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0)
    return Status::error(path + ": no such file");
  if (!S_ISREG(st.st_mode))
    return Status::error(path + ": not a regular file");
  return Status::ok();
}

} // namespace

Status plotEvaluation(const std::string &positionsCsv,
                      const std::string &metricsCsv, const std::string &pngPath,
                      const std::string &title) {
  if (Status s = requireFile(positionsCsv); !s)
    return s;
  struct stat st;
  bool metrics = !metricsCsv.empty() && stat(metricsCsv.c_str(), &st) == 0;
  if (metrics)
    if (Status s = requireFile(metricsCsv); !s)
      return s;
  std::string partial = pngPath + ".partial";
  StatusOr<GnuplotRun> run = runGnuplot(
      kScript, {positionsCsv, metrics ? metricsCsv : "", partial, title});
  Status s = run ? moveIntoPlace(*run, partial, pngPath) : run.getStatus();
  if (!s)
    std::remove(partial.c_str());
  return s;
}

Status plotTextDepth(const std::string &positionsCsv,
                     const std::string &tokensCsv, const std::string &pngPath,
                     const std::string &title) {
  for (const std::string &csv : {positionsCsv, tokensCsv})
    if (Status s = requireFile(csv); !s)
      return s;
  std::string partial = pngPath + ".partial";
  StatusOr<GnuplotRun> run =
      runGnuplot(kTextDepthScript, {positionsCsv, tokensCsv, partial, title});
  Status s = run ? moveIntoPlace(*run, partial, pngPath) : run.getStatus();
  if (!s)
    std::remove(partial.c_str());
  return s;
}

} // namespace ponder
