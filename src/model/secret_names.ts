/**
 * What names a secret in a command line: the words of option, variable and header names, and the
 * password options of well-known programs. Used by the redaction in `redact.ts`.
 *
 * @module
 */

/** How a short option of a program carries its secret. */
export type FlagRule =
  | "attached" // only glued to the flag: `-pSECRET` (`-p x` is something else)
  | "both" // `-pSECRET` or `-p SECRET`
  | "userpass"; // `user:SECRET` (or `user%SECRET`), glued or as the next token: only the password goes

const MYSQL = { p: "attached" } as const;
const MONGO = { p: "both" } as const;
const LDAP = { w: "both" } as const;
const SQLSERVER = { P: "both" } as const;
const SMB = { U: "userpass" } as const;
const REDIS = { a: "both" } as const;

/** Short options whose value is a secret, by program (base name, lower case, without `.exe`). */
export const PROGRAM_SECRET_FLAGS: Readonly<Record<string, Readonly<Record<string, FlagRule>>>> = {
  mysql: MYSQL,
  mysqldump: MYSQL,
  mysqladmin: MYSQL,
  mysqlimport: MYSQL,
  mysqlshow: MYSQL,
  mysqlcheck: MYSQL,
  mysqlpump: MYSQL,
  mariadb: MYSQL,
  "mariadb-dump": MYSQL,
  "mariadb-admin": MYSQL,
  sshpass: { p: "both" },
  "redis-cli": REDIS,
  "valkey-cli": REDIS,
  "keydb-cli": REDIS,
  curl: { u: "userpass", U: "userpass" },
  smbclient: SMB,
  rpcclient: SMB,
  smbget: SMB,
  smbcacls: SMB,
  openssl: { k: "both", K: "both" },
  zip: { P: "both" },
  unzip: { P: "both" },
  "7z": { p: "attached" },
  "7za": { p: "attached" },
  rar: { p: "attached" },
  unrar: { p: "attached" },
  sqlcmd: SQLSERVER,
  bcp: SQLSERVER,
  osql: SQLSERVER,
  mongo: MONGO,
  mongosh: MONGO,
  mongodump: MONGO,
  mongorestore: MONGO,
  mongoexport: MONGO,
  mongoimport: MONGO,
  ldapsearch: LDAP,
  ldapmodify: LDAP,
  ldapadd: LDAP,
  ldapdelete: LDAP,
  ldapwhoami: LDAP,
  ldappasswd: LDAP,
  ldapcompare: LDAP,
  ldapmodrdn: LDAP,
};

/** Long options that carry `user:password` for the programs named: only the password goes. */
export const PROGRAM_USERPASS_OPTIONS: Readonly<Record<string, readonly string[]>> = {
  curl: ["user", "proxy-user"],
  smbclient: ["user"],
  rpcclient: ["user"],
};

/** Words that make an option, variable or header name a secret wherever they stand in it. */
const SECRET_WORDS = new Set([
  "password",
  "passwd",
  "passphrase",
  "pwd",
  "pw",
  "pass",
  "passin",
  "passout",
  "secret",
  "token",
  "apikey",
  "credential",
  "credentials",
  "auth",
  "authorization",
  "bearer",
  "cookie",
]);

/** Secret words also found glued to others (`PGPASSWORD`, `clientsecret`), not `tokens`/`tokenizer`. */
const SECRET_INSIDE = /password|passwd|passphrase|secret|apikey|credential|token(?!s|ize)/;

/** A name ending in one of these words names something about a secret, not the secret. */
const NOT_A_SECRET_LAST = new Set([
  "file",
  "path",
  "dir",
  "stdin",
  "prompt",
  "length",
  "policy",
  "type",
  "method",
  "mode",
  "scheme",
  "url",
  "uri",
  "endpoint",
  "host",
  "port",
  "user",
  "username",
  "name",
  "id",
  "timeout",
  "ttl",
]);

/** Header schemes kept before the credential: `Authorization: Bearer ***`. */
export const AUTH_SCHEMES = new Set(["bearer", "basic", "digest", "token", "negotiate", "ntlm", "apikey"]);

/**
 * Whether an option, variable or header name (without its dashes) names a secret: `password`,
 * `db-password`, `PGPASSWORD`, `MYSQL_PWD`, `api_key`, `X-Api-Key`, `key`, `client.secret`, ...;
 * not `no-password`, `password-file`, `auth-method`, `max-tokens`.
 */
export function isSecretName(name: string): boolean {
  const lower = name.toLowerCase();
  if (lower.startsWith("no-") || lower.length > 256) return false;
  const words = lower.split(/[-_.]+/).filter((w) => w !== "");
  const last = words[words.length - 1];
  if (last === undefined || NOT_A_SECRET_LAST.has(last)) return false;
  if (last === "key" || last === "keys") return true; // --key, --api-key, --access-key, --private-key
  return words.some((w) => SECRET_WORDS.has(w)) || SECRET_INSIDE.test(words.join(""));
}
