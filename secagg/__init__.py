"""Secure aggregation for federated learning.

The package is layered so that folder names show the architecture:

- ``secagg.primitives``: key agreement, authenticated encryption, signatures,
  Shamir sharing, the PRG, fixed-point encoding and bit packing.
- ``secagg.cli``: the ``secagg`` console script.

Importing ``secagg`` needs only numpy, numba and cryptography.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
