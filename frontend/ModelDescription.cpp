//===- ModelDescription.cpp - Parse and check a model description ---------===//
//
// Reads the TOML of MODEL.md §2 with toml++, used header-only and without
// exceptions (LLVM builds with -fno-exceptions). Every key is checked for
// type and range; the first problem becomes one line,
// `FILE:LINE: key 'SECTION.KEY': WHAT` (docs/model-description.md).
//
//===----------------------------------------------------------------------===//

#include "frontend/ModelDescription.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/Support/ErrorHandling.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/raw_ostream.h"

// toml++ 3.3 turns its internal assertions into optimiser assumptions when
// NDEBUG is set, and malformed text can break them (fuzz/ found several):
// undefined behaviour in a release build. With NDEBUG unset and TOML_ASSERT
// a no-op they are neither checked nor assumed, and toml++ reports such
// text through its ordinary errors. (Its "unreachable" character classes
// are kept away by withoutComments below.)
#pragma push_macro("NDEBUG")
#undef NDEBUG
#define TOML_ASSERT(expr) static_assert(true)
#include <toml++/toml.h>
#pragma pop_macro("NDEBUG")

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>
#include <tuple>
#include <vector>

using namespace ponder;
using llvm::StringRef;

namespace {

// Sizes above this are almost certainly typos and would only fail later, as
// an allocation of absurd size.
constexpr int64_t kMaxSize = int64_t(1) << 20;
constexpr int64_t kNoMax = std::numeric_limits<int64_t>::max();
constexpr double kInf = std::numeric_limits<double>::infinity();

constexpr StringRef kSections[] = {"model", "depth", "loss", "think", "data"};

/// The shortest text that reads back as `v`: 1e-05, 0.3, nan, inf.
std::string formatFloat(double v) {
  char buf[32];
  return std::string(buf, std::to_chars(buf, buf + sizeof(buf), v).ptr);
}

/// TOML's own names for the types, as a user reads them in the file.
StringRef typeName(const toml::node &node) {
  switch (node.type()) {
  case toml::node_type::table:
    return "table";
  case toml::node_type::array:
    return "array";
  case toml::node_type::string:
    return "string";
  case toml::node_type::integer:
    return "integer";
  case toml::node_type::floating_point:
    return "float";
  case toml::node_type::boolean:
    return "boolean";
  case toml::node_type::date:
    return "date";
  case toml::node_type::time:
    return "time";
  case toml::node_type::date_time:
    return "date-time";
  case toml::node_type::none:
    break;
  }
  return "nothing";
}

/// The line of a node; a table that only exists implicitly (through
/// `[a.b.c]`) may have no source of its own, so fall back to its key's.
unsigned lineOf(const toml::key &key, const toml::node &node) {
  if (unsigned line = node.source().begin.line)
    return line;
  return std::max(1u, unsigned(key.source().begin.line));
}

/// Where `key` is (its name, not its value); its node's position when toml++
/// recorded none for the key.
SourcePositions::Position positionOf(const toml::key &key,
                                     const toml::node &node) {
  toml::source_position begin = key.source().begin;
  if (!begin.line)
    begin = node.source().begin;
  return {std::max(1u, unsigned(begin.line)),
          std::max(1u, unsigned(begin.column))};
}

struct Entry {
  StringRef key;
  const toml::node *node;
  unsigned line;
};

/// The entries of `table` in file order (toml::table is sorted by key), so
/// that "the first problem" means the first one in the file.
std::vector<Entry> entriesInFileOrder(const toml::table &table) {
  std::vector<Entry> entries;
  for (auto &&[key, node] : table)
    entries.push_back({key.str(), &node, lineOf(key, node)});
  llvm::sort(entries, [](const Entry &a, const Entry &b) {
    return std::make_tuple(a.line, a.node->source().begin.column) <
           std::make_tuple(b.line, b.node->source().begin.column);
  });
  return entries;
}

/// `FILE:LINE: what` on one line: control characters, which keys and
/// strings quoted in `what` may hold (`"a\nb" = 1`, found by fuzz/), are
/// written as \xNN.
std::string errorLine(StringRef file, unsigned line, const llvm::Twine &what) {
  std::string text = (file + ":" + llvm::Twine(line) + ": " + what).str();
  std::string escaped;
  for (char c : text) {
    auto byte = static_cast<unsigned char>(c);
    if (byte >= 0x20 && byte != 0x7f)
      escaped += c;
    else
      escaped += "\\x" + llvm::utohexstr(byte, /*LowerCase=*/true, 2);
  }
  return escaped;
}

enum Presence { Optional, Required };

struct IntRange {
  int64_t lo, hi = kNoMax;
  std::string str() const {
    if (hi == kNoMax)
      return ">= " + std::to_string(lo);
    return "in [" + std::to_string(lo) + ", " + std::to_string(hi) + "]";
  }
};

struct FloatRange {
  double lo, hi;
  bool loOpen, hiOpen;
  bool contains(double v) const {
    return (loOpen ? v > lo : v >= lo) && (hiOpen ? v < hi : v <= hi);
  }
  std::string str() const {
    if (hi == kInf)
      return (loOpen ? "> " : ">= ") + formatFloat(lo);
    return std::string("in ") + (loOpen ? "(" : "[") + formatFloat(lo) + ", " +
           formatFloat(hi) + (hiOpen ? ")" : "]");
  }
};
FloatRange atLeast(double lo) { return {lo, kInf, false, true}; }
FloatRange above(double lo) { return {lo, kInf, true, true}; }
/// interval('[', 0, 1, ')') is [0, 1).
FloatRange interval(char open, double lo, double hi, char close) {
  return {lo, hi, open == '(', close == ')'};
}

/// Reads the keys of one section. It remembers which keys were asked for,
/// so that the others can be reported as unknown, the first problem, and
/// where each key is (in `source`).
class Section {
public:
  Section(const toml::table &root, StringRef name, StringRef file,
          SourcePositions &source);

  /// Each reader leaves `out` at its default when the key is absent and
  /// returns true iff the key is present and valid.
  bool integer(StringRef key, int64_t &out, Presence presence, IntRange range);
  bool real(StringRef key, double &out, Presence presence, FloatRange range);
  template <typename E>
  bool oneOf(StringRef key, E &out, Presence presence, llvm::ArrayRef<E> values,
             StringRef (*stringify)(E));
  /// A non-empty string.
  bool text(StringRef key, std::string &out, Presence presence);

  /// Records a problem with `key`'s value (or its absence).
  bool fail(StringRef key, const llvm::Twine &what);

  /// The first problem. An unknown key comes before any value problem: a
  /// misspelt key is the likeliest cause of a "missing" one.
  std::optional<std::string> error() const;

private:
  const toml::node *lookup(StringRef key, Presence presence);

  const toml::table *table; // null when the section is absent
  StringRef name, file;
  SourcePositions &source;
  SourcePositions::Position header; // 1:1 when the section is absent
  llvm::StringSet<> known;
  std::optional<std::string> firstError;
};

Section::Section(const toml::table &root, StringRef name, StringRef file,
                 SourcePositions &source)
    : table(root.get_as<toml::table>(std::string_view(name))), name(name),
      file(file), source(source) {
  // At the header's `[`; a table that only exists through `[name.sub]` has
  // no source of its own, so at its key.
  if (table) {
    toml::source_position begin = table->source().begin;
    if (begin.line)
      header = {unsigned(begin.line), std::max(1u, unsigned(begin.column))};
    else
      header = positionOf(root.find(std::string_view(name))->first, *table);
  }
  source.positions[name] = header;
}

const toml::node *Section::lookup(StringRef key, Presence presence) {
  known.insert(key);
  SourcePositions::Position &at = source.positions[(name + "." + key).str()];
  at = header;
  const toml::node *node = nullptr;
  if (table) {
    if (auto it = table->find(std::string_view(key)); it != table->end()) {
      node = &it->second;
      at = positionOf(it->first, *node);
    }
  }
  if (!node && presence == Required)
    fail(key, "missing (required)");
  return node;
}

bool Section::fail(StringRef key, const llvm::Twine &what) {
  if (firstError)
    return false;
  // A missing key is reported at its section's header (line 1 if the section
  // is missing too).
  unsigned line = 1;
  if (table) {
    auto it = table->find(std::string_view(key));
    if (it != table->end())
      line = lineOf(it->first, it->second);
    else if (table->source().begin.line)
      line = table->source().begin.line;
  }
  firstError = errorLine(file, line, "key '" + name + "." + key + "': " + what);
  return false;
}

bool Section::integer(StringRef key, int64_t &out, Presence presence,
                      IntRange range) {
  const toml::node *node = lookup(key, presence);
  if (!node)
    return false;
  // A float such as 3.0 is a type error: sizes are counts.
  const toml::value<int64_t> *value = node->as_integer();
  if (!value)
    return fail(key, "expected integer, got " + typeName(*node));
  int64_t v = value->get();
  if (v < range.lo || v > range.hi)
    return fail(key, "expected integer " + range.str() + ", got " +
                         std::to_string(v));
  out = v;
  return true;
}

bool Section::real(StringRef key, double &out, Presence presence,
                   FloatRange range) {
  const toml::node *node = lookup(key, presence);
  if (!node)
    return false;
  // Integers are accepted so that `smoothing = 0` works.
  double v;
  if (const toml::value<double> *f = node->as_floating_point())
    v = f->get();
  else if (const toml::value<int64_t> *i = node->as_integer())
    v = double(i->get());
  else
    return fail(key, "expected float, got " + typeName(*node));
  if (!std::isfinite(v))
    return fail(key, "expected a finite float, got " + formatFloat(v));
  if (!range.contains(v))
    return fail(key,
                "expected float " + range.str() + ", got " + formatFloat(v));
  out = v;
  return true;
}

template <typename E>
bool Section::oneOf(StringRef key, E &out, Presence presence,
                    llvm::ArrayRef<E> values, StringRef (*stringify)(E)) {
  const toml::node *node = lookup(key, presence);
  if (!node)
    return false;
  const toml::value<std::string> *value = node->as_string();
  if (!value)
    return fail(key, "expected string, got " + typeName(*node));
  for (E e : values) {
    if (stringify(e) == value->get()) {
      out = e;
      return true;
    }
  }
  std::string what;
  llvm::raw_string_ostream os(what);
  os << "expected one of ";
  llvm::interleaveComma(values, os,
                        [&](E e) { os << '"' << stringify(e) << '"'; });
  // Escaped, so that the error stays on one line.
  os << ", got \"";
  llvm::printEscapedString(value->get(), os);
  os << '"';
  return fail(key, what);
}

bool Section::text(StringRef key, std::string &out, Presence presence) {
  const toml::node *node = lookup(key, presence);
  if (!node)
    return false;
  const toml::value<std::string> *value = node->as_string();
  if (!value)
    return fail(key, "expected string, got " + typeName(*node));
  if (value->get().empty())
    return fail(key, "expected a non-empty string");
  out = value->get();
  return true;
}

std::optional<std::string> Section::error() const {
  if (table)
    for (const Entry &entry : entriesInFileOrder(*table))
      if (!known.contains(entry.key))
        return errorLine(file, entry.line,
                         "key '" + name + "." + entry.key + "': unknown key");
  return firstError;
}

void readModel(Section &s, ModelDescription::Model &m) {
  s.integer("verbal_vocab", m.verbalVocab, Required, {1, kMaxSize});
  s.integer("think_vocab", m.thinkVocab, Optional, {0, kMaxSize});
  s.integer("d_model", m.dModel, Required, {1, kMaxSize});
  // Heads split d evenly: head_dim = d / h (MODEL.md §2).
  if (s.integer("n_heads", m.nHeads, Required, {1}) && m.dModel % m.nHeads)
    s.fail("n_heads",
           "expected a divisor of d_model = " + std::to_string(m.dModel) +
               ", got " + std::to_string(m.nHeads));
  s.integer("d_ff", m.dFF, Required, {1, kMaxSize});
  // One prediction needs two positions (MODEL.md §5: t is predicted at t-1).
  s.integer("max_seq", m.maxSeq, Required, {2, kMaxSize});
  s.real("norm_eps", m.normEps, Optional, above(0));
}

void readDepth(Section &s, ModelDescription::Depth &d) {
  s.oneOf<Halting>("halting", d.halting, Required,
                   {Halting::Fixed, Halting::Act, Halting::PonderNet},
                   stringifyHalting);
  s.integer("max_steps", d.maxSteps, Required, {1, kMaxSize});
  // Mode-specific keys are checked whatever the mode, so that switching
  // modes never turns a file invalid.
  s.real("act_epsilon", d.actEpsilon, Optional, interval('[', 0, 1, ')'));
  s.real("ponder_cost", d.ponderCost, Optional, atLeast(0));
  s.real("prior_lambda", d.priorLambda, Optional, interval('(', 0, 1, ']'));
  s.real("kl_beta", d.klBeta, Optional, atLeast(0));
  s.oneOf<Backward>("backward", d.backward, Optional,
                    {Backward::Tape, Backward::Recompute}, stringifyBackward);
}

void readLoss(Section &s, ModelDescription::Loss &l) {
  s.real("smoothing", l.smoothing, Optional, interval('[', 0, 1, ']'));
  // The one-hot weight 1 - alpha - mu of the soft target must not be
  // negative (MODEL.md §5); the slack forgives decimal rounding (0.7 + 0.3).
  if (s.real("reference_mix", l.referenceMix, Optional,
             interval('[', 0, 1, ']')) &&
      l.smoothing + l.referenceMix > 1 + 1e-12)
    s.fail("reference_mix", "expected smoothing + reference_mix <= 1, got " +
                                formatFloat(l.smoothing) + " + " +
                                formatFloat(l.referenceMix));
  s.real("reference_temperature", l.referenceTemperature, Optional, above(0));
  s.real("policy_weight", l.policyWeight, Optional, atLeast(0));
}

void readThink(Section &s, ModelDescription::Think &t) {
  s.integer("max_think", t.maxThink, Optional, {0});
  s.oneOf<Reward>("reward", t.reward, Optional,
                  {Reward::FirstVerbalLogprob, Reward::FirstVerbalCorrect,
                   Reward::InformationGain},
                  stringifyReward);
  s.oneOf<Channel>("channel", t.channel, Optional,
                   {Channel::Token, Channel::Hidden}, stringifyChannel);
  // The leave-one-out baseline averages the other G - 1 rollouts (§6).
  s.integer("rollouts", t.rollouts, Optional, {2});
}

} // namespace

StringRef ponder::stringifyHalting(Halting h) {
  switch (h) {
  case Halting::Fixed:
    return "fixed";
  case Halting::Act:
    return "act";
  case Halting::PonderNet:
    return "pondernet";
  }
  llvm_unreachable("unknown halting mode");
}

StringRef ponder::stringifyBackward(Backward b) {
  return b == Backward::Tape ? "tape" : "recompute";
}

StringRef ponder::stringifyReward(Reward r) {
  switch (r) {
  case Reward::FirstVerbalLogprob:
    return "first_verbal_logprob";
  case Reward::FirstVerbalCorrect:
    return "first_verbal_correct";
  case Reward::InformationGain:
    return "information_gain";
  }
  llvm_unreachable("unknown reward");
}

StringRef ponder::stringifyChannel(Channel c) {
  return c == Channel::Token ? "token" : "hidden";
}

SourcePositions::Position SourcePositions::find(StringRef name) const {
  auto it = positions.find(name);
  assert((it != positions.end() || file.empty()) &&
         "not a section or a key that the parser reads");
  return it == positions.end() ? Position() : it->second;
}

double ModelDescription::ponderWeight() const {
  switch (depth.halting) {
  case Halting::Fixed:
    return 0.0;
  case Halting::Act:
    return depth.ponderCost;
  case Halting::PonderNet:
    return depth.klBeta;
  }
  llvm_unreachable("unknown halting mode");
}

namespace {

/// Writes `text` to `plain` with every comment's text removed (each line
/// and its `#` kept, so line numbers hold), or returns the line and reason
/// of text refused before toml++ sees it. toml++ 3.3 has assumptions that
/// malformed text breaks (fuzz/ found them): that a table header's `[` is
/// followed by a key, and character classes that reach "unreachable" code
/// for most characters outside ASCII (U+00A7 among them), which are
/// undefined behaviour in a release build. So: no NUL byte (never in TOML),
/// no multi-line string (which would hide where comments are; a description
/// needs none), no byte outside ASCII except in comments, which toml++ then
/// never reads, and no table header without a key.
std::optional<std::pair<unsigned, std::string>>
withoutComments(StringRef text, std::string &plain) {
  plain.clear();
  plain.reserve(text.size());
  unsigned number = 0;
  for (StringRef rest = text; !rest.empty();) {
    auto [line, next] = rest.split('\n');
    bool lastLine = next.data() == nullptr || rest.size() == line.size();
    rest = next;
    ++number;
    if (line.contains("\"\"\"") || line.contains("'''"))
      return std::pair(number, std::string("not valid here: a multi-line "
                                           "string (model descriptions use "
                                           "none)"));
    char quote = 0;
    size_t end = 0;
    for (; end < line.size(); ++end) {
      char c = line[end];
      if (c == '\0')
        return std::pair(number, std::string("not valid TOML: a NUL byte "
                                             "(not a text file?)"));
      if (quote == '"' && c == '\\') {
        ++end; // the escaped character
        continue;
      }
      if (quote ? c == quote : c == '"' || c == '\'')
        quote = quote ? 0 : c;
      else if (!quote && c == '#')
        break;
      if (static_cast<unsigned char>(c) >= 0x80)
        return std::pair(number, std::string("not valid here: a byte outside "
                                             "ASCII (model descriptions are "
                                             "ASCII outside comments)"));
    }
    if (end < line.size() && line.drop_front(end).contains('\0'))
      return std::pair(number, std::string("not valid TOML: a NUL byte (not "
                                           "a text file?)"));
    StringRef kept = line.take_front(std::min(end + 1, line.size()));
    StringRef header = kept.ltrim(" \t");
    if (header.consume_front("[")) {
      header.consume_front("[");
      header = header.ltrim(" \t");
      char first = header.empty() ? '\n' : header.front();
      if (!(first == ']' || llvm::isAlnum(first) || first == '_' ||
            first == '-' || first == '"' || first == '\''))
        return std::pair(number, std::string("not valid TOML: a table header "
                                             "needs a key after '['"));
    }
    plain += kept;
    if (!lastLine)
      plain += '\n';
  }
  return std::nullopt;
}

} // namespace

ParsedDescription ponder::parseModelDescription(StringRef text,
                                                StringRef fileName) {
  ParsedDescription result;
  auto failAt = [&](unsigned line, const llvm::Twine &what) {
    result.error = errorLine(fileName, line, what);
    return result;
  };

  std::string plain;
  if (std::optional<std::pair<unsigned, std::string>> refused =
          withoutComments(text, plain))
    return failAt(refused->first, refused->second);
  toml::parse_result parsed =
      toml::parse(std::string_view(plain),
                  std::string_view(fileName.data(), fileName.size()));
  if (!parsed) {
    // toml++ quotes the character it saw, which may be a newline: the
    // error stays one line with control characters escaped.
    std::string description;
    llvm::raw_string_ostream os(description);
    llvm::printEscapedString(StringRef(parsed.error().description().data(),
                                       parsed.error().description().size()),
                             os);
    return failAt(std::max(1u, unsigned(parsed.error().source().begin.line)),
                  "not valid TOML: " + description);
  }
  const toml::table &root = parsed.table();

  // The shape of the file first: only the known sections, each a table.
  for (const Entry &entry : entriesInFileOrder(root)) {
    if (!llvm::is_contained(kSections, entry.key)) {
      if (entry.node->is_table())
        return failAt(entry.line, "section [" + entry.key +
                                      "]: unknown section (expected model, "
                                      "depth, loss, think, data)");
      return failAt(entry.line, "key '" + entry.key +
                                    "': unknown key (outside any section)");
    }
    if (!entry.node->is_table())
      return failAt(entry.line, "section [" + entry.key +
                                    "]: expected a table, got " +
                                    typeName(*entry.node));
  }
  for (StringRef name : {"model", "depth"})
    if (!root.contains(std::string_view(name)))
      return failAt(1, "section [" + name + "]: missing (required)");

  ModelDescription desc;
  desc.source.file = fileName.str();
  Section model(root, "model", fileName, desc.source),
      depth(root, "depth", fileName, desc.source),
      loss(root, "loss", fileName, desc.source),
      think(root, "think", fileName, desc.source),
      data(root, "data", fileName, desc.source);
  readModel(model, desc.model);
  readDepth(depth, desc.depth);
  readLoss(loss, desc.loss);
  readThink(think, desc.think);
  // The tokenizer is the ponder tool's business; the compiler checks only
  // that the key is a path.
  data.text("tokenizer", desc.data.tokenizer, Optional);
  if (desc.think.channel == Channel::Hidden && desc.model.thinkVocab == 0)
    think.fail("channel", "\"hidden\" needs think ids: set [model] "
                          "think_vocab >= 1");
  for (const Section *section : {&model, &depth, &loss, &think, &data}) {
    if (std::optional<std::string> error = section->error()) {
      result.error = std::move(*error);
      return result;
    }
  }
  result.description = desc;
  return result;
}

ParsedDescription ponder::parseModelDescriptionFile(StringRef path) {
  llvm::ErrorOr<std::unique_ptr<llvm::MemoryBuffer>> buffer =
      llvm::MemoryBuffer::getFile(path, /*IsText=*/true,
                                  /*RequiresNullTerminator=*/false);
  if (!buffer)
    return {
        std::nullopt,
        (path + ": cannot read file: " + buffer.getError().message()).str()};
  return parseModelDescription((*buffer)->getBuffer(), path);
}
