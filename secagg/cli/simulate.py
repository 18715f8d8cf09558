"""``secagg simulate``: one aggregation over the simulated network."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from secagg.cli import errors
from secagg.simulation import PROTOCOLS, RunSpec, run


def add_parser(commands) -> None:
    parser = commands.add_parser(
        "simulate", help="run one aggregation over the simulated network",
        description="Run one secure aggregation among N simulated clients and report "
                    "bytes, seconds, included clients and whether the sum is correct. "
                    "Clients are numbered 0..N-1.")
    parser.add_argument("--protocol", choices=PROTOCOLS, default="secagg+",
                        help="aggregation protocol (default: secagg+)")
    parser.add_argument("--clients", type=int, required=True, metavar="N", help="number of clients")
    parser.add_argument("--dim", type=int, required=True, metavar="M", help="vector length per client")
    parser.add_argument("--bits", type=int, default=16, metavar="B",
                        help="bits per input element: integers must be below 2**B; floats are "
                             "encoded at B bits (default: 16)")
    parser.add_argument("--threshold", type=int, metavar="T",
                        help="Shamir threshold (default: n/2+1 for SecAgg, 2n/3+1 active; "
                             "the rule of Bell et al. for SecAgg+); for ckks, the fewest included "
                             "clients whose sum the key holder decrypts (default: 2)")
    parser.add_argument("--degree", type=int, metavar="K",
                        help="SecAgg+ neighbours per client, even (default: the rule of Bell et al.)")
    parser.add_argument("--corrupted-fraction", type=float, default=0.05, metavar="G",
                        help="SecAgg+ parameter rule: fraction of corrupted clients (default: 0.05)")
    parser.add_argument("--dropout-rate", type=float, default=0.0, metavar="D",
                        help="fraction of clients that drop at --drop-stage (default: 0)")
    parser.add_argument("--drop-stage", type=int, default=2, choices=range(5), metavar="S",
                        help="round from which dropping clients send nothing: 0 AdvertiseKeys, "
                             "1 ShareKeys and its share receipts, 2 MaskedInputCollection "
                             "(the share receipt is still sent), 3 ConsistencyCheck, "
                             "4 Unmasking (default: 2); for ckks, 0 key distribution, 1 and 2 "
                             "ciphertext upload, 3 and 4 decryption")
    parser.add_argument("--drop-clients", type=_id_list, default=(), metavar="I,J,...",
                        help="comma-separated ids of clients that drop at --drop-stage")
    parser.add_argument("--active", action="store_true",
                        help="actively secure variant: signed keys and a consistency check")
    parser.add_argument("--inputs", metavar="FILE.npy",
                        help="(N, M) array: unsigned integers below 2**B are summed exactly; "
                             "floats are fixed-point encoded with --clip and --bits")
    parser.add_argument("--output", metavar="FILE.npy", help="write the aggregate as .npy")
    parser.add_argument("--clip", type=float, metavar="C",
                        help="clipping range [-C, C] for float inputs; for ckks, clients clip to it "
                             "and the parameters must fit N times C (default for ckks: 1, with "
                             "drawn inputs uniform in [-C, C]; 2**B - 1 for integer inputs)")
    parser.add_argument("--key-holder", type=_key_holder, default=0, metavar="ID|authority",
                        help="ckks only: the client id that generates the keys and decrypts the "
                             "sum, or 'authority' for an external key authority (default: 0)")
    parser.add_argument("--seed", type=int, metavar="X",
                        help="seed for drawn inputs and dropouts (keys still come from the OS)")
    parser.add_argument("--deterministic", action="store_true",
                        help="also draw keys and masks from --seed: reproducible and insecure, "
                             "for tests only")
    parser.add_argument("--latency-ms", type=float, metavar="L",
                        help="turn on the network model: one-way latency per message in "
                             "milliseconds; the JSON then has estimated_wall_clock_s")
    parser.add_argument("--uplink-mbps", type=float, default=10.0, metavar="U",
                        help="network model: client upload bandwidth in Mbit/s (default: 10)")
    parser.add_argument("--downlink-mbps", type=float, default=50.0, metavar="D",
                        help="network model: client download bandwidth in Mbit/s (default: 50)")
    parser.add_argument("--deadline", type=float, metavar="S",
                        help="network model: seconds after a round opens by which a message "
                             "must arrive; later senders count as dropped (needs --latency-ms)")
    parser.add_argument("--backend", choices=("local", "ray"), default="local",
                        help="where the clients run: in this process, or in Ray actors while the "
                             "server stays in this process (default: local; ray needs the ray extra)")
    parser.add_argument("--ray-address", metavar="ADDR",
                        help="with --backend ray: join the Ray cluster at ADDR (HOST:PORT of the head "
                             "node, or 'auto'); without it a local Ray instance is started")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(handler=main)


def _id_list(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}") from None


def _key_holder(text: str) -> int | str:
    if text == "authority":
        return text
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a client id or 'authority', got {text!r}") from None


def main(args: argparse.Namespace) -> int:
    try:
        _check_output(args.output)
        inputs = _load_inputs(args.inputs)
        latency = _latency_model(args)
        spec = RunSpec(args.protocol, args.clients, args.dim, args.bits, threshold=args.threshold,
                       degree=args.degree, active=args.active, drop_stage=args.drop_stage,
                       drop_clients=args.drop_clients, dropout_rate=args.dropout_rate,
                       inputs=inputs, clip=args.clip, seed=args.seed,
                       deterministic=args.deterministic, corrupted_fraction=args.corrupted_fraction,
                       key_holder=args.key_holder,
                       latency=latency, deadline_s=args.deadline,
                       backend=args.backend, ray_address=args.ray_address,
                       progress=None if args.json else _print_round)
        outcome = run(spec)
    except (ValueError, TypeError, OSError, ImportError) as error:
        return errors.report("secagg simulate", str(error), args)

    if args.output and outcome.aggregate is not None:
        np.save(args.output, outcome.aggregate)
    document = outcome.to_json_dict()
    if args.json:
        print(json.dumps(document))
    else:
        _print_summary(document)
    return 0


def _latency_model(args: argparse.Namespace):
    """Return the network model the options ask for, or None."""
    if args.latency_ms is None:
        if args.deadline is not None:
            raise ValueError("--deadline needs the network model: add --latency-ms")
        return None
    from secagg.network.latency import LatencyModel, Link

    for name in ("latency_ms", "uplink_mbps", "downlink_mbps"):
        value = getattr(args, name)
        if not value >= 0 or (name != "latency_ms" and value == 0):
            raise ValueError(f"--{name.replace('_', '-')} must be a positive number, got {value}")
    if args.deadline is not None and not args.deadline > 0:
        raise ValueError(f"--deadline must be a positive number of seconds, got {args.deadline}")
    latency_s = args.latency_ms / 1e3
    return LatencyModel(uplink=Link(latency_s, args.uplink_mbps * 1e6 / 8),
                        downlink=Link(latency_s, args.downlink_mbps * 1e6 / 8))


def _check_output(path: str | None) -> None:
    """Reject an --output path that np.save would change or fail on, before the run."""
    if path is None:
        return
    target = Path(path)
    if target.suffix != ".npy":
        raise ValueError(f"--output {path}: the file name must end in .npy")
    if target.is_dir():
        raise ValueError(f"--output {path} is a directory; give a file name ending in .npy")
    if not target.parent.is_dir():
        raise ValueError(f"--output {path}: folder {target.parent} does not exist; create it first")


def _load_inputs(path: str | None):
    if path is None:
        return None
    if not Path(path).is_file():
        raise ValueError(f"--inputs {path}: file not found; give the path of a .npy file")
    try:
        return np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError):
        raise ValueError(f"--inputs {path}: not a NumPy .npy array file; save one with "
                         "numpy.save") from None


def _print_round(progress) -> None:
    print(f"round {progress.round.stage} {progress.round.name:<24} delivered {progress.delivered:>6}"
          f"  dropped {progress.dropped:>5}  active {progress.active:>6}", flush=True)


def _print_summary(doc: dict) -> None:
    size = doc["bytes"]
    status = f"aborted ({doc['abort_reason']})" if doc["aborted"] else "finished"
    print(f"{doc['protocol']}: {status}; {len(doc['included'])} of {doc['clients']} clients included; "
          f"correct: {doc['correct']}")
    if doc["modulus"] is not None:
        print(f"threshold {doc['threshold']}, degree {doc['degree']}, "
              f"modulus 2^{doc['modulus'].bit_length() - 1}")
    if doc["error_bound"] is not None:
        ckks = doc["ckks"]
        print(f"N {ckks['poly_modulus_degree']}, coeff_mod_bit_sizes {ckks['coeff_mod_bit_sizes']}, "
              f"scale 2^{ckks['scale_bits']}, key holder {ckks['key_holder']}; max abs error "
              f"{doc['max_abs_error']:.3g} (bound {doc['error_bound']:.3g})")
    print(f"client upload mean {size['client_upload_mean']:.0f} B (expansion {doc['expansion']:.3f}x), "
          f"download mean {size['client_download_mean']:.0f} B")
    seconds = doc["seconds"]
    print(f"client work {seconds['client_mean']:.3f} s, server work {seconds['server']:.3f} s")
