//===- SafetensorsTest.cpp - safetensors reading and writing --------------===//
//
// Bad files are crafted byte by byte, one per class of error, and each must
// give exactly its one-line message.
//
//===----------------------------------------------------------------------===//

#include "runtime/Safetensors.h"

#include "unittests/TempDirTest.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>

#include <unistd.h>

using namespace ponder;

namespace {

std::string lengthPrefix(uint64_t n) {
  std::string bytes;
  for (int k = 0; k < 8; ++k)
    bytes += char((n >> (8 * k)) & 0xff);
  return bytes;
}

void writeBytes(const std::string &path, const std::string &bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << bytes;
  ASSERT_TRUE(out.good()) << path;
}

std::string readBytes(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream all;
  all << in.rdbuf();
  return all.str();
}

bool exists(const std::string &path) {
  return ::access(path.c_str(), F_OK) == 0;
}

/// Each test gets a fresh directory, so tests can run in parallel.
class SafetensorsTest : public TempDirTest {
protected:
  /// The error of reading `file`, which must fail.
  static std::string errorOf(const std::string &file) {
    auto read = readSafetensors(file);
    EXPECT_FALSE(read) << file << " was accepted";
    return read ? "" : read.getStatus().message();
  }
};

TEST_F(SafetensorsTest, RoundTripsEveryDTypeScalarsAndMetadata) {
  Tensor f(DType::F32, {2, 3}), i(DType::I32, {4}), l(DType::I64, {}),
      e(DType::F32, {0, 3});
  for (int k = 0; k < 6; ++k)
    f.data<float>()[k] = 0.5f * k - 1;
  i.data<int32_t>()[3] = -7;
  l.data<int64_t>()[0] = (int64_t(1) << 40) + 3;
  // The model TOML (MODEL.md §8) with newlines, quotes, a backslash, a tab.
  std::string toml = "[model]\nname = \"q\\\"uote\"\t# caf\xc3\xa9\n"
                     "d_model = 128\n";
  std::string file = path("round_trip.safetensors");
  Status written = writeSafetensors(
      file, {{"w", &f}, {"ids", &i}, {"step", &l}, {"empty", &e}},
      {{"model", toml}, {"step", "12"}, {"", ""}});
  ASSERT_TRUE(written) << written.message();
  EXPECT_FALSE(exists(file + ".tmp"));

  auto read = readSafetensors(file);
  ASSERT_TRUE(read) << read.getStatus().message();
  ASSERT_EQ(read->tensors.size(), 4u);
  EXPECT_EQ(read->tensors[0].first, "w");
  EXPECT_EQ(read->tensors[1].first, "ids");
  EXPECT_EQ(read->tensors[2].first, "step");
  EXPECT_EQ(read->tensors[3].first, "empty");
  EXPECT_EQ(read->metadata, (std::map<std::string, std::string>{
                                {"model", toml}, {"step", "12"}, {"", ""}}));
  for (const auto &[name, original] :
       {std::pair<std::string, const Tensor *>{"w", &f},
        {"ids", &i},
        {"step", &l},
        {"empty", &e}}) {
    const Tensor *t = read->find(name);
    ASSERT_TRUE(t) << name;
    EXPECT_EQ(t->dtype(), original->dtype()) << name;
    EXPECT_EQ(t->shape(), original->shape()) << name;
    ASSERT_EQ(t->byteSize(), original->byteSize()) << name;
    EXPECT_EQ(std::memcmp(t->bytes(), original->bytes(), t->byteSize()), 0)
        << name;
    EXPECT_EQ(reinterpret_cast<uintptr_t>(t->bytes()) % kTensorAlignment, 0u);
  }
  EXPECT_EQ(read->find("step")->data<int64_t>()[0], (int64_t(1) << 40) + 3);
  EXPECT_EQ(read->find("nope"), nullptr);
  // The mutable lookup gives the same tensor.
  EXPECT_EQ(read->find("w"), std::as_const(*read).find("w"));
}

TEST_F(SafetensorsTest, EmptyMetadataIsLeftOut) {
  Tensor t(DType::I32, {2});
  std::string file = path("no_metadata.safetensors");
  ASSERT_TRUE(writeSafetensors(file, {{"t", &t}}, {}));
  EXPECT_EQ(readBytes(file).find("__metadata__"), std::string::npos);
  auto read = readSafetensors(file);
  ASSERT_TRUE(read) << read.getStatus().message();
  EXPECT_TRUE(read->metadata.empty());
  ASSERT_TRUE(writeSafetensors(file, {}, {}));
  read = readSafetensors(file);
  ASSERT_TRUE(read) << read.getStatus().message();
  EXPECT_TRUE(read->tensors.empty());
}

TEST_F(SafetensorsTest, ByteExactFile) {
  Tensor a(DType::F32, {2}), n(DType::I64, {});
  a.data<float>()[0] = 1.0f;
  a.data<float>()[1] = -2.0f;
  n.data<int64_t>()[0] = 7;
  std::string file = path("exact.safetensors");
  ASSERT_TRUE(writeSafetensors(file, {{"a", &a}, {"n", &n}}, {{"step", "3"}}));
  // 135 bytes of JSON and one space of padding: 136 = 0x88.
  std::string expected =
      std::string("\x88\0\0\0\0\0\0\0", 8) +
      R"({"__metadata__":{"step":"3"},)"
      R"("a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
      R"("n":{"dtype":"I64","shape":[],"data_offsets":[8,16]}} )" +
      std::string("\x00\x00\x80\x3f\x00\x00\x00\xc0", 8) +
      std::string("\x07\0\0\0\0\0\0\0", 8);
  EXPECT_EQ(readBytes(file), expected);
}

TEST_F(SafetensorsTest, HeaderIsPaddedToAMultipleOf8) {
  Tensor t(DType::F32, {1});
  for (int length = 1; length <= 16; ++length) {
    std::string file = path("pad.safetensors");
    ASSERT_TRUE(writeSafetensors(file, {{std::string(length, 'x'), &t}}, {}));
    std::string bytes = readBytes(file);
    uint64_t header = 0;
    for (int k = 7; k >= 0; --k)
      header = (header << 8) | uint8_t(bytes[k]);
    EXPECT_EQ(header % 8, 0u) << length;
    EXPECT_EQ(bytes.size(), 8 + header + 4) << length;
    EXPECT_NE(bytes[8 + header - 1], '\0') << length;
    EXPECT_TRUE(readSafetensors(file)) << length;
  }
}

TEST_F(SafetensorsTest, ReadsAnyHeaderOrderAndEmptyTensors) {
  // Header order differs from buffer order; empty tensors share offsets;
  // trailing spaces pad the header, as writers do.
  std::string header =
      R"({"a":{"dtype":"I32","shape":[1],"data_offsets":[4,8]},)"
      R"("z":{"dtype":"F32","shape":[0],"data_offsets":[0,0]},)"
      R"("b":{"dtype":"I32","shape":[1],"data_offsets":[0,4]},)"
      R"("y":{"dtype":"I64","shape":[2,0],"data_offsets":[8,8]}}   )";
  std::string file = path("order.safetensors");
  writeBytes(file, lengthPrefix(header.size()) + header +
                       std::string("\x02\0\0\0\x01\0\0\0", 8));
  auto read = readSafetensors(file);
  ASSERT_TRUE(read) << read.getStatus().message();
  ASSERT_EQ(read->tensors.size(), 4u);
  EXPECT_EQ(read->tensors[0].first, "a");
  EXPECT_EQ(read->tensors[2].first, "b");
  EXPECT_EQ(read->find("a")->data<int32_t>()[0], 1);
  EXPECT_EQ(read->find("b")->data<int32_t>()[0], 2);
  EXPECT_EQ(read->find("y")->shape(), (std::vector<int64_t>{2, 0}));
}

TEST_F(SafetensorsTest, MissingFile) {
  std::string file = path("missing.safetensors");
  EXPECT_EQ(errorOf(file), file + ": cannot open: No such file or directory");
}

TEST_F(SafetensorsTest, NotARegularFile) {
  EXPECT_EQ(errorOf(dir), dir + ": not a regular file");
}

TEST_F(SafetensorsTest, FileShorterThan8Bytes) {
  std::string file = path("short.safetensors");
  writeBytes(file, std::string("\x02\0\0\0\0\0\0", 7));
  EXPECT_EQ(errorOf(file), file + ": not a safetensors file: 7 bytes, "
                                  "shorter than the 8-byte header length");
  writeBytes(file, "");
  EXPECT_EQ(errorOf(file), file + ": not a safetensors file: 0 bytes, "
                                  "shorter than the 8-byte header length");
}

/// A file of a header (with a length prefix, the true one by default) and
/// `dataBytes` zero bytes, and the message it must give after "PATH: ".
struct BadFile {
  const char *name;
  std::string header;
  size_t dataBytes;
  std::optional<uint64_t> headerLength;
  std::string error;
};

/// Failures name the case, not its bytes.
void PrintTo(const BadFile &bad, std::ostream *os) { *os << bad.name; }

class BadSafetensorsTest : public SafetensorsTest,
                           public ::testing::WithParamInterface<BadFile> {};

TEST_P(BadSafetensorsTest, GivesOneClearError) {
  const BadFile &bad = GetParam();
  std::string file = path(std::string(bad.name) + ".safetensors");
  writeBytes(file, lengthPrefix(bad.headerLength.value_or(bad.header.size())) +
                       bad.header + std::string(bad.dataBytes, '\0'));
  EXPECT_EQ(errorOf(file), file + ": " + bad.error);
}

// Shorthands for one tensor entry "a" with the given dtype, shape, offsets.
std::string entry(const std::string &name, const std::string &dtype,
                  const std::string &shape, const std::string &offsets) {
  return "\"" + name + "\":{\"dtype\":" + dtype + ",\"shape\":" + shape +
         ",\"data_offsets\":" + offsets + "}";
}
std::string only(const std::string &e) { return "{" + e + "}"; }

const char *kHole = " of the data belong to no tensor (the buffer must be "
                    "fully indexed)";
const char *kOffsets = "tensor 'a': data_offsets: expected [begin, end], two "
                       "non-negative integers";

INSTANTIATE_TEST_SUITE_P(
    EveryErrorClass, BadSafetensorsTest,
    ::testing::Values(
        BadFile{"HeaderLengthPastTheFile", "{}", 0, 1 << 20,
                "header length 1048576 exceeds the 2 bytes after the length "
                "field"},
        BadFile{"HeaderLengthAbsurd", "{}", 0, uint64_t(1) << 40,
                "header length 1099511627776 is over the 100 MiB limit "
                "(corrupt or not a safetensors file)"},
        BadFile{"HeaderLengthAllOnes", "{}", 0, ~uint64_t(0),
                "header length 18446744073709551615 is over the 100 MiB limit "
                "(corrupt or not a safetensors file)"},
        BadFile{"EmptyHeader", "", 0, std::nullopt,
                "header: JSON at byte 0: expected a value, found the end of "
                "the text"},
        BadFile{"HeaderNotJson", "{\"a\":", 0, std::nullopt,
                "header: JSON at byte 5: expected a value, found the end of "
                "the text"},
        BadFile{"HeaderWithTrailingGarbage", "{}x", 0, std::nullopt,
                "header: JSON at byte 2: expected the end of the text after "
                "the value, found 'x'"},
        BadFile{"HeaderNotUtf8", "{\"\xff\":1}", 0, std::nullopt,
                "header: JSON at byte 2: invalid UTF-8 in a string"},
        BadFile{"HeaderNotAnObject", "[1]", 0, std::nullopt,
                "header: expected a JSON object, found an array"},
        BadFile{"EntryNotAnObject", R"({"a":[0,4]})", 4, std::nullopt,
                "tensor 'a': expected an object with dtype, shape and "
                "data_offsets, found an array"},
        BadFile{"MissingField", R"({"a":{"dtype":"F32","shape":[1]}})", 4,
                std::nullopt, "tensor 'a': missing field 'data_offsets'"},
        BadFile{"UnknownField",
                R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4],)"
                R"("extra":1}})",
                4, std::nullopt,
                "tensor 'a': unknown field 'extra' (expected dtype, shape and "
                "data_offsets)"},
        // fuzz/: a newline in a quoted name stays on the error's one line.
        BadFile{"ControlCharacterInAField",
                R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4],)"
                R"("ex\ntra":1}})",
                4, std::nullopt,
                "tensor 'a': unknown field 'ex\\x0atra' (expected dtype, "
                "shape and data_offsets)"},
        BadFile{"DTypeNotAString", only(entry("a", "32", "[1]", "[0,4]")), 4,
                std::nullopt,
                "tensor 'a': dtype: expected a string, found an integer"},
        BadFile{"UnknownDType", only(entry("a", "\"F16\"", "[2]", "[0,4]")), 4,
                std::nullopt,
                "tensor 'a': unsupported dtype 'F16' (expected F32, I32 or "
                "I64)"},
        BadFile{"ShapeNotAnArray", only(entry("a", "\"F32\"", "1", "[0,4]")), 4,
                std::nullopt,
                "tensor 'a': shape: expected an array of integers, found an "
                "integer"},
        BadFile{"ShapeNotIntegers",
                only(entry("a", "\"F32\"", "[1.0]", "[0,4]")), 4, std::nullopt,
                "tensor 'a': shape: dimension 0: expected an integer, found a "
                "number"},
        BadFile{"NegativeDim", only(entry("a", "\"F32\"", "[2,-1]", "[0,4]")),
                4, std::nullopt,
                "tensor 'a': shape: dimension 1 is negative (-1)"},
        BadFile{"TooManyElements",
                only(entry("a", "\"F32\"", "[4294967296,4294967296]", "[0,4]")),
                4, std::nullopt, "tensor 'a': shape: too many elements"},
        BadFile{"OffsetsNotAPair", only(entry("a", "\"F32\"", "[1]", "[0]")), 4,
                std::nullopt, kOffsets},
        BadFile{"OffsetsNotIntegers",
                only(entry("a", "\"F32\"", "[1]", "[0,\"4\"]")), 4,
                std::nullopt, kOffsets},
        BadFile{"OffsetsNotAnArray", only(entry("a", "\"F32\"", "[1]", "{}")),
                4, std::nullopt, kOffsets},
        BadFile{"OffsetsNegative", only(entry("a", "\"F32\"", "[1]", "[-4,0]")),
                4, std::nullopt, kOffsets},
        BadFile{"OffsetsThree", only(entry("a", "\"F32\"", "[1]", "[0,4,4]")),
                4, std::nullopt, kOffsets},
        BadFile{"BeginAfterEnd", only(entry("a", "\"F32\"", "[1]", "[8,4]")), 8,
                std::nullopt, "tensor 'a': data_offsets: begin 8 > end 4"},
        BadFile{"EndPastTheData", only(entry("a", "\"F32\"", "[2]", "[0,8]")),
                4, std::nullopt,
                "tensor 'a': data_offsets: end 8 is past the end of the data "
                "(4 bytes)"},
        BadFile{"SizeNotNumelTimesElementSize",
                only(entry("a", "\"F32\"", "[3]", "[0,8]")), 8, std::nullopt,
                "tensor 'a': data_offsets span 8 bytes, but its dtype and "
                "shape need 12"},
        BadFile{"SizeOfI64", only(entry("a", "\"I64\"", "[]", "[0,4]")), 4,
                std::nullopt,
                "tensor 'a': data_offsets span 4 bytes, but its dtype and "
                "shape need 8"},
        BadFile{"OverlappingTensors",
                "{" + entry("a", "\"F32\"", "[2]", "[0,8]") + "," +
                    entry("b", "\"F32\"", "[1]", "[4,8]") + "}",
                8, std::nullopt,
                "tensor 'b': bytes [4, 8) overlap tensor 'a' [0, 8)"},
        BadFile{"DuplicateNames",
                "{" + entry("a", "\"F32\"", "[1]", "[0,4]") + "," +
                    entry("a", "\"F32\"", "[1]", "[4,8]") + "}",
                8, std::nullopt,
                "header: JSON at byte 54: duplicate key \"a\""},
        BadFile{"HoleAtTheStart", only(entry("a", "\"F32\"", "[1]", "[4,8]")),
                8, std::nullopt, std::string("bytes [0, 4)") + kHole},
        BadFile{"HoleBetweenTensors",
                "{" + entry("a", "\"F32\"", "[1]", "[0,4]") + "," +
                    entry("b", "\"F32\"", "[1]", "[8,12]") + "}",
                12, std::nullopt, std::string("bytes [4, 8)") + kHole},
        BadFile{"HoleAtTheEnd", only(entry("a", "\"F32\"", "[1]", "[0,4]")), 8,
                std::nullopt, std::string("bytes [4, 8)") + kHole},
        BadFile{"DataWithoutTensors", "{}", 4, std::nullopt,
                std::string("bytes [0, 4)") + kHole},
        BadFile{"MetadataNotAnObject", R"({"__metadata__":"x"})", 0,
                std::nullopt,
                "__metadata__: expected an object of strings, found a string"},
        BadFile{"MetadataValueNotAString", R"({"__metadata__":{"step":3}})", 0,
                std::nullopt,
                "__metadata__ 'step': expected a string, found an integer"}),
    [](const ::testing::TestParamInfo<BadFile> &info) {
      return std::string(info.param.name);
    });

TEST_F(SafetensorsTest, OverwriteIsAtomicAndLeavesNoTemporary) {
  Tensor a(DType::F32, {1}), b(DType::I32, {3});
  std::string file = path("model.safetensors");
  ASSERT_TRUE(writeSafetensors(file, {{"a", &a}}, {{"step", "1"}}));
  ASSERT_TRUE(writeSafetensors(file, {{"b", &b}}, {{"step", "2"}}));
  EXPECT_FALSE(exists(file + ".tmp"));
  auto read = readSafetensors(file);
  ASSERT_TRUE(read) << read.getStatus().message();
  EXPECT_EQ(read->metadata.at("step"), "2");
  EXPECT_EQ(read->find("a"), nullptr);
  EXPECT_NE(read->find("b"), nullptr);
}

TEST_F(SafetensorsTest, FailedOpenLeavesNothing) {
  Tensor t(DType::F32, {1});
  std::string file = path("no_such_dir/x.safetensors");
  Status s = writeSafetensors(file, {{"a", &t}}, {});
  EXPECT_EQ(s.message(), file + ": cannot write " + file +
                             ".tmp: No such file or directory");
  EXPECT_FALSE(exists(file));
}

TEST_F(SafetensorsTest, FailedWriteKeepsTheOldFile) {
  Tensor t(DType::F32, {1});
  std::string file = path("kept.safetensors");
  writeBytes(file, "old");
  // A directory where the temporary would go makes the write fail.
  ASSERT_EQ(::mkdir((file + ".tmp").c_str(), 0755), 0);
  Status s = writeSafetensors(file, {{"a", &t}}, {});
  EXPECT_EQ(s.message(),
            file + ": cannot write " + file + ".tmp: Is a directory");
  EXPECT_EQ(readBytes(file), "old");
}

TEST_F(SafetensorsTest, FailedRenameRemovesTheTemporary) {
  Tensor t(DType::F32, {1});
  std::string file = path("taken");
  ASSERT_EQ(::mkdir(file.c_str(), 0755), 0);
  writeBytes(file + "/inside", "x"); // a non-empty directory cannot be replaced
  Status s = writeSafetensors(file, {{"a", &t}}, {});
  EXPECT_EQ(s.message(),
            file + ": cannot rename " + file + ".tmp to it: Is a directory");
  EXPECT_FALSE(exists(file + ".tmp"));
}

TEST_F(SafetensorsTest, RejectsBadCallsWithoutWriting) {
  Tensor t(DType::F32, {1}), moved(DType::F32, {1});
  Tensor taken = std::move(moved);
  std::string file = path("bad_call.safetensors");
  auto check =
      [&](const std::vector<std::pair<std::string, const Tensor *>> &tensors,
          const std::map<std::string, std::string> &metadata,
          const std::string &error) {
        Status s = writeSafetensors(file, tensors, metadata);
        EXPECT_EQ(s.message(), file + ": " + error);
        EXPECT_FALSE(exists(file));
        EXPECT_FALSE(exists(file + ".tmp"));
      };
  check({{"a", &t}, {"a", &t}}, {}, "tensor 'a': duplicate name");
  check({{"__metadata__", &t}}, {},
        "'__metadata__' is reserved, not a tensor name");
  check({{"a", nullptr}}, {}, "tensor 'a': no data (null or moved)");
  check({{"a", &moved}}, {}, "tensor 'a': no data (null or moved)");
  check({{"\xff", &t}}, {}, "tensor name '\xff' is not valid UTF-8");
  check({{"a", &t}}, {{"model", "\xc3"}},
        "__metadata__ 'model': not valid UTF-8");
}

} // namespace
