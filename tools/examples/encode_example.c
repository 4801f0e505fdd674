/* encode_example.c: encode images with a trained dcodr encoder through the C API.
 *
 *   encode_example ENCODER.safetensors IMAGE.ppm [IMAGE.ppm ...]
 *
 * Reads binary PPM (P6, colour) or PGM (P5, gray) images of one size, encodes them in one
 * batch and prints one line per image: its file name, then its code's values. Copy it into
 * your program; build it with
 *   cc encode_example.c $(pkg-config --cflags --libs dcodr) -o encode_example
 * Exit status: 0 on success, 1 when the C API reports an error (printed with its message), 2 for
 * bad command-line use or an unreadable image. */
#include <dcodr.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Reads a binary PPM/PGM with maxval 255. Returns malloc'ed pixels (HWC) or NULL. */
static unsigned char* read_pnm(const char* path, int64_t* height, int64_t* width, int64_t* channels) {
    FILE* f = fopen(path, "rb");
    if (!f) return NULL;
    char magic[3] = {0};
    int w = 0, h = 0, maxval = 0;
    unsigned char* pixels = NULL;
    if (fscanf(f, "%2s %d %d %d", magic, &w, &h, &maxval) == 4 && fgetc(f) != EOF && maxval == 255 && w > 0 &&
        h > 0 && (strcmp(magic, "P6") == 0 || strcmp(magic, "P5") == 0)) {
        size_t c = magic[1] == '6' ? 3 : 1, n = (size_t)w * (size_t)h * c;
        pixels = malloc(n);
        if (pixels && fread(pixels, 1, n, f) != n) {
            free(pixels);
            pixels = NULL;
        }
        *height = h;
        *width = w;
        *channels = (int64_t)c;
    }
    fclose(f);
    return pixels;
}

int main(int argc, char** argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: %s ENCODER.safetensors IMAGE.ppm [IMAGE.ppm ...]\n", argv[0]);
        return 2;
    }
    dcodr_encoder* encoder = NULL;
    dcodr_status status = dcodr_encoder_open(argv[1], &encoder);
    if (status != DCODR_OK) {
        fprintf(stderr, "%s: %s\n", dcodr_status_name(status), dcodr_last_error());
        return 1;
    }
    const int64_t code_size = dcodr_encoder_code_size(encoder);
    fprintf(stderr, "encoder: %lld x %lld x %lld input, %lld-dimensional codes\n",
            (long long)dcodr_encoder_input_height(encoder), (long long)dcodr_encoder_input_width(encoder),
            (long long)dcodr_encoder_input_channels(encoder), (long long)code_size);

    /* All images into one HWC batch (the first image sets the size). */
    const int64_t count = argc - 2;
    int64_t height = 0, width = 0, channels = 0;
    unsigned char* batch = NULL;
    for (int64_t i = 0; i < count; ++i) {
        int64_t h, w, c;
        unsigned char* img = read_pnm(argv[2 + i], &h, &w, &c);
        if (!img) {
            fprintf(stderr, "cannot read '%s' (expected a binary PPM/PGM with maxval 255)\n", argv[2 + i]);
            free(batch);
            dcodr_encoder_free(encoder);
            return 2;
        }
        if (i == 0) {
            height = h;
            width = w;
            channels = c;
            batch = malloc((size_t)(count * h * w * c));
        }
        /* A mismatched image is passed on as is: the C API's own checks would not catch a
         * wrong buffer size, so refuse here. */
        if (!batch || h != height || w != width || c != channels) {
            fprintf(stderr, "'%s' is %lldx%lldx%lld, the first image %lldx%lldx%lld: one size per batch\n",
                    argv[2 + i], (long long)h, (long long)w, (long long)c, (long long)height, (long long)width,
                    (long long)channels);
            free(img);
            free(batch);
            dcodr_encoder_free(encoder);
            return 2;
        }
        memcpy(batch + i * h * w * c, img, (size_t)(h * w * c));
        free(img);
    }

    float* codes = malloc(sizeof(float) * (size_t)(count * code_size));
    status = codes ? dcodr_encode_u8_hwc(encoder, batch, count, height, width, channels, codes)
                   : DCODR_ERR_OUT_OF_MEMORY;
    if (status == DCODR_OK) {
        for (int64_t i = 0; i < count; ++i) {
            printf("%s", argv[2 + i]);
            for (int64_t j = 0; j < code_size; ++j) printf(" %.9g", codes[i * code_size + j]);
            printf("\n");
        }
    } else {
        fprintf(stderr, "%s: %s\n", dcodr_status_name(status), dcodr_last_error());
    }
    free(codes);
    free(batch);
    dcodr_encoder_free(encoder);
    return status == DCODR_OK ? 0 : 1;
}
