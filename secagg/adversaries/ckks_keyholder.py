"""CKKS key holder: a client that holds the secret key decrypts another client's intercepted upload.

Threat: every client of the CKKS protocol receives the secret key, because
each one encrypts with the key holder's context. A curious client follows
the protocol, obtains the target's CKKS_CIPHERTEXT upload (from a server
that shares it, or by reading the target's link to the server) and
decrypts it.

Steps:

1. Run the protocol honestly to the end over the simulated network,
   recording every message the server relays.
2. The adversary is the lowest client id that is neither the target nor
   the key holder, so it holds the secret key only because the protocol
   sent it. It takes the CKKS_CONTEXT message that the server sent it and
   opens its sealed secret context with its own channel key, as its honest
   code did during the run.
3. It takes the target's upload from the recorded messages, as an
   eavesdropper would, and decrypts it with that context.
4. It compares the result with the target's clipped input. The tolerance is
   the predicted error bound of one ciphertext
   (:meth:`secagg.he.CkksConfig.error_bound` over the target alone).

Reading a message leaves no trace, so no party can detect the attack.
"""

from __future__ import annotations

import numpy as np

from secagg.adversaries.ckks_harness import (KEY_HOLDER, CkksRun, build_ckks_run, run_honestly,
                                             sum_error)
from secagg.adversaries.report import AttackReport, AttackSpec
from secagg.he import backend, channel, messages
from secagg.protocols.base import Round

NAME = "ckks-keyholder"


def run(spec: AttackSpec) -> AttackReport:
    """Run the ckks-keyholder attack described in the module docstring."""
    ckks = build_ckks_run(spec)
    result = run_honestly(ckks, spec.seed)
    target = spec.target
    adversary = min(c for c in range(spec.clients) if c not in (target, KEY_HOLDER))

    context = _open_own_context(ckks, adversary)
    intercepted = ckks.upload_of(target)
    decrypted = None
    if context is not None and intercepted is not None:
        decrypted = backend.decrypt(ckks.load_upload(context, target))

    tolerance = ckks.config.error_bound([target])
    error = None if decrypted is None else float(np.max(np.abs(decrypted - ckks.clipped[target])))
    raw_error = None if decrypted is None else float(np.max(np.abs(decrypted - ckks.inputs[target])))
    recovered = error is not None and error <= tolerance
    aggregate = sum_error(ckks, result)
    details = {
        "key_holder": KEY_HOLDER,
        "adversary": adversary,
        "intercepted_bytes": None if intercepted is None else len(intercepted),
        "secret_context_opened": context is not None,
        "max_abs_error": error,
        "tolerance": tolerance,
        "max_abs_error_before_clipping": raw_error,
        "target_values_clipped": int(np.count_nonzero(np.abs(ckks.inputs[target]) > ckks.config.clip)),
        "included": list(result.included),
        "aggregate_max_abs_error": aggregate["max_abs_error"],
        "aggregate_error_bound": aggregate["error_bound"],
    }
    return AttackReport.from_spec(
        NAME, spec, recovered_target=recovered, detected=False, aborted=result.aborted,
        aggregate_correct=aggregate["correct"], explanation=_explain(spec, details, recovered),
        details=details)


def _open_own_context(ckks: CkksRun, client: int):
    """Open the secret context sealed for ``client`` in the server's CKKS_CONTEXT message.

    Returns None if the server sent ``client`` no such message.
    """
    config = ckks.config
    message = ckks.transcript.downloads.get(Round.MASKED_INPUT_COLLECTION, {}).get(client)
    if message is None:
        return None
    sealed = messages.parse_forwarded_context(message, config.digest())
    secret = channel.open_sealed(config, ckks.channel_keys[client], ckks.directory, KEY_HOLDER,
                                 client, sealed)
    return backend.load_context(secret)


def _explain(spec: AttackSpec, details: dict, recovered: bool) -> str:
    target, adversary = spec.target, details["adversary"]
    limit = ("Trust limit: CKKS here protects the inputs from the server only. Any client that "
             "obtains another client's upload, through the server or the network, reads it.")
    if recovered:
        return (f"Client {adversary} is not the key holder, yet it opened the secret context that "
                f"the key holder sealed to it and decrypted client {target}'s intercepted upload. "
                f"The result matches client {target}'s clipped input to within "
                f"{details['max_abs_error']:.1e}, below the tolerance {details['tolerance']:.1e} "
                f"(the predicted CKKS error bound of one ciphertext). No party can notice a passive read. "
                f"{limit}")
    if details["max_abs_error"] is None:
        return (f"Client {adversary} could not decrypt client {target}'s upload: the run sent it no "
                f"secret context or client {target} uploaded nothing. {limit}")
    return (f"Client {adversary} decrypted client {target}'s intercepted upload, but the result "
            f"differs from its clipped input by {details['max_abs_error']:.3g}, above the tolerance "
            f"{details['tolerance']:.1e}. {limit}")
