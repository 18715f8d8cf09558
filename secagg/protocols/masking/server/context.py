"""Server state shared by the round modules: the survivor sets and the running sum."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from secagg.primitives.shamir import Share
from secagg.protocols.base import AbortReason, Exclusion, ExclusionReason, Round
from secagg.protocols.masking.config import MaskingConfig
from secagg.protocols.masking.messages import AdvertisedKeys, ShareKind


class ServerAbort(Exception):
    """Raised inside a server state when the run cannot finish safely."""

    def __init__(self, reason: AbortReason, detail: str):
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


@dataclass
class ServerContext:
    """The server's view of one run. Holds no client secret until unmasking."""

    config: MaskingConfig
    pki: dict[int, bytes] | None
    keys: dict[int, AdvertisedKeys] = field(default_factory=dict)
    """U1: round-0 keys by client."""
    session_id: bytes = b""
    neighbours: dict[int, set[int]] = field(default_factory=dict)
    """Each U1 client's neighbours within U1."""
    ciphertexts: dict[int, dict[int, bytes]] = field(default_factory=dict)
    """U2: round-1 share ciphertexts by sender, then recipient; after the share
    receipts, only those of the clients that stay in U2."""
    receipts: dict[int, set[int]] = field(default_factory=dict)
    """Share receipts: by client, the senders whose ciphertext it could not decrypt."""
    total: np.ndarray | None = None
    masked_senders: set[int] = field(default_factory=set)
    """U3: clients whose masked input is in ``total``."""
    signatures: dict[int, bytes] = field(default_factory=dict)
    """U4: round-3 signatures by client (active variant)."""
    responses: dict[int, dict[int, tuple[ShareKind, Share]]] = field(default_factory=dict)
    """U5: revealed shares by responder, then owner."""
    exclusions: list[Exclusion] = field(default_factory=list)
    received: set[int] = field(default_factory=set)
    """Clients heard from in the current round."""

    def exclude(self, client: int, round_: Round, reason: ExclusionReason, detail: str = "") -> None:
        self.exclusions.append(Exclusion(client, round_, reason, detail))

    def require(self, count: int, round_: Round, what: str) -> None:
        """Abort unless ``count`` reaches the threshold."""
        if count < self.config.threshold:
            raise ServerAbort(AbortReason.TOO_FEW_CLIENTS,
                              f"{round_.name}: {count} {what}, threshold {self.config.threshold}")
