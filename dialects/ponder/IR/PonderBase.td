//===- PonderBase.td - Ponder dialect definition -----------*- tablegen -*-===//
//
// The ponder dialect: tensor-level operations of adaptive-compute
// transformers (MODEL.md, contract v1).
//
//===----------------------------------------------------------------------===//

#ifndef PONDER_DIALECT_PONDERBASE_TD
#define PONDER_DIALECT_PONDERBASE_TD

include "mlir/IR/OpBase.td"
include "mlir/IR/AttrTypeBase.td"
include "mlir/IR/EnumAttr.td"

def Ponder_Dialect : Dialect {
  let name = "ponder";
  let cppNamespace = "::mlir::ponder";
  let summary = "Adaptive-compute transformers: halting loops, think tokens, "
                "verbal losses";
  let description = [{
    The `ponder` dialect models transformers that (1) apply one shared block a
    data-dependent number of times per position (ACT-style halting), (2)
    interleave latent *think* tokens with *verbal* tokens, and (3) train with
    losses taken only on verbal tokens plus a policy term for the decision to
    think. Operations work on ranked tensors with value semantics; the
    numerics of every operation are fixed by the contract (MODEL.md).

    The split of the vocabulary into verbal ids `[0, verbal)` and think ids
    `[verbal, verbal + think)` is explicit: every operation that reads token
    ids or logits carries a `#ponder.vocab<verbal = Vv, think = Vt>` attribute
    and verifies its shapes against it.
  }];
  let useDefaultAttributePrinterParser = 1;
  // Folds (e.g. the ponder cost of fixed depth) materialise as arith.constant.
  let hasConstantMaterializer = 1;
  let dependentDialects = ["::mlir::arith::ArithDialect"];
}

class Ponder_Op<string mnemonic, list<Trait> traits = []>
    : Op<Ponder_Dialect, mnemonic, traits>;

class Ponder_Attr<string name, string attrMnemonic, list<Trait> traits = []>
    : AttrDef<Ponder_Dialect, name, traits> {
  let mnemonic = attrMnemonic;
}

//===----------------------------------------------------------------------===//
// Enums
//===----------------------------------------------------------------------===//

def Ponder_HaltingFixed : I32EnumAttrCase<"Fixed", 0, "fixed">;
def Ponder_HaltingAct : I32EnumAttrCase<"Act", 1, "act">;
def Ponder_HaltingPonderNet : I32EnumAttrCase<"PonderNet", 2, "pondernet">;

def Ponder_HaltingModeAttr : I32EnumAttr<"HaltingMode",
    "how a halting loop decides the depth of each position",
    [Ponder_HaltingFixed, Ponder_HaltingAct, Ponder_HaltingPonderNet]> {
  let cppNamespace = "::mlir::ponder";
}

#endif // PONDER_DIALECT_PONDERBASE_TD
