/* The SVG writer of svg.h.  Ticks follow the 1-2-5 rule on linear axes and
 * powers of ten on log axes; the palette is colour-blind safe (Okabe-Ito). */
#include "svg.h"

#include <math.h>
#include <string.h>

#include "cli.h"

void svg_escape(FILE *f, const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p;) {
        int n = cli_utf8_len(p);
        if (*p == '&')
            fputs("&amp;", f);
        else if (*p == '<')
            fputs("&lt;", f);
        else if (*p == '>')
            fputs("&gt;", f);
        else if (*p == '"')
            fputs("&quot;", f);
        else if (*p == '\'')
            fputs("&apos;", f);
        else if (*p < 0x20)
            ; /* XML 1.0 allows no control characters but tab and newlines */
        else if (n)
            fwrite(p, 1, (size_t)n, f);
        else
            fputc('?', f); /* not UTF-8: an XML parser would reject the file */
        p += n ? n : 1;
    }
}

void svg_shorten(const char *t, size_t max, char *buf, size_t cap)
{
    size_t n = 0, chars = 0, len = strlen(t);
    while (n < len && chars < max) {
        int l = cli_utf8_len((const unsigned char *)t + n);
        n += l ? (size_t)l : 1;
        chars++;
    }
    if (n < len)
        snprintf(buf, cap, "%.*s...", (int)n, t);
    else
        snprintf(buf, cap, "%s", t);
}

int svg_open(svg *s, const char *path, double w, double h, const char *title)
{
    memset(s, 0, sizeof *s);
    s->f = fopen(path, "w");
    if (!s->f)
        return -1;
    s->w = w;
    s->h = h;
    s->left = 70;
    s->right = w - 20;
    s->top = 40;
    s->bottom = h - 50;
    fprintf(s->f,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%g\" height=\"%g\" "
            "viewBox=\"0 0 %g %g\" font-family=\"sans-serif\" font-size=\"12\">\n"
            "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n"
            "<text x=\"%g\" y=\"22\" text-anchor=\"middle\" font-size=\"15\">",
            w, h, w, h, w / 2);
    svg_escape(s->f, title);
    fputs("</text>\n", s->f);
    return 0;
}

static double px(const svg *s, double x)
{
    return s->left + (x - s->x0) / (s->x1 - s->x0) * (s->right - s->left);
}

static double ty(const svg *s, double y)
{
    return s->logy ? log10(y) : y;
}

static double py(const svg *s, double y)
{
    double a = ty(s, s->y0), b = ty(s, s->y1);
    return s->bottom - (ty(s, y) - a) / (b - a) * (s->bottom - s->top);
}

/* The 1-2-5 step that cuts a span into about n intervals. */
static double nice_step(double span, int n)
{
    double raw = span / n, mag = pow(10, floor(log10(raw))), f = raw / mag;
    return (f < 1.5 ? 1 : f < 3.5 ? 2 : f < 7.5 ? 5 : 10) * mag;
}

static void tick(svg *s, double x, double y, int xaxis, const char *label)
{
    if (xaxis)
        fprintf(s->f,
                "<line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\" stroke=\"black\"/>"
                "<text x=\"%.2f\" y=\"%.2f\" text-anchor=\"middle\">",
                x, y, x, y + 5, x, y + 18);
    else
        fprintf(s->f,
                "<line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\" stroke=\"#ddd\"/>"
                "<text x=\"%.2f\" y=\"%.2f\" text-anchor=\"end\">",
                s->left, y, s->right, y, s->left - 6, y + 4);
    svg_escape(s->f, label);
    fputs("</text>\n", s->f);
}

void svg_axes(svg *s, double x0, double x1, double y0, double y1, const char *xlabel,
              const char *ylabel, const char *const *xcats, size_t ncats, int logy)
{
    char b[64];
    s->logy = logy && y0 > 0;
    if (xcats) {
        x0 = -0.5;
        x1 = (double)ncats - 0.5;
    }
    if (!(x1 > x0))
        x1 = x0 + 1;
    if (!(y1 > y0))
        y1 = y0 + 1;
    double xs = 0, ys = 0;
    if (!xcats) {
        xs = nice_step(x1 - x0, 6);
        x0 = floor(x0 / xs + 1e-9) * xs;
        x1 = ceil(x1 / xs - 1e-9) * xs;
    }
    if (s->logy) {
        y0 = pow(10, floor(log10(y0)));
        y1 = pow(10, ceil(log10(y1)));
        if (y1 <= y0)
            y1 = y0 * 10;
    } else {
        ys = nice_step(y1 - y0, 5);
        y0 = floor(y0 / ys + 1e-9) * ys;
        y1 = ceil(y1 / ys - 1e-9) * ys;
    }
    s->x0 = x0;
    s->x1 = x1;
    s->y0 = y0;
    s->y1 = y1;
    if (s->logy)
        for (double y = y0; y <= y1 * 1.0001; y *= 10) {
            snprintf(b, sizeof b, "%g", y);
            tick(s, 0, py(s, y), 0, b);
        }
    else
        for (double y = y0; y <= y1 + ys * 1e-6; y += ys) {
            snprintf(b, sizeof b, "%g", fabs(y) < ys * 1e-9 ? 0 : y);
            tick(s, 0, py(s, y), 0, b);
        }
    if (xcats) {
        /* Every label if they fit (about 45 px each), else every k-th. */
        size_t every = (size_t)ceil((double)ncats * 45 / (s->right - s->left));
        every = every < 1 ? 1 : every;
        for (size_t j = 0; j < ncats; j += every)
            tick(s, px(s, (double)j), s->bottom, 1, xcats[j]);
    } else {
        for (double x = x0; x <= x1 + xs * 1e-6; x += xs) {
            snprintf(b, sizeof b, "%g", fabs(x) < xs * 1e-9 ? 0 : x);
            tick(s, px(s, x), s->bottom, 1, b);
        }
    }
    fprintf(s->f,
            "<path d=\"M%.2f %.2fV%.2fH%.2f\" fill=\"none\" stroke=\"black\"/>\n"
            "<text x=\"%.2f\" y=\"%.2f\" text-anchor=\"middle\">",
            s->left, s->top, s->bottom, s->right, (s->left + s->right) / 2, s->h - 12);
    svg_escape(s->f, xlabel);
    fprintf(s->f,
            "</text>\n<text transform=\"translate(16 %.2f) rotate(-90)\" "
            "text-anchor=\"middle\">",
            (s->top + s->bottom) / 2);
    svg_escape(s->f, ylabel);
    fputs("</text>\n", s->f);
}

static void legend(svg *s, const char *color, const char *label, int dash)
{
    if (!label)
        return;
    double x = s->right - 190, y = s->legend_low ? s->bottom - 12 - 18 * s->legends++
                                                 : s->top + 8 + 18 * s->legends++;
    fprintf(s->f,
            "<line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\" stroke=\"%s\" "
            "stroke-width=\"3\"%s/><text x=\"%.2f\" y=\"%.2f\">",
            x, y, x + 22, y, color, dash ? " stroke-dasharray=\"6 4\"" : "", x + 28, y + 4);
    svg_escape(s->f, label);
    fputs("</text>\n", s->f);
}

void svg_line(svg *s, const double *x, const double *y, size_t n, const char *color, int dash,
              const char *label)
{
    fprintf(s->f, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\"%s points=\"",
            color, dash ? " stroke-dasharray=\"6 4\"" : "");
    for (size_t j = 0; j < n; j++)
        if (isfinite(y[j]) && (!s->logy || y[j] > 0))
            fprintf(s->f, "%s%.2f,%.2f", j ? " " : "", px(s, x[j]), py(s, y[j]));
    fputs("\"/>\n", s->f);
    legend(s, color, label, dash);
}

void svg_bars(svg *s, const double *x, const double *y, size_t n, double width,
              const char *color, const char *label)
{
    double base = py(s, s->y0);
    for (size_t j = 0; j < n; j++) {
        if (!isfinite(y[j]) || (s->logy && y[j] <= 0))
            continue;
        double a = px(s, x[j] - width / 2), b = px(s, x[j] + width / 2), top = py(s, y[j]);
        fprintf(s->f, "<rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\" fill=\"%s\"/>\n",
                a, top, b - a, base - top, color);
    }
    legend(s, color, label, 0);
}

void svg_points(svg *s, const double *x, const double *y, size_t n, double r, const char *color,
                const char *label)
{
    /* Many dots (a map of thousands) share one group's fill and opacity. */
    if (s->opacity > 0 && s->opacity < 1)
        fprintf(s->f, "<g fill=\"%s\" fill-opacity=\"%.2f\">\n", color, s->opacity);
    else
        fprintf(s->f, "<g fill=\"%s\">\n", color);
    for (size_t j = 0; j < n; j++)
        if (isfinite(y[j]) && (!s->logy || y[j] > 0))
            fprintf(s->f, "<circle cx=\"%.2f\" cy=\"%.2f\" r=\"%g\"/>\n", px(s, x[j]),
                    py(s, y[j]), r);
    fputs("</g>\n", s->f);
    legend(s, color, label, 0);
}

/* Characters of s (UTF-8 sequences count once), for text widths. */
static size_t chars(const char *s)
{
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; n++) {
        int l = cli_utf8_len(p);
        p += l ? l : 1;
    }
    return n;
}

/* About the width of a 12 px sans-serif character. */
#define CHAR_PX 6.6

void svg_hbars(svg *s, const char *const *labels, const double *v, size_t n, const char *color,
               const char *xlabel, const char *fmt)
{
    double lo = 0, hi = 0, wide = 0;
    char b[64];
    for (size_t j = 0; j < n; j++) {
        if (isfinite(v[j])) {
            lo = fmin(lo, v[j]);
            hi = fmax(hi, v[j]);
        }
        wide = fmax(wide, CHAR_PX * (double)chars(labels[j]));
    }
    if (!(hi > lo))
        hi = lo + 1;
    s->left = fmin(20 + wide + 8, s->w / 2);
    s->right = s->w - 60; /* room for the value past the longest bar */
    double xs = nice_step(hi - lo, 5);
    s->x0 = floor(lo / xs + 1e-9) * xs;
    s->x1 = ceil(hi / xs - 1e-9) * xs;
    s->y0 = -0.5;
    s->y1 = (double)(n ? n : 1) - 0.5;
    s->logy = 0;
    for (double x = s->x0; x <= s->x1 + xs * 1e-6; x += xs) {
        snprintf(b, sizeof b, "%g", fabs(x) < xs * 1e-9 ? 0 : x);
        fprintf(s->f, "<line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\" stroke=\"#ddd\"/>\n",
                px(s, x), s->top, px(s, x), s->bottom);
        tick(s, px(s, x), s->bottom, 1, b);
    }
    double band = (s->bottom - s->top) / (double)(n ? n : 1);
    for (size_t j = 0; j < n; j++) {
        double y = py(s, (double)(n - 1 - j)), h = fmin(band * 0.7, 24);
        fprintf(s->f, "<text x=\"%.2f\" y=\"%.2f\" text-anchor=\"end\">", s->left - 8, y + 4);
        svg_escape(s->f, labels[j]);
        fputs("</text>\n", s->f);
        if (!isfinite(v[j]))
            continue;
        double a = px(s, fmin(0, v[j])), e = px(s, fmax(0, v[j]));
        fprintf(s->f, "<rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\" fill=\"%s\"/>\n",
                a, y - h / 2, e - a, h, color);
        snprintf(b, sizeof b, fmt, v[j]);
        fprintf(s->f, "<text x=\"%.2f\" y=\"%.2f\" text-anchor=\"%s\">",
                v[j] < 0 ? a - 4 : e + 4, y + 4, v[j] < 0 ? "end" : "start");
        svg_escape(s->f, b);
        fputs("</text>\n", s->f);
    }
    fprintf(s->f,
            "<path d=\"M%.2f %.2fV%.2fH%.2f\" fill=\"none\" stroke=\"black\"/>\n"
            "<text x=\"%.2f\" y=\"%.2f\" text-anchor=\"middle\">",
            px(s, 0), s->top, s->bottom, s->right, (s->left + s->right) / 2, s->h - 12);
    svg_escape(s->f, xlabel);
    fputs("</text>\n", s->f);
}

/* White to Okabe-Ito blue (t = -1) or vermillion (t = +1). */
static void diverging(double t, char *buf, size_t cap)
{
    static const double neg[3] = { 0x00, 0x72, 0xB2 }, pos[3] = { 0xD5, 0x5E, 0x00 };
    const double *c = t < 0 ? neg : pos;
    double a = fmin(fabs(t), 1);
    int r = (int)lround(255 + (c[0] - 255) * a), g = (int)lround(255 + (c[1] - 255) * a),
        bl = (int)lround(255 + (c[2] - 255) * a);
    snprintf(buf, cap, "#%02X%02X%02X", r, g, bl);
}

void svg_heatmap(svg *s, const char *const *rows, size_t nr, const char *const *cols, size_t nc,
                 const double *v, const char *fmt, const char *caption)
{
    double lim = 0, wide = 0, cw = 0;
    char b[64], col[8];
    for (size_t j = 0; j < nr * nc; j++)
        if (isfinite(v[j]))
            lim = fmax(lim, fabs(v[j]));
    lim = lim > 0 ? lim : 1;
    for (size_t r = 0; r < nr; r++)
        wide = fmax(wide, CHAR_PX * (double)chars(rows[r]));
    for (size_t c = 0; c < nc; c++)
        cw = fmax(cw, CHAR_PX * (double)chars(cols[c]) + 10);
    s->left = fmin(20 + wide + 8, s->w / 3);
    s->right = s->w - 110; /* the scale */
    s->top = fmax(s->top, 60);
    double w = fmin(fmax(cw, 56), (s->right - s->left) / (double)(nc ? nc : 1));
    double h = fmin(28, (s->bottom - s->top) / (double)(nr ? nr : 1));
    for (size_t c = 0; c < nc; c++) {
        fprintf(s->f, "<text x=\"%.2f\" y=\"%.2f\" text-anchor=\"middle\">",
                s->left + w * ((double)c + 0.5), s->top - 8);
        svg_escape(s->f, cols[c]);
        fputs("</text>\n", s->f);
    }
    for (size_t r = 0; r < nr; r++) {
        double y = s->top + h * (double)r;
        fprintf(s->f, "<text x=\"%.2f\" y=\"%.2f\" text-anchor=\"end\">", s->left - 8,
                y + h / 2 + 4);
        svg_escape(s->f, rows[r]);
        fputs("</text>\n", s->f);
        for (size_t c = 0; c < nc; c++) {
            double x = v[r * nc + c];
            if (isfinite(x))
                diverging(x / lim, col, sizeof col);
            else
                snprintf(col, sizeof col, "#DDDDDD");
            fprintf(s->f, "<rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\" "
                          "fill=\"%s\" stroke=\"white\"/>\n",
                    s->left + w * (double)c, y, w, h, col);
            if (!isfinite(x))
                continue;
            snprintf(b, sizeof b, fmt, x);
            fprintf(s->f, "<text x=\"%.2f\" y=\"%.2f\" text-anchor=\"middle\" fill=\"%s\">",
                    s->left + w * ((double)c + 0.5), y + h / 2 + 4,
                    fabs(x) > 0.6 * lim ? "white" : "black");
            svg_escape(s->f, b);
            fputs("</text>\n", s->f);
        }
    }
    /* The scale: 11 steps from -lim to +lim, top to bottom. */
    double sx = s->left + w * (double)nc + 30, sh = fmin(22, (s->bottom - s->top) / 11);
    for (int k = 0; k <= 10; k++) {
        double t = 1 - k / 5.0;
        diverging(t, col, sizeof col);
        fprintf(s->f, "<rect x=\"%.2f\" y=\"%.2f\" width=\"18\" height=\"%.2f\" fill=\"%s\"/>\n",
                sx, s->top + sh * k, sh, col);
        if (k % 5)
            continue;
        snprintf(b, sizeof b, fmt, t * lim);
        fprintf(s->f, "<text x=\"%.2f\" y=\"%.2f\">", sx + 24, s->top + sh * (k + 0.5) + 4);
        svg_escape(s->f, b);
        fputs("</text>\n", s->f);
    }
    fprintf(s->f, "<text x=\"%.2f\" y=\"%.2f\" text-anchor=\"middle\">",
            s->left + w * (double)nc / 2, s->top + h * (double)nr + 24);
    svg_escape(s->f, caption);
    fputs("</text>\n", s->f);
}

void svg_text(svg *s, double x, double y, const char *text, const char *anchor)
{
    fprintf(s->f, "<text x=\"%.2f\" y=\"%.2f\" text-anchor=\"%s\">", px(s, x), py(s, y), anchor);
    svg_escape(s->f, text);
    fputs("</text>\n", s->f);
}

int svg_close(svg *s)
{
    fputs("</svg>\n", s->f);
    int bad = ferror(s->f);
    return fclose(s->f) || bad ? -1 : 0;
}
