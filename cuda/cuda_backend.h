// The CUDA backend (internal header shared by cuda/*.cpp and cuda/*.cu).
//
// One stream per device; every kernel, cuBLAS and cuDNN call is queued on it, so work is
// asynchronous until the host needs a value (copy_to_host, synchronize). Memory comes from a
// caching allocator (cuda/allocator.cpp); cuDNN gets one grow-only workspace; convolution
// algorithm choices are cached per full configuration (cuda/dnn.cpp).
//
// nvcc cannot compile fmt 9's headers (pulled in by tensor/error.h), so this header and the
// tensor headers are for .cpp files only. The CudaBackend methods (cuda/ops.cpp, dnn.cpp)
// unpack tensors into pointers and sizes and call the plain launchers of cuda/launch.h, which
// the .cu files define.
#pragma once
#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <cudnn.h>

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "cuda/check.h"
#include "cuda/cuda_api.h"
#include "tensor/backend.h"

namespace dcodr::cuda {

// Caching device allocator (see docs/cuda-backend.md). Thread-safe.
class CachingAllocator {
public:
    explicit CachingAllocator(int device) : device_(device) {}
    void* allocate(std::size_t nbytes);
    void deallocate(void* ptr);
    void empty_cache();
    MemoryStats stats() const;
    void reset_peak();
    // Size class of a request: what a block for it really occupies.
    static std::size_t round_size(std::size_t nbytes);

private:
    void release_cached_locked();
    int device_;
    mutable std::mutex mutex_;
    std::multimap<std::size_t, void*> free_blocks_;           // size -> cached block
    std::unordered_map<void*, std::pair<std::size_t, std::size_t>> live_;  // ptr -> (block, requested)
    MemoryStats stats_;
};

class CudaBackend final : public Backend {
public:
    explicit CudaBackend(int index);
    ~CudaBackend() override;
    Device device() const override { return Device::cuda(index_); }

    void* allocate(std::size_t nbytes) override;
    void deallocate(void* ptr, std::size_t nbytes) override;
    void copy_to_host(void* dst, const void* src, std::size_t nbytes) override;
    void copy_from_host(void* dst, const void* src, std::size_t nbytes) override;
    void synchronize() override;
    std::unique_ptr<DeviceTimer> new_timer() override;  // CUDA events on stream() (cuda/timer.cpp)

    // Every required kernel op of tensor/backend_ops.def (cuda/ops.cpp, cuda/dnn.cpp).
#define DCODR_BACKEND_OP DCODR_DECLARE_OVERRIDE
#include "tensor/backend_ops.def"
    // The fused Adam steps (cuda/ops.cpp): one kernel per tensor, one launch for a whole group.
    void adam_step(Tensor& param, const Tensor& grad, Tensor& m, Tensor& v, double lr, double beta1, double beta2,
                   double eps, double c1, double c2) override;
    void adam_step_multi(const std::vector<AdamTensors>& tensors, double lr, double beta1, double beta2, double eps,
                         double c1, double c2) override;

    // ---- backend internals ----
    int index() const { return index_; }
    cudaStream_t stream() const { return stream_; }
    cublasHandle_t cublas() const { return cublas_; }
    cudnnHandle_t cudnn() const { return cudnn_; }
    CachingAllocator& allocator() { return allocator_; }
    // The shared cuDNN workspace, grown (never shrunk) to at least nbytes. Stream-ordered:
    // valid for work queued on stream() until the next call that grows it.
    void* workspace(std::size_t nbytes);
    // Makes this backend's device current for the calling thread.
    void activate() const;

    // Scratch device memory released (stream-ordered) when the object dies.
    struct Scratch {
        CudaBackend* owner = nullptr;
        void* ptr = nullptr;
        Scratch(CudaBackend* b, std::size_t n) : owner(b), ptr(n ? b->allocate(n) : nullptr) {}
        ~Scratch() { if (ptr) owner->deallocate(ptr, 0); }
        Scratch(const Scratch&) = delete;
        Scratch& operator=(const Scratch&) = delete;
    };

    struct ConvCache;  // cuDNN algorithm cache (cuda/dnn.cpp)

private:
    int index_;
    cudaStream_t stream_ = nullptr;
    cublasHandle_t cublas_ = nullptr;
    cudnnHandle_t cudnn_ = nullptr;
    CachingAllocator allocator_;
    void* workspace_ = nullptr;
    std::size_t workspace_size_ = 0;
    // Uploads go through two pinned staging buffers (see copy_from_host).
    struct Staging {
        void* host = nullptr;
        std::size_t size = 0;
        cudaEvent_t done = nullptr;
        bool pending = false;
    };
    Staging staging_[2];
    int next_staging_ = 0;
    bool staging_broken_ = false;  // cudaMallocHost failed once: synchronous uploads from then on
    std::mutex staging_mutex_;
    ConvCache* conv_cache_ = nullptr;  // created on first use; lives as long as the backend (process)
};

// The backend of device `index` (opened on first use through dcodr::backend_for).
CudaBackend& backend_of(int index);

// Global switches (cuda_api.h).
bool tf32_enabled();
bool deterministic_enabled();

}  // namespace dcodr::cuda
