/* SHA-256 (FIPS 180-4), small and allocation-free. Replace with your SDK's or the crypto
 * accelerator's implementation if you have one: the protocol only needs sha256(). */
#ifndef IMPRINT_SHA256_H
#define IMPRINT_SHA256_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint32_t state[8];
    uint64_t length; /* bytes hashed so far */
    uint8_t block[64];
    size_t used;     /* bytes in block */
} sha256_ctx;

void sha256_init(sha256_ctx *c);
void sha256_update(sha256_ctx *c, const void *data, size_t len);
void sha256_final(sha256_ctx *c, uint8_t out[32]);
void sha256(const void *data, size_t len, uint8_t out[32]);

#endif
