/* spawn_baseline: the raw process-creation rate of this machine, the physical limit that the
 * executable-task runtime is compared against.
 *
 *   spawn_baseline [N [INFLIGHT]]     (defaults: 5000 2)
 *
 * posix_spawns /bin/true N times keeping INFLIGHT children in flight, reaps them with
 * waitpid, and prints one JSON object: {"spawns":N,"seconds":S,"spawns_per_s":R}.
 * Written in the common subset of C and C++ (the project builds it as C++). */
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char** environ;

static double NowSeconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int main(int argc, char** argv) {
  long n = argc > 1 ? atol(argv[1]) : 5000;
  long inflight = argc > 2 ? atol(argv[2]) : 2;
  if (n < 1 || inflight < 1) {
    fprintf(stderr, "usage: %s [N>=1 [INFLIGHT>=1]]\n", argv[0]);
    return 2;
  }
  char path[] = "/bin/true";
  char* child_argv[] = {path, NULL};
  long started = 0;
  long running = 0;
  long failed = 0;
  double t0 = NowSeconds();
  while (started < n || running > 0) {
    while (started < n && running < inflight) {
      pid_t pid;
      int rc = posix_spawn(&pid, path, NULL, NULL, child_argv, environ);
      if (rc != 0) {
        fprintf(stderr, "posix_spawn failed: %d\n", rc);
        return 1;
      }
      ++started;
      ++running;
    }
    int status = 0;
    pid_t pid = waitpid(-1, &status, 0);
    if (pid < 0) {
      perror("waitpid");
      return 1;
    }
    --running;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) ++failed;
  }
  double seconds = NowSeconds() - t0;
  if (failed > 0) fprintf(stderr, "%ld children failed\n", failed);
  printf("{\"spawns\":%ld,\"inflight\":%ld,\"seconds\":%.6f,\"spawns_per_s\":%.1f}\n", n, inflight,
         seconds, (double)n / seconds);
  return failed > 0 ? 1 : 0;
}
