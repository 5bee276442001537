//===- EvalText.cpp - ponder eval --data ----------------------------------===//
//
// ponder eval [MODEL.toml] --weights W --data FILE [--val FILE]: validation
// loss, perplexity, bits per byte and calibration of a text corpus's
// held-out windows, and where the model spends depth: per token and per
// position (training/TextEvaluation.h, docs/evaluation.md).
//
//===----------------------------------------------------------------------===//

#include "tools/ponder/EvalText.h"

#include "training/Plot.h"
#include "training/TextEvaluation.h"

#include <algorithm>
#include <cstdio>
#include <fstream>

namespace ponder::cli {

namespace {

/// A token's text on one line of a table or a CSV field: spaces as '_',
/// newlines and tabs named, other control characters escaped, no commas or
/// quotes.
std::string label(const Vocabulary &v, int32_t id) {
  std::string text = v.decode({id}, v.size(), false), out;
  for (unsigned char c : text) {
    if (c == ' ')
      out += '_';
    else if (c == '\n')
      out += "<nl>";
    else if (c == '\t')
      out += "<tab>";
    else if (c == ',')
      out += "<comma>";
    else if (c == '"')
      out += "''";
    else if (c < 0x20 || c == 0x7f)
      out += "\\x" + std::string(1, "0123456789abcdef"[c >> 4]) +
             "0123456789abcdef"[c & 15];
    else
      out += char(c);
  }
  return out.empty() ? "<id " + std::to_string(id) + ">" : out;
}

/// Ids with at least `least` targets, deepest first.
std::vector<int32_t> byDepth(const TextEvaluation &e, int64_t least) {
  std::vector<int32_t> ids;
  for (size_t id = 0; id < e.byId.size(); ++id)
    if (e.byId[id].count >= least)
      ids.push_back(int32_t(id));
  auto mean = [&](int32_t id) {
    return e.byId[size_t(id)].depth / double(e.byId[size_t(id)].count);
  };
  std::sort(ids.begin(), ids.end(), [&](int32_t a, int32_t b) {
    return mean(a) != mean(b) ? mean(a) > mean(b) : a < b;
  });
  return ids;
}

void printTokenRows(const char *title, const std::vector<int32_t> &ids,
                    const TextEvaluation &e, const Vocabulary &v) {
  std::printf("%s\n  %-16s %8s %8s %8s\n", title, "token", "count", "depth",
              "nll");
  for (int32_t id : ids) {
    const DepthStats &s = e.byId[size_t(id)];
    std::printf("  %-16s %8lld %8.3f %8.3f\n", label(v, id).c_str(),
                static_cast<long long>(s.count), s.depth / double(s.count),
                s.nll / double(s.count));
  }
}

void printSummary(const TextEvaluation &e, const std::string &source,
                  const Vocabulary &v) {
  std::printf("validation: %lld windows, %lld tokens, %lld bytes of %s "
              "(vocabulary %lld: %s)\n",
              static_cast<long long>(e.windows),
              static_cast<long long>(e.targets),
              static_cast<long long>(e.bytes), source.c_str(),
              static_cast<long long>(v.size()), v.describe().c_str());
  std::printf("validation loss %.4f nats/token, validation perplexity %.3f, "
              "bits per byte %.4f\n",
              e.meanNll(), e.perplexity(), e.bitsPerByte());
  std::printf("top-1 accuracy %.2f%%, expected calibration error %.4f (%d "
              "bins), mean top-1 probability %.2f%%\n",
              100 * e.accuracy(), e.calibrationError(),
              TextEvaluation::kCalibrationBins, 100 * e.confidence());
  std::printf("mean depth %.3f steps; correlation of a target's NLL with "
              "its predictor's depth %.3f\n",
              e.meanDepth(), e.depthNllCorrelation);
}

/// One row per token of `tokens`, in that order.
Status writeTokensCsv(const TextEvaluation &e, const Vocabulary &v,
                      const std::vector<int32_t> &tokens,
                      const std::string &path) {
  std::string partial = path + ".partial";
  std::ofstream out(partial);
  out << "id,token,count,depth,nll\n";
  for (int32_t id : tokens) {
    const DepthStats &s = e.byId[size_t(id)];
    out << id << ',' << label(v, id) << ',' << s.count << ','
        << s.depth / double(s.count) << ',' << s.nll / double(s.count) << '\n';
  }
  out.close();
  if (!out || std::rename(partial.c_str(), path.c_str()) != 0) {
    std::remove(partial.c_str());
    return Status::error(path + ": cannot write it");
  }
  return Status::ok();
}

Status writePositionsCsv(const TextEvaluation &e, const std::string &path) {
  std::ofstream out(path);
  out << "position,count,depth,nll\n";
  for (size_t i = 0; i < e.byPosition.size(); ++i) {
    const DepthStats &s = e.byPosition[i];
    if (s.count)
      out << i << ',' << s.count << ',' << s.depth / double(s.count) << ','
          << s.nll / double(s.count) << '\n';
  }
  out.close();
  return out ? Status::ok() : Status::error(path + ": cannot write it");
}

/// The ids the plot shows: the 40 most frequent (and ties), deepest first.
std::vector<int32_t> plotted(const TextEvaluation &e) {
  std::vector<int64_t> counts;
  for (const DepthStats &s : e.byId)
    counts.push_back(s.count);
  std::sort(counts.rbegin(), counts.rend());
  size_t n = std::min<size_t>(40, counts.size());
  return byDepth(e, std::max<int64_t>(1, counts[n - 1]));
}

/// --csv: every token's row; --plot: the depth by position and of the most
/// frequent tokens.
Status writeOutputs(const EvalTextOptions &o, const TextEvaluation &e,
                    const Vocabulary &v) {
  if (!o.csv.empty()) {
    if (Status s = writeTokensCsv(e, v, byDepth(e, 1), o.csv); !s)
      return Status::error("ponder: --csv " + s.message());
    std::printf("csv: %s\n", o.csv.c_str());
  }
  if (o.plot.empty())
    return Status::ok();
  std::string tokens = o.plot + ".tokens.csv",
              positions = o.plot + ".positions.csv";
  Status s = writeTokensCsv(e, v, plotted(e), tokens);
  if (s)
    s = writePositionsCsv(e, positions);
  if (s)
    s = plotTextDepth(positions, tokens, o.plot,
                      "Depth on " + o.source + " (" + o.weights + ")");
  std::remove(tokens.c_str());
  std::remove(positions.c_str());
  if (!s)
    return Status::error("ponder: " + s.message());
  std::printf("plot: %s\n", o.plot.c_str());
  return Status::ok();
}

} // namespace

int runEvalText(const EvalTextOptions &o, const LoadedModel &loaded,
                const Checkpoint &c) {
  auto recorded = [&](const char *key) {
    auto it = c.metadata.find(key);
    return it == c.metadata.end() ? std::string() : it->second;
  };
  auto tokenizer = tokenizerVocabulary(loaded, recorded("tokenizer"));
  if (!tokenizer)
    return fail(tokenizer.getStatus());
  Vocabulary vocab = tokenizer->value_or(Vocabulary::bytes());
  const Artifact &model = *loaded.artifact;
  auto task = CorpusTask::create(o.data, o.val, vocab, model.verbalVocab(),
                                 model.maxSeq(), o.window);
  if (!task)
    return fail(Status::error("ponder: " + task.getStatus().message()));
  std::map<std::string, const Tensor *> values;
  for (const auto &[name, t] : c.parameters)
    values[name] = &t;
  if (Status s = model.checkWeights(values, o.weights); !s)
    return fail(s);
  auto e = evaluateText(model, values, **task, o.windows);
  if (!e)
    return fail(Status::error("ponder: " + e.getStatus().message()));
  printSummary(*e, o.source, vocab);
  std::vector<int32_t> ranked = byDepth(*e, 20);
  size_t shown = std::min<size_t>(10, ranked.size() / 2);
  printTokenRows("deepest tokens (at least 20 targets)",
                 {ranked.begin(), ranked.begin() + shown}, *e, vocab);
  printTokenRows("shallowest tokens", {ranked.end() - shown, ranked.end()}, *e,
                 vocab);
  Status s = writeOutputs(o, *e, vocab);
  return s ? 0 : fail(s);
}

} // namespace ponder::cli
