//===- ThoughtSlots.cpp - Thoughts at placed positions --------------------===//

#include "training/ThoughtSlots.h"

#include <algorithm>
#include <cstdlib>

namespace ponder {

namespace {

constexpr int64_t kMaxSlots = 64; // K: more is no longer a "few thoughts"

constexpr const char *kAfterPrompt = "after-prompt";
constexpr const char *kBeforeAnswer = "before-answer";

/// The prompt's length: the leading run of target-weight-0 tokens.
int64_t promptLength(const float *targetWeight, int64_t length) {
  int64_t p = 0;
  while (p < length && targetWeight[p] == 0)
    ++p;
  return p;
}

/// Reads row `r` of a task batch back as an example.
Example rowOf(const TaskBatch &batch, int64_t r) {
  int64_t t = batch.ids.shape()[1];
  int64_t length = batch.lengths.data<int32_t>()[r];
  Example e;
  const int32_t *ids = batch.ids.data<int32_t>() + r * t;
  const float *weight = batch.targetWeight.data<float>() + r * t;
  const int32_t *scored = batch.scored.data<int32_t>() + r * t;
  e.ids.assign(ids, ids + length);
  e.targetWeight.assign(weight, weight + length);
  for (int64_t p = 0; p < length; ++p)
    e.scored.push_back(uint8_t(scored[p] != 0));
  return e;
}

/// The id the batch pads with (any id past a row's length), else 0:
/// padding influences nothing (MODEL.md §1), keeping it keeps dumps
/// readable.
int32_t padOf(const TaskBatch &batch) {
  int64_t b = batch.ids.shape()[0], t = batch.ids.shape()[1];
  for (int64_t r = 0; r < b; ++r)
    if (batch.lengths.data<int32_t>()[r] < t)
      return batch.ids.data<int32_t>()[r * t + t - 1];
  return 0;
}

/// Packs placed examples into a batch padded with `pad`, with the
/// think-vs-speak advantage.
PlacedBatch pack(const std::vector<Example> &examples, int32_t pad) {
  int64_t b = int64_t(examples.size()), t = 1;
  for (const Example &e : examples)
    t = std::max<int64_t>(t, int64_t(e.ids.size()));
  PlacedBatch out{Tensor(DType::I32, {b, t}), Tensor(DType::I32, {b}),
                  Tensor(DType::F32, {b, t}), Tensor(DType::I32, {b, t}),
                  Tensor(DType::F32, {b, t})};
  std::fill(out.ids.data<int32_t>(), out.ids.data<int32_t>() + b * t, pad);
  for (int64_t r = 0; r < b; ++r) {
    const Example &e = examples[size_t(r)];
    int64_t length = int64_t(e.ids.size());
    out.lengths.data<int32_t>()[r] = int32_t(length);
    for (int64_t p = 0; p < length; ++p) {
      out.ids.data<int32_t>()[r * t + p] = e.ids[size_t(p)];
      out.targetWeight.data<float>()[r * t + p] = e.targetWeight[size_t(p)];
      out.scored.data<int32_t>()[r * t + p] = e.scored[size_t(p)];
      out.advantage.data<float>()[r * t + p] = p >= 1 ? 1.0f : 0.0f;
    }
  }
  return out;
}

} // namespace

StatusOr<ThoughtSlots> ThoughtSlots::parse(const std::string &spec) {
  size_t colon = spec.find(':');
  std::string place = spec.substr(0, colon);
  ThoughtSlots slots;
  bool known = place == kAfterPrompt || place == kBeforeAnswer;
  slots.place =
      place == kAfterPrompt ? SlotPlace::AfterPrompt : SlotPlace::BeforeAnswer;
  std::string count =
      colon == std::string::npos ? std::string() : spec.substr(colon + 1);
  char *end = nullptr;
  long long k = std::strtoll(count.c_str(), &end, 10);
  if (!known || count.empty() || *end != '\0' || k < 1 || k > kMaxSlots)
    return Status::error("thought slots '" + spec +
                         "': expected after-prompt:K or before-answer:K with "
                         "K from 1 to " +
                         std::to_string(kMaxSlots));
  slots.count = k;
  return slots;
}

std::string ThoughtSlots::spec() const {
  return std::string(place == SlotPlace::AfterPrompt ? kAfterPrompt
                                                     : kBeforeAnswer) +
         ":" + std::to_string(count);
}

std::vector<int32_t> thoughtsBefore(const float *targetWeight, int64_t length,
                                    const ThoughtSlots &slots) {
  std::vector<int32_t> before(size_t(std::max<int64_t>(length, 0)), 0);
  int64_t prompt = promptLength(targetWeight, length);
  int32_t k = int32_t(slots.count);
  if (slots.place == SlotPlace::AfterPrompt) {
    // After tokens 1 .. prompt - 2: before positions 2 .. prompt - 1.
    for (int64_t p = 2; p < prompt; ++p)
      before[size_t(p)] = k;
    return before;
  }
  for (int64_t p = std::max<int64_t>(prompt, 1); p + 1 < length; ++p)
    if (targetWeight[p] > 0)
      before[size_t(p)] = k;
  return before;
}

Tensor thoughtCounts(const Tensor &targetWeight, const Tensor &lengths,
                     const ThoughtSlots &slots) {
  int64_t b = targetWeight.shape()[0], t = targetWeight.shape()[1];
  Tensor counts(DType::I32, {b, t});
  for (int64_t r = 0; r < b; ++r) {
    int64_t length = std::min<int64_t>(lengths.data<int32_t>()[r], t);
    std::vector<int32_t> before =
        thoughtsBefore(targetWeight.data<float>() + r * t, length, slots);
    std::fill(counts.data<int32_t>() + r * t,
              counts.data<int32_t>() + (r + 1) * t, 0);
    std::copy(before.begin(), before.end(), counts.data<int32_t>() + r * t);
  }
  return counts;
}

Example placeThoughtSlots(const Example &example, const ThoughtSlots &slots,
                          int32_t thinkId) {
  int64_t length = int64_t(example.ids.size());
  std::vector<int32_t> before =
      thoughtsBefore(example.targetWeight.data(), length, slots);
  Example placed;
  for (int64_t p = 0; p < length; ++p) {
    for (int32_t i = 0; i < before[size_t(p)]; ++i) {
      placed.ids.push_back(thinkId);
      placed.targetWeight.push_back(0.0f);
      placed.scored.push_back(0);
    }
    placed.ids.push_back(example.ids[size_t(p)]);
    placed.targetWeight.push_back(example.targetWeight[size_t(p)]);
    placed.scored.push_back(example.scored[size_t(p)]);
  }
  return placed;
}

StatusOr<PlacedBatch> placeThoughtSlots(const TaskBatch &batch,
                                        const ThoughtSlots &slots,
                                        int32_t thinkId, int64_t maxSeq) {
  int64_t b = batch.ids.shape()[0];
  std::vector<Example> placed;
  int64_t thoughts = 0;
  for (int64_t r = 0; r < b; ++r) {
    Example e = rowOf(batch, r);
    placed.push_back(placeThoughtSlots(e, slots, thinkId));
    int64_t length = int64_t(placed.back().ids.size());
    if (length > maxSeq)
      return Status::error(
          "thought slots " + slots.spec() + " make an example of " +
          std::to_string(e.ids.size()) + " tokens " + std::to_string(length) +
          " long, more than max_seq = " + std::to_string(maxSeq));
    thoughts += length - int64_t(e.ids.size());
  }
  PlacedBatch out = pack(placed, padOf(batch));
  out.thoughts = thoughts;
  return out;
}

} // namespace ponder
