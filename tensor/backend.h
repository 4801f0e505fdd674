// The Backend interface: the fixed set of kernel primitives each device implements.
//
// Contract: the op front-ends (tensor/ops.h) validate shapes, dtypes and devices, allocate
// outputs, and hand kernels *contiguous* tensors unless a method says otherwise (binary and
// where accept stride-0 broadcast views, strided_copy accepts any strides). Kernels never
// allocate their outputs and never check arguments a front-end already checked.
//
// The kernel ops are listed once, with their signatures and contracts, in
// tensor/backend_ops.def; this class, the CPU and CUDA backends' override declarations and the
// profiler's pass-through are all generated from that list. Memory and queue calls (allocate,
// copies, synchronize, timers) are written out below: they are not kernels and the profiler
// treats them differently. Adding a kernel op touches five places -- its entry in
// backend_ops.def with a front-end (tensor/ops.*), its differentiable op and backward
// (autograd/), a CPU kernel (tensor/cpu/), a CUDA kernel (cuda/), and a test against a plain
// reference (tensor/reference/, tests/) -- see docs/design.md, "Adding a kernel op".
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

    // Tensors for adam_step_multi (an entry of the op list).
    struct AdamTensors {
        Tensor* param;
        const Tensor* grad;
        Tensor* m;
        Tensor* v;
    };

    // ---- kernel ops: one virtual per entry of tensor/backend_ops.def ----
#define DCODR_BACKEND_OP(kind, name, params, args) virtual void name params DCODR_BACKEND_OP_BODY_##kind;
#define DCODR_BACKEND_OP_BODY_required = 0
#define DCODR_BACKEND_OP_BODY_defaulted
#include "tensor/backend_ops.def"
#undef DCODR_BACKEND_OP_BODY_required
#undef DCODR_BACKEND_OP_BODY_defaulted
};

// Declares `void name(params) override;` for every required op of the list: a device backend's
// class body says
//     #define DCODR_BACKEND_OP DCODR_DECLARE_OVERRIDE
//     #include "tensor/backend_ops.def"
// and defines the methods in its .cpp files. Defaulted ops (adam_step, adam_step_multi) are
// declared by hand where a backend has a faster version.
#define DCODR_DECLARE_OVERRIDE(kind, name, params, args) DCODR_DECLARE_OVERRIDE_##kind(name, params)
#define DCODR_DECLARE_OVERRIDE_required(name, params) void name params override;
#define DCODR_DECLARE_OVERRIDE_defaulted(name, params)

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
