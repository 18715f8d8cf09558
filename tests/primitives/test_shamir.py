"""Tests of Shamir secret sharing over GF(2**31 + 11)."""

from __future__ import annotations

import copy
import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from secagg.errors import WireFormatError
from secagg.primitives import shamir
from secagg.primitives.randomness import DeterministicRandom

P = shamir.PRIME
field_elements = st.integers(min_value=0, max_value=P - 1)
nonzero_elements = st.integers(min_value=1, max_value=P - 1)
secrets = st.binary(min_size=0, max_size=100)
seeds = st.integers(min_value=0, max_value=2**64)


# ---------------------------------------------------------------------------
# Independent references with Python integers.
# ---------------------------------------------------------------------------

def reference_limbs(secret: bytes) -> list[int]:
    value = int.from_bytes(secret, "little")
    count = math.ceil(8 * len(secret) / 31)
    return [(value >> (31 * i)) % 2**31 for i in range(count)]


def reference_evaluate(coefficients: list[int], x: int) -> int:
    result = 0
    for coefficient in reversed(coefficients):
        result = (result * x + coefficient) % P
    return result


def reference_lagrange(xs: list[int]) -> list[int]:
    weights = []
    for i, x_i in enumerate(xs):
        weight = 1
        for j, x_j in enumerate(xs):
            if j != i:
                weight = weight * x_j * pow(x_j - x_i, -1, P) % P
        weights.append(weight)
    return weights


def interpolate_coefficients(points: list[tuple[int, int]]) -> list[int]:
    """Return the ascending coefficients of the polynomial of degree < len(points) through points."""
    result = [0] * len(points)
    for i, (x_i, y_i) in enumerate(points):
        basis = [1]
        scale = 1
        for j, (x_j, _) in enumerate(points):
            if j == i:
                continue
            # Multiply basis by (x - x_j).
            basis = [(low - x_j * high) % P
                     for low, high in zip([0] + basis, basis + [0])]
            scale = scale * (x_i - x_j) % P
        factor = y_i * pow(scale, -1, P) % P
        for degree, coefficient in enumerate(basis):
            result[degree] = (result[degree] + factor * coefficient) % P
    return result


def make_share(**changes) -> shamir.Share:
    fields = dict(x=1, limbs=np.zeros(9, dtype=np.uint64), threshold=2, secret_nbytes=32,
                  sharing_id=bytes(16))
    fields.update(changes)
    return shamir.Share(**fields)


# ---------------------------------------------------------------------------
# Field and limb layout.
# ---------------------------------------------------------------------------

def is_prime(n: int) -> bool:
    return n >= 2 and all(n % d for d in range(2, math.isqrt(n) + 1))


def test_prime_is_smallest_above_2_pow_31():
    assert is_prime(P)
    assert not any(is_prime(n) for n in range(2**31 + 1, P))
    assert (P - 1) ** 2 + P < 2**63


def test_limb_count_examples():
    assert shamir.limb_count(0) == 0
    assert shamir.limb_count(1) == 1
    assert shamir.limb_count(4) == 2
    assert shamir.limb_count(32) == 9


@given(secrets)
def test_secret_to_limbs_matches_reference(secret):
    limbs = shamir.secret_to_limbs(secret)

    assert limbs.dtype == np.uint64
    assert limbs.tolist() == reference_limbs(secret)
    assert shamir.limbs_to_secret(limbs, len(secret)) == secret


def test_limbs_to_secret_rejects_wide_limb():
    with pytest.raises(ValueError, match=r"limbs\[1\] does not fit in 31 bits"):
        shamir.limbs_to_secret([0, 2**31], 5)


def test_limbs_to_secret_rejects_padding_bits():
    with pytest.raises(ValueError, match="non-zero bits past the secret length of 1 bytes"):
        shamir.limbs_to_secret([0x100], 1)


def test_limbs_to_secret_rejects_wrong_count():
    with pytest.raises(ValueError, match=r"limbs must have shape \(9,\), got shape \(8,\)"):
        shamir.limbs_to_secret(np.zeros(8, dtype=np.uint64), 32)


def test_limbs_to_secret_rejects_negative_limb():
    with pytest.raises(ValueError, match=r"limbs\[0\] is negative"):
        shamir.limbs_to_secret(np.array([-1], dtype=np.int64), 1)


def test_limbs_to_secret_rejects_float_limbs():
    with pytest.raises(TypeError, match="limbs must be an array of integers"):
        shamir.limbs_to_secret(np.array([1.0]), 1)


# ---------------------------------------------------------------------------
# Splitting and reconstruction.
# ---------------------------------------------------------------------------

@settings(max_examples=60, deadline=None)
@given(secret=secrets, num_shares=st.integers(1, 6), data=st.data(), seed=seeds)
def test_every_threshold_subset_reconstructs(secret, num_shares, data, seed):
    threshold = data.draw(st.integers(1, num_shares), label="threshold")
    shares = shamir.split(secret, threshold, num_shares, rng=DeterministicRandom(seed))

    assert [share.x for share in shares] == list(range(1, num_shares + 1))
    for size in range(threshold, num_shares + 1):
        for subset in itertools.combinations(shares, size):
            assert shamir.reconstruct(list(subset)) == secret


@settings(max_examples=30, deadline=None)
@given(secret=secrets, data=st.data(), seed=seeds)
def test_explicit_x_coordinates_reconstruct(secret, data, seed):
    xs = data.draw(st.lists(nonzero_elements, min_size=1, max_size=6, unique=True), label="xs")
    threshold = data.draw(st.integers(1, len(xs)), label="threshold")
    shares = shamir.split(secret, threshold, x_coordinates=xs, rng=DeterministicRandom(seed))
    chosen = data.draw(st.permutations(shares), label="order")[:threshold]

    assert [share.x for share in shares] == xs
    assert shamir.reconstruct(chosen) == secret


def test_split_32_byte_secret_fields():
    shares = shamir.split(bytes(range(32)), 3, 5)

    assert len(shares) == 5
    assert len({share.sharing_id for share in shares}) == 1
    for share in shares:
        assert share.threshold == 3
        assert share.secret_nbytes == 32
        assert share.prime == P
        assert share.limbs.dtype == np.uint64
        assert share.limbs.shape == (9,)
        assert len(share.sharing_id) == shamir.SHARING_ID_NBYTES


def test_split_threshold_one_copies_limbs():
    secret = b"no secrecy at t = 1"
    shares = shamir.split(secret, 1, 3)

    for share in shares:
        assert share.limbs.tolist() == reference_limbs(secret)
        assert shamir.reconstruct([share]) == secret


def test_split_is_reproducible_with_seed():
    first = shamir.split(b"secret", 3, 4, rng=DeterministicRandom(7))
    second = shamir.split(b"secret", 3, 4, rng=DeterministicRandom(7))
    other = shamir.split(b"secret", 3, 4, rng=DeterministicRandom(8))

    assert first == second
    assert first != other


def test_split_draws_fresh_coefficients():
    first = shamir.split(bytes(32), 2, 3)
    second = shamir.split(bytes(32), 2, 3)

    assert first[0].sharing_id != second[0].sharing_id
    assert first[0].limbs.tolist() != second[0].limbs.tolist()


def test_split_many_equals_split_per_secret():
    secrets_list = [bytes(range(32)), b"", b"\xff" * 32, b"abc"]
    together = shamir.split_many(secrets_list, 3, 5, rng=DeterministicRandom(3))

    assert len(together) == len(secrets_list)
    assert len({shares[0].sharing_id for shares in together}) == len(secrets_list)
    for secret, shares in zip(secrets_list, together):
        assert [share.x for share in shares] == [1, 2, 3, 4, 5]
        assert shares[0].secret_nbytes == len(secret)
        assert shamir.reconstruct(shares[2:]) == secret


def test_split_many_empty_list():
    assert shamir.split_many([], 2, 3) == []


@settings(max_examples=30, deadline=None)
@given(secret_list=st.lists(secrets, min_size=1, max_size=4), data=st.data(), seed=seeds)
def test_reconstruct_many_matches_reconstruct(secret_list, data, seed):
    num_shares = data.draw(st.integers(1, 6), label="num_shares")
    threshold = data.draw(st.integers(1, num_shares), label="threshold")
    sharings = shamir.split_many(secret_list, threshold, num_shares,
                                 rng=DeterministicRandom(seed))
    share_sets = [data.draw(st.permutations(shares), label="order")[:threshold]
                  for shares in sharings]

    assert shamir.reconstruct_many(share_sets) == secret_list
    assert [shamir.reconstruct(shares) for shares in share_sets] == secret_list


def test_reconstruct_uses_smallest_x_coordinates():
    secret = bytes(range(32))
    shares = shamir.split(secret, 2, 4, rng=DeterministicRandom(5))
    limbs = shares[3].limbs.copy()
    limbs[0] = (int(limbs[0]) + 1) % P
    tampered = shamir.Share(x=4, limbs=limbs, threshold=2, secret_nbytes=32,
                            sharing_id=shares[3].sharing_id)

    # Only the shares at x = 1 and x = 2 are used, so the tampered share at x = 4 is ignored.
    assert shamir.reconstruct([tampered, shares[1], shares[0]]) == secret


def test_reconstruct_detects_padding_tamper():
    secret = bytes(range(32))
    shares = shamir.split(secret, 3, 3)
    limbs = shares[2].limbs.copy()
    # The Lagrange coefficient of x = 3 among {1, 2, 3} is 1, so this adds 256
    # to the last limb, which has only 8 bits of a 32-byte secret.
    limbs[8] = (int(limbs[8]) + 256) % P
    tampered = shamir.Share(x=3, limbs=limbs, threshold=3, secret_nbytes=32,
                            sharing_id=shares[2].sharing_id)

    assert reference_lagrange([1, 2, 3])[2] == 1
    with pytest.raises(ValueError, match="shares are inconsistent.*non-zero bits past"):
        shamir.reconstruct([shares[0], shares[1], tampered])


def test_reconstruct_rejects_wide_limb():
    coefficients = np.array([[2**31 + 5, 11, 13]], dtype=np.uint64)
    shares = shamir._shares_from_coefficients(coefficients, [1, 2, 3], 1, bytes(16))

    with pytest.raises(ValueError, match=r"shares are inconsistent.*limbs\[0\] does not fit"):
        shamir.reconstruct(shares)


def test_reconstruct_rejects_padding_bits():
    coefficients = np.array([[0x100, 11]], dtype=np.uint64)
    shares = shamir._shares_from_coefficients(coefficients, [1, 2], 1, bytes(16))

    with pytest.raises(ValueError, match="shares are inconsistent.*non-zero bits past"):
        shamir.reconstruct(shares)


# ---------------------------------------------------------------------------
# Secrecy: t - 1 shares are consistent with every secret.
# ---------------------------------------------------------------------------

@settings(max_examples=40, deadline=None)
@given(secret_a=st.binary(min_size=1, max_size=40), data=st.data(), seed=seeds)
def test_fewer_than_threshold_fit_any_secret(secret_a, data, seed):
    """For t - 1 shares of A and any B of the same length, one polynomial per limb
    passes through the t - 1 points and has B's limb as constant term. Sharing B
    with those coefficients reproduces the t - 1 shares exactly, so the shares
    cannot tell A from B.
    """
    secret_b = data.draw(st.binary(min_size=len(secret_a), max_size=len(secret_a)), label="B")
    num_shares = data.draw(st.integers(2, 6), label="num_shares")
    threshold = data.draw(st.integers(2, num_shares), label="threshold")
    shares = shamir.split(secret_a, threshold, num_shares, rng=DeterministicRandom(seed))
    seen = data.draw(st.permutations(shares), label="order")[:threshold - 1]
    xs = [share.x for share in seen]

    # 0 and the t - 1 distinct non-zero xs are distinct, so the Vandermonde
    # determinant is non-zero and the interpolating polynomial is unique.
    points_x = [0] + xs
    determinant = math.prod(b - a for a, b in itertools.combinations(points_x, 2)) % P
    assert determinant != 0

    coefficients = []
    for k, limb_b in enumerate(reference_limbs(secret_b)):
        points = [(0, limb_b)] + [(share.x, int(share.limbs[k])) for share in seen]
        polynomial = interpolate_coefficients(points)
        assert polynomial[0] == limb_b
        coefficients.append(polynomial)
    rebuilt = shamir._shares_from_coefficients(np.array(coefficients, dtype=np.uint64), xs,
                                               len(secret_b), seen[0].sharing_id)

    assert [share.limbs.tolist() for share in rebuilt] == [share.limbs.tolist() for share in seen]


# ---------------------------------------------------------------------------
# Rejections.
# ---------------------------------------------------------------------------

def test_split_rejects_threshold_zero():
    with pytest.raises(ValueError, match="threshold must be between 1 and 5, got 0"):
        shamir.split(b"s", 0, 5)


def test_split_rejects_threshold_above_n():
    with pytest.raises(ValueError, match="threshold must be between 1 and 5, got 6; "
                                         "the threshold cannot exceed"):
        shamir.split(b"s", 6, 5)


def test_split_rejects_duplicate_x():
    with pytest.raises(ValueError, match=r"x_coordinates must be distinct, but "
                                         r"x_coordinates\[2\] = 3 duplicates x_coordinates\[1\]"):
        shamir.split(b"s", 2, x_coordinates=[1, 3, 3])


@pytest.mark.parametrize("x", [0, P, 2 * P, -1])
def test_split_rejects_x_outside_field(x):
    with pytest.raises(ValueError, match=rf"x_coordinates\[1\] must be between 1 and {P - 1}, "
                                         rf"got {x}; x = 0 would be the secret"):
        shamir.split(b"s", 2, x_coordinates=[5, x])


def test_split_rejects_empty_x_coordinates():
    with pytest.raises(ValueError, match="x_coordinates must contain at least 1"):
        shamir.split(b"s", 1, x_coordinates=[])


def test_split_rejects_mismatched_num_shares():
    with pytest.raises(ValueError, match=r"num_shares must equal len\(x_coordinates\) = 2"):
        shamir.split(b"s", 1, 3, x_coordinates=[1, 2])


def test_split_requires_num_shares_or_x():
    with pytest.raises(TypeError, match="pass num_shares or x_coordinates"):
        shamir.split(b"s", 1)


def test_split_rejects_num_shares_zero():
    with pytest.raises(ValueError, match="num_shares must be between 1 and"):
        shamir.split(b"s", 1, 0)


@pytest.mark.parametrize("call, message", [
    (lambda: shamir.split("text", 1, 1), "secrets\\[0\\] must be bytes"),
    (lambda: shamir.split(b"s", 1.0, 1), "threshold must be an integer"),
    (lambda: shamir.split(b"s", 1, 1.5), "num_shares must be an integer"),
    (lambda: shamir.split(b"s", 1, x_coordinates=[1.0]), "x_coordinates\\[0\\] must be an int"),
    (lambda: shamir.split(b"s", 1, x_coordinates=7), "x_coordinates must be a sequence"),
    (lambda: shamir.split_many(b"s", 1, 1), "secrets must be a sequence of bytes objects"),
    (lambda: shamir.reconstruct([b"share"]), "shares\\[0\\] must be a Share"),
    (lambda: shamir.reconstruct(make_share()), "got a single Share; wrap it in a list"),
    (lambda: shamir.reconstruct_many(make_share()), "share_sets must be a sequence"),
    (lambda: make_share(x=1.0), "x must be an integer"),
    (lambda: make_share(sharing_id="0" * 16), "sharing_id must be bytes"),
    (lambda: make_share(limbs=np.zeros(9)), "limbs must be an array of integers"),
    (lambda: shamir.Share.from_bytes("text"), "data must be bytes"),
])
def test_type_errors(call, message):
    with pytest.raises(TypeError, match=message):
        call()


def test_reconstruct_rejects_too_few_shares():
    shares = shamir.split(b"secret", 3, 5)

    with pytest.raises(ValueError, match="shares must contain at least threshold = 3 shares, "
                                         "got 2; collect more shares"):
        shamir.reconstruct(shares[:2])


def test_reconstruct_rejects_no_shares():
    with pytest.raises(ValueError, match="shares must contain at least 1 share, got none"):
        shamir.reconstruct([])


def test_reconstruct_rejects_duplicate_x():
    shares = shamir.split(b"secret", 2, 3)

    with pytest.raises(ValueError, match=r"shares\[2\].x = 1 duplicates shares\[0\].x"):
        shamir.reconstruct([shares[0], shares[1], shares[0]])


def test_reconstruct_rejects_mixed_sharings():
    first = shamir.split(b"secret", 2, 3)
    second = shamir.split(b"secret", 2, 3)

    with pytest.raises(ValueError, match=r"shares\[1\].sharing_id must equal shares\[0\]"
                                         r".sharing_id.*come from different sharings"):
        shamir.reconstruct([first[0], second[1]])


def test_reconstruct_rejects_mixed_secret_lengths():
    short = make_share(x=1, limbs=[0], secret_nbytes=1)
    long = make_share(x=2, limbs=[0, 0], secret_nbytes=5)

    with pytest.raises(ValueError, match=r"shares\[1\].secret_nbytes must equal "
                                         r"shares\[0\].secret_nbytes = 1, got 5.*different "
                                         r"lengths"):
        shamir.reconstruct([short, long])


def test_reconstruct_rejects_mixed_thresholds():
    shares = [make_share(x=1, threshold=2), make_share(x=2, threshold=3)]

    with pytest.raises(ValueError, match=r"shares\[1\].threshold must equal "
                                         r"shares\[0\].threshold = 2, got 3.*different "
                                         r"thresholds"):
        shamir.reconstruct(shares)


def test_reconstruct_rejects_mixed_primes():
    shares = [make_share(x=1), make_share(x=2, prime=2**61 - 1)]

    with pytest.raises(ValueError, match=r"shares\[1\].prime must equal shares\[0\].prime = "
                                         rf"{P}, got {2**61 - 1}.*different fields"):
        shamir.reconstruct(shares)


def test_reconstruct_rejects_foreign_prime():
    shares = [make_share(x=1, prime=2**61 - 1), make_share(x=2, prime=2**61 - 1)]

    with pytest.raises(ValueError, match=rf"shares\[0\].prime must be {P}, the field of this"):
        shamir.reconstruct(shares)


def test_reconstruct_many_names_the_set():
    good = shamir.split(b"a", 2, 3)
    with pytest.raises(ValueError, match=r"share_sets\[1\] must contain at least threshold"):
        shamir.reconstruct_many([good, good[:1]])


def test_share_rejects_limb_at_prime():
    limbs = np.zeros(9, dtype=np.uint64)
    limbs[4] = P

    with pytest.raises(ValueError, match=rf"limbs must be field elements in \[0, {P}\), but "
                                         rf"limbs\[4\] is >= {P}; reduce it"):
        make_share(limbs=limbs)


def test_share_rejects_negative_limb():
    with pytest.raises(ValueError, match=r"limbs\[0\] is negative"):
        make_share(limbs=[-1] + [0] * 8)


def test_share_rejects_x_zero():
    with pytest.raises(ValueError, match=f"x must be between 1 and {P - 1}, got 0"):
        make_share(x=0)


def test_share_rejects_limb_count():
    with pytest.raises(ValueError, match=r"limbs must have shape \(9,\), got shape \(3,\)"):
        make_share(limbs=[0, 0, 0])


def test_share_rejects_threshold_zero():
    with pytest.raises(ValueError, match="threshold must be between 1 and"):
        make_share(threshold=0)


def test_share_rejects_short_sharing_id():
    with pytest.raises(ValueError, match="sharing_id must be 16 bytes long, got 15 bytes"):
        make_share(sharing_id=bytes(15))


def test_coefficients_reject_wrong_shape():
    with pytest.raises(ValueError, match=r"coefficients must have shape \(9, t\)"):
        shamir._shares_from_coefficients(np.zeros((8, 2), dtype=np.uint64), [1, 2], 32,
                                         bytes(16))


# ---------------------------------------------------------------------------
# Share value type and wire format.
# ---------------------------------------------------------------------------

def test_share_copies_and_freezes_limbs():
    limbs = np.arange(9, dtype=np.uint64)
    share = make_share(limbs=limbs)
    limbs[0] = 99

    assert share.limbs[0] == 0
    assert not share.limbs.flags.writeable
    with pytest.raises(AttributeError):
        share.x = 2


def test_share_repr_hides_limbs():
    share = make_share(limbs=np.full(9, 123456789, dtype=np.uint64))

    assert "123456789" not in repr(share)
    assert "x=1" in repr(share)


def test_share_equality_and_hash():
    a = make_share(limbs=np.arange(9))
    b = make_share(limbs=np.arange(9, dtype=np.uint64))
    c = make_share(limbs=np.arange(1, 10))

    assert a == b
    assert hash(a) == hash(b)
    assert a != c
    assert a != "share"


def test_split_shares_are_read_only():
    share = shamir.split(bytes(32), 2, 3)[0]

    assert not share.limbs.flags.writeable


@settings(max_examples=50, deadline=None)
@given(secret=secrets, seed=seeds, data=st.data())
def test_wire_round_trip(secret, seed, data):
    num_shares = data.draw(st.integers(1, 4), label="num_shares")
    threshold = data.draw(st.integers(1, num_shares), label="threshold")
    shares = shamir.split(secret, threshold, num_shares, rng=DeterministicRandom(seed))

    for share in shares:
        encoded = share.to_bytes()
        assert len(encoded) == shamir.serialized_share_nbytes(len(secret))
        assert shamir.Share.from_bytes(encoded) == share
        assert shamir.Share.from_bytes(bytearray(encoded)) == share
    assert shamir.reconstruct([shamir.Share.from_bytes(s.to_bytes()) for s in shares]) == secret


def test_serialized_size_examples():
    assert shamir.serialized_share_nbytes(0) == 29
    assert shamir.serialized_share_nbytes(32) == 65


def test_wire_layout_fields():
    share = make_share(x=0x01020304, limbs=[P - 1] + [0] * 8, threshold=5,
                       sharing_id=bytes(range(16)))
    encoded = share.to_bytes()

    assert encoded[0] == shamir.WIRE_VERSION
    assert encoded[1:5] == bytes([1, 2, 3, 4])
    assert encoded[5:9] == (5).to_bytes(4, "big")
    assert encoded[9:13] == (32).to_bytes(4, "big")
    assert encoded[13:29] == bytes(range(16))
    assert encoded[29:33] == (P - 1).to_bytes(4, "big")


def test_from_bytes_rejects_every_truncation():
    encoded = shamir.split(bytes(range(32)), 2, 2)[0].to_bytes()

    for length in range(len(encoded)):
        with pytest.raises(WireFormatError, match="truncated"):
            shamir.Share.from_bytes(encoded[:length])


def test_from_bytes_rejects_extra_bytes():
    encoded = shamir.split(bytes(range(32)), 2, 2)[0].to_bytes()

    with pytest.raises(WireFormatError, match="too long: a 32-byte secret needs 65 bytes, "
                                              "got 66 bytes"):
        shamir.Share.from_bytes(encoded + b"\x00")


def test_from_bytes_rejects_version():
    encoded = bytearray(make_share().to_bytes())
    encoded[0] = 2

    with pytest.raises(WireFormatError, match="version 2, but only version 1"):
        shamir.Share.from_bytes(bytes(encoded))


@pytest.mark.parametrize("offset, value, message", [
    (1, bytes(4), "x must be between 1"),
    (1, P.to_bytes(4, "big"), "x must be between 1"),
    (5, bytes(4), "threshold must be between 1"),
    (29, P.to_bytes(4, "big"), r"limbs\[0\] is >= "),
    (61, (2**32 - 1).to_bytes(4, "big"), r"limbs\[8\] is >= "),
])
def test_from_bytes_rejects_invalid_field(offset, value, message):
    encoded = bytearray(make_share().to_bytes())
    encoded[offset:offset + len(value)] = value

    with pytest.raises(WireFormatError, match="share has an invalid field: .*" + message):
        shamir.Share.from_bytes(bytes(encoded))


def test_from_bytes_rejects_length_field_mismatch():
    encoded = bytearray(make_share().to_bytes())
    encoded[9:13] = (35).to_bytes(4, "big")

    with pytest.raises(WireFormatError, match="truncated: a 35-byte secret needs 69 bytes"):
        shamir.Share.from_bytes(bytes(encoded))


def test_from_bytes_rejects_huge_length_field():
    encoded = bytearray(make_share().to_bytes())
    encoded[9:13] = (2**32 - 1).to_bytes(4, "big")

    with pytest.raises(WireFormatError, match="truncated"):
        shamir.Share.from_bytes(bytes(encoded))


@given(st.binary(max_size=120))
def test_from_bytes_random_input(data):
    try:
        share = shamir.Share.from_bytes(data)
    except WireFormatError:
        return
    assert share.to_bytes() == data


@given(st.integers(0, 12), st.binary(min_size=24, max_size=24), st.data())
def test_from_bytes_random_fields(secret_nbytes, fields, data):
    body = data.draw(st.binary(min_size=4 * shamir.limb_count(secret_nbytes),
                               max_size=4 * shamir.limb_count(secret_nbytes)), label="body")
    encoded = (bytes([1]) + fields[:8] + secret_nbytes.to_bytes(4, "big") + fields[8:]
               + body)
    try:
        share = shamir.Share.from_bytes(encoded)
    except WireFormatError:
        return
    assert share.to_bytes() == encoded


def test_to_bytes_rejects_foreign_prime():
    share = make_share(prime=2**61 - 1)

    with pytest.raises(ValueError, match=f"encodes only shares over prime {P}"):
        share.to_bytes()


# ---------------------------------------------------------------------------
# Kernels: compiled, plain Python and Python-integer reference.
# ---------------------------------------------------------------------------

@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_evaluate_kernel_matches_references(data):
    count = data.draw(st.integers(0, 3), label="count")
    terms = data.draw(st.integers(1, 5), label="terms")
    coefficients = data.draw(st.lists(st.lists(field_elements, min_size=terms, max_size=terms),
                                      min_size=count, max_size=count), label="coefficients")
    xs = data.draw(st.lists(field_elements, min_size=0, max_size=5), label="xs")
    matrix = np.array(coefficients, dtype=np.uint64).reshape(count, terms)
    points = np.array(xs, dtype=np.uint64)

    compiled = np.empty((len(xs), count), dtype=np.uint64)
    plain = np.empty_like(compiled)
    shamir._evaluate_kernel(matrix, points, compiled)
    with np.errstate(all="raise"):
        shamir._evaluate_kernel.py_func(matrix, points, plain)

    expected = [[reference_evaluate(polynomial, x) for polynomial in coefficients] for x in xs]
    assert compiled.tolist() == expected
    assert plain.tolist() == expected


def test_evaluate_kernel_at_largest_values():
    matrix = np.full((2, 6), P - 1, dtype=np.uint64)
    points = np.array([P - 1, P - 2, 2**31], dtype=np.uint64)
    compiled = np.empty((3, 2), dtype=np.uint64)
    plain = np.empty_like(compiled)

    shamir._evaluate_kernel(matrix, points, compiled)
    with np.errstate(all="raise"):
        shamir._evaluate_kernel.py_func(matrix, points, plain)

    expected = [[reference_evaluate([P - 1] * 6, int(x))] * 2 for x in points]
    assert compiled.tolist() == expected
    assert plain.tolist() == expected


@settings(max_examples=40, deadline=None)
@given(st.lists(nonzero_elements, min_size=1, max_size=8, unique=True))
def test_lagrange_kernel_matches_references(xs):
    points = np.array(xs, dtype=np.uint64)
    compiled = np.empty(len(xs), dtype=np.uint64)
    plain = np.empty_like(compiled)

    shamir._lagrange_kernel(points, compiled)
    with np.errstate(all="raise"):
        shamir._lagrange_kernel.py_func(points, plain)

    assert compiled.tolist() == reference_lagrange(xs)
    assert plain.tolist() == reference_lagrange(xs)


def test_lagrange_kernel_at_largest_values():
    xs = [P - 1, P - 2, P - 3, 2**31, 1]
    points = np.array(xs, dtype=np.uint64)
    compiled = np.empty(len(xs), dtype=np.uint64)
    plain = np.empty_like(compiled)

    shamir._lagrange_kernel(points, compiled)
    with np.errstate(all="raise"):
        shamir._lagrange_kernel.py_func(points, plain)

    assert compiled.tolist() == reference_lagrange(xs)
    assert plain.tolist() == reference_lagrange(xs)


@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_combine_kernel_matches_references(data):
    count = data.draw(st.integers(1, 6), label="count")
    width = data.draw(st.integers(0, 4), label="width")
    weights = data.draw(st.lists(field_elements, min_size=count, max_size=count), label="w")
    values = data.draw(st.lists(st.lists(field_elements, min_size=width, max_size=width),
                                min_size=count, max_size=count), label="values")
    weight_array = np.array(weights, dtype=np.uint64)
    value_array = np.array(values, dtype=np.uint64).reshape(count, width)

    compiled = np.empty(width, dtype=np.uint64)
    plain = np.empty_like(compiled)
    shamir._combine_kernel(weight_array, value_array, compiled)
    with np.errstate(all="raise"):
        shamir._combine_kernel.py_func(weight_array, value_array, plain)

    expected = [sum(w * row[k] for w, row in zip(weights, values)) % P for k in range(width)]
    assert compiled.tolist() == expected
    assert plain.tolist() == expected


@given(field_elements, st.integers(0, 2**64 - 1))
def test_pow_mod_matches_python_pow(base, exponent):
    expected = pow(base, exponent, P)

    assert int(shamir._pow_mod(np.uint64(base), np.uint64(exponent))) == expected
    with np.errstate(all="raise"):
        assert int(shamir._pow_mod.py_func(np.uint64(base), np.uint64(exponent))) == expected


def test_lagrange_coefficients_cached_and_read_only():
    xs = [3, 1, 4, 15, 9]
    first = shamir.lagrange_coefficients(xs)
    second = shamir.lagrange_coefficients(list(xs))

    assert first is second
    assert not first.flags.writeable
    assert first.tolist() == reference_lagrange(xs)


def test_lagrange_coefficients_rejects_duplicates():
    with pytest.raises(ValueError, match="x_coordinates must be distinct"):
        shamir.lagrange_coefficients([1, 2, 1])


def test_reconstruct_reuses_cached_coefficients():
    shamir._lagrange_cached.cache_clear()
    sharings = shamir.split_many([b"a" * 32, b"b" * 32, b"c" * 32], 3, 5)

    for shares in sharings:
        shamir.reconstruct(shares[1:4])
    info = shamir._lagrange_cached.cache_info()

    assert info.misses == 1
    assert info.hits == 2


# ---------------------------------------------------------------------------
# Known-answer vectors from vectors/make_shamir_vectors.py.
# ---------------------------------------------------------------------------

VECTORS = shamir._load_vectors()


def test_known_answer_check_passes():
    shamir.known_answer_check()


def test_vectors_describe_this_field():
    assert VECTORS["prime"] == P
    assert VECTORS["limb_bits"] == shamir.LIMB_BITS
    assert VECTORS["wire_version"] == shamir.WIRE_VERSION
    assert len(VECTORS["vectors"]) >= 5


@pytest.mark.parametrize("vector", VECTORS["vectors"], ids=lambda vector: vector["name"])
def test_known_answer_vector(vector):
    secret = bytes.fromhex(vector["secret_hex"])
    threshold = vector["threshold"]
    coefficients = np.array(vector["coefficients"], dtype=np.uint64).reshape(-1, threshold)
    shares = shamir._shares_from_coefficients(coefficients, vector["x_coordinates"],
                                              len(secret), bytes.fromhex(vector["sharing_id_hex"]))

    assert shamir.secret_to_limbs(secret).tolist() == coefficients[:, 0].tolist()
    assert [share.limbs.tolist() for share in shares] == vector["shares"]
    assert [share.to_bytes().hex() for share in shares] == vector["serialized_shares_hex"]
    assert (shamir.lagrange_coefficients(vector["reconstruction_x_coordinates"]).tolist()
            == vector["lagrange_coefficients"])
    assert shamir.reconstruct(shares) == secret
    assert shamir.reconstruct(shares[::-1]) == secret


@pytest.mark.parametrize("field, change", [
    ("shares", lambda v: v["shares"][0].__setitem__(0, (v["shares"][0][0] + 1) % P)),
    ("serialized_shares_hex", lambda v: v["serialized_shares_hex"].__setitem__(0, "01" * 65)),
    ("lagrange_coefficients", lambda v: v["lagrange_coefficients"].__setitem__(0, 1)),
    ("secret_hex", lambda v: v.__setitem__("secret_hex", "ff" + v["secret_hex"][2:])),
])
def test_known_answer_check_detects_tampering(field, change):
    vector = copy.deepcopy(VECTORS["vectors"][0])
    change(vector)

    with pytest.raises(AssertionError, match="shamir vector '32-byte secret, 3 of 5'"):
        shamir._check_vector(vector)


@settings(max_examples=60)
@given(st.lists(st.binary(min_size=0, max_size=80), max_size=6), st.integers(0, 2**32))
def test_from_bytes_many_agrees_with_from_bytes(noise, seed):
    secret = np.random.default_rng(seed).bytes(32)
    shares = [s.to_bytes() for s in shamir.split(secret, 2, 3)]
    mutated = [shares[0][:i] + bytes([shares[0][i] ^ 0xFF]) + shares[0][i + 1:]
               for i in (0, 1, 5, 9, 30, 64)]
    items = shares + mutated + noise
    bulk = shamir.Share.from_bytes_many(items, 32)
    for item, parsed in zip(items, bulk):
        try:
            single = shamir.Share.from_bytes(item)
        except WireFormatError:
            single = None
        if single is not None and single.secret_nbytes != 32:
            single = None
        assert parsed == single
