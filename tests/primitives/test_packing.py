import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from secagg.primitives import packing
from secagg.primitives.vectors import load


def reference_pack(values, width):
    total = sum(int(v) << (i * width) for i, v in enumerate(values))
    return total.to_bytes((len(values) * width + 7) // 8, "little")


@st.composite
def width_and_values(draw):
    width = draw(st.integers(1, 62))
    values = draw(st.lists(st.integers(0, 2**width - 1), max_size=70))
    return width, values


@given(width_and_values())
def test_pack_round_trip_every_width(case):
    width, values = case
    array = np.array(values, dtype=np.uint64)
    packed = packing.pack(array, width)
    assert len(packed) == packing.packed_size(len(values), width)
    assert packed == reference_pack(values, width)
    assert packing.unpack(packed, width, len(values)).tolist() == values


@pytest.mark.parametrize("width", range(1, 63))
def test_pack_kernel_matches_python_path(width):
    rng = np.random.default_rng(width)
    values = rng.integers(0, 2**width, size=101, dtype=np.uint64)
    words = np.zeros(packing.packed_size(101, width) // 8 + 2, dtype="<u8")
    words_py = words.copy()
    packing._pack_kernel(values, width, words)
    packing._pack_kernel.py_func(values, width, words_py)
    assert np.array_equal(words, words_py)
    out, out_py = np.empty(101, np.uint64), np.empty(101, np.uint64)
    packing._unpack_kernel(words, width, out)
    packing._unpack_kernel.py_func(words, width, out_py)
    assert np.array_equal(out, values)
    assert np.array_equal(out_py, values)


def test_pack_known_answers():
    for case in load("packing_v1")["cases"]:
        values = np.array(case["values"], dtype=np.uint64)
        assert packing.pack(values, case["width"]).hex() == case["packed"]


def test_pack_small_example_by_hand():
    # 1 = 001, 2 = 010, 3 = 011 least significant bit first: byte 0 = 0b11_010_001.
    assert packing.pack(np.array([1, 2, 3], dtype=np.uint64), 3) == bytes([0b11010001, 0])


def test_pack_rejects_value_too_wide():
    with pytest.raises(ValueError, match=r"values\[1\] = 8 does not fit in 3 bits"):
        packing.pack(np.array([1, 8], dtype=np.uint64), 3)


def test_pack_rejects_negative_value():
    with pytest.raises(ValueError, match=r"values\[0\] = -1"):
        packing.pack(np.array([-1, 2]), 3)


def test_pack_rejects_bad_width():
    with pytest.raises(ValueError, match="width must be between 1 and 62, got 63"):
        packing.pack(np.zeros(3, dtype=np.uint64), 63)


def test_unpack_rejects_wrong_length():
    with pytest.raises(ValueError, match="must be 2 bytes for 3 elements of 5 bits, got 3"):
        packing.unpack(bytes(3), 5, 3)


def test_unpack_rejects_nonzero_padding():
    with pytest.raises(ValueError, match="padding bits"):
        packing.unpack(bytes([0, 0x80]), 5, 3)


def test_bit_width():
    assert packing.bit_width(2) == 1
    assert packing.bit_width(3) == 2
    assert packing.bit_width(2**32) == 32
    assert packing.bit_width(2**32 + 1) == 33
    with pytest.raises(ValueError, match="modulus must be between 2 and"):
        packing.bit_width(1)
