// Kernel-op front-ends: validate arguments (shape, dtype, device), allocate outputs, make
// inputs contiguous, dispatch to the tensor's backend. Not differentiable: autograd/ builds
// the differentiable ops (and their backward) from these.
#pragma once
#include <optional>
#include <vector>

#include "tensor/backend.h"
#include "tensor/tensor.h"

namespace dcodr::kernels {

// Broadcast two shapes NumPy-style; throws naming both shapes if they are incompatible.
Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op);
// Sum g down to `shape` (the reverse of broadcasting): the gradient of a broadcast input.
Tensor sum_to_shape(const Tensor& g, const Shape& shape);

Tensor unary(UnaryOp op, const Tensor& x, double alpha = 0.0);
Tensor binary(BinaryOp op, const Tensor& a, const Tensor& b, double alpha = 0.0);
// out += b in place (shapes equal after broadcasting b); used to accumulate gradients.
void add_(Tensor& out, const Tensor& b);
Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b);

// Reductions over `axes` (empty = all). keepdim keeps reduced dims as size 1.
Tensor sum(const Tensor& x, const std::vector<std::int64_t>& axes = {}, bool keepdim = false);
Tensor mean(const Tensor& x, const std::vector<std::int64_t>& axes = {}, bool keepdim = false);
// Max over a single axis, with the int64 position of the max (first one on ties).
std::pair<Tensor, Tensor> max(const Tensor& x, std::int64_t axis, bool keepdim = false);
Tensor max_all(const Tensor& x);

// a @ b with batch broadcasting over leading dims; 1-D operands are not promoted.
// trans flags transpose the last two dims of the operand without copying.
Tensor matmul(const Tensor& a, const Tensor& b, bool trans_a = false, bool trans_b = false);

Tensor conv2d_forward(const Tensor& x, const Tensor& w, const Conv2dParams& p);
Tensor conv2d_backward_data(const Tensor& gy, const Tensor& w, const Shape& x_shape, const Conv2dParams& p);
// gx += conv2d_backward_data(gy, w, gx.shape(), p), in place (gx contiguous).
void conv2d_backward_data_add(const Tensor& gy, const Tensor& w, Tensor& gx, const Conv2dParams& p);
Tensor conv2d_backward_filter(const Tensor& x, const Tensor& gy, const Shape& w_shape, const Conv2dParams& p);

std::pair<Tensor, Tensor> max_pool2d_forward(const Tensor& x, const Pool2dParams& p);
Tensor max_pool2d_backward(const Tensor& gy, const Tensor& indices, const Shape& x_shape);
Tensor avg_pool2d_forward(const Tensor& x, const Pool2dParams& p);
Tensor avg_pool2d_backward(const Tensor& gy, const Shape& x_shape, const Pool2dParams& p);
Tensor adaptive_avg_pool2d_forward(const Tensor& x, std::int64_t out_h, std::int64_t out_w);
Tensor adaptive_avg_pool2d_backward(const Tensor& gy, const Shape& x_shape);
Tensor upsample_nearest2d_forward(const Tensor& x, std::int64_t scale);
Tensor upsample_nearest2d_backward(const Tensor& gy, const Shape& x_shape);

struct BatchNormSaved {
    Tensor mean, invstd;     // [groups * C], group-major
    std::int64_t groups = 1;
};
// Returns y, with `tail` fused in (BatchNormTail: + residual, then relu); fills `saved`
// (training) for the backward. Running stats updated in place. groups (training; divides
// N): statistics per consecutive slice of N/groups samples, exactly as separate calls on the
// slices (Backend::batch_norm_forward_train); evaluation uses the running stats either way.
Tensor batch_norm_forward(const Tensor& x, const Tensor* weight, const Tensor* bias, Tensor* running_mean,
                          Tensor* running_var, bool training, double momentum, double eps, BatchNormSaved* saved,
                          const BatchNormTail& tail = {}, std::int64_t groups = 1);
struct BatchNormGrads {
    Tensor x, weight, bias;
    Tensor relu_in;  // with relu_in_grad: gy masked by relu_out (the residual's gradient)
};
// relu_out: the fused forward's output (its backward masks gy where it is not positive);
// relu_in_grad (needs relu_out): also return that masked gradient.
BatchNormGrads batch_norm_backward(const Tensor& gy, const Tensor& x, const Tensor* weight,
                                   const BatchNormSaved& saved, const Tensor* relu_out = nullptr,
                                   bool relu_in_grad = false);

Tensor index_select(const Tensor& x, std::int64_t dim, const Tensor& idx);
Tensor index_add(const Tensor& src, std::int64_t dim, const Tensor& idx, const Shape& out_shape);
Tensor gather(const Tensor& x, std::int64_t dim, const Tensor& idx);
Tensor scatter_add(const Tensor& src, std::int64_t dim, const Tensor& idx, const Shape& out_shape);

Tensor concat(const std::vector<Tensor>& xs, std::int64_t dim);

// Checks every tensor is on the same device; names `op` and the devices otherwise.
void check_same_device(const char* op, std::initializer_list<const Tensor*> ts);
void check_same_dtype(const char* op, std::initializer_list<const Tensor*> ts);

}  // namespace dcodr::kernels
