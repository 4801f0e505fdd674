// Reference elementwise ops: each formula of UnaryOp / BinaryOp evaluated in double, and
// NumPy broadcasting written out as index arithmetic.
//   unary: x [any shape] -> out [same shape]
//   binary: a [shape A], b [shape B] -> out [broadcast(A, B)]: shapes aligned on the right, a
//   dim of size 1 (or a missing one) repeats along the other operand's dim.
#include <algorithm>
#include <cmath>

#include "tensor/reference/host.h"
#include "tensor/reference/reference.h"

namespace dcodr::reference {

namespace {

double apply(UnaryOp op, double x, double alpha) {
    switch (op) {
        case UnaryOp::neg: return -x;
        case UnaryOp::exp: return std::exp(x);
        case UnaryOp::log: return std::log(x);
        case UnaryOp::sqrt: return std::sqrt(x);
        case UnaryOp::rsqrt: return 1 / std::sqrt(x);
        case UnaryOp::abs: return std::abs(x);
        case UnaryOp::tanh: return std::tanh(x);
        case UnaryOp::sigmoid: return 1 / (1 + std::exp(-x));
        case UnaryOp::relu: return x > 0 ? x : 0;
        case UnaryOp::leaky_relu: return x > 0 ? x : alpha * x;
        case UnaryOp::pow_scalar: return std::pow(x, alpha);
        case UnaryOp::add_scalar: return x + alpha;
        case UnaryOp::mul_scalar: return x * alpha;
        case UnaryOp::sign: return (x > 0) - (x < 0);
        case UnaryOp::square: return x * x;
        case UnaryOp::reciprocal: return 1 / x;
    }
    return x;
}

double apply(BinaryOp op, double a, double b, double alpha) {
    switch (op) {
        case BinaryOp::add: return a + b;
        case BinaryOp::sub: return a - b;
        case BinaryOp::mul: return a * b;
        case BinaryOp::div: return a / b;
        case BinaryOp::maximum: return a > b ? a : b;
        case BinaryOp::minimum: return a < b ? a : b;
        case BinaryOp::eq: return a == b;
        case BinaryOp::ne: return a != b;
        case BinaryOp::lt: return a < b;
        case BinaryOp::le: return a <= b;
        case BinaryOp::gt: return a > b;
        case BinaryOp::ge: return a >= b;
        case BinaryOp::relu_grad: return b > 0 ? a : 0;                // relu'(b) * a
        case BinaryOp::leaky_relu_grad: return b > 0 ? a : alpha * a;  // leaky_relu'(b) * a
    }
    return a;
}

}  // namespace

Tensor unary(UnaryOp op, const Tensor& x, double alpha) {
    std::vector<double> v = values(x);
    for (double& e : v) e = apply(op, e, alpha);
    return f64(v, x.shape());
}

Tensor binary(BinaryOp op, const Tensor& a, const Tensor& b, double alpha) {
    // The output shape, and each operand's dims padded on the left with 1s to its rank.
    const std::size_t nd = std::max(a.shape().size(), b.shape().size());
    Shape as(nd, 1), bs(nd, 1), os(nd, 1);
    std::copy(a.shape().begin(), a.shape().end(), as.end() - static_cast<std::ptrdiff_t>(a.shape().size()));
    std::copy(b.shape().begin(), b.shape().end(), bs.end() - static_cast<std::ptrdiff_t>(b.shape().size()));
    for (std::size_t d = 0; d < nd; ++d) os[d] = as[d] == 1 ? bs[d] : as[d];
    const std::vector<double> va = values(a), vb = values(b);
    std::vector<double> out(static_cast<std::size_t>(shape_numel(os)));
    for (std::int64_t i = 0; i < static_cast<std::int64_t>(out.size()); ++i) {
        // Split i into the output's multi-index; a broadcast dim reads index 0 of its operand.
        std::int64_t rest = i, ai = 0, bi = 0, a_step = 1, b_step = 1;
        for (std::size_t d = nd; d-- > 0;) {
            const std::int64_t idx = rest % os[d];
            rest /= os[d];
            ai += (as[d] == 1 ? 0 : idx) * a_step;
            bi += (bs[d] == 1 ? 0 : idx) * b_step;
            a_step *= as[d];
            b_step *= bs[d];
        }
        out[i] = apply(op, va[ai], vb[bi], alpha);
    }
    return f64(out, os);
}

}  // namespace dcodr::reference
