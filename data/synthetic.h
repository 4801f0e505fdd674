// A built-in Shapes3D-like data set (Burgess & Kim, 2018): a floor, a back wall and one object,
// rendered by a tiny ray caster from six factors:
//   floor_hue (10), wall_hue (10), object_hue (10), scale (8), shape (4), orientation (15)
// shapes: 0 cube, 1 cylinder, 2 sphere, 3 capsule (Shapes3D's order). Hues are i/10 on the HSV
// circle; scale spans [0.75, 1.25]; orientation is the camera azimuth in [-30, 30] degrees
// (the view orbits the object, so the wall/floor edge tilts for every shape).
// Rendering is a pure function of the factor tuple (deterministic, no RNG), so two images with
// the same factors are bit-identical; data sets are parallel over images with OpenMP.
#pragma once
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "data/dataset.h"
#include "data/image.h"

namespace dcodr::data::shapes {

constexpr int kNumFactors = 6;
using Factors = std::array<int, kNumFactors>;
constexpr Factors kFactorSizes = {10, 10, 10, 8, 4, 15};
constexpr std::array<const char*, kNumFactors> kFactorNames = {"floor_hue", "wall_hue", "object_hue",
                                                                 "scale", "shape", "orientation"};
constexpr std::array<const char*, 4> kShapeNames = {"cube", "cylinder", "sphere", "capsule"};
constexpr std::int64_t kTotalImages = 10 * 10 * 10 * 8 * 4 * 15;  // 480,000

// Index of a factor by name; the error lists the valid names.
int factor_index(const std::string& name);
void check_factors(const Factors& f);

struct RenderOptions {
    int size = 64;     // output is size x size x 3
    int samples = 3;   // supersampling per axis on edge pixels (anti-aliasing); 1 = none
};

// Writes size * size * 3 uint8 (interleaved RGB, row-major) to `hwc`.
void render(const Factors& f, std::uint8_t* hwc, const RenderOptions& options = {});
Image render_image(const Factors& f, const RenderOptions& options = {});

// n distinct factor tuples drawn uniformly from the full grid (n <= 480,000), seeded.
std::vector<Factors> sample_factors(std::int64_t n, std::uint64_t seed);

struct GenerateOptions {
    std::string domain_factor = "shape";  // the factor used as the domain label
    RenderOptions render;
};

// A Dataset with domain = `domain_factor` and attributes = the other five factors in the order
// above (attribute_classes = the factor sizes). Shape domains are named cube/cylinder/...
Dataset generate(const std::vector<Factors>& factors, const GenerateOptions& options = {});
Dataset generate(std::int64_t n, std::uint64_t seed, const GenerateOptions& options = {});

// The factor tuple of image i of a Dataset made by generate() (inverse of the label layout).
Factors factors_of(const Dataset& ds, std::int64_t i, const std::string& domain_factor = "shape");

}  // namespace dcodr::data::shapes
