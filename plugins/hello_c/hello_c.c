/* hello-c: the example plugin in plain C11 against keel/abi.h alone (no C++ layer).
 * It counts hello.ping events in library-level state and republishes each as
 * hello-c.seen with the running count, logs on start and stop, and proves that a
 * plugin built by a C compiler loads. Built with -std=c11 -Wall -Werror. */
#include <keel/abi.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char kManifest[] =
    "{\"name\": \"hello-c\", \"version\": \"0.1.0\", \"sdk\": \"^1.0.0\","
    " \"description\": \"Example plain-C plugin: counts hello.ping events and republishes them as hello-c.seen\"}";

/* Shared by every instance of this library in the process. */
static unsigned long g_pings = 0;

typedef struct hello_c {
  keel_ctx* ctx;
  const keel_host_api* host;
  keel_topic seen;
  uint64_t subscription;
} hello_c;

static keel_str str(const char* s) {
  keel_str out = {s, strlen(s)};
  return out;
}

static void on_ping(void* user, keel_topic topic, const keel_payload* payload) {
  (void)topic;
  hello_c* self = (hello_c*)user;
  char text[64];
  int n = snprintf(text, sizeof text, "{\"count\":%lu,\"bytes\":%zu}", ++g_pings, payload->size);
  keel_payload out = {str("application/json"), text, (size_t)n};
  self->host->publish(self->ctx, self->seen, &out);
}

static void* create(keel_ctx* ctx, const keel_host_api* host) {
  if (!KEEL_HAS_MEMBER(host, keel_host_api, print)) {
    host->set_error(ctx, str("kernel host table is too old"));
    return NULL;
  }
  hello_c* self = (hello_c*)calloc(1, sizeof *self);
  if (self == NULL) {
    host->set_error(ctx, str("out of memory"));
    return NULL;
  }
  self->ctx = ctx;
  self->host = host;
  return self;
}

static int start(void* instance) {
  hello_c* self = (hello_c*)instance;
  self->seen = self->host->topic(self->ctx, str("hello-c.seen"));
  /* Higher priority than hello's subscriber: C hears the ping first. */
  self->subscription = self->host->subscribe(self->ctx, self->host->topic(self->ctx, str("hello.ping")), 10, 0,
                                             on_ping, self, NULL);
  if (self->subscription == 0) {
    self->host->set_error(self->ctx, str("cannot subscribe to hello.ping"));
    return 1;
  }
  self->host->log(self->ctx, KEEL_LOG_INFO, str("hello from C"));
  return 0;
}

static int stop(void* instance) {
  hello_c* self = (hello_c*)instance;
  self->host->unsubscribe(self->ctx, self->subscription);
  self->host->log(self->ctx, KEEL_LOG_INFO, str("goodbye from C"));
  return 0;
}

static void destroy(void* instance) { free(instance); }

static const keel_plugin_desc kDesc = {
    sizeof(keel_plugin_desc), KEEL_ABI_MAJOR, KEEL_ABI_MINOR, {kManifest, sizeof kManifest - 1},
    create, start, stop, destroy, NULL};

KEEL_EXPORT const keel_plugin_desc* keel_plugin_entry(void) { return &kDesc; }
