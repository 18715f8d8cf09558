"""CKKS aggregation end to end over the simulator: chunking, weights, dropouts, key handling."""

import numpy as np
import pytest
import tenseal as ts

from secagg.he import ADD_ONLY, ONE_MULTIPLICATION, CkksConfig, CkksServer, backend, make_parties
from secagg.he import messages
from secagg.network.simulator import simulate
from secagg.protocols.base import AbortReason, ExclusionReason, Round
from secagg.protocols import wire
from secagg.protocols.wire import MessageType, peek_type


def run(config, inputs, dropout=None):
    server, parties = make_parties(config, inputs)
    result, report = simulate(server, parties, dropout=dropout, seed=0)
    return server, parties, result, report


def uploads(config, inputs):
    """Drive round 0 and the uploads by hand; return server, parties and each client's CKKS_CIPHERTEXT."""
    server, parties = make_parties(config, inputs)
    for party in parties:
        message = party.start()
        if message is not None:
            server.receive(party.client_id, message)
    opening = server.close_round()
    return server, parties, {c: parties[c].handle(opening[c]) for c in range(config.clients)}


def finish(server, parties, outgoing):
    """Deliver the decryption request of ``outgoing`` to the key holder and close the last round."""
    for party, message in outgoing.items():
        server.receive(party, parties[party].handle(message))
    server.close_round()
    return server.result


def test_51200_values_take_13_ciphertexts():
    dim = 51_200
    inputs = np.random.default_rng(1).uniform(-1, 1, (3, dim))
    config = CkksConfig.create(3, dim)
    server, parties, sent = uploads(config, inputs)

    data = messages.parse_ciphertext(sent[1], config.digest(), 1)
    vector = backend.load_vector(server.context, data, config.parameters, dim)
    assert config.ciphertexts_per_client == 13
    assert backend.vector_layout(data)[1] == 13
    assert len(vector.ciphertext()) == 13

    _, _, result, _ = run(config, inputs)
    assert not result.aborted
    error = np.max(np.abs(result.aggregate - inputs.sum(axis=0)))
    assert error <= config.error_bound([0, 1, 2])


def test_upload_message_loads_in_tenseal_whole():
    # The header reads as a protobuf field that TenSEAL skips, so the server needs no copy.
    dim = 5000
    inputs = np.random.default_rng(2).uniform(-1, 1, (3, dim))
    config = CkksConfig.create(3, dim)
    server, parties, sent = uploads(config, inputs)
    holder = parties[config.key_holder]
    whole = backend.load_vector(holder.context, sent[1], config.parameters, dim,
                                start=messages.ciphertext_start(sent[1], config.digest(), 1))
    alone = backend.load_vector(holder.context, messages.parse_ciphertext(sent[1], config.digest(), 1),
                                config.parameters, dim)
    assert np.array_equal(backend.decrypt(whole), backend.decrypt(alone))


def test_wire_header_is_one_protobuf_field():
    assert wire.MAGIC[0] == (15 << 3) | 2
    assert wire.MAGIC[1] == wire.HEADER_BYTES - 2


def test_weighted_average_of_1_2_3():
    inputs = np.array([[1.0] * 4, [2.0] * 4, [3.0] * 4])
    config = CkksConfig.create(3, 4, parameters=ONE_MULTIPLICATION, clip=3.0, weights=[1, 2, 3])

    server, _, result, _ = run(config, inputs)

    assert result.included == [0, 1, 2]
    assert np.allclose(result.aggregate, 14.0, atol=config.error_bound([0, 1, 2]))
    assert np.allclose(server.average(), 14.0 / 6.0, atol=1e-6)


def test_weighted_average_after_dropout():
    inputs = np.array([[1.0] * 4, [2.0] * 4, [3.0] * 4])
    config = CkksConfig.create(3, 4, parameters=ONE_MULTIPLICATION, clip=3.0, weights=[1, 2, 3])

    server, _, result, _ = run(config, inputs, dropout={2: {1}})

    assert result.included == [0, 2]
    assert np.allclose(server.average(), 10.0 / 4.0, atol=1e-6)


def test_server_context_cannot_decrypt():
    inputs = np.random.default_rng(2).uniform(-1, 1, (3, 20))
    config = CkksConfig.create(3, 20)
    server, _, sent = uploads(config, inputs)
    data = messages.parse_ciphertext(sent[2], config.digest(), 2)
    vector = ts.ckks_vector_from(server.context, data)

    assert not server.context.has_secret_key()
    assert not server.context.has_public_key()
    with pytest.raises(ValueError, match="doesn't hold a secret_key"):
        vector.decrypt()


def test_clients_receive_secret_context():
    inputs = np.zeros((3, 5))
    config = CkksConfig.create(3, 5, key_holder="authority")
    server, parties, _ = uploads(config, inputs)
    authority = parties[-1]

    assert authority.client_id == 3
    assert authority.context.has_secret_key()
    assert server.round is Round.MASKED_INPUT_COLLECTION


def test_authority_key_holder_sums_all_clients():
    inputs = np.random.default_rng(3).uniform(-1, 1, (5, 30))
    config = CkksConfig.create(5, 30, key_holder="authority")

    _, parties, result, report = run(config, inputs)

    assert result.included == [0, 1, 2, 3, 4]
    assert np.max(np.abs(result.aggregate - inputs.sum(axis=0))) <= config.error_bound(result.included)
    assert report.bytes.client_upload[5] > 0
    assert "UNMASKING_RESPONSE" in report.bytes.by_type


@pytest.mark.parametrize("stage", [0, 1, 2])
def test_client_dropping_before_upload_is_absent(stage):
    inputs = np.random.default_rng(4).uniform(-1, 1, (5, 30))
    config = CkksConfig.create(5, 30)

    _, _, result, _ = run(config, inputs, dropout={stage: {3}})

    assert result.included == [0, 1, 2, 4]
    expected = inputs[[0, 1, 2, 4]].sum(axis=0)
    assert np.max(np.abs(result.aggregate - expected)) <= config.error_bound(result.included)
    assert any(e.client == 3 and e.reason is ExclusionReason.DROPPED for e in result.exclusions)


@pytest.mark.parametrize("stage", [3, 4])
def test_client_dropping_after_upload_stays_in_sum(stage):
    inputs = np.random.default_rng(5).uniform(-1, 1, (5, 30))
    config = CkksConfig.create(5, 30)

    _, _, result, _ = run(config, inputs, dropout={stage: {3}})

    assert result.included == [0, 1, 2, 3, 4]


@pytest.mark.parametrize("stage", [0, 1, 2, 3, 4])
def test_key_holder_client_dropping_aborts(stage):
    config = CkksConfig.create(4, 10, key_holder=1)

    _, _, result, _ = run(config, np.zeros((4, 10)), dropout={stage: {1}})

    assert result.aborted
    assert result.abort_reason is AbortReason.KEY_HOLDER_DROPPED
    assert result.aggregate is None
    assert "key holder client 1" in result.abort_detail


@pytest.mark.parametrize("stage", [0, 4])
def test_authority_dropping_aborts(stage):
    config = CkksConfig.create(4, 10, key_holder="authority")

    _, _, result, _ = run(config, np.zeros((4, 10)), dropout={stage: {4}})

    assert result.abort_reason is AbortReason.KEY_HOLDER_DROPPED
    assert "the key authority" in result.abort_detail


def test_too_few_uploads_abort():
    config = CkksConfig.create(4, 10, min_clients=3)

    _, _, result, _ = run(config, np.zeros((4, 10)), dropout={2: {2, 3}})

    assert result.abort_reason is AbortReason.TOO_FEW_CLIENTS
    assert "2 of 4 clients sent a valid ciphertext; min_clients is 3" in result.abort_detail


def test_key_holder_rejects_small_sum():
    config = CkksConfig.create(3, 5, key_holder="authority", min_clients=2)
    server, parties, sent = uploads(config, np.zeros((3, 5)))
    server.receive(0, sent[0])
    server.receive(1, sent[1])
    request = server.close_round()[3]
    total = messages.parse_decryption_request(request, config.digest(), 3)[1]
    forged = messages.decryption_request(config.digest(), [0], total)

    assert parties[3].handle(forged) is None
    assert "lists 1 clients, fewer than min_clients = 2" in parties[3].abort_detail


def test_malformed_ciphertext_excluded():
    config = CkksConfig.create(3, 20)
    server, _, sent = uploads(config, np.ones((3, 20)) * 0.5)
    good = messages.parse_ciphertext(sent[1], config.digest(), 1)

    server.receive(0, sent[0])
    server.receive(1, messages.ciphertext(config.digest(), 1, good[:-50]))
    server.receive(2, messages.ciphertext(config.digest(), 2, b"not a vector"))
    server.close_round()

    reasons = {e.client: e.reason for e in server.result.exclusions}
    assert reasons == {1: ExclusionReason.MALFORMED, 2: ExclusionReason.MALFORMED}
    assert server.result.abort_reason is AbortReason.TOO_FEW_CLIENTS


def test_wrong_size_ciphertext_excluded():
    config = CkksConfig.create(3, 20)
    server, parties, sent = uploads(config, np.zeros((3, 20)))
    vector = backend.encrypt(parties[0].context, np.zeros(21))

    server.receive(0, sent[0])
    server.receive(1, sent[1])
    server.receive(2, messages.ciphertext(config.digest(), 2, vector))
    result = finish(server, parties, server.close_round())

    assert result.included == [0, 1]
    [exclusion] = result.exclusions
    assert exclusion.reason is ExclusionReason.MALFORMED
    assert "ciphertext contains 21 values in 1 ciphertexts" in exclusion.detail


def test_tampered_sealed_context_aborts_client():
    config = CkksConfig.create(3, 5)
    server, parties = make_parties(config, np.zeros((3, 5)))
    server.receive(0, parties[0].start())
    parties[1].start()
    opening = server.close_round()
    sealed = bytearray(messages.parse_forwarded_context(opening[1], config.digest()))
    sealed[-1] ^= 1

    reply = parties[1].handle(messages.forwarded_context(config.digest(), bytes(sealed)))

    assert reply is None
    assert parties[1].aborted
    assert "failed authentication" in parties[1].abort_detail


def test_message_of_other_session_rejected():
    config = CkksConfig.create(3, 5)
    other = CkksConfig.create(3, 5)
    server, parties = make_parties(config, np.zeros((3, 5)))
    _, other_parties = make_parties(other, np.zeros((3, 5)))

    server.receive(0, other_parties[0].start())
    server.close_round()

    assert server.result.abort_reason is AbortReason.KEY_HOLDER_DROPPED
    assert "WRONG_SESSION: message belongs to another session" in server.result.abort_detail
    assert server.result.exclusions[0].reason is ExclusionReason.WRONG_SESSION


def test_duplicate_and_unknown_senders_recorded():
    config = CkksConfig.create(3, 5)
    server, parties, sent = uploads(config, np.ones((3, 5)) * 0.25)

    for client in (0, 0, 1, 2):
        server.receive(client, sent[client])
    server.receive(7, sent[1])
    result = finish(server, parties, server.close_round())

    reasons = [(e.client, e.reason) for e in result.exclusions]
    assert reasons == [(0, ExclusionReason.DUPLICATE), (7, ExclusionReason.UNKNOWN_SENDER)]
    assert result.included == [0, 1, 2]
    assert np.allclose(result.aggregate, 0.75, atol=1e-6)


def test_inputs_are_clipped_and_counted():
    inputs = np.array([[0.5, 3.0, -4.0], [0.0, 0.0, 0.0]])
    config = CkksConfig.create(2, 3, clip=1.0)

    _, parties, result, _ = run(config, inputs)

    assert parties[0].clipped == 2
    assert np.allclose(result.aggregate, [0.5, 1.0, -1.0], atol=1e-6)


@pytest.mark.parametrize("values, error, match", [
    (np.zeros(4), ValueError, r"values must have shape \(5,\)"),
    (np.array([0, 0, np.inf, 0, 0]), ValueError, r"values\[2\] is inf; inputs must be finite"),
    (np.array(["a"] * 5), TypeError, "values must hold real numbers"),
])
def test_client_input_errors(values, error, match):
    config = CkksConfig.create(2, 5)
    with pytest.raises(error, match=match):
        make_parties(config, np.stack([values, values]))


def test_message_types_on_the_wire():
    config = CkksConfig.create(3, 5)
    _, _, sent = uploads(config, np.zeros((3, 5)))

    assert peek_type(sent[0]) is MessageType.CKKS_CIPHERTEXT


def test_server_rejects_wrong_config_type():
    with pytest.raises(TypeError, match="config must be a CkksConfig"):
        CkksServer(object())


def _fields(data):
    """Split a serialized TenSEAL vector into its top-level protobuf fields (key bytes, value bytes)."""
    fields, offset = [], 0
    while offset < len(data):
        start = offset
        key, offset = _varint(data, offset)
        if key & 7 == 1:
            offset += 8
        else:
            length, offset = _varint(data, offset)
            offset += length
        fields.append((key >> 3, data[start:offset]))
    return fields


def _varint(data, offset):
    value, shift = 0, 0
    while True:
        byte = data[offset]
        offset += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return value, offset


def test_failed_add_leaves_sum_unchanged():
    dim = ADD_ONLY.slots + 10
    inputs = np.full((3, dim), 0.25)
    config = CkksConfig.create(3, dim)
    server, parties, sent = uploads(config, inputs)
    context = parties[0].context
    good = backend.encrypt(context, np.ones(dim))
    with backend.quiet_stdout():
        other_scale = ts.ckks_vector(context, np.zeros(dim), scale=2.0**30).serialize()
    good_chunks = [raw for number, raw in _fields(good) if number == 2]
    other_chunks = [raw for number, raw in _fields(other_scale) if number == 2]
    header = [raw for number, raw in _fields(good) if number != 2]
    spliced = b"".join(header) + good_chunks[0] + other_chunks[1]

    server.receive(0, sent[0])
    server.receive(1, sent[1])
    server.receive(2, messages.ciphertext(config.digest(), 2, spliced))
    result = finish(server, parties, server.close_round())

    assert result.included == [0, 1]
    assert result.exclusions[0].reason is ExclusionReason.INVALID_CONTENT
    assert "cannot be added" in result.exclusions[0].detail
    assert np.allclose(result.aggregate, 0.5, atol=1e-6)


def test_layout_fast_path_takes_tenseal_order_only():
    config = CkksConfig.create(3, 5000)
    server, parties, sent = uploads(config, np.zeros((3, 5000)))
    data = messages.parse_ciphertext(sent[1], config.digest(), 1)
    view = memoryview(data)
    assert backend._has_canonical_layout(view, config.parameters, 5000)
    # The same fields with the scale first: still valid protobuf, so the full check accepts it.
    scale_field = data[-9:]
    reordered = scale_field + data[:-9]
    assert not backend._has_canonical_layout(memoryview(reordered), config.parameters, 5000)
    backend._check_layout(memoryview(reordered), config.parameters, 5000)
    for bad in (data[:-1], data + b"\x12\x00", data.replace(data[:4], b"\x0a\x02\x80\x20", 1)):
        assert not backend._has_canonical_layout(memoryview(bad), config.parameters, 5000)
