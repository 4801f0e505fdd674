// PLACEHOLDER: im2col + GEMM convolution (being written).
#include "tensor/cpu/cpu_backend.h"
namespace dcodr {
void CpuBackend::conv2d_forward(const Tensor&, const Tensor&, Tensor&, const Conv2dParams&) { fail("conv2d_forward: not implemented yet"); }
void CpuBackend::conv2d_backward_data(const Tensor&, const Tensor&, Tensor&, const Conv2dParams&) { fail("conv2d_backward_data: not implemented yet"); }
void CpuBackend::conv2d_backward_filter(const Tensor&, const Tensor&, Tensor&, const Conv2dParams&) { fail("conv2d_backward_filter: not implemented yet"); }
}  // namespace dcodr
