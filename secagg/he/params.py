"""CKKS parameter sets: the 128-bit security check, the presets, and the checks run before a round.

A parameter set is the ring degree N (``poly_modulus_degree``), the bit
sizes of the primes of the coefficient modulus (``coeff_mod_bit_sizes``) and
the encoding scale 2**``scale_bits``. As in Microsoft SEAL, on which TenSEAL
is built, the last prime is the special prime used only for key switching,
so the ciphertexts live modulo the product of the other primes, the data
primes. Each prime of ``b`` bits lies in (2**(b - 1), 2**b).

This module needs no TenSEAL, so parameters can be checked without it.
"""

from __future__ import annotations

from dataclasses import dataclass

from secagg._validation import check_int

MAX_COEFF_MODULUS_BITS_128 = {
    1024: 27,
    2048: 54,
    4096: 109,
    8192: 218,
    16384: 438,
    32768: 881,
}
"""Max total bits of the coefficient modulus, special prime included, for
128-bit classical security with a ternary secret: the table of the
Homomorphic Encryption Security Standard (Albrecht et al.,
HomomorphicEncryption.org, November 2018). Microsoft SEAL enforces the same
numbers in ``native/src/seal/util/hestdparms.h``."""

MAX_PRIME_BITS = 60
"""Largest prime SEAL accepts in a coefficient modulus."""


@dataclass(frozen=True)
class CkksParameters:
    """A CKKS parameter set, checked at creation against the 128-bit security table.

    Raises ValueError when N is not in the table, when the total modulus is
    too large for 128-bit security, or when a prime size is outside what SEAL
    supports for this N.
    """

    poly_modulus_degree: int
    coeff_mod_bit_sizes: tuple[int, ...]
    scale_bits: int

    def __post_init__(self) -> None:
        degree = check_int("poly_modulus_degree", self.poly_modulus_degree)
        if degree not in MAX_COEFF_MODULUS_BITS_128:
            raise ValueError(f"poly_modulus_degree must be one of {sorted(MAX_COEFF_MODULUS_BITS_128)}, "
                             f"got {degree}; the security standard gives no 128-bit bound for other values")
        object.__setattr__(self, "poly_modulus_degree", degree)

        if isinstance(self.coeff_mod_bit_sizes, (str, bytes)):
            raise TypeError(f"coeff_mod_bit_sizes must be a sequence of integers, got "
                            f"{type(self.coeff_mod_bit_sizes).__name__}")
        sizes = tuple(self.coeff_mod_bit_sizes)
        if len(sizes) < 2:
            raise ValueError(f"coeff_mod_bit_sizes must list at least 2 primes (data primes, then the "
                             f"special prime), got {list(sizes)}")
        # A prime q = 1 (mod 2N) of b bits exists only when 2N < 2**(b - 1).
        smallest = (2 * degree).bit_length() + 1
        sizes = tuple(check_int(f"coeff_mod_bit_sizes[{i}]", b, minimum=smallest, maximum=MAX_PRIME_BITS,
                                hint=f"SEAL needs primes of {smallest} to {MAX_PRIME_BITS} bits "
                                     f"when poly_modulus_degree is {degree}")
                      for i, b in enumerate(sizes))
        object.__setattr__(self, "coeff_mod_bit_sizes", sizes)

        _check_primes_exist(degree, sizes)

        limit = MAX_COEFF_MODULUS_BITS_128[degree]
        if sum(sizes) > limit:
            raise ValueError(
                f"coeff_mod_bit_sizes {list(sizes)} total {sum(sizes)} bits, more than the {limit} bits "
                f"that give 128-bit security at poly_modulus_degree {degree} under the Homomorphic "
                f"Encryption Security Standard; remove or shrink primes, or raise poly_modulus_degree")
        object.__setattr__(self, "scale_bits", check_int("scale_bits", self.scale_bits, minimum=1,
                                                         maximum=MAX_PRIME_BITS))

    @property
    def slots(self) -> int:
        """Values per ciphertext: N / 2."""
        return self.poly_modulus_degree // 2

    @property
    def scale(self) -> float:
        """The encoding scale 2**scale_bits, TenSEAL's ``global_scale``."""
        return float(2**self.scale_bits)

    @property
    def depth(self) -> int:
        """Plaintext multiplications the data primes leave room for: their count minus one."""
        return len(self.coeff_mod_bit_sizes) - 2

    @property
    def special_prime_bits(self) -> int:
        return self.coeff_mod_bit_sizes[-1]

    def ciphertexts_for(self, dim: int) -> int:
        """Return the number of ciphertexts a vector of ``dim`` values is split into: ceil(dim / slots)."""
        return -(-check_int("dim", dim, minimum=1) // self.slots)

    def headroom_bits(self, multiplications: int) -> int:
        """Return h such that decoded magnitudes below 2**h decode correctly after ``multiplications``.

        A result at scale 2**(scale_bits * (1 + multiplications)) decodes
        correctly while its coefficients, at most scale times the largest
        slot magnitude, stay below half the data modulus. The data modulus
        exceeds 2**sum(b - 1) over the data primes.
        """
        capacity = sum(b - 1 for b in self.coeff_mod_bit_sizes[:-1])
        return capacity - 1 - self.scale_bits * (1 + multiplications)


def _check_primes_exist(degree: int, sizes: tuple[int, ...]) -> None:
    """Raise ValueError unless each bit size has as many primes q = 1 (mod 2N) as it is listed.

    SEAL's ``CoeffModulus::Create`` takes, for each size b, the largest
    primes of that form in (2**(b - 1), 2**b). Near the minimum size there
    may be too few of them.
    """
    step = 2 * degree
    for bits in sorted(set(sizes)):
        required = sizes.count(bits)
        candidate, lower = 2**bits - step + 1, 2 ** (bits - 1)
        found = 0
        while found < required and candidate > lower:
            found += _is_prime(candidate)
            candidate -= step
        if found < required:
            raise ValueError(f"coeff_mod_bit_sizes needs {required} prime(s) of {bits} bits that are 1 mod "
                             f"{step} (2 * poly_modulus_degree), but only {found} exist; use larger primes")


def _is_prime(number: int) -> bool:
    """Deterministic Miller-Rabin for numbers below 3.3 * 10**24 (bases: the first 12 primes)."""
    bases = (2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37)
    if number < 2:
        return False
    for base in bases:
        if number % base == 0:
            return number == base
    odd, twos = number - 1, 0
    while odd % 2 == 0:
        odd, twos = odd // 2, twos + 1
    for base in bases:
        value = pow(base, odd, number)
        if value in (1, number - 1):
            continue
        for _ in range(twos - 1):
            value = pow(value, 2, number)
            if value == number - 1:
                break
        else:
            return False
    return True


ADD_ONLY = CkksParameters(8192, (60, 40), 40)
"""Aggregation by addition only: one 60-bit data prime and a 40-bit special prime (100 of the
218 bits allowed at N = 8192), scale 2**40. Decoded sums must stay below 2**18."""

ONE_MULTIPLICATION = CkksParameters(8192, (60, 40, 60), 40)
"""Aggregation with one plaintext multiplication per ciphertext, for server-side weights:
data primes of 60 and 40 bits, scale 2**40. Weighted sums must stay below 2**17."""

PRESETS = {"add-only": ADD_ONLY, "one-multiplication": ONE_MULTIPLICATION}


def check_depth(parameters: CkksParameters, multiplications: int) -> None:
    """Raise ValueError unless ``parameters`` have the multiplicative depth for ``multiplications``."""
    if multiplications > parameters.depth:
        raise ValueError(
            f"the round needs {multiplications} plaintext multiplication(s) (weights), but "
            f"coeff_mod_bit_sizes {list(parameters.coeff_mod_bit_sizes)} give multiplicative depth "
            f"{parameters.depth}; use the 'one-multiplication' preset {list(ONE_MULTIPLICATION.coeff_mod_bit_sizes)} "
            f"or add a data prime of scale_bits = {parameters.scale_bits} bits before the last prime")


def check_headroom(parameters: CkksParameters, multiplications: int, largest_sum: float,
                   description: str) -> None:
    """Raise ValueError unless a decoded magnitude of ``largest_sum`` fits below the modulus headroom.

    ``description`` names the source of ``largest_sum`` in the message.
    """
    headroom = parameters.headroom_bits(multiplications)
    sizes = list(parameters.coeff_mod_bit_sizes)
    if headroom < 1:
        raise ValueError(
            f"scale_bits = {parameters.scale_bits} leaves no room below the data primes of "
            f"coeff_mod_bit_sizes {sizes} after {multiplications} multiplication(s); lower scale_bits "
            f"or raise coeff_mod_bit_sizes[0]")
    if not largest_sum < 2.0**headroom:
        raise ValueError(
            f"{description} can reach {largest_sum:.6g}, but coeff_mod_bit_sizes {sizes} with "
            f"scale_bits = {parameters.scale_bits} decode magnitudes below 2**{headroom} = "
            f"{2**headroom}; lower clip or the number of clients, lower scale_bits, or raise "
            f"coeff_mod_bit_sizes[0]")
