#include "tensor/tensor.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <functional>
#include <sstream>

#include "tensor/backend.h"
#include "tensor/ops.h"
#include "tensor/profiler.h"
#include "tensor/profiling_backend.h"

namespace dcodr {

std::size_t dtype_size(DType t) { return t == DType::f32 ? 4 : 8; }
const char* dtype_name(DType t) {
    switch (t) {
        case DType::f32: return "float32";
        case DType::f64: return "float64";
        default: return "int64";
    }
}
bool is_floating(DType t) { return t != DType::i64; }

Device Device::parse(const std::string& text) {
    if (text == "cpu") return cpu();
    if (text == "cuda") return cuda(0);
    if (text.rfind("cuda:", 0) == 0) {
        try {
            std::size_t used = 0;
            int idx = std::stoi(text.substr(5), &used);
            if (used == text.size() - 5 && idx >= 0) return cuda(idx);
        } catch (const std::exception&) {
        }
    }
    fail("bad device '{}': expected 'cpu', 'cuda' or 'cuda:N'", text);
}
std::string Device::str() const { return is_cpu() ? "cpu" : fmt::format("cuda:{}", index); }

std::string shape_str(const Shape& s) {
    std::string r = "[";
    for (std::size_t i = 0; i < s.size(); ++i) r += (i ? ", " : "") + std::to_string(s[i]);
    return r + "]";
}
std::int64_t shape_numel(const Shape& s) {
    // Shapes come from files too (npy headers): a count that wraps must be an error, not a
    // small number that lets a bogus array pass every later size check.
    std::int64_t n = 1;
    for (auto d : s)
        if (__builtin_mul_overflow(n, d, &n)) fail("shape {} has too many elements (overflows int64)", shape_str(s));
    return n;
}
Shape contiguous_strides(const Shape& s) {
    Shape st(s.size());
    std::int64_t acc = 1;
    for (std::size_t i = s.size(); i-- > 0;) {
        st[i] = acc;
        acc *= s[i];
    }
    return st;
}

Storage::Storage(Backend* b, std::size_t bytes) : nbytes(bytes), backend(b) {
    data = bytes ? b->allocate(bytes) : nullptr;
}
Storage::~Storage() {
    if (data) backend->deallocate(data, nbytes);
}

// ---------------------------------------------------------------- creation

static Tensor make_view(const Tensor& base, Shape shape, Shape strides, std::int64_t offset) {
    auto impl = std::make_shared<TensorImpl>();
    impl->storage = base.storage();
    impl->shape = std::move(shape);
    impl->strides = std::move(strides);
    impl->offset = offset;
    impl->dtype = base.dtype();
    impl->device = base.device();
    return Tensor(impl);
}

Tensor Tensor::empty(const Shape& shape, DType dtype, Device device) {
    for (auto d : shape) DCODR_CHECK(d >= 0, "negative dimension in shape {}", shape_str(shape));
    auto impl = std::make_shared<TensorImpl>();
    // The device's own backend, never the profiler's wrapper: storage outlives a profiling run.
    Backend& b = device_backend(device);
    impl->storage = std::make_shared<Storage>(&b, static_cast<std::size_t>(shape_numel(shape)) * dtype_size(dtype));
    impl->shape = shape;
    impl->strides = contiguous_strides(shape);
    impl->dtype = dtype;
    impl->device = device;
    return Tensor(impl);
}
Tensor Tensor::full(const Shape& shape, double value, DType dtype, Device device) {
    Tensor t = empty(shape, dtype, device);
    t.fill_(value);
    return t;
}
Tensor Tensor::zeros(const Shape& shape, DType dtype, Device device) { return full(shape, 0.0, dtype, device); }
Tensor Tensor::ones(const Shape& shape, DType dtype, Device device) { return full(shape, 1.0, dtype, device); }
Tensor Tensor::scalar(double value, DType dtype, Device device) { return full({}, value, dtype, device); }
Tensor Tensor::arange(std::int64_t n, DType dtype, Device device) {
    Tensor t = empty({n}, dtype, device);
    t.backend().arange(t);
    return t;
}

template <class Src>
static Tensor from_host(const std::vector<Src>& values, const Shape& shape, DType dtype, Device device) {
    DCODR_CHECK(static_cast<std::int64_t>(values.size()) == shape_numel(shape),
                "from_vector: {} values do not fill shape {} ({} elements)", values.size(), shape_str(shape),
                shape_numel(shape));
    Tensor host = Tensor::empty(shape, dtype, Device::cpu());
    dispatch_dtype(dtype, [&](auto tag) {
        using T = decltype(tag);
        T* p = host.data<T>();
        for (std::size_t i = 0; i < values.size(); ++i) p[i] = static_cast<T>(values[i]);
    });
    return device.is_cpu() ? host : host.to(device);
}
Tensor Tensor::from_vector(const std::vector<double>& v, const Shape& s, DType t, Device d) { return from_host(v, s, t, d); }
Tensor Tensor::from_vector(const std::vector<float>& v, const Shape& s, Device d) { return from_host(v, s, DType::f32, d); }
Tensor Tensor::from_vector(const std::vector<std::int64_t>& v, const Shape& s, Device d) {
    return from_host(v, s, DType::i64, d);
}

Tensor Tensor::uniform(const Shape& shape, double lo, double hi, std::uint64_t seed, std::uint64_t offset,
                       DType dtype, Device device) {
    DCODR_CHECK(is_floating(dtype), "uniform: expected a floating dtype, got {}", dtype_name(dtype));
    Tensor t = empty(shape, dtype, device);
    t.backend().random_uniform(t, seed, offset, lo, hi);
    return t;
}
Tensor Tensor::normal(const Shape& shape, double mean, double std, std::uint64_t seed, std::uint64_t offset,
                      DType dtype, Device device) {
    DCODR_CHECK(is_floating(dtype), "normal: expected a floating dtype, got {}", dtype_name(dtype));
    Tensor t = empty(shape, dtype, device);
    t.backend().random_normal(t, seed, offset, mean, std);
    return t;
}

// ---------------------------------------------------------------- metadata

TensorImpl& Tensor::impl() const {
    DCODR_CHECK(impl_ != nullptr, "use of an undefined tensor");
    return *impl_;
}
std::int64_t Tensor::normalize_dim(std::int64_t d, std::int64_t extra) const {
    std::int64_t n = dim() + extra;
    std::int64_t r = d < 0 ? d + n : d;
    DCODR_CHECK(r >= 0 && r < std::max<std::int64_t>(n, 1), "dimension {} out of range for a tensor of shape {}",
                d, shape_str(shape()));
    return r;
}
std::int64_t Tensor::size(std::int64_t d) const { return shape()[normalize_dim(d)]; }
bool Tensor::is_contiguous() const {
    std::int64_t expected = 1;
    for (std::size_t i = shape().size(); i-- > 0;) {
        if (shape()[i] == 1) continue;
        if (strides()[i] != expected) return false;
        expected *= shape()[i];
    }
    return true;
}
Backend& Tensor::backend() const {
    Backend& b = *impl().storage->backend;
    // One relaxed atomic load when profiling is off (the common case).
    return profiler::enabled_for(b.device()) ? profiling_backend(b) : b;
}
void* Tensor::raw_data() const {
    auto& s = impl().storage;
    return s->data ? static_cast<char*>(s->data) + offset() * static_cast<std::int64_t>(dtype_size(dtype())) : nullptr;
}
void Tensor::check_element_type(std::size_t size, bool integral) const {
    bool ok = dtype_size(dtype()) == size && (integral == (dtype() == DType::i64));
    DCODR_CHECK(ok, "data<T>(): element type does not match the tensor's dtype {}", dtype_name(dtype()));
}

// ---------------------------------------------------------------- views

Tensor Tensor::view(const Shape& requested) const {
    DCODR_CHECK(is_contiguous(), "view: tensor of shape {} is not contiguous; use reshape()", shape_str(shape()));
    Shape s = requested;
    std::int64_t known = 1, infer = -1;
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] == -1) {
            DCODR_CHECK(infer < 0, "view: more than one -1 in {}", shape_str(requested));
            infer = static_cast<std::int64_t>(i);
        } else {
            known *= s[i];
        }
    }
    if (infer >= 0) {
        DCODR_CHECK(known > 0 && numel() % known == 0, "view: cannot infer -1 in {} for {} elements",
                    shape_str(requested), numel());
        s[infer] = numel() / known;
    }
    DCODR_CHECK(shape_numel(s) == numel(), "view: shape {} ({} elements) does not match {} ({} elements)",
                shape_str(s), shape_numel(s), shape_str(shape()), numel());
    return make_view(*this, s, contiguous_strides(s), offset());
}
Tensor Tensor::reshape(const Shape& s) const { return is_contiguous() ? view(s) : contiguous().view(s); }

Tensor Tensor::permute(const std::vector<std::int64_t>& dims) const {
    DCODR_CHECK(static_cast<std::int64_t>(dims.size()) == dim(), "permute: {} dims given for a {}-d tensor",
                dims.size(), dim());
    Shape s(dims.size()), st(dims.size());
    std::vector<bool> seen(dims.size(), false);
    for (std::size_t i = 0; i < dims.size(); ++i) {
        std::int64_t d = normalize_dim(dims[i]);
        DCODR_CHECK(!seen[d], "permute: dimension {} repeated", d);
        seen[d] = true;
        s[i] = shape()[d];
        st[i] = strides()[d];
    }
    return make_view(*this, s, st, offset());
}
Tensor Tensor::transpose(std::int64_t a, std::int64_t b) const {
    std::vector<std::int64_t> p(dim());
    std::iota(p.begin(), p.end(), 0);
    std::swap(p[normalize_dim(a)], p[normalize_dim(b)]);
    return permute(p);
}
Tensor Tensor::slice(std::int64_t d, std::int64_t start, std::int64_t end, std::int64_t step) const {
    d = normalize_dim(d);
    std::int64_t n = shape()[d];
    if (start < 0) start += n;
    if (end < 0) end += n;
    end = std::min(end, n);
    DCODR_CHECK(step > 0 && start >= 0 && start <= end, "slice: bad range [{}, {}) step {} for size {} of dim {}",
                start, end, step, n, d);
    Shape s = shape(), st = strides();
    s[d] = (end - start + step - 1) / step;
    st[d] *= step;
    return make_view(*this, s, st, offset() + start * strides()[d]);
}
Tensor Tensor::select(std::int64_t d, std::int64_t index) const {
    d = normalize_dim(d);
    DCODR_CHECK(index >= 0 && index < shape()[d], "select: index {} out of range for size {}", index, shape()[d]);
    Shape s = shape(), st = strides();
    s.erase(s.begin() + d);
    st.erase(st.begin() + d);
    return make_view(*this, s, st, offset() + index * strides()[d]);
}
Tensor Tensor::expand(const Shape& target) const {
    DCODR_CHECK(target.size() >= shape().size(), "expand: cannot expand {} to fewer dims {}", shape_str(shape()),
                shape_str(target));
    std::size_t lead = target.size() - shape().size();
    Shape st(target.size(), 0);
    for (std::size_t i = 0; i < shape().size(); ++i) {
        std::int64_t have = shape()[i], want = target[lead + i];
        DCODR_CHECK(have == want || have == 1, "expand: shape {} cannot broadcast to {}", shape_str(shape()),
                    shape_str(target));
        st[lead + i] = (have == want) ? strides()[i] : 0;
    }
    return make_view(*this, target, st, offset());
}
Tensor Tensor::unsqueeze(std::int64_t d) const {
    d = normalize_dim(d, 1);
    Shape s = shape(), st = strides();
    std::int64_t stride = d < dim() ? shape()[d] * strides()[d] : 1;
    s.insert(s.begin() + d, 1);
    st.insert(st.begin() + d, stride);
    return make_view(*this, s, st, offset());
}
Tensor Tensor::squeeze(std::int64_t d) const {
    d = normalize_dim(d);
    DCODR_CHECK(shape()[d] == 1, "squeeze: dim {} has size {}, expected 1", d, shape()[d]);
    Shape s = shape(), st = strides();
    s.erase(s.begin() + d);
    st.erase(st.begin() + d);
    return make_view(*this, s, st, offset());
}
Tensor Tensor::flatten(std::int64_t start, std::int64_t end) const {
    if (dim() == 0) return reshape({1});
    start = normalize_dim(start);
    end = normalize_dim(end);
    Shape s(shape().begin(), shape().begin() + start);
    std::int64_t m = 1;
    for (std::int64_t i = start; i <= end; ++i) m *= shape()[i];
    s.push_back(m);
    s.insert(s.end(), shape().begin() + end + 1, shape().end());
    return reshape(s);
}

// ---------------------------------------------------------------- copies

Tensor Tensor::contiguous() const {
    if (is_contiguous()) return *this;
    return clone();
}
Tensor Tensor::clone() const {
    Tensor out = empty(shape(), dtype(), device());
    backend().strided_copy(*this, out);
    return out;
}
Tensor Tensor::to(DType t) const {
    if (t == dtype()) return *this;
    Tensor out = empty(shape(), t, device());
    backend().strided_copy(*this, out);
    return out;
}
Tensor Tensor::to(Device d) const {
    if (d == device()) return *this;
    Tensor src = contiguous();
    Tensor out = empty(shape(), dtype(), d);
    std::size_t bytes = static_cast<std::size_t>(numel()) * dtype_size(dtype());
    if (bytes == 0) return out;
    if (d.is_cpu()) {
        src.backend().copy_to_host(out.raw_data(), src.raw_data(), bytes);
    } else if (src.device().is_cpu()) {
        out.backend().copy_from_host(out.raw_data(), src.raw_data(), bytes);
    } else {
        return src.to(Device::cpu()).to(d);  // between two GPUs: through the host (rare)
    }
    return out;
}
void Tensor::copy_(const Tensor& src) {
    Tensor s = src.device() == device() ? src : src.to(device());
    if (s.shape() != shape()) s = s.expand(shape());
    backend().strided_copy(s, *this);
}
void Tensor::fill_(double value) {
    if (is_contiguous()) {
        backend().fill(*this, value);
    } else {
        copy_(Tensor::full({}, value, dtype(), device()));
    }
}

// ---------------------------------------------------------------- host access

std::vector<double> Tensor::to_vector() const {
    Tensor h = to(Device::cpu()).contiguous();
    std::vector<double> r(static_cast<std::size_t>(numel()));
    dispatch_dtype(dtype(), [&](auto tag) {
        using T = decltype(tag);
        const T* p = h.data<T>();
        for (std::size_t i = 0; i < r.size(); ++i) r[i] = static_cast<double>(p[i]);
    });
    return r;
}
std::vector<float> Tensor::to_float_vector() const {
    auto d = to_vector();
    return {d.begin(), d.end()};
}
std::vector<std::int64_t> Tensor::to_int_vector() const {
    Tensor h = to(Device::cpu()).to(DType::i64).contiguous();
    const std::int64_t* p = h.data<std::int64_t>();
    return {p, p + numel()};
}
double Tensor::item() const {
    DCODR_CHECK(numel() == 1, "item(): tensor of shape {} has {} elements, expected 1", shape_str(shape()), numel());
    return to_vector()[0];
}

std::string Tensor::str(std::int64_t max_per_dim) const {
    if (!defined()) return "Tensor(undefined)";
    std::vector<double> v = to_vector();
    std::ostringstream os;
    os << "Tensor(shape=" << shape_str(shape()) << ", dtype=" << dtype_name(dtype()) << ", device=" << device().str()
       << ")\n";
    std::function<void(std::size_t, std::int64_t, int)> rec = [&](std::size_t d, std::int64_t base, int indent) {
        if (d == shape().size()) {
            os << fmt::format("{:.6g}", v[base]);
            return;
        }
        std::int64_t n = shape()[d], stride = contiguous_strides(shape())[d];
        os << "[";
        for (std::int64_t i = 0; i < n; ++i) {
            if (i == max_per_dim && n > 2 * max_per_dim) {
                os << "..., ";
                i = n - max_per_dim;
            }
            rec(d + 1, base + i * stride, indent + 1);
            if (i + 1 < n) os << (d + 1 == shape().size() ? ", " : ",\n" + std::string(indent + 1, ' '));
        }
        os << "]";
    };
    rec(0, 0, 0);
    return os.str();
}
std::ostream& operator<<(std::ostream& os, const Tensor& t) { return os << t.str(); }

// ---------------------------------------------------------------- autograd slot

Tensor& Tensor::set_requires_grad(bool on) {
    DCODR_CHECK(!on || is_floating(dtype()), "set_requires_grad: only floating tensors can require grad (got {})",
                dtype_name(dtype()));
    impl().autograd.requires_grad = on;
    return *this;
}
Tensor Tensor::grad() const {
    auto& g = impl().autograd.grad;
    return g ? *g : Tensor();
}
void Tensor::set_grad(const Tensor& g) {
    if (g.defined()) {
        impl().autograd.grad = std::make_shared<Tensor>(g);
    } else {
        impl().autograd.grad.reset();
    }
}
Tensor Tensor::detach() const { return make_view(*this, shape(), strides(), offset()); }

}  // namespace dcodr
