// A picture of image tiles in a grid with text: a title, a header over each column, and lines
// of coloured text under each tile (e.g. its attribute values), drawn with the bitmap font.
// dcodr's retrieval pictures use it so the grid explains itself: query | neighbours, and what
// each image's labels are.
#pragma once
#include <string>
#include <vector>

#include "data/bitmap_font.h"
#include "data/image.h"

namespace dcodr::data {

struct CaptionLine {
    std::string text;
    Rgb colour{0.1f, 0.1f, 0.1f};
};

struct CaptionedTile {
    Image image;  // 1 or 3 channels; all tiles the same size
    std::vector<CaptionLine> caption;
};

struct CaptionedGridOptions {
    std::int64_t columns = 1;
    std::string title;                        // drawn above the grid; '\n' starts a new line (may be empty)
    std::vector<std::string> column_headers;  // one per column, or empty
    std::int64_t tile_scale = 1;              // each tile enlarged by this factor (nearest neighbour)
    std::int64_t rule_after_column = -1;      // a vertical rule after this column (-1: none)
    int text_scale = 1;
};

// Tiles are laid out row by row. Each column is as wide as its widest tile or caption line;
// the picture is RGB on white.
Image make_captioned_grid(const std::vector<CaptionedTile>& tiles, const CaptionedGridOptions& options);

}  // namespace dcodr::data
