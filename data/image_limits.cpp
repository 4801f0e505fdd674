#include "data/image_limits.h"

#include <cstdio>
#include <algorithm>
#include <cstring>
#include <vector>

#include <fmt/format.h>

#include "tensor/error.h"

namespace dcodr::data {

void check_image_dimensions(std::int64_t width, std::int64_t height, const std::string& name) {
    DCODR_CHECK(width > 0 && height > 0 && width <= kMaxImagePixels / height,
                "cannot decode image '{}': {} x {} pixels is more than the {} pixels (16384 x 16384) supported", name,
                width, height, kMaxImagePixels);
}

void check_uncompressed_size(const std::uint8_t* bytes, std::size_t size, std::int64_t width, std::int64_t height,
                             const std::string& name) {
    std::int64_t bits_per_pixel = 0;
    const char* format = nullptr;
    if (size >= 30 && bytes[0] == 'B' && bytes[1] == 'M') {
        // The bit count follows the DIB header's size: at 24 in the 12-byte OS/2 header, else at 28.
        const std::uint32_t header = bytes[14] | bytes[15] << 8 | bytes[16] << 16 | std::uint32_t{bytes[17]} << 24;
        const std::size_t at = header == 12 ? 24 : 28;
        bits_per_pixel = bytes[at] | bytes[at + 1] << 8;
        format = "BMP";
    } else if (size >= 2 && bytes[0] == 'P' && (bytes[1] == '5' || bytes[1] == '6')) {
        bits_per_pixel = bytes[1] == '6' ? 24 : 8;  // at least one byte per sample
        format = "PNM";
    }
    if (!format || bits_per_pixel <= 0) return;
    // width * height <= 2^28 (checked before) and bits_per_pixel < 2^16: no overflow.
    const std::int64_t needed = (width * bits_per_pixel + 7) / 8 * height;
    DCODR_CHECK(needed <= static_cast<std::int64_t>(size),
                "cannot decode image '{}': a {} x {} {} of {} bits per pixel needs {} bytes of pixel data, the file "
                "has {} bytes (a truncated file or a forged header)",
                name, width, height, format, bits_per_pixel, needed, size);
}

std::string undecodable_reason(const std::uint8_t* head, std::size_t n, const char* stb_reason) {
    static const std::uint8_t png_magic[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
    // A PNG's IHDR chunk comes first: width and height are big-endian at bytes 16 and 20.
    if (n >= 24 && std::memcmp(head, png_magic, 8) == 0 && std::memcmp(head + 12, "IHDR", 4) == 0) {
        auto be32 = [&](std::size_t o) {
            return (std::uint32_t{head[o]} << 24) | (std::uint32_t{head[o + 1]} << 16) |
                   (std::uint32_t{head[o + 2]} << 8) | std::uint32_t{head[o + 3]};
        };
        std::int64_t w = be32(16), h = be32(20);
        if (w == 0 || h == 0 || w > kMaxImagePixels / h)
            return fmt::format("a PNG of {} x {} pixels (at most {} pixels, 16384 x 16384, are supported)", w, h,
                               kMaxImagePixels);
        return fmt::format("a corrupt or unsupported PNG ({})", stb_reason ? stb_reason : "unknown");
    }
    return fmt::format("{} (expected PNG or JPEG)", stb_reason ? stb_reason : "unknown");
}

std::string undecodable_file_reason(const std::string& path, const char* stb_reason) {
    std::uint8_t head[24] = {};
    std::size_t n = 0;
    if (std::FILE* f = std::fopen(path.c_str(), "rb")) {
        n = std::fread(head, 1, sizeof head, f);
        std::fclose(f);
    }
    return undecodable_reason(head, n, stb_reason);
}

void check_jpeg_tables(const std::uint8_t* d, std::size_t n, const std::string& name) {
    if (n < 4 || d[0] != 0xFF || d[1] != 0xD8) return;
    std::size_t p = 2;
    while (p + 2 <= n) {
        if (d[p] != 0xFF) {  // stb skips stray bytes between segments one at a time: so do we
            ++p;
            continue;
        }
        const std::uint8_t m = d[p + 1];
        if (m == 0xFF) {  // fill byte
            ++p;
            continue;
        }
        if (m == 0xD8 || m == 0x01 || (m >= 0xD0 && m <= 0xD7)) {  // markers without a length
            p += 2;
            continue;
        }
        if (m == 0xD9) return;  // end of image
        if (p + 4 > n) return;
        const std::size_t len = (std::size_t{d[p + 2]} << 8) | d[p + 3];
        if (m == 0xC4) {
            // DHT, read the way stb reads it: per table a class/id byte, 16 code counts and the
            // symbols, taken from the stream even past the segment's length (zeros past the end
            // of the file), until the length is used up; a length that does not come out even
            // makes stb stop, so the scan stops too.
            long left = static_cast<long>(len) - 2;
            std::size_t q = p + 4;
            while (left > 0) {
                std::size_t codes = 0;
                for (std::size_t i = 1; i <= 16; ++i) codes += q + i < n ? d[q + i] : 0;
                DCODR_CHECK(codes <= 256, "cannot decode image '{}': corrupt JPEG (a Huffman table with {} codes, at "
                            "most 256)", name, codes);
                q += 17 + codes;
                left -= 17 + static_cast<long>(codes);
            }
            if (left != 0) return;
            p = q;
            continue;
        }
        p += 2 + len;
        if (m == 0xDA) {  // entropy-coded data follows a scan header: skip to the next marker
            while (p + 1 < n && !(d[p] == 0xFF && d[p + 1] != 0 && !(d[p + 1] >= 0xD0 && d[p + 1] <= 0xD7))) ++p;
        }
    }
}

void check_jpeg_file(const std::string& path) {
    std::FILE* f = std::fopen(path.c_str(), "rb");
    if (!f) return;  // the caller's own open reports it
    std::uint8_t magic[2] = {};
    const bool jpeg = std::fread(magic, 1, 2, f) == 2 && magic[0] == 0xFF && magic[1] == 0xD8;
    std::vector<std::uint8_t> bytes;
    if (jpeg && std::fseek(f, 0, SEEK_END) == 0) {
        long size = std::ftell(f);
        if (size > 0 && std::fseek(f, 0, SEEK_SET) == 0) {
            bytes.resize(static_cast<std::size_t>(size));
            bytes.resize(std::fread(bytes.data(), 1, bytes.size(), f));
        }
    }
    std::fclose(f);
    if (!bytes.empty()) check_jpeg_tables(bytes.data(), bytes.size(), path);
}

}  // namespace dcodr::data
