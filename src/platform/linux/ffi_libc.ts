/**
 * The libc FFI box: the symbol table of `libc.so.6` that the Linux collector needs, and nothing else.
 *
 * Symbol names and argument order are the libc ones verbatim (see `man 2 socket`, `sendto`, `recv`, `recvmmsg`,
 * `setsockopt`, `close`, `readlink`, and for event capture `bind`, `poll`, `eventfd`, `mmap`, `syscall`).
 * Pointers and struct layouts stay in the modules that use them (`netlink.ts` builds the byte buffers,
 * `proc_read.ts` the path buffers); no other file calls `Deno.dlopen`.
 *
 * @module
 */

/** The libc functions the collector calls, as `Deno.dlopen` symbol definitions. */
export const LIBC_SYMBOLS = {
  /** `int socket(int domain, int type, int protocol)` */
  socket: { parameters: ["i32", "i32", "i32"], result: "i32" },
  /** `int setsockopt(int sockfd, int level, int optname, const void *optval, socklen_t optlen)` */
  setsockopt: { parameters: ["i32", "i32", "i32", "buffer", "u32"], result: "i32" },
  /**
   * `ssize_t sendto(int sockfd, const void *buf, size_t len, int flags,
   *                 const struct sockaddr *dest_addr, socklen_t addrlen)`
   */
  sendto: { parameters: ["i32", "buffer", "usize", "i32", "buffer", "u32"], result: "isize" },
  /** `ssize_t recv(int sockfd, void *buf, size_t len, int flags)` */
  recv: { parameters: ["i32", "buffer", "usize", "i32"], result: "isize" },
  /** `int close(int fd)` */
  close: { parameters: ["i32"], result: "i32" },
  /**
   * `ssize_t readlink(const char *pathname, char *buf, size_t bufsiz)`: the link target as bytes
   * (`Deno.readLinkSync` throws on a target that is not UTF-8). `pathname` is NUL-terminated.
   */
  readlink: { parameters: ["buffer", "buffer", "usize"], result: "isize" },
  // ---- event capture (src/platform/linux/events/) ----
  /**
   * `int recvmmsg(int sockfd, struct mmsghdr *msgvec, unsigned int vlen, int flags,
   *               struct timespec *timeout)`: up to `vlen` datagrams in one call.
   */
  recvmmsg: { parameters: ["i32", "buffer", "u32", "i32", "pointer"], result: "i32" },
  /** `int bind(int sockfd, const struct sockaddr *addr, socklen_t addrlen)` */
  bind: { parameters: ["i32", "buffer", "u32"], result: "i32" },
  /** `int *__errno_location(void)`: the calling thread's `errno`. */
  __errno_location: { parameters: [], result: "pointer" },
  /** `int eventfd(unsigned int initval, int flags)` */
  eventfd: { parameters: ["u32", "i32"], result: "i32" },
  /** `ssize_t write(int fd, const void *buf, size_t count)` */
  write: { parameters: ["i32", "buffer", "usize"], result: "isize" },
  /** `ssize_t read(int fd, void *buf, size_t count)` */
  read: { parameters: ["i32", "buffer", "usize"], result: "isize" },
  /** `int poll(struct pollfd *fds, nfds_t nfds, int timeout)`, run off the JS thread (returns a Promise). */
  pollWait: { name: "poll", parameters: ["buffer", "u64", "i32"], result: "i32", nonblocking: true },
  /** `long syscall(long number, ...)` with five word arguments (`perf_event_open`). */
  syscall5: { name: "syscall", parameters: ["i64", "buffer", "i64", "i64", "i64", "i64"], result: "i64" },
  /** `int ioctl(int fd, unsigned long request, void *arg)` */
  ioctl: { parameters: ["i32", "u64", "buffer"], result: "i32" },
  /** `void *mmap(void *addr, size_t length, int prot, int flags, int fd, off_t offset)` */
  mmap: { parameters: ["pointer", "usize", "i32", "i32", "i32", "i64"], result: "pointer" },
  /** `int munmap(void *addr, size_t length)` */
  munmap: { parameters: ["pointer", "usize"], result: "i32" },
  /** `int mount(const char *source, const char *target, const char *fstype, unsigned long flags, const void *data)` */
  mount: { parameters: ["buffer", "buffer", "buffer", "u64", "pointer"], result: "i32" },
  /** `int clock_gettime(clockid_t clockid, struct timespec *tp)` */
  clock_gettime: { parameters: ["i32", "buffer"], result: "i32" },
  /** `int umount2(const char *target, int flags)` */
  umount2: { parameters: ["buffer", "i32"], result: "i32" },
} as const satisfies Deno.ForeignLibraryInterface;

/** The opened C library with {@link LIBC_SYMBOLS}. */
export type LibcLibrary = Deno.DynamicLibrary<typeof LIBC_SYMBOLS>;

/** The callable libc symbols. */
export type LibcSymbols = LibcLibrary["symbols"];

/** File name of the GNU C library on Linux. */
export const LIBC_FILE_NAME = "libc.so.6";

/** Opens libc. Throws when FFI is not permitted or the library cannot be loaded; close it when done. */
export function openLibc(): LibcLibrary {
  return Deno.dlopen(LIBC_FILE_NAME, LIBC_SYMBOLS);
}
