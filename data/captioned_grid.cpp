#include "data/captioned_grid.h"

#include <algorithm>

#include "tensor/error.h"

namespace dcodr::data {

namespace {

constexpr std::int64_t kGap = 8;       // between columns and rows, and around the picture
constexpr std::int64_t kLineGap = 1;   // between caption lines (the glyphs' descender rows add more)

void paste(Image& dst, const Image& tile, std::int64_t x0, std::int64_t y0, std::int64_t scale) {
    const Image rgb = tile.channels == 3 ? tile : convert_channels(tile, 3);
    for (std::int64_t c = 0; c < 3; ++c)
        for (std::int64_t y = 0; y < rgb.height * scale; ++y)
            for (std::int64_t x = 0; x < rgb.width * scale; ++x)
                dst.at(c, y0 + y, x0 + x) = std::clamp(rgb.at(c, y / scale, x / scale), 0.0f, 1.0f);
}

}  // namespace

Image make_captioned_grid(const std::vector<CaptionedTile>& tiles, const CaptionedGridOptions& o) {
    DCODR_CHECK(!tiles.empty(), "captioned grid: no tiles");
    DCODR_CHECK(o.columns >= 1 && o.tile_scale >= 1 && o.text_scale >= 1,
                "captioned grid: columns, tile_scale and text_scale must be at least 1");
    DCODR_CHECK(o.column_headers.empty() || static_cast<std::int64_t>(o.column_headers.size()) == o.columns,
                "captioned grid: {} column headers for {} columns", o.column_headers.size(), o.columns);
    const std::int64_t th = tiles[0].image.height * o.tile_scale, tw = tiles[0].image.width * o.tile_scale;
    for (const auto& t : tiles)
        DCODR_CHECK(t.image.height * o.tile_scale == th && t.image.width * o.tile_scale == tw,
                    "captioned grid: tiles differ in size");
    const auto n = static_cast<std::int64_t>(tiles.size());
    const std::int64_t rows = (n + o.columns - 1) / o.columns;
    const std::int64_t line_h = kGlyphHeight * o.text_scale + kLineGap;

    std::vector<std::int64_t> col_w(static_cast<std::size_t>(o.columns), tw);
    std::size_t max_lines = 0;
    for (std::int64_t i = 0; i < n; ++i) {
        auto& w = col_w[static_cast<std::size_t>(i % o.columns)];
        for (const auto& line : tiles[static_cast<std::size_t>(i)].caption)
            w = std::max(w, text_width(line.text, o.text_scale));
        max_lines = std::max(max_lines, tiles[static_cast<std::size_t>(i)].caption.size());
    }
    for (std::int64_t c = 0; c < static_cast<std::int64_t>(o.column_headers.size()); ++c)
        col_w[static_cast<std::size_t>(c)] =
            std::max(col_w[static_cast<std::size_t>(c)], text_width(o.column_headers[static_cast<std::size_t>(c)], o.text_scale));
    std::vector<std::int64_t> col_x(static_cast<std::size_t>(o.columns));
    const std::int64_t col_gap = kGap + 4 * (o.text_scale - 1);  // larger letters need more space between columns
    std::int64_t width = kGap;
    for (std::int64_t c = 0; c < o.columns; ++c) {
        col_x[static_cast<std::size_t>(c)] = width;
        width += col_w[static_cast<std::size_t>(c)] + (c + 1 < o.columns ? col_gap : kGap) +
                 (c == o.rule_after_column ? kGap : 0);
    }
    std::vector<std::string> title_lines;
    for (std::size_t at = 0; !o.title.empty() && at <= o.title.size();) {
        std::size_t end = std::min(o.title.find('\n', at), o.title.size());
        title_lines.push_back(o.title.substr(at, end - at));
        at = end + 1;
    }
    const std::int64_t title_h = title_lines.empty() ? 0 : static_cast<std::int64_t>(title_lines.size()) * line_h + kGap;
    const std::int64_t header_h = o.column_headers.empty() ? 0 : line_h + 2;
    const std::int64_t cell_h = th + (max_lines ? 4 + static_cast<std::int64_t>(max_lines) * line_h : 0);
    const std::int64_t height = kGap + title_h + header_h + rows * (cell_h + kGap);
    for (const auto& line : title_lines) width = std::max(width, kGap * 2 + text_width(line, o.text_scale));

    Image out(3, height, width, 1.0f);
    const Rgb ink{0.1f, 0.1f, 0.1f};
    for (std::size_t l = 0; l < title_lines.size(); ++l)
        draw_text(out, kGap, kGap + static_cast<std::int64_t>(l) * line_h, title_lines[l], ink, o.text_scale);
    const std::int64_t grid_top = kGap + title_h;
    for (std::int64_t c = 0; c < static_cast<std::int64_t>(o.column_headers.size()); ++c)
        draw_text(out, col_x[static_cast<std::size_t>(c)], grid_top, o.column_headers[static_cast<std::size_t>(c)], ink,
                  o.text_scale);
    for (std::int64_t i = 0; i < n; ++i) {
        const std::int64_t r = i / o.columns, c = i % o.columns;
        const std::int64_t x = col_x[static_cast<std::size_t>(c)], y = grid_top + header_h + r * (cell_h + kGap);
        paste(out, tiles[static_cast<std::size_t>(i)].image, x, y, o.tile_scale);
        std::int64_t ly = y + th + 4;
        for (const auto& line : tiles[static_cast<std::size_t>(i)].caption) {
            draw_text(out, x, ly, line.text, line.colour, o.text_scale);
            ly += line_h;
        }
    }
    if (o.rule_after_column >= 0 && o.rule_after_column + 1 < o.columns) {
        const std::int64_t rx = col_x[static_cast<std::size_t>(o.rule_after_column + 1)] - (col_gap + kGap) / 2 - 1;
        for (std::int64_t y = grid_top; y < height - kGap / 2; ++y)
            for (std::int64_t dx = 0; dx < 2; ++dx)
                for (int ch = 0; ch < 3; ++ch) out.at(ch, y, rx + dx) = 0.35f;
    }
    return out;
}

}  // namespace dcodr::data
