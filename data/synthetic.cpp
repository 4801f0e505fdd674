#include "data/synthetic.h"

#include <algorithm>
#include <cmath>

#include "data/rng.h"
#include "tensor/error.h"

namespace dcodr::data::shapes {

namespace {

struct V3 {
    float x, y, z;
};
inline V3 operator+(V3 a, V3 b) { return {a.x + b.x, a.y + b.y, a.z + b.z}; }
inline V3 operator-(V3 a, V3 b) { return {a.x - b.x, a.y - b.y, a.z - b.z}; }
inline V3 operator*(V3 a, float s) { return {a.x * s, a.y * s, a.z * s}; }
inline float dot(V3 a, V3 b) { return a.x * b.x + a.y * b.y + a.z * b.z; }
inline V3 cross(V3 a, V3 b) { return {a.y * b.z - a.z * b.y, a.z * b.x - a.x * b.z, a.x * b.y - a.y * b.x}; }
inline V3 normalize(V3 a) { return a * (1.0f / std::sqrt(dot(a, a))); }

constexpr float kNoHit = 1e30f;
constexpr float kWallZ = 2.2f;          // back wall plane z = kWallZ; floor is y = 0
constexpr float kPi = 3.14159265358979f;

// The object, resting on the floor at the origin, axis-aligned (the camera orbits instead).
struct Object {
    int shape = 0;
    float r = 0.5f;     // sphere/cylinder/capsule radius, cube half-size
    float h = 1.0f;     // cylinder height, capsule segment length
    V3 centre{};        // bounding sphere
    float bound = 1.0f;
};

Object make_object(int shape, float scale) {
    Object o;
    o.shape = shape;
    switch (shape) {
        case 0: o.r = 0.42f * scale; o.h = 2 * o.r; break;               // cube
        case 1: o.r = 0.40f * scale; o.h = 0.95f * scale; break;         // cylinder
        case 2: o.r = 0.52f * scale; o.h = 2 * o.r; break;               // sphere
        default: o.r = 0.30f * scale; o.h = 0.62f * scale; break;        // capsule: 2r + h tall
    }
    float height = shape == 3 ? 2 * o.r + o.h : shape == 2 ? 2 * o.r : o.h;
    o.centre = {0, 0.5f * height, 0};
    o.bound = std::sqrt(0.25f * height * height + 2 * o.r * o.r) + 1e-3f;
    return o;
}

// Nearest hit t > eps along o + t d (d normalised), with the outward normal.
bool hit_sphere(V3 c, float r, V3 o, V3 d, float& t, V3& n) {
    V3 oc = o - c;
    float b = dot(oc, d), cc = dot(oc, oc) - r * r, disc = b * b - cc;
    if (disc < 0) return false;
    float s = std::sqrt(disc), t0 = -b - s;
    if (t0 < 1e-4f) t0 = -b + s;
    if (t0 < 1e-4f || t0 >= t) return false;
    t = t0;
    n = (o + d * t0 - c) * (1.0f / r);
    return true;
}

// Vertical cylinder side x^2 + z^2 = r^2, y in [y0, y1].
bool hit_side(float r, float y0, float y1, V3 o, V3 d, float& t, V3& n) {
    float a = d.x * d.x + d.z * d.z;
    if (a < 1e-12f) return false;
    float b = o.x * d.x + o.z * d.z, c = o.x * o.x + o.z * o.z - r * r, disc = b * b - a * c;
    if (disc < 0) return false;
    float s = std::sqrt(disc);
    for (float tc : {(-b - s) / a, (-b + s) / a}) {
        if (tc < 1e-4f || tc >= t) continue;
        float y = o.y + d.y * tc;
        if (y < y0 || y > y1) continue;
        t = tc;
        n = {(o.x + d.x * tc) / r, 0, (o.z + d.z * tc) / r};
        return true;
    }
    return false;
}

bool hit_object(const Object& ob, V3 o, V3 d, float& t, V3& n) {
    {  // bounding sphere: most rays miss the object
        V3 oc = o - ob.centre;
        float b = dot(oc, d), c = dot(oc, oc) - ob.bound * ob.bound;
        if (c > 0 && (b > 0 || b * b - c < 0)) return false;
    }
    bool any = false;
    switch (ob.shape) {
        case 0: {  // cube: slab test
            float lo[3] = {-ob.r, 0, -ob.r}, hi[3] = {ob.r, 2 * ob.r, ob.r};
            float oo[3] = {o.x, o.y, o.z}, dd[3] = {d.x, d.y, d.z};
            float tn = -kNoHit, tf = kNoHit;
            int axis = 0;
            float sign = 1;
            for (int k = 0; k < 3; ++k) {
                if (std::fabs(dd[k]) < 1e-12f) {
                    if (oo[k] < lo[k] || oo[k] > hi[k]) return false;
                    continue;
                }
                float t1 = (lo[k] - oo[k]) / dd[k], t2 = (hi[k] - oo[k]) / dd[k];
                float s = -1;
                if (t1 > t2) {
                    std::swap(t1, t2);
                    s = 1;
                }
                if (t1 > tn) {
                    tn = t1;
                    axis = k;
                    sign = s;
                }
                tf = std::min(tf, t2);
            }
            if (tn > tf || tn < 1e-4f || tn >= t) return false;
            t = tn;
            n = {0, 0, 0};
            (axis == 0 ? n.x : axis == 1 ? n.y : n.z) = sign;
            return true;
        }
        case 1: {  // cylinder with a flat top
            any = hit_side(ob.r, 0, ob.h, o, d, t, n);
            if (std::fabs(d.y) > 1e-12f) {
                float tc = (ob.h - o.y) / d.y;
                V3 p = o + d * tc;
                if (tc > 1e-4f && tc < t && p.x * p.x + p.z * p.z <= ob.r * ob.r) {
                    t = tc;
                    n = {0, 1, 0};
                    any = true;
                }
            }
            return any;
        }
        case 2: return hit_sphere(ob.centre, ob.r, o, d, t, n);
        default: {  // capsule: side + two hemispheres
            any = hit_side(ob.r, ob.r, ob.r + ob.h, o, d, t, n);
            any |= hit_sphere({0, ob.r, 0}, ob.r, o, d, t, n);
            any |= hit_sphere({0, ob.r + ob.h, 0}, ob.r, o, d, t, n);
            return any;
        }
    }
}

V3 hue_rgb(float hue, float sat, float val) {
    float h6 = hue * 6.0f;
    auto channel = [&](float k) {
        float m = std::fmod(k + h6, 6.0f);
        return val - val * sat * std::clamp(std::min(m, 4.0f - m), 0.0f, 1.0f);
    };
    return {channel(5), channel(3), channel(1)};
}

struct Scene {
    Object ob;
    V3 floor_c, wall_c, obj_c;
    V3 eye, fwd, right, up;
    float tan_half;
    V3 light;
};

Scene make_scene(const Factors& f) {
    Scene s;
    s.ob = make_object(f[4], 0.75f + 0.5f * f[3] / 7.0f);
    s.floor_c = hue_rgb(f[0] / 10.0f, 0.75f, 0.95f);
    s.wall_c = hue_rgb(f[1] / 10.0f, 0.75f, 0.95f);
    s.obj_c = hue_rgb(f[2] / 10.0f, 0.85f, 1.0f);
    const float azim = (-30.0f + 60.0f * f[5] / 14.0f) * kPi / 180.0f, elev = 22.0f * kPi / 180.0f, dist = 4.3f;
    const V3 target = {0, 0.55f, 0};
    s.eye = target + V3{std::sin(azim) * std::cos(elev), std::sin(elev), -std::cos(azim) * std::cos(elev)} * dist;
    s.fwd = normalize(target - s.eye);
    s.right = normalize(cross({0, 1, 0}, s.fwd));
    s.up = cross(s.fwd, s.right);
    s.tan_half = std::tan(0.5f * 42.0f * kPi / 180.0f);
    s.light = normalize({-0.45f, 1.0f, -0.55f});
    return s;
}

// Colour seen along one camera ray; `id` names the surface patch (object face / floor / wall,
// lit or shadowed) so the renderer can find the pixels that straddle an edge.
V3 shade(const Scene& s, V3 d, int& id) {
    float t = kNoHit;
    V3 n{};
    if (hit_object(s.ob, s.eye, d, t, n)) {
        id = s.ob.shape == 0 ? 8 + static_cast<int>(2 * n.x + 3 * n.y + 4 * n.z) : 0;  // cube faces differ
        float diff = std::max(0.0f, dot(n, s.light));
        V3 h = normalize(s.light - d);
        float spec = std::pow(std::max(0.0f, dot(n, h)), 24.0f);
        return s.obj_c * (0.32f + 0.68f * diff) + V3{1, 1, 1} * (0.18f * spec);
    }
    // Floor (y = 0) or back wall (z = kWallZ), whichever comes first.
    float tf = d.y < 0 ? -s.eye.y / d.y : kNoHit;
    float tw = d.z > 0 ? (kWallZ - s.eye.z) / d.z : kNoHit;
    bool floor = tf < tw;
    float tt = floor ? tf : tw;
    if (tt >= kNoHit) return s.wall_c * 0.5f;
    V3 p = s.eye + d * tt, base = floor ? s.floor_c : s.wall_c;
    float diff = floor ? s.light.y : 0.62f;  // the wall is lit at a grazing angle
    float ts = kNoHit;
    V3 dummy{};
    bool shadow = hit_object(s.ob, p, s.light, ts, dummy);
    id = (floor ? 1 : 2) + (shadow ? 2 : 0);
    // Ambient occlusion-ish darkening into the corner makes the floor/wall edge read as 3D.
    float corner = floor ? 1.0f - 0.18f * std::exp(-2.5f * (kWallZ - p.z)) : 1.0f - 0.12f * std::exp(-2.5f * p.y);
    return base * ((0.42f + 0.58f * diff * (shadow ? 0.25f : 1.0f)) * corner);
}

}  // namespace

int factor_index(const std::string& name) {
    for (int k = 0; k < kNumFactors; ++k)
        if (name == kFactorNames[k]) return k;
    fail("unknown Shapes3D factor '{}' (valid: floor_hue, wall_hue, object_hue, scale, shape, orientation)", name);
}

void check_factors(const Factors& f) {
    for (int k = 0; k < kNumFactors; ++k)
        DCODR_CHECK(f[k] >= 0 && f[k] < kFactorSizes[k], "synthetic shapes: factor {} = {} out of range [0, {})",
                    kFactorNames[k], f[k], kFactorSizes[k]);
}

void render(const Factors& f, std::uint8_t* hwc, const RenderOptions& opt) {
    check_factors(f);
    DCODR_CHECK(opt.size > 0 && opt.samples > 0, "synthetic shapes: size and samples must be positive (got {}, {})",
                opt.size, opt.samples);
    const Scene s = make_scene(f);
    const int n = opt.size, ss = opt.samples;
    auto ray = [&](float px, float py) {  // px, py in pixel units, (0, 0) = top-left corner
        float u = (2.0f * px / n - 1.0f) * s.tan_half, v = (1.0f - 2.0f * py / n) * s.tan_half;
        return normalize(s.fwd + s.right * u + s.up * v);
    };
    // Pass 1: one sample per pixel centre. Pass 2: supersample (ss x ss) only the pixels whose
    // surface id differs from a neighbour's, i.e. edges and shadow borders; flat regions gain
    // nothing from extra samples. This is ~3x faster than supersampling everything.
    std::vector<V3> colour(static_cast<std::size_t>(n) * n);
    std::vector<int> ids(static_cast<std::size_t>(n) * n);
    for (int y = 0; y < n; ++y)
        for (int x = 0; x < n; ++x)
            colour[y * n + x] = shade(s, ray(x + 0.5f, y + 0.5f), ids[y * n + x]);
    const float inv = 1.0f / static_cast<float>(ss * ss);
    for (int y = 0; y < n; ++y)
        for (int x = 0; x < n; ++x) {
            V3 c = colour[y * n + x];
            const int id = ids[y * n + x];
            bool edge = false;
            for (int dy = -1; dy <= 1 && !edge; ++dy)
                for (int dx = -1; dx <= 1; ++dx) {
                    int yy = y + dy, xx = x + dx;
                    if (yy >= 0 && yy < n && xx >= 0 && xx < n && ids[yy * n + xx] != id) {
                        edge = true;
                        break;
                    }
                }
            if (edge && ss > 1) {
                V3 acc{0, 0, 0};
                int dummy;
                for (int sy = 0; sy < ss; ++sy)
                    for (int sx = 0; sx < ss; ++sx)
                        acc = acc + shade(s, ray(x + (sx + 0.5f) / ss, y + (sy + 0.5f) / ss), dummy);
                c = acc * inv;
            }
            std::uint8_t* p = hwc + (static_cast<std::size_t>(y) * n + x) * 3;
            p[0] = static_cast<std::uint8_t>(std::clamp(c.x, 0.0f, 1.0f) * 255.0f + 0.5f);
            p[1] = static_cast<std::uint8_t>(std::clamp(c.y, 0.0f, 1.0f) * 255.0f + 0.5f);
            p[2] = static_cast<std::uint8_t>(std::clamp(c.z, 0.0f, 1.0f) * 255.0f + 0.5f);
        }
}

Image render_image(const Factors& f, const RenderOptions& opt) {
    std::vector<std::uint8_t> hwc(static_cast<std::size_t>(opt.size) * opt.size * 3);
    render(f, hwc.data(), opt);
    return image_from_hwc(hwc.data(), opt.size, opt.size, 3);
}

std::vector<Factors> sample_factors(std::int64_t n, std::uint64_t seed) {
    DCODR_CHECK(n >= 0 && n <= kTotalImages, "synthetic shapes: can sample 0..{} distinct images, asked for {}",
                kTotalImages, n);
    // Partial Fisher-Yates over the flat grid index: n distinct tuples, uniformly.
    std::vector<std::int32_t> idx(static_cast<std::size_t>(kTotalImages));
    for (std::int64_t i = 0; i < kTotalImages; ++i) idx[static_cast<std::size_t>(i)] = static_cast<std::int32_t>(i);
    RandomStream rng(mix64(seed, 0x5A9E5));
    std::vector<Factors> out;
    out.reserve(static_cast<std::size_t>(n));
    for (std::int64_t i = 0; i < n; ++i) {
        std::int64_t j = i + rng.below(kTotalImages - i);
        std::swap(idx[static_cast<std::size_t>(i)], idx[static_cast<std::size_t>(j)]);
        std::int64_t flat = idx[static_cast<std::size_t>(i)];
        Factors f{};
        for (int k = kNumFactors - 1; k >= 0; --k) {  // last factor varies fastest, like Shapes3D
            f[k] = static_cast<int>(flat % kFactorSizes[k]);
            flat /= kFactorSizes[k];
        }
        out.push_back(f);
    }
    return out;
}

Dataset generate(const std::vector<Factors>& factors, const GenerateOptions& opt) {
    const int dom = factor_index(opt.domain_factor);
    for (const auto& f : factors) check_factors(f);
    Dataset ds;
    ds.source = fmt::format("synthetic shapes (domain {})", opt.domain_factor);
    ds.count = static_cast<std::int64_t>(factors.size());
    ds.height = ds.width = opt.render.size;
    ds.channels = 3;
    ds.n_domains = kFactorSizes[dom];
    if (dom == 4) ds.domain_names.assign(kShapeNames.begin(), kShapeNames.end());
    for (int k = 0; k < kNumFactors; ++k)
        if (k != dom) {
            ds.attribute_names.push_back(kFactorNames[k]);
            ds.attribute_classes.push_back(kFactorSizes[k]);
            ds.attribute_value_names.push_back(k == 4 ? std::vector<std::string>(kShapeNames.begin(), kShapeNames.end())
                                                      : std::vector<std::string>{});
        }
    ds.domains.resize(factors.size());
    ds.attributes.reserve(factors.size() * (kNumFactors - 1));
    for (std::size_t i = 0; i < factors.size(); ++i) {
        ds.domains[i] = factors[i][dom];
        for (int k = 0; k < kNumFactors; ++k)
            if (k != dom) ds.attributes.push_back(factors[i][k]);
    }
    const std::int64_t per = ds.image_numel();
    ds.pixels_u8.resize(static_cast<std::size_t>(ds.count * per));
#pragma omp parallel for schedule(dynamic, 8)
    for (std::int64_t i = 0; i < ds.count; ++i) render(factors[i], &ds.pixels_u8[i * per], opt.render);
    return ds;
}

Dataset generate(std::int64_t n, std::uint64_t seed, const GenerateOptions& opt) {
    return generate(sample_factors(n, seed), opt);
}

Factors factors_of(const Dataset& ds, std::int64_t i, const std::string& domain_factor) {
    const int dom = factor_index(domain_factor);
    DCODR_CHECK(ds.num_attributes() == kNumFactors - 1, "factors_of: '{}' has {} attributes, expected 5", ds.source,
                ds.num_attributes());
    Factors f{};
    int a = 0;
    for (int k = 0; k < kNumFactors; ++k) f[k] = k == dom ? static_cast<int>(ds.domains[i]) : static_cast<int>(ds.attribute(i, a++));
    return f;
}

}  // namespace dcodr::data::shapes
