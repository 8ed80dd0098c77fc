import { jsonLine } from "../model/text.ts";
import assert from "node:assert/strict";
import { ByteBuffer } from "./byte_buffer.ts";

const encoder = new TextEncoder();
const TEXTS = ["a,b\n", "", "ü€\n", "x\u{1F600}x", "ab\udc80", "\x7f\x80", "x".repeat(70_000), "line\r\n"];

Deno.test("ByteBuffer: the UTF-8 of every text added, ASCII or not, across growth and rollbacks", () => {
  let state = 7;
  const next = (n: number) => (state = (state * 1103515245 + 12345) % 2147483648) % n;
  for (let round = 0; round < 200; round++) {
    const buffer = new ByteBuffer();
    const kept: string[] = [];
    for (let step = 0; step < 30; step++) {
      if (next(4) > 0) {
        const text = TEXTS[next(TEXTS.length)];
        buffer.add(text);
        kept.push(text);
      } else if (kept.length) {
        const count = next(kept.length + 1);
        kept.length = count;
        buffer.length = encoder.encode(kept.join("")).length; // what the writer's rollback does
      }
      assert.deepEqual(buffer.view(), encoder.encode(kept.join("")), `round ${round} step ${step}`);
    }
  }
});

Deno.test("ByteBuffer: UTF-8 text, ASCII text, bytes and digits, across growth", () => {
  const buffer = new ByteBuffer();
  buffer.add("a,ü");
  buffer.addAscii("\r\n");
  buffer.addBytes(encoder.encode("x".repeat(70_000)));
  buffer.addDecimal(4294967295);
  buffer.addBytes(encoder.encode("ab"));
  assert.deepEqual(buffer.view(), encoder.encode(`a,ü\r\n${"x".repeat(70_000)}4294967295ab`));
});

Deno.test("ByteBuffer: numbers as JSON.stringify writes them, strings as jsonLine does", () => {
  const out = new ByteBuffer();
  const decoder = new TextDecoder();
  const numbers = [
    0,
    -0,
    7,
    10,
    99,
    100,
    65535,
    4294967295,
    4294967296,
    -1,
    -12.5,
    0.1,
    1e21,
    2 ** 53,
    NaN,
    Infinity,
  ];
  for (const n of numbers) {
    out.clear();
    out.addNumber(n);
    assert.equal(decoder.decode(out.view()), JSON.stringify(n), `number ${n}`);
  }
  for (
    const text of [
      "",
      "plain ascii",
      'q"',
      "b\\s",
      "nl\n",
      "\x7f",
      "\u0085",
      "\u2028",
      "ü",
      "\udc80",
      "😀",
      "~",
    ]
  ) {
    out.clear();
    out.addAscii("x");
    out.addJsonString(text, jsonLine);
    assert.equal(decoder.decode(out.view()), "x" + jsonLine(text), `string ${JSON.stringify(text)}`);
  }
});
