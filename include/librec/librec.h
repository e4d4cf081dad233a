/* librec: the whole public API.  See librec(7). */
#ifndef LIBREC_H
#define LIBREC_H

#include "librec/core.h"
#include "librec/data.h"
#include "librec/model.h"
#include "librec/eval.h"
#include "librec/retrieval.h"
#include "librec/rerank.h"

#endif
