"""Public parameters of one pairwise-masking aggregation, and its session id.

Every party builds the same :class:`MaskingConfig`. Its digest binds the
round-0 messages; the session id, a hash of the digest and of every round-0
public key, binds everything after round 0: key derivation, AEAD associated
data and PRG domains. Fresh keys in every aggregation make every session id,
and so every mask, new.
"""

from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass, field

import numpy as np

from secagg._validation import check_bytes, check_int
from secagg.primitives.packing import MAX_WIDTH, bit_width
from secagg.primitives.randomness import RandomSource, resolve

AGGREGATION_ID_BYTES = 32


def modulus_for(clients: int, input_bits: int) -> int:
    """Return the smallest power of two R with ``clients * (2**input_bits - 1) < R``."""
    clients = check_int("clients", clients, minimum=1)
    input_bits = check_int("input_bits", input_bits, minimum=1, maximum=MAX_WIDTH)
    largest_sum = clients * (2**input_bits - 1)
    width = max(1, largest_sum.bit_length())
    if width > MAX_WIDTH:
        raise ValueError(f"the sum of {clients} inputs of {input_bits} bits needs {width} bits, "
                         f"more than the {MAX_WIDTH} this package supports; use fewer bits "
                         "per input or fewer clients")
    return 1 << width


@dataclass(frozen=True)
class MaskingConfig:
    """Parameters of SecAgg (``degree`` None: complete graph) or SecAgg+.

    Build it with :meth:`create`, which validates every field.
    """

    clients: int
    dim: int
    input_bits: int
    modulus: int
    threshold: int
    degree: int | None
    active: bool
    aggregation_id: bytes = field(repr=False)

    @classmethod
    def create(cls, clients: int, dim: int, input_bits: int, threshold: int,
               degree: int | None = None, *, active: bool = False,
               modulus: int | None = None, aggregation_id: bytes | None = None,
               rng: RandomSource | None = None) -> "MaskingConfig":
        """Validate the parameters and return a configuration.

        ``degree`` is the number of neighbours of each client in the SecAgg+
        graph (even, < clients); None or ``clients - 1`` means every client
        is every other client's neighbour (SecAgg). Each client's secrets are
        shared among its neighbours and itself, so ``threshold`` is at most
        ``degree + 1``. ``modulus`` defaults to :func:`modulus_for`.
        ``aggregation_id`` is a fresh 32-byte value per aggregation, drawn
        from ``rng`` (the OS by default) when omitted.
        """
        clients = check_int("clients", clients, minimum=2, maximum=2**31,
                            hint="secure aggregation needs at least 2 clients")
        dim = check_int("dim", dim, minimum=1)
        input_bits = check_int("input_bits", input_bits, minimum=1, maximum=MAX_WIDTH)
        needed = modulus_for(clients, input_bits)
        if modulus is None:
            modulus = needed
        modulus = check_int("modulus", modulus, minimum=needed, maximum=2**MAX_WIDTH,
                            hint=f"the sum of {clients} inputs of {input_bits} bits "
                                 f"must not wrap modulo R")
        if degree is not None:
            degree = check_int("degree", degree, minimum=2, maximum=clients - 1,
                               hint="use None for the complete graph (SecAgg)")
            if degree == clients - 1:
                degree = None
            elif degree % 2:
                raise ValueError(f"degree must be even for a Harary graph, got {degree}; "
                                 f"use {degree + 1}")
        holders = clients if degree is None else degree + 1
        threshold = check_int("threshold", threshold, minimum=1, maximum=holders,
                              hint=f"each secret has {holders} share holders "
                                   "(the neighbours and the client itself)")
        if aggregation_id is None:
            aggregation_id = resolve(rng).bytes(AGGREGATION_ID_BYTES)
        aggregation_id = check_bytes("aggregation_id", aggregation_id, length=AGGREGATION_ID_BYTES)
        return cls(clients, dim, input_bits, modulus, threshold, degree, bool(active), aggregation_id)

    @property
    def width(self) -> int:
        """Bits per element of a packed masked vector: ceil(log2 R)."""
        return bit_width(self.modulus)

    @property
    def complete_graph(self) -> bool:
        """True for SecAgg, where every client neighbours every other."""
        return self.degree is None

    @property
    def protocol_name(self) -> str:
        return "secagg" if self.complete_graph else "secagg+"

    def digest(self) -> bytes:
        """Return the 32-byte hash of every field; binds the round-0 messages."""
        fields = struct.pack(">IQBQIIB", self.clients, self.dim, self.input_bits, self.modulus,
                             self.threshold, self.degree or 0, self.active)
        return hashlib.sha256(b"secagg/config/v1" + fields + self.aggregation_id).digest()

    def session_id(self, keys: dict[int, tuple[bytes, bytes]]) -> bytes:
        """Hash the digest and every round-0 (channel, mask) public key, by client id."""
        hasher = hashlib.sha256(b"secagg/session/v1" + self.digest())
        for client in sorted(keys):
            channel, mask = keys[client]
            hasher.update(client.to_bytes(4, "big") + channel + mask)
        return hasher.digest()

    def neighbours(self, session_id: bytes, client: int) -> np.ndarray:
        """Return the sorted neighbour ids of ``client`` in this session's graph."""
        from secagg.protocols.masking.graph import session_neighbours

        return session_neighbours(self, session_id, client)
