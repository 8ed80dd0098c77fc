/**
 * The man page `portreporter(1)` in roff (man macros), made from each command's help text and option
 * table: the help is set verbatim (no-fill), so the page says exactly what `--help` says.
 *
 * @module
 */

import type { CommandShape } from "./cli_table.ts";

/** Text made safe for roff: backslashes as `\e`, and a line starting with `.` or `'` guarded by `\&`. */
export function roffText(text: string): string {
  return text.split("\n").map((line) => {
    const escaped = line.replaceAll("\\", "\\e").replaceAll("-", "\\-").replace(
      /[^\x20-\x7e]/g,
      (c) => `\\[u${c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, "0")}]`,
    );
    return /^[.']/.test(escaped) ? `\\&${escaped}` : escaped;
  }).join("\n");
}

/** The whole page. */
export function manPage(commands: CommandShape[], version: string): string {
  const sections = commands.map((c) =>
    [
      `.SS ${c.name}`,
      roffText(c.summary) + ".",
      ".PP",
      ".nf",
      roffText(c.help.trimEnd()),
      ".fi",
    ].join("\n")
  );
  return [
    `.TH PORTREPORTER 1 "" "portreporter ${version}" "User Commands"`,
    ".SH NAME",
    "portreporter \\- which process used which TCP or UDP port, when, as which user, with which code",
    ".SH SYNOPSIS",
    ".B portreporter",
    ".I command",
    "[\\fIoptions\\fR]",
    ".SH DESCRIPTION",
    "portreporter watches every TCP and UDP endpoint (IPv4 and IPv6, loopback included) and logs each",
    "change with its process, user and loaded modules: the Port Reporter log set (PR\\-INITIAL,",
    "PR\\-PORTS, PR\\-PIDS) plus PR\\-EVENTS and PR\\-ALERTS in JSON Lines. The reading commands",
    "(query, connections, follow, report, sets) answer which process used which port, when.",
    ".SH COMMANDS",
    ...sections,
    ".SH EXIT STATUS",
    "0 on success and on a clean stop (Ctrl+C, SIGTERM, SIGQUIT); 2 for a usage error (bad flag, value or",
    "configuration: one line on stderr says what is wrong); 1 for any other fault.",
    ".SH SIGNALS",
    "SIGINT, SIGTERM and SIGQUIT stop the monitor after flushing every file; SIGHUP (Linux) starts a new",
    "log set and the monitor goes on.",
    ".SH FILES",
    ".TP",
    ".I /var/log/portreporter",
    "The log directory when run as root on Linux (else ~/.local/state/portreporter).",
    ".TP",
    ".I %SystemRoot%\\eSystem32\\eLogFiles\\ePortReporter",
    "The log directory on Windows.",
    ".SH SEE ALSO",
    ".BR ss (8),",
    ".BR netstat (8),",
    ".BR systemd.service (5)",
    "",
  ].join("\n");
}
