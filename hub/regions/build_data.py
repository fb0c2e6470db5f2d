"""Regenerate ``hub/regions/data/regions.csv.gz`` from the ``idn-area-data`` npm package.

The hub ships the full Kemendagri administrative hierarchy (province, regency/city,
district, village) as one small gzip-compressed CSV.  The source of truth is the
``idn-area-data`` package (data: Kepmendagri No. 300.2.2-2L38 Tahun 2025, ODbL 1.0;
see ``hub/regions/NOTICE``).  To refresh the data::

    cd /tmp && npm pack idn-area-data@4 && tar xzf idn-area-data-*.tgz
    python -m hub.regions.build_data /tmp/package

The argument is the extracted package directory (the one holding ``data/``) or the
``data/`` directory itself.  Output format, sorted by code::

    code,name,level,parent_code
    33,Jawa Tengah,1,
    33.14,Kabupaten Sragen,2,33

Codes use the dotted Kemendagri form (``33``, ``33.14``, ``33.14.01``,
``33.14.01.2001``); undotted codes (``3314012001``) are converted.  Level is 1..4
(province..village) and ``parent_code`` is empty for provinces.  The output is
byte-for-byte reproducible (gzip header carries no timestamp or file name).
"""

from __future__ import annotations

import argparse
import csv
import gzip
import io
import re
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

OUTPUT = Path(__file__).resolve().parent / "data" / "regions.csv.gz"
HEADER = ("code", "name", "level", "parent_code")

# Source file per level (index + 1 = level) and the column holding the parent code.
LEVELS: tuple[tuple[str, str | None], ...] = (
    ("provinces.csv", None),
    ("regencies.csv", "province_code"),
    ("districts.csv", "regency_code"),
    ("villages.csv", "district_code"),
)
_SEGMENTS = (2, 2, 2, 4)  # digits per code segment, province..village
_DOTTED = re.compile(r"^\d{2}(\.\d{2}(\.\d{2}(\.\d{4})?)?)?$")

Row = tuple[str, str, int, str | None]


def dotted(code: str) -> str:
    """Return ``code`` in dotted Kemendagri form (``3314012001`` -> ``33.14.01.2001``)."""
    code = code.strip()
    if "." not in code and code.isdigit():
        parts: list[str] = []
        pos = 0
        for width in _SEGMENTS:
            if pos >= len(code):
                break
            parts.append(code[pos : pos + width])
            pos += width
        if pos != len(code):
            raise ValueError(f"cannot split region code {code!r}")
        code = ".".join(parts)
    if not _DOTTED.match(code):
        raise ValueError(f"malformed region code {code!r}")
    return code


def read_source(data_dir: Path) -> Iterator[Row]:
    """Yield ``(code, name, level, parent_code)`` for every row of the package CSVs."""
    for level, (filename, parent_column) in enumerate(LEVELS, start=1):
        with (data_dir / filename).open(encoding="utf-8-sig", newline="") as fh:
            for record in csv.DictReader(fh):
                code = dotted(record["code"])
                name = " ".join(record["name"].split())
                parent = dotted(record[parent_column]) if parent_column else None
                if code.count(".") != level - 1:
                    raise ValueError(f"{filename}: code {code!r} is not a level-{level} code")
                if not name:
                    raise ValueError(f"{filename}: empty name for {code}")
                if parent is not None and code.rpartition(".")[0] != parent:
                    raise ValueError(f"{filename}: {code} does not belong to parent {parent}")
                yield code, name, level, parent


def build(source: Path, output: Path = OUTPUT) -> Counter[int]:
    """Validate the package data under ``source`` and write ``output``; return counts per level."""
    data_dir = source / "data" if (source / "data").is_dir() else source
    rows = sorted(read_source(data_dir))
    codes = {row[0] for row in rows}
    if len(codes) != len(rows):
        raise ValueError("duplicate region codes in source data")
    orphans = [row[0] for row in rows if row[3] is not None and row[3] not in codes]
    if orphans:
        raise ValueError(f"{len(orphans)} regions reference a missing parent, e.g. {orphans[:5]}")

    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(HEADER)
    writer.writerows((code, name, level, parent or "") for code, name, level, parent in rows)

    output.parent.mkdir(parents=True, exist_ok=True)
    # filename="" and mtime=0 keep the gzip header free of run-specific bytes.
    with (
        output.open("wb") as raw,
        gzip.GzipFile(filename="", mode="wb", fileobj=raw, compresslevel=9, mtime=0) as gz,
    ):
        gz.write(text.getvalue().encode("utf-8"))
    return Counter(row[2] for row in rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("source", type=Path, help="extracted idn-area-data package (or its data/ dir)")
    parser.add_argument("-o", "--output", type=Path, default=OUTPUT, help=f"default: {OUTPUT}")
    args = parser.parse_args(argv)
    counts = build(args.source, args.output)
    names = {1: "provinces", 2: "regencies", 3: "districts", 4: "villages"}
    summary = ", ".join(f"{counts[level]} {names[level]}" for level in sorted(counts))
    print(f"wrote {args.output} ({args.output.stat().st_size} bytes): {summary}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
