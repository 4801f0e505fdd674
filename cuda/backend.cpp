// CUDA backend: device opening, error reporting, memory transfers, the public controls of
// cuda_api.h. Host code only (compiled by the C++ compiler, so fmt is fine here).
#include <fmt/format.h>

#include <atomic>
#include <cstring>

#include "cuda/cuda_backend.h"

namespace dcodr::cuda {

// The declarations tensor/backend.cpp uses (tensor/no_cuda.cpp defines them in CPU-only builds).
bool compiled();
Backend* make_backend(int index);

bool compiled() { return true; }

[[noreturn]] void cuda_fail(const std::string& message) { throw Error(message); }

[[noreturn]] void throw_api_error(const char* api, const char* call, const char* what, int code, const char* file,
                                  int line) {
    std::string f = file;
    auto slash = f.find_last_of('/');
    if (slash != std::string::npos) f = f.substr(slash + 1);
    throw Error(fmt::format("{} call failed: {} returned {} ({}) at {}:{}", api, call, what ? what : "?", code, f,
                            line));
}

namespace {
std::atomic<bool> g_tf32{false};
std::atomic<bool> g_deterministic{true};
std::atomic<bool> g_benchmark{false};
}  // namespace

bool tf32_enabled() { return g_tf32.load(); }
bool deterministic_enabled() { return g_deterministic.load(); }
void set_allow_tf32(bool on) { g_tf32 = on; }
bool allow_tf32() { return g_tf32.load(); }
void set_deterministic(bool on) { g_deterministic = on; }
bool deterministic() { return g_deterministic.load(); }
void set_cudnn_benchmark(bool on) { g_benchmark = on; }
bool cudnn_benchmark() { return g_benchmark.load(); }

int device_count() {
    int n = 0;
    if (cudaGetDeviceCount(&n) != cudaSuccess) {
        (void)cudaGetLastError();
        return 0;
    }
    return n;
}

std::string device_description(int index) {
    cudaDeviceProp prop{};
    DCODR_CUDA_CHECK(cudaGetDeviceProperties(&prop, index));
    return fmt::format("{} (sm_{}{}, {:.1f} GiB, {} SMs)", prop.name, prop.major, prop.minor,
                       static_cast<double>(prop.totalGlobalMem) / (1024.0 * 1024.0 * 1024.0),
                       prop.multiProcessorCount);
}

Backend* make_backend(int index) {
    int n = 0;
    cudaError_t e = cudaGetDeviceCount(&n);
    if (e != cudaSuccess) {
        (void)cudaGetLastError();
        throw Error(fmt::format("no usable CUDA device: cudaGetDeviceCount failed with {} ({}); use --device cpu",
                                cudaGetErrorString(e), static_cast<int>(e)));
    }
    if (n == 0) throw Error("no usable CUDA device: the driver reports 0 GPUs; use --device cpu");
    if (index < 0 || index >= n)
        throw Error(fmt::format("no usable CUDA device: cuda:{} requested but {} GPU(s) visible (cuda:0..cuda:{}); "
                                "use --device cpu or a valid index",
                                index, n, n - 1));
    try {
        return new CudaBackend(index);
    } catch (const Error& err) {
        throw Error(fmt::format("no usable CUDA device: opening cuda:{} failed: {}; use --device cpu", index,
                                err.what()));
    }
}

CudaBackend& backend_of(int index) {
    // device_backend, not backend_for: the latter may be the profiler's wrapper.
    return static_cast<CudaBackend&>(device_backend(Device::cuda(index)));
}

// ---------------------------------------------------------------- CudaBackend

CudaBackend::CudaBackend(int index) : index_(index), allocator_(index) {
    DCODR_CUDA_CHECK(cudaSetDevice(index));
    DCODR_CUDA_CHECK(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking));
    DCODR_CUBLAS_CHECK(cublasCreate(&cublas_));
    DCODR_CUBLAS_CHECK(cublasSetStream(cublas_, stream_));
    DCODR_CUDNN_CHECK(cudnnCreate(&cudnn_));
    DCODR_CUDNN_CHECK(cudnnSetStream(cudnn_, stream_));
}

void CudaBackend::activate() const { DCODR_CUDA_CHECK(cudaSetDevice(index_)); }

void* CudaBackend::allocate(std::size_t nbytes) {
    if (nbytes == 0) return nullptr;
    activate();
    return allocator_.allocate(nbytes);
}
void CudaBackend::deallocate(void* ptr, std::size_t) { allocator_.deallocate(ptr); }

void CudaBackend::copy_to_host(void* dst, const void* src, std::size_t nbytes) {
    if (nbytes == 0) return;
    DCODR_CUDA_CHECK(cudaMemcpyAsync(dst, src, nbytes, cudaMemcpyDeviceToHost, stream_));
    DCODR_CUDA_CHECK(cudaStreamSynchronize(stream_));
}
void CudaBackend::copy_from_host(void* dst, const void* src, std::size_t nbytes) {
    if (nbytes == 0) return;
    // The source is ordinary host memory the caller may free as soon as we return. Copy it
    // into one of two pinned staging buffers and queue the upload from there: the host does
    // not wait for the GPU (only, when the buffer comes round again, for the upload queued
    // two uploads ago). Very large uploads, or no pinned memory, fall back to a synchronous copy.
    constexpr std::size_t kStagingMax = std::size_t(256) << 20;
    if (nbytes <= kStagingMax) {
        std::lock_guard<std::mutex> lock(staging_mutex_);
        if (!staging_broken_) {
            Staging& st = staging_[next_staging_];
            next_staging_ ^= 1;
            if (st.pending) {
                DCODR_CUDA_CHECK(cudaEventSynchronize(st.done));
                st.pending = false;
            }
            if (!st.done) DCODR_CUDA_CHECK(cudaEventCreateWithFlags(&st.done, cudaEventDisableTiming));
            if (st.size < nbytes) {
                if (st.host) DCODR_CUDA_CHECK(cudaFreeHost(st.host));
                st.host = nullptr;
                st.size = 0;
                std::size_t want = std::size_t(1) << 20;
                while (want < nbytes) want <<= 1;
                if (cudaMallocHost(&st.host, want) == cudaSuccess) {
                    st.size = want;
                } else {
                    (void)cudaGetLastError();
                    st.host = nullptr;
                    staging_broken_ = true;
                }
            }
            if (!staging_broken_) {
                std::memcpy(st.host, src, nbytes);
                DCODR_CUDA_CHECK(cudaMemcpyAsync(dst, st.host, nbytes, cudaMemcpyHostToDevice, stream_));
                DCODR_CUDA_CHECK(cudaEventRecord(st.done, stream_));
                st.pending = true;
                return;
            }
        }
    }
    DCODR_CUDA_CHECK(cudaMemcpyAsync(dst, src, nbytes, cudaMemcpyHostToDevice, stream_));
    DCODR_CUDA_CHECK(cudaStreamSynchronize(stream_));
}
void CudaBackend::synchronize() { DCODR_CUDA_CHECK(cudaStreamSynchronize(stream_)); }

void* CudaBackend::workspace(std::size_t nbytes) {
    if (nbytes <= workspace_size_) return workspace_;
    if (workspace_) allocator_.deallocate(workspace_);  // stream-ordered reuse: safe on one stream
    workspace_ = nullptr;
    workspace_size_ = 0;
    workspace_ = allocate(nbytes);
    workspace_size_ = nbytes;
    return workspace_;
}

// ---------------------------------------------------------------- public controls

MemoryStats memory_stats(int index) { return backend_of(index).allocator().stats(); }
void reset_peak_memory_stats(int index) { backend_of(index).allocator().reset_peak(); }
void empty_cache(int index) {
    CudaBackend& b = backend_of(index);
    b.synchronize();
    b.allocator().empty_cache();
}
std::string memory_summary(int index) {
    MemoryStats s = memory_stats(index);
    auto gib = [](std::size_t b) { return static_cast<double>(b) / (1024.0 * 1024.0 * 1024.0); };
    return fmt::format("allocated {:.2f} GiB (peak {:.2f} GiB), reserved {:.2f} GiB (peak {:.2f} GiB), "
                       "{} allocations, {} cache hits, {} cudaMalloc, {} OOM retries",
                       gib(s.allocated), gib(s.peak_allocated), gib(s.reserved), gib(s.peak_reserved), s.num_allocs,
                       s.num_cache_hits, s.num_cuda_mallocs, s.num_oom_retries);
}
void synchronize(int index) { backend_of(index).synchronize(); }

}  // namespace dcodr::cuda
