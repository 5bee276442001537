//===- TempDirTest.h - A fresh directory per test ---------------*- C++ -*-===//
//
// A GoogleTest fixture that gives each test its own temporary directory
// (removed afterwards), so that tests writing files can run in parallel.
//
//===----------------------------------------------------------------------===//

#ifndef PONDER_UNITTESTS_TEMPDIRTEST_H
#define PONDER_UNITTESTS_TEMPDIRTEST_H

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <string>

namespace ponder {

class TempDirTest : public ::testing::Test {
protected:
  void SetUp() override {
    std::string pattern = ::testing::TempDir() + "/ponder-test-XXXXXX";
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir = pattern;
  }
  void TearDown() override {
    std::error_code ignored;
    std::filesystem::remove_all(dir, ignored);
  }
  std::string path(const std::string &name) const { return dir + "/" + name; }

  std::string dir;
};

} // namespace ponder

#endif // PONDER_UNITTESTS_TEMPDIRTEST_H
