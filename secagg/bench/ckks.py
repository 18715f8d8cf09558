"""CKKS aggregation per 100,000 parameters: the package against raw TenSEAL calls, and beside SecAgg+.

Parameters are the add-only preset (N = 8192, [60, 40] bits, scale 2**40),
so 100,000 values take 25 ciphertexts. Each package step is compared with
the TenSEAL calls it wraps:

- encrypt: a client's whole upload step (open the sealed secret context,
  load it, clip, encrypt, build CKKS_CIPHERTEXT) against ``context_from``,
  ``ckks_vector`` and ``serialize``;
- add: the server's ``receive`` of one upload (header check, layout check,
  load of the whole message, add) against ``ckks_vector_from`` and an
  in-place add, both over ``clients - 2`` uploads in a row;
- decrypt: the key holder's decryption step (UNMASKING_REQUEST in,
  UNMASKING_RESPONSE out) against ``ckks_vector_from`` and ``decrypt``.

Used by ``secagg bench`` and by ``benchmarks/test_ckks_bench.py``. Needs
TenSEAL (the ``he`` extra): importing this module imports it.
"""

from __future__ import annotations

import time
from typing import Any, Callable

import numpy as np

from secagg.he import ADD_ONLY, CkksClient, CkksConfig, CkksServer, backend, make_channel_keys
from secagg.he import messages
from secagg.he.key_holder import KeyHolderRole
from secagg.simulation import RunSpec, run

DIM = 100_000
CLIENTS = 10
MAX_OVERHEAD = 1.10
"""The package's time over raw TenSEAL's that the benchmarks accept."""
REPEATS = 7


class CkksSetup:
    """One key distribution and the messages of a round, reused by every measurement.

    Client 1 encrypts for real; the other uploads carry the same TenSEAL
    bytes under their own sender ids, which the server cannot tell apart.
    """

    def __init__(self, clients: int = CLIENTS, dim: int = DIM):
        ts = backend.load_tenseal()
        self.clients, self.dim = clients, dim
        self.adds = clients - 2
        """Uploads added per timed add run: clients 2 .. clients - 1, after client 1 started the sum."""
        self.inputs = np.random.default_rng(0).uniform(-1, 1, (clients, dim))
        self.config = CkksConfig.create(clients, dim, parameters=ADD_ONLY)
        self.digest = self.config.digest()
        self.keys, self.directory = make_channel_keys(self.config)
        self.holder = KeyHolderRole(self.config, 0, self.keys[0], self.directory)
        self.distribution = self.holder.distribute()
        self.secret = backend.serialize_secret_context(self.holder.context)
        self.server_context = ts.context_from(backend.serialize_server_context(self.holder.context))

        self.opening = self._openings()
        upload = self.client(1).handle(self.opening[1])
        self.vector = messages.parse_ciphertext(upload, self.digest, 1)
        self.uploads = {c: messages.ciphertext(self.digest, c, self.vector) for c in range(1, clients)}
        # Separate copies, so that raw TenSEAL reads as much cold memory as the server does.
        self.raw_vectors = [bytes(bytearray(self.vector)) for _ in range(self.adds)]
        server = self.round_two_server()
        for client, message in self.uploads.items():
            server.receive(client, message)
        self.request = server.close_round()[0]
        self.total = messages.parse_decryption_request(self.request, self.digest, clients)[1]

    def _openings(self) -> dict[int, bytes]:
        server = CkksServer(self.config)
        server.receive(0, self.distribution)
        return server.close_round()

    def client(self, client_id: int) -> CkksClient:
        party = CkksClient(self.config, client_id, self.inputs[client_id],
                           channel_keys=self.keys[client_id], directory=self.directory)
        party.start()  # None: only the key holder sends in round 0
        return party

    def round_two_server(self) -> CkksServer:
        server = CkksServer(self.config)
        server.receive(0, self.distribution)
        server.close_round()
        return server

    def server_with_first_upload(self) -> CkksServer:
        server = self.round_two_server()
        server.receive(1, self.uploads[1])
        return server


def package_encrypt(party: CkksClient, setup: CkksSetup) -> bytes:
    return party.handle(setup.opening[party.client_id])


def raw_encrypt(setup: CkksSetup) -> bytes:
    ts = backend.load_tenseal()
    context = ts.context_from(setup.secret)
    return ts.ckks_vector(context, setup.inputs[1]).serialize()


def package_adds(server: CkksServer, setup: CkksSetup) -> None:
    for client in range(2, setup.clients):
        server.receive(client, setup.uploads[client])


def raw_adds(total, setup: CkksSetup) -> None:
    ts = backend.load_tenseal()
    for vector in setup.raw_vectors:
        total.add_(ts.ckks_vector_from(setup.server_context, vector))


def package_decrypt(setup: CkksSetup) -> bytes:
    return setup.holder.decrypt(setup.request)


def raw_decrypt(setup: CkksSetup) -> np.ndarray:
    ts = backend.load_tenseal()
    return np.asarray(ts.ckks_vector_from(setup.holder.context, setup.total).decrypt())


def raw_total(setup: CkksSetup):
    return backend.load_tenseal().ckks_vector_from(setup.server_context, setup.vector)


def best_of_interleaved(package: Callable, package_argument: Callable, raw: Callable,
                        raw_argument: Callable, repeats: int = REPEATS) -> tuple[float, float]:
    """Return the best CPU seconds of ``package`` and of ``raw`` over ``repeats`` runs of each.

    CPU time of the process (TenSEAL's worker threads included) rather than
    wall time, so that other load on a shared machine distorts the ratio
    less. ``*_argument`` build the argument of each run, untimed, both
    before either side runs, so that both meet the same memory state. The
    side that runs first alternates.
    """
    best = {"package": float("inf"), "raw": float("inf")}
    for repeat in range(repeats):
        arguments = {"package": package_argument(), "raw": raw_argument()}
        order = ("package", "raw") if repeat % 2 == 0 else ("raw", "package")
        for side in order:
            function = package if side == "package" else raw
            with backend.quiet_stdout():
                began = time.process_time()
                function(arguments[side])
                best[side] = min(best[side], time.process_time() - began)
    return best["package"], best["raw"]


def measure_overheads(setup: CkksSetup) -> dict[str, dict[str, float]]:
    """Return the package's and raw TenSEAL's best CPU seconds per upload, and their ratio."""
    pairs = {
        "encrypt": best_of_interleaved(lambda party: package_encrypt(party, setup), lambda: setup.client(1),
                                       lambda _: raw_encrypt(setup), lambda: None),
        # Adds take milliseconds, so more repeats steady the best time at little cost.
        "add": best_of_interleaved(lambda server: package_adds(server, setup), setup.server_with_first_upload,
                                   lambda total: raw_adds(total, setup), lambda: raw_total(setup),
                                   repeats=3 * REPEATS),
        "decrypt": best_of_interleaved(lambda _: package_decrypt(setup), lambda: None,
                                       lambda _: raw_decrypt(setup), lambda: None),
    }
    per_upload = {"encrypt": 1, "add": setup.adds, "decrypt": 1}
    scale = DIM / setup.dim
    rows = {name: {"package_cpu_s_per_100k": package / per_upload[name] * scale,
                   "raw_cpu_s_per_100k": raw / per_upload[name] * scale, "ratio": package / raw}
            for name, (package, raw) in pairs.items()}
    package_total = sum(row["package_cpu_s_per_100k"] for row in rows.values())
    raw_total_s = sum(row["raw_cpu_s_per_100k"] for row in rows.values())
    rows["one_upload_end_to_end"] = {"package_cpu_s_per_100k": package_total,
                                     "raw_cpu_s_per_100k": raw_total_s, "ratio": package_total / raw_total_s}
    return rows


def side_by_side(setup: CkksSetup, protocol: str) -> dict[str, Any]:
    """Run one whole aggregation on the setup's float inputs; SecAgg+ encodes them at 16 bits, clip 1."""
    spec = RunSpec(protocol, setup.clients, setup.dim, 16, inputs=setup.inputs, clip=1.0, seed=1)
    outcome = run(spec)
    document = outcome.to_json_dict()
    return {
        "protocol": protocol, "correct": outcome.correct,
        "client_mean_s": document["seconds"]["client_mean"],
        "server_s": document["seconds"]["server"],
        "client_upload_bytes_per_parameter": document["bytes"]["client_upload_mean"] / setup.dim,
        "client_download_bytes_per_parameter": document["bytes"]["client_download_mean"] / setup.dim,
    }


def measure(clients: int = CLIENTS, dim: int = DIM) -> dict[str, Any]:
    """Return the overheads over raw TenSEAL and the CKKS and SecAgg+ runs side by side."""
    setup = CkksSetup(clients, dim)
    return {"clients": clients, "dim": dim, "parameters": "N = 8192, [60, 40] bits, scale 2**40",
            "upload_bytes_per_parameter": len(setup.uploads[1]) / dim,
            "raw_bytes_per_parameter": len(setup.vector) / dim,
            "overheads": measure_overheads(setup),
            "runs": [side_by_side(setup, protocol) for protocol in ("ckks", "secagg+")]}
