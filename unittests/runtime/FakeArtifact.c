/*===- FakeArtifact.c - A hand-written artifact for ArtifactTest ----------===*\
|*                                                                            *|
|* Exports what `ponderc --emit=artifact` exports, with a descriptor the test *|
|* can replace, so that the runtime's loader is tested without the compiler.  *|
|* Written in C99: it also checks that ArtifactContract.h is plain C.         *|
|*                                                                            *|
\*===----------------------------------------------------------------------===*/

#include "runtime/ArtifactContract.h"

/* What ponderc writes for a model with one parameter and one entry. */
static const char *descriptor =
    "{\"abi_version\": 3, \"model_hash\": \"f00d\", \"target\": \"cpu\", "
    "\"vocab\": {\"verbal\": 3, \"think\": 1}, \"max_seq\": 8, "
    "\"parameters\": [{\"name\": \"w\", \"dtype\": \"F32\", \"shape\": [2]}], "
    "\"entries\": [{\"name\": \"forward\", "
    "\"symbol\": \"ponder_entry_forward\", \"arguments\": ["
    "{\"name\": \"ids\", \"kind\": \"input\", \"dtype\": \"I32\", "
    "\"shape\": [-1]}, "
    "{\"name\": \"w\", \"kind\": \"param\", \"dtype\": \"F32\", "
    "\"shape\": [2]}], \"results\": ["
    "{\"name\": \"logits\", \"dtype\": \"F32\", \"shape\": [-1, 3]}]}]}";

/* The test's way in: the descriptor to return from now on. */
void fake_artifact_set_descriptor(const char *text) { descriptor = text; }

int32_t ponder_artifact_abi_version(void) {
  return PONDER_ARTIFACT_ABI_VERSION;
}

const char *ponder_artifact_descriptor(void) { return descriptor; }

int32_t ponder_artifact_bind_runtime(ponder_runtime_lookup_fn lookup) {
  return (lookup(PONDER_RUNTIME_ALLOC) ? 0 : 1) +
         (lookup(PONDER_RUNTIME_FREE) ? 0 : 1);
}

void ponder_entry_forward(void **args) { (void)args; }
