/* Status names and the thread-local "what went wrong" message. */
#include "core-impl.h"

#include <stdio.h>
#include <string.h>

static _Thread_local char last_msg[1024];

REC_API const char *rec_strerror(rec_status st)
{
    switch (st) {
    case REC_OK: return "ok";
    case REC_E_INVALID: return "invalid argument";
    case REC_E_NOMEM: return "out of memory";
    case REC_E_IO: return "input/output error";
    case REC_E_FORMAT: return "malformed data";
    case REC_E_RANGE: return "out of range";
    case REC_E_STATE: return "invalid state";
    case REC_E_UNSUPPORTED: return "unsupported";
    case REC_E_NOTFOUND: return "not found";
    case REC_E_CANCELLED: return "cancelled";
    case REC_E_BUSY: return "busy";
    }
    return "unknown status";
}

REC_API const char *rec_last_error(void)
{
    return last_msg;
}

rec_status rec_verr(rec_status st, const char *fmt, va_list ap)
{
    vsnprintf(last_msg, sizeof last_msg, fmt, ap);
    return st;
}

rec_status rec_err(rec_status st, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    rec_verr(st, fmt, ap);
    va_end(ap);
    return st;
}

rec_status rec_nomem(const char *fn)
{
    return rec_err(REC_E_NOMEM, "%s: out of memory", fn);
}
