// librec-loadtest: drives librec-serve from a second process over loopback,
// bounded in requests and in time, reports p50/p99 latency and requests per
// second, and checks every answer byte for byte against a single-threaded
// call on the same model file (answer.hpp formats both).
//
//   librec-loadtest --port-file FILE | --port N  --model A.lrm --users FILE
//                   [--requests 2000] [--seconds 5] [--connections 4] [--k 10]
//                   [--history-every 4] [--swap B.lrm --path SERVED.lrm]
//
// Every history-every-th request is the history variant (the user's top 3
// items under model A as the history).  --swap renames a copy of B.lrm over
// the served file half way through; the second half of the requests waits
// until GET /health reports a new generation (so a fast run cannot finish
// before the server's 100 ms watcher looks).  Answers of generation 0 are
// checked against A, later ones against B, and the run fails unless some
// came from B (the hot reload happened).  Prints one JSON line last.
#include "answer.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

struct Result {
    bool done = false;
    int status = 0;
    long gen = -1;
    double ms = 0;
    Clock::time_point end;
    std::string body;
};

std::string url_encode(const std::string &s)
{
    static const char hex[] = "0123456789ABCDEF";
    std::string out;
    for (unsigned char c : s) {
        if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
            out += (char)c;
        } else {
            out += '%';
            out += hex[c >> 4];
            out += hex[c & 15];
        }
    }
    return out;
}

std::string target(const svc::Query &q)
{
    std::string t = "/recommend?";
    if (q.history.empty()) {
        t += "user=" + url_encode(q.user);
    } else {
        t += "history=";
        for (size_t i = 0; i < q.history.size(); i++)
            t += (i ? "," : "") + url_encode(q.history[i]);
    }
    return t + "&k=" + std::to_string(q.k);
}

int connect_loopback(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons((uint16_t)port);
    if (connect(fd, (sockaddr *)&a, sizeof a) != 0) {
        close(fd);
        return -1;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    struct timeval tv = { 10, 0 }; // a stuck server fails the run, never hangs it
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    return fd;
}

// One request on a kept-alive connection; false if the connection broke.
bool exchange(int fd, const std::string &req, std::string &pending, Result *r)
{
    for (size_t off = 0; off < req.size();) {
        ssize_t w = send(fd, req.data() + off, req.size() - off, MSG_NOSIGNAL);
        if (w <= 0)
            return false;
        off += (size_t)w;
    }
    char chunk[8192];
    size_t end;
    while ((end = pending.find("\r\n\r\n")) == std::string::npos) {
        ssize_t got = recv(fd, chunk, sizeof chunk, 0);
        if (got <= 0)
            return false;
        pending.append(chunk, (size_t)got);
    }
    std::string head = pending.substr(0, end);
    pending.erase(0, end + 4);
    r->status = std::atoi(head.c_str() + head.find(' ') + 1);
    size_t cl = head.find("Content-Length: "), g = head.find("X-Model-Generation: ");
    if (cl == std::string::npos || g == std::string::npos)
        return false;
    size_t len = std::strtoul(head.c_str() + cl + 16, nullptr, 10);
    r->gen = std::atol(head.c_str() + g + 20);
    while (pending.size() < len) {
        ssize_t got = recv(fd, chunk, sizeof chunk, 0);
        if (got <= 0)
            return false;
        pending.append(chunk, (size_t)got);
    }
    r->body = pending.substr(0, len);
    pending.erase(0, len);
    return head.find("Connection: close") == std::string::npos;
}

bool copy_file(const std::string &from, const std::string &to)
{
    std::ifstream in(from, std::ios::binary);
    std::ofstream out(to, std::ios::binary | std::ios::trunc);
    out << in.rdbuf();
    return in.good() && out.good();
}

int usage(const char *why)
{
    std::fprintf(stderr, "librec-loadtest: %s\nusage: librec-loadtest --port-file FILE | --port N "
                         "--model A.lrm --users FILE [--requests N] [--seconds S] "
                         "[--connections C] [--k K] [--history-every M] "
                         "[--swap B.lrm --path SERVED.lrm]\n", why);
    return 2;
}

} // namespace

int main(int argc, char **argv)
{
    std::string model_a, model_b, served, users_file, port_file;
    long port = 0, requests = 2000, connections = 4, k = 10, hist_every = 4;
    double seconds = 5;
    for (int i = 1; i < argc; i++) {
        std::string a = argv[i];
        if (i + 1 >= argc)
            return usage(("option " + a + " needs a value").c_str());
        std::string v = argv[++i];
        if (a == "--port") port = std::atol(v.c_str());
        else if (a == "--port-file") port_file = v;
        else if (a == "--model") model_a = v;
        else if (a == "--swap") model_b = v;
        else if (a == "--path") served = v;
        else if (a == "--users") users_file = v;
        else if (a == "--requests") requests = std::atol(v.c_str());
        else if (a == "--seconds") seconds = std::atof(v.c_str());
        else if (a == "--connections") connections = std::atol(v.c_str());
        else if (a == "--k") k = std::atol(v.c_str());
        else if (a == "--history-every") hist_every = std::atol(v.c_str());
        else return usage(("unknown option " + a).c_str());
    }
    if (!port_file.empty()) {
        std::ifstream f(port_file);
        f >> port;
    }
    // Bounded by construction: at most a million requests and a minute.
    if (port < 1 || port > 65535 || model_a.empty() || users_file.empty() || requests < 1 ||
        requests > 1000000 || !(seconds > 0 && seconds <= 60) || connections < 1 ||
        connections > 64 || k < 1 || k > 1000 || hist_every < 0 ||
        model_b.empty() != served.empty())
        return usage("bad or missing option");
    rec_set_num_threads(1);
    std::string err;
    svc::Model a = svc::load_model(model_a, &err), b;
    if (!a)
        return std::fprintf(stderr, "librec-loadtest: %s\n", err.c_str()), 1;
    if (!model_b.empty() && !(b = svc::load_model(model_b, &err)))
        return std::fprintf(stderr, "librec-loadtest: %s\n", err.c_str()), 1;
    std::vector<std::string> users;
    {
        std::ifstream f(users_file);
        for (std::string line; std::getline(f, line);)
            if (!line.empty())
                users.push_back(line);
    }
    if (users.empty())
        return usage("no users in --users");

    // The queries, fixed before the clock starts.
    std::vector<svc::Query> queries(requests);
    for (long i = 0; i < requests; i++) {
        svc::Query &q = queries[i];
        q.user = users[i % users.size()];
        q.k = (size_t)k;
        if (hist_every > 0 && i % hist_every == hist_every - 1) {
            const char *items[3];
            size_t n = 0;
            if (rec_model_recommend(a.get(), q.user.c_str(), 3, 0, items, nullptr, &n) == 0 && n)
                for (size_t j = 0; j < n; j++)
                    q.history.push_back(items[j]);
        }
    }
    std::vector<std::string> reqs(requests);
    for (long i = 0; i < requests; i++)
        reqs[i] = "GET " + target(queries[i]) + " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";

    std::vector<Result> results(requests);
    std::atomic<long> next{0}, broken{0};
    // With --swap, the second half of the requests waits until the server
    // says (GET /health, on the connection the request will use: the pool
    // has one thread per connection) that it serves the new model, so a
    // fast run cannot end before the watcher (100 ms polls) sees the file.
    std::atomic<bool> swap_seen{!b}, swap_done{false};
    auto start = Clock::now();
    auto deadline = start + std::chrono::duration_cast<Clock::duration>(
                                std::chrono::duration<double>(seconds));
    std::vector<std::thread> pool;
    for (long c = 0; c < connections; c++)
        pool.emplace_back([&] {
            int fd = -1;
            std::string pending;
            for (long i; Clock::now() < deadline && (i = next++) < requests;) {
                if (fd < 0 && (fd = connect_loopback((int)port)) < 0) {
                    broken++;
                    break;
                }
                while (!swap_seen && i >= requests / 2 && Clock::now() < deadline) {
                    Result h;
                    if (swap_done &&
                        exchange(fd, "GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
                                 pending, &h) && h.gen >= 1)
                        swap_seen = true;
                    else
                        std::this_thread::sleep_for(std::chrono::milliseconds(2));
                }
                auto t0 = Clock::now();
                Result &r = results[i];
                bool alive = exchange(fd, reqs[i], pending, &r);
                r.end = Clock::now();
                r.ms = std::chrono::duration<double, std::milli>(r.end - t0).count();
                r.done = r.gen >= 0 && !r.body.empty();
                if (!r.done)
                    broken++;
                if (!alive) {
                    close(fd);
                    fd = -1;
                    pending.clear();
                }
            }
            if (fd >= 0)
                close(fd);
        });
    bool swapped = false;
    if (b) {
        // Half way (by requests or by time), a new file renamed over the old.
        while (next < requests / 2 && Clock::now() < start + (deadline - start) / 2)
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
        std::string tmp = served + ".swap-tmp";
        swapped = copy_file(model_b, tmp) && std::rename(tmp.c_str(), served.c_str()) == 0;
        if (!swapped)
            std::fprintf(stderr, "librec-loadtest: could not replace %s\n", served.c_str());
        swap_done = true;
    }
    for (auto &t : pool)
        t.join();

    // Check every answer against a single-threaded call on its model.
    std::vector<double> lat;
    long mismatches = 0, gens[2] = { 0, 0 };
    auto last = start;
    std::string want;
    auto check_start = Clock::now();
    for (long i = 0; i < requests; i++) {
        const Result &r = results[i];
        if (!r.done)
            continue;
        lat.push_back(r.ms);
        last = std::max(last, r.end);
        const rec_model *m = r.gen == 0 ? a.get() : b ? b.get() : nullptr;
        gens[r.gen == 0 ? 0 : 1]++;
        int status = m ? svc::answer(m, queries[i], want) : -1;
        if (status != r.status || want != r.body) {
            if (mismatches++ < 3)
                std::fprintf(stderr, "librec-loadtest: request %ld (%s), generation %ld:\n"
                                     "  got  %d %s\n  want %d %s\n",
                             i, target(queries[i]).c_str(), r.gen, r.status, r.body.c_str(),
                             status, want.c_str());
        }
    }
    // The same answers computed in-process on one thread: what HTTP and the
    // pool add or gain is the ratio of the two rates.
    double check_s = std::chrono::duration<double>(Clock::now() - check_start).count();
    double inproc = check_s > 0 ? lat.size() / check_s : 0;
    std::sort(lat.begin(), lat.end());
    auto pct = [&](double p) {
        return lat.empty() ? 0.0 : lat[std::min(lat.size() - 1, (size_t)(p * lat.size()))];
    };
    double wall = std::chrono::duration<double>(last - start).count();
    double rps = wall > 0 ? lat.size() / wall : 0;
    std::fprintf(stderr, "librec-loadtest: %zu answers in %.2f s over %ld connections: "
                         "%.0f requests/s, p50 %.3f ms, p99 %.3f ms (in-process, one thread: %.0f/s); "
                         "%ld mismatches, "
                         "%ld failed exchanges; generations 0: %ld, later: %ld\n",
                 lat.size(), wall, connections, rps, pct(0.50), pct(0.99), inproc, mismatches,
                 broken.load(), gens[0], gens[1]);
    std::printf("{\"answers\": %zu, \"seconds\": %.3f, \"connections\": %ld, \"rps\": %.1f, "
                "\"p50_ms\": %.4f, \"p99_ms\": %.4f, \"inproc_rps\": %.1f, \"mismatches\": %ld, \"failed\": %ld, "
                "\"generation0\": %ld, \"reloaded\": %ld}\n",
                lat.size(), wall, connections, rps, pct(0.50), pct(0.99), inproc, mismatches,
                broken.load(), gens[0], gens[1]);
    bool ok = mismatches == 0 && broken == 0 && !lat.empty() &&
              (!b || (swapped && gens[1] > 0));
    if (b && gens[1] == 0)
        std::fprintf(stderr, "librec-loadtest: no answer came from the swapped-in model\n");
    return ok ? 0 : 1;
}
