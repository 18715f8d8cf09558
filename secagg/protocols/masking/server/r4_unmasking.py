"""Server round 4, Unmasking, and the output.

Collects: UNMASKING_RESPONSE. Each revealed share must belong to a client
whose shares the responder holds, be of the kind the survivor list implies
(self-mask seed for a round-2 survivor, mask key for a client that dropped
after round 1) and carry the responder's x-coordinate; otherwise the whole
response is excluded. Closing: for every survivor v, reconstructs b_v from at
least ``threshold`` shares and removes PRG(b_v); for every client u that
dropped after round 1, reconstructs u's mask private key, checks it against
u's advertised public key, and removes the pairwise masks u shared with each
surviving neighbour. The remaining sum is that of the survivors' inputs.
"""

from __future__ import annotations

import numpy as np

from secagg.errors import WireFormatError
from secagg.primitives import key_agreement, shamir
from secagg.primitives.mask_expansion import MaskStream, accumulate
from secagg.primitives.key_agreement import KeyPurpose
from secagg.protocols.base import AbortReason, ExclusionReason, Round
from secagg.protocols.masking import masks, messages
from secagg.protocols.masking.messages import ShareKind
from secagg.protocols.masking.server.context import ServerAbort, ServerContext

SECRET_BYTES = 32


def receive(ctx: ServerContext, sender: int, data: bytes) -> None:
    entries = messages.parse_unmasking_response(data, ctx.session_id)
    owners = (ctx.neighbours[sender] & set(ctx.ciphertexts)) | {sender}
    parsed = shamir.Share.from_bytes_many([share_bytes for _, _, share_bytes in entries], SECRET_BYTES)
    accepted = {}
    for (owner, kind, share_bytes), share in zip(entries, parsed):
        share, problem = _check_entry(ctx, sender, owners, owner, kind, share_bytes, share)
        if problem:
            ctx.exclude(sender, Round.UNMASKING, ExclusionReason.INVALID_CONTENT, problem)
            return
        accepted[owner] = (kind, share)
    ctx.responses[sender] = accepted


def _check_entry(ctx: ServerContext, sender: int, owners: set[int], owner: int,
                 kind: ShareKind, share_bytes: bytes,
                 share: shamir.Share | None) -> tuple[shamir.Share | None, str]:
    """Check one revealed share; return it and an empty string, or None and the problem.

    ``share`` is the bulk parse of ``share_bytes``; when it failed, the
    single-share parser runs again to name the problem.
    """
    if owner not in owners:
        return None, f"revealed a share of client {owner}, whose shares it does not hold"
    expected = ShareKind.SELF_MASK_SEED if owner in ctx.masked_senders else ShareKind.MASK_KEY
    if kind is not expected:
        return None, f"revealed the {kind.name} share of client {owner}, expected {expected.name}"
    if share is None:
        try:
            share = shamir.Share.from_bytes(share_bytes)
        except WireFormatError as error:
            return None, f"share of client {owner} is malformed: {error}"
    if (share.x, share.threshold, share.secret_nbytes) != (sender + 1, ctx.config.threshold, SECRET_BYTES):
        return None, f"share of client {owner} has the wrong x-coordinate, threshold or length"
    return share, ""


def close(ctx: ServerContext) -> np.ndarray:
    """Reconstruct, unmask and return the sum modulo R of the U3 inputs."""
    ctx.require(len(ctx.responses), Round.UNMASKING, "clients answered the unmasking request")
    survivors = sorted(ctx.masked_senders)
    dropped = sorted(set(ctx.ciphertexts) - ctx.masked_senders)
    seeds = _reconstruct(ctx, survivors)
    mask_keys = _reconstruct(ctx, dropped)

    config, total = ctx.config, ctx.total
    self_domain = masks.domain(ctx.session_id, masks.SELF_MASK)
    streams = [MaskStream(seed, self_domain, -1) for seed in seeds]

    pairwise_domain = masks.domain(ctx.session_id, masks.PAIRWISE_MASK)
    for client, private in zip(dropped, mask_keys):
        _check_mask_key(ctx, client, private)
        loaded = key_agreement.KeyPair(private, ctx.keys[client].mask,
                                       key_agreement.load_private_key(private))
        survivors = sorted(ctx.neighbours[client] & ctx.masked_senders)
        seeds = key_agreement.agree_and_derive_many(
            loaded, {neighbour: ctx.keys[neighbour].mask for neighbour in survivors},
            KeyPurpose.MASK_SEED, ctx.session_id, client)
        for neighbour in survivors:
            # The neighbour added sign * PRG(s_uv); the server removes it.
            streams.append(MaskStream(seeds[neighbour], pairwise_domain,
                                      -masks.pairwise_sign(neighbour, client)))
    accumulate(total, streams, config.modulus)
    return total


def _reconstruct(ctx: ServerContext, owners: list[int]) -> list[bytes]:
    """Reconstruct each owner's secret from the shares of its largest sharing.

    Every honest holder's share of one secret carries the same sharing id, so
    shares with another id (from another session, or forged) are outvoted:
    their responders are excluded and the rest reconstruct the secret.
    """
    share_sets = []
    for owner in owners:
        by_sharing: dict[bytes, list[tuple[int, shamir.Share]]] = {}
        for responder, response in ctx.responses.items():
            if owner in response:
                share = response[owner][1]
                by_sharing.setdefault(share.sharing_id, []).append((responder, share))
        groups = sorted(by_sharing.values(), key=len, reverse=True)
        chosen = groups[0] if groups else []
        for group in groups[1:]:
            for responder, _ in group:
                ctx.exclude(responder, Round.UNMASKING, ExclusionReason.INVALID_CONTENT,
                            f"revealed a share of client {owner} from another sharing")
        if len(chosen) < ctx.config.threshold:
            raise ServerAbort(AbortReason.RECONSTRUCTION_FAILED,
                              f"{len(chosen)} consistent shares of client {owner}, threshold "
                              f"{ctx.config.threshold}")
        share_sets.append([share for _, share in chosen])
    try:
        return shamir.reconstruct_many(share_sets)
    except ValueError as error:
        raise ServerAbort(AbortReason.INCONSISTENT_SHARES, str(error)) from None


def _check_mask_key(ctx: ServerContext, client: int, private: bytes) -> None:
    try:
        public = key_agreement.public_from_private(private)
    except ValueError:
        public = b""
    if public != ctx.keys[client].mask:
        raise ServerAbort(AbortReason.INCONSISTENT_SHARES,
                          f"the reconstructed mask key of client {client} does not match "
                          "its advertised public key")
