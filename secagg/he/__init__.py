"""Homomorphic-encryption aggregation: CKKS with TenSEAL, over the same network as the masking protocols.

Clients encrypt their updates under one CKKS key, and the server adds the
ciphertexts without being able to decrypt them. The key holder, a designated
client or an external key authority, decrypts only the sum.
Every client also receives the secret key, so any client could decrypt a
single ciphertext it intercepts: the protection is against the server.

Round structure, by :class:`secagg.protocols.base.Round`:

0. ADVERTISE_KEYS: the key holder generates the keys and sends the server a
   context without keys plus the secret context sealed for each client
   (:mod:`secagg.he.channel`).
2. MASKED_INPUT_COLLECTION: the server forwards each client its sealed
   context; each client encrypts its clipped input and uploads it; the
   server adds the ciphertexts, multiplied by public weights if any.
4. UNMASKING: the server sends the encrypted sum to the key holder, which
   decrypts it and returns the float64 sum.

Importing this package needs no TenSEAL: :mod:`secagg.he.params` and
:mod:`secagg.he.precision` are pure Python, and creating a party imports
TenSEAL, raising a one-line ImportError with the install command if it is
missing.
"""

from secagg.he.backend import load_tenseal, quiet_stdout
from secagg.he.channel import make_channel_keys
from secagg.he.client import CkksClient
from secagg.he.config import AUTHORITY, CkksConfig
from secagg.he.key_holder import KeyAuthority
from secagg.he.params import ADD_ONLY, ONE_MULTIPLICATION, PRESETS, CkksParameters
from secagg.he.parties import make_parties
from secagg.he.precision import error_bound, max_abs_error
from secagg.he.server import CkksServer

__all__ = [
    "ADD_ONLY", "AUTHORITY", "CkksClient", "CkksConfig", "CkksParameters", "CkksServer",
    "KeyAuthority", "ONE_MULTIPLICATION", "PRESETS", "error_bound", "load_tenseal",
    "make_channel_keys", "make_parties", "max_abs_error", "quiet_stdout",
]
