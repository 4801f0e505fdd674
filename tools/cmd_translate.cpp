// dcodr translate: what a DCoDR decoder learned, as pictures. Rows are content images, columns
// the training domains; each cell is the generator's rendering of the row image's code with the
// column domain's latent (first column: the input). Also a strip of inputs over their
// reconstructions.
#include <filesystem>
#include <iostream>

#include "data/captioned_grid.h"
#include "data/image.h"
#include "method/translate.h"
#include "tools/commands.h"
#include "tools/common.h"

namespace dcodr::tools {

std::string reconstruction_strip_path(const std::string& grid_path) {
    std::filesystem::path p(grid_path);
    return (p.parent_path() / (p.stem().string() + "_reconstructions" + p.extension().string())).string();
}

void write_translation_pictures(nn::DcodrEncoder& encoder, nn::DcodrDecoder& decoder, const data::Dataset& ds,
                                std::int64_t rows, std::int64_t max_columns, const std::string& out, Device device) {
    DCODR_CHECK(rows >= 1 && max_columns >= 1, "translate: --rows and --columns must be at least 1");
    std::vector<std::int64_t> row_ids = method::pick_rows(ds, rows);
    std::vector<std::int64_t> columns;
    for (std::int64_t d = 0; d < std::min(max_columns, decoder.config().n_domains); ++d) columns.push_back(d);
    // The grid carries its legend: "input", then each column's domain (its name where the data has names).
    Tensor swapped = method::domain_swap_tiles(encoder, decoder, ds, row_ids, columns, device);
    std::vector<data::CaptionedTile> tiles;
    for (std::int64_t i = 0; i < swapped.size(0); ++i) tiles.push_back({data::image_from_tensor(swapped.select(0, i)), {}});
    data::CaptionedGridOptions grid;
    grid.columns = static_cast<std::int64_t>(columns.size()) + 1;
    grid.column_headers.push_back("input");
    for (std::int64_t d : columns)
        grid.column_headers.push_back(d < static_cast<std::int64_t>(ds.domain_names.size())
                                          ? ds.domain_names[static_cast<std::size_t>(d)]
                                          : fmt::format("domain {}", d));
    grid.rule_after_column = 0;
    data::save_png(out, data::make_captioned_grid(tiles, grid));
    data::save_image_grid(reconstruction_strip_path(out),
                          method::reconstruction_tiles(encoder, decoder, ds, row_ids, device),
                          static_cast<std::int64_t>(row_ids.size()));
}

int cmd_translate(int argc, char** argv) {
    Args a("translate",
           "Domain-swap grid of a DCoDR model trained with --reconstruction: rows = content images (first column),\n"
           "columns = domains, cell = generator(code of the row image, latent of the column domain); plus\n"
           "<out>_reconstructions.png, the inputs over their reconstructions.",
           argc, argv);
    a.option("weights", "", "checkpoint.safetensors of a run trained with --reconstruction (required)");
    add_data_options(a);
    add_csv_image_size_option(a);
    a.option("rows", "8", "content images (spread over the data's domains)");
    a.option("columns", "10", "at most this many domains (the first ones)");
    a.option("out", "translate.png", "output PNG");
    add_runtime_options(a);
    if (a.parse()) return 0;
    if (a.str("weights").empty()) usage_error("--weights is required");
    if (a.integer("rows") < 1 || a.integer("columns") < 1) usage_error("--rows and --columns must be at least 1");
    Device device = device_from(a);
    method::TrainConfig cfg;
    auto encoder = method::load_encoder(a.str("weights"), device, &cfg);
    auto decoder = method::load_decoder(a.str("weights"), device);
    // The images not trained on: --test-data, or the held-out part of --data.
    auto [train, test] = load_train_test(a);
    write_translation_pictures(*encoder, *decoder, test, a.integer("rows"), a.integer("columns"), a.str("out"),
                               device);
    std::cerr << fmt::format("wrote {} and {}\n", a.str("out"), reconstruction_strip_path(a.str("out")));
    std::cout << fmt::format("reconstruction error (mean |x_hat - x| over {} test images): {:.4f}\n", test.count,
                             method::reconstruction_error(*encoder, *decoder, test, device));
    return 0;
}

}  // namespace dcodr::tools
