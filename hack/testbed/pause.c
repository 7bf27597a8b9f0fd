/* The real node's pod sandbox process (the "pause" container): holds the pod's namespaces, reaps
 * orphaned children and exits on SIGINT/SIGTERM. Built with `gcc -static` by hack/build-realnode.sh
 * into the local image localhost/datamover-pause, so no image is ever pulled. */
#include <signal.h>
#include <stddef.h>
#include <sys/wait.h>
#include <unistd.h>

static void quit(int sig) {
  (void)sig;
  _exit(0);
}

static void reap(int sig) {
  (void)sig;
  while (waitpid(-1, NULL, WNOHANG) > 0) {
  }
}

int main(void) {
  struct sigaction q = {0}, r = {0};
  q.sa_handler = quit;
  sigaction(SIGINT, &q, NULL);
  sigaction(SIGTERM, &q, NULL);
  r.sa_handler = reap;
  r.sa_flags = SA_NOCLDSTOP | SA_RESTART;
  sigaction(SIGCHLD, &r, NULL);
  for (;;) pause();
}
