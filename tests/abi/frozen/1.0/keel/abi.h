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
