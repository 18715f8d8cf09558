import hashlib

import numpy as np
import pytest

from secagg.primitives import packing
from secagg.protocols import wire
from secagg.protocols.base import AbortReason, ExclusionReason, Round
from secagg.protocols.plaintext import PlaintextClient, PlaintextConfig, PlaintextServer


def make_parties(clients=3, dim=4, modulus=1000, min_clients=1, seed=0):
    config = PlaintextConfig(clients, dim, modulus, min_clients)
    inputs = np.random.default_rng(seed).integers(0, modulus, size=(clients, dim), dtype=np.uint64)
    parties = [PlaintextClient(config, i, inputs[i]) for i in range(clients)]
    return config, parties, PlaintextServer(config), inputs


def message(config, sender, payload, message_type=wire.MessageType.PLAINTEXT_INPUT, context=None):
    writer = wire.Writer(message_type, config.digest() if context is None else context, sender)
    return writer.raw(payload).to_bytes()


def reasons(result):
    return {(e.client, e.reason) for e in result.exclusions}


# Configuration

def test_config_rejects_min_clients_above_clients():
    with pytest.raises(ValueError, match="min_clients must be between 1 and 3, got 4"):
        PlaintextConfig(3, 4, 1000, min_clients=4)


@pytest.mark.parametrize("field, kwargs, error", [
    ("clients", dict(clients=0, dim=1, modulus=10), ValueError),
    ("dim", dict(clients=1, dim=0, modulus=10), ValueError),
    ("modulus", dict(clients=1, dim=1, modulus=1), ValueError),
    ("modulus", dict(clients=1, dim=1, modulus=2**62 + 1), ValueError),
    ("dim", dict(clients=1, dim=2.0, modulus=10), TypeError),
    ("clients", dict(clients=True, dim=1, modulus=10), TypeError),
])
def test_config_rejects_invalid_fields(field, kwargs, error):
    with pytest.raises(error, match=field):
        PlaintextConfig(**kwargs)


def test_config_digest_is_sha256_of_fields():
    config = PlaintextConfig(3, 4, 1000, 2)
    fields = b"".join(v.to_bytes(8, "big") for v in (3, 4, 1000, 2))
    assert config.digest() == hashlib.sha256(b"secagg/plaintext/v1" + fields).digest()


def test_config_digest_changes_with_each_field():
    base = PlaintextConfig(3, 4, 1000, 2)
    others = [PlaintextConfig(4, 4, 1000, 2), PlaintextConfig(3, 5, 1000, 2),
              PlaintextConfig(3, 4, 1001, 2), PlaintextConfig(3, 4, 1000, 1)]
    for other in others:
        assert other.digest() != base.digest()


# Client

def test_client_message_layout():
    config = PlaintextConfig(3, 7, 1000)
    values = np.array([0, 1, 2, 997, 998, 999, 500], dtype=np.uint64)
    data = PlaintextClient(config, 2, values).start()
    # bit_width(1000) = 10 bits, 7 * 10 = 70 bits -> 9 bytes after the 40-byte header.
    assert len(data) == 40 + 9
    header, reader = wire.read_header(data)
    assert header.type is wire.MessageType.PLAINTEXT_INPUT
    assert header.context == config.digest()
    assert header.sender == 2
    assert packing.unpack(reader.raw(9), 10, 7).tolist() == values.tolist()
    reader.finish()


def test_client_start_twice_raises():
    config, parties, _, _ = make_parties()
    parties[0].start()
    assert parties[0].round is Round.FINISHED
    with pytest.raises(RuntimeError, match="already sent its input"):
        parties[0].start()


def test_client_handle_returns_none():
    config, parties, _, _ = make_parties()
    assert parties[0].handle(b"anything") is None
    assert parties[0].aborted is False


@pytest.mark.parametrize("values, error, match", [
    (np.array([0, 1, 2]), ValueError, r"shape \(4,\)"),
    (np.array([0, 1, 2, 1000]), ValueError, r"\[0, 1000\)"),
    (np.array([0, -1, 2, 3]), ValueError, r"\[0, 1000\)"),
    (np.array([0.0, 1.0, 2.0, 3.0]), TypeError, "integer dtype"),
])
def test_client_rejects_invalid_values(values, error, match):
    config = PlaintextConfig(3, 4, 1000)
    with pytest.raises(error, match=match):
        PlaintextClient(config, 0, values)


def test_client_rejects_id_outside_config():
    config = PlaintextConfig(3, 4, 1000)
    with pytest.raises(ValueError, match="client_id must be between 0 and 2, got 3"):
        PlaintextClient(config, 3, np.zeros(4, dtype=np.uint64))


# Server

def test_server_sums_modulo_r():
    config = PlaintextConfig(3, 2, 7)
    server = PlaintextServer(config)
    inputs = [[6, 1], [6, 2], [5, 3]]
    for i, row in enumerate(inputs):
        server.receive(i, PlaintextClient(config, i, np.array(row, dtype=np.uint64)).start())
    assert server.close_round() == {}
    result = server.result
    assert result.aggregate.tolist() == [(6 + 6 + 5) % 7, (1 + 2 + 3) % 7]
    assert result.included == [0, 1, 2]
    assert result.aborted is False
    assert result.exclusions == []


def test_server_sums_at_largest_modulus():
    modulus = 2**62
    config = PlaintextConfig(3, 3, modulus)
    server = PlaintextServer(config)
    inputs = [[modulus - 1, modulus - 1, 0]] * 3
    for i, row in enumerate(inputs):
        server.receive(i, PlaintextClient(config, i, np.array(row, dtype=np.uint64)).start())
    server.close_round()
    expected = [sum(column) % modulus for column in zip(*inputs)]
    assert server.result.aggregate.tolist() == expected


def test_server_expected_senders_shrink():
    config, parties, server, _ = make_parties()
    assert server.round is Round.MASKED_INPUT_COLLECTION
    assert server.expected_senders() == {0, 1, 2}
    server.receive(1, parties[1].start())
    assert server.expected_senders() == {0, 2}
    server.receive(0, b"not a message")
    assert server.expected_senders() == {2}
    server.close_round()
    assert server.expected_senders() == set()
    assert server.round is Round.FINISHED


def test_server_records_missing_client_as_dropped():
    config, parties, server, inputs = make_parties()
    server.receive(0, parties[0].start())
    server.receive(2, parties[2].start())
    server.close_round()
    result = server.result
    assert result.included == [0, 2]
    assert result.aggregate.tolist() == ((inputs[0] + inputs[2]) % 1000).tolist()
    assert reasons(result) == {(1, ExclusionReason.DROPPED)}


def test_server_aborts_with_too_few_clients():
    config, parties, server, _ = make_parties(min_clients=2)
    server.receive(0, parties[0].start())
    server.close_round()
    result = server.result
    assert result.aborted is True
    assert result.abort_reason is AbortReason.TOO_FEW_CLIENTS
    assert result.abort_detail == "1 of 3 clients sent a valid input; min_clients is 2"
    assert result.aggregate is None
    assert result.included == []


def test_server_aborts_with_no_clients():
    config, parties, server, _ = make_parties()
    server.close_round()
    assert server.result.aborted is True
    assert server.result.abort_reason is AbortReason.TOO_FEW_CLIENTS


def test_server_rejects_truncated_message():
    config, parties, server, _ = make_parties()
    server.receive(0, parties[0].start()[:-1])
    server.close_round()
    (exclusion,) = [e for e in server.result.exclusions if e.client == 0]
    assert exclusion.reason is ExclusionReason.MALFORMED
    assert exclusion.round is Round.MASKED_INPUT_COLLECTION
    assert "truncated" in exclusion.detail


def test_server_rejects_trailing_bytes():
    config, parties, server, _ = make_parties()
    server.receive(0, parties[0].start() + b"\x00")
    server.close_round()
    assert reasons(server.result) >= {(0, ExclusionReason.MALFORMED)}
    assert 0 not in server.result.included


def test_server_rejects_short_header():
    config, parties, server, _ = make_parties()
    server.receive(0, b"SA\x01")
    server.close_round()
    assert reasons(server.result) >= {(0, ExclusionReason.MALFORMED)}


def test_server_rejects_nonzero_padding():
    config = PlaintextConfig(2, 7, 1000)  # 70 bits in 9 bytes: the last 2 bits are padding
    server = PlaintextServer(config)
    payload = bytearray(packing.pack(np.zeros(7, dtype=np.uint64), 10))
    payload[-1] |= 0x80
    server.receive(0, message(config, 0, bytes(payload)))
    server.close_round()
    (exclusion,) = [e for e in server.result.exclusions if e.client == 0]
    assert exclusion.reason is ExclusionReason.MALFORMED
    assert "padding" in exclusion.detail


def test_server_rejects_wrong_context():
    config, parties, server, _ = make_parties()
    other = PlaintextConfig(3, 4, 1000, min_clients=2)
    foreign = PlaintextClient(other, 0, np.zeros(4, dtype=np.uint64)).start()
    server.receive(0, foreign)
    server.close_round()
    assert reasons(server.result) >= {(0, ExclusionReason.WRONG_SESSION)}
    assert 0 not in server.result.included


def test_server_rejects_wrong_message_type():
    config, parties, server, _ = make_parties()
    payload = packing.pack(np.zeros(4, dtype=np.uint64), config.width)
    server.receive(0, message(config, 0, payload, wire.MessageType.ADVERTISE_KEYS))
    server.close_round()
    (exclusion,) = [e for e in server.result.exclusions if e.client == 0]
    assert exclusion.reason is ExclusionReason.WRONG_ROUND
    assert exclusion.detail == "expected PLAINTEXT_INPUT, got ADVERTISE_KEYS"


def test_server_rejects_unknown_sender():
    config, parties, server, _ = make_parties()
    payload = packing.pack(np.ones(4, dtype=np.uint64), config.width)
    server.receive(7, message(config, 7, payload))
    server.close_round()
    assert reasons(server.result) == {(7, ExclusionReason.UNKNOWN_SENDER), (0, ExclusionReason.DROPPED),
                                      (1, ExclusionReason.DROPPED), (2, ExclusionReason.DROPPED)}
    assert server.result.aborted is True


def test_server_rejects_spoofed_header_sender():
    config, parties, server, _ = make_parties()
    server.receive(0, parties[1].start())
    server.close_round()
    (exclusion,) = [e for e in server.result.exclusions if e.client == 0]
    assert exclusion.reason is ExclusionReason.INVALID_CONTENT
    assert "header names sender 1" in exclusion.detail


def test_server_rejects_value_not_below_modulus():
    config = PlaintextConfig(2, 3, 10)  # 4-bit elements can hold 10..15, which are not in Z_10
    server = PlaintextServer(config)
    server.receive(0, message(config, 0, packing.pack(np.array([1, 15, 2], dtype=np.uint64), 4)))
    server.close_round()
    (exclusion,) = [e for e in server.result.exclusions if e.client == 0]
    assert exclusion.reason is ExclusionReason.INVALID_CONTENT
    assert exclusion.detail == "element 1 is 15, not below the modulus 10"


def test_server_duplicate_keeps_first_input():
    config, parties, server, inputs = make_parties()
    first = parties[0].start()
    server.receive(0, first)
    server.receive(0, first)
    server.receive(1, parties[1].start())
    server.close_round()
    result = server.result
    assert result.included == [0, 1]
    assert result.aggregate.tolist() == ((inputs[0] + inputs[1]) % 1000).tolist()
    duplicates = [e for e in result.exclusions if e.reason is ExclusionReason.DUPLICATE]
    assert [(e.client, e.round) for e in duplicates] == [(0, Round.MASKED_INPUT_COLLECTION)]


def test_server_ignores_later_message_of_excluded_client():
    config, parties, server, inputs = make_parties()
    server.receive(0, b"garbage")
    server.receive(0, parties[0].start())
    server.close_round()
    assert server.result.included == []
    assert [e.reason for e in server.result.exclusions if e.client == 0] == [ExclusionReason.MALFORMED]


def test_server_ignores_message_after_close():
    config, parties, server, _ = make_parties()
    server.receive(0, parties[0].start())
    server.close_round()
    server.receive(1, parties[1].start())
    assert server.result.included == [0]
    assert server.close_round() == {}
    assert server.result.included == [0]


def test_server_rejects_non_bytes_message():
    config, parties, server, _ = make_parties()
    with pytest.raises(TypeError, match="message must be bytes"):
        server.receive(0, "text")
