/**
 * Secrets in command lines never reach a log: `portreporter` records every owner's command line, and
 * programs are often started with credentials in it. The patterns below catch the common forms; the
 * value is replaced by `***`, the option name stays so the entry still says what was there.
 *
 * @module
 */

/** What replaces a secret. */
export const REDACTED = "***";

const SECRET_NAME = "(?:password|passwd|passphrase|pwd|pass|secret|token|api[-_]?key|apikey|access[-_]?key|" +
  "private[-_]?key|client[-_]?secret|auth(?:orization)?|credentials?|bearer)";

const PATTERNS: [RegExp, string][] = [
  // --password=x, --api-key x, -token x, /password:x (Windows style)
  [
    new RegExp(`((?:^|\\s)(?:--?|/)[\\w.-]*${SECRET_NAME}[\\w.-]*(?:=|:|\\s+))("[^"]*"|'[^']*'|\\S+)`, "gi"),
    `$1${REDACTED}`,
  ],
  // PASSWORD=x, DB_TOKEN=x, mysql_pwd=x (environment-style assignments)
  [new RegExp(`((?:^|\\s)[\\w.-]*${SECRET_NAME}[\\w.-]*=)("[^"]*"|'[^']*'|\\S+)`, "gi"), `$1${REDACTED}`],
  // scheme://user:password@host
  [/(\b[a-z][a-z0-9+.-]*:\/\/[^\s:/@]*:)([^\s@/]+)(@)/gi, `$1${REDACTED}$3`],
  // Authorization: Bearer x / Basic x (curl -H "Authorization: Bearer x")
  [/(\b(?:bearer|basic)\s+)([A-Za-z0-9._~+/=-]{8,})/gi, `$1${REDACTED}`],
];

/** The command line with secrets replaced by {@link REDACTED}. */
export function redactCommandLine(commandLine: string): string {
  let out = commandLine;
  for (const [pattern, replacement] of PATTERNS) out = out.replace(pattern, replacement);
  return out;
}
