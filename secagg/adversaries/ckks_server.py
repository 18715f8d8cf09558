"""CKKS server: a server that keeps every message it relays tries to read one client's input.

Threat: the server follows the protocol, keeps everything it receives and
sends, and afterwards tries to recover the target's input from that view.
No client colludes with it.

Steps:

1. Run the protocol honestly to the end over the simulated network; the
   server records every message (:class:`~secagg.adversaries.ckks_harness.RecordingServer`).
2. Decrypt the target's ciphertext with the server's own context. TenSEAL
   raises ValueError, because that context contains no secret key.
3. Load each secret context that the server relayed from the key holder to
   the clients. None loads, because each is an AES-256-GCM ciphertext under
   a channel key that only the key holder and that client derive.
4. Search every recorded message for the target's input as float64 bytes,
   clipped or not, in either byte order.
5. Compare the only plaintext in the view, the decrypted sum, with the
   target's clipped input.

The target counts as recovered if step 2 succeeds with a match, if step 3
loads a context (it would contain the secret key), or if step 4 or 5 finds
a match. A match is the target's clipped input within the predicted error
bound of one ciphertext.
"""

from __future__ import annotations

import numpy as np

from secagg.adversaries.ckks_harness import (KEY_HOLDER, CkksRun, build_ckks_run, run_honestly,
                                             sum_error)
from secagg.adversaries.report import AttackReport, AttackSpec
from secagg.he import backend, messages
from secagg.protocols.base import AggregationResult, Round

NAME = "ckks-server"


def run(spec: AttackSpec) -> AttackReport:
    """Run the ckks-server attack described in the module docstring."""
    ckks = build_ckks_run(spec)
    result = run_honestly(ckks, spec.seed)
    server_context = ckks.server.context
    target = spec.target
    tolerance = ckks.config.error_bound([target])

    decrypted, decryption_error = _decrypt_with_server_context(ckks, server_context, target)
    sealed_total, sealed_loaded = _load_sealed_contexts(ckks)
    bytes_found = _input_bytes_in_view(ckks, target)
    sum_distance = _sum_distance(ckks, result, target)

    decryption_matches = (decrypted is not None
                          and float(np.max(np.abs(decrypted - ckks.clipped[target]))) <= tolerance)
    sum_matches = sum_distance is not None and sum_distance <= tolerance
    recovered = decryption_matches or sealed_loaded > 0 or bytes_found or sum_matches
    aggregate = sum_error(ckks, result)
    details = {
        "key_holder": KEY_HOLDER,
        "server_context_has_secret_key": server_context.has_secret_key(),
        "server_context_has_public_key": server_context.has_public_key(),
        "ciphertexts_seen": len(ckks.transcript.uploads.get(Round.MASKED_INPUT_COLLECTION, {})),
        "decryption_error": decryption_error,
        "sealed_contexts_relayed": sealed_total,
        "sealed_contexts_loaded": sealed_loaded,
        "target_input_bytes_in_view": bytes_found,
        "sum_distance_to_target": sum_distance,
        "tolerance": tolerance,
        "included": list(result.included),
        "aggregate_max_abs_error": aggregate["max_abs_error"],
        "aggregate_error_bound": aggregate["error_bound"],
    }
    return AttackReport.from_spec(
        NAME, spec, recovered_target=recovered, detected=False, aborted=result.aborted,
        aggregate_correct=aggregate["correct"],
        explanation=_explain(spec, details, recovered, len(result.included)), details=details)


def _decrypt_with_server_context(ckks: CkksRun, context, target: int
                                 ) -> tuple[np.ndarray | None, str | None]:
    """Decrypt the target's upload; return (values, None), or (None, why it failed)."""
    vector = ckks.load_upload(context, target)
    if vector is None:
        return None, f"client {target} sent no ciphertext"
    try:
        return backend.decrypt(vector), None
    except ValueError as error:
        return None, f"{type(error).__name__}: {error}"


def _load_sealed_contexts(ckks: CkksRun) -> tuple[int, int]:
    """Return (sealed secret contexts the server relayed, how many of them load as a TenSEAL context)."""
    config = ckks.config
    distribution = ckks.transcript.uploads.get(Round.ADVERTISE_KEYS, {}).get(KEY_HOLDER)
    if distribution is None:
        return 0, 0
    _, sealed = messages.parse_key_distribution(distribution, config.digest(), KEY_HOLDER,
                                                config.clients)
    loaded = 0
    for blob in sealed.values():
        try:
            backend.load_context(blob)
        except ValueError:
            continue
        loaded += 1
    return len(sealed), loaded


def _input_bytes_in_view(ckks: CkksRun, target: int) -> bool:
    """Return True if any recorded message contains the target's input as float64 bytes."""
    patterns = [values.astype(dtype).tobytes()
                for values in (ckks.inputs[target], ckks.clipped[target])
                for dtype in ("<f8", ">f8")]
    transcript = ckks.transcript
    recorded = [message for by_party in (*transcript.uploads.values(), *transcript.downloads.values())
                for message in by_party.values()]
    return any(pattern in message for pattern in patterns for message in recorded)


def _sum_distance(ckks: CkksRun, result: AggregationResult, target: int) -> float | None:
    """Return the max absolute difference between the decrypted sum and the target's clipped input."""
    if result.aggregate is None:
        return None
    return float(np.max(np.abs(result.aggregate - ckks.clipped[target])))


def _explain(spec: AttackSpec, details: dict, recovered: bool, included: int) -> str:
    target = spec.target
    limit = ("Trust limit: the server learns only the sum, provided no key holder colludes with it, "
             "and every client is a key holder (see ckks-keyholder). The key holder also decrypts "
             "any ciphertext that the server sends with at least min_clients ids, so the server is "
             "trusted to send the true sum.")
    if recovered:
        return (f"Client {target}'s input appears in the server's view (see details), which the "
                f"protocol should prevent. {limit}")
    if details["sum_distance_to_target"] is None:
        seen = "The run produced no sum, so the server saw no plaintext."
    else:
        seen = (f"The only plaintext it saw, the sum of {included} clients, differs from client "
                f"{target}'s input by up to {details['sum_distance_to_target']:.3g}.")
    if details["decryption_error"] is None:
        decryption = (f"Decrypting client {target}'s ciphertext with the server's context returned "
                      f"values that do not match its input.")
    else:
        decryption = (f"Decrypting client {target}'s ciphertext with the server's context failed "
                      f"({details['decryption_error']}).")
    return (f"The server kept all {details['ciphertexts_seen']} ciphertexts, the key distribution "
            f"it relayed and the decrypted sum. {decryption} The secret contexts it relayed are "
            f"sealed to each client with AES-256-GCM. {seen} {limit}")
