// Checks before opening a file that came from the user (a CSV row, --data, an npz path):
// fopen on a FIFO blocks forever and a directory or device is never an image or an array, so
// anything that is not a regular file is refused up front with a message naming it.
#pragma once
#include <string>

namespace dcodr::data {

// Throws "<what> '<path>' does not exist" or "... is a FIFO/directory/..., not a regular file".
void require_regular_file(const std::string& path, const std::string& what);

}  // namespace dcodr::data
