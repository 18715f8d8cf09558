"""Dropout lie: the server claims a client dropped after receiving its masked input.

Threat: a malicious server wants x_target. It already has y_target, and a
self-mask seed share of every survivor is revealed in unmasking. It also needs
the pairwise masks, whose seeds follow from the target's mask key, and shares
of that key are revealed only for a client that dropped.

Steps:

1. Run the protocol honestly up to the unmasking round.
2. Send every other survivor an UNMASKING_REQUEST that leaves the target out
   of the survivor list, as if it had dropped, and collect the mask-key
   shares that the clients reveal.
3. Send the honest request, which lists the target, to collect the
   self-mask seed shares, and finish the run with those responses.
4. Rebuild both secrets, remove every mask from y_target, and compare with
   x_target.

Honest clients never reveal both shares of one client, so in step 3 they
abort. In the active variant the request of step 2 already contradicts the
survivor list they signed, so they abort there. ``--naive`` gives the
clients ``naive_unmasking=True``, which skips the never-both check.
"""

from __future__ import annotations

from secagg.adversaries.harness import (Driver, build_parties, choose_colluders,
                                        honest_aborts, survivor_list)
from secagg.adversaries.recovery import SharePool, recover_input, share_attack_report
from secagg.adversaries.report import AttackReport, AttackSpec
from secagg.protocols.base import Round
from secagg.protocols.masking import messages

NAME = "dropout-lie"


def run(spec: AttackSpec) -> AttackReport:
    """Run the dropout-lie attack described in the module docstring."""
    parties = build_parties(spec)
    driver = Driver(parties)
    requests = driver.run_until(Round.UNMASKING)
    server, target = parties.server.context, spec.target
    if not requests or target not in server.masked_senders:
        raise RuntimeError("the honest run did not reach unmasking with the target as a survivor; "
                           f"server result: {parties.server.result}")
    colluders = choose_colluders(spec, parties)
    session_id = parties.session_id

    # 2. The lie: every survivor but the target hears that the target dropped.
    signatures = dict(server.signatures) if spec.active else {}
    lie = {client: messages.unmasking_request(session_id, survivor_list(parties, client, target),
                                              signatures)
           for client in sorted(requests) if client != target}
    lie_replies = driver.send(lie)
    pool = SharePool(target)
    for client, reply in lie_replies.items():
        pool.add_response(client, reply, session_id)
    key_shares_from_lie = len(pool.mask_key)

    # 3. The honest request, whose responses also finish the run.
    honest_replies = driver.send(requests)
    for client, reply in honest_replies.items():
        pool.add_response(client, reply, session_id)
    for colluder in colluders:
        pool.add_colluder(parties.clients[colluder])
    driver.deliver(honest_replies)
    driver.close()
    result = parties.server.result

    recovery = recover_input(parties, driver.transcript, pool, colluders)
    aborts = honest_aborts(parties, set(colluders))
    return share_attack_report(NAME, spec, parties, result, pool, recovery, aborts, colluders,
                               _explain(spec, recovery, key_shares_from_lie, aborts),
                               {"mask_key_shares_from_lie": key_shares_from_lie})


def _explain(spec: AttackSpec, recovery, key_shares_from_lie: int, aborts: dict[int, str]) -> str:
    target, t = spec.target, spec.threshold
    seed, key = recovery.self_mask_seed, recovery.mask_key
    claim = f"The server claimed client {target} dropped after receiving its masked input"
    if recovery.matches_input and not spec.naive:
        return (f"{claim} and collected {key_shares_from_lie} shares of its mask key; with the "
                f"shares of its {spec.colluders} colluders it rebuilt both secrets and obtained "
                f"client {target}'s exact input.")
    if recovery.matches_input:
        return (f"{claim} and collected {key_shares_from_lie} shares of its mask key; asked again "
                f"with client {target} listed, the naive clients also revealed its self-mask seed "
                f"shares, and the server obtained its exact input.")
    held = (f"the server holds {seed.shares} self-mask seed and {key.shares} mask key shares of client "
            f"{target} (threshold {t}), so the input stays hidden")
    if aborts:
        example = next(iter(aborts.values()))
        return (f"{claim}; {len(aborts)} honest clients detected the contradiction and aborted "
                f"({example}), and {held}.")
    return f"{claim}; {held}."
