"""`python -m bench` (what `make bench` runs): prints every figure as JSON."""

from __future__ import annotations

import argparse
import json

from bench import foundation


def main() -> None:
    parser = argparse.ArgumentParser(description="eClinic figures")
    parser.add_argument("--appointments", type=int, default=100_000)
    parser.add_argument("--groups", type=int, default=50)
    args = parser.parse_args()
    figures = {"foundation": foundation.run(args.appointments, args.groups)}
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
