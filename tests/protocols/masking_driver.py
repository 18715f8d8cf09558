"""A minimal transport for protocol tests: no simulator, just the documented API."""

import numpy as np

from secagg.primitives.randomness import DeterministicRandom
from secagg.protocols.base import Round
from secagg.protocols.masking import MaskingClient, MaskingConfig, MaskingServer, make_pki


def build(n=6, t=4, dim=10, bits=8, degree=None, active=False, seed=1, inputs=None):
    rng = DeterministicRandom(seed)
    config = MaskingConfig.create(n, dim, bits, t, degree, active=active, rng=rng)
    keys, pki = make_pki(n, rng) if active else ([None] * n, None)
    if inputs is None:
        inputs = np.random.default_rng(seed).integers(0, 2**bits, (n, dim), dtype=np.uint64)
    clients = [MaskingClient(config, i, inputs[i], rng=rng.child(f"client/{i}"),
                             signing_key=keys[i], pki=pki) for i in range(n)]
    return config, clients, MaskingServer(config, pki=pki), inputs


def run(config, clients, server, drop_stage=None, tamper=None):
    """Run to the end. ``drop_stage`` maps client id to the round from which it is silent.

    ``tamper(round, sender, message)`` may replace a client's message, or
    return None to withhold it.
    """
    drop_stage = drop_stage or {}
    outgoing = {c.client_id: c.start() for c in clients if drop_stage.get(c.client_id, 99) > 0}
    round_ = Round.ADVERTISE_KEYS
    while server.result is None:
        for sender, message in outgoing.items():
            if message is not None:
                if tamper is not None:
                    message = tamper(round_, sender, message)
                if message is not None:
                    server.receive(sender, message)
        requests = server.close_round()
        round_ = server.round
        outgoing = {cid: clients[cid].handle(message) for cid, message in requests.items()
                    if drop_stage.get(cid, 99) > round_.stage}
    return server.result


def plaintext_sum(config, inputs, included):
    return inputs[included].sum(axis=0, dtype=np.uint64) % np.uint64(config.modulus)
