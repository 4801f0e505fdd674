// Fills, copies (strided, with dtype conversion), arange and Philox random numbers.
#include "cuda/kernels.cuh"
#include "tensor/philox.h"

namespace dcodr::cuda {

namespace {

// p: [n].
template <class T>
__global__ void fill_kernel(T* p, T v, std::int64_t n) {
    DCODR_GRID_LOOP(i, n) p[i] = v;
}
// p: [n].
template <class T>
__global__ void arange_kernel(T* p, std::int64_t n) {
    DCODR_GRID_LOOP(i, n) p[i] = static_cast<T>(i);
}
// d, s: [n], both contiguous.
template <class D, class S>
__global__ void convert_kernel(D* d, const S* s, std::int64_t n) {
    DCODR_GRID_LOOP(i, n) d[i] = static_cast<D>(s[i]);
}
// d, s: views of one shape (ix: d, s strides).
template <class D, class S>
__global__ void strided_copy_kernel(D* d, const S* s, Strided<2> ix, std::int64_t n) {
    DCODR_GRID_LOOP(i, n) {
        std::int64_t off[2];
        ix.offsets(i, off);
        d[off[0]] = static_cast<D>(s[off[1]]);
    }
}
// Same arithmetic as the CPU backend (tensor/cpu/memory.cpp): double, an explicit fma, then
// one rounding to T, so uniform streams match bit for bit on every CPU build. Normal draws
// also go through log/sqrt/cos/sin, whose CUDA and glibc versions may differ in the last
// bit of a double; float32 draws agree.
// p: [n].
template <class T>
__global__ void uniform_kernel(T* p, std::int64_t n, std::uint64_t seed, std::uint64_t offset, double lo,
                               double hi) {
    DCODR_GRID_LOOP(i, n)
    p[i] = static_cast<T>(
        fma(hi - lo, philox::uniform_at(seed, offset, static_cast<std::uint64_t>(i)), lo));
}
// p: [n].
template <class T>
__global__ void normal_kernel(T* p, std::int64_t n, std::uint64_t seed, std::uint64_t offset, double mean,
                              double std) {
    DCODR_GRID_LOOP(i, n)
    p[i] = static_cast<T>(
        fma(std, philox::normal_at(seed, offset, static_cast<std::uint64_t>(i)), mean));
}

}  // namespace

void launch_fill(void* p, int dt, double value, std::int64_t n, cudaStream_t s) {
    dispatch_all(dt, [&](auto tag) {
        using T = decltype(tag);
        DCODR_LAUNCH(blocks_for(n), kThreads, s, fill_kernel<T>)(static_cast<T*>(p), static_cast<T>(value), n);
        DCODR_CUDA_LAUNCH_CHECK();
    });
}

void launch_arange(void* p, int dt, std::int64_t n, cudaStream_t s) {
    dispatch_all(dt, [&](auto tag) {
        using T = decltype(tag);
        DCODR_LAUNCH(blocks_for(n), kThreads, s, arange_kernel<T>)(static_cast<T*>(p), n);
        DCODR_CUDA_LAUNCH_CHECK();
    });
}

void launch_copy(void* dst, int ddt, const void* src, int sdt, const Strided<2>* ix, std::int64_t n,
                 cudaStream_t s) {
    dispatch_all(ddt, [&](auto dtag) {
        using D = decltype(dtag);
        dispatch_all(sdt, [&](auto stag) {
            using S = decltype(stag);
            if (ix) {
                DCODR_LAUNCH(blocks_for(n), kThreads, s, strided_copy_kernel<D, S>)(static_cast<D*>(dst), static_cast<const S*>(src), *ix, n);
            } else {
                DCODR_LAUNCH(blocks_for(n), kThreads, s, convert_kernel<D, S>)(static_cast<D*>(dst), static_cast<const S*>(src), n);
            }
            DCODR_CUDA_LAUNCH_CHECK();
        });
    });
}

void launch_uniform(void* p, int dt, std::int64_t n, std::uint64_t seed, std::uint64_t offset, double lo, double hi,
                    cudaStream_t s) {
    dispatch_float(dt, "uniform", [&](auto tag) {
        using T = decltype(tag);
        DCODR_LAUNCH(blocks_for(n), kThreads, s, uniform_kernel<T>)(static_cast<T*>(p), n, seed, offset, lo, hi);
        DCODR_CUDA_LAUNCH_CHECK();
    });
}

void launch_normal(void* p, int dt, std::int64_t n, std::uint64_t seed, std::uint64_t offset, double mean,
                   double std, cudaStream_t s) {
    dispatch_float(dt, "normal", [&](auto tag) {
        using T = decltype(tag);
        DCODR_LAUNCH(blocks_for(n), kThreads, s, normal_kernel<T>)(static_cast<T*>(p), n, seed, offset, mean, std);
        DCODR_CUDA_LAUNCH_CHECK();
    });
}

}  // namespace dcodr::cuda
