"""`python -m bench` (what `make bench` runs): prints every figure as JSON.

`python -m bench foundation live` runs only those parts; sizes can be lowered for a quick look.
"""

from __future__ import annotations

import argparse
import json

PARTS = ("foundation", "live", "media", "guests", "guest-join", "login", "calls", "alerts", "reminders")


def add_guest_arguments(parser: argparse.ArgumentParser) -> None:
    """The guests part's sizes (bench/many_party.py)."""
    parser.add_argument("--guest-visits", type=int, default=2, help="visits at once per size (guests part)")
    parser.add_argument("--guest-cpu-seconds", type=float, default=20, help="CPU window (guests part)")
    parser.add_argument("--guest-trials", type=int, default=20, help="guests joining, timed (guests part)")
    parser.add_argument("--guest-joins", type=int, default=10, help="guests joining (guest-join part)")


def parser_of_figures() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description="eClinic figures")
    parser.add_argument("parts", nargs="*", default=list(PARTS), help=f"any of {', '.join(PARTS)}")
    parser.add_argument("--appointments", type=int, default=100_000)
    parser.add_argument("--groups", type=int, default=50)
    parser.add_argument("--trials", type=int, default=200)
    parser.add_argument("--clinicians", type=int, default=50)
    parser.add_argument("--patients", type=int, default=500)
    parser.add_argument("--waves", type=int, default=5)
    parser.add_argument("--calls", type=int, default=20)
    parser.add_argument("--shots", type=int, default=20)
    parser.add_argument("--cpu-seconds", type=float, default=30)
    parser.add_argument("--max-visits", type=int, default=40)
    add_guest_arguments(parser)
    parser.add_argument("--logins", type=int, default=50)
    parser.add_argument("--setup-calls", type=int, default=10, help="calls per path (calls part)")
    parser.add_argument("--calls-cpu-visits", type=int, default=4, help="visits at once (calls part)")
    parser.add_argument("--calls-cpu-seconds", type=float, default=16, help="CPU window (calls part)")
    parser.add_argument("--arrivals", type=int, default=20, help="patient arrivals (alerts part)")
    parser.add_argument("--reminders", type=int, default=20, help="reminders timed (reminders part)")
    return parser


def main() -> None:
    parser = parser_of_figures()
    args = parser.parse_args()
    unknown = set(args.parts) - set(PARTS)
    if unknown:
        parser.error(f"unknown part(s): {', '.join(sorted(unknown))}")
    figures = {}
    if "foundation" in args.parts:
        from bench import foundation

        figures["foundation"] = foundation.run(args.appointments, args.groups)
        print(json.dumps({"foundation": figures["foundation"]}, indent=2), flush=True)
    if "live" in args.parts:
        from bench import live

        figures["live"] = live.run(args.trials, args.clinicians, args.patients, args.waves)
        print(json.dumps({"live": figures["live"]}, indent=2), flush=True)
    if "media" in args.parts:
        from bench import media

        figures["media"] = media.run(args.calls, args.shots, args.cpu_seconds, args.max_visits)
        print(json.dumps({"media": figures["media"]}, indent=2), flush=True)
    if "guests" in args.parts:
        from bench import many_party

        figures["guests"] = many_party.run(args.guest_visits, args.guest_cpu_seconds, args.guest_trials)
        print(json.dumps({"guests": figures["guests"]}, indent=2), flush=True)
    if "guest-join" in args.parts:
        from bench import guest_join

        figures["guest-join"] = guest_join.run(args.guest_joins)
        print(json.dumps({"guest-join": figures["guest-join"]}, indent=2), flush=True)
    if "login" in args.parts:
        from bench import login

        figures["login"] = login.run(args.logins)
        print(json.dumps({"login": figures["login"]}, indent=2), flush=True)
    if "calls" in args.parts:
        from bench import calls

        figures["calls"] = calls.run(args.setup_calls, args.calls_cpu_visits, args.calls_cpu_seconds)
        print(json.dumps({"calls": figures["calls"]}, indent=2), flush=True)
    if "alerts" in args.parts:
        from bench import alerts

        figures["alerts"] = alerts.run(args.arrivals)
        print(json.dumps({"alerts": figures["alerts"]}, indent=2), flush=True)
    if "reminders" in args.parts:
        from bench import reminders

        figures["reminders"] = reminders.run(args.reminders)
        print(json.dumps({"reminders": figures["reminders"]}, indent=2), flush=True)


if __name__ == "__main__":
    main()
