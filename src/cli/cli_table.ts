/**
 * The command line as data, read from the parsers themselves: each listed command is asked for its
 * `--help`, which makes it parse with its real option specs ({@link parserShapes}); the specs and the
 * help text it printed become one {@link CommandShape}. Shell completion and the man page are made
 * from this, so a flag added to a parser is in both without anyone remembering to add it.
 *
 * @module
 */

import type { CliCommand, CliIo } from "./main.ts";
import { parserShapes } from "./options.ts";

/** One option of a command. */
export interface OptionShape {
  /** Long name without dashes (`log-dir`), or the one letter of a short-only option. */
  name: string;
  /** One-letter alias (`h`), when there is one. */
  short?: string;
  /** Whether it takes a value. */
  takesValue: boolean;
  /** Whether it may be given more than once. */
  multiple: boolean;
  /** The value's name in the help (`<dir>` → `dir`), when the help names it. */
  valueName?: string;
  /** Its line of the help, when the help has one. */
  description: string;
}

/** One command. */
export interface CommandShape {
  /** Its name. */
  name: string;
  /** Its line in the command list. */
  summary: string;
  /** Its options, in the parser's order. */
  options: OptionShape[];
  /** Whether it takes arguments besides options (file names; `help` takes a command name). */
  takesArguments: boolean;
  /** Its `--help` text. */
  help: string;
}

/** The help line of `--name` (`  --name <value>   What it does`), as value name and description. */
function helpLine(help: string, name: string): { valueName?: string; description: string } {
  const flag = name.length === 1 ? `-${name}` : `--${name}`;
  for (const line of help.split("\n")) {
    const m = /^\s+(?:-\w, )?(--?[\w-]+)(?: <([^>]+)>| \[([^\]]+)\])?\s{2,}(\S.*)$/.exec(line);
    if (m && m[1] === flag) return { valueName: m[2] ?? m[3], description: m[4].trim() };
  }
  return { description: "" };
}

/** Runs `run --help` with output captured; returns what it printed. */
async function helpOf(command: CliCommand): Promise<string> {
  let text = "";
  const io: CliIo = { out: (t) => void (text += t), err: (l) => void (text += l + "\n") };
  await command.run(["--help"], io);
  return text;
}

/**
 * The shape of every command that is not hidden, in the table's order. `aliases` names commands
 * that parse with another one's options (e.g. `service` takes the options of `run`).
 */
export async function commandShapes(
  commands: Readonly<Record<string, CliCommand>>,
  aliases: Readonly<Record<string, string>> = {},
): Promise<CommandShape[]> {
  const out: CommandShape[] = [];
  for (const [name, command] of Object.entries(commands)) {
    if (command.hidden) continue;
    const help = await helpOf(command);
    const parsed = parserShapes().get(aliases[name] ?? name);
    const options = Object.entries(parsed?.options ?? {}).map(([opt, spec]): OptionShape => ({
      name: opt,
      short: spec.short,
      takesValue: spec.type === "string",
      multiple: spec.multiple === true,
      ...helpLine(help, opt),
    }));
    out.push({
      name,
      summary: command.summary,
      options,
      takesArguments: name === "help" || (parsed?.allowPositionals ?? false),
      help,
    });
  }
  return out;
}
