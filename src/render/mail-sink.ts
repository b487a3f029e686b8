/**
 * The lab mail sink's line per event, for the dashboard's feed. Pure: an event in, a line out.
 */
import { escapeText } from "../core/escape.js";
import type { MailSinkEvent } from "../lab/mail/sink.js";

/**
 * The line for a mail sink event (no newline).
 *
 * @example
 * renderMailSinkEvent({ kind: "rejected", at: 0, reason: "message too big", from: "a@b" }) // "rejected from a@b: message too big"
 */
export function renderMailSinkEvent(e: MailSinkEvent): string {
  switch (e.kind) {
    case "message": {
      const m = e.message;
      const files = m.attachments.length > 0 ? `, ${m.attachments.length} attachment(s)` : "";
      return `from ${escapeText(m.from)} to ${escapeText(m.to)}: ${escapeText(m.subject) || "(no subject)"}${files}`;
    }
    case "rejected":
      return `rejected from ${escapeText(e.from) || "<>"}: ${e.reason}`;
  }
}
