//===- PonderAttrs.td - Ponder attributes ------------------*- tablegen -*-===//

#ifndef PONDER_DIALECT_PONDERATTRS_TD
#define PONDER_DIALECT_PONDERATTRS_TD

include "dialects/ponder/IR/PonderBase.td"

def Ponder_VocabAttr : Ponder_Attr<"Vocab", "vocab"> {
  let summary = "The split of the vocabulary into verbal and think ids";
  let description = [{
    Ids `[0, verbal)` are verbal tokens, the ones a reader sees and the only
    ones the cross-entropy is taken on; ids `[verbal, verbal + think)` are
    latent think tokens (MODEL.md §1). `think` may be 0.

    Example: `#ponder.vocab<verbal = 16, think = 8>` (V = 24).
  }];
  let parameters = (ins "int64_t":$verbal, "int64_t":$think);
  let assemblyFormat = "`<` `verbal` `=` $verbal `,` `think` `=` $think `>`";
  let genVerifyDecl = 1;
  let extraClassDeclaration = [{
    /// The total vocabulary size V = verbal + think.
    int64_t getSize() const { return getVerbal() + getThink(); }
  }];
}

#endif // PONDER_DIALECT_PONDERATTRS_TD
