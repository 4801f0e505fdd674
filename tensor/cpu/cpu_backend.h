// The CPU backend: every kernel op on the host, fast enough to train on (Eigen GEMM, im2col
// convolution, OpenMP over batch and channels). The plain direct-loop versions the tests hold
// these kernels to are in tensor/reference/reference.h.
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

    // Every required kernel op of tensor/backend_ops.def, defined over tensor/cpu/*.cpp.
#define DCODR_BACKEND_OP DCODR_DECLARE_OVERRIDE
#include "tensor/backend_ops.def"
    // gx += backward-data in place on the packed 1x1 path (tensor/cpu/conv.cpp), else Backend's.
    void conv2d_backward_data_add(const Tensor& gy, const Tensor& w, Tensor& gx, const Conv2dParams& p) override;
    // The fused Adam step (tensor/cpu/optim.cpp); adam_step_multi keeps Backend's loop over it.
    void adam_step(Tensor& param, const Tensor& grad, Tensor& m, Tensor& v, double lr, double beta1, double beta2,
                   double eps, double c1, double c2) override;
};

CpuBackend& cpu_backend();

// Work below this many elements runs on one thread: forking costs more than it saves.
constexpr std::int64_t kParallelGrain = 32768;

}  // namespace dcodr
