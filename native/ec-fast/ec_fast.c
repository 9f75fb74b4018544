// ECDSA over P-256 and P-384 for the pairing core's two hot operations: checking a CSR's self-signature and
// signing a certificate with the CA key. It calls the OpenSSL that Node itself links (its exported symbols,
// headers from Node's include directory), through EC_KEY, not through Node's KeyObject: with OpenSSL 3.0 a
// KeyObject import of a device key costs ~110 µs (provider decoders, and a full n·Q subgroup check that a
// cofactor-1 curve does not need), the verification ~140 µs with its per-call algorithm fetches; here the
// whole check is ~65 µs and a signature ~22 µs instead of ~32–50 (docs/performance.md).
// src/pairing/native-addon.ts loads it and falls back to node:crypto when it is not built.
#define OPENSSL_SUPPRESS_DEPRECATED
#include <node_api.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/ecdsa.h>
#include <openssl/err.h>
#include <openssl/obj_mac.h>
#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

// One copy of each curve per Node environment (the main thread and each worker thread load the addon apart).
typedef struct {
  EC_GROUP *p256;
  EC_GROUP *p384;
} Curves;

static EC_GROUP *curve_for(napi_env env, int32_t bits) {
  Curves *c;
  if (napi_get_instance_data(env, (void **)&c) != napi_ok || !c) return NULL;
  return bits == 256 ? c->p256 : bits == 384 ? c->p384 : NULL;
}

// The message digest the ECDSA signature covers; its length, or 0 for an unsupported hash.
static int digest(int32_t bits, const unsigned char *data, size_t len, unsigned char *out) {
  if (bits == 256) return SHA256(data, len, out) ? 32 : 0;
  if (bits == 384) return SHA384(data, len, out) ? 48 : 0;
  if (bits == 512) return SHA512(data, len, out) ? 64 : 0;
  return 0;
}

static bool bytes_arg(napi_env env, napi_value v, unsigned char **data, size_t *len) {
  bool is_typed = false;
  if (napi_is_typedarray(env, v, &is_typed) != napi_ok || !is_typed) return false;
  napi_typedarray_type type;
  napi_value buffer;
  size_t offset;
  return napi_get_typedarray_info(env, v, &type, len, (void **)data, &buffer, &offset) == napi_ok &&
         type == napi_uint8_array;
}

static napi_value int_result(napi_env env, int32_t v) {
  napi_value out;
  napi_create_int32(env, v, &out);
  return out;
}

// verify(curveBits, point, hashBits, data, derSignature) → 1 valid, 0 not valid, -1 the point is not a key.
// The point (SEC1, compressed or not) must be on the curve and not the point at infinity; both curves have
// cofactor 1, so that is the whole key check. ECDSA_verify refuses a signature that is not strict DER.
static napi_value verify(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  int32_t curve_bits, hash_bits;
  unsigned char *point, *data, *sig;
  size_t point_len, data_len, sig_len;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 5 ||
      napi_get_value_int32(env, argv[0], &curve_bits) != napi_ok || !bytes_arg(env, argv[1], &point, &point_len) ||
      napi_get_value_int32(env, argv[2], &hash_bits) != napi_ok || !bytes_arg(env, argv[3], &data, &data_len) ||
      !bytes_arg(env, argv[4], &sig, &sig_len)) {
    napi_throw_type_error(env, NULL, "verify(curveBits, point, hashBits, data, signature)");
    return NULL;
  }
  EC_GROUP *group = curve_for(env, curve_bits);
  unsigned char md[64];
  int md_len = digest(hash_bits, data, data_len, md);
  if (!group || !md_len) {
    napi_throw_range_error(env, NULL, "unsupported curve or hash");
    return NULL;
  }
  int32_t result = -1;
  EC_KEY *key = EC_KEY_new();
  EC_POINT *p = EC_POINT_new(group);
  if (key && p && EC_KEY_set_group(key, group) && EC_POINT_oct2point(group, p, point, point_len, NULL) == 1 &&
      !EC_POINT_is_at_infinity(group, p) && EC_KEY_set_public_key(key, p)) {
    // No DER signature of these curves is over 160 bytes: a longer one is just not valid (the device's input).
    result = sig_len <= 160 && ECDSA_verify(0, md, md_len, sig, (int)sig_len, key) == 1 ? 1 : 0;
  }
  EC_POINT_free(p);
  EC_KEY_free(key);
  // A refused point or signature leaves errors on this thread's OpenSSL queue, which node:crypto shares: a later
  // call there (e.g. reading a PEM key) would take them for its own failure.
  ERR_clear_error();
  return int_result(env, result);
}

static void free_signer(napi_env env, void *data, void *hint) {
  EC_KEY_free((EC_KEY *)data);
}

// signer(curveBits, privateScalar) → an opaque signer for sign(). The scalar's public point is derived and the
// pair checked once here.
static napi_value signer(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  int32_t curve_bits;
  unsigned char *scalar;
  size_t scalar_len;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 2 ||
      napi_get_value_int32(env, argv[0], &curve_bits) != napi_ok || !bytes_arg(env, argv[1], &scalar, &scalar_len)) {
    napi_throw_type_error(env, NULL, "signer(curveBits, privateScalar)");
    return NULL;
  }
  EC_GROUP *group = curve_for(env, curve_bits);
  EC_KEY *key = group ? EC_KEY_new() : NULL;
  BIGNUM *d = BN_bin2bn(scalar, (int)scalar_len, NULL);
  EC_POINT *pub = group ? EC_POINT_new(group) : NULL;
  bool ok = key && d && pub && EC_KEY_set_group(key, group) && EC_KEY_set_private_key(key, d) &&
            EC_POINT_mul(group, pub, d, NULL, NULL, NULL) && EC_KEY_set_public_key(key, pub) && EC_KEY_check_key(key);
  BN_clear_free(d);
  EC_POINT_free(pub);
  ERR_clear_error();
  napi_value out;
  if (!ok || napi_create_external(env, key, free_signer, NULL, &out) != napi_ok) {
    EC_KEY_free(key);
    napi_throw_error(env, NULL, "not a private key of this curve");
    return NULL;
  }
  return out;
}

// sign(signer, hashBits, data) → the DER ECDSA signature over the data's digest.
static napi_value sign(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  EC_KEY *key;
  int32_t hash_bits;
  unsigned char *data;
  size_t data_len;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 3 ||
      napi_get_value_external(env, argv[0], (void **)&key) != napi_ok ||
      napi_get_value_int32(env, argv[1], &hash_bits) != napi_ok || !bytes_arg(env, argv[2], &data, &data_len)) {
    napi_throw_type_error(env, NULL, "sign(signer, hashBits, data)");
    return NULL;
  }
  unsigned char md[64], sig[160];
  unsigned int sig_len = sizeof sig;
  int md_len = digest(hash_bits, data, data_len, md);
  if (!md_len || ECDSA_size(key) > (int)sizeof sig || ECDSA_sign(0, md, md_len, sig, &sig_len, key) != 1) {
    ERR_clear_error();
    napi_throw_error(env, NULL, "ECDSA signing failed");
    return NULL;
  }
  napi_value out;
  void *copy;
  napi_create_buffer_copy(env, sig_len, sig, &copy, &out);
  return out;
}

// hmacSha256Equals(key, text, expected) → whether HMAC-SHA256(key, UTF-8 of text) equals expected (32 bytes),
// compared in constant time. The credentials secret's check on every device request (src/pairing/secret-hash.ts):
// by hand over SHA-256's low-level calls, because OpenSSL 3.0's one-shot HMAC() fetches its algorithm on every
// call, and node:crypto's createHmac builds a KeyObject-backed context (~3 µs warm, ~8 µs in the server).
static napi_value hmac_sha256_equals(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  unsigned char *key, *expected;
  size_t key_len, expected_len, text_len;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 3 ||
      !bytes_arg(env, argv[0], &key, &key_len) || !bytes_arg(env, argv[2], &expected, &expected_len) ||
      napi_get_value_string_utf8(env, argv[1], NULL, 0, &text_len) != napi_ok) {
    napi_throw_type_error(env, NULL, "hmacSha256Equals(key, text, expected)");
    return NULL;
  }
  char small[512];
  char *text = text_len < sizeof small ? small : malloc(text_len + 1);
  unsigned char block[64], md[SHA256_DIGEST_LENGTH];
  bool ok = text != NULL && napi_get_value_string_utf8(env, argv[1], text, text_len + 1, &text_len) == napi_ok;
  if (ok) {
    memset(block, 0, sizeof block);
    if (key_len > sizeof block) SHA256(key, key_len, block);
    else memcpy(block, key, key_len);
    SHA256_CTX ctx;
    for (size_t i = 0; i < sizeof block; i++) block[i] ^= 0x36;
    ok = SHA256_Init(&ctx) && SHA256_Update(&ctx, block, sizeof block) && SHA256_Update(&ctx, text, text_len) &&
         SHA256_Final(md, &ctx);
    for (size_t i = 0; i < sizeof block; i++) block[i] ^= 0x36 ^ 0x5c;
    ok = ok && SHA256_Init(&ctx) && SHA256_Update(&ctx, block, sizeof block) && SHA256_Update(&ctx, md, sizeof md) &&
         SHA256_Final(md, &ctx);
    OPENSSL_cleanse(&ctx, sizeof ctx);
  }
  // The secret's bytes and the key's pad do not outlive the call.
  if (text != NULL) OPENSSL_cleanse(text, text_len);
  if (text != small) free(text);
  OPENSSL_cleanse(block, sizeof block);
  if (!ok) {
    napi_throw_error(env, NULL, "HMAC-SHA256 failed");
    return NULL;
  }
  bool equal = expected_len == sizeof md && CRYPTO_memcmp(md, expected, sizeof md) == 0;
  napi_value out;
  napi_get_boolean(env, equal, &out);
  return out;
}

// A read-only view of a SQLite WAL-index (the database's -shm file) to tell whether anything was committed since it was
// last looked at: SQLite rewrites the index's 48-byte header on every commit, by any connection of any process, with
// one more in its change counter, the last frame's number and the WAL's running checksum
// (sqlite.org/walformat.html §2.2). The pairing store's row cache (src/pairing/store/sqlite-device-cache.ts) asks
// on every cached read and runs PRAGMA data_version (~2 µs alone with its two fcntl locks, ~10 µs in the server)
// only when the header moved. The file is SQLite's own, mapped as SQLite maps it while the caller's connection is
// open; the caller stops asking when that connection closes (another process may then truncate the file).
#define WAL_INDEX_HEADER_BYTES 48

typedef struct {
  void *base;
  unsigned char last[WAL_INDEX_HEADER_BYTES];
  bool seen;
} ShmView;

static void free_shm_view(napi_env env, void *data, void *hint) {
  ShmView *v = data;
  munmap(v->base, WAL_INDEX_HEADER_BYTES);
  free(v);
}

// shmView(path) → an opaque view, or null when the file is missing or shorter than the two header copies.
static napi_value shm_view(napi_env env, napi_callback_info info) {
  size_t argc = 1, path_len;
  napi_value argv[1], out;
  char path[4096];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 1 ||
      napi_get_value_string_utf8(env, argv[0], path, sizeof path, &path_len) != napi_ok || path_len >= sizeof path - 1) {
    napi_throw_type_error(env, NULL, "shmView(path)");
    return NULL;
  }
  napi_get_null(env, &out);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return out;
  struct stat st;
  void *base = MAP_FAILED;
  if (fstat(fd, &st) == 0 && st.st_size >= 2 * WAL_INDEX_HEADER_BYTES)
    base = mmap(NULL, WAL_INDEX_HEADER_BYTES, PROT_READ, MAP_SHARED, fd, 0);
  close(fd);
  if (base == MAP_FAILED) return out;
  ShmView *v = calloc(1, sizeof *v);
  if (!v) {
    munmap(base, WAL_INDEX_HEADER_BYTES);
    return out;
  }
  v->base = base;
  if (napi_create_external(env, v, free_shm_view, NULL, &out) != napi_ok) {
    free_shm_view(env, v, NULL);
    napi_get_null(env, &out);
  }
  return out;
}

// shmMoved(view) → whether the first header copy differs from what the previous call saw (true on the first call).
// A read torn by a commit in progress differs from both states, so it counts as moved; the next call compares
// against it and sees the finished header as moved again.
static napi_value shm_moved(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], out;
  ShmView *v;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 1 ||
      napi_get_value_external(env, argv[0], (void **)&v) != napi_ok) {
    napi_throw_type_error(env, NULL, "shmMoved(view)");
    return NULL;
  }
  unsigned char now[WAL_INDEX_HEADER_BYTES];
  __atomic_thread_fence(__ATOMIC_ACQUIRE);
  memcpy(now, (const void *)v->base, sizeof now);
  bool moved = !v->seen || memcmp(now, v->last, sizeof now) != 0;
  memcpy(v->last, now, sizeof now);
  v->seen = true;
  napi_get_boolean(env, moved, &out);
  return out;
}

static void free_curves(napi_env env, void *data, void *hint) {
  Curves *c = data;
  EC_GROUP_free(c->p256);
  EC_GROUP_free(c->p384);
  free(c);
}

NAPI_MODULE_INIT() {
  Curves *c = calloc(1, sizeof *c);
  if (!c) return NULL;
  c->p256 = EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1);
  c->p384 = EC_GROUP_new_by_curve_name(NID_secp384r1);
  if (!c->p256 || !c->p384 || napi_set_instance_data(env, c, free_curves, NULL) != napi_ok) {
    free_curves(env, c, NULL);
    napi_throw_error(env, NULL, "ec_fast: curves unavailable");
    return NULL;
  }
  napi_property_descriptor props[] = {
      {"verify", NULL, verify, NULL, NULL, NULL, napi_default, NULL},
      {"signer", NULL, signer, NULL, NULL, NULL, napi_default, NULL},
      {"sign", NULL, sign, NULL, NULL, NULL, napi_default, NULL},
      {"hmacSha256Equals", NULL, hmac_sha256_equals, NULL, NULL, NULL, napi_default, NULL},
      {"shmView", NULL, shm_view, NULL, NULL, NULL, napi_default, NULL},
      {"shmMoved", NULL, shm_moved, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  return exports;
}
