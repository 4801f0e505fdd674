// Base64 (RFC 4648, standard alphabet, '=' padding): how the run report embeds its PNG pictures
// as data: URIs, so report.html is one file that opens anywhere with no network.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace dcodr::report {

std::string base64_encode(const std::uint8_t* bytes, std::size_t size);
std::string base64_encode(const std::vector<std::uint8_t>& bytes);
std::string base64_encode(std::string_view bytes);

}  // namespace dcodr::report
