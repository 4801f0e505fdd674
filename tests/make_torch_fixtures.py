#!/usr/bin/python3
"""Writes the PyTorch checkpoint fixtures of tests/test_torch_checkpoint.cpp with real
torch.save (Debian's python3-torch 1.13), so the C++ reader is checked against PyTorch's own
bytes, not against our idea of them:

  resnet18_w32.safetensors     the reference: the same weights, written by hand in the
                               safetensors layout (header length, JSON, raw data), F32
  resnet18_w32_features.json  PyTorch's pooled features of that model for a formula input
  resnet18_w32_zip.pth         torch.save, zip layout (PyTorch >= 1.6), torchvision names
  resnet18_w32_legacy.pth      torch.save(..., _use_new_zipfile_serialization=False)
  resnet18_w32_fp16.pth        zip layout, every float tensor half precision
  moco_w32_legacy.pth          MoCo's layout: {'epoch', 'arch', 'state_dict': {
                               'module.encoder_q.<torchvision name>', 'module.encoder_q.fc.0/2.*',
                               'module.encoder_k.*', 'module.queue', 'module.queue_ptr'},
                               'optimizer': {...}}, legacy layout as MoCo's release files
  misc_zip.pth / misc_legacy.pth  nested dicts, lists, ints/floats/strings/bools/None, F64,
                               I64, BF16 and I32 tensors, views sharing one storage (row,
                               column, transpose, offset), an nn.Parameter
  misc_deflated.pth            misc_zip.pth re-zipped with deflated entries, another folder name
  misc_expected.json           the values misc_*.pth must load to (flattened, C order)
  evil_system.pth              a zip checkpoint whose pickle calls os.system (must be refused)
  evil_eval_legacy.pth         a legacy checkpoint whose pickle calls builtins.eval
  zip_bomb.pth                 a zip checkpoint whose storage entry is 32 MiB of deflated zeros

The model is a ResNet-18 with torchvision's parameter names at 1/32 of its width (channels
2, 4, 8, 16), the shape dcodr builds with `--depth 18 --width 0.03125`, so the files stay small.
Weights follow a formula (no RNG), so rerunning gives the same files.

Usage: /usr/bin/python3 tests/make_torch_fixtures.py [output folder]
"""
import collections
import json
import math
import os
import struct
import sys
import zipfile

import torch
import torch.nn as nn

OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "fixtures", "torch")


class BasicBlock(nn.Module):
    def __init__(self, cin, planes, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        if stride != 1 or cin != planes:
            self.downsample = nn.Sequential(nn.Conv2d(cin, planes, 1, stride, bias=False), nn.BatchNorm2d(planes))


class TinyResNet18(nn.Module):
    """torchvision.models.resnet18's names and shapes at width 1/32 (fc: 10 classes)."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 2, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(2)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        cin = 2
        for i, (planes, stride) in enumerate([(2, 1), (4, 2), (8, 2), (16, 2)]):
            layer = nn.Sequential(BasicBlock(cin, planes, stride), BasicBlock(planes, planes, 1))
            setattr(self, "layer%d" % (i + 1), layer)
            cin = planes
        self.fc = nn.Linear(16, 10)

    def features(self, x):  # torchvision's forward up to the pooled features
        x = self.maxpool(torch.relu(self.bn1(self.conv1(x)))) if hasattr(self, "maxpool") else None
        for i in range(1, 5):
            for b in getattr(self, "layer%d" % i):
                out = b.bn2(b.conv2(torch.relu(b.bn1(b.conv1(x)))))
                x = torch.relu(out + (b.downsample(x) if hasattr(b, "downsample") else x))
        return torch.flatten(nn.functional.adaptive_avg_pool2d(x, 1), 1)


def formula_weights(model):
    """Every tensor k: element i = f(i, k), distinct everywhere, exact in float16."""
    with torch.no_grad():
        for k, (name, t) in enumerate(model.state_dict().items()):
            if name.endswith("num_batches_tracked"):
                t.fill_(k + 3)
                continue
            i = torch.arange(t.numel(), dtype=torch.float64)
            v = 0.25 * torch.sin(0.7 * i + 0.3 * k)
            if name.endswith("running_var") or (name.endswith("weight") and "bn" in name):
                v = 1 + v.abs()
            # round to float16's grid so the fp16 file holds exactly the same values
            t.copy_(v.to(torch.float16).to(torch.float64).reshape(t.shape))
    return model


def write_safetensors(path, tensors):
    names = {torch.float32: "F32", torch.float64: "F64", torch.int64: "I64"}
    header, blobs, offset = {"__metadata__": {"format": "pt"}}, [], 0
    for name, t in tensors.items():
        data = t.contiguous().numpy().tobytes()
        header[name] = {"dtype": names[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def flat(t):
    return [float(x) for x in t.double().flatten().tolist()]


class System:  # pickles as a call of os.system: what a hostile checkpoint looks like
    def __reduce__(self):
        return (os.system, ("echo this checkpoint ran code",))


class Eval:
    def __reduce__(self):
        return (eval, ("1 + 1",))


def main():
    os.makedirs(OUT, exist_ok=True)
    path = lambda name: os.path.join(OUT, name)
    model = formula_weights(TinyResNet18())
    sd = model.state_dict()
    # PyTorch's own pooled features of the model (eval mode, float64) for a formula input:
    # what the weights must compute once dcodr has mapped them into its encoder.
    x = (0.5 + 0.5 * torch.sin(0.05 * torch.arange(2 * 3 * 32 * 32, dtype=torch.float64))).reshape(2, 3, 32, 32)
    with torch.no_grad():
        feats = model.double().eval().features(x)
    model.float()
    with open(path("resnet18_w32_features.json"), "w") as f:
        json.dump({"input": "0.5 + 0.5*sin(0.05*i), shape [2, 3, 32, 32]", "shape": list(feats.shape),
                   "features": flat(feats), "torch": torch.__version__}, f, indent=1)
    write_safetensors(path("resnet18_w32.safetensors"), sd)
    torch.save(sd, path("resnet18_w32_zip.pth"))
    torch.save(sd, path("resnet18_w32_legacy.pth"), _use_new_zipfile_serialization=False)
    half = collections.OrderedDict((k, v.half() if v.is_floating_point() else v) for k, v in sd.items())
    torch.save(half, path("resnet18_w32_fp16.pth"))

    moco = collections.OrderedDict()
    for k, v in sd.items():
        if not k.startswith("fc."):
            moco["module.encoder_q." + k] = v
    moco["module.encoder_q.fc.0.weight"] = torch.full((16, 16), 0.5)
    moco["module.encoder_q.fc.0.bias"] = torch.zeros(16)
    moco["module.encoder_q.fc.2.weight"] = torch.full((8, 16), 0.25)
    moco["module.encoder_q.fc.2.bias"] = torch.zeros(8)
    moco["module.encoder_k.conv1.weight"] = torch.zeros(2, 3, 7, 7)
    moco["module.queue"] = torch.ones(8, 4)
    moco["module.queue_ptr"] = torch.zeros(1, dtype=torch.int64)
    optimizer = {"state": {0: {"momentum_buffer": torch.ones(3)}}, "param_groups": [{"lr": 0.03, "params": [0]}]}
    torch.save({"epoch": 800, "arch": "resnet50", "state_dict": moco, "optimizer": optimizer},
               path("moco_w32_legacy.pth"), _use_new_zipfile_serialization=False)

    base = torch.arange(12, dtype=torch.float32).reshape(3, 4) / 8
    big = torch.arange(10, dtype=torch.float64) * 0.5
    param = nn.Parameter(torch.tensor([1.5, -2.5]))
    misc = {
        "state_dict": collections.OrderedDict([
            ("base", base), ("row", base[1]), ("col", base[:, 2]), ("tr", base.t()),
            ("tail", big[3:7]), ("f64", big), ("i64", torch.tensor([[-3, 2**40], [7, 0]])),
            ("bf16", torch.tensor([1.0, -2.0, 0.5], dtype=torch.bfloat16)),
            ("i32", torch.tensor([5, -6], dtype=torch.int32)), ("param", param),
            ("scalar", torch.tensor(3.25)), ("empty", torch.zeros(0, 3)),
        ]),
        "nested": {"inner": {"w": torch.tensor([0.125, 0.375])}, "list": [torch.tensor([9.0]), 4]},
        "epoch": 3, "lr": 0.1, "name": "misc", "flags": [True, False, None], "pair": (1, "x"),
    }
    torch.save(misc, path("misc_zip.pth"))
    torch.save(misc, path("misc_legacy.pth"), _use_new_zipfile_serialization=False)
    expected = {k: {"shape": list(v.shape), "values": flat(v)} for k, v in misc["state_dict"].items()}
    expected["nested.inner.w"] = {"shape": [2], "values": [0.125, 0.375]}
    expected["nested.list.0"] = {"shape": [1], "values": [9.0]}
    with open(path("misc_expected.json"), "w") as f:
        json.dump(expected, f, indent=1)

    # The same archive re-zipped with deflate, as a zip tool would (PyTorch itself stores).
    with zipfile.ZipFile(path("misc_zip.pth")) as z:
        entries = [(i.filename, z.read(i)) for i in z.infolist()]
    with zipfile.ZipFile(path("misc_deflated.pth"), "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in entries:
            z.writestr(name.replace("misc_zip/", "renamed/"), data)

    torch.save({"weight": torch.ones(2), "payload": System()}, path("evil_system.pth"))
    torch.save({"weight": torch.ones(2), "payload": Eval()}, path("evil_eval_legacy.pth"),
               _use_new_zipfile_serialization=False)

    # A zip bomb: a valid zip-layout checkpoint, then its one storage re-deflated as 32 MiB
    # of zeros that the pickle claims as a float tensor (deflate packs them ~1000:1).
    n = 8 << 20
    torch.save({"w": torch.zeros(2)}, path("zip_bomb.pth"))
    with zipfile.ZipFile(path("zip_bomb.pth")) as z:
        entries = {i.filename: z.read(i) for i in z.infolist()}
    pkl = next(k for k in entries if k.endswith("/data.pkl"))
    entries[pkl] = entries[pkl].replace(b"K\x02\x85", b"J" + struct.pack("<i", n) + b"\x85")
    entries[pkl] = entries[pkl].replace(b"K\x02t", b"J" + struct.pack("<i", n) + b"t")
    entries[pkl[: -len("data.pkl")] + "data/0"] = bytes(4 * n)
    with zipfile.ZipFile(path("zip_bomb.pth"), "w", zipfile.ZIP_DEFLATED) as z:
        for k, v in entries.items():
            z.writestr(k, v)


if __name__ == "__main__":
    main()
