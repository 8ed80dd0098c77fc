// test/installer/lab_replay.ts - runs INSIDE the wine lab (Windows deno.exe under wine).
// Replays sc.exe command lines verbatim (windowsRawArguments: no re-quoting by Deno), then reads
// the service back through the SCM the way `sc qc` / `sc qdescription` / `sc qfailure` do
// (QueryServiceConfigW / QueryServiceConfig2W), since wine's sc.exe has no qc.
//   deno run -A lab_replay.ts <cmdlines.txt> <ServiceName>
// Prints "rc=<n> <line>" per replayed line and "KEY=value" lines for the read-back config.
// It does not delete the service: the caller does (after reading the registry too).
const [file, name] = Deno.args;
const SC = "C:\\windows\\system32\\sc.exe";
const SC_MANAGER_CONNECT = 1, SERVICE_QUERY_CONFIG = 1;
const SERVICE_CONFIG_DESCRIPTION = 1, SERVICE_CONFIG_FAILURE_ACTIONS = 2;
for (const line of (await Deno.readTextFile(file)).split(/\r?\n/).filter((l) => l.length > 0)) {
  const out = await new Deno.Command(SC, {
    args: [line],
    windowsRawArguments: true,
    stdout: "piped",
    stderr: "piped",
  })
    .output();
  console.log(`rc=${out.code} ${line}`);
}

const lib = Deno.dlopen("advapi32.dll", {
  OpenSCManagerW: { parameters: ["pointer", "pointer", "u32"], result: "pointer" },
  OpenServiceW: { parameters: ["pointer", "buffer", "u32"], result: "pointer" },
  QueryServiceConfigW: { parameters: ["pointer", "buffer", "u32", "buffer"], result: "i32" },
  QueryServiceConfig2W: { parameters: ["pointer", "u32", "buffer", "u32", "buffer"], result: "i32" },
  CloseServiceHandle: { parameters: ["pointer"], result: "i32" },
});
const wide = (s: string) => {
  const b = new Uint16Array(s.length + 1);
  for (let i = 0; i < s.length; i++) b[i] = s.charCodeAt(i);
  return new Uint8Array(b.buffer);
};
const readWide = (p: Deno.PointerValue) => {
  if (p === null) return "";
  const v = new Deno.UnsafePointerView(p);
  let s = "";
  for (let off = 0;; off += 2) {
    const c = v.getUint16(off);
    if (c === 0) return s;
    s += String.fromCharCode(c);
  }
};
const scm = lib.symbols.OpenSCManagerW(null, null, SC_MANAGER_CONNECT);
const svc = lib.symbols.OpenServiceW(scm, wide(name), SERVICE_QUERY_CONFIG);
if (svc === null) {
  console.log("OPEN_SERVICE=failed");
} else {
  const buf = new Uint8Array(8192), need = new Uint8Array(4);
  if (lib.symbols.QueryServiceConfigW(svc, buf, buf.length, need)) {
    const dv = new DataView(buf.buffer);
    const ptr = (off: number) => Deno.UnsafePointer.create(dv.getBigUint64(off, true));
    console.log(`START_TYPE=${dv.getUint32(4, true)}`);
    console.log(`BINARY_PATH_NAME=${readWide(ptr(16))}`);
    console.log(`DISPLAY_NAME=${readWide(ptr(56))}`);
  } else console.log("QUERY_CONFIG=failed");
  const b2 = new Uint8Array(8192);
  if (lib.symbols.QueryServiceConfig2W(svc, SERVICE_CONFIG_DESCRIPTION, b2, b2.length, need)) {
    const dv = new DataView(b2.buffer);
    console.log(`DESCRIPTION=${readWide(Deno.UnsafePointer.create(dv.getBigUint64(0, true)))}`);
  } else console.log("DESCRIPTION=query-failed");
  const b3 = new Uint8Array(8192);
  if (lib.symbols.QueryServiceConfig2W(svc, SERVICE_CONFIG_FAILURE_ACTIONS, b3, b3.length, need)) {
    const dv = new DataView(b3.buffer);
    const n = dv.getUint32(24, true), acts = Deno.UnsafePointer.create(dv.getBigUint64(32, true));
    const list: string[] = [];
    if (acts !== null) {
      const av = new Deno.UnsafePointerView(acts);
      for (let i = 0; i < n; i++) list.push(`${av.getUint32(i * 8)}/${av.getUint32(i * 8 + 4)}`);
    }
    console.log(`FAILURE_RESET=${dv.getUint32(0, true)}`);
    console.log(`FAILURE_ACTIONS=${list.join(",")}`);
  } else console.log("FAILURE_ACTIONS=query-failed");
  lib.symbols.CloseServiceHandle(svc);
}
lib.symbols.CloseServiceHandle(scm);
