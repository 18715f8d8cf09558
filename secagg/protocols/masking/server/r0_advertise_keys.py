"""Server round 0, AdvertiseKeys.

Collects: ADVERTISE_KEYS from each client; in the active variant the
signature must verify under the client's PKI key. Closing: at least
``threshold`` clients (U1) must have advertised. Computes the session id from
the configuration and every U1 key, builds the neighbour graph, and sends each
U1 client SERVER_KEYS with the keys of its U1 neighbours. Next: ShareKeys.
"""

from __future__ import annotations

from secagg.errors import SignatureError
from secagg.primitives import signatures
from secagg.protocols.base import ExclusionReason, Round
from secagg.protocols.masking import messages
from secagg.protocols.masking.client.r0_advertise_keys import advertise_message
from secagg.protocols.masking.server.context import ServerContext


def receive(ctx: ServerContext, sender: int, data: bytes) -> None:
    keys = messages.parse_advertise_keys(data, ctx.config.digest())
    if ctx.config.active:
        public = ctx.pki.get(sender)
        try:
            if public is None:
                raise SignatureError("no PKI key")
            signatures.verify(public, keys.signature,
                              advertise_message(ctx.config.digest(), sender, keys.channel, keys.mask))
        except SignatureError as error:
            ctx.exclude(sender, Round.ADVERTISE_KEYS, ExclusionReason.BAD_SIGNATURE, str(error))
            return
    ctx.keys[sender] = keys


def close(ctx: ServerContext) -> dict[int, bytes]:
    ctx.require(len(ctx.keys), Round.ADVERTISE_KEYS, "clients advertised keys")
    ctx.session_id = ctx.config.session_id({c: (k.channel, k.mask) for c, k in ctx.keys.items()})
    digest = ctx.config.digest()
    outgoing = {}
    for client in sorted(ctx.keys):
        graph = ctx.config.neighbours(ctx.session_id, client).tolist()
        ctx.neighbours[client] = {v for v in graph if v in ctx.keys}
        entries = {v: ctx.keys[v] for v in ctx.neighbours[client] | {client}}
        outgoing[client] = messages.server_keys(digest, ctx.session_id, entries)
    return outgoing
