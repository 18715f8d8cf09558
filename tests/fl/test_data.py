import numpy as np
import pytest

from secagg.fl.data import MIN_CASES_PER_HOSPITAL, load_partition


@pytest.mark.parametrize("split", ["iid", "label-skew"])
def test_partition_covers_every_case_once(split):
    partition = load_partition(5, split, seed=0)

    train_x = np.concatenate([x for x, _ in partition.hospitals])
    test_x, test_y = partition.test
    assert len(partition.hospitals) == 5
    assert sum(partition.cases) == 455
    assert len(test_y) == 114
    assert min(partition.cases) >= MIN_CASES_PER_HOSPITAL
    assert train_x.shape[1] == 30
    assert train_x.dtype == np.float32
    all_rows = np.concatenate([train_x, test_x])
    assert len(np.unique(all_rows, axis=0)) == 569


def test_standardized_with_training_statistics():
    partition = load_partition(4, "iid", seed=1)

    train_x = np.concatenate([x for x, _ in partition.hospitals])
    np.testing.assert_allclose(train_x.mean(axis=0), 0.0, atol=1e-5)
    np.testing.assert_allclose(train_x.std(axis=0), 1.0, atol=1e-4)
    assert np.abs(partition.test[0].mean(axis=0)).max() > 1e-3


def test_label_skew_differs_from_iid():
    iid = load_partition(5, "iid", seed=2)
    skew = load_partition(5, "label-skew", seed=2)

    iid_shares = [labels.mean() for _, labels in iid.hospitals]
    skew_shares = [labels.mean() for _, labels in skew.hospitals]
    assert np.ptp(iid_shares) < 0.2
    assert np.ptp(skew_shares) > 0.4


def test_same_seed_same_partition():
    first = load_partition(6, "label-skew", seed=3)
    second = load_partition(6, "label-skew", seed=3)

    assert first.cases == second.cases
    for (x1, y1), (x2, y2) in zip(first.hospitals, second.hospitals):
        np.testing.assert_array_equal(x1, x2)
        np.testing.assert_array_equal(y1, y2)


@pytest.mark.parametrize("kwargs, error, message", [
    ({"hospitals": 1}, ValueError, "hospitals must be between 2 and 56, got 1"),
    ({"hospitals": 57}, ValueError, "hospitals must be between 2 and 56, got 57; each hospital needs"),
    ({"hospitals": 40, "split": "label-skew"}, ValueError, "no label-skewed split gave each of 40"),
    ({"hospitals": 5, "split": "random"}, ValueError, "split must be one of 'iid', 'label-skew'"),
    ({"hospitals": 5, "seed": -1}, ValueError, "seed must be >= 0"),
    ({"hospitals": 5, "test_fraction": 1.0}, ValueError, r"test_fraction must be in \(0, 1\)"),
    ({"hospitals": 5, "skew_alpha": 0.0}, ValueError, "skew_alpha must be > 0"),
])
def test_invalid_arguments_rejected(kwargs, error, message):
    with pytest.raises(error, match=message):
        load_partition(**kwargs)
