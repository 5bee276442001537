//===- EvalText.h - ponder eval --data --------------------------*- C++ -*-===//
//
// The text-corpus half of `ponder eval` (Eval.cpp parses the flags).
//
//===----------------------------------------------------------------------===//

#ifndef PONDER_TOOLS_PONDER_EVALTEXT_H
#define PONDER_TOOLS_PONDER_EVALTEXT_H

#include "runtime/Trainer.h"
#include "tools/ponder/Command.h"

namespace ponder::cli {

struct EvalTextOptions {
  std::string weights;
  std::string data, val; // the corpus and its validation text
  std::string source;    // which file the held-out windows come from
  int64_t window = 0;    // ids per window (0: max_seq's)
  int64_t windows = 0;   // held-out windows evaluated (0: all)
  std::string csv, plot;
};

/// Evaluates checkpoint `c` of `loaded` on the held-out windows of `o`.
int runEvalText(const EvalTextOptions &o, const LoadedModel &loaded,
                const Checkpoint &c);

} // namespace ponder::cli

#endif // PONDER_TOOLS_PONDER_EVALTEXT_H
