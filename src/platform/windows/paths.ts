/**
 * Default locations on Windows.
 *
 * @module
 */

/**
 * The classic Port Reporter log folder: `%SystemRoot%\System32\LogFiles\PortReporter`
 * (`C:\Windows\System32\LogFiles\PortReporter` when `SystemRoot` is not set).
 */
export function defaultWindowsLogDir(): string {
  const root = (Deno.env.get("SystemRoot") ?? Deno.env.get("SYSTEMROOT") ?? "C:\\Windows").replace(
    /[\\/]+$/,
    "",
  );
  return `${root}\\System32\\LogFiles\\PortReporter`;
}
