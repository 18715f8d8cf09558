"""``secagg attack``: run one attack against a real protocol run and report what it obtained."""

from __future__ import annotations

import argparse
import json
import sys

from secagg.adversaries.registry import ATTACKS, get_attack, run_attack
from secagg.adversaries.report import (ALL_CASES, CKKS, COLLUDER_GROUPS, PROTOCOLS, AttackReport,
                                       AttackSpec)
from secagg.cli import errors

_PROG = "secagg attack"


def add_parser(commands) -> None:
    attack_list = "\n".join(f"  {entry.name:<24}{entry.summary}" for entry in ATTACKS.values())
    parser = commands.add_parser(
        "attack", help="run an attack against a protocol and report what the adversary obtained",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Run the real protocol with some parties replaced by adversarial ones and "
                    "compare what the adversary obtained with the target's true input.\n\n"
                    f"attacks:\n{attack_list}\n\n"
                    "docs/threat-models.md lists which command shows which property.")
    parser.add_argument("name", choices=list(ATTACKS), metavar="NAME",
                        help=f"the attack: {', '.join(ATTACKS)}")

    parser.add_argument("--protocol", choices=PROTOCOLS,
                        help="protocol under attack (default: ckks for the ckks-* attacks, "
                             "secagg for the others)")
    parser.add_argument("--clients", type=int, default=8, metavar="N",
                        help="number of clients (default: 8)")
    parser.add_argument("--threshold", type=int, metavar="T",
                        help="Shamir threshold out of the k + 1 share holders of each client "
                             "(default: (k+1)/2+1 semi-honest, 2(k+1)/3+1 active, rounded down); "
                             "for ckks, the fewest clients whose sum the key holder decrypts "
                             "(default: 2)")
    parser.add_argument("--degree", type=int, metavar="K",
                        help="SecAgg+ neighbours per client, even (default: the largest even "
                             "number up to N/2); SecAgg uses N-1")

    parser.add_argument("--colluders", type=int, default=0, metavar="C",
                        help="clients that collude with the server and pool their shares "
                             "(collusion, dropout-lie, inconsistent-survivors; default: 0)")
    parser.add_argument("--colluders-from", choices=COLLUDER_GROUPS, default="neighbours",
                        help="draw the colluders from the target's neighbours or from the other "
                             "clients (default: neighbours)")
    parser.add_argument("--target", type=int, default=0, metavar="I",
                        help="the client the attack is about: whose input the adversary wants, or "
                             "whose messages are replayed or malformed (default: 0)")
    parser.add_argument("--deceived", type=int, metavar="D",
                        help="inconsistent-survivors: neighbours of the target told that it "
                             "dropped (default: all but t-1 of them)")

    parser.add_argument("--case", default=ALL_CASES, metavar="CASE",
                        help="replay and malformed: the one variant to run (default: all); "
                             + "; ".join(f"{e.name}: {', '.join(e.cases)}"
                                         for e in ATTACKS.values() if e.cases))
    parser.add_argument("--active", action="store_true",
                        help="attack the actively secure variant (signed keys and survivor lists)")
    parser.add_argument("--naive", action="store_true",
                        help="honest clients skip the check that never reveals both shares of one "
                             "client, like Flower's SecAgg+ client (see docs/threat-models.md)")

    parser.add_argument("--dim", type=int, default=16, metavar="M",
                        help="vector length per client (default: 16)")
    parser.add_argument("--bits", type=int, default=16, metavar="B",
                        help="bits per input element (default: 16); the ckks attacks ignore it "
                             "and draw real inputs from [-1.25, 1.25], clipped to [-1, 1]")
    parser.add_argument("--seed", type=int, metavar="X",
                        help="seed of every key, mask, input and choice, except the CKKS keys, "
                             "which SEAL generates; reported in the output (default: drawn from the OS)")

    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(handler=main)
    parser.error = errors.usage_error(_PROG)


def main(args: argparse.Namespace) -> int:
    try:
        protocol = args.protocol or get_attack(args.name).protocols[0]
        spec = AttackSpec.create(protocol, args.clients, args.threshold, args.degree,
                                 active=args.active, naive=args.naive, colluders=args.colluders,
                                 colluders_from=args.colluders_from, target=args.target,
                                 deceived=args.deceived, case=args.case, dim=args.dim,
                                 bits=args.bits, seed=args.seed)
        report = run_attack(args.name, spec)
    except (ValueError, TypeError) as error:
        print(f"{_PROG}: error: {error}", file=sys.stderr)
        return 2

    if args.json:
        print(json.dumps(report.to_json_dict()))
    else:
        _print_summary(report)
    return 0


def _print_summary(report: AttackReport) -> None:
    if report.protocol == CKKS:
        print(f"{report.attack} against ckks: {report.clients} clients, key holder client "
              f"{report.details.get('key_holder')}, min_clients {report.threshold}, target "
              f"{report.target}, seed {report.seed}")
    else:
        _print_masking_header(report)
    print(f"recovered target: {_yes(report.recovered_target)}   detected: {_yes(report.detected)}   "
          f"aborted: {_yes(report.aborted)}   aggregate correct: {_yes(report.aggregate_correct)}")
    print(report.explanation)
    if report.cases:
        print()
        print(f"{'case':<24}{'detected':<10}{'aborted':<9}correct")
        for case in report.cases:
            print(f"{case.case:<24}{_yes(case.detected):<10}{_yes(case.aborted):<9}"
                  f"{_yes(case.aggregate_correct)}")
        if len(report.cases) > 1:
            for case in report.cases:
                print(f"\n{case.case}: {case.explanation}")


def _print_masking_header(report: AttackReport) -> None:
    variant = "active" if report.active else "semi-honest"
    naive = ", naive clients" if report.naive else ""
    colluders = f", colluders {report.colluder_ids}" if report.colluders else ""
    print(f"{report.attack} against {report.protocol} ({variant}{naive}): {report.clients} clients, "
          f"degree {report.degree}, threshold {report.threshold}, target {report.target}"
          f"{colluders}, seed {report.seed}")


def _yes(value: bool) -> str:
    return "yes" if value else "no"
