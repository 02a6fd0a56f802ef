"""Reading a network's point files in pieces, on the workers, with the user's row numbers.

A brand's customers file can hold ten million rows: no single process
should read it whole. :func:`describe_point_file` (in the calling process)
reads only the head of a CSV file: its encoding, delimiter and header, and
cuts it into byte ranges of about ``chunk_bytes`` that end on a record
boundary (a newline outside quotes). :func:`read_chunk` (on a worker) reads
one range and types it with the dealer workspace's own column rules
(:func:`territory.inputs.layers.type_columns`), so every value is checked
and every problem named as in a dealer's file.

Row numbers: a worker does not know how many records come before its piece.
It numbers rows ``(chunk << 32) | i`` (``i`` counts records in its piece,
blank lines included, as the whole-file reader does); once every piece has
reported its record count, :func:`row_decoder` turns these into the user's
row numbers (the header is row 1). XLSX files, and CSV files smaller than
one piece, are read whole by :func:`territory.inputs._tables.read_table`
(chunk 0, rows already the user's).
"""

from __future__ import annotations

import codecs
import csv
import dataclasses
import io
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from territory._errors import Problem, ProblemList
from territory.inputs._tables import canonical_columns, read_table
from territory.network.inputs import PointSource, point_spec

__all__ = [
    "ROW_BITS",
    "decode_rows",
    "describe_point_file",
    "empty_chunk",
    "merge_problems",
    "read_chunk",
    "row_decoder",
]

#: Bits of a local record number in an encoded row (chunk << ROW_BITS | record).
ROW_BITS = 32
_LOW = (1 << ROW_BITS) - 1
_HEAD_BYTES = 1 << 16
_SCAN_BYTES = 1 << 20


def describe_point_file(
    path: Path, layer: str, problems: ProblemList, *, chunk_bytes: int
) -> PointSource | None:
    """Describe a point file for :func:`read_chunk`; None (with a problem) if unusable."""
    file = path.name
    suffix = path.suffix.lower()
    size = path.stat().st_size
    if size == 0:
        problems.add(file, "err.file_empty")
        return None
    if suffix not in (".csv", ".txt", ".tsv") or size <= chunk_bytes:
        return PointSource(layer=layer, path=path, file=file)
    with open(path, "rb") as handle:
        head = handle.read(_HEAD_BYTES)
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):  # UTF-16: no byte-level cutting
        return PointSource(layer=layer, path=path, file=file)
    encoding = _encoding(head)
    if encoding is None:
        problems.add(file, "err.encoding")
        return None
    newline = head.find(b"\n")
    if newline < 0:
        return PointSource(layer=layer, path=path, file=file)
    header_bytes = head[:newline]
    text = header_bytes.decode(encoding, errors="replace").lstrip("\ufeff").rstrip("\r")
    try:
        delimiter = csv.Sniffer().sniff(text, delimiters=",\t;|").delimiter
    except csv.Error:
        delimiter = ","
    header = next(csv.reader([text], delimiter=delimiter))
    if not [h for h in header if h.strip()]:
        problems.add(file, "err.no_header")
        return None
    canonical_columns(header, problems, file)  # duplicate columns: reported once, here
    ranges = _ranges(path, newline + 1, size, chunk_bytes, quotes=header_bytes.count(b'"'))
    return PointSource(
        layer=layer,
        path=path,
        file=file,
        encoding=encoding,
        delimiter=delimiter,
        header=tuple(header),
        ranges=tuple(ranges),
    )


def _encoding(head: bytes) -> str | None:
    if head.startswith(b"\xef\xbb\xbf"):
        return "utf-8-sig"
    cut = head[: head.rfind(b"\n") + 1] or head
    for encoding in ("utf-8", "gb18030"):
        try:
            cut.decode(encoding)
        except UnicodeDecodeError:
            continue
        return encoding
    return None


def _ranges(path: Path, start: int, size: int, chunk: int, *, quotes: int) -> list[tuple[int, int]]:
    """Byte ranges of about ``chunk`` bytes, each ending after a newline outside quotes."""
    ranges: list[tuple[int, int]] = []
    parity = quotes % 2
    with open(path, "rb") as handle:
        pos = start
        while pos < size:
            target = pos + chunk
            if target >= size:
                ranges.append((pos, size))
                break
            handle.seek(pos)
            parity = (parity + handle.read(target - pos).count(b'"')) % 2
            cut = size
            offset = target
            while offset < size:
                handle.seek(offset)
                block = handle.read(_SCAN_BYTES)
                if not block:
                    break
                i = 0
                found = False
                while True:
                    j = block.find(b"\n", i)
                    if j < 0:
                        parity = (parity + block.count(b'"', i)) % 2
                        break
                    parity = (parity + block.count(b'"', i, j)) % 2
                    if parity == 0:
                        cut = offset + j + 1
                        found = True
                        break
                    i = j + 1
                if found:
                    break
                offset += len(block)
            ranges.append((pos, cut))
            # the parity at ``cut`` is even by construction
            parity = 0
            pos = cut
    return ranges


def empty_chunk(layer: str) -> pd.DataFrame:
    """The typed schema of one piece of ``layer`` (no rows): the Dask meta."""
    problems = ProblemList()
    spec = point_spec(layer)
    frame = pd.DataFrame({c.name: pd.Series([], dtype="str") for c in spec.columns})
    from territory.inputs.layers import type_columns

    typed = type_columns(frame, pd.Series([], dtype="int64"), spec, problems, "-")
    typed = typed[[c.name for c in spec.columns]]
    typed["_row"] = pd.Series([], dtype="int64")
    typed["_part"] = pd.Series([], dtype="int64")
    return typed


def read_chunk(
    source: PointSource,
    index: int,
    *,
    dealer_parts: dict[str, int],
    settings,
) -> tuple[pd.DataFrame, dict]:
    """Read and type piece ``index`` of a point file.

    Returns the typed rows (the layer's columns, ``dealer_id``, the encoded
    row ``_row`` and the dealer's partition ``_part``, -1 for an unknown
    dealer) and ``{"layer", "chunk", "records", "problems"}`` with rows still
    encoded.
    """
    from territory.inputs.layers import type_columns

    problems = ProblemList()
    spec = point_spec(source.layer)
    meta = empty_chunk(source.layer)
    info = {"layer": source.layer, "chunk": index, "records": 0, "problems": problems}
    if source.ranges is None:
        info["whole"] = True
        table = read_table(source.path, problems)
        if table is None:
            return meta, info
        frame, rows, labels, file = (
            table.frame,
            table.rows,
            {c: table.label(c) for c in table.frame.columns},
            table.file,
        )
    else:
        parsed = _parse_range(source, index, problems)
        if parsed is None:
            return meta, info
        frame, rows, labels, records = parsed
        info["records"] = records
        file = source.file
    typed = type_columns(frame, rows, spec, problems, file, labels=labels, settings=settings)
    ids = typed["dealer_id"]
    unknown = ids.notna() & ~ids.isin(set(dealer_parts))
    if unknown.any():
        problems.add(
            file,
            "err.unknown_dealer_id",
            column=labels.get("dealer_id", "dealer_id"),
            rows=rows[unknown.to_numpy()],
            found=ids[unknown].iloc[0],
        )
    out = typed[[c.name for c in spec.columns]].copy()
    out["_row"] = rows.to_numpy(dtype="int64")
    out["_part"] = ids.map(dealer_parts).fillna(-1).astype("int64").to_numpy()
    return out, info


def _parse_range(source: PointSource, index: int, problems: ProblemList):
    start, end = source.ranges[index]
    with open(source.path, "rb") as handle:
        handle.seek(start)
        data = handle.read(end - start)
    base = index << ROW_BITS
    try:
        text = codecs.decode(data, source.encoding.replace("-sig", ""))
    except UnicodeDecodeError:
        problems.add(source.file, "err.encoding")
        return None
    header = list(source.header)
    try:
        frame = pd.read_csv(
            io.StringIO(text),
            sep=source.delimiter,
            header=None,
            names=header,
            index_col=False,
            dtype=str,
            keep_default_na=False,
            na_values=[""],
            skip_blank_lines=False,
        )
    except (pd.errors.ParserError, ValueError) as exc:
        problems.add(source.file, "err.csv_parse", detail=str(exc).splitlines()[0][:200])
        return None
    records = len(frame)
    mapping = canonical_columns(header, ProblemList(), source.file)
    frame = frame.loc[:, [h in mapping for h in header]]
    frame.columns = [mapping[str(h)] for h in frame.columns]
    frame = frame.drop(columns=[c for c in frame.columns if c.startswith("Unnamed:")])
    for column in frame.columns:
        frame[column] = frame[column].astype("str").str.strip().replace("", None)
    keep = frame.notna().any(axis=1).to_numpy() if len(frame.columns) else np.zeros(0, bool)
    rows = pd.Series(base + np.arange(records, dtype="int64"), dtype="int64")
    frame = frame.loc[keep].reset_index(drop=True)
    rows = rows.loc[keep].reset_index(drop=True)
    original = {canonical: h for h, canonical in mapping.items()}
    labels = {
        c: (original.get(c, c) if original.get(c, c) == c else f"{original[c]} ({c})")
        for c in frame.columns
    }
    return frame, rows, labels, records


def row_decoder(infos: Iterable[dict]) -> dict[str, np.ndarray | None]:
    """Per layer, the row offset of each piece, from the pieces' record counts.

    ``decode(layer, encoded) = offsets[layer][encoded >> 32] + (encoded & 0xffffffff)``.
    """
    counts: dict[str, dict[int, int]] = {}
    whole: set[str] = set()
    for info in infos:
        counts.setdefault(info["layer"], {})[info["chunk"]] = int(info["records"])
        if info.get("whole"):
            whole.add(info["layer"])
    offsets: dict[str, np.ndarray | None] = {}
    for layer, by_chunk in counts.items():
        if layer in whole:
            offsets[layer] = None  # read whole: the rows are the user's already
            continue
        n = max(by_chunk) + 1
        records = np.array([by_chunk.get(i, 0) for i in range(n)], dtype="int64")
        offsets[layer] = 2 + np.concatenate([[0], np.cumsum(records)[:-1]])
    return offsets


def decode_rows(rows: Sequence[int], offsets: np.ndarray | None) -> tuple[int, ...]:
    """The user's row numbers of encoded rows (unchanged for whole-file pieces)."""
    values = np.asarray(rows, dtype="int64")
    if offsets is None or not len(values):
        return tuple(int(r) for r in values)
    chunk = values >> ROW_BITS
    return tuple(int(r) for r in offsets[chunk] + (values & _LOW))


def merge_problems(
    problems: Iterable[Problem],
    offsets: dict[str, np.ndarray | None],
    layer_of_file: dict[str, str],
) -> list[Problem]:
    """Decode rows and merge the same problem reported by several pieces into one."""
    merged: dict[tuple, Problem] = {}
    order: list[tuple] = []
    for p in problems:
        layer = layer_of_file.get(p.file)
        rows = decode_rows(p.rows, offsets.get(layer)) if layer in offsets else p.rows
        key = (p.file, p.key, p.column, p.severity, p.row_kind)
        if key in merged:
            old = merged[key]
            merged[key] = dataclasses.replace(old, rows=tuple(sorted({*old.rows, *rows})))
        else:
            merged[key] = dataclasses.replace(p, rows=tuple(sorted(set(rows))))
            order.append(key)
    return [merged[k] for k in order]
