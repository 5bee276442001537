//===- main.cpp - The ponder command
//---------------------------------------===//
//
// `ponder SUBCOMMAND ...`: init, run, train, eval, generate and bench of
// models that ponderc compiles (ModelCache.h). One file per subcommand;
// this one parses (CLI11), turns parse errors into one line naming the
// problem, and runs the chosen subcommand. `ponder --help` and
// `ponder SUBCOMMAND --help` list every flag with its default.
//
//===----------------------------------------------------------------------===//

#include "tools/ponder/Command.h"
#include "tools/ponder/Ranks.h"

#include <algorithm>
#include <cstdio>
#include <optional>

using namespace ponder::cli;

namespace {

/// The edit distance between `a` and `b`, for "did you mean" suggestions.
size_t distance(const std::string &a, const std::string &b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j)
    row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1,
                         diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = up;
    }
  }
  return row[b.size()];
}

/// "; did you mean 'X'?" for the nearest of `names`, when it is near.
std::string suggestion(const std::string &word,
                       const std::vector<std::string> &names) {
  std::string best;
  size_t bestDistance = word.size() / 2 + 1;
  for (const std::string &name : names)
    if (size_t d = distance(word, name); d < bestDistance)
      best = name, bestDistance = d;
  return best.empty() ? "" : "; did you mean '" + best + "'?";
}

/// The long flags of `app`, for suggestions.
std::vector<std::string> flagsOf(const CLI::App *app) {
  std::vector<std::string> flags;
  for (const CLI::Option *o : app->get_options())
    for (const std::string &name : o->get_lnames())
      flags.push_back("--" + name);
  return flags;
}

/// Arguments the chosen subcommand did not take (extras are allowed so
/// that they get this message, not CLI11's).
int reportExtras(const CLI::App *app) {
  std::vector<std::string> extras = app->remaining();
  if (extras.empty())
    return 0;
  const std::string &first = extras.front();
  std::string name = first.substr(0, first.find('='));
  if (name.rfind("-", 0) == 0)
    return fail(ponder::Status::error("ponder: unknown option '" + name + "'" +
                                      suggestion(name, flagsOf(app))));
  return fail(
      ponder::Status::error("ponder: unexpected argument '" + first + "'"));
}

/// The one line for a CLI11 parse error.
std::string parseErrorLine(const CLI::ParseError &e) {
  std::string message = e.what();
  // "--seed: 1 required INT missing": a flag at the end without its value.
  if (dynamic_cast<const CLI::ArgumentMismatch *>(&e))
    return "ponder: option '" + message.substr(0, message.find(':')) +
           "' needs a value";
  const std::string required = " is required";
  if (message.size() > required.size() &&
      message.compare(message.size() - required.size(), required.size(),
                      required) == 0)
    message = "missing option '" +
              message.substr(0, message.size() - required.size()) + "'";
  return "ponder: " + message;
}

std::string versionText() {
  std::string targets = "cpu";
  targets += ", cuda (PTX by ponderc; the driver loaded at run time)";
  return "ponder " PONDER_VERSION "\ntargets: " + targets +
         "\ndata parallel: " + mpiDescription();
}

} // namespace

int main(int argc, char **argv) {
  CLI::App app("Ponder: train, evaluate and run adaptive-compute "
               "transformers compiled by ponderc.",
               "ponder");
  app.set_version_flag("--version", versionText());
  app.require_subcommand(1);
  app.footer("Every command that runs a model takes --threads N and "
             "--device cpu|cuda.\nponder SUBCOMMAND --help lists its flags.");
  std::vector<Command> commands = {makeInitCommand(app), makeRunCommand(app),
                                   makeTrainCommand(app), makeEvalCommand(app),
                                   makeGenerateCommand(app)};
  for (Command &c : makeBenchCommands(app))
    commands.push_back(std::move(c));
  for (Command &c : makeTokenizerCommands(app))
    commands.push_back(std::move(c));

  // An unknown subcommand gets a suggestion (CLI11 would call it an
  // unexpected positional).
  std::vector<std::string> names;
  for (const CLI::App *sub : app.get_subcommands({}))
    names.push_back(sub->get_name());
  if (argc > 1 && argv[1][0] != '-' &&
      std::find(names.begin(), names.end(), argv[1]) == names.end())
    return fail(ponder::Status::error(
        std::string("ponder: unknown command '") + argv[1] + "'" +
        suggestion(argv[1], names) + " (ponder --help lists them)"));

  if (argc == 1)
    return fail(ponder::Status::error("ponder: give a command: init, run, "
                                      "train, eval, generate, bench or "
                                      "tokenizer (ponder --help)"));
  std::optional<std::string> error;
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError &e) {
    if (e.get_exit_code() == 0)
      return app.exit(e); // --help, --version
    error = parseErrorLine(e);
  }
  // The deepest parsed command runs (bench generate, not bench). An unknown
  // flag is named first: it may be a misspelt required one.
  for (auto it = commands.rbegin(); it != commands.rend(); ++it)
    if (it->app->parsed()) {
      if (int code = reportExtras(it->app))
        return code;
      return error ? fail(ponder::Status::error(*error)) : it->run();
    }
  return fail(ponder::Status::error(*error));
}
