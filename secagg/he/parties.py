"""Build the server and every party of a CKKS run, for a caller's loop or the simulator."""

from __future__ import annotations

from typing import Any

import numpy as np

from secagg.he.channel import make_channel_keys
from secagg.he.client import CkksClient
from secagg.he.config import DEFAULT_MIN_CLIENTS, CkksConfig
from secagg.he.key_holder import KeyAuthority
from secagg.he.params import ADD_ONLY
from secagg.he.precision import max_abs_error
from secagg.he.server import CkksServer
from secagg.primitives.randomness import RandomSource


def make_parties(config: CkksConfig, inputs, rng: RandomSource | None = None
                 ) -> tuple[CkksServer, list[CkksClient | KeyAuthority]]:
    """Return the server and the parties: one client per row of ``inputs``, then the authority if any.

    Channel keys come from ``rng`` (the OS by default); CKKS keys always
    come from SEAL's own generator.
    """
    inputs = np.asarray(inputs)
    if inputs.ndim != 2 or inputs.shape[0] != config.clients:
        raise ValueError(f"inputs must have shape ({config.clients}, {config.dim}), one row per "
                         f"client, got {inputs.shape}")
    keys, directory = make_channel_keys(config, rng)
    parties: list[CkksClient | KeyAuthority] = [
        CkksClient(config, client, inputs[client], channel_keys=keys[client], directory=directory,
                   rng=rng.child(f"client/{client}") if rng else None)
        for client in range(config.clients)]
    if config.authority:
        parties.append(KeyAuthority(config, channel_keys=keys[config.key_holder], directory=directory,
                                    rng=rng.child("authority") if rng else None))
    return CkksServer(config), parties


def parties_for_spec(spec: Any, inputs: np.ndarray) -> tuple[CkksConfig, CkksServer, list]:
    """Build the configuration and parties of a :class:`secagg.simulation.RunSpec` with protocol "ckks".

    The spec's ``threshold`` sets ``min_clients`` and ``key_holder`` selects
    the key holder; the parameters are the add-only preset.
    """
    config = CkksConfig.create(spec.clients, spec.dim, parameters=ADD_ONLY, clip=spec.clip,
                               key_holder=spec.key_holder,
                               min_clients=spec.threshold if spec.threshold is not None else DEFAULT_MIN_CLIENTS)
    server, parties = make_parties(config, inputs)
    return config, server, parties


def measure_sum_error(config: CkksConfig, result, inputs: np.ndarray) -> tuple[float, float]:
    """Return (max_abs_error, error_bound) of a finished run's aggregate.

    The reference is the float64 (weighted) sum over ``result.included`` of
    the inputs clipped to [-clip, clip], as the clients clipped them.
    """
    included = list(result.included)
    clipped = np.clip(np.asarray(inputs, dtype=np.float64)[included], -config.clip, config.clip)
    expected = config.weights_of(included) @ clipped
    return max_abs_error(result.aggregate, expected), config.error_bound(included)
