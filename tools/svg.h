/* A small SVG writer for the command-line program's charts: one chart per
 * file, with axes, ticks, a legend, lines, bars, points and text labels.
 * Plain SVG 1.1 that any browser or rsvg-convert draws; every text is
 * escaped, so the output is well-formed XML whatever the labels hold.
 * Coordinates given to the drawing calls are data coordinates. */
#ifndef LIBREC_SVG_H
#define LIBREC_SVG_H

#include <stddef.h>
#include <stdio.h>

typedef struct svg {
    FILE *f;
    double w, h;                     /* canvas, px                          */
    double left, right, top, bottom; /* the plot area's edges, px           */
    double x0, x1, y0, y1;           /* the data range the axes show        */
    int logy;                        /* y axis in powers of ten             */
    int legends;                     /* legend entries drawn so far         */
    int legend_low;                  /* legend at the bottom right, not top  */
    double opacity;                  /* of svg_points' dots; 0 means opaque */
} svg;

/* A w x h chart titled title in a new file at path; 0, or -1 with errno set. */
int svg_open(svg *s, const char *path, double w, double h, const char *title);
/* Axes over [x0, x1] x [y0, y1] widened to round ticks, with labels.  With
 * xcats (n labels), x is categorical: category j sits at x = j.  logy
 * draws y on a log scale (y0 > 0). */
void svg_axes(svg *s, double x0, double x1, double y0, double y1, const char *xlabel,
              const char *ylabel, const char *const *xcats, size_t ncats, int logy);
/* A polyline through (x[j], y[j]); dashed when dash; a legend entry when label. */
void svg_line(svg *s, const double *x, const double *y, size_t n, const char *color, int dash,
              const char *label);
/* Bars of the given width (data units) centred on x[j], from the axis to y[j]. */
void svg_bars(svg *s, const double *x, const double *y, size_t n, double width,
              const char *color, const char *label);
/* Dots of radius r px at (x[j], y[j]). */
void svg_points(svg *s, const double *x, const double *y, size_t n, double r, const char *color,
                const char *label);
/* text at data point (x, y), anchored "start", "middle" or "end". */
void svg_text(svg *s, double x, double y, const char *text, const char *anchor);
/* Ends the document and closes the file; 0, or -1 if any write failed. */
int svg_close(svg *s);
/* s with &, <, >, " and ' as XML entities and control characters dropped. */
void svg_escape(FILE *f, const char *s);

#endif
