"""The Ray backend against the local one, on a local Ray instance with 2 CPUs.

Each test that needs Ray takes the module's ``ray_cluster`` fixture, which
skips it when Ray is not installed. The missing-Ray test runs everywhere.
"""

import json
import os
import sys
import time

import numpy as np
import pytest

# Ray 2.60 reads this when it is first imported: 0 keeps a local instance on 127.0.0.1.
os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")

from secagg.cli.main import main  # noqa: E402
from secagg.network import DropCause, simulate  # noqa: E402
from secagg.network.executor import LocalExecutor  # noqa: E402
from secagg.network import ray_executor  # noqa: E402
from secagg.network.ray_executor import MISSING_RAY_MESSAGE  # noqa: E402
from secagg.primitives.randomness import DeterministicRandom  # noqa: E402
from secagg.protocols.base import Round  # noqa: E402
from secagg.simulation import RunSpec, _build_parties, run  # noqa: E402
from secagg.simulation_ray import build_ray_parties  # noqa: E402

RUN_LIMIT_S = 60.0
"""Maximum seconds a run with a lost actor may take before the test counts it as hung."""


@pytest.fixture(scope="module")
def ray_cluster():
    ray = pytest.importorskip("ray")
    from ray import cloudpickle

    # Workers cannot import this test module, so its helper classes travel by value.
    cloudpickle.register_pickle_by_value(sys.modules[__name__])
    ray.init(num_cpus=2, include_dashboard=False, _node_ip_address="127.0.0.1",
             log_to_driver=False, object_store_memory=200 * 2**20)
    yield ray
    ray.shutdown()
    cloudpickle.unregister_pickle_by_value(sys.modules[__name__])


def executor_for(spec, levels, rng=None, **options):
    from secagg.network.ray_executor import RayExecutor

    config, server, factory, inputs = build_ray_parties(spec, levels, rng)
    return config, server, RayExecutor(factory, list(inputs), inputs, **options)


def draw_levels(spec, seed=0):
    return np.random.default_rng(seed).integers(0, 2**spec.bits, size=(spec.clients, spec.dim),
                                                dtype=np.uint64)


def expected_sum(levels, included, modulus):
    return levels[included].sum(axis=0, dtype=np.uint64) % np.uint64(modulus)


def exclusion_keys(result):
    return sorted((e.client, e.round, e.reason) for e in result.exclusions)


class RecordingServer:
    """Wraps a server and records every message it receives and sends, in order."""

    def __init__(self, server):
        self.server = server
        self.log = []

    @property
    def round(self):
        return self.server.round

    @property
    def result(self):
        return self.server.result

    def expected_senders(self):
        return self.server.expected_senders()

    def receive(self, sender, message):
        self.log.append(("up", sender, message))
        self.server.receive(sender, message)

    def close_round(self):
        outgoing = self.server.close_round()
        self.log.extend(("down", client, message) for client, message in sorted(outgoing.items()))
        return outgoing


class FaultyClient:
    """Delegates to a real client, but raises or sleeps when a chosen round's message arrives."""

    def __init__(self, client, fault, fault_round):
        self.client = client
        self.client_id = client.client_id
        self.abort_detail = ""
        self.fault = fault
        self.fault_round = fault_round

    @property
    def round(self):
        return self.client.round

    @property
    def aborted(self):
        return self.client.aborted

    def start(self):
        return self.client.start()

    def handle(self, message):
        if self.client.round is self.fault_round:
            if self.fault == "raise":
                raise ValueError(f"injected failure in {self.fault_round.name}")
            time.sleep(3600)
        return self.client.handle(message)


class FaultyFactory:
    """Builds clients with ``inner`` and wraps the ids of ``faults`` in :class:`FaultyClient`."""

    def __init__(self, inner, faults, fault_round):
        self.inner = inner
        self.faults = faults
        self.fault_round = fault_round

    def __call__(self, client_id, values):
        client = self.inner(client_id, values)
        if client_id in self.faults:
            return FaultyClient(client, self.faults[client_id], self.fault_round)
        return client


# The same outcome on both backends

@pytest.mark.parametrize("protocol, stage, active, deterministic", [
    ("secagg", 1, False, False),
    ("secagg+", 2, False, False),
    ("secagg+", 2, False, True),
    ("secagg+", 4, True, False),
    ("plaintext", 2, False, False),
])
def test_ray_matches_local(ray_cluster, protocol, stage, active, deterministic):
    common = dict(drop_stage=stage, dropout_rate=0.2, active=active, seed=5, deterministic=deterministic)
    local = run(RunSpec(protocol, 20, 300, 16, **common))
    remote = run(RunSpec(protocol, 20, 300, 16, backend="ray", **common))

    assert remote.result.aborted is local.result.aborted is False
    assert remote.correct is local.correct is True
    assert np.array_equal(remote.aggregate, local.aggregate)
    assert remote.result.included == local.result.included
    assert exclusion_keys(remote.result) == exclusion_keys(local.result)
    assert remote.report.dropouts == local.report.dropouts
    assert remote.report.bytes.client_upload == local.report.bytes.client_upload
    assert remote.report.bytes.server_received == local.report.bytes.server_received

    if protocol == "secagg+" and stage <= 2 and not deterministic:
        # The SecAgg+ graph follows from the session's fresh keys. So the dropped clients among a
        # survivor's neighbours, and the size of its UNMASKING_REQUEST, change from run to run on
        # either backend. Every other message size stays the same.
        remote_types = dict(remote.report.bytes.by_type)
        local_types = dict(local.report.bytes.by_type)
        assert remote_types.pop("UNMASKING_REQUEST") > 0
        assert local_types.pop("UNMASKING_REQUEST") > 0
        assert remote_types == local_types
        return
    assert remote.report.bytes == local.report.bytes
    assert remote.report.bytes_by_round() == local.report.bytes_by_round()


def test_deterministic_messages_identical(ray_cluster):
    spec = RunSpec("secagg+", 16, 200, 16, active=True, seed=9, deterministic=True)
    levels = draw_levels(spec, seed=1)
    dropout = {3: {4}, 4: {11}}

    _, local_server, clients = _build_parties(spec, levels, DeterministicRandom(9))
    local = RecordingServer(local_server)
    local_result, local_report = simulate(local, clients, dropout=dropout, seed=9)

    _, remote_server, executor = executor_for(spec, levels, DeterministicRandom(9))
    remote = RecordingServer(remote_server)
    with executor:
        remote_result, remote_report = simulate(remote, executor=executor, dropout=dropout, seed=9)

    assert len(remote.log) == len(local.log)
    assert remote.log == local.log
    assert np.array_equal(remote_result.aggregate, local_result.aggregate)
    assert remote_report.bytes == local_report.bytes
    assert remote_report.dropouts == local_report.dropouts


# Failures: raising clients, lost actors, hung calls

def test_raising_client_reported_as_local(ray_cluster):
    spec = RunSpec("secagg", 12, 100, 16, seed=2)
    levels = draw_levels(spec)
    config, _, inner, inputs = build_ray_parties(spec, levels, None)
    factory = FaultyFactory(inner, {3: "raise", 8: "raise"}, Round.MASKED_INPUT_COLLECTION)

    from secagg.network.ray_executor import RayExecutor
    from secagg.protocols.masking import MaskingServer

    local_executor = LocalExecutor([factory(client, inputs[client]) for client in inputs])
    local_result, local_report = simulate(MaskingServer(config), executor=local_executor)
    with RayExecutor(factory, list(inputs), inputs) as executor:
        remote_result, remote_report = simulate(MaskingServer(config), executor=executor)

    assert remote_report.dropouts == local_report.dropouts
    assert [d.cause for d in remote_report.dropouts] == [DropCause.FAILURE, DropCause.FAILURE]
    assert remote_report.dropouts[0].detail == "ValueError: injected failure in MASKED_INPUT_COLLECTION"
    assert remote_result.included == local_result.included
    assert np.array_equal(remote_result.aggregate, expected_sum(levels, remote_result.included, config.modulus))


@pytest.mark.parametrize("killed, aborts", [((1,), False), ((0, 1), True)])
def test_killed_actor_clients_drop(ray_cluster, killed, aborts):
    spec = RunSpec("secagg", 16, 100, 16, threshold=5, seed=4)
    levels = draw_levels(spec)
    config, server, executor = executor_for(spec, levels, actors=2, clients_per_call=2)
    lost = sorted(client for actor in killed for client in executor.hosted[actor])

    def kill_after_share_keys(progress):
        if progress.round is Round.SHARE_KEYS:
            for actor in killed:
                ray_cluster.kill(executor.actors[actor])

    began = time.perf_counter()
    with executor:
        result, report = simulate(server, executor=executor, progress=kill_after_share_keys)
    elapsed = time.perf_counter() - began

    assert elapsed < RUN_LIMIT_S
    dropped = [d for d in report.dropouts if d.cause is DropCause.FAILURE]
    # Killed after ShareKeys, they fail in the share receipts that follow, or in the
    # next round when a call reached the actor before the kill took effect. When the
    # run aborts after the receipts, such a client is never called again.
    assert {d.client for d in dropped} <= set(lost)
    assert len(dropped) == len(lost) or aborts
    assert {d.stage for d in dropped} <= {Round.SHARE_RECEIPTS, Round.MASKED_INPUT_COLLECTION}
    assert all("Ray actor" in d.detail for d in dropped)
    assert result.aborted is aborts
    if not aborts:
        assert result.included == sorted(set(range(16)) - set(lost))
        assert np.array_equal(result.aggregate, expected_sum(levels, result.included, config.modulus))


def test_hung_call_times_out(ray_cluster):
    spec = RunSpec("secagg", 12, 100, 16, seed=6)  # threshold 7
    levels = draw_levels(spec)
    config, server, inner, inputs = build_ray_parties(spec, levels, None)
    factory = FaultyFactory(inner, {5: "hang"}, Round.UNMASKING)

    from secagg.network.ray_executor import RayExecutor

    began = time.perf_counter()
    with RayExecutor(factory, list(inputs), inputs, actors=2, clients_per_call=1, timeout_s=15.0) as executor:
        assert executor.hosted[1] == [1, 3, 5, 7, 9, 11]
        result, report = simulate(server, executor=executor)
    elapsed = time.perf_counter() - began

    assert elapsed < RUN_LIMIT_S
    # The 15 s limit leaves room for the first calls, which load the Numba kernels, on a busy
    # machine. An actor runs its calls in order: 1 and 3 finished, 5 hangs, and 7, 9 and 11
    # wait behind it.
    assert sorted(d.client for d in report.dropouts) == [5, 7, 9, 11]
    assert all(d.stage is Round.UNMASKING and "TimeoutError" in d.detail for d in report.dropouts)
    # Clients that drop in Unmasking already sent their masked inputs, so they stay in the sum.
    assert result.aborted is False
    assert result.included == list(range(12))
    assert np.array_equal(result.aggregate, expected_sum(levels, result.included, config.modulus))


# The command line

def test_cli_backend_ray_json(ray_cluster, capsys):
    arguments = ["simulate", "--protocol", "secagg+", "--clients", "12", "--dim", "50", "--seed", "3",
                 "--dropout-rate", "0.2", "--deterministic", "--json"]
    assert main(arguments) == 0
    local = json.loads(capsys.readouterr().out)
    assert main([*arguments, "--backend", "ray"]) == 0
    remote = json.loads(capsys.readouterr().out)

    assert remote["backend"] == "ray"
    assert local["backend"] == "local"
    assert remote["correct"] is True
    assert remote["included"] == local["included"]
    assert remote["exclusions"] == local["exclusions"]
    assert remote["bytes"] == local["bytes"]


def test_ckks_on_ray(ray_cluster):
    pytest.importorskip("tenseal")
    outcome = run(RunSpec("ckks", 4, 64, 16, drop_clients=(2,), seed=1, backend="ray"))
    assert outcome.result.aborted is False
    assert outcome.result.included == [0, 1, 3]
    assert outcome.correct is True


def test_missing_ray_error(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "ray", None)  # "import ray" now raises ImportError
    code = main(["simulate", "--clients", "4", "--dim", "8", "--backend", "ray", "--json"])
    captured = capsys.readouterr()
    assert code == 2
    assert captured.out == ""
    assert captured.err == f"secagg simulate: error: {MISSING_RAY_MESSAGE}\n"
    assert MISSING_RAY_MESSAGE == 'Ray is not installed; install it with: pip install -e ".[ray]"'


@pytest.mark.parametrize("address, loopback", [
    ("127.0.0.1:6379", True), ("localhost:6379", True), ("[::1]:6379", True),
    ("10.0.0.5:6379", False), ("auto", False),
])
def test_loopback_address_detection(address, loopback):
    assert ray_executor._is_loopback(address) is loopback


def test_ray_address_needs_ray_backend():
    with pytest.raises(ValueError, match="ray_address applies to the ray backend only"):
        RunSpec("secagg", 4, 8, 16, ray_address="127.0.0.1:6379")
