// Reading and writing the safetensors format, byte-compatible with Python's `safetensors`
// package, so checkpoints move between dcodr and PyTorch without pickle.
//
// Layout: an 8-byte little-endian header length N; N bytes of JSON
//   {"__metadata__": {str: str}, "name": {"dtype": "F32", "shape": [2, 3],
//    "data_offsets": [begin, end]}, ...}
// padded with spaces to a multiple of 8 (so the data that follows stays aligned); then the
// tensor data, little-endian, C order, packed without gaps. Offsets count from the end of
// the header.
//
// We write F32/F64/I64 (our dtypes), and F16/BF16 on request (FloatStorage). We read those natively, and convert what PyTorch users
// commonly hand us: F16/BF16/F8_E4M3/F8_E5M2 -> float32; I32/I16/I8/U8/U16/U32/U64/BOOL ->
// int64. Every problem is reported as dcodr::Error naming the file and, where it applies,
// the tensor.
#pragma once
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "nn/named_tensor.h"

namespace dcodr::nn {

// Free-form string metadata (the "__metadata__" entry; PyTorch writes {"format": "pt"}).
using SafetensorsMetadata = std::map<std::string, std::string>;

struct SafetensorsContent {
    std::vector<NamedTensor> tensors;  // in header order, on the CPU
    SafetensorsMetadata metadata;

    const Tensor* find(std::string_view name) const;  // nullptr when absent
};

// Writes `tensors` in the given order (any device, any layout; copied to CPU contiguous one
// at a time, so a GPU model never needs a second full host copy). The file is replaced
// atomically (see atomic_file.h). Names must be unique and not "__metadata__".
// Unlike Python's writer we keep the caller's order instead of sorting by dtype, so a state
// dict reads back in module order. Python's reader accepts any order; ours copies the data
// out, so it does not rely on the 8-byte alignment that sorting by dtype would give.
// How float tensors are stored: as they are (F32, F64), or all as F16 / BF16 (rounded to
// nearest even, nn/float16.h; integer tensors stay I64). 16-bit files read back as float32.
// F16 refuses a finite value beyond its range (65504) instead of writing infinity.
enum class FloatStorage { f32, f16, bf16 };

void save_safetensors(const std::string& path, const std::vector<NamedTensor>& tensors,
                      const SafetensorsMetadata& metadata = {}, FloatStorage storage = FloatStorage::f32);

// Reads and validates a whole file.
SafetensorsContent load_safetensors(const std::string& path);

// In-memory forms of the same (tests, embedding in other containers). `source` names the
// bytes in error messages.
std::string safetensors_bytes(const std::vector<NamedTensor>& tensors, const SafetensorsMetadata& metadata = {},
                              FloatStorage storage = FloatStorage::f32);
SafetensorsContent parse_safetensors(std::string_view bytes, const std::string& source = "<memory>");

}  // namespace dcodr::nn
