#include "data/image_limits.h"

#include <cstdio>
#include <cstring>

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

void check_pnm_header(const std::uint8_t* d, std::size_t n, const std::string& name) {
    if (n < 2 || d[0] != 'P' || (d[1] != '5' && d[1] != '6')) return;
    // Read the way stb reads it: whitespace and '#' comments, then a run of digits, three times.
    static const char* const fields[3] = {"width", "height", "maximum value"};
    auto space = [](std::uint8_t c) { return c == ' ' || (c >= '\t' && c <= '\r'); };
    std::size_t p = 2;
    for (const char* field : fields) {
        for (;;) {
            while (p < n && space(d[p])) ++p;
            if (p >= n || d[p] != '#') break;
            while (p < n && d[p] != '\n' && d[p] != '\r') ++p;
        }
        std::size_t digits = 0;
        for (; p < n && d[p] >= '0' && d[p] <= '9'; ++p) ++digits;
        DCODR_CHECK(digits <= 9, "cannot decode image '{}': the PNM header's {} has {} digits (a corrupt header)",
                    name, field, digits);
    }
}

}  // namespace dcodr::data
