"""Malformed client: one client sends messages that break the protocol's rules.

Threat: a malicious client tries to corrupt the aggregate or the run by
sending a wrong-length vector, garbage, shares of another session or
out-of-range values. The server must exclude it with a reason and still
output the exact sum of the clients it includes.

Steps, per case: run the protocol with the target client's message of one
round rewritten as the case describes, then check how the server and the other
clients reacted and whether the output is exact. The server cannot read the
share ciphertexts of round 1 (only their recipient can), nor check a masked
input's range beyond the modulus, and the cases show what follows.
"""

from __future__ import annotations

import numpy as np

from secagg.adversaries.cases import Case, case_outcome, report_cases, select_cases
from secagg.adversaries.harness import Driver, Parties, build_parties
from secagg.adversaries.report import AttackReport, AttackSpec, CaseOutcome
from secagg.primitives import packing, shamir
from secagg.protocols.base import Round
from secagg.protocols.masking import messages
from secagg.protocols.masking.config import modulus_for
from secagg.protocols.wire import MessageType

NAME = "malformed"

_SHARE_HEADER_BYTES = shamir.serialized_share_nbytes(0)
"""Bytes before the first limb of a serialized Shamir share: the share of an empty secret."""


def run(spec: AttackSpec) -> AttackReport:
    """Run the selected malformed-client cases; see the module docstring."""
    outcomes = [case.run(case, spec) for case in select_cases(spec, CASES)]
    return report_cases(NAME, spec, outcomes)


def _run_tampered(case: Case, spec: AttackSpec, parties: Parties, round_: Round, rewrite) -> CaseOutcome:
    """Run with ``rewrite(parties, message)`` applied to the target's message of ``round_``."""

    def tamper(current: Round, sender: int, message: bytes) -> bytes:
        if current is round_ and sender == spec.target:
            return rewrite(parties, message)
        return message

    result = Driver(parties, tamper=tamper).run()
    return case_outcome(case, parties, result, spec.target, adversarial={spec.target})


def _wrong_length(case: Case, spec: AttackSpec) -> CaseOutcome:
    def rewrite(parties: Parties, message: bytes) -> bytes:
        config = parties.config
        # Enough extra elements to add a byte: fewer could fit in the last byte's padding bits.
        extra = -(-8 // config.width)
        longer = packing.pack(np.zeros(config.dim + extra, dtype=np.uint64), config.width)
        return messages.masked_input(parties.session_id, spec.target, longer)

    return _run_tampered(case, spec, build_parties(spec), Round.MASKED_INPUT_COLLECTION, rewrite)


def _garbage_message(case: Case, spec: AttackSpec) -> CaseOutcome:
    noise = np.random.default_rng([spec.seed, 3])

    def rewrite(parties: Parties, message: bytes) -> bytes:
        return noise.bytes(len(message))

    return _run_tampered(case, spec, build_parties(spec), Round.SHARE_KEYS, rewrite)


def _garbage_ciphertexts(case: Case, spec: AttackSpec) -> CaseOutcome:
    noise = np.random.default_rng([spec.seed, 4])

    def rewrite(parties: Parties, message: bytes) -> bytes:
        genuine = messages.parse_id_blob_list(message, MessageType.SHARE_KEYS, parties.session_id)
        garbage = {recipient: noise.bytes(len(blob)) for recipient, blob in genuine.items()}
        return messages.id_blob_list(MessageType.SHARE_KEYS, parties.session_id, spec.target, garbage)

    return _run_tampered(case, spec, build_parties(spec), Round.SHARE_KEYS, rewrite)


def _foreign_ciphertexts(case: Case, spec: AttackSpec) -> CaseOutcome:
    other = build_parties(spec, "other-aggregation")
    recorder = Driver(other)
    recorder.run_until(Round.MASKED_INPUT_COLLECTION)
    foreign = messages.parse_id_blob_list(recorder.transcript.uploads[Round.SHARE_KEYS][spec.target],
                                          MessageType.SHARE_KEYS, other.session_id)
    spare = next(iter(foreign.values()))

    def rewrite(parties: Parties, message: bytes) -> bytes:
        genuine = messages.parse_id_blob_list(message, MessageType.SHARE_KEYS, parties.session_id)
        replaced = {recipient: foreign.get(recipient, spare) for recipient in genuine}
        return messages.id_blob_list(MessageType.SHARE_KEYS, parties.session_id, spec.target, replaced)

    return _run_tampered(case, spec, build_parties(spec), Round.SHARE_KEYS, rewrite)


def _foreign_shares(case: Case, spec: AttackSpec) -> CaseOutcome:
    other = build_parties(spec, "other-aggregation")
    Driver(other).run()
    held_elsewhere = other.clients[spec.target].context.held_shares

    def rewrite(parties: Parties, message: bytes) -> bytes:
        entries = []
        for owner, kind, share in messages.parse_unmasking_response(message, parties.session_id):
            if owner in held_elsewhere:
                share = held_elsewhere[owner][0 if kind is messages.ShareKind.SELF_MASK_SEED else 1]
            entries.append((owner, kind, share))
        return messages.unmasking_response(parties.session_id, spec.target, entries)

    return _run_tampered(case, spec, build_parties(spec), Round.UNMASKING, rewrite)


def _out_of_range_vector(case: Case, spec: AttackSpec) -> CaseOutcome:
    # With R = 2**w every w-bit field is below R, so the case needs an R that is not a power of two.
    modulus = 3 * modulus_for(spec.clients, spec.bits) // 2

    def rewrite(parties: Parties, message: bytes) -> bytes:
        config = parties.config
        vector = packing.unpack(messages.parse_masked_input(message, parties.session_id),
                                config.width, config.dim)
        vector[0] = (1 << config.width) - 1
        return messages.masked_input(parties.session_id, spec.target, packing.pack(vector, config.width))

    parties = build_parties(spec, modulus=modulus)
    return _run_tampered(case, spec, parties, Round.MASKED_INPUT_COLLECTION, rewrite)


def _out_of_range_share(case: Case, spec: AttackSpec) -> CaseOutcome:
    def rewrite(parties: Parties, message: bytes) -> bytes:
        entries = messages.parse_unmasking_response(message, parties.session_id)
        owner, kind, share = entries[0]
        # 0xFFFFFFFF is above the field prime 2**31 + 11.
        share = share[:_SHARE_HEADER_BYTES] + b"\xff\xff\xff\xff" + share[_SHARE_HEADER_BYTES + 4:]
        entries[0] = (owner, kind, share)
        return messages.unmasking_response(parties.session_id, spec.target, entries)

    return _run_tampered(case, spec, build_parties(spec), Round.UNMASKING, rewrite)


def _out_of_range_input(case: Case, spec: AttackSpec) -> CaseOutcome:
    parties = build_parties(spec)
    context = parties.clients[spec.target].context
    context.input = context.input.copy()
    context.input[0] = parties.config.modulus - 1
    result = Driver(parties).run()
    return case_outcome(case, parties, result, spec.target, adversarial={spec.target})


CASES = [
    Case("wrong-length", "Client {client} sent a masked vector with more elements than the "
         "configured dimension.", _wrong_length),
    Case("garbage-message", "Client {client} sent random bytes in place of its round-1 "
         "SHARE_KEYS message.", _garbage_message),
    Case("garbage-ciphertexts", "Client {client} sent a well-formed SHARE_KEYS message whose "
         "share ciphertexts are random bytes of the right length.", _garbage_ciphertexts),
    Case("foreign-ciphertexts", "Client {client} sent a well-formed SHARE_KEYS message carrying "
         "its share ciphertexts of another session.", _foreign_ciphertexts),
    Case("foreign-shares", "Client {client} answered the unmasking request with the Shamir "
         "shares it holds in another session.", _foreign_shares),
    Case("out-of-range-vector", "Client {client} sent a masked vector with an element at or "
         "above the modulus R (this case runs with R = 1.5 * 2**w).", _out_of_range_vector),
    Case("out-of-range-share", "Client {client} revealed a share with a limb above the field "
         "prime 2**31 + 11.", _out_of_range_share),
    Case("out-of-range-input", "Client {client} masked an input element equal to R - 1, far "
         "outside [0, 2**bits).", _out_of_range_input),
]
