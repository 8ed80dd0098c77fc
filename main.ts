/**
 * portreporter: which process used which TCP or UDP port, when, as which user, with which code loaded.
 *
 * Entry point of `deno run main.ts` and of the `deno compile` executable. See README.md.
 *
 * @module
 */

import { main } from "./src/cli/main.ts";

if (import.meta.main) Deno.exit(await main(Deno.args));
