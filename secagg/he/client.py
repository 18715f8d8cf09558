"""The client of CKKS aggregation; one client may also be the key holder.

States, by the round whose server message the client expects next:

- ADVERTISE_KEYS, until :meth:`CkksClient.start`. The key holder generates
  the keys and sends CKKS_CONTEXT; other clients send nothing.
- MASKED_INPUT_COLLECTION. Accepts CKKS_CONTEXT from the server with the
  secret context sealed for this client (empty for the key holder), opens
  it, encrypts the clipped input and sends CKKS_CIPHERTEXT. Next: UNMASKING
  for the key holder, FINISHED for the others.
- UNMASKING (key holder only). Accepts UNMASKING_REQUEST, decrypts the sum
  and sends UNMASKING_RESPONSE. Next: FINISHED.
"""

from __future__ import annotations

import logging

import numpy as np

from secagg._validation import check_int
from secagg.errors import DecryptionError, WireFormatError
from secagg.he import backend, channel, messages
from secagg.he.config import CkksConfig
from secagg.he.key_holder import KeyHolderRole, ProtocolAbort
from secagg.primitives.key_agreement import KeyPair
from secagg.primitives.randomness import RandomSource
from secagg.protocols.base import Round

logger = logging.getLogger(__name__)


def clip_input(config: CkksConfig, values, name: str = "values") -> tuple[np.ndarray, int]:
    """Return ``values`` as float64 clipped to [-clip, clip], and how many were clipped.

    Raises ValueError for a wrong shape or a NaN or infinite value, and
    TypeError for a non-numeric dtype.
    """
    array = np.asarray(values)
    if array.shape != (config.dim,):
        raise ValueError(f"{name} must have shape ({config.dim},) to match config.dim, got {array.shape}")
    if array.dtype.kind not in "uif":
        raise TypeError(f"{name} must hold real numbers, got dtype {array.dtype}")
    array = array.astype(np.float64)
    bad = np.flatnonzero(~np.isfinite(array))
    if bad.size:
        raise ValueError(f"{name}[{int(bad[0])}] is {array[bad[0]]}; inputs must be finite")
    outside = int(np.count_nonzero(np.abs(array) > config.clip))
    return np.clip(array, -config.clip, config.clip), outside


class CkksClient:
    """One client of a CKKS aggregation; see the module docstring for its states.

    ``channel_keys`` is this client's X25519 key pair and ``directory`` the
    public keys of all parties, both from :func:`secagg.he.make_channel_keys`.
    Input values outside [-clip, clip] are clipped; :attr:`clipped` counts
    them.
    """

    def __init__(self, config: CkksConfig, client_id: int, values, *, channel_keys: KeyPair,
                 directory: dict[int, bytes], rng: RandomSource | None = None):
        if not isinstance(config, CkksConfig):
            raise TypeError(f"config must be a CkksConfig, got {type(config).__name__}")
        backend.load_tenseal()
        self.client_id = check_int("client_id", client_id, minimum=0, maximum=config.clients - 1)
        if config.key_holder not in directory:
            raise ValueError(f"directory has no channel key for the key holder {config.key_holder}")
        self.config = config
        self._values, self.clipped = clip_input(config, values)
        self._channel_keys = channel_keys
        self._directory = directory
        self._key_holder = (KeyHolderRole(config, self.client_id, channel_keys, directory, rng)
                            if client_id == config.key_holder else None)
        self._round = Round.ADVERTISE_KEYS
        self.abort_detail = ""

    @property
    def round(self) -> Round:
        """The round whose server message the client expects next."""
        return self._round

    @property
    def aborted(self) -> bool:
        return bool(self.abort_detail)

    @property
    def is_key_holder(self) -> bool:
        return self._key_holder is not None

    @property
    def context(self):
        """The key holder's TenSEAL context with the secret key; None for other clients."""
        return None if self._key_holder is None else self._key_holder.context

    def start(self) -> bytes | None:
        """Return CKKS_CONTEXT if this client is the key holder, else None. Raises RuntimeError on a second call."""
        if self._round is not Round.ADVERTISE_KEYS:
            raise RuntimeError("start() was already called")
        message = self._key_holder.distribute() if self._key_holder is not None else None
        self._round = Round.MASKED_INPUT_COLLECTION
        return message

    def handle(self, message: bytes) -> bytes | None:
        """Process the server's message for the current round; return the reply or None."""
        if self.aborted or self._round not in (Round.MASKED_INPUT_COLLECTION, Round.UNMASKING):
            return None
        try:
            if self._round is Round.MASKED_INPUT_COLLECTION:
                reply = self._upload(message)
                self._round = Round.UNMASKING if self.is_key_holder else Round.FINISHED
            else:
                reply = self._key_holder.decrypt(message)
                self._round = Round.FINISHED
        except (ProtocolAbort, WireFormatError, DecryptionError) as error:
            self.abort_detail = f"round {self._round.name}: {error}"
            logger.debug("client %d aborted: %s", self.client_id, self.abort_detail)
            return None
        return reply

    def _upload(self, message: bytes) -> bytes:
        config = self.config
        sealed = messages.parse_forwarded_context(message, config.digest())
        if self.is_key_holder:
            if sealed:
                raise ProtocolAbort("the server sent a context to the key holder, which made its own")
            context = self._key_holder.context
        else:
            secret = channel.open_sealed(config, self._channel_keys, self._directory, config.key_holder,
                                         self.client_id, sealed)
            try:
                context = backend.load_context(secret)
            except ValueError as error:
                raise ProtocolAbort(f"the key holder's context is invalid: {error}") from None
            if not context.has_public_key():
                raise ProtocolAbort("the key holder's context has no public key to encrypt with")
        vector = backend.encrypt(context, self._values)
        return messages.ciphertext(config.digest(), self.client_id, vector)
