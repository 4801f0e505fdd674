#include "tensor/reference/host.h"

namespace dcodr::reference {

namespace {

// Calls f(i, offset) for every element of t: i its row-major position, offset its place in
// storage relative to the view's first element.
template <class F>
void for_each_offset(const Tensor& t, F&& f) {
    const Shape& shape = t.shape();
    const Shape& strides = t.strides();
    const std::int64_t n = t.numel(), nd = t.dim();
    std::vector<std::int64_t> idx(static_cast<std::size_t>(nd), 0);
    std::int64_t off = 0;
    for (std::int64_t i = 0; i < n; ++i) {
        f(i, off);
        // Odometer step: advance the last index, carrying into earlier dims.
        for (std::int64_t d = nd - 1; d >= 0; --d) {
            if (++idx[d] < shape[d]) {
                off += strides[d];
                break;
            }
            off -= (shape[d] - 1) * strides[d];
            idx[d] = 0;
        }
    }
}

Tensor on_host(const Tensor& t) { return t.device().is_cpu() ? t : t.to(Device::cpu()); }

}  // namespace

std::vector<double> values(const Tensor& t_in) {
    Tensor t = on_host(t_in);
    std::vector<double> v(static_cast<std::size_t>(t.numel()));
    dispatch_dtype(t.dtype(), [&](auto tag) {
        using T = decltype(tag);
        const T* p = t.data<T>();
        for_each_offset(t, [&](std::int64_t i, std::int64_t off) { v[i] = static_cast<double>(p[off]); });
    });
    return v;
}

std::vector<std::int64_t> int_values(const Tensor& t_in) {
    Tensor t = on_host(t_in);
    std::vector<std::int64_t> v(static_cast<std::size_t>(t.numel()));
    const std::int64_t* p = t.data<std::int64_t>();
    for_each_offset(t, [&](std::int64_t i, std::int64_t off) { v[i] = p[off]; });
    return v;
}

Tensor f64(const std::vector<double>& v, const Shape& shape) { return Tensor::from_vector(v, shape, DType::f64); }

}  // namespace dcodr::reference
