// Module: named parameters, buffers and child modules, with PyTorch's naming and state-dict
// order (a module's own parameters, then its own buffers, then each child's, recursively),
// so names match torchvision's ("layer1.0.conv1.weight", "bn1.running_mean") and our
// checkpoints open in PyTorch and theirs in ours.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "autograd/functional.h"
#include "nn/named_tensor.h"

namespace dcodr::nn {

class Module {
public:
    virtual ~Module() = default;
    Module() = default;
    Module(const Module&) = delete;
    Module& operator=(const Module&) = delete;

    // The usual single-input forward; modules with other signatures add their own.
    virtual Tensor forward(const Tensor& x);
    Tensor operator()(const Tensor& x) { return forward(x); }

    std::vector<NamedTensor> named_parameters() const;
    std::vector<Tensor> parameters() const;
    std::vector<NamedTensor> named_buffers() const;
    // Parameters and buffers in PyTorch's state_dict order.
    std::vector<NamedTensor> state_dict() const;
    std::int64_t parameter_count() const;

    void train(bool on = true);
    void eval() { train(false); }
    bool is_training() const { return training_; }
    // Moves every parameter and buffer (parameters keep requires_grad).
    void to(Device device);
    // Converts floating parameters and buffers (float64 models serve gradient checks).
    void to(DType dtype);
    void zero_grad();

    const std::vector<std::pair<std::string, std::shared_ptr<Module>>>& children() const { return children_; }

protected:
    // The slot is the module's own member: registering it lets to() replace it in place.
    void register_parameter(const std::string& name, Tensor* slot);
    void register_buffer(const std::string& name, Tensor* slot);
    template <class M>
    std::shared_ptr<M> register_module(const std::string& name, std::shared_ptr<M> m) {
        children_.emplace_back(name, m);
        return m;
    }
    // Swaps the child registered as `name`, keeping its place in the state-dict order.
    void replace_module(const std::string& name, std::shared_ptr<Module> m);

private:
    void collect(const std::string& prefix, bool params, bool buffers, std::vector<NamedTensor>& out) const;
    std::vector<std::pair<std::string, Tensor*>> params_, buffers_;
    std::vector<std::pair<std::string, std::shared_ptr<Module>>> children_;
    bool training_ = true;
};

}  // namespace dcodr::nn
