//===- PonderTextTest.cpp - Text corpora through the ponder command -------===//
//
// Issue 20 end to end: a tokenizer from `ponder tokenizer train`, a model
// that names it, `ponder train --data` whose training and validation loss
// fall, `ponder eval --data` (perplexity, bits per byte, calibration, the
// depth plot), `ponder generate --prompt` through the tokenizer, a killed
// run that resumes to the same weights, and bad text input as one line.
//
//===----------------------------------------------------------------------===//

#include "runtime/Safetensors.h"
#include "unittests/EnglishLike.h"
#include "unittests/TempDirTest.h"
#include "unittests/tools/Csv.h"

#include <gtest/gtest.h>

#include <chrono>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

using namespace ponder;

namespace {

std::string modelText(int64_t verbalVocab, const std::string &tokenizer) {
  return "[model]\nverbal_vocab = " + std::to_string(verbalVocab) +
         "\nd_model = 32\nn_heads = 2\nd_ff = 64\nmax_seq = 24\n\n"
         "[depth]\nhalting = \"act\"\nmax_steps = 3\n\n[data]\ntokenizer = \"" +
         tokenizer + "\"\n";
}

class PonderText : public TempDirTest {
protected:
  void SetUp() override {
    TempDirTest::SetUp();
    setenv("PONDER_CACHE_DIR",
           (::testing::TempDir() + "/ponder_text_cache").c_str(), 1);
    std::ofstream(path("corpus.txt")) << englishLike(2000);
    ASSERT_EQ(ponder("tokenizer train " + path("corpus.txt") +
                     " --vocab 300 -o " + path("tok.model")),
              0)
        << err();
    EXPECT_EQ(out().rfind("vocabulary 300:", 0), 0u) << out();
    std::ofstream(path("m.toml")) << modelText(300, "tok.model");
  }
  int ponder(const std::string &args) {
    return std::system((std::string(PONDER_PATH) + " " + args + " > " +
                        path("out.txt") + " 2> " + path("err.txt"))
                           .c_str());
  }
  std::string out() const { return slurp(path("out.txt")); }
  std::string err() const { return slurp(path("err.txt")); }
  std::string train(const std::string &flags) const {
    return "train " + path("m.toml") + " --data " + path("corpus.txt") +
           " --batch 16 --lr 0.01 --seed 2 " + flags;
  }
};

TEST_F(PonderText, TrainEvaluateAndGenerate) {
  ASSERT_EQ(ponder(train("--steps 60 --eval-every 20 --out " +
                         path("run.safetensors"))),
            0)
      << err();
  EXPECT_NE(out().find("validation loss"), std::string::npos) << out();
  std::vector<std::string> loss = csvColumn(path("run.csv"), "loss");
  std::vector<std::string> held = csvColumn(path("run.csv"), "heldout_loss");
  ASSERT_EQ(loss.size(), 60u);
  EXPECT_LT(std::stod(loss.back()), std::stod(loss.front()) - 1.0);
  ASSERT_NE(held[19], "");
  ASSERT_NE(held[59], "");
  EXPECT_LT(std::stod(held[59]), std::stod(held[19]));
  EXPECT_EQ(held[10], ""); // between evaluations

  ASSERT_EQ(ponder("eval --weights " + path("run.safetensors") + " --plot " +
                   path("depth.png") + " --csv " + path("tokens.csv")),
            0)
      << err();
  std::string report = out();
  EXPECT_NE(report.find("validation perplexity"), std::string::npos) << report;
  EXPECT_NE(report.find("bits per byte"), std::string::npos);
  EXPECT_NE(report.find("expected calibration error"), std::string::npos);
  EXPECT_NE(report.find("(its last 10%)"), std::string::npos);
  EXPECT_NE(report.find("deepest tokens"), std::string::npos);
  EXPECT_GT(std::filesystem::file_size(path("depth.png")), 1000u);
  EXPECT_EQ(slurp(path("tokens.csv")).rfind("id,token,count,depth,nll\n", 0),
            0u);

  ASSERT_EQ(ponder("generate --weights " + path("run.safetensors") +
                   " --prompt 'The cat' --max-new 12 --seed 1 "
                   "--temperature 0.5"),
            0)
      << err();
  std::string text = out();
  EXPECT_GT(text.size(), 2u);
  EXPECT_EQ(text.find("\xef\xbf\xbd"), std::string::npos) << text;
}

TEST_F(PonderText, KilledRunResumesToTheSameWeights) {
  std::string common =
      train("--steps 40 --save-every 5 --eval-every 20 --out ");
  ASSERT_EQ(ponder(common + path("full.safetensors")), 0) << err();
  // Killed (SIGKILL) once its first checkpoint exists, then resumed.
  std::string partial = path("cut.safetensors");
  pid_t pid = fork();
  if (pid == 0) {
    execl("/bin/sh", "sh", "-c",
          ("exec " + std::string(PONDER_PATH) + " " + common + partial +
           " > /dev/null 2>&1")
              .c_str(),
          static_cast<char *>(nullptr));
    _exit(127);
  }
  for (int i = 0; i < 4000 && !std::filesystem::exists(partial); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  kill(pid, SIGKILL);
  waitpid(pid, nullptr, 0);
  ASSERT_EQ(ponder("train --resume " + partial), 0) << err();
  auto a = readSafetensors(path("full.safetensors"));
  auto b = readSafetensors(partial);
  ASSERT_TRUE(a && b);
  ASSERT_EQ(a->tensors.size(), b->tensors.size());
  for (const auto &[name, t] : a->tensors) {
    const Tensor *u = b->find(name);
    ASSERT_NE(u, nullptr) << name;
    EXPECT_EQ(std::memcmp(u->bytes(), t.bytes(), t.byteSize()), 0) << name;
  }
  // (A resume of a finished run would have failed: this one was cut.)
  EXPECT_EQ(a->metadata.at("tokenizer"),
            std::filesystem::path(path("tok.model")).lexically_normal());
  // The resumed run's corpus is the checkpoint's.
  std::ofstream(path("other.txt")) << englishLike(300);
  EXPECT_NE(ponder("train --resume " + partial + " --steps 50 --data " +
                   path("other.txt")),
            0);
  EXPECT_NE(err().find("differs from the resumed run's"), std::string::npos)
      << err();
}

struct BadText {
  const char *name;
  std::string args; // after the binary; files are in the test's directory
  std::string error;
};

TEST_F(PonderText, BadInputIsOneLine) {
  std::ofstream(path("empty.txt")).close();
  std::ofstream(path("bad.txt")) << "fine\n\xff\xfe not UTF-8\n";
  std::ofstream(path("junk.model")) << "junk";
  std::ofstream(path("m301.toml")) << modelText(301, "tok.model");
  std::ofstream(path("nomodel.toml")) << modelText(300, "none.model");
  std::ofstream(path("junk.toml")) << modelText(300, "junk.model");
  std::string m = path("m.toml"), out = " --out " + path("o.safetensors");
  const BadText cases[] = {
      {"missing corpus",
       "train " + m + " --data " + path("none.txt") + " --steps 2" + out,
       "none.txt: no such text file"},
      {"empty corpus",
       "train " + m + " --data " + path("empty.txt") + " --steps 2" + out,
       "empty.txt: empty text file"},
      {"not UTF-8",
       "train " + m + " --data " + path("bad.txt") + " --steps 2" + out,
       "bad.txt:2: not UTF-8 text"},
      {"window over max_seq",
       "train " + m + " --data " + path("corpus.txt") +
           " --window 24 --steps 2" + out,
       "--window 24: longer than the model's max_seq = 24 less one for "
       "<bos>"},
      {"tokenizer of another size",
       "train " + path("m301.toml") + " --data " + path("corpus.txt") +
           " --steps 2" + out,
       "has 300 pieces, but " + path("m301.toml") + " has verbal_vocab = 301"},
      {"missing tokenizer",
       "train " + path("nomodel.toml") + " --data " + path("corpus.txt") +
           " --steps 2" + out,
       "none.model: no such tokenizer file"},
      {"malformed tokenizer",
       "train " + path("junk.toml") + " --data " + path("corpus.txt") +
           " --steps 2" + out,
       "junk.model: not a SentencePiece model file"},
      {"val without data",
       "train " + m + " --task parity:4 --val " + path("corpus.txt") +
           " --steps 2" + out,
       "ponder: --val needs --data"},
      {"task and data",
       "train " + m + " --task parity:4 --data " + path("corpus.txt") +
           " --steps 2" + out,
       "ponder: --task and --data: give one"},
      {"tokenizer of a missing corpus",
       "tokenizer train " + path("none.txt") + " --vocab 300 -o " +
           path("t.model"),
       "none.txt: no such text file"},
      {"tokenizer too large",
       "tokenizer train " + path("corpus.txt") + " --vocab 5000 -o " +
           path("t.model"),
       "Vocabulary size too high"},
  };
  std::set<std::string> before;
  for (const auto &entry : std::filesystem::directory_iterator(dir))
    before.insert(entry.path().filename());
  for (const BadText &c : cases) {
    EXPECT_NE(ponder(c.args), 0) << c.name;
    std::string text = err();
    EXPECT_NE(text.find(c.error), std::string::npos)
        << c.name << ": expected '" << c.error << "' in: " << text;
    EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 1)
        << c.name << ": " << text;
    std::set<std::string> after;
    for (const auto &entry : std::filesystem::directory_iterator(dir))
      after.insert(entry.path().filename());
    after.erase("out.txt");
    after.erase("err.txt");
    before.erase("out.txt");
    before.erase("err.txt");
    EXPECT_EQ(after, before) << c.name << ": a file was left behind";
  }
}

} // namespace
