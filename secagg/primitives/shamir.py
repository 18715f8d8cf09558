"""Shamir t-of-n secret sharing of byte strings over the prime field GF(p).

Field
    ``p = 2**31 + 11 = 2147483659``, the smallest prime above ``2**31``. Every
    31-bit limb of a secret is therefore a field element. The product of two
    elements is at most ``(p - 1)**2 < 2**63``, so the kernels multiply in
    64-bit integers and reduce after every product, and no intermediate value
    overflows ``uint64`` (or ``int64``).

Limb layout
    A secret of ``L`` bytes is read as a little-endian bit string: bit ``j``
    is bit ``j % 8`` of byte ``j // 8``. The bit string is cut into
    ``ceil(8 * L / 31)`` limbs of 31 bits, and limb ``i`` is bits
    ``[31 * i, 31 * i + 31)``. Bits of the last limb past ``8 * L`` are zero.
    A 32-byte secret has 9 limbs and an empty secret has none.

Sharing
    Each limb is the constant term of its own polynomial of degree ``t - 1``.
    The other ``t - 1`` coefficients of every polynomial are independent and
    uniform in GF(p), drawn from the caller's :class:`RandomSource` (by
    default :class:`~secagg.primitives.randomness.SystemRandom`, the OS
    CSPRNG). The share at ``x`` contains all limb polynomials evaluated at ``x``.
    The x-coordinates are ``1..n`` by default or given by the caller. They
    must be distinct and in ``[1, p - 1]``, because the value at ``x = 0`` is
    the secret. Any ``t`` shares determine the secret. Any ``t - 1`` shares
    are uniformly distributed whatever the secret, so they reveal only its
    length. With ``t = 1`` every share equals the secret's limbs.

Reconstruction
    :func:`reconstruct` uses the ``t`` shares with the smallest x-coordinates
    and ignores the rest, which are checked for matching metadata but not for
    consistency. The Lagrange coefficients at ``x = 0`` are computed once per
    set of x-coordinates and kept in an LRU cache of the last
    :data:`LAGRANGE_CACHE_SIZE` sets. A reconstructed limb above 31 bits, or
    non-zero bits past the secret's length, mean that the shares were
    inconsistent, and reconstruction raises ValueError.

Sizes
    A share of an ``L``-byte secret serializes to ``29 + 4 * ceil(8 * L / 31)``
    bytes (65 bytes for ``L = 32``); :meth:`Share.to_bytes` gives the layout.

Thread safety
    The functions keep no mutable state except the LRU cache of Lagrange
    coefficients. ``functools.lru_cache`` keeps it coherent under concurrent
    calls, and it stores read-only arrays. The kernels release the GIL.
    Calls are thread safe when the random source is. ``SystemRandom`` is
    thread safe and ``DeterministicRandom`` is not.

The kernels are compiled with Numba. Their ``py_func`` attribute runs the same
code in plain Python, which the tests compare against.
"""

from __future__ import annotations

import functools
import hmac
import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numba
import numpy as np

from secagg._validation import _describe, check_bytes, check_int
from secagg.errors import WireFormatError
from secagg.primitives import packing, randomness, vectors
from secagg.primitives.randomness import RandomSource

__all__ = [
    "LAGRANGE_CACHE_SIZE",
    "LIMB_BITS",
    "MAX_SECRET_NBYTES",
    "PRIME",
    "SHARING_ID_NBYTES",
    "WIRE_VERSION",
    "Share",
    "known_answer_check",
    "lagrange_coefficients",
    "limb_count",
    "limbs_to_secret",
    "reconstruct",
    "reconstruct_many",
    "secret_to_limbs",
    "serialized_share_nbytes",
    "split",
    "split_many",
]

PRIME = 2**31 + 11
"""The field prime p = 2147483659, the smallest prime above 2**31."""

LIMB_BITS = 31
"""Bits of the secret per limb (field element)."""

SHARING_ID_NBYTES = 16
"""Length in bytes of the random id that all shares of one sharing carry."""

MAX_SECRET_NBYTES = 2**32 - 1
"""Maximum secret length in bytes: the wire format stores it in 32 bits."""

WIRE_VERSION = 1
"""Version byte of :meth:`Share.to_bytes`. Version 1 means field PRIME and 4-byte limbs."""

LAGRANGE_CACHE_SIZE = 64
"""Number of x-coordinate sets whose Lagrange coefficients stay cached."""

_P = np.uint64(PRIME)
_LIMB_MAX = (1 << LIMB_BITS) - 1
_X_HINT = "x = 0 would be the secret itself; use distinct values such as client id + 1"

# Header fields: version, x, threshold, secret length in bytes and sharing id.
# The limbs follow the header.
_HEADER = struct.Struct(">BIII16s")


# ---------------------------------------------------------------------------
# Kernels. Every argument and every stored value is a uint64 below p.
# ---------------------------------------------------------------------------

@numba.njit(cache=True, nogil=True)
def _pow_mod(base, exponent):
    """Return ``base**exponent mod p`` by square and multiply."""
    result = np.uint64(1)
    while exponent > 0:
        if exponent & np.uint64(1):
            result = result * base % _P
        base = base * base % _P
        exponent >>= np.uint64(1)
    return result


@numba.njit(cache=True, nogil=True)
def _evaluate_kernel(coefficients, xs, out):
    """Set ``out[j, k]`` to polynomial ``k`` evaluated at ``xs[j]`` (Horner's rule).

    ``coefficients[k, d]`` is the coefficient of ``x**d`` in polynomial ``k``.
    The innermost loop runs over the points, so its steps are independent and
    the CPU can overlap their multiplications.
    """
    count, terms = coefficients.shape
    points = xs.shape[0]
    accumulators = np.empty(points, dtype=np.uint64)
    for k in range(count):
        leading = coefficients[k, terms - 1]
        for j in range(points):
            accumulators[j] = leading
        for d in range(terms - 2, -1, -1):
            coefficient = coefficients[k, d]
            for j in range(points):
                # accumulator * x + coefficient <= (p - 1)**2 + p - 1 < 2**63.
                accumulators[j] = (accumulators[j] * xs[j] + coefficient) % _P
        for j in range(points):
            out[j, k] = accumulators[j]


@numba.njit(cache=True, nogil=True)
def _lagrange_kernel(xs, out):
    """Set ``out[i]`` to the Lagrange coefficient of ``xs[i]`` at ``x = 0``.

    ``out[i] = prod_{j != i} x_j / (x_j - x_i)``, which equals
    ``N / D_i`` with ``N = prod_j x_j`` and ``D_i = x_i * prod_{j != i} (x_j - x_i)``.
    The ``D_i`` take ``t**2`` multiplications. They are inverted together by
    Montgomery's batch inversion: one Fermat inversion ``a**(p - 2)`` of their
    product and ``3 * t`` multiplications. The xs must be distinct and non-zero.
    """
    count = xs.shape[0]

    denominators = np.empty(count, dtype=np.uint64)
    for i in range(count):
        denominators[i] = xs[i]
    for j in range(count):
        x_j = xs[j]
        for i in range(count):
            if i != j:
                difference = (x_j + _P - xs[i]) % _P
                denominators[i] = denominators[i] * difference % _P

    numerator = np.uint64(1)
    for j in range(count):
        numerator = numerator * xs[j] % _P

    # prefix[i] is the product of denominators[0..i].
    prefix = np.empty(count, dtype=np.uint64)
    running = np.uint64(1)
    for i in range(count):
        running = running * denominators[i] % _P
        prefix[i] = running
    # Invariant: inverse is the inverse of prefix[i] at the top of step i.
    inverse = _pow_mod(running, _P - np.uint64(2))
    for i in range(count - 1, 0, -1):
        out[i] = numerator * (inverse * prefix[i - 1] % _P) % _P
        inverse = inverse * denominators[i] % _P
    if count > 0:
        out[0] = numerator * inverse % _P


@numba.njit(cache=True, nogil=True)
def _combine_kernel(weights, values, out):
    """Set ``out[k]`` to ``sum_i weights[i] * values[i, k] mod p``."""
    count, width = values.shape
    for k in range(width):
        out[k] = np.uint64(0)
    for i in range(count):
        weight = weights[i]
        for k in range(width):
            # out[k] + weight * value <= p - 1 + (p - 1)**2 < 2**63.
            out[k] = (out[k] + weight * values[i, k]) % _P


# ---------------------------------------------------------------------------
# Limb encoding of secrets.
# ---------------------------------------------------------------------------

def limb_count(secret_nbytes: int) -> int:
    """Return the number of 31-bit limbs of a secret of ``secret_nbytes`` bytes."""
    secret_nbytes = check_int("secret_nbytes", secret_nbytes, minimum=0,
                              maximum=MAX_SECRET_NBYTES)
    return (8 * secret_nbytes + LIMB_BITS - 1) // LIMB_BITS


def serialized_share_nbytes(secret_nbytes: int) -> int:
    """Return the length in bytes of :meth:`Share.to_bytes` for a ``secret_nbytes``-byte secret."""
    return _HEADER.size + 4 * limb_count(secret_nbytes)


def secret_to_limbs(secret: bytes) -> np.ndarray:
    """Cut ``secret`` into 31-bit limbs (layout in the module docstring) as uint64."""
    secret = check_bytes("secret", secret)
    if len(secret) > MAX_SECRET_NBYTES:
        raise ValueError(f"secret must be at most {MAX_SECRET_NBYTES} bytes long, "
                         f"got {len(secret)} bytes")
    count = limb_count(len(secret))
    padding = bytes(packing.packed_size(count, LIMB_BITS) - len(secret))
    return packing.unpack_stream(secret + padding, LIMB_BITS, count)


def limbs_to_secret(limbs: np.ndarray, secret_nbytes: int) -> bytes:
    """Join 31-bit limbs into a secret of ``secret_nbytes`` bytes.

    This is the inverse of :func:`secret_to_limbs`.

    Raises ValueError if a limb is negative or above 31 bits, or if the limbs
    have non-zero bits past ``8 * secret_nbytes``: nothing is truncated.
    """
    secret_nbytes = check_int("secret_nbytes", secret_nbytes, minimum=0,
                              maximum=MAX_SECRET_NBYTES)
    limbs = _check_integer_array("limbs", limbs, limb_count(secret_nbytes))
    if limbs.size and limbs.dtype.kind == "i" and limbs.min() < 0:
        bad = int(np.flatnonzero(limbs < 0)[0])
        raise ValueError(f"limbs[{bad}] is negative; limbs must be in [0, 2**31)")
    limbs = limbs.astype(np.uint64)
    if limbs.size and int(limbs.max()) > _LIMB_MAX:
        bad = int(np.flatnonzero(limbs > _LIMB_MAX)[0])
        raise ValueError(f"limbs[{bad}] does not fit in {LIMB_BITS} bits")

    packed = packing.pack(limbs, LIMB_BITS)
    if any(packed[secret_nbytes:]):
        raise ValueError(f"limbs have non-zero bits past the secret length of "
                         f"{secret_nbytes} bytes")
    return packed[:secret_nbytes]


def _check_integer_array(name: str, values: Any, length: int) -> np.ndarray:
    """Return ``values`` as a 1-D integer array of ``length`` elements."""
    array = np.asarray(values)
    # np.asarray([]) is float64, so an empty float array passes as zero integers.
    if array.dtype.kind not in "ui" and not (array.size == 0 and array.dtype.kind == "f"):
        raise TypeError(f"{name} must be an array of integers, got dtype {array.dtype}")
    if array.shape != (length,):
        raise ValueError(f"{name} must have shape ({length},), got shape {array.shape}")
    return array.astype(np.int64) if array.dtype.kind == "f" else array


# ---------------------------------------------------------------------------
# Shares and their wire format.
# ---------------------------------------------------------------------------

@dataclass(frozen=True, eq=False)
class Share:
    """One party's share of one secret: every limb polynomial evaluated at ``x``.

    The constructor validates every field and stores ``limbs`` as a read-only
    uint64 copy. Equality compares all fields, the limbs in constant time.
    ``repr`` omits the limbs, so logging a share does not log its values.
    """

    x: int
    """The x-coordinate, in ``[1, prime - 1]``."""

    limbs: np.ndarray = field(repr=False)
    """The y-values, one field element (``< prime``) per limb of the secret."""

    threshold: int
    """Number of shares that reconstruct the secret (t)."""

    secret_nbytes: int
    """Length of the secret in bytes."""

    sharing_id: bytes
    """16 random bytes drawn at split time and shared by all shares of one sharing."""

    prime: int = PRIME
    """The field prime, not checked for primality. Only PRIME can be split and reconstructed."""

    def __post_init__(self) -> None:
        prime = check_int("prime", self.prime, minimum=3, maximum=2**64)
        x = check_int("x", self.x, minimum=1, maximum=prime - 1, hint=_X_HINT)
        threshold = check_int("threshold", self.threshold, minimum=1, maximum=prime - 1)
        secret_nbytes = check_int("secret_nbytes", self.secret_nbytes, minimum=0,
                                  maximum=MAX_SECRET_NBYTES)
        sharing_id = check_bytes("sharing_id", self.sharing_id, length=SHARING_ID_NBYTES)
        limbs = _check_field_elements("limbs", self.limbs, limb_count(secret_nbytes), prime)

        limbs = limbs.astype(np.uint64)  # always a copy, so the caller keeps no writable alias
        limbs.setflags(write=False)
        self._set_fields(x, limbs, threshold, secret_nbytes, sharing_id, prime)

    def _set_fields(self, x: int, limbs: np.ndarray, threshold: int,
                    secret_nbytes: int, sharing_id: bytes, prime: int) -> None:
        object.__setattr__(self, "x", x)
        object.__setattr__(self, "limbs", limbs)
        object.__setattr__(self, "threshold", threshold)
        object.__setattr__(self, "secret_nbytes", secret_nbytes)
        object.__setattr__(self, "sharing_id", sharing_id)
        object.__setattr__(self, "prime", prime)

    @classmethod
    def _from_checked(cls, x: int, limbs: np.ndarray, threshold: int,
                      secret_nbytes: int, sharing_id: bytes) -> Share:
        """Build a share over PRIME from fields that the caller has validated.

        ``limbs`` must be a read-only uint64 array of field elements.
        """
        share = object.__new__(cls)
        share._set_fields(x, limbs, threshold, secret_nbytes, sharing_id, PRIME)
        return share

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Share):
            return NotImplemented
        return (self.x == other.x
                and self.threshold == other.threshold
                and self.secret_nbytes == other.secret_nbytes
                and self.sharing_id == other.sharing_id
                and self.prime == other.prime
                and hmac.compare_digest(self.limbs.tobytes(), other.limbs.tobytes()))

    def __hash__(self) -> int:
        return hash((self.x, self.threshold, self.secret_nbytes, self.sharing_id, self.prime))

    def to_bytes(self) -> bytes:
        """Serialize the share to the version-1 wire format.

        All integers are big-endian:

        ======  ==============================  ===========================
        offset  size in bytes                   field
        ======  ==============================  ===========================
        0       1                               version, 1
        1       4                               x
        5       4                               threshold
        9       4                               secret length L in bytes
        13      16                              sharing id
        29      4 * ceil(8 * L / 31)            limbs, one uint32 each
        ======  ==============================  ===========================

        Version 1 implies the field PRIME, so the prime is not written.
        Raises ValueError for a share over another prime.
        """
        if self.prime != PRIME:
            raise ValueError(f"wire format version {WIRE_VERSION} encodes only shares over "
                             f"prime {PRIME}, got a share over prime {self.prime}")
        header = _HEADER.pack(WIRE_VERSION, self.x, self.threshold, self.secret_nbytes,
                              self.sharing_id)
        return header + self.limbs.astype(">u4").tobytes()

    @classmethod
    def from_bytes_many(cls, items: Sequence[bytes], secret_nbytes: int) -> list[Share | None]:
        """Parse many serialized shares of ``secret_nbytes``-byte secrets at once.

        Returns one Share per item, or None for an item that :meth:`from_bytes`
        would reject. The checks are the same, done on all items together
        with NumPy, which makes a server's thousands of shares per round cheap.
        """
        size = serialized_share_nbytes(secret_nbytes)
        count = limb_count(secret_nbytes)
        fits = [type(item) is bytes and len(item) == size for item in items]
        good = [item for item, ok in zip(items, fits) if ok]
        if not good:
            return [None] * len(items)
        block = np.frombuffer(b"".join(good), dtype=np.uint8).reshape(len(good), size)
        version = block[:, 0]
        x = block[:, 1:5].copy().view(">u4").ravel().astype(np.int64)
        threshold = block[:, 5:9].copy().view(">u4").ravel().astype(np.int64)
        length = block[:, 9:13].copy().view(">u4").ravel().astype(np.int64)
        limbs = block[:, _HEADER.size:].copy().view(">u4").astype(np.uint64).reshape(len(good), count)
        valid = ((version == WIRE_VERSION) & (x >= 1) & (x <= PRIME - 1) & (threshold >= 1)
                 & (threshold <= PRIME - 1) & (length == secret_nbytes)
                 & np.all(limbs < PRIME, axis=1))
        limbs.setflags(write=False)
        parsed = iter(range(len(good)))
        out: list[Share | None] = []
        for ok in fits:
            if not ok:
                out.append(None)
                continue
            row = next(parsed)
            if not valid[row]:
                out.append(None)
                continue
            out.append(cls._from_checked(int(x[row]), limbs[row], int(threshold[row]), secret_nbytes,
                                         bytes(block[row, 13:29])))
        return out

    @classmethod
    def from_bytes(cls, data: bytes) -> Share:
        """Parse the output of :meth:`to_bytes`.

        Raises WireFormatError if ``data`` is truncated, too long, of another
        version or contains an invalid field (x outside ``[1, p - 1]``, threshold 0,
        a limb ``>= p``). Raises TypeError if ``data`` is not bytes-like.
        """
        data = check_bytes("data", data)
        if len(data) < _HEADER.size:
            raise WireFormatError(f"share is truncated: the header needs {_HEADER.size} bytes, "
                                  f"got {len(data)} bytes")
        version, x, threshold, secret_nbytes, sharing_id = _HEADER.unpack_from(data)
        if version != WIRE_VERSION:
            raise WireFormatError(f"share has wire format version {version}, but only "
                                  f"version {WIRE_VERSION} is supported")
        expected = serialized_share_nbytes(secret_nbytes)
        if len(data) != expected:
            problem = "truncated" if len(data) < expected else "too long"
            raise WireFormatError(f"share is {problem}: a {secret_nbytes}-byte secret needs "
                                  f"{expected} bytes, got {len(data)} bytes")

        limbs = np.frombuffer(data, dtype=">u4", offset=_HEADER.size)
        try:
            return cls(x=x, limbs=limbs, threshold=threshold, secret_nbytes=secret_nbytes,
                       sharing_id=sharing_id)
        except ValueError as error:
            raise WireFormatError(f"share has an invalid field: {error}") from error


def _check_field_elements(name: str, values: Any, length: int, prime: int) -> np.ndarray:
    """Return ``values`` as ``length`` integers in ``[0, prime)``.

    The message does not show the offending value, because it may be a share.
    """
    array = _check_integer_array(name, values, length)
    if array.size and array.dtype.kind == "i" and array.min() < 0:
        bad = int(np.flatnonzero(array < 0)[0])
        raise ValueError(f"{name} must be field elements in [0, {prime}), "
                         f"but {name}[{bad}] is negative")
    if array.size and int(array.max()) >= prime:
        bad = next(index for index, value in enumerate(array.tolist()) if value >= prime)
        raise ValueError(f"{name} must be field elements in [0, {prime}), "
                         f"but {name}[{bad}] is >= {prime}; reduce it modulo the prime")
    return array


# ---------------------------------------------------------------------------
# Splitting.
# ---------------------------------------------------------------------------

def split(secret: bytes, threshold: int, num_shares: int | None = None, *,
          x_coordinates: Sequence[int] | None = None,
          rng: RandomSource | None = None) -> list[Share]:
    """Split ``secret`` into shares such that any ``threshold`` of them reconstruct it.

    Give ``num_shares`` for the x-coordinates ``1..num_shares``, or
    ``x_coordinates`` explicitly (distinct, in ``[1, p - 1]``), or both if
    they agree. Returns one share per x-coordinate, in the same order.
    ``rng`` supplies the sharing id and the coefficients, in that order.
    """
    return split_many([secret], threshold, num_shares, x_coordinates=x_coordinates,
                      rng=rng)[0]


def split_many(secrets: Sequence[bytes], threshold: int, num_shares: int | None = None, *,
               x_coordinates: Sequence[int] | None = None,
               rng: RandomSource | None = None) -> list[list[Share]]:
    """Split several secrets at the same x-coordinates in one kernel call.

    Each secret gets its own sharing id and its own random polynomials, so
    its shares are distributed exactly as those of :func:`split`. Returns ``result[s][j]``,
    the share of ``secrets[s]`` at the ``j``-th x-coordinate. The arguments are
    those of :func:`split`. ``rng`` supplies the sharing ids in the order of
    ``secrets``, then all coefficients in one call.
    """
    secrets = _check_secrets(secrets)
    xs = _resolve_x_coordinates(num_shares, x_coordinates)
    threshold = check_int("threshold", threshold, minimum=1, maximum=len(xs),
                          hint="the threshold cannot exceed the number of shares")
    rng = randomness.resolve(rng)

    sharing_ids = [rng.bytes(SHARING_ID_NBYTES) for _ in secrets]
    secret_limbs = [secret_to_limbs(secret) for secret in secrets]
    total = sum(limbs.size for limbs in secret_limbs)
    coefficients = np.empty((total, threshold), dtype=np.uint64)
    if secret_limbs:
        coefficients[:, 0] = np.concatenate(secret_limbs)
    random_terms = np.asarray(rng.uniform(PRIME, total * (threshold - 1)), dtype=np.uint64)
    coefficients[:, 1:] = random_terms.reshape(total, threshold - 1)

    values = _evaluate(coefficients, xs)
    result = []
    start = 0
    for secret, sharing_id, limbs in zip(secrets, sharing_ids, secret_limbs):
        block = values[:, start:start + limbs.size]
        result.append(_make_shares(block, xs, threshold, len(secret), sharing_id))
        start += limbs.size
    return result


def _shares_from_coefficients(coefficients: np.ndarray, x_coordinates: Sequence[int],
                              secret_nbytes: int, sharing_id: bytes) -> list[Share]:
    """Evaluate given polynomials; for known-answer and consistency tests only.

    ``coefficients[k, d]`` is the coefficient of ``x**d`` for limb ``k``, so
    column 0 contains the secret's limbs. The threshold is the number of columns.
    Column 0 is not checked against the limb layout, and there may be fewer
    x-coordinates than coefficients, so that tests can build inconsistent
    sharings and partial share sets.
    """
    secret_nbytes = check_int("secret_nbytes", secret_nbytes, minimum=0,
                              maximum=MAX_SECRET_NBYTES)
    sharing_id = check_bytes("sharing_id", sharing_id, length=SHARING_ID_NBYTES)
    xs = _check_x_coordinates("x_coordinates", x_coordinates)
    array = np.asarray(coefficients)
    if array.ndim != 2 or array.shape[0] != limb_count(secret_nbytes) or array.shape[1] < 1:
        raise ValueError(f"coefficients must have shape ({limb_count(secret_nbytes)}, t) "
                         f"with t >= 1, got shape {array.shape}")
    flat = _check_field_elements("coefficients", array.reshape(-1), array.size, PRIME)
    threshold = array.shape[1]

    values = _evaluate(flat.astype(np.uint64).reshape(array.shape), xs)
    return _make_shares(values, xs, threshold, secret_nbytes, sharing_id)


def _evaluate(coefficients: np.ndarray, xs: list[int]) -> np.ndarray:
    """Return the ``(len(xs), limbs)`` matrix of all polynomials at all xs."""
    coefficients = np.ascontiguousarray(coefficients, dtype=np.uint64)
    points = np.asarray(xs, dtype=np.uint64)
    out = np.empty((points.size, coefficients.shape[0]), dtype=np.uint64)
    _evaluate_kernel(coefficients, points, out)
    return out


def _make_shares(values: np.ndarray, xs: list[int], threshold: int,
                 secret_nbytes: int, sharing_id: bytes) -> list[Share]:
    """Wrap row ``j`` of ``values`` as the share at ``xs[j]``."""
    block = np.array(values, dtype=np.uint64, order="C")  # a private copy
    block.setflags(write=False)
    return [Share._from_checked(x, block[j], threshold, secret_nbytes, sharing_id)
            for j, x in enumerate(xs)]


def _check_secrets(secrets: Any) -> list[bytes]:
    if isinstance(secrets, (bytes, bytearray, memoryview)):
        raise TypeError("secrets must be a sequence of bytes objects, got a single bytes "
                        "object; use split() or wrap it in a list")
    if not isinstance(secrets, Iterable):
        raise TypeError(f"secrets must be a sequence of bytes objects, got {_describe(secrets)}")
    checked = [check_bytes(f"secrets[{index}]", secret) for index, secret in enumerate(secrets)]
    for index, secret in enumerate(checked):
        if len(secret) > MAX_SECRET_NBYTES:
            raise ValueError(f"secrets[{index}] must be at most {MAX_SECRET_NBYTES} bytes long, "
                             f"got {len(secret)} bytes")
    return checked


def _resolve_x_coordinates(num_shares: int | None,
                           x_coordinates: Sequence[int] | None) -> list[int]:
    if num_shares is None and x_coordinates is None:
        raise TypeError("pass num_shares or x_coordinates to say which shares to make")
    if num_shares is not None:
        num_shares = check_int("num_shares", num_shares, minimum=1, maximum=PRIME - 1)
    if x_coordinates is None:
        return list(range(1, num_shares + 1))

    xs = _check_x_coordinates("x_coordinates", x_coordinates)
    if num_shares is not None and num_shares != len(xs):
        raise ValueError(f"num_shares must equal len(x_coordinates) = {len(xs)} when both "
                         f"are given, got {num_shares}; pass only one of them")
    return xs


def _check_x_coordinates(name: str, values: Any) -> list[int]:
    """Return ``values`` as a non-empty list of distinct ints in ``[1, p - 1]``."""
    if isinstance(values, (str, bytes)) or not isinstance(values, Iterable):
        raise TypeError(f"{name} must be a sequence of integers, got {_describe(values)}")
    xs = [check_int(f"{name}[{index}]", value, minimum=1, maximum=PRIME - 1, hint=_X_HINT)
          for index, value in enumerate(values)]
    if not xs:
        raise ValueError(f"{name} must contain at least 1 x-coordinate, got none")
    first_index: dict[int, int] = {}
    for index, x in enumerate(xs):
        if x in first_index:
            raise ValueError(f"{name} must be distinct, but {name}[{index}] = {x} duplicates "
                             f"{name}[{first_index[x]}]; give each party its own x-coordinate")
        first_index[x] = index
    return xs


# ---------------------------------------------------------------------------
# Reconstruction.
# ---------------------------------------------------------------------------

def lagrange_coefficients(x_coordinates: Sequence[int]) -> np.ndarray:
    """Return the Lagrange coefficients at ``x = 0`` for ``x_coordinates``, in the order given.

    The secret's limbs are ``sum_i coefficient[i] * y_i mod p``. The result is
    a read-only uint64 array, cached per tuple of x-coordinates.
    """
    xs = _check_x_coordinates("x_coordinates", x_coordinates)
    return _lagrange_cached(tuple(xs))


@functools.lru_cache(maxsize=LAGRANGE_CACHE_SIZE)
def _lagrange_cached(xs: tuple[int, ...]) -> np.ndarray:
    out = np.empty(len(xs), dtype=np.uint64)
    _lagrange_kernel(np.asarray(xs, dtype=np.uint64), out)
    out.setflags(write=False)
    return out


def reconstruct(shares: Sequence[Share]) -> bytes:
    """Return the secret that ``shares`` encode.

    Uses the ``threshold`` shares with the smallest x-coordinates. Raises
    ValueError if fewer than ``threshold`` shares are given, if x-coordinates
    repeat, if the shares differ in prime, threshold, secret length or sharing
    id, or if the result is not a valid secret, which means the shares used
    were inconsistent. Raises TypeError for an element that is not a Share.
    """
    return _reconstruct_selected([_select_shares("shares", shares)])[0]


def reconstruct_many(share_sets: Sequence[Sequence[Share]]) -> list[bytes]:
    """Reconstruct several secrets, one per element of ``share_sets``.

    Each set follows the rules of :func:`reconstruct`. Sets whose chosen
    shares have the same x-coordinates share one Lagrange computation and one
    kernel call, which is the case when a server recovers many secrets from
    the same surviving parties.
    """
    if isinstance(share_sets, Share) or not isinstance(share_sets, Iterable):
        raise TypeError(f"share_sets must be a sequence of share sequences, "
                        f"got {_describe(share_sets)}")
    chosen_sets = [_select_shares(f"share_sets[{index}]", shares)
                   for index, shares in enumerate(share_sets)]
    return _reconstruct_selected(chosen_sets)


def _reconstruct_selected(chosen_sets: list[list[Share]]) -> list[bytes]:
    """Interpolate each validated set at x = 0, one kernel call per x-coordinate set."""
    groups: dict[tuple[int, ...], list[int]] = {}
    for index, chosen in enumerate(chosen_sets):
        groups.setdefault(tuple(share.x for share in chosen), []).append(index)

    secrets: list[bytes] = [b""] * len(chosen_sets)
    for xs, indices in groups.items():
        values = np.concatenate(
            [np.stack([share.limbs for share in chosen_sets[index]]) for index in indices],
            axis=1)
        limbs = np.empty(values.shape[1], dtype=np.uint64)
        _combine_kernel(_lagrange_cached(xs), np.ascontiguousarray(values), limbs)

        start = 0
        for index in indices:
            first = chosen_sets[index][0]
            stop = start + first.limbs.size
            secrets[index] = _decode_reconstructed(limbs[start:stop], first.secret_nbytes)
            start = stop
    return secrets


_MISMATCH_REASONS = {
    "prime": "the shares are over different fields",
    "threshold": "the shares have different thresholds",
    "secret_nbytes": "the shares are of secrets of different lengths",
    "sharing_id": "the shares come from different sharings",
}


def _select_shares(name: str, shares: Any) -> list[Share]:
    """Validate one share set and return its ``threshold`` shares with the smallest x."""
    if isinstance(shares, Share):
        raise TypeError(f"{name} must be a sequence of Share, got a single Share; "
                        f"wrap it in a list")
    if not isinstance(shares, Iterable):
        raise TypeError(f"{name} must be a sequence of Share, got {_describe(shares)}")
    shares = list(shares)
    for index, share in enumerate(shares):
        if not isinstance(share, Share):
            raise TypeError(f"{name}[{index}] must be a Share, got {_describe(share)}")
    if not shares:
        raise ValueError(f"{name} must contain at least 1 share, got none")

    first = shares[0]
    if first.prime != PRIME:
        raise ValueError(f"{name}[0].prime must be {PRIME}, the field of this module, "
                         f"got {first.prime}")
    first_index: dict[int, int] = {}
    for index, share in enumerate(shares):
        for attribute, reason in _MISMATCH_REASONS.items():
            if getattr(share, attribute) != getattr(first, attribute):
                raise ValueError(
                    f"{name}[{index}].{attribute} must equal {name}[0].{attribute} = "
                    f"{getattr(first, attribute)!r}, got {getattr(share, attribute)!r}: "
                    f"{reason}; pass shares of one sharing only")
        if share.x in first_index:
            raise ValueError(f"{name}[{index}].x = {share.x} duplicates "
                             f"{name}[{first_index[share.x]}].x; pass each party's share once")
        first_index[share.x] = index
    if len(shares) < first.threshold:
        raise ValueError(f"{name} must contain at least threshold = {first.threshold} shares, "
                         f"got {len(shares)}; collect more shares before reconstructing")

    shares.sort(key=lambda share: share.x)
    return shares[:first.threshold]


def _decode_reconstructed(limbs: np.ndarray, secret_nbytes: int) -> bytes:
    try:
        return limbs_to_secret(limbs, secret_nbytes)
    except ValueError as error:
        raise ValueError(f"reconstruction failed because the shares are inconsistent "
                         f"(corrupted, or mixed from sharings with one sharing id): {error}"
                         ) from None


# ---------------------------------------------------------------------------
# Known-answer check.
# ---------------------------------------------------------------------------

def known_answer_check() -> None:
    """Check this module against the known-answer vectors in ``vectors/shamir.json``.

    The vectors come from ``vectors/make_shamir_vectors.py``, which uses only
    Python integers. Raises AssertionError naming the first vector and field
    that differ.
    """
    document = _load_vectors()
    if document["prime"] != PRIME or document["limb_bits"] != LIMB_BITS:
        raise AssertionError("shamir vectors are for another prime or limb width")
    if document["wire_version"] != WIRE_VERSION:
        raise AssertionError("shamir vectors are for another wire format version")
    for vector in document["vectors"]:
        _check_vector(vector)


def _load_vectors() -> dict:
    return vectors.load("shamir")


def _check_vector(vector: dict) -> None:
    """Raise AssertionError unless this module reproduces ``vector``."""
    name = vector["name"]
    secret = bytes.fromhex(vector["secret_hex"])
    threshold = vector["threshold"]
    xs = vector["x_coordinates"]
    sharing_id = bytes.fromhex(vector["sharing_id_hex"])
    coefficients = np.array(vector["coefficients"], dtype=np.uint64).reshape(-1, threshold)

    if not np.array_equal(secret_to_limbs(secret), coefficients[:, 0]):
        raise AssertionError(f"shamir vector {name!r}: limbs of the secret differ")
    shares = _shares_from_coefficients(coefficients, xs, len(secret), sharing_id)
    for share, expected, wire_hex in zip(shares, vector["shares"],
                                         vector["serialized_shares_hex"], strict=True):
        if share.limbs.tolist() != expected:
            raise AssertionError(f"shamir vector {name!r}: share at x = {share.x} differs")
        if share.to_bytes().hex() != wire_hex:
            raise AssertionError(f"shamir vector {name!r}: serialized share at x = {share.x} "
                                 f"differs")
        if Share.from_bytes(bytes.fromhex(wire_hex)) != share:
            raise AssertionError(f"shamir vector {name!r}: parsed share at x = {share.x} differs")

    lagrange = lagrange_coefficients(vector["reconstruction_x_coordinates"])
    if lagrange.tolist() != vector["lagrange_coefficients"]:
        raise AssertionError(f"shamir vector {name!r}: Lagrange coefficients differ")
    if reconstruct(shares) != secret:
        raise AssertionError(f"shamir vector {name!r}: reconstructed secret differs")
