/*
 * keel/abi.h: the only binary boundary between the Keel kernel and its plugins.
 *
 * Plain C11. No C++ type, exception or allocator crosses this line, so a plugin built with
 * another compiler, another Poco, or in plain C loads. Rules:
 *
 *  - Versioning works like Apache's module magic number: a plugin declares the ABI it was
 *    built against (KEEL_ABI_MAJOR / KEEL_ABI_MINOR below). The kernel loads it only when the
 *    majors are equal and the plugin's minor is not newer than the kernel's.
 *  - Every function table starts with its own size in bytes. A released table only ever
 *    grows at its end; a reader checks `size` before touching a member added in a later
 *    minor (KEEL_HAS_MEMBER below).
 *  - Strings are (pointer, length) pairs and are not NUL-terminated unless said so.
 *  - Handles are opaque. Ownership is stated beside each declaration.
 *  - Threading: every function of keel_host_api must be called on the loop thread, from
 *    within a callback the kernel invoked (create, start, stop, a timer, an event, ...),
 *    except where a comment says otherwise. Plugin callbacks are invoked on the loop thread,
 *    except keel_work_fn, which runs on the loop's thread pool.
 *
 * A plugin exports exactly one symbol, KEEL_ENTRY_SYMBOL, a function returning its
 * descriptor (a pointer to static storage that stays valid until the library is unloaded).
 */
#ifndef KEEL_ABI_H
#define KEEL_ABI_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define KEEL_ABI_MAJOR 1
#define KEEL_ABI_MINOR 0

#define KEEL_ENTRY_SYMBOL "keel_plugin_entry"

#if defined(__GNUC__)
#define KEEL_EXPORT __attribute__((visibility("default")))
#else
#define KEEL_EXPORT
#endif

/* True when a size-prefixed table `t` (a pointer) is large enough to hold `member`. */
#define KEEL_HAS_MEMBER(t, type, member) \
  ((t)->size >= offsetof(type, member) + sizeof(((type*)0)->member))

/* A borrowed string: `ptr` points to `len` bytes owned by whoever passed it; valid for the
 * duration of the call unless a comment says longer. Not NUL-terminated. */
typedef struct keel_str {
  const char* ptr;
  size_t len;
} keel_str;

/* The kernel's per-plugin-instance handle. Owned by the kernel; valid from the call to
 * keel_plugin_desc.create until keel_plugin_desc.destroy returns. */
typedef struct keel_ctx keel_ctx;

/* Log levels, lowest to highest. */
typedef enum keel_log_level {
  KEEL_LOG_TRACE = 0,
  KEEL_LOG_DEBUG = 1,
  KEEL_LOG_INFO = 2,
  KEEL_LOG_WARN = 3,
  KEEL_LOG_ERROR = 4
} keel_log_level;

/* Releases the user data a callback was registered with. Called exactly once, on the loop
 * thread, when the registration ends (fired one-shot, cleared, unsubscribed, or the instance
 * stopped). May be NULL when the user data needs no release. */
typedef void (*keel_free_fn)(void* user);

/* A plain loop callback: timers, immediates, nextTick, microtasks. */
typedef void (*keel_task_fn)(void* user);

/* offload(): `work` runs on the loop's thread pool (no keel_host_api call allowed there);
 * then `done` runs on the loop thread with status 0, or UV_ECANCELED (<0) when the kernel
 * stopped before the work started. `user` is owned by the plugin throughout. */
typedef void (*keel_work_fn)(void* user);
typedef void (*keel_done_fn)(void* user, int status);

/* An interned bus topic. 0 is never a valid topic. */
typedef uint32_t keel_topic;

/* An event's payload: a type tag (such as "application/json") and bytes. Both are borrowed
 * for the duration of the subscriber call; copy what must outlive it. */
typedef struct keel_payload {
  keel_str type;
  const void* data;
  size_t size;
} keel_payload;

typedef void (*keel_event_fn)(void* user, keel_topic topic, const keel_payload* payload);

/* A service: a function table (`vtable`, whose first member is its size in bytes as
 * uint32_t) and the object it operates on (`self`). Both are owned by the providing plugin
 * instance and stay valid until that instance is stopped. */
typedef struct keel_service {
  const void* vtable;
  void* self;
} keel_service;

/* ===================================================================================
 * Sites and the request pipeline
 *
 * A site (a manifest: listeners, hosts, plugins, middleware, routes) is compiled by the
 * kernel into arrays of steps. A transport (the http plugin, the in-process test client)
 * turns its input into a keel_request, and the kernel runs the steps: the site's
 * middleware in manifest order, then the route's middleware, then the route's handler.
 *
 * Lifetime of a keel_request: created by request_begin (transport side); valid for steps
 * until the response ends or the request is aborted and no step holds it; the transport
 * keeps it until it calls request_release. All calls on the loop thread.
 * =================================================================================== */

typedef struct keel_request keel_request;
typedef struct keel_site keel_site;

/* What a step returns. KEEL_PENDING (above): the step holds the request and calls
 * request->resume(req, KEEL_NEXT | KEEL_DONE) later, from the loop. */
#define KEEL_NEXT 0 /* go on to the next step */
#define KEEL_DONE 1 /* the response is finished, or being written by this step */

typedef struct keel_header {
  keel_str name;
  keel_str value;
} keel_header;

/* One `use` of a handler in a site: a middleware entry or a route. */
typedef struct keel_use_info {
  uint32_t size;        /* sizeof(keel_use_info) as the kernel was built */
  keel_str config_json; /* the use's config, an object checked against the handler's schema */
  keel_str where;       /* "sites/demo/site.json:14: routes[2]", for messages */
  keel_str site_name;
  keel_str site_dir;    /* absolute; relative paths in a config resolve against it */
  int development;      /* non-zero in development mode */
  keel_str route_path;  /* the route's path pattern; empty for site middleware */
} keel_use_info;

typedef void (*keel_request_fn)(void* user, keel_request* req);
/* A chunk of a streamed request body; len == 0 marks its end. Return 0 to keep reading,
 * 1 to pause until request->resume_body. */
typedef int (*keel_chunk_fn)(void* user, keel_request* req, const void* data, size_t len);

/* A request handler or middleware, registered by its plugin under a name its manifest
 * lists in "handlers". `self` is the object passed to register_handler. */
typedef struct keel_handler_vtable {
  uint32_t size;
  /* At site load (and reload): turns one use's config into state the handler keeps.
   * Returns the state (may be any non-NULL pointer), or NULL after set_error to refuse the
   * site. The strings in `use` are valid for the call only. */
  void* (*configure)(void* self, const keel_use_info* use);
  /* Releases a state once no request runs with that configuration any more. May be NULL. */
  void (*release)(void* self, void* state);
  /* Runs for one request: returns KEEL_NEXT, KEEL_DONE or KEEL_PENDING. */
  int (*handle)(void* self, void* state, keel_request* req);
} keel_handler_vtable;

/* The request as steps see it. Strings returned are valid while the request is. */
typedef struct keel_request_api {
  uint32_t size;
  /* --- what was asked --- */
  keel_str (*method)(keel_request* req);
  keel_str (*target)(keel_request* req);         /* as sent: "/a%20b?x=1" (origin form) */
  keel_str (*path)(keel_request* req);           /* decoded once: "/a b" */
  keel_str (*query)(keel_request* req);          /* raw, without '?' */
  /* The index-th value of a query parameter, decoded. Returns 0, or -1 when absent. */
  int (*query_param)(keel_request* req, keel_str name, size_t index, keel_str* value);
  /* The index-th value of a header, by case-insensitive name. Returns 0, or -1. */
  int (*header)(keel_request* req, keel_str name, size_t index, keel_str* value);
  size_t (*header_count)(keel_request* req);
  keel_header (*header_at)(keel_request* req, size_t index);
  /* A route parameter (":id" -> "id"; the wildcard's rest -> "*"). Returns 0, or -1. */
  int (*param)(keel_request* req, keel_str name, keel_str* value);
  keel_str (*client_address)(keel_request* req); /* peer IP address as text */
  keel_str (*id)(keel_request* req);             /* the request id, for logs */
  /* Per-request attributes middleware hands on (the authenticated user, ...). */
  void (*set_attribute)(keel_request* req, keel_str key, keel_str value);
  int (*attribute)(keel_request* req, keel_str key, keel_str* value);

  /* --- the body --- */
  int64_t (*content_length)(keel_request* req); /* -1 when unknown (chunked) */
  uint64_t (*body_limit)(keel_request* req);    /* the route's limit in bytes */
  /* Buffers the whole body (over the limit: 413 through the error handler) and then calls
   * done(user, req). Returns KEEL_PENDING: return that from the step. Callbacks a step
   * registers (done, on_chunk, on_drain, on_abort) run exactly once each, also when the
   * client goes away (aborted() tells), so their user data can be freed there. */
  int (*read_body)(keel_request* req, keel_request_fn done, void* user);
  keel_str (*body)(keel_request* req);          /* the buffered body, after read_body */
  /* Streams the body to on_chunk (len == 0: the end, or the abort); reading pauses while
   * on_chunk asks to. Returns KEEL_PENDING. */
  int (*stream_body)(keel_request* req, keel_chunk_fn on_chunk, void* user);
  void (*resume_body)(keel_request* req);

  /* --- pending steps --- */
  void (*resume)(keel_request* req, int result); /* KEEL_NEXT or KEEL_DONE */
  /* Called once if the client goes away while the request is not finished. */
  void (*on_abort)(keel_request* req, keel_request_fn fn, void* user);
  int (*aborted)(keel_request* req);

  /* --- the response --- */
  void (*set_status)(keel_request* req, int status);
  void (*set_header)(keel_request* req, keel_str name, keel_str value); /* replaces */
  void (*add_header)(keel_request* req, keel_str name, keel_str value);
  /* Writes body bytes (the head goes first, Content-Length unknown: streamed). Returns 0,
   * or 1 when buffered data passed the high-water mark: stop and wait for on_drain. */
  int (*write)(keel_request* req, const void* data, size_t len);
  void (*on_drain)(keel_request* req, keel_request_fn fn, void* user);
  /* Finishes the response with a last piece of body (may be empty). With nothing written
   * before, the body's length becomes Content-Length. */
  void (*end)(keel_request* req, const void* data, size_t len);
  /* Sends `length` bytes of `fd` from `offset` as the whole body (sendfile where the
   * transport can), then ends. Takes ownership of fd. Returns 0 or a negative errno. */
  int (*send_file)(keel_request* req, int fd, uint64_t offset, uint64_t length);
  /* The central error handler: {"success":false,"code":CODE,"message":MESSAGE} with
   * `status`. internal != 0 marks an unexpected failure: in production the client sees a
   * generic 500 message; the real one is logged with the request id. Ends the response. */
  void (*fail)(keel_request* req, int status, keel_str code, keel_str message, int internal);
  int (*headers_sent)(keel_request* req);
  int (*status)(keel_request* req);
} keel_request_api;

/* What a transport hands the kernel for a new request. */
typedef struct keel_request_info {
  uint32_t size;
  keel_str method;
  keel_str target;         /* origin form or absolute form */
  const keel_header* headers;
  size_t header_count;
  keel_str client_address;
  keel_str request_id;     /* empty: the kernel makes one */
  int64_t content_length;  /* -1: chunked / unknown; 0: none */
  int expect_continue;     /* the client sent Expect: 100-continue */
} keel_request_info;

/* The transport's side of a request: where the response goes. `conn` is the transport's. */
typedef struct keel_transport_vtable {
  uint32_t size;
  /* The response head, exactly once, before any body: status and headers as the steps set
   * them; content_length is the body's length, or -1 when it is streamed. */
  void (*write_head)(void* conn, keel_request* req, int status, const keel_header* headers, size_t count,
                     int64_t content_length);
  /* Body bytes. Returns 1 when the transport's buffer is above its high-water mark: the
   * kernel waits for request_drained before writing more. */
  int (*write_body)(void* conn, keel_request* req, const void* data, size_t len);
  /* A file range as body (owns fd). NULL: the kernel reads the file and uses write_body. */
  int (*send_file)(void* conn, keel_request* req, int fd, uint64_t offset, uint64_t length);
  /* The response is complete. */
  void (*end)(void* conn, keel_request* req);
  /* Request-body flow control: pause (1) or resume (0) reading the body. */
  void (*pause_body)(void* conn, keel_request* req, int paused);
  /* The route accepts the body and a step asked for it: send "100 Continue" now. */
  void (*send_continue)(void* conn, keel_request* req);
  /* The response cannot be completed (an error after the head was sent): close the
   * connection so the client sees a truncated response, not a complete wrong one. */
  void (*reset)(void* conn, keel_request* req);
} keel_transport_vtable;

/* The transport's view of the kernel (the http plugin; the test client). */
typedef struct keel_transport_api {
  uint32_t size;
  /* The sites and their listeners as JSON, valid until the next site.reloaded event:
   * [{"name", "dir", "listeners": [{"address", "host", "port", "tls": {"cert", "key"}}],
   *   "hosts": [...], "default": bool, "mode"}] */
  keel_str (*sites_json)(keel_ctx* ctx);
  /* The site for a listener (its "address" in sites_json) and a Host header: the site
   * naming that host exactly, then the longest matching "*.domain", then a site without
   * host names; unless exact_only, then the address's "default" site, then its first.
   * NULL when none. Valid until the next site.reloaded event: look it up per request. */
  keel_site* (*site_for)(keel_ctx* ctx, keel_str listener_address, keel_str host, int exact_only);
  keel_str (*site_name)(keel_site* site);
  /* The site the calling instance belongs to ("" outside a site). */
  keel_str (*instance_site)(keel_ctx* ctx);
  /* Starts a request on `site` and runs its pipeline as far as it goes now (it may respond
   * before returning). Never NULL. */
  keel_request* (*request_begin)(keel_ctx* ctx, keel_site* site, const keel_request_info* info,
                                 const keel_transport_vtable* transport, void* conn);
  /* Request body bytes as they arrive; len == 0 marks the end of the body. */
  void (*request_body)(keel_request* req, const void* data, size_t len);
  /* The transport's buffer went below its high-water mark. */
  void (*request_drained)(keel_request* req);
  /* The client went away: steps holding the request are told, nothing more is written. */
  void (*request_abort)(keel_request* req);
  /* The transport is done with the request (after end, or after abort). */
  void (*request_release)(keel_request* req);
  /* Non-zero when the request's route exists, accepts its method and its announced
   * Content-Length is within the route's limit (for 100-continue and early 413). */
  int (*request_wants_body)(keel_request* req);
} keel_transport_api;

/* The kernel -> plugin table. Owned by the kernel, valid for the life of the process. */
typedef struct keel_host_api {
  uint32_t size; /* sizeof(keel_host_api) as the kernel was built */
  uint16_t abi_major;
  uint16_t abi_minor;

  /* --- identity and configuration --- */
  /* The instance's name (the plugin name, or "name#site" when a site names it). Valid for
   * the instance's life. */
  keel_str (*instance_name)(keel_ctx* ctx);
  /* The instance's configuration as JSON text (an object; "{}" when none was given),
   * already validated against the manifest's config schema. Valid for the instance's life. */
  keel_str (*config_json)(keel_ctx* ctx);
  /* Writes one log line attributed to this instance. */
  void (*log)(keel_ctx* ctx, keel_log_level level, keel_str message);
  /* Records why create/start/a command failed; the kernel shows it with the plugin's name.
   * The text is copied. */
  void (*set_error)(keel_ctx* ctx, keel_str message);

  /* --- the loop (Node's scheduling and ordering) --- */
  /* Milliseconds of the loop's cached clock (uv_now). */
  uint64_t (*now_ms)(keel_ctx* ctx);
  /* setTimeout (repeat_ms == 0) / setInterval (repeat_ms > 0). Returns a timer id (> 0).
   * `user` is released through `free_user` when a timeout fired, or when the timer is
   * cleared, or when the instance stops. */
  uint64_t (*set_timer)(keel_ctx* ctx, uint64_t timeout_ms, uint64_t repeat_ms, keel_task_fn fn,
                        void* user, keel_free_fn free_user);
  /* clearTimeout / clearInterval. Returns 0, or -1 when the id is unknown (already fired). */
  int (*clear_timer)(keel_ctx* ctx, uint64_t timer_id);
  /* setImmediate: runs in the check phase of this or the next loop iteration. */
  uint64_t (*set_immediate)(keel_ctx* ctx, keel_task_fn fn, void* user, keel_free_fn free_user);
  int (*clear_immediate)(keel_ctx* ctx, uint64_t immediate_id);
  /* process.nextTick and queueMicrotask: drained after the current callback, nextTick queue
   * first, then microtasks, until both are empty. `user` is released after the call. */
  void (*next_tick)(keel_ctx* ctx, keel_task_fn fn, void* user, keel_free_fn free_user);
  void (*queue_microtask)(keel_ctx* ctx, keel_task_fn fn, void* user, keel_free_fn free_user);
  /* Runs `work` on the thread pool, then `done` on the loop thread. Returns 0 or a negative
   * libuv error code (then neither callback runs). */
  int (*offload)(keel_ctx* ctx, keel_work_fn work, keel_done_fn done, void* user);

  /* --- the bus --- */
  /* Interns a topic name (idempotent, cheap after the first call). */
  keel_topic (*topic)(keel_ctx* ctx, keel_str name);
  /* Subscribes; higher priority runs first, equal priorities in subscription order.
   * once != 0 removes the subscription before its first call. Returns a subscription id
   * (> 0); `user` is released on unsubscribe, after a once-subscription fired, or when the
   * instance stops. */
  uint64_t (*subscribe)(keel_ctx* ctx, keel_topic topic, int32_t priority, int once,
                        keel_event_fn fn, void* user, keel_free_fn free_user);
  /* Safe at any time, including from inside a dispatch (the removed subscriber is not
   * called again, not even later in the same dispatch). Returns 0 or -1 if unknown. */
  int (*unsubscribe)(keel_ctx* ctx, uint64_t subscription);
  /* Delivers synchronously to every subscriber, in priority order, before returning. */
  void (*publish)(keel_ctx* ctx, keel_topic topic, const keel_payload* payload);
  /* Copies the payload and delivers it on a later tick (from the check phase). */
  void (*post)(keel_ctx* ctx, keel_topic topic, const keel_payload* payload);
  /* Non-zero when the topic has a subscriber: skip building a payload nobody reads. */
  int (*has_subscribers)(keel_ctx* ctx, keel_topic topic);

  /* --- services --- */
  /* Registers `name@major` (e.g. "auth.hasher", 1) for this instance's site. Returns 0, or
   * -1 when the name and major are already provided (set_error explains). */
  int (*provide)(keel_ctx* ctx, keel_str name, uint32_t major, keel_service service);
  /* Looks up `name@major` in this instance's site, then process-wide. Returns 0 and fills
   * `out`, or -1 when nobody provides it. */
  int (*lookup)(keel_ctx* ctx, keel_str name, uint32_t major, keel_service* out);

  /* --- completions of KEEL_PENDING --- */
  /* Ends a command that returned KEEL_PENDING; the process exits with `code` once the
   * plugins have stopped. */
  void (*command_done)(keel_ctx* ctx, int code);
  /* Ends a stop that returned KEEL_PENDING (connections drained, children reaped). */
  void (*stop_done)(keel_ctx* ctx);
  /* Writes to the command's standard output (commands print results there; logs go to
   * standard error). */
  void (*print)(keel_ctx* ctx, keel_str text);

  /* --- plugins doing their own I/O (like Node addons) --- */
  /* The kernel's libuv loop (a uv_loop_t*, libuv 1.x): a plugin that does its own I/O
   * (sockets, files, processes) registers its handles on it. Never run or close it. */
  void* (*uv_loop)(keel_ctx* ctx);
  /* Runs fn(user) as a loop callback on behalf of this instance (Node's MakeCallback): it
   * is timed by the lag monitor, and the nextTick and microtask queues drain after it.
   * Wrap every callback libuv makes into the plugin with this. `what` names the callback
   * kind in lag reports ("read", "connection"); NUL-terminated, static storage. */
  void (*make_callback)(keel_ctx* ctx, const char* what, keel_task_fn fn, void* user);

  /* --- the request pipeline --- */
  /* Registers the handler `name` (listed in the manifest's "handlers") for this instance.
   * Call from create or start. Returns 0, or -1 after set_error. */
  int (*register_handler)(keel_ctx* ctx, keel_str name, const keel_handler_vtable* vtable, void* self);
  /* The request API steps use; static, valid for the life of the process. */
  const keel_request_api* request;
  /* The transport API; static, valid for the life of the process. */
  const keel_transport_api* transport;
} keel_host_api;

/* Returned by keel_plugin_desc.command and .stop when they finish later, from the loop,
 * through host->command_done / host->stop_done. */
#define KEEL_PENDING (-1000)

/* The plugin -> kernel table, returned by the entry point. Static storage in the plugin. */
typedef struct keel_plugin_desc {
  uint32_t size; /* sizeof(keel_plugin_desc) as the plugin was built */
  uint16_t abi_major;
  uint16_t abi_minor;

  /* The embedded manifest, JSON text (static storage): name, version, description, sdk,
   * requires, provides, commands, config schema. See sdk/README.md. */
  keel_str manifest;

  /* Creates an instance. `host` and `ctx` stay valid until destroy returns. Returns the
   * instance (owned by the plugin, released in destroy) or NULL after set_error. */
  void* (*create)(keel_ctx* ctx, const keel_host_api* host);
  /* Starts the instance: its dependencies have started. Returns 0, or non-zero after
   * set_error (then stop is not called, destroy is). */
  int (*start)(void* instance);
  /* Stops the instance (dependents stop before their dependencies). Returns 0 when
   * stopped, or KEEL_PENDING when it needs the loop to finish something first (draining
   * connections); it then calls host->stop_done, and the kernel waits for that up to the
   * graceful-stop deadline. Once stopped, the kernel clears any timer, immediate,
   * subscription or service the instance still holds. May be NULL. */
  int (*stop)(void* instance);
  /* Releases the instance. */
  void (*destroy)(void* instance);
  /* Runs the subcommand `name` listed in the manifest's "commands" (NULL when it lists
   * none), on a started instance. argv[0] is the command name; strings are NUL-terminated
   * and borrowed for the call. Returns the exit code, or KEEL_PENDING to finish later
   * through command_done. */
  int (*command)(void* instance, keel_str name, int argc, const char* const* argv);
} keel_plugin_desc;

/* The entry point every plugin exports under KEEL_ENTRY_SYMBOL. */
typedef const keel_plugin_desc* (*keel_plugin_entry_fn)(void);

#ifdef __cplusplus
}
#endif

#endif /* KEEL_ABI_H */
