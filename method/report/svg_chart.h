// Line and bar charts as standalone SVG documents (axes, ticks, grid, legend, title), for the
// run report: inlined into report.html and written as .svg files beside it. Text is measured
// with an average glyph width (no font metrics are available), so the layout leaves margin.
#pragma once
#include <limits>
#include <string>
#include <vector>

namespace dcodr::report {

// A small colour-blind-friendly palette (Tableau 10 order); colour(i) cycles through it.
const std::string& palette_colour(std::size_t i);

struct LineSeries {
    std::string name;
    std::string colour;
    std::vector<double> x, y;  // same length; non-finite y values break the line
    double stroke_width = 2;
    double opacity = 1;
    bool in_legend = true;
};

struct LineChart {
    std::string title, x_label, y_label;
    int width = 540, height = 300;
    std::vector<LineSeries> series;
    bool y_from_zero = false;  // the y axis starts at 0 (rates, throughput), not at the data's minimum
};

struct BarSeries {
    std::string name;                 // legend entry (shown when there are 2+ series)
    std::string colour;
    std::vector<double> values;       // one per category
    std::vector<std::string> colours; // optional: one per category (a single series of named bars)
};

struct ReferenceLine {  // a dashed horizontal line across the plot, e.g. chance level
    double value = 0;
    std::string label;
    std::string colour = "#555555";
};

struct BarChart {
    std::string title, y_label;
    int width = 360, height = 260;
    std::vector<std::string> categories;
    std::vector<BarSeries> series;
    std::vector<ReferenceLine> references;
    double y_min = 0;
    double y_max = std::numeric_limits<double>::quiet_NaN();  // NaN: from the data
    int value_decimals = 2;  // labels over the bars; < 0: none
};

std::string render_svg(const LineChart& chart);
std::string render_svg(const BarChart& chart);

// "Nice" tick positions (1, 2 or 5 times a power of ten apart) covering [lo, hi], about `target` of them.
std::vector<double> nice_ticks(double lo, double hi, int target = 5);
// A tick label with as many decimals as the spacing needs (1e-4 style for tiny or huge values).
std::string format_tick(double value, double step);

}  // namespace dcodr::report
