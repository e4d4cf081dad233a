/* UTF-8 word tokenizer with lower-case folding and English stop words
 * (see tokenize-impl.h for the token rules). */
#include "tokenize-impl.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Sorted (C locale) for bsearch; common English function words. */
static const char *const stop_en[] = {
    "a", "about", "above", "after", "again", "against", "all", "almost", "also", "am", "an",
    "and", "another", "any", "are", "around", "as", "at", "be", "because", "been", "before",
    "being", "below", "between", "both", "but", "by", "can", "cannot", "could", "did", "do",
    "does", "doing", "down", "during", "each", "either", "else", "enough", "etc", "ever",
    "every", "few", "for", "from", "further", "had", "has", "have", "having", "he", "her",
    "here", "hers", "herself", "him", "himself", "his", "how", "however", "i", "if", "in",
    "into", "is", "it", "its", "itself", "just", "least", "less", "many", "may", "me",
    "might", "mine", "more", "most", "much", "must", "my", "myself", "neither", "no", "nor",
    "not", "now", "of", "off", "often", "on", "once", "only", "or", "other", "others",
    "otherwise", "our", "ours", "ourselves", "out", "over", "own", "per", "perhaps", "quite",
    "rather", "same", "she", "should", "since", "so", "some", "such", "than", "that", "the",
    "their", "theirs", "them", "themselves", "then", "there", "these", "they", "this",
    "those", "though", "through", "thus", "to", "too", "toward", "towards", "under", "until",
    "up", "upon", "us", "very", "via", "was", "we", "were", "what", "whatever", "when",
    "whenever", "where", "whether", "which", "while", "who", "whom", "whose", "why", "will",
    "with", "within", "without", "would", "yet", "you", "your", "yours", "yourself",
    "yourselves",
};

typedef struct word {
    const char *w;
    size_t len;
} word;

static int cmp_stop(const void *a, const void *b)
{
    const word *k = a;
    const char *s = *(const char *const *)b;
    size_t sl = strlen(s), n = k->len < sl ? k->len : sl;
    int c = memcmp(k->w, s, n);
    return c ? c : (k->len > sl) - (k->len < sl);
}

int rec_stop_word_en(const char *w, size_t len)
{
    word k = { w, len };
    return bsearch(&k, stop_en, sizeof stop_en / sizeof *stop_en, sizeof *stop_en, cmp_stop) !=
           NULL;
}

/* Decodes one code point at s[0..n) (n >= 1) into *cp; returns its byte
 * length, or -1 for an invalid sequence (the caller skips one byte). */
static int utf8_decode(const unsigned char *s, size_t n, uint32_t *cp)
{
    unsigned c = s[0];
    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    int len;
    uint32_t v, min;
    if (c >= 0xC2 && c <= 0xDF) {
        len = 2, v = c & 0x1F, min = 0x80;
    } else if (c >= 0xE0 && c <= 0xEF) {
        len = 3, v = c & 0x0F, min = 0x800;
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4, v = c & 0x07, min = 0x10000;
    } else {
        return -1;
    }
    if ((size_t)len > n)
        return -1;
    for (int k = 1; k < len; k++) {
        if ((s[k] & 0xC0) != 0x80)
            return -1;
        v = (v << 6) | (s[k] & 0x3F);
    }
    if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF))
        return -1;
    *cp = v;
    return len;
}

static int utf8_encode(uint32_t cp, char *out)
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* Punctuation and symbol blocks from U+0250 up; everything else there is a
 * word code point (letters of other scripts, combining marks). */
static int is_word(uint32_t c)
{
    if (c < 0x80)
        return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
               c == '_';
    if (c < 0xC0) /* ª ² ³ µ ¹ º ¼ ½ ¾ are letters or numbers */
        return c == 0xAA || c == 0xB2 || c == 0xB3 || c == 0xB5 || c == 0xB9 || c == 0xBA ||
               (c >= 0xBC && c <= 0xBE);
    if (c < 0x250)
        return c != 0xD7 && c != 0xF7;
    if ((c >= 0x2000 && c <= 0x2BFF) || (c >= 0x3000 && c <= 0x303F) ||
        (c >= 0xE000 && c <= 0xF8FF) || (c >= 0xFE10 && c <= 0xFE6F) ||
        (c >= 0xFF00 && c <= 0xFF0F) || (c >= 0xFF1A && c <= 0xFF20) ||
        (c >= 0xFF3B && c <= 0xFF3E) || c == 0xFF40 || (c >= 0xFF5B && c <= 0xFF65) ||
        (c >= 0xFFF0 && c <= 0xFFFF))
        return 0;
    return !(c >= 0x1F000 && c <= 0x1FAFF);
}

static uint32_t fold(uint32_t c)
{
    if (c >= 'A' && c <= 'Z')
        return c + 32;
    if (c < 0xC0)
        return c;
    if (c <= 0xDE)
        return c == 0xD7 ? c : c + 32;
    if (c == 0x130) /* İ */
        return 'i';
    if ((c >= 0x100 && c <= 0x137) || (c >= 0x14A && c <= 0x177))
        return c | 1;
    if ((c >= 0x139 && c <= 0x148) || (c >= 0x179 && c <= 0x17E))
        return (c & 1) ? c + 1 : c;
    if (c == 0x178)
        return 0xFF;
    if (c == 0x386)
        return 0x3AC;
    if (c >= 0x388 && c <= 0x38A)
        return c + 37;
    if (c == 0x38C)
        return 0x3CC;
    if (c == 0x38E || c == 0x38F)
        return c + 63;
    if (c >= 0x391 && c <= 0x3A9 && c != 0x3A2)
        return c + 32;
    if (c >= 0x400 && c <= 0x40F)
        return c + 80;
    if (c >= 0x410 && c <= 0x42F)
        return c + 32;
    return c;
}

rec_status rec_tokenize(const char *s, size_t len, int stop_english, char *scratch,
                        rec_token_fn fn, void *user)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0, w = 0, ncp = 0; /* bytes and code points of the current token */
    while (i <= len) {
        uint32_t cp = 0;
        int n = i < len ? utf8_decode(p + i, len - i, &cp) : 0;
        int word_cp = n > 0 && is_word(cp);
        if (word_cp) {
            w += (size_t)utf8_encode(fold(cp), scratch + w);
            ncp++;
        } else {
            if (ncp >= 2 && !(stop_english && rec_stop_word_en(scratch, w)))
                REC_TRY(fn(user, scratch, w));
            w = ncp = 0;
        }
        i += n > 0 ? (size_t)n : 1;
    }
    return REC_OK;
}
