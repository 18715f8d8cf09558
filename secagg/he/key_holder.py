"""The key holder's work: generate the CKKS keys, distribute them, decrypt the sum.

A designated client (:class:`secagg.he.client.CkksClient`) or the external
key authority (:class:`KeyAuthority`) plays this role. The authority
implements the client interface of :mod:`secagg.protocols.base` with party
id ``config.clients`` and no input, so the simulator can run it.
"""

from __future__ import annotations

import logging

from secagg.errors import WireFormatError
from secagg.he import backend, channel, messages
from secagg.he.config import CkksConfig
from secagg.primitives.key_agreement import KeyPair
from secagg.primitives.randomness import RandomSource
from secagg.protocols.base import Round

logger = logging.getLogger(__name__)


class ProtocolAbort(Exception):
    """Raised inside a CKKS party when it must stop; never escapes the party's ``handle``."""


class KeyHolderRole:
    """Key generation (round 0) and decryption of the sum (round 4) for party ``party_id``."""

    def __init__(self, config: CkksConfig, party_id: int, channel_keys: KeyPair,
                 directory: dict[int, bytes], rng: RandomSource | None = None):
        self.config = config
        self.party_id = party_id
        self._channel_keys = channel_keys
        self._directory = directory
        self._rng = rng
        self.context = None
        """The TenSEAL context with the secret key, once :meth:`distribute` ran."""

    def distribute(self) -> bytes:
        """Generate the keys; return CKKS_CONTEXT with the server's keyless context and one sealed copy per client.

        Every client other than the key holder gets the parameters, the
        public key and the secret key, encrypted under its channel key.
        """
        config = self.config
        self.context = backend.create_context(config.parameters)
        secret = backend.serialize_secret_context(self.context)
        sealed = {client: channel.seal(config, self._channel_keys, self._directory, self.party_id,
                                       client, secret, self._rng)
                  for client in range(config.clients) if client != self.party_id}
        server_context = backend.serialize_server_context(self.context)
        return messages.key_distribution(config.digest(), self.party_id, server_context, sealed)

    def decrypt(self, data: bytes) -> bytes:
        """Check and decrypt an UNMASKING_REQUEST; return UNMASKING_RESPONSE with the sum.

        Raises ProtocolAbort when the request lists fewer than
        ``min_clients`` clients, lists an id twice or one that is not a
        client, or when the ciphertext does not have the layout of a
        ``dim``-value vector. The key holder cannot check that the server
        really summed the listed clients; see the trust model in the README.
        """
        config = self.config
        included, total = messages.parse_decryption_request(data, config.digest(), config.clients)
        if len(set(included)) != len(included) or any(not 0 <= c < config.clients for c in included):
            raise ProtocolAbort(f"the decryption request lists invalid or repeated client ids {included[:10]}")
        if len(included) < config.min_clients:
            raise ProtocolAbort(f"the decryption request lists {len(included)} clients, fewer than "
                                f"min_clients = {config.min_clients}")
        try:
            vector = backend.load_vector(self.context, total, config.parameters, config.dim)
        except WireFormatError as error:
            raise ProtocolAbort(f"the summed ciphertext is invalid: {error}") from None
        values = backend.decrypt(vector)
        logger.debug("party %d decrypted the sum of %d clients", self.party_id, len(included))
        return messages.decrypted_sum(config.digest(), self.party_id, values)


class KeyAuthority:
    """The external key authority: a key holder that is not a client and has no input.

    Its party id is ``config.clients``. :meth:`start` returns the key
    distribution, and :meth:`handle` decrypts the requested sum, after
    which the authority is finished.
    """

    def __init__(self, config: CkksConfig, *, channel_keys: KeyPair, directory: dict[int, bytes],
                 rng: RandomSource | None = None):
        if not isinstance(config, CkksConfig):
            raise TypeError(f"config must be a CkksConfig, got {type(config).__name__}")
        if not config.authority:
            raise ValueError(f"config names client {config.key_holder} as key holder; create the "
                             f"config with key_holder='authority' to use a KeyAuthority")
        backend.load_tenseal()
        self.client_id = config.clients
        self.abort_detail = ""
        self._role = KeyHolderRole(config, self.client_id, channel_keys, directory, rng)
        self._round = Round.ADVERTISE_KEYS

    @property
    def round(self) -> Round:
        """ADVERTISE_KEYS before :meth:`start`, then UNMASKING, then FINISHED."""
        return self._round

    @property
    def aborted(self) -> bool:
        return bool(self.abort_detail)

    @property
    def context(self):
        """The TenSEAL context with the secret key; None before :meth:`start`."""
        return self._role.context

    def start(self) -> bytes:
        """Return the CKKS_CONTEXT message. Raises RuntimeError on a second call."""
        if self._round is not Round.ADVERTISE_KEYS:
            raise RuntimeError("start() was already called")
        message = self._role.distribute()
        self._round = Round.UNMASKING
        return message

    def handle(self, message: bytes) -> bytes | None:
        """Decrypt the requested sum and return UNMASKING_RESPONSE; return None once finished or aborted."""
        if self.aborted or self._round is not Round.UNMASKING:
            return None
        try:
            reply = self._role.decrypt(message)
        except (ProtocolAbort, WireFormatError) as error:
            self.abort_detail = f"round {self._round.name}: {error}"
            logger.debug("key authority aborted: %s", self.abort_detail)
            return None
        self._round = Round.FINISHED
        return reply
