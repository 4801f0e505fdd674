// Tensor: a strided view (shape, strides, offset) of reference-counted storage on a device.
//
// Views (reshape of contiguous data, permute, transpose, slice, expand, squeeze) share
// storage and only change the view; `contiguous()` copies when the layout needs it. Kernels
// receive contiguous inputs (the op front-ends in ops.cpp arrange that), which keeps every
// backend kernel a plain loop over dense memory. The methods here are *not* differentiable:
// the differentiable versions live in autograd/ (tensor/ knows nothing of autograd except the
// opaque slot it keeps for it).
#pragma once
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

#include "tensor/dtype.h"

namespace dcodr {

using Shape = std::vector<std::int64_t>;
std::string shape_str(const Shape& s);
std::int64_t shape_numel(const Shape& s);
Shape contiguous_strides(const Shape& s);

class Backend;
class Node;  // autograd graph node (autograd/node.h)

// A block of device memory, freed through the backend that allocated it.
struct Storage {
    void* data = nullptr;
    std::size_t nbytes = 0;
    Backend* backend = nullptr;
    Storage(Backend* b, std::size_t bytes);
    ~Storage();
    Storage(const Storage&) = delete;
    Storage& operator=(const Storage&) = delete;
};

class Tensor;

// Autograd's per-tensor slot. Declared here so a tensor can carry it; only autograd/ uses it.
struct AutogradMeta {
    bool requires_grad = false;
    std::shared_ptr<Tensor> grad;        // accumulated gradient of a leaf (or retained one)
    std::shared_ptr<Node> grad_fn;       // producing node of a non-leaf
    int output_index = 0;                // which output of grad_fn this tensor is
};

struct TensorImpl {
    std::shared_ptr<Storage> storage;
    Shape shape;
    Shape strides;  // in elements
    std::int64_t offset = 0;  // in elements
    DType dtype = DType::f32;
    Device device;
    AutogradMeta autograd;
};

class Tensor {
public:
    Tensor() = default;
    explicit Tensor(std::shared_ptr<TensorImpl> impl) : impl_(std::move(impl)) {}

    // ---- creation (uninitialised / filled) ----
    static Tensor empty(const Shape& shape, DType dtype = DType::f32, Device device = Device::cpu());
    static Tensor zeros(const Shape& shape, DType dtype = DType::f32, Device device = Device::cpu());
    static Tensor ones(const Shape& shape, DType dtype = DType::f32, Device device = Device::cpu());
    static Tensor full(const Shape& shape, double value, DType dtype = DType::f32,
                       Device device = Device::cpu());
    static Tensor arange(std::int64_t n, DType dtype = DType::f32, Device device = Device::cpu());
    static Tensor scalar(double value, DType dtype = DType::f32, Device device = Device::cpu());
    // Copies host data (converted from double or int64) into a new tensor.
    static Tensor from_vector(const std::vector<double>& values, const Shape& shape,
                              DType dtype = DType::f32, Device device = Device::cpu());
    static Tensor from_vector(const std::vector<float>& values, const Shape& shape,
                              Device device = Device::cpu());
    static Tensor from_vector(const std::vector<std::int64_t>& values, const Shape& shape,
                              Device device = Device::cpu());
    // Seeded counter-based random numbers (Philox 4x32-10): element i of a draw depends only
    // on (seed, offset + i), so CPU and CUDA give identical streams.
    static Tensor uniform(const Shape& shape, double lo, double hi, std::uint64_t seed,
                          std::uint64_t offset = 0, DType dtype = DType::f32,
                          Device device = Device::cpu());
    static Tensor normal(const Shape& shape, double mean, double std, std::uint64_t seed,
                         std::uint64_t offset = 0, DType dtype = DType::f32,
                         Device device = Device::cpu());

    // ---- metadata ----
    bool defined() const { return impl_ != nullptr; }
    const Shape& shape() const { return impl().shape; }
    const Shape& strides() const { return impl().strides; }
    std::int64_t offset() const { return impl().offset; }
    std::int64_t dim() const { return static_cast<std::int64_t>(impl().shape.size()); }
    std::int64_t size(std::int64_t d) const;
    std::int64_t numel() const { return shape_numel(impl().shape); }
    DType dtype() const { return impl().dtype; }
    Device device() const { return impl().device; }
    bool is_contiguous() const;
    Backend& backend() const;
    const std::shared_ptr<Storage>& storage() const { return impl().storage; }
    TensorImpl& impl() const;
    const std::shared_ptr<TensorImpl>& impl_ptr() const { return impl_; }

    // Pointer to the first element of the view (device memory for a CUDA tensor).
    void* raw_data() const;
    template <class T>
    T* data() const {
        check_element_type(sizeof(T), std::is_integral_v<T>);
        return static_cast<T*>(raw_data());
    }

    // ---- views (share storage) ----
    Tensor reshape(const Shape& shape) const;  // view when contiguous, else copies; one -1 allowed
    Tensor view(const Shape& shape) const;     // requires contiguous
    Tensor permute(const std::vector<std::int64_t>& dims) const;
    Tensor transpose(std::int64_t a, std::int64_t b) const;
    Tensor slice(std::int64_t dim, std::int64_t start, std::int64_t end, std::int64_t step = 1) const;
    Tensor select(std::int64_t dim, std::int64_t index) const;  // drops dim
    Tensor expand(const Shape& shape) const;                  // broadcast with stride 0
    Tensor unsqueeze(std::int64_t dim) const;
    Tensor squeeze(std::int64_t dim) const;
    Tensor flatten(std::int64_t start = 0, std::int64_t end = -1) const;

    // ---- copies ----
    Tensor contiguous() const;  // this when already contiguous
    Tensor clone() const;       // always a fresh contiguous copy
    Tensor to(Device device) const;
    Tensor to(DType dtype) const;
    void copy_(const Tensor& src);  // same shape (src may broadcast), converts dtype, any device
    void fill_(double value);
    void zero_() { fill_(0.0); }

    // ---- host access (debugging, tests, small values) ----
    double item() const;
    std::vector<double> to_vector() const;           // any dtype, converted
    std::vector<float> to_float_vector() const;
    std::vector<std::int64_t> to_int_vector() const;
    std::string str(std::int64_t max_per_dim = 6) const;

    // ---- autograd slot (meaningful through autograd/) ----
    bool requires_grad() const { return impl_ && impl().autograd.requires_grad; }
    Tensor& set_requires_grad(bool on);
    Tensor grad() const;                 // undefined tensor when none accumulated yet
    void set_grad(const Tensor& g);
    void zero_grad() { impl().autograd.grad.reset(); }
    // Drops the link to the graph: same data, no history (like PyTorch's detach()).
    Tensor detach() const;

    std::int64_t normalize_dim(std::int64_t d, std::int64_t extra = 0) const;

private:
    void check_element_type(std::size_t size, bool integral) const;
    std::shared_ptr<TensorImpl> impl_;
};

std::ostream& operator<<(std::ostream& os, const Tensor& t);

}  // namespace dcodr
