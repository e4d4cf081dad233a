/* A progress line for the examples whose models train for more than a few
 * seconds: rec_model_fit calls this after every epoch; on a terminal it
 * rewrites one line on stderr ("training <what>: epoch 3/10, loss 0.41")
 * and erases it when the step ends, so the table on stdout stays clean;
 * elsewhere (a pipe, a log) it prints nothing.  Pass the row's label as the
 * callback's user pointer. */
#ifndef LIBREC_EXAMPLES_PROGRESS_H
#define LIBREC_EXAMPLES_PROGRESS_H

#include <math.h>
#include <stdio.h>
#include <unistd.h>

static int show_progress(void *user, int epoch, int epochs, double loss)
{
    if (!isatty(2))
        return 0;
    if (isfinite(loss))
        fprintf(stderr, "\r  training %s: epoch %d/%d, loss %.4f\033[K", (const char *)user,
                epoch, epochs, loss);
    else
        fprintf(stderr, "\r  training %s: step %d/%d\033[K", (const char *)user, epoch, epochs);
    if (epoch == epochs)
        fprintf(stderr, "\r\033[K");
    fflush(stderr);
    return 0;
}

#endif
