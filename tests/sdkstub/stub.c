/*
 * A test-only stand-in for WeCom's libWeWorkFinanceSdk_C.so (self-written, not vendor code).
 *
 * It exports exactly the 17 functions of WeWorkFinanceSdk_C.h with the same ABI, so the
 * production ctypes binding (indexer/source/sdk.py) can be exercised end to end. Instead of
 * talking HTTPS to WeCom it serves a simulated archive directory (docs: simformat.md) named by
 * the environment variable WWF_STUB_DIR, read at Init:
 *   sim.json (corpid, secret, seed, transient_fault_rate), chatdata.idx + chatdata.jsonl,
 *   media/index.jsonl + media files.
 * DecryptData implements the simulator's documented stand-in cipher (AES-256-CBC, key = the
 * 32-character random key, iv = its first 16 bytes, PKCS#7) with OpenSSL libcrypto.
 *
 * Fault injection (environment, read on every call):
 *   WWF_STUB_FAIL_EVERY=N   every Nth network call of a handle returns 10001
 *   WWF_STUB_FAIL_CODE=C    ...with return code C instead of 10001
 *   WWF_STUB_ERRCODE=E      GetChatData returns 0 with server errcode E in the JSON
 *   WWF_STUB_MAX_LIMIT=L    GetChatData with limit > L answers errcode 301058 (response too large)
 *   WWF_STUB_EXPECT_PROXY / WWF_STUB_EXPECT_PASSWD / WWF_STUB_EXPECT_TIMEOUT
 *                           network calls whose proxy, passwd or timeout differ fail with 10001,
 *                           as an unreachable or refusing proxy would
 * A wrong corpid/secret makes Init succeed and GetChatData answer errcode 41001, as WeCom does.
 *
 * Test-only extra symbol: WWFStub_LiveAllocations() counts the buffers the library owns, so a
 * test can prove that the binding frees every Slice and MediaData it gets.
 */
#include "WeWorkFinanceSdk_C.h"

#include <ctype.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define EXPORT __attribute__((visibility("default")))
#define CHUNK_SIZE 524288
#define PATH_LEN 4096

_Static_assert(sizeof(Slice_t) == 16, "Slice_t layout differs from the vendor SDK");
_Static_assert(sizeof(MediaData_t) == 32, "MediaData_t layout differs from the vendor SDK");

enum {
    OK = 0,
    E_PARAM = 10000,
    E_NETWORK = 10001,
    E_SYSTEM = 10003,
    E_FILEID = 10005,
    E_DECRYPT = 10006,
    E_KEY = 10008,
};

/* ---- ownership accounting ------------------------------------------------------------- */

static atomic_long live_allocations;

static void *xmalloc(size_t n) {
    void *p = malloc(n ? n : 1);
    if (p) atomic_fetch_add(&live_allocations, 1);
    return p;
}

static void *xcalloc(size_t n, size_t size) {
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (p) atomic_fetch_add(&live_allocations, 1);
    return p;
}

static void xfree(void *p) {
    if (p) {
        atomic_fetch_sub(&live_allocations, 1);
        free(p);
    }
}

EXPORT long WWFStub_LiveAllocations(void) { return atomic_load(&live_allocations); }

/* ---- the handle ----------------------------------------------------------------------- */

typedef struct {
    uint64_t seq;
    uint64_t offset;
} IdxEntry;

typedef struct {
    char *sdkfileid;
    char *file; /* relative to the archive directory */
} MediaEntry;

struct WeWorkFinanceSdk_t {
    int initialised;
    int credentials_ok;
    char dir[PATH_LEN];
    IdxEntry *idx;
    size_t n_idx;
    int data_fd; /* chatdata.jsonl */
    uint64_t data_size;
    MediaEntry *media;
    size_t n_media;
    unsigned long calls; /* network calls, for WWF_STUB_FAIL_EVERY */
    uint64_t rng;        /* xorshift state for transient_fault_rate */
    double transient_fault_rate;
};

static long env_long(const char *name) {
    const char *v = getenv(name);
    return (v && *v) ? strtol(v, NULL, 10) : 0;
}

/* Reads a whole file into a library-owned, NUL-terminated buffer. */
static char *read_file(const char *path, size_t *len_out) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    if (fseek(f, 0, SEEK_END) != 0) {
        fclose(f);
        return NULL;
    }
    long size = ftell(f);
    rewind(f);
    char *buf = size >= 0 ? xmalloc((size_t)size + 1) : NULL;
    if (!buf) {
        fclose(f);
        return NULL;
    }
    size_t got = fread(buf, 1, (size_t)size, f);
    fclose(f);
    buf[got] = '\0';
    if (len_out) *len_out = got;
    return buf;
}

/* The JSON string value of "key" in a flat JSON object (enough for sim.json and index lines). */
static char *json_string(const char *json, const char *key) {
    char pattern[128];
    snprintf(pattern, sizeof pattern, "\"%s\"", key);
    const char *p = strstr(json, pattern);
    if (!p) return NULL;
    p += strlen(pattern);
    while (isspace((unsigned char)*p)) p++;
    if (*p++ != ':') return NULL;
    while (isspace((unsigned char)*p)) p++;
    if (*p++ != '"') return NULL;
    char *out = xmalloc(strlen(p) + 1);
    if (!out) return NULL;
    size_t n = 0;
    for (; *p && *p != '"'; p++) {
        if (*p != '\\') {
            out[n++] = *p;
            continue;
        }
        p++;
        switch (*p) {
        case '"': case '\\': case '/': out[n++] = *p; break;
        case 'n': out[n++] = '\n'; break;
        case 't': out[n++] = '\t'; break;
        case 'u': {
            unsigned code = 0;
            if (sscanf(p + 1, "%4x", &code) != 1 || code > 0x7f) { xfree(out); return NULL; }
            out[n++] = (char)code;
            p += 4;
            break;
        }
        default: xfree(out); return NULL;
        }
    }
    if (*p != '"') { xfree(out); return NULL; }
    out[n] = '\0';
    return out;
}

static double json_number(const char *json, const char *key, double fallback) {
    char pattern[128];
    snprintf(pattern, sizeof pattern, "\"%s\"", key);
    const char *p = strstr(json, pattern);
    if (!p) return fallback;
    p += strlen(pattern);
    while (isspace((unsigned char)*p) || *p == ':') p++;
    char *end;
    double v = strtod(p, &end);
    return end == p ? fallback : v;
}

static void unload(WeWorkFinanceSdk_t *sdk) {
    if (sdk->data_fd >= 0) close(sdk->data_fd);
    sdk->data_fd = -1;
    xfree(sdk->idx);
    sdk->idx = NULL;
    sdk->n_idx = 0;
    for (size_t i = 0; i < sdk->n_media; i++) {
        xfree(sdk->media[i].sdkfileid);
        xfree(sdk->media[i].file);
    }
    xfree(sdk->media);
    sdk->media = NULL;
    sdk->n_media = 0;
    sdk->initialised = 0;
}

static int load_media_index(WeWorkFinanceSdk_t *sdk) {
    char path[2 * PATH_LEN];
    snprintf(path, sizeof path, "%s/media/index.jsonl", sdk->dir);
    char *text = read_file(path, NULL);
    if (!text) return 0; /* an archive without media */
    size_t lines = 1;
    for (const char *c = text; *c; c++) lines += (*c == '\n');
    sdk->media = xcalloc(lines, sizeof(MediaEntry));
    if (!sdk->media) { xfree(text); return -1; }
    char *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char *id = json_string(line, "sdkfileid");
        char *file = json_string(line, "file");
        if (id && file) {
            sdk->media[sdk->n_media].sdkfileid = id;
            sdk->media[sdk->n_media].file = file;
            sdk->n_media++;
        } else {
            xfree(id);
            xfree(file);
        }
    }
    xfree(text);
    return 0;
}

static int load_archive(WeWorkFinanceSdk_t *sdk, const char *corpid, const char *secret) {
    const char *dir = getenv("WWF_STUB_DIR");
    if (!dir || !*dir || strlen(dir) >= PATH_LEN - 64) return E_PARAM;
    snprintf(sdk->dir, sizeof sdk->dir, "%s", dir);

    char path[2 * PATH_LEN];
    snprintf(path, sizeof path, "%s/sim.json", dir);
    char *sim = read_file(path, NULL);
    if (!sim) return E_SYSTEM;
    char *want_corpid = json_string(sim, "corpid");
    char *want_secret = json_string(sim, "secret");
    sdk->credentials_ok = want_corpid && want_secret && strcmp(want_corpid, corpid) == 0 &&
                          strcmp(want_secret, secret) == 0;
    sdk->transient_fault_rate = json_number(sim, "transient_fault_rate", 0.0);
    sdk->rng = (uint64_t)json_number(sim, "seed", 1.0) * 2654435761u + 0x9E3779B97F4A7C15ull;
    xfree(want_corpid);
    xfree(want_secret);
    xfree(sim);

    size_t idx_len = 0;
    snprintf(path, sizeof path, "%s/chatdata.idx", dir);
    char *idx = read_file(path, &idx_len);
    if (!idx) return E_SYSTEM;
    sdk->n_idx = idx_len / sizeof(IdxEntry);
    sdk->idx = xcalloc(sdk->n_idx, sizeof(IdxEntry));
    if (!sdk->idx) { xfree(idx); return E_SYSTEM; }
    for (size_t i = 0; i < sdk->n_idx; i++) {
        const unsigned char *e = (const unsigned char *)idx + i * 16;
        uint64_t seq = 0, off = 0;
        for (int b = 7; b >= 0; b--) { /* little-endian, whatever the host */
            seq = (seq << 8) | e[b];
            off = (off << 8) | e[8 + b];
        }
        sdk->idx[i].seq = seq;
        sdk->idx[i].offset = off;
    }
    xfree(idx);

    snprintf(path, sizeof path, "%s/chatdata.jsonl", dir);
    sdk->data_fd = open(path, O_RDONLY | O_CLOEXEC);
    if (sdk->data_fd < 0) return E_SYSTEM;
    struct stat st;
    if (fstat(sdk->data_fd, &st) != 0) return E_SYSTEM;
    sdk->data_size = (uint64_t)st.st_size;
    if (load_media_index(sdk) != 0) return E_SYSTEM;
    sdk->initialised = 1;
    return OK;
}

EXPORT WeWorkFinanceSdk_t *NewSdk(void) {
    WeWorkFinanceSdk_t *sdk = xcalloc(1, sizeof(WeWorkFinanceSdk_t));
    if (sdk) sdk->data_fd = -1;
    return sdk;
}

EXPORT int Init(WeWorkFinanceSdk_t *sdk, const char *corpid, const char *secret) {
    if (!sdk || !corpid || !secret || !*corpid || !*secret) return E_PARAM;
    unload(sdk); /* re-Init with other credentials replaces the old state */
    int rc = load_archive(sdk, corpid, secret);
    if (rc != OK) unload(sdk);
    return rc;
}

EXPORT void DestroySdk(WeWorkFinanceSdk_t *sdk) {
    if (!sdk) return;
    unload(sdk);
    xfree(sdk);
}

/* ---- fault injection ------------------------------------------------------------------ */

static double next_random(WeWorkFinanceSdk_t *sdk) {
    uint64_t x = sdk->rng;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    sdk->rng = x;
    return (double)(x >> 11) / 9007199254740992.0;
}

/* The return code a "network" call fails with, or 0. */
static int injected_failure(WeWorkFinanceSdk_t *sdk) {
    sdk->calls++;
    long every = env_long("WWF_STUB_FAIL_EVERY");
    if (every > 0 && sdk->calls % (unsigned long)every == 0) {
        long code = env_long("WWF_STUB_FAIL_CODE");
        return code ? (int)code : E_NETWORK;
    }
    if (sdk->transient_fault_rate > 0 && next_random(sdk) < sdk->transient_fault_rate) return E_NETWORK;
    return OK;
}

/* 10001 if the caller's proxy settings are not the ones the test expects (a wrong proxy
 * is a network error for the real SDK too). */
static int check_network_args(const char *proxy, const char *passwd, int timeout) {
    const char *want_proxy = getenv("WWF_STUB_EXPECT_PROXY");
    const char *want_passwd = getenv("WWF_STUB_EXPECT_PASSWD");
    long want_timeout = env_long("WWF_STUB_EXPECT_TIMEOUT");
    if (!proxy || !passwd) return E_PARAM;
    if (want_proxy && strcmp(want_proxy, proxy) != 0) return E_NETWORK;
    if (want_passwd && strcmp(want_passwd, passwd) != 0) return E_NETWORK;
    if (want_timeout && want_timeout != timeout) return E_NETWORK;
    return OK;
}

/* ---- slices ---------------------------------------------------------------------------- */

EXPORT Slice_t *NewSlice(void) { return xcalloc(1, sizeof(Slice_t)); }

EXPORT void FreeSlice(Slice_t *slice) {
    if (!slice) return;
    xfree(slice->buf);
    xfree(slice);
}

EXPORT char *GetContentFromSlice(Slice_t *slice) { return slice ? slice->buf : NULL; }

EXPORT int GetSliceLen(Slice_t *slice) { return slice ? slice->len : 0; }

/* Hands a library-owned buffer to the slice (releasing what it held before). */
static void slice_set(Slice_t *slice, char *buf, size_t len) {
    xfree(slice->buf);
    slice->buf = buf;
    slice->len = (int)len;
}

/* ---- GetChatData ------------------------------------------------------------------------ */

static int server_error(Slice_t *out, long errcode) {
    char *buf = xmalloc(512);
    if (!buf) return E_SYSTEM;
    const char *msg = errcode == 41001   ? "access_token missing"
                      : errcode == 301058 ? "pull response too large, reduce limit"
                      : errcode == 301042 ? "get chatdata whiteip not match"
                                          : "server error";
    int n = snprintf(buf, 512,
                     "{\"errcode\":%ld,\"errmsg\":\"%s, hint: [stub], from ip: 203.0.113.7, more info at "
                     "https://open.work.weixin.qq.com/devtool/query?e=%ld\",\"chatdata\":[]}",
                     errcode, msg, errcode);
    slice_set(out, buf, (size_t)n);
    return OK;
}

EXPORT int GetChatData(WeWorkFinanceSdk_t *sdk, unsigned long long seq, unsigned int limit, const char *proxy,
                       const char *passwd, int timeout, Slice_t *chatDatas) {
    if (!sdk || !sdk->initialised || !chatDatas) return E_PARAM;
    if (limit < 1 || limit > 1000) return E_PARAM;
    int fail = check_network_args(proxy, passwd, timeout);
    if (!fail) fail = injected_failure(sdk);
    if (fail) return fail;
    long errcode = env_long("WWF_STUB_ERRCODE");
    if (errcode) return server_error(chatDatas, errcode);
    if (!sdk->credentials_ok) return server_error(chatDatas, 41001);
    long max_limit = env_long("WWF_STUB_MAX_LIMIT");
    if (max_limit > 0 && limit > (unsigned long)max_limit) return server_error(chatDatas, 301058);

    /* first entry with seq > the given seq */
    size_t lo = 0, hi = sdk->n_idx;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (sdk->idx[mid].seq <= seq) lo = mid + 1;
        else hi = mid;
    }
    size_t first = lo, last = lo + limit < sdk->n_idx ? lo + limit : sdk->n_idx;
    uint64_t start = first < sdk->n_idx ? sdk->idx[first].offset : 0;
    uint64_t end = last < sdk->n_idx ? sdk->idx[last].offset : sdk->data_size;
    if (first >= last) end = start;
    static const char head[] = "{\"errcode\":0,\"errmsg\":\"ok\",\"chatdata\":[";
    size_t cap = sizeof head + (size_t)(end - start) + (last - first) + 4; /* + commas */
    char *buf = xmalloc(cap);
    if (!buf) return E_SYSTEM;
    size_t n = sizeof head - 1;
    memcpy(buf, head, n);
    for (size_t i = first; i < last; i++) {
        uint64_t a = sdk->idx[i].offset;
        uint64_t b = i + 1 < sdk->n_idx ? sdk->idx[i + 1].offset : sdk->data_size;
        if (b < a || b - a + 1 > cap - n - 3) { xfree(buf); return E_SYSTEM; }
        ssize_t got = pread(sdk->data_fd, buf + n + (i > first), (size_t)(b - a), (off_t)a);
        if (got != (ssize_t)(b - a)) { xfree(buf); return E_SYSTEM; }
        if (i > first) buf[n++] = ',';
        while (got > 0 && (buf[n + got - 1] == '\n' || buf[n + got - 1] == '\r')) got--;
        n += (size_t)got;
    }
    buf[n++] = ']';
    buf[n++] = '}';
    buf[n] = '\0';
    slice_set(chatDatas, buf, n);
    return OK;
}

/* ---- DecryptData ------------------------------------------------------------------------ */

static int b64_value(unsigned char c) {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
}

/* Strict standard base64 (with padding) into a library-owned buffer; NULL if invalid. */
static unsigned char *b64_decode(const char *s, size_t *out_len) {
    size_t len = strlen(s);
    if (len == 0 || len % 4 != 0) return NULL;
    size_t pad = (s[len - 1] == '=') + (s[len - 2] == '=');
    unsigned char *out = xmalloc(len / 4 * 3);
    if (!out) return NULL;
    size_t n = 0;
    for (size_t i = 0; i < len; i += 4) {
        int v[4];
        for (int k = 0; k < 4; k++) {
            unsigned char c = (unsigned char)s[i + k];
            int last_quad = i + 4 == len;
            if (c == '=' && last_quad && k >= 4 - (int)pad) v[k] = 0;
            else if ((v[k] = b64_value(c)) < 0) { xfree(out); return NULL; }
        }
        uint32_t triple = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 | (uint32_t)v[2] << 6 | (uint32_t)v[3];
        out[n++] = (unsigned char)(triple >> 16);
        out[n++] = (unsigned char)(triple >> 8);
        out[n++] = (unsigned char)triple;
    }
    *out_len = n - pad;
    return out;
}

static int valid_utf8(const unsigned char *s, size_t len) {
    size_t i = 0;
    while (i < len) {
        unsigned char c = s[i];
        size_t extra;
        uint32_t cp;
        if (c < 0x80) { i++; continue; }
        else if ((c & 0xE0) == 0xC0) { extra = 1; cp = c & 0x1F; }
        else if ((c & 0xF0) == 0xE0) { extra = 2; cp = c & 0x0F; }
        else if ((c & 0xF8) == 0xF0) { extra = 3; cp = c & 0x07; }
        else return 0;
        if (i + extra >= len) return 0;
        for (size_t k = 1; k <= extra; k++) {
            if ((s[i + k] & 0xC0) != 0x80) return 0;
            cp = (cp << 6) | (s[i + k] & 0x3F);
        }
        if ((extra == 1 && cp < 0x80) || (extra == 2 && cp < 0x800) || (extra == 3 && cp < 0x10000) ||
            cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return 0;
        i += extra + 1;
    }
    return 1;
}

EXPORT int DecryptData(const char *encrypt_key, const char *encrypt_msg, Slice_t *msg) {
    if (!encrypt_key || !encrypt_msg || !msg) return E_PARAM;
    if (strlen(encrypt_key) != 32) return E_KEY;
    for (int i = 0; i < 32; i++)
        if (!isalnum((unsigned char)encrypt_key[i])) return E_KEY;
    size_t ct_len = 0;
    unsigned char *ct = b64_decode(encrypt_msg, &ct_len);
    if (!ct) return E_KEY;
    if (ct_len == 0 || ct_len % 16 != 0) { xfree(ct); return E_DECRYPT; }

    char *plain = xmalloc(ct_len + 16 + 1);
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int n1 = 0, n2 = 0, ok = plain && ctx;
    const unsigned char *key = (const unsigned char *)encrypt_key;
    ok = ok && EVP_DecryptInit_ex(ctx, EVP_aes_256_cbc(), NULL, key, key) == 1;
    ok = ok && EVP_DecryptUpdate(ctx, (unsigned char *)plain, &n1, ct, (int)ct_len) == 1;
    ok = ok && EVP_DecryptFinal_ex(ctx, (unsigned char *)plain + n1, &n2) == 1;
    EVP_CIPHER_CTX_free(ctx);
    xfree(ct);
    size_t len = (size_t)n1 + (size_t)n2;
    if (!ok || !valid_utf8((unsigned char *)plain, len)) {
        xfree(plain);
        return E_DECRYPT;
    }
    plain[len] = '\0';
    slice_set(msg, plain, len);
    return OK;
}

/* ---- media ------------------------------------------------------------------------------ */

EXPORT MediaData_t *NewMediaData(void) { return xcalloc(1, sizeof(MediaData_t)); }

EXPORT void FreeMediaData(MediaData_t *media_data) {
    if (!media_data) return;
    xfree(media_data->outindexbuf);
    xfree(media_data->data);
    xfree(media_data);
}

EXPORT char *GetOutIndexBuf(MediaData_t *media_data) { return media_data ? media_data->outindexbuf : NULL; }
EXPORT char *GetData(MediaData_t *media_data) { return media_data ? media_data->data : NULL; }
EXPORT int GetIndexLen(MediaData_t *media_data) { return media_data ? media_data->out_len : 0; }
EXPORT int GetDataLen(MediaData_t *media_data) { return media_data ? media_data->data_len : 0; }
EXPORT int IsMediaDataFinish(MediaData_t *media_data) { return media_data ? media_data->is_finish : 0; }

/* indexbuf "" = from the start; otherwise exactly "Range:bytes=a-b". -1 if malformed. */
static long long parse_indexbuf(const char *indexbuf) {
    if (!*indexbuf) return 0;
    unsigned long long a = 0, b = 0;
    int used = 0;
    if (sscanf(indexbuf, "Range:bytes=%llu-%llu%n", &a, &b, &used) != 2 || indexbuf[used] != '\0' || b < a)
        return -1;
    return (long long)a;
}

EXPORT int GetMediaData(WeWorkFinanceSdk_t *sdk, const char *indexbuf, const char *sdkFileid, const char *proxy,
                        const char *passwd, int timeout, MediaData_t *media_data) {
    if (!sdk || !sdk->initialised || !media_data || !indexbuf || !sdkFileid || !*sdkFileid) return E_PARAM;
    int fail = check_network_args(proxy, passwd, timeout);
    if (!fail) fail = injected_failure(sdk);
    if (fail) return fail;
    const MediaEntry *entry = NULL;
    for (size_t i = 0; i < sdk->n_media && !entry; i++)
        if (strcmp(sdk->media[i].sdkfileid, sdkFileid) == 0) entry = &sdk->media[i];
    if (!entry) return E_FILEID;
    long long start = parse_indexbuf(indexbuf);
    if (start < 0) return E_PARAM;

    char path[2 * PATH_LEN];
    if (snprintf(path, sizeof path, "%s/%s", sdk->dir, entry->file) >= (int)sizeof path) return E_FILEID;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return E_FILEID;
    struct stat st;
    if (fstat(fd, &st) != 0) { close(fd); return E_SYSTEM; }
    long long size = (long long)st.st_size;
    if (start > size || (start == size && size > 0)) { close(fd); return E_PARAM; }
    long long n = size - start < CHUNK_SIZE ? size - start : CHUNK_SIZE;
    char *data = xmalloc((size_t)n);
    if (!data || pread(fd, data, (size_t)n, (off_t)start) != (ssize_t)n) {
        close(fd);
        xfree(data);
        return E_SYSTEM;
    }
    close(fd);
    long long end = start + n;
    int finish = end >= size;
    char *out = xmalloc(64);
    if (!out) { xfree(data); return E_SYSTEM; }
    int out_len = 0;
    out[0] = '\0';
    if (!finish) {
        long long next_end = (end + CHUNK_SIZE < size ? end + CHUNK_SIZE : size) - 1;
        out_len = snprintf(out, 64, "Range:bytes=%lld-%lld", end, next_end);
    }
    xfree(media_data->data);
    xfree(media_data->outindexbuf);
    media_data->data = data;
    media_data->data_len = (int)n;
    media_data->outindexbuf = out;
    media_data->out_len = out_len;
    media_data->is_finish = finish;
    return OK;
}
