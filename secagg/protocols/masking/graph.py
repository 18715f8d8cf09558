"""Neighbour graphs of the masking protocols: the complete graph or a SecAgg+ Harary graph.

The SecAgg+ permutation is seeded by the session id, a hash of every round-0
public key, so the server cannot pick the graph without changing the keys.
"""

from __future__ import annotations

import functools

import numpy as np

from secagg.protocols import graph


def session_neighbours(config, session_id: bytes, client: int) -> np.ndarray:
    """Return the sorted neighbour ids of ``client`` (never the client itself)."""
    if config.complete_graph:
        ids = np.arange(config.clients, dtype=np.int64)
        return ids[ids != client]
    return _harary_neighbours(config.clients, config.degree, session_id)[client]


@functools.lru_cache(maxsize=4)
def _harary_neighbours(clients: int, degree: int, session_id: bytes) -> np.ndarray:
    permutation = graph.permutation_from_seed(session_id, clients)
    rows = np.sort(graph.harary_neighbors(clients, degree, permutation), axis=1)
    rows.flags.writeable = False
    return rows
