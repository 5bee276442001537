//===- Train.cpp - ponder train
//--------------------------------------------===//
//
// ponder train MODEL.toml --task TASK --steps K --out CKPT [...]: the
// training loop of training/TrainingRun.h with progress on stderr
// (docs/training.md). --resume continues a checkpoint's run, --init-from
// fine-tunes given weights; SIGINT or SIGTERM saves a checkpoint at the
// step reached and exits non-zero.
//
//===----------------------------------------------------------------------===//

#include "tools/ponder/Command.h"
#include "tools/ponder/ModelCache.h"
#include "tools/ponder/Ranks.h"

#include "training/TrainingRun.h"

#include <cmath>
#include <csignal>
#include <cstdio>
#include <unistd.h>

namespace ponder::cli {

namespace {

struct TrainOptions {
  ModelOptions model;
  std::string data;       // --data: task "data:FILE"
  TrainingSettings given; // the settings as flags; `keys` says which
  std::set<std::string> keys;
  TrainingOptions run;
  std::string resume;
};

volatile std::sig_atomic_t stopSignal = 0;

void onStopSignal(int signal) {
  stopSignal = signal;
  // A second signal is not caught: it stops the process at once.
  std::signal(signal, SIG_DFL);
}

/// "1m23s", "45s".
std::string duration(double seconds) {
  long long s = static_cast<long long>(seconds + 0.5);
  char buffer[32];
  if (s >= 60)
    std::snprintf(buffer, sizeof(buffer), "%lldm%02llds", s / 60, s % 60);
  else
    std::snprintf(buffer, sizeof(buffer), "%llds", s);
  return buffer;
}

/// Progress: one updating line on a terminal, else a line every steps / 20
/// steps and at each evaluation.
void showProgress(const StepReport &r, int64_t heldOut, bool terminal) {
  char line[256];
  std::snprintf(line, sizeof(line),
                "step %lld/%lld  loss %.4f  %.0f tok/s  depth %.2f  ETA %s",
                static_cast<long long>(r.row.step),
                static_cast<long long>(r.steps), r.row.loss,
                r.row.tokensPerSecond, r.row.meanDepth,
                duration(r.remaining).c_str());
  std::string shown = line;
  if (r.row.reward) {
    std::snprintf(line, sizeof(line), "  reward %.3f  think/verbal %.2f",
                  *r.row.reward, *r.row.thinkPerVerbal);
    shown += line;
  }
  if (r.row.heldOutThoughts && !terminal) { // on the evaluation's line
    std::snprintf(line, sizeof(line), "  thoughts/answer %.2f",
                  *r.row.heldOutThoughts);
    shown += line;
  }
  if (r.lastHeldOutLoss >= 0) {
    std::snprintf(line, sizeof(line), "  val loss %.4f ppl %.2f",
                  r.lastHeldOutLoss, std::exp(r.lastHeldOutLoss));
    shown += line;
  } else if (r.lastAccuracy >= 0) {
    std::snprintf(line, sizeof(line), "  held-out %.1f%% of %lld",
                  100.0 * r.lastAccuracy, static_cast<long long>(heldOut));
    shown += line;
  }
  int64_t logEvery = std::max<int64_t>(1, r.steps / 20);
  if (terminal) {
    int width = 24, filled = int(width * r.row.step / r.steps);
    std::fprintf(
        stderr, "\r[%s%s] %s\033[K", std::string(size_t(filled), '=').c_str(),
        std::string(size_t(width - filled), ' ').c_str(), shown.c_str());
  } else if (r.row.step % logEvery == 0 || r.row.step == r.steps ||
             r.evaluated) {
    std::fprintf(stderr, "%s\n", shown.c_str());
  }
}

/// The checkpoint to resume, its model checked against `o.model`.
StatusOr<Checkpoint> resumedCheckpoint(const TrainOptions &o) {
  StatusOr<Checkpoint> c = loadCheckpoint(o.resume);
  if (!c)
    return c;
  if (o.model.model.empty())
    return c;
  StatusOr<std::string> file = descriptionFile(c->metadata["model"]);
  if (!file)
    return file.getStatus();
  StatusOr<std::string> theirs = modelKey(*file);
  StatusOr<std::string> ours = modelKey(o.model.model);
  if (!ours)
    return ours.getStatus();
  if (!theirs || *theirs != *ours)
    return Status::error(o.resume +
                         ": the checkpoint is of another model description "
                         "than " +
                         o.model.model);
  return c;
}

/// Where the run starts: a checkpoint, given weights or the seed.
StatusOr<TrainingStart> startOf(const TrainOptions &o, const Artifact &model,
                                std::optional<Checkpoint> &resumed,
                                const TrainingSettings &settings) {
  TrainingStart start;
  if (resumed) {
    start = {std::move(resumed->parameters), std::move(resumed->m),
             std::move(resumed->v), resumed->step, o.resume};
  } else if (!settings.initFrom.empty()) {
    StatusOr<Checkpoint> c = loadCheckpoint(settings.initFrom);
    if (!c)
      return c.getStatus();
    start.parameters = std::move(c->parameters);
    start.source = settings.initFrom;
  } else {
    start.parameters =
        initialParameters(model, settings.seed, settings.embedStd);
    start.source = "the initial weights";
  }
  return start;
}

/// The reference model of `settings`, compiled: its own description or
/// the trained one's.
StatusOr<LoadedModel> referenceModel(const TrainOptions &o,
                                     const LoadedModel &trained,
                                     const TrainingSettings &settings) {
  ModelOptions ref = o.model;
  ref.model = settings.referenceModel;
  return loadModel(ref, settings.referenceModel.empty() ? trained.text : "");
}

int trainModel(const TrainOptions &o, const LoadedModel &loaded,
               const TrainingSettings &settings,
               std::optional<Checkpoint> &resumed, Communicator *ranks) {
  const Artifact &model = *loaded.artifact;
  std::optional<LoadedModel> reference;
  if (!settings.reference.empty()) {
    StatusOr<LoadedModel> r = referenceModel(o, loaded, settings);
    if (!r)
      return fail(r.getStatus());
    reference = std::move(*r);
  }
  StatusOr<TrainingStart> start = startOf(o, model, resumed, settings);
  if (!start)
    return fail(start.getStatus());
  TrainingOptions options = o.run;
  options.modelName = loaded.label;
  options.comm = ranks;
  // Rank 0 speaks for the job; the others print errors only.
  bool speaks = !ranks || ranks->rank() == 0;
  auto run = TrainingRun::create(
      model, loaded.text, settings, std::move(*start), options,
      reference ? reference->artifact.get() : nullptr);
  if (!run)
    return fail(run.getStatus());
  std::signal(SIGINT, onStopSignal);
  std::signal(SIGTERM, onStopSignal);
  bool terminal = isatty(fileno(stderr));
  StatusOr<int64_t> reached = (*run)->run(
      [&](const StepReport &r) {
        if (speaks)
          showProgress(r, options.heldOutCount, terminal);
      },
      &stopSignal);
  if (!reached) {
    if (terminal && speaks)
      std::fprintf(stderr, "\n");
    std::string message = reached.getStatus().message();
    if (ranks && message.rfind("ponder: ", 0) == 0)
      message.erase(0, 8);
    fail(ranks ? Status::error("ponder: rank " + std::to_string(ranks->rank()) +
                               ": " + message)
               : reached.getStatus());
    // The other ranks may be waiting in a sum: end the job, not hang.
    if (ranks && ranks->size() > 1)
      abortRanks();
    return 1;
  }
  if (!speaks)
    return 0;
  if (terminal)
    std::fprintf(stderr, "\n");
  if (stopSignal && *reached < settings.steps) { // not when it finished
    fail(Status::error("ponder: stopped by signal " +
                       std::to_string(stopSignal) + " at step " +
                       std::to_string(*reached) + "; checkpoint " +
                       options.out + " (--resume it to go on)"));
    return 128 + stopSignal;
  }
  const MetricsRow &last = (*run)->lastRow();
  if ((*run)->lastHeldOutLoss() >= 0) {
    double loss = (*run)->lastHeldOutLoss();
    std::printf("trained to step %lld: loss %.4f, validation loss %.4f, "
                "perplexity %.2f (%lld windows); checkpoint %s, metrics %s\n",
                static_cast<long long>(*reached), last.loss, loss,
                std::exp(loss), static_cast<long long>((*run)->heldOutSize()),
                options.out.c_str(), (*run)->metricsPath().c_str());
    return 0;
  }
  std::string thoughts;
  if (last.heldOutThoughts) {
    char buffer[64];
    std::snprintf(buffer, sizeof(buffer), ", %.2f thoughts per answer",
                  *last.heldOutThoughts);
    thoughts = buffer;
  }
  std::printf("trained to step %lld: loss %.4f, held-out accuracy %.1f%% "
              "(%lld examples%s); checkpoint %s, metrics %s\n",
              static_cast<long long>(*reached), last.loss,
              100.0 * (*run)->lastAccuracy(),
              static_cast<long long>(options.heldOutCount), thoughts.c_str(),
              options.out.c_str(), (*run)->metricsPath().c_str());
  return 0;
}

/// The tokenizer of a --data run: the model's [data] tokenizer, which a
/// resumed run must share with its checkpoint.
Status setTokenizer(const LoadedModel &loaded, TrainingSettings &settings,
                    bool resumed) {
  if (corpusOf(settings.task).empty())
    return Status::ok();
  auto v = tokenizerVocabulary(loaded, resumed ? settings.tokenizer : "");
  if (!v)
    return v.getStatus();
  if (!resumed)
    settings.tokenizer = loaded.tokenizer;
  return Status::ok();
}

int runTrain(TrainOptions &o, const CLI::App &app) {
  if (!o.data.empty()) {
    if (app.count("--task"))
      return fail(Status::error("ponder: --task and --data: give one"));
    o.given.task = "data:" + o.data;
    o.keys.insert("task");
  } else if (app.count("--val") || app.count("--window")) {
    return fail(Status::error(std::string("ponder: ") +
                              (app.count("--val") ? "--val" : "--window") +
                              " needs --data"));
  }
  for (const char *key :
       {"task", "val", "window", "steps", "batch", "lr", "weight-decay",
        "warmup", "seed", "think", "thought-slots", "think-at", "think-cost",
        "think-floor", "clamp-advantages", "return-to-go", "reference",
        "reference-model", "init-from"})
    if (app.count(std::string("--") + key)) {
      std::string k = key;
      std::replace(k.begin(), k.end(), '-', '_');
      o.keys.insert(k);
    }
  if (!o.resume.empty() && o.keys.count("init_from"))
    return fail(Status::error("ponder: --resume and --init-from: give one"));
  std::optional<Checkpoint> resumed;
  TrainingSettings settings = o.given;
  if (!o.resume.empty()) {
    StatusOr<Checkpoint> c = resumedCheckpoint(o);
    if (!c)
      return fail(c.getStatus());
    StatusOr<TrainingSettings> saved =
        TrainingSettings::fromMetadata(c->metadata, o.resume);
    if (!saved)
      return fail(saved.getStatus());
    StatusOr<TrainingSettings> s =
        resumedSettings(*saved, c->step, o.given, o.keys);
    if (!s)
      return fail(s.getStatus());
    settings = *s;
    resumed = std::move(*c);
    if (o.run.out.empty())
      o.run.out = o.resume;
  } else if (!o.keys.count("steps")) {
    return fail(Status::error("ponder: missing option '--steps'"));
  } else if (settings.task.empty()) {
    return fail(Status::error("ponder: missing option '--task' (or --data)"));
  }
  // Before the model compiles: these need nothing of it.
  if (Status s = settings.checkThinking(); !s)
    return fail(s);
  auto ranks = launchedRanks();
  if (!ranks)
    return fail(ranks.getStatus());
  // Under mpirun, even with one rank, the step runs split at the gradient,
  // so that any number of ranks runs the same code.
  o.model.dataParallel = bool(*ranks);
  StatusOr<LoadedModel> loaded =
      loadModel(o.model, resumed ? resumed->metadata["model"] : "");
  if (!loaded)
    return fail(loaded.getStatus());
  if (Status s = setTokenizer(*loaded, settings, bool(resumed)); !s)
    return fail(s);
  return trainModel(o, *loaded, settings, resumed, ranks->get());
}

} // namespace

Command makeTrainCommand(CLI::App &parent) {
  auto o = std::make_shared<TrainOptions>();
  CLI::App *app = addSubcommand(parent, "train",
                                "Train a model on a task (docs/training.md).");
  addModelOptions(app, o->model, /*optionalModel=*/true);
  TrainingSettings &g = o->given;
  app->add_option("--task", g.task, "the task: NAME[:ARG] (docs/tasks.md)");
  app->add_option("--data", o->data,
                  "a UTF-8 text corpus, tokenized by the model's [data] "
                  "tokenizer (bytes without one); instead of --task");
  app->add_option("--val", g.val,
                  "with --data: the validation text (default: the corpus's "
                  "last 10%)");
  app->add_option("--window", g.window,
                  "with --data: ids per training window (default: max_seq "
                  "- 1)")
      ->check(integerAtLeast(2));
  app->add_option("--steps", g.steps,
                  "the run's last step (with --resume: default the planned "
                  "one)")
      ->check(integerAtLeast(1));
  app->add_option("--batch", g.batch, "examples per step")
      ->check(integerAtLeast(1))
      ->capture_default_str();
  app->add_option("--lr", g.lr, "the peak learning rate")
      ->check(nonNegativeNumber())
      ->capture_default_str();
  app->add_option("--weight-decay", g.weightDecay, "AdamW's weight decay")
      ->check(nonNegativeNumber())
      ->capture_default_str();
  app->add_option("--warmup", g.warmup,
                  "warm-up steps (default: min(100, steps / 10))")
      ->check(integerAtLeast(0));
  app->add_option("--seed", g.seed, "weights, batches and rollouts")
      ->check(integerAtLeast(0))
      ->capture_default_str();
  app->add_option("--embed-std", g.embedStd,
                  "the std of the initial token and position embeddings "
                  "(MODEL.md §3: 0.02; 1 puts tokens on the scale of "
                  "hidden-state thoughts)")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app->add_flag("--think", g.think, "think tokens by rollouts (MODEL.md §6)");
  app->add_option("--thought-slots", g.thoughtSlots,
                  "placed thoughts, trained by back-propagation: "
                  "after-prompt:K or before-answer:K (docs/training.md)")
      ->check(thoughtSlotsSpec());
  app->add_option("--think-at", g.thinkAt,
                  "with --think: where spans open (answer: before targets, "
                  "as v1)")
      ->check(thinkAtPlace())
      ->capture_default_str();
  app->add_option("--think-cost", g.thinkCost,
                  "with --think: subtracted from a span's reward per thought")
      ->check(nonNegativeNumber())
      ->capture_default_str();
  app->add_option("--think-floor", g.thinkFloor,
                  "with --think: the least think probability rollouts sample")
      ->check(probability())
      ->capture_default_str();
  app->add_flag("--clamp-advantages", g.clampAdvantages,
                "with --think: negative advantages set to 0 (Quiet-STaR)");
  app->add_flag("--return-to-go", g.returnToGo,
                "with --think: a span's advantage from its reward plus its "
                "row's later ones (credits thoughts in the prompt)");
  app->add_option("--reference", g.reference,
                  "a frozen reference checkpoint for soft targets");
  app->add_option("--reference-model", g.referenceModel,
                  "the reference's description (default: MODEL.toml)");
  app->add_option("--init-from", g.initFrom,
                  "start from these weights (fine-tuning; any task)");
  app->add_option("--resume", o->resume, "continue this checkpoint's run");
  TrainingOptions &r = o->run;
  app->add_option("--out", r.out,
                  "the checkpoint (default with --resume: that one); "
                  "metrics in OUT.csv")
      ->check(outputFile());
  app->add_option("--eval-every", r.evalEvery,
                  "held-out accuracy (with --data: validation loss) every K "
                  "steps (0: at the end)")
      ->check(integerAtLeast(0))
      ->capture_default_str();
  app->add_option("--save-every", r.saveEvery,
                  "checkpoint every K steps (default: steps / 10)")
      ->check(integerAtLeast(1));
  return {app, [o, app] { return runTrain(*o, *app); }};
}

} // namespace ponder::cli
