// CUDA simulator: kernel launches and the warp/block intrinsics of the CUDA kernel language.
//
// A launch's blocks are shared out among a few host threads (DCODR_CUDA_SIM_THREADS, default
// the machine's cores), the launching one included, and it returns when all have run. Within
// a block every CUDA thread is a fiber with its own stack (cuda/sim/threads.cpp); a fiber runs
// until it finishes or reaches a synchronisation point (__syncthreads, __syncwarp, a shuffle,
// a match), and the block's scheduler releases a barrier only when every thread it names has
// arrived.
// So shared memory, barriers and warp shuffles behave as the CUDA programming guide defines
// them, and code that breaks their rules is reported instead of silently working:
// - __syncthreads reached by some threads of a block while others have exited or wait elsewhere;
// - a *_sync warp intrinsic whose mask names a lane that has exited or does not exist (partial
//   warp), or does not name the calling lane; barriers that can never complete (deadlock);
// - a launch with an invalid configuration (as cudaGetLastError would report it);
// - a kernel pointer argument that is not device memory (a host pointer passed to a kernel).
// Included by the simulator's cuda_runtime.h; kernel code uses DCODR_LAUNCH (cuda/launch.h).
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>

namespace dcodr::cuda::sim {

// True when p lies inside a live simulated cudaMalloc allocation (cuda/sim/runtime.cpp).
bool is_device_pointer(const void* p);
// Records a launch-configuration error for cudaGetLastError, as the CUDA runtime does.
void set_launch_error(cudaError_t e, const std::string& detail);

// Runs body(ctx) once per thread of the grid (see above). Throws dcodr::Error when the
// kernel breaks a synchronisation rule; returns false (error recorded) on a bad configuration.
bool run_grid(dim3 grid, dim3 block, const char* kernel, void (*body)(void*), void* ctx);

// Warp-level exchange used by the intrinsics below: every lane in `mask` contributes `value`,
// and the call returns once all of them have; values[l] is lane l's contribution.
const std::uint64_t* warp_exchange(unsigned mask, std::uint64_t value, const char* what);
// Waits until every lane in `mask` has arrived (no exchange).
void warp_barrier(unsigned mask, const char* what);
void block_barrier();
unsigned lane_id();

template <class T>
std::uint64_t to_bits(T v) {
    static_assert(sizeof(T) <= 8 && std::is_trivially_copyable_v<T>, "shuffles move at most 8 bytes");
    std::uint64_t b = 0;
    std::memcpy(&b, &v, sizeof(T));
    return b;
}
template <class T>
T from_bits(std::uint64_t b) {
    T v;
    std::memcpy(&v, &b, sizeof(T));
    return v;
}

template <class... P>
struct Launch {
    void (*kernel)(P...);
    dim3 grid, block;
    const char* name;

    template <class... A>
    void operator()(A&&... args) const {
        static_assert(sizeof...(A) == sizeof...(P), "kernel launched with the wrong number of arguments");
        struct Ctx {
            void (*kernel)(P...);
            std::tuple<std::decay_t<P>...> args;
        } ctx{kernel, std::tuple<std::decay_t<P>...>(std::forward<A>(args)...)};
        if (!pointers_are_device(ctx.args, std::index_sequence_for<P...>{})) return;
        run_grid(grid, block, name, [](void* c) {
            auto* x = static_cast<Ctx*>(c);
            std::apply(x->kernel, x->args);  // by value, as a kernel receives its arguments
        }, &ctx);
    }

private:
    template <class Tuple, std::size_t... I>
    bool pointers_are_device(const Tuple& t, std::index_sequence<I...>) const {
        bool ok = true;
        std::size_t at = 0;
        auto check = [&](const auto& v) {
            using V = std::decay_t<decltype(v)>;
            if constexpr (std::is_pointer_v<V> && !std::is_function_v<std::remove_pointer_t<V>>) {
                if (ok && v != nullptr && !is_device_pointer(v)) {
                    ok = false;
                    set_launch_error(cudaErrorInvalidDevicePointer,
                                     std::string(name) + ": argument " + std::to_string(at) +
                                         " is not device memory (a host pointer passed to a kernel?)");
                }
            }
            ++at;
        };
        (check(std::get<I>(t)), ...);
        return ok;
    }
};

// The stream is not used: the simulator runs every launch to completion before returning.
template <class... P>
Launch<P...> launcher(dim3 grid, dim3 block, cudaStream_t, void (*kernel)(P...), const char* name) {
    return Launch<P...>{kernel, grid, block, name};
}

}  // namespace dcodr::cuda::sim

// ---- intrinsics (global namespace, as in CUDA)

inline void __syncthreads() { dcodr::cuda::sim::block_barrier(); }
inline void __syncwarp(unsigned mask = 0xffffffffu) { dcodr::cuda::sim::warp_barrier(mask, "__syncwarp"); }

template <class T>
T __shfl_sync(unsigned mask, T v, int src, int width = 32) {
    namespace s = dcodr::cuda::sim;
    unsigned lane = s::lane_id();
    unsigned base = lane - lane % static_cast<unsigned>(width);
    const std::uint64_t* vals = s::warp_exchange(mask, s::to_bits(v), "__shfl_sync");
    return s::from_bits<T>(vals[base + static_cast<unsigned>(src) % static_cast<unsigned>(width)]);
}
template <class T>
T __shfl_down_sync(unsigned mask, T v, unsigned delta, int width = 32) {
    namespace s = dcodr::cuda::sim;
    unsigned lane = s::lane_id();
    unsigned in_seg = lane % static_cast<unsigned>(width);
    const std::uint64_t* vals = s::warp_exchange(mask, s::to_bits(v), "__shfl_down_sync");
    // A source past the segment's end leaves the value unchanged (CUDA's rule).
    return in_seg + delta < static_cast<unsigned>(width) ? s::from_bits<T>(vals[lane + delta]) : v;
}
// The lanes of `mask` whose value equals this lane's.
template <class T>
unsigned __match_any_sync(unsigned mask, T v) {
    namespace s = dcodr::cuda::sim;
    std::uint64_t mine = s::to_bits(v);
    const std::uint64_t* vals = s::warp_exchange(mask, mine, "__match_any_sync");
    unsigned peers = 0;
    for (unsigned l = 0; l < 32; ++l)
        if (((mask >> l) & 1u) && vals[l] == mine) peers |= 1u << l;
    return peers;
}
inline int __ffs(int x) { return __builtin_ffs(x); }
inline int __ffs(unsigned x) { return __builtin_ffs(static_cast<int>(x)); }
