#!/usr/bin/env python3
"""Converts a legacy (pre-1.6, non-zip) PyTorch state-dict file into safetensors, with the
Python standard library only (no torch, no numpy).

    convert-torch-legacy.py IN.pth OUT.safetensors

The legacy format is a sequence of pickles followed by raw bytes:

1. the magic number, 2. the protocol version, 3. a `sys_info` dict (byte order, type sizes),
4. the state dict itself, where every tensor is `torch._utils._rebuild_tensor_v2(storage,
   offset, size, stride, ...)` and every storage is a *persistent id*
   `("storage", <type>, key, location, numel, view_metadata)`,
5. the list of storage keys, in the order their bytes follow,
6. for each key: its element count (int64, little-endian), then the elements.

Float32 tensors are written contiguous, in row-major order, as safetensors `F32`; integer
counters (`num_batches_tracked`) are left out.
"""

import array
import json
import pickle
import struct
import sys

MAGIC = 0x1950A86A20F9469CFC6C
PROTOCOL = 1001
# Bytes per element of the storage types a state dict holds (batch-norm layers keep an int64
# `num_batches_tracked`, which inference does not need and which is left out).
ELEMENT_SIZE = {"FloatStorage": 4, "LongStorage": 8, "IntStorage": 4, "DoubleStorage": 8}


class StorageType:
    def __init__(self, name):
        self.name = name


class TensorRef:
    def __init__(self, storage, offset, size, stride):
        self.storage, self.offset, self.size, self.stride = storage, offset, tuple(size), tuple(stride)


def rebuild_tensor(storage, offset, size, stride, *_rest):
    return TensorRef(storage, offset, size, stride)


class LegacyUnpickler(pickle.Unpickler):
    def find_class(self, module, name):
        if module == "torch" and name.endswith("Storage"):
            return StorageType(name)
        if module == "torch._utils" and name in ("_rebuild_tensor", "_rebuild_tensor_v2"):
            return rebuild_tensor
        if module == "collections" and name == "OrderedDict":
            import collections
            return collections.OrderedDict
        raise pickle.UnpicklingError(f"unexpected global {module}.{name} in the model file")

    def persistent_load(self, pid):
        kind, storage_type, key, _location, numel = pid[:5]
        if kind != "storage":
            raise pickle.UnpicklingError(f"unexpected persistent id {kind!r}")
        if pid[5] is not None:
            raise pickle.UnpicklingError("storage views are not supported")
        return (storage_type.name, key, numel)


def contiguous_strides(size):
    strides, acc = [], 1
    for d in reversed(size):
        strides.append(acc)
        acc *= d
    return tuple(reversed(strides))


def gather(storage, t, name):
    """The tensor's elements in row-major order. Weights converted from TensorFlow are often
    strided views (e.g. a conv kernel stored height-width-in-out), so the elements are picked
    by stride, the last dimension as one strided slice at a time."""
    numel = 1
    for d in t.size:
        numel *= d
    if numel == 0:
        return b""
    last = max(t.offset + sum((d - 1) * s for d, s in zip(t.size, t.stride)), t.offset)
    if (last + 1) * 4 > len(storage):
        raise ValueError(f"{name}: data outside its storage")
    if t.stride == contiguous_strides(t.size) or numel == 1:
        return storage[t.offset * 4 : (t.offset + numel) * 4]
    values = array.array("f")
    values.frombytes(storage)
    if sys.byteorder != "little":
        values.byteswap()
    out = array.array("f")
    size, stride = (t.size or (1,)), (t.stride or (1,))

    def walk(dim, base):
        if dim == len(size) - 1:
            out.extend(values[base : base + size[dim] * stride[dim] : stride[dim]] if stride[dim] > 0
                       else [values[base]] * size[dim])
            return
        for i in range(size[dim]):
            walk(dim + 1, base + i * stride[dim])

    walk(0, t.offset)
    if sys.byteorder != "little":
        out.byteswap()
    return out.tobytes()


def read_legacy(path):
    with open(path, "rb") as f:
        if LegacyUnpickler(f).load() != MAGIC:
            raise ValueError("not a legacy torch file (magic number)")
        if LegacyUnpickler(f).load() != PROTOCOL:
            raise ValueError("unsupported torch file protocol")
        sys_info = LegacyUnpickler(f).load()
        if not sys_info.get("little_endian", False):
            raise ValueError("big-endian torch files are not supported")
        state = LegacyUnpickler(f).load()
        keys = LegacyUnpickler(f).load()
        types = {t.storage[1]: t.storage[0] for t in state.values() if isinstance(t, TensorRef)}
        storages = {}
        for key in keys:
            (numel,) = struct.unpack("<q", f.read(8))
            width = ELEMENT_SIZE.get(types.get(key, ""))
            if width is None:
                raise ValueError(f"storage {key}: unknown element type {types.get(key)!r}")
            storages[key] = f.read(numel * width)
            if len(storages[key]) != numel * width:
                raise ValueError(f"storage {key} is truncated")
        if f.read(1):
            raise ValueError("trailing bytes after the last storage")
    tensors = {}
    skipped = 0
    for name, t in state.items():
        if not isinstance(t, TensorRef):
            continue
        type_name, key, _numel = t.storage
        if type_name != "FloatStorage":
            skipped += 1
            continue
        tensors[name] = (list(t.size), gather(storages[key], t, name))
    return tensors, skipped


def write_safetensors(tensors, path):
    header, offset = {}, 0
    for name in sorted(tensors):
        shape, data = tensors[name]
        header[name] = {"dtype": "F32", "shape": shape, "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
    blob = json.dumps(header, separators=(",", ":")).encode()
    blob += b" " * (-len(blob) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(blob)))
        f.write(blob)
        for name in sorted(tensors):
            f.write(tensors[name][1])


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: convert-torch-legacy.py IN.pth OUT.safetensors")
    tensors, skipped = read_legacy(sys.argv[1])
    write_safetensors(tensors, sys.argv[2])
    params = sum(len(d) // 4 for _, d in tensors.values())
    print(
        f"converted {len(tensors)} float tensors ({params} parameters; {skipped} integer counters left out)",
        file=sys.stderr,
    )


if __name__ == "__main__":
    main()
