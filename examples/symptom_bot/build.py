"""``python -m examples.symptom_bot.build``: the Lambda's code, as a folder
(``examples/symptom_bot/build/lambda`` unless ``--out``) that ``aws cloudformation package``
zips and uploads.

The code hook runs the local sample bot's own dialog, so the folder holds copies of the dialog
modules (bridge/local/sample_bot/: turn, conditions, wording, matching, session, answers,
diagnostics, symptoms) and of this package's runtime modules under their usual import paths,
with ``__init__`` files of their own (the bridge's would import Flask and the rest of the
bridge). Nothing else: the dialog is standard library only, and
boto3 is part of the Lambda Python runtime. The data is not in it: the code hook reads the table.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path

from examples.symptom_bot import EXAMPLE_DIR

ROOT = EXAMPLE_DIR.parent.parent
DEFAULT_OUT = EXAMPLE_DIR / "build" / "lambda"
MARKER = ".symptom-bot-build"  # a folder with it was made here and may be replaced
COPIED = (
    "bridge/local/__init__.py",
    "bridge/local/sample_bot/__init__.py",
    "bridge/local/sample_bot/turn.py",
    "bridge/local/sample_bot/conditions.py",
    "bridge/local/sample_bot/wording.py",
    "bridge/local/sample_bot/matching.py",
    "bridge/local/sample_bot/session.py",
    "bridge/local/sample_bot/answers.py",
    "bridge/local/sample_bot/diagnostics.py",
    "bridge/local/sample_bot/symptoms.py",
    "bridge/messenger/__init__.py",
    "bridge/messenger/text.py",
    "examples/__init__.py",
    "examples/symptom_bot/__init__.py",
    "examples/symptom_bot/lexv2.py",
    "examples/symptom_bot/items.py",
    "examples/symptom_bot/dynamo.py",
    "examples/symptom_bot/handler.py",
)
WRITTEN = {
    "bridge/__init__.py": '"""The parts of messenger-lex-bridge the code hook uses."""\n',
}


def package_files() -> dict[str, str]:
    """Each file of the package (its path in the package) and its text."""
    files = {path: (ROOT / path).read_text(encoding="utf-8") for path in COPIED}
    return {**WRITTEN, **files}


def build(out: Path) -> list[str]:
    """Write the package to ``out`` (replacing an earlier build there); returns its files."""
    if out.exists():
        if not (out / MARKER).exists() and any(out.iterdir()):
            raise FileExistsError(f"{out} exists and is not an earlier build: choose --out")
        shutil.rmtree(out)
    files = package_files()
    for path, text in files.items():
        target = out / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    (out / MARKER).write_text("made by python -m examples.symptom_bot.build\n", encoding="utf-8")
    return sorted(files)


def main(argv: Sequence[str] | None = None) -> int:
    command = argparse.ArgumentParser(
        prog="python -m examples.symptom_bot.build",
        description="Write the symptom bot's Lambda code to a folder for aws cloudformation "
        "package.",
    )
    command.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"default: {DEFAULT_OUT}")
    args = command.parse_args(argv)
    try:
        files = build(args.out)
    except (OSError, FileExistsError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"{args.out}: {len(files)} files")
    return 0


if __name__ == "__main__":
    sys.exit(main())
