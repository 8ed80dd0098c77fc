import assert from "node:assert/strict";
import { join } from "node:path";
import { CHUNK_BYTES, type LineCursor, MAX_LINE_BYTES, readLines, readTextChunks } from "./lines.ts";

async function withFile(bytes: Uint8Array, body: (path: string) => Promise<void>) {
  const dir = await Deno.makeTempDir({ prefix: "pr-lines-" });
  try {
    const path = join(dir, "f");
    await Deno.writeFile(path, bytes);
    await body(path);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

const enc = (s: string) => new TextEncoder().encode(s);
const fresh = (): LineCursor => ({ offset: 0, lines: 0, tooLong: 0 });

async function both(path: string, cursor: LineCursor, partial: boolean) {
  const a: [string, number][] = [];
  const c1 = { ...cursor };
  for await (const l of readLines(path, c1, { includePartialTail: partial })) {
    a.push([new TextDecoder().decode(l.bytes), l.number]);
  }
  const b: [string, number][] = [];
  const c2 = { ...cursor };
  for await (const chunk of readTextChunks(path, c2, { includePartialTail: partial })) {
    chunk.text.slice(0, -1).split("\n").forEach((t, i) =>
      b.push([t.replace(/\r$/, ""), chunk.firstLine + i])
    );
  }
  assert.deepEqual(c1, c2, "both readers leave the same cursor");
  assert.deepEqual(a, b, "both readers give the same lines");
  return { lines: a, cursor: c1 };
}

Deno.test("lines: CRLF and LF, a line across chunks, an unfinished tail left for later then resumed", async () => {
  const long = "x".repeat(CHUNK_BYTES + 10);
  await withFile(enc(`a\r\nb\n${long}\nc\r\ntail`), async (path) => {
    const r = await both(path, fresh(), false);
    assert.deepEqual(r.lines.map(([t, n]) => [t.length > 20 ? t.length : t, n]), [["a", 1], ["b", 2], [
      long.length,
      3,
    ], ["c", 4]]);
    assert.equal(r.cursor.offset, (await Deno.stat(path)).size - 4);
    await Deno.writeFile(path, enc("!\nnext\n"), { append: true });
    const more = await both(path, r.cursor, false);
    assert.deepEqual(more.lines, [["tail!", 5], ["next", 6]]);
    const all = await both(path, fresh(), true);
    assert.equal(all.lines.length, 6);
  });
});

Deno.test("lines: a line over the cap is skipped and counted, never buffered; the next line is read", async () => {
  const huge = "y".repeat(MAX_LINE_BYTES + CHUNK_BYTES * 2);
  await withFile(enc(`first\n${huge}\nafter\nend`), async (path) => {
    const r = await both(path, fresh(), true);
    assert.deepEqual(r.lines, [["first", 1], ["after", 3], ["end", 4]]);
    assert.equal(r.cursor.tooLong, 1);
    assert.equal(r.cursor.offset, (await Deno.stat(path)).size);
  });
});
