#include "core-impl.h"

REC_API unsigned rec_version_number(void)
{
    return REC_VERSION_NUMBER;
}

REC_API const char *rec_version(void)
{
    return REC_VERSION_STRING;
}
