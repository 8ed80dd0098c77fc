/**
 * A real rsyslog (Debian package `rsyslog`, with `rsyslog-gnutls` for TLS) started by a test on loopback:
 * its own config, work directory and output file, in the foreground, stopped by the test. Each received
 * message is written as one line `MSGID STRUCTURED-DATA MSG` and parsed back by {@link parseLine}.
 *
 * @module
 */

import { join } from "node:path";

/** What a test asks for. */
export interface RsyslogOptions {
  /** `udp`, `tcp` or `tls`. */
  transport: "udp" | "tcp" | "tls";
  /** Port on 127.0.0.1 (0: pick a free one). */
  port?: number;
  /** For tls: `anon` (any client) or `x509/certvalid` (a client certificate signed by the CA). */
  authMode?: "anon" | "x509/certvalid";
  /** Working directory (kept across restarts; the output file accumulates). */
  dir?: string;
}

/** A running (or stopped) rsyslog. */
export interface Rsyslog {
  port: number;
  dir: string;
  /** CA, server and client certificate files (tls). */
  pki: { ca: string; clientCert: string; clientKey: string };
  /** Every line received so far. */
  lines(): Promise<string[]>;
  /** Stops it (SIGTERM) and waits for the exit. */
  stop(): Promise<void>;
  /** Starts it again on the same port. */
  restart(): Promise<void>;
}

/** A free TCP/UDP port on 127.0.0.1. */
export function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

async function run(cmd: string, args: string[], cwd: string): Promise<void> {
  const out = await new Deno.Command(cmd, { args, cwd, stdout: "null", stderr: "piped" }).output();
  if (!out.success) throw new Error(`${cmd} ${args.join(" ")}: ${new TextDecoder().decode(out.stderr)}`);
}

/** A test CA, a server certificate for 127.0.0.1/localhost and a client certificate, made with openssl. */
async function makePki(dir: string): Promise<void> {
  const o = (args: string) => run("openssl", args.split(" "), dir);
  await o(
    "req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 2 -subj /CN=portreporter-test-CA",
  );
  await Deno.writeTextFile(join(dir, "ext.cnf"), "subjectAltName=DNS:localhost,IP:127.0.0.1\n");
  for (const who of ["server", "client"]) {
    await o(
      `req -newkey rsa:2048 -nodes -keyout ${who}.key -out ${who}.csr -subj /CN=${
        who === "server" ? "localhost" : "portreporter-client"
      }`,
    );
    await o(
      `x509 -req -in ${who}.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out ${who}.pem -days 2 -extfile ext.cnf`,
    );
  }
}

function config(o: Required<RsyslogOptions>): string {
  const out = join(o.dir, "received.log");
  const tpl = `template(name="t" type="string" string="%msgid% %structured-data% %msg%\\n")\n` +
    `action(type="omfile" file="${out}" template="t")\n`;
  if (o.transport === "udp") {
    return `global(workDirectory="${o.dir}")\nmodule(load="imudp")\n` +
      `input(type="imudp" address="127.0.0.1" port="${o.port}")\n${tpl}`;
  }
  if (o.transport === "tcp") {
    return `global(workDirectory="${o.dir}")\nmodule(load="imtcp")\n` +
      `input(type="imtcp" address="127.0.0.1" port="${o.port}")\n${tpl}`;
  }
  return `global(workDirectory="${o.dir}" defaultNetstreamDriverCAFile="${o.dir}/ca.pem" ` +
    `defaultNetstreamDriverCertFile="${o.dir}/server.pem" defaultNetstreamDriverKeyFile="${o.dir}/server.key")\n` +
    `module(load="imtcp" StreamDriver.Name="gtls" StreamDriver.Mode="1" StreamDriver.AuthMode="${o.authMode}")\n` +
    `input(type="imtcp" address="127.0.0.1" port="${o.port}")\n${tpl}`;
}

/** Waits until rsyslog accepts on its port (stream) or has written its pid file (udp). */
async function ready(o: Required<RsyslogOptions>, child: Deno.ChildProcess): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (Date.now() > deadline) throw new Error("rsyslogd did not start within 10 s");
    if (o.transport === "udp") {
      if (await Deno.stat(join(o.dir, "rsyslogd.pid")).then(() => true, () => false)) {
        await new Promise((r) => setTimeout(r, 300));
        return;
      }
    } else {
      try {
        (await Deno.connect({ hostname: "127.0.0.1", port: o.port })).close();
        return;
      } catch { /* not yet */ }
    }
    const exited = await Promise.race([child.status, new Promise((r) => setTimeout(() => r(null), 50))]);
    if (exited) throw new Error(`rsyslogd exited at start: ${JSON.stringify(exited)}`);
  }
}

/** Starts rsyslog as the options say. */
export async function startRsyslog(options: RsyslogOptions): Promise<Rsyslog> {
  const o: Required<RsyslogOptions> = {
    port: options.port || freePort(),
    authMode: "anon",
    dir: options.dir ?? await Deno.makeTempDir({ prefix: "pr-rsyslog-" }),
    ...options,
  } as Required<RsyslogOptions>;
  if (!o.port) o.port = freePort();
  if (o.transport === "tls") await makePki(o.dir);
  await Deno.writeTextFile(join(o.dir, "rsyslog.conf"), config(o));
  let child: Deno.ChildProcess;
  const start = async () => {
    await Deno.remove(join(o.dir, "rsyslogd.pid")).catch(() => {});
    child = new Deno.Command("rsyslogd", {
      args: ["-n", "-f", join(o.dir, "rsyslog.conf"), "-i", join(o.dir, "rsyslogd.pid")],
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).spawn();
    await ready(o, child);
  };
  await start();
  return {
    port: o.port,
    dir: o.dir,
    pki: {
      ca: join(o.dir, "ca.pem"),
      clientCert: join(o.dir, "client.pem"),
      clientKey: join(o.dir, "client.key"),
    },
    lines: async () => {
      const text = await Deno.readTextFile(join(o.dir, "received.log")).catch(() => "");
      return text.split("\n").filter((l) => l !== "");
    },
    stop: async () => {
      try {
        child.kill("SIGTERM");
      } catch { /* gone */ }
      await child.status;
    },
    restart: start,
  };
}

/** One received message: MSGID, structured data elements by SD-ID, and MSG. */
export interface Received {
  msgId: string;
  sd: Record<string, Record<string, string>>;
  msg: string;
}

/** Parses `MSGID [id k="v" ...][...] MSG` as the template writes it (RFC 5424 §6.3 escapes undone). */
export function parseLine(line: string): Received {
  const sp = line.indexOf(" ");
  const msgId = line.slice(0, sp);
  let i = sp + 1;
  const sd: Received["sd"] = {};
  while (line[i] === "[") {
    const idEnd = line.slice(i).search(/[ \]]/) + i;
    const id = line.slice(i + 1, idEnd);
    const params: Record<string, string> = {};
    i = idEnd;
    while (line[i] === " ") {
      const eq = line.indexOf("=", i);
      const name = line.slice(i + 1, eq);
      let j = eq + 2, value = "";
      while (line[j] !== '"') {
        if (line[j] === "\\" && '"\\]'.includes(line[j + 1])) j++;
        value += line[j++];
      }
      params[name] = value;
      i = j + 1;
    }
    sd[id] = params;
    i++; // ]
  }
  return { msgId, sd, msg: line.slice(i + 1).replace(/^\ufeff/, "") };
}
