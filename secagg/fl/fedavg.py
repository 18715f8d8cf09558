"""Federated averaging on the breast cancer data, aggregated with a chosen protocol.

Each round follows FedAvg (McMahan et al., *Communication-Efficient Learning
of Deep Networks from Decentralized Data*, AISTATS 2017):

1. Each hospital drops out of the round with probability ``dropout_rate``,
   drawn from the seed. A dropped hospital stops before it uploads its
   masked input, so SecAgg and SecAgg+ must recover its masks.
2. Every hospital trains the global model locally with SGD and computes its
   update, the difference between its local and the global parameters.
3. The protocol aggregates the updates, weighted by each hospital's number of
   training cases, over the simulated network. The mean is taken over the
   included hospitals only. An aborted round keeps the global model.

A plaintext baseline runs beside the secure model. It trains with the same
batches and aggregates its own updates exactly in float64 over the same
included hospitals, keeping its model in the rounds the protocol aborted,
so the two models differ only by the protocol's quantization error.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Callable

import numpy as np

from secagg._validation import check_choice, check_int, check_positive_float
from secagg.fl._optional import require
from secagg.fl.api import aggregate, flatten_clients
from secagg.fl.data import SPLITS, Partition, load_partition
from secagg.fl.layout import restore_update
from secagg.fl.quantization import DEFAULT_BITS, QuantizationSettings
from secagg.simulation import DEFAULT_DROPOUT_FRACTION, PROTOCOLS

DEFAULT_CLIP = 2.0
"""Clipping bound on each update element. The updates of the default run stay
far below it; clipped elements, if any, are counted in the report."""

_DROPOUT_STREAM, _TRAINING_STREAM, _PROTOCOL_STREAM = 1, 2, 3


@dataclass(frozen=True)
class FedAvgConfig:
    """Parameters of one federated training run."""

    protocol: str = "secagg+"
    hospitals: int = 5
    rounds: int = 20
    dropout_rate: float = 0.1
    """Probability that each hospital drops out of each round."""
    split: str = "iid"
    seed: int = 0
    clip: float = DEFAULT_CLIP
    bits: int = DEFAULT_BITS
    local_epochs: int = 2
    batch_size: int = 16
    learning_rate: float = 0.05
    hidden_units: int = 16
    """Width of the hidden layer of the 30-H-1 perceptron."""
    deterministic: bool = False
    """Draw the protocol's keys from the seed: reproducible aborts, and insecure."""

    def __post_init__(self) -> None:
        check_choice("protocol", self.protocol, PROTOCOLS)
        check_choice("split", self.split, SPLITS)
        check_int("hospitals", self.hospitals, minimum=2)
        check_int("rounds", self.rounds, minimum=1)
        check_int("seed", self.seed, minimum=0)
        check_int("local_epochs", self.local_epochs, minimum=1)
        check_int("batch_size", self.batch_size, minimum=1)
        check_int("hidden_units", self.hidden_units, minimum=1)
        check_positive_float("learning_rate", self.learning_rate)
        rate = self.dropout_rate
        if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0.0 <= rate < 1.0:
            raise ValueError(f"dropout_rate must be a number in [0, 1), got {rate!r}")
        QuantizationSettings(self.clip, self.bits)

    @property
    def quantization(self) -> QuantizationSettings:
        """The fixed-point settings every round uses."""
        return QuantizationSettings(self.clip, self.bits)


@dataclass
class RoundRecord:
    """Measurements of one training round: accuracies, included hospitals, bytes and seconds."""

    round: int
    """Round number, from 1."""
    accuracy: float
    """Test accuracy of the global model after the round, in [0, 1]."""
    plaintext_accuracy: float
    included: list[int]
    dropped: list[int]
    aborted: bool
    abort_reason: str | None
    bytes: int
    seconds: float
    """Measured critical path of the protocol (see AggregateOutcome.seconds_total)."""
    clipped: int
    """Update elements beyond the clipping bound, over all hospitals."""


@dataclass
class FedAvgResult:
    """The records of every round and the totals of one run."""

    config: FedAvgConfig
    cases: list[int]
    """Training cases per hospital."""
    test_cases: int
    parameters: int
    """Number of trained model parameters."""
    records: list[RoundRecord] = field(default_factory=list)
    wall_s: float = 0.0
    """Wall-clock seconds of the whole run, data loading and baseline included."""

    @property
    def final_accuracy(self) -> float:
        """Test accuracy of the secure model after the last round."""
        return self.records[-1].accuracy

    @property
    def plaintext_accuracy(self) -> float:
        """Test accuracy of the baseline model after the last round."""
        return self.records[-1].plaintext_accuracy

    @property
    def rounds_aborted(self) -> int:
        """Number of rounds in which the protocol aborted."""
        return sum(record.aborted for record in self.records)

    @property
    def bytes_total(self) -> int:
        """Protocol bytes over all rounds."""
        return sum(record.bytes for record in self.records)

    def to_json_dict(self) -> dict[str, Any]:
        """Return the run as plain values for ``json.dumps``."""
        config = self.config
        return {
            "protocol": config.protocol, "hospitals": config.hospitals, "rounds": config.rounds,
            "split": config.split, "dropout_rate": config.dropout_rate, "seed": config.seed,
            "deterministic": config.deterministic,
            "final_accuracy": self.final_accuracy, "plaintext_accuracy": self.plaintext_accuracy,
            "accuracy_gap_pp": 100.0 * (self.final_accuracy - self.plaintext_accuracy),
            "rounds_aborted": self.rounds_aborted, "bytes_total": self.bytes_total,
            "protocol_seconds_total": sum(record.seconds for record in self.records),
            "wall_s": self.wall_s,
            "values_clipped": sum(record.clipped for record in self.records),
            "quantization": {"clip": config.clip, "bits": config.bits,
                             "step": config.quantization.step},
            "model": {"layers": [30, config.hidden_units, 1], "parameters": self.parameters,
                      "local_epochs": config.local_epochs, "batch_size": config.batch_size,
                      "learning_rate": config.learning_rate},
            "cases": {"train": list(self.cases), "test": self.test_cases},
            "per_round": [asdict(record) for record in self.records],
        }


def run_fedavg(config: FedAvgConfig,
               progress: Callable[[RoundRecord], None] | None = None) -> FedAvgResult:
    """Train for ``config.rounds`` rounds; call ``progress`` after each round; return the records.

    Raises ImportError naming the extras when torch or scikit-learn is missing.
    """
    started = time.perf_counter()
    torch = require("torch", "torch")
    # One intra-op thread: the batches are 16 x 30, too small to split, and on a
    # busy 2-core machine two threads made a 5-round run 8 times slower (4.0 s vs 0.5 s).
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        result = _train(torch, config, progress)
    finally:
        torch.set_num_threads(threads)
    result.wall_s = time.perf_counter() - started
    return result


def _train(torch, config: FedAvgConfig,
           progress: Callable[[RoundRecord], None] | None) -> FedAvgResult:
    partition = load_partition(config.hospitals, config.split, config.seed)
    test_x, test_y = (torch.from_numpy(array) for array in partition.test)

    model = _build_model(torch, config)
    secure_global = {name: value.detach().clone() for name, value in model.state_dict().items()}
    plain_global = {name: value.clone() for name, value in secure_global.items()}
    parameters = sum(value.numel() for value in secure_global.values())
    result = FedAvgResult(config, partition.cases, len(test_y), parameters)

    for round_number in range(1, config.rounds + 1):
        dropped = _draw_dropouts(config, round_number)
        secure_updates = _local_updates(torch, model, secure_global, partition, config, round_number)
        outcome = aggregate(
            secure_updates, config.quantization, protocol=config.protocol,
            weights=partition.cases, reduction="mean", drop_clients=dropped,
            seed=_derive_seed(config.seed, _PROTOCOL_STREAM, round_number),
            deterministic=config.deterministic,
            dropout_fraction=max(DEFAULT_DROPOUT_FRACTION, config.dropout_rate))
        if not outcome.aborted:
            _add(secure_global, outcome.aggregate)

        plain_updates = _local_updates(torch, model, plain_global, partition, config, round_number)
        if outcome.included:
            _add(plain_global, _exact_mean(plain_updates, partition.cases, outcome.included))

        record = RoundRecord(
            round=round_number,
            accuracy=_accuracy(torch, model, secure_global, test_x, test_y),
            plaintext_accuracy=_accuracy(torch, model, plain_global, test_x, test_y),
            included=outcome.included, dropped=dropped, aborted=outcome.aborted,
            abort_reason=outcome.abort_reason, bytes=outcome.bytes_total,
            seconds=outcome.seconds_total, clipped=outcome.clipped_total)
        result.records.append(record)
        if progress is not None:
            progress(record)
    return result


def _derive_seed(*parts: int) -> int:
    """Return a 32-bit seed from ``parts``, independent for every distinct tuple."""
    return int(np.random.SeedSequence(list(parts)).generate_state(1)[0])


def _draw_dropouts(config: FedAvgConfig, round_number: int) -> list[int]:
    generator = np.random.default_rng([config.seed, _DROPOUT_STREAM, round_number])
    return np.flatnonzero(generator.random(config.hospitals) < config.dropout_rate).tolist()


def _build_model(torch, config: FedAvgConfig):
    """Return a 30-H-1 perceptron with PyTorch's default initialization, drawn from the seed."""
    generator = torch.Generator().manual_seed(_derive_seed(config.seed, _TRAINING_STREAM, 0))
    model = torch.nn.Sequential(torch.nn.Linear(30, config.hidden_units), torch.nn.ReLU(),
                                torch.nn.Linear(config.hidden_units, 1))
    with torch.no_grad():
        for layer in (model[0], model[2]):
            bound = 1.0 / math.sqrt(layer.in_features)
            layer.weight.uniform_(-bound, bound, generator=generator)
            layer.bias.uniform_(-bound, bound, generator=generator)
    return model


def _local_updates(torch, model, global_state: dict, partition: Partition,
                   config: FedAvgConfig, round_number: int) -> list[dict]:
    """Train a copy of the global model at each hospital; return each hospital's parameter change.

    Plain SGD steps are written out: creating a torch.optim optimizer imports
    torch._dynamo, which took 2 s of a 9 s profiled run (torch 2.13, 2 cores).
    """
    loss_function = torch.nn.BCEWithLogitsLoss()
    updates = []
    for hospital, (features, labels) in enumerate(partition.hospitals):
        model.load_state_dict(global_state)
        generator = torch.Generator().manual_seed(
            _derive_seed(config.seed, _TRAINING_STREAM, round_number, hospital))
        x, y = torch.from_numpy(features), torch.from_numpy(labels)
        for _ in range(config.local_epochs):
            order = torch.randperm(len(y), generator=generator)
            for start in range(0, len(y), config.batch_size):
                batch = order[start:start + config.batch_size]
                model.zero_grad()
                loss_function(model(x[batch]).squeeze(-1), y[batch]).backward()
                with torch.no_grad():
                    for parameter in model.parameters():
                        parameter -= config.learning_rate * parameter.grad
        updates.append({name: value.detach() - global_state[name]
                        for name, value in model.state_dict().items()})
    return updates


def _exact_mean(updates: list[dict], weights: list[int], included: list[int]) -> dict:
    """Return the float64 weighted mean of the included updates, cast back to their dtypes."""
    vectors, layout = flatten_clients(updates)
    chosen = np.array(included)
    weight = np.asarray(weights, dtype=np.float64)[chosen]
    mean = (np.stack(vectors)[chosen] * weight[:, None]).sum(axis=0) / weight.sum()
    return restore_update(mean, layout)


def _add(state: dict, update: dict) -> None:
    for name, value in update.items():
        state[name] += value


def _accuracy(torch, model, state: dict, features, labels) -> float:
    model.load_state_dict(state)
    with torch.no_grad():
        predictions = (model(features).squeeze(-1) > 0).to(labels.dtype)
    return float((predictions == labels).to(torch.float64).mean())
