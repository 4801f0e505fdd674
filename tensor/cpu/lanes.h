// A row of kLanes values as one GCC/Clang vector, and the shuffles the CPU kernels build from
// it (conv_direct.h's shifted taps, stride2.h's interleaving). Header-only: the helpers return
// 64-byte vectors by value, which stay in registers only when inlined.
#pragma once

// 64-byte vectors returned by value from inline helpers: without AVX-512 GCC notes (at the
// instantiating function, in the including file) that such returns have another ABI there.
// Nothing crosses an ABI boundary: the helpers are inline in each file's build. So the note is
// silenced for the rest of every file that includes this one.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wpsabi"
#endif
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <utility>

namespace dcodr::lanes {

constexpr std::int64_t kLanes = 16;

// kLanes values of T as one GCC/Clang vector (AVX-512: one register of floats; NEON and AVX2
// split it): an array of these stays in registers where a T[][kLanes] array was kept in memory
// and stored back on every multiply-add (measured in the disassembly).
template <class T>
struct LanesOf;
template <>
struct LanesOf<float> {
    typedef float type __attribute__((vector_size(kLanes * sizeof(float))));
};
template <>
struct LanesOf<double> {
    typedef double type __attribute__((vector_size(kLanes * sizeof(double))));
};
template <class T>
using Lanes = typename LanesOf<T>::type;
template <class T>
inline Lanes<T> load_lanes(const T* p) {
    Lanes<T> v;
    std::memcpy(&v, p, sizeof v);
    return v;
}
template <class T>
inline void store_lanes(T* p, Lanes<T> v) {
    std::memcpy(p, &v, sizeof v);
}
// Lanes J .. J + kLanes - 1 of the 2·kLanes values lo, hi: x shifted by J taps. One shuffle
// (vpermt2ps on AVX-512) where an unaligned load per tap split a cache line 15 times in 16 and
// left the loop load-bound at ~0.45 of the GEMM's speed (7x7 -> 3, measured).
template <int J, class V, std::size_t... L>
inline V shifted(V lo, V hi, std::index_sequence<L...>) {
    return __builtin_shufflevector(lo, hi, (J + static_cast<int>(L))...);
}

}  // namespace dcodr::lanes
