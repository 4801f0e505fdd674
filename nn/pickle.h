// A restricted unpickler: reads the pickles inside PyTorch checkpoints (torch.save) into a
// tree of plain values, and nothing else.
//
// Python's pickle is a small stack machine whose GLOBAL + REDUCE opcodes call any importable
// function, so unpickling a file from the internet with Python runs whatever it says. This
// reader cannot: it knows only the opcodes a state dict is made of (containers, numbers,
// strings, memo, persistent ids) and an allowlist of four kinds of global, each with its own
// meaning here rather than a call:
//   collections.OrderedDict            -> an (ordered) dict
//   torch._utils._rebuild_tensor_v2     -> a tensor view of a storage (offset, sizes, strides)
//   torch._utils._rebuild_parameter     -> the tensor inside an nn.Parameter
//   torch.<Float|Half|BFloat16|Double|Long|Int|Short|Char|Byte|Bool>Storage
//                                       -> the element type of a persistent storage id
// Any other global (os.system, builtins.eval, numpy scalars, argparse.Namespace, ...) is
// refused when it is read, naming it. Malformed input throws dcodr::Error, never crashes:
// every length is checked against the bytes left, and objects live in one arena (no
// recursive destruction, cycles through the memo are harmless).
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tensor/tensor.h"

namespace dcodr::nn::pickle {

struct Object;

// A PyTorch storage named by a persistent id: ('storage', torch.FloatStorage, key,
// location, numel[, view metadata]). The data lives outside the pickle.
struct StorageRef {
    std::string key;         // zip layout: archive/data/<key>; legacy: the storage's record key
    std::string dtype;       // F32, F16, BF16, F64, I64, I32, I16, I8, U8, BOOL
    std::int64_t numel = 0;  // elements of the storage (the root storage for a legacy view)
    std::int64_t view_offset = 0;  // legacy views: element offset into the root storage
};

// torch._utils._rebuild_tensor_v2(storage, offset, size, stride, ...): a strided view.
struct TensorRef {
    const Object* storage = nullptr;  // kind storage
    std::int64_t offset = 0;
    Shape size, stride;
};

struct Object {
    enum class Kind { none, boolean, integer, big_integer, floating, string, bytes, tuple, list, dict, global,
                      storage, tensor };
    Kind kind = Kind::none;
    std::int64_t i = 0;                 // boolean, integer
    double f = 0;                       // floating
    std::string s;                      // string, bytes, big_integer (little-endian bytes), global ("module.name")
    std::vector<Object*> items;         // tuple, list
    std::vector<std::pair<Object*, Object*>> entries;  // dict, in insertion order
    StorageRef storage;
    TensorRef tensor;

    const Object* get(std::string_view key) const;  // dict lookup by string key; nullptr when absent
};

const char* kind_name(Object::Kind k);
// A short rendering for messages and `dcodr inspect` ("800", "'resnet50'", "[3 items]").
std::string describe(const Object& o);

class Unpickler {
public:
    // `data` must outlive the unpickler; `source` names it in messages (a file name).
    Unpickler(std::string_view data, std::string source);
    ~Unpickler();
    // Reads one pickle starting at `pos` (up to and including its STOP) and moves `pos` past
    // it. The result lives as long as the unpickler.
    const Object* load(std::size_t& pos);
    // Every storage reference created so far (one per persistent id).
    const std::vector<const Object*>& storages() const { return storages_; }

private:
    struct Machine;
    std::string_view data_;
    std::string source_;
    std::vector<std::unique_ptr<Object>> arena_;
    std::vector<const Object*> storages_;
};

}  // namespace dcodr::nn::pickle
