"""Messages of the CKKS protocol and their payload layouts.

Headers are described in :mod:`secagg.protocols.wire`; the header context of
every CKKS message is :meth:`CkksConfig.digest`. Payloads (``u32`` is a
4-byte big-endian integer, ``blob`` a byte string with a u32 length prefix,
``list`` a u32 count followed by the entries):

- CKKS_CONTEXT, key holder -> server, round 0: blob server context (TenSEAL
  serialization without keys) || list of (u32 client id, blob sealed secret
  context), one entry per client other than the key holder.
- CKKS_CONTEXT, server -> client, opens round 2: blob sealed secret context,
  empty for a key holder that is itself a client.
- CKKS_CIPHERTEXT, client -> server, round 2: TenSEAL's serialization of the
  encrypted input (``ceil(dim / (N/2))`` ciphertexts), without a length
  prefix: it runs to the end of the message, so that the whole message is a
  valid TenSEAL vector (see :data:`secagg.protocols.wire.MAGIC`).
- UNMASKING_REQUEST, server -> key holder, opens round 4: list of u32
  included client ids || blob the encrypted (weighted) sum.
- UNMASKING_RESPONSE, key holder -> server, round 4: ``dim`` float64 values,
  big-endian, 8 bytes each.

The decryption round reuses the UNMASKING message types of the masking
protocols, because it plays their part: it turns the protected sum into
the output.
"""

from __future__ import annotations

import numpy as np

from secagg.errors import WireFormatError
from secagg.protocols.wire import HEADER_BYTES, SERVER_ID, MessageType, Reader, Writer, read_header

_SUM_DTYPE = np.dtype(">f8")


class WrongSessionError(WireFormatError):
    """A message carries the configuration digest of another run."""


def expect(data: bytes, message_type: MessageType, context: bytes, sender: int | None = None) -> Reader:
    """Parse the header and check type, context and, when given, the sender; return the payload reader."""
    header, reader = read_header(data)
    if header.type is not message_type:
        raise WireFormatError(f"expected a {message_type.name} message, got {header.type.name}")
    if header.context != context:
        raise WrongSessionError("message belongs to another session: its context is not this "
                                "configuration's digest")
    if sender is not None and header.sender != sender:
        raise WireFormatError(f"header names sender {header.sender}, expected {sender}")
    return reader


def key_distribution(context: bytes, key_holder: int, server_context: bytes,
                     sealed: dict[int, bytes]) -> bytes:
    writer = Writer(MessageType.CKKS_CONTEXT, context, key_holder).blob(server_context).u32(len(sealed))
    for client in sorted(sealed):
        writer.u32(client).blob(sealed[client])
    return writer.to_bytes()


def parse_key_distribution(data: bytes, context: bytes, key_holder: int,
                           max_clients: int) -> tuple[bytes, dict[int, bytes]]:
    reader = expect(data, MessageType.CKKS_CONTEXT, context, key_holder)
    server_context = reader.blob()
    sealed = {}
    for _ in range(reader.count(max_clients)):
        client = reader.u32()
        if client in sealed:
            raise WireFormatError(f"client {client} has two sealed contexts")
        sealed[client] = reader.blob()
    reader.finish()
    return server_context, sealed


def forwarded_context(context: bytes, sealed: bytes) -> bytes:
    return Writer(MessageType.CKKS_CONTEXT, context, SERVER_ID).blob(sealed).to_bytes()


def parse_forwarded_context(data: bytes, context: bytes) -> bytes:
    reader = expect(data, MessageType.CKKS_CONTEXT, context, SERVER_ID)
    sealed = reader.blob()
    reader.finish()
    return sealed


def ciphertext(context: bytes, sender: int, vector: bytes) -> bytes:
    return Writer(MessageType.CKKS_CIPHERTEXT, context, sender).raw(vector).to_bytes()


def ciphertext_start(data: bytes, context: bytes, sender: int) -> int:
    """Check a CKKS_CIPHERTEXT header; return the offset of the TenSEAL serialization."""
    expect(data, MessageType.CKKS_CIPHERTEXT, context, sender)
    if len(data) == HEADER_BYTES:
        raise WireFormatError("CKKS_CIPHERTEXT carries no ciphertext")
    return HEADER_BYTES


def parse_ciphertext(data: bytes, context: bytes, sender: int) -> bytes:
    """Return a copy of the TenSEAL serialization in a CKKS_CIPHERTEXT message."""
    return data[ciphertext_start(data, context, sender):]


def decryption_request(context: bytes, included: list[int], total: bytes) -> bytes:
    writer = Writer(MessageType.UNMASKING_REQUEST, context, SERVER_ID).u32(len(included))
    for client in included:
        writer.u32(client)
    return writer.blob(total).to_bytes()


def parse_decryption_request(data: bytes, context: bytes, max_clients: int) -> tuple[list[int], bytes]:
    reader = expect(data, MessageType.UNMASKING_REQUEST, context, SERVER_ID)
    included = [reader.u32() for _ in range(reader.count(max_clients))]
    total = reader.blob()
    reader.finish()
    return included, total


def decrypted_sum(context: bytes, key_holder: int, values: np.ndarray) -> bytes:
    return (Writer(MessageType.UNMASKING_RESPONSE, context, key_holder)
            .raw(np.asarray(values, dtype=_SUM_DTYPE).tobytes()).to_bytes())


def parse_decrypted_sum(data: bytes, context: bytes, key_holder: int, dim: int) -> np.ndarray:
    reader = expect(data, MessageType.UNMASKING_RESPONSE, context, key_holder)
    values = np.frombuffer(reader.raw(dim * _SUM_DTYPE.itemsize), dtype=_SUM_DTYPE)
    reader.finish()
    return values.astype(np.float64)
