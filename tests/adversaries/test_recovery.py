import numpy as np
import pytest

from secagg.adversaries.recovery import reconstruct, unmask
from secagg.primitives import shamir
from secagg.primitives.randomness import DeterministicRandom
from secagg.protocols.masking import masks

SECRET = bytes(range(32))


def serialized_shares(threshold, holders, seed=0):
    shares = shamir.split(SECRET, threshold, holders, rng=DeterministicRandom(seed))
    return {share.x - 1: share.to_bytes() for share in shares}


def test_reconstruct_at_threshold():
    shares = serialized_shares(3, 5)
    outcome = reconstruct({h: shares[h] for h in (0, 2, 4)}, 3, SECRET)
    assert outcome.complete
    assert outcome.secret == SECRET
    assert "reconstructed" in outcome.describe("the key")


@pytest.mark.parametrize("held", [1, 2, 3])
def test_below_threshold_is_rejected(held):
    shares = serialized_shares(4, 6)
    outcome = reconstruct({h: shares[h] for h in range(held)}, 4, SECRET)
    assert not outcome.complete
    assert "at least threshold = 4 shares" in outcome.detail
    assert outcome.guess != SECRET
    assert not outcome.guess_is_secret
    assert "rejects" in outcome.describe("the key")


def test_below_threshold_with_no_shares():
    outcome = reconstruct({}, 3, SECRET)
    assert outcome.shares == 0
    assert not outcome.complete
    assert "nothing to reconstruct from" in outcome.describe("the key")


def test_unparsable_shares_are_ignored():
    shares = serialized_shares(2, 3)
    shares[1] = b"not a share"
    outcome = reconstruct(shares, 2, SECRET)
    assert outcome.shares == 2
    assert outcome.secret == SECRET


def test_unmask_inverts_masked_vector():
    modulus, session_id = 2**20, bytes(32)
    values = np.arange(10, dtype=np.uint64)
    self_seed = bytes([1]) * 32
    pairwise = {1: bytes([2]) * 32, 5: bytes([3]) * 32}
    masked = masks.masked_vector(values, self_seed, pairwise, 3, modulus, session_id)
    assert not np.array_equal(masked, values)
    assert np.array_equal(unmask(masked, self_seed, pairwise, 3, modulus, session_id), values)


def test_unmask_with_a_wrong_seed_differs():
    modulus, session_id = 2**20, bytes(32)
    values = np.arange(10, dtype=np.uint64)
    masked = masks.masked_vector(values, bytes([1]) * 32, {}, 0, modulus, session_id)
    assert not np.array_equal(unmask(masked, bytes([9]) * 32, {}, 0, modulus, session_id), values)
