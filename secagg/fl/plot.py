"""PNG plot of a FedAvg run: test accuracy and protocol bytes per round."""

from __future__ import annotations

from pathlib import Path

from secagg.fl._optional import require
from secagg.fl.fedavg import FedAvgResult


def plot_fedavg(result: FedAvgResult, path: str | Path) -> Path:
    """Write a two-panel PNG of ``result`` to ``path`` and return the path.

    The top panel shows the test accuracy of the secure and the plaintext
    models. The bottom panel shows the kilobytes each round's protocol sent,
    with aborted rounds in red. Raises ImportError naming the extras when
    matplotlib is missing.
    """
    # Figure without pyplot renders to a file and leaves the caller's backend alone.
    figure_module = require("matplotlib.figure", "matplotlib")
    ticker = require("matplotlib.ticker", "matplotlib")
    patches = require("matplotlib.patches", "matplotlib")

    config = result.config
    rounds = [record.round for record in result.records]
    aborted = [record.round for record in result.records if record.aborted]
    figure = figure_module.Figure(figsize=(7, 6), layout="constrained")
    top, bottom = figure.subplots(2, 1, sharex=True)

    top.plot(rounds, [100 * r.accuracy for r in result.records], marker="o", markersize=3,
             label=config.protocol)
    top.plot(rounds, [100 * r.plaintext_accuracy for r in result.records], linestyle="--",
             label="plaintext FedAvg (float64)")
    if aborted:
        top.plot(aborted, [100 * result.records[r - 1].accuracy for r in aborted], "rx",
                 label="protocol aborted, model kept")
    top.set_ylabel("test accuracy (%)")
    top.grid(alpha=0.3)
    top.legend(loc="lower right")
    top.set_title(f"FedAvg, {config.hospitals} hospitals ({config.split}), "
                  f"dropout rate {config.dropout_rate:g}, seed {config.seed}")

    colors = ["tab:red" if record.aborted else "tab:blue" for record in result.records]
    bottom.bar(rounds, [record.bytes / 1000 for record in result.records], color=colors)
    bottom.set_ylabel(f"{config.protocol} kB sent")
    bottom.set_xlabel("round")
    bottom.xaxis.set_major_locator(ticker.MaxNLocator(integer=True))
    if aborted:
        bottom.legend(handles=[patches.Patch(color="tab:red", label="aborted round")],
                      loc="lower right")
    bottom.grid(axis="y", alpha=0.3)

    path = Path(path)
    figure.savefig(path, dpi=120)
    return path
