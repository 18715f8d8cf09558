"""Inconsistent survivors: the server gives different clients different survivor lists.

Threat: a malicious server wants x_target. A client reveals a self-mask seed
share for each client listed as a survivor and a mask-key share for each
listed as dropped, and never both for one client. So the server splits the
target's neighbours: D "deceived" clients hear that the target dropped and
reveal key shares, and the others hear that it survived and reveal seed
shares. Each client sees a single, plausible list.

Steps:

1. Run the protocol honestly until the server has every masked input.
2. Semi-honest variant: send the deceived clients an UNMASKING_REQUEST
   without the target, and the others the honest one.
   Active variant: in the consistency check, send the deceived clients a
   SURVIVORS list without the target, so that each group signs its own list.
   Then send each group an UNMASKING_REQUEST with its own list and only its
   own group's signatures. Colluders, whose keys the adversary holds, sign
   both lists.
3. Pool the revealed shares with the colluders' shares, rebuild both
   secrets, remove every mask from y_target and compare with x_target.
   The clients that heard the honest list finish the run.

The attack needs t seed shares (the honest group, the target itself and the
colluders among its neighbours) and t key shares (the deceived group and
those colluders). Without colluders that takes n >= 2t in SecAgg, whatever
the variant. What the active variant adds is detection: a group with fewer
than t signers on its list aborts.
"""

from __future__ import annotations

import numpy as np

from secagg.adversaries.harness import (Driver, build_parties, choose_colluders,
                                        honest_aborts, survivor_list,
                                        target_neighbours)
from secagg.adversaries.recovery import SharePool, recover_input, share_attack_report
from secagg.adversaries.report import AttackReport, AttackSpec
from secagg.protocols.base import Round
from secagg.protocols.masking import messages
from secagg.protocols.masking.client.r3_consistency_check import consistency_message

NAME = "inconsistent-survivors"


def run(spec: AttackSpec) -> AttackReport:
    """Run the inconsistent-survivors attack described in the module docstring."""
    colluding_neighbours = spec.colluders if spec.colluders_from == "neighbours" else 0
    honest_holders = spec.degree - colluding_neighbours
    if spec.deceived is not None and spec.deceived > honest_holders:
        raise ValueError(f"deceived must be at most {honest_holders}, the target's honest "
                         f"neighbours, got {spec.deceived}")

    parties = build_parties(spec)
    driver = Driver(parties)
    opening = Round.CONSISTENCY_CHECK if spec.active else Round.UNMASKING
    requests = driver.run_until(opening)
    server, target = parties.server.context, spec.target
    if not requests or target not in server.masked_senders:
        raise RuntimeError("the honest run did not reach the attack with the target as a survivor; "
                           f"server result: {parties.server.result}")
    colluders = choose_colluders(spec, parties)
    deceived = _choose_deceived(spec, parties, colluders)

    pool = SharePool(target)
    for colluder in colluders:
        pool.add_colluder(parties.clients[colluder])
    if spec.active:
        replies = _split_active(spec, parties, driver, requests, deceived, colluders)
    else:
        replies = _split_semi_honest(parties, driver, requests, deceived, target)
    for client, reply in replies.items():
        pool.add_response(client, reply, parties.session_id)

    result = parties.server.result
    recovery = recover_input(parties, driver.transcript, pool, colluders)
    aborts = honest_aborts(parties, set(colluders))
    given_honest_list = [c for c in target_neighbours(parties, target)
                     if c not in deceived and c not in colluders and c in server.masked_senders]
    return share_attack_report(NAME, spec, parties, result, pool, recovery, aborts, colluders,
                               _explain(spec, recovery, deceived, given_honest_list, aborts),
                               {"deceived": deceived, "given_honest_list": given_honest_list})


def _choose_deceived(spec: AttackSpec, parties, colluders: list[int]) -> list[int]:
    """Pick the neighbours told that the target dropped; by default, all but t - 1 seed holders."""
    server = parties.server.context
    holders = [c for c in target_neighbours(parties, spec.target)
               if c in server.masked_senders and c not in colluders]
    if spec.deceived is None:
        colluding_neighbours = len(set(colluders) & set(target_neighbours(parties, spec.target)))
        keep = max(0, spec.threshold - 1 - colluding_neighbours)
        count = max(0, len(holders) - keep)
    else:
        count = min(spec.deceived, len(holders))
    chooser = np.random.default_rng([spec.seed, 2])
    return sorted(int(c) for c in chooser.choice(holders, size=count, replace=False))


def _split_semi_honest(parties, driver: Driver, requests: dict[int, bytes], deceived: list[int],
                       target: int) -> dict[int, bytes]:
    """Send the split UNMASKING_REQUESTs; finish the run with the honest group's responses."""
    session_id = parties.session_id
    for client in deceived:
        requests[client] = messages.unmasking_request(
            session_id, survivor_list(parties, client, target), {})
    replies = driver.send(requests)
    driver.deliver({c: reply for c, reply in replies.items() if c not in deceived})
    driver.close()
    return replies


def _split_active(spec: AttackSpec, parties, driver: Driver, requests: dict[int, bytes],
                  deceived: list[int], colluders: list[int]) -> dict[int, bytes]:
    """Split the consistency check, then the unmasking round, as the module docstring describes."""
    session_id, target = parties.session_id, spec.target
    server = parties.server.context
    lie = [c for c in sorted(server.masked_senders) if c != target]
    for client in deceived:
        requests[client] = messages.survivors(session_id, lie)
    signed = driver.send(requests)

    honest_group, lying_group = {}, {}
    for client, reply in signed.items():
        signature = messages.parse_consistency_signature(reply, session_id)
        (lying_group if client in deceived else honest_group)[client] = signature
    for colluder in colluders:
        lying_group[colluder] = parties.signing_keys[colluder].sign(consistency_message(session_id, lie))
    # The real server checks signatures against the honest list only, so it
    # rejects the deceived group's and serves the honest group.
    driver.deliver(signed)
    driver.close()

    unmasking = {}
    for client in signed:
        if client in deceived:
            unmasking[client] = messages.unmasking_request(
                session_id, survivor_list(parties, client, target), lying_group)
        else:
            unmasking[client] = messages.unmasking_request(
                session_id, survivor_list(parties, client), honest_group)
    replies = driver.send(unmasking)
    if parties.server.result is None:
        driver.deliver({c: reply for c, reply in replies.items() if c not in deceived})
        driver.close()
    return replies


def _explain(spec: AttackSpec, recovery, deceived: list[int], given_honest_list: list[int],
             aborts: dict[int, str]) -> str:
    target, t = spec.target, spec.threshold
    seed, key = recovery.self_mask_seed, recovery.mask_key
    split = (f"The server told {len(deceived)} of client {target}'s neighbours that it dropped and "
             f"{len(given_honest_list)} that it survived")
    held = (f"{seed.shares} self-mask seed and {key.shares} mask key shares of client {target} "
            f"(threshold {t})")
    if recovery.matches_input:
        unnoticed = "" if aborts else ", and no client noticed"
        signed = (f" Each group signed its own list and saw at least {t} signatures on it, so "
                  f"the consistency check passed." if spec.active and not aborts else "")
        return (f"{split}; with {held} it rebuilt both secrets and obtained client {target}'s "
                f"exact input{unnoticed}.{signed}")
    if aborts:
        example = next(iter(aborts.values()))
        return (f"{split}; {len(aborts)} honest clients detected it and aborted ({example}), and "
                f"with {held} the input stays hidden.")
    return (f"{split}; nobody noticed, but with {held} the server cannot rebuild both secrets, "
            f"so the input stays hidden.")
