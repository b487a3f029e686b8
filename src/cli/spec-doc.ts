/**
 * Documents generated from a command's spec (spec.ts): the `--help` text, the roff man page
 * `wirekit-<tool>.1` (man(7) macros) and the markdown reference tables.
 */
import { flagsOf, shownOptions, type CommandSpec, type FormSpec, type OptionDef } from "./spec.js";

function defaultText(def: OptionDef): string | undefined {
  if (def.default === undefined || /\bdefault\b/.test(def.help)) return undefined;
  if (def.type === "duration" && typeof def.default === "number") return `${def.default}ms`;
  return String(def.default);
}

/** The option's one-line help with its default: "pings to send (default 10)". */
export function optionHelp(def: OptionDef): string {
  const d = defaultText(def);
  if (d === undefined) return def.help;
  const paren = /^(.*) \(([^()]*)\)$/.exec(def.help);
  return paren ? `${paren[1]} (default ${d}; ${paren[2]})` : `${def.help} (default ${d})`;
}

/** "-c, -n, --count N". */
export function optionSyntax(name: string, def: OptionDef): string {
  if (def.optionalValue !== undefined) return `${flagsOf(name, def).join(", ")}[=${def.value ?? "VALUE"}]`;
  return `${flagsOf(name, def).join(", ")}${def.type === "boolean" ? "" : ` ${def.value ?? "VALUE"}`}`;
}

function usageLines(spec: CommandSpec): string[] {
  // A line that starts with spaces continues the one above it (already aligned).
  return spec.forms.flatMap((f) => f.usage.map((u) => (u.startsWith(" ") ? u.trimEnd() : `wirekit ${spec.name} ${u}`.trimEnd())));
}

function formLines(form: FormSpec): string[] {
  if (form.external !== undefined) return form.external.replace(/\n$/, "").split("\n");
  const rows: Array<[string, string]> = [
    ...form.positionals.filter((p) => p.help !== undefined).map((p): [string, string] => [`<${p.name}>`, p.help ?? ""]),
    ...shownOptions(form).map(([n, d]): [string, string] => [optionSyntax(n, d), optionHelp(d)]),
  ];
  const width = Math.min(24, Math.max(0, ...rows.map(([l]) => l.length)));
  return rows.map(([left, help]) => (left.length > width ? `  ${left}  ${help}` : `  ${left.padEnd(width)}  ${help}`));
}

/** The full `--help` text. */
export function renderHelp(spec: CommandSpec): string {
  const parts = [`wirekit ${spec.name} — ${spec.title}`, `Usage:\n${usageLines(spec).map((u) => `  ${u}`).join("\n")}`];
  if (spec.description !== undefined) parts.push(spec.description.trim());
  for (const form of spec.forms) {
    const title = form.title ?? "Options";
    const intro = form.intro === undefined ? "" : `\n${form.intro.trim()}`;
    parts.push(`${title}:${intro}\n${formLines(form).join("\n")}`);
  }
  if (spec.notes !== undefined) parts.push(spec.notes.trim());
  if (spec.exitStatus !== undefined) parts.push(`Exit status: ${spec.exitStatus.trim()}`);
  parts.push(`Example${spec.examples.length === 1 ? "" : "s"}:\n${spec.examples.map((e) => `  ${e}`).join("\n")}`);
  return `${parts.join("\n\n")}\n`;
}

/** Escape text for roff: backslashes, non-ASCII as \[uXXXX], and a leading . or ' made harmless. */
function roff(text: string): string {
  const body = Array.from(text.replace(/\\/g, "\\e"), (c) => {
    const cp = c.codePointAt(0) ?? 0;
    return cp > 126 ? `\\[u${cp.toString(16).toUpperCase().padStart(4, "0")}]` : c;
  }).join("");
  return body.replace(/-/g, "\\-");
}

function roffLines(text: string): string {
  return text.trim().split("\n").map((l) => {
    const e = roff(l.trimEnd());
    return e === "" ? ".PP" : /^[.']/.test(e) ? `\\&${e}` : e;
  }).join("\n");
}

function roffPreformatted(text: string): string {
  return [".PP", ".nf", ".RS 2", ...text.replace(/\n$/, "").split("\n").map((l) => {
    const e = roff(l);
    return /^[.']/.test(e) ? `\\&${e}` : e;
  }), ".RE", ".fi"].join("\n");
}

function manOption(name: string, def: OptionDef): string {
  const flags = flagsOf(name, def).map((f) => `\\fB${roff(f)}\\fR`).join(", ");
  const value = def.type === "boolean" ? "" : def.optionalValue !== undefined ? `[=\\fI${roff(def.value ?? "VALUE")}\\fR]` : ` \\fI${roff(def.value ?? "VALUE")}\\fR`;
  const body = [roffLines(optionHelp(def))];
  if (def.description !== undefined) body.push(roffLines(def.description));
  return `.TP\n${flags}${value}\n${body.join("\n")}`;
}

/** The man page `wirekit-<tool>.1`, in man(7) macros. */
export function renderMan(spec: CommandSpec, version: string): string {
  const out = [
    `.TH WIREKIT\\-${roff(spec.name.toUpperCase())} 1 "" "wirekit ${roff(version)}" "wirekit manual"`,
    ".SH NAME",
    `wirekit\\-${roff(spec.name)} \\- ${roff(spec.title)}`,
    ".SH SYNOPSIS",
    ".nf",
    ...usageLines(spec).map((u) => roff(u)),
    ".fi",
  ];
  if (spec.description !== undefined) out.push(".SH DESCRIPTION", roffLines(spec.description));
  out.push(".SH OPTIONS");
  for (const form of spec.forms) {
    out.push(`.SS "${roff(form.title ?? "Options")}"`);
    if (form.intro !== undefined) out.push(roffLines(form.intro));
    if (form.external !== undefined) {
      out.push(roffPreformatted(form.external));
      continue;
    }
    for (const p of form.positionals) if (p.help !== undefined) out.push(`.TP\n\\fI${roff(p.name)}\\fR\n${roffLines(p.help)}`);
    for (const [name, def] of shownOptions(form)) out.push(manOption(name, def));
  }
  if (spec.notes !== undefined) out.push(".SH NOTES", roffLines(spec.notes));
  if (spec.exitStatus !== undefined) out.push(".SH EXIT STATUS", roffLines(spec.exitStatus));
  out.push(".SH EXAMPLES", roffPreformatted(spec.examples.join("\n")));
  out.push(".SH SEE ALSO", `\\fBwirekit\\fR(1), \\fBwirekit ${roff(spec.name)} \\-\\-help\\fR`);
  return `${out.join("\n")}\n`;
}

function cell(text: string): string {
  return text.replace(/\|/g, "\\|").replace(/\n/g, " ");
}

/** The markdown reference: one table of options per form. */
export function renderMarkdown(spec: CommandSpec): string {
  const out = [`## wirekit ${spec.name}`, "", spec.title, "", "```", ...usageLines(spec), "```"];
  for (const form of spec.forms) {
    out.push("", `### ${form.title ?? "Options"}`, "");
    if (form.external !== undefined) {
      out.push("```", form.external.replace(/\n$/, ""), "```");
      continue;
    }
    out.push("| Option | Value | Default | Description |", "| --- | --- | --- | --- |");
    for (const p of form.positionals) out.push(`| \`<${p.name}>\` | | ${p.optional === true ? "optional" : "required"} | ${cell(p.help ?? "")} |`);
    for (const [name, def] of shownOptions(form)) {
      const flags = flagsOf(name, def).map((f) => `\`${f}\``).join(", ");
      const value = def.type === "boolean" ? "" : `\`${def.optionalValue !== undefined ? `[=${def.value ?? "VALUE"}]` : def.value ?? "VALUE"}\` (${def.type}${def.optionalValue !== undefined ? ", optional" : ""})`;
      out.push(`| ${flags} | ${value} | ${def.default === undefined ? "" : `\`${cell(String(def.default))}\``} | ${cell(def.help)} |`);
    }
  }
  out.push("", "Examples:", "", "```sh", ...spec.examples, "```", "");
  return out.join("\n");
}

/** The manual page (docs/<page>.md) that documents a command. */
export function docPage(spec: CommandSpec): string {
  return spec.name;
}

/**
 * Each manual page's generated option reference, markers included: the markdown of its commands'
 * specs with their headings one level down, under "## Option reference".
 */
export function referenceRegions(specs: readonly CommandSpec[]): Map<string, string> {
  const pages = new Map<string, CommandSpec[]>();
  for (const s of specs) pages.set(docPage(s), [...(pages.get(docPage(s)) ?? []), s]);
  const out = new Map<string, string>();
  for (const [page, list] of pages) {
    const body = list.map((s) => renderMarkdown(s).replace(/^(#+) /gm, "#$1 ")).join("\n").trimEnd();
    out.set(
      page,
      `<!-- reference:begin -->\n## Option reference\n\nGenerated from the command's spec (\`src/cli/specs/\`) by \`npm run docs\`; \`wirekit ${list[0]?.name ?? page} --help\` prints the same.\n\n${body}\n<!-- reference:end -->`,
    );
  }
  return out;
}
