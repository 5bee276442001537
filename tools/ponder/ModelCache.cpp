//===- ModelCache.cpp - Compiled models, cached ---------------------------===//

#include "tools/ponder/ModelCache.h"

#include "runtime/Hash.h"
#include "tools/ponder/Command.h"

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

namespace ponder::cli {

namespace {

std::string ponderc() {
  if (const char *env = std::getenv("PONDERC"))
    return env;
  char buffer[4096];
  ssize_t n = readlink("/proc/self/exe", buffer, sizeof(buffer) - 1);
  std::string self = n > 0 ? std::string(buffer, size_t(n)) : "./ponder";
  return self.substr(0, self.find_last_of('/') + 1) + "ponderc";
}

std::string hex(uint64_t hash) {
  char text[17];
  std::snprintf(text, sizeof(text), "%016llx",
                static_cast<unsigned long long>(hash));
  return text;
}

/// The cache directory, made (mkdir -p) if missing.
std::string cacheDirectory() {
  std::string dir;
  if (const char *env = std::getenv("PONDER_CACHE_DIR"))
    dir = env;
  else
    dir = std::string(std::getenv("HOME") ? std::getenv("HOME") : "/tmp") +
          "/.cache/ponder";
  for (size_t at = 1; at <= dir.size(); ++at)
    if (at == dir.size() || dir[at] == '/')
      mkdir(dir.substr(0, at).c_str(), 0755);
  return dir;
}

/// Runs ponderc with `args`; its stdout into `out` when given. ponderc
/// prints its own errors, so a failure's message is empty.
Status runPonderc(const std::vector<std::string> &args, std::string *out) {
  std::string compiler = ponderc();
  if (access(compiler.c_str(), X_OK) != 0)
    return Status::error("ponder: cannot run the compiler " + compiler +
                         " (set $PONDERC)");
  int pipeFds[2] = {-1, -1};
  if (out && pipe(pipeFds) != 0)
    return Status::error("ponder: cannot run " + compiler);
  pid_t pid = fork();
  if (pid == 0) {
    if (out) {
      dup2(pipeFds[1], STDOUT_FILENO);
      close(pipeFds[0]);
      close(pipeFds[1]);
    }
    std::vector<char *> argv = {const_cast<char *>(compiler.c_str())};
    for (const std::string &a : args)
      argv.push_back(const_cast<char *>(a.c_str()));
    argv.push_back(nullptr);
    execv(compiler.c_str(), argv.data());
    std::fprintf(stderr, "ponder: cannot run %s\n", compiler.c_str());
    std::_Exit(127);
  }
  if (out) {
    close(pipeFds[1]);
    char buffer[4096];
    for (ssize_t n; (n = read(pipeFds[0], buffer, sizeof(buffer))) > 0;)
      out->append(buffer, size_t(n));
    close(pipeFds[0]);
  }
  int status = 0;
  if (pid < 0 || waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) ||
      WEXITSTATUS(status) != 0)
    return Status::error("");
  return Status::ok();
}

/// This machine's CPU as /proc/cpuinfo names it (its model and flags), so
/// that code compiled for the host is not taken for another host's.
std::string hostCpuIdentity() {
  std::ifstream in("/proc/cpuinfo");
  std::string line, identity;
  for (int found = 0; found < 2 && std::getline(in, line);)
    if (line.rfind("model name", 0) == 0 || line.rfind("flags", 0) == 0 ||
        line.rfind("Features", 0) == 0) { // aarch64
      identity += line + "\n";
      ++found;
    }
  return identity;
}

} // namespace

StatusOr<std::string> modelKey(const std::string &modelPath) {
  // ponderc reads the file itself, but a missing one is ponder's error.
  if (StatusOr<std::string> text = readFile(modelPath); !text)
    return text.getStatus();
  std::string key;
  if (Status s = runPonderc({modelPath, "--emit=model-key"}, &key); !s)
    return s;
  while (!key.empty() && (key.back() == '\n' || key.back() == ' '))
    key.pop_back();
  return key;
}

StatusOr<std::string> descriptionFile(const std::string &text) {
  std::string path = cacheDirectory() + "/" + hex(fnv1a(text)) + ".toml";
  std::string partial = path + "." + std::to_string(getpid());
  std::ofstream out(partial, std::ios::trunc);
  out << text;
  out.close(); // flushes: a full disk shows here
  if (out.fail() || std::rename(partial.c_str(), path.c_str()) != 0) {
    std::remove(partial.c_str());
    return Status::error("ponder: cannot write " + path);
  }
  return path;
}

StatusOr<std::string> compiledArtifact(const std::string &modelPath,
                                       const ModelOptions &options) {
  StatusOr<std::string> key = modelKey(modelPath);
  if (!key)
    return key.getStatus();
  StatusOr<std::string> compiler = readFile(ponderc());
  if (!compiler)
    return Status::error("ponder: cannot read the compiler " + ponderc() +
                         " (set $PONDERC)");
  const std::string &device = options.device;
  std::vector<std::string> args = {modelPath, "--target=" + device,
                                   "--emit=artifact"};
  if (!options.targetCpu.empty())
    args.push_back("--target-cpu=" + options.targetCpu);
  if (!options.targetFeatures.empty())
    args.push_back("--target-features=" + options.targetFeatures);
  if (options.denseHalting)
    args.push_back("--dense-halting");
  if (options.scoreAttention)
    args.push_back("--score-attention");
  if (options.unfused)
    args.push_back("--unfused");
  if (options.dataParallel)
    args.push_back("--data-parallel");
  std::string target = hostCpuIdentity() + device + "\n" + options.targetCpu +
                       "\n" + options.targetFeatures +
                       (options.denseHalting ? "\ndense" : "") +
                       (options.scoreAttention ? "\nscores" : "") +
                       (options.unfused ? "\nunfused" : "") +
                       (options.dataParallel ? "\ndata-parallel" : "");
  uint64_t hash = fnv1a(target, fnv1a(*key, fnv1a(*compiler)));
  std::string artifact = cacheDirectory() + "/" + hex(hash) + ".so";
  struct stat st;
  if (stat(artifact.c_str(), &st) == 0)
    return artifact;
  if (isatty(STDERR_FILENO))
    std::fprintf(stderr, "ponder: compiling %s for %s (once; cached as %s)\n",
                 modelPath.c_str(),
                 options.targetCpu.empty() ? device.c_str()
                                           : options.targetCpu.c_str(),
                 artifact.c_str());
  // Compiled beside its final name and renamed: a concurrent ponder never
  // loads half an artifact.
  std::string partial = artifact + "." + std::to_string(getpid()) + ".so";
  args.insert(args.end(), {"-o", partial});
  Status s = runPonderc(args, nullptr);
  if (s && std::rename(partial.c_str(), artifact.c_str()) != 0)
    s = Status::error("ponder: cannot write " + artifact);
  std::remove(partial.c_str());
  if (!s)
    return s;
  return artifact;
}

} // namespace ponder::cli
