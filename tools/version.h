// What `dcodr --version` prints: the version, the backends compiled in and the build.
#pragma once
#include <string>

namespace dcodr::tools {

std::string version_text();  // several lines, each "name: value" after the first

}  // namespace dcodr::tools
