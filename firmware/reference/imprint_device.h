/* The device side of the Imprint provisioning protocol v1.1 (docs/device-protocol.md), in portable
 * C99 without dynamic allocation. Feed it the bytes your UART receives; it answers through the HAL
 * (imprint_hal.h). Everything it needs lives in one struct imprint_device, about 6 KB of RAM. */
#ifndef IMPRINT_DEVICE_H
#define IMPRINT_DEVICE_H

#include <stddef.h>
#include <stdint.h>

/* The longest request this build can take (the buffer). The max= it announces can be smaller. */
#ifndef IMPRINT_LINE_MAX
#define IMPRINT_LINE_MAX 512
#endif
#define IMPRINT_CACHE_ENTRIES 16 /* the protocol asks for the last 16 replies */
#define IMPRINT_REPLY_MAX 256    /* our longest reply (IDENTITY) is under 200 bytes */

/* Who the device is: fixed at build or read from eFuses at boot. */
struct imprint_device_config {
    const char *serial; /* 1-32 printable ASCII characters, as on the label */
    const char *mac;    /* "A4:CF:12:0B:9E:01", or NULL */
    const char *gtin;   /* 14 digits, or NULL */
    const char *model;  /* 1-32 of A-Z a-z 0-9 . _ - */
    const char *fw;     /* 1-32 of A-Z a-z 0-9 . _ + - */
    uint16_t max;       /* the max= to announce: 128 .. IMPRINT_LINE_MAX */
    int allow_reset;    /* 1 only on rework-bench builds: accept RESET */
};

/* The provisioning configuration (CONFIG), as stored. Strings are NUL-terminated. */
struct imprint_config {
    char realm[49];
    char device_id[23];
    char pairing_url[257];
    char broker_url[257]; /* "" when there is none */
};

struct imprint_cache_entry {
    uint16_t seq;          /* 0: free slot */
    uint8_t line_hash[32]; /* SHA-256 of the request line: cheaper than keeping the line */
    uint16_t len;
    char reply[IMPRINT_REPLY_MAX];
};

struct imprint_device {
    struct imprint_device_config cfg;
    char line[IMPRINT_LINE_MAX];
    size_t len;
    int overflow; /* dropping a line longer than max, up to its LF */
    struct imprint_cache_entry cache[IMPRINT_CACHE_ENTRIES];
    unsigned cache_next; /* the oldest slot, overwritten next */
    struct imprint_config config;
    struct imprint_config staged; /* CONFIG parts received with more=1 (RAM only) */
    unsigned staged_keys;
    char reply[IMPRINT_REPLY_MAX];
    size_t reply_len;
};

/* Load the stored configuration; call once at boot. */
void imprint_device_init(struct imprint_device *d, const struct imprint_device_config *cfg);
/* Read what the UART has received and handle every complete line. Call it from the main loop. */
void imprint_device_poll(struct imprint_device *d);
/* Or hand it one received byte at a time. */
void imprint_device_rx(struct imprint_device *d, uint8_t byte);

#endif
