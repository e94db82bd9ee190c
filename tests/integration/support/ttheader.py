"""A reader for Kitex TTHeader messages (docs/KITEX.md): u32 length, u16 magic 0x1000, u16 flags,
u32 seqid, u16 header size in 4-byte words, then protocol id, transforms and info blocks
(0x01 string key/values, 0x10 int key/values), padding, and the payload (either a u32
length + message, or the bare message)."""

import struct
import time

from .rpc import recv_exact

MAGIC = 0x1000
INFO_KEYVALUE = 0x01
INFO_INTKEYVALUE = 0x10
INFO_PADDING = 0x00


class TTHeader:
    def __init__(self, flags, seqid, protocol_id, transforms, strings, ints, payload):
        self.flags, self.seqid = flags, seqid
        self.protocol_id, self.transforms = protocol_id, transforms
        self.strings, self.ints, self.payload = strings, ints, payload

    def message(self):
        """The Thrift message inside, without its inner frame length if there is one."""
        p = self.payload
        if len(p) >= 8 and p[4:6] == b"\x80\x01":
            (n,) = struct.unpack(">I", p[:4])
            assert n == len(p) - 4, f"inner frame length {n} for {len(p) - 4} bytes"
            return p[4:], True
        return p, False

    def __repr__(self):
        return (f"TTHeader(seqid={self.seqid}, strings={self.strings}, ints={self.ints}, "
                f"payload={self.payload.hex()})")


def parse(data):
    """Parses one whole TTHeader message (with its leading u32 length)."""
    (length,) = struct.unpack(">I", data[:4])
    assert length == len(data) - 4, f"TTHeader length {length} for {len(data) - 4} bytes"
    magic, flags, seqid, hwords = struct.unpack(">HHIH", data[4:14])
    assert magic == MAGIC, f"magic {magic:#x}"
    hdr_end = 14 + hwords * 4
    assert hdr_end <= len(data), "header size past the end"
    i = 14
    protocol_id, ntrans = data[i], data[i + 1]
    i += 2
    transforms = list(data[i:i + ntrans])
    i += ntrans
    strings, ints = {}, {}
    while i < hdr_end:
        info = data[i]
        i += 1
        if info == INFO_PADDING:
            assert all(b == 0 for b in data[i:hdr_end]), "non-zero padding"
            break
        (count,) = struct.unpack(">H", data[i:i + 2])
        i += 2
        for _ in range(count):
            if info == INFO_KEYVALUE:
                (kl,) = struct.unpack(">H", data[i:i + 2])
                key = data[i + 2:i + 2 + kl].decode()
                i += 2 + kl
            elif info == INFO_INTKEYVALUE:
                (key,) = struct.unpack(">H", data[i:i + 2])
                i += 2
            else:
                raise AssertionError(f"unknown info id {info:#x}")
            (vl,) = struct.unpack(">H", data[i:i + 2])
            val = data[i + 2:i + 2 + vl].decode()
            i += 2 + vl
            (strings if info == INFO_KEYVALUE else ints)[key] = val
    assert i <= hdr_end, "info blocks run past the header size"
    return TTHeader(flags, seqid, protocol_id, transforms, strings, ints, data[hdr_end:])


def read(sock, timeout=15.0):
    """Reads one TTHeader message from @sock and parses it."""
    deadline = time.monotonic() + timeout
    head = recv_exact(sock, 4, deadline)
    (n,) = struct.unpack(">I", head)
    assert 14 <= n <= 16 * 1024 * 1024, f"TTHeader length {n}"
    return parse(head + recv_exact(sock, n, deadline))
