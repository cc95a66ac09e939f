/*
 * blackhole: a loopback port whose connects hang, for connect-timeout tests.
 *
 * It listens on 127.0.0.1 with a backlog of 0, never accepts, and fills the
 * accept queue itself; Linux then drops further SYNs, so a client's connect
 * waits (retransmitting) instead of being refused. Nothing leaves loopback.
 * Prints "PORT PID" and exits after at most `seconds` (default 30), or when
 * killed.
 */
#define _POSIX_C_SOURCE 200809L
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#define FILLERS 4

int main(int argc, char **argv)
{
    struct sockaddr_in addr;
    socklen_t len = sizeof addr;
    unsigned seconds = argc > 1 ? (unsigned)strtoul(argv[1], NULL, 10) : 30;
    int listener, i;

    listener = socket(AF_INET, SOCK_STREAM, 0);
    if (listener < 0) {
        perror("socket");
        return 1;
    }
    addr.sin_family = AF_INET;
    addr.sin_port = 0;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(listener, (struct sockaddr *)&addr, sizeof addr) != 0 ||
        listen(listener, 0) != 0 ||
        getsockname(listener, (struct sockaddr *)&addr, &len) != 0) {
        perror("bind/listen");
        return 1;
    }
    for (i = 0; i < FILLERS; i++) {
        int s = socket(AF_INET, SOCK_STREAM, 0);
        if (s < 0 || fcntl(s, F_SETFL, O_NONBLOCK) != 0) {
            perror("filler");
            return 1;
        }
        /* EINPROGRESS is expected: the point is a queue that stays full. */
        (void)connect(s, (struct sockaddr *)&addr, sizeof addr);
    }
    printf("%d %ld\n", ntohs(addr.sin_port), (long)getpid());
    fflush(stdout);
    sleep(seconds);
    return 0;
}
