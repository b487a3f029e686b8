/** Source Quench: ICMP type 4 (RFC 792; deprecated by RFC 6633, still decoded and shown). */
import type { ErrorBodyDecoder, SourceQuench } from "./types.js";

export const decodeSourceQuench: ErrorBodyDecoder = (head, _word, original): SourceQuench => ({
  kind: "source-quench",
  ...head,
  text: "Source quench.",
  original,
});
