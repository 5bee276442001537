//===- Command.h - What the ponder subcommands share ------------*- C++ -*-===//
//
// Each subcommand lives in its own file and adds itself to the CLI11 app
// with a `make*Command` function; main.cpp parses and runs the one chosen.
// Every error is one line on stderr and exit code 1 (README).
//
//===----------------------------------------------------------------------===//

#ifndef PONDER_TOOLS_PONDER_COMMAND_H
#define PONDER_TOOLS_PONDER_COMMAND_H

#include "runtime/Artifact.h"
#include "runtime/Safetensors.h"
#include "training/Vocabulary.h"

#include <CLI/CLI.hpp>

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

namespace ponder::cli {

/// A subcommand: its options and what it does once they are parsed.
struct Command {
  CLI::App *app = nullptr;
  std::function<int()> run;
};

Command makeInitCommand(CLI::App &parent);
Command makeRunCommand(CLI::App &parent);
Command makeTrainCommand(CLI::App &parent);
Command makeEvalCommand(CLI::App &parent);
Command makeGenerateCommand(CLI::App &parent);
/// `bench` and its `generate` and `train` subcommands.
std::vector<Command> makeBenchCommands(CLI::App &parent);
/// `tokenizer` and its `train` and `encode` subcommands.
std::vector<Command> makeTokenizerCommands(CLI::App &parent);

/// A subcommand of `parent` whose unknown arguments reach main.cpp, which
/// names them in one line.
CLI::App *addSubcommand(CLI::App &parent, const std::string &name,
                        const std::string &description);

/// Prints `status`'s line (none when a subprocess already printed it) and
/// returns the exit code 1.
int fail(const Status &status);

/// Option checks whose messages read "--FLAG: expected ..., got 'X'".
CLI::Validator integerAtLeast(int64_t min);
CLI::Validator nonNegativeNumber();
/// A number in [0, 1].
CLI::Validator probability();
/// A thought-slots spec: after-prompt:K or before-answer:K
/// (training/ThoughtSlots.h).
CLI::Validator thoughtSlotsSpec();
/// Where thinking spans open: answer, prompt or all (training/Rollouts.h).
CLI::Validator thinkAtPlace();
/// An output file: not empty, not a directory, in a directory that exists.
/// Checked before any work, so a run that could not save does not start.
CLI::Validator outputFile();

/// The model a command runs and where: every model command takes these.
struct ModelOptions {
  std::string model;   // MODEL.toml
  int64_t threads = 0; // 0: the OpenMP default
  std::string device = "cpu";
  // The CPU the code is compiled for (ponderc --target-cpu and
  // --target-features); "" is this one.
  std::string targetCpu, targetFeatures;
  // ponderc --dense-halting: no compaction of halted positions.
  bool denseHalting = false;
  // ponderc --score-attention: score matrices on the CPU.
  bool scoreAttention = false;
  // ponderc --unfused: one kernel per linalg op.
  bool unfused = false;
  // ponderc --data-parallel: set by `ponder train` under mpirun.
  bool dataParallel = false;
};
/// Adds MODEL.toml (required unless `optionalModel`: then a checkpoint's
/// description serves), --threads, --device, --target-cpu,
/// --target-features, --dense-halting, --unfused and --score-attention.
void addModelOptions(CLI::App *app, ModelOptions &options,
                     bool optionalModel = false);

struct LoadedModel {
  std::unique_ptr<Artifact> artifact;
  std::string text;  // the description's TOML
  std::string label; // its path, for messages
  /// Its [data] tokenizer as an absolute path (relative ones are to the
  /// description's directory); "" when it names none or came from a
  /// checkpoint (whose metadata records the tokenizer it trained with).
  std::string tokenizer;
};
/// Compiles (or finds in the cache) and loads the model of `options`; with
/// no MODEL.toml, the one described by `checkpointText` (a checkpoint's
/// __metadata__ "model").
StatusOr<LoadedModel> loadModel(const ModelOptions &options,
                                const std::string &checkpointText = "");

/// Weights read from `path` (a checkpoint serves too: its optimiser state
/// is skipped), checked by name, shape and dtype against `model`.
struct Weights {
  SafetensorsFile file;
  std::map<std::string, const Tensor *> values;
};
StatusOr<std::unique_ptr<Weights>> loadWeights(const Artifact &model,
                                               const std::string &path);
/// The same for a file already read from `path`.
StatusOr<std::unique_ptr<Weights>> checkedWeights(const Artifact &model,
                                                  SafetensorsFile file,
                                                  const std::string &path);

StatusOr<std::string> readFile(const std::string &path);

/// The tokenizer of `loaded` (or else `recorded`, a checkpoint's
/// "tokenizer"), loaded and checked: its pieces are the model's verbal
/// vocabulary, and a model's tokenizer is the checkpoint's. nullopt when
/// neither names one.
StatusOr<std::optional<Vocabulary>>
tokenizerVocabulary(const LoadedModel &loaded, const std::string &recorded);

/// The vocabulary of task `spec` ("addition:2" -> addition's; text tasks:
/// bytes), or nullopt for an unknown task.
std::optional<Vocabulary> vocabularyOfTask(const std::string &spec);

} // namespace ponder::cli

#endif // PONDER_TOOLS_PONDER_COMMAND_H
