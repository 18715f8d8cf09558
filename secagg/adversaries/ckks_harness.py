"""Real CKKS runs that an attack can watch: the parties of :mod:`secagg.he` over the simulated network.

:func:`build_ckks_run` creates a real :class:`~secagg.he.CkksServer` and real
:class:`~secagg.he.CkksClient` objects, with client 0 as the key holder.
:func:`run_honestly` drives them with :func:`secagg.network.simulator.simulate`
through a :class:`RecordingServer`, which keeps a copy of every message the
server receives and sends. That copy is the view of a server that keeps all
it relays. Every party runs its own unmodified code.

The inputs, the channel keys and the aggregation id come from the spec's
seed. The CKKS keys come from SEAL's generator, which cannot be seeded, so
ciphertexts and decryption errors differ between runs with one seed. An
outcome that compares an error with the predicted error bound is the same
in every run, except with the bound's failure probability (2**-40).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from secagg.adversaries.harness import Transcript
from secagg.adversaries.report import AttackSpec
from secagg.he import backend, messages
from secagg.he.channel import make_channel_keys
from secagg.he.client import CkksClient
from secagg.he.config import CkksConfig
from secagg.he.parties import measure_sum_error
from secagg.he.server import CkksServer
from secagg.network.simulator import simulate
from secagg.primitives.key_agreement import KeyPair
from secagg.primitives.randomness import DeterministicRandom
from secagg.protocols.base import AggregationResult, Round

KEY_HOLDER = 0
"""The client that generates the CKKS keys in every ckks attack."""
CLIP = 1.0
"""Clipping bound of the clients' inputs: each value is clipped to [-CLIP, CLIP]."""
INPUT_RANGE = 1.25
"""Inputs are drawn uniformly from [-INPUT_RANGE, INPUT_RANGE), so about 20% of them get clipped."""


class RecordingServer:
    """A :class:`CkksServer` that keeps a copy of every message it receives and sends, and changes none.

    ``transcript.uploads[r]`` contains what each party sent in round r and
    ``transcript.downloads[r]`` the server messages that opened round r.
    """

    def __init__(self, server: CkksServer):
        self.server = server
        self.transcript = Transcript()

    @property
    def round(self) -> Round:
        return self.server.round

    @property
    def result(self) -> AggregationResult | None:
        return self.server.result

    @property
    def context(self):
        """The server's TenSEAL context, as the key holder sent it: parameters only, no key."""
        return self.server.context

    def expected_senders(self) -> set[int]:
        return self.server.expected_senders()

    def receive(self, sender: int, message: bytes) -> None:
        self.transcript.uploads.setdefault(self.server.round, {})[sender] = message
        self.server.receive(sender, message)

    def close_round(self) -> dict[int, bytes]:
        outgoing = self.server.close_round()
        if outgoing:
            self.transcript.downloads.setdefault(self.server.round, {}).update(outgoing)
        return outgoing


@dataclass
class CkksRun:
    """The parties of one CKKS aggregation, the server's recorded view and the ground truth."""

    config: CkksConfig
    server: RecordingServer
    clients: list[CkksClient]
    channel_keys: dict[int, KeyPair]
    """Every client's X25519 channel key pair; an adversarial client's pair is the adversary's."""
    directory: dict[int, bytes]
    inputs: np.ndarray
    """The clients' true inputs, shape (clients, dim), float64, before clipping."""

    @property
    def clipped(self) -> np.ndarray:
        """The inputs as the clients encrypt them: clipped to [-clip, clip]."""
        return np.clip(self.inputs, -self.config.clip, self.config.clip)

    @property
    def transcript(self) -> Transcript:
        return self.server.transcript

    def upload_of(self, client: int) -> bytes | None:
        """Return the CKKS_CIPHERTEXT message that ``client`` sent, or None if none arrived."""
        return self.transcript.uploads.get(Round.MASKED_INPUT_COLLECTION, {}).get(client)

    def load_upload(self, context, client: int):
        """Parse ``client``'s upload and load its CKKS vector under ``context``; None if none arrived."""
        message = self.upload_of(client)
        if message is None:
            return None
        config = self.config
        data = messages.parse_ciphertext(message, config.digest(), client)
        return backend.load_vector(context, data, config.parameters, config.dim)


def build_ckks_run(spec: AttackSpec) -> CkksRun:
    """Create the server and clients of one CKKS aggregation.

    Inputs, channel keys and the aggregation id are drawn from ``spec.seed``.
    ``spec.threshold`` sets the key holder's ``min_clients``. The clients are
    built as :func:`secagg.he.make_parties` builds them, but the channel key
    pairs are kept, so that an adversarial client can use its own.
    """
    rng = DeterministicRandom(spec.seed).child("ckks")
    config = CkksConfig.create(spec.clients, spec.dim, clip=CLIP, key_holder=KEY_HOLDER,
                               min_clients=spec.threshold, rng=rng.child("config"))
    fractions = rng.child("inputs").uniform(2**32, spec.clients * spec.dim) / 2.0**32
    inputs = (INPUT_RANGE * (2.0 * fractions - 1.0)).reshape(spec.clients, spec.dim)
    channel_keys, directory = make_channel_keys(config, rng.child("channel"))
    clients = [CkksClient(config, client, inputs[client], channel_keys=channel_keys[client],
                          directory=directory, rng=rng.child(f"client/{client}"))
               for client in range(spec.clients)]
    return CkksRun(config, RecordingServer(CkksServer(config)), clients, channel_keys, directory,
                   inputs)


def run_honestly(run: CkksRun, seed: int) -> AggregationResult:
    """Run the whole protocol over the simulated network, without dropouts; return the server's result."""
    result, _ = simulate(run.server, run.clients, seed=seed)
    return result


def sum_error(run: CkksRun, result: AggregationResult) -> dict[str, float | bool | None]:
    """Compare the run's output with the float64 sum of the clipped inputs of the clients it includes.

    Returns ``correct``, ``max_abs_error`` and ``error_bound``. ``correct``
    means that an output exists and its max absolute error is within the
    predicted bound. Without an output the other two are None.
    """
    if result.aborted or result.aggregate is None:
        return {"correct": False, "max_abs_error": None, "error_bound": None}
    error, bound = measure_sum_error(run.config, result, run.inputs)
    return {"correct": bool(error <= bound), "max_abs_error": error, "error_bound": bound}
