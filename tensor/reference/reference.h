// Plain reference versions of the numerical kernels: one direct loop nest per op, every sum in
// float64, no blocking, threads, vector tricks or workspace. They are what the fast kernels
// (tensor/cpu/*.cpp, cuda/*.cu) are tested against (tests/test_reference.cpp, and the CUDA
// parity suite), and the place to start reading when you want to know what a kernel computes
// before reading how it is made fast.
//
// The functions mirror the kernels:: front-ends of tensor/ops.h (same names, same arguments,
// outputs returned): inputs may be of any dtype, strides and device (they are read element by
// element through their strides, on the host); outputs are new contiguous float64 CPU tensors.
// They check nothing the front-ends check: call them with arguments the front-end accepts.
// Slow on purpose (a ResNet layer takes seconds): for tests and reading, never for training.
#pragma once
#include <cstdint>
#include <utility>

#include "tensor/backend.h"
#include "tensor/tensor.h"

namespace dcodr::reference {

// ---- elementwise ----
// out = op(x) elementwise (UnaryOp's formulas, evaluated in double).
Tensor unary(UnaryOp op, const Tensor& x, double alpha = 0.0);
// out = op(a, b) with NumPy broadcasting of the two shapes.
Tensor binary(BinaryOp op, const Tensor& a, const Tensor& b, double alpha = 0.0);

// ---- reductions: x [rows, n] -> [rows] ----
Tensor sum_rows(const Tensor& x);
// Max of each row and the int64 position of its first maximum.
std::pair<Tensor, Tensor> max_rows(const Tensor& x);

// ---- matmul: a [B or 1, M, K] (or [.., K, M] when trans_a), b [B or 1, K, N] (or [.., N, K]) ----
// -> [B, M, N]; a batch of 1 broadcasts.
Tensor matmul(const Tensor& a, const Tensor& b, bool trans_a = false, bool trans_b = false);

// ---- convolution: x [N, C, H, W], w [O, C/groups, KH, KW], y [N, O, OH, OW] ----
Tensor conv2d_forward(const Tensor& x, const Tensor& w, const Conv2dParams& p);
// gy [N, O, OH, OW] -> gx with x_shape [N, C, H, W].
Tensor conv2d_backward_data(const Tensor& gy, const Tensor& w, const Shape& x_shape, const Conv2dParams& p);
// x, gy -> gw with w_shape [O, C/groups, KH, KW].
Tensor conv2d_backward_filter(const Tensor& x, const Tensor& gy, const Shape& w_shape, const Conv2dParams& p);

// ---- pooling and upsampling: x [N, C, H, W] -> y [N, C, OH, OW] (PyTorch's floor mode) ----
// y and, as int64, the flat h*W+w position of each window's first maximum in its plane.
std::pair<Tensor, Tensor> max_pool2d_forward(const Tensor& x, const Pool2dParams& p);
Tensor max_pool2d_backward(const Tensor& gy, const Tensor& indices, const Shape& x_shape);
Tensor avg_pool2d_forward(const Tensor& x, const Pool2dParams& p);
Tensor avg_pool2d_backward(const Tensor& gy, const Shape& x_shape, const Pool2dParams& p);
Tensor adaptive_avg_pool2d_forward(const Tensor& x, std::int64_t out_h, std::int64_t out_w);
Tensor adaptive_avg_pool2d_backward(const Tensor& gy, const Shape& x_shape);
Tensor upsample_nearest2d_forward(const Tensor& x, std::int64_t scale);
Tensor upsample_nearest2d_backward(const Tensor& gy, const Shape& x_shape);

// ---- batch norm: x [N, C, S]; weight, bias, running stats [C] (null: absent) ----
struct BatchNormTrain {
    Tensor y;                          // [N, C, S], after the tail
    Tensor save_mean, save_invstd;     // [groups, C]
    Tensor running_mean, running_var;  // [C] updated copies (undefined when not given)
};
// Training mode: statistics per consecutive slice of N/groups samples (biased variance),
// running statistics updated once per slice with the unbiased variance; then
// y = xhat * weight + bias (+ residual) (then max(., 0) when relu).
BatchNormTrain batch_norm_forward_train(const Tensor& x, const Tensor* weight, const Tensor* bias,
                                        const Tensor* running_mean, const Tensor* running_var, double momentum,
                                        double eps, std::int64_t groups = 1, const Tensor* residual = nullptr,
                                        bool relu = false);
Tensor batch_norm_forward_eval(const Tensor& x, const Tensor* weight, const Tensor* bias,
                               const Tensor& running_mean, const Tensor& running_var, double eps);
struct BatchNormGrads {
    Tensor x, weight, bias;  // [N, C, S], [C], [C]
    Tensor relu_in;          // gy masked by relu_out (defined only with relu_out)
};
// The backward of batch_norm_forward_train from its saved statistics; relu_out (or null): the
// fused forward's output, gy counts only where it is positive.
BatchNormGrads batch_norm_backward(const Tensor& gy, const Tensor& x, const Tensor* weight, const Tensor& save_mean,
                                   const Tensor& save_invstd, std::int64_t groups = 1,
                                   const Tensor* relu_out = nullptr);

// ---- softmax and cross-entropy over the rows of x [rows, n] ----
Tensor softmax_rows(const Tensor& x);
Tensor log_softmax_rows(const Tensor& x);
// Mean cross-entropy of logits [N, K] against int64 targets [N], and its gradient in the
// logits, (softmax - onehot) / N.
std::pair<Tensor, Tensor> cross_entropy(const Tensor& logits, const Tensor& targets);

// ---- optimiser ----
struct AdamState {
    Tensor param, m, v;
};
// One Adam step (Backend's adam_step formula) on copies of param, m and v.
AdamState adam_step(const Tensor& param, const Tensor& grad, const Tensor& m, const Tensor& v, double lr,
                    double beta1, double beta2, double eps, double c1, double c2);

}  // namespace dcodr::reference
