// A node of the define-by-run graph: the backward of one op application.
//
// Every differentiable op (autograd/*.cpp) computes its forward with kernel ops and then
// calls record(), giving the output, the inputs, and a closure that maps the output's
// gradient to one gradient per input. Forward and backward of an op thus sit side by side.
#pragma once
#include <cstddef>
#include <functional>
#include <string>
#include <vector>

#include "tensor/tensor.h"

namespace dcodr {

using GradList = std::vector<Tensor>;  // one entry per input; undefined = no gradient
using BackwardFn = std::function<GradList(const Tensor& grad_output)>;

class Node {
public:
    Node(const char* name, std::vector<Tensor> inputs, BackwardFn fn)
        : name_(name), inputs_(std::move(inputs)), fn_(std::move(fn)) {}

    const char* name() const { return name_; }
    const std::vector<Tensor>& inputs() const { return inputs_; }
    bool released() const { return !fn_; }
    GradList apply(const Tensor& grad_output) const { return fn_(grad_output); }
    // Frees saved tensors once backward has run (unless the graph is retained).
    void release() {
        fn_ = nullptr;
        inputs_.clear();
    }

private:
    const char* name_;
    std::vector<Tensor> inputs_;  // handles keep the upstream graph alive
    BackwardFn fn_;
};

#ifdef DCODR_INFERENCE_ONLY
// An inference-only build (meson -Dinference_only=true) has no tape: ops record nothing, and
// taking `fn` as a template parameter (never turned into a BackwardFn) means no op's backward
// is compiled into it. backward() does not exist there, so training code cannot link.
constexpr bool grad_enabled() { return false; }
class NoGradGuard {
public:
    NoGradGuard() = default;
    NoGradGuard(const NoGradGuard&) = delete;
    NoGradGuard& operator=(const NoGradGuard&) = delete;
};
template <class Fn>
inline Tensor record(const char*, Tensor output, const std::vector<Tensor>&, Fn&&) {
    return output;
}
inline Tensor take_pending_grad(std::size_t) { return Tensor(); }
#else
// Grad mode: when off (inside a NoGradGuard), ops record nothing.
bool grad_enabled();
class NoGradGuard {
public:
    NoGradGuard();
    ~NoGradGuard();
    NoGradGuard(const NoGradGuard&) = delete;
    NoGradGuard& operator=(const NoGradGuard&) = delete;

private:
    bool previous_;
};

// Attaches a node producing `output` when grad mode is on and any input requires grad.
// Tensors saved inside `fn` must be detach()ed when they are the op's own output, or the
// output would keep itself alive through its node.
Tensor record(const char* name, Tensor output, std::vector<Tensor> inputs, BackwardFn fn);

// Reverse-mode pass from `root` (a scalar, unless `grad` is given): accumulates into the
// .grad() of every leaf that requires grad. Frees the graph unless retain_graph.
void backward(const Tensor& root, const Tensor& grad = Tensor(), bool retain_graph = false);

// For an op's backward closure, while backward() runs it: the gradient already gathered for
// the op's input `input` from the paths run before, handed over to be added into (the closure
// then returns a gradient that includes it), or an undefined tensor when there is none or
// something else still holds it (then return the op's own gradient as usual). A fused
// "compute and add" saves the separate sum and the memory of a fresh one: conv2d uses it, so a
// ResNet block's first convolution adds its input gradient into the residual path's.
Tensor take_pending_grad(std::size_t input);
#endif

}  // namespace dcodr
