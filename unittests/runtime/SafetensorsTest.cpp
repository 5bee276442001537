//===- SafetensorsTest.cpp - safetensors reading and writing --------------===//

#include "runtime/Safetensors.h"

#include <gtest/gtest.h>

#include <cstring>
#include <fstream>
#include <sstream>

using namespace ponder;

namespace {

std::string tempPath(const std::string &name) {
  return ::testing::TempDir() + "/" + name;
}

/// A file with header `json` followed by `dataBytes` bytes.
std::string craft(const std::string &name, const std::string &json,
                  size_t dataBytes, int64_t headerLength = -1) {
  std::string path = tempPath(name);
  std::ofstream out(path, std::ios::binary);
  uint64_t n = headerLength < 0 ? json.size() : uint64_t(headerLength);
  for (int k = 0; k < 8; ++k)
    out.put(char((n >> (8 * k)) & 0xff));
  out << json << std::string(dataBytes, '\0');
  return path;
}

std::string errorOf(const std::string &path) {
  auto file = readSafetensors(path);
  EXPECT_FALSE(file);
  return file ? "" : file.getStatus().message();
}

TEST(Safetensors, RoundTrip) {
  Tensor f(DType::F32, {2, 3}), i(DType::I32, {4}), l(DType::I64, {});
  for (int k = 0; k < 6; ++k)
    f.data<float>()[k] = 0.5f * k;
  i.data<int32_t>()[3] = -7;
  l.data<int64_t>()[0] = int64_t(1) << 40;
  std::string toml = "[model]\nname = \"q\\\"uote\"\n";
  std::string path = tempPath("round_trip.safetensors");
  ASSERT_TRUE(writeSafetensors(path, {{"w", &f}, {"ids", &i}, {"step", &l}},
                               {{"model", toml}, {"step", "12"}})
                  .isOk());
  auto file = readSafetensors(path);
  ASSERT_TRUE(file) << file.getStatus().message();
  ASSERT_EQ(file->tensors.size(), 3u);
  EXPECT_EQ(file->tensors[0].first, "w");
  EXPECT_EQ(file->metadata.at("model"), toml);
  const Tensor *w = file->find("w");
  ASSERT_TRUE(w);
  EXPECT_EQ(w->shape(), (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(w->data<float>()[5], 2.5f);
  EXPECT_EQ(file->find("ids")->data<int32_t>()[3], -7);
  EXPECT_EQ(file->find("step")->data<int64_t>()[0], int64_t(1) << 40);
  EXPECT_EQ(file->find("nope"), nullptr);
}

TEST(Safetensors, ByteExactHeader) {
  Tensor t(DType::F32, {1});
  std::string path = tempPath("exact.safetensors");
  ASSERT_TRUE(writeSafetensors(path, {{"a", &t}}, {}).isOk());
  std::ifstream in(path, std::ios::binary);
  std::stringstream all;
  all << in.rdbuf();
  std::string bytes = all.str();
  std::string header =
      R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})";
  header.append((8 - header.size() % 8) % 8, ' ');
  ASSERT_EQ(bytes.size(), 8 + header.size() + 4);
  EXPECT_EQ(uint8_t(bytes[0]), header.size());
  EXPECT_EQ(bytes.substr(8, header.size()), header);
}

TEST(Safetensors, EachBadFileGetsOneClearError) {
  std::string entry =
      R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";
  EXPECT_EQ(errorOf(tempPath("missing.safetensors")),
            tempPath("missing.safetensors") +
                ": cannot open: No such file or directory");
  {
    std::string path = tempPath("short.safetensors");
    std::ofstream(path) << "abc";
    EXPECT_NE(errorOf(path).find("shorter than the 8-byte header length"),
              std::string::npos);
  }
  EXPECT_NE(errorOf(craft("long.safetensors", entry, 8, 1 << 20))
                .find("header length 1048576 exceeds the file"),
            std::string::npos);
  EXPECT_NE(errorOf(craft("badjson.safetensors", "{\"a\":", 0))
                .find("header: JSON at byte"),
            std::string::npos);
  EXPECT_NE(errorOf(craft("truncated.safetensors", entry, 4))
                .find("tensor 'a': data_offsets: end 8 is past the data (4 "
                      "bytes)"),
            std::string::npos);
  EXPECT_NE(
      errorOf(craft("dtype.safetensors",
                    R"({"a":{"dtype":"F16","shape":[2],"data_offsets":[0,4]}})",
                    4))
          .find("tensor 'a': unsupported dtype"),
      std::string::npos);
  EXPECT_NE(
      errorOf(craft("size.safetensors",
                    R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})",
                    8))
          .find("tensor 'a': size 8 bytes does not match shape and dtype (12 "
                "bytes)"),
      std::string::npos);
  EXPECT_NE(
      errorOf(craft("overlap.safetensors",
                    R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                    R"("b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})",
                    8))
          .find("data overlaps another tensor"),
      std::string::npos);
  EXPECT_NE(
      errorOf(craft("hole.safetensors",
                    R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})",
                    8))
          .find("bytes 0..4 of the data belong to no tensor"),
      std::string::npos);
  EXPECT_NE(
      errorOf(craft("meta.safetensors", R"({"__metadata__":{"step":3}})", 0))
          .find("__metadata__.step: expected a string value"),
      std::string::npos);
  EXPECT_NE(
      errorOf(
          craft("negative.safetensors",
                R"({"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}})",
                4))
          .find("shape: expected non-negative integers"),
      std::string::npos);
}

TEST(Safetensors, FailedWriteLeavesNothing) {
  Tensor t(DType::F32, {1});
  std::string path = tempPath("no_such_dir/x.safetensors");
  Status s = writeSafetensors(path, {{"a", &t}}, {});
  EXPECT_FALSE(s.isOk());
  EXPECT_NE(s.message().find("cannot write"), std::string::npos);
  std::ifstream in(path);
  EXPECT_FALSE(in.good());
}

} // namespace
