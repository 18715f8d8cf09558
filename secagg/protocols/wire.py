"""The versioned wire format shared by all protocol messages.

Every message is a 40-byte header followed by a type-specific payload::

    offset  size  field
    0       2     magic 0x7A 0x26
    2       1     format version (1)
    3       1     message type (MessageType)
    4       32    context: the configuration digest in round 0, the session id after
    36      4     sender: a client id, or 0xFFFFFFFF for the server (big-endian)

The magic bytes, read as protocol buffers, are the key of field 15 (wire
type 2) and the length 38: the whole header is then one field that a
protobuf parser skips. A CKKS upload, whose payload is TenSEAL's protobuf
serialization, therefore goes to TenSEAL as received, without a copy.

Payload fields are big-endian fixed-width integers, byte strings with a 4-byte
length prefix, and lists with a 4-byte count prefix. A parser must consume
the payload exactly: truncated or trailing bytes raise WireFormatError.
Nothing is ever pickled.
"""

from __future__ import annotations

import enum
import struct
from dataclasses import dataclass

from secagg.errors import WireFormatError

MAGIC = bytes([15 << 3 | 2, 38])
"""A protobuf key (field 15, length-delimited) and length: see the module docstring."""
VERSION = 1
HEADER_BYTES = 40
CONTEXT_BYTES = 32
SERVER_ID = 0xFFFFFFFF
_HEADER = struct.Struct(">2sBB32sI")
_MAX_LENGTH = 1 << 31
_ID_LENGTH = struct.Struct(">II")
_ID_KIND_LENGTH = struct.Struct(">IBI")


class MessageType(enum.IntEnum):
    """Message types of all protocols; the value is the header's type byte."""

    ADVERTISE_KEYS = 1        # client -> server, round 0
    SERVER_KEYS = 2           # server -> client, opens round 1
    SHARE_KEYS = 3            # client -> server, round 1
    FORWARDED_SHARES = 4      # server -> client, opens the share receipts of round 1
    MASKED_INPUT = 5          # client -> server, round 2
    SURVIVORS = 6             # server -> client, opens round 3 (active variant)
    CONSISTENCY_SIGNATURE = 7 # client -> server, round 3 (active variant)
    UNMASKING_REQUEST = 8     # server -> client, opens round 4
    UNMASKING_RESPONSE = 9    # client -> server, round 4
    PLAINTEXT_INPUT = 10      # client -> server, plaintext baseline
    CKKS_CONTEXT = 11         # key holder -> client, CKKS key distribution
    CKKS_CIPHERTEXT = 12      # client -> server, CKKS upload
    SHARE_RECEIPT = 13        # client -> server, round 1 (share receipts)
    MASKED_INPUT_REQUEST = 14 # server -> client, opens round 2


@dataclass(frozen=True)
class Header:
    """The fixed header of a message."""

    type: MessageType
    context: bytes
    sender: int


def peek_type(data: bytes) -> MessageType | None:
    """Return the message type of ``data``, or None if the header is invalid."""
    try:
        return read_header(data)[0].type
    except WireFormatError:
        return None


def read_header(data: bytes) -> tuple[Header, "Reader"]:
    """Parse the header; return it and a reader positioned at the payload."""
    if len(data) < HEADER_BYTES:
        raise WireFormatError(f"message has {len(data)} bytes, shorter than the "
                              f"{HEADER_BYTES}-byte header")
    magic, version, type_byte, context, sender = _HEADER.unpack_from(data)
    if magic != MAGIC:
        raise WireFormatError("message does not start with the secagg magic bytes")
    if version != VERSION:
        raise WireFormatError(f"message has format version {version}; this build reads {VERSION}")
    try:
        message_type = MessageType(type_byte)
    except ValueError:
        raise WireFormatError(f"unknown message type {type_byte}") from None
    return Header(message_type, context, sender), Reader(data, HEADER_BYTES)


class Writer:
    """Builds a message: header first, then payload fields in order."""

    def __init__(self, message_type: MessageType, context: bytes, sender: int):
        if len(context) != CONTEXT_BYTES:
            raise ValueError(f"context must be {CONTEXT_BYTES} bytes, got {len(context)}")
        self._parts = [_HEADER.pack(MAGIC, VERSION, int(message_type), context, sender)]

    def u8(self, value: int) -> "Writer":
        self._parts.append(struct.pack(">B", value))
        return self

    def u32(self, value: int) -> "Writer":
        self._parts.append(struct.pack(">I", value))
        return self

    def raw(self, value: bytes) -> "Writer":
        """Append bytes whose length the reader knows in advance."""
        self._parts.append(bytes(value))
        return self

    def blob(self, value: bytes) -> "Writer":
        """Append a byte string with a 4-byte length prefix."""
        self._parts.append(struct.pack(">I", len(value)))
        self._parts.append(bytes(value))
        return self

    def to_bytes(self) -> bytes:
        return b"".join(self._parts)


class Reader:
    """Reads payload fields; every read checks the remaining length."""

    def __init__(self, data: bytes, offset: int = 0):
        self._data = memoryview(data)
        self._bytes = bytes(data) if type(data) is not bytes else data
        self._offset = offset

    def id_blobs(self, count: int, with_kind: bool = False) -> list[tuple]:
        """Read ``count`` entries of (u32 id, [u8 kind,] blob) in one loop.

        Returns tuples (id, blob) or (id, kind, blob). A server reads n * k of
        these per round, so this avoids a method call per field.
        """
        return self._entries(count, _ID_KIND_LENGTH if with_kind else _ID_LENGTH)

    def id_fixed_blobs(self, count: int, size: int) -> list[tuple[int, bytes, bytes]]:
        """Read ``count`` entries of (u32 id, ``size`` raw bytes, blob) in one loop, like :meth:`id_blobs`."""
        return self._entries(count, struct.Struct(f">I{size}sI"))

    def _entries(self, count: int, head: struct.Struct) -> list[tuple]:
        """Read ``count`` entries of fixed fields ``head``, whose last is a blob length, each with its blob."""
        data, offset, end = self._bytes, self._offset, len(self._bytes)
        entries = []
        for _ in range(count):
            if offset + head.size > end:
                raise WireFormatError(f"message is truncated inside an entry at offset {offset}")
            fields = head.unpack_from(data, offset)
            offset += head.size
            length = fields[-1]
            if offset + length > end:
                raise WireFormatError(f"message is truncated: a {length}-byte field at offset "
                                      f"{offset} runs past the end")
            entries.append((*fields[:-1], data[offset:offset + length]))
            offset += length
        self._offset = offset
        return entries

    def _take(self, size: int) -> memoryview:
        if size < 0 or self._offset + size > len(self._data):
            raise WireFormatError(f"message is truncated: needed {size} more bytes at offset "
                                  f"{self._offset}, {len(self._data) - self._offset} left")
        chunk = self._data[self._offset:self._offset + size]
        self._offset += size
        return chunk

    def u8(self) -> int:
        return self._take(1)[0]

    def u32(self) -> int:
        return struct.unpack(">I", self._take(4))[0]

    def raw(self, size: int) -> bytes:
        return bytes(self._take(size))

    def blob(self, max_length: int = _MAX_LENGTH) -> bytes:
        length = self.u32()
        if length > max_length:
            raise WireFormatError(f"field length {length} exceeds the maximum {max_length}")
        return bytes(self._take(length))

    def count(self, max_count: int) -> int:
        """Read a list length and check it against ``max_count``."""
        value = self.u32()
        if value > max_count:
            raise WireFormatError(f"list has {value} entries, more than the maximum {max_count}")
        return value

    def finish(self) -> None:
        """Check that the whole message was consumed."""
        if self._offset != len(self._data):
            raise WireFormatError(f"message has {len(self._data) - self._offset} trailing bytes")
