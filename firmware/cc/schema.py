"""The contact-center protocol's JSON Schema, generated from firmware.cc.protocol, and the copy
of it embedded in docs/cc-protocol.md (between the schema markers), kept current by --write and
guarded by --check (the unit tests run the check).

    python -m firmware.cc.schema                              print the schema
    python -m firmware.cc.schema --check docs/cc-protocol.md  exit 1 if the doc's copy is stale
    python -m firmware.cc.schema --write docs/cc-protocol.md  replace the doc's copy
"""
from __future__ import annotations

import argparse
import difflib
import inspect
import json
import sys
from pathlib import Path
from typing import Any

from . import protocol

BEGIN = "<!-- schema:begin -->"
END = "<!-- schema:end -->"


def schema_text() -> str:
    """The schema as indented JSON; keys sorted so the text only changes when the wire does."""
    return json.dumps(_clean_docs(protocol.json_schema()), indent=2, sort_keys=True,
                      ensure_ascii=False)


def _clean_docs(node: Any) -> Any:
    """Descriptions as ``inspect.cleandoc`` makes them: msgspec releases differ in whether
    they dedent docstrings, and the schema must be the same wherever it is generated."""
    if isinstance(node, dict):
        return {k: inspect.cleandoc(v) if k == "description" and isinstance(v, str)
                else _clean_docs(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_clean_docs(v) for v in node]
    return node


def schema_block() -> str:
    """What belongs between the markers."""
    return f"\n```json\n{schema_text()}\n```\n"


def _split(doc: str) -> tuple[str, str, str]:
    """The doc as (before the block, the block, after it); ValueError without both markers."""
    start = doc.find(BEGIN)
    end = doc.find(END, start + len(BEGIN)) if start >= 0 else -1
    if start < 0 or end < 0:
        raise ValueError(f"no {BEGIN} ... {END} markers")
    start += len(BEGIN)
    return doc[:start], doc[start:end], doc[end:]


def stale_diff(doc: str) -> list[str]:
    """Diff lines from the doc's block to the generated one; empty when the doc is current."""
    _, block, _ = _split(doc)
    return list(difflib.unified_diff(block.splitlines(), schema_block().splitlines(),
                                     "in the doc", "generated", lineterm=""))


def updated(doc: str) -> str:
    """The doc with its block replaced by the generated schema."""
    before, _, after = _split(doc)
    return before + schema_block() + after


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m firmware.cc.schema",
                                     description="The contact-center protocol's JSON Schema.")
    action = parser.add_mutually_exclusive_group()
    action.add_argument("--check", metavar="DOC", type=Path,
                        help="exit 1 if DOC's embedded schema differs from the generated one")
    action.add_argument("--write", metavar="DOC", type=Path,
                        help="replace DOC's embedded schema with the generated one")
    args = parser.parse_args(argv)

    if args.check is None and args.write is None:
        print(schema_text())
        return 0
    path = args.check or args.write
    try:
        doc = path.read_text(encoding="utf-8")
        if args.write:
            path.write_text(updated(doc), encoding="utf-8")
            return 0
        diff = stale_diff(doc)
    except (OSError, ValueError) as e:
        print(f"{path}: {e}", file=sys.stderr)
        return 1
    if diff:
        shown = diff[:40] + (["..."] if len(diff) > 40 else [])
        print("\n".join(shown), file=sys.stderr)
        print(f"{path}: the embedded schema is out of date with firmware/cc/protocol.py;\n"
              f"regenerate it: python -m firmware.cc.schema --write {path}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
