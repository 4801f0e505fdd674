// The Backend interface: the fixed set of kernel primitives each device implements.
//
// Contract: the op front-ends (tensor/ops.h) validate shapes, dtypes and devices, allocate
// outputs, and hand kernels *contiguous* tensors unless a method says otherwise (binary and
// where accept stride-0 broadcast views, strided_copy accepts any strides). Kernels never
// allocate their outputs and never check arguments a front-end already checked.
// Adding an op touches: its declaration here, the front-end, one CPU and one CUDA kernel.
#pragma once
#include <cstdint>
#include <memory>
#include <vector>

#include "tensor/tensor.h"

namespace dcodr {

enum class UnaryOp : std::uint8_t {
    neg, exp, log, sqrt, rsqrt, abs, tanh, sigmoid, relu, leaky_relu /*alpha=slope*/,
    pow_scalar /*alpha=exponent*/, add_scalar /*alpha*/, mul_scalar /*alpha*/, sign, square,
    reciprocal
};
enum class BinaryOp : std::uint8_t {
    add, sub, mul, div, maximum, minimum, eq, ne, lt, le, gt, ge,
    // relu'(b)·a and leaky_relu'(b)·a: the backward of the two activations as one pass.
    relu_grad, leaky_relu_grad /*alpha=slope*/
};
const char* unary_name(UnaryOp op);
const char* binary_name(BinaryOp op);

struct Conv2dParams {
    std::int64_t stride_h = 1, stride_w = 1, pad_h = 0, pad_w = 0, dil_h = 1, dil_w = 1, groups = 1;
};
struct Pool2dParams {
    std::int64_t kernel_h = 1, kernel_w = 1, stride_h = 1, stride_w = 1, pad_h = 0, pad_w = 0;
    bool count_include_pad = true;  // avg pool only (PyTorch's default)
};
class Tensor;
// What a training batch norm does to its normalised value v before writing it, in the same
// pass: y = v, v + residual, max(v, 0) or max(v + residual, 0). The last is a ResNet block's
// tail, relu(bn3(conv3(.)) + identity): fused, it is one pass over the activation instead of
// three (normalise, add, ReLU), and its backward needs no ReLU pass either.
struct BatchNormTail {
    const Tensor* residual = nullptr;  // x's shape ([N, C, S]), contiguous; null for none
    bool relu = false;
};

// Times one op on the device's queue, for the profiler (tensor/profiler.h): start() and
// stop() are queued with the work between them; elapsed_ms() waits for stop if it must.
class DeviceTimer {
public:
    virtual ~DeviceTimer() = default;
    virtual void start() = 0;
    virtual void stop() = 0;
    virtual double elapsed_ms() = 0;
};

class Backend {
public:
    virtual ~Backend() = default;
    virtual Device device() const = 0;

    // ---- memory ----
    virtual void* allocate(std::size_t nbytes) = 0;
    virtual void deallocate(void* ptr, std::size_t nbytes) = 0;
    virtual void copy_to_host(void* dst, const void* src, std::size_t nbytes) = 0;
    virtual void copy_from_host(void* dst, const void* src, std::size_t nbytes) = 0;
    // Waits for queued work (a no-op on the CPU).
    virtual void synchronize() {}
    // A timer for the profiler. The default reads the host clock, which is exact for a
    // backend that finishes each op before returning (the CPU); queued backends override it.
    virtual std::unique_ptr<DeviceTimer> new_timer();

    // ---- data movement ----
    virtual void fill(Tensor& out, double value) = 0;
    // dst[i] = src[i] over the same shape; both may be arbitrary strided views; converts dtype.
    virtual void strided_copy(const Tensor& src, Tensor& dst) = 0;
    virtual void arange(Tensor& out) = 0;
    virtual void random_uniform(Tensor& out, std::uint64_t seed, std::uint64_t offset, double lo, double hi) = 0;
    virtual void random_normal(Tensor& out, std::uint64_t seed, std::uint64_t offset, double mean, double std) = 0;

    // ---- elementwise ----
    virtual void unary(UnaryOp op, const Tensor& x, Tensor& out, double alpha) = 0;
    // a and b are views with out's shape (broadcast dims have stride 0).
    virtual void binary(BinaryOp op, const Tensor& a, const Tensor& b, Tensor& out, double alpha) = 0;
    // out = cond != 0 ? a : b; all three are views with out's shape.
    virtual void where(const Tensor& cond, const Tensor& a, const Tensor& b, Tensor& out) = 0;

    // ---- reductions over the last dim of a contiguous [rows, n] tensor ----
    virtual void sum_rows(const Tensor& x, Tensor& out) = 0;
    virtual void max_rows(const Tensor& x, Tensor& out, Tensor& argmax) = 0;

    // ---- linear algebra: out[b] = op(a[b]) @ op(b[b]) (+ out[b] when accumulate) ----
    // a: [B or 1, M, K] (or [.., K, M] when trans_a), b likewise; a batch of 1 broadcasts.
    virtual void matmul(const Tensor& a, const Tensor& b, Tensor& out, bool trans_a, bool trans_b,
                        bool accumulate) = 0;

    // ---- convolution (NCHW, OIHW) ----
    virtual void conv2d_forward(const Tensor& x, const Tensor& w, Tensor& y, const Conv2dParams& p) = 0;
    virtual void conv2d_backward_data(const Tensor& gy, const Tensor& w, Tensor& gx, const Conv2dParams& p) = 0;
    virtual void conv2d_backward_filter(const Tensor& x, const Tensor& gy, Tensor& gw, const Conv2dParams& p) = 0;

    // ---- pooling / resampling (NCHW) ----
    virtual void max_pool2d_forward(const Tensor& x, Tensor& y, Tensor& indices, const Pool2dParams& p) = 0;
    // indices hold, per output, the flat h*W+w position of the max inside its (n, c) plane.
    virtual void max_pool2d_backward(const Tensor& gy, const Tensor& indices, Tensor& gx) = 0;
    virtual void avg_pool2d_forward(const Tensor& x, Tensor& y, const Pool2dParams& p) = 0;
    virtual void avg_pool2d_backward(const Tensor& gy, Tensor& gx, const Pool2dParams& p) = 0;
    virtual void adaptive_avg_pool2d_forward(const Tensor& x, Tensor& y) = 0;
    virtual void adaptive_avg_pool2d_backward(const Tensor& gy, Tensor& gx) = 0;
    virtual void upsample_nearest2d_forward(const Tensor& x, Tensor& y) = 0;   // integer scale
    virtual void upsample_nearest2d_backward(const Tensor& gy, Tensor& gx) = 0;

    // ---- batch norm over [N, C, S] (S = product of spatial dims, may be 1) ----
    // Training: normalises with batch statistics (biased variance), writes save_mean and
    // save_invstd, and updates running stats in place (unbiased variance), PyTorch's rule.
    // groups (divides N): the batch is that many equal consecutive slices, each normalised with
    // its own statistics, exactly as separate calls on the slices would (save_* are [groups, C];
    // running stats are updated once per slice, in order). The backward is per slice too, with
    // gweight/gbias summed over the slices.
    // `tail` is applied in the same pass (see BatchNormTail): one pass over the activation
    // instead of up to three.
    virtual void batch_norm_forward_train(const Tensor& x, const Tensor* weight, const Tensor* bias,
                                          Tensor* running_mean, Tensor* running_var, double momentum,
                                          double eps, std::int64_t groups, const BatchNormTail& tail, Tensor& y,
                                          Tensor& save_mean, Tensor& save_invstd) = 0;
    virtual void batch_norm_forward_eval(const Tensor& x, const Tensor* weight, const Tensor* bias,
                                         const Tensor& running_mean, const Tensor& running_var, double eps,
                                         Tensor& y) = 0;
    // gweight/gbias may be null (no affine parameters). relu_out (the fused forward's output, or
    // null): gy flows only where relu_out > 0, i.e. this is the backward of the fused op.
    // g_relu_in (only with relu_out; may be null): receives that masked gradient, the gradient at
    // the ReLU's input, which is also the residual's gradient (d(a + r)/dr = 1).
    virtual void batch_norm_backward(const Tensor& gy, const Tensor& x, const Tensor* weight,
                                     const Tensor& save_mean, const Tensor& save_invstd, std::int64_t groups,
                                     const Tensor* relu_out, Tensor& gx, Tensor* gweight, Tensor* gbias,
                                     Tensor* g_relu_in) = 0;

    // ---- indexing; x viewed as [outer, n, inner] around the indexed dim ----
    // out[o, i, r] = x[o, idx[i], r]
    virtual void index_select(const Tensor& x, const Tensor& idx, Tensor& out, std::int64_t outer,
                              std::int64_t inner) = 0;
    // out[o, idx[i], r] += src[o, i, r]
    virtual void index_add(const Tensor& src, const Tensor& idx, Tensor& out, std::int64_t outer,
                           std::int64_t inner) = 0;
    // out[o, j, r] = x[o, idx[o, j, r], r]  (torch.gather along the middle dim)
    virtual void gather(const Tensor& x, const Tensor& idx, Tensor& out, std::int64_t outer,
                        std::int64_t inner) = 0;
    // out[o, idx[o, j, r], r] += src[o, j, r]
    virtual void scatter_add(const Tensor& src, const Tensor& idx, Tensor& out, std::int64_t outer,
                             std::int64_t inner) = 0;

    // ---- optimiser ----
    // One Adam step in place, PyTorch's formula: m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2;
    // p -= (lr / c1) * m / (sqrt(v / c2) + eps), with bias corrections c1 = 1-b1^t, c2 = 1-b2^t.
    // The default composes other kernels (so every backend has it); backends fuse it.
    virtual void adam_step(Tensor& param, const Tensor& grad, Tensor& m, Tensor& v, double lr, double beta1,
                           double beta2, double eps, double c1, double c2);
    // The same step for many tensors at once (an optimiser group: a ResNet-50 has 161), each
    // element updated exactly as adam_step would. The default calls adam_step per tensor; the
    // GPU launches one kernel for all of them (PyTorch's "foreach"), saving a launch per tensor.
    struct AdamTensors {
        Tensor* param;
        const Tensor* grad;
        Tensor* m;
        Tensor* v;
    };
    virtual void adam_step_multi(const std::vector<AdamTensors>& tensors, double lr, double beta1, double beta2,
                                 double eps, double c1, double c2);
};

// The backend for a device. Throws a clear error for CUDA in a build without it, or when
// no GPU can be used.
// While the profiler is on for the device (tensor/profiler.h), this is its timing wrapper.
Backend& backend_for(Device device);
// The device's own backend, never the profiler's wrapper: for backend internals that need
// the concrete type (cuda::backend_of).
Backend& device_backend(Device device);
// "cpu" or "cpu, cuda": what this binary was built with.
std::string compiled_backends();
bool cuda_compiled();

// Host thread count for CPU kernels (flag --threads or environment DCODR_THREADS).
void set_num_threads(int n);
int num_threads();

}  // namespace dcodr
