#include "nn/optim.h"

#include <cmath>
#include <map>
#include <string>
#include <vector>

#include "tensor/backend.h"
#include "tensor/ops.h"
#include "tensor/profiler.h"

namespace dcodr::nn {

Adam::Adam(std::vector<Group> groups, double beta1, double beta2, double eps)
    : groups_(std::move(groups)), beta1_(beta1), beta2_(beta2), eps_(eps) {
    // A tensor listed twice would be stepped twice per step (and raced on by the GPU's
    // multi-tensor kernel): refuse it, naming both entries.
    std::map<const void*, std::string> seen;
    for (auto& g : groups_)
        for (auto& p : g.params) {
            auto [it, fresh] = seen.emplace(p.tensor.impl_ptr().get(), p.name);
            DCODR_CHECK(fresh, "Adam: parameter '{}' is the same tensor as '{}'; list each parameter once", p.name,
                        it->second);
        }
    for (auto& g : groups_) {
        std::vector<Moments> ms;
        for (auto& p : g.params) {
            DCODR_CHECK(p.tensor.requires_grad(), "Adam: parameter {} does not require grad", p.name);
            ms.push_back({Tensor::zeros(p.tensor.shape(), p.tensor.dtype(), p.tensor.device()),
                          Tensor::zeros(p.tensor.shape(), p.tensor.dtype(), p.tensor.device())});
        }
        moments_.push_back(std::move(ms));
    }
}

void Adam::step() {
    profiler::PhaseScope phase(profiler::Phase::optimizer);
    ++step_;
    double c1 = 1 - std::pow(beta1_, static_cast<double>(step_));
    double c2 = 1 - std::pow(beta2_, static_cast<double>(step_));
    for (std::size_t gi = 0; gi < groups_.size(); ++gi) {
        // One multi-tensor update per (device, dtype) of the group: on a GPU one kernel launch
        // instead of one per parameter.
        std::vector<Tensor> grads;  // keeps the contiguous gradients alive for the call
        grads.reserve(groups_[gi].params.size());
        std::map<std::pair<std::string, int>, std::vector<Backend::AdamTensors>> batches;
        for (std::size_t pi = 0; pi < groups_[gi].params.size(); ++pi) {
            Tensor& p = groups_[gi].params[pi].tensor;
            Tensor g = p.grad();
            if (!g.defined()) continue;
            Moments& mo = moments_[gi][pi];
            if (mo.m.device() != p.device()) {  // the model moved after the optimiser was built
                mo.m = mo.m.to(p.device());
                mo.v = mo.v.to(p.device());
            }
            grads.push_back(g.contiguous());
            batches[{p.device().str(), static_cast<int>(p.dtype())}].push_back({&p, &grads.back(), &mo.m, &mo.v});
        }
        for (auto& [key, ts] : batches)
            ts.front().param->backend().adam_step_multi(ts, groups_[gi].lr, beta1_, beta2_, eps_, c1, c2);
    }
}

void Adam::zero_grad() {
    for (auto& g : groups_)
        for (auto& p : g.params) p.tensor.zero_grad();
}

std::vector<NamedTensor> Adam::state() const {
    std::vector<NamedTensor> out;
    for (std::size_t gi = 0; gi < groups_.size(); ++gi)
        for (std::size_t pi = 0; pi < groups_[gi].params.size(); ++pi) {
            const std::string base = "adam." + groups_[gi].params[pi].name;
            out.push_back({base + ".exp_avg", moments_[gi][pi].m});
            out.push_back({base + ".exp_avg_sq", moments_[gi][pi].v});
        }
    out.push_back({"adam.step", Tensor::full({}, static_cast<double>(step_), DType::i64)});
    return out;
}

void Adam::load_state(const std::vector<NamedTensor>& state) {
    std::map<std::string, Tensor> by_name;
    for (auto& nt : state) by_name[nt.name] = nt.tensor;
    auto take = [&](const std::string& name, Tensor& dst) {
        auto it = by_name.find(name);
        DCODR_CHECK(it != by_name.end(), "optimizer state: missing '{}'", name);
        DCODR_CHECK(it->second.shape() == dst.shape(), "optimizer state: '{}' has shape {}, expected {}", name,
                    shape_str(it->second.shape()), shape_str(dst.shape()));
        dst.copy_(it->second);
    };
    for (std::size_t gi = 0; gi < groups_.size(); ++gi)
        for (std::size_t pi = 0; pi < groups_[gi].params.size(); ++pi) {
            const std::string base = "adam." + groups_[gi].params[pi].name;
            take(base + ".exp_avg", moments_[gi][pi].m);
            take(base + ".exp_avg_sq", moments_[gi][pi].v);
        }
    auto it = by_name.find("adam.step");
    DCODR_CHECK(it != by_name.end(), "optimizer state: missing 'adam.step'");
    step_ = static_cast<std::int64_t>(it->second.item());
}

double clip_grad_norm(const std::vector<Tensor>& params, double max_norm) {
    DCODR_CHECK(max_norm > 0, "clip_grad_norm: max_norm must be positive, got {}", max_norm);
    profiler::PhaseScope phase(profiler::Phase::optimizer);
    // Per-parameter sums of squares stay on their device; one item() per (device, dtype), so a
    // GPU run waits once per step instead of once per parameter.
    std::map<std::pair<std::string, int>, std::vector<Tensor>> parts;
    for (const Tensor& p : params)
        if (p.grad().defined())
            parts[{p.device().str(), static_cast<int>(p.dtype())}].push_back(
                kernels::sum(kernels::unary(UnaryOp::square, p.grad())).reshape({1}));
    double sq = 0;
    for (auto& [key, sums] : parts) sq += kernels::sum(kernels::concat(sums, 0)).item();
    double norm = std::sqrt(sq);
    if (norm > max_norm)
        for (Tensor p : params)
            if (p.grad().defined()) p.set_grad(kernels::unary(UnaryOp::mul_scalar, p.grad(), max_norm / norm));
    return norm;
}

StepLR::StepLR(Adam& opt, std::int64_t step_size, double gamma) : opt_(opt), step_size_(step_size), gamma_(gamma) {
    DCODR_CHECK(step_size > 0, "StepLR: step_size must be positive, got {}", step_size);
    for (auto& g : opt.groups()) base_lrs_.push_back(g.lr);
}
void StepLR::set_epoch(std::int64_t epoch) {
    double factor = std::pow(gamma_, static_cast<double>(epoch / step_size_));
    for (std::size_t i = 0; i < base_lrs_.size(); ++i) opt_.groups()[i].lr = base_lrs_[i] * factor;
}

}  // namespace dcodr::nn
