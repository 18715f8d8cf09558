import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from secagg.primitives import key_agreement as ka
from secagg.primitives.randomness import DeterministicRandom
from secagg.primitives.vectors import load

SESSION = b"\x01" * 32


def test_rfc7748_vectors():
    vectors = load("x25519_rfc7748")
    dh = vectors["diffie_hellman"]
    assert ka.agree(bytes.fromhex(dh["alice_private"]), bytes.fromhex(dh["bob_public"])).hex() == dh["shared"]
    for case in vectors["scalar_mult"]:
        assert ka.agree(bytes.fromhex(case["scalar"]), bytes.fromhex(case["u"])).hex() == case["output"]


def test_derived_key_known_answers():
    for case in load("kdf_v1")["cases"]:
        key = ka.derive_key(bytes.fromhex(case["shared_secret"]), ka.KeyPurpose(case["purpose"].encode()),
                            bytes.fromhex(case["session_id"]), case["id_a"], case["id_b"])
        assert key.hex() == case["key"]


@settings(max_examples=25)
@given(st.integers(0, 2**32), st.integers(0, 1000), st.integers(0, 1000))
def test_both_sides_derive_same_key(seed, id_u, id_v):
    rng = DeterministicRandom(seed)
    u, v = ka.generate_key_pair(rng), ka.generate_key_pair(rng)
    for purpose in ka.KeyPurpose:
        key_u = ka.agree_and_derive(u.private_bytes, v.public_bytes, purpose, SESSION, id_u, id_v)
        key_v = ka.agree_and_derive(v.private_bytes, u.public_bytes, purpose, SESSION, id_v, id_u)
        assert key_u == key_v
        assert len(key_u) == ka.DERIVED_KEY_BYTES


def test_shared_secret_with_leading_zero_byte_derives_same_key():
    rng = DeterministicRandom(7)
    base = ka.generate_key_pair(rng)
    for _ in range(4096):
        other = ka.generate_key_pair(rng)
        secret = ka.agree(base.private_bytes, other.public_bytes)
        if secret[0] == 0:
            break
    else:
        pytest.fail("no shared secret with a leading zero byte in 4096 tries")
    assert len(secret) == 32
    key_a = ka.agree_and_derive(base.private_bytes, other.public_bytes, ka.KeyPurpose.MASK_SEED, SESSION, 1, 2)
    key_b = ka.agree_and_derive(other.private_bytes, base.public_bytes, ka.KeyPurpose.MASK_SEED, SESSION, 2, 1)
    assert key_a == key_b


def test_keys_differ_by_purpose_session_and_pair():
    secret = bytes(range(32))
    keys = {
        ka.derive_key(secret, ka.KeyPurpose.MASK_SEED, SESSION, 1, 2),
        ka.derive_key(secret, ka.KeyPurpose.CHANNEL_KEY, SESSION, 1, 2),
        ka.derive_key(secret, ka.KeyPurpose.MASK_SEED, b"\x02" * 32, 1, 2),
        ka.derive_key(secret, ka.KeyPurpose.MASK_SEED, SESSION, 1, 3),
    }
    assert len(keys) == 4


def test_low_order_point_is_rejected():
    with pytest.raises(ValueError, match="low-order"):
        ka.agree(bytes(range(32)), bytes(32))


def test_generated_keys_differ_by_default():
    assert ka.generate_key_pair().public_bytes != ka.generate_key_pair().public_bytes


def test_key_pair_repr_hides_private_key():
    pair = ka.generate_key_pair()
    assert pair.private_bytes.hex() not in repr(pair)


def test_agree_rejects_short_key():
    with pytest.raises(ValueError, match="peer_public_bytes must be 32 bytes long, got 31"):
        ka.agree(bytes(32), bytes(31))


def test_many_peers_match_one_at_a_time():
    own = ka.generate_key_pair(DeterministicRandom(1))
    peers = {peer: ka.generate_key_pair(DeterministicRandom(peer + 10)).public_bytes
             for peer in (0, 5, 9)}
    keys = ka.agree_and_derive_many(own, peers, ka.KeyPurpose.CHANNEL_KEY, SESSION, 3)
    assert keys == {peer: ka.agree_and_derive(own, public, ka.KeyPurpose.CHANNEL_KEY, SESSION, 3, peer)
                    for peer, public in peers.items()}


def test_many_peers_name_the_bad_peer():
    own = ka.generate_key_pair(DeterministicRandom(1))
    with pytest.raises(ValueError, match="peer 7 is a low-order"):
        ka.agree_and_derive_many(own, {7: bytes(32)}, ka.KeyPurpose.MASK_SEED, SESSION, 3)
    with pytest.raises(ValueError, match="peer public key must be 32 bytes long, got 31"):
        ka.agree_and_derive_many(own, {7: bytes(31)}, ka.KeyPurpose.MASK_SEED, SESSION, 3)
