/**
 * The three syslog transports: UDP (RFC 5426, one message per datagram), TCP with octet counting
 * (RFC 6587 §3.4.1) and TLS (RFC 5425, octet counting inside TLS, the server checked against a pinned
 * CA file, optionally a client certificate). A stream connection watches its own read side, so a
 * receiver that closes the connection (a restart) is noticed before the next write.
 *
 * @module
 */

import dgram from "node:dgram";
import { octetFrame } from "./rfc5424.ts";

/** Where and how to send. */
export interface Target {
  /** `udp`, `tcp` or `tls`. */
  scheme: "udp" | "tcp" | "tls";
  /** Host name or address. */
  hostname: string;
  /** Port. */
  port: number;
  /** PEM of the CA that signs the receiver's certificate (tls). */
  caPem?: string;
  /** PEM of a client certificate and its key (tls, optional). */
  certPem?: string;
  /** PEM of the client key. */
  keyPem?: string;
}

/** One open transport. */
export interface Connection {
  /** Sends the messages in order; rejects when the connection failed. */
  send(messages: readonly string[]): Promise<void>;
  /** True once the peer closed or an error was seen. */
  readonly dead: boolean;
  /** Closes it. */
  close(): void;
}

/** Parses `udp://host:port`, `tcp://host:port`, `tls://host:port` (IPv6 in brackets). */
export function parseTarget(url: string): Omit<Target, "caPem" | "certPem" | "keyPem"> {
  const m = /^(udp|tcp|tls):\/\/(\[[0-9a-fA-F:.]+\]|[^:/\s\[\]]+):(\d{1,5})\/?$/.exec(url);
  const port = m ? Number(m[3]) : 0;
  if (!m || port < 1 || port > 65535) {
    throw new Error(`"url" must be udp://host:port, tcp://host:port or tls://host:port`);
  }
  return { scheme: m[1] as Target["scheme"], hostname: m[2].replace(/^\[|\]$/g, ""), port };
}

class StreamConnection implements Connection {
  #dead = false;
  readonly #conn: Deno.Conn;

  constructor(conn: Deno.Conn) {
    this.#conn = conn;
    void this.#watch();
  }

  get dead(): boolean {
    return this.#dead;
  }

  async #watch(): Promise<void> {
    const buf = new Uint8Array(512);
    try {
      while ((await this.#conn.read(buf)) !== null) { /* a syslog receiver sends nothing: ignore */ }
    } catch { /* reset or closed by us */ }
    this.#dead = true;
  }

  async send(messages: readonly string[]): Promise<void> {
    if (this.#dead) throw new Error("connection closed by the receiver");
    const frames = messages.map(octetFrame);
    const total = frames.reduce((n, f) => n + f.length, 0);
    const out = new Uint8Array(total);
    let off = 0;
    for (const f of frames) out.set(f, off), off += f.length;
    try {
      for (let done = 0; done < out.length;) done += await this.#conn.write(out.subarray(done));
    } catch (err) {
      this.#dead = true;
      throw err;
    }
  }

  close(): void {
    this.#dead = true;
    try {
      this.#conn.close();
    } catch { /* already closed */ }
  }
}

class DatagramConnection implements Connection {
  readonly #socket: dgram.Socket;
  readonly #target: Target;
  #dead = false;

  constructor(target: Target) {
    this.#target = target;
    this.#socket = dgram.createSocket(target.hostname.includes(":") ? "udp6" : "udp4");
    this.#socket.on("error", () => this.#dead = true);
  }

  get dead(): boolean {
    return this.#dead;
  }

  async send(messages: readonly string[]): Promise<void> {
    for (const m of messages) {
      await new Promise<void>((resolve, reject) =>
        this.#socket.send(m, this.#target.port, this.#target.hostname, (err) => err ? reject(err) : resolve())
      );
    }
  }

  close(): void {
    this.#dead = true;
    try {
      this.#socket.close();
    } catch { /* already closed */ }
  }
}

/** Opens a connection to `target`; rejects with the reason when it cannot. */
export async function connect(target: Target): Promise<Connection> {
  if (target.scheme === "udp") return new DatagramConnection(target);
  if (target.scheme === "tcp") {
    return new StreamConnection(await Deno.connect({ hostname: target.hostname, port: target.port }));
  }
  const conn = await Deno.connectTls({
    hostname: target.hostname,
    port: target.port,
    caCerts: target.caPem ? [target.caPem] : undefined,
    cert: target.certPem,
    key: target.keyPem,
  });
  await conn.handshake();
  return new StreamConnection(conn);
}
