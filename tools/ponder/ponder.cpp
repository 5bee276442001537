//===- ponder.cpp - The ponder command: init and run models ---------------===//
//
//   ponder init MODEL.toml --seed S -o W.safetensors
//   ponder run  MODEL.toml --weights W --batch IN --dump OUT [--grad]
//   ponder generate MODEL.toml --weights W [--prompt TEXT | --prompt-ids IDS]
//       [--max-new N] [--temperature T] [--seed S] [--vocab NAME]
//       [--show-thoughts] [--print-ids]
//   ponder train MODEL.toml --task TASK --steps K [--batch B] [--lr X]
//       [--weight-decay W] [--warmup N] [--seed S] [--out CKPT]
//       [--resume CKPT] [--eval-every K] [--save-every K] [--think]
//       [--reference CKPT [--reference-model REF.toml]]
//   ponder eval MODEL.toml --weights W --task TASK [--examples N] [--seed S]
//       [--think] [--csv FILE] [--plot FILE.png] [--metrics TRAIN.csv]
//   ponder bench MODEL.toml [--batch B] [--length T] [--iters N]
//   ponder bench generate MODEL.toml [--prompt-length P] [--new N]
//   ponder bench train MODEL.toml [--batch B] [--seq T] [--iters N]
//
// Models are compiled once by ponderc (found next to this binary, or
// $PONDERC) into an artifact cached under $PONDER_CACHE_DIR (default
// ~/.cache/ponder) by the hash of the description and of the compiler. This
// binary links only the runtime (never MLIR or LLVM). Every error is one
// line and a non-zero exit; no output file is left half-written.
//
//===----------------------------------------------------------------------===//

#include "runtime/Artifact.h"
#include "runtime/Cuda.h"
#include "runtime/Generate.h"
#include "runtime/Hash.h"
#include "runtime/Init.h"
#include "runtime/Safetensors.h"
#include "runtime/Trainer.h"
#include "training/Evaluation.h"
#include "training/Plot.h"
#include "training/Rollouts.h"
#include "training/Tasks.h"
#include "training/Vocabulary.h"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

using namespace ponder;

namespace {

/// Prints `status`'s line (none when a subprocess already printed it) and
/// returns the exit code 1.
int fail(const Status &status) {
  if (!status.message().empty())
    std::fprintf(stderr, "%s\n", status.message().c_str());
  return 1;
}

int fail(const std::string &message) {
  std::fprintf(stderr, "%s\n", message.c_str());
  return 1;
}

/// `--flag value` pairs and `--switch`es after the command words.
struct Options {
  std::string model;
  std::map<std::string, std::string> flags;
  bool has(const std::string &name) const { return flags.count(name) != 0; }
};

/// Parses argv[first..]: the model path, `required` and `optional` flags
/// with a value, and `switches` without one.
StatusOr<Options> parseOptions(int argc, char **argv,
                               const std::vector<std::string> &required,
                               const std::vector<std::string> &optional = {},
                               const std::vector<std::string> &switches = {},
                               int first = 2) {
  auto among = [](const std::vector<std::string> &names,
                  const std::string &arg) {
    return std::find(names.begin(), names.end(), arg) != names.end();
  };
  Options o;
  for (int i = first; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg.rfind("-", 0) != 0) {
      if (!o.model.empty())
        return Status::error("ponder: unexpected argument '" + arg + "'");
      o.model = arg;
      continue;
    }
    if (among(switches, arg)) {
      o.flags[arg] = "";
      continue;
    }
    // Every command that runs the model takes --threads and --device (see
    // loadModel).
    if (!among(required, arg) && !among(optional, arg) && arg != "--threads" &&
        arg != "--device")
      return Status::error("ponder: unknown option '" + arg + "'");
    if (i + 1 >= argc)
      return Status::error("ponder: option '" + arg + "' needs a value");
    o.flags[arg] = argv[++i];
  }
  if (o.model.empty())
    return Status::error("ponder: missing MODEL.toml");
  for (const std::string &a : required)
    if (!o.flags.count(a))
      return Status::error("ponder: missing option '" + a + "'");
  // Output paths are checked before any work: a run that could not save
  // its result does not start.
  for (const char *output : {"-o", "--dump", "--out", "--csv", "--plot"}) {
    auto it = o.flags.find(output);
    if (it == o.flags.end())
      continue;
    const std::string &path = it->second;
    struct stat st;
    if (path.empty())
      return Status::error("ponder: " + std::string(output) + ": empty path");
    if (stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode))
      return Status::error("ponder: " + std::string(output) + ": '" + path +
                           "' is a directory, not a file");
    size_t slash = path.find_last_of('/');
    std::string parent = slash == std::string::npos ? "."
                         : slash == 0               ? "/"
                                                    : path.substr(0, slash);
    if (stat(parent.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
      return Status::error("ponder: " + std::string(output) + ": directory '" +
                           parent + "' does not exist");
  }
  return o;
}

StatusOr<std::string> readFile(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return Status::error(path + ": cannot read file");
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string directoryOfThisBinary() {
  char buffer[4096];
  ssize_t n = readlink("/proc/self/exe", buffer, sizeof(buffer) - 1);
  if (n <= 0)
    return ".";
  std::string path(buffer, n);
  return path.substr(0, path.find_last_of('/'));
}

/// Compiles `model` (or finds it in the cache); returns the artifact's path.
/// The cache key covers the description and the compiler binary itself, so
/// a rebuilt ponderc never reuses an artifact of another compiler.
StatusOr<std::string> compile(const std::string &model, const std::string &text,
                              const std::string &device) {
  std::string ponderc = std::getenv("PONDERC")
                            ? std::getenv("PONDERC")
                            : directoryOfThisBinary() + "/ponderc";
  StatusOr<std::string> compiler = readFile(ponderc);
  if (!compiler)
    return Status::error("ponder: cannot read the compiler " + ponderc +
                         " (set $PONDERC)");
  uint64_t hash =
      fnv1a(device, fnv1a(text, fnv1a(*compiler, fnv1a(PONDER_VERSION))));
  char hex[17];
  std::snprintf(hex, sizeof(hex), "%016llx",
                static_cast<unsigned long long>(hash));
  std::string dir;
  if (const char *env = std::getenv("PONDER_CACHE_DIR"))
    dir = env;
  else
    dir = std::string(std::getenv("HOME") ? std::getenv("HOME") : "/tmp") +
          "/.cache/ponder";
  // mkdir -p: every component, ignoring those that exist.
  for (size_t at = 1; at <= dir.size(); ++at)
    if (at == dir.size() || dir[at] == '/')
      mkdir(dir.substr(0, at).c_str(), 0755);
  std::string artifact = dir + "/" + hex + ".so";
  struct stat st;
  if (stat(artifact.c_str(), &st) == 0)
    return artifact;
  pid_t pid = fork();
  if (pid == 0) {
    std::string target = "--target=" + device;
    execl(ponderc.c_str(), ponderc.c_str(), model.c_str(), target.c_str(),
          "--emit=artifact", "-o", artifact.c_str(),
          static_cast<char *>(nullptr));
    std::fprintf(stderr, "ponder: cannot run %s\n", ponderc.c_str());
    std::_Exit(127);
  }
  int status = 0;
  if (pid < 0 || waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) ||
      WEXITSTATUS(status) != 0)
    return Status::error(""); // ponderc printed the reason
  return artifact;
}

/// The integer value of option `name` (or `fallback`), at least `min`.
StatusOr<int64_t> integerOption(const Options &o, const std::string &name,
                                int64_t fallback, int64_t min) {
  auto it = o.flags.find(name);
  if (it == o.flags.end())
    return fallback;
  char *end = nullptr;
  long long v = std::strtoll(it->second.c_str(), &end, 10);
  if (it->second.empty() || *end != '\0' || v < min)
    return Status::error("ponder: " + name + ": expected an integer >= " +
                         std::to_string(min) + ", got '" + it->second + "'");
  return static_cast<int64_t>(v);
}

/// Compiles (or finds in the cache) and loads the model of `o` for
/// `--device cpu|cuda` (default cpu), running on `--threads N` host threads
/// when given.
StatusOr<std::unique_ptr<Artifact>> loadModel(const Options &o,
                                              std::string &text) {
  // Checked before compiling: a bad value fails at once.
  StatusOr<int64_t> threads = integerOption(o, "--threads", 0, 1);
  if (!threads)
    return threads.getStatus();
  std::string device = o.has("--device") ? o.flags.at("--device") : "cpu";
  if (device != "cpu" && device != "cuda")
    return Status::error("ponder: --device: expected cpu or cuda, got '" +
                         device + "'");
  if (device == "cuda")
    if (Status s = cuda::initialize(); !s)
      return Status::error("ponder: --device cuda: " + s.message());
  StatusOr<std::string> t = readFile(o.model);
  if (!t)
    return t.getStatus();
  text = *t;
  StatusOr<std::string> path = compile(o.model, text, device);
  if (!path)
    return path.getStatus();
  StatusOr<std::unique_ptr<Artifact>> artifact = Artifact::load(*path);
  if (artifact && o.has("--threads"))
    (*artifact)->setThreads(*threads);
  return artifact;
}

/// The model's parameters initialised as MODEL.md §3 from `seed`, in
/// descriptor order.
std::vector<Tensor> initialParameters(const Artifact &model, uint64_t seed) {
  std::vector<Tensor> tensors;
  tensors.reserve(model.parameters().size());
  for (const ValueSpec &p : model.parameters()) {
    tensors.emplace_back(DType::F32, p.shape);
    initParameter(p.name, seed, tensors.back().data<float>(),
                  tensors.back().numel());
  }
  return tensors;
}

/// Reads the weights at `path` into `file` and points `values` at them,
/// checked by name, shape and dtype against `model`.
Status loadWeights(const Artifact &model, const std::string &path,
                   SafetensorsFile &file,
                   std::map<std::string, const Tensor *> &values) {
  StatusOr<SafetensorsFile> read = readSafetensors(path);
  if (!read)
    return read.getStatus();
  file = std::move(*read);
  for (const auto &[name, t] : file.tensors)
    if (!isOptimizerState(name)) // a checkpoint serves as weights too
      values[name] = &t;
  return model.checkWeights(values, path);
}

/// The value of option `name` as a finite number >= 0 (or `fallback`).
StatusOr<double> nonNegativeOption(const Options &o, const std::string &name,
                                   double fallback) {
  auto it = o.flags.find(name);
  if (it == o.flags.end())
    return fallback;
  char *end = nullptr;
  double v = std::strtod(it->second.c_str(), &end);
  if (it->second.empty() || *end != '\0' || !std::isfinite(v) || v < 0)
    return Status::error("ponder: " + name + ": expected a number >= 0, got '" +
                         it->second + "'");
  return v;
}

/// The vocabulary for text in and out of `model`: --vocab NAME, or bytes
/// when the model has room for them.
StatusOr<Vocabulary> chooseVocabulary(const Options &o, const Artifact &model) {
  std::string name;
  if (o.has("--vocab"))
    name = o.flags.at("--vocab");
  else if (model.verbalVocab() >= Vocabulary::bytes().size())
    name = "bytes";
  else
    return Status::error(
        "ponder: " + o.model +
        " has verbal_vocab = " + std::to_string(model.verbalVocab()) +
        ", too small for bytes (258); choose --vocab with a task's name, or "
        "use --prompt-ids and --print-ids");
  std::optional<Vocabulary> v =
      name == "bytes" ? Vocabulary::bytes() : Vocabulary::task(name);
  if (!v)
    return Status::error("ponder: --vocab: unknown vocabulary '" + name +
                         "' (bytes, parity, addition, multiplication, reverse, "
                         "permutations or oracle-mix)");
  if (v->size() > model.verbalVocab())
    return Status::error(
        "ponder: --vocab " + name + " has " + std::to_string(v->size()) +
        " ids, more than " + o.model +
        "'s verbal_vocab = " + std::to_string(model.verbalVocab()));
  return *v;
}

/// Ids separated by spaces or commas, each in [0, vocab).
StatusOr<std::vector<int32_t>> parseIds(const std::string &text,
                                        int64_t vocab) {
  std::vector<int32_t> ids;
  std::string token;
  std::stringstream in(text);
  while (in >> token) {
    std::stringstream parts(token);
    std::string part;
    while (std::getline(parts, part, ',')) {
      if (part.empty())
        continue;
      char *end = nullptr;
      long long id = std::strtoll(part.c_str(), &end, 10);
      if (*end != '\0' || id < 0 || id >= vocab)
        return Status::error(
            "ponder: --prompt-ids: '" + part +
            "' is not an id in [0, V = " + std::to_string(vocab) + ")");
      ids.push_back(int32_t(id));
    }
  }
  return ids;
}

int init(int argc, char **argv) {
  StatusOr<Options> o = parseOptions(argc, argv, {"--seed", "-o"});
  if (!o)
    return fail(o.getStatus().message());
  StatusOr<int64_t> seed = integerOption(*o, "--seed", 0, 0);
  if (!seed)
    return fail(seed.getStatus().message());
  std::string text;
  auto artifact = loadModel(*o, text);
  if (!artifact)
    return fail(artifact.getStatus());
  const std::vector<ValueSpec> &specs = (*artifact)->parameters();
  std::vector<Tensor> tensors = initialParameters(**artifact, uint64_t(*seed));
  std::vector<std::pair<std::string, const Tensor *>> named;
  for (size_t i = 0; i < specs.size(); ++i)
    named.emplace_back(specs[i].name, &tensors[i]);
  Status s =
      writeSafetensors(o->flags["-o"], named, {{"model", text}, {"step", "0"}});
  return s ? 0 : fail(s.message());
}

int run(int argc, char **argv) {
  StatusOr<Options> o = parseOptions(
      argc, argv, {"--weights", "--batch", "--dump"}, {}, {"--grad"});
  if (!o)
    return fail(o.getStatus().message());
  std::string text;
  auto artifact = loadModel(*o, text);
  if (!artifact)
    return fail(artifact.getStatus());
  const Artifact &model = **artifact;

  std::string weightsPath = o->flags["--weights"];
  SafetensorsFile weights;
  std::map<std::string, const Tensor *> values;
  if (Status s = loadWeights(model, weightsPath, weights, values); !s)
    return fail(s.message());

  // The batch (MODEL.md §8): ids [B, T], lengths [B], optional
  // target_weight and advantage [B, T].
  std::string batchPath = o->flags["--batch"];
  StatusOr<SafetensorsFile> batch = readSafetensors(batchPath);
  if (!batch)
    return fail(batch.getStatus().message());
  const Tensor *ids = batch->find("ids"), *lengths = batch->find("lengths");
  if (!ids || ids->dtype() != DType::I32 || ids->rank() != 2)
    return fail(batchPath + ": expected 'ids' I32 [B, T]");
  int64_t b = ids->shape()[0], t = ids->shape()[1];
  if (b == 0)
    return fail(batchPath + ": the batch is empty (B = 0)");
  if (!lengths || lengths->dtype() != DType::I32 ||
      lengths->shape() != std::vector<int64_t>{b})
    return fail(batchPath + ": expected 'lengths' I32 [" + std::to_string(b) +
                "]");
  if (t < 1 || t > model.maxSeq())
    return fail(batchPath + ": sequence length " + std::to_string(t) +
                " is outside [1, max_seq = " + std::to_string(model.maxSeq()) +
                "]");
  for (int64_t r = 0; r < b; ++r) {
    int32_t len = lengths->data<int32_t>()[r];
    if (len < 1 || len > t)
      return fail(batchPath + ": lengths[" + std::to_string(r) +
                  "] = " + std::to_string(len) + " is outside [1, " +
                  std::to_string(t) + "]");
  }
  for (int64_t i = 0; i < b * t; ++i) {
    int32_t id = ids->data<int32_t>()[i];
    if (id < 0 || id >= model.vocabSize())
      return fail(batchPath + ": ids[" + std::to_string(i / t) + ", " +
                  std::to_string(i % t) + "] = " + std::to_string(id) +
                  " is outside [0, V = " + std::to_string(model.vocabSize()) +
                  ")");
  }
  Tensor ones(DType::F32, {b, t}), zeros(DType::F32, {b, t});
  for (int64_t i = 0; i < b * t; ++i)
    ones.data<float>()[i] = 1.0f;
  values["ids"] = ids;
  values["lengths"] = lengths;
  values["target_weight"] = &ones;
  values["advantage"] = &zeros;
  for (const char *optional : {"target_weight", "advantage"})
    if (const Tensor *x = batch->find(optional)) {
      if (x->dtype() != DType::F32 || x->shape() != ids->shape())
        return fail(batchPath + ": expected '" + optional + "' F32 [" +
                    std::to_string(b) + ", " + std::to_string(t) + "]");
      if (Status s = checkFinite(*x, optional); !s)
        return fail(batchPath + ": " + s.message());
      values[optional] = x;
    }
  if (const Tensor *ref = batch->find("reference_logits")) {
    std::vector<int64_t> shape = {b, t, model.vocabSize()};
    if (ref->dtype() != DType::F32 || ref->shape() != shape)
      return fail(batchPath + ": expected 'reference_logits' F32 [" +
                  std::to_string(b) + ", " + std::to_string(t) + ", " +
                  std::to_string(model.vocabSize()) + "]");
    if (Status s = checkFinite(*ref, "reference_logits"); !s)
      return fail(batchPath + ": " + s.message());
    values["reference_logits"] = ref;
  }

  // --grad: the `grad` entry returns @loss's outputs and grad.NAME.
  const char *entryName = o->has("--grad") ? "grad" : "loss";
  const EntryPoint *loss = model.entry(entryName);
  if (!loss)
    return fail(o->model + ": the artifact has no " + entryName +
                " entry point");
  auto results = model.call(*loss, values);
  if (!results)
    return fail(batchPath + ": " + results.getStatus().message());
  std::vector<std::pair<std::string, const Tensor *>> dump;
  for (const ValueSpec &r : loss->results)
    dump.emplace_back(r.name, &results->at(r.name));
  Status s = writeSafetensors(o->flags["--dump"], dump, {});
  return s ? 0 : fail(s.message());
}

/// `path` with its extension replaced by `extension`.
std::string withExtension(const std::string &path, const std::string &ext) {
  size_t slash = path.find_last_of('/');
  size_t dot = path.find_last_of('.');
  if (dot == std::string::npos || (slash != std::string::npos && dot < slash))
    return path + ext;
  return path.substr(0, dot) + ext;
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

/// The metrics CSV of a run: a header, one row per step. On resume, rows
/// after the checkpoint's step (written before a crash) are dropped.
Status openMetrics(const std::string &path, int64_t resumeStep,
                   std::ofstream &out) {
  const char *header = "step,loss,loss_ce,loss_ponder,loss_policy,grad_norm,"
                       "learning_rate,mean_depth,tokens_per_s,"
                       "heldout_accuracy,reward,advantage_std,"
                       "think_per_verbal,think_advantage";
  std::vector<std::string> kept;
  if (resumeStep > 0) {
    std::ifstream in(path);
    std::string line;
    while (std::getline(in, line))
      if (!line.empty() && std::isdigit(static_cast<unsigned char>(line[0])) &&
          std::strtoll(line.c_str(), nullptr, 10) <= resumeStep)
        kept.push_back(line);
  }
  out.open(path, std::ios::trunc);
  if (!out)
    return Status::error(path + ": cannot write the metrics file");
  out << header << "\n";
  for (const std::string &line : kept)
    out << line << "\n";
  out.flush();
  return Status::ok();
}

/// Held-out exact-match accuracy: teacher-forced argmax through @forward,
/// or with `think` a greedy thinking walk (training/Evaluation.h).
StatusOr<double> heldOutAccuracy(const Artifact &model, const Trainer &trainer,
                                 const TaskBatch &held, bool think) {
  if (!think)
    return trainer.accuracy(held.ids, held.lengths, held.scored);
  std::map<std::string, const Tensor *> view;
  for (const auto &[name, t] : trainer.parameters())
    view[name] = &t;
  EvaluateOptions options;
  options.maxThink = model.maxThink();
  auto e = evaluate(model, view, held.ids, held.lengths, held.targetWeight,
                    held.scored, options, "the trained weights");
  if (!e)
    return e.getStatus();
  return e->accuracy();
}

// ponder train: see the file comment and docs/training.md.
int train(int argc, char **argv) {
  StatusOr<Options> o =
      parseOptions(argc, argv, {"--steps"},
                   {"--task", "--batch", "--lr", "--weight-decay", "--warmup",
                    "--seed", "--out", "--resume", "--eval-every",
                    "--save-every", "--reference", "--reference-model"},
                   {"--think"});
  if (!o)
    return fail(o.getStatus().message());
  std::string text;
  auto artifact = loadModel(*o, text);
  if (!artifact)
    return fail(artifact.getStatus());
  const Artifact &model = **artifact;

  // A resumed run takes its settings from the checkpoint; flags that would
  // change the trajectory must agree with them.
  std::optional<Checkpoint> resumed;
  std::map<std::string, std::string> settings;
  if (o->has("--resume")) {
    StatusOr<Checkpoint> c = loadCheckpoint(o->flags["--resume"]);
    if (!c)
      return fail(c.getStatus().message());
    if (c->metadata["model"] != text)
      return fail(o->flags["--resume"] +
                  ": the checkpoint is of another model description than " +
                  o->model);
    if (!c->metadata.count("task"))
      return fail(o->flags["--resume"] +
                  ": not a ponder train checkpoint (no task in __metadata__)");
    resumed = std::move(*c);
    settings = resumed->metadata;
  }
  const std::vector<std::pair<std::string, std::string>> defaults = {
      {"task", ""},      {"batch", "32"},
      {"lr", "0.003"},   {"weight_decay", "0.1"},
      {"warmup", "-1"},  {"seed", "0"},
      {"reference", ""}, {"reference_model", ""}};
  for (const auto &[key, fallback] : defaults) {
    std::string flag = "--" + key;
    std::replace(flag.begin(), flag.end(), '_', '-');
    auto given = o->flags.find(flag);
    if (resumed) {
      if (given != o->flags.end() && given->second != settings[key])
        return fail("ponder: " + flag + " " + given->second +
                    " differs from the resumed run's " + settings[key]);
    } else {
      settings[key] = given != o->flags.end() ? given->second : fallback;
    }
  }
  if (settings["task"].empty())
    return fail("ponder: missing option '--task'");
  // --think is a switch: a resumed run keeps the checkpoint's choice.
  std::string thinkFlag = o->has("--think") ? "1" : "0";
  if (resumed && o->has("--think") && settings["think"] != "1")
    return fail("ponder: --think differs from the resumed run's choice");
  if (!resumed)
    settings["think"] = thinkFlag;
  bool think = settings["think"] == "1";
  Options numeric;
  numeric.model = o->model;
  for (const auto &[key, value] : settings) {
    if (key == "think" || key.rfind("reference", 0) == 0)
      continue;
    std::string flag = "--" + key;
    std::replace(flag.begin(), flag.end(), '_', '-');
    numeric.flags[flag] = value;
  }
  StatusOr<int64_t> steps = integerOption(*o, "--steps", 0, 1);
  StatusOr<int64_t> batch = integerOption(numeric, "--batch", 32, 1);
  StatusOr<int64_t> seed = integerOption(numeric, "--seed", 0, 0);
  StatusOr<int64_t> warmupGiven = integerOption(numeric, "--warmup", -1, -1);
  StatusOr<double> lr = nonNegativeOption(numeric, "--lr", 0.003);
  StatusOr<double> decay = nonNegativeOption(numeric, "--weight-decay", 0.1);
  StatusOr<int64_t> evalEvery = integerOption(*o, "--eval-every", 0, 0);
  for (const Status *st :
       {&steps.getStatus(), &batch.getStatus(), &seed.getStatus(),
        &warmupGiven.getStatus(), &lr.getStatus(), &decay.getStatus(),
        &evalEvery.getStatus()})
    if (!*st)
      return fail(st->message());
  StatusOr<int64_t> saveEvery =
      integerOption(*o, "--save-every", std::max<int64_t>(1, *steps / 10), 1);
  if (!saveEvery)
    return fail(saveEvery.getStatus().message());
  int64_t warmup =
      *warmupGiven >= 0 ? *warmupGiven : std::min<int64_t>(100, *steps / 10);
  settings["warmup"] = std::to_string(warmup);

  auto task =
      Task::create(settings["task"], model.verbalVocab(), model.maxSeq());
  if (!task)
    return fail("ponder: " + task.getStatus().message());

  std::string out = o->has("--out") ? o->flags["--out"]
                    : resumed       ? o->flags["--resume"]
                                    : "";
  if (out.empty())
    return fail("ponder: missing option '--out'");
  std::map<std::string, Tensor> params, m, v;
  int64_t start = 0;
  if (resumed) {
    params = std::move(resumed->parameters);
    m = std::move(resumed->m);
    v = std::move(resumed->v);
    start = resumed->step;
  } else {
    std::vector<Tensor> init = initialParameters(model, uint64_t(*seed));
    for (size_t i = 0; i < init.size(); ++i)
      params.emplace(model.parameters()[i].name, std::move(init[i]));
  }
  if (start >= *steps)
    return fail("ponder: the checkpoint is at step " + std::to_string(start) +
                ", nothing to do for --steps " + std::to_string(*steps));
  auto trainer = Trainer::create(
      model, std::move(params), std::move(m), std::move(v), start,
      resumed ? o->flags["--resume"] : std::string("the initial weights"));
  if (!trainer)
    return fail(trainer.getStatus().message());

  // A frozen reference model for soft targets (MODEL.md §5): the same
  // description unless --reference-model names another.
  std::unique_ptr<Artifact> referenceModel;
  if (!settings["reference"].empty()) {
    Options ref;
    ref.model = settings["reference_model"].empty()
                    ? o->model
                    : settings["reference_model"];
    for (const char *shared : {"--threads", "--device"})
      if (o->has(shared))
        ref.flags[shared] = o->flags[shared];
    std::string refText;
    auto loaded = loadModel(ref, refText);
    if (!loaded)
      return fail(loaded.getStatus());
    referenceModel = std::move(*loaded);
    StatusOr<Checkpoint> c = loadCheckpoint(settings["reference"]);
    if (!c)
      return fail(c.getStatus().message());
    if (Status st = (*trainer)->setReference(
            *referenceModel, std::move(c->parameters), settings["reference"]);
        !st)
      return fail("ponder: --reference: " + st.message());
  }

  // Rollouts (MODEL.md §6) decode with the trainer's own parameters, which
  // every step updates in place.
  std::unique_ptr<Decoder> decoder;
  RolloutOptions rolloutOptions;
  if (think) {
    if (model.vocabSize() == model.verbalVocab() || model.maxThink() == 0)
      return fail("ponder: --think: " + o->model +
                  " has no think tokens to sample (think_vocab or max_think "
                  "is 0)");
    StatusOr<ThinkReward> reward = parseThinkReward(model.thinkReward());
    if (!reward)
      return fail("ponder: " + reward.getStatus().message());
    rolloutOptions = {model.rollouts(), model.maxThink(), *reward, 0};
    std::map<std::string, const Tensor *> view;
    for (const auto &[name, t] : (*trainer)->parameters())
      view[name] = &t;
    auto d = Decoder::create(model, view, *batch * model.rollouts(),
                             "the trained weights");
    if (!d)
      return fail(d.getStatus().message());
    decoder = std::move(*d);
  }

  std::ofstream metrics;
  std::string metricsPath = withExtension(out, ".csv");
  if (Status st = openMetrics(metricsPath, start, metrics); !st)
    return fail(st.message());
  std::map<std::string, std::string> metadata = settings;
  metadata["model"] = text;
  metadata["steps"] = std::to_string(*steps);

  bool terminal = isatty(fileno(stderr));
  int64_t logEvery = std::max<int64_t>(1, *steps / 20);
  TaskBatch held = heldOutBatch(**task, uint64_t(*seed), 0, 256);
  auto began = std::chrono::steady_clock::now();
  double lastAccuracy = -1, loss = 0;
  int64_t tokens = 0;
  for (int64_t s = start + 1; s <= *steps; ++s) {
    TaskBatch b = trainBatch(**task, uint64_t(*seed), s - 1, *batch);
    double rate = scheduledLearningRate(*lr, s, warmup, *steps);
    TrainBatch step{&b.ids, &b.lengths, &b.targetWeight, nullptr};
    RolloutBatch rolled;
    if (think) {
      decoder->reset();
      rolloutOptions.seed =
          fnv1a("rollouts:" + settings["seed"] + ":" + std::to_string(s));
      StatusOr<RolloutBatch> r =
          rollout(*decoder, b.ids, b.lengths, b.targetWeight, rolloutOptions);
      if (!r)
        return fail("ponder: step " + std::to_string(s) +
                    ": rollouts: " + r.getStatus().message());
      rolled = std::move(*r);
      step = {&rolled.ids, &rolled.lengths, &rolled.targetWeight,
              &rolled.advantage};
    }
    auto r = (*trainer)->train(step, rate, *decay);
    if (!r) {
      // Checkpoints are replaced atomically: the last one is intact.
      struct stat st;
      bool saved = stat(out.c_str(), &st) == 0;
      return fail("ponder: step " + std::to_string(s) + ": " +
                  r.getStatus().message() +
                  (saved ? "; the last checkpoint is kept" : ""));
    }
    loss = r->loss;
    tokens += r->tokens;
    double elapsed =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - began)
            .count();
    double rate_ = elapsed > 0 ? double(tokens) / elapsed : 0.0;
    std::string accuracy;
    if ((*evalEvery > 0 && s % *evalEvery == 0) || s == *steps) {
      auto acc = heldOutAccuracy(model, **trainer, held, think);
      if (!acc)
        return fail("ponder: held-out evaluation: " +
                    acc.getStatus().message());
      lastAccuracy = *acc;
      char buffer[32];
      std::snprintf(buffer, sizeof(buffer), "%.4f", *acc);
      accuracy = buffer;
    }
    char row[256];
    std::snprintf(row, sizeof(row),
                  "%lld,%.6g,%.6g,%.6g,%.6g,%.6g,%.6g,%.4f,"
                  "%.1f,",
                  static_cast<long long>(s), r->loss, r->ce, r->ponder,
                  r->policy, r->gradNorm, rate, r->meanDepth, rate_);
    metrics << row << accuracy;
    if (think) {
      const RolloutStats &t = rolled.stats;
      std::snprintf(row, sizeof(row), ",%.6g,%.6g,%.6g,", t.meanReward,
                    t.advantageStd,
                    t.spans ? double(t.thinkTokens) / double(t.spans) : 0.0);
      metrics << row;
      if (t.thinkingSpans > 0) {
        std::snprintf(row, sizeof(row), "%.6g", t.thinkingAdvantage);
        metrics << row;
      }
    } else {
      metrics << ",,,,";
    }
    metrics << "\n";
    metrics.flush();
    if ((*saveEvery > 0 && s % *saveEvery == 0) || s == *steps) {
      if (Status st = (*trainer)->save(out, metadata); !st)
        return fail(st.message());
    }
    double eta =
        (s > start) ? elapsed / double(s - start) * double(*steps - s) : 0.0;
    char line[256];
    std::snprintf(line, sizeof(line),
                  "step %lld/%lld  loss %.4f  %.0f tok/s  depth %.2f  ETA %s",
                  static_cast<long long>(s), static_cast<long long>(*steps),
                  r->loss, rate_, r->meanDepth, duration(eta).c_str());
    std::string shown = line;
    if (think) {
      char extra[96];
      const RolloutStats &t = rolled.stats;
      std::snprintf(extra, sizeof(extra), "  reward %.3f  think/verbal %.2f",
                    t.meanReward,
                    t.spans ? double(t.thinkTokens) / double(t.spans) : 0.0);
      shown += extra;
    }
    if (lastAccuracy >= 0) {
      char acc[48];
      std::snprintf(acc, sizeof(acc), "  held-out %.1f%%",
                    100.0 * lastAccuracy);
      shown += acc;
    }
    if (terminal) {
      int width = 24, filled = int(width * s / *steps);
      std::fprintf(
          stderr, "\r[%s%s] %s\033[K", std::string(size_t(filled), '=').c_str(),
          std::string(size_t(width - filled), ' ').c_str(), shown.c_str());
    } else if (s % logEvery == 0 || s == *steps || !accuracy.empty()) {
      std::fprintf(stderr, "%s\n", shown.c_str());
    }
  }
  if (terminal)
    std::fprintf(stderr, "\n");
  std::printf("trained to step %lld: loss %.4f, held-out accuracy %.1f%%; "
              "checkpoint %s, metrics %s\n",
              static_cast<long long>(*steps), loss, 100.0 * lastAccuracy,
              out.c_str(), metricsPath.c_str());
  return 0;
}

/// Writes the per-position table of `e` as CSV (header in docs/evaluation.md)
/// atomically.
Status writePositionsCsv(const std::string &path, const Evaluation &e,
                         const Vocabulary *vocab, int64_t verbalVocab) {
  std::string partial = path + ".partial";
  {
    std::ofstream out(partial, std::ios::trunc);
    if (!out)
      return Status::error(path + ": cannot write the CSV file");
    out << "position,token,scored,count,think_tokens,depth,think_depth,"
           "accuracy,nll\n";
    for (size_t p = 0; p < e.positions.size(); ++p) {
      const PositionStats &s = e.positions[p];
      if (s.count == 0)
        continue;
      std::string token = std::to_string(p);
      if (s.token >= 0)
        token = vocab ? vocab->decode({s.token}, verbalVocab, true)
                      : std::to_string(s.token);
      char row[256];
      std::snprintf(row, sizeof(row), "%zu,%s,%lld,%lld,%.6g,%.6g,", p,
                    token.c_str(), static_cast<long long>(s.scored),
                    static_cast<long long>(s.count),
                    s.targets ? double(s.thinkTokens) / double(s.targets) : 0.0,
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

// ponder eval MODEL.toml --weights W --task TASK [--examples N] [--seed S]
// [--think] [--csv FILE] [--plot FILE.png] [--metrics TRAIN.csv]: held-out
// exact-match accuracy, verbal NLL, thinking and depth of a checkpoint or
// plain weights on a task, per position and per example length
// (docs/evaluation.md).
int evaluate(int argc, char **argv) {
  StatusOr<Options> o = parseOptions(
      argc, argv, {"--weights", "--task"},
      {"--examples", "--seed", "--csv", "--plot", "--metrics"}, {"--think"});
  if (!o)
    return fail(o.getStatus().message());
  StatusOr<int64_t> examples = integerOption(*o, "--examples", 512, 1);
  StatusOr<int64_t> seed = integerOption(*o, "--seed", 0, 0);
  if (!examples || !seed)
    return fail(
        (!examples ? examples.getStatus() : seed.getStatus()).message());
  std::string text;
  auto artifact = loadModel(*o, text);
  if (!artifact)
    return fail(artifact.getStatus());
  const Artifact &model = **artifact;
  bool think = o->has("--think");
  if (think &&
      (model.vocabSize() == model.verbalVocab() || model.maxThink() == 0))
    return fail("ponder: --think: " + o->model +
                " has no think tokens (think_vocab or max_think is 0)");
  auto task =
      Task::create(o->flags["--task"], model.verbalVocab(), model.maxSeq());
  if (!task)
    return fail("ponder: " + task.getStatus().message());
  // A checkpoint also holds Adam moments; only the parameters are read.
  std::string weightsPath = o->flags["--weights"];
  StatusOr<Checkpoint> c = loadCheckpoint(weightsPath);
  if (!c)
    return fail(c.getStatus().message());
  std::map<std::string, const Tensor *> values;
  for (const auto &[name, t] : c->parameters)
    values[name] = &t;

  std::vector<Example> heldExamples;
  for (int64_t i = 0; i < *examples; ++i)
    heldExamples.push_back(
        (*task)->example(Split::HeldOut, uint64_t(*seed), uint64_t(i)));
  TaskBatch held = makeTaskBatch(**task, heldExamples);
  EvaluateOptions options;
  options.maxThink = think ? model.maxThink() : 0;
  options.known = [&](int64_t index, int64_t position) {
    return (*task)->knownDistribution(heldExamples[size_t(index)], position);
  };
  auto e =
      ::ponder::evaluate(model, values, held.ids, held.lengths,
                         held.targetWeight, held.scored, options, weightsPath);
  if (!e)
    return fail("ponder: " + e.getStatus().message());

  const Vocabulary &vocab = (*task)->vocabulary();
  std::printf("%s: held-out accuracy %.2f%% over %lld examples (%s)\n",
              o->flags["--task"].c_str(), 100.0 * e->accuracy(),
              static_cast<long long>(e->examples),
              think ? "greedy, thinking" : "greedy, no thinking");
  std::printf("verbal NLL %.4f nats per target token; %.3f think tokens per "
              "verbal token; mean depth %.3f steps per token\n",
              e->meanNll(), e->thinkPerVerbal(), e->meanDepth());
  if (e->known > 0)
    std::printf("KL(true || model) %.5f nats per target with a known "
                "distribution (%lld of them)\n",
                e->kl / double(e->known), static_cast<long long>(e->known));
  std::printf("\n%8s %7s %9s %7s %11s %9s %8s%s\n", "position", "token",
              "think/tok", "depth", "think depth", "accuracy", "nll",
              e->known ? "       kl" : "");
  for (size_t p = 0; p < e->positions.size(); ++p) {
    const PositionStats &s = e->positions[p];
    if (s.count == 0)
      continue;
    std::string token =
        s.token >= 0 ? vocab.decode({s.token}, model.verbalVocab(), true) : "*";
    std::printf("%8zu %7s", p, token.c_str());
    if (s.targets)
      std::printf(" %9.3f", double(s.thinkTokens) / double(s.targets));
    else
      std::printf(" %9s", "-");
    std::printf(" %7.3f", s.depth / double(s.count));
    if (s.thinkTokens)
      std::printf(" %11.3f", s.thinkDepth / double(s.thinkTokens));
    else
      std::printf(" %11s", "-");
    if (s.scored)
      std::printf(" %8.2f%%", 100.0 * s.correct / double(s.scored));
    else
      std::printf(" %9s", "-");
    if (s.targets)
      std::printf(" %8.4f", s.nll / double(s.targets));
    else
      std::printf(" %8s", "-");
    if (s.known)
      std::printf(" %8.5f", s.kl / double(s.known));
    std::printf("\n");
  }
  if (e->lengths.size() > 1) {
    std::printf("\n%8s %7s %9s %11s %15s %9s\n", "length", "count", "accuracy",
                "mean depth", "deciding depth", "think/tok");
    for (const LengthStats &l : e->lengths)
      std::printf("%8lld %7lld %8.2f%% %11.3f %15.3f %9.3f\n",
                  static_cast<long long>(l.length),
                  static_cast<long long>(l.count),
                  100.0 * l.exact / double(l.count),
                  l.depth / double(l.count * l.length),
                  l.targets ? l.targetDepth / double(l.targets) : 0.0,
                  l.targets ? double(l.thinkTokens) / double(l.targets) : 0.0);
  }

  if (o->has("--plot") && !o->has("--csv"))
    o->flags["--csv"] = withExtension(o->flags["--plot"], ".positions.csv");
  if (o->has("--csv")) {
    if (Status st = writePositionsCsv(o->flags["--csv"], *e, &vocab,
                                      model.verbalVocab());
        !st)
      return fail("ponder: " + st.message());
    std::printf("\nper-position table: %s\n", o->flags["--csv"].c_str());
  }
  if (o->has("--plot")) {
    std::string metricsPath = o->has("--metrics")
                                  ? o->flags["--metrics"]
                                  : withExtension(weightsPath, ".csv");
    struct stat st;
    if (o->has("--metrics") && stat(metricsPath.c_str(), &st) != 0)
      return fail("ponder: --metrics: " + metricsPath + ": no such file");
    if (stat(metricsPath.c_str(), &st) != 0)
      metricsPath.clear();
    std::string title = o->flags["--task"] + ", " + weightsPath +
                        (think ? ", thinking" : ", no thinking");
    if (Status s = plotEvaluation(o->flags["--csv"], metricsPath,
                                  o->flags["--plot"], title);
        !s)
      return fail("ponder: " + s.message());
    std::printf("plot: %s\n", o->flags["--plot"].c_str());
  }
  return 0;
}

// ponder bench MODEL.toml [--batch B] [--length T] [--iters N]: the time of
// one @forward over B x T tokens with contract-initialised weights.
int bench(int argc, char **argv) {
  StatusOr<Options> o =
      parseOptions(argc, argv, {}, {"--batch", "--length", "--iters"});
  if (!o)
    return fail(o.getStatus().message());
  std::string text;
  auto artifact = loadModel(*o, text);
  if (!artifact)
    return fail(artifact.getStatus());
  const Artifact &model = **artifact;
  StatusOr<int64_t> b = integerOption(*o, "--batch", 1, 1);
  StatusOr<int64_t> t = integerOption(*o, "--length", model.maxSeq(), 1);
  StatusOr<int64_t> iters = integerOption(*o, "--iters", 10, 1);
  for (const auto *v : {&b, &t, &iters})
    if (!*v)
      return fail(v->getStatus().message());
  if (*t > model.maxSeq())
    return fail("ponder: --length: at most max_seq = " +
                std::to_string(model.maxSeq()));

  std::vector<Tensor> params = initialParameters(model, /*seed=*/0);
  std::map<std::string, const Tensor *> values;
  for (size_t i = 0; i < params.size(); ++i)
    values[model.parameters()[i].name] = &params[i];
  Tensor ids(DType::I32, {*b, *t}), lengths(DType::I32, {*b});
  for (int64_t i = 0; i < *b * *t; ++i)
    ids.data<int32_t>()[i] = int32_t((i * 7919) % model.verbalVocab());
  for (int64_t r = 0; r < *b; ++r)
    lengths.data<int32_t>()[r] = int32_t(*t);
  values["ids"] = &ids;
  values["lengths"] = &lengths;
  const EntryPoint *forward = model.entry("forward");
  if (!forward)
    return fail(o->model + ": the artifact has no forward entry point");

  auto once = [&]() { return model.call(*forward, values); };
  auto warm = once(); // first call: page-in and allocator warm-up
  if (!warm)
    return fail(warm.getStatus().message());
  auto start = std::chrono::steady_clock::now();
  double meanSteps = 0;
  for (int64_t i = 0; i < *iters; ++i) {
    auto out = once();
    if (!out)
      return fail(out.getStatus().message());
    const Tensor &steps = out->at("steps");
    meanSteps = 0;
    for (int64_t k = 0; k < steps.numel(); ++k)
      meanSteps += steps.data<int32_t>()[k];
    meanSteps /= double(steps.numel());
  }
  double ms = std::chrono::duration<double, std::milli>(
                  std::chrono::steady_clock::now() - start)
                  .count() /
              double(*iters);
  std::printf("forward  batch %lld  length %lld  threads %lld  %.3f "
              "ms/iter  %.0f tokens/s  mean depth %.2f steps  (%lld iters)\n",
              static_cast<long long>(*b), static_cast<long long>(*t),
              static_cast<long long>(model.threads()), ms,
              double(*b * *t) / (ms / 1000.0), meanSteps,
              static_cast<long long>(*iters));
  return 0;
}

/// The model FLOPs of one forward token at sequence length T and mean depth
/// `depth` (docs/performance.md): per block step 8 d^2 (q, k, v, o) +
/// 4 d d_ff (the FFN) + 2 d (T + 1) (causal scores and values, averaged over
/// positions), plus 2 d V for the unembedding. Norms, GELU and halting are
/// left out.
double forwardFlopsPerToken(const Artifact &model, int64_t t, double depth) {
  double d = 0, ff = 0;
  for (const ValueSpec &p : model.parameters()) {
    if (p.name == "embed.token")
      d = double(p.shape[1]);
    if (p.name == "block.ffn.up.weight")
      ff = double(p.shape[0]);
  }
  double block = 8 * d * d + 4 * d * ff + 2 * d * double(t + 1);
  return depth * block + 2 * d * double(model.vocabSize());
}

/// Peak resident memory of this process in MiB.
double peakMemoryMiB() {
  struct rusage usage;
  getrusage(RUSAGE_SELF, &usage);
  return double(usage.ru_maxrss) / 1024.0; // ru_maxrss is in KiB on Linux
}

// ponder bench train MODEL.toml [--batch B] [--seq T] [--iters N]
// [--threads N]: the median time of one @train_step (gradient, clipping,
// AdamW) on B x T tokens with contract-initialised weights.
int benchTrain(int argc, char **argv) {
  StatusOr<Options> o =
      parseOptions(argc, argv, {}, {"--batch", "--seq", "--iters"}, {}, 3);
  if (!o)
    return fail(o.getStatus().message());
  std::string text;
  auto artifact = loadModel(*o, text);
  if (!artifact)
    return fail(artifact.getStatus());
  const Artifact &model = **artifact;
  StatusOr<int64_t> b = integerOption(*o, "--batch", 16, 1);
  StatusOr<int64_t> t = integerOption(*o, "--seq", model.maxSeq(), 2);
  StatusOr<int64_t> iters = integerOption(*o, "--iters", 5, 1);
  for (const auto *v : {&b, &t, &iters})
    if (!*v)
      return fail(v->getStatus().message());
  if (*t > model.maxSeq())
    return fail("ponder: --seq: at most max_seq = " +
                std::to_string(model.maxSeq()));
  std::map<std::string, Tensor> params;
  std::vector<Tensor> init = initialParameters(model, /*seed=*/0);
  for (size_t i = 0; i < init.size(); ++i)
    params.emplace(model.parameters()[i].name, std::move(init[i]));
  auto trainer = Trainer::create(model, std::move(params), {}, {}, 0, "init");
  if (!trainer)
    return fail(trainer.getStatus().message());
  Tensor ids(DType::I32, {*b, *t}), lengths(DType::I32, {*b});
  Tensor weight(DType::F32, {*b, *t});
  for (int64_t i = 0; i < *b * *t; ++i) {
    ids.data<int32_t>()[i] = int32_t((i * 7919) % model.verbalVocab());
    weight.data<float>()[i] = 1.0f;
  }
  for (int64_t r = 0; r < *b; ++r)
    lengths.data<int32_t>()[r] = int32_t(*t);
  std::vector<double> times;
  double depth = 0;
  for (int64_t i = 0; i <= *iters; ++i) { // the first call warms up
    auto begin = std::chrono::steady_clock::now();
    auto r = (*trainer)->train({&ids, &lengths, &weight, nullptr}, 1e-4, 0.0);
    double ms = std::chrono::duration<double, std::milli>(
                    std::chrono::steady_clock::now() - begin)
                    .count();
    if (!r)
      return fail(r.getStatus().message());
    if (i > 0) {
      times.push_back(ms);
      depth = r->meanDepth;
    }
  }
  std::sort(times.begin(), times.end());
  double median = times[times.size() / 2];
  double tokens = double(*b * *t);
  // Training: forward + backward = 3 forward FLOPs (the block's recomputation
  // in the backward pass is not counted: effective, not executed, FLOPs).
  double flops = 3 * tokens * forwardFlopsPerToken(model, *t, depth);
  std::printf("train  batch %lld  seq %lld  threads %lld  median %.2f "
              "ms/step  %.0f tokens/s  %.2f GFLOP/s  mean depth %.2f  peak "
              "%.0f MiB  (%lld iters)\n",
              static_cast<long long>(*b), static_cast<long long>(*t),
              static_cast<long long>(model.threads()), median,
              tokens / (median / 1000.0), flops / (median / 1000.0) / 1e9,
              depth, peakMemoryMiB(), static_cast<long long>(*iters));
  return 0;
}

// ponder generate MODEL.toml --weights W [--prompt TEXT | --prompt-ids IDS]
// ...: cached decoding (docs/decoding.md); text to stdout as it is produced,
// a one-line summary to stderr.
int generate(int argc, char **argv) {
  StatusOr<Options> o = parseOptions(argc, argv, {"--weights"},
                                     {"--prompt", "--prompt-ids", "--max-new",
                                      "--temperature", "--seed", "--vocab"},
                                     {"--show-thoughts", "--print-ids"});
  if (!o)
    return fail(o.getStatus().message());
  if (o->has("--prompt") == o->has("--prompt-ids"))
    return fail("ponder: give exactly one of --prompt and --prompt-ids");
  StatusOr<int64_t> maxNew = integerOption(*o, "--max-new", 64, 1);
  StatusOr<int64_t> seed = integerOption(*o, "--seed", 0, 0);
  StatusOr<double> temperature = nonNegativeOption(*o, "--temperature", 0.0);
  if (!maxNew || !seed || !temperature)
    return fail((!maxNew ? maxNew.getStatus()
                 : !seed ? seed.getStatus()
                         : temperature.getStatus())
                    .message());
  std::string text;
  auto artifact = loadModel(*o, text);
  if (!artifact)
    return fail(artifact.getStatus());
  const Artifact &model = **artifact;

  // Text needs a vocabulary; ids in and out do not.
  std::optional<Vocabulary> vocab;
  if (o->has("--prompt") || !o->has("--print-ids")) {
    StatusOr<Vocabulary> v = chooseVocabulary(*o, model);
    if (!v)
      return fail(v.getStatus().message());
    vocab = *v;
  }
  std::vector<int32_t> prompt;
  if (o->has("--prompt")) {
    std::string error;
    if (vocab->bos() >= 0)
      prompt.push_back(vocab->bos());
    if (!vocab->encode(o->flags["--prompt"], prompt, error))
      return fail("ponder: --prompt: " + error);
    // A prompt that spells out <bos> itself keeps one.
    if (prompt.size() > 1 && prompt[1] == vocab->bos())
      prompt.erase(prompt.begin());
  } else {
    StatusOr<std::vector<int32_t>> ids =
        parseIds(o->flags["--prompt-ids"], model.vocabSize());
    if (!ids)
      return fail(ids.getStatus().message());
    prompt = std::move(*ids);
  }
  if (prompt.empty())
    return fail("ponder: the prompt is empty");
  if (int64_t(prompt.size()) > model.maxSeq())
    return fail(
        "ponder: the prompt has " + std::to_string(prompt.size()) +
        " tokens, more than max_seq = " + std::to_string(model.maxSeq()));

  SafetensorsFile weights;
  std::map<std::string, const Tensor *> values;
  std::string weightsPath = o->flags["--weights"];
  if (Status s = loadWeights(model, weightsPath, weights, values); !s)
    return fail(s.message());
  auto decoder = Decoder::create(model, values, 1, weightsPath);
  if (!decoder)
    return fail(decoder.getStatus().message());

  GenerateOptions options;
  options.sampling = {model.verbalVocab(), *temperature, model.maxThink()};
  options.maxNew = *maxNew;
  options.eos = vocab ? vocab->eos() : -1;
  options.seed = uint64_t(*seed);
  bool showThoughts = o->has("--show-thoughts");
  bool printIds = o->has("--print-ids");
  bool first = true;
  auto onToken = [&](int32_t id) {
    if (printIds)
      std::printf(first ? "%d" : " %d", id);
    else
      std::fputs(vocab->decode({id}, model.verbalVocab(), showThoughts).c_str(),
                 stdout);
    first = false;
    std::fflush(stdout);
  };
  auto g = ::ponder::generate(**decoder, prompt, options, onToken);
  std::printf("\n");
  std::fflush(stdout); // the text line ends before the summary on stderr
  if (!g)
    return fail("ponder: " + g.getStatus().message());
  int64_t thoughts = 0;
  for (int32_t id : g->ids)
    thoughts += id >= model.verbalVocab();
  double depth = 0;
  for (int32_t n : g->decodedSteps)
    depth += n;
  std::fprintf(stderr,
               "ponder: %zu new tokens (%lld think), stopped at %s; mean "
               "depth %.2f steps; %.1f tokens/s\n",
               g->ids.size(), static_cast<long long>(thoughts),
               g->sawEos          ? "the end token"
               : g->reachedMaxSeq ? "max_seq"
                                  : "--max-new",
               g->decodedSteps.empty() ? 0.0 : depth / g->decodedSteps.size(),
               g->decodeSeconds > 0 ? g->decodedSteps.size() / g->decodeSeconds
                                    : 0.0);
  return 0;
}

// ponder bench generate MODEL.toml [--prompt-length P] [--new N]: prefill a
// P-token prompt, then decode N tokens one at a time (greedy) with
// contract-initialised weights.
int benchGenerate(int argc, char **argv) {
  StatusOr<Options> o =
      parseOptions(argc, argv, {}, {"--prompt-length", "--new"}, {}, 3);
  if (!o)
    return fail(o.getStatus().message());
  std::string text;
  auto artifact = loadModel(*o, text);
  if (!artifact)
    return fail(artifact.getStatus());
  const Artifact &model = **artifact;
  StatusOr<int64_t> p = integerOption(*o, "--prompt-length", 16, 1);
  StatusOr<int64_t> n = integerOption(*o, "--new", 64, 1);
  if (!p || !n)
    return fail((!p ? p.getStatus() : n.getStatus()).message());
  if (*p + *n > model.maxSeq())
    return fail("ponder: --prompt-length + --new: at most max_seq = " +
                std::to_string(model.maxSeq()));

  std::vector<Tensor> params = initialParameters(model, /*seed=*/0);
  std::map<std::string, const Tensor *> values;
  for (size_t i = 0; i < params.size(); ++i)
    values[model.parameters()[i].name] = &params[i];
  std::vector<int32_t> prompt(static_cast<size_t>(*p));
  for (int64_t i = 0; i < *p; ++i)
    prompt[i] = int32_t((i * 7919) % model.verbalVocab());
  GenerateOptions options;
  options.sampling = {model.verbalVocab(), 0.0, model.maxThink()};
  options.maxNew = *n + 1; // the last token is chosen, not decoded
  for (int round = 0; round < 2; ++round) { // the first warms up
    auto decoder = Decoder::create(model, values, 1, "init");
    if (!decoder)
      return fail(decoder.getStatus().message());
    auto g = ::ponder::generate(**decoder, prompt, options);
    if (!g)
      return fail(g.getStatus().message());
    if (round == 0)
      continue;
    double depth = 0;
    for (int32_t s : g->decodedSteps)
      depth += s;
    size_t decoded = g->decodedSteps.size();
    std::printf("generate  batch 1  prompt %lld  threads %lld  prefill %.3f "
                "ms  decode %zu tokens  %.3f ms/token  %.1f tokens/s  mean "
                "depth %.2f steps\n",
                static_cast<long long>(*p),
                static_cast<long long>(model.threads()),
                g->prefillSeconds * 1e3, decoded,
                g->decodeSeconds * 1e3 / double(decoded),
                double(decoded) / g->decodeSeconds,
                decoded ? depth / double(decoded) : 0.0);
  }
  return 0;
}

} // namespace

int main(int argc, char **argv) {
  std::string command = argc > 1 ? argv[1] : "";
  if (command == "init")
    return init(argc, argv);
  if (command == "run")
    return run(argc, argv);
  if (command == "generate")
    return generate(argc, argv);
  if (command == "train")
    return train(argc, argv);
  if (command == "eval")
    return evaluate(argc, argv);
  if (command == "bench")
    return argc > 2 && std::string(argv[2]) == "generate"
               ? benchGenerate(argc, argv)
           : argc > 2 && std::string(argv[2]) == "train"
               ? benchTrain(argc, argv)
               : bench(argc, argv);
  return fail("usage: ponder init MODEL.toml --seed S -o W.safetensors | "
              "ponder run MODEL.toml --weights W --batch IN --dump OUT | "
              "ponder generate MODEL.toml --weights W --prompt TEXT "
              "[--max-new N] [--temperature T] [--show-thoughts] | "
              "ponder bench [generate|train] MODEL.toml "
              "(every command takes --threads N and --device cpu|cuda)");
}
