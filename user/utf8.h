/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* UTF-8 validation for the JSON writers (spans, OTLP/JSON): bytes from the
 * wire pass only as valid sequences, never as they came. */
#ifndef ZT_UTF8_H
#define ZT_UTF8_H

/* Length of the valid UTF-8 sequence at s (1 for ASCII), or 0 for a byte
 * that starts none (overlong forms, surrogates and code points past
 * U+10FFFF included). Reads no further than a NUL would end the string. */
int zt_utf8_len(const unsigned char *s);

#endif
