// The backward pass: topological order over the graph, then one sweep that hands each
// node the sum of its output's gradients and routes the results to inputs.
#include <unordered_map>
#include <unordered_set>

#include "autograd/node.h"
#include "tensor/ops.h"
#include "tensor/profiler.h"

namespace dcodr {

namespace {
thread_local bool g_grad_enabled = true;
}

bool grad_enabled() { return g_grad_enabled; }
NoGradGuard::NoGradGuard() : previous_(g_grad_enabled) { g_grad_enabled = false; }
NoGradGuard::~NoGradGuard() { g_grad_enabled = previous_; }

Tensor record(const char* name, Tensor output, std::vector<Tensor> inputs, BackwardFn fn) {
    if (!g_grad_enabled) return output;
    bool any = false;
    for (const Tensor& t : inputs) any = any || (t.defined() && t.requires_grad());
    if (!any) return output;
    // Inputs that need no gradient are dropped from the node, so backward skips them. An op
    // whose output is one of its inputs (a view returned as is) would overwrite that input's own
    // node: its gradient would be lost and the graph would hold itself.
    for (Tensor& t : inputs) {
        DCODR_CHECK(!t.defined() || t.impl_ptr() != output.impl_ptr(),
                    "autograd: op '{}' returned its own input; return the input without recording", name);
        if (t.defined() && !t.requires_grad()) t = Tensor();
    }
    auto& meta = output.impl().autograd;
    meta.requires_grad = true;
    meta.grad_fn = std::make_shared<Node>(name, std::move(inputs), std::move(fn));
    return output;
}

// True when nothing but the caller's reference can see g's memory: a dense tensor that is the
// only view of its storage, held once, and not part of a graph.
static bool exclusively_owned(const Tensor& g) {
    return g.impl_ptr().use_count() == 1 && g.storage().use_count() == 1 && g.is_contiguous() && g.offset() == 0 &&
           g.storage()->nbytes == static_cast<std::size_t>(g.numel()) * dtype_size(g.dtype()) && !g.requires_grad();
}

// slot += g for a node's pending gradient. A slot nobody else can see is added into in place:
// a fresh sum would be written to new memory, which the CPU first reads in (a ResNet block's
// input gradient is 67 MB at the paper's batch: three such sums per step in layer1 alone).
static void accumulate(Tensor& slot, const Tensor& g) {
    if (!slot.defined()) slot = g;
    else if (exclusively_owned(slot) && slot.shape() == g.shape()) kernels::add_(slot, g);
    else slot = kernels::binary(BinaryOp::add, slot, g);
}

// A leaf's .grad is its own dense tensor: the incoming gradient may be a broadcast view or
// shared with another input's gradient (add passes the same tensor to both sides), and then it
// is copied. A fresh gradient nobody else holds (a conv's or matmul's output) is adopted as is:
// that saves one copy per parameter and step (a ResNet-50 has 161 parameter tensors).
static void accumulate_leaf(Tensor leaf, const Tensor& g) {
    Tensor existing = leaf.grad();
    if (existing.defined()) leaf.set_grad(kernels::binary(BinaryOp::add, existing, g));
    else leaf.set_grad(exclusively_owned(g) ? g : g.clone());
}

namespace {
// The node whose backward closure is running and the engine's pending gradients, for
// take_pending_grad (thread-local: backward passes on different threads do not mix).
struct Pending {
    const Node* node = nullptr;
    std::unordered_map<Node*, Tensor>* grads = nullptr;
};
thread_local Pending g_pending;

// Sets g_pending for one closure call and restores the previous one (exceptions included).
class PendingScope {
public:
    PendingScope(const Node* node, std::unordered_map<Node*, Tensor>* grads) : saved_(g_pending) {
        g_pending = {node, grads};
    }
    ~PendingScope() { g_pending = saved_; }
    PendingScope(const PendingScope&) = delete;
    PendingScope& operator=(const PendingScope&) = delete;

private:
    Pending saved_;
};
}  // namespace

Tensor take_pending_grad(std::size_t input) {
    if (!g_pending.node) return Tensor();
    const std::vector<Tensor>& inputs = g_pending.node->inputs();
    if (input >= inputs.size() || !inputs[input].defined()) return Tensor();
    Node* producer = inputs[input].impl().autograd.grad_fn.get();
    if (!producer) return Tensor();  // a leaf: its .grad() follows accumulate_leaf's rules
    for (std::size_t i = 0; i < inputs.size(); ++i)  // the same tensor twice: the engine sums them
        if (i != input && inputs[i].defined() && inputs[i].impl().autograd.grad_fn.get() == producer) return Tensor();
    auto found = g_pending.grads->find(producer);
    if (found == g_pending.grads->end() || !found->second.defined()) return Tensor();
    if (!exclusively_owned(found->second) || found->second.shape() != inputs[input].shape()) return Tensor();
    Tensor pending = std::move(found->second);
    g_pending.grads->erase(found);
    return pending;
}

void backward(const Tensor& root, const Tensor& grad, bool retain_graph) {
    profiler::PhaseScope phase(profiler::Phase::backward);  // for `bench step --profile`'s breakdown
    DCODR_CHECK(root.requires_grad(), "backward: the tensor does not require grad (no input required grad, or it "
                "was computed under NoGradGuard)");
    Tensor seed = grad;
    if (!seed.defined()) {
        DCODR_CHECK(root.numel() == 1, "backward: implicit gradient needs a scalar, got shape {}; pass a gradient",
                    shape_str(root.shape()));
        seed = Tensor::ones(root.shape(), root.dtype(), root.device());
    }
    DCODR_CHECK(seed.shape() == root.shape(), "backward: gradient shape {} != tensor shape {}",
                shape_str(seed.shape()), shape_str(root.shape()));

    Node* root_node = root.impl().autograd.grad_fn.get();
    if (!root_node) {  // a leaf: its gradient is the seed itself
        accumulate_leaf(root, seed);
        return;
    }
    DCODR_CHECK(!root_node->released(), "backward: the graph was already freed by an earlier backward; pass "
                "retain_graph=true to the first call to go through it twice");

    // Post-order DFS (iterative: ResNets make graphs deep enough to matter for recursion).
    // `order` owns the nodes: releasing a node drops its inputs, which may be the last
    // reference to an upstream node still waiting for its turn.
    std::vector<std::shared_ptr<Node>> order;
    std::unordered_set<Node*> seen;
    std::vector<std::pair<std::shared_ptr<Node>, std::size_t>> stack{{root.impl().autograd.grad_fn, 0}};
    seen.insert(root_node);
    while (!stack.empty()) {
        auto& [node, next] = stack.back();
        if (next < node->inputs().size()) {
            const Tensor& in = node->inputs()[next++];
            if (!in.defined()) continue;
            const std::shared_ptr<Node>& child = in.impl().autograd.grad_fn;
            if (child && seen.insert(child.get()).second) {
                DCODR_CHECK(!child->released(), "backward: part of the graph was already freed by an earlier "
                            "backward; use retain_graph=true");
                stack.push_back({child, 0});
            }
        } else {
            order.push_back(node);
            stack.pop_back();
        }
    }

    std::unordered_map<Node*, Tensor> grads;
    grads[root_node] = seed;
    for (auto it = order.rbegin(); it != order.rend(); ++it) {
        Node* node = it->get();
        auto found = grads.find(node);
        if (found == grads.end()) continue;  // no gradient flowed here
        Tensor g = std::move(found->second);
        grads.erase(found);
        GradList in_grads;
        {
            PendingScope pending(node, &grads);
            in_grads = node->apply(g);
        }
        DCODR_CHECK(in_grads.size() == node->inputs().size(), "backward of {} returned {} gradients for {} inputs",
                    node->name(), in_grads.size(), node->inputs().size());
        for (std::size_t i = 0; i < in_grads.size(); ++i) {
            const Tensor& in = node->inputs()[i];
            if (!in.defined() || !in_grads[i].defined()) continue;
            DCODR_CHECK(in_grads[i].shape() == in.shape(), "backward of {}: gradient {} has shape {}, input has {}",
                        node->name(), i, shape_str(in_grads[i].shape()), shape_str(in.shape()));
            Node* producer = in.impl().autograd.grad_fn.get();
            if (producer) {
                accumulate(grads[producer], in_grads[i]);
            } else {
                accumulate_leaf(in, in_grads[i]);
            }
        }
        if (!retain_graph) node->release();
    }
}

}  // namespace dcodr
