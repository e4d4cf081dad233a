/* A small SVG writer for the command-line program's charts: one chart per
 * file, with axes, ticks, a legend, lines, bars (upright or on their side),
 * points, heat maps and text labels.
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
/* Instead of svg_axes: a bar chart on its side, one bar per label from top
 * to bottom, each from 0 to v[j] with its value (printf's fmt, "%.3f") at
 * the end, and a value axis labelled xlabel below.  The plot area's left
 * edge moves right to fit the labels (to at most half the width). */
void svg_hbars(svg *s, const char *const *labels, const double *v, size_t n, const char *color,
               const char *xlabel, const char *fmt);
/* Instead of svg_axes: a heat map of v [nr, nc] (row-major), row labels on
 * the left, column labels on top, each cell coloured on a diverging scale
 * (blue for -lim, white for 0, vermillion for +lim; lim the largest |v|,
 * NaN cells grey) and printed with fmt, a scale beside it, caption below. */
void svg_heatmap(svg *s, const char *const *rows, size_t nr, const char *const *cols, size_t nc,
                 const double *v, const char *fmt, const char *caption);
/* text at data point (x, y), anchored "start", "middle" or "end". */
void svg_text(svg *s, double x, double y, const char *text, const char *anchor);
/* Ends the document and closes the file; 0, or -1 if any write failed. */
int svg_close(svg *s);
/* t cut to max characters on a UTF-8 boundary, with "..." when cut. */
void svg_shorten(const char *t, size_t max, char *buf, size_t cap);
/* s with &, <, >, " and ' as XML entities and control characters dropped. */
void svg_escape(FILE *f, const char *s);

#endif
