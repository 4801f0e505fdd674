// The standard layers, each a thin Module over one differentiable op.
#pragma once
#include <functional>

#include "nn/module.h"

namespace dcodr::nn {

class Linear : public Module {
public:
    Linear(std::int64_t in, std::int64_t out, bool bias = true);
    Tensor forward(const Tensor& x) override;
    Tensor weight, bias;  // weight [out, in]
};

class Conv2d : public Module {
public:
    Conv2d(std::int64_t in, std::int64_t out, std::int64_t kernel, std::int64_t stride = 1, std::int64_t padding = 0,
           bool bias = true, std::int64_t dilation = 1, std::int64_t groups = 1);
    Tensor forward(const Tensor& x) override;
    Tensor weight, bias;  // weight [out, in/groups, k, k]
    Conv2dParams params;
};

// Within a BatchStatsGroups(g) scope (on this thread), every BatchNorm in training mode takes
// its statistics separately over g equal consecutive slices of its batch, and updates its
// running statistics once per slice, in order. A model run once on [a; b] then computes what
// it computes run on a and on b separately: convolutions and linear layers treat samples
// independently, batch norm is the only layer that mixes them. DCoDR takes batch statistics
// per view (clean, augmented); one pass over both views halves the kernel launches of a step,
// removes the sums of the two passes' parameter gradients and gives every convolution a batch
// twice the size (docs/design.md, "one pass for both views").
class BatchStatsGroups {
public:
    explicit BatchStatsGroups(std::int64_t groups);
    ~BatchStatsGroups();
    BatchStatsGroups(const BatchStatsGroups&) = delete;
    BatchStatsGroups& operator=(const BatchStatsGroups&) = delete;
    static std::int64_t current();  // 1 outside any scope

private:
    std::int64_t previous_;
};

// BatchNorm over dim 1 for [N, C] (BatchNorm1d) and [N, C, H, W] (BatchNorm2d) alike.
class BatchNorm : public Module {
public:
    explicit BatchNorm(std::int64_t channels, double eps = 1e-5, double momentum = 0.1, bool affine = true);
    Tensor forward(const Tensor& x) override;
    // relu(forward(x)), fused into the normalisation (ResNet's BN -> ReLU).
    Tensor forward_relu(const Tensor& x);
    // relu(forward(x) + residual) as one op (a ResNet block's tail: BN, skip connection, ReLU).
    Tensor forward_add_relu(const Tensor& x, const Tensor& residual);
    Tensor weight, bias, running_mean, running_var, num_batches_tracked;
    double eps, momentum;

private:
    Tensor run(const Tensor& x, bool relu, const Tensor& residual = Tensor());
};
using BatchNorm1d = BatchNorm;
using BatchNorm2d = BatchNorm;

class ReLU : public Module {
public:
    Tensor forward(const Tensor& x) override { return relu(x); }
};
class LeakyReLU : public Module {
public:
    explicit LeakyReLU(double slope = 0.01) : slope(slope) {}
    Tensor forward(const Tensor& x) override { return leaky_relu(x, slope); }
    double slope;
};
class MaxPool2d : public Module {
public:
    MaxPool2d(std::int64_t kernel, std::int64_t stride, std::int64_t padding = 0);
    Tensor forward(const Tensor& x) override { return max_pool2d(x, params); }
    Pool2dParams params;
};
class AdaptiveAvgPool2d : public Module {
public:
    AdaptiveAvgPool2d(std::int64_t h, std::int64_t w) : h(h), w(w) {}
    Tensor forward(const Tensor& x) override { return adaptive_avg_pool2d(x, h, w); }
    std::int64_t h, w;
};
// A table of learned vectors, one row per id (torch.nn.Embedding): forward takes int64 ids of
// any shape and returns [..., dim]. The backward adds each row's gradient into the table
// (index_select's scatter-add), so an id drawn twice in a batch gets both contributions.
class Embedding : public Module {
public:
    // Rows start U(-init_bound, init_bound) (DCoDR's per-domain latents use 0.05; PyTorch's own
    // default, N(0, 1), is not what the method uses).
    Embedding(std::int64_t count, std::int64_t dim, double init_bound);
    Tensor forward(const Tensor& ids) override;
    Tensor weight;  // [count, dim]
};
// Nearest-neighbour upsampling by an integer factor (torch.nn.Upsample(scale_factor=s)).
class Upsample : public Module {
public:
    explicit Upsample(std::int64_t scale) : scale(scale) {}
    Tensor forward(const Tensor& x) override { return upsample_nearest2d(x, scale); }
    std::int64_t scale;
};
class Sigmoid : public Module {
public:
    Tensor forward(const Tensor& x) override { return sigmoid(x); }
};
class Flatten : public Module {
public:
    Tensor forward(const Tensor& x) override { return flatten(x, 1); }
};

// Children named "0", "1", ... (as torch.nn.Sequential), applied in order.
class Sequential : public Module {
public:
    Sequential() = default;
    explicit Sequential(std::vector<std::shared_ptr<Module>> modules);
    void push_back(std::shared_ptr<Module> m);
    Tensor forward(const Tensor& x) override;
    std::size_t size() const { return children().size(); }
    Module& operator[](std::size_t i) const { return *children()[i].second; }
};

}  // namespace dcodr::nn
