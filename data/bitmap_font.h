// A tiny 5x7 bitmap font (ASCII letters, digits, common punctuation) for writing legends into
// the pictures dcodr draws (retrieval grids): no font library is a dependency. The glyphs are
// drawn in bitmap_font.cpp as text pictures, one string per row. A glyph cell is 5 x 9: 7 rows
// down to the baseline and 2 below it for the descenders of g, j, p, q, y.
#pragma once
#include <array>
#include <cstdint>
#include <string_view>

#include "data/image.h"

namespace dcodr::data {

constexpr int kGlyphWidth = 5, kGlyphHeight = 9;  // 7 rows to the baseline + 2 of descent
constexpr int kGlyphAdvance = kGlyphWidth + 1;  // one column of space between characters

using Rgb = std::array<float, 3>;  // each in [0, 1]

// Whether `c` has a glyph of its own; others draw as '?'.
bool has_glyph(char c);
// The 9 rows of `c`'s glyph, bit 4 = leftmost column ('?' for characters without one).
const std::array<std::uint8_t, kGlyphHeight>& glyph_rows(char c);
// Width in pixels of `text` at `scale` (each font pixel drawn as scale x scale).
std::int64_t text_width(std::string_view text, int scale = 1);
// Draws `text` with its top-left corner at (x, y) into a 1- or 3-channel image (a 1-channel one
// gets the colour's luma); pixels outside the image are skipped.
void draw_text(Image& image, std::int64_t x, std::int64_t y, std::string_view text, const Rgb& colour, int scale = 1);

}  // namespace dcodr::data
