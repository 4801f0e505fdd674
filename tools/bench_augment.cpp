// dcodr bench augment: how fast the host prepares a training batch (load + one positive
// augmentation per image), single-threaded and with every thread, and what each augmentation
// costs per image. The question it answers: at a GPU step time of T ms, can the data side keep
// up on C cores? It can when per_image_ms_1_thread * batch / C is well below T.
#include <algorithm>
#include <chrono>
#include <iostream>
#include <numeric>

#include "data/augment.h"
#include "data/dataset.h"
#include "data/synthetic.h"
#include "tensor/backend.h"
#include "tools/args.h"
#include "tools/bench.h"
#include "tools/common.h"

namespace dcodr::tools {

namespace {

template <class F>
double median_ms(std::int64_t repeats, F&& f) {
    return time_ms(repeats, f).median;
}

}  // namespace

int bench_augment_main(int argc, char** argv) {
    Args a("bench augment", "Time batch loading and positive augmentation on the host.", argc, argv);
    add_runtime_options(a);
    a.option("batch", "128", "images per batch (the paper: 4 domains x 32)");
    a.option("image-size", "64", "images are H = W = this");
    a.option("augmentations", "default", "the positive set (as for train)");
    a.option("repeats", "9", "timed batches per measurement");
    a.option("step-ms", "17.6", "the step time to compare with (PyTorch's GPU step: ../shared/docs/gpu.md)");
    if (a.parse()) return 0;
    const std::int64_t batch = a.integer("batch"), size = a.integer("image-size"), repeats = a.integer("repeats");
    if (batch < 1 || repeats < 1) usage_error("--batch and --repeats: expected at least 1");
    const int max_threads = num_threads();

    data::Dataset ds = data::shapes::generate(std::max<std::int64_t>(batch * 4, 512), 7);
    std::vector<std::int64_t> indices(static_cast<std::size_t>(batch));
    std::iota(indices.begin(), indices.end(), std::int64_t{0});
    const data::ImageFormat format{size, size, 3};
    const data::Augmenter augmenter(data::parse_augmentations(a.str("augmentations")), 1);
    Tensor clean = data::load_batch(ds, indices, format);

    json::Value r = json::Value::object();
    r["benchmark"] = "augment";
    r["batch"] = batch;
    r["image_size"] = size;
    r["augmentations"] = data::augmentation_list_str(augmenter.set());
    json::Value runs = json::Value::array();
    double per_image_1 = 0;
    std::vector<int> thread_counts{1};
    if (max_threads > 1) thread_counts.push_back(max_threads);
    for (int threads : thread_counts) {
        set_num_threads(threads);
        double load = median_ms(repeats, [&](std::int64_t) { data::load_batch(ds, indices, format); });
        double aug = median_ms(repeats, [&](std::int64_t i) { augmenter.apply(clean, static_cast<std::uint64_t>(i)); });
        json::Value run = json::Value::object();
        run["threads"] = threads;
        run["load_ms"] = load;
        run["augment_ms"] = aug;
        run["batch_ms"] = load + aug;
        runs.push_back(run);
        if (threads == 1) per_image_1 = (load + aug) / static_cast<double>(batch);
    }
    set_num_threads(max_threads);
    r["runs"] = runs;
    r["per_image_ms_1_thread"] = per_image_1;
    // Cores needed so that one batch is ready within the step time, assuming linear scaling.
    r["cores_needed_at_step_ms"] = per_image_1 * static_cast<double>(batch) / a.number("step-ms");
    r["step_ms"] = a.number("step-ms");

    // Each augmentation alone, single-threaded: which ones are expensive.
    set_num_threads(1);
    json::Value each = json::Value::object();
    for (data::Augmentation aug : data::all_augmentations()) {
        data::Augmenter one({aug}, 1);
        double ms = median_ms(repeats, [&](std::int64_t i) { one.apply(clean, static_cast<std::uint64_t>(i)); });
        each[data::augmentation_name(aug)] = ms / static_cast<double>(batch);
    }
    set_num_threads(max_threads);
    r["per_image_ms_each_1_thread"] = each;
    std::cout << r.dump(2) << "\n";
    return 0;
}

}  // namespace dcodr::tools
