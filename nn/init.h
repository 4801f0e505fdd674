// Seeded parameter initialisation (PyTorch's schemes), drawing from one Philox stream.
#pragma once
#include <cstdint>

#include "tensor/tensor.h"

namespace dcodr::nn {

// A counter-based generator: (seed, offset) is its whole state, so it can be saved in a
// checkpoint and restored exactly.
class Generator {
public:
    explicit Generator(std::uint64_t seed = 0) : seed_(seed) {}
    Tensor uniform(const Shape& shape, double lo, double hi, DType dtype = DType::f32);
    Tensor normal(const Shape& shape, double mean, double std, DType dtype = DType::f32);
    std::uint64_t seed() const { return seed_; }
    std::uint64_t offset() const { return offset_; }
    void set_state(std::uint64_t seed, std::uint64_t offset) { seed_ = seed, offset_ = offset; }

private:
    std::uint64_t seed_, offset_ = 0;
};

// The generator layers draw their initial weights from (set its seed before building a model).
Generator& default_generator();
void manual_seed(std::uint64_t seed);

// fan_in/fan_out of a [out, in, k...] weight, as torch.nn.init computes them.
std::pair<std::int64_t, std::int64_t> fans(const Shape& weight_shape);
// U(-1/sqrt(fan_in), 1/sqrt(fan_in)): PyTorch's default for Linear and Conv weights and biases
// (kaiming_uniform with a = sqrt(5) reduces to this bound).
Tensor default_uniform(const Shape& shape, std::int64_t fan_in);
// N(0, sqrt(2 / fan_out)): torchvision ResNet's kaiming_normal_(mode="fan_out", relu).
Tensor kaiming_normal_fan_out(const Shape& shape);

}  // namespace dcodr::nn
