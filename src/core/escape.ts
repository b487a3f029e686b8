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

/** `escapeBytes` of a string's UTF-8 bytes. */
export function escapeText(text: string, max = 200): string {
  return escapeBytes(Buffer.from(text, "utf8"), max);
}
