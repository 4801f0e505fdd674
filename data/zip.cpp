#include "data/zip.h"

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include "tensor/error.h"

namespace dcodr::data {

namespace {

std::array<std::uint32_t, 256> make_crc_table() {
    std::array<std::uint32_t, 256> t{};
    for (std::uint32_t i = 0; i < 256; ++i) {
        std::uint32_t c = i;
        for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        t[i] = c;
    }
    return t;
}

std::uint16_t rd16(const std::uint8_t* p) { return static_cast<std::uint16_t>(p[0] | (p[1] << 8)); }
std::uint32_t rd32(const std::uint8_t* p) {
    return static_cast<std::uint32_t>(p[0]) | (static_cast<std::uint32_t>(p[1]) << 8) |
           (static_cast<std::uint32_t>(p[2]) << 16) | (static_cast<std::uint32_t>(p[3]) << 24);
}
std::uint64_t rd64(const std::uint8_t* p) { return rd32(p) | (static_cast<std::uint64_t>(rd32(p + 4)) << 32); }

void wr16(std::vector<std::uint8_t>& v, std::uint16_t x) {
    v.push_back(static_cast<std::uint8_t>(x));
    v.push_back(static_cast<std::uint8_t>(x >> 8));
}
void wr32(std::vector<std::uint8_t>& v, std::uint32_t x) {
    for (int i = 0; i < 4; ++i) v.push_back(static_cast<std::uint8_t>(x >> (8 * i)));
}
void wr64(std::vector<std::uint8_t>& v, std::uint64_t x) {
    for (int i = 0; i < 8; ++i) v.push_back(static_cast<std::uint8_t>(x >> (8 * i)));
}

void read_at(std::FILE* f, std::uint64_t offset, void* dst, std::size_t n, const std::string& path, const std::string& what) {
    bool ok = fseeko(f, static_cast<off_t>(offset), SEEK_SET) == 0 && std::fread(dst, 1, n, f) == n;
    DCODR_CHECK(ok, "'{}' is not a valid npz/zip file: truncated while reading the {} (at byte {})", path, what, offset);
}

constexpr std::uint32_t kLimit32 = 0xFFFFFFFFu;

}  // namespace

std::uint32_t crc32_update(std::uint32_t crc, const void* data, std::size_t size) {
    static const auto table = make_crc_table();
    auto* p = static_cast<const std::uint8_t*>(data);
    crc = ~crc;
    for (std::size_t i = 0; i < size; ++i) crc = table[(crc ^ p[i]) & 0xFF] ^ (crc >> 8);
    return ~crc;
}

std::vector<ZipEntry> read_zip_directory(std::FILE* f, const std::string& path) {
    DCODR_CHECK(fseeko(f, 0, SEEK_END) == 0, "cannot seek in '{}'", path);
    const std::uint64_t file_size = static_cast<std::uint64_t>(ftello(f));
    DCODR_CHECK(file_size >= 22, "'{}' is not a valid npz/zip file: {} bytes is too short for a zip archive", path,
                file_size);
    // The end-of-central-directory record sits in the last 22 + (comment <= 65535) bytes.
    std::uint64_t tail_size = std::min<std::uint64_t>(file_size, 22 + 65535);
    std::vector<std::uint8_t> tail(tail_size);
    read_at(f, file_size - tail_size, tail.data(), tail.size(), path, "end of archive");
    std::int64_t eocd = -1;
    for (std::int64_t i = static_cast<std::int64_t>(tail_size) - 22; i >= 0; --i)
        if (rd32(&tail[i]) == 0x06054b50u) {
            eocd = i;
            break;
        }
    DCODR_CHECK(eocd >= 0, "'{}' is not a valid npz/zip file: no zip end-of-directory record (truncated or not a zip)",
                path);
    const std::uint8_t* e = &tail[eocd];
    std::uint64_t count = rd16(e + 10), cd_size = rd32(e + 12), cd_offset = rd32(e + 16);
    if (count == 0xFFFF || cd_size == kLimit32 || cd_offset == kLimit32) {
        // ZIP64: the locator precedes the record and points at the 64-bit record.
        DCODR_CHECK(eocd >= 20 && rd32(&tail[eocd - 20]) == 0x07064b50u,
                    "'{}' is not a valid npz/zip file: missing ZIP64 locator", path);
        std::uint64_t z64 = rd64(&tail[eocd - 20 + 8]);
        std::uint8_t rec[56];
        read_at(f, z64, rec, sizeof rec, path, "ZIP64 directory record");
        DCODR_CHECK(rd32(rec) == 0x06064b50u, "'{}' is not a valid npz/zip file: bad ZIP64 directory record", path);
        count = rd64(rec + 32);
        cd_size = rd64(rec + 40);
        cd_offset = rd64(rec + 48);
    }
    DCODR_CHECK(cd_offset <= file_size && cd_size <= file_size - cd_offset,
                "'{}' is not a valid npz/zip file: the zip directory lies past the end of the file (truncated?)", path);
    std::vector<std::uint8_t> cd(cd_size);
    read_at(f, cd_offset, cd.data(), cd.size(), path, "zip directory");
    std::vector<ZipEntry> entries;
    std::size_t p = 0;
    for (std::uint64_t k = 0; k < count; ++k) {
        DCODR_CHECK(p + 46 <= cd.size() && rd32(&cd[p]) == 0x02014b50u,
                    "'{}' is not a valid npz/zip file: corrupt zip directory entry {}", path, k);
        const std::uint8_t* h = &cd[p];
        ZipEntry z;
        z.flags = rd16(h + 8);
        z.method = rd16(h + 10);
        z.crc = rd32(h + 16);
        z.compressed_size = rd32(h + 20);
        z.size = rd32(h + 24);
        std::size_t nlen = rd16(h + 28), xlen = rd16(h + 30), clen = rd16(h + 32);
        z.local_offset = rd32(h + 42);
        DCODR_CHECK(p + 46 + nlen + xlen + clen <= cd.size(), "'{}' is not a valid npz/zip file: corrupt zip directory",
                    path);
        z.name.assign(reinterpret_cast<const char*>(h + 46), nlen);
        // ZIP64 extra field: 64-bit values for whichever fields hold 0xFFFFFFFF, in this order.
        const std::uint8_t* x = h + 46 + nlen;
        for (std::size_t q = 0; q + 4 <= xlen;) {
            std::uint16_t id = rd16(x + q), len = rd16(x + q + 2);
            // A field may not claim more bytes than the extra area has left (reading past it
            // was a heap over-read on a crafted ZIP64 entry).
            DCODR_CHECK(len <= xlen - q - 4,
                        "'{}' is not a valid npz/zip file: zip directory entry '{}' has an extra field of {} bytes with "
                        "only {} left",
                        path, z.name, len, xlen - q - 4);
            if (id == 0x0001) {
                const std::uint8_t* v = x + q + 4;
                std::size_t used = 0;
                auto take = [&](std::uint64_t& field) {
                    if (field == kLimit32 && used + 8 <= len) {
                        field = rd64(v + used);
                        used += 8;
                    }
                };
                take(z.size);
                take(z.compressed_size);
                take(z.local_offset);
            }
            q += 4 + len;
        }
        // Sizes and offsets from the directory are untrusted: every stored byte they name must lie
        // in the file, so nothing later allocates or seeks by a number the file cannot back. (A
        // deflated entry's size is what it inflates to; the inflater bounds that, zip bombs
        // included.)
        const std::uint64_t stored = z.method == 0 ? std::max(z.size, z.compressed_size) : z.compressed_size;
        DCODR_CHECK(z.local_offset < file_size && stored <= file_size - z.local_offset,
                    "'{}' is not a valid npz/zip file: zip entry '{}' claims {} bytes at offset {}, past the end of "
                    "the {}-byte file",
                    path, z.name, stored, z.local_offset, file_size);
        entries.push_back(std::move(z));
        p += 46 + nlen + xlen + clen;
    }
    return entries;
}

std::uint64_t zip_data_offset(std::FILE* f, const ZipEntry& e, const std::string& path) {
    std::uint8_t h[30];
    read_at(f, e.local_offset, h, sizeof h, path, "zip entry header of '" + e.name + "'");
    DCODR_CHECK(rd32(h) == 0x04034b50u, "'{}' is not a valid npz/zip file: bad local header for entry '{}'", path, e.name);
    return e.local_offset + 30 + rd16(h + 26) + rd16(h + 28);
}

// ---- writer ----

ZipWriter::ZipWriter(std::string path) : path_(std::move(path)), tmp_(path_ + ".tmp") {
    f_ = std::fopen(tmp_.c_str(), "wb");
    DCODR_CHECK(f_, "cannot write '{}': {}", path_, std::strerror(errno));
}

ZipWriter::~ZipWriter() {
    if (f_) {  // finish() not reached (an exception): leave no partial file behind
        std::fclose(f_);
        std::remove(tmp_.c_str());
    }
}

void ZipWriter::put(const void* data, std::size_t size) {
    if (size && std::fwrite(data, 1, size, f_) != size) fail("cannot write '{}': {}", path_, std::strerror(errno));
    pos_ += size;
}

void ZipWriter::add(const std::string& name, const void* a, std::size_t a_size, const void* b, std::size_t b_size) {
    ZipEntry z;
    z.name = name;
    z.size = z.compressed_size = a_size + b_size;
    z.crc = crc32_update(crc32_update(0, a, a_size), b, b_size);
    z.local_offset = pos_;
    const bool big = z.size >= kLimit32;
    std::vector<std::uint8_t> h;
    wr32(h, 0x04034b50u);
    wr16(h, big ? 45 : 20);  // version needed: 4.5 for ZIP64
    wr16(h, 0);              // flags
    wr16(h, 0);              // stored
    wr16(h, 0);              // time
    wr16(h, 0x21);           // date 1980-01-01
    wr32(h, z.crc);
    wr32(h, big ? kLimit32 : static_cast<std::uint32_t>(z.size));
    wr32(h, big ? kLimit32 : static_cast<std::uint32_t>(z.size));
    wr16(h, static_cast<std::uint16_t>(name.size()));
    wr16(h, big ? 20 : 0);
    h.insert(h.end(), name.begin(), name.end());
    if (big) {
        wr16(h, 0x0001);
        wr16(h, 16);
        wr64(h, z.size);
        wr64(h, z.size);
    }
    put(h.data(), h.size());
    put(a, a_size);
    put(b, b_size);
    entries_.push_back(std::move(z));
}

void ZipWriter::finish() {
    const std::uint64_t cd_offset = pos_;
    bool need64 = entries_.size() >= 0xFFFF;
    std::vector<std::uint8_t> cd;
    for (const auto& z : entries_) {
        const bool big_size = z.size >= kLimit32, big_off = z.local_offset >= kLimit32;
        std::vector<std::uint8_t> extra;
        if (big_size) {
            wr64(extra, z.size);
            wr64(extra, z.compressed_size);
        }
        if (big_off) wr64(extra, z.local_offset);
        wr32(cd, 0x02014b50u);
        wr16(cd, 45);
        wr16(cd, (big_size || big_off) ? 45 : 20);
        wr16(cd, 0);
        wr16(cd, 0);
        wr16(cd, 0);
        wr16(cd, 0x21);
        wr32(cd, z.crc);
        wr32(cd, big_size ? kLimit32 : static_cast<std::uint32_t>(z.compressed_size));
        wr32(cd, big_size ? kLimit32 : static_cast<std::uint32_t>(z.size));
        wr16(cd, static_cast<std::uint16_t>(z.name.size()));
        wr16(cd, static_cast<std::uint16_t>(extra.empty() ? 0 : extra.size() + 4));
        wr16(cd, 0);  // comment
        wr16(cd, 0);  // disk
        wr16(cd, 0);  // internal attributes
        wr32(cd, 0x81A40000u);  // external attributes: regular file, mode 0644
        wr32(cd, big_off ? kLimit32 : static_cast<std::uint32_t>(z.local_offset));
        cd.insert(cd.end(), z.name.begin(), z.name.end());
        if (!extra.empty()) {
            wr16(cd, 0x0001);
            wr16(cd, static_cast<std::uint16_t>(extra.size()));
            cd.insert(cd.end(), extra.begin(), extra.end());
        }
    }
    put(cd.data(), cd.size());
    const std::uint64_t cd_size = cd.size(), n = entries_.size();
    need64 = need64 || cd_offset >= kLimit32 || cd_size >= kLimit32;
    std::vector<std::uint8_t> tail;
    if (need64) {
        const std::uint64_t rec = pos_;
        wr32(tail, 0x06064b50u);
        wr64(tail, 44);
        wr16(tail, 45);
        wr16(tail, 45);
        wr32(tail, 0);
        wr32(tail, 0);
        wr64(tail, n);
        wr64(tail, n);
        wr64(tail, cd_size);
        wr64(tail, cd_offset);
        wr32(tail, 0x07064b50u);
        wr32(tail, 0);
        wr64(tail, rec);
        wr32(tail, 1);
    }
    wr32(tail, 0x06054b50u);
    wr16(tail, 0);
    wr16(tail, 0);
    wr16(tail, need64 ? 0xFFFF : static_cast<std::uint16_t>(n));
    wr16(tail, need64 ? 0xFFFF : static_cast<std::uint16_t>(n));
    wr32(tail, need64 ? kLimit32 : static_cast<std::uint32_t>(cd_size));
    wr32(tail, need64 ? kLimit32 : static_cast<std::uint32_t>(cd_offset));
    wr16(tail, 0);
    put(tail.data(), tail.size());
    std::FILE* f = f_;
    f_ = nullptr;
    if (std::fclose(f) != 0) {
        std::remove(tmp_.c_str());
        fail("cannot write '{}': {}", path_, std::strerror(errno));
    }
    std::error_code ec;
    std::filesystem::rename(tmp_, path_, ec);
    if (ec) {
        std::remove(tmp_.c_str());
        fail("cannot write '{}': rename failed: {}", path_, ec.message());
    }
}

}  // namespace dcodr::data
