// The c-ares channel, driven by whichever caller waits, and the TTL cache behind Resolver.
#include "lib/dns/resolver.h"

#include <arpa/inet.h>
#include <ares.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <condition_variable>
#include <mutex>

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
// Guarded by Impl::mu.
struct Batch {
  std::vector<Answer> answers;
  size_t open = 0;
};

}  // namespace

// No thread of its own: a caller that waits drives c-ares itself (the "leader" polls the
// sockets and delivers every answer that comes in), and other waiters sleep until the
// leader has read a round. A lone scan thus sends, polls and reads without handing off to
// another thread, which is what a query costs most otherwise.
struct Resolver::Impl {
  Options options;
  ares_channel channel = nullptr;
  int wake[2] = {-1, -1};  // interrupts a leader's poll when a new socket may be in use

  std::mutex mu;  // guards the channel, `inflight`, `polling` and every Batch
  std::condition_variable progress;  // a leader finished a round
  bool polling = false;
  struct Pending {
    std::shared_ptr<Batch> batch;
    size_t index;
  };
  // Queries on the wire, by cache key, with everyone waiting for them: concurrent messages
  // from one sender domain cost one query.
  absl::flat_hash_map<std::string, std::vector<Pending>> inflight;

  mutable std::mutex cache_mu;
  struct Entry {
    Answer answer;
    absl::Time expires;
  };
  absl::flat_hash_map<std::string, Entry> cache;

  bool FromCache(const Query& q, const std::string& key, Answer* out) {
    std::lock_guard<std::mutex> lock(cache_mu);
    auto it = cache.find(key);
    if (it == cache.end()) return false;
    const absl::Time now = absl::Now();
    if (now >= it->second.expires) {
      cache.erase(it);
      return false;
    }
    (void)q;
    *out = it->second.answer;
    out->cached = true;
    out->ttl = static_cast<uint32_t>(absl::ToInt64Seconds(it->second.expires - now));
    return true;
  }

  void Store(const std::string& key, const Answer& a) {
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
    cache[key] = Entry{a, absl::Now() + ttl};
  }

  struct Call {
    Impl* impl;
    std::string key;
    Type type;
  };

  // Runs inside ares_query / ares_process_fd / ares_destroy, all called with `mu` held.
  static void OnReply(void* arg, int status, int /*timeouts*/, unsigned char* abuf, int alen) {
    std::unique_ptr<Call> call(static_cast<Call*>(arg));
    Answer a;
    if (status == ARES_SUCCESS && abuf != nullptr && alen > 0) {
      a = Parse(call->type, abuf, alen);
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
    call->impl->Store(call->key, a);
    auto node = call->impl->inflight.extract(call->key);
    if (node.empty()) return;
    for (Pending& p : node.mapped()) {
      p.batch->answers[p.index] = a;
      --p.batch->open;
    }
  }

  // Sends what is neither cached nor on the wire, and attaches `batch` to all of it. With
  // `mu` held. Returns how many answers are still to come.
  // The sockets c-ares wants watched, as a leader's poll set is made from them.
  std::vector<std::pair<ares_socket_t, int>> Sockets() {
    ares_socket_t socks[ARES_GETSOCK_MAXNUM];
    const int bits = ares_getsock(channel, socks, ARES_GETSOCK_MAXNUM);
    std::vector<std::pair<ares_socket_t, int>> out;
    for (int i = 0; i < ARES_GETSOCK_MAXNUM; ++i) {
      const int b = (ARES_GETSOCK_READABLE(bits, i) ? 1 : 0) | (ARES_GETSOCK_WRITABLE(bits, i) ? 2 : 0);
      if (b != 0) out.emplace_back(socks[i], b);
    }
    return out;
  }

  size_t Send(const std::vector<Query>& queries, const std::shared_ptr<Batch>& batch) {
    size_t open = 0;
    bool sent = false;
    // A leader polling now watches the sockets it saw; it is woken only if that changes.
    const std::vector<std::pair<ares_socket_t, int>> before = polling ? Sockets() : decltype(Sockets()){};
    for (size_t i = 0; i < queries.size(); ++i) {
      std::string key = CacheKey(queries[i].type, queries[i].name);
      Answer cached;
      if (FromCache(queries[i], key, &cached)) {
        if (batch) batch->answers[i] = std::move(cached);
        continue;
      }
      ++open;
      auto [it, fresh] = inflight.try_emplace(key);
      if (batch) it->second.push_back({batch, i});
      if (batch) ++batch->open;
      if (!fresh) continue;  // already on the wire: wait for that answer
      auto* call = new Call{this, std::move(key), queries[i].type};
      ares_query(channel, queries[i].name.c_str(), 1 /* IN */, AresType(queries[i].type), &Impl::OnReply, call);
      sent = true;
    }
    if (sent && polling && Sockets() != before) (void)!write(wake[1], "x", 1);
    return open;
  }

  // One round as leader: poll c-ares's sockets until something is readable, c-ares's next
  // timeout, or `deadline`, then let c-ares read and time out. Releases `mu` while polling.
  void Round(std::unique_lock<std::mutex>& lock, absl::Time deadline) {
    polling = true;
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
    int ms = static_cast<int>(t->tv_sec * 1000 + t->tv_usec / 1000) + 1;
    const int64_t left = absl::ToInt64Milliseconds(deadline - absl::Now()) + 1;
    ms = static_cast<int>(std::max<int64_t>(0, std::min<int64_t>(ms, left)));
    lock.unlock();
    const int n = poll(fds.data(), fds.size(), ms);
    lock.lock();
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
    polling = false;
    progress.notify_all();
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
  return std::unique_ptr<Resolver>(new Resolver(std::move(impl)));
}

Resolver::Resolver(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Resolver::~Resolver() {
  {
    // Runs the open callbacks with ARES_EDESTRUCTION; they expect `mu` held. No caller may
    // still be waiting: they hold the resolver.
    std::lock_guard<std::mutex> lock(impl_->mu);
    ares_destroy(impl_->channel);
  }
  close(impl_->wake[0]);
  close(impl_->wake[1]);
}

std::vector<Answer> Resolver::Lookup(const std::vector<Query>& queries, absl::Time deadline) {
  auto batch = std::make_shared<Batch>();
  batch->answers.resize(queries.size());
  for (Answer& a : batch->answers) a.status = Answer::Status::kTimeout;
  std::unique_lock<std::mutex> lock(impl_->mu);
  impl_->Send(queries, batch);
  while (batch->open > 0 && absl::Now() < deadline) {
    if (!impl_->polling) {
      impl_->Round(lock, deadline);
    } else {
      impl_->progress.wait_until(lock, absl::ToChronoTime(deadline));
    }
  }
  return batch->answers;  // what is still open stays kTimeout here
}

void Resolver::Prefetch(const std::vector<Query>& queries) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->Send(queries, nullptr);
}

size_t Resolver::cache_size() const {
  std::lock_guard<std::mutex> lock(impl_->cache_mu);
  return impl_->cache.size();
}

}  // namespace farside::dns
