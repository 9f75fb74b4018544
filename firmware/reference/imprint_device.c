/* Imprint provisioning protocol v1.1, device side. Section numbers refer to docs/device-protocol.md. */
#include "imprint_device.h"

#include <string.h>

#include "imprint_hal.h"
#include "sha256.h"

/* OTP layout (section 8): markers are programmed to 0x00; erased bytes read 0xFF. */
#define OTP_STARTED 0
#define OTP_SECRET 1
#define OTP_DONE 45
#define OTP_LOCKED 46
#define OTP_SIZE 47
#define SECRET_LEN 44
#define STORAGE_LIMIT_MS 2000u

enum storage { EMPTY, WRITTEN, LOCKED, TORN, UNREADABLE };

/* Known request keys, decoded in place; NULL when absent. */
struct args {
    const char *v, *secret, *realm, *device_id, *pairing_url, *broker_url, *more;
};

static const char B64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char HEX[] = "0123456789ABCDEF";

/* ---- small helpers ------------------------------------------------------------------------- */

static uint16_t crc16(const char *p, size_t n) /* CRC-16/CCITT-FALSE */
{
    uint16_t crc = 0xFFFF;
    while (n--) {
        int i;
        crc ^= (uint16_t)((uint8_t)*p++ << 8);
        for (i = 0; i < 8; i++) crc = (uint16_t)(crc & 0x8000 ? (crc << 1) ^ 0x1021 : crc << 1);
    }
    return crc;
}

static int hexval(char c) /* either case, for %XX */
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

static int upper_hex4(const char *p, uint16_t *out) /* seq and CRC: upper case only */
{
    int i;
    *out = 0;
    for (i = 0; i < 4; i++) {
        if (!((p[i] >= '0' && p[i] <= '9') || (p[i] >= 'A' && p[i] <= 'F'))) return 0;
        *out = (uint16_t)(*out << 4 | hexval(p[i]));
    }
    return 1;
}

static int in(char c, const char *set) { return c != 0 && strchr(set, c) != NULL; }
static int lower(char c) { return c >= 'a' && c <= 'z'; }
static int digit(char c) { return c >= '0' && c <= '9'; }

/* UTF-8, one byte at a time: *need continuation bytes still expected within [*lo, *hi]. */
static int utf8_step(uint8_t b, int *need, uint8_t *lo, uint8_t *hi)
{
    if (*need > 0) {
        if (b < *lo || b > *hi) return 0;
        (*need)--;
        *lo = 0x80, *hi = 0xBF;
        return 1;
    }
    *lo = 0x80, *hi = 0xBF;
    if (b < 0x80) return 1;
    if (b >= 0xC2 && b <= 0xDF) return *need = 1, 1;
    if (b == 0xE0) return *need = 2, *lo = 0xA0, 1;
    if (b == 0xED) return *need = 2, *hi = 0x9F, 1; /* no UTF-16 surrogates */
    if (b >= 0xE1 && b <= 0xEF) return *need = 2, 1;
    if (b == 0xF0) return *need = 3, *lo = 0x90, 1;
    if (b >= 0xF1 && b <= 0xF3) return *need = 3, 1;
    if (b == 0xF4) return *need = 3, *hi = 0x8F, 1;
    return 0;
}

/* Section 2: raw bytes 0x21-0x7E but %, or %XX; decodes to UTF-8 without NUL. */
static int value_ok(const char *p, size_t n)
{
    int need = 0;
    uint8_t lo = 0x80, hi = 0xBF;
    size_t i;
    for (i = 0; i < n; i++) {
        int b = (uint8_t)p[i];
        if (b == '%') {
            if (i + 2 >= n || hexval(p[i + 1]) < 0 || hexval(p[i + 2]) < 0) return 0;
            b = hexval(p[i + 1]) << 4 | hexval(p[i + 2]);
            i += 2;
            if (b == 0) return 0;
        } else if (b < 0x21 || b > 0x7E) {
            return 0;
        }
        if (!utf8_step((uint8_t)b, &need, &lo, &hi)) return 0;
    }
    return need == 0;
}

static size_t percent_decode(char *p, size_t n) /* in place; the value was checked by value_ok */
{
    size_t i, o = 0;
    for (i = 0; i < n; i++, o++) {
        if (p[i] == '%') {
            p[o] = (char)(hexval(p[i + 1]) << 4 | hexval(p[i + 2]));
            i += 2;
        } else {
            p[o] = p[i];
        }
    }
    p[o] = 0;
    return o;
}

/* ---- value rules (sections 4 and 5) -------------------------------------------------------- */

static int canonical_secret(const char *s) /* 43 Base64 characters, '=', no stray bits */
{
    size_t i;
    if (strlen(s) != SECRET_LEN || s[43] != '=') return 0;
    for (i = 0; i < 43; i++)
        if (!in(s[i], B64)) return 0;
    return in(s[42], "AEIMQUYcgkosw048");
}

static int realm_ok(const char *s)
{
    size_t i, n = strlen(s);
    if (n < 1 || n > 48 || !lower(s[0])) return 0;
    for (i = 1; i < n; i++)
        if (!lower(s[i]) && !digit(s[i])) return 0;
    return 1;
}

static int device_id_ok(const char *s) /* canonical base64url of 16 bytes */
{
    size_t i;
    if (strlen(s) != 22) return 0;
    for (i = 0; i < 22; i++)
        if (!in(s[i], "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")) return 0;
    return in(s[21], "AQgw");
}

static int printable(const char *s)
{
    for (; *s; s++)
        if ((uint8_t)*s < 0x21 || (uint8_t)*s > 0x7E) return 0;
    return 1;
}

static int pairing_url_ok(const char *s)
{
    size_t n = strlen(s);
    if (n > 256 || !printable(s)) return 0;
    return (strncmp(s, "http://", 7) == 0 && n > 7) || (strncmp(s, "https://", 8) == 0 && n > 8);
}

static int broker_url_ok(const char *s)
{
    const char *p = s;
    if (strlen(s) > 256 || !printable(s) || !lower(*p)) return 0;
    while (lower(*p) || digit(*p) || in(*p, "+.-")) p++;
    return strncmp(p, "://", 3) == 0 && p[3] != 0;
}

static int versions_ok(const char *v, int *has1) /* "1", "1,2": decimal, no leading zeros */
{
    *has1 = 0;
    for (;;) {
        const char *start = v;
        while (digit(*v)) v++;
        if (v == start || v - start > 9 || (*start == '0' && v - start > 1)) return 0;
        if (v - start == 1 && *start == '1') *has1 = 1;
        if (*v == 0) return 1;
        if (*v++ != ',') return 0;
    }
}

/* ---- secure storage (section 8) ------------------------------------------------------------ */

static enum storage storage_read(uint8_t secret[SECRET_LEN])
{
    uint8_t otp[OTP_SIZE];
    int started, done;
    if (hal_otp_read(0, otp, OTP_SIZE) != 0) return UNREADABLE;
    started = otp[OTP_STARTED] != 0xFF;
    done = otp[OTP_DONE] != 0xFF;
    if (!started && !done && otp[OTP_LOCKED] == 0xFF) return EMPTY;
    if (!started || !done) return TORN; /* a write cut short by power loss */
    memcpy(secret, otp + OTP_SECRET, SECRET_LEN);
    return otp[OTP_LOCKED] != 0xFF ? LOCKED : WRITTEN;
}

static void digest_hex(const uint8_t secret[SECRET_LEN], char out[65]) /* over the 44 characters */
{
    uint8_t h[32];
    int i;
    sha256(secret, SECRET_LEN, h);
    for (i = 0; i < 32; i++) {
        out[2 * i] = "0123456789abcdef"[h[i] >> 4];
        out[2 * i + 1] = "0123456789abcdef"[h[i] & 15];
    }
    out[64] = 0;
}

/* ---- replies ------------------------------------------------------------------------------- */

static void put(struct imprint_device *d, const char *s, size_t n)
{
    if (d->reply_len + n > IMPRINT_REPLY_MAX - 8) n = 0; /* never reached with validated values */
    memcpy(d->reply + d->reply_len, s, n);
    d->reply_len += n;
}

static void begin(struct imprint_device *d, uint16_t seq, const char *verb)
{
    char head[6] = {'<', HEX[seq >> 12], HEX[(seq >> 8) & 15], HEX[(seq >> 4) & 15], HEX[seq & 15], ' '};
    d->reply_len = 0;
    put(d, head, 6);
    put(d, verb, strlen(verb));
}

static void arg(struct imprint_device *d, const char *key, const char *value)
{
    put(d, " ", 1);
    put(d, key, strlen(key));
    put(d, "=", 1);
    for (; *value; value++) {
        uint8_t b = (uint8_t)*value;
        if (b > 0x20 && b < 0x7F && b != '%') {
            put(d, value, 1);
        } else {
            char esc[3] = {'%', HEX[b >> 4], HEX[b & 15]};
            put(d, esc, 3);
        }
    }
}

static void finish(struct imprint_device *d) /* " *CRC\n" */
{
    uint16_t crc = crc16(d->reply, d->reply_len);
    char tail[7] = {' ', '*', HEX[crc >> 12], HEX[(crc >> 8) & 15], HEX[(crc >> 4) & 15], HEX[crc & 15], '\n'};
    put(d, tail, 7);
}

static void reply_error(struct imprint_device *d, uint16_t seq, const char *code, const char *msg)
{
    begin(d, seq, "ERR");
    arg(d, "code", code);
    if (msg) arg(d, "msg", msg);
}

static void transmit(struct imprint_device *d) { hal_uart_write((const uint8_t *)d->reply, d->reply_len); }

/* ---- commands (section 4) ------------------------------------------------------------------ */

static void status_args(struct imprint_device *d, enum storage s, const uint8_t secret[SECRET_LEN])
{
    char digest[65];
    static const char *names[] = {"empty", "written", "locked", "torn"};
    arg(d, "state", names[s]);
    if (s == WRITTEN || s == LOCKED) {
        digest_hex(secret, digest);
        arg(d, "digest", digest);
    }
}

static void cmd_write(struct imprint_device *d, uint16_t seq, const char *secret)
{
    uint8_t stored[SECRET_LEN];
    static const uint8_t mark = 0x00;
    char digest[65];
    uint32_t t0;
    enum storage s;
    if (!secret || !canonical_secret(secret)) { reply_error(d, seq, "BAD_ARGUMENT", "secret: canonical Base64 of 32 bytes"); return; }
    s = storage_read(stored);
    if (s == UNREADABLE) { reply_error(d, seq, "DEVICE_FAULT", "storage unreadable"); return; }
    if (s == TORN) { reply_error(d, seq, "TORN", "storage is torn"); return; }
    if (s == WRITTEN || s == LOCKED) {
        if (memcmp(stored, secret, SECRET_LEN) != 0) {
            reply_error(d, seq, s == LOCKED ? "LOCKED" : "ALREADY_WRITTEN", "a different secret is stored");
            return;
        }
    } else {
        /* Started marker, secret, done marker: a power cut in between reads back as torn. */
        t0 = hal_millis();
        if (hal_otp_program(OTP_STARTED, &mark, 1) != 0 || hal_otp_program(OTP_SECRET, (const uint8_t *)secret, SECRET_LEN) != 0 ||
            hal_otp_program(OTP_DONE, &mark, 1) != 0) {
            reply_error(d, seq, "DEVICE_FAULT", "OTP programming failed");
            return;
        }
        if (hal_millis() - t0 > STORAGE_LIMIT_MS) {
            static const char warn[] = "warn: OTP programming took longer than the protocol's 2000 ms\n";
            hal_uart_write((const uint8_t *)warn, sizeof warn - 1); /* console text: not a frame */
        }
    }
    digest_hex((const uint8_t *)secret, digest);
    begin(d, seq, "OK");
    arg(d, "digest", digest);
}

static void cmd_lock(struct imprint_device *d, uint16_t seq)
{
    uint8_t secret[SECRET_LEN];
    static const uint8_t mark = 0x00;
    enum storage s = storage_read(secret);
    if (s == UNREADABLE) { reply_error(d, seq, "DEVICE_FAULT", "storage unreadable"); return; }
    if (s == EMPTY) { reply_error(d, seq, "NOT_ALLOWED", "nothing to lock: storage is empty"); return; }
    if (s == TORN) { reply_error(d, seq, "TORN", "storage is torn"); return; }
    if (s == WRITTEN && hal_otp_program(OTP_LOCKED, &mark, 1) != 0) { reply_error(d, seq, "DEVICE_FAULT", "OTP programming failed"); return; }
    begin(d, seq, "OK");
    status_args(d, LOCKED, secret);
}

#define K_REALM 1u
#define K_DEVICE_ID 2u
#define K_PAIRING_URL 4u
#define K_BROKER_URL 8u

static void cmd_config(struct imprint_device *d, uint16_t seq, const struct args *a)
{
    struct imprint_config *st = &d->staged;
    const char *problem = NULL;
    if (a->more && strcmp(a->more, "1") != 0) problem = "more: only 1";
    if (a->realm && !realm_ok(a->realm)) problem = "realm: 1-48 lowercase letters and digits";
    if (a->device_id && !device_id_ok(a->device_id)) problem = "device_id: canonical base64url of 16 bytes";
    if (a->pairing_url && !pairing_url_ok(a->pairing_url)) problem = "pairing_url: http(s) URL of at most 256 bytes";
    if (a->broker_url && !broker_url_ok(a->broker_url)) problem = "broker_url: scheme:// URL of at most 256 bytes";
    if (!problem) { /* lengths were checked above, so these copies fit */
        if (a->realm) strcpy(st->realm, a->realm), d->staged_keys |= K_REALM;
        if (a->device_id) strcpy(st->device_id, a->device_id), d->staged_keys |= K_DEVICE_ID;
        if (a->pairing_url) strcpy(st->pairing_url, a->pairing_url), d->staged_keys |= K_PAIRING_URL;
        if (a->broker_url) strcpy(st->broker_url, a->broker_url), d->staged_keys |= K_BROKER_URL;
        if (a->more) { begin(d, seq, "OK"); return; } /* a part: stage it, store nothing yet */
        if ((d->staged_keys & 7u) != 7u) problem = "realm, device_id and pairing_url are required";
    }
    if (problem) {
        reply_error(d, seq, "BAD_ARGUMENT", problem);
    } else {
        if (!(d->staged_keys & K_BROKER_URL)) st->broker_url[0] = 0; /* a whole CONFIG replaces */
        if (hal_config_save((const uint8_t *)st, sizeof *st) != 0) {
            reply_error(d, seq, "DEVICE_FAULT", "config storage failed");
        } else {
            d->config = *st;
            begin(d, seq, "OK");
        }
    }
    memset(st, 0, sizeof *st); /* staged keys are gone after the last part, stored or refused */
    d->staged_keys = 0;
}

static void execute(struct imprint_device *d, uint16_t seq, const char *verb, const struct args *a)
{
    uint8_t secret[SECRET_LEN];
    char max[8];
    enum storage s;
    int has1;
    if (strcmp(verb, "HELLO") == 0) {
        memset(&d->staged, 0, sizeof d->staged), d->staged_keys = 0; /* HELLO discards CONFIG parts */
        if (a->v && !versions_ok(a->v, &has1)) { reply_error(d, seq, "BAD_ARGUMENT", "v: decimal versions"); return; }
        if (a->v && !has1) { reply_error(d, seq, "UNSUPPORTED_VERSION", "device speaks version 1"); return; }
        begin(d, seq, "OK");
        arg(d, "v", "1");
        arg(d, "minor", "1");
        arg(d, "model", d->cfg.model);
        arg(d, "fw", d->cfg.fw);
        arg(d, "caps", d->cfg.allow_reset ? "write,lock,config,reset" : "write,lock,config");
        max[0] = (char)('0' + d->cfg.max / 100), max[1] = (char)('0' + d->cfg.max / 10 % 10);
        max[2] = (char)('0' + d->cfg.max % 10), max[3] = 0;
        arg(d, "max", max);
    } else if (strcmp(verb, "IDENTITY") == 0) {
        begin(d, seq, "OK");
        arg(d, "serial", d->cfg.serial);
        if (d->cfg.mac) arg(d, "mac", d->cfg.mac);
        if (d->cfg.gtin) arg(d, "gtin", d->cfg.gtin);
        if (d->config.device_id[0]) arg(d, "device_id", d->config.device_id);
    } else if (strcmp(verb, "STATUS") == 0) {
        s = storage_read(secret);
        if (s == UNREADABLE) { reply_error(d, seq, "DEVICE_FAULT", "storage unreadable"); return; }
        begin(d, seq, "OK");
        status_args(d, s, secret);
    } else if (strcmp(verb, "WRITE") == 0) {
        cmd_write(d, seq, a->secret);
    } else if (strcmp(verb, "LOCK") == 0) {
        cmd_lock(d, seq);
    } else if (strcmp(verb, "CONFIG") == 0) {
        cmd_config(d, seq, a);
    } else if (strcmp(verb, "RESET") == 0) {
        if (!d->cfg.allow_reset) { reply_error(d, seq, "NOT_ALLOWED", "factory reset is disabled"); return; }
        if (hal_factory_erase() != 0) { reply_error(d, seq, "DEVICE_FAULT", "erase failed"); return; }
        memset(&d->config, 0, sizeof d->config);
        memset(&d->staged, 0, sizeof d->staged), d->staged_keys = 0;
        begin(d, seq, "OK");
        arg(d, "state", "empty");
    } else {
        reply_error(d, seq, "UNKNOWN_COMMAND", NULL);
    }
}

/* ---- one line (sections 2 and 3) ----------------------------------------------------------- */

static void refuse(struct imprint_device *d, uint16_t seq, const char *code) /* BAD_FRAME, BAD_CRC: not cached */
{
    reply_error(d, seq, code, NULL);
    finish(d);
    transmit(d);
}

static int key_ok(const char *k, size_t n)
{
    size_t i;
    if (n < 1 || n > 32 || !lower(k[0])) return 0;
    for (i = 1; i < n; i++)
        if (!lower(k[i]) && !digit(k[i]) && k[i] != '_') return 0;
    return 1;
}

/* Check the arguments of body[from, end) without changing them: grammar, values, repeated keys. */
static int args_ok(const char *l, size_t from, size_t end)
{
    size_t t = from;
    while (t < end) {
        size_t e = t, eq, u;
        while (e < end && l[e] != ' ') e++;
        for (eq = t; eq < e && l[eq] != '='; eq++) {}
        if (eq == e || !key_ok(l + t, eq - t) || !value_ok(l + eq + 1, e - eq - 1)) return 0;
        for (u = from; u < t;) { /* was this key already given? */
            size_t ue = u, ueq;
            while (l[ue] != ' ') ue++;
            for (ueq = u; l[ueq] != '='; ueq++) {}
            if (ueq - u == eq - t && memcmp(l + u, l + t, eq - t) == 0) return 0;
            u = ue + 1;
        }
        if (e < end && e + 1 == end) return 0; /* a trailing space */
        t = e + 1;
    }
    return 1;
}

static void decode_args(char *l, size_t from, size_t end, struct args *a)
{
    size_t t = from;
    while (t < end) {
        size_t e = t, eq;
        const char **slot = NULL;
        while (e < end && l[e] != ' ') e++;
        for (eq = t; l[eq] != '='; eq++) {}
#define KEY(name) (eq - t == sizeof name - 1 && memcmp(l + t, name, eq - t) == 0)
        if (KEY("v")) slot = &a->v;
        else if (KEY("secret")) slot = &a->secret;
        else if (KEY("realm")) slot = &a->realm;
        else if (KEY("device_id")) slot = &a->device_id;
        else if (KEY("pairing_url")) slot = &a->pairing_url;
        else if (KEY("broker_url")) slot = &a->broker_url;
        else if (KEY("more")) slot = &a->more;
#undef KEY
        if (slot) { /* unknown keys are ignored */
            percent_decode(l + eq + 1, e - eq - 1);
            *slot = l + eq + 1;
        }
        t = e + 1;
    }
}

static struct imprint_cache_entry *cached(struct imprint_device *d, uint16_t seq, const uint8_t hash[32])
{
    unsigned i;
    for (i = 0; i < IMPRINT_CACHE_ENTRIES; i++)
        if (d->cache[i].seq == seq && memcmp(d->cache[i].line_hash, hash, 32) == 0) return &d->cache[i];
    return NULL;
}

static void remember(struct imprint_device *d, uint16_t seq, const uint8_t hash[32])
{
    unsigned i;
    struct imprint_cache_entry *e;
    for (i = 0; i < IMPRINT_CACHE_ENTRIES; i++)
        if (d->cache[i].seq == seq) d->cache[i].seq = 0; /* a new line for this number replaces the old one */
    e = &d->cache[d->cache_next];
    d->cache_next = (d->cache_next + 1) % IMPRINT_CACHE_ENTRIES; /* the oldest goes first */
    e->seq = seq;
    memcpy(e->line_hash, hash, 32);
    e->len = (uint16_t)d->reply_len;
    memcpy(e->reply, d->reply, d->reply_len);
}

static void handle_line(struct imprint_device *d)
{
    char *l = d->line;
    size_t n = d->len, star, v;
    uint16_t seq, crc;
    uint8_t hash[32];
    struct args a = {0};
    struct imprint_cache_entry *hit;
    if (n > 0 && l[n - 1] == '\r') n--; /* CR LF ends a line too */
    if (n == 0 || l[0] != '>') return;  /* 1. not a request: console text, replies */
    if (n < 5 || !upper_hex4(l + 1, &seq) || seq == 0) return; /* 2. unreadable number */
    for (star = n - 1; star > 0 && !(l[star - 1] == ' ' && l[star] == '*'); star--) {}
    star = star > 0 ? star - 1 : 0;
    if (star == 0 || n - star != 6 || !upper_hex4(l + star + 2, &crc)) { /* 3. */
        refuse(d, seq, "BAD_FRAME");
        return;
    }
    if (crc16(l, star) != crc) { /* 4. damaged on the way: never executed, never cached */
        refuse(d, seq, "BAD_CRC");
        return;
    }
    sha256(l, n, hash);
    hit = cached(d, seq, hash);
    if (hit) { /* a retransmission: the same reply, not a second execution */
        hal_uart_write((const uint8_t *)hit->reply, hit->len);
        return;
    }
    /* 5. grammar: ">SSSS VERB key=value..." */
    for (v = 6; v < star && l[v] != ' '; v++) {}
    if (l[5] != ' ' || v == 6 || v - 6 > 16 || !(l[6] >= 'A' && l[6] <= 'Z') || !args_ok(l, v + 1, star) ||
        (v < star && v + 1 == star)) {
        refuse(d, seq, "BAD_FRAME");
        return;
    }
    {
        size_t i;
        for (i = 7; i < v; i++)
            if (!((l[i] >= 'A' && l[i] <= 'Z') || l[i] == '_')) {
                refuse(d, seq, "BAD_FRAME");
                return;
            }
    }
    decode_args(l, v + 1, star, &a);
    l[v] = 0; /* the verb as a string */
    if (strcmp(l + 6, "HELLO") == 0) memset(d->cache, 0, sizeof d->cache); /* a new session */
    execute(d, seq, l + 6, &a);
    finish(d);
    remember(d, seq, hash);
    transmit(d);
}

/* ---- bytes in ------------------------------------------------------------------------------ */

void imprint_device_rx(struct imprint_device *d, uint8_t byte)
{
    if (byte == '\n') {
        if (!d->overflow) handle_line(d);
        d->len = 0;
        d->overflow = 0;
    } else if (d->overflow || d->len + 1 >= d->cfg.max) {
        d->overflow = 1; /* longer than max with its LF: dropped up to the LF, no reply */
    } else {
        d->line[d->len++] = (char)byte;
    }
}

void imprint_device_poll(struct imprint_device *d)
{
    uint8_t buf[64];
    size_t n, i;
    while ((n = hal_uart_read(buf, sizeof buf)) > 0)
        for (i = 0; i < n; i++) imprint_device_rx(d, buf[i]);
}

void imprint_device_init(struct imprint_device *d, const struct imprint_device_config *cfg)
{
    memset(d, 0, sizeof *d);
    d->cfg = *cfg;
    if (d->cfg.max > IMPRINT_LINE_MAX) d->cfg.max = IMPRINT_LINE_MAX;
    if (d->cfg.max > 512) d->cfg.max = 512; /* the protocol's range is 128..512 */
    if (d->cfg.max < 128) d->cfg.max = 128;
    if (hal_config_load((uint8_t *)&d->config, sizeof d->config) != (int)sizeof d->config) memset(&d->config, 0, sizeof d->config);
    d->config.realm[48] = d->config.device_id[22] = d->config.pairing_url[256] = d->config.broker_url[256] = 0;
}
