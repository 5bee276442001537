//===- Generate.cpp - ponder generate -------------------------------------===//
//
// ponder generate [MODEL.toml] --weights W [--prompt TEXT | --prompt-ids
// IDS | --prompts-file F | --prompt-ids-file F] [...]: cached decoding
// (docs/decoding.md); one prompt's text goes to stdout as it is produced,
// several prompts (a file, one per line) are decoded together and print a
// line each. A one-line summary goes to stderr. The model and the
// vocabulary default to the ones the checkpoint records.
//
//===----------------------------------------------------------------------===//

#include "tools/ponder/Command.h"

#include "runtime/Decoder.h"
#include "runtime/Generate.h"
#include "training/Corpus.h"

#include <cstdio>
#include <sstream>

namespace ponder::cli {

namespace {

struct GenerateCommandOptions {
  ModelOptions model;
  std::string weights, prompt, promptIds, promptsFile, promptIdsFile, vocab;
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
        return Status::error("'" + part + "' is not an id in [0, V = " +
                             std::to_string(vocab) + ")");
      ids.push_back(int32_t(id));
    }
  }
  return ids;
}

/// The vocabulary for text in and out: --vocab NAME, the checkpoint's
/// task's, or bytes when the model has room for them. A --vocab that is not
/// the checkpoint's task's is refused.
StatusOr<Vocabulary>
chooseVocabulary(const GenerateCommandOptions &o, const LoadedModel &loaded,
                 const std::map<std::string, std::string> &metadata) {
  const Artifact &model = *loaded.artifact;
  auto recordedOf = [&](const char *key) {
    auto it = metadata.find(key);
    return it == metadata.end() ? std::string() : it->second;
  };
  std::string recordedTask = recordedOf("task");
  auto tokenizer = tokenizerVocabulary(loaded, recordedOf("tokenizer"));
  if (!tokenizer)
    return tokenizer.getStatus();
  if (*tokenizer && !o.vocab.empty())
    return Status::error("ponder: --vocab: " + loaded.label +
                         " reads text with its [data] tokenizer");
  if (*tokenizer)
    return **tokenizer;
  std::optional<Vocabulary> recorded;
  if (!corpusOf(recordedTask).empty())
    recorded = Vocabulary::bytes(); // a corpus without a tokenizer
  else if (!recordedTask.empty())
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

/// `text` as a prompt: <bos> (when the vocabulary has one), then its ids.
StatusOr<std::vector<int32_t>> encodePrompt(const std::string &text,
                                            const Vocabulary &v) {
  std::vector<int32_t> prompt;
  std::string error;
  if (v.bos() >= 0)
    prompt.push_back(v.bos());
  if (!v.encode(text, prompt, error))
    return Status::error(error);
  // A prompt that spells out <bos> itself keeps one.
  if (prompt.size() > 1 && prompt[1] == v.bos())
    prompt.erase(prompt.begin());
  return prompt;
}

/// The prompt of one line or flag, checked: not empty, at most max_seq.
StatusOr<std::vector<int32_t>> promptFrom(const std::string &text, bool ids,
                                          const Artifact &model,
                                          const std::optional<Vocabulary> &v) {
  StatusOr<std::vector<int32_t>> prompt =
      ids ? parseIds(text, model.vocabSize()) : encodePrompt(text, *v);
  if (!prompt)
    return prompt;
  if (prompt->empty())
    return Status::error("the prompt is empty");
  if (int64_t(prompt->size()) > model.maxSeq())
    return Status::error(
        "the prompt has " + std::to_string(prompt->size()) +
        " tokens, more than max_seq = " + std::to_string(model.maxSeq()));
  return prompt;
}

/// The prompts of --prompt, --prompt-ids (one) or --prompts-file,
/// --prompt-ids-file (one per line).
StatusOr<std::vector<std::vector<int32_t>>>
promptsOf(const GenerateCommandOptions &o, const Artifact &model,
          const std::optional<Vocabulary> &v) {
  std::vector<std::vector<int32_t>> prompts;
  if (!o.prompt.empty() + !o.promptIds.empty() + !o.promptsFile.empty() +
          !o.promptIdsFile.empty() !=
      1)
    return Status::error("ponder: give exactly one of --prompt, --prompt-ids, "
                         "--prompts-file and --prompt-ids-file");
  if (!o.prompt.empty() || !o.promptIds.empty()) {
    bool ids = !o.promptIds.empty();
    StatusOr<std::vector<int32_t>> p =
        promptFrom(ids ? o.promptIds : o.prompt, ids, model, v);
    if (!p)
      return Status::error(
          "ponder: " + std::string(ids ? "--prompt-ids" : "--prompt") + ": " +
          p.getStatus().message());
    prompts.push_back(std::move(*p));
    return prompts;
  }
  bool ids = !o.promptIdsFile.empty();
  const std::string &path = ids ? o.promptIdsFile : o.promptsFile;
  StatusOr<std::string> text = readFile(path);
  if (!text)
    return text.getStatus();
  std::stringstream lines(*text);
  int64_t number = 0;
  for (std::string line; std::getline(lines, line);) {
    ++number;
    StatusOr<std::vector<int32_t>> p = promptFrom(line, ids, model, v);
    if (!p)
      return Status::error(path + ":" + std::to_string(number) + ": " +
                           p.getStatus().message());
    prompts.push_back(std::move(*p));
  }
  if (prompts.empty())
    return Status::error(path + ": no prompts (one per line)");
  return prompts;
}

/// One line on stderr: new tokens, why each row stopped, mean depth and
/// the decode rate of all rows together.
void printSummary(const std::vector<Generation> &rows, int64_t verbalVocab) {
  int64_t tokens = 0, thoughts = 0, decoded = 0, eos = 0, full = 0;
  double depth = 0;
  for (const Generation &g : rows) {
    tokens += int64_t(g.ids.size());
    for (int32_t id : g.ids)
      thoughts += id >= verbalVocab;
    for (int32_t n : g.decodedSteps)
      depth += n;
    decoded += int64_t(g.decodedSteps.size());
    eos += g.sawEos;
    full += g.reachedMaxSeq;
  }
  std::string stopped =
      rows.size() == 1 ? (eos    ? "the end token"
                          : full ? "max_seq"
                                 : "--max-new")
                       : std::to_string(eos) + " at the end token, " +
                             std::to_string(full) + " at max_seq, " +
                             std::to_string(int64_t(rows.size()) - eos - full) +
                             " at --max-new";
  double seconds = rows.front().decodeSeconds;
  std::fprintf(stderr,
               "ponder: %s%lld new tokens (%lld think), stopped at %s; mean "
               "depth %.2f steps; %.1f tokens/s\n",
               rows.size() == 1
                   ? ""
                   : (std::to_string(rows.size()) + " prompts, ").c_str(),
               static_cast<long long>(tokens), static_cast<long long>(thoughts),
               stopped.c_str(), decoded ? depth / double(decoded) : 0.0,
               seconds > 0 ? double(decoded) / seconds : 0.0);
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
  if (!o.prompt.empty() || !o.promptsFile.empty() || !o.printIds) {
    StatusOr<Vocabulary> v = chooseVocabulary(o, *loaded, recorded);
    if (!v)
      return fail(v.getStatus());
    vocab = *v;
  }
  StatusOr<std::vector<std::vector<int32_t>>> prompts =
      promptsOf(o, model, vocab);
  if (!prompts)
    return fail(prompts.getStatus());
  // The file read above: its metadata chose the model, its tensors are the
  // weights.
  StatusOr<std::unique_ptr<Weights>> weights =
      checkedWeights(model, std::move(*file), o.weights);
  if (!weights)
    return fail(weights.getStatus());
  auto decoder = Decoder::create(model, (*weights)->values,
                                 int64_t(prompts->size()), o.weights);
  if (!decoder)
    return fail(decoder.getStatus());

  GenerateOptions options;
  options.sampling = {model.verbalVocab(), o.temperature, model.maxThink()};
  options.maxNew = o.maxNew;
  options.eos = vocab ? vocab->eos() : -1;
  options.seed = uint64_t(o.seed);
  auto text = [&](const std::vector<int32_t> &ids) {
    if (!o.printIds)
      return vocab->decode(ids, model.verbalVocab(), o.showThoughts);
    std::string line;
    for (int32_t id : ids)
      line += (line.empty() ? "" : " ") + std::to_string(id);
    return line;
  };
  // One prompt streams its tokens as they come; several print a line each,
  // in order, once all are done.
  // A character split into byte pieces prints once it is whole (a
  // tokenizer decodes a partial one as U+FFFD).
  bool streaming = prompts->size() == 1, first = true;
  std::vector<int32_t> pending;
  auto flush = [&](bool all) {
    std::string shown = text(pending);
    bool partial = shown.size() >= 3 &&
                   shown.compare(shown.size() - 3, 3, "\xef\xbf\xbd") == 0;
    if (pending.empty() || (!all && partial && pending.size() < 4))
      return;
    std::fputs(((first || !o.printIds ? "" : " ") + shown).c_str(), stdout);
    first = false;
    pending.clear();
    std::fflush(stdout);
  };
  auto onToken = [&](int64_t, int32_t id) {
    if (!streaming)
      return;
    pending.push_back(id);
    flush(o.printIds);
  };
  auto g = generateBatch(**decoder, *prompts, options, onToken);
  if (g && !streaming)
    for (const Generation &row : *g)
      std::printf("%s\n", text(row.ids).c_str());
  if (streaming) {
    flush(true);
    std::printf("\n");
  }
  std::fflush(stdout); // the text ends before the summary on stderr
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
  app->add_option("--prompts-file", o->promptsFile,
                  "prompts as text, one per line, generated together (a "
                  "line of output each; row r samples with --seed + r)");
  app->add_option("--prompt-ids-file", o->promptIdsFile,
                  "prompts as ids, one per line, generated together");
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
