// Pictures of what DCoDR's decoder learned: the same content drawn in every domain (the
// domain-swap grid) and images next to their reconstructions.
#pragma once
#include <vector>

#include "data/dataset.h"
#include "nn/dcodr_encoder.h"
#include "nn/generator.h"

namespace dcodr::method {

// `rows` images of `ds` for a picture: spread over the data and, round robin, over its domains
// (a grid whose rows all come from one domain shows less). Deterministic.
std::vector<std::int64_t> pick_rows(const data::Dataset& ds, std::int64_t rows);

// Tiles for a grid of (1 + columns.size()) columns: per row, the input image, then the
// generator's rendering of that image's code in each domain of `columns`.
// Returns [rows * (1 + columns), 3, S, S] on the host, ready for data::save_image_grid.
Tensor domain_swap_tiles(nn::DcodrEncoder& encoder, nn::DcodrDecoder& decoder, const data::Dataset& ds,
                         const std::vector<std::int64_t>& rows, const std::vector<std::int64_t>& columns,
                         Device device);

// Tiles for a two-row strip: the inputs, and under each its reconstruction (its code rendered
// in its own domain). [2 * rows, 3, S, S] on the host.
Tensor reconstruction_tiles(nn::DcodrEncoder& encoder, nn::DcodrDecoder& decoder, const data::Dataset& ds,
                            const std::vector<std::int64_t>& rows, Device device);

// Mean absolute pixel error of the decoder's reconstructions (each image's code rendered in its
// own domain) over the whole of `ds`, in [0, 1] units: how well the content survives the code.
double reconstruction_error(nn::DcodrEncoder& encoder, nn::DcodrDecoder& decoder, const data::Dataset& ds,
                            Device device, std::int64_t batch_size = 128);

}  // namespace dcodr::method
