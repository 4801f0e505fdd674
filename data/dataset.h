// An in-memory labelled image data set: images, one domain label per image (the attribute the
// code must be invariant to) and K integer attributes per image (what the code must keep).
#pragma once
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "tensor/checked_math.h"
#include "tensor/tensor.h"

namespace dcodr::data {

// Class ids (domains, attribute values) are dense: a label is an index into per-class tables, so
// an id past this bound (2^24) is refused as a file error instead of becoming a huge allocation.
constexpr std::int64_t kMaxClasses = std::int64_t{1} << 24;

// Real-valued per-image targets that the evaluation regresses instead of classifying (the
// authors' CelebA `landmarks`: 68 (x, y) points from a detector, or CelebA's own 5 points as
// tools/preprocess writes them): `dims` floats per image.
struct RegressionTarget {
    std::string name;
    std::int64_t dims = 0;
    std::vector<float> values;  // [N, dims] row-major
};

struct Dataset {
    std::string source;  // where it came from, for messages ("cars3d_train.npz", "synthetic shapes")

    // Images, interleaved N x H x W x C. Exactly one of the two buffers is filled: uint8 (0..255,
    // what the authors' files and PNGs hold) or float (values in [0, 1]).
    std::int64_t count = 0, height = 0, width = 0, channels = 0;
    std::vector<std::uint8_t> pixels_u8;
    std::vector<float> pixels_f32;

    std::vector<std::int64_t> domains;       // [N], each in [0, n_domains)
    std::int64_t n_domains = 0;
    std::vector<std::string> domain_names;   // empty, or n_domains names (CSV string labels)

    std::vector<std::int64_t> attributes;    // [N, K] row-major, each in [0, attribute_classes[k])
    std::vector<std::string> attribute_names;     // K
    std::vector<std::int64_t> attribute_classes;  // K: max value + 1 (or the known factor size)
    std::vector<std::vector<std::string>> attribute_value_names;  // K lists, empty for integer columns

    std::vector<RegressionTarget> targets;   // usually none; CelebA: "landmarks"

    std::int64_t num_attributes() const { return static_cast<std::int64_t>(attribute_names.size()); }
    std::int64_t attribute(std::int64_t i, std::int64_t k) const { return attributes[static_cast<std::size_t>(i * num_attributes() + k)]; }
    std::int64_t image_numel() const {
        return checked_mul(checked_mul(height, width, "image size"), channels, "image size");
    }
    bool is_float() const { return !pixels_f32.empty(); }

    // Checks every size and label range; throws naming `source`, the field and the expectation.
    void validate() const;
    // Images per domain ([n_domains]).
    std::vector<std::int64_t> domain_counts() const;
    // The images at `indices`, in that order (labels, names and class counts carried over).
    Dataset subset(const std::vector<std::int64_t>& indices) const;
    // One line: source, N, image size, domains, attributes with class counts.
    std::string describe() const;
};

// ---- loaders ----

// The authors' preprocessed format: `imgs` uint8 N x H x W x C (or N x H x W for gray),
// `classes` int [N] (domain), `contents` int [N, K] (attributes; optional), `n_classes` scalar
// (optional: max(classes) + 1 when absent), `landmarks` float [N, D] (optional: a regression
// target, as in the authors' CelebA files). Attribute names come from `attribute_names` when
// given (must have K entries), else from a `contents_names` member (a numpy string array of K
// names, or dcodr's older comma-joined bytes), else "attr0", "attr1", .... Stored and deflated
// (np.savez_compressed) members both load; other members (the authors' `orig_contents`,
// `contents_strings`, object arrays of any kind) are ignored without being read.
Dataset load_npz_dataset(const std::string& path, const std::vector<std::string>& attribute_names = {});

struct CsvOptions {
    // Target image size; 0 = take the first image's size (then all images must match it).
    // width 0 with height set means square.
    std::int64_t height = 0, width = 0;
    // 0 = keep (3 if any image is colour, else 1), 1 or 3 = convert every image.
    std::int64_t channels = 0;
    // With height 0: when the images differ in size, resize them all to this square size
    // (the dcodr commands pass --image-size) instead of refusing; 0 = refuse.
    std::int64_t mixed_size_target = 0;
};
// A CSV with a header row `path,domain[,attribute columns...]`; paths are relative to the CSV's
// folder. Domain and attribute columns hold integers (used as class ids) or strings (mapped to
// ids in sorted order, names kept). Errors name the CSV line and column.
Dataset load_csv_dataset(const std::string& csv_path, const CsvOptions& options = {});

// Chooses the loader by extension: .npz -> load_npz_dataset, .csv -> load_csv_dataset.
Dataset load_dataset(const std::string& path, const CsvOptions& csv_options = {});

// ---- writers (used by `dcodr generate-data`) ----

// Authors' format: imgs (uint8 NHWC; float data is quantised), classes, contents, n_classes,
// plus contents_names (<U strings), contents_classes and each regression target by its name.
void save_npz_dataset(const Dataset& ds, const std::string& path);
// PNG files `dir/images/000000.png ...` plus `dir/<csv_name>` in the format load_csv_dataset reads.
void save_png_csv_dataset(const Dataset& ds, const std::string& dir, const std::string& csv_name = "labels.csv");

// ---- batches ----

struct ImageFormat {
    std::int64_t height = 0, width = 0;  // 0 = the data set's size
    std::int64_t channels = 0;           // 0 = the data set's; 3 tiles gray, 1 takes luma
};

// [count, C, H, W]: the shape load_batch gives `count` images of `ds` in `format`.
Shape batch_shape(const Dataset& ds, std::int64_t count, const ImageFormat& format);
// Float [B, C, H, W] in [0, 1] on the host for the images at `indices`, resized to `format`
// (area when shrinking, bilinear when enlarging). Parallel over the batch.
Tensor load_batch(const Dataset& ds, const std::vector<std::int64_t>& indices, const ImageFormat& format = {});
// Same into caller memory of B * C * H * W floats.
void load_batch_into(const Dataset& ds, const std::vector<std::int64_t>& indices, const ImageFormat& format, float* out);
// int64 [B] domain labels / [B, K] attributes of `indices`.
Tensor batch_domains(const Dataset& ds, const std::vector<std::int64_t>& indices);
Tensor batch_attributes(const Dataset& ds, const std::vector<std::int64_t>& indices);

// ---- splits ----

// A seeded random split of [0, n): round(n * test_fraction) test indices, the rest train.
// Both lists are sorted so subsets keep the original order.
std::pair<std::vector<std::int64_t>, std::vector<std::int64_t>> split_indices(std::int64_t n, double test_fraction,
                                                                              std::uint64_t seed);
// Stratified by domain: every domain contributes round(n_d * test_fraction) test images.
std::pair<std::vector<std::int64_t>, std::vector<std::int64_t>> split_indices_by_domain(const Dataset& ds,
                                                                                        double test_fraction,
                                                                                        std::uint64_t seed);
std::pair<Dataset, Dataset> train_test_split(const Dataset& ds, double test_fraction, std::uint64_t seed);

// The images of domains that have at least `min_images` images (the authors train on CelebA
// identities with 20 or more). Domain ids are kept, so labels still index the same domains.
Dataset keep_domains_with_at_least(const Dataset& ds, std::int64_t min_images);

}  // namespace dcodr::data
