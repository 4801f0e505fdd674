#include "nn/init.h"

#include <cmath>

#include "tensor/philox.h"

namespace dcodr::nn {

Tensor Generator::uniform(const Shape& shape, double lo, double hi, DType dtype) {
    Tensor t = Tensor::uniform(shape, lo, hi, seed_, offset_, dtype);
    offset_ += philox::counters_used(static_cast<std::uint64_t>(t.numel()));
    return t;
}
Tensor Generator::normal(const Shape& shape, double mean, double std, DType dtype) {
    Tensor t = Tensor::normal(shape, mean, std, seed_, offset_, dtype);
    offset_ += philox::counters_used(static_cast<std::uint64_t>(t.numel()));
    return t;
}
Generator& default_generator() {
    static Generator g(0);
    return g;
}
void manual_seed(std::uint64_t seed) { default_generator().set_state(seed, 0); }

std::pair<std::int64_t, std::int64_t> fans(const Shape& s) {
    std::int64_t receptive = 1;
    for (std::size_t i = 2; i < s.size(); ++i) receptive *= s[i];
    return {s.size() > 1 ? s[1] * receptive : s[0], s[0] * receptive};
}
Tensor default_uniform(const Shape& shape, std::int64_t fan_in) {
    double bound = fan_in > 0 ? 1.0 / std::sqrt(static_cast<double>(fan_in)) : 0.0;
    return default_generator().uniform(shape, -bound, bound);
}
Tensor kaiming_normal_fan_out(const Shape& shape) {
    return default_generator().normal(shape, 0.0, std::sqrt(2.0 / static_cast<double>(fans(shape).second)));
}

}  // namespace dcodr::nn
