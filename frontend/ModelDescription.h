//===- ModelDescription.h - The model description (MODEL.md §2) -*- C++ -*-===//
//
// A model description is a TOML file with sections [model], [depth], [loss],
// [think] and [data]. parseModelDescription checks every key, type and range
// and reports the first problem as one line: `FILE:LINE: key 'S.K': ...`.
//
//===----------------------------------------------------------------------===//

#ifndef PONDER_FRONTEND_MODELDESCRIPTION_H
#define PONDER_FRONTEND_MODELDESCRIPTION_H

#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/StringRef.h"

#include <cstdint>
#include <optional>
#include <string>

namespace ponder {

enum class Halting { Fixed, Act, PonderNet };
enum class Reward { FirstVerbalLogprob, FirstVerbalCorrect, InformationGain };
/// What a think position reads as its input (MODEL.md §9): its token's
/// embedding (v1) or the previous position's final normed state.
enum class Channel { Token, Hidden };
/// How the halting loop's backward pass gets each step's state: from a tape
/// stored by the forward pass, or recomputed from the input (less memory,
/// O(N_max^2) block applications).
enum class Backward { Tape, Recompute };

/// Returns "fixed", "act" or "pondernet".
llvm::StringRef stringifyHalting(Halting h);
llvm::StringRef stringifyBackward(Backward b);
/// Returns "first_verbal_logprob", "first_verbal_correct" or
/// "information_gain".
llvm::StringRef stringifyReward(Reward r);
/// Returns "token" or "hidden".
llvm::StringRef stringifyChannel(Channel c);

/// Where the keys of a description are in its file, so that the IR built
/// from it points at the key that caused each op (FileLineColLoc).
struct SourcePositions {
  struct Position {
    unsigned line = 1, column = 1;
  };
  /// The file as named to the parser; "" for a description built in code.
  std::string file;
  /// Every section ("depth", at its header) and every key the parser reads
  /// ("depth.max_steps"). A key left at its default is at its section's
  /// header; a missing section at 1:1.
  llvm::StringMap<Position> positions;

  /// The position of `name`, which must be one of `positions` unless
  /// `file` is empty.
  Position find(llvm::StringRef name) const;
};

/// Every field of MODEL.md §2, with the defaults documented in
/// docs/model-description.md.
struct ModelDescription {
  struct Model {
    int64_t verbalVocab = 0; // Vv, required
    int64_t thinkVocab = 0;  // Vt
    int64_t dModel = 0;      // d, required
    int64_t nHeads = 0;      // h, required, d % h == 0
    int64_t dFF = 0;         // required
    int64_t maxSeq = 0;      // required
    double normEps = 1e-5;
    int64_t vocabSize() const { return verbalVocab + thinkVocab; }
    int64_t headDim() const { return dModel / nHeads; }
  } model;

  struct Depth {
    Halting halting = Halting::Act; // required
    int64_t maxSteps = 0;           // N_max, required
    double actEpsilon = 0.01;
    double ponderCost = 0.01; // tau
    double priorLambda = 0.2;
    double klBeta = 0.01;
    Backward backward = Backward::Tape;
  } depth;

  struct Loss {
    double smoothing = 0.0;    // alpha
    double referenceMix = 0.0; // mu
    double referenceTemperature = 1.0;
    double policyWeight = 1.0; // lambda_pg
  } loss;

  struct Think {
    int64_t maxThink = 8;
    Reward reward = Reward::FirstVerbalLogprob;
    int64_t rollouts = 4; // G
    Channel channel = Channel::Token;
  } think;

  /// What the ponder tool reads text with; not part of the compiled model
  /// (docs/model-description.md).
  struct Data {
    std::string tokenizer; // a SentencePiece model, relative to the file
  } data;

  /// Where each key is; not part of the model (moving a key changes only
  /// the IR's locations).
  SourcePositions source;

  /// The weight w of L_ponder in the total loss (MODEL.md §5): tau for act,
  /// kl_beta for pondernet, 0 for fixed.
  double ponderWeight() const;
};

/// Result of parsing: either a description or one error line.
struct ParsedDescription {
  std::optional<ModelDescription> description;
  std::string error; // `FILE:LINE: ...`, set iff !description
};

/// Parses and validates the TOML text `text`; `fileName` prefixes errors.
ParsedDescription parseModelDescription(llvm::StringRef text,
                                        llvm::StringRef fileName);

/// Reads `path` and parses it. A missing or unreadable file is an error.
ParsedDescription parseModelDescriptionFile(llvm::StringRef path);

} // namespace ponder

#endif // PONDER_FRONTEND_MODELDESCRIPTION_H
