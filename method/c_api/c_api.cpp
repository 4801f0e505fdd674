// The C API (dcodr.h) over the inference library: method/encoder_file.h opens the file and
// computes codes, data/image.h preprocesses exactly as load_batch does for `dcodr encode`.
// Every entry point catches everything: no C++ exception crosses into C.
#include "method/c_api/dcodr.h"

#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <limits>
#include <memory>
#include <mutex>
#include <new>
#include <string>
#include <vector>

#include "data/image.h"
#include "method/encoder_file.h"
#include "tensor/backend.h"
#include "tensor/checked_math.h"
#include "tensor/error.h"

#ifdef _OPENMP
#include <omp.h>
#endif

struct dcodr_encoder {
    std::shared_ptr<dcodr::nn::DcodrEncoder> model;  // eval mode, CPU; never modified after open
    dcodr::method::EncoderInfo info;
};

namespace {

using dcodr::Tensor;

thread_local std::string t_last_error;

// Building a model draws its (then overwritten) initial weights from the library's one random
// generator, which is not thread-safe: opens take turns.
std::mutex g_open_mutex;

// Images are encoded in chunks of this many, so memory stays bounded for any count: at 64x64 a
// ResNet-50 peaks at ~0.3 GB with 32 per pass against ~1.3 GB with dcodr encode's default 256
// (docs/performance.md), at about the same speed. Codes do not depend on the chunking beyond
// float rounding (~1e-8; tests/c_api_example.sh compares with dcodr encode's batches of 256).
constexpr std::int64_t kChunk = 32;
constexpr std::int64_t kMaxSide = 16384;

dcodr_status failed(dcodr_status status, std::string message) {
    t_last_error = std::move(message);
    return status;
}

// Runs `body`; an exception becomes a status and this thread's message. dcodr::Error means
// `error_status` (a bad file when opening, a bug anywhere else).
template <class Body>
dcodr_status guarded(const char* what, dcodr_status error_status, Body&& body) {
    try {
        return body();
    } catch (const dcodr::Error& e) {
        return failed(error_status, fmt::format("{}: {}", what, e.what()));
    } catch (const std::bad_alloc&) {
        return failed(DCODR_ERR_OUT_OF_MEMORY, fmt::format("{}: out of memory", what));
    } catch (const std::exception& e) {
        return failed(DCODR_ERR_INTERNAL, fmt::format("{}: {}", what, e.what()));
    } catch (...) {
        return failed(DCODR_ERR_INTERNAL, fmt::format("{}: unknown exception", what));
    }
}

dcodr_status check_batch(const char* fn, const dcodr_encoder* encoder, const void* images, std::int64_t count,
                         std::int64_t channels, std::int64_t height, std::int64_t width, const float* codes) {
    if (!encoder) return failed(DCODR_ERR_INVALID_ARGUMENT, fmt::format("{}: encoder is NULL", fn));
    if (count < 0) return failed(DCODR_ERR_INVALID_ARGUMENT, fmt::format("{}: count is {}, expected >= 0", fn, count));
    if (channels != 1 && channels != 3)
        return failed(DCODR_ERR_INVALID_ARGUMENT, fmt::format("{}: channels is {}, expected 1 or 3", fn, channels));
    if (height < 1 || height > kMaxSide || width < 1 || width > kMaxSide)
        return failed(DCODR_ERR_INVALID_ARGUMENT, fmt::format("{}: image size {} x {} (height x width), expected "
                                                              "1..{} each", fn, height, width, kMaxSide));
    if (count > std::numeric_limits<std::int64_t>::max() / (channels * height * width))
        return failed(DCODR_ERR_INVALID_ARGUMENT, fmt::format("{}: count {} of {} x {} x {} images overflows", fn,
                                                              count, channels, height, width));
    if (count > 0 && (!images || !codes))
        return failed(DCODR_ERR_INVALID_ARGUMENT, fmt::format("{}: {} is NULL", fn, images ? "codes" : "images"));
    return DCODR_OK;
}

// Shared body of both encode calls. `planar_of(i, buffer)` returns image i as planar [C, H, W]
// floats in [0, 1] (in `buffer` or in place).
template <class PlanarOf>
dcodr_status encode(const char* fn, const dcodr_encoder* encoder, std::int64_t count, std::int64_t channels,
                    std::int64_t height, std::int64_t width, float* codes, PlanarOf&& planar_of) {
    return guarded(fn, DCODR_ERR_INTERNAL, [&] {
        const auto& info = encoder->info;
        const std::int64_t oc = info.channels, side = info.image_size, code_size = info.config.code_dim;
        const std::int64_t total = dcodr::checked_mul(count, code_size, "code count");
        const dcodr::data::Resampler resampler(height, width, side, side);
        const std::int64_t in_numel = channels * height * width, out_plane = side * side;
        std::vector<float> result(static_cast<std::size_t>(total));  // written to `codes` only on success
        for (std::int64_t at = 0; at < count; at += kChunk) {
            const std::int64_t n = std::min(kChunk, count - at);
            Tensor batch = Tensor::empty({n, oc, side, side});
            float* dst = batch.data<float>();
#pragma omp parallel
            {
                std::vector<float> buffer(static_cast<std::size_t>(in_numel)),
                    scratch(static_cast<std::size_t>(channels * out_plane));
#pragma omp for schedule(static)
                for (std::int64_t b = 0; b < n; ++b)
                    dcodr::data::planar_to_input(planar_of(at + b, buffer.data()), channels, resampler, oc,
                                                 scratch.data(), dst + b * oc * out_plane);
            }
            Tensor z = dcodr::method::encode_codes(*encoder->model, batch).contiguous();
            std::memcpy(result.data() + at * code_size, z.data<float>(),
                        static_cast<std::size_t>(n * code_size) * sizeof(float));
        }
        if (total > 0) std::memcpy(codes, result.data(), result.size() * sizeof(float));
        return DCODR_OK;
    });
}

}  // namespace

extern "C" {

int dcodr_api_version(void) { return DCODR_API_VERSION; }
const char* dcodr_version_string(void) { return "0.1.0"; }

const char* dcodr_status_name(dcodr_status status) {
    switch (status) {
        case DCODR_OK: return "DCODR_OK";
        case DCODR_ERR_INVALID_ARGUMENT: return "DCODR_ERR_INVALID_ARGUMENT";
        case DCODR_ERR_IO: return "DCODR_ERR_IO";
        case DCODR_ERR_FORMAT: return "DCODR_ERR_FORMAT";
        case DCODR_ERR_OUT_OF_MEMORY: return "DCODR_ERR_OUT_OF_MEMORY";
        case DCODR_ERR_INTERNAL: return "DCODR_ERR_INTERNAL";
    }
    return "unknown status";
}

const char* dcodr_last_error(void) { return t_last_error.c_str(); }

dcodr_status dcodr_encoder_open(const char* path, dcodr_encoder** out) {
    if (!out) return failed(DCODR_ERR_INVALID_ARGUMENT, "dcodr_encoder_open: out is NULL");
    *out = nullptr;
    if (!path) return failed(DCODR_ERR_INVALID_ARGUMENT, "dcodr_encoder_open: path is NULL");
    // File-system problems are told apart from bad contents (DCODR_ERR_IO vs _FORMAT).
    std::error_code ec;
    auto st = std::filesystem::status(path, ec);
    if (ec || !std::filesystem::exists(st))
        return failed(DCODR_ERR_IO, fmt::format("cannot open '{}': {}", path,
                                                ec ? ec.message() : std::string("no such file")));
    if (!std::filesystem::is_regular_file(st))
        return failed(DCODR_ERR_IO, fmt::format("cannot open '{}': not a regular file", path));
    if (std::FILE* f = std::fopen(path, "rb")) {
        std::fclose(f);
    } else {
        return failed(DCODR_ERR_IO, fmt::format("cannot open '{}': {}", path, std::strerror(errno)));
    }
    return guarded("dcodr_encoder_open", DCODR_ERR_FORMAT, [&] {
        auto handle = std::make_unique<dcodr_encoder>();
        {
            std::lock_guard<std::mutex> lock(g_open_mutex);
            dcodr::method::LoadedEncoder loaded = dcodr::method::load_encoder_file(path, dcodr::Device::cpu());
            handle->model = std::move(loaded.encoder);
            handle->info = std::move(loaded.info);
        }
        *out = handle.release();
        return DCODR_OK;
    });
}

void dcodr_encoder_free(dcodr_encoder* encoder) { delete encoder; }

int64_t dcodr_encoder_input_height(const dcodr_encoder* e) { return e ? e->info.image_size : -1; }
int64_t dcodr_encoder_input_width(const dcodr_encoder* e) { return e ? e->info.image_size : -1; }
int64_t dcodr_encoder_input_channels(const dcodr_encoder* e) { return e ? e->info.channels : -1; }
int64_t dcodr_encoder_code_size(const dcodr_encoder* e) { return e ? e->info.config.code_dim : -1; }

dcodr_status dcodr_encode_u8_hwc(const dcodr_encoder* encoder, const uint8_t* images, int64_t count, int64_t height,
                                 int64_t width, int64_t channels, float* codes) {
    const char* fn = "dcodr_encode_u8_hwc";
    if (dcodr_status s = check_batch(fn, encoder, images, count, channels, height, width, codes); s != DCODR_OK)
        return s;
    const std::int64_t plane = height * width, numel = plane * channels;
    const float* unit = dcodr::data::byte_to_unit_table();
    return encode(fn, encoder, count, channels, height, width, codes, [&](std::int64_t i, float* buffer) {
        const uint8_t* src = images + i * numel;  // interleaved HWC -> planar CHW, as load_batch does
        for (std::int64_t p = 0; p < plane; ++p)
            for (std::int64_t c = 0; c < channels; ++c) buffer[c * plane + p] = unit[src[p * channels + c]];
        return static_cast<const float*>(buffer);
    });
}

dcodr_status dcodr_encode_f32_chw(const dcodr_encoder* encoder, const float* images, int64_t count, int64_t channels,
                                  int64_t height, int64_t width, float* codes) {
    const char* fn = "dcodr_encode_f32_chw";
    if (dcodr_status s = check_batch(fn, encoder, images, count, channels, height, width, codes); s != DCODR_OK)
        return s;
    const std::int64_t numel = channels * height * width;
    for (std::int64_t i = 0; i < count * numel; ++i)
        if (!std::isfinite(images[i]))
            return failed(DCODR_ERR_INVALID_ARGUMENT, fmt::format("{}: image {} holds a non-finite value ({}) at "
                                                                  "offset {}", fn, i / numel, images[i], i % numel));
    return encode(fn, encoder, count, channels, height, width, codes,
                  [&](std::int64_t i, float*) { return images + i * numel; });
}

dcodr_status dcodr_set_num_threads(int threads) {
    if (threads < 1)
        return failed(DCODR_ERR_INVALID_ARGUMENT, fmt::format("dcodr_set_num_threads: {} threads, expected >= 1",
                                                              threads));
    return guarded("dcodr_set_num_threads", DCODR_ERR_INTERNAL, [&] {
        dcodr::set_num_threads(threads);
        return DCODR_OK;
    });
}

}  // extern "C"
