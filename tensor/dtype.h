// Element types and devices: the two tags every tensor carries.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

#include "tensor/error.h"

namespace dcodr {

// float32 is the training type, float64 exists for gradient checks on the CPU,
// int64 holds labels and indices (PyTorch's conventions, so checkpoints map 1:1).
enum class DType : std::uint8_t { f32, f64, i64 };

std::size_t dtype_size(DType t);
const char* dtype_name(DType t);
bool is_floating(DType t);

struct Device {
    enum class Kind : std::uint8_t { cpu, cuda };
    Kind kind = Kind::cpu;
    int index = 0;

    static Device cpu() { return {}; }
    static Device cuda(int i = 0) { return {Kind::cuda, i}; }
    // Parses "cpu", "cuda", "cuda:1"; throws naming the accepted forms otherwise.
    static Device parse(const std::string& text);

    bool is_cpu() const { return kind == Kind::cpu; }
    bool is_cuda() const { return kind == Kind::cuda; }
    std::string str() const;
    bool operator==(const Device& o) const { return kind == o.kind && (is_cpu() || index == o.index); }
    bool operator!=(const Device& o) const { return !(*this == o); }
};

// Calls f with a value of the C++ type that matches t (float, double or int64_t).
template <class F>
decltype(auto) dispatch_dtype(DType t, F&& f) {
    switch (t) {
        case DType::f32: return f(float{});
        case DType::f64: return f(double{});
        default: return f(std::int64_t{});
    }
}

// Same, for kernels that only make sense on floating types.
template <class F>
decltype(auto) dispatch_floating(DType t, const char* op, F&& f) {
    if (t == DType::f32) return f(float{});
    if (t == DType::f64) return f(double{});
    fail("{}: expected a floating tensor (float32 or float64), got int64", op);
}

}  // namespace dcodr
