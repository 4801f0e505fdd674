// PLACEHOLDER: batch norm (being written).
#include "tensor/cpu/cpu_backend.h"
namespace dcodr {
void CpuBackend::batch_norm_forward_train(const Tensor&, const Tensor*, const Tensor*, Tensor*, Tensor*, double, double, Tensor&, Tensor&, Tensor&) { fail("not implemented yet"); }
void CpuBackend::batch_norm_forward_eval(const Tensor&, const Tensor*, const Tensor*, const Tensor&, const Tensor&, double, Tensor&) { fail("not implemented yet"); }
void CpuBackend::batch_norm_backward(const Tensor&, const Tensor&, const Tensor*, const Tensor&, const Tensor&, Tensor&, Tensor*, Tensor*) { fail("not implemented yet"); }
}  // namespace dcodr
