//===- Eval.cpp - ponder eval
//----------------------------------------------===//
//
// ponder eval [MODEL.toml] --weights W [--task TASK] [...]: held-out
// exact-match accuracy, verbal NLL, thinking and depth of a checkpoint or
// plain weights, per position and per example length
// (docs/evaluation.md). The model and the task default to the ones the
// checkpoint records.
//
//===----------------------------------------------------------------------===//

#include "tools/ponder/Command.h"
#include "tools/ponder/EvalText.h"

#include "runtime/Trainer.h"
#include "training/Corpus.h"
#include "training/Evaluation.h"
#include "training/Metrics.h"
#include "training/Plot.h"
#include "training/Tasks.h"
#include "training/ThoughtSlots.h"

#include <cstdio>
#include <fstream>
#include <sys/stat.h>

namespace ponder::cli {

namespace {

struct EvalOptions {
  ModelOptions model;
  std::string weights, task, csv, plot, metrics;
  int64_t examples = 512, seed = 0;
  bool think = false;
  std::string thinkAt;      // "": the checkpoint's (ThinkingMode)
  std::string thoughtSlots; // "": the checkpoint's
  bool forcedSlots = false;
  bool randomThoughts = false;
  EvalTextOptions text; // --data, --val, --window, --windows
};

/// How the walk thinks, resolved from the flags and the checkpoint.
struct ThinkingMode {
  bool think = false;                 // the model chooses its thoughts
  ThinkAt at = ThinkAt::Answer;       // where, when it does
  std::optional<ThoughtSlots> forced; // or they stand at these slots
  std::string describe() const;
};

std::string ThinkingMode::describe() const {
  if (forced)
    return "thoughts forced at " + forced->spec();
  if (!think)
    return "greedy, no thinking";
  switch (at) {
  case ThinkAt::Answer:
    return "greedy, thinking";
  case ThinkAt::Prompt:
    return "greedy, thinking before prompt tokens";
  case ThinkAt::All:
    return "greedy, thinking before every token";
  }
  return "greedy, thinking";
}

/// The metadata value `key` of checkpoint `c`, or "".
std::string recorded(const Checkpoint &c, const std::string &key) {
  auto it = c.metadata.find(key);
  return it == c.metadata.end() ? "" : it->second;
}

/// The thinking of `o`: --think chooses thoughts where --think-at says (by
/// default before every token for a checkpoint of placed thoughts, else
/// where its rollouts opened spans); --thought-slots implies it;
/// --forced-slots places the slots of --thought-slots or the checkpoint's.
StatusOr<ThinkingMode> thinkingMode(const EvalOptions &o, const Checkpoint &c) {
  ThinkingMode mode;
  std::string slots =
      o.thoughtSlots.empty() ? recorded(c, "thought_slots") : o.thoughtSlots;
  if (o.forcedSlots) {
    if (o.think)
      return Status::error("ponder: --forced-slots and --think: give one "
                           "(thoughts forced at the slots or chosen)");
    if (slots.empty())
      return Status::error("ponder: --forced-slots: give --thought-slots "
                           "SPEC (" +
                           o.weights + " records none)");
    StatusOr<ThoughtSlots> parsed = ThoughtSlots::parse(slots);
    if (!parsed)
      return Status::error("ponder: " + parsed.getStatus().message());
    mode.forced = *parsed;
    return mode;
  }
  mode.think = o.think || !o.thoughtSlots.empty();
  std::string at = !o.thinkAt.empty() ? o.thinkAt
                   : !slots.empty()   ? "all"
                                      : recorded(c, "think_at");
  StatusOr<ThinkAt> parsed = parseThinkAt(at.empty() ? "answer" : at);
  if (!parsed)
    return Status::error("ponder: " + parsed.getStatus().message());
  mode.at = *parsed;
  return mode;
}

/// The token of position statistics `s`, or `fallback` for mixed ones.
std::string tokenOf(const PositionStats &s, const Vocabulary &vocab,
                    int64_t verbalVocab, const std::string &fallback) {
  return s.token >= 0 ? vocab.decode({s.token}, verbalVocab, true) : fallback;
}

/// Writes the per-position table of `e` as CSV (header in
/// docs/evaluation.md) atomically.
Status writePositionsCsv(const std::string &path, const Evaluation &e,
                         const Vocabulary &vocab, int64_t verbalVocab) {
  std::string partial = path + ".partial";
  {
    std::ofstream out(partial, std::ios::trunc);
    out << "position,token,scored,count,think_tokens,depth,think_depth,"
           "accuracy,nll\n";
    for (size_t p = 0; p < e.positions.size(); ++p) {
      const PositionStats &s = e.positions[p];
      if (s.count == 0)
        continue;
      char row[256];
      std::snprintf(row, sizeof(row), "%zu,%s,%lld,%lld,%.6g,%.6g,", p,
                    tokenOf(s, vocab, verbalVocab, std::to_string(p)).c_str(),
                    static_cast<long long>(s.scored),
                    static_cast<long long>(s.count),
                    s.spans ? double(s.thinkTokens) / double(s.spans) : 0.0,
                    s.depth / double(s.count));
      out << row;
      if (s.thinkTokens > 0)
        out << s.thinkDepth / double(s.thinkTokens);
      out << ",";
      if (s.scored > 0)
        out << double(s.correct) / double(s.scored);
      out << ",";
      if (s.targets > 0)
        out << s.nll / double(s.targets);
      out << "\n";
    }
    if (!out.flush())
      return Status::error(path + ": cannot write the CSV file");
  }
  if (std::rename(partial.c_str(), path.c_str()) != 0)
    return Status::error(path + ": cannot write the CSV file");
  return Status::ok();
}

/// A number or "-" when there is nothing to average.
void printCell(const char *format, int width, bool has, double value) {
  if (has)
    std::printf(format, value);
  else
    std::printf(" %*s", width, "-");
}

void printPositions(const Evaluation &e, const Vocabulary &vocab,
                    int64_t verbalVocab) {
  std::printf("\n%8s %7s %9s %7s %11s %9s %8s%s\n", "position", "token",
              "think/tok", "depth", "think depth", "accuracy", "nll",
              e.known ? "       kl" : "");
  for (size_t p = 0; p < e.positions.size(); ++p) {
    const PositionStats &s = e.positions[p];
    if (s.count == 0)
      continue;
    std::printf("%8zu %7s", p, tokenOf(s, vocab, verbalVocab, "*").c_str());
    printCell(" %9.3f", 9, s.spans,
              double(s.thinkTokens) / double(std::max<int64_t>(1, s.spans)));
    std::printf(" %7.3f", s.depth / double(s.count));
    printCell(" %11.3f", 11, s.thinkTokens,
              s.thinkDepth / double(std::max<int64_t>(1, s.thinkTokens)));
    printCell(" %8.2f%%", 9, s.scored,
              100.0 * s.correct / double(std::max<int64_t>(1, s.scored)));
    printCell(" %8.4f", 8, s.targets,
              s.nll / double(std::max<int64_t>(1, s.targets)));
    if (s.known)
      std::printf(" %8.5f", s.kl / double(s.known));
    std::printf("\n");
  }
}

void printLengths(const Evaluation &e) {
  if (e.lengths.size() <= 1)
    return;
  std::printf("\n%8s %7s %9s %11s %15s %9s %9s %10s\n", "length", "count",
              "accuracy", "mean depth", "deciding depth", "think/tok",
              "thoughts", "FLOPs");
  for (const LengthStats &l : e.lengths) {
    double count = double(l.count);
    std::printf("%8lld %7lld %8.2f%% %11.3f %15.3f %9.3f %9.3f %10.4g\n",
                static_cast<long long>(l.length),
                static_cast<long long>(l.count), 100.0 * l.exact / count,
                l.depth / (count * double(l.length)),
                l.targets ? l.targetDepth / double(l.targets) : 0.0,
                l.targets ? double(l.thinkTokens) / double(l.targets) : 0.0,
                double(l.thinkTokens) / count, l.flops / count);
  }
}

void printSummary(const EvalOptions &o, const ThinkingMode &mode,
                  const Evaluation &e) {
  std::printf("%s: held-out accuracy %.2f%% over %lld examples (%s)\n",
              o.task.c_str(), 100.0 * e.accuracy(),
              static_cast<long long>(e.examples), mode.describe().c_str());
  std::printf("verbal NLL %.4f nats per target token; %.3f think tokens per "
              "verbal token; mean depth %.3f steps per token\n",
              e.meanNll(), e.thinkPerVerbal(), e.meanDepth());
  std::printf("%.3f thoughts per answer; %.2f tokens decoded per answer "
              "(thoughts included), %.4g FLOPs per answer (estimate)\n",
              e.thoughtsPerExample(), e.tokensPerExample(),
              e.flopsPerExample());
  if (e.known > 0)
    std::printf("KL(true || model) %.5f nats per target with a known "
                "distribution (%lld of them)\n",
                e.kl / double(e.known), static_cast<long long>(e.known));
}

/// --csv and --plot: the per-position CSV and the PNG with the run's
/// metrics (W.csv by default).
Status writeOutputs(EvalOptions &o, const ThinkingMode &mode,
                    const Evaluation &e, const Vocabulary &vocab,
                    int64_t verbalVocab) {
  if (!o.plot.empty() && o.csv.empty())
    o.csv = withExtension(o.plot, ".positions.csv");
  if (!o.csv.empty()) {
    if (Status s = writePositionsCsv(o.csv, e, vocab, verbalVocab); !s)
      return Status::error("ponder: " + s.message());
    std::printf("\nper-position table: %s\n", o.csv.c_str());
  }
  if (o.plot.empty())
    return Status::ok();
  std::string metrics =
      o.metrics.empty() ? withExtension(o.weights, ".csv") : o.metrics;
  struct stat st;
  if (!o.metrics.empty() && stat(metrics.c_str(), &st) != 0)
    return Status::error("ponder: --metrics: " + metrics + ": no such file");
  if (stat(metrics.c_str(), &st) != 0)
    metrics.clear();
  std::string title = o.task + ", " + o.weights + ", " +
                      (mode.forced ? "thoughts forced at " + mode.forced->spec()
                       : mode.think ? std::string("thinking")
                                    : std::string("no thinking"));
  if (Status s = plotEvaluation(o.csv, metrics, o.plot, title); !s)
    return Status::error("ponder: " + s.message());
  std::printf("plot: %s\n", o.plot.c_str());
  return Status::ok();
}

/// The task: --task, or the checkpoint's; one with the checkpoint's
/// vocabulary.
Status chooseTask(EvalOptions &o, const Checkpoint &c) {
  auto recorded = c.metadata.find("task");
  if (o.task.empty()) {
    if (recorded == c.metadata.end())
      return Status::error("ponder: missing option '--task' (" + o.weights +
                           " records no task)");
    o.task = recorded->second;
  }
  if (recorded != c.metadata.end() &&
      vocabularyOfTask(o.task) != vocabularyOfTask(recorded->second))
    return Status::error("ponder: --task " + o.task +
                         " has another vocabulary than the checkpoint's task " +
                         recorded->second);
  return Status::ok();
}

/// Thinking needs think ids, and choosing thoughts a max_think.
Status checkThinking(const ThinkingMode &mode, const Artifact &model,
                     const std::string &label) {
  bool thinkIds = model.vocabSize() > model.verbalVocab();
  if (mode.forced && !thinkIds)
    return Status::error("ponder: --forced-slots: " + label +
                         " has no think ids (think_vocab is 0)");
  if (mode.think && (!thinkIds || model.maxThink() == 0))
    return Status::error("ponder: --think: " + label +
                         " has no think tokens (think_vocab or max_think is "
                         "0)");
  return Status::ok();
}

/// A text evaluation: --data, or a checkpoint trained on a corpus and no
/// --task. Its held-out text is --val's, else the checkpoint's when it is
/// of the same corpus, else the corpus's last 10%.
int runTextEval(EvalOptions &o, const Checkpoint &c) {
  EvalTextOptions &t = o.text;
  auto recorded = [&](const char *key) {
    auto it = c.metadata.find(key);
    return it == c.metadata.end() ? std::string() : it->second;
  };
  std::string trained = corpusOf(recorded("task"));
  if (t.data.empty())
    t.data = trained;
  if (t.val.empty() && t.data == trained)
    t.val = recorded("val");
  t.source = t.val.empty() ? t.data + " (its last 10%)" : t.val;
  t.weights = o.weights;
  t.csv = o.csv;
  t.plot = o.plot;
  StatusOr<LoadedModel> loaded = loadModel(o.model, recorded("model"));
  if (!loaded)
    return fail(loaded.getStatus());
  return runEvalText(t, *loaded, c);
}

int runEval(EvalOptions &o) {
  // A checkpoint also holds Adam moments; only the parameters are read.
  StatusOr<Checkpoint> c = loadCheckpoint(o.weights);
  if (!c)
    return fail(c.getStatus());
  if (!o.text.data.empty() && !o.task.empty())
    return fail(Status::error("ponder: --task and --data: give one"));
  auto recordedTask = c->metadata.find("task");
  bool trainedOnText = recordedTask != c->metadata.end() &&
                       !corpusOf(recordedTask->second).empty();
  if (!o.text.data.empty() || (o.task.empty() && trainedOnText))
    return runTextEval(o, *c);
  if (!o.text.val.empty())
    return fail(Status::error("ponder: --val needs --data"));
  if (Status s = chooseTask(o, *c); !s)
    return fail(s);
  StatusOr<LoadedModel> loaded = loadModel(o.model, c->metadata["model"]);
  if (!loaded)
    return fail(loaded.getStatus());
  const Artifact &model = *loaded->artifact;
  StatusOr<ThinkingMode> mode = thinkingMode(o, *c);
  if (!mode)
    return fail(mode.getStatus());
  if (Status s = checkThinking(*mode, model, loaded->label); !s)
    return fail(s);
  auto task = Task::create(o.task, model.verbalVocab(), model.maxSeq());
  if (!task)
    return fail(Status::error("ponder: " + task.getStatus().message()));
  std::map<std::string, const Tensor *> values;
  for (const auto &[name, t] : c->parameters)
    values[name] = &t;
  std::vector<Example> held;
  for (int64_t i = 0; i < o.examples; ++i)
    held.push_back(
        (*task)->example(Split::HeldOut, uint64_t(o.seed), uint64_t(i)));
  TaskBatch batch = makeTaskBatch(**task, held);
  EvaluateOptions options;
  options.maxThink = mode->think ? model.maxThink() : 0;
  options.at = mode->at;
  options.forcedSlots = mode->forced;
  options.randomThoughts = o.randomThoughts;
  options.known = [&](int64_t index, int64_t position) {
    return (*task)->knownDistribution(held[size_t(index)], position);
  };
  if (o.randomThoughts && !model.hiddenThoughts())
    return fail(Status::error("ponder: --random-thoughts: " + loaded->label +
                              " has no hidden-state thoughts ([think] channel "
                              "= \"hidden\")"));
  auto e = evaluate(model, values, batch.ids, batch.lengths, batch.targetWeight,
                    batch.scored, options, o.weights);
  if (!e)
    return fail(Status::error("ponder: " + e.getStatus().message()));
  const Vocabulary &vocab = (*task)->vocabulary();
  if (o.randomThoughts)
    std::printf("control: every thought read a random vector of its state's "
                "norm\n");
  printSummary(o, *mode, *e);
  printPositions(*e, vocab, model.verbalVocab());
  printLengths(*e);
  Status s = writeOutputs(o, *mode, *e, vocab, model.verbalVocab());
  return s ? 0 : fail(s);
}

} // namespace

Command makeEvalCommand(CLI::App &parent) {
  auto o = std::make_shared<EvalOptions>();
  CLI::App *app =
      addSubcommand(parent, "eval",
                    "Held-out accuracy, NLL, thinking and depth per position "
                    "(docs/evaluation.md).");
  addModelOptions(app, o->model, /*optionalModel=*/true);
  app->add_option("--weights", o->weights, "a checkpoint or weights")
      ->required();
  app->add_option("--task", o->task,
                  "the task (default: the checkpoint's; same vocabulary)");
  app->add_option("--data", o->text.data,
                  "a text corpus: validation loss, perplexity, bits per byte, "
                  "calibration and depth per token (default with a corpus's "
                  "checkpoint: its corpus)");
  app->add_option("--val", o->text.val,
                  "with --data: the validation text (default: the run's, or "
                  "the corpus's last 10%)");
  app->add_option("--window", o->text.window,
                  "with --data: ids per window (default: max_seq - 1)")
      ->check(integerAtLeast(2));
  app->add_option("--windows", o->text.windows,
                  "with --data: held-out windows evaluated (default: all)")
      ->check(integerAtLeast(1));
  app->add_option("--examples", o->examples, "held-out examples")
      ->check(integerAtLeast(1))
      ->capture_default_str();
  app->add_option("--seed", o->seed, "which held-out examples")
      ->check(integerAtLeast(0))
      ->capture_default_str();
  app->add_flag("--think", o->think, "think greedily (where --think-at says)");
  app->add_option("--think-at", o->thinkAt,
                  "where thinking spans open (default: before every token for "
                  "placed thoughts, else the checkpoint's rollouts', else "
                  "answer)")
      ->check(thinkAtPlace());
  app->add_option("--thought-slots", o->thoughtSlots,
                  "placed thoughts SPEC (default: the checkpoint's); implies "
                  "--think before every token")
      ->check(thoughtSlotsSpec());
  app->add_flag("--forced-slots", o->forcedSlots,
                "thoughts forced at the slots of --thought-slots rather than "
                "chosen (teacher forced)");
  app->add_flag("--random-thoughts", o->randomThoughts,
                "control: each thought reads a random vector of its state's "
                "norm instead of the state (hidden channel)");
  app->add_option("--csv", o->csv, "the per-position table as CSV")
      ->check(outputFile());
  app->add_option("--plot", o->plot,
                  "a PNG of depth and thinking per position and the run's "
                  "metrics")
      ->check(outputFile());
  app->add_option("--metrics", o->metrics,
                  "the run's metrics CSV (default: WEIGHTS.csv)");
  return {app, [o] { return runEval(*o); }};
}

} // namespace ponder::cli
