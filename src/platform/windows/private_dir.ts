/**
 * A log directory the monitor creates itself gets the same protected DACL as one install.ps1 creates
 * (SYSTEM and Administrators only, no inherited entries: a log folder under a user-writable parent must
 * not inherit that parent's grants), set AT creation through CreateDirectoryW's SECURITY_ATTRIBUTES, so
 * there is no moment when the directory exists with the parent's ACL. An existing directory is left as it
 * is (an administrator's additions, e.g. a SIEM reader, are kept).
 * https://learn.microsoft.com/windows/win32/secauthz/security-descriptor-string-format
 *
 * @module
 */

import { OsCallError } from "../../errors.ts";
import { advapi32 } from "./ffi/advapi32.ts";
import { kernel32 } from "./ffi/kernel32.ts";
import { pointerFrom, readWideAt, wideZ } from "./ffi/memory.ts";

/** Owner Administrators; protected DACL: full control for SYSTEM and Administrators, inherited below. */
export const LOG_DIR_SDDL = "O:BAD:PAI(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)";
/** The same DACL without the owner (when the process may not make Administrators the owner). */
const DACL_ONLY = LOG_DIR_SDDL.replace(/^O:BA/, "");

/** `SDDL_REVISION_1`. */
const SDDL_REVISION_1 = 1;
/** `SECURITY_ATTRIBUTES` (x64): nLength, lpSecurityDescriptor at 8, bInheritHandle at 16. */
const SECURITY_ATTRIBUTES = { size: 24, nLength: 0, lpSecurityDescriptor: 8 } as const;
/** `ERROR_ALREADY_EXISTS`. */
const ERROR_ALREADY_EXISTS = 183;
/** `ERROR_INVALID_OWNER`. */
const ERROR_INVALID_OWNER = 1307;
/** `SE_FILE_OBJECT`. */
const SE_FILE_OBJECT = 1;
/** OWNER_SECURITY_INFORMATION | DACL_SECURITY_INFORMATION. */
const OWNER_AND_DACL = 0x1 | 0x4;

/** Creates `path` (not its parents) with `sddl`. True if created now, false if it existed. */
function createWith(path: string, sddl: string): boolean | number {
  const A = advapi32(), K = kernel32();
  const sd = new BigUint64Array(1);
  if (!A.ConvertStringSecurityDescriptorToSecurityDescriptorW(wideZ(sddl), SDDL_REVISION_1, sd, null)) {
    throw new OsCallError("ConvertStringSecurityDescriptorToSecurityDescriptorW", K.GetLastError(), sddl);
  }
  try {
    const sa = new Uint8Array(SECURITY_ATTRIBUTES.size);
    const dv = new DataView(sa.buffer);
    dv.setUint32(SECURITY_ATTRIBUTES.nLength, SECURITY_ATTRIBUTES.size, true);
    dv.setBigUint64(SECURITY_ATTRIBUTES.lpSecurityDescriptor, sd[0], true);
    if (K.CreateDirectoryW(wideZ(path), sa)) return true;
    const err = K.GetLastError(); // a BOOL API: its only status
    return err === ERROR_ALREADY_EXISTS ? false : err;
  } finally {
    K.LocalFree(pointerFrom(sd[0]));
  }
}

/**
 * Creates the directory `path` with {@link LOG_DIR_SDDL} (its parents with ordinary inherited ACLs).
 * Returns true if it was created now. An existing directory is not touched.
 *
 * @throws {OsCallError} when the directory cannot be created.
 */
export function createProtectedDirectory(path: string): boolean {
  const parent = path.replace(/[\\/]+$/, "").replace(/[\\/][^\\/]*$/, "");
  if (parent && parent !== path && !/^[A-Za-z]:$/.test(parent)) Deno.mkdirSync(parent, { recursive: true });
  let r = createWith(path, LOG_DIR_SDDL);
  if (r === ERROR_INVALID_OWNER) r = createWith(path, DACL_ONLY);
  if (typeof r === "number") throw new OsCallError("CreateDirectoryW", r, path);
  return r;
}

/** The owner and DACL of a file or directory as SDDL (GetNamedSecurityInfoW), or undefined. */
export function securityDescriptorText(path: string): string | undefined {
  const A = advapi32(), K = kernel32();
  const sd = new BigUint64Array(1);
  if (
    A.GetNamedSecurityInfoW(wideZ(path), SE_FILE_OBJECT, OWNER_AND_DACL, null, null, null, null, sd) !== 0
  ) {
    return undefined;
  }
  try {
    const text = new BigUint64Array(1);
    if (
      !A.ConvertSecurityDescriptorToStringSecurityDescriptorW(
        pointerFrom(sd[0]),
        1,
        OWNER_AND_DACL,
        text,
        null,
      )
    ) {
      return undefined;
    }
    const out = readWideAt(pointerFrom(text[0]), 8192);
    K.LocalFree(pointerFrom(text[0]));
    return out;
  } finally {
    K.LocalFree(pointerFrom(sd[0]));
  }
}
