// Conformance of the gloo communicator across processes. mpirun (or any launcher setting
// OMPI_COMM_WORLD_RANK/SIZE or DRC_RANK/DRC_WORLD_SIZE) only starts the processes; they
// rendezvous through a file store or a TCP store:
//   gloo_comm_test --store=file|tcp --dir=BASE [gtest flags]
// Each run uses BASE/job-<id>-<store>, where <id> is the mpirun job id (or the parent pid), so
// a directory left by an earlier run is never reused. Rank 0 removes it once all are connected
// (after a barrier).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

#include "drc/comm/gloo.h"
#include "src/comm/testing/conformance.h"

namespace {

namespace fs = std::filesystem;

std::string Flag(int argc, char** argv, const std::string& name, const std::string& fallback) {
  const std::string prefix = "--" + name + "=";
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg.rfind(prefix, 0) == 0) return arg.substr(prefix.size());
  }
  return fallback;
}

// A port that was free a moment ago (the store server binds it with SO_REUSEADDR).
int FreePort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof(addr);
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    std::perror("FreePort");
    std::exit(2);
  }
  ::close(fd);
  return ntohs(addr.sin_port);
}

// Rank 0 publishes the store port in DIR/port; the others wait for it.
int SharePort(int rank, const fs::path& dir) {
  const fs::path file = dir / "port";
  if (rank == 0) {
    const int port = FreePort();
    const fs::path tmp = dir / "port.tmp";
    std::ofstream(tmp) << port << "\n";
    fs::rename(tmp, file);
    return port;
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (std::chrono::steady_clock::now() < deadline) {
    std::ifstream in(file);
    int port = 0;
    if (in >> port && port > 0) return port;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  std::fprintf(stderr, "rank %d: no port published in %s\n", rank, file.c_str());
  std::exit(2);
}

}  // namespace

int main(int argc, char** argv) {
  const std::string store = Flag(argc, argv, "store", "file");
  const std::string base =
      Flag(argc, argv, "dir", (fs::temp_directory_path() / "drc_gloo").string());
  const char* job = std::getenv("OMPI_MCA_ess_base_jobid");
  const std::string id = job != nullptr ? job : std::to_string(::getppid());
  const fs::path dir = fs::path(base) / ("job-" + id + "-" + store);

  return drc::comm::testing::RunConformanceMain(
      argc, argv, store == "tcp" ? "GlooTcpStore" : "GlooFileStore",
      [&]() -> drc::Result<std::unique_ptr<drc::comm::Communicator>> {
        DRC_ASSIGN_OR_RETURN(drc::comm::CommOptions options,
                             drc::comm::ResolveOptions(drc::comm::CommOptions{}));
        options.timeout = std::chrono::seconds(60);
        std::error_code ec;
        fs::create_directories(dir, ec);
        if (store == "tcp") {
          options.rendezvous = "tcp:127.0.0.1:" + std::to_string(SharePort(options.rank, dir));
        } else {
          options.rendezvous = "file:" + dir.string();
        }
        auto comm = drc::comm::MakeGloo(options);
        // Remove the store only once every rank has read it. Rank 0 being connected to all is
        // not enough: its connection to a peer can complete before that peer has read the
        // other ranks' addresses (removing the directory then left rank 1 waiting on the store
        // and rank 0 timing out in the first Barrier, a CI flake under load). After a barrier
        // every rank has finished connecting.
        if (comm.ok()) {
          DRC_RETURN_NOT_OK((*comm)->Barrier());
          if (options.rank == 0) fs::remove_all(dir, ec);
        }
        return comm;
      });
}
