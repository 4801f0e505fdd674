// Reading torch.save files (.pth, .pt, .pth.tar) into named tensors, without Python.
//
// Two layouts exist (docs/pytorch-checkpoints.md):
//   zip (PyTorch >= 1.6): <any folder>/data.pkl holds the pickled object, each storage is
//     the entry <folder>/data/<key>, raw little-endian (entries stored, or deflated when a
//     tool re-zipped the file);
//   legacy (older files, e.g. MoCo's releases): pickles of the magic number, the protocol
//     version and system info, then the object, then the list of storage keys, then each
//     storage as an int64 element count followed by its raw bytes.
// The object is read by the restricted unpickler (nn/pickle.h): no code runs. Tensors are
// strided views of storages; they are copied out contiguous, converted to dcodr's dtypes
// (F16/BF16 -> float32; I32/I16/I8/U8/BOOL -> int64; F32, F64, I64 as they are).
#pragma once
#include <string>
#include <string_view>
#include <vector>

#include "nn/named_tensor.h"

namespace dcodr::nn {

struct CheckpointTensor {
    std::string name;          // dotted path from the chosen root: "conv1.weight", "nested.list.0"
    std::string stored_dtype;  // as in the file: F32, F16, BF16, F64, I64, I32, I16, I8, U8, BOOL
    std::int64_t stored_bytes = 0;  // numel * the stored element size
    Tensor tensor;             // on the CPU, contiguous, converted
};

struct TorchCheckpoint {
    std::string layout;  // "zip" or "legacy"
    std::string key;     // the key path the tensors were taken from ("" = the whole object)
    std::vector<CheckpointTensor> tensors;
    std::vector<std::string> others;  // non-tensor leaves as "name = value" ("epoch = 800")

    std::vector<NamedTensor> named() const;
};

struct TorchLoadOptions {
    // Where the state dict sits in the pickled object: dict keys joined by '/', e.g.
    // "state_dict" or "model/ema". Empty: the whole object, or with auto_key its
    // "state_dict" / "model" entry when it has one (MoCo, DINO, timm training checkpoints).
    std::string key;
    bool auto_key = true;
};

// True when the bytes start like a torch.save file (a zip with */data.pkl, or the legacy
// magic number). Cheap: looks at the first bytes only (zip: the local header's name).
bool looks_like_torch_checkpoint(std::string_view head);

TorchCheckpoint load_torch_checkpoint(const std::string& path, const TorchLoadOptions& options = {});
// The same from memory; `source` names the bytes in messages (tests, fuzzing).
TorchCheckpoint parse_torch_checkpoint(std::string_view bytes, const TorchLoadOptions& options,
                                       const std::string& source);

}  // namespace dcodr::nn
