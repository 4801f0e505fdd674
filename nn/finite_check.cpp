#include "nn/finite_check.h"

#include <cmath>

#include "tensor/error.h"

namespace dcodr::nn {

namespace {

template <class T>
std::int64_t count_non_finite(const Tensor& t) {
    const T* p = t.data<T>();
    std::int64_t bad = 0;
    for (std::int64_t i = 0, n = t.numel(); i < n; ++i) bad += !std::isfinite(p[i]);
    return bad;
}

}  // namespace

void require_finite(const std::vector<NamedTensor>& tensors, const std::string& path) {
    for (const auto& nt : tensors) {
        if (nt.tensor.dtype() == DType::i64) continue;
        Tensor host = nt.tensor.to(Device()).contiguous();
        const std::int64_t bad =
            host.dtype() == DType::f32 ? count_non_finite<float>(host) : count_non_finite<double>(host);
        DCODR_CHECK(bad == 0,
                    "{}: tensor '{}' holds {} non-finite values (NaN or inf); the weights are corrupt or come from a "
                    "diverged run",
                    path, nt.name, bad);
    }
}

}  // namespace dcodr::nn
