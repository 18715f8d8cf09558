"""Client state shared by the round modules: identity, keys, secrets and views."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from secagg.primitives.key_agreement import KeyPair
from secagg.primitives.randomness import RandomSource
from secagg.primitives.signatures import SigningKey
from secagg.protocols.masking.config import MaskingConfig
from secagg.protocols.masking.messages import AdvertisedKeys, ShareKind


class ClientAbort(Exception):
    """Raised inside a client state when the client must stop; never escapes the client."""


@dataclass
class ClientContext:
    """Everything one client has seen or drawn. ``input``, keys and seeds are secret."""

    config: MaskingConfig
    client_id: int
    input: np.ndarray
    rng: RandomSource
    signing_key: SigningKey | None = None
    pki: dict[int, bytes] | None = None
    naive_unmasking: bool = False
    """Test-only: skip the check that never reveals both shares of one client."""

    channel_keys: KeyPair | None = None
    mask_keys: KeyPair | None = None
    session_id: bytes = b""
    peers: dict[int, AdvertisedKeys] = field(default_factory=dict)
    """Round-0 keys of the neighbours that reached round 1."""
    self_mask_seed: bytes = b""
    forwarded: list[int] = field(default_factory=list)
    """Neighbours whose share ciphertexts the server forwarded to this client."""
    share_senders: list[int] = field(default_factory=list)
    """Forwarded neighbours the server did not withdraw, and itself: this client's view of U2."""
    held_shares: dict[int, tuple[bytes, bytes]] = field(default_factory=dict)
    """Shares this client holds, by owner: (self-mask seed share, mask key share)."""
    signed_survivors: list[int] | None = None
    revealed: dict[int, ShareKind] = field(default_factory=dict)
    channel_secrets: dict[int, bytes] = field(default_factory=dict, repr=False)
    """AES-GCM keys agreed with each peer in round 1, reused to decrypt the forwarded shares."""
    misbehaving: dict[int, str] = field(default_factory=dict)
    """Peers whose share ciphertext failed, with the reason; reported in SHARE_RECEIPT."""
