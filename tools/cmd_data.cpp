// dcodr generate-data: the built-in synthetic Shapes3D-like set, as .npz or PNG + CSV.
#include <chrono>
#include <iostream>

#include "data/synthetic.h"
#include "tools/commands.h"
#include "tools/common.h"

namespace dcodr::tools {

int cmd_generate_data(int argc, char** argv) {
    Args a("generate-data",
           "Render the synthetic Shapes3D-like data set (floor, wall, one object; factors floor_hue, wall_hue,\n"
           "object_hue, scale, shape, orientation) with one factor as the domain.",
           argc, argv);
    a.option("out", "shapes.npz", "output: a .npz file (the authors' format), or a folder for PNG + labels.csv");
    a.option("count", "10000", "number of images (distinct factor tuples, at most 480000)");
    a.option("seed", "7", "seed for the sampled factor tuples");
    a.option("domain-factor", "shape", "factor used as the domain label");
    if (a.parse()) return 0;
    auto t0 = std::chrono::steady_clock::now();
    data::shapes::GenerateOptions g;
    g.domain_factor = a.str("domain-factor");
    data::Dataset ds = data::shapes::generate(a.integer("count"), static_cast<std::uint64_t>(a.integer("seed")), g);
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const std::string out = a.str("out");
    if (out.size() > 4 && out.substr(out.size() - 4) == ".npz") {
        data::save_npz_dataset(ds, out);
    } else {
        data::save_png_csv_dataset(ds, out);
    }
    std::cerr << fmt::format("rendered {} images in {:.2f} s; wrote {}\n{}\n", ds.count, secs, out, ds.describe());
    return 0;
}

}  // namespace dcodr::tools
