import json
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from secagg.network import (DropCause, FixedDropout, LatencyModel, Link, RateDropout, RoundProgress,
                            as_dropout_model, simulate)
from secagg.protocols import wire
from secagg.protocols.base import AggregationResult, ExclusionReason, Round
from secagg.protocols.plaintext import PlaintextClient, PlaintextConfig, PlaintextServer

CONTEXT = bytes(32)


def plaintext_run(clients=4, dim=10, modulus=2**20, min_clients=1, seed=0):
    config = PlaintextConfig(clients, dim, modulus, min_clients)
    inputs = np.random.default_rng(seed).integers(0, modulus, size=(clients, dim), dtype=np.uint64)
    parties = [PlaintextClient(config, i, inputs[i]) for i in range(clients)]
    return config, PlaintextServer(config), parties, inputs


def exact_sum(inputs, included, modulus):
    return [sum(int(inputs[i][j]) for i in included) % modulus for j in range(inputs.shape[1])]


def drop_causes(report):
    return {(d.client, d.stage, d.cause) for d in report.dropouts}


class RawClient:
    """A client whose first message is fixed bytes, for feeding the server bad input."""

    aborted = False

    def __init__(self, client_id, data):
        self.client_id = client_id
        self.data = data
        self.round = Round.MASKED_INPUT_COLLECTION

    def start(self):
        return self.data

    def handle(self, message):
        return None


class FailingClient(RawClient):
    def start(self):
        raise RuntimeError("boom in start")


class EchoClient:
    """A three-round toy client: 10, 20 and 30 payload bytes, one reply per server message."""

    aborted = False
    replies = {wire.MessageType.SERVER_KEYS: (wire.MessageType.SHARE_KEYS, 20),
               wire.MessageType.FORWARDED_SHARES: (wire.MessageType.MASKED_INPUT, 30)}

    def __init__(self, client_id, fail_on=None):
        self.client_id = client_id
        self.round = Round.ADVERTISE_KEYS
        self.received = []
        self.fail_on = fail_on

    def start(self):
        return wire.Writer(wire.MessageType.ADVERTISE_KEYS, CONTEXT, self.client_id).raw(bytes(10)).to_bytes()

    def handle(self, message):
        message_type = wire.peek_type(message)
        self.received.append(message_type)
        if message_type is self.fail_on:
            raise ValueError(f"cannot handle {message_type.name}")
        reply_type, size = self.replies[message_type]
        return wire.Writer(reply_type, CONTEXT, self.client_id).raw(bytes(size)).to_bytes()


class EchoServer:
    """Collects one message per surviving client in rounds 0, 1 and 2; opens rounds with 5-byte messages."""

    opening = {Round.SHARE_KEYS: wire.MessageType.SERVER_KEYS,
               Round.MASKED_INPUT_COLLECTION: wire.MessageType.FORWARDED_SHARES}

    def __init__(self, clients):
        self.round = Round.ADVERTISE_KEYS
        self.result = None
        self.survivors = set(range(clients))
        self.received = set()

    def expected_senders(self):
        return self.survivors - self.received

    def receive(self, sender, message):
        self.received.add(sender)

    def close_round(self):
        self.survivors = self.received & self.survivors
        self.received = set()
        if self.round is Round.MASKED_INPUT_COLLECTION:
            self.round = Round.FINISHED
            self.result = AggregationResult(np.zeros(1, dtype=np.uint64), sorted(self.survivors), False)
            return {}
        self.round = Round(self.round + 1)
        message_type = self.opening[self.round]
        return {c: wire.Writer(message_type, CONTEXT, wire.SERVER_ID).raw(bytes(5)).to_bytes()
                for c in sorted(self.survivors)}


# Sums and byte counts with the plaintext protocol

def test_plaintext_sum_is_exact():
    config, server, parties, inputs = plaintext_run(clients=6, modulus=2**62, seed=3)
    result, report = simulate(server, parties, seed=1)
    assert result.aborted is False
    assert result.included == [0, 1, 2, 3, 4, 5]
    assert result.aggregate.tolist() == exact_sum(inputs, range(6), 2**62)
    assert report.included == [0, 1, 2, 3, 4, 5]


def test_plaintext_byte_counts_exact():
    # bit_width(2**20) = 20; 10 elements * 20 bits = 25 bytes; + 40-byte header = 65 bytes.
    config, server, parties, _ = plaintext_run(clients=4, dim=10, modulus=2**20)
    _, report = simulate(server, parties)
    data = report.to_json_dict()["bytes"]
    assert report.bytes.client_upload == {0: 65, 1: 65, 2: 65, 3: 65}
    assert report.bytes.client_download == {0: 0, 1: 0, 2: 0, 3: 0}
    assert data["client_upload_mean"] == 65
    assert data["client_upload_max"] == 65
    assert data["client_download_mean"] == 0
    assert data["client_download_max"] == 0
    assert data["server_sent"] == 0
    assert data["server_received"] == 4 * 65
    assert data["rounds"] == {"MASKED_INPUT_COLLECTION": 4 * 65}
    assert data["by_type"] == {"PLAINTEXT_INPUT": 4 * 65}


def test_plaintext_byte_counts_with_padding():
    # bit_width(1000) = 10; 7 elements * 10 bits = 70 bits -> 9 bytes; + 40 = 49 bytes.
    config, server, parties, _ = plaintext_run(clients=3, dim=7, modulus=1000)
    _, report = simulate(server, parties)
    assert report.bytes.client_upload == {0: 49, 1: 49, 2: 49}
    assert report.bytes.server_received == 3 * 49


def test_json_report_keys_and_types():
    config, server, parties, _ = plaintext_run(clients=3)
    _, report = simulate(server, parties, dropout={2: {1}}, latency=LatencyModel(), seed=5)
    data = report.to_json_dict()
    assert json.loads(json.dumps(data)) == data
    assert set(data["bytes"]) >= {"client_upload_mean", "client_upload_max", "client_download_mean",
                                  "client_download_max", "server_sent", "server_received",
                                  "rounds", "by_type"}
    assert set(data["seconds"]) >= {"rounds", "client_mean", "server"}
    assert data["included"] == [0, 2]
    assert data["aborted"] is False
    assert data["abort_reason"] is None
    assert data["dropped"] == {"MASKED_INPUT_COLLECTION": [1]}
    assert data["exclusions"] == [{"client": 1, "round": "MASKED_INPUT_COLLECTION",
                                   "reason": "DROPPED", "detail": ""}]
    assert data["seed"] == 5
    assert set(data["estimated_wall_clock_s"]) == {"rounds", "total"}


def test_seconds_are_critical_path():
    config, server, parties, _ = plaintext_run(clients=3)
    _, report = simulate(server, parties)
    (stats,) = report.rounds
    assert stats.slowest_client_s == max(report.client_s.values())
    assert stats.seconds == stats.server_s + stats.slowest_client_s
    assert report.server_s == stats.server_s
    assert report.client_mean_s == pytest.approx(sum(report.client_s.values()) / 3)
    assert report.seconds_by_round() == {"MASKED_INPUT_COLLECTION": stats.seconds}
    assert report.to_json_dict()["estimated_wall_clock_s"] is None


# Multi-round driving with a toy protocol

def test_multi_round_byte_counts():
    clients = [EchoClient(i) for i in range(3)]
    result, report = simulate(EchoServer(3), clients)
    data = report.to_json_dict()["bytes"]
    # Uploads: 50, 60 and 70 bytes; downloads: two 45-byte messages per client.
    assert report.bytes.client_upload == {0: 180, 1: 180, 2: 180}
    assert report.bytes.client_download == {0: 90, 1: 90, 2: 90}
    assert data["server_sent"] == 6 * 45
    assert data["server_received"] == 3 * 180
    assert data["rounds"] == {"ADVERTISE_KEYS": 150, "SHARE_KEYS": 135 + 180,
                              "MASKED_INPUT_COLLECTION": 135 + 210}
    assert data["by_type"] == {"ADVERTISE_KEYS": 150, "SERVER_KEYS": 135, "SHARE_KEYS": 180,
                               "FORWARDED_SHARES": 135, "MASKED_INPUT": 210}
    assert [s.round for s in report.rounds] == [Round.ADVERTISE_KEYS, Round.SHARE_KEYS,
                                                Round.MASKED_INPUT_COLLECTION]
    assert result.included == [0, 1, 2]


def test_dropped_client_stops_at_stage():
    clients = [EchoClient(i) for i in range(3)]
    result, report = simulate(EchoServer(3), clients, dropout={1: {2}})
    assert clients[2].received == []
    assert clients[0].received == [wire.MessageType.SERVER_KEYS, wire.MessageType.FORWARDED_SHARES]
    assert report.bytes.client_upload[2] == 50
    assert report.bytes.client_download[2] == 0
    # The server still sent client 2 its round-1 message; it was never delivered.
    assert report.bytes.server_sent == 3 * 45 + 2 * 45
    assert result.included == [0, 1]
    assert drop_causes(report) == {(2, Round.SHARE_KEYS, DropCause.MODEL)}


def test_stage_zero_client_never_starts():
    clients = [EchoClient(i) for i in range(3)]
    _, report = simulate(EchoServer(3), clients, dropout={0: [1]})
    assert 1 not in report.bytes.client_upload
    assert 1 not in report.client_s
    assert report.dropped_by_stage() == {"ADVERTISE_KEYS": [1]}


def test_stages_after_last_round_are_not_applied():
    config, server, parties, inputs = plaintext_run(clients=3)
    result, report = simulate(server, parties, dropout={3: {0}, 4: {1}})
    assert result.included == [0, 1, 2]
    assert report.dropouts == []


def test_stages_before_first_round_apply_to_plaintext():
    config, server, parties, inputs = plaintext_run(clients=4)
    result, report = simulate(server, parties, dropout={0: {0}, 1: {1}})
    assert result.included == [2, 3]
    assert result.aggregate.tolist() == exact_sum(inputs, [2, 3], 2**20)
    assert drop_causes(report) == {(0, Round.ADVERTISE_KEYS, DropCause.MODEL),
                                   (1, Round.SHARE_KEYS, DropCause.MODEL)}


def test_client_failing_in_handle_is_dropped():
    clients = [EchoClient(i, fail_on=wire.MessageType.FORWARDED_SHARES if i == 1 else None)
               for i in range(3)]
    result, report = simulate(EchoServer(3), clients)
    assert result.included == [0, 2]
    (dropout,) = report.dropouts
    assert dropout.client == 1
    assert dropout.stage is Round.MASKED_INPUT_COLLECTION
    assert dropout.cause is DropCause.FAILURE
    assert dropout.detail == "ValueError: cannot handle FORWARDED_SHARES"


def test_progress_reports_each_round():
    seen = []
    simulate(EchoServer(4), [EchoClient(i) for i in range(4)], dropout={1: {3}}, progress=seen.append)
    assert seen == [RoundProgress(Round.ADVERTISE_KEYS, 4, 0, 0, 4),
                    RoundProgress(Round.SHARE_KEYS, 3, 0, 1, 3),
                    RoundProgress(Round.MASKED_INPUT_COLLECTION, 3, 0, 0, 3)]


# Dropout models

def test_dropout_by_set():
    config, server, parties, inputs = plaintext_run(clients=5)
    result, report = simulate(server, parties, dropout={2: {1, 3}})
    assert result.included == [0, 2, 4]
    assert result.aggregate.tolist() == exact_sum(inputs, [0, 2, 4], 2**20)
    assert report.dropped_by_stage() == {"MASKED_INPUT_COLLECTION": [1, 3]}
    assert {(e.client, e.reason) for e in result.exclusions} == {(1, ExclusionReason.DROPPED),
                                                                  (3, ExclusionReason.DROPPED)}
    assert sorted(report.bytes.client_upload) == [0, 2, 4]


def run_with_rate(rates, seed, clients=10):
    config, server, parties, _ = plaintext_run(clients=clients)
    result, report = simulate(server, parties, dropout=rates, seed=seed)
    return result.included, report


def test_dropout_by_rate_count():
    included, report = run_with_rate({2: 0.5}, seed=7)
    assert len(included) == 5
    # floor(0.25 * 10 + 0.5) = 3
    included, _ = run_with_rate({2: 0.25}, seed=7)
    assert len(included) == 7


def test_dropout_rates_apply_to_active_clients():
    # Stage 0 drops 4 of 8, stage 2 drops 2 of the remaining 4.
    included, report = run_with_rate({0: 0.5, 2: 0.5}, seed=1, clients=8)
    assert len(included) == 2
    assert {name: len(ids) for name, ids in report.dropped_by_stage().items()} == {
        "ADVERTISE_KEYS": 4, "MASKED_INPUT_COLLECTION": 2}


def test_dropout_by_rate_reproducible():
    first, _ = run_with_rate({2: 0.5}, seed=11)
    again, _ = run_with_rate({2: 0.5}, seed=11)
    assert first == again


def test_dropout_by_rate_depends_on_seed():
    outcomes = {tuple(run_with_rate({2: 0.5}, seed=seed)[0]) for seed in range(6)}
    assert len(outcomes) > 1


def test_dropout_by_callable():
    config, server, parties, inputs = plaintext_run(clients=6)
    calls = []

    def drops(stage, client_id, rng):
        calls.append((stage, client_id))
        return stage == Round.MASKED_INPUT_COLLECTION and client_id % 2 == 0

    result, report = simulate(server, parties, dropout=drops)
    assert result.included == [1, 3, 5]
    assert result.aggregate.tolist() == exact_sum(inputs, [1, 3, 5], 2**20)
    # Stages 0 and 1 query every client, and stage 2 queries them in increasing id order.
    assert calls[:6] == [(Round.ADVERTISE_KEYS, i) for i in range(6)]
    assert calls[-6:] == [(Round.MASKED_INPUT_COLLECTION, i) for i in range(6)]


def test_dropout_callable_with_rng_reproducible():
    def drops(stage, client_id, rng):
        return stage == Round.MASKED_INPUT_COLLECTION and rng.random() < 0.5

    outcomes = []
    for _ in range(2):
        config, server, parties, _ = plaintext_run(clients=12)
        outcomes.append(simulate(server, parties, dropout=drops, seed=3)[0].included)
    assert outcomes[0] == outcomes[1]


def test_as_dropout_model_conversions():
    assert isinstance(as_dropout_model({2: {1}}), FixedDropout)
    assert isinstance(as_dropout_model({2: 0.1}), RateDropout)
    model = RateDropout({1: 0.2})
    assert as_dropout_model(model) is model


@pytest.mark.parametrize("spec, error, match", [
    ({5: {1}}, ValueError, "dropout stage must be between 0 and 4, got 5"),
    ({2: 1.5}, ValueError, "dropout rate of stage 2 must be between 0 and 1, got 1.5"),
    ({1: 0.5, 2: {1}}, TypeError, "all rates"),
    ("often", TypeError, "dropout must be None"),
])
def test_invalid_dropout_specs(spec, error, match):
    with pytest.raises(error, match=match):
        as_dropout_model(spec)


@given(st.integers(1, 8).flatmap(lambda n: st.tuples(st.just(n), st.sets(st.integers(0, n - 1)),
                                                      st.integers(1, 5), st.integers(2, 2**62),
                                                      st.integers(0, 2**32))))
def test_random_dropout_sets_give_exact_sum(case):
    clients, dropped, dim, modulus, seed = case
    config, server, parties, inputs = plaintext_run(clients, dim, modulus, seed=seed)
    result, report = simulate(server, parties, dropout={2: dropped})
    survivors = sorted(set(range(clients)) - dropped)
    if not survivors:
        assert result.aborted is True
        assert report.abort_reason == "TOO_FEW_CLIENTS"
        return
    assert result.included == survivors
    assert result.aggregate.tolist() == exact_sum(inputs, survivors, modulus)


# Deadlines and the latency model

def slow_client_latency(factor, include_compute=False):
    # Every client uploads in 0.1 s + 65 B / 650 B/s = 0.2 s; the slowed client takes factor times as long.
    return LatencyModel(uplink=Link(0.1, 650.0), downlink=Link(0.0, math.inf),
                        slowdown={2: factor}, include_compute=include_compute)


def test_late_message_counts_as_dropped():
    config, server, parties, inputs = plaintext_run(clients=4)
    result, report = simulate(server, parties, latency=slow_client_latency(10.0), deadline_s=1.0)
    assert result.included == [0, 1, 3]
    assert result.aggregate.tolist() == exact_sum(inputs, [0, 1, 3], 2**20)
    (dropout,) = report.dropouts
    assert (dropout.client, dropout.stage, dropout.cause) == (2, Round.MASKED_INPUT_COLLECTION, DropCause.LATE)
    assert dropout.detail == "arrived at 2.000000 s, after the round closed at 1.000000 s"
    (stats,) = report.rounds
    assert stats.late == [2]
    assert stats.delivered == 3
    # Client 2 sent its bytes, but the server never received them.
    assert report.bytes.client_upload[2] == 65
    assert report.bytes.server_received == 3 * 65
    # The server waited for client 2 until the deadline.
    assert stats.close_s == 1.0
    assert stats.estimated_wall_clock_s == 1.0 + stats.server_s


def test_on_time_round_closes_at_last_arrival():
    config, server, parties, _ = plaintext_run(clients=4)
    result, report = simulate(server, parties, latency=slow_client_latency(3.0), deadline_s=1.0)
    assert result.included == [0, 1, 2, 3]
    (stats,) = report.rounds
    assert stats.close_s == pytest.approx(0.6)
    estimated = report.to_json_dict()["estimated_wall_clock_s"]
    assert estimated["rounds"]["MASKED_INPUT_COLLECTION"] == pytest.approx(0.6 + stats.server_s)


def test_no_deadline_waits_for_slowest():
    config, server, parties, _ = plaintext_run(clients=4)
    result, report = simulate(server, parties, latency=slow_client_latency(1000.0))
    assert result.included == [0, 1, 2, 3]
    assert report.rounds[0].close_s == pytest.approx(200.0)


def test_deadline_per_round_mapping():
    config, server, parties, _ = plaintext_run(clients=4)
    result, _ = simulate(server, parties, latency=slow_client_latency(10.0), deadline_s={0: 0.5, 2: 3.0})
    assert result.included == [0, 1, 2, 3]


def test_deadline_without_latency_has_no_effect():
    config, server, parties, _ = plaintext_run(clients=4)
    result, report = simulate(server, parties, deadline_s=1e-9)
    assert result.included == [0, 1, 2, 3]
    assert report.rounds[0].close_s is None


def test_multi_round_wall_clock_estimate():
    latency = LatencyModel(uplink=Link(0.1, math.inf), downlink=Link(0.05, math.inf), include_compute=False)
    _, report = simulate(EchoServer(3), [EchoClient(i) for i in range(3)], latency=latency)
    assert [s.close_s for s in report.rounds] == pytest.approx([0.1, 0.15, 0.15])


def test_include_compute_adds_client_time():
    latency = LatencyModel(uplink=Link(0.1, math.inf), downlink=Link(0.0, math.inf), include_compute=True)
    config, server, parties, _ = plaintext_run(clients=2)
    _, report = simulate(server, parties, latency=latency)
    (stats,) = report.rounds
    assert stats.close_s > 0.1
    assert stats.close_s <= 0.1 + stats.slowest_client_s


def test_latency_variation_reproducible():
    model = LatencyModel(variation=0.5)
    first = model.client_links(range(5), np.random.default_rng(1))
    again = model.client_links(range(5), np.random.default_rng(1))
    other = model.client_links(range(5), np.random.default_rng(2))
    assert first == again
    assert first != other
    assert len({links.uplink.latency_s for links in first.values()}) == 5


def test_link_transfer_time():
    link = Link(0.05, 1000.0)
    assert link.transfer_s(500) == pytest.approx(0.55)
    assert link.slowed(2.0) == Link(0.1, 500.0)


@pytest.mark.parametrize("kwargs, match", [
    (dict(latency_s=-1.0, bandwidth_bytes_per_s=1.0), "latency_s must be a finite number >= 0"),
    (dict(latency_s=0.0, bandwidth_bytes_per_s=0.0), "bandwidth_bytes_per_s must be > 0"),
])
def test_link_rejects_invalid_values(kwargs, match):
    with pytest.raises(ValueError, match=match):
        Link(**kwargs)


# Misbehaving clients through the simulator

def test_failing_client_run_completes():
    config, server, parties, inputs = plaintext_run(clients=4)
    parties[1] = FailingClient(1, b"")
    result, report = simulate(server, parties)
    assert result.included == [0, 2, 3]
    assert result.aggregate.tolist() == exact_sum(inputs, [0, 2, 3], 2**20)
    (dropout,) = report.dropouts
    assert (dropout.client, dropout.stage, dropout.cause) == (1, Round.MASKED_INPUT_COLLECTION, DropCause.FAILURE)
    assert dropout.detail == "RuntimeError: boom in start"


def test_client_returning_non_bytes_is_failure():
    config, server, parties, _ = plaintext_run(clients=3)
    parties[0] = RawClient(0, "text")
    result, report = simulate(server, parties)
    assert result.included == [1, 2]
    assert report.dropouts[0].cause is DropCause.FAILURE
    assert report.dropouts[0].detail == "returned str, expected bytes or None"


def test_malformed_bytes_excluded():
    config, server, parties, _ = plaintext_run(clients=3)
    parties[0] = RawClient(0, b"garbage")
    result, report = simulate(server, parties)
    assert result.included == [1, 2]
    assert {(e.client, e.reason) for e in result.exclusions} == {(0, ExclusionReason.MALFORMED)}
    assert report.bytes.by_type == {"unknown": 7, "PLAINTEXT_INPUT": 2 * 65}


def test_wrong_context_excluded():
    config, server, parties, _ = plaintext_run(clients=3)
    other = PlaintextConfig(3, 10, 2**21)
    parties[1] = PlaintextClient(other, 1, np.zeros(10, dtype=np.uint64))
    result, _ = simulate(server, parties)
    assert result.included == [0, 2]
    assert {(e.client, e.reason) for e in result.exclusions} == {(1, ExclusionReason.WRONG_SESSION)}


def test_unknown_sender_excluded():
    config, server, parties, inputs = plaintext_run(clients=3)
    data = wire.Writer(wire.MessageType.PLAINTEXT_INPUT, config.digest(), 9).raw(bytes(25)).to_bytes()
    result, report = simulate(server, parties + [RawClient(9, data)])
    assert result.included == [0, 1, 2]
    assert result.aggregate.tolist() == exact_sum(inputs, [0, 1, 2], 2**20)
    assert {(e.client, e.reason) for e in result.exclusions} == {(9, ExclusionReason.UNKNOWN_SENDER)}
    assert report.bytes.server_received == 4 * 65


def test_duplicate_excluded_with_reason():
    # The simulator carries one message per client and round, so the first copy
    # goes to the server directly, as a retransmission over another path would.
    config, server, parties, inputs = plaintext_run(clients=3)
    first = parties[0].start()
    server.receive(0, first)
    result, _ = simulate(server, [RawClient(0, first), parties[1], parties[2]])
    assert result.included == [0, 1, 2]
    assert result.aggregate.tolist() == exact_sum(inputs, [0, 1, 2], 2**20)
    assert {(e.client, e.reason) for e in result.exclusions} == {(0, ExclusionReason.DUPLICATE)}


def test_too_few_clients_aborts():
    config, server, parties, _ = plaintext_run(clients=4, min_clients=3)
    result, report = simulate(server, parties, dropout={2: {0, 1}})
    assert result.aborted is True
    assert result.aggregate is None
    data = report.to_json_dict()
    assert data["aborted"] is True
    assert data["abort_reason"] == "TOO_FEW_CLIENTS"
    assert data["abort_detail"] == "2 of 4 clients sent a valid input; min_clients is 3"
    assert data["included"] == []


# Argument checks and stuck servers

def test_duplicate_client_ids_rejected():
    config, server, parties, _ = plaintext_run(clients=3)
    with pytest.raises(ValueError, match=r"clients\[3\].client_id must be unique, got 1 twice"):
        simulate(server, parties + [parties[1]])


def test_finished_server_rejected():
    config, server, parties, _ = plaintext_run(clients=3)
    server.close_round()
    with pytest.raises(ValueError, match="create a new server"):
        simulate(server, parties)


def test_invalid_deadline_rejected():
    config, server, parties, _ = plaintext_run(clients=3)
    with pytest.raises(ValueError, match="deadline_s must be > 0 seconds"):
        simulate(server, parties, deadline_s=0)


def test_server_that_never_finishes_raises():
    class EndlessServer(EchoServer):
        def close_round(self):
            self.round = Round.SHARE_KEYS
            return {0: wire.Writer(wire.MessageType.SERVER_KEYS, CONTEXT, wire.SERVER_ID).to_bytes()}

    with pytest.raises(RuntimeError, match="did not finish within 64 rounds"):
        simulate(EndlessServer(1), [EchoClient(0)])


def test_final_messages_delivered_replies_discarded():
    class NotifyingServer(EchoServer):
        def close_round(self):
            self.round = Round.FINISHED
            self.result = AggregationResult(None, [], True)
            return {0: wire.Writer(wire.MessageType.SERVER_KEYS, CONTEXT, wire.SERVER_ID).to_bytes()}

    client = EchoClient(0)
    result, report = simulate(NotifyingServer(1), [client])
    assert client.received == [wire.MessageType.SERVER_KEYS]
    assert report.bytes.client_download == {0: 40}
    assert report.bytes.client_upload == {0: 50}
    assert [s.round for s in report.rounds] == [Round.ADVERTISE_KEYS, Round.FINISHED]
    assert result.aborted is True


def test_server_without_result_raises():
    class SilentServer(EchoServer):
        def close_round(self):
            return {}

    with pytest.raises(RuntimeError, match="server.result is None"):
        simulate(SilentServer(1), [EchoClient(0)])
