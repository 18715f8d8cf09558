import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from secagg.protocols.base import AbortReason, ExclusionReason, Round
from secagg.protocols.masking import MaskingConfig, messages
from secagg.protocols.masking.config import modulus_for
from tests.protocols.masking_driver import build, plaintext_sum, run

VARIANTS = [
    pytest.param(None, False, id="secagg"),
    pytest.param(None, True, id="secagg-active"),
    pytest.param(4, False, id="secagg+"),
    pytest.param(4, True, id="secagg+-active"),
]


@pytest.mark.parametrize("degree, active", VARIANTS)
@pytest.mark.parametrize("stage", range(5))
def test_drop_at_every_stage(degree, active, stage):
    config, clients, server, inputs = build(n=6, t=4, degree=degree, active=active)
    result = run(config, clients, server, drop_stage={2: stage})
    assert not result.aborted, result.abort_detail
    expected_included = [0, 1, 2, 3, 4, 5] if stage >= 3 else [0, 1, 3, 4, 5]
    assert result.included == expected_included
    assert np.array_equal(result.aggregate, plaintext_sum(config, inputs, result.included))


@pytest.mark.parametrize("degree, active", VARIANTS)
def test_no_dropout_sums_everyone(degree, active):
    config, clients, server, inputs = build(n=6, t=4, degree=degree, active=active)
    result = run(config, clients, server)
    assert result.included == list(range(6))
    assert np.array_equal(result.aggregate, plaintext_sum(config, inputs, range(6)))


@settings(max_examples=20)
@given(st.integers(0, 2**32), st.lists(st.integers(0, 5), min_size=10, max_size=10),
       st.booleans())
def test_random_dropouts_match_plaintext(seed, stages, plus):
    n, t = 10, 5
    config, clients, server, inputs = build(n=n, t=t, degree=6 if plus else None, seed=seed, dim=7)
    drop = {i: s for i, s in enumerate(stages) if s < 5}
    result = run(config, clients, server, drop_stage=drop)
    if result.aborted:
        assert result.abort_reason in (AbortReason.TOO_FEW_CLIENTS, AbortReason.RECONSTRUCTION_FAILED)
        assert result.aggregate is None
        return
    assert result.included == [i for i in range(n) if drop.get(i, 5) >= 3]
    assert np.array_equal(result.aggregate, plaintext_sum(config, inputs, result.included))


@pytest.mark.parametrize("stage", range(5))
def test_exactly_threshold_survivors_succeed(stage):
    config, clients, server, inputs = build(n=6, t=4)
    result = run(config, clients, server, drop_stage={0: stage, 1: stage})
    assert not result.aborted, result.abort_detail


@pytest.mark.parametrize("stage", range(5))
def test_one_below_threshold_aborts(stage):
    config, clients, server, inputs = build(n=6, t=4)
    result = run(config, clients, server, drop_stage={0: stage, 1: stage, 2: stage})
    assert result.aborted
    assert result.abort_reason is AbortReason.TOO_FEW_CLIENTS
    assert result.aggregate is None
    assert "threshold 4" in result.abort_detail


def test_dropped_client_reveals_nothing_after_abort():
    config, clients, server, inputs = build(n=6, t=4)
    result = run(config, clients, server, drop_stage={0: 2, 1: 2, 2: 2})
    assert result.aborted
    assert all(not c.context.revealed for c in clients)


def test_two_runs_with_identical_inputs_mask_differently():
    captured = []

    def capture(round_, sender, message):
        if round_ is Round.MASKED_INPUT_COLLECTION and sender == 0:
            captured.append(message)
        return message

    inputs = np.ones((6, 10), dtype=np.uint64)
    for seed in (1, 2):
        config, clients, server, _ = build(inputs=inputs, seed=seed)
        assert not run(config, clients, server, tamper=capture).aborted
    first = messages.parse_masked_input(captured[0], captured[0][4:36])
    second = messages.parse_masked_input(captured[1], captured[1][4:36])
    assert first != second
    assert captured[0][4:36] != captured[1][4:36]  # fresh session ids


def test_modulus_never_wraps():
    assert modulus_for(500, 24) == 2**33
    assert modulus_for(1, 8) == 2**8
    config, clients, server, inputs = build(n=6, t=4, bits=8,
                                            inputs=np.full((6, 10), 255, dtype=np.uint64))
    result = run(config, clients, server)
    assert result.aggregate.tolist() == [6 * 255] * 10


@pytest.mark.parametrize("round_", [Round.ADVERTISE_KEYS, Round.SHARE_KEYS, Round.SHARE_RECEIPTS,
                                    Round.MASKED_INPUT_COLLECTION, Round.UNMASKING])
@pytest.mark.parametrize("mangle", ["truncate", "random", "extend"])
def test_server_excludes_malformed_message(round_, mangle):
    rng = np.random.default_rng(0)

    def tamper(current, sender, message):
        if current is not round_ or sender != 5:
            return message
        if mangle == "truncate":
            return message[: len(message) // 2]
        if mangle == "extend":
            return message + b"\x00"
        return rng.integers(0, 256, len(message), dtype=np.uint8).tobytes()

    config, clients, server, inputs = build(n=6, t=4)
    result = run(config, clients, server, tamper=tamper)
    assert not result.aborted, result.abort_detail
    bad = [e for e in result.exclusions if e.client == 5 and e.round is round_]
    assert bad and bad[0].reason in (ExclusionReason.MALFORMED, ExclusionReason.INVALID_CONTENT)
    assert np.array_equal(result.aggregate, plaintext_sum(config, inputs, result.included))


@pytest.mark.parametrize("cut", [0, 10, 39, 40, 41, -1])
def test_client_rejects_truncated_server_messages(cut):
    config, clients, server, inputs = build(n=6, t=4)
    for client in clients:
        server.receive(client.client_id, client.start())
    request = server.close_round()[0]
    assert clients[0].handle(request[:cut]) is None
    assert clients[0].aborted


@settings(max_examples=50)
@given(st.binary(max_size=300))
def test_client_rejects_random_bytes_in_every_round(data):
    config, clients, server, inputs = build(n=6, t=4)
    client = clients[0]
    client.start()
    assert client.handle(data) is None
    assert client.aborted


def test_wrong_session_is_excluded():
    config, clients, server, inputs = build(n=6, t=4)
    other_config, other_clients, _, _ = build(n=6, t=4, seed=9)
    server.receive(0, other_clients[0].start())
    assert server.context.exclusions[0].reason is ExclusionReason.WRONG_SESSION


def test_unknown_sender_and_duplicate_are_excluded():
    config, clients, server, inputs = build(n=6, t=4)
    message = clients[0].start()
    server.receive(0, message)
    server.receive(0, message)
    server.receive(17, message)
    reasons = [e.reason for e in server.context.exclusions]
    assert reasons == [ExclusionReason.DUPLICATE, ExclusionReason.UNKNOWN_SENDER]


def test_active_variant_rejects_forged_round0_signature():
    config, clients, server, inputs = build(n=6, t=4, active=True)

    def forge(round_, sender, message):
        if round_ is Round.ADVERTISE_KEYS and sender == 3:
            return message[:-1] + bytes([message[-1] ^ 1])
        return message

    result = run(config, clients, server, tamper=forge)
    assert 3 not in result.included
    assert any(e.client == 3 and e.reason is ExclusionReason.BAD_SIGNATURE for e in result.exclusions)


def test_client_refuses_to_reveal_both_shares():
    config, clients, server, inputs = build(n=6, t=4)
    result = run(config, clients, server)
    assert not result.aborted
    # Ask client 0 again, now claiming client 1 dropped: it must refuse.
    request = messages.unmasking_request(server.context.session_id, [0, 2, 3, 4, 5], {})
    assert clients[0].handle(request) is None
    assert clients[0].aborted
    assert "after its SELF_MASK_SEED share was revealed" in clients[0].abort_detail


def test_config_rejects_bad_parameters():
    with pytest.raises(ValueError, match="threshold must be between 1 and 6, got 7"):
        MaskingConfig.create(6, 10, 8, 7)
    with pytest.raises(ValueError, match="degree must be even"):
        MaskingConfig.create(10, 10, 8, 3, degree=5)
    with pytest.raises(ValueError, match="modulus must be between"):
        MaskingConfig.create(6, 10, 8, 4, modulus=2**8)
    with pytest.raises(ValueError, match="needs 64 bits, more than the 62"):
        MaskingConfig.create(6, 10, 61, 4)


def test_client_rejects_input_out_of_range():
    config = MaskingConfig.create(6, 3, 8, 4)
    from secagg.protocols.masking import MaskingClient
    with pytest.raises(ValueError, match=r"values\[1\] = 256 is outside \[0, 2\*\*8\)"):
        MaskingClient(config, 0, np.array([1, 256, 3]))
    with pytest.raises(ValueError, match=r"shape \(3,\)"):
        MaskingClient(config, 0, np.array([1, 2]))
    with pytest.raises(TypeError, match="FixedPointEncoder"):
        MaskingClient(config, 0, np.array([0.5, 1.0, 2.0]))


def advance_to(round_, active=False):
    """Run a SecAgg round by round until client 0 expects the server message of ``round_``."""
    config, clients, server, inputs = build(n=6, t=4, active=active)
    outgoing = {c.client_id: c.start() for c in clients}
    while clients[0].round is not round_:
        for sender, message in outgoing.items():
            server.receive(sender, message)
        requests = server.close_round()
        if clients[0].round is round_:
            return clients[0], requests[0]
        outgoing = {cid: clients[cid].handle(message) for cid, message in requests.items()}
    for sender, message in outgoing.items():
        server.receive(sender, message)
    return clients[0], server.close_round()[0]


CLIENT_ROUNDS = [(Round.SHARE_KEYS, False), (Round.SHARE_RECEIPTS, False),
                 (Round.MASKED_INPUT_COLLECTION, False),
                 (Round.UNMASKING, False), (Round.CONSISTENCY_CHECK, True), (Round.UNMASKING, True)]


@pytest.mark.parametrize("round_, active", CLIENT_ROUNDS)
@pytest.mark.parametrize("mangle", ["truncate", "random", "extend", "empty"])
def test_client_state_rejects_bad_bytes(round_, active, mangle):
    client, genuine = advance_to(round_, active)
    assert client.round is round_
    bad = {"truncate": genuine[:-3], "extend": genuine + b"\x00", "empty": b"",
           "random": np.random.default_rng(1).integers(0, 256, len(genuine), dtype=np.uint8).tobytes()}[mangle]
    assert client.handle(bad) is None
    assert client.aborted
    assert client.abort_detail.startswith(f"round {round_.name}")
