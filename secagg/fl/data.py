"""The Wisconsin diagnostic breast cancer data set, split across hospitals.

scikit-learn ships the data (569 cases, 30 features, 212 malignant and 357
benign), so nothing is downloaded. Labels follow scikit-learn: 0 malignant,
1 benign.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from secagg._validation import check_choice, check_int
from secagg.fl._optional import require

SPLITS = ("iid", "label-skew")
MIN_CASES_PER_HOSPITAL = 8
"""Minimum number of training cases per hospital, so that local training has a batch to run."""
DEFAULT_SKEW_ALPHA = 0.5
DEFAULT_TEST_FRACTION = 0.2
_SKEW_ATTEMPTS = 100


@dataclass(frozen=True)
class Partition:
    """The training cases of each hospital and the held-out test cases, standardized."""

    hospitals: list[tuple[np.ndarray, np.ndarray]]
    """One ``(features, labels)`` pair per hospital: float32 (cases, 30) and float32 (cases,)."""
    test: tuple[np.ndarray, np.ndarray]

    @property
    def cases(self) -> list[int]:
        """Number of training cases of each hospital."""
        return [len(labels) for _, labels in self.hospitals]


def load_partition(hospitals: int, split: str = "iid", seed: int = 0, *,
                   test_fraction: float = DEFAULT_TEST_FRACTION,
                   skew_alpha: float = DEFAULT_SKEW_ALPHA) -> Partition:
    """Load the data, hold out a stratified test split, and deal the rest to ``hospitals``.

    ``split="iid"`` deals a random permutation in near-equal parts.
    ``"label-skew"`` draws each hospital's share of each class from a
    Dirichlet(``skew_alpha``) distribution, a common label-skew benchmark, so
    small alphas give hospitals that see mostly one class. Features are standardized with the mean and standard deviation of
    the training cases only.

    NOTE: those statistics are pooled over all hospitals' training cases; a
    real federation would compute them with one secure sum per feature.
    """
    split = check_choice("split", split, SPLITS)
    seed = check_int("seed", seed, minimum=0)
    if not 0.0 < test_fraction < 1.0:
        raise ValueError(f"test_fraction must be in (0, 1), got {test_fraction}")
    if not skew_alpha > 0.0:
        raise ValueError(f"skew_alpha must be > 0, got {skew_alpha}")
    datasets = require("sklearn.datasets", "scikit-learn")
    model_selection = require("sklearn.model_selection", "scikit-learn")

    features, labels = datasets.load_breast_cancer(return_X_y=True)
    train_x, test_x, train_y, test_y = model_selection.train_test_split(
        features, labels, test_size=test_fraction, stratify=labels, random_state=seed)
    max_hospitals = len(train_y) // MIN_CASES_PER_HOSPITAL
    hospitals = check_int("hospitals", hospitals, minimum=2, maximum=max_hospitals,
                          hint=f"each hospital needs at least {MIN_CASES_PER_HOSPITAL} of the "
                               f"{len(train_y)} training cases")

    mean = train_x.mean(axis=0)
    std = train_x.std(axis=0)
    train_x = ((train_x - mean) / std).astype(np.float32)
    test_x = ((test_x - mean) / std).astype(np.float32)

    generator = np.random.default_rng(seed)
    if split == "iid":
        parts = np.array_split(generator.permutation(len(train_y)), hospitals)
    else:
        parts = _label_skew(train_y, hospitals, skew_alpha, generator)
    return Partition([(train_x[part], train_y[part].astype(np.float32)) for part in parts],
                     (test_x, test_y.astype(np.float32)))


def _label_skew(labels: np.ndarray, hospitals: int, alpha: float,
                generator: np.random.Generator) -> list[np.ndarray]:
    """Deal each class to hospitals in Dirichlet(alpha) proportions; redraw until each has enough cases."""
    for _ in range(_SKEW_ATTEMPTS):
        parts: list[list[int]] = [[] for _ in range(hospitals)]
        for label in np.unique(labels):
            members = generator.permutation(np.flatnonzero(labels == label))
            shares = generator.dirichlet(np.full(hospitals, alpha))
            cuts = (np.cumsum(shares)[:-1] * len(members)).astype(int)
            for hospital, chunk in enumerate(np.split(members, cuts)):
                parts[hospital].extend(chunk.tolist())
        if min(len(part) for part in parts) >= MIN_CASES_PER_HOSPITAL:
            return [np.array(sorted(part)) for part in parts]
    raise ValueError(f"no label-skewed split gave each of {hospitals} hospitals at least "
                     f"{MIN_CASES_PER_HOSPITAL} cases in {_SKEW_ATTEMPTS} draws; use fewer "
                     "hospitals, the iid split, or a larger skew_alpha")
