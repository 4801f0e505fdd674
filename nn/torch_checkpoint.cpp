#include "nn/torch_checkpoint.h"

#include <bit>
#include <cmath>
#include <cstring>
#include <fmt/format.h>
#include <map>
#include <memory>

#include "data/file_io.h"
#include "data/inflate.h"
#include "data/zip.h"
#include "nn/pickle.h"
#include "tensor/error.h"

namespace dcodr::nn {

using pickle::Object;
using Kind = pickle::Object::Kind;

namespace {

// The legacy layout's first pickle is this integer: 0x1950a86a20f9469cfc6c, little-endian.
constexpr std::uint8_t kLegacyMagic[10] = {0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19};
constexpr int kMaxDepth = 64;  // nesting of dicts/lists in a checkpoint; also stops memo cycles
// A deflated entry may expand at most this much (beyond a 64 KiB allowance). Real data,
// even zero-filled buffers mixed with weights, stays far below; a zip bomb is ~1000:1.
constexpr std::uint64_t kMaxDeflateRatio = 200;

std::size_t element_size(const std::string& dtype) {
    if (dtype == "F64" || dtype == "I64") return 8;
    if (dtype == "F32" || dtype == "I32") return 4;
    if (dtype == "F16" || dtype == "BF16" || dtype == "I16") return 2;
    return 1;  // I8, U8, BOOL
}

DType dcodr_dtype(const std::string& dtype) {
    if (dtype == "F32" || dtype == "F16" || dtype == "BF16") return DType::f32;
    if (dtype == "F64") return DType::f64;
    return DType::i64;
}

float half_to_float(std::uint16_t h) {
    std::uint32_t sign = (h & 0x8000u) << 16, exp = (h >> 10) & 0x1F, mant = h & 0x3FFu;
    if (exp == 0x1F) return std::bit_cast<float>(sign | 0x7F800000u | (mant << 13));
    if (exp == 0) {
        float v = std::ldexp(static_cast<float>(mant), -24);
        return sign ? -v : v;
    }
    return std::bit_cast<float>(sign | ((exp + 112) << 23) | (mant << 13));
}

template <class T>
T load(const std::uint8_t* p) {
    T v;
    std::memcpy(&v, p, sizeof v);
    return v;
}

enum class Stored { f32, f16, bf16, f64, i64, i32, i16, i8, u8, boolean };

Stored stored_kind(const std::string& d) {
    static const std::pair<const char*, Stored> table[] = {
        {"F32", Stored::f32}, {"F16", Stored::f16}, {"BF16", Stored::bf16}, {"F64", Stored::f64},
        {"I64", Stored::i64}, {"I32", Stored::i32}, {"I16", Stored::i16},   {"I8", Stored::i8},
        {"U8", Stored::u8},   {"BOOL", Stored::boolean}};
    for (auto& [name, k] : table)
        if (d == name) return k;
    fail("unknown stored dtype {}", d);
}

// Converts one stored element to the output type.
template <class Out>
Out convert(Stored k, const std::uint8_t* p) {
    switch (k) {
        case Stored::f32: return static_cast<Out>(load<float>(p));
        case Stored::f16: return static_cast<Out>(half_to_float(load<std::uint16_t>(p)));
        case Stored::bf16: return static_cast<Out>(std::bit_cast<float>(std::uint32_t{load<std::uint16_t>(p)} << 16));
        case Stored::f64: return static_cast<Out>(load<double>(p));
        case Stored::i64: return static_cast<Out>(load<std::int64_t>(p));
        case Stored::i32: return static_cast<Out>(load<std::int32_t>(p));
        case Stored::i16: return static_cast<Out>(load<std::int16_t>(p));
        case Stored::i8: return static_cast<Out>(load<std::int8_t>(p));
        case Stored::boolean: return static_cast<Out>(*p != 0);
        case Stored::u8: break;
    }
    return static_cast<Out>(*p);
}

// Where each storage's bytes are: a function of the layout.
class StorageSource {
public:
    virtual ~StorageSource() = default;
    // Exactly numel * element size bytes, or an error naming the storage.
    virtual std::string_view bytes(const pickle::StorageRef& s) = 0;
};

class Reader {
public:
    Reader(std::string source, StorageSource& storages) : source_(std::move(source)), storages_(storages) {}

    void flatten(const Object* o, const std::string& name, int depth, TorchCheckpoint& out) {
        if (depth > kMaxDepth) fail("'{}': '{}' is nested more than {} levels deep", source_, name, kMaxDepth);
        auto child = [&](const std::string& k) { return name.empty() ? k : name + "." + k; };
        switch (o->kind) {
            case Kind::tensor: out.tensors.push_back(materialize(*o, name)); break;
            case Kind::dict:
                for (const auto& [k, v] : o->entries) {
                    if (k->kind == Kind::string) flatten(v, child(k->s), depth + 1, out);
                    else if (k->kind == Kind::integer) flatten(v, child(std::to_string(k->i)), depth + 1, out);
                    else out.others.push_back(fmt::format("{} = (an entry with a {} key, skipped)", name, pickle::kind_name(k->kind)));
                }
                break;
            case Kind::list:
            case Kind::tuple:
                for (std::size_t k = 0; k < o->items.size(); ++k) flatten(o->items[k], child(std::to_string(k)), depth + 1, out);
                break;
            default: out.others.push_back(fmt::format("{} = {}", name.empty() ? "(root)" : name, pickle::describe(*o)));
        }
    }

private:
    CheckpointTensor materialize(const Object& t, const std::string& name) {
        const pickle::TensorRef& r = t.tensor;
        const pickle::StorageRef& s = r.storage->storage;
        auto bad = [&](const std::string& why) {
            fail("'{}': tensor '{}': {} (not a valid PyTorch checkpoint)", source_, name, why);
        };
        if (r.size.size() != r.stride.size()) bad("size and stride have different lengths");
        // numel and the last element reached, without overflow: every value stays below 2^62.
        constexpr std::int64_t kLimit = std::int64_t{1} << 62;
        if (r.offset < 0 || r.offset > kLimit / 2) bad("storage offset out of range");
        std::int64_t numel = 1, last = s.view_offset + r.offset;
        for (std::size_t d = 0; d < r.size.size(); ++d) {
            if (r.size[d] < 0 || r.stride[d] < 0) bad("negative size or stride");
            if (r.size[d] == 0) numel = 0;
            else if (numel > 0 && numel > kLimit / r.size[d]) bad("too many elements");
            else numel *= r.size[d];
        }
        if (numel > 0)
            for (std::size_t d = 0; d < r.size.size(); ++d) {
                if (r.stride[d] > 0 && r.size[d] - 1 > (kLimit - last) / r.stride[d]) bad("view out of range");
                last += (r.size[d] - 1) * r.stride[d];
            }
        if (numel > 0 && last >= s.numel)
            bad(fmt::format("its view reaches element {} of a storage of {}", last, s.numel));
        std::string_view raw = storages_.bytes(s);
        const std::size_t esize = element_size(s.dtype);
        CheckpointTensor out;
        out.name = name;
        out.stored_dtype = s.dtype;
        out.stored_bytes = numel * static_cast<std::int64_t>(esize);
        out.tensor = Tensor::empty(r.size, dcodr_dtype(s.dtype));
        if (numel == 0) return out;
        const auto* base = reinterpret_cast<const std::uint8_t*>(raw.data());
        dispatch_dtype(out.tensor.dtype(), [&](auto zero) {
            using T = decltype(zero);
            T* dst = out.tensor.data<T>();
            // Walk the view in C order, carrying the source element index.
            const std::size_t dims = r.size.size();
            std::vector<std::int64_t> idx(dims, 0);
            std::int64_t src = s.view_offset + r.offset;
            const Stored kind = stored_kind(s.dtype);
            if (kind == Stored::f32 && std::is_same_v<T, float> && out.tensor.is_contiguous() &&
                std::vector<std::int64_t>(r.stride) == contiguous_strides(r.size)) {
                std::memcpy(dst, base + static_cast<std::size_t>(src) * esize, static_cast<std::size_t>(numel) * esize);
                return 0;
            }
            for (std::int64_t n = 0; n < numel; ++n) {
                dst[n] = convert<T>(kind, base + static_cast<std::size_t>(src) * esize);
                for (std::size_t d = dims; d-- > 0;) {
                    if (++idx[d] < r.size[d]) {
                        src += r.stride[d];
                        break;
                    }
                    src -= (r.size[d] - 1) * r.stride[d];
                    idx[d] = 0;
                }
            }
            return 0;
        });
        return out;
    }

    std::string source_;
    StorageSource& storages_;
};

// ---- zip layout ----

struct MemFile {
    std::FILE* f;
    explicit MemFile(std::string_view bytes) : f(fmemopen(const_cast<char*>(bytes.data()), bytes.size(), "rb")) {}
    ~MemFile() {
        if (f) std::fclose(f);
    }
};

class ZipStorages : public StorageSource {
public:
    ZipStorages(std::string_view bytes, std::string source) : bytes_(bytes), source_(std::move(source)), file_(bytes) {
        DCODR_CHECK(file_.f, "'{}': cannot read the archive from memory", source_);
        for (auto& e : data::read_zip_directory(file_.f, source_)) entries_.emplace(e.name, e);
        for (const auto& [name, e] : entries_) {
            if (name.size() >= 8 && name.compare(name.size() - 8, 8, "data.pkl") == 0 &&
                name.find('/') == name.size() - 9) {
                DCODR_CHECK(prefix_.empty(), "'{}': two pickles (*/data.pkl) in one archive", source_);
                prefix_ = name.substr(0, name.size() - 8);
            }
        }
        DCODR_CHECK(!prefix_.empty(),
                    "'{}': a zip archive without <folder>/data.pkl; not a PyTorch checkpoint (torch.save)", source_);
        auto order = entries_.find(prefix_ + "byteorder");
        if (order != entries_.end()) {
            std::string_view b = entry(order->second, 16);
            DCODR_CHECK(b == "little", "'{}': stored byte order '{}'; only little-endian checkpoints are supported",
                        source_, b);
        }
    }

    std::string_view pickle() { return entry(entries_.at(prefix_ + "data.pkl"), 0); }

    std::string_view bytes(const pickle::StorageRef& s) override {
        const std::string name = prefix_ + "data/" + s.key;
        auto it = entries_.find(name);
        DCODR_CHECK(it != entries_.end(), "'{}': storage '{}' is missing (no entry {})", source_, s.key, name);
        const std::uint64_t want = static_cast<std::uint64_t>(s.numel) * element_size(s.dtype);
        DCODR_CHECK(it->second.size == want, "'{}': storage '{}' holds {} bytes; its tensors need {} ({} x {})",
                    source_, s.key, it->second.size, want, s.numel, s.dtype);
        return entry(it->second, 0);
    }

private:
    // The entry's data; `limit` > 0 refuses larger entries (small text entries).
    std::string_view entry(const data::ZipEntry& e, std::uint64_t limit) {
        const std::string what = fmt::format("'{}' entry '{}'", source_, e.name);
        DCODR_CHECK(!(e.flags & 1), "{}: encrypted zip entries are not supported", what);
        DCODR_CHECK(limit == 0 || e.size <= limit, "{}: {} bytes, expected at most {}", what, e.size, limit);
        const std::uint64_t start = data::zip_data_offset(file_.f, e, source_);
        DCODR_CHECK(start <= bytes_.size() && e.compressed_size <= bytes_.size() - start,
                    "{}: its data runs past the end of the file (truncated?)", what);
        std::string_view packed = bytes_.substr(start, e.compressed_size);
        std::string_view out;
        if (e.method == 0) {
            DCODR_CHECK(e.size == e.compressed_size, "{}: stored entry with different sizes", what);
            out = packed;
        } else if (e.method == 8) {
            auto cached = inflated_.find(e.name);
            if (cached == inflated_.end()) {
                DCODR_CHECK(e.size <= kMaxDeflateRatio * e.compressed_size + (64u << 10),
                            "{}: refused: {} compressed bytes claim to expand to {} (over {}:1, a zip bomb?)", what,
                            e.compressed_size, e.size, kMaxDeflateRatio);
                auto data = data::inflate_raw(packed, static_cast<std::size_t>(e.size), what);
                cached = inflated_.emplace(e.name, std::string(data.begin(), data.end())).first;
            }
            out = cached->second;
        } else {
            fail("{}: zip compression method {} is not supported (only stored and deflate)", what, e.method);
        }
        if (e.crc != 0 || e.size == 0)
            DCODR_CHECK(data::crc32_update(0, out.data(), out.size()) == e.crc, "{}: CRC mismatch (the file is corrupt)",
                        what);
        return out;
    }

    std::string_view bytes_;
    std::string source_;
    MemFile file_;
    std::map<std::string, data::ZipEntry> entries_;
    std::map<std::string, std::string> inflated_;
    std::string prefix_;
};

// ---- legacy layout ----

class LegacyStorages : public StorageSource {
public:
    std::map<std::string, std::string_view> records;
    std::string source;
    std::string_view bytes(const pickle::StorageRef& s) override {
        auto it = records.find(s.key);
        DCODR_CHECK(it != records.end(), "'{}': storage '{}' is not among the file's storage records", source, s.key);
        return it->second;
    }
};

const Object* select(const Object* root, const TorchLoadOptions& o, std::string& key, const std::string& source) {
    if (o.key.empty()) {
        if (o.auto_key && root->kind == Kind::dict)
            for (const char* k : {"state_dict", "model"})
                if (const Object* v = root->get(k); v && v->kind == Kind::dict) {
                    key = k;
                    return v;
                }
        return root;
    }
    const Object* cur = root;
    std::string path;
    for (std::size_t start = 0; start <= o.key.size();) {
        std::size_t end = o.key.find('/', start);
        if (end == std::string::npos) end = o.key.size();
        std::string part = o.key.substr(start, end - start);
        const Object* next = cur->get(part);
        if (!next) {
            std::string have;
            if (cur->kind == Kind::dict)
                for (std::size_t i = 0; i < cur->entries.size() && i < 20; ++i)
                    have += (i ? ", " : "") + pickle::describe(*cur->entries[i].first);
            fail("'{}': key '{}' not found{} ({}: {})", source, part, path.empty() ? "" : " under '" + path + "'",
                 cur->kind == Kind::dict ? "keys" : "found a", cur->kind == Kind::dict ? have : pickle::kind_name(cur->kind));
        }
        path += (path.empty() ? "" : "/") + part;
        cur = next;
        start = end + 1;
    }
    key = o.key;
    return cur;
}

TorchCheckpoint read(const Object* root, const TorchLoadOptions& options, const std::string& source,
                     StorageSource& storages, const char* layout) {
    TorchCheckpoint out;
    out.layout = layout;
    const Object* chosen = select(root, options, out.key, source);
    Reader(source, storages).flatten(chosen, "", 0, out);
    return out;
}

TorchCheckpoint parse_legacy(std::string_view bytes, const TorchLoadOptions& options, const std::string& source) {
    DCODR_CHECK(looks_like_torch_checkpoint(bytes.substr(0, 64)),
                "'{}': not a PyTorch checkpoint (neither a zip archive nor the legacy magic number)", source);
    pickle::Unpickler up(bytes, source);
    std::size_t pos = 0;
    const Object* magic = up.load(pos);
    DCODR_CHECK(magic->kind == Kind::big_integer && magic->s.size() == sizeof kLegacyMagic &&
                    std::memcmp(magic->s.data(), kLegacyMagic, sizeof kLegacyMagic) == 0,
                "'{}': not a PyTorch checkpoint (neither a zip archive nor the legacy magic number)", source);
    const Object* version = up.load(pos);
    DCODR_CHECK(version->kind == Kind::integer && version->i == 1001,
                "'{}': legacy checkpoint protocol version {} (expected 1001)", source, pickle::describe(*version));
    const Object* info = up.load(pos);
    if (const Object* le = info->get("little_endian"))
        DCODR_CHECK(le->kind == Kind::boolean && le->i, "'{}': written on a big-endian machine; not supported", source);
    const Object* root = up.load(pos);
    const Object* keys = up.load(pos);
    DCODR_CHECK(keys->kind == Kind::list, "'{}': the storage key list is a {}, expected a list", source,
                pickle::kind_name(keys->kind));
    std::map<std::string, const pickle::StorageRef*> refs;
    for (const Object* s : up.storages()) {
        auto [it, fresh] = refs.emplace(s->storage.key, &s->storage);
        DCODR_CHECK(fresh || (it->second->dtype == s->storage.dtype && it->second->numel == s->storage.numel),
                    "'{}': storage '{}' is referenced with two different types or sizes", source, s->storage.key);
    }
    LegacyStorages storages;
    storages.source = source;
    for (const Object* k : keys->items) {
        DCODR_CHECK(k->kind == Kind::string, "'{}': a storage key is a {}, expected a string", source,
                    pickle::kind_name(k->kind));
        auto ref = refs.find(k->s);
        DCODR_CHECK(ref != refs.end(), "'{}': storage record '{}' is not used by any tensor", source, k->s);
        DCODR_CHECK(bytes.size() - pos >= 8, "'{}': truncated before storage '{}'", source, k->s);
        std::int64_t count;
        std::memcpy(&count, bytes.data() + pos, 8);
        pos += 8;
        const std::size_t esize = element_size(ref->second->dtype);
        DCODR_CHECK(count == ref->second->numel, "'{}': storage '{}' holds {} elements; the pickle says {}", source,
                    k->s, count, ref->second->numel);
        DCODR_CHECK(static_cast<std::uint64_t>(count) <= (bytes.size() - pos) / esize,
                    "'{}': truncated in storage '{}' ({} x {} bytes announced, {} left)", source, k->s, count, esize,
                    bytes.size() - pos);
        storages.records[k->s] = bytes.substr(pos, static_cast<std::size_t>(count) * esize);
        pos += static_cast<std::size_t>(count) * esize;
    }
    return read(root, options, source, storages, "legacy");
}

bool is_zip(std::string_view b) { return b.size() >= 4 && b.substr(0, 4) == std::string_view("PK\x03\x04", 4); }

}  // namespace

std::vector<NamedTensor> TorchCheckpoint::named() const {
    std::vector<NamedTensor> v;
    v.reserve(tensors.size());
    for (const auto& t : tensors) v.push_back({t.name, t.tensor});
    return v;
}

bool looks_like_torch_checkpoint(std::string_view head) {
    if (is_zip(head)) return true;
    return head.find(std::string_view(reinterpret_cast<const char*>(kLegacyMagic), sizeof kLegacyMagic)) <= 8;
}

TorchCheckpoint parse_torch_checkpoint(std::string_view bytes, const TorchLoadOptions& options,
                                       const std::string& source) {
    if (!is_zip(bytes)) return parse_legacy(bytes, options, source);
    ZipStorages storages(bytes, source);
    std::string_view pkl = storages.pickle();
    pickle::Unpickler up(pkl, source);
    std::size_t pos = 0;
    const Object* root = up.load(pos);
    return read(root, options, source, storages, "zip");
}

TorchCheckpoint load_torch_checkpoint(const std::string& path, const TorchLoadOptions& options) {
    std::vector<std::uint8_t> bytes = data::read_file(path);
    return parse_torch_checkpoint(std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()), options,
                                  path);
}

}  // namespace dcodr::nn
