// Unit tests of the TCP rendezvous store (server and client in one process).
#include "src/comm/gloo/tcp_store.h"

#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "drc/common/clock.h"

namespace drc::comm::gloo_internal {
namespace {

using std::chrono::milliseconds;

std::vector<char> Bytes(const std::string& s) { return std::vector<char>(s.begin(), s.end()); }

TEST(TcpStore, SetGetWaitAcrossClients) {
  auto server = TcpStoreServer::Start("127.0.0.1", 0);
  ASSERT_TRUE(server.ok()) << server.status();
  const int port = (*server)->port();
  ASSERT_GT(port, 0);
  auto a = TcpStore::Connect("127.0.0.1", port, milliseconds(2000));
  auto b = TcpStore::Connect("127.0.0.1", port, milliseconds(2000));
  ASSERT_TRUE(a.ok() && b.ok());
  (*a)->set("k1", Bytes("hello"));
  EXPECT_EQ((*b)->get("k1"), Bytes("hello"));
  // get blocks until another client sets the key.
  std::thread setter([&] {
    std::this_thread::sleep_for(milliseconds(100));
    (*a)->set("late", Bytes(std::string(100000, 'x')));
  });
  EXPECT_EQ((*b)->get("late").size(), 100000u);
  setter.join();
  (*b)->wait({"k1", "late"}, milliseconds(100));
  (*a)->set("empty", {});
  EXPECT_TRUE((*b)->get("empty").empty());
}

TEST(TcpStore, WaitTimesOutWithAGlooException) {
  auto server = TcpStoreServer::Start("127.0.0.1", 0);
  ASSERT_TRUE(server.ok()) << server.status();
  auto c = TcpStore::Connect("127.0.0.1", (*server)->port(), milliseconds(300));
  ASSERT_TRUE(c.ok());
  Stopwatch watch;
  EXPECT_THROW((*c)->wait({"never"}, milliseconds(200)), std::exception);
  EXPECT_THROW((*c)->get("never"), std::exception);
  EXPECT_LT(watch.Seconds(), 2.0);
}

TEST(TcpStore, ClientRetriesUntilTheServerStarts) {
  // Reserve a port, release it, and start the server there a little later.
  int port = 0;
  {
    auto probe = TcpStoreServer::Start("127.0.0.1", 0);
    ASSERT_TRUE(probe.ok());
    port = (*probe)->port();
  }
  std::unique_ptr<TcpStoreServer> server;
  std::thread starter([&] {
    std::this_thread::sleep_for(milliseconds(200));
    auto s = TcpStoreServer::Start("127.0.0.1", port);
    if (s.ok()) server = std::move(s).ValueOrDie();
  });
  auto c = TcpStore::Connect("127.0.0.1", port, milliseconds(5000));
  starter.join();
  ASSERT_TRUE(c.ok()) << c.status();
  (*c)->set("x", Bytes("1"));
  EXPECT_EQ((*c)->get("x"), Bytes("1"));
}

TEST(TcpStore, ConnectGivesUpAfterTheTimeout) {
  Stopwatch watch;
  auto c = TcpStore::Connect("127.0.0.1", 1, milliseconds(300));
  EXPECT_EQ(c.status().code(), StatusCode::kTimeout) << c.status();
  EXPECT_LT(watch.Seconds(), 2.0);
}

TEST(TcpStore, ServerShutsDownWithBlockedClients) {
  auto server = TcpStoreServer::Start("127.0.0.1", 0);
  ASSERT_TRUE(server.ok());
  auto c = TcpStore::Connect("127.0.0.1", (*server)->port(), milliseconds(10000));
  ASSERT_TRUE(c.ok());
  std::thread waiter([&] { EXPECT_THROW((*c)->wait({"never"}), std::exception); });
  std::this_thread::sleep_for(milliseconds(100));
  Stopwatch watch;
  server->reset();  // must not wait for the 10 s client deadline
  waiter.join();
  EXPECT_LT(watch.Seconds(), 2.0);
}

TEST(TcpStore, ParseHostPort) {
  std::string host;
  int port = 0;
  EXPECT_TRUE(ParseHostPort("localhost:1234", &host, &port).ok());
  EXPECT_EQ(host, "localhost");
  EXPECT_EQ(port, 1234);
  EXPECT_TRUE(ParseHostPort("[::1]:80", &host, &port).ok());
  EXPECT_EQ(host, "::1");
  EXPECT_FALSE(ParseHostPort("nohost", &host, &port).ok());
  EXPECT_FALSE(ParseHostPort("h:99999", &host, &port).ok());
  EXPECT_FALSE(ParseHostPort("h:12a", &host, &port).ok());
}

}  // namespace
}  // namespace drc::comm::gloo_internal
