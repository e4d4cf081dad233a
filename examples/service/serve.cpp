// librec-serve: a recommendation service over HTTP/1.1 on the loopback
// interface, in C++17 with the standard library and POSIX sockets only.
//
//   librec-serve MODEL.lrm [--port N] [--threads N] [--port-file FILE]
//
//   GET /recommend?user=ID&k=10            top-k for a user of the model
//   GET /recommend?history=ID,ID,...&k=10  top-k for an anonymous history
//   GET /health                            {"generation": G}
//
// Answers are JSON (answer.hpp).  A pool of threads serves the connections
// (keep-alive: one thread per open connection; idle connections are closed
// after 5 s).  Hot reload: a watcher polls MODEL.lrm every 100 ms and, when
// the file was replaced (another inode, size or mtime: write a new file and
// rename it over the old, as rec_model_save does), loads it and swaps it in.
// Each request takes its own reference to the model it started with, so
// in-flight requests finish on the old model, and the old one is destroyed
// when its last request ends.  Every answer carries the X-Model-Generation it
// came from (0 for the model loaded at start).  SIGINT or SIGTERM stops it
// cleanly; it then prints how many models it loaded and released.
#include "answer.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace {

std::atomic<bool> stopping{false};
std::atomic<long> loaded{0}, released{0};

void on_signal(int) { stopping = true; }

// The model now served and its generation; requests copy the pointer.
class Current {
  public:
    void set(svc::Model m, long gen)
    {
        std::lock_guard<std::mutex> g(mu_);
        model_ = std::move(m);
        gen_ = gen;
    }
    svc::Model get(long *gen) const
    {
        std::lock_guard<std::mutex> g(mu_);
        *gen = gen_;
        return model_;
    }
    void clear() { set(nullptr, gen_); }

  private:
    mutable std::mutex mu_;
    svc::Model model_;
    long gen_ = 0;
};

// A counted model: the deleter also counts, so the exit line proves that
// every model loaded was released.
svc::Model load_counted(const std::string &path, std::string *err)
{
    svc::Model m = svc::load_model(path, err);
    if (!m)
        return nullptr;
    loaded++;
    const rec_model *raw = m.get();
    // Keep the loader's deleter inside ours: one release per model.
    return svc::Model(raw, [m](const rec_model *) mutable {
        m.reset();
        released++;
    });
}

struct FileSig {
    ino_t ino = 0;
    off_t size = -1;
    struct timespec mtime = {};
    bool operator==(const FileSig &o) const
    {
        return ino == o.ino && size == o.size && mtime.tv_sec == o.mtime.tv_sec &&
               mtime.tv_nsec == o.mtime.tv_nsec;
    }
};

bool file_sig(const std::string &path, FileSig *s)
{
    struct stat st;
    if (stat(path.c_str(), &st) != 0)
        return false;
    s->ino = st.st_ino;
    s->size = st.st_size;
    s->mtime = st.st_mtim;
    return true;
}

void watch(const std::string &path, FileSig seen, Current *cur)
{
    long gen = 0;
    while (!stopping) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        FileSig now;
        if (!file_sig(path, &now) || now == seen)
            continue;
        seen = now; // a file that does not load is retried when it changes again
        std::string err;
        svc::Model m = load_counted(path, &err);
        if (!m) {
            std::fprintf(stderr, "librec-serve: reload of %s failed, still serving the old "
                                 "model: %s\n", path.c_str(), err.c_str());
            continue;
        }
        cur->set(std::move(m), ++gen);
        std::fprintf(stderr, "librec-serve: reloaded %s (generation %ld)\n", path.c_str(), gen);
    }
}

int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

bool url_decode(const std::string &in, std::string *out)
{
    out->clear();
    for (size_t i = 0; i < in.size(); i++) {
        if (in[i] == '+') {
            *out += ' ';
        } else if (in[i] == '%') {
            if (i + 2 >= in.size() || hexval(in[i + 1]) < 0 || hexval(in[i + 2]) < 0)
                return false;
            *out += (char)(hexval(in[i + 1]) * 16 + hexval(in[i + 2]));
            i += 2;
        } else {
            *out += in[i];
        }
    }
    return true;
}

std::string error_body(const std::string &msg)
{
    std::string b = "{\"error\": ";
    svc::json_str(b, msg);
    return b + "}";
}

// The answer to one request target ("/recommend?user=7&k=10").
int route(const std::string &target, const Current &cur, std::string *body, long *gen)
{
    size_t q = target.find('?');
    std::string path = target.substr(0, q);
    svc::Model m = cur.get(gen); // this request's own reference
    if (path == "/health") {
        *body = "{\"generation\": " + std::to_string(*gen) + "}";
        return 200;
    }
    if (path != "/recommend") {
        *body = error_body("no such path: " + path);
        return 404;
    }
    svc::Query query;
    bool has_user = false, has_history = false;
    std::string rest = q == std::string::npos ? "" : target.substr(q + 1);
    for (size_t pos = 0; pos <= rest.size() && !rest.empty();) {
        size_t amp = rest.find('&', pos);
        std::string kv = rest.substr(pos, amp == std::string::npos ? std::string::npos : amp - pos);
        size_t eq = kv.find('=');
        std::string key = kv.substr(0, eq), val;
        if (eq == std::string::npos || !url_decode(kv.substr(eq + 1), &val)) {
            *body = error_body("bad query parameter: " + kv);
            return 400;
        }
        if (key == "user") {
            query.user = val;
            has_user = true;
        } else if (key == "history") {
            has_history = true;
            for (size_t a = 0; a <= val.size();) {
                size_t c = val.find(',', a);
                std::string id = val.substr(a, c == std::string::npos ? std::string::npos : c - a);
                if (!id.empty())
                    query.history.push_back(id);
                if (c == std::string::npos)
                    break;
                a = c + 1;
            }
        } else if (key == "k") {
            char *end;
            errno = 0;
            unsigned long k = std::strtoul(val.c_str(), &end, 10);
            if (val.empty() || *end || errno || k < 1 || k > 1000) {
                *body = error_body("k must be a whole number from 1 to 1000, got '" + val + "'");
                return 400;
            }
            query.k = k;
        } else {
            *body = error_body("unknown parameter '" + key + "' (user, history, k)");
            return 400;
        }
        if (amp == std::string::npos)
            break;
        pos = amp + 1;
    }
    if (has_user == has_history || (has_history && query.history.empty())) {
        *body = error_body("give one of user=ID and history=ID,ID,...");
        return 400;
    }
    return svc::answer(m.get(), query, *body);
}

const char *reason(int code)
{
    switch (code) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    default: return "Error";
    }
}

bool send_all(int fd, const std::string &s)
{
    size_t off = 0;
    while (off < s.size()) {
        ssize_t w = send(fd, s.data() + off, s.size() - off, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return false;
        off += (size_t)w;
    }
    return true;
}

// Serves one connection until the client closes it, asks to close, idles
// for 5 s, or the server stops.
void serve_connection(int fd, const Current &cur)
{
    std::string buf;
    char chunk[4096];
    int idle_ms = 0;
    while (!stopping) {
        size_t end = buf.find("\r\n\r\n");
        if (end == std::string::npos) {
            if (buf.size() > 16384)
                break; // no request has headers this long
            struct pollfd p = { fd, POLLIN, 0 };
            int r = poll(&p, 1, 200);
            if (r == 0) {
                if ((idle_ms += 200) >= 5000)
                    break;
                continue;
            }
            ssize_t got = r > 0 ? recv(fd, chunk, sizeof chunk, 0) : -1;
            if (got < 0 && errno == EINTR)
                continue;
            if (got <= 0)
                break;
            idle_ms = 0;
            buf.append(chunk, (size_t)got);
            continue;
        }
        std::string head = buf.substr(0, end);
        buf.erase(0, end + 4);
        size_t sp1 = head.find(' '), sp2 = head.find(' ', sp1 + 1);
        size_t eol = head.find("\r\n");
        std::string method = head.substr(0, sp1);
        std::string target = sp1 == std::string::npos ? "" : head.substr(sp1 + 1, sp2 - sp1 - 1);
        std::string version = sp2 == std::string::npos ? "" : head.substr(sp2 + 1, eol - sp2 - 1);
        std::string lower = head;
        for (auto &c : lower)
            c = (char)std::tolower((unsigned char)c);
        bool close_after = version != "HTTP/1.1" ||
                           lower.find("\r\nconnection: close") != std::string::npos;
        std::string body;
        long gen = 0;
        int code;
        if (lower.find("\r\ncontent-length:") != std::string::npos ||
            lower.find("\r\ntransfer-encoding:") != std::string::npos) {
            code = 400; // GET only: a body would desynchronise the stream
            body = error_body("requests carry no body");
            close_after = true;
        } else if (method != "GET") {
            code = 405;
            body = error_body("only GET");
        } else {
            code = route(target, cur, &body, &gen);
        }
        std::string resp = "HTTP/1.1 " + std::to_string(code) + " " + reason(code) +
                           "\r\nContent-Type: application/json\r\nContent-Length: " +
                           std::to_string(body.size()) +
                           "\r\nX-Model-Generation: " + std::to_string(gen) +
                           (close_after ? "\r\nConnection: close" : "") + "\r\n\r\n" + body;
        if (!send_all(fd, resp) || close_after)
            break;
    }
    close(fd);
}

// Accepted connections wait here for a free worker.
class Queue {
  public:
    void push(int fd)
    {
        {
            std::lock_guard<std::mutex> g(mu_);
            q_.push_back(fd);
        }
        cv_.notify_one();
    }
    // -1 once closed and empty.
    int pop()
    {
        std::unique_lock<std::mutex> g(mu_);
        cv_.wait(g, [&] { return closed_ || !q_.empty(); });
        if (q_.empty())
            return -1;
        int fd = q_.front();
        q_.pop_front();
        return fd;
    }
    void close_all()
    {
        {
            std::lock_guard<std::mutex> g(mu_);
            closed_ = true;
            for (int fd : q_)
                ::close(fd);
            q_.clear();
        }
        cv_.notify_all();
    }

  private:
    std::mutex mu_;
    std::condition_variable cv_;
    std::deque<int> q_;
    bool closed_ = false;
};

int usage()
{
    std::fprintf(stderr, "usage: librec-serve MODEL.lrm [--port N] [--threads N] "
                         "[--port-file FILE]\n");
    return 2;
}

} // namespace

int main(int argc, char **argv)
{
    if (argc < 2)
        return usage();
    std::string path = argv[1], port_file;
    int port = 8080, threads = 4;
    for (int i = 2; i < argc; i++) {
        std::string a = argv[i];
        if (i + 1 >= argc)
            return usage();
        if (a == "--port")
            port = std::atoi(argv[++i]);
        else if (a == "--threads")
            threads = std::atoi(argv[++i]);
        else if (a == "--port-file")
            port_file = argv[++i];
        else
            return usage();
    }
    if (port < 0 || port > 65535 || threads < 1 || threads > 256)
        return usage();
    // Requests run in parallel on the pool; each library call stays on its
    // own thread.
    rec_set_num_threads(1);
    Current cur;
    std::thread watcher;
    {
        FileSig sig;
        file_sig(path, &sig);
        std::string err;
        svc::Model m = load_counted(path, &err);
        if (!m) {
            std::fprintf(stderr, "librec-serve: cannot load %s: %s\n", path.c_str(), err.c_str());
            return 1;
        }
        cur.set(std::move(m), 0);
        watcher = std::thread(watch, path, sig, &cur);
    }
    int lfd = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK); // loopback only
    addr.sin_port = htons((uint16_t)port);
    socklen_t alen = sizeof addr;
    if (lfd < 0 || bind(lfd, (sockaddr *)&addr, sizeof addr) != 0 || listen(lfd, 128) != 0 ||
        getsockname(lfd, (sockaddr *)&addr, &alen) != 0) {
        std::fprintf(stderr, "librec-serve: cannot listen on 127.0.0.1:%d: %s\n", port,
                     std::strerror(errno));
        stopping = true;
        watcher.join();
        return 1;
    }
    port = ntohs(addr.sin_port);
    if (!port_file.empty()) {
        std::string tmp = port_file + ".tmp";
        FILE *f = std::fopen(tmp.c_str(), "w");
        if (!f || std::fprintf(f, "%d\n", port) < 0 || std::fclose(f) != 0 ||
            std::rename(tmp.c_str(), port_file.c_str()) != 0) {
            std::fprintf(stderr, "librec-serve: cannot write %s\n", port_file.c_str());
            stopping = true;
            watcher.join();
            return 1;
        }
    }
    std::fprintf(stderr, "librec-serve: %s on http://127.0.0.1:%d with %d threads\n",
                 path.c_str(), port, threads);
    struct sigaction sa {};
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, nullptr);
    sigaction(SIGTERM, &sa, nullptr);

    Queue queue;
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; t++)
        pool.emplace_back([&] {
            for (int fd; (fd = queue.pop()) >= 0;)
                serve_connection(fd, cur);
        });
    while (!stopping) {
        struct pollfd p = { lfd, POLLIN, 0 };
        if (poll(&p, 1, 200) <= 0)
            continue;
        int fd = accept(lfd, nullptr, nullptr);
        if (fd < 0)
            continue;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        queue.push(fd);
    }
    close(lfd);
    queue.close_all();
    for (auto &t : pool)
        t.join();
    watcher.join();
    cur.clear();
    std::fprintf(stderr, "librec-serve: stopped; models loaded %ld, released %ld\n",
                 loaded.load(), released.load());
    return loaded == released ? 0 : 1;
}
