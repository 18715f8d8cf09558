"""Secret reconstruction and mask removal from the shares an adversary collected.

A client u's masked input is

    y_u = x_u + PRG(b_u) + sum_{v > u} PRG(s_uv) - sum_{v < u} PRG(s_uv)   (mod R)

over its neighbours v that survived round 1 (:mod:`secagg.protocols.masking.masks`).
To learn x_u an adversary needs the self-mask seed b_u and every pairwise
seed s_uv. It gets b_u from ``threshold`` shares of it. It gets the s_uv
either from ``threshold`` shares of u's mask private key, through X25519 with
each neighbour's public key, or, without the key, from colluding neighbours,
each of which derives its own s_uv. This module recomputes the masks from
the public protocol description, independently of the server code.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from secagg.errors import WireFormatError
from secagg.primitives import key_agreement, prg, shamir
from secagg.primitives.key_agreement import KeyPurpose
from secagg.protocols.masking import MaskingClient, masks, messages
from secagg.protocols.masking.messages import ShareKind

from secagg.adversaries.harness import Parties, Transcript, aggregate_correct, ids_by_reason
from secagg.adversaries.report import AttackReport, AttackSpec
from secagg.protocols.base import AggregationResult

SECRET_BYTES = 32


@dataclass
class SharePool:
    """Shares of one client's two secrets that the adversary collected, by holder id."""

    owner: int
    self_mask_seed: dict[int, bytes] = field(default_factory=dict)
    mask_key: dict[int, bytes] = field(default_factory=dict)

    def add(self, holder: int, kind: ShareKind, share: bytes) -> None:
        shares = self.self_mask_seed if kind is ShareKind.SELF_MASK_SEED else self.mask_key
        shares[holder] = share

    def add_colluder(self, client: MaskingClient) -> None:
        """Add both shares that a colluding client decrypted in round 2, if it holds any."""
        held = client.context.held_shares.get(self.owner)
        if held is not None:
            self.add(client.client_id, ShareKind.SELF_MASK_SEED, held[0])
            self.add(client.client_id, ShareKind.MASK_KEY, held[1])

    def add_response(self, responder: int, message: bytes, session_id: bytes) -> None:
        """Add the owner's share from an UNMASKING_RESPONSE; ignore a response that does not parse."""
        try:
            entries = messages.parse_unmasking_response(message, session_id)
        except WireFormatError:
            return
        for owner, kind, share in entries:
            if owner == self.owner:
                self.add(responder, kind, share)


@dataclass(frozen=True)
class Reconstruction:
    """The outcome of rebuilding one secret from the shares at hand.

    ``secret`` is set only with at least ``threshold`` consistent shares.
    With fewer, ``detail`` is the error that :func:`shamir.reconstruct`
    raised, and ``guess`` is what the available shares give when they are
    interpolated as a sharing of lower threshold: None when that is no valid
    32-byte secret. ``guess_is_secret`` compares the guess with the ground
    truth.
    """

    shares: int
    threshold: int
    secret: bytes | None
    guess: bytes | None = None
    guess_is_secret: bool = False
    detail: str = ""

    @property
    def complete(self) -> bool:
        return self.secret is not None

    def describe(self, name: str) -> str:
        """Summarise the outcome in one sentence about the secret ``name``."""
        held = f"{self.shares} share{'s' if self.shares != 1 else ''} of {name} (threshold {self.threshold})"
        if self.complete:
            return f"{held}: reconstructed"
        if self.shares == 0:
            return f"{held}: nothing to reconstruct from"
        if self.shares >= self.threshold:
            return f"{held}: reconstruction failed ({self.detail})"
        if self.guess is None:
            outcome = "gives no valid 32-byte secret"
        elif self.guess_is_secret:
            outcome = "gives the secret"
        else:
            outcome = "gives a wrong 32-byte value"
        them = "it" if self.shares == 1 else "them"
        return (f"{held}: Shamir reconstruction rejects {them}, and interpolating {them} as a "
                f"{self.shares}-of-{self.shares} sharing {outcome}")


def reconstruct(shares: dict[int, bytes], threshold: int, truth: bytes) -> Reconstruction:
    """Rebuild a secret from serialized shares by holder; see :class:`Reconstruction`.

    ``truth``, the real secret, is only compared with a below-threshold guess.
    """
    parsed = []
    for share in shares.values():
        try:
            parsed.append(shamir.Share.from_bytes(share))
        except WireFormatError:
            continue
    if len(parsed) >= threshold:
        try:
            return Reconstruction(len(parsed), threshold, shamir.reconstruct(parsed))
        except ValueError as error:
            return Reconstruction(len(parsed), threshold, None, detail=str(error))
    if not parsed:
        return Reconstruction(0, threshold, None, detail="no shares")

    try:
        shamir.reconstruct(parsed)
        rejection = "reconstruction accepted fewer shares than the threshold"
    except ValueError as error:
        rejection = str(error)
    guess = _interpolate_as_lower_threshold(parsed)
    return Reconstruction(len(parsed), threshold, None, guess, guess == truth, rejection)


def _interpolate_as_lower_threshold(parsed: list[shamir.Share]) -> bytes | None:
    """Return what the shares reconstruct if they are taken for a full sharing, or None."""
    relabelled = [shamir.Share(share.x, share.limbs, len(parsed), share.secret_nbytes,
                               share.sharing_id) for share in parsed]
    try:
        return shamir.reconstruct(relabelled)
    except ValueError:
        return None


@dataclass(frozen=True)
class Recovery:
    """The adversary's attempt at one client's input."""

    vector: np.ndarray | None
    """The input the adversary computed, or None if it could not remove every mask."""
    matches_input: bool
    """``vector`` equals the client's true input."""
    self_mask_seed: Reconstruction
    mask_key: Reconstruction
    pairwise_source: str
    """Source of the pairwise seeds: "mask key", "colluding neighbours" or ""."""
    explanation: str


def recover_input(parties: Parties, transcript: Transcript, pool: SharePool,
                  colluders: list[int]) -> Recovery:
    """Try to compute client ``pool.owner``'s input from the adversary's view.

    That view is the server's ``transcript`` and public state, the shares in
    ``pool`` and the state of the ``colluders``.
    """
    config, server = parties.config, parties.server.context
    owner, session_id = pool.owner, server.session_id
    truth = parties.clients[owner].context
    seed = reconstruct(pool.self_mask_seed, config.threshold, truth.self_mask_seed)
    key = reconstruct(pool.mask_key, config.threshold, truth.mask_keys.private_bytes)
    summary = f"{seed.describe('the self-mask seed')}; {key.describe('the mask key')}"

    masked = transcript.masked_vector(config, session_id, owner)
    if masked is None:
        return Recovery(None, False, seed, key, "", f"no masked input of client {owner} arrived")
    if not seed.complete:
        return Recovery(None, False, seed, key, "",
                        f"the self mask of client {owner} stays: {summary}")

    peers = sorted(server.neighbours[owner] & set(server.ciphertexts))
    pairwise, source = _pairwise_seeds(parties, owner, peers, key, colluders)
    if pairwise is None:
        return Recovery(None, False, seed, key, "",
                        f"the pairwise masks of client {owner} stay: {summary}, and "
                        f"{len(set(colluders) & set(peers))} of its {len(peers)} neighbours collude")

    vector = unmask(masked, seed.secret, pairwise, owner, config.modulus, session_id)
    matches = bool(np.array_equal(vector, parties.inputs[owner]))
    return Recovery(vector, matches, seed, key, source, summary)


def _pairwise_seeds(parties: Parties, owner: int, peers: list[int], key: Reconstruction,
                    colluders: list[int]) -> tuple[dict[int, bytes] | None, str]:
    server = parties.server.context
    session_id = server.session_id
    if key.complete and key_agreement.public_from_private(key.secret) == server.keys[owner].mask:
        seeds = {v: key_agreement.agree_and_derive(key.secret, server.keys[v].mask,
                                                   KeyPurpose.MASK_SEED, session_id, owner, v)
                 for v in peers}
        return seeds, "mask key"
    if peers and set(peers) <= set(colluders):
        # Each colluding neighbour v derives s_uv from its own mask key and u's public key.
        seeds = {v: key_agreement.agree_and_derive(parties.clients[v].context.mask_keys,
                                                   server.keys[owner].mask, KeyPurpose.MASK_SEED,
                                                   session_id, v, owner)
                 for v in peers}
        return seeds, "colluding neighbours"
    return None, ""


def unmask(masked: np.ndarray, self_seed: bytes, pairwise: dict[int, bytes], owner: int,
           modulus: int, session_id: bytes) -> np.ndarray:
    """Return ``masked - PRG(b) - sum_v sign(owner, v) * PRG(s_uv)`` modulo ``modulus``."""
    count, big = masked.size, np.uint64(modulus)
    total = masked.astype(np.uint64) % big
    streams = [(self_seed, masks.SELF_MASK, 1)]
    streams += [(seed, masks.PAIRWISE_MASK, masks.pairwise_sign(owner, v)) for v, seed in pairwise.items()]
    for seed, purpose, sign in streams:
        mask = prg.expand(seed, count, modulus, masks.domain(session_id, purpose))
        total = (total + (big - mask if sign > 0 else mask)) % big
    return total


def share_attack_report(name: str, spec: AttackSpec, parties: Parties,
                        result: AggregationResult | None, pool: SharePool, recovery,
                        aborts: dict[int, str], colluders: list[int], explanation: str,
                        details: dict) -> AttackReport:
    """Build the report of an attack that pools shares to recover the target's input.

    ``details`` holds the attack's own fields; the share counts, the two
    reconstructions and the aborts are added after them.
    """
    details = {
        **details,
        "shares_held": {"self_mask_seed": len(pool.self_mask_seed), "mask_key": len(pool.mask_key)},
        "self_mask_seed": recovery.self_mask_seed.describe("the self-mask seed"),
        "mask_key": recovery.mask_key.describe("the mask key"),
        "client_aborts": ids_by_reason(aborts),
        "abort_reason": None if result is None or not result.aborted else
                        f"{result.abort_reason.name}: {result.abort_detail}",
    }
    return AttackReport.from_spec(
        name, spec, recovered_target=recovery.matches_input, detected=bool(aborts),
        aborted=result is None or result.aborted,
        aggregate_correct=aggregate_correct(parties, result),
        explanation=explanation, colluder_ids=colluders, details=details)
