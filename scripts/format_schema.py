#!/usr/bin/env python3
"""Formats protocol/subcell.schema.json the way it is kept: indented, with
any object or array that fits in the line width on one line.

    scripts/format_schema.py [FILE]   (default: protocol/subcell.schema.json)
"""
import collections
import json
import pathlib
import sys

WIDTH = 120


def dump(value, indent=0):
    flat = json.dumps(value, ensure_ascii=False)
    if not isinstance(value, (dict, list)) or len(flat) + indent <= WIDTH:
        return flat.replace('", "', '", "')
    pad = " " * (indent + 2)
    if isinstance(value, list):
        items = [pad + dump(v, indent + 2) for v in value]
        return "[\n" + ",\n".join(items) + "\n" + " " * indent + "]"
    items = [pad + json.dumps(k, ensure_ascii=False) + ": " + dump(v, indent + 2) for k, v in value.items()]
    return "{\n" + ",\n".join(items) + "\n" + " " * indent + "}"


def main():
    path = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else
                        pathlib.Path(__file__).resolve().parent.parent / "protocol" / "subcell.schema.json")
    doc = json.loads(path.read_text(), object_pairs_hook=collections.OrderedDict)
    path.write_text(dump(doc) + "\n")


if __name__ == "__main__":
    main()
