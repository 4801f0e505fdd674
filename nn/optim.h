// Optimisers and learning-rate schedules.
#pragma once
#include <string>
#include <vector>

#include "nn/named_tensor.h"

namespace dcodr::nn {

// Adam (Kingma & Ba) with PyTorch's update rule and defaults, no weight decay (the method
// uses none), and parameter groups with their own learning rate.
class Adam {
public:
    struct Group {
        std::vector<NamedTensor> params;
        double lr;
    };
    Adam(std::vector<Group> groups, double beta1 = 0.9, double beta2 = 0.999, double eps = 1e-8);

    // Applies one update to every parameter that has a gradient.
    void step();
    void zero_grad();
    std::int64_t steps() const { return step_; }
    std::vector<Group>& groups() { return groups_; }

    // Moments as named tensors ("<group>.<param>.exp_avg"/"exp_avg_sq") plus the step, for
    // checkpoints; load_state restores them (strict: all must match).
    std::vector<NamedTensor> state() const;
    void load_state(const std::vector<NamedTensor>& state);

private:
    struct Moments {
        Tensor m, v;
    };
    std::vector<Group> groups_;
    std::vector<std::vector<Moments>> moments_;
    double beta1_, beta2_, eps_;
    std::int64_t step_ = 0;
};

// Scales the gradients of `params` in place so that their global L2 norm is at most
// max_norm (torch.nn.utils.clip_grad_norm_); returns the norm before clipping.
double clip_grad_norm(const std::vector<Tensor>& params, double max_norm);

// Multiplies every group's learning rate by gamma each `step_size` epochs (torch StepLR),
// computed from the epoch, so resuming needs only the epoch number.
class StepLR {
public:
    StepLR(Adam& opt, std::int64_t step_size, double gamma);
    void set_epoch(std::int64_t epoch);

private:
    Adam& opt_;
    std::vector<double> base_lrs_;
    std::int64_t step_size_;
    double gamma_;
};

}  // namespace dcodr::nn
