"""Parameter checks: 128-bit security, multiplicative depth, modulus headroom; no TenSEAL needed."""

import subprocess
import sys

import numpy as np
import pytest

from secagg.he import ADD_ONLY, ONE_MULTIPLICATION, PRESETS, CkksConfig, CkksParameters
from secagg.he.params import MAX_COEFF_MODULUS_BITS_128


def test_presets_are_within_128_bit_table():
    for name, parameters in PRESETS.items():
        limit = MAX_COEFF_MODULUS_BITS_128[parameters.poly_modulus_degree]
        assert sum(parameters.coeff_mod_bit_sizes) <= limit, name


def test_add_only_preset_values():
    assert ADD_ONLY.poly_modulus_degree == 8192
    assert ADD_ONLY.coeff_mod_bit_sizes == (60, 40)
    assert ADD_ONLY.scale == 2.0**40
    assert ADD_ONLY.depth == 0
    assert ONE_MULTIPLICATION.depth == 1


def test_table_matches_security_standard():
    assert MAX_COEFF_MODULUS_BITS_128 == {1024: 27, 2048: 54, 4096: 109, 8192: 218,
                                          16384: 438, 32768: 881}


@pytest.mark.parametrize("degree, sizes, match", [
    (8192, (60, 60, 60, 40), r"total 220 bits, more than the 218 bits that give 128-bit security"),
    (4096, (60, 50), r"total 110 bits, more than the 109 bits"),
    (1024, (20, 20), r"total 40 bits, more than the 27 bits"),
    (3000, (60, 40), r"poly_modulus_degree must be one of \[1024, 2048"),
    (8192, (60,), r"at least 2 primes"),
    (8192, (61, 40), r"coeff_mod_bit_sizes\[0\] must be between 16 and 60, got 61"),
    (8192, (60, 10), r"coeff_mod_bit_sizes\[1\] must be between 16 and 60, got 10"),
    (8192, (60, 16), r"needs 1 prime\(s\) of 16 bits that are 1 mod 16384 \(2 \* poly_modulus_degree\), but only 0 exist"),
])
def test_insecure_or_invalid_parameters_rejected(degree, sizes, match):
    with pytest.raises(ValueError, match=match):
        CkksParameters(degree, sizes, 40)


def test_largest_secure_modulus_accepted():
    parameters = CkksParameters(8192, (60, 39, 59, 60), 39)

    assert sum(parameters.coeff_mod_bit_sizes) == 218


def test_weights_exceed_depth():
    with pytest.raises(ValueError, match=r"needs 1 plaintext multiplication\(s\) \(weights\), but "
                                         r"coeff_mod_bit_sizes \[60, 40\] give multiplicative depth 0; "
                                         r"use the 'one-multiplication' preset"):
        CkksConfig.create(3, 10, parameters=ADD_ONLY, weights=[1, 2, 3])


def test_weights_fit_one_multiplication():
    config = CkksConfig.create(3, 10, parameters=ONE_MULTIPLICATION, weights=[1, 2, 3])

    assert config.multiplications == 1


def test_headroom_exceeded_names_parameters():
    # 2**18 = 262144 is the add-only headroom; 1000 clients at clip 300 reach 300000.
    with pytest.raises(ValueError, match=r"the sum of 1000 inputs at clip 300.0 can reach 300000, but "
                                         r"coeff_mod_bit_sizes \[60, 40\] with scale_bits = 40 decode "
                                         r"magnitudes below 2\*\*18 = 262144; lower clip"):
        CkksConfig.create(1000, 10, clip=300.0)


def test_headroom_just_fits():
    config = CkksConfig.create(1000, 10, clip=260.0)

    assert config.clients * config.clip < 2**18


def test_weighted_headroom_counts_weights():
    # One multiplication leaves 2**17 = 131072; weights sum to 1500 at clip 100.
    with pytest.raises(ValueError, match=r"the weighted sum of 3 inputs at clip 100.0 can reach 150000"):
        CkksConfig.create(3, 10, parameters=ONE_MULTIPLICATION, clip=100.0, weights=[500, 500, 500])


def test_scale_too_large_for_modulus():
    parameters = CkksParameters(8192, (40, 40), 39)

    with pytest.raises(ValueError, match=r"scale_bits = 39 leaves no room below the data primes"):
        CkksConfig.create(3, 10, parameters=parameters, clip=1e-6)


@pytest.mark.parametrize("kwargs, error, match", [
    ({"weights": [1, 2]}, ValueError, r"weights must have one entry per client \(3\), got 2"),
    ({"weights": [1, 0, 2]}, ValueError, r"weights\[1\] must be a finite number > 0, got 0.0"),
    ({"weights": [1, float("nan"), 2]}, ValueError, r"weights\[1\] must be a finite number > 0"),
    ({"weights": [1, "2", 3]}, TypeError, r"weights\[1\] must be a number, got str"),
    ({"key_holder": 3}, ValueError, r"key_holder must be between 0 and 2, got 3; pass 'authority'"),
    ({"key_holder": "server"}, ValueError, r"key_holder must be a client id or 'authority'"),
    ({"min_clients": 4}, ValueError, r"min_clients must be between 1 and 3, got 4"),
    ({"clip": 0.0}, ValueError, r"clip must be a finite number > 0, got 0.0"),
    ({"parameters": (8192, (60, 40), 40)}, TypeError, r"parameters must be a CkksParameters"),
])
def test_config_argument_errors(kwargs, error, match):
    if "weights" in kwargs:
        kwargs["parameters"] = ONE_MULTIPLICATION
    with pytest.raises(error, match=match):
        CkksConfig.create(3, 10, **kwargs)


def test_authority_gets_next_party_id():
    config = CkksConfig.create(4, 10, key_holder="authority")

    assert config.key_holder == 4
    assert config.authority


def test_digest_binds_weights():
    config = CkksConfig.create(3, 10, parameters=ONE_MULTIPLICATION, weights=[1, 2, 3],
                               aggregation_id=bytes(32))
    other = CkksConfig.create(3, 10, parameters=ONE_MULTIPLICATION, weights=[1, 2, 4],
                              aggregation_id=bytes(32))

    assert config.digest() != other.digest()


def test_ciphertexts_per_client_is_ceil_of_slots():
    assert ADD_ONLY.ciphertexts_for(51_200) == 13
    assert ADD_ONLY.ciphertexts_for(4096) == 1
    assert ADD_ONLY.ciphertexts_for(4097) == 2


def test_missing_tenseal_one_line_import_error():
    script = (
        "import sys; sys.modules['tenseal'] = None\n"
        "import numpy as np\n"
        "from secagg.he import CkksConfig, make_parties\n"
        "config = CkksConfig.create(3, 4)\n"
        "try:\n"
        "    make_parties(config, np.zeros((3, 4)))\n"
        "except ImportError as error:\n"
        "    print(error)\n")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)

    lines = result.stdout.strip().splitlines()
    assert len(lines) == 1
    assert 'pip install -e ".[all]"' in lines[0]


def test_core_package_imports_without_tenseal():
    script = ("import sys; sys.modules['tenseal'] = None\n"
              "import secagg, secagg.simulation, secagg.cli.main, secagg.he\n"
              "print('tenseal' in sys.modules and sys.modules['tenseal'] is not None)\n")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)

    assert result.stdout.strip() == "False"


def test_error_bound_grows_with_clients():
    small = CkksConfig.create(10, 100).error_bound(list(range(10)))
    large = CkksConfig.create(100, 100).error_bound(list(range(100)))

    assert 0 < small < large
    assert large == pytest.approx(small * np.sqrt(10), rel=0.05)
