/* uv-hello.c: the floor of keel's own stack, a peer for tests/perf/http.sh.
 *
 * The "libuv + llhttp hello (no routing)" server of ../shared/bench/README.md: the same
 * event loop (libuv) and parser (llhttp) keel's http plugin runs on, answering every
 * request with a canned 12-byte response and nothing else (no routing, no pipeline, no
 * Date or request id, no limits). Keel's CPU per request over this one is what keel's
 * own code costs; this one's over the limit server is what libuv and llhttp cost.
 *
 * usage: keel-uv-hello PORT   (listens on 127.0.0.1:PORT) */
#include <llhttp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

static const char kResponse[] =
    "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 12\r\n\r\nHello World!";
static const char kClose[] =
    "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 12\r\nConnection: close\r\n\r\nHello World!";

static llhttp_settings_t settings;
static char readBuffer[65536];

typedef struct {
    uv_tcp_t tcp;
    llhttp_t parser;
    int closing;
} Conn;

typedef struct {
    uv_write_t req;
    uv_buf_t buf;
} Pending;

static void onClosed(uv_handle_t* handle) { free(handle->data); }

static void closeConn(Conn* c) {
    if (c->closing) return;
    c->closing = 1;
    uv_close((uv_handle_t*)&c->tcp, onClosed);
}

static void onWritten(uv_write_t* req, int status) {
    Pending* p = (Pending*)req;
    Conn* c = req->data;
    free(p->buf.base);
    free(p);
    if (status < 0) closeConn(c);
}

/* Writes at once when the socket takes it (the usual case); queues the rest otherwise. */
static void respond(Conn* c, const char* data, size_t length) {
    uv_buf_t buf = uv_buf_init((char*)data, (unsigned)length);
    int n = uv_try_write((uv_stream_t*)&c->tcp, &buf, 1);
    if (n == (int)length) return;
    if (n < 0 && n != UV_EAGAIN) {
        closeConn(c);
        return;
    }
    if (n < 0) n = 0;
    Pending* p = malloc(sizeof *p);
    if (p == NULL) abort();
    p->buf = uv_buf_init(malloc(length - (size_t)n), (unsigned)(length - (size_t)n));
    if (p->buf.base == NULL) abort();
    memcpy(p->buf.base, data + n, length - (size_t)n);
    p->req.data = c;
    if (uv_write(&p->req, (uv_stream_t*)&c->tcp, &p->buf, 1, onWritten) != 0) {
        free(p->buf.base);
        free(p);
        closeConn(c);
    }
}

static int onMessageComplete(llhttp_t* parser) {
    Conn* c = parser->data;
    if (llhttp_should_keep_alive(parser)) {
        respond(c, kResponse, sizeof kResponse - 1);
        return 0;
    }
    respond(c, kClose, sizeof kClose - 1);
    closeConn(c);
    return HPE_PAUSED;
}

static void onAlloc(uv_handle_t* handle, size_t suggested, uv_buf_t* buf) {
    (void)handle;
    (void)suggested;
    *buf = uv_buf_init(readBuffer, sizeof readBuffer);
}

static void onRead(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf) {
    Conn* c = stream->data;
    if (nread == 0 || c->closing) return;
    if (nread < 0) {
        closeConn(c);
        return;
    }
    const llhttp_errno_t error = llhttp_execute(&c->parser, buf->base, (size_t)nread);
    if (error != HPE_OK && error != HPE_PAUSED) closeConn(c);
}

static void onConnection(uv_stream_t* server, int status) {
    if (status < 0) return;
    Conn* c = calloc(1, sizeof *c);
    if (c == NULL) abort();
    uv_tcp_init(server->loop, &c->tcp);
    c->tcp.data = c;
    if (uv_accept(server, (uv_stream_t*)&c->tcp) != 0) {
        closeConn(c);
        return;
    }
    uv_tcp_nodelay(&c->tcp, 1);
    llhttp_init(&c->parser, HTTP_REQUEST, &settings);
    c->parser.data = c;
    uv_read_start((uv_stream_t*)&c->tcp, onAlloc, onRead);
}

int main(int argc, char** argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s PORT\n", argv[0]);
        return 2;
    }
    llhttp_settings_init(&settings);
    settings.on_message_complete = onMessageComplete;
    uv_loop_t* loop = uv_default_loop();
    uv_tcp_t server;
    uv_tcp_init(loop, &server);
    struct sockaddr_in address;
    uv_ip4_addr("127.0.0.1", atoi(argv[1]), &address);
    int rc = uv_tcp_bind(&server, (const struct sockaddr*)&address, 0);
    if (rc == 0) rc = uv_listen((uv_stream_t*)&server, 4096, onConnection);
    if (rc != 0) {
        fprintf(stderr, "keel-uv-hello: cannot listen on 127.0.0.1:%s: %s\n", argv[1], uv_strerror(rc));
        return 1;
    }
    return uv_run(loop, UV_RUN_DEFAULT);
}
