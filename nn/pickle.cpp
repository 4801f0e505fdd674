#include "nn/pickle.h"

#include <cstring>
#include <fmt/format.h>
#include <unordered_map>

#include "tensor/error.h"

namespace dcodr::nn::pickle {

using Kind = Object::Kind;

const char* kind_name(Kind k) {
    switch (k) {
        case Kind::none: return "None";
        case Kind::boolean: return "bool";
        case Kind::integer: return "int";
        case Kind::big_integer: return "int (over 64 bits)";
        case Kind::floating: return "float";
        case Kind::string: return "str";
        case Kind::bytes: return "bytes";
        case Kind::tuple: return "tuple";
        case Kind::list: return "list";
        case Kind::dict: return "dict";
        case Kind::global: return "global";
        case Kind::storage: return "storage";
        case Kind::tensor: return "tensor";
    }
    return "?";
}

std::string describe(const Object& o) {
    switch (o.kind) {
        case Kind::none: return "None";
        case Kind::boolean: return o.i ? "True" : "False";
        case Kind::integer: return std::to_string(o.i);
        case Kind::floating: return fmt::format("{}", o.f);
        case Kind::string: return o.s.size() <= 60 ? "'" + o.s + "'" : "'" + o.s.substr(0, 57) + "...'";
        case Kind::tuple:
        case Kind::list: return fmt::format("{} of {} items", kind_name(o.kind), o.items.size());
        case Kind::dict: return fmt::format("dict of {} items", o.entries.size());
        case Kind::bytes: return fmt::format("{} bytes", o.s.size());
        default: return kind_name(o.kind);
    }
}

const Object* Object::get(std::string_view key) const {
    if (kind != Kind::dict) return nullptr;
    for (const auto& [k, v] : entries)
        if (k->kind == Kind::string && k->s == key) return v;
    return nullptr;
}

namespace {

// torch.<Name>Storage -> safetensors-style dtype name.
const char* storage_dtype(std::string_view global) {
    static const std::pair<const char*, const char*> table[] = {
        {"torch.FloatStorage", "F32"}, {"torch.HalfStorage", "F16"},  {"torch.BFloat16Storage", "BF16"},
        {"torch.DoubleStorage", "F64"}, {"torch.LongStorage", "I64"}, {"torch.IntStorage", "I32"},
        {"torch.ShortStorage", "I16"},  {"torch.CharStorage", "I8"},  {"torch.ByteStorage", "U8"},
        {"torch.BoolStorage", "BOOL"}};
    for (auto& [name, dtype] : table)
        if (global == name) return dtype;
    return nullptr;
}

bool allowed_global(std::string_view g) {
    return g == "collections.OrderedDict" || g == "torch._utils._rebuild_tensor_v2" ||
           g == "torch._utils._rebuild_parameter" || storage_dtype(g) != nullptr;
}

}  // namespace

// One pickle's worth of state: the stack, the marks and the memo.
struct Unpickler::Machine {
    Unpickler& u;
    std::size_t& pos;
    std::vector<Object*> stack;
    std::vector<std::size_t> marks;
    std::unordered_map<std::uint64_t, Object*> memo;

    [[noreturn]] void bad(const std::string& why) const {
        fail("'{}': not a valid PyTorch checkpoint: {} (pickle byte {})", u.source_, why, pos);
    }

    Object* make(Kind k) {
        u.arena_.push_back(std::make_unique<Object>());
        u.arena_.back()->kind = k;
        return u.arena_.back().get();
    }
    const std::uint8_t* take(std::uint64_t n) {
        if (n > u.data_.size() - pos) bad(fmt::format("truncated: {} more bytes needed, {} left", n, u.data_.size() - pos));
        auto* p = reinterpret_cast<const std::uint8_t*>(u.data_.data()) + pos;
        pos += static_cast<std::size_t>(n);
        return p;
    }
    std::uint64_t uint_le(int n) {
        const std::uint8_t* p = take(static_cast<std::uint64_t>(n));
        std::uint64_t v = 0;
        for (int b = n - 1; b >= 0; --b) v = (v << 8) | p[b];
        return v;
    }
    std::string text(std::uint64_t n) {
        const std::uint8_t* p = take(n);
        return std::string(reinterpret_cast<const char*>(p), static_cast<std::size_t>(n));
    }
    std::string line() {  // GLOBAL's "module\n" and "name\n"
        auto end = u.data_.find('\n', pos);
        if (end == std::string_view::npos || end - pos > 512) bad("unterminated GLOBAL name");
        std::string s(u.data_.substr(pos, end - pos));
        pos = end + 1;
        return s;
    }
    Object* pop() {
        if (stack.empty() || (!marks.empty() && stack.size() <= marks.back())) bad("stack underflow");
        Object* o = stack.back();
        stack.pop_back();
        return o;
    }
    Object* top() {
        if (stack.empty() || (!marks.empty() && stack.size() <= marks.back())) bad("stack underflow");
        return stack.back();
    }
    std::vector<Object*> pop_mark() {
        if (marks.empty()) bad("no MARK on the stack");
        std::size_t m = marks.back();
        marks.pop_back();
        std::vector<Object*> items(stack.begin() + static_cast<std::ptrdiff_t>(m), stack.end());
        stack.resize(m);
        return items;
    }
    Object* memo_get(std::uint64_t k) {
        auto it = memo.find(k);
        if (it == memo.end()) bad(fmt::format("memo key {} was never stored", k));
        return it->second;
    }
    Object* integer(std::int64_t v) {
        Object* o = make(Kind::integer);
        o->i = v;
        return o;
    }
    Object* string(std::string s, Kind k = Kind::string) {
        Object* o = make(k);
        o->s = std::move(s);
        return o;
    }
    Object* long_int(std::uint64_t n) {  // LONG1/LONG4: n bytes of little-endian two's complement
        const std::uint8_t* p = take(n);
        if (n > 8) return string(std::string(reinterpret_cast<const char*>(p), static_cast<std::size_t>(n)), Kind::big_integer);
        std::uint64_t v = 0;
        for (std::uint64_t b = n; b-- > 0;) v = (v << 8) | p[b];
        if (n > 0 && n < 8 && (p[n - 1] & 0x80)) v |= ~std::uint64_t{0} << (8 * n);  // sign-extend
        return integer(static_cast<std::int64_t>(v));
    }
    Object* global(const std::string& module, const std::string& name) {
        std::string g = module + "." + name;
        if (!allowed_global(g))
            fail("'{}': refused: the pickle refers to the Python global '{}'. A weights file needs none but "
                 "collections.OrderedDict, torch._utils._rebuild_tensor_v2/_rebuild_parameter and torch.*Storage; "
                 "dcodr never runs code from a checkpoint (docs/pytorch-checkpoints.md)",
                 u.source_, g);
        return string(g, Kind::global);
    }
    std::int64_t as_int(const Object* o, const char* what) const {
        if (o->kind != Kind::integer) bad(fmt::format("{} must be an int, found {}", what, kind_name(o->kind)));
        return o->i;
    }
    Shape int_tuple(const Object* o, const char* what) {
        if (o->kind != Kind::tuple && o->kind != Kind::list) bad(fmt::format("{} must be a tuple", what));
        if (o->items.size() > 16) bad(fmt::format("{} has {} dimensions (more than 16)", what, o->items.size()));
        Shape s;
        for (const Object* x : o->items) s.push_back(as_int(x, what));
        return s;
    }
    // BINPERSID: PyTorch's storage reference.
    Object* persistent(const Object* pid) {
        if (pid->kind != Kind::tuple || pid->items.size() < 5 || pid->items[0]->kind != Kind::string ||
            pid->items[0]->s != "storage")
            bad("a persistent id that is not ('storage', type, key, location, numel)");
        const Object* type = pid->items[1];
        const char* dtype = type->kind == Kind::global ? storage_dtype(type->s) : nullptr;
        if (!dtype) bad("a storage whose type is not a torch.*Storage");
        if (pid->items[2]->kind != Kind::string) bad("a storage key that is not a string");
        Object* o = make(Kind::storage);
        o->storage.key = pid->items[2]->s;
        o->storage.dtype = dtype;
        o->storage.numel = as_int(pid->items[4], "a storage's size");
        if (o->storage.numel < 0 || o->storage.numel > (std::int64_t{1} << 56)) bad("a storage size out of range");
        // Legacy files may name a view of another storage: (view key, offset, size).
        if (pid->items.size() >= 6 && pid->items[5]->kind == Kind::tuple) {
            const Object* v = pid->items[5];
            if (v->items.size() != 3 || v->items[0]->kind != Kind::string) bad("malformed storage view metadata");
            o->storage.view_offset = as_int(v->items[1], "a storage view's offset");
            std::int64_t view_numel = as_int(v->items[2], "a storage view's size");
            if (o->storage.view_offset < 0 || view_numel < 0 || o->storage.view_offset > o->storage.numel ||
                view_numel > o->storage.numel - o->storage.view_offset)
                bad("a storage view outside its storage");
            // The data record is the root storage's (key and numel above); the view starts
            // view_offset elements into it.
        }
        u.storages_.push_back(o);
        return o;
    }
    Object* reduce(const Object* callable, const Object* args) {
        if (callable->kind != Kind::global) bad(fmt::format("REDUCE calls a {}, not a global", kind_name(callable->kind)));
        if (args->kind != Kind::tuple) bad("REDUCE arguments are not a tuple");
        const auto& a = args->items;
        const std::string& g = callable->s;
        if (g == "collections.OrderedDict") {
            if (!a.empty()) bad("OrderedDict(...) with arguments");
            return make(Kind::dict);
        }
        if (g == "torch._utils._rebuild_tensor_v2") {
            if (a.size() < 4 || a[0]->kind != Kind::storage) bad("_rebuild_tensor_v2 without (storage, offset, size, stride)");
            Object* t = make(Kind::tensor);
            t->tensor.storage = a[0];
            t->tensor.offset = as_int(a[1], "a tensor's storage offset");
            t->tensor.size = int_tuple(a[2], "a tensor's size");
            t->tensor.stride = int_tuple(a[3], "a tensor's stride");
            return t;
        }
        if (g == "torch._utils._rebuild_parameter") {
            if (a.empty() || a[0]->kind != Kind::tensor) bad("_rebuild_parameter without a tensor");
            return a[0];
        }
        bad(fmt::format("'{}' cannot be called", g));
    }

    const Object* run() {
        for (;;) {
            const std::uint8_t op = *take(1);
            switch (op) {
                case 0x80: {  // PROTO
                    if (*take(1) > 5) bad("pickle protocol above 5");
                    break;
                }
                case 0x95: take(8); break;  // FRAME: framing only
                case '.': {                 // STOP
                    Object* result = pop();
                    if (!stack.empty() || !marks.empty()) bad("data left on the stack at STOP");
                    return result;
                }
                case '(': marks.push_back(stack.size()); break;
                case '0': pop(); break;
                case '1': pop_mark(); break;
                case '2': stack.push_back(top()); break;
                case 'N': stack.push_back(make(Kind::none)); break;
                case 0x88:
                case 0x89: {
                    Object* o = make(Kind::boolean);
                    o->i = op == 0x88;
                    stack.push_back(o);
                    break;
                }
                case 'J': stack.push_back(integer(static_cast<std::int32_t>(uint_le(4)))); break;
                case 'K': stack.push_back(integer(static_cast<std::int64_t>(uint_le(1)))); break;
                case 'M': stack.push_back(integer(static_cast<std::int64_t>(uint_le(2)))); break;
                case 0x8a: stack.push_back(long_int(uint_le(1))); break;
                case 0x8b: stack.push_back(long_int(uint_le(4))); break;
                case 'G': {  // BINFLOAT: big-endian double
                    std::uint64_t bits = 0;
                    const std::uint8_t* p = take(8);
                    for (int b = 0; b < 8; ++b) bits = (bits << 8) | p[b];
                    Object* o = make(Kind::floating);
                    std::memcpy(&o->f, &bits, 8);
                    stack.push_back(o);
                    break;
                }
                case 'X': stack.push_back(string(text(uint_le(4)))); break;
                case 0x8c: stack.push_back(string(text(uint_le(1)))); break;
                case 0x8d: stack.push_back(string(text(uint_le(8)))); break;
                case 'T': stack.push_back(string(text(uint_le(4)))); break;
                case 'U': stack.push_back(string(text(uint_le(1)))); break;
                case 'B': stack.push_back(string(text(uint_le(4)), Kind::bytes)); break;
                case 'C': stack.push_back(string(text(uint_le(1)), Kind::bytes)); break;
                case 0x8e: stack.push_back(string(text(uint_le(8)), Kind::bytes)); break;
                case '}': stack.push_back(make(Kind::dict)); break;
                case ']': stack.push_back(make(Kind::list)); break;
                case ')': stack.push_back(make(Kind::tuple)); break;
                case 't':
                case 'l': {
                    Object* o = make(op == 't' ? Kind::tuple : Kind::list);
                    o->items = pop_mark();
                    stack.push_back(o);
                    break;
                }
                case 0x85:
                case 0x86:
                case 0x87: {
                    Object* o = make(Kind::tuple);
                    o->items.resize(op - 0x84u);
                    for (auto it = o->items.rbegin(); it != o->items.rend(); ++it) *it = pop();
                    stack.push_back(o);
                    break;
                }
                case 'd': {
                    auto items = pop_mark();
                    if (items.size() % 2) bad("DICT with an odd number of items");
                    Object* o = make(Kind::dict);
                    for (std::size_t k = 0; k < items.size(); k += 2) o->entries.emplace_back(items[k], items[k + 1]);
                    stack.push_back(o);
                    break;
                }
                case 's': {
                    Object* v = pop();
                    Object* k = pop();
                    Object* d = top();
                    if (d->kind != Kind::dict) bad(fmt::format("SETITEM on a {}", kind_name(d->kind)));
                    d->entries.emplace_back(k, v);
                    break;
                }
                case 'u': {
                    auto items = pop_mark();
                    Object* d = top();
                    if (d->kind != Kind::dict) bad(fmt::format("SETITEMS on a {}", kind_name(d->kind)));
                    if (items.size() % 2) bad("SETITEMS with an odd number of items");
                    for (std::size_t k = 0; k < items.size(); k += 2) d->entries.emplace_back(items[k], items[k + 1]);
                    break;
                }
                case 'a': {
                    Object* v = pop();
                    Object* l = top();
                    if (l->kind != Kind::list) bad(fmt::format("APPEND to a {}", kind_name(l->kind)));
                    l->items.push_back(v);
                    break;
                }
                case 'e': {
                    auto items = pop_mark();
                    Object* l = top();
                    if (l->kind != Kind::list) bad(fmt::format("APPENDS to a {}", kind_name(l->kind)));
                    l->items.insert(l->items.end(), items.begin(), items.end());
                    break;
                }
                case 'h': stack.push_back(memo_get(uint_le(1))); break;
                case 'j': stack.push_back(memo_get(uint_le(4))); break;
                case 'q': memo[uint_le(1)] = top(); break;
                case 'r': memo[uint_le(4)] = top(); break;
                case 0x94: memo[memo.size()] = top(); break;
                case 'c': {
                    std::string module = line();
                    std::string name = line();
                    stack.push_back(global(module, name));
                    break;
                }
                case 0x93: {  // STACK_GLOBAL
                    Object* name = pop();
                    Object* module = pop();
                    if (name->kind != Kind::string || module->kind != Kind::string) bad("STACK_GLOBAL without strings");
                    stack.push_back(global(module->s, name->s));
                    break;
                }
                case 'Q': stack.push_back(persistent(pop())); break;
                case 'R': {
                    Object* args = pop();
                    Object* callable = pop();
                    stack.push_back(reduce(callable, args));
                    break;
                }
                case 'b': {  // BUILD: set state. OrderedDict's _metadata (BN versions) is not needed.
                    pop();
                    Object* target = top();
                    if (target->kind != Kind::dict && target->kind != Kind::tensor)
                        bad(fmt::format("BUILD on a {}", kind_name(target->kind)));
                    break;
                }
                default:
                    bad(fmt::format("opcode 0x{:02x} ('{}') is not one a state dict needs", op,
                                    op >= 0x20 && op < 0x7f ? static_cast<char>(op) : '?'));
            }
        }
    }
};

Unpickler::Unpickler(std::string_view data, std::string source) : data_(data), source_(std::move(source)) {}
Unpickler::~Unpickler() = default;

const Object* Unpickler::load(std::size_t& pos) {
    DCODR_CHECK(pos <= data_.size(), "'{}': pickle start {} is past the end of the data", source_, pos);
    Machine m{*this, pos, {}, {}, {}};
    return m.run();
}

}  // namespace dcodr::nn::pickle
