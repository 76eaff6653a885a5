"""The `lstm-fast` command: one entry point, one subcommand module per model family.

Each family's CLI module exposes ``register(subparsers)``, which adds its subcommands
and sets ``func`` on each; modules are imported here so that ``lstm-fast --help`` lists
everything, but none of them imports torch until a training command runs.
"""

from __future__ import annotations

import argparse
import importlib
import sys

# A family whose module is not there (yet) is simply not listed.
_FAMILIES = ("lstm_fast.demo", "lstm_fast.classifier.cli", "lstm_fast.text2image.cli", "lstm_fast.bench")


def build_parser() -> argparse.ArgumentParser:
    from . import __version__

    parser = argparse.ArgumentParser(prog="lstm-fast", description="Fast LSTM inference on the CPU: classify text, draw captions, benchmark.")
    parser.add_argument("--version", action="version", version=f"lstm_fast {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    info = sub.add_parser("info", help="print the version, the CPU path in use and why")
    info.set_defaults(func=_info)
    for name in _FAMILIES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as e:
            if e.name and (name == e.name or name.startswith(e.name + ".")):
                continue
            raise
        module.register(sub)
    return parser


def _info(args: argparse.Namespace) -> int:
    import lstm_fast

    info = lstm_fast.cpu_info()
    print(f"lstm_fast {lstm_fast.__version__}")
    for key, value in info.items():
        print(f"{key}: {value}")
    print(f"threads: {lstm_fast.get_num_threads()}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except (ValueError, TypeError, OSError) as e:
        print(f"lstm-fast {args.command}: error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
