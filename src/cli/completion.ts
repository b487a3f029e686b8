/**
 * `wirekit completion bash|zsh|fish`: a completion script generated from the command specs, so
 * every option the parser accepts is offered and nothing else is.
 */
import { usageError } from "../core/errors.js";
import type { CliContext } from "./context.js";
import { flagsOf, shownOptions, type CommandSpec, type FormSpec, type OptionDef } from "./spec.js";
import { ALL_SPECS } from "./specs/index.js";

export const SHELLS = ["bash", "zsh", "fish"] as const;
export type Shell = (typeof SHELLS)[number];

const TOP_WORDS = ["completion", "help", "--help", "--version", "--debug"];

/** A quoted word for bash and zsh: 'it'\''s'. */
function sq(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

function formKey(spec: CommandSpec, form: FormSpec): string {
  return `${spec.name}:${form.name ?? ""}`;
}

function subWords(spec: CommandSpec): string[] {
  return spec.forms.flatMap((f) => [...(f.name === undefined ? [] : [f.name]), ...(f.aliases ?? [])]);
}

function formWords(form: FormSpec): string[] {
  return form.name === undefined ? [] : [form.name, ...(form.aliases ?? [])];
}

function options(form: FormSpec): Array<[string, OptionDef]> {
  return shownOptions(form);
}

function bashValueCase(spec: CommandSpec, form: FormSpec): string[] {
  const lines: string[] = [];
  for (const [name, def] of options(form)) {
    // An optional value is only ever attached (--spa=FILE): the next word is not its value.
    if (def.type === "boolean" || def.optionalValue !== undefined) continue;
    const c = def.complete;
    const action = c === "file" ? "compgen -f -- \"$cur\"" : c === "directory" ? "compgen -d -- \"$cur\"" : c === "host" ? "compgen -A hostname -- \"$cur\"" : Array.isArray(c) ? `compgen -W ${sq(c.join(" "))} -- "$cur"` : "";
    const pattern = flagsOf(name, def).map((f) => `${sq(`${formKey(spec, form)}:${f}`)}`).join("|");
    lines.push(`    ${pattern}) COMPREPLY=( $(${action || "true"}) ); return ;;`);
  }
  return lines;
}

/** The bash script: `source <(wirekit completion bash)`. */
export function bashCompletion(specs: readonly CommandSpec[]): string {
  const tools = specs.map((s) => s.name).concat(TOP_WORDS).join(" ");
  const formCases = specs.map((s) => {
    const named = s.forms.filter((f) => f.name !== undefined);
    const tests = named.map((f) => `[[ " ${formWords(f).join(" ")} " == *" \${COMP_WORDS[2]} "* ]] && form=${f.name}`).join("; ");
    return `    ${sq(s.name)}) ${tests || ":"} ;;`;
  });
  const optCases = specs.flatMap((s) => s.forms.map((f) => {
    const opts = options(f).flatMap(([n, d]) => flagsOf(n, d)).concat("--help").join(" ");
    const subs = f.name === undefined ? subWords(s).join(" ") : "";
    return `    ${sq(formKey(s, f))}) opts=${sq(opts)}; subs=${sq(subs)} ;;`;
  }));
  const valueCases = specs.flatMap((s) => s.forms.flatMap((f) => bashValueCase(s, f)));
  return `# bash completion for wirekit (generated from the command specs by \`wirekit completion bash\`)
_wirekit() {
  local cur prev tool form="" opts="" subs=""
  cur="\${COMP_WORDS[COMP_CWORD]}"
  prev="\${COMP_WORDS[COMP_CWORD-1]}"
  if [[ $COMP_CWORD -eq 1 ]]; then
    COMPREPLY=( $(compgen -W ${sq(tools)} -- "$cur") )
    return
  fi
  tool="\${COMP_WORDS[1]}"
  if [[ $tool == completion ]]; then
    COMPREPLY=( $(compgen -W ${sq(SHELLS.join(" "))} -- "$cur") )
    return
  fi
  case "$tool" in
${formCases.join("\n")}
  esac
  case "$tool:$form:$prev" in
${valueCases.join("\n")}
  esac
  case "$tool:$form" in
${optCases.join("\n")}
  esac
  if [[ $cur == -* ]]; then
    COMPREPLY=( $(compgen -W "$opts" -- "$cur") )
  elif [[ $COMP_CWORD -eq 2 && -n $subs ]]; then
    COMPREPLY=( $(compgen -W "$subs" -- "$cur") )
  fi
}
complete -o default -F _wirekit wirekit
`;
}

function zshEscape(text: string): string {
  // Quoting is sq()'s job; these are the characters _arguments and _describe give a meaning.
  return text.replace(/\\/g, "\\\\").replace(/([[\]:])/g, "\\$1");
}

function zshOption(name: string, def: OptionDef): string {
  // "--spa=-": an optional value must be in the same word, after "=".
  const flags = flagsOf(name, def).map((f) => (def.optionalValue !== undefined && f.startsWith("--") ? `${f}=-` : f));
  const c = def.complete;
  const action = c === "file" ? "_files" : c === "directory" ? "_files -/" : c === "host" ? "_hosts" : Array.isArray(c) ? `(${c.join(" ")})` : " ";
  const value = def.type === "boolean" ? "" : def.optionalValue !== undefined ? `::${zshEscape(def.value ?? "VALUE")}:${action}` : `:${zshEscape(def.value ?? "VALUE")}:${action}`;
  const repeat = def.type === "list" ? "*" : "";
  const exclusive = flags.length > 1 && repeat === "" ? `(${flags.join(" ")})` : "";
  const body = `[${zshEscape(def.help)}]${value}`;
  const spellings = flags.map((f) => `${repeat}${f}${body}`);
  return flags.length > 1 ? `${sq(exclusive)}{${flags.join(",")}}${sq(`${repeat}${body}`)}` : sq(spellings[0] ?? "");
}

/** The zsh script: `source <(wirekit completion zsh)` or saved as `_wirekit` on $fpath. */
export function zshCompletion(specs: readonly CommandSpec[]): string {
  const tools = specs.map((s) => `${s.name}:${zshEscape(s.summary)}`).concat(TOP_WORDS.filter((w) => !w.startsWith("-")).map((w) => `${w}:${w}`));
  const cases = specs.flatMap((s) => s.forms.map((f) => {
    const args = options(f).map(([n, d]) => zshOption(n, d));
    const subs = f.name === undefined ? subWords(s) : [];
    if (subs.length > 0) args.push(sq(`1::subcommand:(${subs.join(" ")})`));
    args.push(sq("*::argument:_default"));
    return `    ${sq(formKey(s, f))}) _arguments -s \\\n      ${args.join(" \\\n      ")} ;;`;
  }));
  const formCases = specs.map((s) => {
    const tests = s.forms.filter((f) => f.name !== undefined).map((f) => `[[ " ${formWords(f).join(" ")} " == *" \${words[2]} "* ]] && form=${f.name}`).join("; ");
    return `    ${sq(s.name)}) ${tests || ":"} ;;`;
  });
  return `#compdef wirekit
# zsh completion for wirekit (generated from the command specs by \`wirekit completion zsh\`)
_wirekit() {
  local tool form=""
  if (( CURRENT == 2 )); then
    local -a tools
    tools=(${tools.map((t) => sq(t)).join(" ")})
    _describe tool tools
    return
  fi
  tool=\${words[2]}
  shift words; (( CURRENT-- ))
  if [[ $tool == completion ]]; then
    compadd ${SHELLS.join(" ")}
    return
  fi
  case $tool in
${formCases.join("\n")}
  esac
  if [[ -n $form ]]; then shift words; (( CURRENT-- )); fi
  case "$tool:$form" in
${cases.join("\n")}
  esac
}
if [[ \${zsh_eval_context[-1]} == loadautofunc ]]; then
  _wirekit "$@"
else
  compdef _wirekit wirekit
fi
`;
}

function fq(text: string): string {
  return `'${text.replace(/\\/g, "\\\\").replace(/'/g, "\\'")}'`;
}

/** The fish script: `wirekit completion fish | source`. */
export function fishCompletion(specs: readonly CommandSpec[]): string {
  const out = ["# fish completion for wirekit (generated from the command specs by `wirekit completion fish`)", "complete -c wirekit -f"];
  const allTools = specs.map((s) => s.name).concat("completion", "help").join(" ");
  out.push(`complete -c wirekit -n ${fq(`not __fish_seen_subcommand_from ${allTools}`)} -l help -d 'show help'`);
  out.push(`complete -c wirekit -n ${fq(`not __fish_seen_subcommand_from ${allTools}`)} -l version -d 'print the version'`);
  for (const s of specs) out.push(`complete -c wirekit -n ${fq(`not __fish_seen_subcommand_from ${allTools}`)} -a ${fq(s.name)} -d ${fq(s.summary)}`);
  out.push(`complete -c wirekit -n ${fq(`not __fish_seen_subcommand_from ${allTools}`)} -a 'completion' -d 'print a shell completion script'`);
  out.push(`complete -c wirekit -n '__fish_seen_subcommand_from completion' -a ${fq(SHELLS.join(" "))}`);
  for (const s of specs) {
    const subs = subWords(s);
    for (const f of s.forms) {
      const words = formWords(f);
      const cond = f.name === undefined
        ? `__fish_seen_subcommand_from ${s.name}${subs.length ? `; and not __fish_seen_subcommand_from ${subs.join(" ")}` : ""}`
        : `__fish_seen_subcommand_from ${s.name}; and __fish_seen_subcommand_from ${words.join(" ")}`;
      if (f.name === undefined && subs.length > 0) out.push(`complete -c wirekit -n ${fq(cond)} -a ${fq(subs.join(" "))}`);
      for (const [name, def] of options(f)) {
        const shorts = [def.short, ...(def.aliases ?? [])].filter((x): x is string => x !== undefined);
        const c = def.complete;
        const arg = def.type === "boolean" || def.optionalValue !== undefined ? "" : c === "file" || c === "directory" ? " -r -F" : Array.isArray(c) ? ` -x -a ${fq(c.join(" "))}` : c === "host" ? " -x -a '(__fish_print_hostnames)'" : " -x";
        out.push(`complete -c wirekit -n ${fq(cond)} -l ${name}${shorts.map((x) => ` -s ${x}`).join("")}${arg} -d ${fq(def.help)}`);
      }
    }
  }
  return `${out.join("\n")}\n`;
}

/** The script for one shell. */
export function completionScript(shell: Shell, specs: readonly CommandSpec[] = ALL_SPECS): string {
  return shell === "bash" ? bashCompletion(specs) : shell === "zsh" ? zshCompletion(specs) : fishCompletion(specs);
}

/** `wirekit completion SHELL`. */
export function runCompletion(argv: string[], ctx: Pick<CliContext, "stdout">): number {
  const shell = argv[0];
  if (shell === "--help" || shell === "-h") {
    ctx.stdout.write("Usage: wirekit completion bash|zsh|fish\n\n  source <(wirekit completion bash)     # bash, e.g. in ~/.bashrc\n  source <(wirekit completion zsh)      # zsh, e.g. in ~/.zshrc\n  wirekit completion fish | source      # fish\n");
    return 0;
  }
  if (shell === undefined) throw usageError("missing shell: bash, zsh or fish (see wirekit completion --help)");
  if (!(SHELLS as readonly string[]).includes(shell)) throw usageError(`unknown shell '${shell}' (bash, zsh or fish)`);
  if (argv.length > 1) throw usageError(`unexpected argument '${argv[1]}' (see wirekit completion --help)`);
  ctx.stdout.write(completionScript(shell as Shell));
  return 0;
}
