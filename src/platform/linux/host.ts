/**
 * HostInfo on Linux: the host name, and the kernel release with the distribution's pretty name.
 *
 * @module
 */

import type { HostInfo } from "../../model/types.ts";

/** Where the distribution describes itself (`man 5 os-release`). */
export const OS_RELEASE_PATHS: readonly string[] = ["/etc/os-release", "/usr/lib/os-release"];

/** `PRETTY_NAME` from the text of an os-release file (quotes and backslash escapes removed). */
export function parseOsReleasePrettyName(text: string): string | undefined {
  const match = /^PRETTY_NAME=(.*)$/m.exec(text);
  if (!match) return undefined;
  let value = match[1].trim();
  const quote = value[0];
  if ((quote === '"' || quote === "'") && value.endsWith(quote) && value.length >= 2) {
    value = value.slice(1, -1);
    if (quote === '"') value = value.replace(/\\(["\\`$])/g, "$1");
  }
  return value || undefined;
}

/** `Linux <kernel release> (<pretty name>)`, or without the parenthesis when the distribution is unknown. */
export function formatLinuxOsName(kernelRelease: string, prettyName?: string): string {
  return prettyName ? `Linux ${kernelRelease} (${prettyName})` : `Linux ${kernelRelease}`;
}

/** Reads the HostInfo of this machine. Never throws. */
export function readLinuxHostInfo(osReleasePaths: readonly string[] = OS_RELEASE_PATHS): HostInfo {
  let prettyName: string | undefined;
  for (const path of osReleasePaths) {
    try {
      prettyName = parseOsReleasePrettyName(Deno.readTextFileSync(path));
      break;
    } catch {
      // try the next location
    }
  }
  let computerName = "localhost";
  try {
    computerName = Deno.hostname();
  } catch {
    // no --allow-sys: keep the placeholder
  }
  let kernelRelease = "unknown";
  try {
    kernelRelease = Deno.osRelease();
  } catch {
    // no --allow-sys
  }
  return { computerName, osName: formatLinuxOsName(kernelRelease, prettyName) };
}
