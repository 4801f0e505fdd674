// Elementwise kernels: unary, binary (with stride-0 broadcast views) and where.
#include <cmath>

#include "tensor/cpu/cpu_backend.h"
#include "tensor/cpu/strided_loop.h"

namespace dcodr {

namespace {

template <class T>
inline T apply_unary(UnaryOp op, T x, T alpha) {
    switch (op) {
        case UnaryOp::neg: return -x;
        case UnaryOp::exp: return std::exp(x);
        case UnaryOp::log: return std::log(x);
        case UnaryOp::sqrt: return std::sqrt(x);
        case UnaryOp::rsqrt: return T(1) / std::sqrt(x);
        case UnaryOp::abs: return std::abs(x);
        case UnaryOp::tanh: return std::tanh(x);
        case UnaryOp::sigmoid: return T(1) / (T(1) + std::exp(-x));
        case UnaryOp::relu: return x > T(0) ? x : T(0);
        case UnaryOp::leaky_relu: return x > T(0) ? x : alpha * x;
        case UnaryOp::pow_scalar: return std::pow(x, alpha);
        case UnaryOp::add_scalar: return x + alpha;
        case UnaryOp::mul_scalar: return x * alpha;
        case UnaryOp::sign: return T((x > T(0)) - (x < T(0)));
        case UnaryOp::square: return x * x;
        case UnaryOp::reciprocal: return T(1) / x;
    }
    return x;
}

template <class T>
inline T apply_binary(BinaryOp op, T a, T b, T alpha) {
    switch (op) {
        case BinaryOp::add: return a + b;
        case BinaryOp::sub: return a - b;
        case BinaryOp::mul: return a * b;
        case BinaryOp::div: return a / b;
        case BinaryOp::maximum: return a > b ? a : b;
        case BinaryOp::minimum: return a < b ? a : b;
        case BinaryOp::eq: return T(a == b);
        case BinaryOp::ne: return T(a != b);
        case BinaryOp::lt: return T(a < b);
        case BinaryOp::le: return T(a <= b);
        case BinaryOp::gt: return T(a > b);
        case BinaryOp::ge: return T(a >= b);
        case BinaryOp::relu_grad: return b > T(0) ? a : T(0);
        case BinaryOp::leaky_relu_grad: return b > T(0) ? a : alpha * a;
    }
    return a;
}

// Switching on the op outside the loop lets the compiler vectorise each specialised loop.
template <class T, class F>
void unary_loop(T* out, const T* x, std::int64_t n, F f) {
#pragma omp parallel for simd if (n > kParallelGrain)
    for (std::int64_t i = 0; i < n; ++i) out[i] = f(x[i]);
}

}  // namespace

// x, out: any shape, contiguous, one dtype. Reference: reference::unary.
void CpuBackend::unary(UnaryOp op, const Tensor& x, Tensor& out, double alpha) {
    dispatch_dtype(out.dtype(), [&](auto tag) {
        using T = decltype(tag);
        const T* px = x.data<T>();
        T* po = out.data<T>();
        std::int64_t n = out.numel();
        T a = static_cast<T>(alpha);
        switch (op) {
            case UnaryOp::relu: unary_loop(po, px, n, [](T v) { return v > T(0) ? v : T(0); }); break;
            case UnaryOp::add_scalar: unary_loop(po, px, n, [a](T v) { return v + a; }); break;
            case UnaryOp::mul_scalar: unary_loop(po, px, n, [a](T v) { return v * a; }); break;
            case UnaryOp::neg: unary_loop(po, px, n, [](T v) { return -v; }); break;
            case UnaryOp::square: unary_loop(po, px, n, [](T v) { return v * v; }); break;
            default: unary_loop(po, px, n, [op, a](T v) { return apply_unary(op, v, a); }); break;
        }
    });
}

// a, b: views with out's shape (stride 0 on broadcast dims); out contiguous. Reference: reference::binary.
void CpuBackend::binary(BinaryOp op, const Tensor& a, const Tensor& b, Tensor& out, double alpha) {
    dispatch_dtype(out.dtype(), [&](auto tag) {
        using T = decltype(tag);
        T al = static_cast<T>(alpha);
        if (a.is_contiguous() && b.is_contiguous() && a.numel() == out.numel() && b.numel() == out.numel()) {
            const T* pa = a.data<T>();
            const T* pb = b.data<T>();
            T* po = out.data<T>();
            std::int64_t n = out.numel();
            auto loop = [&](auto f) {
#pragma omp parallel for simd if (n > kParallelGrain)
                for (std::int64_t i = 0; i < n; ++i) po[i] = f(pa[i], pb[i]);
            };
            switch (op) {
                case BinaryOp::add: loop([](T x, T y) { return x + y; }); break;
                case BinaryOp::sub: loop([](T x, T y) { return x - y; }); break;
                case BinaryOp::mul: loop([](T x, T y) { return x * y; }); break;
                case BinaryOp::div: loop([](T x, T y) { return x / y; }); break;
                case BinaryOp::relu_grad: loop([](T g, T x) { return x > T(0) ? g : T(0); }); break;
                default: loop([op, al](T x, T y) { return apply_binary(op, x, y, al); }); break;
            }
            return;
        }
        for_each_strided3<T, T, T>(out, a, b,
                                   [op, al](T* o, const T* x, const T* y, std::int64_t n, std::int64_t so,
                                            std::int64_t sa, std::int64_t sb) {
                                       for (std::int64_t i = 0; i < n; ++i)
                                           o[i * so] = apply_binary(op, x[i * sa], y[i * sb], al);
                                   });
    });
}

// cond, a, b: views with out's shape; out contiguous.
void CpuBackend::where(const Tensor& cond, const Tensor& a, const Tensor& b, Tensor& out) {
    // Not on a hot path: materialise the (possibly broadcast) operands, then one flat loop.
    // cond has out's dtype (the front-end converts it).
    dispatch_dtype(out.dtype(), [&](auto tag) {
        using T = decltype(tag);
        Tensor c = cond.contiguous(), x = a.contiguous(), y = b.contiguous();
        const T* pc = c.data<T>();
        const T* px = x.data<T>();
        const T* py = y.data<T>();
        T* po = out.data<T>();
        std::int64_t n = out.numel();
#pragma omp parallel for if (n > kParallelGrain)
        for (std::int64_t i = 0; i < n; ++i) po[i] = pc[i] != T(0) ? px[i] : py[i];
    });
}

}  // namespace dcodr
