//===- Artifact.cpp - Loading and calling compiled models -----------------===//

#include "runtime/Artifact.h"

#include "runtime/Cuda.h"
#include "runtime/HostMemory.h"
#include "runtime/StrictJson.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <dlfcn.h>

namespace ponder {

namespace {

using json::Type;

/// A value of "parameters", "arguments" or "results" at `path`.
StatusOr<ValueSpec> readValue(const json::Value &v, const std::string &path) {
  if (Status s = json::checkObject(v, path,
                                   {{PONDER_KEY_NAME, Type::String},
                                    {PONDER_KEY_DTYPE, Type::String},
                                    {PONDER_KEY_SHAPE, Type::Array},
                                    {PONDER_KEY_KIND, Type::String, false}});
      !s)
    return s;
  std::string shapePath = json::memberPath(path, PONDER_KEY_SHAPE);
  if (Status s =
          json::checkArray(v.at(PONDER_KEY_SHAPE), shapePath, Type::Integer);
      !s)
    return s;
  ValueSpec spec;
  spec.name = v.at(PONDER_KEY_NAME).get<std::string>();
  std::string dtype = v.at(PONDER_KEY_DTYPE).get<std::string>();
  std::optional<DType> type = parseDType(dtype);
  if (!type)
    return json::keyError(json::memberPath(path, PONDER_KEY_DTYPE),
                          "unknown dtype '" + dtype +
                              "' (expected F32, I32 or I64)");
  spec.dtype = *type;
  spec.shape = v.at(PONDER_KEY_SHAPE).get<std::vector<int64_t>>();
  std::string kind = v.value(PONDER_KEY_KIND, PONDER_KIND_INPUT);
  if (kind != PONDER_KIND_INPUT && kind != PONDER_KIND_PARAM)
    return json::keyError(json::memberPath(path, PONDER_KEY_KIND),
                          "unknown kind '" + kind + "' (expected " +
                              PONDER_KIND_INPUT " or " PONDER_KIND_PARAM ")");
  spec.isParameter = kind == PONDER_KIND_PARAM;
  return spec;
}

/// The values of the array at `path`.
StatusOr<std::vector<ValueSpec>> readValues(const json::Value &array,
                                            const std::string &path) {
  std::vector<ValueSpec> specs;
  for (size_t i = 0; i < array.size(); ++i) {
    StatusOr<ValueSpec> spec = readValue(array[i], json::elementPath(path, i));
    if (!spec)
      return spec.getStatus();
    specs.push_back(std::move(*spec));
  }
  return specs;
}

/// An entry of "entries" at `path`, its function looked up in `handle`.
StatusOr<EntryPoint> readEntry(const json::Value &e, const std::string &path,
                               void *handle) {
  if (Status s = json::checkObject(e, path,
                                   {{PONDER_KEY_NAME, Type::String},
                                    {PONDER_KEY_SYMBOL, Type::String},
                                    {PONDER_KEY_ARGUMENTS, Type::Array},
                                    {PONDER_KEY_RESULTS, Type::Array}});
      !s)
    return s;
  EntryPoint entry;
  entry.name = e.at(PONDER_KEY_NAME).get<std::string>();
  std::string symbol = e.at(PONDER_KEY_SYMBOL).get<std::string>();
  entry.function =
      reinterpret_cast<ponder_entry_fn>(dlsym(handle, symbol.c_str()));
  if (!entry.function)
    return json::keyError(json::memberPath(path, PONDER_KEY_SYMBOL),
                          "the artifact does not export " + symbol);
  for (auto [key, values] : {std::pair(PONDER_KEY_ARGUMENTS, &entry.arguments),
                             std::pair(PONDER_KEY_RESULTS, &entry.results)}) {
    StatusOr<std::vector<ValueSpec>> specs =
        readValues(e.at(key), json::memberPath(path, key));
    if (!specs)
      return specs.getStatus();
    *values = std::move(*specs);
  }
  return entry;
}

std::string shapeText(const std::vector<int64_t> &shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i)
    s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

/// The memref descriptor of a rank-r row-major tensor: 3 + 2r words.
void appendDescriptor(std::vector<int64_t> &words, const Tensor &t) {
  auto address = reinterpret_cast<int64_t>(t.bytes());
  words.insert(words.end(), {address, address, 0});
  words.insert(words.end(), t.shape().begin(), t.shape().end());
  std::vector<int64_t> strides(t.shape().size(), 1);
  for (int i = int(t.shape().size()) - 2; i >= 0; --i)
    strides[i] = strides[i + 1] * t.shape()[i + 1];
  words.insert(words.end(), strides.begin(), strides.end());
}

} // namespace

Artifact::~Artifact() {
  if (!handle)
    return;
  if (auto unload = reinterpret_cast<ponder_artifact_kernels_fn>(
          dlsym(handle, PONDER_SYMBOL_UNLOAD_KERNELS));
      unload && targetName == PONDER_TARGET_CUDA)
    unload();
  dlclose(handle);
}

/// Binds the artifact's calls into the runtime (its allocator; for cuda the
/// launch layer too) and loads its kernels (docs/artifact-abi.md).
static Status bindRuntime(void *handle, const std::string &path, bool cuda) {
  if (cuda)
    if (Status s = cuda::initialize(); !s)
      return Status::error(path + ": compiled for cuda: " + s.message());
  auto bind = reinterpret_cast<ponder_artifact_bind_runtime_fn>(
      dlsym(handle, PONDER_SYMBOL_BIND_RUNTIME));
  auto load = reinterpret_cast<ponder_artifact_kernels_fn>(
      dlsym(handle, PONDER_SYMBOL_LOAD_KERNELS));
  if (!bind || (cuda && !load))
    return Status::error(path + ": an artifact without runtime entry points");
  if (int32_t missing = bind(cuda ? &cuda::lookup : &host::lookup))
    return Status::error(path + ": the artifact calls " +
                         std::to_string(missing) +
                         " runtime functions this runtime lacks; recompile it");
  if (!cuda)
    return Status::ok();
  load();
  if (Status s = cuda::takeError(); !s)
    return Status::error(path + ": loading the kernels: " + s.message());
  return Status::ok();
}

int64_t Artifact::threads() const {
  // libomp is a dependency of the artifact: dlsym searches it too.
  auto get = reinterpret_cast<int (*)()>(dlsym(handle, "omp_get_max_threads"));
  return get ? get() : 1;
}

void Artifact::setThreads(int64_t n) const {
  if (auto set =
          reinterpret_cast<void (*)(int)>(dlsym(handle, "omp_set_num_threads")))
    set(int(n));
}

/// Whether `isa` is a descriptor's cpu_isa value ("" included).
static bool knownIsa(const std::string &isa) {
  return isa.empty() || isa == PONDER_CPU_ISA_AVX512 ||
         isa == PONDER_CPU_ISA_AVX2 || isa == PONDER_CPU_ISA_AVX ||
         isa == PONDER_CPU_ISA_SSE;
}

/// Whether this CPU runs code that needs `isa` (a known cpu_isa): an
/// artifact compiled for a wider machine would stop on an illegal
/// instruction in its first loop.
static bool hostRuns(const std::string &isa) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init();
  if (isa == PONDER_CPU_ISA_AVX512)
    return __builtin_cpu_supports("avx512f");
  if (isa == PONDER_CPU_ISA_AVX2)
    return __builtin_cpu_supports("avx2");
  if (isa == PONDER_CPU_ISA_AVX)
    return __builtin_cpu_supports("avx");
#endif
  return true;
}

Status Artifact::readDescriptor(const std::string &text) {
  StatusOr<json::Value> parsed = json::parse(text);
  if (!parsed)
    return parsed.getStatus();
  const json::Value &d = *parsed;
  if (Status s =
          json::checkObject(d, "",
                            {{PONDER_KEY_ABI_VERSION, Type::Integer},
                             {PONDER_KEY_MODEL_HASH, Type::String},
                             {PONDER_KEY_TARGET, Type::String},
                             {PONDER_KEY_VOCAB, Type::Object, false},
                             {PONDER_KEY_MAX_SEQ, Type::Integer, false},
                             {PONDER_KEY_MAX_THINK, Type::Integer, false},
                             {PONDER_KEY_ROLLOUTS, Type::Integer, false},
                             {PONDER_KEY_THINK_REWARD, Type::String, false},
                             {PONDER_KEY_THINK_CHANNEL, Type::String, false},
                             {PONDER_KEY_CPU, Type::String, false},
                             {PONDER_KEY_CPU_ISA, Type::String, false},
                             {PONDER_KEY_PARAMETERS, Type::Array},
                             {PONDER_KEY_ENTRIES, Type::Array}});
      !s)
    return s;
  if (int64_t abi = d.at(PONDER_KEY_ABI_VERSION).get<int64_t>();
      abi != kArtifactAbi)
    return json::keyError(PONDER_KEY_ABI_VERSION,
                          "expected " + std::to_string(kArtifactAbi) +
                              ", found " + std::to_string(abi));
  hash = d.at(PONDER_KEY_MODEL_HASH).get<std::string>();
  targetName = d.at(PONDER_KEY_TARGET).get<std::string>();
  if (targetName != PONDER_TARGET_CPU && targetName != PONDER_TARGET_CUDA)
    return json::keyError(PONDER_KEY_TARGET,
                          "unknown target '" + targetName +
                              "' (expected " PONDER_TARGET_CPU
                              " or " PONDER_TARGET_CUDA ")");
  cpuName = d.value(PONDER_KEY_CPU, std::string());
  isa = d.value(PONDER_KEY_CPU_ISA, std::string());
  if (!knownIsa(isa))
    return json::keyError(PONDER_KEY_CPU_ISA,
                          "unknown instruction set '" + isa +
                              "' (expected avx512, avx2, avx or sse)");
  maxSequence = d.value(PONDER_KEY_MAX_SEQ, maxSequence);
  maxThinkRun = d.value(PONDER_KEY_MAX_THINK, maxThinkRun);
  rolloutCount = d.value(PONDER_KEY_ROLLOUTS, rolloutCount);
  reward = d.value(PONDER_KEY_THINK_REWARD, reward);
  std::string channel = d.value(PONDER_KEY_THINK_CHANNEL,
                                std::string(PONDER_THINK_CHANNEL_TOKEN));
  if (channel != PONDER_THINK_CHANNEL_TOKEN &&
      channel != PONDER_THINK_CHANNEL_HIDDEN)
    return json::keyError(PONDER_KEY_THINK_CHANNEL,
                          "unknown channel '" + channel +
                              "' (expected " PONDER_THINK_CHANNEL_TOKEN
                              " or " PONDER_THINK_CHANNEL_HIDDEN ")");
  hiddenChannel = channel == PONDER_THINK_CHANNEL_HIDDEN;
  if (auto vocab = d.find(PONDER_KEY_VOCAB); vocab != d.end()) {
    if (Status s = json::checkObject(*vocab, PONDER_KEY_VOCAB,
                                     {{PONDER_KEY_VERBAL, Type::Integer},
                                      {PONDER_KEY_THINK, Type::Integer}});
        !s)
      return s;
    verbal = vocab->at(PONDER_KEY_VERBAL).get<int64_t>();
    think = vocab->at(PONDER_KEY_THINK).get<int64_t>();
  }
  StatusOr<std::vector<ValueSpec>> specs =
      readValues(d.at(PONDER_KEY_PARAMETERS), PONDER_KEY_PARAMETERS);
  if (!specs)
    return specs.getStatus();
  params = std::move(*specs);
  for (ValueSpec &p : params)
    p.isParameter = true;
  const json::Value &list = d.at(PONDER_KEY_ENTRIES);
  for (size_t i = 0; i < list.size(); ++i) {
    StatusOr<EntryPoint> e =
        readEntry(list[i], json::elementPath(PONDER_KEY_ENTRIES, i), handle);
    if (!e)
      return e.getStatus();
    entries.push_back(std::move(*e));
  }
  return Status::ok();
}

StatusOr<std::unique_ptr<Artifact>> Artifact::load(const std::string &path) {
  std::unique_ptr<Artifact> a(new Artifact());
  // dlopen searches the library path for a name without a slash.
  std::string file = path.find('/') == std::string::npos ? "./" + path : path;
  a->handle = dlopen(file.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!a->handle)
    return Status::error(path + ": cannot load artifact: " + dlerror());
  auto version = reinterpret_cast<ponder_artifact_abi_version_fn>(
      dlsym(a->handle, PONDER_SYMBOL_ABI_VERSION));
  auto describe = reinterpret_cast<ponder_artifact_descriptor_fn>(
      dlsym(a->handle, PONDER_SYMBOL_DESCRIPTOR));
  if (!version || !describe)
    return Status::error(path + ": not a Ponder artifact (no descriptor)");
  if (version() != kArtifactAbi)
    return Status::error(path + ": artifact ABI " + std::to_string(version()) +
                         ", this runtime reads " +
                         std::to_string(kArtifactAbi) + "; recompile it");
  const char *text = describe();
  Status read = text ? a->readDescriptor(text)
                     : Status::error("the artifact returns no text");
  if (!read) {
    a->targetName = PONDER_TARGET_CPU; // nothing to unload
    return Status::error(path + ": descriptor: " + read.message());
  }
  if (!hostRuns(a->isa)) {
    a->targetName = PONDER_TARGET_CPU;
    return Status::error(path + ": compiled for " + a->cpuName + " (" + a->isa +
                         "), which this CPU cannot run; recompile it for this "
                         "machine (ponderc --target-cpu=native)");
  }
  if (Status s =
          bindRuntime(a->handle, path, a->targetName == PONDER_TARGET_CUDA);
      !s) {
    a->targetName = PONDER_TARGET_CPU;
    return s;
  }
  return a;
}

const EntryPoint *Artifact::entry(const std::string &name) const {
  for (const EntryPoint &e : entries)
    if (e.name == name)
      return &e;
  return nullptr;
}

Status
Artifact::checkWeights(const std::map<std::string, const Tensor *> &weights,
                       const std::string &source) const {
  for (const auto &weight : weights)
    if (std::none_of(params.begin(), params.end(), [&](const ValueSpec &p) {
          return p.name == weight.first;
        }))
      return Status::error(source + ": unexpected tensor '" + weight.first +
                           "', not a parameter of the model");
  for (const ValueSpec &p : params) {
    auto it = weights.find(p.name);
    if (it == weights.end())
      return Status::error(source + ": missing parameter '" + p.name + "'");
    const Tensor &t = *it->second;
    if (t.dtype() != p.dtype || t.shape() != p.shape)
      return Status::error(source + ": parameter '" + p.name + "' is " +
                           std::string(dtypeName(t.dtype())) + " " +
                           shapeText(t.shape()) + ", the model expects " +
                           std::string(dtypeName(p.dtype)) + " " +
                           shapeText(p.shape));
    if (Status s = checkFinite(t, p.name); !s)
      return Status::error(source + ": parameter " + s.message());
  }
  return Status::ok();
}

StatusOr<std::map<std::string, Tensor>>
Artifact::call(const EntryPoint &entry,
               const std::map<std::string, const Tensor *> &values) const {
  // One word vector per argument, kept alive for the call. Kernels address
  // only device-visible memory: a cuda artifact's inputs are staged there.
  bool cuda = targetName == PONDER_TARGET_CUDA;
  std::vector<std::vector<int64_t>> descriptors;
  std::vector<void *> stagedMemory;
  struct Release {
    std::vector<void *> &memory;
    ~Release() {
      for (void *p : memory)
        cuda::release(p);
    }
  } releaseStaged{stagedMemory};
  for (const ValueSpec &arg : entry.arguments) {
    auto it = values.find(arg.name);
    if (it == values.end())
      return Status::error(entry.name + ": missing argument '" + arg.name +
                           "'");
    const Tensor &t = *it->second;
    bool shapeOk =
        t.dtype() == arg.dtype && t.rank() == int64_t(arg.shape.size());
    for (size_t i = 0; shapeOk && i < arg.shape.size(); ++i)
      shapeOk = arg.shape[i] < 0 || arg.shape[i] == t.shape()[i];
    if (!shapeOk)
      return Status::error(entry.name + ": argument '" + arg.name + "' is " +
                           std::string(dtypeName(t.dtype())) + " " +
                           shapeText(t.shape()) + ", expected " +
                           std::string(dtypeName(arg.dtype)) + " " +
                           shapeText(arg.shape));
    descriptors.emplace_back();
    appendDescriptor(descriptors.back(), t);
    if (cuda) {
      void *memory = cuda::allocate(t.byteSize());
      std::memcpy(memory, t.bytes(), t.byteSize());
      stagedMemory.push_back(memory);
      auto address = reinterpret_cast<int64_t>(memory);
      descriptors.back()[0] = descriptors.back()[1] = address;
    }
  }
  size_t resultWords = 0;
  for (const ValueSpec &r : entry.results)
    resultWords += 3 + 2 * r.shape.size();
  std::vector<int64_t> results(resultWords, 0);
  std::vector<void *> args = {results.data()};
  for (std::vector<int64_t> &d : descriptors)
    args.push_back(d.data());
  entry.function(args.data());
  Status deviceError = cuda ? cuda::takeError() : Status::ok();

  // Copy each result out and release the compiled code's allocation.
  std::map<std::string, Tensor> out;
  size_t at = 0;
  for (const ValueSpec &r : entry.results) {
    size_t rank = r.shape.size();
    std::vector<int64_t> shape(results.begin() + at + 3,
                               results.begin() + at + 3 + rank);
    Tensor t(r.dtype, shape);
    auto *allocated = reinterpret_cast<void *>(results[at]);
    auto *aligned = reinterpret_cast<const std::byte *>(results[at + 1]);
    std::memcpy(t.bytes(), aligned + results[at + 2] * dtypeSize(r.dtype),
                t.byteSize());
    // Constants come back as views of globals, marked by this sentinel.
    if (reinterpret_cast<uintptr_t>(allocated) != PONDER_RESULT_NOT_ALLOCATED)
      cuda ? cuda::release(allocated) : host::release(allocated);
    out.emplace(r.name, std::move(t));
    at += 3 + 2 * rank;
  }
  if (!deviceError)
    return Status::error(entry.name + ": " + deviceError.message());
  return out;
}

} // namespace ponder
