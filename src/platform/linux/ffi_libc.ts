/**
 * The libc FFI box: the symbol table of `libc.so.6` that the Linux collector needs, and nothing else.
 *
 * Symbol names and argument order are the libc ones verbatim (see `man 2 socket`, `sendto`, `recv`,
 * `setsockopt`, `close`). Pointers and struct layouts stay in the modules that use them
 * (`netlink.ts` builds the byte buffers); no other file calls `Deno.dlopen`.
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
