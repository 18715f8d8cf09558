"""Known-answer checks of every primitive, run by ``secagg selftest``.

Each check raises AssertionError on a mismatch. The vectors and their
sources are in :mod:`secagg.primitives.vectors`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import numpy as np
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from secagg.primitives import key_agreement, packing, prg, signatures
from secagg.primitives.vectors import load


def _hex(text: str) -> bytes:
    return bytes.fromhex(text)


def check_x25519() -> None:
    vectors = load("x25519_rfc7748")
    for case in vectors["scalar_mult"]:
        out = key_agreement.agree(_hex(case["scalar"]), _hex(case["u"]))
        assert out == _hex(case["output"]), "X25519 scalar multiplication"
    dh = vectors["diffie_hellman"]
    assert key_agreement.agree(_hex(dh["alice_private"]), _hex(dh["bob_public"])) == _hex(dh["shared"])
    assert key_agreement.agree(_hex(dh["bob_private"]), _hex(dh["alice_public"])) == _hex(dh["shared"])


def check_hkdf() -> None:
    case = load("hkdf_rfc5869")
    hkdf = HKDF(hashes.SHA256(), case["length"], _hex(case["salt"]), _hex(case["info"]))
    assert hkdf.derive(_hex(case["ikm"])) == _hex(case["okm"]), "HKDF-SHA256"
    for case in load("kdf_v1")["cases"]:
        key = key_agreement.derive_key(_hex(case["shared_secret"]),
                                       key_agreement.KeyPurpose(case["purpose"].encode()),
                                       _hex(case["session_id"]), case["id_a"], case["id_b"])
        assert key == _hex(case["key"]), "secagg key derivation"


def check_aes_gcm() -> None:
    for case in load("aes_gcm")["cases"]:
        out = AESGCM(_hex(case["key"])).encrypt(_hex(case["nonce"]), _hex(case["plaintext"]), None)
        assert out == _hex(case["ciphertext_and_tag"]), "AES-256-GCM"


def check_ed25519() -> None:
    case = load("ed25519_rfc8032")
    key = signatures.SigningKey.from_private_bytes(_hex(case["private"]))
    assert key.public_bytes == _hex(case["public"]), "Ed25519 public key"
    assert key.sign(_hex(case["message"])) == _hex(case["signature"]), "Ed25519 signature"
    signatures.verify(key.public_bytes, _hex(case["signature"]), _hex(case["message"]))


def check_aes_ctr() -> None:
    case = load("aes_ctr_sp800_38a")
    plaintext, ciphertext = _hex(case["plaintext"]), _hex(case["ciphertext"])
    expected = bytes(a ^ b for a, b in zip(plaintext, ciphertext))
    # The PRG derives its counter block from the domain, so the cipher is
    # checked at the vector's counter block.
    encryptor = Cipher(algorithms.AES(_hex(case["key"])), modes.CTR(_hex(case["counter_block"]))).encryptor()
    assert encryptor.update(bytes(len(expected))) == expected, "AES-256-CTR keystream"


def check_prg() -> None:
    for case in load("prg_v1")["cases"]:
        got = prg.expand(_hex(case["seed"]), len(case["elements"]), case["modulus"], _hex(case["domain"]))
        assert got.tolist() == case["elements"], f"PRG expansion for R = {case['modulus']}"


def check_packing() -> None:
    for case in load("packing_v1")["cases"]:
        values = np.array(case["values"], dtype=np.uint64)
        packed = packing.pack(values, case["width"])
        assert packed == _hex(case["packed"]), f"packing at {case['width']} bits"
        assert packing.unpack(packed, case["width"], values.size).tolist() == case["values"]


def check_shamir() -> None:
    from secagg.primitives import shamir
    shamir.known_answer_check()


class Check(NamedTuple):
    name: str
    run: Callable[[], None]


CHECKS = (
    Check("X25519 (RFC 7748)", check_x25519),
    Check("HKDF-SHA256 (RFC 5869) and key derivation", check_hkdf),
    Check("AES-256-GCM (GCM spec test cases 13, 14)", check_aes_gcm),
    Check("Ed25519 (RFC 8032)", check_ed25519),
    Check("AES-256-CTR (NIST SP 800-38A F.5.5)", check_aes_ctr),
    Check("PRG expansion into Z_R", check_prg),
    Check("bit packing", check_packing),
    Check("Shamir sharing over GF(2^31 + 11)", check_shamir),
)


def run_checks() -> list[tuple[str, str | None]]:
    """Run every check; return (name, None) on success or (name, error) on failure."""
    results = []
    for check in CHECKS:
        try:
            check.run()
        except Exception as error:  # a selftest reports every failure, whatever its type
            results.append((check.name, f"{type(error).__name__}: {error}"))
        else:
            results.append((check.name, None))
    return results
