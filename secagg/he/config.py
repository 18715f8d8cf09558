"""Public configuration of one CKKS aggregation, checked before the round starts."""

from __future__ import annotations

import hashlib
import math
import numbers
import struct
from dataclasses import dataclass, field

import numpy as np

from secagg._validation import check_bytes, check_int, check_positive_float
from secagg.he import precision
from secagg.he.params import ADD_ONLY, CkksParameters, check_depth, check_headroom
from secagg.primitives.randomness import RandomSource, resolve

AUTHORITY = "authority"
"""Value of ``key_holder`` that selects an external key authority instead of a client."""

AGGREGATION_ID_BYTES = 32
DEFAULT_MIN_CLIENTS = 2
"""Minimum number of inputs in a sum that the key holder decrypts, because a sum of one is that input."""


@dataclass(frozen=True)
class CkksConfig:
    """Parameters that the server, the clients and the key holder of one CKKS run share.

    Build it with :meth:`create`, which checks everything a round needs.
    ``key_holder`` is the party id of the key holder: a client id, or
    ``clients`` for the external key authority, which the simulator runs as
    one more party with that id and no input.
    """

    clients: int
    dim: int
    parameters: CkksParameters
    clip: float
    key_holder: int
    min_clients: int
    weights: tuple[float, ...] | None
    aggregation_id: bytes = field(repr=False)

    @classmethod
    def create(cls, clients: int, dim: int, *, parameters: CkksParameters = ADD_ONLY,
               clip: float = 1.0, key_holder: int | str = 0, min_clients: int = DEFAULT_MIN_CLIENTS,
               weights=None, aggregation_id: bytes | None = None,
               rng: RandomSource | None = None) -> "CkksConfig":
        """Validate the parameters and return a configuration.

        ``clip`` bounds every input value: clients clip to [-clip, clip].
        ``key_holder`` is a client id or ``"authority"``. ``weights`` are
        public positive numbers, one per client, that the server multiplies
        the ciphertexts by (None: a plain sum). Raises ValueError, naming the
        parameter to change, when the parameters are insecure, when the
        weights need more multiplicative depth than the modulus gives, or
        when ``clients`` inputs at the clipping bound could overflow the
        modulus headroom.
        """
        clients = check_int("clients", clients, minimum=2,
                            hint="an aggregate of one client is that client's input")
        dim = check_int("dim", dim, minimum=1)
        if not isinstance(parameters, CkksParameters):
            raise TypeError(f"parameters must be a CkksParameters, got {type(parameters).__name__}; "
                            "use secagg.he.ADD_ONLY or secagg.he.ONE_MULTIPLICATION")
        clip = check_positive_float("clip", clip)
        key_holder = _resolve_key_holder(key_holder, clients)
        min_clients = check_int("min_clients", min_clients, minimum=1, maximum=clients,
                                hint="the key holder cannot wait for more inputs than there are clients")
        weights = _check_weights(weights, clients)
        if aggregation_id is None:
            aggregation_id = resolve(rng).bytes(AGGREGATION_ID_BYTES)
        aggregation_id = check_bytes("aggregation_id", aggregation_id, length=AGGREGATION_ID_BYTES)
        config = cls(clients, dim, parameters, clip, key_holder, min_clients, weights, aggregation_id)

        check_depth(parameters, config.multiplications)
        everyone = list(range(clients))
        largest = float(np.sum(config.weights_of(everyone))) * clip + config.error_bound(everyone)
        description = (f"the weighted sum of {clients} inputs at clip {clip}" if weights is not None
                       else f"the sum of {clients} inputs at clip {clip}")
        check_headroom(parameters, config.multiplications, largest, description)
        return config

    @property
    def multiplications(self) -> int:
        """Plaintext multiplications per ciphertext: 1 with weights, 0 without."""
        return 0 if self.weights is None else 1

    @property
    def authority(self) -> bool:
        """True when the key holder is the external key authority, not a client."""
        return self.key_holder == self.clients

    @property
    def ciphertexts_per_client(self) -> int:
        return self.parameters.ciphertexts_for(self.dim)

    def weights_of(self, clients: list[int]) -> np.ndarray:
        """Return the weights of ``clients`` (all 1 without weights) as float64."""
        if self.weights is None:
            return np.ones(len(clients))
        return np.array([self.weights[c] for c in clients], dtype=np.float64)

    def error_bound(self, included: list[int]) -> float:
        """Return the predicted max absolute error of the decrypted sum over ``included``.

        See :mod:`secagg.he.precision` for the derivation and its failure
        probability.
        """
        return precision.error_bound(self.parameters, self.weights_of(included), self.clip, self.dim,
                                     multiplied=self.weights is not None)

    def digest(self) -> bytes:
        """Return SHA-256 of every field; the header context of every message of the run."""
        parameters = self.parameters
        fields = struct.pack(">IQIdIIII", self.clients, self.dim, parameters.poly_modulus_degree,
                             self.clip, parameters.scale_bits, self.key_holder, self.min_clients,
                             len(parameters.coeff_mod_bit_sizes))
        fields += bytes(parameters.coeff_mod_bit_sizes)
        if self.weights is not None:
            fields += np.asarray(self.weights, dtype=">f8").tobytes()
        return hashlib.sha256(b"secagg/ckks/config/v1" + fields + self.aggregation_id).digest()


def _resolve_key_holder(key_holder: int | str, clients: int) -> int:
    if key_holder == AUTHORITY:
        return clients
    if isinstance(key_holder, str):
        raise ValueError(f"key_holder must be a client id or {AUTHORITY!r}, got {key_holder!r}")
    return check_int("key_holder", key_holder, minimum=0, maximum=clients - 1,
                     hint=f"pass {AUTHORITY!r} for an external key authority")


def _check_weights(weights, clients: int) -> tuple[float, ...] | None:
    if weights is None:
        return None
    values = list(weights)
    if len(values) != clients:
        raise ValueError(f"weights must have one entry per client ({clients}), got {len(values)}")
    checked = []
    for client, value in enumerate(values):
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise TypeError(f"weights[{client}] must be a number, got {type(value).__name__}")
        value = float(value)
        if not (value > 0 and math.isfinite(value)):
            raise ValueError(f"weights[{client}] must be a finite number > 0, got {value}")
        checked.append(value)
    return tuple(checked)
