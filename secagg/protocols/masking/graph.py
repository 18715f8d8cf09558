"""Which clients neighbour which: the complete graph or a SecAgg+ Harary graph."""

from __future__ import annotations

import functools

import numpy as np


def session_neighbours(config, session_id: bytes, client: int) -> np.ndarray:
    """Return the sorted neighbour ids of ``client`` (never the client itself)."""
    if config.complete_graph:
        ids = np.arange(config.clients, dtype=np.int64)
        return ids[ids != client]
    return _harary_neighbours(config.clients, config.degree, session_id)[client]


@functools.lru_cache(maxsize=8)
def _harary_neighbours(clients: int, degree: int, session_id: bytes) -> list[np.ndarray]:
    from secagg.protocols import graph_parameters

    permutation = graph_parameters.permutation_from_seed(clients, session_id)
    return graph_parameters.harary_neighbours(clients, degree, permutation)
