//===- SentencePiece.cpp - A SentencePiece tokenizer ----------------------===//

#include "training/SentencePiece.h"

#include "runtime/Hash.h"

#include <sentencepiece_processor.h>
#include <sentencepiece_trainer.h>

#include <cstdio>
#include <filesystem>
#include <unistd.h>

namespace ponder {

namespace fs = std::filesystem;

SentencePiece::~SentencePiece() = default;

StatusOr<std::shared_ptr<const SentencePiece>>
SentencePiece::load(const std::string &path) {
  std::error_code ec;
  if (!fs::exists(path, ec))
    return Status::error(path + ": no such tokenizer file");
  if (fs::is_directory(path, ec))
    return Status::error(path + ": is a directory, not a tokenizer file");
  std::shared_ptr<SentencePiece> s(new SentencePiece());
  s->processor = std::make_unique<sentencepiece::SentencePieceProcessor>();
  if (!s->processor->Load(path).ok())
    return Status::error(path + ": not a SentencePiece model file");
  s->digest = fnv1a(s->processor->serialized_model_proto());
  return std::shared_ptr<const SentencePiece>(std::move(s));
}

int64_t SentencePiece::size() const { return processor->GetPieceSize(); }
int32_t SentencePiece::bos() const { return processor->bos_id(); }
int32_t SentencePiece::eos() const { return processor->eos_id(); }

std::vector<int32_t> SentencePiece::encode(std::string_view text) const {
  std::vector<int> ids;
  // Fails only on an unloaded model, which load() never returns.
  (void)processor->Encode(text, &ids);
  return {ids.begin(), ids.end()};
}

std::string SentencePiece::decode(const std::vector<int32_t> &ids) const {
  std::string text;
  (void)processor->Decode(std::vector<int>(ids.begin(), ids.end()), &text);
  return text;
}

int64_t SentencePiece::byteLength(int32_t id) const {
  if (processor->IsByte(id))
    return 1;
  if (processor->IsControl(id) || processor->IsUnknown(id))
    return 0;
  static constexpr std::string_view kSpace = "\xe2\x96\x81"; // U+2581
  const std::string &piece = processor->IdToPiece(id);
  int64_t bytes = int64_t(piece.size());
  for (size_t at = piece.find(kSpace); at != std::string::npos;
       at = piece.find(kSpace, at + kSpace.size()))
    bytes -= int64_t(kSpace.size()) - 1;
  return bytes;
}

Status trainSentencePiece(const TokenizerTraining &o) {
  std::error_code ec;
  if (!fs::is_regular_file(o.corpus, ec))
    return Status::error(o.corpus + ": no such text file");
  if (fs::file_size(o.corpus, ec) == 0)
    return Status::error(o.corpus + ": empty text file");
  fs::path out(o.output);
  fs::path vocab = fs::path(out).replace_extension(".vocab");
  std::string prefix =
      o.output + ".tmp" + std::to_string(static_cast<long long>(getpid()));
  std::unordered_map<std::string, std::string> args = {
      {"input", o.corpus},
      {"model_prefix", prefix},
      {"vocab_size", std::to_string(o.vocabSize)},
      {"model_type", o.modelType},
      {"byte_fallback", "true"},
      {"normalization_rule_name", "identity"},
      {"remove_extra_whitespaces", "false"},
      {"add_dummy_prefix", "false"},
      {"split_digits", "true"},
      {"character_coverage", "1.0"},
      {"input_sentence_size", std::to_string(o.maxSentences)},
      {"shuffle_input_sentence", "true"},
      {"unk_id", "0"},
      {"bos_id", "1"},
      {"eos_id", "2"},
      {"pad_id", "-1"},
      {"num_threads", "1"}, // the same pieces on every machine
      {"minloglevel", "2"},
  };
  sentencepiece::SetRandomGeneratorSeed(unsigned(o.seed % 0xffffffffu));
  auto st = sentencepiece::SentencePieceTrainer::Train(args);
  std::string model = prefix + ".model", readable = prefix + ".vocab";
  if (!st.ok()) {
    fs::remove(model, ec);
    fs::remove(readable, ec);
    return Status::error(
        o.corpus + ": cannot train a tokenizer: " + std::string(st.message()));
  }
  fs::rename(readable, vocab, ec);
  fs::rename(model, out, ec);
  if (ec) {
    fs::remove(model, ec);
    return Status::error(o.output +
                         ": cannot write the tokenizer: " + ec.message());
  }
  return Status::ok();
}

} // namespace ponder
