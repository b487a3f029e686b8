/**
 * Public surface of the SMTP client: the session and the message builder (the diagram is in render/smtp.ts).
 * Generic type names carry an `Smtp` prefix here so they cannot clash with other tools' exports.
 */
export { sendMail, type SendMailOptions, type SendMailResult } from "./session.js";
export {
  SmtpDialogue,
  type DialogueOptions as SmtpDialogueOptions,
  type DialogueAction as SmtpDialogueAction,
  type DialogueOutcome as SmtpOutcome,
  type RecipientResult as SmtpRecipientResult,
  type OutcomeStatus as SmtpOutcomeStatus,
  type TlsMode as SmtpTlsMode,
  type AuthMechanism as SmtpAuthMechanism,
  type Phase as SmtpPhase,
} from "./dialogue.js";
export {
  ReplyReader as SmtpReplyReader,
  decodeReplyLine as decodeSmtpReplyLine,
  parseEnhancedStatus,
  formatEnhancedStatus,
  formatReply as formatSmtpReply,
  replyClass as smtpReplyClass,
  type SmtpReply,
  type EnhancedStatus,
} from "./reply.js";
export { parseCapabilities as parseEhloCapabilities, type Capabilities as SmtpCapabilities } from "./capabilities.js";
export { DotStuffer, dotStuff, dotUnstuff } from "./dot-stuff.js";
export { buildMessage, formatRfc5322Date, type BuildMessageOptions, type BuiltMessage, type MessageFile } from "./mime/message.js";
export { parseMailbox, formatMailbox, type Mailbox } from "./mime/address.js";
export { encodeBase64Wrapped, encodeQuotedPrintable, encodeWords as encodeMimeWords, encodeParameter as encodeMimeParameter, foldHeader as foldMailHeader } from "./mime/encode.js";
export { transcriptLines, type TranscriptEntry as SmtpTranscriptEntry } from "./transcript.js";
