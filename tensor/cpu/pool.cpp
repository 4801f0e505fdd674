// PLACEHOLDER: pooling and nearest upsampling (being written).
#include "tensor/cpu/cpu_backend.h"
namespace dcodr {
void CpuBackend::max_pool2d_forward(const Tensor&, Tensor&, Tensor&, const Pool2dParams&) { fail("not implemented yet"); }
void CpuBackend::max_pool2d_backward(const Tensor&, const Tensor&, Tensor&) { fail("not implemented yet"); }
void CpuBackend::avg_pool2d_forward(const Tensor&, Tensor&, const Pool2dParams&) { fail("not implemented yet"); }
void CpuBackend::avg_pool2d_backward(const Tensor&, Tensor&, const Pool2dParams&) { fail("not implemented yet"); }
void CpuBackend::adaptive_avg_pool2d_forward(const Tensor&, Tensor&) { fail("not implemented yet"); }
void CpuBackend::adaptive_avg_pool2d_backward(const Tensor&, Tensor&) { fail("not implemented yet"); }
void CpuBackend::upsample_nearest2d_forward(const Tensor&, Tensor&) { fail("not implemented yet"); }
void CpuBackend::upsample_nearest2d_backward(const Tensor&, Tensor&) { fail("not implemented yet"); }
}  // namespace dcodr
