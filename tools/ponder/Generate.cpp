//===- Generate.cpp - ponder generate
//--------------------------------------===//
//
// ponder generate [MODEL.toml] --weights W [--prompt TEXT | --prompt-ids
// IDS] [...]: cached decoding (docs/decoding.md); text to stdout as it is
// produced, a one-line summary to stderr. The model and the vocabulary
// default to the ones the checkpoint records.
//
//===----------------------------------------------------------------------===//

#include "tools/ponder/Command.h"

#include "runtime/Decoder.h"
#include "runtime/Generate.h"

#include <cstdio>
#include <sstream>

namespace ponder::cli {

namespace {

struct GenerateCommandOptions {
  ModelOptions model;
  std::string weights, prompt, promptIds, vocab;
  int64_t maxNew = 64, seed = 0;
  double temperature = 0;
  bool showThoughts = false, printIds = false;
};

/// Ids separated by spaces or commas, each in [0, vocab).
StatusOr<std::vector<int32_t>> parseIds(const std::string &text,
                                        int64_t vocab) {
  std::vector<int32_t> ids;
  std::stringstream in(text);
  for (std::string token; in >> token;) {
    std::stringstream parts(token);
    for (std::string part; std::getline(parts, part, ',');) {
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

/// The vocabulary for text in and out: --vocab NAME, the checkpoint's
/// task's, or bytes when the model has room for them. A --vocab that is not
/// the checkpoint's task's is refused.
StatusOr<Vocabulary> chooseVocabulary(const GenerateCommandOptions &o,
                                      const LoadedModel &loaded,
                                      const std::string &recordedTask) {
  const Artifact &model = *loaded.artifact;
  std::optional<Vocabulary> recorded;
  if (!recordedTask.empty())
    recorded = vocabularyOfTask(recordedTask);
  std::string name = o.vocab;
  if (name.empty() && recorded)
    return *recorded;
  if (name.empty() && model.verbalVocab() < Vocabulary::bytes().size())
    return Status::error(
        "ponder: " + loaded.label +
        " has verbal_vocab = " + std::to_string(model.verbalVocab()) +
        ", too small for bytes (258); choose --vocab with a task's name, or "
        "use --prompt-ids and --print-ids");
  if (name.empty())
    name = "bytes";
  std::optional<Vocabulary> v =
      name == "bytes" ? Vocabulary::bytes() : Vocabulary::task(name);
  if (!v)
    return Status::error("ponder: --vocab: unknown vocabulary '" + name +
                         "' (bytes, parity, addition, multiplication, reverse, "
                         "permutations or oracle-mix)");
  if (recorded && *v != *recorded)
    return Status::error("ponder: --vocab " + name +
                         " is not the vocabulary "
                         "of the checkpoint's task " +
                         recordedTask);
  if (v->size() > model.verbalVocab())
    return Status::error(
        "ponder: --vocab " + name + " has " + std::to_string(v->size()) +
        " ids, more than " + loaded.label +
        "'s verbal_vocab = " + std::to_string(model.verbalVocab()));
  return *v;
}

StatusOr<std::vector<int32_t>> promptOf(const GenerateCommandOptions &o,
                                        const Artifact &model,
                                        const std::optional<Vocabulary> &v) {
  if (o.prompt.empty() == o.promptIds.empty())
    return Status::error("ponder: give exactly one of --prompt and "
                         "--prompt-ids");
  if (!o.promptIds.empty())
    return parseIds(o.promptIds, model.vocabSize());
  std::vector<int32_t> prompt;
  std::string error;
  if (v->bos() >= 0)
    prompt.push_back(v->bos());
  if (!v->encode(o.prompt, prompt, error))
    return Status::error("ponder: --prompt: " + error);
  // A prompt that spells out <bos> itself keeps one.
  if (prompt.size() > 1 && prompt[1] == v->bos())
    prompt.erase(prompt.begin());
  return prompt;
}

void printSummary(const Generation &g, int64_t verbalVocab) {
  int64_t thoughts = 0;
  for (int32_t id : g.ids)
    thoughts += id >= verbalVocab;
  double depth = 0;
  for (int32_t n : g.decodedSteps)
    depth += n;
  std::fprintf(stderr,
               "ponder: %zu new tokens (%lld think), stopped at %s; mean "
               "depth %.2f steps; %.1f tokens/s\n",
               g.ids.size(), static_cast<long long>(thoughts),
               g.sawEos          ? "the end token"
               : g.reachedMaxSeq ? "max_seq"
                                 : "--max-new",
               g.decodedSteps.empty() ? 0.0 : depth / g.decodedSteps.size(),
               g.decodeSeconds > 0 ? g.decodedSteps.size() / g.decodeSeconds
                                   : 0.0);
}

int runGenerate(const GenerateCommandOptions &o) {
  StatusOr<SafetensorsFile> file = readSafetensors(o.weights);
  if (!file)
    return fail(file.getStatus());
  std::map<std::string, std::string> recorded = file->metadata;
  StatusOr<LoadedModel> loaded = loadModel(o.model, recorded["model"]);
  if (!loaded)
    return fail(loaded.getStatus());
  const Artifact &model = *loaded->artifact;
  // Text needs a vocabulary; ids in and out do not.
  std::optional<Vocabulary> vocab;
  if (!o.prompt.empty() || !o.printIds) {
    StatusOr<Vocabulary> v = chooseVocabulary(o, *loaded, recorded["task"]);
    if (!v)
      return fail(v.getStatus());
    vocab = *v;
  }
  StatusOr<std::vector<int32_t>> prompt = promptOf(o, model, vocab);
  if (!prompt)
    return fail(prompt.getStatus());
  if (prompt->empty())
    return fail(Status::error("ponder: the prompt is empty"));
  if (int64_t(prompt->size()) > model.maxSeq())
    return fail(Status::error(
        "ponder: the prompt has " + std::to_string(prompt->size()) +
        " tokens, more than max_seq = " + std::to_string(model.maxSeq())));
  // The file read above: its metadata chose the model, its tensors are the
  // weights.
  StatusOr<std::unique_ptr<Weights>> weights =
      checkedWeights(model, std::move(*file), o.weights);
  if (!weights)
    return fail(weights.getStatus());
  auto decoder = Decoder::create(model, (*weights)->values, 1, o.weights);
  if (!decoder)
    return fail(decoder.getStatus());

  GenerateOptions options;
  options.sampling = {model.verbalVocab(), o.temperature, model.maxThink()};
  options.maxNew = o.maxNew;
  options.eos = vocab ? vocab->eos() : -1;
  options.seed = uint64_t(o.seed);
  bool first = true;
  auto onToken = [&](int32_t id) {
    if (o.printIds)
      std::printf(first ? "%d" : " %d", id);
    else
      std::fputs(
          vocab->decode({id}, model.verbalVocab(), o.showThoughts).c_str(),
          stdout);
    first = false;
    std::fflush(stdout);
  };
  auto g = generate(**decoder, *prompt, options, onToken);
  std::printf("\n");
  std::fflush(stdout); // the text line ends before the summary on stderr
  if (!g)
    return fail(Status::error("ponder: " + g.getStatus().message()));
  printSummary(*g, model.verbalVocab());
  return 0;
}

} // namespace

Command makeGenerateCommand(CLI::App &parent) {
  auto o = std::make_shared<GenerateCommandOptions>();
  CLI::App *app = addSubcommand(parent, "generate",
                                "Generate text with cached decoding "
                                "(docs/decoding.md).");
  addModelOptions(app, o->model, /*optionalModel=*/true);
  app->add_option("--weights", o->weights, "a checkpoint or weights")
      ->required();
  app->add_option("--prompt", o->prompt, "the prompt as text");
  app->add_option("--prompt-ids", o->promptIds,
                  "the prompt as ids ('2 0 1' or '2,0,1')");
  app->add_option("--max-new", o->maxNew,
                  "the most new tokens (think tokens count)")
      ->check(integerAtLeast(1))
      ->capture_default_str();
  app->add_option("--temperature", o->temperature, "0: greedy")
      ->check(nonNegativeNumber())
      ->capture_default_str();
  app->add_option("--seed", o->seed, "the sampling seed")
      ->check(integerAtLeast(0))
      ->capture_default_str();
  app->add_option("--vocab", o->vocab,
                  "bytes or a task's vocabulary (default: the checkpoint's "
                  "task's, else bytes)");
  app->add_flag("--show-thoughts", o->showThoughts, "print think tokens <tK>");
  app->add_flag("--print-ids", o->printIds, "print ids, not text");
  return {app, [o] { return runGenerate(*o); }};
}

} // namespace ponder::cli
