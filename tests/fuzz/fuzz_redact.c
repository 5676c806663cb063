/* fuzz_redact.c - libFuzzer target: the redactor (sf_redact.h) over text a
 * server sent back. Input: byte 0 picks the secret's length (4..35), the
 * next bytes are the secret (NULs become 'x'), the rest is the text. The
 * secret must never survive sf_redact or sf_redact_copy (any cut length),
 * the text must never grow, and every output stays NUL-terminated. Secrets
 * containing the mask character are exempt from the "never survives" check:
 * the mask itself could rebuild them. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sf_redact.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char secret[40], small[24];
    size_t slen, tlen, n;
    char *text;
    int check;

    if (size < 1)
        return 0;
    slen = 4 + data[0] % 32;
    if (size < 1 + slen)
        return 0;
    for (size_t i = 0; i < slen; i++)
        secret[i] = data[1 + i] ? (char)data[1 + i] : 'x';
    secret[slen] = '\0';
    tlen = size - 1 - slen;
    if (!(text = malloc(tlen + 1)))
        return 0;
    memcpy(text, data + 1 + slen, tlen);
    text[tlen] = '\0';
    tlen = strlen(text);             /* the redactor works on C strings */
    check = strchr(secret, '*') == NULL;

    sf_redact_reset();
    if (sf_redact_add(secret) != SF_OK)
        __builtin_trap();
    sf_redact_copy(small, sizeof(small), text);
    if (strlen(small) >= sizeof(small) || (check && strstr(small, secret)))
        __builtin_trap();
    n = sf_redact(text, tlen + 1);
    if (n > tlen || strlen(text) != n || (check && strstr(text, secret)))
        __builtin_trap();
    free(text);
    return 0;
}
