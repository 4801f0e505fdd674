#include "data/npy.h"

#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <memory>

#include "data/file_checks.h"
#include "data/file_io.h"
#include "data/inflate.h"
#include "data/zip.h"
#include "tensor/checked_math.h"
#include "tensor/error.h"
#include "tensor/utf8.h"

namespace dcodr::data {

const char* npy_descr(NpyType t) {
    switch (t) {
        case NpyType::u1: return "|u1";
        case NpyType::i4: return "<i4";
        case NpyType::i8: return "<i8";
        case NpyType::f4: return "<f4";
        case NpyType::f8: return "<f8";
        case NpyType::i1: return "|i1";
        case NpyType::i2: return "<i2";
        case NpyType::u2: return "<u2";
        case NpyType::u4: return "<u4";
        case NpyType::u8: return "<u8";
        case NpyType::unicode: return "<U";
        case NpyType::bytes: return "|S";
    }
    return "?";
}

std::size_t npy_item_size(NpyType t) {
    switch (t) {
        case NpyType::u1: return 1;
        case NpyType::i4: return 4;
        case NpyType::f4: return 4;
        case NpyType::i1: return 1;
        case NpyType::i2:
        case NpyType::u2: return 2;
        case NpyType::u4: return 4;
        case NpyType::i8:
        case NpyType::u8:
        case NpyType::f8: return 8;
        default: return 0;  // strings: the width is per array (NpyArray::item_size)
    }
}

std::size_t NpyArray::item_size() const {
    if (type == NpyType::unicode) return static_cast<std::size_t>(chars) * 4;
    if (type == NpyType::bytes) return static_cast<std::size_t>(chars);
    return npy_item_size(type);
}

std::string NpyArray::descr() const {
    return is_string() ? npy_descr(type) + std::to_string(chars) : std::string(npy_descr(type));
}

namespace {

// UTF-8 -> code points (names dcodr writes; invalid bytes are taken as Latin-1).
std::vector<std::uint32_t> code_points(const std::string& s) {
    std::vector<std::uint32_t> out;
    for (std::size_t i = 0; i < s.size();) {
        const auto c = static_cast<unsigned char>(s[i]);
        int n = c < 0x80 ? 0 : (c >> 5) == 6 ? 1 : (c >> 4) == 14 ? 2 : (c >> 3) == 30 ? 3 : -1;
        bool ok = n >= 0 && i + static_cast<std::size_t>(n) < s.size() + (n == 0 ? 1 : 0);
        for (int k = 1; ok && k <= n; ++k) ok = (static_cast<unsigned char>(s[i + k]) >> 6) == 2;
        if (!ok) {
            out.push_back(c);
            ++i;
            continue;
        }
        std::uint32_t cp = n == 0 ? c : c & (0x3F >> n);
        for (int k = 1; k <= n; ++k) cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3F);
        out.push_back(cp);
        i += static_cast<std::size_t>(n) + 1;
    }
    return out;
}

}  // namespace

std::vector<std::string> NpyArray::to_strings() const {
    DCODR_CHECK(is_string(), "expected a string array (<U or |S), got dtype {}", descr());
    std::vector<std::string> out;
    const std::size_t item = item_size();
    for (std::int64_t i = 0; i < numel(); ++i) {
        const std::uint8_t* p = bytes.data() + static_cast<std::size_t>(i) * item;
        std::string s;
        if (type == NpyType::bytes) {
            s.assign(reinterpret_cast<const char*>(p), item);
            s.resize(std::strlen(s.c_str()));
        } else {
            for (std::int64_t k = 0; k < chars; ++k) {
                std::uint32_t cp = 0;
                std::memcpy(&cp, p + 4 * k, 4);
                if (cp == 0) break;
                append_utf8(s, cp);
            }
        }
        out.push_back(std::move(s));
    }
    return out;
}

NpyArray NpyArray::from_strings(const std::vector<std::string>& v) {
    std::vector<std::vector<std::uint32_t>> cps;
    std::int64_t width = 1;  // numpy never writes <U0
    for (const auto& s : v) {
        cps.push_back(code_points(s));
        width = std::max<std::int64_t>(width, static_cast<std::int64_t>(cps.back().size()));
    }
    NpyArray a;
    a.type = NpyType::unicode;
    a.chars = width;
    a.shape = {static_cast<std::int64_t>(v.size())};
    a.bytes.assign(v.size() * a.item_size(), 0);
    for (std::size_t i = 0; i < cps.size(); ++i)
        std::memcpy(a.bytes.data() + i * a.item_size(), cps[i].data(), cps[i].size() * 4);
    return a;
}

// ---- element access ----

template <class F>
static void for_each_value(const NpyArray& a, F&& f) {
    const std::int64_t n = a.numel();
    DCODR_CHECK(!a.is_string(), "expected numbers, found a string array ({})", a.descr());
    switch (a.type) {
        case NpyType::u1: for (std::int64_t i = 0; i < n; ++i) f(i, a.data<std::uint8_t>()[i]); break;
        case NpyType::i4: for (std::int64_t i = 0; i < n; ++i) f(i, a.data<std::int32_t>()[i]); break;
        case NpyType::i8: for (std::int64_t i = 0; i < n; ++i) f(i, a.data<std::int64_t>()[i]); break;
        case NpyType::f4: for (std::int64_t i = 0; i < n; ++i) f(i, a.data<float>()[i]); break;
        case NpyType::f8: for (std::int64_t i = 0; i < n; ++i) f(i, a.data<double>()[i]); break;
        case NpyType::i1: for (std::int64_t i = 0; i < n; ++i) f(i, a.data<std::int8_t>()[i]); break;
        case NpyType::i2: for (std::int64_t i = 0; i < n; ++i) f(i, a.data<std::int16_t>()[i]); break;
        case NpyType::u2: for (std::int64_t i = 0; i < n; ++i) f(i, a.data<std::uint16_t>()[i]); break;
        case NpyType::u4: for (std::int64_t i = 0; i < n; ++i) f(i, a.data<std::uint32_t>()[i]); break;
        case NpyType::u8: for (std::int64_t i = 0; i < n; ++i) f(i, a.data<std::uint64_t>()[i]); break;
        default: break;
    }
}

std::vector<std::int64_t> NpyArray::to_int64() const {
    std::vector<std::int64_t> out(static_cast<std::size_t>(numel()));
    for_each_value(*this, [&](std::int64_t i, auto v) {
        if constexpr (std::is_same_v<decltype(v), std::uint64_t>) {
            DCODR_CHECK(v <= static_cast<std::uint64_t>(INT64_MAX), "element {} is {}, too large", i, v);
        }
        if constexpr (std::is_floating_point_v<decltype(v)>) {
            // The range check keeps the cast defined (a float past 2^63 is UB to convert).
            DCODR_CHECK(std::isfinite(v) && std::floor(v) == v && std::fabs(v) < 9.2e18,
                        "expected integer values, element {} is {}", i, v);
        }
        out[i] = static_cast<std::int64_t>(v);
    });
    return out;
}

std::vector<double> NpyArray::to_double() const {
    std::vector<double> out(static_cast<std::size_t>(numel()));
    for_each_value(*this, [&](std::int64_t i, auto v) { out[i] = static_cast<double>(v); });
    return out;
}

std::vector<float> NpyArray::to_float() const {
    std::vector<float> out(static_cast<std::size_t>(numel()));
    for_each_value(*this, [&](std::int64_t i, auto v) { out[i] = static_cast<float>(v); });
    return out;
}

NpyArray NpyArray::make(NpyType type, const Shape& shape) {
    DCODR_CHECK(type != NpyType::unicode && type != NpyType::bytes, "NpyArray::make: numeric types only");
    for (auto d : shape) DCODR_CHECK(d >= 0, "NpyArray: negative dimension in shape {}", shape_str(shape));
    NpyArray a;
    a.type = type;
    a.shape = shape;
    a.bytes.assign(static_cast<std::size_t>(shape_numel(shape)) * npy_item_size(type), 0);
    return a;
}

template <class T>
static NpyArray from_values(NpyType type, const std::vector<T>& v, const Shape& shape) {
    DCODR_CHECK(static_cast<std::int64_t>(v.size()) == shape_numel(shape),
                "NpyArray: {} values do not fill shape {}", v.size(), shape_str(shape));
    NpyArray a = NpyArray::make(type, shape);
    if (!v.empty()) std::memcpy(a.bytes.data(), v.data(), a.bytes.size());
    return a;
}

NpyArray NpyArray::from_u8(const std::vector<std::uint8_t>& v, const Shape& s) { return from_values(NpyType::u1, v, s); }
NpyArray NpyArray::from_i64(const std::vector<std::int64_t>& v, const Shape& s) { return from_values(NpyType::i8, v, s); }
NpyArray NpyArray::from_f32(const std::vector<float>& v, const Shape& s) { return from_values(NpyType::f4, v, s); }

NpyArray NpyArray::from_tensor(const Tensor& t) {
    Tensor h = t.to(Device::cpu()).contiguous();
    NpyType type = h.dtype() == DType::f32 ? NpyType::f4 : h.dtype() == DType::f64 ? NpyType::f8 : NpyType::i8;
    NpyArray a = make(type, h.shape());
    if (!a.bytes.empty()) std::memcpy(a.bytes.data(), h.raw_data(), a.bytes.size());
    return a;
}

Tensor NpyArray::to_tensor() const {
    DCODR_CHECK(!is_string(), "a string array ({}) is not a tensor", descr());
    switch (type) {
        case NpyType::f4: return Tensor::from_vector(std::vector<float>(data<float>(), data<float>() + numel()), shape);
        case NpyType::f8: return Tensor::from_vector(to_double(), shape, DType::f64);
        case NpyType::u1: return Tensor::from_vector(to_float(), shape);
        default: return Tensor::from_vector(to_int64(), shape);
    }
}

// ---- header ----

namespace {

struct Header {
    NpyType type = NpyType::f4;
    std::int64_t chars = 0;       // string types: the width
    Shape shape;
    std::size_t data_offset = 0;
    std::string unreadable;       // non-empty: a dtype dcodr does not read (when tolerated)
    std::size_t item_size() const {
        return type == NpyType::unicode ? static_cast<std::size_t>(chars) * 4
               : type == NpyType::bytes ? static_cast<std::size_t>(chars)
                                        : npy_item_size(type);
    }
};

// "<U12" -> 12; -1 when `descr` is not `prefix` followed by a positive width.
std::int64_t string_width(const std::string& descr, std::initializer_list<const char*> prefixes) {
    for (const char* prefix : prefixes) {
        const std::size_t n = std::strlen(prefix);
        if (descr.compare(0, n, prefix) != 0 || descr.size() == n || descr.size() > n + 9) continue;
        std::int64_t w = 0;
        for (std::size_t i = n; i < descr.size(); ++i) {
            if (descr[i] < '0' || descr[i] > '9') return -1;
            w = w * 10 + (descr[i] - '0');
        }
        return w > 0 ? w : -1;
    }
    return -1;
}

constexpr char kMagic[] = "\x93NUMPY";

// Value text following `'key':` in the header dict, or npos.
std::size_t find_key(const std::string& h, const char* key) {
    for (char q : {'\'', '"'}) {
        std::string k = std::string(1, q) + key + q;
        auto p = h.find(k);
        if (p == std::string::npos) continue;
        p = h.find(':', p + k.size());
        if (p == std::string::npos) return p;
        ++p;
        while (p < h.size() && h[p] == ' ') ++p;
        return p;
    }
    return std::string::npos;
}

// Length of the npy preamble (magic, version, length field), and the header text length.
std::pair<std::size_t, std::size_t> header_extent(const std::uint8_t* d, std::size_t size, const std::string& name) {
    DCODR_CHECK(size >= 10, "{}: not a .npy array (only {} bytes; truncated?)", name, size);
    DCODR_CHECK(std::memcmp(d, kMagic, 6) == 0, "{}: not a .npy array (bad magic bytes)", name);
    int major = d[6];
    DCODR_CHECK(major >= 1 && major <= 3, "{}: unsupported .npy format version {}.{} (expected 1.0, 2.0 or 3.0)",
                name, major, static_cast<int>(d[7]));
    if (major == 1) return {10, static_cast<std::size_t>(d[8] | (d[9] << 8))};
    DCODR_CHECK(size >= 12, "{}: truncated .npy header", name);
    return {12, static_cast<std::size_t>(d[8]) | (static_cast<std::size_t>(d[9]) << 8) |
                    (static_cast<std::size_t>(d[10]) << 16) | (static_cast<std::size_t>(d[11]) << 24)};
}

Header parse_header(const std::uint8_t* d, std::size_t size, const std::string& name, bool tolerate_dtype = false) {
    auto [pre, len] = header_extent(d, size, name);
    DCODR_CHECK(pre + len <= size, "{}: truncated .npy header ({} header bytes expected, {} present)", name, len,
                size - pre);
    std::string h(reinterpret_cast<const char*>(d + pre), len);
    Header out;
    out.data_offset = pre + len;

    auto p = find_key(h, "descr");
    DCODR_CHECK(p != std::string::npos, "{}: .npy header has no 'descr' field: {}", name, h);
    std::string descr;
    if (p < h.size() && (h[p] == '\'' || h[p] == '"')) {
        auto end = h.find(h[p], p + 1);
        DCODR_CHECK(end != std::string::npos, "{}: malformed .npy header: {}", name, h);
        descr = h.substr(p + 1, end - p - 1);
    } else if (tolerate_dtype) {
        out.unreadable = "structured";
    } else {
        fail("{}: unsupported dtype (structured arrays are not supported): {}", name, h);
    }
    const std::int64_t u_width = string_width(descr, {"<U", "=U", "|U"});
    const std::int64_t s_width = string_width(descr, {"|S", "S", "<S", "=S"});
    if (!out.unreadable.empty()) {
    } else if (u_width > 0) {
        out.type = NpyType::unicode;
        out.chars = u_width;
    } else if (s_width > 0) {
        out.type = NpyType::bytes;
        out.chars = s_width;
    } else if (descr == "|u1" || descr == "<u1" || descr == "u1") out.type = NpyType::u1;
    else if (descr == "|i1" || descr == "<i1" || descr == "i1") out.type = NpyType::i1;
    else if (descr == "<i2") out.type = NpyType::i2;
    else if (descr == "<u2") out.type = NpyType::u2;
    else if (descr == "<u4") out.type = NpyType::u4;
    else if (descr == "<u8") out.type = NpyType::u8;
    else if (descr == "<i4") out.type = NpyType::i4;
    else if (descr == "<i8") out.type = NpyType::i8;
    else if (descr == "<f4") out.type = NpyType::f4;
    else if (descr == "<f8") out.type = NpyType::f8;
    else if (tolerate_dtype)
        out.unreadable = descr;
    else if (!descr.empty() && descr[0] == '>')
        fail("{}: unsupported dtype '{}': big-endian data (expected little-endian integers, <f4 or <f8)", name,
             descr);
    else
        fail("{}: unsupported dtype '{}' (expected |u1, |i1, <i2, <u2, <i4, <u4, <i8, <u8, <f4, <f8, <U or |S)", name,
             descr);

    p = find_key(h, "fortran_order");
    DCODR_CHECK(p != std::string::npos, "{}: .npy header has no 'fortran_order' field: {}", name, h);
    if (h.compare(p, 4, "True") == 0 && tolerate_dtype && out.unreadable.empty()) out.unreadable = descr + ", Fortran order";
    else if (h.compare(p, 4, "True") == 0)
        fail("{}: Fortran-order arrays are not supported (save with np.ascontiguousarray)", name);
    DCODR_CHECK(h.compare(p, 5, "False") == 0 || h.compare(p, 4, "True") == 0,
                "{}: malformed 'fortran_order' in .npy header: {}", name, h);

    p = find_key(h, "shape");
    DCODR_CHECK(p != std::string::npos && h[p] == '(', "{}: .npy header has no 'shape' tuple: {}", name, h);
    auto close = h.find(')', p);
    DCODR_CHECK(close != std::string::npos, "{}: malformed 'shape' in .npy header: {}", name, h);
    std::size_t q = p + 1;
    while (q < close) {
        while (q < close && (h[q] == ' ' || h[q] == ',')) ++q;
        if (q >= close) break;
        std::size_t digits = q;
        std::int64_t v = 0;
        while (q < close && h[q] >= '0' && h[q] <= '9') {
            DCODR_CHECK(v < (std::int64_t{1} << 56), "{}: dimension too large in .npy shape: {}", name, h);
            v = v * 10 + (h[q++] - '0');
        }
        DCODR_CHECK(q > digits, "{}: malformed 'shape' in .npy header: {}", name, h);
        if (q < close && h[q] == 'L') ++q;  // Python 2 long suffix
        out.shape.push_back(v);
    }
    return out;
}

std::vector<std::uint8_t> make_header(const NpyArray& a) {
    std::string shape = "(";
    for (std::size_t i = 0; i < a.shape.size(); ++i) shape += std::to_string(a.shape[i]) + ", ";
    if (a.shape.size() > 1) shape.resize(shape.size() - 2);
    else if (a.shape.size() == 1) shape.resize(shape.size() - 1);  // "(3,)"
    shape += ")";
    std::string dict = std::string("{'descr': '") + a.descr() + "', 'fortran_order': False, 'shape': " +
                       shape + ", }";
    // numpy pads with spaces and a final newline so the data starts at a multiple of 64.
    std::size_t pre = dict.size() + 1 + 10 <= 65535 ? 10 : 12;
    std::size_t total = (pre + dict.size() + 1 + 63) / 64 * 64;
    dict.append(total - pre - dict.size() - 1, ' ');
    dict += '\n';
    std::vector<std::uint8_t> h(kMagic, kMagic + 6);
    h.push_back(pre == 10 ? 1 : 2);
    h.push_back(0);
    std::size_t len = dict.size();
    h.push_back(static_cast<std::uint8_t>(len));
    h.push_back(static_cast<std::uint8_t>(len >> 8));
    if (pre == 12) {
        h.push_back(static_cast<std::uint8_t>(len >> 16));
        h.push_back(static_cast<std::uint8_t>(len >> 24));
    }
    h.insert(h.end(), dict.begin(), dict.end());
    return h;
}

std::size_t data_bytes(const Header& h) {
    return static_cast<std::size_t>(
        checked_mul(shape_numel(h.shape), static_cast<std::int64_t>(h.item_size()), "npy data size"));
}

NpyArray array_of(const Header& h) {
    NpyArray a;
    a.type = h.type;
    a.chars = h.chars;
    a.shape = h.shape;
    return a;
}

struct FileCloser {
    void operator()(std::FILE* f) const { std::fclose(f); }
};
using FilePtr = std::unique_ptr<std::FILE, FileCloser>;

FilePtr open_read(const std::string& path) {
    require_regular_file(path, "file");
    std::FILE* f = std::fopen(path.c_str(), "rb");
    DCODR_CHECK(f, "cannot open '{}': {}", path, std::strerror(errno));
    return FilePtr(f);
}

// Reads an array whose .npy bytes start at `offset` and span `avail` bytes.
NpyArray read_npy_at(std::FILE* f, std::uint64_t offset, std::uint64_t avail, const std::string& name,
                     std::uint32_t* crc) {
    std::uint8_t pre[12] = {};
    std::size_t pre_n = static_cast<std::size_t>(std::min<std::uint64_t>(avail, 12));
    bool ok = fseeko(f, static_cast<off_t>(offset), SEEK_SET) == 0 && std::fread(pre, 1, pre_n, f) == pre_n;
    DCODR_CHECK(ok, "{}: truncated (cannot read the .npy header)", name);
    auto [pre_len, len] = header_extent(pre, pre_n, name);
    DCODR_CHECK(pre_len + len <= avail, "{}: truncated .npy header", name);
    std::vector<std::uint8_t> head(pre_len + len);
    ok = fseeko(f, static_cast<off_t>(offset), SEEK_SET) == 0 && std::fread(head.data(), 1, head.size(), f) == head.size();
    DCODR_CHECK(ok, "{}: truncated .npy header", name);
    Header h = parse_header(head.data(), head.size(), name);
    NpyArray a = array_of(h);
    std::size_t need = data_bytes(h);
    DCODR_CHECK(h.data_offset + need <= avail,
                "{}: truncated data: shape {} of {} needs {} bytes, only {} present", name, shape_str(h.shape),
                npy_descr(h.type), need, avail - h.data_offset);
    a.bytes.resize(need);
    std::size_t got = need ? std::fread(a.bytes.data(), 1, need, f) : 0;
    DCODR_CHECK(got == need, "{}: truncated data: read {} of {} bytes", name, got, need);
    if (crc) *crc = crc32_update(crc32_update(0, head.data(), head.size()), a.bytes.data(), a.bytes.size());
    return a;
}

}  // namespace

NpyArray parse_npy(const std::uint8_t* d, std::size_t size, const std::string& name) {
    Header h = parse_header(d, size, name);
    std::size_t need = data_bytes(h);
    DCODR_CHECK(h.data_offset + need <= size,
                "{}: truncated data: shape {} of {} needs {} bytes, only {} present", name, shape_str(h.shape),
                npy_descr(h.type), need, size - h.data_offset);
    NpyArray a = array_of(h);
    a.bytes.assign(d + h.data_offset, d + h.data_offset + need);
    return a;
}

std::vector<std::uint8_t> serialize_npy(const NpyArray& a) {
    auto out = make_header(a);
    out.insert(out.end(), a.bytes.begin(), a.bytes.end());
    return out;
}

NpyArray load_npy(const std::string& path) {
    auto f = open_read(path);
    DCODR_CHECK(fseeko(f.get(), 0, SEEK_END) == 0, "cannot seek in '{}'", path);
    auto size = static_cast<std::uint64_t>(ftello(f.get()));
    return read_npy_at(f.get(), 0, size, "'" + path + "'", nullptr);
}

void save_npy(const std::string& path, const NpyArray& a) {
    DCODR_CHECK(static_cast<std::int64_t>(a.bytes.size()) == a.numel() * static_cast<std::int64_t>(a.item_size()),
                "save_npy '{}': {} bytes do not match shape {} of {}", path, a.bytes.size(), shape_str(a.shape),
                npy_descr(a.type));
    auto h = make_header(a);
    std::vector<std::uint8_t> all = h;
    all.insert(all.end(), a.bytes.begin(), a.bytes.end());
    write_file(path, all);
}

namespace {

// A deflated member may claim at most this expansion (numpy's image arrays compress ~5-50:1;
// all-zero arrays reach ~1000:1): anything beyond is refused before allocating (zip bombs).
constexpr std::uint64_t kMaxDeflateRatio = 1100;

// A deflated (np.savez_compressed) member: inflated into memory, then parsed.
std::vector<std::uint8_t> inflate_member(std::FILE* f, const ZipEntry& e, const std::string& path,
                                         const std::string& what) {
    DCODR_CHECK(e.size <= kMaxDeflateRatio * e.compressed_size + (64u << 10),
                "{}: refused: {} compressed bytes claim to expand to {} (over {}:1, a zip bomb?)", what,
                e.compressed_size, e.size, kMaxDeflateRatio);
    const std::uint64_t start = zip_data_offset(f, e, path);
    std::string packed(static_cast<std::size_t>(e.compressed_size), '\0');
    bool ok = fseeko(f, static_cast<off_t>(start), SEEK_SET) == 0 &&
              std::fread(packed.data(), 1, packed.size(), f) == packed.size();
    DCODR_CHECK(ok, "{}: truncated (its compressed data runs past the end of the file)", what);
    auto data = inflate_raw(packed, static_cast<std::size_t>(e.size), what);
    DCODR_CHECK(crc32_update(0, data.data(), data.size()) == e.crc, "{}: CRC mismatch (the file is corrupt)", what);
    return data;
}

// The dtype text of a member whose header says it is unreadable, or "" when it is readable.
std::string unreadable_dtype(const std::uint8_t* head, std::size_t size, const std::string& what) {
    return parse_header(head, size, what, true).unreadable;
}

}  // namespace

NpzEntries load_npz(const std::string& path, std::vector<std::string>* skipped) {
    auto f = open_read(path);
    auto dir = read_zip_directory(f.get(), path);
    NpzEntries out;
    for (const auto& e : dir) {
        std::string name = e.name;
        if (name.size() > 4 && name.compare(name.size() - 4, 4, ".npy") == 0) name.resize(name.size() - 4);
        const std::string what = "'" + path + "' array '" + name + "'";
        DCODR_CHECK(e.method == 0 || e.method == 8,
                    "{}: zip compression method {} is not supported (numpy writes stored or deflated members)", what,
                    e.method);
        DCODR_CHECK(!(e.flags & 1), "{}: encrypted zip entries are not supported", what);
        // numpy.load keeps the last of two same-named members, we would take the first: refuse
        // rather than silently disagree with the authors' tools about which array is meant.
        DCODR_CHECK(!npz_find(out, name), "{}: the archive holds two members named '{}'; refusing the ambiguity",
                    what, e.name);
        if (e.method == 8) {
            auto data = inflate_member(f.get(), e, path, what);
            if (skipped) {
                std::string bad = unreadable_dtype(data.data(), data.size(), what);
                if (!bad.empty()) {
                    skipped->push_back(name + " (" + bad + ")");
                    continue;
                }
            }
            out.emplace_back(name, parse_npy(data.data(), data.size(), what));
            continue;
        }
        std::uint64_t start = zip_data_offset(f.get(), e, path);
        if (skipped) {
            // Read just the header to learn whether dcodr can read the member at all.
            std::vector<std::uint8_t> head(static_cast<std::size_t>(std::min<std::uint64_t>(e.size, 65536 + 12)));
            bool ok = fseeko(f.get(), static_cast<off_t>(start), SEEK_SET) == 0 &&
                      std::fread(head.data(), 1, head.size(), f.get()) == head.size();
            DCODR_CHECK(ok, "{}: truncated (cannot read the .npy header)", what);
            std::string bad = unreadable_dtype(head.data(), head.size(), what);
            if (!bad.empty()) {
                skipped->push_back(name + " (" + bad + ")");
                continue;
            }
        }
        std::uint32_t crc = 0;
        NpyArray a = read_npy_at(f.get(), start, e.size, what, &crc);
        DCODR_CHECK(crc == e.crc, "{}: CRC mismatch (the file is corrupt)", what);
        out.emplace_back(name, std::move(a));
    }
    return out;
}

void save_npz(const std::string& path, const NpzEntries& arrays) {
    ZipWriter w(path);
    for (const auto& [name, a] : arrays) {
        DCODR_CHECK(static_cast<std::int64_t>(a.bytes.size()) == a.numel() * static_cast<std::int64_t>(a.item_size()),
                    "save_npz '{}' array '{}': {} bytes do not match shape {}", path, name, a.bytes.size(),
                    shape_str(a.shape));
        auto h = make_header(a);
        w.add(name + ".npy", h.data(), h.size(), a.bytes.data(), a.bytes.size());
    }
    w.finish();
}

const NpyArray* npz_find(const NpzEntries& entries, const std::string& name) {
    for (const auto& [n, a] : entries)
        if (n == name) return &a;
    return nullptr;
}

const NpyArray& npz_get(const NpzEntries& entries, const std::string& name, const std::string& path) {
    if (auto* a = npz_find(entries, name)) return *a;
    std::string present;
    for (const auto& [n, a] : entries) present += (present.empty() ? "" : ", ") + n;
    fail("'{}': missing array '{}' (arrays present: {})", path, name, present.empty() ? "none" : present);
}

}  // namespace dcodr::data
