/** Public surface of the web server and HTTP client (issue 5). */
export { createStaticServer, type StaticServer, type StaticServerEvent, type StaticServerEvents, type HandlerErrorRecord, type StaticServerOptions, type StaticTotals } from "./static/server.js";
export { createStaticHandler, type ServeDirOptions, type StaticRequestHandler } from "./static/serve-dir.js";
export { nodeStaticFs, type FileStat, type StaticFs } from "./static/static-fs.js";
export { type Credential } from "./static/basic-auth.js";
export { type RequestRecord } from "./static/access-log.js";
export { decodeRequestPath } from "./static/resolve.js";
export { evaluatePreconditions, ifRangeAllows, makeEtag, type Precondition, type Validators } from "./static/conditional.js";
export { parseRange, type ByteRange, type RangeDecision } from "./static/range.js";
export { acceptedCodings, type Coding } from "./static/compress.js";
export { labSiteRoot } from "./static/lab-site.js";
export { httpGet, type HttpGetOptions, type HttpExchange, type HttpTiming } from "./client/client.js";
export { type BodySegment, type RequestBody } from "./client/body.js";
export { encodeMultipart, makeBoundary, parseFormArg, type FormField } from "./client/multipart.js";
export { buildRequest, serializeRequestHead, type HttpRequest } from "./client/request.js";
export { ResponseParser, headerValue, type ResponseHead, type ResponseEvent } from "./client/response.js";
export { createH1Server, H1Server, type H1ServerOptions, type H1ServerEvents, type H1ServerEvent, type H1Totals } from "./h1/server.js";
export { type ExchangeRecord, type ErrorResponseRecord } from "./h1/connection.js";
export {
  type HttpHandler,
  type HttpResponse,
  type HttpBody,
  type FileBody,
  type ExchangeControl,
  type HttpVersion,
  // The client has its own HttpRequest (an outgoing request); the server's is this one.
  type HttpRequest as ServerRequest,
} from "./h1/types.js";
