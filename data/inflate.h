// Raw DEFLATE decompression (RFC 1951), for zip entries stored with method 8.
//
// Why our own: PyTorch writes its zip checkpoints uncompressed, but a checkpoint that was
// re-zipped (or an npz written by np.savez_compressed) holds deflated entries, and the
// decoder is ~200 lines, so the project gains no dependency for it (docs/pytorch-checkpoints.md).
// It is written for hostile input: every read is bounds-checked, Huffman tables are
// validated, and the output never grows past `expected_size`, so a zip bomb costs at most
// the size its directory declares, which the caller checks first.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace dcodr::data {

// Decompresses `compressed` into exactly `expected_size` bytes. Throws dcodr::Error naming
// `what` when the stream is malformed, ends early, or would produce a different size.
std::vector<std::uint8_t> inflate_raw(std::string_view compressed, std::size_t expected_size, const std::string& what);

}  // namespace dcodr::data
