"""Generate the Shamir known-answer vectors in shamir.json next to this script.

Usage: ``python secagg/primitives/vectors/make_shamir_vectors.py``

The generator is independent of ``secagg``: it uses only Python integers and
the standard library. It writes fixed polynomial coefficients into the file,
so a vector states the secret, the coefficients of every limb polynomial, the
x-coordinates, the expected share limbs and serialized shares, and the
Lagrange coefficients that reconstruct the secret.

The coefficients are SHA-256 outputs reduced modulo p. They need not be
uniform, only fixed. Some vectors use p - 1 everywhere to exercise the largest
intermediate products.
"""

import hashlib
import json
import pathlib

PRIME = 2**31 + 11
LIMB_BITS = 31
WIRE_VERSION = 1


def secret_limbs(secret):
    """Cut the secret, read as a little-endian integer, into 31-bit limbs."""
    value = int.from_bytes(secret, "little")
    count = -(-8 * len(secret) // LIMB_BITS)
    return [(value >> (LIMB_BITS * i)) & ((1 << LIMB_BITS) - 1) for i in range(count)]


def hashed_coefficient(label, limb, degree):
    digest = hashlib.sha256(f"{label}/{limb}/{degree}".encode()).digest()
    return int.from_bytes(digest, "big") % PRIME


def evaluate(coefficients, x):
    """Evaluate a polynomial (coefficients in ascending degree) at x by Horner's rule."""
    result = 0
    for coefficient in reversed(coefficients):
        result = (result * x + coefficient) % PRIME
    return result


def lagrange_at_zero(xs):
    """Return prod_{j != i} x_j / (x_j - x_i) mod p for every i."""
    weights = []
    for i, x_i in enumerate(xs):
        numerator = 1
        denominator = 1
        for j, x_j in enumerate(xs):
            if j != i:
                numerator = numerator * x_j % PRIME
                denominator = denominator * (x_j - x_i) % PRIME
        weights.append(numerator * pow(denominator, -1, PRIME) % PRIME)
    return weights


def serialize(x, threshold, secret, sharing_id, limbs):
    header = (bytes([WIRE_VERSION]) + x.to_bytes(4, "big") + threshold.to_bytes(4, "big")
              + len(secret).to_bytes(4, "big") + sharing_id)
    return header + b"".join(limb.to_bytes(4, "big") for limb in limbs)


def make_vector(name, secret, threshold, xs, coefficient_rule="hash"):
    limbs = secret_limbs(secret)
    coefficients = []
    for k, limb in enumerate(limbs):
        if coefficient_rule == "max":
            higher = [PRIME - 1] * (threshold - 1)
        else:
            higher = [hashed_coefficient(name, k, d) for d in range(1, threshold)]
        coefficients.append([limb] + higher)
    sharing_id = hashlib.sha256(f"{name}/sharing id".encode()).digest()[:16]

    shares = [[evaluate(polynomial, x) for polynomial in coefficients] for x in xs]
    chosen = sorted(range(len(xs)), key=lambda j: xs[j])[:threshold]
    chosen_xs = [xs[j] for j in chosen]
    weights = lagrange_at_zero(chosen_xs)
    for k, limb in enumerate(limbs):
        interpolated = sum(w * shares[j][k] for w, j in zip(weights, chosen)) % PRIME
        assert interpolated == limb, (name, k)

    return {
        "name": name,
        "secret_hex": secret.hex(),
        "threshold": threshold,
        "x_coordinates": xs,
        "sharing_id_hex": sharing_id.hex(),
        "coefficients": coefficients,
        "shares": shares,
        "serialized_shares_hex": [serialize(x, threshold, secret, sharing_id, share).hex()
                                  for x, share in zip(xs, shares)],
        "reconstruction_x_coordinates": chosen_xs,
        "lagrange_coefficients": weights,
    }


def main():
    vectors = [
        make_vector("32-byte secret, 3 of 5", bytes(range(32)), 3, [1, 2, 3, 4, 5]),
        make_vector("all-ones 32-byte secret, maximal coefficients and x", b"\xff" * 32, 4,
                    [PRIME - 1, PRIME - 2, 2**31, 12345, 1], coefficient_rule="max"),
        make_vector("empty secret, 2 of 3", b"", 2, [1, 2, 3]),
        make_vector("1-byte secret, 1 of 1", b"\x5a", 1, [7]),
        make_vector("5-byte secret, 5 of 5, unsorted x", b"\x01\x02\x03\x04\xff", 5,
                    [9, 3, 1000001, 2, 77]),
        make_vector("100-byte secret, 3 of 4", bytes((7 * i + 3) % 256 for i in range(100)), 3,
                    [1001, 1, 1000000, 65537]),
    ]
    document = {
        "description": "Shamir sharing over GF(p) of byte strings cut into 31-bit limbs; "
                       "see secagg/primitives/shamir.py for the layouts",
        "generator": "secagg/primitives/vectors/make_shamir_vectors.py",
        "prime": PRIME,
        "limb_bits": LIMB_BITS,
        "wire_version": WIRE_VERSION,
        "vectors": vectors,
    }
    path = pathlib.Path(__file__).with_name("shamir.json")
    path.write_text(json.dumps(document, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
