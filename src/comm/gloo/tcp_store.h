// TcpStore: a small key-value store over TCP for gloo rendezvous ("tcp:HOST:PORT").
//
// One process (rank 0) runs a TcpStoreServer; every rank, rank 0 included, talks to it through
// a TcpStore client, which implements gloo::rendezvous::Store (set / get / wait with timeout).
// Keys are write-once in practice (a later set overwrites). The wire protocol is binary and
// length-prefixed, one request and one reply at a time per connection:
//   request: u8 op, then
//     kSet:  u32 key length, key, u64 value length, value        reply: u8 status
//     kGet:  u32 key length, key, u64 timeout ms                 reply: u8 status, u64 n, value
//     kWait: u32 key count, {u32 length, key}..., u64 timeout ms reply: u8 status
//   status: 0 ok, 1 timed out. Integers are in host byte order (peers share one architecture).
// Thread-safety: both classes are thread-safe. The server serves each connection on its own
// thread until it is destroyed; the client serializes its requests.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <gloo/rendezvous/store.h>

#include "drc/common/result.h"
#include "drc/common/status.h"

namespace drc::comm::gloo_internal {

// Parses "HOST:PORT" (HOST may be "[v6addr]"). Port 0 is allowed (the server picks one).
Status ParseHostPort(const std::string& text, std::string* host, int* port);

class TcpStoreServer {
 public:
  // Binds HOST:PORT (port 0: an ephemeral port, see port()) and starts serving.
  static Result<std::unique_ptr<TcpStoreServer>> Start(const std::string& host, int port);
  // Stops accepting, closes every connection and joins the serving threads.
  ~TcpStoreServer();
  TcpStoreServer(const TcpStoreServer&) = delete;
  TcpStoreServer& operator=(const TcpStoreServer&) = delete;

  int port() const { return port_; }

 private:
  TcpStoreServer(int listen_fd, int wake_read, int wake_write, int port);
  void AcceptLoop();
  void Serve(int fd);
  // Blocks until every key exists or the deadline passes; returns whether they all exist.
  bool WaitKeys(const std::vector<std::string>& keys, std::chrono::milliseconds timeout);

  const int listen_fd_;
  const int wake_read_;  // a pipe whose write end wakes the accept loop on shutdown
  const int wake_write_;
  const int port_;
  std::atomic<bool> stopping_{false};

  std::mutex mutex_;
  std::condition_variable changed_;
  std::map<std::string, std::vector<char>> data_;  // guarded by mutex_
  std::vector<int> client_fds_;                    // guarded by mutex_
  std::vector<std::thread> client_threads_;        // guarded by mutex_
  std::thread accept_thread_;
};

// A client of TcpStoreServer. gloo calls it through the Store interface, so failures throw
// gloo::IoException (the communicator converts them to Status at its one adapter).
class TcpStore final : public ::gloo::rendezvous::Store {
 public:
  // Connects to HOST:PORT, retrying until `timeout` passes (the server may start later).
  // `timeout` is also the default deadline of get() and wait(keys).
  static Result<std::unique_ptr<TcpStore>> Connect(const std::string& host, int port,
                                                   std::chrono::milliseconds timeout);
  ~TcpStore() override;

  void set(const std::string& key, const std::vector<char>& data) override;
  // Waits up to the default timeout for the key, then returns its value.
  std::vector<char> get(const std::string& key) override;
  void wait(const std::vector<std::string>& keys) override;
  void wait(const std::vector<std::string>& keys,
            const std::chrono::milliseconds& timeout) override;

 private:
  TcpStore(int fd, std::chrono::milliseconds timeout) : fd_(fd), timeout_(timeout) {}

  const int fd_;
  const std::chrono::milliseconds timeout_;
  std::mutex mutex_;  // one request at a time on fd_
};

}  // namespace drc::comm::gloo_internal
