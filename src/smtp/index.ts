/** Public surface of the SMTP client: the session, the message builder and the diagram. */
export { sendMail, type SendMailOptions, type SendMailResult } from "./session.js";
export { SmtpDialogue, type DialogueOptions, type DialogueAction, type DialogueOutcome, type RecipientResult, type OutcomeStatus, type TlsMode, type AuthMechanism, type Phase } from "./dialogue.js";
export { ReplyReader, decodeReplyLine, parseEnhancedStatus, formatEnhancedStatus, formatReply, replyText, replyClass, type SmtpReply, type EnhancedStatus, type ReplyLine } from "./reply.js";
export { parseCapabilities, hasCapability, authMechanisms, sizeLimit, type Capabilities } from "./capabilities.js";
export { DotStuffer, dotStuff, dotUnstuff, MAX_LINE_OCTETS } from "./dot-stuff.js";
export { buildMessage, formatRfc5322Date, inlineContentId, type BuildMessageOptions, type BuiltMessage, type MessageFile } from "./mime/message.js";
export { parseMailbox, formatMailbox, type Mailbox } from "./mime/address.js";
export { encodeBase64Wrapped, encodeQuotedPrintable, encodeWords, encodeParameter, foldHeader, assertHeaderValue } from "./mime/encode.js";
export { renderDiagramSvg, renderDiagramMermaid, type DiagramOptions } from "./diagram.js";
export { transcriptLines, type TranscriptEntry } from "./transcript.js";
