//===- Tokenizer.cpp - ponder tokenizer -----------------------------------===//
//
// ponder tokenizer train CORPUS.txt --vocab N -o tok.model: a SentencePiece
// tokenizer for a model's [data] tokenizer (training/SentencePiece.h);
// ponder tokenizer encode tok.model TEXT: its ids and pieces, and the text
// they decode to (docs/training.md).
//
//===----------------------------------------------------------------------===//

#include "tools/ponder/Command.h"

#include "training/SentencePiece.h"

#include <cstdio>

namespace ponder::cli {

namespace {

int runTrainTokenizer(const TokenizerTraining &o) {
  if (Status s = trainSentencePiece(o); !s)
    return fail(Status::error("ponder: " + s.message()));
  StatusOr<Vocabulary> v = Vocabulary::sentencePiece(o.output);
  if (!v)
    return fail(v.getStatus());
  std::printf("vocabulary %lld: tokenizer %s; set [model] verbal_vocab = "
              "%lld and [data] tokenizer = \"%s\"\n",
              static_cast<long long>(v->size()), o.output.c_str(),
              static_cast<long long>(v->size()), o.output.c_str());
  return 0;
}

int runEncode(const std::string &tokenizer, const std::string &text) {
  StatusOr<Vocabulary> v = Vocabulary::sentencePiece(tokenizer);
  if (!v)
    return fail(Status::error("ponder: " + v.getStatus().message()));
  std::vector<int32_t> ids;
  std::string error;
  v->encode(text, ids, error);
  std::string line;
  for (int32_t id : ids)
    line += (line.empty() ? "" : " ") + std::to_string(id);
  std::printf("ids %s\n", line.c_str());
  std::printf("tokens %zu, bytes %zu\n", ids.size(), text.size());
  std::printf("decoded %s\n", v->decode(ids, v->size(), false).c_str());
  return 0;
}

} // namespace

std::vector<Command> makeTokenizerCommands(CLI::App &parent) {
  CLI::App *tokenizer = addSubcommand(
      parent, "tokenizer", "Train or try a SentencePiece tokenizer.");
  tokenizer->require_subcommand(1);

  auto t = std::make_shared<TokenizerTraining>();
  CLI::App *train =
      addSubcommand(*tokenizer, "train",
                    "Train a tokenizer on a UTF-8 text file (byte fallback, no "
                    "normalisation: decoding gives the text back).");
  train->add_option("CORPUS", t->corpus, "the text file")->required();
  train->add_option("--vocab", t->vocabSize, "pieces, the model's verbal_vocab")
      ->check(integerAtLeast(260))
      ->capture_default_str();
  train->add_option("--type", t->modelType, "unigram or bpe")
      ->check(CLI::IsMember({"unigram", "bpe"}))
      ->capture_default_str();
  train->add_option("--seed", t->seed, "the sample of lines it trains on")
      ->capture_default_str();
  train->add_option("-o", t->output, "the tokenizer (.model)")
      ->required()
      ->check(outputFile());

  auto e = std::make_shared<std::pair<std::string, std::string>>();
  CLI::App *encode =
      addSubcommand(*tokenizer, "encode", "Show the ids of a text.");
  encode->add_option("TOKENIZER", e->first, "a .model file")->required();
  encode->add_option("TEXT", e->second, "the text")->required();

  return {{tokenizer, [] { return 1; }},
          {train, [t] { return runTrainTokenizer(*t); }},
          {encode, [e] { return runEncode(e->first, e->second); }}};
}

} // namespace ponder::cli
