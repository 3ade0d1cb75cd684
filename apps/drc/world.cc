#include "world.h"

#include <spawn.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <vector>

#include "drc/comm/mpi.h"

extern char** environ;

namespace drc::app {
namespace {

// Set in the environment of the processes started under mpirun, so that they never re-launch.
constexpr const char* kChildMarker = "DRC_BENCH_CHILD";

// This process's arguments (argv[1..]) as the kernel recorded them.
Result<std::vector<std::string>> OwnArguments() {
  std::ifstream in("/proc/self/cmdline", std::ios::binary);
  if (!in) return Status::IOError("cannot read /proc/self/cmdline");
  const std::string all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<std::string> args;
  size_t start = 0;
  while (start < all.size()) {
    const size_t end = all.find('\0', start);
    args.push_back(all.substr(start, end == std::string::npos ? std::string::npos : end - start));
    if (end == std::string::npos) break;
    start = end + 1;
  }
  if (!args.empty()) args.erase(args.begin());
  return args;
}

Result<std::string> OwnExecutable() {
  std::error_code ec;
  auto path = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) return Status::IOError("cannot resolve /proc/self/exe: ", ec.message());
  return path.string();
}

}  // namespace

bool InsideMpiJob() {
  return std::getenv("OMPI_COMM_WORLD_SIZE") != nullptr || std::getenv(kChildMarker) != nullptr;
}

int RelaunchUnderMpirun(int ranks, const std::string& backend, const char* who) {
  auto fail = [&](const Status& st) {
    std::fprintf(stderr, "%s: %s\n", who, st.ToString().c_str());
    return 1;
  };
  auto exe = OwnExecutable();
  if (!exe.ok()) return fail(exe.status());
  auto own_args = OwnArguments();
  if (!own_args.ok()) return fail(own_args.status());

  const char* launcher = std::getenv("DRC_MPIRUN");
  std::vector<std::string> argv = {launcher != nullptr && *launcher ? launcher : "mpirun",
                                   "-np",
                                   std::to_string(ranks),
                                   "--oversubscribe",
                                   "--bind-to",
                                   "none"};
  if (const char* extra = std::getenv("DRC_MPIRUN_FLAGS"); extra != nullptr) {
    std::string word;
    for (const char* p = extra;; ++p) {
      if (*p == ' ' || *p == '\0') {
        if (!word.empty()) argv.push_back(word);
        word.clear();
        if (*p == '\0') break;
      } else {
        word += *p;
      }
    }
  }
  argv.push_back(*exe);
  argv.insert(argv.end(), own_args->begin(), own_args->end());

  std::filesystem::path rendezvous;
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) env.emplace_back(*e);
  env.emplace_back("OMPI_ALLOW_RUN_AS_ROOT=1");
  env.emplace_back("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1");
  env.emplace_back(std::string(kChildMarker) + "=1");
  if (backend == "gloo") {
    std::string tmpl = (std::filesystem::temp_directory_path() / "drc-bench-gloo-XXXXXX").string();
    if (mkdtemp(tmpl.data()) == nullptr) {
      return fail(Status::IOError("mkdtemp ", tmpl, ": ", std::strerror(errno)));
    }
    rendezvous = tmpl;
    env.push_back("DRC_RENDEZVOUS=file:" + tmpl);
  }

  std::vector<char*> cargv, cenv;
  for (auto& a : argv) cargv.push_back(a.data());
  cargv.push_back(nullptr);
  for (auto& e : env) cenv.push_back(e.data());
  cenv.push_back(nullptr);

  std::fflush(stdout);
  pid_t pid = 0;
  const int rc = posix_spawnp(&pid, cargv[0], nullptr, nullptr, cargv.data(), cenv.data());
  int exit_code = 1;
  if (rc != 0) {
    std::fprintf(stderr, "%s: cannot start %s: %s\n", who, cargv[0], std::strerror(rc));
  } else {
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (WIFEXITED(status)) {
      exit_code = WEXITSTATUS(status);
    } else if (WIFSIGNALED(status)) {
      exit_code = 128 + WTERMSIG(status);
    }
  }
  if (!rendezvous.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(rendezvous, ec);
  }
  return exit_code;
}

Result<std::unique_ptr<comm::Communicator>> MakeJobWorld(const std::string& backend) {
  if (backend == "mpi") return comm::MakeMpiWorld();
  comm::CommOptions options;
  if (const char* rv = std::getenv("DRC_RENDEZVOUS"); rv != nullptr) options.rendezvous = rv;
  // nccl: NCCL's unique id travels over the MPI world, which is needed only while NCCL starts.
  std::unique_ptr<comm::Communicator> bootstrap;
  if (backend == "nccl") {
    DRC_ASSIGN_OR_RETURN(bootstrap, comm::MakeMpiWorld());
    options.bootstrap = bootstrap.get();
  }
  return comm::DefaultCommRegistry().Make(backend, options);
}

int FailOnRank(const char* who, const comm::Communicator* comm, const Status& st) {
  const std::string rank = comm ? " (rank " + std::to_string(comm->rank()) + ")" : "";
  std::fprintf(stderr, "%s%s: %s\n", who, rank.c_str(), st.ToString().c_str());
  return 1;
}

int RunOnRanks(int ranks, const std::string& backend, const char* who,
               const std::function<int(comm::Communicator*)>& body) {
  if (!InsideMpiJob()) {
    if (ranks <= 1) return body(nullptr);
    return RelaunchUnderMpirun(ranks, backend, who);
  }
  auto world = MakeJobWorld(backend);
  if (!world.ok()) {
    std::fprintf(stderr, "%s: %s\n", who, world.status().ToString().c_str());
    return 1;
  }
  return body(world->get());
}

}  // namespace drc::app
