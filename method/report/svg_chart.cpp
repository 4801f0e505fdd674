#include "method/report/svg_chart.h"

#include <algorithm>
#include <array>
#include <cmath>

#include <fmt/format.h>

#include "method/report/escape.h"

namespace dcodr::report {

namespace {

constexpr double kFontSize = 12;
constexpr double kCharWidth = 6.8;  // average sans-serif glyph width at 12 px (no font metrics here)
constexpr double kLegendRow = 18;

double text_width(const std::string& s, double font_size = kFontSize) {
    return static_cast<double>(s.size()) * kCharWidth * font_size / kFontSize;
}

std::string num(double v) { return fmt::format("{:.1f}", v); }

std::string text(double x, double y, const std::string& s, const char* anchor, double size = kFontSize,
                 const std::string& extra = "") {
    return fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"{}\" font-size=\"{}\"{}>{}</text>\n", num(x), num(y),
                       anchor, size, extra, escape_markup(s));
}

// Shortens a label to fit `width` pixels (an ellipsis marks the cut).
std::string fit(const std::string& s, double width, double size = kFontSize) {
    if (text_width(s, size) <= width) return s;
    auto keep = static_cast<std::size_t>(std::max(1.0, width / (kCharWidth * size / kFontSize) - 1));
    return s.substr(0, std::min(keep, s.size())) + "\u2026";
}

struct LegendItem {
    enum Kind { bar, line, dashed };
    std::string name, colour;
    Kind kind;  // a square swatch (bars), a line (line charts), a dashed line (reference lines)
};

// Legend rows under the title; returns the SVG and the height used.
std::pair<std::string, double> legend(const std::vector<LegendItem>& items, double left, double top, double width) {
    std::string out;
    double x = left, y = top;
    int rows = items.empty() ? 0 : 1;
    for (const auto& it : items) {
        double w = 22 + text_width(it.name) + 14;
        if (x > left && x + w > left + width) {
            x = left;
            y += kLegendRow;
            ++rows;
        }
        const double mid = y + kLegendRow / 2;
        if (it.kind == LegendItem::bar)
            out += fmt::format("<rect x=\"{}\" y=\"{}\" width=\"12\" height=\"12\" fill=\"{}\"/>\n", num(x),
                               num(mid - 6), it.colour);
        else
            out += fmt::format("<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"{}\" stroke-width=\"{}\"{}/>\n",
                               num(x), num(mid), num(x + 16), num(mid), it.colour,
                               it.kind == LegendItem::dashed ? "1.5" : "3",
                               it.kind == LegendItem::dashed ? " stroke-dasharray=\"4 3\"" : "");
        out += text(x + 22, mid + 4, it.name, "start");
        x += w;
    }
    return {out, rows * kLegendRow};
}

std::string header(int width, int height, const std::string& title) {
    return fmt::format(
               "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{0}\" height=\"{1}\" viewBox=\"0 0 {0} {1}\" "
               "font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\" fill=\"#222222\">\n"
               "<title>{2}</title>\n<rect width=\"{0}\" height=\"{1}\" fill=\"#ffffff\"/>\n",
               width, height, escape_markup(title)) +
           text(width / 2.0, 18, title, "middle", 14, " font-weight=\"bold\"");
}

struct Range {
    double lo, hi;
};

// The y axis: ticks and the range they span (covers the data, ends on ticks).
std::vector<double> axis_ticks(Range data, int target) {
    if (!std::isfinite(data.lo) || !std::isfinite(data.hi)) data = {0, 1};
    if (data.hi - data.lo < 1e-12 * std::max(1.0, std::abs(data.hi))) {
        double pad = data.hi == 0 ? 1 : std::abs(data.hi) * 0.1;
        data = {data.lo - pad, data.hi + pad};
    }
    return nice_ticks(data.lo, data.hi, target);
}

std::string y_axis(const std::vector<double>& ticks, double left, double right, double top, double bottom,
                   const std::string& y_label, double label_x) {
    std::string out;
    const double step = ticks.size() > 1 ? ticks[1] - ticks[0] : 1;
    const double lo = ticks.front(), hi = ticks.back();
    for (double t : ticks) {
        double y = bottom - (t - lo) / (hi - lo) * (bottom - top);
        out += fmt::format("<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"#e3e3e3\"/>\n", num(left), num(y),
                           num(right), num(y));
        out += text(left - 6, y + 4, format_tick(t, step), "end");
    }
    if (!y_label.empty()) {
        double cy = (top + bottom) / 2;
        out += fmt::format("<text x=\"{0}\" y=\"{1}\" text-anchor=\"middle\" font-size=\"{2}\" "
                           "transform=\"rotate(-90 {0} {1})\">{3}</text>\n",
                           num(label_x), num(cy), kFontSize, escape_markup(y_label));
    }
    out += fmt::format("<line x1=\"{0}\" y1=\"{1}\" x2=\"{0}\" y2=\"{2}\" stroke=\"#444444\"/>\n", num(left), num(top),
                       num(bottom));
    out += fmt::format("<line x1=\"{0}\" y1=\"{2}\" x2=\"{1}\" y2=\"{2}\" stroke=\"#444444\"/>\n", num(left), num(right),
                       num(bottom));
    return out;
}

double widest_tick(const std::vector<double>& ticks) {
    const double step = ticks.size() > 1 ? ticks[1] - ticks[0] : 1;
    double w = 0;
    for (double t : ticks) w = std::max(w, text_width(format_tick(t, step)));
    return w;
}

}  // namespace

const std::string& palette_colour(std::size_t i) {
    static const std::array<std::string, 10> kColours = {"#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#b07aa1",
                                                         "#76b7b2", "#edc948", "#9c755f", "#ff9da7", "#bab0ac"};
    return kColours[i % kColours.size()];
}

std::vector<double> nice_ticks(double lo, double hi, int target) {
    if (hi < lo) std::swap(lo, hi);
    const double raw = (hi - lo) / std::max(1, target);
    const double magnitude = std::pow(10.0, std::floor(std::log10(raw)));
    double step = magnitude;
    for (double m : {1.0, 2.0, 5.0, 10.0})
        if (raw <= m * magnitude * (1 + 1e-9)) {
            step = m * magnitude;
            break;
        }
    // Ticks are k * step for integer k, so their labels come out as round numbers.
    const double first = std::floor(lo / step + 1e-9), last = std::ceil(hi / step - 1e-9);
    std::vector<double> ticks;
    for (double k = first; k <= last + 1e-9; k += 1) ticks.push_back(k * step);
    if (ticks.size() < 2) ticks.push_back(ticks.back() + step);
    return ticks;
}

std::string format_tick(double value, double step) {
    if (std::abs(value) < step * 1e-6) return "0";
    const double mag = std::max(std::abs(value), step);
    if (mag >= 1e5 || step < 1e-3) {  // scientific, with the mantissa digits the spacing needs
        int exp_v = static_cast<int>(std::floor(std::log10(std::abs(value))));
        int digits = std::clamp(exp_v - static_cast<int>(std::floor(std::log10(step) + 1e-9)), 0, 4);
        std::string s = fmt::format("{:.{}e}", value, digits);
        // 1.0e-04 -> 1e-4: shorter labels
        auto e = s.find('e');
        std::string mant = s.substr(0, e), ex = s.substr(e + 1);
        if (mant.find('.') != std::string::npos) {
            while (mant.back() == '0') mant.pop_back();
            if (mant.back() == '.') mant.pop_back();
        }
        int ev = std::stoi(ex);
        return mant + "e" + std::to_string(ev);
    }
    int decimals = std::max(0, -static_cast<int>(std::floor(std::log10(step) + 1e-9)));
    return fmt::format("{:.{}f}", value, decimals);
}

std::string render_svg(const LineChart& c) {
    std::vector<LegendItem> items;
    for (const auto& s : c.series)
        if (s.in_legend) items.push_back({s.name, s.colour, LegendItem::line});
    double lo = INFINITY, hi = -INFINITY, x_lo = INFINITY, x_hi = -INFINITY;
    for (const auto& s : c.series)
        for (std::size_t i = 0; i < s.x.size() && i < s.y.size(); ++i)
            if (std::isfinite(s.y[i]) && std::isfinite(s.x[i])) {
                lo = std::min(lo, s.y[i]);
                hi = std::max(hi, s.y[i]);
                x_lo = std::min(x_lo, s.x[i]);
                x_hi = std::max(x_hi, s.x[i]);
            }
    const bool empty = !std::isfinite(lo);
    if (c.y_from_zero && !empty) lo = std::min(lo, 0.0), hi = std::max(hi, 0.0);
    const std::vector<double> yt = axis_ticks({lo, hi}, 5);
    if (empty) x_lo = 0, x_hi = 1;
    if (x_hi - x_lo <= 0) x_lo -= 0.5, x_hi += 0.5;
    const std::vector<double> xt = nice_ticks(x_lo, x_hi, 6);
    const double x0 = xt.front(), x1 = xt.back();

    const double label_x = 14;
    const double left = (c.y_label.empty() ? 8 : 24) + widest_tick(yt) + 8;
    const double right = c.width - 18;
    auto [legend_svg, legend_h] = legend(items, left, 26, right - left);
    const double top = 30 + legend_h + 6;
    const double bottom = c.height - (c.x_label.empty() ? 24 : 40);

    std::string out = header(c.width, c.height, c.title) + legend_svg;
    out += y_axis(yt, left, right, top, bottom, c.y_label, label_x);
    const double xstep = xt.size() > 1 ? xt[1] - xt[0] : 1;
    auto px = [&](double x) { return left + (x - x0) / (x1 - x0) * (right - left); };
    auto py = [&](double y) { return bottom - (y - yt.front()) / (yt.back() - yt.front()) * (bottom - top); };
    for (double t : xt) {
        out += fmt::format("<line x1=\"{0}\" y1=\"{1}\" x2=\"{0}\" y2=\"{2}\" stroke=\"#444444\"/>\n", num(px(t)),
                           num(bottom), num(bottom + 4));
        out += text(px(t), bottom + 16, format_tick(t, xstep), "middle");
    }
    if (!c.x_label.empty()) out += text((left + right) / 2, c.height - 8, c.x_label, "middle");
    if (empty) out += text((left + right) / 2, (top + bottom) / 2, "no data", "middle", 13, " fill=\"#888888\"");
    for (const auto& s : c.series) {
        // One polyline per finite run of points.
        std::string pts;
        auto flush = [&] {
            if (pts.empty()) return;
            out += fmt::format("<polyline fill=\"none\" stroke=\"{}\" stroke-width=\"{}\" stroke-opacity=\"{}\" "
                               "stroke-linejoin=\"round\" points=\"{}\"/>\n",
                               s.colour, s.stroke_width, s.opacity, pts);
            pts.clear();
        };
        for (std::size_t i = 0; i < s.x.size() && i < s.y.size(); ++i) {
            if (!std::isfinite(s.y[i]) || !std::isfinite(s.x[i])) {
                flush();
                continue;
            }
            if (!pts.empty()) pts += ' ';
            pts += num(px(s.x[i]));
            pts += ',';
            pts += num(py(s.y[i]));
        }
        flush();
    }
    return out + "</svg>\n";
}

std::string render_svg(const BarChart& c) {
    std::vector<LegendItem> items;
    if (c.series.size() > 1)
        for (const auto& s : c.series) items.push_back({s.name, s.colour, LegendItem::bar});
    // Reference lines are named in the legend, not on the plot, where bars and their labels sit.
    for (const auto& r : c.references) items.push_back({r.label, r.colour, LegendItem::dashed});
    double lo = c.y_min, hi = c.y_min;
    for (const auto& s : c.series)
        for (double v : s.values)
            if (std::isfinite(v)) lo = std::min(lo, v), hi = std::max(hi, v);
    for (const auto& r : c.references) hi = std::max(hi, r.value);
    if (std::isfinite(c.y_max)) hi = c.y_max;
    const std::vector<double> yt = axis_ticks({lo, hi}, 5);

    const double left = (c.y_label.empty() ? 8 : 24) + widest_tick(yt) + 8;
    const double right = c.width - 12;
    auto [legend_svg, legend_h] = legend(items, left, 26, right - left);
    const double top = 30 + legend_h + 12;  // room for the value labels of full-height bars
    const double bottom = c.height - 26;

    std::string out = header(c.width, c.height, c.title) + legend_svg;
    out += y_axis(yt, left, right, top, bottom, c.y_label, 14);
    auto py = [&](double y) {
        double v = std::clamp(y, yt.front(), yt.back());
        return bottom - (v - yt.front()) / (yt.back() - yt.front()) * (bottom - top);
    };
    const double n_cat = std::max<double>(1, static_cast<double>(c.categories.size()));
    const double group_w = (right - left) / n_cat;
    const double n_series = std::max<double>(1, static_cast<double>(c.series.size()));
    const double bar_w = group_w * 0.75 / n_series;
    for (std::size_t g = 0; g < c.categories.size(); ++g) {
        const double gx = left + group_w * static_cast<double>(g) + group_w * 0.125;
        for (std::size_t s = 0; s < c.series.size(); ++s) {
            const auto& ser = c.series[s];
            double v = g < ser.values.size() ? ser.values[g] : NAN;
            if (!std::isfinite(v)) continue;
            const std::string& colour = g < ser.colours.size() ? ser.colours[g] : ser.colour;
            const double x = gx + bar_w * static_cast<double>(s), y = py(v), base = py(std::max(c.y_min, yt.front()));
            out += fmt::format("<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"{}\"><title>{}: {}</title></rect>\n",
                               num(x + 1), num(std::min(y, base)), num(std::max(1.0, bar_w - 2)),
                               num(std::abs(base - y)), colour, escape_markup(ser.name + " " + c.categories[g]),
                               fmt::format("{:.4f}", v));
            if (c.value_decimals >= 0) {
                double size = std::min(11.0, std::max(8.0, bar_w / 3.2));
                out += text(x + bar_w / 2, y - 3, fmt::format("{:.{}f}", v, c.value_decimals), "middle", size);
            }
        }
        out += text(left + group_w * (static_cast<double>(g) + 0.5), bottom + 16,
                    fit(c.categories[g], group_w - 4), "middle");
    }
    for (const auto& r : c.references) {
        const double y = py(r.value);
        out += fmt::format("<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"{}\" stroke-width=\"1.5\" "
                           "stroke-dasharray=\"6 4\"/>\n",
                           num(left), num(y), num(right), num(y), r.colour);
    }
    return out + "</svg>\n";
}

}  // namespace dcodr::report
