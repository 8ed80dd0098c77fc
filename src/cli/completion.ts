/**
 * `portreporter completion bash|zsh|fish|powershell` and `portreporter man`: shell completion scripts
 * and the man page, generated from the parsers' own option tables ({@link commandShapes}), so they
 * list exactly the flags the program accepts.
 *
 * @module
 */

import { UsageError } from "../errors.ts";
import { escapeField } from "../model/text.ts";
import { type CommandShape, commandShapes, type OptionShape } from "./cli_table.ts";
import type { CliCommand, CliIo } from "./main.ts";
import { manPage } from "./man_page.ts";
import { parseOptions } from "./options.ts";

/** The shells a script is made for. */
export const SHELLS = ["bash", "zsh", "fish", "powershell"] as const;

const flag = (o: OptionShape) => (o.name.length === 1 ? `-${o.name}` : `--${o.name}`);
const flags = (c: CommandShape) => c.options.flatMap((o) => o.short ? [flag(o), `-${o.short}`] : [flag(o)]);
const single = (text: string) => text.replaceAll("'", "'\\''");

/** bash: a `complete -F` function: command names, then each command's flags, files for values. */
export function bashScript(commands: CommandShape[]): string {
  const names = commands.map((c) => c.name).join(" ");
  const cases = commands.map((c) => {
    if (c.name === "help") return `    help) COMPREPLY=($(compgen -W '${names}' -- "$cur")); return ;;`;
    const valued = c.options.filter((o) => o.takesValue).map(flag);
    return `    ${c.name}) opts='${flags(c).join(" ")}'; valued='${valued.join(" ")}' ;;`;
  });
  return `# bash completion for portreporter (portreporter completion bash)
_portreporter() {
  local cur=\${COMP_WORDS[COMP_CWORD]} prev=\${COMP_WORDS[COMP_CWORD-1]} opts='' valued=''
  if [ "$COMP_CWORD" -eq 1 ]; then
    COMPREPLY=($(compgen -W '${names}' -- "$cur"))
    return
  fi
  case \${COMP_WORDS[1]} in
${cases.join("\n")}
  esac
  if [ -n "$prev" ] && [[ " $valued " == *" $prev "* ]]; then
    COMPREPLY=($(compgen -f -- "$cur"))
  elif [[ $cur == -* ]]; then
    COMPREPLY=($(compgen -W "$opts" -- "$cur"))
  else
    COMPREPLY=($(compgen -f -- "$cur"))
  fi
}
complete -o filenames -F _portreporter portreporter
`;
}

/** zsh: a `#compdef` function with `_arguments` per command. */
export function zshScript(commands: CommandShape[]): string {
  const quote = (t: string) => t.replaceAll("'", "'\\''").replace(/[[\]:]/g, "\\$&");
  const spec = (o: OptionShape) =>
    `'${o.multiple ? "*" : ""}${flag(o)}[${quote(o.description)}]${
      o.takesValue ? `:${quote(o.valueName ?? "value")}:_files` : ""
    }'`;
  const cases = commands.map((c) =>
    c.name === "help"
      ? "    help) _describe 'command' commands ;;"
      : `    ${c.name}) _arguments -s ${c.options.map(spec).join(" ")}${
        c.takesArguments ? " '*:file:_files'" : ""
      } ;;`
  );
  return `#compdef portreporter
# zsh completion for portreporter (portreporter completion zsh)
_portreporter() {
  local -a commands
  commands=(${commands.map((c) => `'${c.name}:${quote(c.summary)}'`).join(" ")})
  if (( CURRENT == 2 )); then
    _describe 'command' commands
    return
  fi
  shift words
  (( CURRENT-- ))
  case $words[1] in
${cases.join("\n")}
  esac
}
compdef _portreporter portreporter
`;
}

/** fish: `complete` lines, one per command and one per option. */
export function fishScript(commands: CommandShape[]): string {
  const names = commands.map((c) => c.name).join(" ");
  const lines = [
    "# fish completion for portreporter (portreporter completion fish)",
    "complete -c portreporter -f",
    ...commands.map((c) =>
      `complete -c portreporter -n "not __fish_seen_subcommand_from ${names}" -a ${c.name} -d '${
        single(c.summary)
      }'`
    ),
  ];
  for (const c of commands) {
    for (const o of c.options) {
      const name = o.name.length === 1 ? `-s ${o.name}` : `-l ${o.name}${o.short ? ` -s ${o.short}` : ""}`;
      lines.push(
        `complete -c portreporter -n "__fish_seen_subcommand_from ${c.name}" ${name}${
          o.takesValue ? " -r -F" : ""
        } -d '${single(o.description)}'`,
      );
    }
    if (c.name === "help") {
      lines.push(`complete -c portreporter -n "__fish_seen_subcommand_from help" -a '${names}'`);
    } else if (c.takesArguments) {
      lines.push(`complete -c portreporter -n "__fish_seen_subcommand_from ${c.name}" -F`);
    }
  }
  return lines.join("\n") + "\n";
}

/** PowerShell: a native argument completer for `portreporter` and `portreporter.exe`. */
export function powershellScript(commands: CommandShape[]): string {
  const q = (t: string) => `'${t.replaceAll("'", "''")}'`;
  const table = commands.map((c) => `  ${q(c.name)} = @(${flags(c).map(q).join(", ")})`).join("\n");
  return `# PowerShell completion for portreporter (portreporter completion powershell)
$portreporterFlags = @{
${table}
}
Register-ArgumentCompleter -Native -CommandName portreporter, portreporter.exe -ScriptBlock {
  param($wordToComplete, $commandAst, $cursorPosition)
  $words = @($commandAst.CommandElements | ForEach-Object { $_.ToString() })
  if ($words.Count -le 1 -or ($words.Count -eq 2 -and $wordToComplete -ne '')) {
    $candidates = $portreporterFlags.Keys | Sort-Object
  } else {
    $candidates = $portreporterFlags[$words[1]]
  }
  $candidates | Where-Object { $_ -like "$wordToComplete*" } | ForEach-Object {
    [System.Management.Automation.CompletionResult]::new($_, $_, 'ParameterValue', $_)
  }
}
`;
}

const HELP_COMPLETION = `Usage: portreporter completion <shell>

Prints a completion script for bash, zsh, fish or powershell, made from the options the program
accepts. For example:
  portreporter completion bash > /etc/bash_completion.d/portreporter
  portreporter completion zsh > "\${fpath[1]}/_portreporter"
  portreporter completion fish > ~/.config/fish/completions/portreporter.fish
  portreporter completion powershell >> $PROFILE

Options:
  -h, --help   Show this help
`;

const HELP_MAN = `Usage: portreporter man

Prints the manual page (roff), made from the help of every command. For example:
  portreporter man > /usr/local/share/man/man1/portreporter.1 && man portreporter

Options:
  -h, --help   Show this help
`;

/** Parses a command line with `help` only; returns whether help was asked and the arguments. */
function helpOrArgs(command: string, args: string[], positionals: boolean) {
  const { values, positionals: rest } = parseOptions(
    command,
    args,
    { help: { type: "boolean", short: "h" } },
    positionals,
  );
  return { help: values.help === true, rest };
}

/** `portreporter completion <shell>`. */
export async function commandCompletion(
  args: string[],
  io: CliIo,
  commands: Readonly<Record<string, CliCommand>>,
): Promise<number> {
  const { help, rest } = helpOrArgs("completion", args, true);
  if (help) return io.out(HELP_COMPLETION), 0;
  const shell = rest[0];
  if (rest.length !== 1 || !(SHELLS as readonly string[]).includes(shell)) {
    const got = shell === undefined ? "no shell" : `'${escapeField(rest.join(" "))}'`;
    throw new UsageError(`completion: name one shell: ${SHELLS.join(", ")} (got ${got})`);
  }
  const shapes = await commandShapes(commands, { service: "run" });
  const make = { bash: bashScript, zsh: zshScript, fish: fishScript, powershell: powershellScript }[
    shell as typeof SHELLS[number]
  ];
  io.out(make(shapes));
  return 0;
}

/** `portreporter man`. */
export async function commandMan(
  args: string[],
  io: CliIo,
  commands: Readonly<Record<string, CliCommand>>,
  version: string,
): Promise<number> {
  if (helpOrArgs("man", args, false).help) return io.out(HELP_MAN), 0;
  io.out(manPage(await commandShapes(commands, { service: "run" }), version));
  return 0;
}
