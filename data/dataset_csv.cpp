// Image folder + CSV data sets: `path,domain[,attributes...]`, one row per image.
#include <algorithm>
#include <charconv>
#include <filesystem>
#include <map>

#include <fmt/ranges.h>

#include "data/csv.h"
#include "data/dataset.h"
#include "data/file_checks.h"
#include "data/file_io.h"
#include "data/image.h"
#include "tensor/error.h"

namespace dcodr::data {

namespace fs = std::filesystem;

namespace {

bool parse_int(const std::string& s, std::int64_t& v) {
    auto r = std::from_chars(s.data(), s.data() + s.size(), v);
    return r.ec == std::errc() && r.ptr == s.data() + s.size() && !s.empty();
}

// Label column -> ids. All integers: used as given (must be >= 0). Otherwise every value is a
// name and ids follow sorted name order, so ids do not depend on row order.
struct LabelColumn {
    std::vector<std::int64_t> ids;
    std::vector<std::string> names;  // empty for integer columns
    std::int64_t classes = 0;
};

LabelColumn encode_column(const std::vector<CsvRow>& rows, std::size_t col, const std::string& col_name,
                          const std::string& path) {
    LabelColumn out;
    bool all_int = true;
    for (const auto& r : rows) {
        const std::string& v = r.fields[col];
        DCODR_CHECK(!v.empty(), "'{}' line {}: empty value in column '{}'", path, r.line, col_name);
        std::int64_t x;
        if (!parse_int(v, x)) all_int = false;
    }
    if (all_int) {
        for (const auto& r : rows) {
            std::int64_t x;
            parse_int(r.fields[col], x);
            DCODR_CHECK(x >= 0 && x < kMaxClasses,
                        "'{}' line {}: column '{}' has {}; integer labels must be >= 0 and below {} (dense class ids)", path,
                        r.line, col_name, x, kMaxClasses);
            out.ids.push_back(x);
            out.classes = std::max(out.classes, x + 1);
        }
        return out;
    }
    std::map<std::string, std::int64_t> ids;
    for (const auto& r : rows) ids.emplace(r.fields[col], 0);
    for (auto& [name, id] : ids) {
        id = static_cast<std::int64_t>(out.names.size());
        out.names.push_back(name);
    }
    for (const auto& r : rows) out.ids.push_back(ids[r.fields[col]]);
    out.classes = static_cast<std::int64_t>(out.names.size());
    return out;
}

std::string lower(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
    return s;
}

}  // namespace

Dataset load_csv_dataset(const std::string& csv_path, const CsvOptions& opt) {
    require_regular_file(csv_path, "CSV file");
    auto bytes = read_file(csv_path);
    auto rows = parse_csv(std::string(bytes.begin(), bytes.end()), csv_path);
    DCODR_CHECK(!rows.empty(), "'{}': empty CSV (expected a header row 'path,domain[,attributes...]')", csv_path);
    const CsvRow header = rows.front();
    rows.erase(rows.begin());
    const auto& names = header.fields;
    std::int64_t path_col = -1, domain_col = -1;
    for (std::size_t c = 0; c < names.size(); ++c) {
        if (lower(names[c]) == "path") path_col = static_cast<std::int64_t>(c);
        if (lower(names[c]) == "domain") domain_col = static_cast<std::int64_t>(c);
    }
    DCODR_CHECK(path_col >= 0, "'{}' line {}: missing column 'path' in the header (expected 'path,domain[,...]', got '{}')",
                csv_path, header.line, fmt::join(names, ","));
    DCODR_CHECK(domain_col >= 0,
                "'{}' line {}: missing column 'domain' in the header (expected 'path,domain[,...]', got '{}')",
                csv_path, header.line, fmt::join(names, ","));
    DCODR_CHECK(!rows.empty(), "'{}': no data rows after the header", csv_path);
    for (const auto& r : rows) {
        if (r.fields.size() < names.size())
            fail("'{}' line {}: missing column '{}' ({} fields, the header has {})", csv_path, r.line,
                 names[r.fields.size()], r.fields.size(), names.size());
        DCODR_CHECK(r.fields.size() == names.size(), "'{}' line {}: {} fields, the header has {} columns", csv_path,
                    r.line, r.fields.size(), names.size());
    }

    Dataset ds;
    ds.source = csv_path;
    ds.count = static_cast<std::int64_t>(rows.size());
    auto dom = encode_column(rows, static_cast<std::size_t>(domain_col), names[domain_col], csv_path);
    ds.domains = std::move(dom.ids);
    ds.n_domains = dom.classes;
    ds.domain_names = std::move(dom.names);
    std::vector<LabelColumn> attrs;
    for (std::size_t c = 0; c < names.size(); ++c) {
        if (static_cast<std::int64_t>(c) == path_col || static_cast<std::int64_t>(c) == domain_col) continue;
        attrs.push_back(encode_column(rows, c, names[c], csv_path));
        ds.attribute_names.push_back(names[c]);
        ds.attribute_classes.push_back(attrs.back().classes);
        ds.attribute_value_names.push_back(attrs.back().names);
    }
    const auto k = static_cast<std::int64_t>(attrs.size());
    ds.attributes.resize(static_cast<std::size_t>(ds.count * k));
    for (std::int64_t i = 0; i < ds.count; ++i)
        for (std::int64_t a = 0; a < k; ++a) ds.attributes[i * k + a] = attrs[a].ids[i];

    // Pass 1: every file exists and is an image; find the common size and channel count.
    const fs::path base = fs::path(csv_path).parent_path();
    std::vector<std::string> files;
    std::int64_t first_h = 0, first_w = 0;
    bool any_colour = false, mixed = false;
    for (const auto& r : rows) {
        fs::path p = r.fields[path_col];
        std::string full = (p.is_absolute() ? p : base / p).string();
        DCODR_CHECK(fs::exists(full), "'{}' line {}: image file '{}' does not exist", csv_path, r.line, full);
        try {
            require_regular_file(full, "image file");  // reading a FIFO would block forever
        } catch (const Error& e) {
            fail("'{}' line {}: {}", csv_path, r.line, e.what());
        }
        int w = 0, h = 0, n = 0;
        try {
            // The whole file, so that the structure checks see what stb would decode later.
            const auto bytes = read_file(full);
            const ImageHeader header = read_image_header(bytes.data(), bytes.size(), full);
            w = header.width, h = header.height, n = header.channels;
        } catch (const Error& e) {
            fail("'{}' line {}: {}", csv_path, r.line, e.what());
        }
        if (files.empty()) {
            first_h = h;
            first_w = w;
        }
        if (!opt.height && (h != first_h || w != first_w)) {
            DCODR_CHECK(opt.mixed_size_target > 0,
                        "'{}' line {}: image '{}' is {}x{}, the first image is {}x{}; images of different sizes need "
                        "a target size (--image-size)",
                        csv_path, r.line, full, h, w, first_h, first_w);
            mixed = true;
        }
        any_colour = any_colour || n >= 3;
        files.push_back(std::move(full));
    }
    ds.height = opt.height ? opt.height : (mixed ? opt.mixed_size_target : first_h);
    ds.width = opt.width ? opt.width : (opt.height ? opt.height : (mixed ? opt.mixed_size_target : first_w));
    ds.channels = opt.channels ? opt.channels : (any_colour ? 3 : 1);
    DCODR_CHECK(ds.channels == 1 || ds.channels == 3, "'{}': channels must be 1 or 3, got {}", csv_path, ds.channels);

    // Pass 2 (parallel): decode, convert, resize, store as uint8 HWC.
    const std::int64_t per = ds.image_numel();
    ds.pixels_u8.resize(static_cast<std::size_t>(checked_mul(ds.count, per, "CSV data set pixel count")));
    std::string error;
#pragma omp parallel for schedule(dynamic, 16)
    for (std::int64_t i = 0; i < ds.count; ++i) {
        try {
            Image img = convert_channels(resize(load_image(files[i]), ds.height, ds.width), ds.channels);
            auto hwc = image_to_hwc(img);
            std::copy(hwc.begin(), hwc.end(), ds.pixels_u8.begin() + i * per);
        } catch (const std::exception& e) {
#pragma omp critical(dcodr_csv_error)
            if (error.empty()) error = fmt::format("'{}' line {}: {}", csv_path, rows[i].line, e.what());
        }
    }
    if (!error.empty()) throw Error(error);
    ds.validate();
    return ds;
}

void save_png_csv_dataset(const Dataset& ds, const std::string& dir, const std::string& csv_name) {
    ds.validate();
    std::error_code ec;
    fs::create_directories(fs::path(dir) / "images", ec);
    DCODR_CHECK(!ec, "cannot create '{}': {}", (fs::path(dir) / "images").string(), ec.message());
    const std::int64_t per = ds.image_numel(), k = ds.num_attributes();
    std::string error;
#pragma omp parallel for schedule(dynamic, 16)
    for (std::int64_t i = 0; i < ds.count; ++i) {
        try {
            Image img = ds.is_float() ? Image() : image_from_hwc(&ds.pixels_u8[i * per], ds.height, ds.width, ds.channels);
            if (ds.is_float()) {
                img = Image(ds.channels, ds.height, ds.width);
                for (std::int64_t p = 0; p < ds.height * ds.width; ++p)
                    for (std::int64_t c = 0; c < ds.channels; ++c)
                        img.pixels[c * ds.height * ds.width + p] = ds.pixels_f32[i * per + p * ds.channels + c];
            }
            save_png((fs::path(dir) / "images" / fmt::format("{:06d}.png", i)).string(), img);
        } catch (const std::exception& e) {
#pragma omp critical(dcodr_png_error)
            if (error.empty()) error = e.what();
        }
    }
    if (!error.empty()) throw Error(error);
    auto label = [](const std::vector<std::string>& names, std::int64_t id) {
        return names.empty() ? std::to_string(id) : csv_escape(names[static_cast<std::size_t>(id)]);
    };
    std::string csv = "path,domain";
    for (const auto& n : ds.attribute_names) {
        csv += ',';
        csv += csv_escape(n);
    }
    csv += "\n";
    for (std::int64_t i = 0; i < ds.count; ++i) {
        csv += fmt::format("images/{:06d}.png,{}", i, label(ds.domain_names, ds.domains[i]));
        static const std::vector<std::string> no_names;
        for (std::int64_t a = 0; a < k; ++a) {
            csv += ',';
            csv += label(ds.attribute_value_names.empty() ? no_names : ds.attribute_value_names[a], ds.attribute(i, a));
        }
        csv += "\n";
    }
    write_file((fs::path(dir) / csv_name).string(), csv.data(), csv.size());
}

}  // namespace dcodr::data
