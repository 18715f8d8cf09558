"""Compute the vectors of secagg's own constructions without using secagg.

Run: python secagg/primitives/vectors/make_own_vectors.py

- prg_v1.json: AES-256-CTR keystream built block by block from AES-ECB
  encryptions of the counter, read as LSB-first bit fields with Python
  integers, fields >= R skipped.
- kdf_v1.json: HKDF-SHA256 written out with hmac (RFC 5869, empty salt).
- packing_v1.json: LSB-first bit packing with Python integers.
"""

import hashlib
import hmac
import json
import pathlib
import random

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

HERE = pathlib.Path(__file__).parent


def ctr_keystream(key: bytes, block: bytes, nbytes: int) -> bytes:
    ecb = Cipher(algorithms.AES(key), modes.ECB()).encryptor()
    counter = int.from_bytes(block, "big")
    out = b""
    while len(out) < nbytes:
        out += ecb.update(counter.to_bytes(16, "big"))
        counter = (counter + 1) % 2**128
    return out[:nbytes]


def prg_reference(seed: bytes, domain: bytes, modulus: int, count: int) -> list[int]:
    block = hashlib.sha256(b"secagg/prg/v1" + domain).digest()[:16]
    width = (modulus - 1).bit_length()
    stream = int.from_bytes(ctr_keystream(seed, block, 64 * count * width // 8 + 64), "little")
    out, index = [], 0
    while len(out) < count:
        field = (stream >> (index * width)) & ((1 << width) - 1)
        index += 1
        if field < modulus:
            out.append(field)
    return out


def mask_domain(session_id: bytes, round_index: int, purpose: str) -> bytes:
    label = purpose.encode()
    return (len(session_id).to_bytes(2, "big") + session_id + round_index.to_bytes(4, "big")
            + len(label).to_bytes(2, "big") + label)


def hkdf_sha256(ikm: bytes, info: bytes, length: int) -> bytes:
    prk = hmac.new(bytes(32), ikm, hashlib.sha256).digest()
    out, previous, counter = b"", b"", 1
    while len(out) < length:
        previous = hmac.new(prk, previous + info + bytes([counter]), hashlib.sha256).digest()
        out += previous
        counter += 1
    return out[:length]


def kdf_info(purpose: bytes, session_id: bytes, a: int, b: int) -> bytes:
    low, high = sorted((a, b))
    return (b"secagg/kdf/v1" + len(purpose).to_bytes(2, "big") + purpose
            + len(session_id).to_bytes(2, "big") + session_id
            + low.to_bytes(8, "big") + high.to_bytes(8, "big"))


def pack_reference(values: list[int], width: int) -> bytes:
    total = sum(v << (i * width) for i, v in enumerate(values))
    return total.to_bytes((len(values) * width + 7) // 8, "little")


def main() -> None:
    rng = random.Random(20261204)
    seed = bytes(range(32))
    session = hashlib.sha256(b"example session").digest()
    prg_cases = []
    for modulus in (2, 3, 2**8, 1000, 2**16, 2**24 + 1, 2**32, 2**33, 3**30, 2**62 - 57, 2**62):
        domain = mask_domain(session, 2, "self-mask")
        prg_cases.append({"seed": seed.hex(), "domain": domain.hex(), "modulus": modulus,
                          "elements": prg_reference(seed, domain, modulus, 40)})

    kdf_cases = []
    for purpose, a, b in ((b"mask-seed", 3, 7), (b"channel-key", 7, 3), (b"mask-seed", 0, 2**64 - 1)):
        shared = bytes(rng.getrandbits(8) for _ in range(32))
        info = kdf_info(purpose, session, a, b)
        kdf_cases.append({"shared_secret": shared.hex(), "purpose": purpose.decode(),
                          "session_id": session.hex(), "id_a": a, "id_b": b,
                          "key": hkdf_sha256(shared, info, 32).hex()})

    packing_cases = []
    for width in (1, 3, 7, 8, 13, 31, 32, 33, 61, 62):
        values = [rng.getrandbits(width) for _ in range(rng.randint(0, 23))]
        packing_cases.append({"width": width, "values": values,
                              "packed": pack_reference(values, width).hex()})

    source = "computed by make_own_vectors.py beside this file"
    for name, cases in (("prg_v1", prg_cases), ("kdf_v1", kdf_cases), ("packing_v1", packing_cases)):
        (HERE / f"{name}.json").write_text(json.dumps({"source": source, "cases": cases}, indent=1) + "\n")


if __name__ == "__main__":
    main()
