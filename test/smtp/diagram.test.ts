import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { XMLParser, XMLValidator } from "fast-xml-parser";
import { renderDiagramMermaid, renderDiagramSvg } from "../../src/render/smtp.js";
import type { TranscriptEntry } from "../../src/smtp/transcript.js";

/** A recorded STARTTLS session (as sendMail records it), with hostile text in a reply. */
const TRANSCRIPT: TranscriptEntry[] = [
  { kind: "connect", at: 0, host: "127.0.0.1", address: "127.0.0.1", port: 2525, tls: false },
  { kind: "server", at: 1.2, code: 220, lines: ["220 mx.test ESMTP <script>alert(1)</script> & \"quotes\" 'apos' \u0001"] },
  { kind: "client", at: 1.3, text: "EHLO me.test" },
  { kind: "server", at: 2, code: 250, lines: ["250-mx.test Nice to meet you", "250-STARTTLS", "250-AUTH PLAIN LOGIN", "250 SIZE 10240000"] },
  { kind: "client", at: 2.1, text: "STARTTLS" },
  { kind: "server", at: 2.5, code: 220, lines: ["220 Ready to start TLS"] },
  { kind: "tls", at: 9, protocol: "TLSv1.3", cipher: "TLS_AES_256_GCM_SHA384", verified: true, peer: "localhost" },
  { kind: "client", at: 9.1, text: "EHLO me.test" },
  { kind: "server", at: 9.5, code: 250, lines: ["250-mx.test", "250 AUTH PLAIN LOGIN"] },
  { kind: "client", at: 9.6, text: "AUTH PLAIN ********" },
  { kind: "server", at: 10, code: 235, lines: ["235 2.7.0 Authentication successful"] },
  { kind: "client", at: 10.1, text: "MAIL FROM:<a@x.test> SIZE=420" },
  { kind: "server", at: 10.5, code: 250, lines: ["250 2.1.0 Ok"] },
  { kind: "client", at: 10.6, text: "RCPT TO:<b@x.test>" },
  { kind: "server", at: 11, code: 250, lines: ["250 2.1.5 Ok"] },
  { kind: "client", at: 11.1, text: "DATA" },
  { kind: "server", at: 11.5, code: 354, lines: ["354 End data with <CR><LF>.<CR><LF>"] },
  { kind: "message", at: 12, octets: 420, wireOctets: 425 },
  { kind: "client", at: 12, text: "." },
  { kind: "server", at: 13, code: 250, lines: ["250 2.0.0 Ok: queued as ABC123"] },
  { kind: "client", at: 13.1, text: "QUIT" },
  { kind: "server", at: 13.5, code: 221, lines: ["221 2.0.0 Bye"] },
];

function texts(node: unknown, out: string[] = []): string[] {
  if (typeof node === "string") out.push(node);
  else if (Array.isArray(node)) for (const n of node) texts(n, out);
  else if (node !== null && typeof node === "object") for (const [k, v] of Object.entries(node)) if (k === "#text" || !k.startsWith("@_")) texts(v, out);
  return out;
}

describe("sequence diagram", () => {
  it("is well-formed SVG containing every command and every reply line", () => {
    const svg = renderDiagramSvg(TRANSCRIPT);
    assert.equal(XMLValidator.validate(svg), true);
    const doc = new XMLParser({ ignoreAttributes: false, processEntities: true, htmlEntities: true }).parse(svg) as Record<string, unknown>;
    assert.ok("svg" in doc);
    const all = texts(doc).join("\n");
    for (const e of TRANSCRIPT) {
      if (e.kind === "client") assert.ok(all.includes(e.text), e.text);
      if (e.kind === "server") for (const l of e.lines) assert.ok(all.includes(l.split("\u0001").join("\ufffd")), l);
    }
    assert.match(all, /TLS established: TLSv1\.3/);
    assert.ok(!svg.includes("<script>"));
  });

  it("marks the TLS part of the lifelines", () => {
    const svg = renderDiagramSvg(TRANSCRIPT);
    assert.equal((svg.match(/class="life tlslife"/g) ?? []).length, 2);
    assert.match(svg, /<rect [^>]*class="tls"/);
  });

  it("writes Mermaid text with one arrow per command and reply", () => {
    const mmd = renderDiagramMermaid(TRANSCRIPT);
    const lines = mmd.trim().split("\n");
    assert.equal(lines[0], "sequenceDiagram");
    assert.equal(lines.filter((l) => l.includes("C->>S")).length, TRANSCRIPT.filter((e) => e.kind === "client" || e.kind === "message").length);
    assert.equal(lines.filter((l) => l.includes("S-->>C")).length, TRANSCRIPT.filter((e) => e.kind === "server").length);
    assert.ok(lines.some((l) => l.startsWith("  Note over C,S: TLS established")));
    assert.ok(!mmd.includes("<CR>") && mmd.includes("#lt;CR#gt;"));
  });

  it("writes only lines Mermaid's sequence grammar accepts, whose text decodes back to the transcript", () => {
    // Checked once against mermaid 12.3 in Chromium (mermaid.parse + render gave back every text);
    // this pins the rules that made it pass: a message's text ends at "#", ";" or a newline in
    // Mermaid's lexer, so those appear only as entity codes (#35;), and "<" ">" likewise.
    const hostile: TranscriptEntry[] = [
      ...TRANSCRIPT,
      { kind: "server", at: 14, code: 250, lines: ["250 # hash ; semi %% pct : colon -->> arrow <br/> end {b} [c] `d` \\e"] },
      { kind: "note", at: 15, text: "line\nbreak; #1" },
    ];
    const mmd = renderDiagramMermaid(hostile, { server: "server [::1]:2525" });
    const decode = (t: string) => t.replace(/#lt;/g, "<").replace(/#gt;/g, ">").replace(/#(\d+);/g, (_m, n: string) => String.fromCharCode(Number(n)));
    const texts: string[] = [];
    for (const line of mmd.trimEnd().split("\n").slice(1)) {
      const m = /^ {2}(?:participant [CS] as |Note over C,S: |C->>S: |S-->>C: )(.*)$/.exec(line);
      assert.ok(m, `not a sequenceDiagram statement: ${line}`);
      const text = m[1] ?? "";
      assert.ok(!/[#;<>]/.test(text.replace(/#(?:\d+|lt|gt);/g, "").replace(/<br\/>/g, "")), `raw # ; < > in: ${line}`);
      texts.push(...text.split("<br/>").map(decode));
    }
    for (const e of hostile) {
      if (e.kind === "client") assert.ok(texts.includes(e.text), e.text);
      if (e.kind === "server") for (const l of e.lines) assert.ok(texts.includes(l), l);
    }
    assert.ok(texts.includes("line break; #1"));
    assert.ok(texts.includes("server [::1]:2525"));
  });
});
