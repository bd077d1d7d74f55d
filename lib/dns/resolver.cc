// The c-ares loop and the TTL cache behind Resolver.
#include "lib/dns/resolver.h"

#include <arpa/inet.h>
#include <ares.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "lib/dns/wire.h"

namespace farside::dns {
namespace {

int AresType(Type t) {
  switch (t) {
    case Type::kA: return 1;
    case Type::kAaaa: return 28;
    case Type::kTxt: return 16;
    case Type::kMx: return 15;
    case Type::kPtr: return 12;
  }
  return 1;
}

std::string CacheKey(Type t, const std::string& name) {
  return absl::StrCat(static_cast<int>(t), ":", absl::AsciiStrToLower(name));
}

// One Lookup call's answers, shared with the callbacks (which may outlive the call).
struct Batch {
  std::mutex mu;
  std::condition_variable cv;
  std::vector<Answer> answers;
  size_t open = 0;
};

}  // namespace

struct Resolver::Impl {
  Options options;
  ares_channel channel = nullptr;
  int wake[2] = {-1, -1};
  std::thread loop;

  std::mutex mu;  // guards `todo`, `stopping` and `inflight`
  struct Pending {
    Query query;
    std::shared_ptr<Batch> batch;
    size_t index;
  };
  std::deque<Pending> todo;
  bool stopping = false;

  mutable std::mutex cache_mu;
  struct Entry {
    Answer answer;
    absl::Time expires;
  };
  absl::flat_hash_map<std::string, Entry> cache;

  bool FromCache(const Query& q, Answer* out) {
    std::lock_guard<std::mutex> lock(cache_mu);
    auto it = cache.find(CacheKey(q.type, q.name));
    if (it == cache.end()) return false;
    const absl::Time now = absl::Now();
    if (now >= it->second.expires) {
      cache.erase(it);
      return false;
    }
    *out = it->second.answer;
    out->cached = true;
    out->ttl = static_cast<uint32_t>(absl::ToInt64Seconds(it->second.expires - now));
    return true;
  }

  void Store(const Query& q, const Answer& a) {
    absl::Duration ttl;
    if (a.status == Answer::Status::kOk) {
      ttl = std::min(absl::Seconds(a.ttl), options.max_ttl);
    } else if (a.status == Answer::Status::kNxDomain || a.status == Answer::Status::kNoData) {
      ttl = options.negative_ttl;
    } else {
      return;  // timeouts and errors are not remembered
    }
    if (ttl <= absl::ZeroDuration()) return;
    std::lock_guard<std::mutex> lock(cache_mu);
    if (cache.size() >= options.cache_entries) cache.clear();  // bounded; refills from use
    cache[CacheKey(q.type, q.name)] = Entry{a, absl::Now() + ttl};
  }

  // Queries on the wire, by cache key, with everyone waiting for them: concurrent messages
  // from one sender domain cost one query, and a caller that finds its query here waits
  // without waking the loop. Guarded by `mu`.
  absl::flat_hash_map<std::string, std::vector<Pending>> inflight;

  struct Call {
    Impl* impl;
    std::string key;
    Query query;
  };

  static void OnReply(void* arg, int status, int /*timeouts*/, unsigned char* abuf, int alen) {
    std::unique_ptr<Call> call(static_cast<Call*>(arg));
    Answer a;
    const Query& q = call->query;
    if (status == ARES_SUCCESS && abuf != nullptr && alen > 0) {
      a = Parse(q.type, abuf, alen);
    } else if (status == ARES_ENOTFOUND) {
      a.status = Answer::Status::kNxDomain;
    } else if (status == ARES_ENODATA) {
      a.status = Answer::Status::kNoData;
    } else if (status == ARES_ETIMEOUT) {
      a.status = Answer::Status::kTimeout;
    } else {
      a.status = Answer::Status::kError;
      a.error = ares_strerror(status);
    }
    call->impl->Store(q, a);
    decltype(call->impl->inflight)::node_type node;
    {
      std::lock_guard<std::mutex> lock(call->impl->mu);
      node = call->impl->inflight.extract(call->key);
    }
    if (node.empty()) return;
    for (Pending& p : node.mapped()) {
      Batch& b = *p.batch;
      std::lock_guard<std::mutex> lock(b.mu);
      b.answers[p.index] = a;
      if (--b.open == 0) b.cv.notify_all();
    }
  }

  // A or AAAA records with their TTLs (n < 0: the reply did not parse).
  template <typename T, typename Addr>
  static void Addresses(int family, const T* ttls, int n, Addr addr, Answer* a) {
    uint32_t min = UINT32_MAX;
    for (int i = 0; i < n; ++i) {
      char buf[INET6_ADDRSTRLEN];
      inet_ntop(family, addr(ttls[i]), buf, sizeof buf);
      a->records.emplace_back(buf);
      min = std::min(min, static_cast<uint32_t>(std::max(0, ttls[i].ttl)));
    }
    a->ttl = n > 0 ? min : 0;
  }

  static Answer Parse(Type type, const unsigned char* abuf, int alen) {
    Answer a;
    a.status = Answer::Status::kOk;
    if (type == Type::kA) {
      ares_addrttl ttls[64];
      int n = 64;
      if (ares_parse_a_reply(abuf, alen, nullptr, ttls, &n) != ARES_SUCCESS) n = -1;
      Addresses(AF_INET, ttls, n, [](const ares_addrttl& t) { return &t.ipaddr; }, &a);
    } else if (type == Type::kAaaa) {
      ares_addr6ttl ttls[64];
      int n = 64;
      if (ares_parse_aaaa_reply(abuf, alen, nullptr, ttls, &n) != ARES_SUCCESS) n = -1;
      Addresses(AF_INET6, ttls, n, [](const ares_addr6ttl& t) { return &t.ip6addr; }, &a);
    } else if (type == Type::kMx) {
      ares_mx_reply* mx = nullptr;
      if (ares_parse_mx_reply(abuf, alen, &mx) != ARES_SUCCESS) {
        a.status = Answer::Status::kNoData;
        return a;
      }
      std::vector<std::pair<int, std::string>> v;
      for (ares_mx_reply* m = mx; m != nullptr; m = m->next) v.emplace_back(m->priority, m->host);
      ares_free_data(mx);
      std::stable_sort(v.begin(), v.end(), [](const auto& x, const auto& y) { return x.first < y.first; });
      for (auto& [pref, host] : v) a.records.push_back(std::move(host));
      a.ttl = MinAnswerTtl(absl::string_view(reinterpret_cast<const char*>(abuf), static_cast<size_t>(alen)))
                  .value_or(0);
    } else if (type == Type::kPtr) {
      hostent* h = nullptr;
      // The address argument only fills h_addr; the names are what we read.
      const char zero[16] = {};
      if (ares_parse_ptr_reply(abuf, alen, zero, 4, AF_INET, &h) != ARES_SUCCESS || h == nullptr) {
        a.status = Answer::Status::kNoData;
        return a;
      }
      if (h->h_name != nullptr) a.records.emplace_back(h->h_name);
      for (char** al = h->h_aliases; al != nullptr && *al != nullptr; ++al) a.records.emplace_back(*al);
      ares_free_hostent(h);
      a.ttl = MinAnswerTtl(absl::string_view(reinterpret_cast<const char*>(abuf), static_cast<size_t>(alen)))
                  .value_or(0);
    } else {
      ares_txt_ext* txt = nullptr;
      if (ares_parse_txt_reply_ext(abuf, alen, &txt) != ARES_SUCCESS) {
        a.status = Answer::Status::kNoData;
        return a;
      }
      // A record may come in several strings: they are one text (RFC 7208 section 3.3).
      for (ares_txt_ext* t = txt; t != nullptr; t = t->next) {
        std::string s(reinterpret_cast<const char*>(t->txt), t->length);
        if (t->record_start || a.records.empty()) {
          a.records.push_back(std::move(s));
        } else {
          a.records.back() += s;
        }
      }
      ares_free_data(txt);
      a.ttl = MinAnswerTtl(absl::string_view(reinterpret_cast<const char*>(abuf), static_cast<size_t>(alen)))
                  .value_or(0);
    }
    if (a.records.empty()) a.status = Answer::Status::kNoData;
    return a;
  }

  void Loop() {
    for (;;) {
      std::deque<Pending> batch;
      {
        std::lock_guard<std::mutex> lock(mu);
        if (stopping) break;
        batch.swap(todo);
      }
      for (Pending& p : batch) {
        std::string key = CacheKey(p.query.type, p.query.name);
        Query q = p.query;
        {
          std::lock_guard<std::mutex> lock(mu);
          auto [it, fresh] = inflight.try_emplace(key);
          it->second.push_back(std::move(p));
          if (!fresh) continue;  // already on the wire
        }
        auto* call = new Call{this, std::move(key), std::move(q)};
        ares_query(channel, call->query.name.c_str(), 1 /* IN */, AresType(call->query.type),
                   &Impl::OnReply, call);
      }
      ares_socket_t socks[ARES_GETSOCK_MAXNUM];
      const int bits = ares_getsock(channel, socks, ARES_GETSOCK_MAXNUM);
      std::vector<pollfd> fds = {{wake[0], POLLIN, 0}};
      for (int i = 0; i < ARES_GETSOCK_MAXNUM; ++i) {
        short ev = 0;
        if (ARES_GETSOCK_READABLE(bits, i)) ev |= POLLIN;
        if (ARES_GETSOCK_WRITABLE(bits, i)) ev |= POLLOUT;
        if (ev != 0) fds.push_back({socks[i], ev, 0});
      }
      timeval max{0, 100000}, tv;
      const timeval* t = ares_timeout(channel, &max, &tv);
      const int ms = static_cast<int>(t->tv_sec * 1000 + t->tv_usec / 1000) + 1;
      const int n = poll(fds.data(), fds.size(), ms);
      if (n > 0 && (fds[0].revents & POLLIN)) {
        char drain[64];
        while (read(wake[0], drain, sizeof drain) > 0) {
        }
      }
      bool any = false;
      for (size_t i = 1; i < fds.size(); ++i) {
        if (fds[i].revents == 0) continue;
        any = true;
        const bool r = fds[i].revents & (POLLIN | POLLERR | POLLHUP);
        const bool w = fds[i].revents & POLLOUT;
        ares_process_fd(channel, r ? fds[i].fd : ARES_SOCKET_BAD, w ? fds[i].fd : ARES_SOCKET_BAD);
      }
      if (!any) ares_process_fd(channel, ARES_SOCKET_BAD, ARES_SOCKET_BAD);  // timeouts
    }
  }
};

absl::StatusOr<std::unique_ptr<Resolver>> Resolver::Create(const Options& options) {
  if (options.servers.empty()) return absl::InvalidArgumentError("dns: no servers");
  static const int init = ares_library_init(ARES_LIB_INIT_ALL);
  if (init != ARES_SUCCESS) return absl::InternalError(absl::StrCat("dns: ", ares_strerror(init)));
  auto impl = std::make_unique<Impl>();
  impl->options = options;
  ares_options o{};
  // Names are absolute (no search list); sockets stay open between bursts of queries, which
  // saves a socket, connect and close each time the channel goes idle.
  o.flags = ARES_FLAG_NOSEARCH | ARES_FLAG_NOALIASES | ARES_FLAG_STAYOPEN;
  o.timeout = static_cast<int>(absl::ToInt64Milliseconds(options.query_timeout));
  o.tries = std::max(1, options.tries);
  if (int rc = ares_init_options(&impl->channel, &o, ARES_OPT_FLAGS | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES);
      rc != ARES_SUCCESS) {
    return absl::InternalError(absl::StrCat("dns: ", ares_strerror(rc)));
  }
  const std::string csv = absl::StrJoin(options.servers, ",");
  if (int rc = ares_set_servers_ports_csv(impl->channel, csv.c_str()); rc != ARES_SUCCESS) {
    ares_destroy(impl->channel);
    return absl::InvalidArgumentError(absl::StrCat("dns: servers '", csv, "': ", ares_strerror(rc)));
  }
  if (pipe2(impl->wake, O_NONBLOCK | O_CLOEXEC) != 0) {
    ares_destroy(impl->channel);
    return absl::InternalError("dns: pipe failed");
  }
  Impl* raw = impl.get();
  impl->loop = std::thread([raw] { raw->Loop(); });
  return std::unique_ptr<Resolver>(new Resolver(std::move(impl)));
}

Resolver::Resolver(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Resolver::~Resolver() {
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    impl_->stopping = true;
  }
  (void)!write(impl_->wake[1], "x", 1);
  impl_->loop.join();
  ares_destroy(impl_->channel);  // runs the open callbacks with ARES_EDESTRUCTION
  close(impl_->wake[0]);
  close(impl_->wake[1]);
}

std::vector<Answer> Resolver::Lookup(const std::vector<Query>& queries, absl::Time deadline) {
  auto batch = std::make_shared<Batch>();
  batch->answers.resize(queries.size());
  for (Answer& a : batch->answers) a.status = Answer::Status::kTimeout;
  size_t open = 0, queued = 0;
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    std::lock_guard<std::mutex> b(batch->mu);
    for (size_t i = 0; i < queries.size(); ++i) {
      Answer cached;
      if (impl_->FromCache(queries[i], &cached)) {
        batch->answers[i] = std::move(cached);
        continue;
      }
      ++open;
      // Already on the wire (a Prefetch, another message): wait for that answer.
      if (auto it = impl_->inflight.find(CacheKey(queries[i].type, queries[i].name)); it != impl_->inflight.end()) {
        it->second.push_back({queries[i], batch, i});
        continue;
      }
      ++queued;
      impl_->todo.push_back({queries[i], batch, i});
    }
    batch->open = open;
  }
  if (open == 0) return batch->answers;
  if (queued > 0) (void)!write(impl_->wake[1], "x", 1);
  std::unique_lock<std::mutex> lock(batch->mu);
  batch->cv.wait_until(lock, absl::ToChronoTime(deadline), [&] { return batch->open == 0; });
  return batch->answers;  // what is still open stays kTimeout here
}

size_t Resolver::cache_size() const {
  std::lock_guard<std::mutex> lock(impl_->cache_mu);
  return impl_->cache.size();
}

}  // namespace farside::dns
