"""Messages of the pairwise-masking protocol and their payload layouts.

Headers are described in :mod:`secagg.protocols.wire`. Payloads (``u32`` is a
4-byte big-endian integer, ``blob`` a byte string with a u32 length prefix,
``list`` a u32 count followed by the entries):

- ADVERTISE_KEYS: channel public key (32) || mask public key (32) || blob signature
  (64 bytes in the active variant, empty otherwise).
- SERVER_KEYS: session id (32) || list of (u32 id, channel key (32), mask key (32), blob signature).
- SHARE_KEYS: list of (u32 recipient, blob ciphertext).
- FORWARDED_SHARES: list of (u32 sender, blob ciphertext).
- SHARE_RECEIPT: list of u32 ids (senders whose ciphertext failed to decrypt).
- MASKED_INPUT_REQUEST: list of u32 ids (forwarded senders the server withdrew).
- MASKED_INPUT: blob of the masked vector bit-packed at ceil(log2 R) bits.
- SURVIVORS: list of u32 ids (the round-2 survivors, active variant).
- CONSISTENCY_SIGNATURE: signature (64).
- UNMASKING_REQUEST: list of u32 survivor ids || list of (u32 id, signature (64)).
- UNMASKING_RESPONSE: list of (u32 id, u8 kind, blob share).

The plaintext of a share ciphertext is u32 sender || u32 recipient ||
blob self-mask-seed share || blob mask-key share.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from secagg.protocols.wire import MessageType, Reader, Writer, read_header
from secagg.errors import WireFormatError

KEY_BYTES = 32
SIGNATURE_BYTES = 64
MAX_ENTRIES = 1 << 24


class ShareKind(enum.IntEnum):
    """Secret of a client that a revealed share belongs to."""

    SELF_MASK_SEED = 0
    MASK_KEY = 1


def expect(data: bytes, message_type: MessageType, context: bytes) -> Reader:
    """Parse the header and check type and context; return the payload reader."""
    header, reader = read_header(data)
    if header.type is not message_type:
        raise WireFormatError(f"expected a {message_type.name} message, got {header.type.name}")
    if header.context != context:
        raise WrongContextError("message belongs to another session")
    return reader


class WrongContextError(WireFormatError):
    """A message carries the context (config digest or session id) of another run."""


@dataclass(frozen=True)
class AdvertisedKeys:
    channel: bytes
    mask: bytes
    signature: bytes = b""


def advertise_keys(context: bytes, sender: int, keys: AdvertisedKeys) -> bytes:
    return (Writer(MessageType.ADVERTISE_KEYS, context, sender)
            .raw(keys.channel).raw(keys.mask).blob(keys.signature).to_bytes())


def parse_advertise_keys(data: bytes, context: bytes) -> AdvertisedKeys:
    reader = expect(data, MessageType.ADVERTISE_KEYS, context)
    keys = AdvertisedKeys(reader.raw(KEY_BYTES), reader.raw(KEY_BYTES),
                          reader.blob(SIGNATURE_BYTES))
    reader.finish()
    return keys


def server_keys(context: bytes, session_id: bytes, entries: dict[int, AdvertisedKeys]) -> bytes:
    writer = Writer(MessageType.SERVER_KEYS, context, 0xFFFFFFFF).raw(session_id).u32(len(entries))
    for client in sorted(entries):
        keys = entries[client]
        writer.u32(client).raw(keys.channel).raw(keys.mask).blob(keys.signature)
    return writer.to_bytes()


def parse_server_keys(data: bytes, context: bytes) -> tuple[bytes, dict[int, AdvertisedKeys]]:
    reader = expect(data, MessageType.SERVER_KEYS, context)
    session_id = reader.raw(32)
    entries = {}
    for client, keys, signature in reader.id_fixed_blobs(reader.count(MAX_ENTRIES), 2 * KEY_BYTES):
        if client in entries:
            raise WireFormatError(f"client {client} is listed twice")
        if len(signature) > SIGNATURE_BYTES:
            raise WireFormatError(f"field length {len(signature)} exceeds the maximum {SIGNATURE_BYTES}")
        entries[client] = AdvertisedKeys(keys[:KEY_BYTES], keys[KEY_BYTES:], signature)
    reader.finish()
    return session_id, entries


def id_blob_list(message_type: MessageType, context: bytes, sender: int,
                 entries: dict[int, bytes]) -> bytes:
    """Build a SHARE_KEYS or FORWARDED_SHARES message: ids with byte strings."""
    writer = Writer(message_type, context, sender).u32(len(entries))
    for client in sorted(entries):
        writer.u32(client).blob(entries[client])
    return writer.to_bytes()


def parse_id_blob_list(data: bytes, message_type: MessageType, context: bytes) -> dict[int, bytes]:
    reader = expect(data, message_type, context)
    listed = reader.id_blobs(reader.count(MAX_ENTRIES))
    entries = dict(listed)
    if len(entries) != len(listed):
        twice = next(c for c, _ in listed if sum(1 for d, _ in listed if d == c) > 1)
        raise WireFormatError(f"client {twice} is listed twice")
    reader.finish()
    return entries


def share_plaintext(sender: int, recipient: int, seed_share: bytes, key_share: bytes) -> bytes:
    return (sender.to_bytes(4, "big") + recipient.to_bytes(4, "big")
            + len(seed_share).to_bytes(4, "big") + seed_share
            + len(key_share).to_bytes(4, "big") + key_share)


def parse_share_plaintext(data: bytes) -> tuple[int, int, bytes, bytes]:
    reader = Reader(data)
    sender, recipient = reader.u32(), reader.u32()
    seed_share, key_share = reader.blob(), reader.blob()
    reader.finish()
    return sender, recipient, seed_share, key_share


def id_list(message_type: MessageType, context: bytes, sender: int, ids: list[int]) -> bytes:
    """Build a SURVIVORS, SHARE_RECEIPT or MASKED_INPUT_REQUEST message: sorted client ids."""
    writer = Writer(message_type, context, sender).u32(len(ids))
    for client in sorted(ids):
        writer.u32(client)
    return writer.to_bytes()


def parse_id_list(data: bytes, message_type: MessageType, context: bytes) -> list[int]:
    reader = expect(data, message_type, context)
    ids = _read_ids(reader)
    reader.finish()
    return ids


def masked_input(context: bytes, sender: int, packed: bytes) -> bytes:
    return Writer(MessageType.MASKED_INPUT, context, sender).blob(packed).to_bytes()


def parse_masked_input(data: bytes, context: bytes) -> bytes:
    reader = expect(data, MessageType.MASKED_INPUT, context)
    packed = reader.blob()
    reader.finish()
    return packed


def survivors(context: bytes, ids: list[int]) -> bytes:
    return id_list(MessageType.SURVIVORS, context, 0xFFFFFFFF, ids)


def _read_ids(reader: Reader) -> list[int]:
    ids = [reader.u32() for _ in range(reader.count(MAX_ENTRIES))]
    if ids != sorted(set(ids)):
        raise WireFormatError("client ids must be strictly increasing")
    return ids


def parse_survivors(data: bytes, context: bytes) -> list[int]:
    return parse_id_list(data, MessageType.SURVIVORS, context)


def consistency_signature(context: bytes, sender: int, signature: bytes) -> bytes:
    return Writer(MessageType.CONSISTENCY_SIGNATURE, context, sender).raw(signature).to_bytes()


def parse_consistency_signature(data: bytes, context: bytes) -> bytes:
    reader = expect(data, MessageType.CONSISTENCY_SIGNATURE, context)
    signature = reader.raw(SIGNATURE_BYTES)
    reader.finish()
    return signature


def unmasking_request(context: bytes, ids: list[int], signatures: dict[int, bytes]) -> bytes:
    writer = Writer(MessageType.UNMASKING_REQUEST, context, 0xFFFFFFFF).u32(len(ids))
    for client in ids:
        writer.u32(client)
    writer.u32(len(signatures))
    for client in sorted(signatures):
        writer.u32(client).raw(signatures[client])
    return writer.to_bytes()


def parse_unmasking_request(data: bytes, context: bytes) -> tuple[list[int], dict[int, bytes]]:
    reader = expect(data, MessageType.UNMASKING_REQUEST, context)
    ids = _read_ids(reader)
    signatures = {}
    for _ in range(reader.count(MAX_ENTRIES)):
        client = reader.u32()
        signatures[client] = reader.raw(SIGNATURE_BYTES)
    reader.finish()
    return ids, signatures


def unmasking_response(context: bytes, sender: int,
                       entries: list[tuple[int, ShareKind, bytes]]) -> bytes:
    writer = Writer(MessageType.UNMASKING_RESPONSE, context, sender).u32(len(entries))
    for client, kind, share in entries:
        writer.u32(client).u8(int(kind)).blob(share)
    return writer.to_bytes()


def parse_unmasking_response(data: bytes, context: bytes) -> list[tuple[int, ShareKind, bytes]]:
    reader = expect(data, MessageType.UNMASKING_RESPONSE, context)
    listed = reader.id_blobs(reader.count(MAX_ENTRIES), with_kind=True)
    reader.finish()
    entries, seen = [], set()
    kinds = {kind.value: kind for kind in ShareKind}
    for client, kind_byte, share in listed:
        if client in seen:
            raise WireFormatError(f"client {client} is listed twice")
        kind = kinds.get(kind_byte)
        if kind is None:
            raise WireFormatError(f"unknown share kind {kind_byte}")
        seen.add(client)
        entries.append((client, kind, share))
    return entries
