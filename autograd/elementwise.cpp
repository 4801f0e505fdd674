// Elementwise differentiable ops. Broadcast inputs get their gradient summed back to their
// own shape (kernels::sum_to_shape).
#include "autograd/functional.h"
#include "tensor/ops.h"

namespace dcodr {

namespace K = kernels;

namespace {
Tensor mul_k(const Tensor& a, const Tensor& b) { return K::binary(BinaryOp::mul, a, b); }
Tensor scale_k(const Tensor& a, double s) { return K::unary(UnaryOp::mul_scalar, a, s); }
// Gradient for an input of shape `shape`, given the (broadcast) gradient g.
Tensor reduce_to(const Tensor& g, const Shape& shape) { return K::sum_to_shape(g, shape); }
Tensor reduce_to(const Tensor& g, const Tensor& input) { return K::sum_to_shape(g, input.shape()); }
}  // namespace

Tensor add(const Tensor& a, const Tensor& b) {
    return record("add", K::binary(BinaryOp::add, a, b), {a, b}, [sa = a.shape(), sb = b.shape()](const Tensor& g) {
        return GradList{reduce_to(g, sa), reduce_to(g, sb)};
    });
}
Tensor sub(const Tensor& a, const Tensor& b) {
    return record("sub", K::binary(BinaryOp::sub, a, b), {a, b}, [sa = a.shape(), sb = b.shape()](const Tensor& g) {
        return GradList{reduce_to(g, sa), reduce_to(K::unary(UnaryOp::neg, g), sb)};
    });
}
Tensor mul(const Tensor& a, const Tensor& b) {
    Tensor da = a.detach(), db = b.detach();
    return record("mul", K::binary(BinaryOp::mul, a, b), {a, b}, [da, db](const Tensor& g) {
        return GradList{reduce_to(mul_k(g, db), da), reduce_to(mul_k(g, da), db)};
    });
}
Tensor div(const Tensor& a, const Tensor& b) {
    Tensor da = a.detach(), db = b.detach();
    return record("div", K::binary(BinaryOp::div, a, b), {a, b}, [da, db](const Tensor& g) {
        Tensor ga = K::binary(BinaryOp::div, g, db);
        // d(a/b)/db = -a / b^2
        Tensor gb = K::unary(UnaryOp::neg, K::binary(BinaryOp::div, mul_k(ga, da), db));
        return GradList{reduce_to(ga, da), reduce_to(gb, db)};
    });
}

// Gradient routed by a 0/1 mask: to a where a wins (ties go to a), to b elsewhere.
static Tensor pick(BinaryOp op, const char* name, const Tensor& a, const Tensor& b) {
    Tensor da = a.detach(), db = b.detach();
    BinaryOp wins = op == BinaryOp::maximum ? BinaryOp::ge : BinaryOp::le;
    return record(name, K::binary(op, a, b), {a, b}, [da, db, wins](const Tensor& g) {
        Tensor mask = K::binary(wins, da, db);  // broadcast shape
        Tensor ga = mul_k(g, mask);
        Tensor gb = K::binary(BinaryOp::sub, g, ga);
        return GradList{reduce_to(ga, da), reduce_to(gb, db)};
    });
}
Tensor maximum(const Tensor& a, const Tensor& b) { return pick(BinaryOp::maximum, "maximum", a, b); }
Tensor minimum(const Tensor& a, const Tensor& b) { return pick(BinaryOp::minimum, "minimum", a, b); }

Tensor add_scalar(const Tensor& x, double s) {
    return record("add_scalar", K::unary(UnaryOp::add_scalar, x, s), {x}, [](const Tensor& g) {
        return GradList{g};
    });
}
Tensor mul_scalar(const Tensor& x, double s) {
    return record("mul_scalar", K::unary(UnaryOp::mul_scalar, x, s), {x}, [s](const Tensor& g) {
        return GradList{scale_k(g, s)};
    });
}
Tensor neg(const Tensor& x) { return mul_scalar(x, -1.0); }

Tensor exp(const Tensor& x) {
    Tensor y = K::unary(UnaryOp::exp, x);
    Tensor saved = y.detach();
    return record("exp", y, {x}, [saved](const Tensor& g) { return GradList{mul_k(g, saved)}; });
}
Tensor log(const Tensor& x) {
    Tensor dx = x.detach();
    return record("log", K::unary(UnaryOp::log, x), {x}, [dx](const Tensor& g) {
        return GradList{K::binary(BinaryOp::div, g, dx)};
    });
}
Tensor sqrt(const Tensor& x) {
    Tensor y = K::unary(UnaryOp::sqrt, x);
    Tensor saved = y.detach();
    return record("sqrt", y, {x}, [saved](const Tensor& g) {  // 1 / (2 sqrt(x))
        return GradList{K::binary(BinaryOp::div, scale_k(g, 0.5), saved)};
    });
}
Tensor rsqrt(const Tensor& x) {
    Tensor y = K::unary(UnaryOp::rsqrt, x);
    Tensor saved = y.detach();
    return record("rsqrt", y, {x}, [saved](const Tensor& g) {  // -0.5 x^-1.5 = -0.5 y^3
        Tensor y3 = mul_k(saved, K::unary(UnaryOp::square, saved));
        return GradList{mul_k(g, scale_k(y3, -0.5))};
    });
}
Tensor abs(const Tensor& x) {
    Tensor dx = x.detach();
    return record("abs", K::unary(UnaryOp::abs, x), {x}, [dx](const Tensor& g) {
        return GradList{mul_k(g, K::unary(UnaryOp::sign, dx))};
    });
}
Tensor square(const Tensor& x) {
    Tensor dx = x.detach();
    return record("square", K::unary(UnaryOp::square, x), {x}, [dx](const Tensor& g) {
        return GradList{mul_k(g, scale_k(dx, 2.0))};
    });
}
Tensor tanh(const Tensor& x) {
    Tensor y = K::unary(UnaryOp::tanh, x);
    Tensor saved = y.detach();
    return record("tanh", y, {x}, [saved](const Tensor& g) {  // 1 - y^2
        Tensor d = K::unary(UnaryOp::add_scalar, K::unary(UnaryOp::neg, K::unary(UnaryOp::square, saved)), 1.0);
        return GradList{mul_k(g, d)};
    });
}
Tensor sigmoid(const Tensor& x) {
    Tensor y = K::unary(UnaryOp::sigmoid, x);
    Tensor saved = y.detach();
    return record("sigmoid", y, {x}, [saved](const Tensor& g) {  // y (1 - y)
        Tensor one_minus = K::unary(UnaryOp::add_scalar, K::unary(UnaryOp::neg, saved), 1.0);
        return GradList{mul_k(g, mul_k(saved, one_minus))};
    });
}
Tensor relu(const Tensor& x) {
    Tensor dx = x.detach();
    return record("relu", K::unary(UnaryOp::relu, x), {x}, [dx](const Tensor& g) {
        return GradList{K::binary(BinaryOp::relu_grad, g, dx)};
    });
}
Tensor leaky_relu(const Tensor& x, double slope) {
    Tensor dx = x.detach();
    return record("leaky_relu", K::unary(UnaryOp::leaky_relu, x, slope), {x}, [dx, slope](const Tensor& g) {
        return GradList{K::binary(BinaryOp::leaky_relu_grad, g, dx, slope)};
    });
}
Tensor pow(const Tensor& x, double e) {
    Tensor dx = x.detach();
    return record("pow", K::unary(UnaryOp::pow_scalar, x, e), {x}, [dx, e](const Tensor& g) {
        return GradList{mul_k(g, scale_k(K::unary(UnaryOp::pow_scalar, dx, e - 1.0), e))};
    });
}

Tensor compare(BinaryOp op, const Tensor& a, const Tensor& b) { return K::binary(op, a, b); }

Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b) {
    Tensor c = cond.detach();
    return record("where", K::where(cond, a, b), {a, b}, [c, sa = a.shape(), sb = b.shape()](const Tensor& g) {
        Tensor zero = Tensor::zeros({}, g.dtype(), g.device());
        return GradList{reduce_to(K::where(c, g, zero), sa), reduce_to(K::where(c, zero, g), sb)};
    });
}
Tensor masked_fill(const Tensor& x, const Tensor& mask, double value) {
    return where(mask, Tensor::full({}, value, x.dtype(), x.device()), x);
}

Tensor operator+(const Tensor& a, const Tensor& b) { return add(a, b); }
Tensor operator-(const Tensor& a, const Tensor& b) { return sub(a, b); }
Tensor operator*(const Tensor& a, const Tensor& b) { return mul(a, b); }
Tensor operator/(const Tensor& a, const Tensor& b) { return div(a, b); }
Tensor operator-(const Tensor& x) { return neg(x); }
Tensor operator+(const Tensor& a, double s) { return add_scalar(a, s); }
Tensor operator-(const Tensor& a, double s) { return add_scalar(a, -s); }
Tensor operator*(const Tensor& a, double s) { return mul_scalar(a, s); }
Tensor operator*(double s, const Tensor& a) { return mul_scalar(a, s); }
Tensor operator/(const Tensor& a, double s) { return mul_scalar(a, 1.0 / s); }

}  // namespace dcodr
