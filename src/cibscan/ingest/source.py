"""Opening input files: transparent gzip/zstd decompression with a bound, and content sniffing."""

from __future__ import annotations

import gzip
import io
import os
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Final

import zstandard

from cibscan.errors import BadInputError

__all__ = ["Sample", "compression_of", "open_input", "sample_input"]

_GZIP_MAGIC: Final = b"\x1f\x8b"
_ZSTD_MAGIC: Final = b"\x28\xb5\x2f\xfd"
SAMPLE_BYTES: Final = 64 * 1024


def compression_of(path: Path) -> str | None:
    """Return ``"gzip"``, ``"zstd"`` or ``None`` from the file's first bytes (not its name)."""
    with open(path, "rb") as fh:
        head = fh.read(4)
    if head.startswith(_GZIP_MAGIC):
        return "gzip"
    if head.startswith(_ZSTD_MAGIC):
        return "zstd"
    return None


class _BoundedReader(io.RawIOBase):
    """A decompressing stream that stops with a clear error past a size or ratio bound.

    A gzip bomb expands a few kilobytes into terabytes; reading it whole would fill memory or
    disk. We allow any size up to ``max_bytes`` and any ratio up to ``max_ratio`` once more than
    ``ratio_floor`` bytes have come out (small files legitimately compress very well).
    """

    def __init__(
        self,
        inner: IO[bytes],
        raw: IO[bytes],
        path: Path,
        max_bytes: int,
        max_ratio: float,
        ratio_floor: int = 256 * 1024 * 1024,
    ) -> None:
        super().__init__()
        self._inner = inner
        self._raw = raw
        self._path = path
        self._max_bytes = max_bytes
        self._max_ratio = max_ratio
        self._ratio_floor = ratio_floor
        self._out = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        try:
            data = self._inner.read(len(buffer))
        except (OSError, EOFError, zstandard.ZstdError) as exc:
            raise BadInputError(f"cannot decompress: {exc}", file=str(self._path)) from exc
        n = len(data)
        buffer[:n] = data
        self._out += n
        if self._out > self._max_bytes:
            raise BadInputError(
                f"decompressed size exceeds the limit of {self._max_bytes} bytes "
                "(possible decompression bomb); raise max_decompressed_bytes to allow it",
                file=str(self._path),
            )
        if self._out > self._ratio_floor:
            consumed = max(self._raw.tell(), 1)
            if self._out / consumed > self._max_ratio:
                raise BadInputError(
                    f"decompression ratio exceeds {self._max_ratio:.0f}:1 "
                    "(possible decompression bomb); raise max_decompression_ratio to allow it",
                    file=str(self._path),
                )
        return n

    def close(self) -> None:
        try:
            self._inner.close()
        finally:
            self._raw.close()
            super().close()


def open_input(path: Path, *, max_bytes: int = 1 << 40, max_ratio: float = 200.0) -> IO[bytes]:
    """Open a file for streaming, decompressing gzip or zstd transparently.

    Parameters
    ----------
    path
        The input file.
    max_bytes, max_ratio
        Bounds on decompressed output (see :class:`_BoundedReader`).
    """
    compression = compression_of(path)
    if compression is None:
        return open(path, "rb")
    raw = open(path, "rb")  # noqa: SIM115  (closed by the wrapper)
    inner: IO[bytes]
    if compression == "gzip":
        inner = gzip.GzipFile(fileobj=raw, mode="rb")  # type: ignore[assignment]
    else:
        # The Pushshift and Arctic Shift dumps of Reddit are compressed with a window of 2 GiB
        # (zstd --long=31), beyond the library's default limit of 128 MiB.
        decompressor = zstandard.ZstdDecompressor(max_window_size=1 << 31)
        inner = decompressor.stream_reader(raw, read_across_frames=True)
    return io.BufferedReader(
        _BoundedReader(inner, raw, path, max_bytes, max_ratio), buffer_size=1 << 20
    )


@dataclass(frozen=True)
class Sample:
    """The first bytes of an input (decompressed), for format detection."""

    path: Path
    head: bytes
    compression: str | None

    @property
    def text(self) -> str:
        """The sample decoded as UTF-8 (undecodable bytes replaced), without a BOM."""
        return self.head.decode("utf-8", errors="replace").lstrip("\ufeff")

    def first_line(self) -> str:
        """The first line of the sample."""
        return self.text.split("\n", 1)[0].rstrip("\r")


def sample_input(path: Path) -> Sample:
    """Read the first :data:`SAMPLE_BYTES` bytes of an input, decompressed."""
    if not path.exists():
        raise BadInputError("no such file", file=str(path))
    if path.is_dir():
        raise BadInputError("is a directory, not a file", file=str(path))
    compression = compression_of(path)
    with open_input(path) as fh:
        head = fh.read(SAMPLE_BYTES)
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):  # as Excel's "Unicode text" saves
        raise BadInputError(
            "the file is UTF-16 (it starts with a UTF-16 byte-order mark); save it as UTF-8, "
            "for example with `iconv -f UTF-16 -t UTF-8`",
            file=str(path),
        )
    return Sample(path=path, head=head, compression=compression)


def file_size(path: Path) -> int:
    """Return the size of a file in bytes."""
    return os.stat(path).st_size
