// One Unicode code point appended to a string as UTF-8: shared by the JSON reader (\u escapes)
// and the npy reader (numpy's <U arrays hold UTF-32).
#pragma once
#include <cstdint>
#include <string>

#include "tensor/error.h"

namespace dcodr {

inline void append_utf8(std::string& out, std::uint32_t cp) {
    if (cp < 0x80) {
        out += static_cast<char>(cp);
    } else if (cp < 0x800) {
        out += static_cast<char>(0xC0 | (cp >> 6));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        out += static_cast<char>(0xE0 | (cp >> 12));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
        DCODR_CHECK(cp <= 0x10FFFF, "invalid Unicode code point {} (the largest is 0x10FFFF)", cp);
        out += static_cast<char>(0xF0 | (cp >> 18));
        out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    }
}

}  // namespace dcodr
