//===- Safetensors.cpp - Reading and writing safetensors files ------------===//
//
// POSIX I/O rather than iostreams: every failure comes with errno, reads go
// straight into the tensors' aligned storage, and the writer can fsync
// before the rename that publishes the file.
//
//===----------------------------------------------------------------------===//

#include "runtime/Safetensors.h"

#include "runtime/StrictJson.h"
#include "runtime/Utf8.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <set>
#include <string_view>
#include <tuple>
#include <utility>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace ponder {

namespace {

constexpr std::string_view kMetadataKey = "__metadata__";

/// Owns a file descriptor: closed on every way out of a function.
class FileDescriptor {
public:
  explicit FileDescriptor(int fd) : fd(fd) {}
  FileDescriptor(const FileDescriptor &) = delete;
  FileDescriptor &operator=(const FileDescriptor &) = delete;
  ~FileDescriptor() {
    if (fd >= 0)
      ::close(fd);
  }
  int get() const { return fd; }
  /// Closes now; false if close() fails (it can report a lost write).
  bool close() {
    int result = ::close(fd);
    fd = -1;
    return result == 0;
  }

private:
  int fd;
};

/// `path: what` on one line: control characters (from names and fields in
/// the file, quoted in `what`) are written as \xNN.
Status fileError(const std::string &path, const std::string &what) {
  std::string line = path + ": ";
  for (char c : what) {
    auto byte = static_cast<unsigned char>(c);
    if (byte >= 0x20 && byte != 0x7f) {
      line += c;
      continue;
    }
    char escaped[5];
    std::snprintf(escaped, sizeof(escaped), "\\x%02x", byte);
    line += escaped;
  }
  return Status::error(line);
}

/// errno as text; a short read leaves errno 0 and means the file shrank.
std::string reason() {
  return errno ? std::strerror(errno) : "unexpected end of file";
}

/// Reads exactly `size` bytes at `offset`.
bool readFully(int fd, void *data, size_t size, uint64_t offset) {
  char *p = static_cast<char *>(data);
  while (size > 0) {
    ssize_t n = ::pread(fd, p, size, static_cast<off_t>(offset));
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0) {
      if (n == 0)
        errno = 0;
      return false;
    }
    p += n;
    size -= size_t(n);
    offset += uint64_t(n);
  }
  return true;
}

bool writeFully(int fd, const void *data, size_t size) {
  const char *p = static_cast<const char *>(data);
  while (size > 0) {
    ssize_t n = ::write(fd, p, size);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      return false;
    p += n;
    size -= size_t(n);
  }
  return true;
}

/// A validated tensor entry of the header, before its data is read.
struct Entry {
  std::string name;
  DType dtype;
  std::vector<int64_t> shape;
  uint64_t begin, end;
};

/// Checks one header entry `{"dtype", "shape", "data_offsets"}` against a
/// buffer of `bufferSize` bytes. Messages name the tensor; the caller adds
/// the path.
Status parseEntry(const std::string &name, const json::Value &value,
                  uint64_t bufferSize, Entry &out) {
  auto bad = [&](const std::string &what) {
    return Status::error("tensor '" + name + "': " + what);
  };
  auto found = [](const json::Value &v) {
    return std::string(", found ") + std::string(json::describe(v));
  };
  if (!value.is_object())
    return bad("expected an object with dtype, shape and data_offsets" +
               found(value));
  for (const auto &field : value.items())
    if (field.key() != "dtype" && field.key() != "shape" &&
        field.key() != "data_offsets")
      return bad("unknown field '" + field.key() +
                 "' (expected dtype, shape and data_offsets)");
  for (const char *field : {"dtype", "shape", "data_offsets"})
    if (!value.contains(field))
      return bad(std::string("missing field '") + field + "'");

  // Each member is read only after its type is checked: nlohmann's getters
  // throw on any other.
  const json::Value &dtype = value.at("dtype");
  if (!dtype.is_string())
    return bad("dtype: expected a string" + found(dtype));
  const std::string &dtypeText = dtype.get_ref<const std::string &>();
  std::optional<DType> type = parseDType(dtypeText);
  if (!type)
    return bad("unsupported dtype '" + dtypeText +
               "' (expected F32, I32 or I64)");

  const json::Value &shape = value.at("shape");
  if (!shape.is_array())
    return bad("shape: expected an array of integers" + found(shape));
  std::vector<int64_t> dims;
  for (const json::Value &d : shape) {
    std::string which = "shape: dimension " + std::to_string(dims.size());
    if (!d.is_number_integer())
      return bad(which + ": expected an integer" + found(d));
    int64_t dim = d.get<int64_t>();
    if (dim < 0)
      return bad(which + " is negative (" + std::to_string(dim) + ")");
    dims.push_back(dim);
  }
  // Bytes must fit in 63 bits; a zero dim makes any product empty.
  uint64_t numel = 1, limit = (uint64_t(1) << 63) / dtypeSize(*type);
  if (std::find(dims.begin(), dims.end(), 0) != dims.end())
    numel = 0;
  for (size_t k = 0; numel != 0 && k < dims.size(); ++k) {
    if (numel > limit / uint64_t(dims[k]))
      return bad("shape: too many elements");
    numel *= uint64_t(dims[k]);
  }

  const json::Value &offsets = value.at("data_offsets");
  auto offset = [&](size_t k) {
    return offsets[k].is_number_integer() && offsets[k].get<int64_t>() >= 0;
  };
  if (!offsets.is_array() || offsets.size() != 2 || !offset(0) || !offset(1))
    return bad("data_offsets: expected [begin, end], two non-negative "
               "integers");
  uint64_t begin = offsets[0].get<int64_t>(), end = offsets[1].get<int64_t>();
  if (begin > end)
    return bad("data_offsets: begin " + std::to_string(begin) + " > end " +
               std::to_string(end));
  if (end > bufferSize)
    return bad("data_offsets: end " + std::to_string(end) +
               " is past the end of the data (" + std::to_string(bufferSize) +
               " bytes)");
  uint64_t bytes = numel * dtypeSize(*type);
  if (end - begin != bytes)
    return bad("data_offsets span " + std::to_string(end - begin) +
               " bytes, but its dtype and shape need " + std::to_string(bytes));
  out = {name, *type, std::move(dims), begin, end};
  return Status::ok();
}

Status parseMetadata(const json::Value &value,
                     std::map<std::string, std::string> &out) {
  if (!value.is_object())
    return Status::error("__metadata__: expected an object of strings, found " +
                         std::string(json::describe(value)));
  for (const auto &member : value.items()) {
    if (!member.value().is_string())
      return Status::error("__metadata__ '" + member.key() +
                           "': expected a string, found " +
                           std::string(json::describe(member.value())));
    out[member.key()] = member.value().get<std::string>();
  }
  return Status::ok();
}

/// The format requires the buffer to be indexed exactly: in offset order,
/// each tensor starts where the previous one ends and the last ends the
/// buffer.
Status checkCoverage(const std::vector<Entry> &entries, uint64_t bufferSize) {
  std::vector<const Entry *> order;
  for (const Entry &e : entries)
    order.push_back(&e);
  // (begin, end) order puts an empty tensor before a tensor at its offset;
  // header order breaks ties, so the first message is deterministic.
  std::sort(order.begin(), order.end(), [](const Entry *a, const Entry *b) {
    return std::tie(a->begin, a->end, a) < std::tie(b->begin, b->end, b);
  });
  auto range = [](uint64_t begin, uint64_t end) {
    return "[" + std::to_string(begin) + ", " + std::to_string(end) + ")";
  };
  auto hole = [&](uint64_t begin, uint64_t end) {
    return Status::error("bytes " + range(begin, end) +
                         " of the data belong to no tensor (the buffer must "
                         "be fully indexed)");
  };
  uint64_t covered = 0;
  const Entry *previous = nullptr;
  for (const Entry *e : order) {
    if (e->begin < covered)
      return Status::error("tensor '" + e->name + "': bytes " +
                           range(e->begin, e->end) + " overlap tensor '" +
                           previous->name + "' " +
                           range(previous->begin, previous->end));
    if (e->begin > covered)
      return hole(covered, e->begin);
    covered = e->end;
    previous = e;
  }
  if (covered != bufferSize)
    return hole(covered, bufferSize);
  return Status::ok();
}

} // namespace

const Tensor *SafetensorsFile::find(const std::string &name) const {
  for (const auto &[n, t] : tensors)
    if (n == name)
      return &t;
  return nullptr;
}

Tensor *SafetensorsFile::find(const std::string &name) {
  return const_cast<Tensor *>(std::as_const(*this).find(name));
}

StatusOr<SafetensorsFile> readSafetensors(const std::string &path) {
  FileDescriptor fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0)
    return fileError(path, "cannot open: " + reason());
  struct stat info;
  if (::fstat(fd.get(), &info) != 0)
    return fileError(path, "cannot stat: " + reason());
  if (!S_ISREG(info.st_mode))
    return fileError(path, "not a regular file");
  uint64_t fileSize = uint64_t(info.st_size);
  if (fileSize < 8)
    return fileError(path,
                     "not a safetensors file: " + std::to_string(fileSize) +
                         " bytes, shorter than the 8-byte header length");

  unsigned char lengthBytes[8];
  if (!readFully(fd.get(), lengthBytes, 8, 0))
    return fileError(path, "cannot read the header length: " + reason());
  uint64_t headerSize = 0;
  for (int k = 7; k >= 0; --k) // little-endian
    headerSize = (headerSize << 8) | lengthBytes[k];
  if (headerSize > kMaxSafetensorsHeader)
    return fileError(path, "header length " + std::to_string(headerSize) +
                               " is over the 100 MiB limit (corrupt or not a "
                               "safetensors file)");
  if (headerSize > fileSize - 8)
    return fileError(path, "header length " + std::to_string(headerSize) +
                               " exceeds the " + std::to_string(fileSize - 8) +
                               " bytes after the length field");
  std::string header(headerSize, '\0');
  if (!readFully(fd.get(), header.data(), headerSize, 8))
    return fileError(path, "cannot read the header: " + reason());
  StatusOr<json::Value> parsed = json::parse(header);
  if (!parsed)
    return fileError(path, "header: " + parsed.getStatus().message());
  if (!parsed->is_object())
    return fileError(path, "header: expected a JSON object, found " +
                               std::string(json::describe(*parsed)));

  // Validate the whole header before reading any data. Duplicate names never
  // get here: the JSON parser rejects duplicate keys.
  uint64_t dataStart = 8 + headerSize, bufferSize = fileSize - dataStart;
  SafetensorsFile file;
  std::vector<Entry> entries;
  for (const auto &member : parsed->items()) {
    const std::string &name = member.key();
    Status s = name == kMetadataKey
                   ? parseMetadata(member.value(), file.metadata)
                   : parseEntry(name, member.value(), bufferSize,
                                entries.emplace_back());
    if (!s)
      return fileError(path, s.message());
  }
  if (Status s = checkCoverage(entries, bufferSize); !s)
    return fileError(path, s.message());

  file.tensors.reserve(entries.size());
  for (Entry &e : entries) {
    StatusOr<Tensor> tensor = Tensor::allocate(e.dtype, std::move(e.shape));
    if (!tensor)
      return fileError(path, "tensor '" + e.name +
                                 "': " + tensor.getStatus().message());
    if (!readFully(fd.get(), tensor->bytes(), e.end - e.begin,
                   dataStart + e.begin))
      return fileError(path, "tensor '" + e.name +
                                 "': cannot read its data: " + reason());
    file.tensors.emplace_back(std::move(e.name), std::move(*tensor));
  }
  return file;
}

Status writeSafetensors(
    const std::string &path,
    const std::vector<std::pair<std::string, const Tensor *>> &tensors,
    const std::map<std::string, std::string> &metadata) {
  // Check everything first: a bad call leaves no file behind at all.
  std::set<std::string_view> names;
  for (const auto &[name, tensor] : tensors) {
    if (name == kMetadataKey)
      return fileError(path, "'__metadata__' is reserved, not a tensor name");
    if (!isValidUtf8(name))
      return fileError(path, "tensor name '" + name + "' is not valid UTF-8");
    if (!names.insert(name).second)
      return fileError(path, "tensor '" + name + "': duplicate name");
    if (!tensor || !tensor->bytes())
      return fileError(path, "tensor '" + name + "': no data (null or moved)");
  }
  for (const auto &[key, value] : metadata)
    if (!isValidUtf8(key) || !isValidUtf8(value))
      return fileError(path, "__metadata__ '" + key + "': not valid UTF-8");

  json::Value header = json::Value::object();
  if (!metadata.empty())
    header[std::string(kMetadataKey)] = metadata;
  int64_t offset = 0;
  for (const auto &[name, tensor] : tensors) {
    int64_t end = offset + int64_t(tensor->byteSize());
    header[name] = {{"dtype", dtypeName(tensor->dtype())},
                    {"shape", tensor->shape()},
                    {"data_offsets", {offset, end}}};
    offset = end;
  }
  // Compact, in insertion order; every string was checked above, so the
  // replacing error handler never has to replace (nor throw).
  std::string text =
      header.dump(-1, ' ', false, json::Value::error_handler_t::replace);
  text.append((8 - text.size() % 8) % 8, ' '); // the data starts 8-aligned
  unsigned char length[8];
  for (int k = 0; k < 8; ++k) // little-endian
    length[k] = static_cast<unsigned char>(uint64_t(text.size()) >> (8 * k));

  std::string temporary = path + ".tmp";
  FileDescriptor fd(::open(temporary.c_str(),
                           O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (fd.get() < 0)
    return fileError(path, "cannot write " + temporary + ": " + reason());
  bool written = writeFully(fd.get(), length, 8) &&
                 writeFully(fd.get(), text.data(), text.size());
  for (size_t k = 0; written && k < tensors.size(); ++k)
    written = writeFully(fd.get(), tensors[k].second->bytes(),
                         tensors[k].second->byteSize());
  // fsync before the rename: after a crash, `path` is the old file or the
  // whole new one, never a prefix.
  written = written && ::fsync(fd.get()) == 0;
  std::string why = written ? "" : reason();
  if (!fd.close() && written) {
    written = false;
    why = reason();
  }
  if (!written) {
    ::unlink(temporary.c_str());
    return fileError(path, "cannot write " + temporary + ": " + why);
  }
  if (::rename(temporary.c_str(), path.c_str()) != 0) {
    why = reason();
    ::unlink(temporary.c_str());
    return fileError(path, "cannot rename " + temporary + " to it: " + why);
  }
  return Status::ok();
}

} // namespace ponder
