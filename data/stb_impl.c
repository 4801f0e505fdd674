/* The one translation unit that compiles stb's image decoder and PNG encoder (build-notes.md:
   compile the implementations once, do not link libstb.so). */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-parameter"
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#pragma GCC diagnostic ignored "-Wimplicit-fallthrough"
/* stb calls memcpy(NULL, src, 0) for an empty PNG IDAT chunk before any data (undefined
   behaviour that UBSan reports; found by tests/fuzz/fuzz_image): a zero-length copy is skipped. */
#include <string.h>
static inline void* dcodr_stb_memcpy(void* dst, const void* src, size_t n) { return n ? memcpy(dst, src, n) : dst; }
#define memcpy(d, s, n) dcodr_stb_memcpy((d), (s), (n))
#define STB_IMAGE_IMPLEMENTATION
#define STBI_ONLY_PNG
#define STBI_ONLY_JPEG
#define STBI_ONLY_BMP
#define STBI_ONLY_PNM
#define STB_IMAGE_WRITE_IMPLEMENTATION
#include <stb_image.h>
#include <stb_image_write.h>
#pragma GCC diagnostic pop
