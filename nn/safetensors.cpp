#include "nn/safetensors.h"

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <fcntl.h>
#include <fmt/format.h>
#include <functional>
#include <limits>
#include <numeric>
#include <sstream>
#include <sys/stat.h>
#include <unistd.h>
#include <unordered_set>

#include "nn/atomic_file.h"
#include "nn/float16.h"
#include "nn/json.h"
#include "tensor/error.h"

namespace dcodr::nn {

static_assert(std::endian::native == std::endian::little,
              "safetensors data is little-endian; a big-endian host would need byte swapping");

namespace {

// The Rust reader refuses larger headers; so do we, before allocating for one.
constexpr std::uint64_t kMaxHeaderBytes = 100'000'000;

// ---------------------------------------------------------------- dtypes

enum class Kind { f32, f64, i64, f16, bf16, f8_e4m3, f8_e5m2, i32, i16, i8, u8, u16, u32, u64, boolean };

struct FileDType {
    const char* name;
    Kind kind;
    std::size_t size;
};

constexpr FileDType kFileDTypes[] = {
    {"F32", Kind::f32, 4},     {"F64", Kind::f64, 8},         {"I64", Kind::i64, 8},
    {"F16", Kind::f16, 2},     {"BF16", Kind::bf16, 2},       {"F8_E4M3", Kind::f8_e4m3, 1},
    {"F8_E5M2", Kind::f8_e5m2, 1}, {"I32", Kind::i32, 4},     {"I16", Kind::i16, 2},
    {"I8", Kind::i8, 1},       {"U8", Kind::u8, 1},           {"U16", Kind::u16, 2},
    {"U32", Kind::u32, 4},     {"U64", Kind::u64, 8},         {"BOOL", Kind::boolean, 1},
};

const FileDType* find_file_dtype(std::string_view name) {
    for (const auto& d : kFileDTypes)
        if (name == d.name) return &d;
    return nullptr;
}

std::string supported_dtype_list() {
    std::string s;
    for (const auto& d : kFileDTypes) s += (s.empty() ? "" : ", ") + std::string(d.name);
    return s;
}

// What a file dtype becomes in memory: floats widen to float32, integers and bools to int64.
DType target_dtype(Kind k) {
    switch (k) {
        case Kind::f32: case Kind::f16: case Kind::bf16: case Kind::f8_e4m3: case Kind::f8_e5m2:
            return DType::f32;
        case Kind::f64: return DType::f64;
        default: return DType::i64;
    }
}

const char* file_dtype_name(DType t) {
    switch (t) {
        case DType::f32: return "F32";
        case DType::f64: return "F64";
        case DType::i64: return "I64";
    }
    fail("safetensors: no file dtype for {}", dtype_name(t));
}

// E4M3 "fn" variant (as in PyTorch's float8_e4m3fn): bias 7, no infinities, S.1111.111 is NaN.
float f8_e4m3_to_float(std::uint8_t b) {
    int exp = (b >> 3) & 0xF, mant = b & 7;
    float v;
    if (exp == 0xF && mant == 7) v = std::numeric_limits<float>::quiet_NaN();
    else if (exp == 0) v = std::ldexp(static_cast<float>(mant), -9);  // subnormal: mant/8 * 2^-6
    else v = std::ldexp(1.0f + static_cast<float>(mant) / 8.0f, exp - 7);
    return (b & 0x80) ? -v : v;
}

// E5M2 is the top byte of an IEEE half.
float f8_e5m2_to_float(std::uint8_t b) { return half_to_float(static_cast<std::uint16_t>(b) << 8); }

template <class T>
T load(const unsigned char* p) {
    T v;
    std::memcpy(&v, p, sizeof(T));
    return v;
}

// Converts `n` elements of `src` (file layout) into `dst` (the tensor's CPU data).
void convert(Kind k, const unsigned char* src, std::size_t n, void* dst, const std::string& where) {
    auto to_f32 = [&](auto f) {
        float* o = static_cast<float*>(dst);
        for (std::size_t i = 0; i < n; ++i) o[i] = f(i);
    };
    auto to_i64 = [&](auto f) {
        std::int64_t* o = static_cast<std::int64_t*>(dst);
        for (std::size_t i = 0; i < n; ++i) o[i] = f(i);
    };
    switch (k) {
        case Kind::f32: std::memcpy(dst, src, n * 4); return;
        case Kind::f64: case Kind::i64: std::memcpy(dst, src, n * 8); return;
        case Kind::f16: return to_f32([&](std::size_t i) { return half_to_float(load<std::uint16_t>(src + 2 * i)); });
        case Kind::bf16: return to_f32([&](std::size_t i) { return bf16_to_float(load<std::uint16_t>(src + 2 * i)); });
        case Kind::f8_e4m3: return to_f32([&](std::size_t i) { return f8_e4m3_to_float(src[i]); });
        case Kind::f8_e5m2: return to_f32([&](std::size_t i) { return f8_e5m2_to_float(src[i]); });
        case Kind::i32: return to_i64([&](std::size_t i) { return std::int64_t{load<std::int32_t>(src + 4 * i)}; });
        case Kind::i16: return to_i64([&](std::size_t i) { return std::int64_t{load<std::int16_t>(src + 2 * i)}; });
        case Kind::i8: return to_i64([&](std::size_t i) { return std::int64_t{static_cast<std::int8_t>(src[i])}; });
        case Kind::u8: return to_i64([&](std::size_t i) { return std::int64_t{src[i]}; });
        case Kind::u16: return to_i64([&](std::size_t i) { return std::int64_t{load<std::uint16_t>(src + 2 * i)}; });
        case Kind::u32: return to_i64([&](std::size_t i) { return std::int64_t{load<std::uint32_t>(src + 4 * i)}; });
        case Kind::boolean: return to_i64([&](std::size_t i) { return std::int64_t{src[i] != 0}; });
        case Kind::u64:
            return to_i64([&](std::size_t i) {
                std::uint64_t v = load<std::uint64_t>(src + 8 * i);
                if (v > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
                    fail("{}: U64 element {} = {} does not fit in int64", where, i, v);
                return static_cast<std::int64_t>(v);
            });
    }
}

// ---------------------------------------------------------------- writing

// Whether tensor t is written as 16-bit floats (FloatStorage f16/bf16 applies to float tensors).
bool stored_16(const Tensor& t, FloatStorage storage) { return storage != FloatStorage::f32 && is_floating(t.dtype()); }

std::string header_for(const std::vector<NamedTensor>& tensors, const SafetensorsMetadata& metadata,
                       std::vector<std::uint64_t>& sizes, FloatStorage storage) {
    json::Value header = json::Value::object();
    // Like the Python package: "__metadata__" comes first and is omitted when empty.
    if (!metadata.empty()) {
        json::Value m = json::Value::object();
        for (const auto& [k, v] : metadata) m[k] = v;
        header["__metadata__"] = std::move(m);
    }
    std::unordered_set<std::string> seen;
    std::uint64_t offset = 0;
    sizes.clear();
    for (const auto& [name, t] : tensors) {
        DCODR_CHECK(name != "__metadata__", "safetensors: \"__metadata__\" is reserved and cannot name a tensor");
        DCODR_CHECK(seen.insert(name).second, "safetensors: duplicate tensor name '{}'", name);
        DCODR_CHECK(t.defined(), "safetensors: tensor '{}' is undefined", name);
        const bool half = stored_16(t, storage);
        std::uint64_t nbytes = static_cast<std::uint64_t>(t.numel()) * (half ? 2 : dtype_size(t.dtype()));
        json::Value shape = json::Value::array();
        for (auto d : t.shape()) shape.push_back(d);
        json::Value entry = json::Value::object();
        entry["dtype"] = half ? (storage == FloatStorage::f16 ? "F16" : "BF16") : file_dtype_name(t.dtype());
        entry["shape"] = std::move(shape);
        entry["data_offsets"] = json::Value(json::Value::Array{offset, offset + nbytes});
        // Appended directly: operator[] would search all previous names (quadratic).
        header.as_object().emplace_back(name, std::move(entry));
        offset += nbytes;
        sizes.push_back(nbytes);
    }
    std::string text = header.dump();
    text.append((8 - text.size() % 8) % 8, ' ');  // keeps the data 8-byte aligned
    return text;
}

// Tensor `name` as F16/BF16 bytes. A finite value beyond F16's range (65504) is refused rather
// than written as infinity: the file would no longer load (weights must be finite).
std::vector<std::uint16_t> to_16bit(const std::string& name, const Tensor& t, FloatStorage storage) {
    Tensor host = t.to(Device::cpu()).to(DType::f32).contiguous();
    const float* p = host.data<float>();
    std::vector<std::uint16_t> out(static_cast<std::size_t>(host.numel()));
    for (std::size_t i = 0; i < out.size(); ++i) {
        out[i] = storage == FloatStorage::f16 ? float_to_half(p[i]) : float_to_bf16(p[i]);
        if (std::isfinite(p[i]) && (out[i] & 0x7FFFu) == (storage == FloatStorage::f16 ? 0x7C00u : 0x7F80u))
            fail("safetensors: tensor '{}' element {} = {} is beyond the range of {} (keep it float32)", name, i,
                 p[i], storage == FloatStorage::f16 ? "F16 (65504)" : "BF16");
    }
    return out;
}

void write_all(std::ostream& os, const std::vector<NamedTensor>& tensors, const SafetensorsMetadata& metadata,
               FloatStorage storage) {
    std::vector<std::uint64_t> sizes;
    std::string header = header_for(tensors, metadata, sizes, storage);
    std::uint64_t n = header.size();
    os.write(reinterpret_cast<const char*>(&n), 8);
    os.write(header.data(), static_cast<std::streamsize>(header.size()));
    for (std::size_t i = 0; i < tensors.size(); ++i) {
        if (sizes[i] == 0) continue;
        if (stored_16(tensors[i].tensor, storage)) {
            std::vector<std::uint16_t> bits = to_16bit(tensors[i].name, tensors[i].tensor, storage);
            os.write(reinterpret_cast<const char*>(bits.data()), static_cast<std::streamsize>(sizes[i]));
            continue;
        }
        Tensor host = tensors[i].tensor.to(Device::cpu()).contiguous();
        os.write(static_cast<const char*>(host.raw_data()), static_cast<std::streamsize>(sizes[i]));
    }
}

// ---------------------------------------------------------------- reading

// Random access to the bytes of a file or a buffer.
struct Source {
    std::string name;
    std::uint64_t size = 0;
    std::function<void(std::uint64_t offset, void* dst, std::size_t n)> read;
};

struct Entry {
    std::string name;
    const FileDType* dtype = nullptr;
    Shape shape;
    std::uint64_t begin = 0, end = 0;
};

std::uint64_t le64(const unsigned char* p) {
    std::uint64_t v = 0;
    for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
    return v;
}

Entry parse_entry(const Source& src, const std::string& name, const json::Value& v) {
    std::string where = fmt::format("'{}': tensor '{}'", src.name, name);
    Entry e;
    e.name = name;
    try {
        for (const char* field : {"dtype", "shape", "data_offsets"})
            if (!v.contains(field)) fail("entry has no \"{}\"", field);
        const auto& dt = v.at("dtype").as_string();
        e.dtype = find_file_dtype(dt);
        if (!e.dtype) fail("unknown dtype '{}' (supported: {})", dt, supported_dtype_list());
        std::uint64_t numel = 1;
        for (const auto& d : v.at("shape").as_array()) {
            std::int64_t x = d.as_int();
            if (x < 0) fail("negative dimension {} in shape", x);
            e.shape.push_back(x);
            if (x != 0 && numel > std::numeric_limits<std::uint64_t>::max() / static_cast<std::uint64_t>(x))
                fail("shape overflows 64 bits");
            numel *= static_cast<std::uint64_t>(x);
        }
        const auto& off = v.at("data_offsets");
        if (!off.is_array() || off.size() != 2) fail("data_offsets must be a [begin, end] pair");
        std::int64_t b = off.at(0).as_int(), en = off.at(1).as_int();
        if (b < 0 || en < b) fail("data_offsets [{}, {}] are not a valid range", b, en);
        e.begin = static_cast<std::uint64_t>(b);
        e.end = static_cast<std::uint64_t>(en);
        if (numel > std::numeric_limits<std::uint64_t>::max() / e.dtype->size) fail("shape overflows 64 bits");
        std::uint64_t need = numel * e.dtype->size;
        if (need != e.end - e.begin)
            fail("shape {} of dtype {} needs {} bytes but data_offsets [{}, {}] span {} bytes", shape_str(e.shape),
                 e.dtype->name, need, e.begin, e.end, e.end - e.begin);
    } catch (const Error& err) {
        fail("{}: {}", where, err.what());
    }
    return e;
}

SafetensorsContent decode(const Source& src) {
    if (src.size < 8)
        fail("'{}': not a safetensors file: {} bytes is too short for the 8-byte header length", src.name, src.size);
    unsigned char len_bytes[8];
    src.read(0, len_bytes, 8);
    std::uint64_t n = le64(len_bytes);
    if (n > src.size - 8)
        fail("'{}': header length {} is larger than the {} bytes that follow it (truncated, or not a safetensors file)",
             src.name, n, src.size - 8);
    if (n > kMaxHeaderBytes) fail("'{}': header length {} exceeds the {}-byte limit", src.name, n, kMaxHeaderBytes);
    std::string text(n, '\0');
    src.read(8, text.data(), n);

    json::Value header;
    try {
        header = json::parse(text);
    } catch (const Error& err) {
        fail("'{}': header is not valid JSON: {}", src.name, err.what());
    }
    if (!header.is_object()) fail("'{}': header must be a JSON object, got {}", src.name, json::type_name(header.type()));

    SafetensorsContent out;
    std::vector<Entry> entries;
    for (const auto& [name, v] : header.as_object()) {
        if (name == "__metadata__") {
            if (!v.is_object()) fail("'{}': __metadata__ must be an object of strings", src.name);
            for (const auto& [k, s] : v.as_object()) {
                if (!s.is_string())
                    fail("'{}': __metadata__ value for '{}' must be a string, got {}", src.name, k, json::type_name(s.type()));
                out.metadata[k] = s.as_string();
            }
            continue;
        }
        if (!v.is_object()) fail("'{}': tensor '{}': entry must be an object, got {}", src.name, name, json::type_name(v.type()));
        entries.push_back(parse_entry(src, name, v));
    }

    // The data section must be tiled exactly: sorted by offset, each tensor starts where the
    // previous one ended and the last ends at the end of the file.
    std::uint64_t data_size = src.size - 8 - n;
    std::vector<std::size_t> order(entries.size());
    std::iota(order.begin(), order.end(), 0);
    std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
        return std::pair(entries[a].begin, entries[a].end) < std::pair(entries[b].begin, entries[b].end);
    });
    std::uint64_t covered = 0;
    const Entry* prev = nullptr;
    for (std::size_t i : order) {
        const Entry& e = entries[i];
        if (e.end > data_size)
            fail("'{}': tensor '{}': data_offsets [{}, {}] run past the end of the {}-byte data section (truncated file?)",
                 src.name, e.name, e.begin, e.end, data_size);
        if (e.begin < covered)
            fail("'{}': tensor '{}': data_offsets [{}, {}] overlap tensor '{}' (which ends at {})", src.name, e.name,
                 e.begin, e.end, prev->name, covered);
        if (e.begin > covered)
            fail("'{}': tensor '{}': data_offsets [{}, {}] leave a gap: bytes {}..{} belong to no tensor", src.name,
                 e.name, e.begin, e.end, covered, e.begin);
        covered = e.end;
        prev = &e;
    }
    if (covered != data_size)
        fail("'{}': data section has {} bytes but the tensors cover only {} (trailing bytes)", src.name, data_size, covered);

    std::vector<unsigned char> scratch;
    for (const Entry& e : entries) {
        Tensor t = Tensor::empty(e.shape, target_dtype(e.dtype->kind));
        std::size_t nbytes = static_cast<std::size_t>(e.end - e.begin);
        if (nbytes > 0) {
            Kind k = e.dtype->kind;
            if (k == Kind::f32 || k == Kind::f64 || k == Kind::i64) {  // straight into the tensor
                src.read(8 + n + e.begin, t.raw_data(), nbytes);
            } else {
                scratch.resize(nbytes);
                src.read(8 + n + e.begin, scratch.data(), nbytes);
                convert(e.dtype->kind, scratch.data(), static_cast<std::size_t>(t.numel()), t.raw_data(),
                        fmt::format("'{}': tensor '{}'", src.name, e.name));
            }
        }
        out.tensors.push_back({e.name, std::move(t)});
    }
    return out;
}

}  // namespace

const Tensor* SafetensorsContent::find(std::string_view name) const {
    for (const auto& t : tensors)
        if (t.name == name) return &t.tensor;
    return nullptr;
}

void save_safetensors(const std::string& path, const std::vector<NamedTensor>& tensors,
                      const SafetensorsMetadata& metadata, FloatStorage storage) {
    // Validate names and dtypes before touching the disk.
    std::vector<std::uint64_t> sizes;
    try {
        header_for(tensors, metadata, sizes, storage);
    } catch (const Error& err) {
        fail("cannot save '{}': {}", path, err.what());
    }
    try {
        write_file_atomic(path, [&](std::ostream& os) { write_all(os, tensors, metadata, storage); });
    } catch (const Error& err) {  // e.g. a value F16 cannot hold; the old file is untouched
        fail("cannot save '{}': {}", path, err.what());
    }
}

std::string safetensors_bytes(const std::vector<NamedTensor>& tensors, const SafetensorsMetadata& metadata,
                              FloatStorage storage) {
    std::ostringstream os;
    write_all(os, tensors, metadata, storage);
    return std::move(os).str();
}

SafetensorsContent parse_safetensors(std::string_view bytes, const std::string& source) {
    Source src;
    src.name = source;
    src.size = bytes.size();
    src.read = [bytes](std::uint64_t offset, void* dst, std::size_t n) {
        std::memcpy(dst, bytes.data() + offset, n);
    };
    return decode(src);
}

SafetensorsContent load_safetensors(const std::string& path) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) fail("cannot open '{}': {}", path, std::strerror(errno));
    struct Closer {
        int fd;
        ~Closer() { ::close(fd); }
    } closer{fd};
    struct stat st {};
    if (::fstat(fd, &st) != 0) fail("cannot stat '{}': {}", path, std::strerror(errno));
    if (!S_ISREG(st.st_mode)) fail("'{}' is not a regular file", path);

    Source src;
    src.name = path;
    src.size = static_cast<std::uint64_t>(st.st_size);
    src.read = [&](std::uint64_t offset, void* dst, std::size_t n) {
        auto* p = static_cast<char*>(dst);
        while (n > 0) {
            ssize_t r = ::pread(fd, p, n, static_cast<off_t>(offset));
            if (r < 0 && errno == EINTR) continue;
            if (r < 0) fail("reading '{}' at byte {} failed: {}", path, offset, std::strerror(errno));
            if (r == 0) fail("'{}': unexpected end of file at byte {} (file changed while reading?)", path, offset);
            p += r;
            n -= static_cast<std::size_t>(r);
            offset += static_cast<std::uint64_t>(r);
        }
    };
    return decode(src);
}

}  // namespace dcodr::nn
