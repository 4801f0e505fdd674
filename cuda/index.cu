// Index kernels on the [outer, n, inner] view around the indexed dim.
//
// Determinism without atomics:
// - index_add: the k indices are sorted (stable radix sort of (index, position) pairs, CUB),
//   then each output element (o, j, r) finds its run of equal indices by binary search and
//   adds the matching source rows in increasing position: the CPU's order, so float results
//   are bit-identical to the CPU backend's.
// - scatter_add: each output element (o, t, r) scans its k candidates j in increasing order
//   and adds those with idx[o, j, r] == t (again the CPU's order). Cost O(outer·n·inner·k):
//   fine for the gather-backward uses in this project (k is small, e.g. 1 label per row);
//   a segmented sort per (o, r) column would be the next step if that ever shows in a profile.
#include <cub/device/device_radix_sort.cuh>

#include "cuda/kernels.cuh"

namespace dcodr::cuda {

namespace {

// x: [outer, n, inner], idx: [k] -> out: [outer, k, inner].
template <class T>
__global__ void index_select_kernel(const T* x, const std::int64_t* idx, T* out, std::int64_t outer, std::int64_t n,
                                    std::int64_t k, std::int64_t inner) {
    std::int64_t total = outer * k * inner;
    DCODR_GRID_LOOP(e, total) {
        std::int64_t r = e % inner, i = (e / inner) % k, o = e / (inner * k);
        out[e] = x[(o * n + idx[i]) * inner + r];
    }
}

// x: [outer, n, inner], idx: [outer, k, inner] -> out: [outer, k, inner].
template <class T>
__global__ void gather_kernel(const T* x, const std::int64_t* idx, T* out, std::int64_t outer, std::int64_t n,
                              std::int64_t k, std::int64_t inner) {
    std::int64_t total = outer * k * inner;
    DCODR_GRID_LOOP(e, total) {
        std::int64_t r = e % inner, o = e / (inner * k);
        out[e] = x[(o * n + idx[e]) * inner + r];
    }
}

__global__ void iota_kernel(std::int64_t* p, std::int64_t n) {
    DCODR_GRID_LOOP(i, n) p[i] = i;
}

__device__ __forceinline__ std::int64_t lower_bound(const std::int64_t* a, std::int64_t n, std::int64_t v) {
    std::int64_t lo = 0, hi = n;
    while (lo < hi) {
        std::int64_t mid = (lo + hi) / 2;
        if (a[mid] < v) lo = mid + 1;
        else hi = mid;
    }
    return lo;
}

// src: [outer, k, inner], sorted idx/pos: [k] -> out: [outer, n, inner] (added into).
template <class T>
__global__ void index_add_kernel(const T* src, const std::int64_t* sorted_idx, const std::int64_t* sorted_pos, T* out,
                                 std::int64_t outer, std::int64_t n, std::int64_t k, std::int64_t inner) {
    std::int64_t total = outer * n * inner;
    DCODR_GRID_LOOP(e, total) {
        std::int64_t r = e % inner, j = (e / inner) % n, o = e / (inner * n);
        std::int64_t p = lower_bound(sorted_idx, k, j);
        if (p >= k || sorted_idx[p] != j) continue;
        T acc = out[e];
        for (; p < k && sorted_idx[p] == j; ++p) acc += src[(o * k + sorted_pos[p]) * inner + r];
        out[e] = acc;
    }
}

// src, idx: [outer, k, inner] -> out: [outer, n, inner] (added into).
template <class T>
__global__ void scatter_add_kernel(const T* src, const std::int64_t* idx, T* out, std::int64_t outer, std::int64_t n,
                                   std::int64_t k, std::int64_t inner) {
    std::int64_t total = outer * n * inner;
    DCODR_GRID_LOOP(e, total) {
        std::int64_t r = e % inner, t = (e / inner) % n, o = e / (inner * n);
        T acc = out[e];
        bool hit = false;
        for (std::int64_t j = 0; j < k; ++j) {
            std::int64_t at = (o * k + j) * inner + r;
            if (idx[at] == t) {
                acc += src[at];
                hit = true;
            }
        }
        if (hit) out[e] = acc;
    }
}

int key_bits(std::int64_t n) {
    int b = 1;
    while (b < 63 && (std::int64_t(1) << b) < n) ++b;
    return b;
}

std::size_t align256(std::size_t b) { return (b + 255) / 256 * 256; }

std::size_t cub_bytes(std::int64_t k, std::int64_t n) {
    std::size_t bytes = 0;
    DCODR_CUDA_CHECK(cub::DeviceRadixSort::SortPairs(nullptr, bytes, static_cast<const std::int64_t*>(nullptr),
                                                     static_cast<std::int64_t*>(nullptr),
                                                     static_cast<const std::int64_t*>(nullptr),
                                                     static_cast<std::int64_t*>(nullptr), k, 0, key_bits(n)));
    return bytes;
}

}  // namespace

void launch_index_select(int dt, const void* x, const std::int64_t* idx, void* out, std::int64_t outer,
                         std::int64_t n, std::int64_t k, std::int64_t inner, cudaStream_t s) {
    dispatch_all(dt, [&](auto tag) {
        using T = decltype(tag);
        DCODR_LAUNCH(blocks_for(outer * k * inner), kThreads, s, index_select_kernel<T>)(
            static_cast<const T*>(x), idx, static_cast<T*>(out), outer, n, k, inner);
        DCODR_CUDA_LAUNCH_CHECK();
    });
}

void launch_gather(int dt, const void* x, const std::int64_t* idx, void* out, std::int64_t outer, std::int64_t n,
                   std::int64_t k, std::int64_t inner, cudaStream_t s) {
    dispatch_all(dt, [&](auto tag) {
        using T = decltype(tag);
        DCODR_LAUNCH(blocks_for(outer * k * inner), kThreads, s, gather_kernel<T>)(static_cast<const T*>(x), idx,
                                                                            static_cast<T*>(out), outer, n, k, inner);
        DCODR_CUDA_LAUNCH_CHECK();
    });
}

// Scratch layout: positions in, sorted indices, sorted positions (k int64 each, 256-aligned), CUB temp.
std::size_t index_add_scratch_bytes(std::int64_t k, std::int64_t n) {
    std::size_t arr = align256(static_cast<std::size_t>(k) * sizeof(std::int64_t));
    return 3 * arr + cub_bytes(k, n);
}

void launch_index_add(int dt, const void* src, const std::int64_t* idx, void* out, std::int64_t outer,
                      std::int64_t n, std::int64_t k, std::int64_t inner, void* scratch, std::size_t scratch_bytes,
                      cudaStream_t s) {
    std::size_t arr = align256(static_cast<std::size_t>(k) * sizeof(std::int64_t));
    char* base = static_cast<char*>(scratch);
    auto* pos_in = reinterpret_cast<std::int64_t*>(base);
    auto* idx_sorted = reinterpret_cast<std::int64_t*>(base + arr);
    auto* pos_sorted = reinterpret_cast<std::int64_t*>(base + 2 * arr);
    void* temp = base + 3 * arr;
    std::size_t temp_bytes = scratch_bytes - 3 * arr;
    DCODR_LAUNCH(blocks_for(k), kThreads, s, iota_kernel)(pos_in, k);
    DCODR_CUDA_LAUNCH_CHECK();
    // Indices were range-checked (CPU) or are trusted (GPU): all in [0, n), so key_bits(n) bits suffice.
    DCODR_CUDA_CHECK(cub::DeviceRadixSort::SortPairs(temp, temp_bytes, idx, idx_sorted, pos_in, pos_sorted, k, 0,
                                                     key_bits(n), s));
    dispatch_all(dt, [&](auto tag) {
        using T = decltype(tag);
        DCODR_LAUNCH(blocks_for(outer * n * inner), kThreads, s, index_add_kernel<T>)(
            static_cast<const T*>(src), idx_sorted, pos_sorted, static_cast<T*>(out), outer, n, k, inner);
        DCODR_CUDA_LAUNCH_CHECK();
    });
}

void launch_scatter_add(int dt, const void* src, const std::int64_t* idx, void* out, std::int64_t outer,
                        std::int64_t n, std::int64_t k, std::int64_t inner, cudaStream_t s) {
    dispatch_all(dt, [&](auto tag) {
        using T = decltype(tag);
        DCODR_LAUNCH(blocks_for(outer * n * inner), kThreads, s, scatter_add_kernel<T>)(
            static_cast<const T*>(src), idx, static_cast<T*>(out), outer, n, k, inner);
        DCODR_CUDA_LAUNCH_CHECK();
    });
}

}  // namespace dcodr::cuda
