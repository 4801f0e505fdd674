#include "data/dataset.h"

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "data/image.h"
#include "data/rng.h"
#include "tensor/error.h"

namespace dcodr::data {

void Dataset::validate() const {
    const std::string& s = source;
    DCODR_CHECK(count >= 0 && height > 0 && width > 0, "{}: bad image size {}x{} for {} images", s, height, width, count);
    DCODR_CHECK(channels == 1 || channels == 3, "{}: images must have 1 or 3 channels, got {}", s, channels);
    const auto want = static_cast<std::size_t>(checked_mul(count, image_numel(), "data set pixel count"));
    DCODR_CHECK((pixels_u8.size() == want && pixels_f32.empty()) || (pixels_f32.size() == want && pixels_u8.empty()),
                "{}: image buffer holds {} values, expected {} (N={} x {}x{}x{})", s,
                pixels_u8.size() + pixels_f32.size(), want, count, height, width, channels);
    DCODR_CHECK(static_cast<std::int64_t>(domains.size()) == count,
                "{}: {} domain labels for {} images (length mismatch)", s, domains.size(), count);
    DCODR_CHECK(n_domains > 0 || count == 0, "{}: n_domains must be positive, got {}", s, n_domains);
    DCODR_CHECK(n_domains <= kMaxClasses, "{}: {} domains is more than the {} supported (class ids must be dense)", s,
                n_domains, kMaxClasses);
    for (std::size_t a = 0; a < attribute_classes.size(); ++a)
        DCODR_CHECK(attribute_classes[a] > 0 && attribute_classes[a] <= kMaxClasses,
                    "{}: attribute {} has {} classes, expected 1..{} (class ids must be dense)", s, a,
                    attribute_classes[a], kMaxClasses);
    for (std::size_t i = 0; i < domains.size(); ++i)
        DCODR_CHECK(domains[i] >= 0 && domains[i] < n_domains,
                    "{}: domain label of image {} is {}, out of range [0, {})", s, i, domains[i], n_domains);
    DCODR_CHECK(domain_names.empty() || static_cast<std::int64_t>(domain_names.size()) == n_domains,
                "{}: {} domain names for {} domains", s, domain_names.size(), n_domains);
    const std::int64_t k = num_attributes();
    DCODR_CHECK(static_cast<std::int64_t>(attribute_classes.size()) == k,
                "{}: {} attribute class counts for {} attributes", s, attribute_classes.size(), k);
    DCODR_CHECK(attribute_value_names.empty() || static_cast<std::int64_t>(attribute_value_names.size()) == k,
                "{}: {} attribute value-name lists for {} attributes", s, attribute_value_names.size(), k);
    DCODR_CHECK(static_cast<std::int64_t>(attributes.size()) == checked_mul(count, k, "attribute count"),
                "{}: attribute matrix holds {} values, expected N x K = {} x {} (length mismatch)", s,
                attributes.size(), count, k);
    for (std::int64_t i = 0; i < count; ++i)
        for (std::int64_t a = 0; a < k; ++a) {
            std::int64_t v = attribute(i, a);
            DCODR_CHECK(v >= 0 && v < attribute_classes[a],
                        "{}: attribute '{}' of image {} is {}, out of range [0, {})", s, attribute_names[a], i, v,
                        attribute_classes[a]);
        }
    for (const auto& t : targets) {
        DCODR_CHECK(t.dims > 0, "{}: regression target '{}' has {} values per image, expected at least 1", s, t.name,
                    t.dims);
        DCODR_CHECK(static_cast<std::int64_t>(t.values.size()) == checked_mul(count, t.dims, "target count"),
                    "{}: regression target '{}' holds {} values, expected N x D = {} x {} (length mismatch)", s,
                    t.name, t.values.size(), count, t.dims);
        for (std::size_t i = 0; i < t.values.size(); ++i)
            DCODR_CHECK(std::isfinite(t.values[i]), "{}: regression target '{}' of image {} is not finite ({})", s,
                        t.name, i / static_cast<std::size_t>(t.dims), t.values[i]);
    }
}

std::vector<std::int64_t> Dataset::domain_counts() const {
    std::vector<std::int64_t> c(static_cast<std::size_t>(n_domains), 0);
    for (auto d : domains) ++c[static_cast<std::size_t>(d)];
    return c;
}

Dataset Dataset::subset(const std::vector<std::int64_t>& indices) const {
    Dataset out;
    out.source = source;
    out.count = static_cast<std::int64_t>(indices.size());
    out.height = height;
    out.width = width;
    out.channels = channels;
    out.n_domains = n_domains;
    out.domain_names = domain_names;
    out.attribute_names = attribute_names;
    out.attribute_classes = attribute_classes;
    out.attribute_value_names = attribute_value_names;
    for (const auto& t : targets) out.targets.push_back({t.name, t.dims, {}});
    const std::int64_t per = image_numel(), k = num_attributes();
    if (is_float()) out.pixels_f32.resize(static_cast<std::size_t>(out.count * per));
    else out.pixels_u8.resize(static_cast<std::size_t>(out.count * per));
    out.domains.resize(indices.size());
    out.attributes.resize(static_cast<std::size_t>(out.count * k));
    for (std::size_t j = 0; j < indices.size(); ++j) {
        const std::int64_t i = indices[j];
        DCODR_CHECK(i >= 0 && i < count, "{}: subset index {} out of range [0, {})", source, i, count);
        // Iterators, not &v[i]: with K = 0 attributes (a plain path,domain CSV) the vector is
        // empty and taking the address of its element 0 is undefined (UBSan).
        if (is_float())
            std::copy_n(pixels_f32.begin() + i * per, per, out.pixels_f32.begin() + static_cast<std::ptrdiff_t>(j) * per);
        else
            std::copy_n(pixels_u8.begin() + i * per, per, out.pixels_u8.begin() + static_cast<std::ptrdiff_t>(j) * per);
        out.domains[j] = domains[static_cast<std::size_t>(i)];
        std::copy_n(attributes.begin() + i * k, k, out.attributes.begin() + static_cast<std::ptrdiff_t>(j) * k);
        for (std::size_t t = 0; t < targets.size(); ++t)
            out.targets[t].values.insert(out.targets[t].values.end(), targets[t].values.begin() + i * targets[t].dims,
                                         targets[t].values.begin() + (i + 1) * targets[t].dims);
    }
    return out;
}

Dataset keep_domains_with_at_least(const Dataset& ds, std::int64_t min_images) {
    const auto counts = ds.domain_counts();
    std::vector<std::int64_t> keep;
    for (std::int64_t i = 0; i < ds.count; ++i)
        if (counts[static_cast<std::size_t>(ds.domains[static_cast<std::size_t>(i)])] >= min_images) keep.push_back(i);
    DCODR_CHECK(!keep.empty(), "{}: no domain has {} or more images (largest: {})", ds.source, min_images,
                counts.empty() ? 0 : *std::max_element(counts.begin(), counts.end()));
    return ds.subset(keep);
}

std::string Dataset::describe() const {
    std::string attrs;
    for (std::int64_t a = 0; a < num_attributes(); ++a)
        attrs += fmt::format("{}{} ({})", a ? ", " : "", attribute_names[a], attribute_classes[a]);
    for (const auto& t : targets) attrs += fmt::format("{}{} (regression, {} values)", attrs.empty() ? "" : ", ", t.name, t.dims);
    return fmt::format("{}: {} images {}x{}x{} ({}), {} domains, attributes: {}", source, count, height, width,
                       channels, is_float() ? "float" : "uint8", n_domains, attrs.empty() ? "none" : attrs);
}

Dataset load_dataset(const std::string& path, const CsvOptions& csv_options) {
    auto ext = std::filesystem::path(path).extension().string();
    std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
    if (ext == ".npz") return load_npz_dataset(path);
    if (ext == ".csv") return load_csv_dataset(path, csv_options);
    fail("cannot load data set '{}': unknown extension '{}' (expected .npz or .csv)", path, ext);
}

// ---- batches ----

void load_batch_into(const Dataset& ds, const std::vector<std::int64_t>& indices, const ImageFormat& format, float* out) {
    const std::int64_t oh = format.height ? format.height : ds.height;
    const std::int64_t ow = format.width ? format.width : ds.width;
    const std::int64_t oc = format.channels ? format.channels : ds.channels;
    DCODR_CHECK(oc == 1 || oc == 3, "load_batch: channels must be 1 or 3, got {}", oc);
    for (auto i : indices)
        DCODR_CHECK(i >= 0 && i < ds.count, "load_batch: index {} out of range for '{}' ({} images)", i, ds.source,
                    ds.count);
    const Resampler resampler(ds.height, ds.width, oh, ow);
    const std::int64_t n = static_cast<std::int64_t>(indices.size()), per = ds.image_numel();
    const std::int64_t in_plane = ds.height * ds.width, out_plane = oh * ow, ic = ds.channels;
    const float* unit = byte_to_unit_table();
#pragma omp parallel
    {
        std::vector<float> chw(static_cast<std::size_t>(per)), resized(static_cast<std::size_t>(ic * out_plane));
#pragma omp for schedule(static)
        for (std::int64_t b = 0; b < n; ++b) {
            const std::int64_t base = indices[static_cast<std::size_t>(b)] * per;
            // Interleaved HWC -> planar CHW in [0, 1].
            for (std::int64_t p = 0; p < in_plane; ++p)
                for (std::int64_t c = 0; c < ic; ++c)
                    chw[static_cast<std::size_t>(c * in_plane + p)] =
                        ds.is_float() ? ds.pixels_f32[static_cast<std::size_t>(base + p * ic + c)]
                                      : unit[ds.pixels_u8[static_cast<std::size_t>(base + p * ic + c)]];
            planar_to_input(chw.data(), ic, resampler, oc, resized.data(), out + b * oc * out_plane);
        }
    }
}

Shape batch_shape(const Dataset& ds, std::int64_t count, const ImageFormat& format) {
    return {count, format.channels ? format.channels : ds.channels, format.height ? format.height : ds.height,
            format.width ? format.width : ds.width};
}

Tensor load_batch(const Dataset& ds, const std::vector<std::int64_t>& indices, const ImageFormat& format) {
    Tensor t = Tensor::empty(batch_shape(ds, static_cast<std::int64_t>(indices.size()), format));
    load_batch_into(ds, indices, format, t.data<float>());
    return t;
}

Tensor batch_domains(const Dataset& ds, const std::vector<std::int64_t>& indices) {
    std::vector<std::int64_t> v;
    v.reserve(indices.size());
    for (auto i : indices) {
        DCODR_CHECK(i >= 0 && i < ds.count, "batch_domains: index {} out of range ({} images)", i, ds.count);
        v.push_back(ds.domains[static_cast<std::size_t>(i)]);
    }
    return Tensor::from_vector(v, {static_cast<std::int64_t>(v.size())});
}

Tensor batch_attributes(const Dataset& ds, const std::vector<std::int64_t>& indices) {
    const std::int64_t k = ds.num_attributes();
    std::vector<std::int64_t> v;
    v.reserve(indices.size() * static_cast<std::size_t>(k));
    for (auto i : indices) {
        DCODR_CHECK(i >= 0 && i < ds.count, "batch_attributes: index {} out of range ({} images)", i, ds.count);
        for (std::int64_t a = 0; a < k; ++a) v.push_back(ds.attribute(i, a));
    }
    return Tensor::from_vector(v, {static_cast<std::int64_t>(indices.size()), k});
}

// ---- splits ----

static void split_group(std::vector<std::int64_t> group, double test_fraction, std::uint64_t key,
                        std::vector<std::int64_t>& train, std::vector<std::int64_t>& test) {
    RandomStream rng(key);
    rng.shuffle(group);
    auto n_test = static_cast<std::size_t>(std::llround(static_cast<double>(group.size()) * test_fraction));
    test.insert(test.end(), group.begin(), group.begin() + static_cast<std::ptrdiff_t>(n_test));
    train.insert(train.end(), group.begin() + static_cast<std::ptrdiff_t>(n_test), group.end());
}

std::pair<std::vector<std::int64_t>, std::vector<std::int64_t>> split_indices(std::int64_t n, double test_fraction,
                                                                              std::uint64_t seed) {
    DCODR_CHECK(test_fraction >= 0.0 && test_fraction <= 1.0, "split: test fraction must be in [0, 1], got {}",
                test_fraction);
    std::vector<std::int64_t> all(static_cast<std::size_t>(n)), train, test;
    for (std::int64_t i = 0; i < n; ++i) all[static_cast<std::size_t>(i)] = i;
    split_group(std::move(all), test_fraction, mix64(seed, 0x5B117), train, test);
    std::sort(train.begin(), train.end());
    std::sort(test.begin(), test.end());
    return {train, test};
}

std::pair<std::vector<std::int64_t>, std::vector<std::int64_t>> split_indices_by_domain(const Dataset& ds,
                                                                                        double test_fraction,
                                                                                        std::uint64_t seed) {
    DCODR_CHECK(test_fraction >= 0.0 && test_fraction <= 1.0, "split: test fraction must be in [0, 1], got {}",
                test_fraction);
    std::vector<std::vector<std::int64_t>> groups(static_cast<std::size_t>(ds.n_domains));
    for (std::int64_t i = 0; i < ds.count; ++i) groups[static_cast<std::size_t>(ds.domains[i])].push_back(i);
    std::vector<std::int64_t> train, test;
    for (std::size_t d = 0; d < groups.size(); ++d)
        split_group(std::move(groups[d]), test_fraction, mix64(mix64(seed, 0x5B117), d), train, test);
    std::sort(train.begin(), train.end());
    std::sort(test.begin(), test.end());
    return {train, test};
}

std::pair<Dataset, Dataset> train_test_split(const Dataset& ds, double test_fraction, std::uint64_t seed) {
    auto [train, test] = split_indices_by_domain(ds, test_fraction, seed);
    // An empty side would surface much later as an internal "concat: no tensors given".
    DCODR_CHECK(!train.empty() && !test.empty(),
                "{}: splitting {} images with test fraction {} leaves {} for training and {} for testing; both "
                "need at least one (change --test-fraction or give --test-data)",
                ds.source, ds.count, test_fraction, train.size(), test.size());
    return {ds.subset(train), ds.subset(test)};
}

}  // namespace dcodr::data
