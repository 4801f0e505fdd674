// IEEE 754 binary16 ("half", safetensors F16) and bfloat16 (BF16) <-> float32, bit-exact:
// float -> 16 bits rounds to nearest, ties to even (as the hardware conversions and PyTorch's
// .half() / .bfloat16() do); overflow gives infinity; subnormals are kept (F16) or produced
// where the value needs them; NaN stays NaN (quiet, sign and top payload bits kept). 16 bits ->
// float is exact. Used to store inference weights in half the bytes (dcodr convert --dtype).
#pragma once
#include <cstdint>

namespace dcodr::nn {

float half_to_float(std::uint16_t h);
std::uint16_t float_to_half(float f);
float bf16_to_float(std::uint16_t b);
std::uint16_t float_to_bf16(float f);

}  // namespace dcodr::nn
