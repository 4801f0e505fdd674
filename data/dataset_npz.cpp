// The authors' .npz data set format (imgs / classes / contents / n_classes, and `landmarks` in
// their CelebA files), plus two optional extras: `contents_names` (the attribute names: a numpy
// string array, as tools/preprocess and dcodr write it, or the |u1 bytes of the names joined by
// ',' that older dcodr versions wrote) and `contents_classes` (<i8 [K], the factor sizes, which a
// subset may not reach with max + 1). Every other member is ignored, unread when its dtype is one
// dcodr does not read (the authors' Edges2Shoes `contents_strings` is an object array).
#include <algorithm>

#include "data/dataset.h"
#include "data/npy.h"
#include "tensor/error.h"

namespace dcodr::data {

namespace {

bool is_integer_type(const NpyArray& a) { return a.is_integer(); }

std::vector<std::int64_t> integer_values(const NpyArray& a, const std::string& what) {
    try {
        return a.to_int64();
    } catch (const Error& e) {
        fail("{}: {}", what, e.what());
    }
}

std::vector<std::string> split_names(const NpyArray& a) {
    if (a.is_string()) return a.to_strings();
    std::string s(a.bytes.begin(), a.bytes.end());
    std::vector<std::string> out;
    std::size_t p = 0;
    while (true) {
        auto q = s.find(',', p);
        out.push_back(s.substr(p, q == std::string::npos ? std::string::npos : q - p));
        if (q == std::string::npos) break;
        p = q + 1;
    }
    return out;
}

}  // namespace

Dataset load_npz_dataset(const std::string& path, const std::vector<std::string>& attribute_names) {
    std::vector<std::string> unread;  // members of dtypes dcodr does not read: ignored
    NpzEntries entries = load_npz(path, &unread);
    Dataset ds;
    ds.source = path;

    // ---- imgs ----
    {
        const NpyArray& imgs = npz_get(entries, "imgs", path);
        const Shape& s = imgs.shape;
        const std::string what = "'" + path + "' array 'imgs'";
        DCODR_CHECK(s.size() == 3 || s.size() == 4, "{}: wrong shape {}: expected N x H x W x C (or N x H x W)", what,
                    shape_str(s));
        if (s.size() == 4 && s[3] != 1 && s[3] != 3 && (s[1] == 1 || s[1] == 3))
            fail("{}: wrong shape {}: looks like N x C x H x W, expected channels last (N x H x W x C)", what,
                 shape_str(s));
        ds.count = s[0];
        ds.height = s[1];
        ds.width = s[2];
        ds.channels = s.size() == 4 ? s[3] : 1;
        DCODR_CHECK(ds.channels == 1 || ds.channels == 3, "{}: wrong shape {}: expected 1 or 3 channels, got {}", what,
                    shape_str(s), ds.channels);
        DCODR_CHECK(ds.height > 0 && ds.width > 0, "{}: wrong shape {}: empty images", what, shape_str(s));
        DCODR_CHECK(ds.count > 0, "{}: shape {} holds no images", what, shape_str(s));
        if (imgs.type == NpyType::u1) {
            // `entries` is ours: move the (large) buffer instead of copying it.
            ds.pixels_u8 = std::move(const_cast<NpyArray&>(imgs).bytes);
        } else if (imgs.type == NpyType::f4 || imgs.type == NpyType::f8) {
            ds.pixels_f32 = imgs.to_float();
            auto [lo, hi] = std::minmax_element(ds.pixels_f32.begin(), ds.pixels_f32.end());
            DCODR_CHECK(ds.pixels_f32.empty() || (*lo >= 0.0f && *hi <= 1.0f),
                        "{}: float images must lie in [0, 1], found values in [{}, {}]", what, *lo, *hi);
        } else {
            fail("{}: unsupported dtype {} for images (expected |u1, or <f4/<f8 in [0, 1])", what,
                 imgs.descr());
        }
    }

    // ---- classes / n_classes ----
    {
        const NpyArray& classes = npz_get(entries, "classes", path);
        const std::string what = "'" + path + "' array 'classes'";
        const Shape& s = classes.shape;
        DCODR_CHECK(s.size() == 1 || (s.size() == 2 && s[1] == 1), "{}: wrong shape {}: expected [N]", what,
                    shape_str(s));
        DCODR_CHECK(s[0] == ds.count, "{}: {} labels for {} images in 'imgs' (length mismatch)", what, s[0], ds.count);
        DCODR_CHECK(is_integer_type(classes) || classes.type == NpyType::f4 || classes.type == NpyType::f8,
                    "{}: unsupported dtype {}", what, classes.descr());
        ds.domains = integer_values(classes, what);
        std::int64_t max_label = -1;
        for (std::size_t i = 0; i < ds.domains.size(); ++i) {
            DCODR_CHECK(ds.domains[i] >= 0 && ds.domains[i] < kMaxClasses,
                        "{}: label of image {} is {}, out of range [0, {}) (class ids must be dense)", what, i,
                        ds.domains[i], kMaxClasses);
            max_label = std::max(max_label, ds.domains[i]);
        }
        if (const NpyArray* nc = npz_find(entries, "n_classes")) {
            const std::string nwhat = "'" + path + "' array 'n_classes'";
            DCODR_CHECK(nc->numel() == 1, "{}: wrong shape {}: expected a scalar", nwhat, shape_str(nc->shape));
            ds.n_domains = integer_values(*nc, nwhat)[0];
            DCODR_CHECK(ds.n_domains > 0 && ds.n_domains <= kMaxClasses, "{}: must be in 1..{}, got {}", nwhat,
                        kMaxClasses, ds.n_domains);
            DCODR_CHECK(max_label < ds.n_domains, "{}: label {} is out of range: n_classes is {}", what, max_label,
                        ds.n_domains);
        } else {
            ds.n_domains = max_label + 1;
        }
    }

    // ---- contents (attributes) ----
    if (const NpyArray* contents = npz_find(entries, "contents")) {
        const std::string what = "'" + path + "' array 'contents'";
        const Shape& s = contents->shape;
        DCODR_CHECK(s.size() == 1 || s.size() == 2, "{}: wrong shape {}: expected [N, K]", what, shape_str(s));
        DCODR_CHECK(s[0] == ds.count, "{}: {} rows for {} images in 'imgs' (length mismatch)", what, s[0], ds.count);
        const std::int64_t k = s.size() == 2 ? s[1] : 1;
        DCODR_CHECK(k <= 4096, "{}: wrong shape {}: more than 4096 attribute columns", what, shape_str(s));
        ds.attributes = integer_values(*contents, what);
        ds.attribute_classes.assign(static_cast<std::size_t>(k), 0);
        for (std::int64_t i = 0; i < ds.count; ++i)
            for (std::int64_t a = 0; a < k; ++a) {
                std::int64_t v = ds.attributes[static_cast<std::size_t>(i * k + a)];
                DCODR_CHECK(v >= 0 && v < kMaxClasses,
                            "{}: value of image {} attribute {} is {}, out of range [0, {}) (class ids must be dense)",
                            what, i, a, v, kMaxClasses);
                ds.attribute_classes[a] = std::max(ds.attribute_classes[a], v + 1);
            }
        if (const NpyArray* cc = npz_find(entries, "contents_classes")) {
            auto sizes = integer_values(*cc, "'" + path + "' array 'contents_classes'");
            DCODR_CHECK(static_cast<std::int64_t>(sizes.size()) == k,
                        "'{}' array 'contents_classes': {} values for {} attributes", path, sizes.size(), k);
            for (std::int64_t a = 0; a < k; ++a) {
                DCODR_CHECK(sizes[a] >= ds.attribute_classes[a] && sizes[a] <= kMaxClasses,
                            "{}: attribute {} has value {}, out of range: contents_classes gives {} classes (at most 2^24)", what, a,
                            ds.attribute_classes[a] - 1, sizes[a]);
                ds.attribute_classes[a] = sizes[a];
            }
        }
        if (!attribute_names.empty()) {
            DCODR_CHECK(static_cast<std::int64_t>(attribute_names.size()) == k,
                        "{}: {} attribute names given for {} attribute columns", what, attribute_names.size(), k);
            ds.attribute_names = attribute_names;
        } else if (const NpyArray* cn = npz_find(entries, "contents_names")) {
            ds.attribute_names = split_names(*cn);
            DCODR_CHECK(static_cast<std::int64_t>(ds.attribute_names.size()) == k,
                        "'{}' array 'contents_names': {} names for {} attribute columns in 'contents'", path,
                        ds.attribute_names.size(), k);
            for (const auto& n : ds.attribute_names)
                DCODR_CHECK(!n.empty(), "'{}' array 'contents_names': an attribute name is empty", path);
        } else {
            for (std::int64_t a = 0; a < k; ++a) ds.attribute_names.push_back("attr" + std::to_string(a));
        }
    } else {
        DCODR_CHECK(attribute_names.empty(), "'{}': attribute names given but the file has no 'contents' array", path);
    }

    // ---- landmarks (a regression target) ----
    if (const NpyArray* lm = npz_find(entries, "landmarks")) {
        const std::string what = "'" + path + "' array 'landmarks'";
        const Shape& s = lm->shape;
        DCODR_CHECK(!lm->is_string(), "{}: expected numbers, found dtype {}", what, lm->descr());
        DCODR_CHECK(s.size() >= 1 && s[0] == ds.count, "{}: wrong shape {}: expected [N, D] with N = {} images", what,
                    shape_str(s), ds.count);
        RegressionTarget t;
        t.name = "landmarks";
        t.dims = ds.count ? lm->numel() / ds.count : 0;  // [N, 68, 2] counts as [N, 136]
        t.values = lm->to_float();
        ds.targets.push_back(std::move(t));
    }
    ds.validate();
    return ds;
}

void save_npz_dataset(const Dataset& ds, const std::string& path) {
    ds.validate();
    const std::int64_t k = ds.num_attributes();
    NpzEntries e;
    Shape img_shape = {ds.count, ds.height, ds.width, ds.channels};
    if (ds.is_float()) {
        std::vector<std::uint8_t> q(ds.pixels_f32.size());
        for (std::size_t i = 0; i < q.size(); ++i)
            q[i] = static_cast<std::uint8_t>(std::clamp(ds.pixels_f32[i], 0.0f, 1.0f) * 255.0f + 0.5f);
        e.emplace_back("imgs", NpyArray::from_u8(q, img_shape));
    } else {
        e.emplace_back("imgs", NpyArray::from_u8(ds.pixels_u8, img_shape));
    }
    e.emplace_back("classes", NpyArray::from_i64(ds.domains, {ds.count}));
    e.emplace_back("contents", NpyArray::from_i64(ds.attributes, {ds.count, k}));
    NpyArray n = NpyArray::from_i64({ds.n_domains}, {});
    e.emplace_back("n_classes", std::move(n));
    if (k > 0) e.emplace_back("contents_names", NpyArray::from_strings(ds.attribute_names));
    e.emplace_back("contents_classes", NpyArray::from_i64(ds.attribute_classes, {k}));
    for (const auto& t : ds.targets) e.emplace_back(t.name, NpyArray::from_f32(t.values, {ds.count, t.dims}));
    save_npz(path, e);
}

}  // namespace dcodr::data
