"""Share receipts: a client whose shares too few others can decrypt leaves before masking."""

import numpy as np
import pytest

from secagg.protocols.base import ExclusionReason, Round
from secagg.protocols.masking import messages
from secagg.protocols.masking.messages import ShareKind
from secagg.protocols.wire import MessageType
from tests.protocols.masking_driver import build, plaintext_sum, run

VARIANTS = [(None, False), (None, True), (4, False)]


def garble_shares_of(server, sender, recipients):
    """Return a tamper that replaces ``sender``'s ciphertexts to ``recipients`` with zeros."""
    def tamper(round_, client, message):
        if round_ is not Round.SHARE_KEYS or client != sender:
            return message
        session_id = server.context.session_id
        blobs = messages.parse_id_blob_list(message, MessageType.SHARE_KEYS, session_id)
        blobs = {r: bytes(len(b)) if r in recipients else b for r, b in blobs.items()}
        return messages.id_blob_list(MessageType.SHARE_KEYS, session_id, sender, blobs)
    return tamper


def replace_receipt(server, sender, accused):
    """Return a tamper that makes ``sender``'s share receipt accuse ``accused``."""
    def tamper(round_, client, message):
        if round_ is not Round.SHARE_RECEIPTS or client != sender:
            return message
        return messages.id_list(MessageType.SHARE_RECEIPT, server.context.session_id, sender, accused)
    return tamper


def chain(*tampers):
    def tamper(round_, client, message):
        for step in tampers:
            message = step(round_, client, message)
        return message
    return tamper


def withdrawals(result):
    return [e for e in result.exclusions if e.reason is ExclusionReason.UNDECRYPTABLE_SHARES]


@pytest.mark.parametrize("degree, active", VARIANTS)
def test_sender_with_enough_readable_shares_stays(degree, active):
    config, clients, server, inputs = build(n=6, t=4, degree=degree, active=active)
    result = run(config, clients, server, tamper=garble_shares_of(server, 0, {1}))
    assert not result.aborted, result.abort_detail
    assert result.included == [0, 1, 2, 3, 4, 5]
    assert np.array_equal(result.aggregate, plaintext_sum(config, inputs, result.included))
    assert "failed authentication" in clients[1].context.misbehaving[0]
    assert 0 not in clients[1].context.held_shares


@pytest.mark.parametrize("degree, active", VARIANTS)
def test_unreadable_sender_is_withdrawn(degree, active):
    config, clients, server, inputs = build(n=6, t=4, degree=degree, active=active)
    result = run(config, clients, server, tamper=garble_shares_of(server, 0, {1, 2, 3, 4, 5}))
    assert not result.aborted, result.abort_detail
    assert result.included == [1, 2, 3, 4, 5]
    assert np.array_equal(result.aggregate, plaintext_sum(config, inputs, result.included))
    (withdrawn,) = withdrawals(result)
    assert (withdrawn.client, withdrawn.round) == (0, Round.SHARE_RECEIPTS)
    # Withdrawn before masking: no mask key of client 0 was ever asked for.
    revealed = server.context.responses.values()
    assert all(kind is ShareKind.SELF_MASK_SEED for shares in revealed for kind, _ in shares.values())


def test_withdrawal_counts_the_threshold_exactly():
    # n = 6, t = 4: client 0 and two clients that read its shares are 3 holders.
    config, clients, server, inputs = build(n=6, t=4)
    kept = run(config, clients, server, tamper=garble_shares_of(server, 0, {1, 2}))
    assert kept.included == [0, 1, 2, 3, 4, 5]
    config, clients, server, inputs = build(n=6, t=4)
    dropped = run(config, clients, server, tamper=garble_shares_of(server, 0, {1, 2, 3}))
    assert dropped.included == [1, 2, 3, 4, 5]
    assert "3 recipients could not decrypt" in withdrawals(dropped)[0].detail
    assert np.array_equal(dropped.aggregate, plaintext_sum(config, inputs, dropped.included))


def test_one_false_accusation_changes_nothing():
    config, clients, server, inputs = build(n=6, t=4)
    result = run(config, clients, server, tamper=replace_receipt(server, 1, [0]))
    assert result.included == [0, 1, 2, 3, 4, 5]
    assert np.array_equal(result.aggregate, plaintext_sum(config, inputs, result.included))


def test_enough_accusers_withdraw_the_accused():
    config, clients, server, inputs = build(n=6, t=4)
    tamper = chain(*(replace_receipt(server, liar, [0]) for liar in (1, 2, 3)))
    result = run(config, clients, server, tamper=tamper)
    assert result.included == [1, 2, 3, 4, 5]
    assert np.array_equal(result.aggregate, plaintext_sum(config, inputs, result.included))


def test_receipt_accusing_a_stranger_excludes_its_sender():
    config, clients, server, inputs = build(n=8, t=3, degree=4)

    def accuse_stranger(round_, client, message):
        if round_ is not Round.SHARE_RECEIPTS or client != 1:
            return message
        stranger = min(set(range(8)) - server.context.neighbours[1] - {1})
        return replace_receipt(server, 1, [stranger])(round_, client, message)

    result = run(config, clients, server, tamper=accuse_stranger)
    bad = [e for e in result.exclusions if e.round is Round.SHARE_RECEIPTS]
    assert [(e.client, e.reason) for e in bad] == [(1, ExclusionReason.INVALID_CONTENT)]
    assert "never forwarded" in bad[0].detail
    assert result.included == [0, 2, 3, 4, 5, 6, 7]
    assert np.array_equal(result.aggregate, plaintext_sum(config, inputs, result.included))


def test_missing_receipt_withdraws_its_sender():
    config, clients, server, inputs = build(n=6, t=4)

    def silence(round_, client, message):
        return None if round_ is Round.SHARE_RECEIPTS and client == 5 else message

    result = run(config, clients, server, tamper=silence)
    assert result.included == [0, 1, 2, 3, 4]
    assert np.array_equal(result.aggregate, plaintext_sum(config, inputs, result.included))
    assert [(e.client, e.reason) for e in result.exclusions] == [(5, ExclusionReason.DROPPED)]
    assert all(5 not in shares for shares in server.context.responses.values())


@pytest.mark.parametrize("withdrawn, error", [([0], "never forwarded"), ([1, 2, 3], "below the threshold")])
def test_client_rejects_impossible_withdrawals(withdrawn, error):
    config, clients, server, inputs = build(n=6, t=4)
    outgoing = {c.client_id: c.start() for c in clients}
    while server.round is not Round.MASKED_INPUT_COLLECTION:
        for sender, message in outgoing.items():
            server.receive(sender, message)
        requests = server.close_round()
        outgoing = {cid: clients[cid].handle(m) for cid, m in requests.items()
                    if server.round is not Round.MASKED_INPUT_COLLECTION}
    request = messages.id_list(MessageType.MASKED_INPUT_REQUEST, server.context.session_id,
                               0xFFFFFFFF, withdrawn)
    assert clients[0].handle(request) is None
    assert error in clients[0].abort_detail


def test_departed_holders_withdraw_without_blame():
    # SecAgg+ with k = 4, t = 3: three of client 0's four neighbours send no receipt.
    config, clients, server, inputs = build(n=10, t=3, degree=4)

    def silence_neighbours(round_, client, message):
        if round_ is Round.SHARE_RECEIPTS and client in sorted(server.context.neighbours[0])[:3]:
            return None
        return message

    result = run(config, clients, server, tamper=silence_neighbours)
    reasons = {e.client: e.reason for e in result.exclusions if e.round is Round.SHARE_RECEIPTS}
    assert reasons[0] is ExclusionReason.TOO_FEW_SHARE_HOLDERS
    assert ExclusionReason.UNDECRYPTABLE_SHARES not in reasons.values()
    assert 0 not in result.included
    if not result.aborted:
        assert np.array_equal(result.aggregate, plaintext_sum(config, inputs, result.included))
