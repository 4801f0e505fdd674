#include "nn/layers.h"

#include "nn/init.h"

namespace dcodr::nn {

Linear::Linear(std::int64_t in, std::int64_t out, bool with_bias) {
    weight = default_uniform({out, in}, in);
    register_parameter("weight", &weight);
    if (with_bias) {
        bias = default_uniform({out}, in);
        register_parameter("bias", &bias);
    }
}
Tensor Linear::forward(const Tensor& x) { return linear(x, weight, bias); }

Conv2d::Conv2d(std::int64_t in, std::int64_t out, std::int64_t k, std::int64_t stride, std::int64_t padding,
               bool with_bias, std::int64_t dilation, std::int64_t groups) {
    params = {stride, stride, padding, padding, dilation, dilation, groups};
    Shape ws{out, in / groups, k, k};
    weight = default_uniform(ws, fans(ws).first);
    register_parameter("weight", &weight);
    if (with_bias) {
        bias = default_uniform({out}, fans(ws).first);
        register_parameter("bias", &bias);
    }
}
Tensor Conv2d::forward(const Tensor& x) { return conv2d(x, weight, bias, params); }

BatchNorm::BatchNorm(std::int64_t c, double eps, double momentum, bool affine) : eps(eps), momentum(momentum) {
    if (affine) {
        weight = Tensor::ones({c});
        bias = Tensor::zeros({c});
        register_parameter("weight", &weight);
        register_parameter("bias", &bias);
    }
    running_mean = Tensor::zeros({c});
    running_var = Tensor::ones({c});
    num_batches_tracked = Tensor::zeros({}, DType::i64);
    register_buffer("running_mean", &running_mean);
    register_buffer("running_var", &running_var);
    register_buffer("num_batches_tracked", &num_batches_tracked);
}
namespace {
thread_local std::int64_t t_batch_stats_groups = 1;
}
BatchStatsGroups::BatchStatsGroups(std::int64_t groups) : previous_(t_batch_stats_groups) {
    DCODR_CHECK(groups >= 1, "BatchStatsGroups: groups must be at least 1, got {}", groups);
    t_batch_stats_groups = groups;
}
BatchStatsGroups::~BatchStatsGroups() { t_batch_stats_groups = previous_; }
std::int64_t BatchStatsGroups::current() { return t_batch_stats_groups; }

Tensor BatchNorm::forward(const Tensor& x) { return run(x, false); }
Tensor BatchNorm::forward_relu(const Tensor& x) { return run(x, true); }
Tensor BatchNorm::forward_add_relu(const Tensor& x, const Tensor& residual) { return run(x, true, residual); }

Tensor BatchNorm::run(const Tensor& x, bool relu, const Tensor& residual) {
    const std::int64_t groups = is_training() ? BatchStatsGroups::current() : 1;
    if (is_training()) {
        // Counted on the host side of the tensor only when it lives there; on a GPU a
        // device-side +1 would need a kernel launch per layer for a number nobody reads.
        // One update of the running statistics per statistics group.
        if (num_batches_tracked.device().is_cpu())
            num_batches_tracked.data<std::int64_t>()[0] += groups;
    }
    return batch_norm(x, weight, bias, running_mean, running_var, is_training(), momentum, eps, relu, residual,
                      groups);
}

Embedding::Embedding(std::int64_t count, std::int64_t dim, double init_bound) {
    DCODR_CHECK(count >= 1 && dim >= 1, "Embedding: needs at least one row of at least one value, got [{}, {}]",
                count, dim);
    weight = default_generator().uniform({count, dim}, -init_bound, init_bound);
    register_parameter("weight", &weight);
}
Tensor Embedding::forward(const Tensor& ids) {
    DCODR_CHECK(ids.dtype() == DType::i64, "Embedding: ids must be int64, got {}", dtype_name(ids.dtype()));
    Tensor flat = index_select(weight, 0, ids.reshape({-1}));
    Shape out = ids.shape();
    out.push_back(weight.size(1));
    return reshape(flat, out);
}

MaxPool2d::MaxPool2d(std::int64_t k, std::int64_t s, std::int64_t p) { params = {k, k, s, s, p, p, true}; }

Sequential::Sequential(std::vector<std::shared_ptr<Module>> modules) {
    for (auto& m : modules) push_back(std::move(m));
}
void Sequential::push_back(std::shared_ptr<Module> m) { register_module(std::to_string(children().size()), std::move(m)); }
Tensor Sequential::forward(const Tensor& x) {
    Tensor y = x;
    for (auto& [n, m] : children()) y = m->forward(y);
    return y;
}

}  // namespace dcodr::nn
