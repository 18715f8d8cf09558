"""TenSEAL's C++ chunking warning never reaches the package's output."""

import ctypes
import os

import numpy as np
import tenseal as ts

from secagg.he import ADD_ONLY, CkksConfig, backend, make_parties, quiet_stdout
from secagg.network.simulator import simulate

LONG = ADD_ONLY.slots + 1


def test_raw_tenseal_prints_warning(capfd):
    """Control: without the package, chunking prints to stdout, so the tests below can fail."""
    context = backend.create_context(ADD_ONLY)

    ts.ckks_vector(context, np.zeros(LONG))
    ctypes.CDLL(None).fflush(None)  # C stdio buffers the warning while fd 1 is a file

    assert "does not fit in a single ciphertext" in capfd.readouterr().out


def test_encrypt_load_and_add_print_nothing(capfd):
    context = backend.create_context(ADD_ONLY)

    data = backend.encrypt(context, np.zeros(LONG))
    vector = backend.load_vector(context, data, ADD_ONLY, LONG)
    vector.add_(backend.load_vector(context, data, ADD_ONLY, LONG))
    backend.decrypt(vector)
    ctypes.CDLL(None).fflush(None)

    captured = capfd.readouterr()
    assert captured.out == ""
    assert captured.err == ""


def test_whole_run_prints_nothing(capfd):
    config = CkksConfig.create(3, 2 * LONG)
    server, parties = make_parties(config, np.zeros((3, 2 * LONG)))

    result, _ = simulate(server, parties)
    ctypes.CDLL(None).fflush(None)

    assert not result.aborted
    captured = capfd.readouterr()
    assert captured.out == ""
    assert captured.err == ""


def test_quiet_stdout_keeps_output_around_block(capfd):
    print("before", flush=False)
    with quiet_stdout():
        os.write(1, b"hidden\n")
    print("after")

    assert capfd.readouterr().out == "before\nafter\n"
