"""Client round 1, ShareKeys.

Accepts: SERVER_KEYS, the session id and the round-0 keys of the neighbours
that advertised. Checks that the keys are well formed, signed (active
variant), those of this client's neighbours only, and numerous enough to reach
the threshold. Then draws the self-mask seed b_u, Shamir-shares b_u and the
mask private key among the neighbours and itself (x = id + 1), and encrypts
each neighbour's shares with AES-GCM under the channel key agreed with it.
Sends: SHARE_KEYS. Next state: share receipts (:mod:`.r1_share_receipts`).
"""

from __future__ import annotations

from secagg.errors import SignatureError
from secagg.primitives import aead, key_agreement, shamir, signatures
from secagg.primitives.key_agreement import KeyPurpose
from secagg.protocols.base import Round
from secagg.protocols.masking import messages
from secagg.protocols.masking.client.context import ClientAbort, ClientContext
from secagg.protocols.masking.client.r0_advertise_keys import advertise_message
from secagg.protocols.wire import MessageType


def handle(ctx: ClientContext, data: bytes) -> bytes:
    """Process SERVER_KEYS; return SHARE_KEYS."""
    config, own = ctx.config, ctx.client_id
    session_id, entries = messages.parse_server_keys(data, config.digest())
    _check_entries(ctx, session_id, entries)

    ctx.session_id = session_id
    ctx.peers = {client: keys for client, keys in entries.items() if client != own}
    holders = sorted(set(ctx.peers) | {own})
    if len(holders) < config.threshold:
        raise ClientAbort(f"only {len(holders)} share holders reached round 1, "
                          f"below the threshold {config.threshold}")

    ctx.self_mask_seed = ctx.rng.bytes(32)
    seed_shares, key_shares = shamir.split_many(
        [ctx.self_mask_seed, ctx.mask_keys.private_bytes], config.threshold,
        x_coordinates=[holder + 1 for holder in holders], rng=ctx.rng)

    ctx.channel_secrets = key_agreement.agree_and_derive_many(
        ctx.channel_keys, {peer: keys.channel for peer, keys in ctx.peers.items()},
        KeyPurpose.CHANNEL_KEY, session_id, own)
    ciphertexts = {}
    for index, holder in enumerate(holders):
        seed_share, key_share = seed_shares[index].to_bytes(), key_shares[index].to_bytes()
        if holder == own:
            ctx.held_shares[own] = (seed_share, key_share)
            continue
        key = ctx.channel_secrets[holder]
        plaintext = messages.share_plaintext(own, holder, seed_share, key_share)
        ciphertexts[holder] = aead.encrypt(key, plaintext, session_id=session_id, sender=own,
                                           recipient=holder, round_index=int(Round.SHARE_KEYS),
                                           rng=ctx.rng)
    return messages.id_blob_list(MessageType.SHARE_KEYS, session_id, own, ciphertexts)


def _check_entries(ctx: ClientContext, session_id: bytes, entries: dict) -> None:
    config, own = ctx.config, ctx.client_id
    mine = entries.get(own)
    if mine is None or (mine.channel, mine.mask) != (ctx.channel_keys.public_bytes,
                                                      ctx.mask_keys.public_bytes):
        raise ClientAbort("the server did not relay this client's own keys unchanged")

    if config.complete_graph:
        keys = {client: (k.channel, k.mask) for client, k in entries.items()}
        if config.session_id(keys) != session_id:
            raise ClientAbort("the session id does not match the relayed keys")
    allowed = set(config.neighbours(session_id, own).tolist()) | {own}
    strangers = sorted(set(entries) - allowed)
    if strangers:
        raise ClientAbort(f"the server relayed keys of non-neighbours {strangers[:5]}")

    seen = set()
    for client, keys in entries.items():
        if (keys.channel, keys.mask) in seen or keys.channel == keys.mask:
            raise ClientAbort(f"client {client} reuses a public key")
        seen.add((keys.channel, keys.mask))
        if config.active:
            _check_signature(ctx, client, keys)


def _check_signature(ctx: ClientContext, client: int, keys: messages.AdvertisedKeys) -> None:
    public = ctx.pki.get(client) if ctx.pki else None
    if public is None:
        raise ClientAbort(f"client {client} has no key in the PKI")
    message = advertise_message(ctx.config.digest(), client, keys.channel, keys.mask)
    try:
        signatures.verify(public, keys.signature, message)
    except SignatureError:
        raise ClientAbort(f"the round-0 signature of client {client} is invalid") from None
