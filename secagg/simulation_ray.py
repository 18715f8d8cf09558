"""Run a :class:`secagg.simulation.RunSpec` with its clients in Ray actors.

The driver builds the configuration, the server and every public value
exactly as :func:`secagg.simulation._build_parties` does, drawing from the
same random source in the same order. Each client is then built inside its
actor by one of the factories below, from the same arguments. With
``deterministic`` a client's randomness is
``DeterministicRandom(seed).child(f"client/{i}")`` on both backends, so
the same seed gives the same messages, bit for bit. Without it keys come
from each actor's OS generator, and only the outcome (aggregate, included
clients, byte counts) is the same as on the local backend.

Private values (inputs, Ed25519 signing keys, X25519 channel keys) travel
to the one actor that hosts their owner, never to every actor.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from secagg.network.ray_executor import RayExecutor, ray_session
from secagg.network.simulator import simulate
from secagg.primitives.randomness import DeterministicRandom, RandomSource


@dataclass(frozen=True)
class MaskingClientFactory:
    """Factory of SecAgg and SecAgg+ clients; a client's value is ``(input, signing key or None)``."""

    config: Any
    deterministic_seed: int | None
    """Seed of the run's DeterministicRandom; None for keys from the OS."""
    pki: dict[int, bytes] | None
    naive_unmasking: bool

    def __call__(self, client_id: int, values: Any):
        from secagg.protocols.masking import MaskingClient

        levels, signing_key = values
        rng = None
        if self.deterministic_seed is not None:
            rng = DeterministicRandom(self.deterministic_seed).child(f"client/{client_id}")
        return MaskingClient(self.config, client_id, levels, rng=rng, signing_key=signing_key,
                             pki=self.pki, naive_unmasking=self.naive_unmasking)


@dataclass(frozen=True)
class PlaintextClientFactory:
    """Factory of plaintext-baseline clients; a client's value is its input."""

    config: Any

    def __call__(self, client_id: int, values: Any):
        from secagg.protocols.plaintext import PlaintextClient

        return PlaintextClient(self.config, client_id, values)


@dataclass(frozen=True)
class CkksPartyFactory:
    """Factory of CKKS clients and the key authority; a party's value is ``(input or None, channel key bytes)``.

    X25519 key objects do not pickle, so channel keys travel as their raw
    private and public bytes and are loaded again in the actor.
    """

    config: Any
    directory: dict[int, bytes]

    def __call__(self, client_id: int, values: Any):
        from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

        from secagg.he.client import CkksClient
        from secagg.he.key_holder import KeyAuthority
        from secagg.primitives.key_agreement import KeyPair

        inputs, (private_bytes, public_bytes) = values
        keys = KeyPair(private_bytes, public_bytes, X25519PrivateKey.from_private_bytes(private_bytes))
        if client_id == self.config.clients:
            return KeyAuthority(self.config, channel_keys=keys, directory=self.directory)
        return CkksClient(self.config, client_id, inputs, channel_keys=keys, directory=self.directory)


def simulate_on_ray(spec, levels: np.ndarray, rng: RandomSource | None, **network):
    """Build the parties of ``spec`` and simulate the run with the clients in Ray actors.

    ``network`` contains the keyword arguments of
    :func:`secagg.network.simulator.simulate`. Ray is joined or started as
    :func:`secagg.network.ray_executor.ray_session` describes, with
    ``spec.ray_address``. Returns (config, result, report).
    """
    with ray_session(spec.ray_address):
        config, server, factory, inputs = build_ray_parties(spec, levels, rng)
        with RayExecutor(factory, list(inputs), inputs) as executor:
            result, report = simulate(server, executor=executor, **network)
    return config, result, report


def build_ray_parties(spec, levels: np.ndarray, rng: RandomSource | None):
    """Return (config, server, client factory, per-client factory input by client id) for ``spec``."""
    n = spec.clients
    if spec.protocol == "ckks":
        return _ckks_parties(spec, levels)
    if spec.protocol == "plaintext":
        from secagg.protocols.masking.config import modulus_for
        from secagg.protocols.plaintext import PlaintextConfig, PlaintextServer

        config = PlaintextConfig(n, spec.dim, modulus_for(n, spec.bits))
        inputs = {client: levels[client] for client in range(n)}
        return config, PlaintextServer(config), PlaintextClientFactory(config), inputs

    from secagg.protocols.masking import MaskingConfig, MaskingServer, make_pki
    from secagg.simulation import choose_parameters

    degree, threshold = choose_parameters(spec)
    config = MaskingConfig.create(n, spec.dim, spec.bits, threshold, degree, active=spec.active, rng=rng)
    keys, pki = make_pki(n, rng) if spec.active else ([None] * n, None)
    seed = (spec.seed or 0) if spec.deterministic else None  # as run() seeds its DeterministicRandom
    factory = MaskingClientFactory(config, seed, pki, spec.naive_unmasking)
    inputs = {client: (levels[client], keys[client]) for client in range(n)}
    return config, MaskingServer(config, pki=pki), factory, inputs


def _ckks_parties(spec, levels: np.ndarray):
    from secagg.he.channel import make_channel_keys
    from secagg.he.config import DEFAULT_MIN_CLIENTS, CkksConfig
    from secagg.he.params import ADD_ONLY
    from secagg.he.server import CkksServer

    # The same configuration as secagg.he.parties.parties_for_spec.
    min_clients = spec.threshold if spec.threshold is not None else DEFAULT_MIN_CLIENTS
    config = CkksConfig.create(spec.clients, spec.dim, parameters=ADD_ONLY, clip=spec.clip,
                               key_holder=spec.key_holder, min_clients=min_clients)
    keys, directory = make_channel_keys(config)
    inputs = {party: (levels[party] if party < spec.clients else None,
                      (pair.private_bytes, pair.public_bytes))
              for party, pair in keys.items()}
    return config, CkksServer(config), CkksPartyFactory(config, directory), inputs
