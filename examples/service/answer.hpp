// What the service answers, shared by the server and the load-test client so
// the client can check every answer byte for byte against its own
// single-threaded calls on the same model file.
#pragma once

#include <librec/librec.h>

#include <cmath>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

namespace svc {

// A loaded model, released by rec_model_destroy when the last request that
// holds it finishes.
using Model = std::shared_ptr<const rec_model>;

inline Model load_model(const std::string &path, std::string *err)
{
    rec_model *m = nullptr;
    rec_status st = rec_model_load(&m, path.c_str());
    if (st) {
        if (err)
            *err = rec_last_error();
        return nullptr;
    }
    return Model(m, [](const rec_model *p) { rec_model_destroy(const_cast<rec_model *>(p)); });
}

inline void json_str(std::string &out, const std::string &s)
{
    out += '"';
    for (unsigned char c : s) {
        if (c == '"' || c == '\\') {
            out += '\\';
            out += (char)c;
        } else if (c < 0x20) {
            char b[8];
            std::snprintf(b, sizeof b, "\\u%04x", c);
            out += b;
        } else {
            out += (char)c;
        }
    }
    out += '"';
}

// One request: a known user, or an anonymous history (comma-separated ids).
struct Query {
    std::string user;
    std::vector<std::string> history;
    size_t k = 10;
};

// The JSON body for q, or an error (status 404 for an unknown user, 400 for
// anything else the library refused) with {"error": message}.
inline int answer(const rec_model *m, const Query &q, std::string &body)
{
    std::vector<const char *> items(q.k ? q.k : 1);
    std::vector<float> scores(q.k ? q.k : 1);
    size_t n = 0;
    rec_status st;
    if (!q.history.empty()) {
        std::vector<const char *> h;
        for (const auto &s : q.history)
            h.push_back(s.c_str());
        st = rec_model_recommend_history(m, h.data(), nullptr, h.size(), q.k, 0, items.data(),
                                         scores.data(), &n);
    } else {
        st = rec_model_recommend(m, q.user.c_str(), q.k, 0, items.data(), scores.data(), &n);
    }
    body.clear();
    if (st) {
        body = "{\"error\": ";
        json_str(body, rec_last_error());
        body += "}";
        return st == REC_E_NOTFOUND ? 404 : 400;
    }
    body = q.history.empty() ? "{\"user\": " : "{\"history\": ";
    if (q.history.empty()) {
        json_str(body, q.user);
    } else {
        body += '[';
        for (size_t i = 0; i < q.history.size(); i++) {
            if (i)
                body += ", ";
            json_str(body, q.history[i]);
        }
        body += ']';
    }
    body += ", \"items\": [";
    for (size_t j = 0; j < n; j++) {
        char num[32];
        // %.9g: a float round-trips, so equal text means equal scores.
        if (std::isfinite(scores[j]))
            std::snprintf(num, sizeof num, "%.9g", (double)scores[j]);
        else
            std::snprintf(num, sizeof num, "null"); // JSON has no NaN or infinity
        body += j ? ", {\"item\": " : "{\"item\": ";
        json_str(body, items[j]);
        body += ", \"score\": ";
        body += num;
        body += '}';
    }
    body += "]}";
    return 200;
}

} // namespace svc
