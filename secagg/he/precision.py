"""The predicted error bound of a decrypted CKKS sum, and the measured error.

The bound covers the sum ``sum_i w_i x_i`` (``w_i = 1`` without weights)
that the key holder decrypts, compared with the same sum in float64. It is
derived for what TenSEAL 0.3 and SEAL do in this package's round:

1. Encoding rounds each coefficient of ``Delta * x`` (``Delta`` = 2**scale_bits)
   to an integer: an error ``eps`` with coefficients in [-1/2, 1/2].
2. Public-key encryption of zero runs one level up, modulo the data primes
   times the special prime P, and then divides by P with rounding
   (``Encryptor`` in Microsoft SEAL's ``encryptor.cpp``). Decryption then
   yields the message plus ``r0 + r1 * s + (e * u + e1 + e2 * s) / P``, with
   rounding errors r0, r1 in [-1/2, 1/2], the ternary secret s, a ternary
   u, and e, e1, e2 of standard deviation 3.2.
3. Slot k of the decoded vector is the real part of the canonical embedding
   at a primitive 2N-th root of unity, divided by the scale. A polynomial
   with independent coefficients of variance v gives a real part of
   variance N v / 2, and a product with s multiplies slot k by the fixed
   ``s(zeta_k)``. So one ciphertext's error at slot k has variance
   ``(N / 24) (2 + |s(zeta_k)|**2)`` plus the negligible ``/ P`` term, in
   units of ``Delta**-2``. ``tests/he/test_precision.py`` checks the mean of
   this variance over the slots against TenSEAL 0.3.18.
4. ``s(zeta_k)`` is close to a complex Gaussian of mean square 2N/3, so every
   slot has ``|s(zeta_k)|**2 <= (2N/3) ln(N / delta1)`` except with
   probability ``delta1``.
5. Clients round independently, so the variances of the n ciphertexts add,
   each times ``w_i**2`` when the server multiplies it by its weight. The
   server does not rescale after that multiplication (its context has
   ``auto_rescale`` off), so the only extra error is the encoding of
   ``w_i * Delta`` as one integer: at most ``clip / (2 Delta)`` per client.
6. Conditioned on s, each slot error is a sum of about 3N independent
   bounded terms, taken as Gaussian: ``P(|Z| > z) <= exp(-z**2 / 2)`` and a
   union bound over ``dim`` slots give ``z = sqrt(2 ln(dim / delta2))``.
7. Float64 rounding in decoding (an FFT of log2 N stages) and in the
   reference sum adds at most ``(n + log2 N + 2) 2**-52`` times the largest
   possible sum.

The bound holds with probability at least ``1 - delta1 - delta2`` under the
model of steps 3, 4 and 6 (independent, uniform rounding errors; Gaussian
approximations). It is a prediction, not a worst case: a worst-case bound
over all secrets is about ``sqrt(N)`` times larger.
"""

from __future__ import annotations

import math

import numpy as np

from secagg.he.params import CkksParameters

FAILURE_PROBABILITY = 2.0**-40
"""Default probability that the bound fails, split evenly between steps 4 and 6."""

ERROR_STANDARD_DEVIATION = 3.2
"""Standard deviation of SEAL's RLWE errors (``SEAL_HE_STD_PARMS_ERROR_STD_DEV``)."""


def error_bound(parameters: CkksParameters, weights: np.ndarray, clip: float, dim: int, *,
                multiplied: bool, failure_probability: float = FAILURE_PROBABILITY) -> float:
    """Return the predicted max absolute error of a decrypted weighted sum; see the module docstring.

    ``weights`` are those of the clients in the sum (all 1 without weights).
    ``multiplied`` is True when the server multiplied each ciphertext by its
    weight. Inputs are taken to lie in [-clip, clip].
    """
    weights = np.abs(np.asarray(weights, dtype=np.float64))
    if weights.size == 0:
        return 0.0
    if not 0.0 < failure_probability < 1.0:
        raise ValueError(f"failure_probability must be in (0, 1), got {failure_probability}")
    n_degree = float(parameters.poly_modulus_degree)
    scale = parameters.scale
    secret_probability = failure_probability / 2
    slot_probability = failure_probability / 2

    # Step 4: the largest |s(zeta_k)|**2 over the N/2 slots.
    secret_square = (2 * n_degree / 3) * math.log(n_degree / secret_probability)

    # Step 3: variance of one ciphertext's error at the worst slot, times Delta**2.
    rounding = (n_degree / 24) * (2 + secret_square)
    special_prime = 2.0 ** (parameters.special_prime_bits - 1)
    rlwe = (n_degree * ERROR_STANDARD_DEVIATION**2 / 2) * (2 * n_degree / 3 + secret_square + 1)
    variance = rounding + rlwe / special_prime**2

    # Steps 5 and 6: independent clients, union bound over the slots.
    z = math.sqrt(2 * math.log(dim / slot_probability))
    random_part = z * math.sqrt(float(np.sum(weights**2)) * variance) / scale
    weight_encoding = weights.size * clip / (2 * scale) if multiplied else 0.0

    # Step 7: float64 rounding.
    largest_sum = float(np.sum(weights)) * clip
    floating_point = (weights.size + math.log2(n_degree) + 2) * 2.0**-52 * largest_sum
    return random_part + weight_encoding + floating_point


def max_abs_error(aggregate: np.ndarray, expected: np.ndarray) -> float:
    """Return max |aggregate - expected| over all elements."""
    difference = np.asarray(aggregate, dtype=np.float64) - np.asarray(expected, dtype=np.float64)
    return float(np.max(np.abs(difference))) if difference.size else 0.0
