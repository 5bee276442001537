//===- Safetensors.cpp - Reading and writing safetensors files ------------===//

#include "runtime/Safetensors.h"

#include "runtime/Json.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>

namespace ponder {

namespace {

constexpr uint64_t kMaxHeader = 100u << 20; // 100 MiB: anything larger is junk

Status fileError(const std::string &path, const std::string &what) {
  return Status::error(path + ": " + what);
}

} // namespace

const Tensor *SafetensorsFile::find(const std::string &name) const {
  for (const auto &[n, t] : tensors)
    if (n == name)
      return &t;
  return nullptr;
}

StatusOr<SafetensorsFile> readSafetensors(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return fileError(path, std::string("cannot open: ") + std::strerror(errno));
  in.seekg(0, std::ios::end);
  uint64_t fileSize = static_cast<uint64_t>(in.tellg());
  in.seekg(0);
  if (fileSize < 8)
    return fileError(path, "not a safetensors file: shorter than the 8-byte "
                           "header length (" +
                               std::to_string(fileSize) + " bytes)");
  unsigned char lengthBytes[8];
  in.read(reinterpret_cast<char *>(lengthBytes), 8);
  uint64_t headerSize = 0;
  for (int k = 7; k >= 0; --k)
    headerSize = (headerSize << 8) | lengthBytes[k];
  if (headerSize > kMaxHeader || headerSize > fileSize - 8)
    return fileError(path, "header length " + std::to_string(headerSize) +
                               " exceeds the file (" +
                               std::to_string(fileSize) + " bytes)");
  std::string header(headerSize, '\0');
  in.read(header.data(), static_cast<std::streamsize>(headerSize));
  StatusOr<json::Value> parsed = json::parse(header);
  if (!parsed)
    return fileError(path, "header: " + parsed.getStatus().message());
  if (!parsed->isObject())
    return fileError(path, "header: expected a JSON object");
  uint64_t bufferSize = fileSize - 8 - headerSize;

  SafetensorsFile file;
  struct Span {
    uint64_t begin, end;
    std::string name;
  };
  std::vector<Span> spans;
  for (const json::Value::Member &member : parsed->members()) {
    const std::string &name = member.first;
    const json::Value &entry = member.second;
    if (name == "__metadata__") {
      if (!entry.isObject())
        return fileError(path, "__metadata__: expected an object of strings");
      for (const auto &[key, value] : entry.members()) {
        if (!value.isString())
          return fileError(path,
                           "__metadata__." + key + ": expected a string value");
        file.metadata[key] = value.asString();
      }
      continue;
    }
    auto bad = [&](const std::string &what) {
      return fileError(path, "tensor '" + name + "': " + what);
    };
    if (!entry.isObject())
      return bad("expected an object with dtype, shape, data_offsets");
    for (const json::Value::Member &field : entry.members())
      if (field.first != "dtype" && field.first != "shape" &&
          field.first != "data_offsets")
        return bad("unknown field '" + field.first + "'");
    const json::Value *dtype = entry.find("dtype");
    const json::Value *shape = entry.find("shape");
    const json::Value *offsets = entry.find("data_offsets");
    if (!dtype || !shape || !offsets)
      return bad("missing dtype, shape or data_offsets");
    std::optional<DType> type;
    if (dtype->isString())
      type = parseDType(dtype->asString());
    if (!type)
      return bad("unsupported dtype (expected F32, I32 or I64)");
    if (!shape->isArray())
      return bad("shape: expected an array of integers");
    std::vector<int64_t> dims;
    uint64_t numel = 1;
    for (const json::Value &d : shape->items()) {
      if (!d.isInteger() || d.asInteger() < 0)
        return bad("shape: expected non-negative integers");
      dims.push_back(d.asInteger());
      if (d.asInteger() != 0 &&
          numel > (uint64_t(1) << 62) / uint64_t(d.asInteger()))
        return bad("shape: too many elements");
      numel *= uint64_t(d.asInteger());
    }
    if (!offsets->isArray() || offsets->items().size() != 2 ||
        !offsets->items()[0].isInteger() || !offsets->items()[1].isInteger() ||
        offsets->items()[0].asInteger() < 0 ||
        offsets->items()[1].asInteger() < 0)
      return bad("data_offsets: expected [begin, end] non-negative integers");
    uint64_t begin = offsets->items()[0].asInteger();
    uint64_t end = offsets->items()[1].asInteger();
    if (begin > end)
      return bad("data_offsets: begin > end");
    if (end > bufferSize)
      return bad("data_offsets: end " + std::to_string(end) +
                 " is past the data (" + std::to_string(bufferSize) +
                 " bytes)");
    if (end - begin != numel * dtypeSize(*type))
      return bad("size " + std::to_string(end - begin) +
                 " bytes does not match shape and dtype (" +
                 std::to_string(numel * dtypeSize(*type)) + " bytes)");
    if (file.find(name))
      return bad("duplicate name");
    Tensor tensor(*type, dims);
    in.seekg(static_cast<std::streamoff>(8 + headerSize + begin));
    in.read(reinterpret_cast<char *>(tensor.bytes()),
            static_cast<std::streamsize>(end - begin));
    if (!in)
      return bad("cannot read its data");
    spans.push_back({begin, end, name});
    file.tensors.emplace_back(name, std::move(tensor));
  }
  // The buffer must be covered exactly: no overlaps, no holes.
  std::sort(spans.begin(), spans.end(),
            [](const Span &a, const Span &b) { return a.begin < b.begin; });
  uint64_t covered = 0;
  for (const Span &s : spans) {
    if (s.begin < covered)
      return fileError(path,
                       "tensor '" + s.name + "': data overlaps another tensor");
    if (s.begin > covered)
      return fileError(path, "bytes " + std::to_string(covered) + ".." +
                                 std::to_string(s.begin) +
                                 " of the data belong to no tensor");
    covered = s.end;
  }
  if (covered != bufferSize)
    return fileError(path, "bytes " + std::to_string(covered) + ".." +
                               std::to_string(bufferSize) +
                               " of the data belong to no tensor");
  return file;
}

Status writeSafetensors(
    const std::string &path,
    const std::vector<std::pair<std::string, const Tensor *>> &tensors,
    const std::map<std::string, std::string> &metadata) {
  std::vector<json::Value::Member> entries;
  if (!metadata.empty()) {
    std::vector<json::Value::Member> meta;
    for (const auto &[k, v] : metadata)
      meta.emplace_back(k, json::Value::string(v));
    entries.emplace_back("__metadata__", json::Value::object(std::move(meta)));
  }
  uint64_t offset = 0;
  for (const auto &[name, tensor] : tensors) {
    std::vector<json::Value> shape;
    for (int64_t d : tensor->shape())
      shape.push_back(json::Value::integer(d));
    uint64_t end = offset + tensor->byteSize();
    entries.emplace_back(
        name, json::Value::object(
                  {{"dtype", json::Value::string(
                                 std::string(dtypeName(tensor->dtype())))},
                   {"shape", json::Value::array(std::move(shape))},
                   {"data_offsets",
                    json::Value::array({json::Value::integer(offset),
                                        json::Value::integer(end)})}}));
    offset = end;
  }
  std::string header = json::write(json::Value::object(std::move(entries)));
  header.append((8 - header.size() % 8) % 8, ' '); // align the data to 8

  std::string temporary = path + ".tmp";
  {
    std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
    if (!out)
      return fileError(path,
                       std::string("cannot write: ") + std::strerror(errno));
    unsigned char length[8];
    for (int k = 0; k < 8; ++k)
      length[k] =
          static_cast<unsigned char>(uint64_t(header.size()) >> (8 * k));
    out.write(reinterpret_cast<const char *>(length), 8);
    out.write(header.data(), static_cast<std::streamsize>(header.size()));
    for (const auto &[name, tensor] : tensors)
      out.write(reinterpret_cast<const char *>(tensor->bytes()),
                static_cast<std::streamsize>(tensor->byteSize()));
    if (!out.flush()) {
      std::remove(temporary.c_str());
      return fileError(path, "write failed");
    }
  }
  if (std::rename(temporary.c_str(), path.c_str()) != 0) {
    std::string why = std::strerror(errno);
    std::remove(temporary.c_str());
    return fileError(path, "cannot write: " + why);
  }
  return Status::ok();
}

} // namespace ponder
