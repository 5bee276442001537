//===- Artifact.cpp - Loading and calling compiled models -----------------===//

#include "runtime/Artifact.h"

#include "runtime/Cuda.h"
#include "runtime/HostMemory.h"
#include "runtime/Json.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <dlfcn.h>

namespace ponder {

namespace {

Status parseValue(const json::Value &v, ValueSpec &out) {
  const json::Value *name = v.find(PONDER_KEY_NAME),
                    *dtype = v.find(PONDER_KEY_DTYPE),
                    *shape = v.find(PONDER_KEY_SHAPE),
                    *kind = v.find(PONDER_KEY_KIND);
  if (!name || !name->isString() || !dtype || !dtype->isString() || !shape ||
      !shape->isArray())
    return Status::error("descriptor: a value lacks name, dtype or shape");
  out.name = name->asString();
  std::optional<DType> type = parseDType(dtype->asString());
  if (!type)
    return Status::error("descriptor: value '" + out.name +
                         "' has unknown dtype");
  out.dtype = *type;
  for (const json::Value &d : shape->items()) {
    if (!d.isInteger())
      return Status::error("descriptor: value '" + out.name +
                           "' has a bad shape");
    out.shape.push_back(d.asInteger());
  }
  out.isParameter =
      kind && kind->isString() && kind->asString() == PONDER_KIND_PARAM;
  return Status::ok();
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

StatusOr<std::unique_ptr<Artifact>> Artifact::load(const std::string &path) {
  std::unique_ptr<Artifact> a(new Artifact());
  a->handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
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
  StatusOr<json::Value> d = json::parse(describe());
  if (!d)
    return Status::error(path + ": descriptor: " + d.getStatus().message());
  if (const json::Value *h = d->find(PONDER_KEY_MODEL_HASH); h && h->isString())
    a->hash = h->asString();
  if (const json::Value *t = d->find(PONDER_KEY_TARGET); t && t->isString())
    a->targetName = t->asString();
  if (a->targetName != PONDER_TARGET_CPU && a->targetName != PONDER_TARGET_CUDA)
    return Status::error(path + ": unknown target '" + a->targetName + "'");
  if (Status s =
          bindRuntime(a->handle, path, a->targetName == PONDER_TARGET_CUDA);
      !s) {
    a->targetName = PONDER_TARGET_CPU; // nothing to unload
    return s;
  }
  if (const json::Value *m = d->find(PONDER_KEY_MAX_SEQ); m && m->isInteger())
    a->maxSequence = m->asInteger();
  if (const json::Value *m = d->find(PONDER_KEY_MAX_THINK); m && m->isInteger())
    a->maxThinkRun = m->asInteger();
  if (const json::Value *r = d->find(PONDER_KEY_ROLLOUTS); r && r->isInteger())
    a->rolloutCount = r->asInteger();
  if (const json::Value *r = d->find(PONDER_KEY_THINK_REWARD);
      r && r->isString())
    a->reward = r->asString();
  if (const json::Value *v = d->find(PONDER_KEY_VOCAB); v && v->isObject()) {
    if (const json::Value *x = v->find(PONDER_KEY_VERBAL); x && x->isInteger())
      a->verbal = x->asInteger();
    if (const json::Value *x = v->find(PONDER_KEY_THINK); x && x->isInteger())
      a->think = x->asInteger();
  }
  const json::Value *params = d->find(PONDER_KEY_PARAMETERS);
  const json::Value *entries = d->find(PONDER_KEY_ENTRIES);
  if (!params || !params->isArray() || !entries || !entries->isArray())
    return Status::error(path + ": descriptor lacks parameters or entries");
  for (const json::Value &p : params->items()) {
    ValueSpec spec;
    if (Status s = parseValue(p, spec); !s)
      return Status::error(path + ": " + s.message());
    spec.isParameter = true;
    a->params.push_back(std::move(spec));
  }
  for (const json::Value &e : entries->items()) {
    EntryPoint entry;
    const json::Value *name = e.find(PONDER_KEY_NAME),
                      *symbol = e.find(PONDER_KEY_SYMBOL);
    const json::Value *args = e.find(PONDER_KEY_ARGUMENTS),
                      *results = e.find(PONDER_KEY_RESULTS);
    if (!name || !name->isString() || !symbol || !symbol->isString() || !args ||
        !args->isArray() || !results || !results->isArray())
      return Status::error(path + ": descriptor has a malformed entry");
    entry.name = name->asString();
    entry.function = reinterpret_cast<ponder_entry_fn>(
        dlsym(a->handle, symbol->asString().c_str()));
    if (!entry.function)
      return Status::error(path + ": missing entry symbol " +
                           symbol->asString());
    for (const json::Value &v : args->items()) {
      ValueSpec spec;
      if (Status s = parseValue(v, spec); !s)
        return Status::error(path + ": " + s.message());
      entry.arguments.push_back(std::move(spec));
    }
    for (const json::Value &v : results->items()) {
      ValueSpec spec;
      if (Status s = parseValue(v, spec); !s)
        return Status::error(path + ": " + s.message());
      entry.results.push_back(std::move(spec));
    }
    a->entries.push_back(std::move(entry));
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
