import assert from "node:assert/strict";
import process from "node:process";
import { isSecretName, redactCommandLine } from "./redact.ts";

/** Input, expected output: every family of secret the redaction knows, in its common forms. */
const SECRETS: [string, string][] = [
  // options named as secrets: attached, next token, quoted, Windows and Java styles
  ["mysqld --user=mysql --password=hunter2 --port=3306", "mysqld --user=mysql --password=*** --port=3306"],
  ["app --api-key abcdef123 --verbose", "app --api-key *** --verbose"],
  ["app --api-key=abcdef123", "app --api-key=***"],
  ["tool -token 'a b c' run", "tool -token *** run"],
  ['tool --password "a b c" run', "tool --password *** run"],
  ["tool --password= --x", "tool --password= --x"],
  ["svc.exe /Password:S3cret /Start", "svc.exe /Password:*** /Start"],
  ['svc.exe "/Password:S3 cret" /Start', 'svc.exe "/Password:***" /Start'],
  ["cmdkey /pass:Hunter2 /user:bob", "cmdkey /pass:*** /user:bob"],
  ["Connect-Thing -Password Hunter2 -Force", "Connect-Thing -Password *** -Force"],
  ["java -Ddb.password=Hunter2 -jar app.jar", "java -Ddb.password=*** -jar app.jar"],
  ["app --pw=Hunter2", "app --pw=***"],
  ["app --pw Hunter2", "app --pw ***"],
  ["app --pwd Hunter2", "app --pwd ***"],
  ["app --passwd=Hunter2", "app --passwd=***"],
  ["app --passphrase Hunter2", "app --passphrase ***"],
  ["app --db-password=Hunter2", "app --db-password=***"],
  ["app --client-secret=zz", "app --client-secret=***"],
  ["app --clientSecret zz", "app --clientSecret ***"],
  ["app --auth-token=zz", "app --auth-token=***"],
  ["vault login -token=s.abc", "vault login -token=***"],
  ["app --key Hunter2", "app --key ***"],
  ["app --key=Hunter2", "app --key=***"],
  ["app --access-key AKIA1 --secret-key Hunter2", "app --access-key *** --secret-key ***"],
  ["app --private-key=Hunter2", "app --private-key=***"],
  ["app --credentials Hunter2", "app --credentials ***"],
  ["app --password -Hunter2", "app --password -Hunter2"], // the next token is an option: nothing to hide
  // program flags
  ["mysql -uroot -pHunter2 db", "mysql -uroot -p*** db"],
  ["/usr/bin/mysqldump -pHunter2", "/usr/bin/mysqldump -p***"],
  [
    '"C:\\Program Files\\MySQL\\bin\\mysql.exe" -pHunter2',
    '"C:\\Program Files\\MySQL\\bin\\mysql.exe" -p***',
  ],
  ["sudo -u bob mysql -pHunter2", "sudo -u bob mysql -p***"],
  ["sshpass -p Hunter2 ssh host", "sshpass -p *** ssh host"],
  ["sshpass -pHunter2 ssh host", "sshpass -p*** ssh host"],
  ["sshpass -p -dash-pass ssh host", "sshpass -p *** ssh host"],
  ["redis-cli -a Hunter2 ping", "redis-cli -a *** ping"],
  ["redis-cli -h h --pass Hunter2", "redis-cli -h h --pass ***"],
  ["curl -u alice:Hunter3 https://h/", "curl -u alice:*** https://h/"],
  ["curl -ualice:Hunter3 https://h/", "curl -ualice:*** https://h/"],
  ["curl --user alice:Hunter3 https://h/", "curl --user alice:*** https://h/"],
  ["curl --user=alice:Hunter3 https://h/", "curl --user=alice:*** https://h/"],
  ["curl -U proxy:Hunter3 https://h/", "curl -U proxy:*** https://h/"],
  ["curl -u alice https://h/", "curl -u alice https://h/"], // curl asks for the password
  ["smbclient //srv/share -U alice%Hunter3", "smbclient //srv/share -U alice%***"],
  ["openssl enc -aes256 -k Hunter2 -in f", "openssl enc -aes256 -k *** -in f"],
  ["openssl pkcs12 -passin pass:Hunter2 -passout pass:x", "openssl pkcs12 -passin *** -passout ***"],
  ["zip -P Hunter2 out.zip f", "zip -P *** out.zip f"],
  ["7z a -pHunter2 out.7z f", "7z a -p*** out.7z f"],
  ["sqlcmd -S db -U sa -P Hunter2", "sqlcmd -S db -U sa -P ***"],
  ["mongosh -u admin -p Hunter2", "mongosh -u admin -p ***"],
  ["ldapsearch -D cn=admin -w Hunter2", "ldapsearch -D cn=admin -w ***"],
  // headers
  ["curl -H X-Api-Key: Hunter2 https://h/", "curl -H X-Api-Key: *** https://h/"],
  ["curl -H X-Api-Key:Hunter2 https://h/", "curl -H X-Api-Key:*** https://h/"],
  [
    "curl -H Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.abc http://h",
    "curl -H Authorization: Bearer *** http://h",
  ],
  ["curl -H Authorization: Basic dXNlcjpwYXNz http://h", "curl -H Authorization: Basic *** http://h"],
  ['curl -H "Authorization: Bearer abc" http://h', 'curl -H "Authorization: Bearer ***" http://h'],
  ["curl -H Proxy-Authorization: Basic dXNlcjpwYXNz", "curl -H Proxy-Authorization: Basic ***"],
  ["curl -H Cookie: session=abc http://h", "curl -H Cookie: *** http://h"],
  ["curl -H X-Auth-Token: abc http://h", "curl -H X-Auth-Token: *** http://h"],
  ["tool --header=x Bearer abcdefghijk", "tool --header=x Bearer ***"],
  // assignments and query strings
  ["env DB_PASSWORD=x1 PGPASSWORD=y2 psql", "env DB_PASSWORD=*** PGPASSWORD=*** psql"],
  [
    "env MYSQL_PWD=x1 AWS_SECRET_ACCESS_KEY=y2 GITHUB_TOKEN=z3 app",
    "env MYSQL_PWD=*** AWS_SECRET_ACCESS_KEY=*** GITHUB_TOKEN=*** app",
  ],
  ["mount -o user=a,password=Hunter2,uid=1 //s/x /mnt", "mount -o user=a,password=***,uid=1 //s/x /mnt"],
  ["psql host=db password=Hunter2 dbname=x", "psql host=db password=*** dbname=x"],
  ["wget https://h/x?token=abc&page=2", "wget https://h/x?token=***&page=2"],
  ["app password:Hunter2", "app password:***"],
  // JSON and Python literals
  ['app --config {"password":"Hunter2"}', 'app --config {"password":"***"}'],
  ['app {"user": "bob", "password": "Hun ter2", "n": 1}', 'app {"user": "bob", "password": "***", "n": 1}'],
  ['app {"api_key":"a\\"b","x":"y"}', 'app {"api_key":"***","x":"y"}'],
  ["app {'token': 'Hunter2'}", "app {'token': '***'}"],
  // URL credentials
  ["git clone https://bob:ghp_secret@github.com/x/y", "git clone https://bob:***@github.com/x/y"],
  ["git clone https://ghp_tok@github.com/x/y", "git clone https://***@github.com/x/y"],
  ["app https://bob:pa/ss@host/x", "app https://bob:***@host/x"],
  ["app redis://:Hunter2@cache:6379/0", "app redis://:***@cache:6379/0"],
  ["app DATABASE_URL=postgres://u:p@db/x", "app DATABASE_URL=postgres://u:***@db/x"],
  ["app --url=amqp://u:p@mq", "app --url=amqp://u:***@mq"],
  ["app https://a:b@h1,https://c:d@h2", "app https://a:***@h1,https://c:***@h2"],
];

Deno.test("secrets in command lines are replaced, the rest stays (table)", () => {
  for (const [input, expected] of SECRETS) assert.equal(redactCommandLine(input), expected, input);
});

Deno.test("ordinary command lines are unchanged", () => {
  for (
    const line of [
      "/usr/sbin/sshd -D",
      "deno run -A main.ts run --log-dir /var/log/portreporter --interval 500",
      "C:\\Windows\\System32\\svchost.exe -k netsvcs -p -s Schedule",
      "nginx: master process /usr/sbin/nginx -g daemon on; master_process on;",
      "postgres: checkpointer",
      "python3 -m http.server 8000",
      "ssh -p 2222 user@host",
      "docker run -p 8080:80 -u 1000:1000 nginx",
      "mkdir -p /tmp/x",
      "http://example.com:8080/path",
      "https://medium.com/@user",
      "curl -k https://h/",
      "app --password-file /run/secrets/db --no-password --auth-method basic --max-tokens 512",
      "docker login --password-stdin -u bob",
      "llama-server --tokenizer bert --keyfile /etc/k",
      "mysql -u root -p db",
      "constructor -p x",
      "java -Dfile.encoding=UTF-8 -jar a.jar",
      "",
      "   ",
    ]
  ) assert.equal(redactCommandLine(line), line);
});

Deno.test("isSecretName: the words, glued words and what only names something about a secret", () => {
  for (
    const name of ["password", "PGPASSWORD", "MYSQL_PWD", "api_key", "X-Api-Key", "key", "clientSecret", "pw"]
  ) {
    assert.ok(isSecretName(name), name);
  }
  for (
    const name of [
      "user",
      "no-password",
      "password-file",
      "auth-method",
      "max-tokens",
      "tokenizer",
      "keyfile",
    ]
  ) {
    assert.ok(!isSecretName(name), name);
  }
});

/**
 * Runs `f` with every string and regular-expression primitive counting the characters it touches
 * (an upper bound: a search counts the span it scanned, a regex the input it was given from its
 * start position to the end of its match, or to the end of the input when it fails) and returns
 * the count. Deterministic, unlike a timing on a busy machine.
 */
function countWork(f: () => unknown): number {
  let work = 0;
  const s = String.prototype;
  const r = RegExp.prototype;
  const saved = {
    indexOf: s.indexOf,
    slice: s.slice,
    charCodeAt: s.charCodeAt,
    toLowerCase: s.toLowerCase,
    exec: r.exec,
  };
  s.indexOf = function (this: string, needle: string, from = 0) {
    const at = saved.indexOf.call(this, needle, from);
    work += (at === -1 ? this.length : at) - from + 1;
    return at;
  };
  s.slice = function (this: string, start?: number, end?: number) {
    const out = saved.slice.call(this, start, end);
    work += out.length + 1;
    return out;
  };
  s.charCodeAt = function (this: string, i: number) {
    work++;
    return saved.charCodeAt.call(this, i);
  };
  s.toLowerCase = function (this: string) {
    work += this.length + 1;
    return saved.toLowerCase.call(this);
  };
  r.exec = function (this: RegExp, input: string) {
    const start = this.global || this.sticky ? this.lastIndex : 0;
    const m = saved.exec.call(this, input);
    work += (m === null ? input.length : m.index + m[0].length) - start + 1;
    return m;
  };
  try {
    f();
  } finally {
    Object.assign(s, { indexOf: saved.indexOf, slice: saved.slice, charCodeAt: saved.charCodeAt });
    s.toLowerCase = saved.toLowerCase;
    r.exec = saved.exec;
  }
  return work;
}

Deno.test("the stalling command line of the issue: 8 arguments of a.a.a… (1 MB) in one pass", () => {
  const arg = "a.".repeat(65535);
  const line = ["prog", ...Array(8).fill(arg), "--password=x"].join(" ");
  assert.equal(redactCommandLine(line), line.slice(0, -1) + "***");
});

/** Command lines built to make a careless scanner rescan: each takes the size it is built for. */
const HOSTILE_SHAPES: [string, (n: number) => string][] = [
  ["8 × a.a.a…", (n) => Array(8).fill("a.".repeat(n / 16)).join(" ")],
  ["--password=", (n) => "--password=".repeat(n / 11)],
  ["password=", (n) => "x password=".repeat(n / 11)],
  ['"password":"', (n) => '"password":"'.repeat(n / 12)],
  ["://a:", (n) => "://a:".repeat(n / 5)],
  ["https://a:b", (n) => "https://a:b ".repeat(n / 12)],
  ["quotes", (n) => '--password "a '.repeat(n / 14)],
  ["headers", (n) => "X-Api-Key: ".repeat(n / 11)],
  ["a=a=", (n) => "a=".repeat(n / 2)],
  ["programs", (n) => "mysql -p".repeat(n / 8)],
  ["dashes", (n) => "-".repeat(n)],
  ["quotes only", (n) => "'".repeat(n)],
  ["colons", (n) => "password:".repeat(n / 9)],
  ["no spaces", (n) => "-password=a&token=b,".repeat(n / 20)],
];

Deno.test("redaction is linear: the work on 8× the input is about 8× (a quadratic pass would do 64×)", () => {
  const n = 8 * 1024;
  for (const [name, make] of HOSTILE_SHAPES) {
    const small = countWork(() => redactCommandLine(make(n)));
    const large = countWork(() => redactCommandLine(make(8 * n)));
    assert.ok(large / small < 10, `${name}: 8× the input took ${(large / small).toFixed(1)}× the work`);
    assert.ok(large < 64 * 8 * n, `${name}: ${large} characters touched for ${8 * n}`);
  }
});

/** CPU time (user + system, µs) of `reps` calls of `f`: unlike wall time, not stretched by other processes. */
function cpuBatch(f: () => void, reps: number): number {
  const before = process.cpuUsage();
  for (let i = 0; i < reps; i++) f();
  const used = process.cpuUsage(before);
  return used.user + used.system;
}

Deno.test("redaction is linear in CPU time too (what the count cannot see: backtracking inside a regex)", () => {
  const n = 16 * 1024;
  for (const [name, make] of HOSTILE_SHAPES) {
    const small = make(n);
    const large = make(8 * n);
    let reps = 1;
    while (reps < 4096 && cpuBatch(() => redactCommandLine(small), reps) < 10_000) reps *= 2;
    let ratio = Infinity;
    for (let round = 0; round < 3 && ratio >= 24; round++) {
      const r = cpuBatch(() => redactCommandLine(large), reps) /
        cpuBatch(() => redactCommandLine(small), reps);
      ratio = Math.min(ratio, r);
    }
    assert.ok(ratio < 24, `${name}: 8× the input cost ${ratio.toFixed(1)}× the CPU time`);
  }
});
