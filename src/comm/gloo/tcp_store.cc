#include "tcp_store.h"

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

#include <gloo/common/error.h>

namespace drc::comm::gloo_internal {
namespace {

enum Op : uint8_t { kSet = 1, kGet = 2, kWait = 3 };
enum Reply : uint8_t { kOk = 0, kTimedOut = 1 };

// Keys and values are small (transport addresses); these caps reject garbage frames.
constexpr uint32_t kMaxKeyBytes = 1 << 16;
constexpr uint64_t kMaxValueBytes = uint64_t{1} << 30;
constexpr uint32_t kMaxKeys = 1 << 20;

bool WriteAll(int fd, const void* data, size_t n) {
  const char* p = static_cast<const char*>(data);
  while (n > 0) {
    ssize_t w = ::send(fd, p, n, MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return false;
    p += w;
    n -= static_cast<size_t>(w);
  }
  return true;
}

bool ReadAll(int fd, void* data, size_t n) {
  char* p = static_cast<char*>(data);
  while (n > 0) {
    ssize_t r = ::recv(fd, p, n, 0);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return false;
    p += r;
    n -= static_cast<size_t>(r);
  }
  return true;
}

template <typename T>
bool WriteValue(int fd, T value) {
  return WriteAll(fd, &value, sizeof(value));
}

template <typename T>
bool ReadValue(int fd, T* value) {
  return ReadAll(fd, value, sizeof(*value));
}

bool WriteString(int fd, const std::string& s) {
  return WriteValue<uint32_t>(fd, static_cast<uint32_t>(s.size())) &&
         WriteAll(fd, s.data(), s.size());
}

bool ReadString(int fd, std::string* s) {
  uint32_t n = 0;
  if (!ReadValue(fd, &n) || n > kMaxKeyBytes) return false;
  s->resize(n);
  return ReadAll(fd, s->data(), n);
}

// Resolves host:port to a list of addresses (caller frees with freeaddrinfo).
Result<addrinfo*> Resolve(const std::string& host, int port, bool passive) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = passive ? AI_PASSIVE : 0;
  addrinfo* result = nullptr;
  std::string service = std::to_string(port);
  int rc = ::getaddrinfo(host.empty() ? nullptr : host.c_str(), service.c_str(), &hints, &result);
  if (rc != 0) {
    return Status::InvalidArgument("cannot resolve TCP store host '", host,
                                   "': ", ::gai_strerror(rc));
  }
  return result;
}

}  // namespace

Status ParseHostPort(const std::string& text, std::string* host, int* port) {
  size_t colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == text.size()) {
    return Status::InvalidArgument("rendezvous 'tcp:HOST:PORT' expected, got 'tcp:", text, "'");
  }
  std::string h = text.substr(0, colon);
  if (h.size() >= 2 && h.front() == '[' && h.back() == ']') h = h.substr(1, h.size() - 2);
  const std::string p = text.substr(colon + 1);
  if (!std::all_of(p.begin(), p.end(), [](char c) { return c >= '0' && c <= '9'; }) ||
      p.size() > 5 || std::stoi(p) > 65535) {
    return Status::InvalidArgument("rendezvous port must be 0..65535, got '", p, "'");
  }
  *host = std::move(h);
  *port = std::stoi(p);
  return Status::OK();
}

// ---- Server ------------------------------------------------------------------------------

Result<std::unique_ptr<TcpStoreServer>> TcpStoreServer::Start(const std::string& host, int port) {
  DRC_ASSIGN_OR_RETURN(addrinfo * addrs, Resolve(host, port, /*passive=*/true));
  int fd = -1;
  std::string last_error = "no address";
  for (addrinfo* a = addrs; a != nullptr; a = a->ai_next) {
    fd = ::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) continue;
    int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (::bind(fd, a->ai_addr, a->ai_addrlen) == 0 && ::listen(fd, 128) == 0) break;
    last_error = std::strerror(errno);
    ::close(fd);
    fd = -1;
  }
  ::freeaddrinfo(addrs);
  if (fd < 0) {
    return Status::IOError("TCP store cannot listen on ", host, ":", port, ": ", last_error);
  }
  sockaddr_storage bound{};
  socklen_t len = sizeof(bound);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &len);
  int bound_port = bound.ss_family == AF_INET6
                       ? ntohs(reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port)
                       : ntohs(reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) {
    ::close(fd);
    return Status::IOError("TCP store: pipe: ", std::strerror(errno));
  }
  std::unique_ptr<TcpStoreServer> server(
      new TcpStoreServer(fd, pipe_fds[0], pipe_fds[1], bound_port));
  server->accept_thread_ = std::thread([s = server.get()] { s->AcceptLoop(); });
  return server;
}

TcpStoreServer::TcpStoreServer(int listen_fd, int wake_read, int wake_write, int port)
    : listen_fd_(listen_fd), wake_read_(wake_read), wake_write_(wake_write), port_(port) {}

TcpStoreServer::~TcpStoreServer() {
  stopping_ = true;
  char byte = 0;
  (void)!::write(wake_write_, &byte, 1);
  if (accept_thread_.joinable()) accept_thread_.join();
  std::vector<std::thread> threads;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    for (int fd : client_fds_) ::shutdown(fd, SHUT_RDWR);
    threads = std::move(client_threads_);
  }
  changed_.notify_all();
  for (auto& t : threads) t.join();
  for (int fd : client_fds_) ::close(fd);
  ::close(listen_fd_);
  ::close(wake_read_);
  ::close(wake_write_);
}

void TcpStoreServer::AcceptLoop() {
  while (!stopping_) {
    pollfd fds[2] = {{listen_fd_, POLLIN, 0}, {wake_read_, POLLIN, 0}};
    int rc = ::poll(fds, 2, -1);
    if (rc < 0 && errno == EINTR) continue;
    if (rc < 0 || (fds[1].revents & POLLIN) || stopping_) return;
    if (!(fds[0].revents & POLLIN)) continue;
    int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    std::lock_guard<std::mutex> lock(mutex_);
    if (stopping_) {
      ::close(fd);
      return;
    }
    client_fds_.push_back(fd);
    client_threads_.emplace_back([this, fd] { Serve(fd); });
  }
}

bool TcpStoreServer::WaitKeys(const std::vector<std::string>& keys,
                              std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(mutex_);
  return changed_.wait_for(lock, timeout, [&] {
    if (stopping_) return true;
    return std::all_of(keys.begin(), keys.end(),
                       [&](const std::string& k) { return data_.count(k) > 0; });
  }) && !stopping_;
}

void TcpStoreServer::Serve(int fd) {
  // Any malformed frame or closed connection ends this connection only.
  while (!stopping_) {
    uint8_t op = 0;
    if (!ReadValue(fd, &op)) return;
    if (op == kSet) {
      std::string key;
      uint64_t n = 0;
      if (!ReadString(fd, &key) || !ReadValue(fd, &n) || n > kMaxValueBytes) return;
      std::vector<char> value(n);
      if (!ReadAll(fd, value.data(), n)) return;
      {
        std::lock_guard<std::mutex> lock(mutex_);
        data_[key] = std::move(value);
      }
      changed_.notify_all();
      if (!WriteValue<uint8_t>(fd, kOk)) return;
    } else if (op == kGet) {
      std::string key;
      uint64_t timeout_ms = 0;
      if (!ReadString(fd, &key) || !ReadValue(fd, &timeout_ms)) return;
      bool found = WaitKeys({key}, std::chrono::milliseconds(timeout_ms));
      std::vector<char> value;
      if (found) {
        std::lock_guard<std::mutex> lock(mutex_);
        value = data_[key];
      }
      if (!WriteValue<uint8_t>(fd, found ? kOk : kTimedOut) ||
          !WriteValue<uint64_t>(fd, value.size()) || !WriteAll(fd, value.data(), value.size())) {
        return;
      }
    } else if (op == kWait) {
      uint32_t count = 0;
      if (!ReadValue(fd, &count) || count > kMaxKeys) return;
      std::vector<std::string> keys(count);
      for (auto& k : keys) {
        if (!ReadString(fd, &k)) return;
      }
      uint64_t timeout_ms = 0;
      if (!ReadValue(fd, &timeout_ms)) return;
      bool found = WaitKeys(keys, std::chrono::milliseconds(timeout_ms));
      if (!WriteValue<uint8_t>(fd, found ? kOk : kTimedOut)) return;
    } else {
      return;
    }
  }
}

// ---- Client ------------------------------------------------------------------------------

Result<std::unique_ptr<TcpStore>> TcpStore::Connect(const std::string& host, int port,
                                                    std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::string last_error;
  while (true) {
    DRC_ASSIGN_OR_RETURN(addrinfo * addrs, Resolve(host, port, /*passive=*/false));
    for (addrinfo* a = addrs; a != nullptr; a = a->ai_next) {
      int fd = ::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
      if (fd < 0) continue;
      if (::connect(fd, a->ai_addr, a->ai_addrlen) == 0) {
        ::freeaddrinfo(addrs);
        int one = 1;
        ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        return std::unique_ptr<TcpStore>(new TcpStore(fd, timeout));
      }
      last_error = std::strerror(errno);
      ::close(fd);
    }
    ::freeaddrinfo(addrs);
    if (std::chrono::steady_clock::now() >= deadline) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return Status::Timeout("TCP store at ", host, ":", port, " not reachable within ",
                         timeout.count(), " ms: ", last_error);
}

TcpStore::~TcpStore() { ::close(fd_); }

void TcpStore::set(const std::string& key, const std::vector<char>& data) {
  std::lock_guard<std::mutex> lock(mutex_);
  uint8_t reply = 0;
  if (!WriteValue<uint8_t>(fd_, kSet) || !WriteString(fd_, key) ||
      !WriteValue<uint64_t>(fd_, data.size()) || !WriteAll(fd_, data.data(), data.size()) ||
      !ReadValue(fd_, &reply)) {
    GLOO_THROW_IO_EXCEPTION("TCP store: connection lost during set('", key, "')");
  }
}

std::vector<char> TcpStore::get(const std::string& key) {
  std::lock_guard<std::mutex> lock(mutex_);
  uint8_t reply = 0;
  uint64_t n = 0;
  if (!WriteValue<uint8_t>(fd_, kGet) || !WriteString(fd_, key) ||
      !WriteValue<uint64_t>(fd_, static_cast<uint64_t>(timeout_.count())) ||
      !ReadValue(fd_, &reply) || !ReadValue(fd_, &n) || n > kMaxValueBytes) {
    GLOO_THROW_IO_EXCEPTION("TCP store: connection lost during get('", key, "')");
  }
  std::vector<char> value(n);
  if (!ReadAll(fd_, value.data(), n)) {
    GLOO_THROW_IO_EXCEPTION("TCP store: connection lost during get('", key, "')");
  }
  if (reply != kOk) {
    GLOO_THROW_IO_EXCEPTION("TCP store: timed out after ", timeout_.count(),
                            " ms waiting for key '", key, "'");
  }
  return value;
}

void TcpStore::wait(const std::vector<std::string>& keys) { wait(keys, timeout_); }

void TcpStore::wait(const std::vector<std::string>& keys,
                    const std::chrono::milliseconds& timeout) {
  std::lock_guard<std::mutex> lock(mutex_);
  bool ok = WriteValue<uint8_t>(fd_, kWait) &&
            WriteValue<uint32_t>(fd_, static_cast<uint32_t>(keys.size()));
  for (const auto& k : keys) ok = ok && WriteString(fd_, k);
  uint8_t reply = 0;
  ok = ok &&
       WriteValue<uint64_t>(fd_, static_cast<uint64_t>(std::max<int64_t>(0, timeout.count()))) &&
       ReadValue(fd_, &reply);
  if (!ok) GLOO_THROW_IO_EXCEPTION("TCP store: connection lost during wait");
  if (reply != kOk) {
    GLOO_THROW_IO_EXCEPTION("TCP store: timed out after ", timeout.count(), " ms waiting for ",
                            keys.size(), " key(s), first '", keys.empty() ? "" : keys[0], "'");
  }
}

}  // namespace drc::comm::gloo_internal
