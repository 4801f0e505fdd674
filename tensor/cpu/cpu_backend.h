// The CPU backend: the reference implementation of every kernel op, and fast enough to
// train on (Eigen GEMM, im2col convolution, OpenMP over batch and channels).
// Its kernels are split by family over tensor/cpu/*.cpp; this header only declares them.
#pragma once
#include "tensor/backend.h"
#include "tensor/cpu/host_cache.h"

namespace dcodr {

class CpuBackend final : public Backend {
public:
    Device device() const override { return Device::cpu(); }
    void* allocate(std::size_t nbytes) override;
    void deallocate(void* ptr, std::size_t nbytes) override;
    void copy_to_host(void* dst, const void* src, std::size_t nbytes) override;
    void copy_from_host(void* dst, const void* src, std::size_t nbytes) override;
    // The caching allocator behind allocate/deallocate.
    static HostCache& cache();

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
};

CpuBackend& cpu_backend();

// Work below this many elements runs on one thread: forking costs more than it saves.
constexpr std::int64_t kParallelGrain = 32768;

}  // namespace dcodr
