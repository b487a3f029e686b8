/**
 * The MIME tree (RFC 2045 §5–6, RFC 2046 §5.1 multipart, RFC 2387 multipart/related) and its
 * serialisation: a leaf is a body with a content type and a transfer encoding; a multipart is a
 * list of children between `--boundary` lines, ending with `--boundary--`. Boundaries are given
 * by the builder (from an injected Random), so the same inputs give the same bytes.
 */
import { encodeBase64Wrapped, encodeQuotedPrintable, foldHeader, foldHeaderWithParams } from "./encode.js";

export type TransferEncoding = "7bit" | "quoted-printable" | "base64";

/** A single body part. */
export interface MimeLeaf {
  kind: "leaf";
  /** e.g. "text/plain" */
  type: string;
  params: Array<[string, string]>;
  encoding: TransferEncoding;
  /** `Content-Disposition` value and its parameters, if any. */
  disposition?: { value: "attachment" | "inline"; params: Array<[string, string]> };
  /** `Content-ID` without angle brackets (RFC 2392), for inline images. */
  contentId?: string;
  body: Uint8Array;
}

/** A multipart body part. */
export interface MimeMultipart {
  kind: "multipart";
  subtype: "mixed" | "alternative" | "related";
  /** For multipart/related: the type of the root part (RFC 2387 §3.1). */
  rootType?: string;
  boundary: string;
  children: MimeNode[];
}

export type MimeNode = MimeLeaf | MimeMultipart;

/** The Content-* header lines of a node (folded, CRLF-separated, no trailing CRLF). */
export function contentHeaders(node: MimeNode): string[] {
  if (node.kind === "multipart") {
    const params: Array<[string, string]> = [["boundary", node.boundary]];
    if (node.rootType !== undefined) params.push(["type", node.rootType]);
    return [foldHeaderWithParams("Content-Type", `multipart/${node.subtype}`, params)];
  }
  const lines = [foldHeaderWithParams("Content-Type", node.type, node.params), foldHeader("Content-Transfer-Encoding", node.encoding)];
  if (node.disposition !== undefined) lines.push(foldHeaderWithParams("Content-Disposition", node.disposition.value, node.disposition.params));
  if (node.contentId !== undefined) lines.push(foldHeader("Content-ID", `<${node.contentId}>`));
  return lines;
}

function encodeBody(node: MimeLeaf): string {
  switch (node.encoding) {
    case "base64":
      return encodeBase64Wrapped(node.body);
    case "quoted-printable":
      return encodeQuotedPrintable(node.body);
    case "7bit":
      return Buffer.from(node.body).toString("latin1").replace(/\r\n|\r|\n/g, "\r\n");
  }
}

/**
 * Serialise `node` with `headers` (already folded lines) in front of its own Content-* headers.
 * Returns the chunks in order (big bodies stay separate strings; join or stream them).
 *
 * @example
 * serializeNode({ kind: "leaf", type: "text/plain", params: [], encoding: "7bit", body: Buffer.from("hi") }).join("")
 * // "Content-Type: text/plain\r\nContent-Transfer-Encoding: 7bit\r\n\r\nhi\r\n"
 */
export function serializeNode(node: MimeNode, headers: string[] = [], inMultipart = false): string[] {
  const out: string[] = [[...headers, ...contentHeaders(node)].join("\r\n"), "\r\n\r\n"];
  if (node.kind === "leaf") {
    const body = encodeBody(node);
    out.push(body);
    // Inside a multipart the CRLF before the next "--boundary" belongs to the delimiter
    // (RFC 2046 §5.1.1), so a body that ends with a line break needs one more to keep it.
    if (inMultipart || !body.endsWith("\r\n")) out.push("\r\n");
    return out;
  }
  if (node.children.length === 0) out.push("\r\n");
  for (const child of node.children) {
    out.push(`--${node.boundary}\r\n`);
    out.push(...serializeNode(child, [], true));
  }
  out.push(`--${node.boundary}--\r\n`);
  return out;
}
