// Checks on a JPEG's structure made before stb sees it. stb is lenient where it should not be:
// it decodes a file whose entropy-coded data stops early by padding with zeros (a truncated
// download becomes a half-gray image, and a 682-byte file claiming 8 million pixels decoded
// "successfully" under the fuzzer), and the packaged 2022 version writes past an array on a
// Huffman table with too many codes. What is refused here, and why, is in docs/reliability.md.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

namespace dcodr::data {

// Refuses, naming `name` and what is wrong:
//  - a Huffman table (DHT) listing more than 256 codes (a heap overflow in stb);
//  - a scan that uses a Huffman or quantisation table no earlier segment defines (stb would read
//    its uninitialised memory in their place);
//  - a file that ends inside its segments or entropy-coded data, before the end-of-image marker
//    (a truncated file; Pillow refuses these too, "image file is truncated");
//  - a Huffman-coded frame (SOF0/1/2) with fewer entropy-coded bits than its blocks need: every
//    8x8 block of every component costs at least a 1-bit DC code, plus a 1-bit end-of-block code
//    in a sequential frame. Progressive frames get the 1-bit bound only, since their AC scans
//    may code thousands of empty blocks in a few bits (EOB runs).
// Bytes that do not start with a JPEG's SOI marker (after any 0xFF fill bytes, as stb reads it)
// pass untouched.
void check_jpeg(const std::uint8_t* bytes, std::size_t size, const std::string& name);

}  // namespace dcodr::data
