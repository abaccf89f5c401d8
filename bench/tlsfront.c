/*
 * tlsfront: STARTTLS in front of a plain SMTP server that has none
 * (smtp-sink). It greets, answers EHLO with STARTTLS, does the TLS
 * handshake, then connects to the server behind, swallows its greeting
 * and relays bytes both ways until either side closes: after STARTTLS
 * the client speaks to the real server, with EHLO again as RFC 3207
 * wants. One process per connection (at most FRONT_MAX at once);
 * TCP_NODELAY on both legs, so the front adds no Nagle delay of its own.
 *
 *	tlsfront LISTEN_PORT SERVER_PORT CERT KEY
 *
 * Listens and connects on 127.0.0.1 only. Prints "ready" once listening.
 */

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#define FRONT_MAX 256
#define FRONT_BUF 65536

static int
front_nodelay(int fd)
{
	int one = 1;

	return setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

static int
front_puts(int fd, const char *s)
{
	size_t n = strlen(s);

	return write(fd, s, n) == (ssize_t)n ? 0 : -1;
}

/* Reads one line (up to LF) byte by byte, so that nothing of the TLS
 * handshake that follows STARTTLS is consumed. */
static int
front_getline(int fd, char *line, size_t size)
{
	size_t n = 0;
	char ch;

	for (;;) {
		ssize_t r = read(fd, &ch, 1);

		if (r <= 0)
			return -1;
		if (n + 1 < size)
			line[n++] = ch;
		if (ch == '\n')
			break;
	}
	line[n] = '\0';
	return 0;
}

/* The plain part of the session; 0 once STARTTLS was accepted. */
static int
front_plain(int fd)
{
	char line[1024];

	if (front_puts(fd, "220 tlsfront ESMTP\r\n") == -1)
		return -1;
	while (front_getline(fd, line, sizeof(line)) == 0) {
		if (strncasecmp(line, "EHLO", 4) == 0)
			front_puts(fd, "250-tlsfront\r\n250 STARTTLS\r\n");
		else if (strncasecmp(line, "HELO", 4) == 0)
			front_puts(fd, "250 tlsfront\r\n");
		else if (strncasecmp(line, "STARTTLS", 8) == 0)
			return front_puts(fd, "220 2.0.0 ready to start TLS\r\n");
		else if (strncasecmp(line, "NOOP", 4) == 0 ||
		    strncasecmp(line, "RSET", 4) == 0)
			front_puts(fd, "250 2.0.0 ok\r\n");
		else if (strncasecmp(line, "QUIT", 4) == 0) {
			front_puts(fd, "221 2.0.0 bye\r\n");
			return -1;
		} else
			front_puts(fd, "530 5.7.0 STARTTLS first\r\n");
	}
	return -1;
}

static int
front_connect(int port)
{
	struct sockaddr_in sin;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd == -1)
		return -1;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((unsigned short)port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1) {
		close(fd);
		return -1;
	}
	front_nodelay(fd);
	return fd;
}

static int
front_write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w == -1 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* TLS client <-> plain server until either side is done. */
static void
front_relay(SSL *ssl, int cfd, int sfd)
{
	static char buf[FRONT_BUF];
	struct pollfd p[2];
	int n;

	p[0].fd = cfd;
	p[0].events = POLLIN;
	p[1].fd = sfd;
	p[1].events = POLLIN;
	for (;;) {
		/* Records already decrypted are not visible to poll. */
		if (SSL_pending(ssl) == 0 && poll(p, 2, -1) == -1) {
			if (errno == EINTR)
				continue;
			return;
		}
		if (SSL_pending(ssl) > 0 || (p[0].revents & (POLLIN | POLLHUP))) {
			n = SSL_read(ssl, buf, sizeof(buf));
			if (n <= 0 || front_write_all(sfd, buf, (size_t)n) == -1)
				return;
			continue;
		}
		if (p[1].revents & (POLLIN | POLLHUP)) {
			ssize_t r = read(sfd, buf, sizeof(buf));

			if (r <= 0 || SSL_write(ssl, buf, (int)r) <= 0)
				return;
		}
		if ((p[0].revents | p[1].revents) & (POLLERR | POLLNVAL))
			return;
	}
}

static void
front_session(SSL_CTX *ctx, int cfd, int server_port)
{
	char line[1024];
	SSL *ssl;
	int sfd;

	if (front_plain(cfd) == -1)
		return;
	if ((ssl = SSL_new(ctx)) == NULL || SSL_set_fd(ssl, cfd) != 1 ||
	    SSL_accept(ssl) != 1)
		return;
	if ((sfd = front_connect(server_port)) == -1) {
		SSL_write(ssl, "421 4.3.0 no server behind\r\n", 28);
		return;
	}
	/* The server's greeting: the client has had one already. */
	do {
		if (front_getline(sfd, line, sizeof(line)) == -1)
			return;
	} while (strncmp(line, "220-", 4) == 0);
	front_relay(ssl, cfd, sfd);
	SSL_shutdown(ssl);
}

int
main(int argc, char *argv[])
{
	struct sockaddr_in sin;
	SSL_CTX *ctx;
	int lfd, cfd, one = 1, live = 0, server_port;
	pid_t pid;

	if (argc != 5) {
		fprintf(stderr, "usage: tlsfront listen-port server-port cert key\n");
		return 64;
	}
	server_port = atoi(argv[2]);
	signal(SIGPIPE, SIG_IGN);
	if ((ctx = SSL_CTX_new(TLS_server_method())) == NULL ||
	    SSL_CTX_use_certificate_chain_file(ctx, argv[3]) != 1 ||
	    SSL_CTX_use_PrivateKey_file(ctx, argv[4], SSL_FILETYPE_PEM) != 1) {
		ERR_print_errors_fp(stderr);
		return 1;
	}
	lfd = socket(AF_INET, SOCK_STREAM, 0);
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((unsigned short)atoi(argv[1]));
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(lfd, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    listen(lfd, 1024) == -1) {
		perror("tlsfront: listen");
		return 1;
	}
	printf("ready\n");
	fflush(stdout);
	for (;;) {
		while ((pid = waitpid(-1, NULL, live >= FRONT_MAX ? 0 : WNOHANG)) > 0)
			live--;
		if ((cfd = accept(lfd, NULL, NULL)) == -1) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			perror("tlsfront: accept");
			return 1;
		}
		front_nodelay(cfd);
		if ((pid = fork()) == 0) {
			close(lfd);
			front_session(ctx, cfd, server_port);
			_exit(0);
		}
		if (pid > 0)
			live++;
		close(cfd);
	}
}
