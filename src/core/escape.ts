/**
 * Escaping of untrusted bytes for one-line logs: what the network sends is never printed raw.
 */

/** Escape non-printable bytes of a datagram for a one-line log ("\x00", "\n"). */
export function escapeBytes(buf: Uint8Array, max = 200): string {
  let out = "";
  const n = Math.min(buf.length, max);
  for (let i = 0; i < n; i++) {
    const b = buf[i] ?? 0;
    if (b === 0x5c) out += "\\\\";
    else if (b === 0x0a) out += "\\n";
    else if (b === 0x0d) out += "\\r";
    else if (b === 0x09) out += "\\t";
    else if (b >= 0x20 && b < 0x7f) out += String.fromCharCode(b);
    else out += `\\x${b.toString(16).padStart(2, "0")}`;
  }
  if (buf.length > max) out += `... (${buf.length} bytes)`;
  return out;
}

/**
 * Text another program produced, made safe for a terminal: printable characters (non-ASCII
 * letters too) kept, control characters (C0, DEL, C1) and the bidirectional overrides
 * escaped in `escapeBytes`' notation (`\x1b`, `\u202e`), so a student's output cannot move the cursor, clear the
 * screen or reorder what the teacher reads.
 */
export function escapeText(text: string, max = 400): string {
  let out = "";
  let n = 0;
  for (const ch of text) {
    if (n++ >= max) return `${out}…`;
    const cp = ch.codePointAt(0) ?? 0;
    // A backslash stays itself: evidence quotes lines like '\r\n.\r\n' as text.
    if (cp === 0x5c) out += ch;
    else if (cp < 0x80) out += escapeBytes(Buffer.from([cp]));
    else if (cp < 0xa0 || (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069) || cp === 0x2028 || cp === 0x2029) out += cp < 0x100 ? `\\x${cp.toString(16)}` : `\\u${cp.toString(16)}`;
    else out += ch;
  }
  return out;
}
