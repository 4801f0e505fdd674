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

    void fill(Tensor& out, double value) override;
    void strided_copy(const Tensor& src, Tensor& dst) override;
    void arange(Tensor& out) override;
    void random_uniform(Tensor& out, std::uint64_t seed, std::uint64_t offset, double lo, double hi) override;
    void random_normal(Tensor& out, std::uint64_t seed, std::uint64_t offset, double mean, double std) override;

    void unary(UnaryOp op, const Tensor& x, Tensor& out, double alpha) override;
    void binary(BinaryOp op, const Tensor& a, const Tensor& b, Tensor& out, double alpha) override;
    void where(const Tensor& cond, const Tensor& a, const Tensor& b, Tensor& out) override;

    void sum_rows(const Tensor& x, Tensor& out) override;
    void max_rows(const Tensor& x, Tensor& out, Tensor& argmax) override;

    void matmul(const Tensor& a, const Tensor& b, Tensor& out, bool trans_a, bool trans_b, bool accumulate) override;

    void conv2d_forward(const Tensor& x, const Tensor& w, Tensor& y, const Conv2dParams& p) override;
    void conv2d_backward_data(const Tensor& gy, const Tensor& w, Tensor& gx, const Conv2dParams& p) override;
    void conv2d_backward_filter(const Tensor& x, const Tensor& gy, Tensor& gw, const Conv2dParams& p) override;

    void max_pool2d_forward(const Tensor& x, Tensor& y, Tensor& indices, const Pool2dParams& p) override;
    void max_pool2d_backward(const Tensor& gy, const Tensor& indices, Tensor& gx) override;
    void avg_pool2d_forward(const Tensor& x, Tensor& y, const Pool2dParams& p) override;
    void avg_pool2d_backward(const Tensor& gy, Tensor& gx, const Pool2dParams& p) override;
    void adaptive_avg_pool2d_forward(const Tensor& x, Tensor& y) override;
    void adaptive_avg_pool2d_backward(const Tensor& gy, Tensor& gx) override;
    void upsample_nearest2d_forward(const Tensor& x, Tensor& y) override;
    void upsample_nearest2d_backward(const Tensor& gy, Tensor& gx) override;

    void batch_norm_forward_train(const Tensor& x, const Tensor* weight, const Tensor* bias, Tensor* running_mean,
                                  Tensor* running_var, double momentum, double eps, std::int64_t groups,
                                  const BatchNormTail& tail, Tensor& y, Tensor& save_mean,
                                  Tensor& save_invstd) override;
    void batch_norm_forward_eval(const Tensor& x, const Tensor* weight, const Tensor* bias,
                                 const Tensor& running_mean, const Tensor& running_var, double eps,
                                 Tensor& y) override;
    void batch_norm_backward(const Tensor& gy, const Tensor& x, const Tensor* weight, const Tensor& save_mean,
                             const Tensor& save_invstd, std::int64_t groups, const Tensor* relu_out, Tensor& gx,
                             Tensor* gweight, Tensor* gbias, Tensor* g_relu_in) override;

    void index_select(const Tensor& x, const Tensor& idx, Tensor& out, std::int64_t outer, std::int64_t inner) override;
    void index_add(const Tensor& src, const Tensor& idx, Tensor& out, std::int64_t outer, std::int64_t inner) override;
    void gather(const Tensor& x, const Tensor& idx, Tensor& out, std::int64_t outer, std::int64_t inner) override;
    void scatter_add(const Tensor& src, const Tensor& idx, Tensor& out, std::int64_t outer, std::int64_t inner) override;

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
