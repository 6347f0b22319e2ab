/*
 * The public C interface of WeCom's chat-archive SDK (libWeWorkFinanceSdk_C.so), restated
 * from the protocol reference (docs: wecom-protocol.md §2.1-2.2) so that the test stub in
 * stub.c is compiled against exactly the types and signatures the ctypes binding assumes.
 * Same names, same argument order (note: GetMediaData takes indexbuf BEFORE sdkFileid),
 * same struct layouts (LP64: sizeof(Slice_t) = 16, sizeof(MediaData_t) = 32).
 */
#ifndef WEWORK_FINANCE_SDK_C_H
#define WEWORK_FINANCE_SDK_C_H

#ifdef __cplusplus
extern "C" {
#endif

typedef struct WeWorkFinanceSdk_t WeWorkFinanceSdk_t;

/* Output buffer for JSON text (chat data, decrypted message). Owned by the library. */
typedef struct Slice_t {
    char *buf;
    int len;
} Slice_t;

/* One media chunk. All pointers are owned by the library. */
typedef struct MediaData {
    char *outindexbuf; /* index to pass as indexbuf on the NEXT call */
    int out_len;
    char *data;        /* chunk bytes: binary, may contain NUL */
    int data_len;
    int is_finish;     /* 1 = this was the last chunk */
} MediaData_t;

/* Return codes: 0 ok; 10000 parameter error; 10001 network error; 10002 data parse failed;
 * 10003 system failure; 10004 key error (deprecated); 10005 fileid error; 10006 decrypt failed;
 * 10007 no private key for that version (deprecated); 10008 error parsing encrypt_key;
 * 10009 ip illegal; 10010 data expired; 10011 certificate error. */

WeWorkFinanceSdk_t *NewSdk(void);
int Init(WeWorkFinanceSdk_t *sdk, const char *corpid, const char *secret);
int GetChatData(WeWorkFinanceSdk_t *sdk, unsigned long long seq, unsigned int limit, const char *proxy,
                const char *passwd, int timeout, Slice_t *chatDatas);
int DecryptData(const char *encrypt_key, const char *encrypt_msg, Slice_t *msg);
int GetMediaData(WeWorkFinanceSdk_t *sdk, const char *indexbuf, const char *sdkFileid, const char *proxy,
                 const char *passwd, int timeout, MediaData_t *media_data);
void DestroySdk(WeWorkFinanceSdk_t *sdk);

Slice_t *NewSlice(void);
void FreeSlice(Slice_t *slice);
char *GetContentFromSlice(Slice_t *slice);
int GetSliceLen(Slice_t *slice);

MediaData_t *NewMediaData(void);
void FreeMediaData(MediaData_t *media_data);
char *GetOutIndexBuf(MediaData_t *media_data);
char *GetData(MediaData_t *media_data);
int GetIndexLen(MediaData_t *media_data);
int GetDataLen(MediaData_t *media_data);
int IsMediaDataFinish(MediaData_t *media_data);

#ifdef __cplusplus
}
#endif

#endif /* WEWORK_FINANCE_SDK_C_H */
