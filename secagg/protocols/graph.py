"""The SecAgg+ communication graph: a Harary graph over a seeded permutation.

In SecAgg+ (Bell et al., CCS 2020) each client exchanges keys and Shamir
shares only with its neighbors in a Harary graph H(n, k). For even k, H(n, k)
places n positions on a ring and joins each position to the k / 2 nearest
positions on either side. A permutation maps ring positions to client ids.
The bounds of :mod:`secagg.protocols.graph_parameters` treat it as uniformly
random and independent of which clients are corrupted or drop out, so it must
be drawn after the adversary has chosen whom to corrupt, and no party may
steer it.

:func:`permutation_from_seed` derives that permutation from a public 32-byte
seed, for example a hash of every round-0 public key, so that the server and
all clients compute the same graph without another message.
"""

from __future__ import annotations

import numpy as np

from secagg._validation import check_bytes, check_int
from secagg.primitives import prg

PERMUTATION_DOMAIN = b"secagg/secagg-plus/graph-permutation/v1"
"""PRG domain of the permutation stream, distinct from every mask domain."""

_WORD_MODULUS = 2**62
"""The permutation is drawn from 62-bit words, the widest that
:func:`secagg.primitives.prg.expand` returns without rejection."""


def permutation_from_seed(seed: bytes, clients: int) -> np.ndarray:
    """Derive a uniformly random permutation of ``range(clients)`` from ``seed``.

    Returns an int64 array that maps ring position to client id. The same
    seed and client count always give the same permutation.

    Construction (version 1):

    1. Expand ``seed`` with :func:`secagg.primitives.prg.expand` in the
       domain :data:`PERMUTATION_DOMAIN` into uniform 62-bit words.
    2. For i = n - 1 down to 1, draw j uniform in [0, i] from the next word
       w: accept ``j = w mod (i + 1)`` when ``w`` is below the largest
       multiple of ``i + 1`` that fits in 62 bits, and otherwise reject w and
       read the next word. Each accepted j is exactly uniform, and a word is
       rejected with probability below ``n / 2**62``.
    3. Run the Fisher-Yates shuffle on the identity: for each i, swap the
       entries at positions i and j.

    The seed is public, so anyone can recompute the graph. It must not be
    under the adversary's control: a party that picks its public key after
    seeing the others' can try many keys to steer a hash of all keys.
    """
    seed = check_bytes("seed", seed, length=prg.SEED_BYTES)
    clients = check_int("clients", clients, minimum=1)

    # 1. Moduli i + 1 for i = n - 1, ..., 1, and the rejection limit of each.
    moduli = np.arange(clients, 1, -1, dtype=np.uint64)
    limits = (np.uint64(_WORD_MODULUS) // moduli) * moduli

    # 2. Pair steps with words, dropping each rejected word. A rejection
    # shifts every later step to the next word, so the pairing restarts there.
    swaps = np.empty(moduli.shape[0], dtype=np.uint64)
    words = _permutation_words(seed, moduli.shape[0])
    step = 0
    word = 0
    while step < moduli.shape[0]:
        needed = moduli.shape[0] - step
        if word + needed > words.shape[0]:
            words = _permutation_words(seed, 2 * (word + needed))
        window = words[word:word + needed]
        rejected = np.flatnonzero(window >= limits[step:])
        accepted = needed if rejected.size == 0 else int(rejected[0])
        swaps[step:step + accepted] = window[:accepted] % moduli[step:step + accepted]
        step += accepted
        word += accepted + 1

    # 3. Fisher-Yates swaps on the identity.
    permutation = list(range(clients))
    for i, j in zip(range(clients - 1, 0, -1), swaps.tolist()):
        permutation[i], permutation[j] = permutation[j], permutation[i]
    return np.asarray(permutation, dtype=np.int64)


def _permutation_words(seed: bytes, count: int) -> np.ndarray:
    # expand() with a power-of-two modulus is a prefix of one keystream, so
    # a longer request repeats the words already used.
    return prg.expand(seed, count, _WORD_MODULUS, PERMUTATION_DOMAIN)


def harary_neighbors(clients: int, degree: int,
                     permutation: np.ndarray | None = None) -> np.ndarray:
    """Build the neighbor lists of H(clients, degree) over ``permutation``.

    Args:
        clients: Number of clients n, at least 1.
        degree: Number of neighbors k of each client. It must be even and
            below ``clients - 1``, or equal to ``clients - 1`` for the
            complete graph (of any parity). H(n, k) for odd k < n - 1 is not
            supported because it is not built from the ring alone.
        permutation: Ring position to client id, a permutation of
            ``range(clients)`` such as :func:`permutation_from_seed` returns.
            None means the identity.

    Returns:
        An int64 array of shape ``(clients, degree)``. Row c lists the
        neighbors of client c by ring offset: ``-(k // 2)``, ..., -1, then 1,
        ..., ``k - k // 2``. Client c never lists itself, and c lists d
        exactly when d lists c. The array takes ``8 * clients * degree``
        bytes.
    """
    clients = check_int("clients", clients, minimum=1)
    degree = check_int("degree", degree, minimum=0, maximum=clients - 1,
                       hint="a client has at most clients - 1 neighbors")
    if degree % 2 == 1 and degree != clients - 1:
        raise ValueError(f"degree must be even unless it is clients - 1 = "
                         f"{clients - 1} (the complete graph), got {degree}; "
                         f"use the even degree from find_graph_parameters")
    permutation = _check_permutation(permutation, clients)

    positions = np.empty(clients, dtype=np.int64)
    positions[permutation] = np.arange(clients, dtype=np.int64)
    offsets = np.concatenate([np.arange(-(degree // 2), 0, dtype=np.int64),
                              np.arange(1, degree - degree // 2 + 1, dtype=np.int64)])
    neighbor_positions = (positions[:, None] + offsets[None, :]) % clients
    return permutation[neighbor_positions]


def _check_permutation(permutation: np.ndarray | None, clients: int) -> np.ndarray:
    if permutation is None:
        return np.arange(clients, dtype=np.int64)
    array = np.asarray(permutation)
    if array.shape != (clients,) or not np.issubdtype(array.dtype, np.integer):
        raise ValueError(f"permutation must be an integer array of shape "
                         f"({clients},), got dtype {array.dtype} and shape "
                         f"{array.shape}")
    array = array.astype(np.int64)
    if not np.array_equal(np.sort(array), np.arange(clients)):
        raise ValueError(f"permutation must contain each of 0, ..., {clients - 1} "
                         f"exactly once; derive it with permutation_from_seed")
    return array
