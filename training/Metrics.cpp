//===- Metrics.cpp - The metrics CSV of a training run --------------------===//

#include "training/Metrics.h"

#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <vector>

namespace ponder {

namespace {

using Value = std::optional<double>;

struct Column {
  const char *name;
  const char *format; // printf format of the value
  Value (*value)(const MetricsRow &);
};

// The columns of the CSV, in order: the one definition of its layout.
const Column kColumns[] = {
    {"step", "%.0f", [](const MetricsRow &r) -> Value { return r.step; }},
    {"loss", "%.6g", [](const MetricsRow &r) -> Value { return r.loss; }},
    {"loss_ce", "%.6g", [](const MetricsRow &r) -> Value { return r.ce; }},
    {"loss_ponder", "%.6g",
     [](const MetricsRow &r) -> Value { return r.ponder; }},
    {"loss_policy", "%.6g",
     [](const MetricsRow &r) -> Value { return r.policy; }},
    {"grad_norm", "%.6g",
     [](const MetricsRow &r) -> Value { return r.gradNorm; }},
    {"learning_rate", "%.6g",
     [](const MetricsRow &r) -> Value { return r.learningRate; }},
    {"mean_depth", "%.4f",
     [](const MetricsRow &r) -> Value { return r.meanDepth; }},
    {"tokens_per_s", "%.1f",
     [](const MetricsRow &r) -> Value { return r.tokensPerSecond; }},
    {"heldout_accuracy", "%.4f",
     [](const MetricsRow &r) { return r.heldOutAccuracy; }},
    {"reward", "%.6g", [](const MetricsRow &r) { return r.reward; }},
    {"advantage_std", "%.6g",
     [](const MetricsRow &r) { return r.advantageStd; }},
    {"think_per_verbal", "%.6g",
     [](const MetricsRow &r) { return r.thinkPerVerbal; }},
    {"think_advantage", "%.6g",
     [](const MetricsRow &r) { return r.thinkAdvantage; }},
    {"thoughts_per_answer", "%.6g",
     [](const MetricsRow &r) { return r.thoughtsPerAnswer; }},
    {"heldout_thoughts_per_answer", "%.6g",
     [](const MetricsRow &r) { return r.heldOutThoughts; }},
    {"heldout_flops_per_answer", "%.6g",
     [](const MetricsRow &r) { return r.heldOutFlops; }},
    {"heldout_loss", "%.6g", [](const MetricsRow &r) { return r.heldOutLoss; }},
};

} // namespace

std::string metricsHeader() {
  std::string header;
  for (const Column &c : kColumns)
    header += (header.empty() ? "" : ",") + std::string(c.name);
  return header;
}

std::string formatMetricsRow(const MetricsRow &row) {
  std::string line;
  for (const Column &c : kColumns) {
    if (&c != kColumns)
      line += ",";
    if (Value v = c.value(row)) {
      char buffer[64];
      std::snprintf(buffer, sizeof(buffer), c.format, *v);
      line += buffer;
    }
  }
  return line;
}

StatusOr<MetricsLog> MetricsLog::open(const std::string &path,
                                      int64_t resumeStep) {
  std::vector<std::string> kept;
  if (resumeStep > 0) {
    std::ifstream in(path);
    for (std::string line; std::getline(in, line);)
      if (!line.empty() && std::isdigit(static_cast<unsigned char>(line[0])) &&
          std::strtoll(line.c_str(), nullptr, 10) <= resumeStep)
        kept.push_back(line);
  }
  MetricsLog log;
  log.file = path;
  log.out.open(path, std::ios::trunc);
  if (!log.out)
    return Status::error(path + ": cannot write the metrics file");
  log.out << metricsHeader() << "\n";
  for (const std::string &line : kept)
    log.out << line << "\n";
  if (!log.out.flush())
    return Status::error(path + ": cannot write the metrics file");
  return log;
}

Status MetricsLog::append(const MetricsRow &row) {
  if (!(out << formatMetricsRow(row) << "\n").flush())
    return Status::error(file + ": cannot write the metrics file");
  return Status::ok();
}

std::string withExtension(const std::string &path,
                          const std::string &extension) {
  size_t slash = path.find_last_of('/');
  size_t dot = path.find_last_of('.');
  if (dot == std::string::npos || (slash != std::string::npos && dot < slash))
    return path + extension;
  return path.substr(0, dot) + extension;
}

} // namespace ponder
