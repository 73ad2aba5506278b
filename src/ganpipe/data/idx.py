"""Reader for the IDX files of the original MNIST distribution (and Fashion-MNIST), plain or gzipped.

Layout: a 4-byte big-endian magic ``0x0000 <type> <ndim>``, then ``ndim`` big-endian uint32
sizes, then the data. Only unsigned bytes (type 0x08) occur in MNIST.
"""

from __future__ import annotations

import gzip
import os
import zlib
from pathlib import Path

import numpy as np

from ..errors import DataError

_UBYTE = 0x08


def read_idx(path: str | os.PathLike, *, expect_ndim: int) -> np.ndarray:
    """Return the uint8 array stored in IDX file ``path`` (``.gz`` decompressed transparently).

    Raises DataError naming the file for a wrong magic number, a dimension count other than
    ``expect_ndim``, or a payload whose length disagrees with the header.
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
        if path.suffix == ".gz":
            raw = gzip.decompress(raw)
    except FileNotFoundError:
        raise DataError(f"{path}: file not found") from None
    except (OSError, EOFError, zlib.error) as exc:
        raise DataError(f"{path}: cannot decompress ({exc or 'truncated gzip stream'})") from None
    if len(raw) < 4:
        raise DataError(f"{path}: too short for an IDX header ({len(raw)} bytes)")
    zero, dtype, ndim = int.from_bytes(raw[0:2], "big"), raw[2], raw[3]
    if zero != 0 or dtype != _UBYTE or ndim != expect_ndim:
        expected = 0x0800 + expect_ndim
        raise DataError(
            f"{path}: wrong magic number 0x{int.from_bytes(raw[:4], 'big'):08x}, "
            f"expected 0x{expected:08x} (unsigned bytes, {expect_ndim} dimension(s))"
        )
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise DataError(f"{path}: header truncated ({len(raw)} bytes)")
    dims = tuple(int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    expected = int(np.prod(dims, dtype=np.int64))
    if len(raw) - header != expected:
        raise DataError(
            f"{path}: header says {'x'.join(map(str, dims))} = {expected} bytes of data, "
            f"file holds {len(raw) - header}"
        )
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(dims)
