// A thread's scratch buffer for the CPU convolutions: grows on demand and is not zero-filled
// (every user overwrites it). It comes from the backend's caching allocator like tensors do: a
// fresh multi-MB block per call would page-fault on every call (measured: layer3
// backward-filter 95 -> 33 GFLOP/s).
#pragma once
#include <cstdint>
#include <utility>

#include "tensor/cpu/cpu_backend.h"

namespace dcodr {

template <class T>
struct Scratch {
    T* p = nullptr;
    std::int64_t n = 0;
    Scratch() = default;
    Scratch(Scratch&& o) noexcept : p(std::exchange(o.p, nullptr)), n(std::exchange(o.n, 0)) {}
    Scratch(const Scratch&) = delete;
    Scratch& operator=(const Scratch&) = delete;
    ~Scratch() { release(); }
    T* get(std::int64_t need) {
        if (need > n) {
            release();
            p = static_cast<T*>(CpuBackend::cache().allocate(static_cast<std::size_t>(need) * sizeof(T)));
            n = need;
        }
        return p;
    }
    void release() {
        if (p) CpuBackend::cache().release(p, static_cast<std::size_t>(n) * sizeof(T));
        p = nullptr;
        n = 0;
    }
};

}  // namespace dcodr
