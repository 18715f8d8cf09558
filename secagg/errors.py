"""Exceptions raised by secagg.

Caller mistakes raise the built-in ``TypeError`` or ``ValueError``.
Cryptographic failures raise the classes below, which never carry key
material, plaintext or shares in their message.
"""


class SecAggError(Exception):
    """Base class of the exceptions defined by secagg."""


class DecryptionError(SecAggError):
    """An authenticated ciphertext failed verification.

    The cause may be tampering, a wrong key, a wrong recipient, a wrong
    session or a wrong round: by design the message does not say which.
    """


class SignatureError(SecAggError):
    """A signature did not verify under the expected public key."""


class WireFormatError(SecAggError, ValueError):
    """A serialized message is truncated, too long or structurally invalid."""
