//===- Command.cpp - What the ponder subcommands share --------------------===//

#include "tools/ponder/Command.h"

#include "runtime/ArtifactContract.h"

#include "runtime/Cuda.h"
#include "runtime/Trainer.h"
#include "tools/ponder/ModelCache.h"
#include "training/Rollouts.h"
#include "training/Tasks.h"
#include "training/ThoughtSlots.h"

#include <toml++/toml.h>

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <sys/stat.h>

namespace ponder::cli {

int fail(const Status &status) {
  if (!status.message().empty())
    std::fprintf(stderr, "%s\n", status.message().c_str());
  return 1;
}

CLI::App *addSubcommand(CLI::App &parent, const std::string &name,
                        const std::string &description) {
  CLI::App *app = parent.add_subcommand(name, description);
  app->allow_extras();
  return app;
}

CLI::Validator integerAtLeast(int64_t min) {
  return CLI::Validator(
      [min](std::string &value) -> std::string {
        char *end = nullptr;
        errno = 0;
        long long v = std::strtoll(value.c_str(), &end, 10);
        if (value.empty() || *end != '\0' || errno == ERANGE || v < min)
          return "expected an integer >= " + std::to_string(min) + ", got '" +
                 value + "'";
        return "";
      },
      "INT>=" + std::to_string(min));
}

CLI::Validator nonNegativeNumber() {
  return CLI::Validator(
      [](std::string &value) -> std::string {
        char *end = nullptr;
        double v = std::strtod(value.c_str(), &end);
        if (value.empty() || *end != '\0' || !std::isfinite(v) || v < 0)
          return "expected a number >= 0, got '" + value + "'";
        return "";
      },
      "NUMBER>=0");
}

CLI::Validator probability() {
  return CLI::Validator(
      [](std::string &value) -> std::string {
        char *end = nullptr;
        double v = std::strtod(value.c_str(), &end);
        if (value.empty() || *end != '\0' || !(v >= 0 && v <= 1))
          return "expected a number from 0 to 1, got '" + value + "'";
        return "";
      },
      "0..1");
}

CLI::Validator thoughtSlotsSpec() {
  return CLI::Validator(
      [](std::string &value) -> std::string {
        StatusOr<ThoughtSlots> slots = ThoughtSlots::parse(value);
        if (!slots)
          return "expected after-prompt:K or before-answer:K (K from 1 to "
                 "64), got '" +
                 value + "'";
        value = slots->spec();
        return "";
      },
      "after-prompt:K|before-answer:K");
}

CLI::Validator thinkAtPlace() {
  return CLI::Validator(
      [](std::string &value) -> std::string {
        return parseThinkAt(value)
                   ? ""
                   : "expected answer, prompt or all, got '" + value + "'";
      },
      "answer|prompt|all");
}

CLI::Validator outputFile() {
  return CLI::Validator(
      [](std::string &path) -> std::string {
        struct stat st;
        if (path.empty())
          return "empty path";
        if (stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode))
          return "'" + path + "' is a directory, not a file";
        size_t slash = path.find_last_of('/');
        std::string parent = slash == std::string::npos ? "."
                             : slash == 0               ? "/"
                                                        : path.substr(0, slash);
        if (stat(parent.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
          return "directory '" + parent + "' does not exist";
        return "";
      },
      "FILE");
}

void addModelOptions(CLI::App *app, ModelOptions &options, bool optionalModel) {
  CLI::Option *model =
      app->add_option("MODEL.toml", options.model,
                      optionalModel ? "the model description (default: the "
                                      "one the checkpoint records)"
                                    : "the model description");
  if (!optionalModel)
    model->required();
  app->add_option("--threads", options.threads,
                  "host threads (default: all cores)")
      ->check(integerAtLeast(1));
  app->add_option("--device", options.device, "where the model runs")
      ->check(CLI::Validator(
          [](std::string &d) -> std::string {
            return d == PONDER_TARGET_CPU || d == PONDER_TARGET_CUDA
                       ? ""
                       : "expected cpu or cuda, got '" + d + "'";
          },
          "cpu|cuda"))
      ->capture_default_str();
  app->add_option("--target-cpu", options.targetCpu,
                  "compile for this CPU, as llc -mcpu names it (default: "
                  "this machine's); code for a wider CPU does not load here")
      ->group("Code generation");
  app->add_option("--target-features", options.targetFeatures,
                  "CPU features to add or remove, as llc -mattr spells them: "
                  "+avx2,-avx512f")
      ->group("Code generation");
  app->add_flag("--dense-halting", options.denseHalting,
                "run an ACT loop's whole block on every position until the "
                "deepest halts (no compaction; for comparison)")
      ->group("Code generation");
  app->add_flag("--unfused", options.unfused,
                "one kernel per linalg op: no fusion over rows or into "
                "matrix products (for comparison)")
      ->group("Code generation");
  app->add_flag("--score-attention", options.scoreAttention,
                "CPU: attention through [B, H, T, T] score matrices instead "
                "of online-softmax loops (for comparison)")
      ->group("Code generation");
}

StatusOr<std::string> readFile(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return Status::error(path + ": cannot read file");
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

namespace {

/// The [data] tokenizer of description `text` (file `modelPath`, already
/// checked by ponderc), absolute; "" when it names none.
std::string tokenizerPath(const std::string &text,
                          const std::string &modelPath) {
  toml::parse_result parsed = toml::parse(text);
  if (!parsed)
    return "";
  std::optional<std::string> tokenizer =
      parsed.table()["data"]["tokenizer"].value<std::string>();
  if (!tokenizer)
    return "";
  std::filesystem::path path(*tokenizer);
  if (path.is_relative())
    path = std::filesystem::path(modelPath).parent_path() / path;
  return std::filesystem::absolute(path).lexically_normal().string();
}

} // namespace

StatusOr<LoadedModel> loadModel(const ModelOptions &options,
                                const std::string &checkpointText) {
  if (options.device == PONDER_TARGET_CUDA &&
      !(options.targetCpu.empty() && options.targetFeatures.empty()))
    return Status::error(
        "ponder: --target-cpu and --target-features need --device cpu");
  if (options.device == PONDER_TARGET_CUDA)
    if (Status s = cuda::initialize(); !s)
      return Status::error("ponder: --device cuda: " + s.message());
  LoadedModel loaded;
  std::string path = options.model;
  if (path.empty()) {
    if (checkpointText.empty())
      return Status::error("ponder: missing MODEL.toml (the weights record "
                           "no model description)");
    StatusOr<std::string> file = descriptionFile(checkpointText);
    if (!file)
      return file.getStatus();
    path = *file;
    loaded.text = checkpointText;
    loaded.label = "the checkpoint's model";
  } else {
    StatusOr<std::string> text = readFile(path);
    if (!text)
      return text.getStatus();
    loaded.text = *text;
    loaded.label = path;
  }
  StatusOr<std::string> artifact = compiledArtifact(path, options);
  if (!artifact)
    return artifact.getStatus();
  if (!options.model.empty()) // ponderc has checked the description
    loaded.tokenizer = tokenizerPath(loaded.text, options.model);
  StatusOr<std::unique_ptr<Artifact>> a = Artifact::load(*artifact);
  if (!a)
    return a.getStatus();
  loaded.artifact = std::move(*a);
  if (options.threads > 0)
    loaded.artifact->setThreads(int(options.threads));
  return loaded;
}

StatusOr<std::unique_ptr<Weights>> loadWeights(const Artifact &model,
                                               const std::string &path) {
  StatusOr<SafetensorsFile> read = readSafetensors(path);
  if (!read)
    return read.getStatus();
  return checkedWeights(model, std::move(*read), path);
}

StatusOr<std::unique_ptr<Weights>> checkedWeights(const Artifact &model,
                                                  SafetensorsFile file,
                                                  const std::string &path) {
  auto weights = std::make_unique<Weights>();
  weights->file = std::move(file);
  for (const auto &[name, t] : weights->file.tensors)
    if (!isOptimizerState(name))
      weights->values[name] = &t;
  if (Status s = model.checkWeights(weights->values, path); !s)
    return s;
  return weights;
}

StatusOr<std::optional<Vocabulary>>
tokenizerVocabulary(const LoadedModel &loaded, const std::string &recorded) {
  std::string path = loaded.tokenizer.empty() ? recorded : loaded.tokenizer;
  if (path.empty())
    return std::optional<Vocabulary>();
  StatusOr<Vocabulary> v = Vocabulary::sentencePiece(path);
  if (!v)
    return Status::error("ponder: " + v.getStatus().message());
  int64_t verbal = loaded.artifact->verbalVocab();
  if (v->size() != verbal)
    return Status::error("ponder: " + path + " has " +
                         std::to_string(v->size()) + " pieces, but " +
                         loaded.label +
                         " has verbal_vocab = " + std::to_string(verbal) +
                         " (the verbal vocabulary is the tokenizer's)");
  if (!recorded.empty() && recorded != path) {
    StatusOr<Vocabulary> theirs = Vocabulary::sentencePiece(recorded);
    if (theirs && *theirs != *v)
      return Status::error("ponder: " + loaded.label + " names tokenizer " +
                           path + ", but the checkpoint was trained with " +
                           recorded + ", another one");
  }
  return std::optional<Vocabulary>(*v);
}

std::optional<Vocabulary> vocabularyOfTask(const std::string &spec) {
  return Task::vocabularyOf(spec);
}

} // namespace ponder::cli
