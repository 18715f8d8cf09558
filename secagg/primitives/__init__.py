"""Cryptographic building blocks of the protocols.

Standard primitives (X25519, Ed25519, HKDF, AES) come from ``cryptography``
and are only wrapped here. Shamir sharing, the PRG's expansion into Z_R,
fixed-point encoding and bit packing are this package's own code and are
tested against independent references and known-answer vectors.
"""
