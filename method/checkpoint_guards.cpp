#include "method/checkpoint_guards.h"

#include <charconv>
#include <cstring>

#include "tensor/error.h"

namespace dcodr::method {

namespace {

// A fast 64-bit mix over 8-byte words (not cryptographic: it guards against mistakes, and
// hashing ~100 MB of pixels must stay far below one training step).
struct Hasher {
    std::uint64_t h = 0x243F6A8885A308D3ull;
    void word(std::uint64_t w) {
        h ^= w + 0x9E3779B97F4A7C15ull + (h << 6) + (h >> 2);
        h *= 0xBF58476D1CE4E5B9ull;
        h ^= h >> 31;
    }
    void bytes(const void* data, std::size_t n) {
        auto* p = static_cast<const unsigned char*>(data);
        std::size_t i = 0;
        for (; n >= 8 && i + 8 <= n; i += 8) {
            std::uint64_t w;
            std::memcpy(&w, p + i, 8);
            word(w);
        }
        std::uint64_t tail = 0;
        if (n > i) std::memcpy(&tail, p + i, n - i);  // p may be null when n is 0
        word(tail ^ (static_cast<std::uint64_t>(n) << 56));
    }
};

}  // namespace

std::string data_fingerprint(const data::Dataset& ds) {
    Hasher h;
    for (std::int64_t v : {ds.count, ds.height, ds.width, ds.channels, ds.n_domains, ds.num_attributes()})
        h.word(static_cast<std::uint64_t>(v));
    h.bytes(ds.pixels_u8.data(), ds.pixels_u8.size());
    h.bytes(ds.pixels_f32.data(), ds.pixels_f32.size() * sizeof(float));
    h.bytes(ds.domains.data(), ds.domains.size() * sizeof(std::int64_t));
    h.bytes(ds.attributes.data(), ds.attributes.size() * sizeof(std::int64_t));
    return fmt::format("{:016x}", h.h);
}

void write_checkpoint_guards(nn::SafetensorsMetadata& meta, const data::Dataset& ds) {
    meta["dcodr.data_fingerprint"] = data_fingerprint(ds);
}

void check_checkpoint_guards(const nn::SafetensorsMetadata& meta, const data::Dataset& ds, const std::string& path) {
    auto it = meta.find("dcodr.data_fingerprint");
    if (it == meta.end()) return;
    const std::string now = data_fingerprint(ds);
    DCODR_CHECK(it->second == now,
                "--resume: {} was trained on different data (fingerprint {}, this data set {}: {}); resume with the "
                "same --data, or start a fresh run in another --out",
                path, it->second, now, ds.describe());
}

std::int64_t checkpoint_int(const nn::SafetensorsMetadata& meta, const std::string& path, const std::string& key,
                            std::int64_t lo, std::int64_t hi) {
    auto it = meta.find(key);
    DCODR_CHECK(it != meta.end(), "{}: not a dcodr checkpoint (metadata field '{}' missing)", path, key);
    const std::string& s = it->second;
    std::int64_t v = 0;
    auto r = std::from_chars(s.data(), s.data() + s.size(), v);
    DCODR_CHECK(!s.empty() && r.ec == std::errc() && r.ptr == s.data() + s.size(),
                "{}: metadata field '{}' must be an integer, got '{}' (corrupt checkpoint?)", path, key, s);
    DCODR_CHECK(v >= lo && v <= hi, "{}: metadata field '{}' is {}, out of range [{}, {}] (corrupt checkpoint?)", path,
                key, v, lo, hi);
    return v;
}

}  // namespace dcodr::method
