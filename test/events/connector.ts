/**
 * A child process for the event-capture tests: makes short connections and UDP sockets, then exits.
 *
 *     deno run -A --unstable-net connector.ts <tcp port> <count> <udp count>
 *
 * Each TCP connection to 127.0.0.1:<port> sends 5 bytes and lives 1–5 ms; each UDP socket on ::1 sends
 * one datagram to the port and lives a few ms. Prints `ready <pid>` first and `done` at the end.
 *
 * @module
 */

const [port, count, udpCount] = Deno.args.map(Number);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
console.log(`ready ${Deno.pid}`);
for (let i = 0; i < count; i++) {
  const connection = await Deno.connect({ hostname: "127.0.0.1", port });
  await connection.write(new TextEncoder().encode("hello"));
  await sleep(1 + (i % 5));
  connection.close();
}
for (let i = 0; i < udpCount; i++) {
  const udp = Deno.listenDatagram({ transport: "udp", hostname: "::1", port: 0 });
  await udp.send(new Uint8Array(3), { transport: "udp", hostname: "::1", port });
  await sleep(2);
  udp.close();
}
console.log("done");
