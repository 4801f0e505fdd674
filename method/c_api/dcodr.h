/* dcodr.h: the C API of dcodr, for programs that embed a trained DCoDR encoder.
 *
 * Open an encoder file written by `dcodr train` (encoder.safetensors, or a checkpoint; float32,
 * float16 or bfloat16 weights), ask its input size and code size, turn batches of images into
 * L2-normalised codes, free it. Plain C (C99 and later, and C++), opaque handles, status codes,
 * and a message for every failure. The preprocessing is `dcodr encode`'s: pixels scaled to
 * [0, 1] (uint8 / 255; no mean/std normalisation), each image resized to the encoder's input
 * size (area averaging when shrinking, bilinear when enlarging), gray tiled to 3 channels.
 * Codes computed here equal `dcodr encode`'s for the same images.
 *
 * Threads: any number of threads may call dcodr_encode_* on one handle at the same time (an
 * open encoder is read-only; no lock is taken). dcodr_encoder_free must not run while another
 * thread still uses the handle. dcodr_encoder_open may be called from several threads (opens are
 * serialised inside). Error messages are per thread (dcodr_last_error).
 *
 * Linking: pkg-config --cflags --libs dcodr (the shared library libdcodr). docs/embedding.md
 * has the details and tools/examples/encode_example.c a complete program.
 *
 * Stability: functions are only ever added; DCODR_API_VERSION counts additions. Nothing here
 * exposes a struct layout, so a newer library runs programs built against an older header. */
#ifndef DCODR_H
#define DCODR_H

#include <stddef.h>
#include <stdint.h>

#if defined(__GNUC__) || defined(__clang__)
#define DCODR_API __attribute__((visibility("default")))
#else
#define DCODR_API
#endif

#ifdef __cplusplus
extern "C" {
#endif

#define DCODR_API_VERSION 1

/* An opened encoder. Created by dcodr_encoder_open, released by dcodr_encoder_free. */
typedef struct dcodr_encoder dcodr_encoder;

typedef enum dcodr_status {
    DCODR_OK = 0,
    DCODR_ERR_INVALID_ARGUMENT = 1, /* a NULL pointer, a size, channel count or pixel value out of range */
    DCODR_ERR_IO = 2,               /* the file is missing, not a regular file, or unreadable */
    DCODR_ERR_FORMAT = 3,           /* the file is not an encoder dcodr can open (the message says why) */
    DCODR_ERR_OUT_OF_MEMORY = 4,
    DCODR_ERR_INTERNAL = 5          /* anything else; the message says what */
} dcodr_status;

/* DCODR_API_VERSION of the library actually loaded, and its version string ("0.1.0"). */
DCODR_API int dcodr_api_version(void);
DCODR_API const char* dcodr_version_string(void);
/* "DCODR_OK", "DCODR_ERR_IO", ...; "unknown status" for other values. */
DCODR_API const char* dcodr_status_name(dcodr_status status);
/* The message of the last call that failed on this thread ("" when none has). Valid until the
 * next failing call on the same thread. */
DCODR_API const char* dcodr_last_error(void);

/* Opens `path`. On success *out is a new handle; on failure *out is NULL. */
DCODR_API dcodr_status dcodr_encoder_open(const char* path, dcodr_encoder** out);
/* Releases the handle (NULL is allowed and does nothing). */
DCODR_API void dcodr_encoder_free(dcodr_encoder* encoder);

/* What the encoder was trained on and gives; -1 for a NULL handle. Images of any size are
 * accepted and resized to input_height x input_width, as dcodr encode does. */
DCODR_API int64_t dcodr_encoder_input_height(const dcodr_encoder* encoder);
DCODR_API int64_t dcodr_encoder_input_width(const dcodr_encoder* encoder);
DCODR_API int64_t dcodr_encoder_input_channels(const dcodr_encoder* encoder);
/* Floats per code: `codes` below holds count * code_size of them. */
DCODR_API int64_t dcodr_encoder_code_size(const dcodr_encoder* encoder);

/* Encodes `count` images into `codes` (count x code_size floats, row-major, each row of L2 norm
 * 1). Images are packed back to back:
 *   _u8_hwc:  uint8, height x width x channels interleaved (RGB or gray), 0..255;
 *   _f32_chw: float, channels x height x width planar, values in [0, 1] (finite).
 * channels is 1 or 3; height and width 1..16384 each. count 0 does nothing. On failure nothing
 * is written to `codes`. Any count is fine: images go through the model 32 at a time. */
DCODR_API dcodr_status dcodr_encode_u8_hwc(const dcodr_encoder* encoder, const uint8_t* images, int64_t count,
                                           int64_t height, int64_t width, int64_t channels, float* codes);
DCODR_API dcodr_status dcodr_encode_f32_chw(const dcodr_encoder* encoder, const float* images, int64_t count,
                                            int64_t channels, int64_t height, int64_t width, float* codes);

/* CPU threads the encoder's kernels use (process-wide, like the DCODR_THREADS environment
 * variable; it also sets OpenMP's count for the calling thread). threads >= 1. */
DCODR_API dcodr_status dcodr_set_num_threads(int threads);

#ifdef __cplusplus
}
#endif

#endif /* DCODR_H */
