"""Collusion: a semi-honest server and C colluding clients pool what they saw.

Threat: the server and the colluders follow the protocol, then put together
the server's transcript and every share the colluders decrypted in round 2,
and try to recover one honest client's input.

Steps:

1. Run the protocol honestly to the end; the server records every message.
2. Pick the colluders (see :func:`~secagg.adversaries.harness.choose_colluders`).
3. Pool the target's shares: the self-mask seed shares in the round-4
   responses the server received (the target survived, so the server
   reconstructs b_target anyway), plus both shares that each colluder holds.
4. Rebuild the mask key from the pooled key shares if there are at least t.
   Without it, take the pairwise seeds from the colluders if every neighbour
   of the target colludes. Then remove all masks from the target's masked
   input and compare the result with its true input.

Only the target's neighbours hold shares of its secrets, so in SecAgg+ only
colluders among the neighbours count. Honest clients never reveal a share of
a survivor's mask key, so every key share comes from a colluder.
"""

from __future__ import annotations

from secagg.adversaries.harness import (Driver, aggregate_correct, build_parties, choose_colluders,
                                        target_neighbours)
from secagg.adversaries.recovery import SharePool, recover_input
from secagg.adversaries.report import AttackReport, AttackSpec
from secagg.protocols.base import Round

NAME = "collusion"


def run(spec: AttackSpec) -> AttackReport:
    """Run the collusion attack described in the module docstring."""
    parties = build_parties(spec)
    driver = Driver(parties)
    result = driver.run()
    colluders = choose_colluders(spec, parties)
    target = spec.target

    pool = SharePool(target)
    for responder, message in driver.transcript.uploads.get(Round.UNMASKING, {}).items():
        pool.add_response(responder, message, parties.session_id)
    for colluder in colluders:
        pool.add_colluder(parties.clients[colluder])
    recovery = recover_input(parties, driver.transcript, pool, colluders)

    neighbours = target_neighbours(parties, target)
    colluding_neighbours = sorted(set(colluders) & set(neighbours))
    details = {
        "target_neighbours": neighbours,
        "colluding_neighbours": colluding_neighbours,
        "shares_held": {"self_mask_seed": len(pool.self_mask_seed), "mask_key": len(pool.mask_key)},
        "self_mask_seed": recovery.self_mask_seed.describe("the self-mask seed"),
        "mask_key": recovery.mask_key.describe("the mask key"),
        "mask_key_guess_is_key": recovery.mask_key.guess_is_secret,
        "pairwise_masks_from": recovery.pairwise_source or None,
    }
    return AttackReport.from_spec(
        NAME, spec, recovered_target=recovery.matches_input, detected=False,
        aborted=result.aborted, aggregate_correct=aggregate_correct(parties, result),
        explanation=_explain(spec, recovery, len(colluding_neighbours)),
        colluder_ids=colluders, details=details)


def _explain(spec: AttackSpec, recovery, colluding_neighbours: int) -> str:
    target, t, key = spec.target, spec.threshold, recovery.mask_key
    if spec.colluders:
        adversary = (f"The server and {spec.colluders} colluding client"
                     f"{'s' if spec.colluders != 1 else ''} ({colluding_neighbours} of them "
                     f"neighbours of client {target})")
    else:
        adversary = "The server alone"
    if recovery.matches_input and recovery.pairwise_source == "mask key":
        return (f"{adversary} pooled {key.shares} shares of client {target}'s mask key, reaching "
                f"the threshold {t}: they rebuilt the key, removed every mask and obtained client "
                f"{target}'s exact input.")
    if recovery.matches_input:
        return (f"Every neighbour of client {target} colludes, so they know all its pairwise seeds "
                f"without its key; with the self-mask seed that the server reconstructs in "
                f"unmasking, client {target}'s exact input follows, whatever the threshold.")
    if recovery.vector is not None or not recovery.self_mask_seed.complete:
        return f"Client {target}'s input was not recovered: {recovery.explanation}."
    held = "no share" if key.shares == 0 else f"only {key.shares} share{'s' if key.shares != 1 else ''}"
    verb = "hold" if spec.colluders else "holds"
    return (f"{adversary} {verb} {held} of client {target}'s mask key, below the threshold {t}, "
            f"so its pairwise masks cannot be removed and its input stays hidden.")
