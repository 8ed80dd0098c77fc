import assert from "node:assert/strict";
import { redactCommandLine } from "./redact.ts";

Deno.test("secrets in command lines are replaced, the rest stays", () => {
  const cases: [string, string][] = [
    ["mysqld --user=mysql --password=hunter2 --port=3306", "mysqld --user=mysql --password=*** --port=3306"],
    ["app --api-key abcdef123 --verbose", "app --api-key *** --verbose"],
    ["tool -token 'a b c' run", "tool -token *** run"],
    ["svc.exe /Password:S3cret /Start", "svc.exe /Password:*** /Start"],
    ["env DB_PASSWORD=x1 PGPASSWORD=y2 psql", "env DB_PASSWORD=*** PGPASSWORD=*** psql"],
    ["git clone https://bob:ghp_secret@github.com/x/y", "git clone https://bob:***@github.com/x/y"],
    [
      "curl -H Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.abc http://h",
      "curl -H Authorization: Bearer *** http://h",
    ],
    ["redis-server --client-secret=zz", "redis-server --client-secret=***"],
  ];
  for (const [input, expected] of cases) assert.equal(redactCommandLine(input), expected, input);
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
      "ssh user@host",
      "http://example.com:8080/path",
    ]
  ) assert.equal(redactCommandLine(line), line);
});
