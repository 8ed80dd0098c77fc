import assert from "node:assert/strict";
import {
  cutMarker,
  cutText,
  decodeBytes,
  encodeText,
  escapeField,
  escapeUser,
  jsonLine,
  jsonText,
  unescapeField,
} from "./text.ts";

const bytes = (...b: number[]) => Uint8Array.from(b);
const utf8 = (s: string) => new TextEncoder().encode(s);

Deno.test("decodeBytes keeps valid UTF-8 and maps each bad byte to U+DC00+byte", () => {
  assert.equal(decodeBytes(utf8("grüße/日本/😀")), "grüße/日本/😀");
  assert.equal(decodeBytes(bytes(0x70, 0x79, 0xff)), "py\udcff");
  // truncated sequence, overlong, encoded surrogate, above U+10FFFF
  assert.equal(decodeBytes(bytes(0xe6, 0x97)), "\udce6\udc97");
  assert.equal(decodeBytes(bytes(0xc0, 0xaf)), "\udcc0\udcaf");
  assert.equal(decodeBytes(bytes(0xed, 0xa0, 0x80)), "\udced\udca0\udc80");
  assert.equal(decodeBytes(bytes(0xf4, 0x90, 0x80, 0x80)), "\udcf4\udc90\udc80\udc80");
});

Deno.test("encodeText gives back the exact bytes decodeBytes read", () => {
  const samples = [
    bytes(0x70, 0x79, 0xff),
    bytes(0xe6, 0x97, 0xa5, 0xe6, 0x97),
    utf8("😀 plain"),
    bytes(0x80, 0x81, 0x41, 0xf0, 0x9f, 0x98, 0x80, 0xfe),
  ];
  for (const s of samples) assert.deepEqual(encodeText(decodeBytes(s)), s);
});

Deno.test("escapeField writes commas, backslashes, controls, C1, line separators and bad bytes as escapes", () => {
  assert.equal(escapeField("plain name.exe"), "plain name.exe");
  assert.equal(escapeField("a,b\\c"), "a\\x2cb\\c");
  assert.equal(escapeField("x\ny\r\x1b[2J\x07\x7f"), "x\\x0ay\\x0d\\x1b[2J\\x07\\x7f");
  assert.equal(escapeField("\u0085\u009b\u2028\u2029"), "\\u0085\\u009b\\u2028\\u2029");
  assert.equal(escapeField("py\udcff"), "py\\xff");
  assert.equal(escapeField("lone \ud800 and \udc10"), "lone \\ud800 and \\udc10");
  assert.equal(escapeField("😀"), "😀");
  assert.equal(escapeField("<a<b>c>"), "<a<b>c>");
  assert.equal(escapeUser("<a<b>c>"), "\\x3ca\\x3cb\\x3ec\\x3e");
  assert.equal(escapeUser("ev,il"), "ev\\x2cil");
});

Deno.test("a backslash is doubled only where it could start an escape: Windows values keep their bytes", () => {
  assert.equal(escapeField("C:\\WINDOWS\\system32\\svchost.exe"), "C:\\WINDOWS\\system32\\svchost.exe");
  assert.equal(escapeUser("NT AUTHORITY\\SYSTEM"), "NT AUTHORITY\\SYSTEM");
  assert.equal(escapeField("C:\\xampp\\users"), "C:\\\\xampp\\\\users"); // \x and \u are doubled
  assert.equal(escapeField("a\\\\b"), "a\\\\\\b"); // the first of two is doubled
  assert.equal(escapeField("a\\,"), "a\\\\\\x2c"); // before an escaped comma
  assert.equal(escapeField("a\\\n"), "a\\\\\\x0a"); // before an escaped line feed
  assert.equal(escapeUser("DOM\\>"), "DOM\\\\\\x3e");
  assert.equal(escapeField("trailing\\"), "trailing\\"); // the field ends: nothing follows
});

Deno.test("every short string over the hostile alphabet reads back exactly", () => {
  const alphabet = ["\\", "x", "u", "4", "1", ",", "\n", "<", ">", "\udcff", "\ud800", "a"];
  const walk = (prefix: string, depth: number): void => {
    for (const escape of [escapeField, escapeUser]) {
      const out = escape(prefix);
      assert.equal(unescapeField(out), prefix, JSON.stringify(prefix));
      // deno-lint-ignore no-control-regex
      assert.doesNotMatch(out, /[,\n\x00-\x1f]/);
    }
    if (depth > 0) { for (const c of alphabet) walk(prefix + c, depth - 1); }
  };
  walk("", 5);
});

Deno.test("an escaped value never holds a line break, a comma or a control character", () => {
  const hostile = "evil,6666,<root>\n26/11/26,4:43:5,TCP,22,0.0.0.0,,0.0.0.0,1,sshd,<root>\r\u2028\x00";
  const out = escapeField(hostile);
  // deno-lint-ignore no-control-regex
  assert.doesNotMatch(out, /[,\x00-\x1f\x7f-\x9f\u2028\u2029]/);
  assert.equal(unescapeField(out), hostile);
});

Deno.test("unescapeField reverses escapeField and escapeUser for every code unit", () => {
  let all = "";
  for (let u = 0; u < 0x300; u++) all += String.fromCharCode(u);
  all += "\u2028\u2029\ud800x\udc80\udcff\udfff😀\\x41\\\\";
  assert.equal(unescapeField(escapeField(all)), all);
  assert.equal(unescapeField(escapeUser(all)), all);
  assert.equal(unescapeField("a\\qb\\"), "a\\qb\\"); // no escape: kept
});

Deno.test("jsonLine stays valid JSON and escapes U+0085, U+2028, U+2029, DEL and C1", () => {
  const v = { name: "a\u2028b\u2029c\u0085d\ne", bad: "py\udcff" };
  const line = jsonLine(v);
  assert.doesNotMatch(line, /[\n\r\u0085\u2028\u2029]/);
  assert.match(line, /\\u2028/);
  assert.match(line, /\\udcff/);
  assert.deepEqual(JSON.parse(line), v);
  assert.equal(jsonLine({ a: 1 }), '{"a":1}');
  const controls = { csi: "\u009b31m", del: "\x7f", c1: "\u0080\u009f" };
  assert.equal(jsonLine(controls), '{"csi":"\\u009b31m","del":"\\u007f","c1":"\\u0080\\u009f"}');
  assert.deepEqual(JSON.parse(jsonLine(controls)), controls);
  assert.equal(
    jsonText(controls, 2),
    JSON.stringify(JSON.parse(jsonLine(controls)), null, 2).replace(
      /[\u007f-\u009f]/g,
      (c) => "\\u" + c.charCodeAt(0).toString(16).padStart(4, "0"),
    ),
  );
  assert.doesNotMatch(jsonText(controls, 2), /[\u007f-\u009f]/);
});

Deno.test("cutText bounds a value in bytes with a marker saying how much was cut", () => {
  assert.equal(cutText("short", 100), "short");
  const long = "é".repeat(10_000); // 20 000 bytes
  const cut = cutText(long, 1000);
  const size = utf8(cut).length;
  assert.ok(size <= 1000, `${size} bytes`);
  const m = cut.match(/…\[cut (\d+) bytes\]$/);
  assert.ok(m);
  const kept = utf8(cut.slice(0, cut.length - cutMarker(Number(m[1])).length)).length;
  assert.equal(kept + Number(m[1]), 20_000);
  assert.doesNotMatch(cut, /\ufffd|[\udc80-\udcff]/); // cut at a character boundary
});

Deno.test("escaping and decoding are linear: 8 MB of hostile text in one pass", () => {
  const big = ",\\\n\udcff".repeat(2 * 1024 * 1024);
  const out = escapeField(big);
  assert.equal(out.length, big.length / 4 * (4 + 2 + 4 + 4));
  assert.equal(unescapeField(out), big);
  const raw = new Uint8Array(4 * 1024 * 1024).fill(0xff);
  assert.equal(decodeBytes(raw).length, raw.length);
});
