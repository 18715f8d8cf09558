"""``secagg fedavg``: federated training on the breast cancer data with a chosen protocol."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from secagg.cli import errors
from secagg.fl.data import SPLITS
from secagg.fl.quantization import DEFAULT_BITS
from secagg.simulation import PROTOCOLS

DEFAULT_OUT = "fedavg-results"
_COLUMNS = f"{'round':>5}  {'accuracy':>8}  {'plaintext':>9}  {'bytes':>9}  {'seconds':>7}  {'included':>8}  note"


def add_parser(commands) -> None:
    parser = commands.add_parser(
        "fedavg", help="train a model with FedAvg across simulated hospitals, aggregating securely",
        description="Train a 30-16-1 perceptron on the Wisconsin diagnostic breast cancer data "
                    "(shipped with scikit-learn) split across hospitals, aggregating each round's "
                    "updates with the chosen protocol over the simulated network. Prints one table "
                    "row per round and writes a JSON report and a PNG plot to --out. A plaintext "
                    "FedAvg baseline with the same seed, data and dropouts runs alongside. Needs "
                    "the extras: pip install -e \".[all]\".")
    parser.add_argument("--protocol", choices=PROTOCOLS, default="secagg+",
                        help="aggregation protocol (default: secagg+)")
    parser.add_argument("--hospitals", type=int, default=5, metavar="H",
                        help="number of hospitals, the clients (default: 5)")
    parser.add_argument("--rounds", type=int, default=20, metavar="R",
                        help="number of training rounds (default: 20)")
    parser.add_argument("--dropout-rate", type=float, default=0.1, metavar="D",
                        help="probability that each hospital drops out of each round, before "
                             "uploading its masked update (default: 0.1)")
    parser.add_argument("--split", choices=SPLITS, default="iid",
                        help="how training cases are dealt to hospitals: iid, or label-skew with "
                             "Dirichlet(0.5) class shares (default: iid)")
    parser.add_argument("--seed", type=int, default=0, metavar="X",
                        help="seed for the data split, model, batches, dropouts and rounding "
                             "(default: 0)")

    parser.add_argument("--clip", type=float, default=None, metavar="C",
                        help="clipping bound on each update element; elements beyond it are "
                             "clipped and counted (default: 2.0)")
    parser.add_argument("--bits", type=int, default=DEFAULT_BITS, metavar="B",
                        help=f"fixed-point bits per update element (default: {DEFAULT_BITS})")
    parser.add_argument("--deterministic", action="store_true",
                        help="also draw the protocol's keys from --seed, so that SecAgg+ aborts "
                             "repeat exactly: reproducible and insecure")

    parser.add_argument("--out", default=DEFAULT_OUT, metavar="DIR",
                        help=f"folder for fedavg-PROTOCOL.json and .png, created if missing "
                             f"(default: {DEFAULT_OUT})")
    parser.add_argument("--json", action="store_true",
                        help="print only one JSON object, without the table")
    parser.set_defaults(handler=main)


def main(args: argparse.Namespace) -> int:
    from secagg.fl._optional import require
    from secagg.fl.fedavg import DEFAULT_CLIP, FedAvgConfig, run_fedavg
    from secagg.fl.plot import plot_fedavg

    try:
        config = FedAvgConfig(protocol=args.protocol, hospitals=args.hospitals, rounds=args.rounds,
                              dropout_rate=args.dropout_rate, split=args.split, seed=args.seed,
                              clip=DEFAULT_CLIP if args.clip is None else args.clip,
                              bits=args.bits, deterministic=args.deterministic)
        out = _prepare_out(args.out)
        require("matplotlib.figure", "matplotlib")  # fail before training, not after it
        result = run_fedavg(config, progress=None if args.json else _row_printer(config))
        stem = out / f"fedavg-{config.protocol}"
        png = plot_fedavg(result, stem.with_suffix(".png"))
        document = result.to_json_dict()
        json_path = stem.with_suffix(".json")
        document["files"] = {"json": str(json_path), "png": str(png)}
        json_path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    except (ValueError, TypeError, ImportError, OSError) as error:
        return errors.report("secagg fedavg", str(error), args)

    if args.json:
        print(json.dumps(document))
    else:
        _print_summary(document)
    return 0


def _prepare_out(path: str) -> Path:
    out = Path(path)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise OSError(f"--out {path}: exists and is not a folder; pass a folder path") from None
    except OSError as error:
        raise OSError(f"--out {path}: cannot create the folder ({error.strerror}); "
                      "pass a writable folder path") from None
    return out


def _print_header(config) -> None:
    print(f"FedAvg with {config.protocol}: {config.hospitals} hospitals ({config.split}), "
          f"{config.rounds} rounds, dropout rate {config.dropout_rate:g}, seed {config.seed}")
    print(_COLUMNS, flush=True)


def _row_printer(config):
    """Return a progress callback that prints the header before the first row."""

    def print_row(record) -> None:
        if record.round == 1:
            _print_header(config)
        _print_row(record, config.hospitals)

    return print_row


def _print_row(record, hospitals: int) -> None:
    included = f"{len(record.included)}/{hospitals}"
    note = []
    if record.dropped:
        note.append("dropped " + ",".join(str(h) for h in record.dropped))
    if record.aborted:
        note.append(f"aborted ({(record.abort_reason or '').split(':')[0]}), model kept")
    if record.clipped:
        note.append(f"{record.clipped} values clipped")
    print(f"{record.round:>5}  {100 * record.accuracy:>7.2f}%  {100 * record.plaintext_accuracy:>8.2f}%  "
          f"{record.bytes:>9,}  {record.seconds:>7.3f}  {included:>8}  {'; '.join(note)}".rstrip(), flush=True)


def _print_summary(document: dict) -> None:
    gap = document["accuracy_gap_pp"]
    print(f"final test accuracy {100 * document['final_accuracy']:.2f}% "
          f"(plaintext FedAvg {100 * document['plaintext_accuracy']:.2f}%, difference {gap:+.2f} pp)")
    print(f"rounds aborted: {document['rounds_aborted']} of {document['rounds']}; protocol bytes "
          f"{document['bytes_total']:,}; protocol seconds {document['protocol_seconds_total']:.3f}; "
          f"wall time {document['wall_s']:.1f} s")
    print(f"wrote {document['files']['json']} and {document['files']['png']}")
