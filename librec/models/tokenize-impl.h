/* Word tokenizer for content models (internal).  UTF-8 in, lower-cased
 * UTF-8 tokens out, close to scikit-learn's default r"(?u)\b\w\w+\b":
 *  - a token is a maximal run of word code points: ASCII letters, digits and
 *    '_', Latin-1 and Latin Extended letters, and any code point from U+0250
 *    up that is not in a punctuation/symbol block (so Greek, Cyrillic, CJK
 *    and other scripts stay whole words);
 *  - letters are folded to lower case by a small table (ASCII, Latin-1,
 *    Latin Extended-A, Greek and Cyrillic capitals); other code points pass
 *    through unchanged;
 *  - tokens of fewer than 2 code points are dropped;
 *  - invalid UTF-8 (stray continuation bytes, overlong or truncated
 *    sequences, surrogates) separates tokens like punctuation: never an
 *    error, never read past the end;
 *  - with stop words on, common English function words are dropped. */
#ifndef LIBREC_TOKENIZE_IMPL_H
#define LIBREC_TOKENIZE_IMPL_H

#include "core/core-impl.h"

#include <stddef.h>

/* Receives each token (tok[0..len), lower case, not NUL-terminated); a
 * nonzero status stops the walk and is returned by rec_tokenize. */
typedef rec_status (*rec_token_fn)(void *user, const char *tok, size_t len);

/* Tokenizes s[0..len).  scratch must hold len bytes (folding never makes
 * UTF-8 longer).  Thread-safe. */
rec_status rec_tokenize(const char *s, size_t len, int stop_english, char *scratch,
                        rec_token_fn fn, void *user);

/* 1 when the lower-case word w[0..len) is on the English stop-word list. */
int rec_stop_word_en(const char *w, size_t len);

#endif
