#include "nn/module.h"

namespace dcodr::nn {

Tensor Module::forward(const Tensor&) { fail("this module has no single-input forward()"); }

void Module::register_parameter(const std::string& name, Tensor* slot) {
    slot->set_requires_grad(true);
    params_.emplace_back(name, slot);
}
void Module::replace_module(const std::string& name, std::shared_ptr<Module> m) {
    for (auto& [n, c] : children_)
        if (n == name) {
            c = std::move(m);
            return;
        }
    fail("replace_module: no child named '{}'", name);
}
void Module::register_buffer(const std::string& name, Tensor* slot) { buffers_.emplace_back(name, slot); }

void Module::collect(const std::string& prefix, bool params, bool buffers, std::vector<NamedTensor>& out) const {
    if (params)
        for (auto& [n, t] : params_) out.push_back({prefix + n, *t});
    if (buffers)
        for (auto& [n, t] : buffers_) out.push_back({prefix + n, *t});
    for (auto& [n, child] : children_) child->collect(prefix + n + ".", params, buffers, out);
}

std::vector<NamedTensor> Module::named_parameters() const {
    std::vector<NamedTensor> out;
    collect("", true, false, out);
    return out;
}
std::vector<Tensor> Module::parameters() const {
    std::vector<Tensor> out;
    for (auto& nt : named_parameters()) out.push_back(nt.tensor);
    return out;
}
std::vector<NamedTensor> Module::named_buffers() const {
    std::vector<NamedTensor> out;
    collect("", false, true, out);
    return out;
}
std::vector<NamedTensor> Module::state_dict() const {
    std::vector<NamedTensor> out;
    collect("", true, true, out);
    return out;
}
std::int64_t Module::parameter_count() const {
    std::int64_t n = 0;
    for (auto& p : named_parameters()) n += p.tensor.numel();
    return n;
}

void Module::train(bool on) {
    training_ = on;
    for (auto& [n, c] : children_) c->train(on);
}
void Module::to(Device device) {
    for (auto& [n, t] : params_) {
        if (t->device() == device) continue;
        const bool frozen = !t->requires_grad();  // e.g. VGG16 inside the perceptual loss
        *t = t->to(device);
        t->set_requires_grad(!frozen);
    }
    for (auto& [n, t] : buffers_)
        if (t->device() != device) *t = t->to(device);
    for (auto& [n, c] : children_) c->to(device);
}
void Module::to(DType dtype) {
    for (auto& [n, t] : params_) {
        if (t->dtype() == dtype) continue;
        const bool frozen = !t->requires_grad();  // e.g. VGG16 inside the perceptual loss
        *t = t->to(dtype);
        t->set_requires_grad(!frozen);
    }
    for (auto& [n, t] : buffers_)
        if (is_floating(t->dtype()) && t->dtype() != dtype) *t = t->to(dtype);
    for (auto& [n, c] : children_) c->to(dtype);
}
void Module::zero_grad() {
    for (auto& [n, t] : params_) t->zero_grad();
    for (auto& [n, c] : children_) c->zero_grad();
}

}  // namespace dcodr::nn
