import assert from "node:assert/strict";
import { TCP_STATES } from "../../model/types.ts";
import {
  ENUM_SERVICE_STATUS_PROCESSW,
  HKEY_LOCAL_MACHINE,
  MIB_TCP6TABLE_OWNER_MODULE,
  MIB_TCP6TABLE_OWNER_PID,
  MIB_TCP_STATE,
  MIB_TCPTABLE_OWNER_MODULE,
  MIB_TCPTABLE_OWNER_PID,
  MIB_UDP6TABLE_OWNER_MODULE,
  MIB_UDP6TABLE_OWNER_PID,
  MIB_UDPTABLE_OWNER_MODULE,
  MIB_UDPTABLE_OWNER_PID,
  MODULEENTRY32W,
  PROCESSENTRY32W,
  RTL_OSVERSIONINFOW,
  SERVICE_STATUS_PROCESS,
  type TableLayout,
  TCPIP_OWNING_MODULE_SIZE,
  TOKEN_USER,
} from "./layouts.ts";

// Sizes from the Windows SDK headers (x64), as measured in the wine lab (need == header + n*row).
Deno.test("iphlpapi table layouts match the SDK sizes", () => {
  const cases: [string, TableLayout, number, number][] = [
    ["MIB_TCPTABLE_OWNER_PID", MIB_TCPTABLE_OWNER_PID, 4, 24],
    ["MIB_TCPTABLE_OWNER_MODULE", MIB_TCPTABLE_OWNER_MODULE, 8, 160],
    ["MIB_TCP6TABLE_OWNER_PID", MIB_TCP6TABLE_OWNER_PID, 4, 56],
    ["MIB_TCP6TABLE_OWNER_MODULE", MIB_TCP6TABLE_OWNER_MODULE, 8, 192],
    ["MIB_UDPTABLE_OWNER_PID", MIB_UDPTABLE_OWNER_PID, 4, 12],
    ["MIB_UDPTABLE_OWNER_MODULE", MIB_UDPTABLE_OWNER_MODULE, 8, 160],
    ["MIB_UDP6TABLE_OWNER_PID", MIB_UDP6TABLE_OWNER_PID, 4, 28],
    ["MIB_UDP6TABLE_OWNER_MODULE", MIB_UDP6TABLE_OWNER_MODULE, 8, 176],
  ];
  for (const [name, L, header, row] of cases) {
    assert.equal(L.header, header, `${name} header`);
    assert.equal(L.row, row, `${name} row`);
    // every field lies inside the row
    for (const [k, v] of Object.entries(L)) {
      if (k === "header" || k === "row" || v < 0) continue;
      assert.ok(v + 4 <= row, `${name}.${k}=${v} inside row ${row}`);
    }
    if (L.owningModuleInfo >= 0) {
      assert.equal(
        L.owningModuleInfo + 8 * TCPIP_OWNING_MODULE_SIZE,
        row,
        `${name} module info ends the row`,
      );
      assert.equal(L.createTimestamp % 8, 0, `${name} timestamp 8-aligned`);
    }
  }
});

Deno.test("iphlpapi row field offsets", () => {
  assert.deepEqual(
    [0, 4, 8, 12, 16, 20],
    [
      MIB_TCPTABLE_OWNER_PID.state,
      MIB_TCPTABLE_OWNER_PID.localAddr,
      MIB_TCPTABLE_OWNER_PID.localPort,
      MIB_TCPTABLE_OWNER_PID.remoteAddr,
      MIB_TCPTABLE_OWNER_PID.remotePort,
      MIB_TCPTABLE_OWNER_PID.pid,
    ],
  );
  const t6 = MIB_TCP6TABLE_OWNER_PID;
  assert.deepEqual(
    [
      t6.localAddr,
      t6.localScopeId,
      t6.localPort,
      t6.remoteAddr,
      t6.remoteScopeId,
      t6.remotePort,
      t6.state,
      t6.pid,
    ],
    [0, 16, 20, 24, 40, 44, 48, 52],
  );
  assert.deepEqual([MIB_TCPTABLE_OWNER_MODULE.createTimestamp, MIB_TCPTABLE_OWNER_MODULE.owningModuleInfo], [
    24,
    32,
  ]);
  assert.deepEqual(
    [MIB_TCP6TABLE_OWNER_MODULE.createTimestamp, MIB_TCP6TABLE_OWNER_MODULE.owningModuleInfo],
    [56, 64],
  );
  const u = MIB_UDPTABLE_OWNER_PID;
  assert.deepEqual([u.localAddr, u.localPort, u.pid], [0, 4, 8]);
  assert.deepEqual([MIB_UDPTABLE_OWNER_MODULE.createTimestamp, MIB_UDPTABLE_OWNER_MODULE.owningModuleInfo], [
    16,
    32,
  ]);
  const u6 = MIB_UDP6TABLE_OWNER_PID;
  assert.deepEqual([u6.localAddr, u6.localScopeId, u6.localPort, u6.pid], [0, 16, 20, 24]);
  assert.deepEqual(
    [MIB_UDP6TABLE_OWNER_MODULE.createTimestamp, MIB_UDP6TABLE_OWNER_MODULE.owningModuleInfo],
    [32, 48],
  );
});

Deno.test("kernel32/advapi32/ntdll struct layouts match the SDK sizes", () => {
  assert.equal(PROCESSENTRY32W.size, 568);
  assert.equal(PROCESSENTRY32W.th32ProcessID, 8);
  assert.equal(PROCESSENTRY32W.th32ParentProcessID, 32);
  assert.equal(PROCESSENTRY32W.szExeFile + 2 * PROCESSENTRY32W.szExeFileChars, 564); // + 4 bytes tail padding
  assert.equal(MODULEENTRY32W.size, 1080);
  assert.equal(MODULEENTRY32W.modBaseAddr, 24);
  assert.equal(MODULEENTRY32W.modBaseSize, 32);
  assert.equal(MODULEENTRY32W.szModule + 2 * MODULEENTRY32W.szModuleChars, MODULEENTRY32W.szExePath);
  assert.equal(MODULEENTRY32W.szExePath + 2 * MODULEENTRY32W.szExePathChars, MODULEENTRY32W.size);
  assert.equal(TOKEN_USER.size, 16);
  assert.equal(TOKEN_USER.Attributes, 8);
  assert.equal(SERVICE_STATUS_PROCESS.size, 36);
  assert.equal(SERVICE_STATUS_PROCESS.dwProcessId, 28);
  assert.equal(ENUM_SERVICE_STATUS_PROCESSW.size, 56);
  assert.equal(ENUM_SERVICE_STATUS_PROCESSW.dwProcessId, 44);
  assert.equal(ENUM_SERVICE_STATUS_PROCESSW.ServiceStatusProcess + SERVICE_STATUS_PROCESS.size + 4, 56);
  assert.equal(RTL_OSVERSIONINFOW.size, 276);
  assert.equal(RTL_OSVERSIONINFOW.szCSDVersion + 2 * RTL_OSVERSIONINFOW.szCSDVersionChars, 276);
  assert.equal(HKEY_LOCAL_MACHINE, 0xffffffff80000002n);
});

Deno.test("MIB_TCP_STATE 1..12 maps to the model's names", () => {
  assert.deepEqual(
    Array.from({ length: 12 }, (_, i) => MIB_TCP_STATE[i + 1]),
    [
      "CLOSED",
      "LISTEN",
      "SYN_SENT",
      "SYN_RECEIVED",
      "ESTABLISHED",
      "FIN_WAIT1",
      "FIN_WAIT2",
      "CLOSE_WAIT",
      "CLOSING",
      "LAST_ACK",
      "TIME_WAIT",
      "DELETE_TCB",
    ],
  );
  for (const s of Object.values(MIB_TCP_STATE)) assert.ok(TCP_STATES.includes(s));
  assert.equal(MIB_TCP_STATE[0], undefined);
  assert.equal(MIB_TCP_STATE[13], undefined);
});
