// N-d iteration over strided views with the same shape: calls an inner kernel once per
// innermost row with that row's pointers and strides, so the kernel's loop is a plain 1-D
// loop (vectorised by the compiler when the strides are 1). Outer rows run in parallel.
#pragma once
#include <vector>

#include "tensor/cpu/cpu_backend.h"

namespace dcodr {

namespace detail {
// Row r of the outer dims -> element offset, for each operand.
inline void row_offsets(const Shape& shape, const std::vector<const Shape*>& strides, std::int64_t row,
                        std::vector<std::int64_t>& offs) {
    std::fill(offs.begin(), offs.end(), 0);
    for (std::int64_t d = static_cast<std::int64_t>(shape.size()) - 2; d >= 0; --d) {
        std::int64_t idx = row % shape[d];
        row /= shape[d];
        for (std::size_t k = 0; k < strides.size(); ++k) offs[k] += idx * (*strides[k])[d];
    }
}
}  // namespace detail

// f(T0* out, const T1* a, n, out_stride, a_stride)
template <class T0, class T1, class F>
void for_each_strided2(Tensor& out, const Tensor& a, F&& f) {
    const Shape& shape = out.shape();
    if (shape.empty()) {
        f(out.data<T0>(), a.data<T1>(), 1, 1, 1);
        return;
    }
    std::int64_t inner = shape.back(), rows = out.numel() / std::max<std::int64_t>(inner, 1);
    if (inner == 0) return;
    T0* po = out.data<T0>();
    const T1* pa = a.data<T1>();
    std::vector<const Shape*> st = {&out.strides(), &a.strides()};
#pragma omp parallel if (out.numel() > kParallelGrain)
    {
        std::vector<std::int64_t> offs(2);
#pragma omp for
        for (std::int64_t r = 0; r < rows; ++r) {
            detail::row_offsets(shape, st, r, offs);
            f(po + offs[0], pa + offs[1], inner, out.strides().back(), a.strides().back());
        }
    }
}
// f(T0* out, const T1* a, const T2* b, n, so, sa, sb)
template <class T0, class T1, class T2, class F>
void for_each_strided3(Tensor& out, const Tensor& a, const Tensor& b, F&& f) {
    const Shape& shape = out.shape();
    if (shape.empty()) {
        f(out.data<T0>(), a.data<T1>(), b.data<T2>(), 1, 1, 1, 1);
        return;
    }
    std::int64_t inner = shape.back(), rows = out.numel() / std::max<std::int64_t>(inner, 1);
    if (inner == 0) return;
    T0* po = out.data<T0>();
    const T1* pa = a.data<T1>();
    const T2* pb = b.data<T2>();
    std::vector<const Shape*> st = {&out.strides(), &a.strides(), &b.strides()};
#pragma omp parallel if (out.numel() > kParallelGrain)
    {
        std::vector<std::int64_t> offs(3);
#pragma omp for
        for (std::int64_t r = 0; r < rows; ++r) {
            detail::row_offsets(shape, st, r, offs);
            f(po + offs[0], pa + offs[1], pb + offs[2], inner, out.strides().back(), a.strides().back(),
              b.strides().back());
        }
    }
}

}  // namespace dcodr
