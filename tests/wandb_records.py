"""Records of a W&B offline run (its ``run-*.wandb`` transaction log), decoded with wandb's own
protobuf definitions: the log is LevelDB's log format (32 KiB blocks of checksummed chunks) after
a 7-byte W&B header."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

BLOCK = 32 * 1024
HEADER = 7  # b":W&B", magic 0xBEE1, version
FULL, FIRST, MIDDLE, LAST = 1, 2, 3, 4


def read_records(path: Path) -> list:
    """Every ``wandb_internal_pb2.Record`` of a transaction log, in order (checksums verified)."""
    from wandb.proto import wandb_internal_pb2 as pb

    data = Path(path).read_bytes()
    assert data[:4] == b":W&B", f"{path} is no W&B transaction log"
    pos, pending, out = HEADER, b"", []
    while pos + 7 <= len(data):
        left = BLOCK - pos % BLOCK
        if left < 7:  # a block's tail too short for a chunk header is padding
            pos += left
            continue
        crc, length, kind = struct.unpack("<IHB", data[pos : pos + 7])
        chunk = data[pos + 7 : pos + 7 + length]
        if kind == 0 and length == 0:
            break
        assert zlib.crc32(chunk, zlib.crc32(bytes([kind]))) & 0xFFFFFFFF == crc, (
            f"bad chunk at {pos}"
        )
        pos += 7 + length
        pending = chunk if kind in (FULL, FIRST) else pending + chunk
        if kind in (FULL, LAST):
            record = pb.Record()
            record.ParseFromString(pending)
            out.append(record)
            pending = b""
    return out
