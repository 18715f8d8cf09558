from collections import OrderedDict

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from secagg.fl.layout import UpdateKind, flatten_update, restore_update


def assert_same_tensor(restored, original):
    assert type(restored) is type(original)
    assert restored.shape == original.shape
    assert restored.dtype == original.dtype
    if isinstance(original, torch.Tensor):
        assert restored.device == original.device
        assert torch.equal(restored, original)
    else:
        np.testing.assert_array_equal(restored, original)


@given(hnp.arrays(dtype=st.sampled_from([np.float16, np.float32, np.float64]),
                  shape=hnp.array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=5),
                  elements={"allow_nan": False, "allow_infinity": False}))
def test_numpy_array_round_trip(array):
    vector, layout = flatten_update(array)

    assert vector.dtype == np.float64
    assert vector.shape == (array.size,)
    assert layout.kind is UpdateKind.ARRAY
    assert_same_tensor(restore_update(vector, layout), array)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float32, torch.float64])
def test_torch_tensor_round_trip(dtype):
    tensor = torch.arange(12, dtype=dtype).reshape(3, 4) / 4

    vector, layout = flatten_update(tensor)

    assert_same_tensor(restore_update(vector, layout), tensor)


def test_state_dict_round_trip_keeps_order_and_type():
    model = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.Tanh(), torch.nn.Linear(3, 1))
    state = model.state_dict()

    vector, layout = flatten_update(state)
    restored = restore_update(vector, layout)

    assert type(restored) is type(state)
    assert list(restored) == list(state)
    for name in state:
        assert_same_tensor(restored[name], state[name])
    assert vector.size == sum(p.numel() for p in model.parameters())


def test_mixed_mapping_and_sequences_round_trip():
    mapping = {"a": np.ones((2, 2), dtype=np.float32), "b": torch.zeros(3, dtype=torch.float64)}
    for update in (mapping, [mapping["a"], mapping["b"]], (mapping["a"], mapping["b"])):
        vector, layout = flatten_update(update)
        restored = restore_update(vector, layout)
        assert type(restored) is type(update)
        items = restored.values() if isinstance(update, dict) else restored
        originals = update.values() if isinstance(update, dict) else update
        for got, expected in zip(items, originals):
            assert_same_tensor(got, expected)


def test_layout_records_names_offsets_and_sizes():
    state = OrderedDict(w=np.zeros((2, 3)), b=np.zeros(3))

    _, layout = flatten_update(state)

    assert [t.name for t in layout.tensors] == ["w", "b"]
    assert [t.offset for t in layout.tensors] == [0, 6]
    assert layout.size == 9
    assert layout.tensor_at(7)[0].name == "b"
    assert layout.tensor_at(4) == (layout.tensors[0], (1, 1))
    with pytest.raises(IndexError, match="outside the flat vector of 9"):
        layout.tensor_at(9)


def test_restore_rejects_wrong_length():
    _, layout = flatten_update(np.zeros(4))

    with pytest.raises(ValueError, match=r"shape \(4,\) to match the layout, got \(5,\)"):
        restore_update(np.zeros(5), layout)


@pytest.mark.parametrize("update, message", [
    ({"count": np.arange(3)}, "tensor 'count' has dtype int64; only floating-point"),
    ({"steps": torch.tensor(3)}, "tensor 'steps' has dtype torch.int64"),
    ([np.array([True, False])], r"tensor '\[0\]' has dtype bool"),
    ({"c": np.ones(2, dtype=np.complex128)}, "has dtype complex128"),
    ([1.0, 2.0], r"tensor '\[0\]' must be a NumPy array or a torch tensor, got float"),
    ({"inner": {"w": np.ones(2)}}, "tensor 'inner' must be a NumPy array .* got dict"),
    ("weights", "must be a NumPy array, a torch tensor, a list or tuple"),
])
def test_flatten_rejects_unsupported_values(update, message):
    with pytest.raises(TypeError, match=message):
        flatten_update(update, client=3)
