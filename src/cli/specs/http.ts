/** The spec of `wirekit http` (`serve` and `get`) and `wirekit proxy`. */
import { defineCommand, defineForm } from "../spec.js";
import { bindHost, bindPort, diagram, pcap, serverPcap } from "./common.js";
import { tcpImpairOptions } from "./impair.js";

export const serveForm = defineForm({
  name: "serve",
  title: "Server options",
  usage: [
    "serve [ROOT=.] [--host 127.0.0.1] [-p 8080] [--workers 1|N|auto] [--cors] [--no-listing] [--quiet]",
    "                   [--dotfiles] [--follow-symlinks] [--tls-cert FILE --tls-key FILE] [--header-timeout 10s] [--keepalive-timeout 5s]",
    "                   [--spa[=FILE]] [-H 'Name: value' ...] [--cache-control VALUE] [--auth USER:PASSWORD ... | --auth-file FILE]",
    "                   [--delay T] [--rate BYTES/s] [--pcap FILE [--pcap-max-bytes 100MiB]]",
  ],
  positionals: [{ name: "ROOT", kind: "directory", optional: true, help: "the directory to serve (default .)" }],
  options: {
    host: bindHost("127.0.0.1", "address to bind (0.0.0.0 or :: for every interface)"),
    port: bindPort(8080),
    workers: { type: "string", value: "N|auto", default: "1", help: "worker processes sharing the port (node:cluster); auto = one per core" },
    cors: { type: "boolean", help: "Access-Control-Allow-Origin: * and answer preflights" },
    "no-listing": { type: "boolean", help: "no HTML listing for directories without index.html (403)" },
    dotfiles: { type: "boolean", help: "serve hidden files (.git, .env ...), refused (404) by default" },
    "follow-symlinks": { type: "boolean", help: "follow symlinks that lead outside ROOT (refused, 403, by default)" },
    "tls-cert": { type: "string", value: "FILE", complete: "file", help: "PEM certificate: serve HTTPS (with --tls-key)" },
    "tls-key": { type: "string", value: "FILE", complete: "file", help: "PEM private key for --tls-cert" },
    "no-http2": { type: "boolean", help: "over TLS, speak HTTP/1.1 only (HTTP/2 is offered by ALPN otherwise)" },
    "header-timeout": { type: "duration", value: "T", default: "10s", min: 1, help: "a client must send its request head within T, else 408" },
    "keepalive-timeout": { type: "duration", value: "T", default: "5s", min: 1, help: "idle keep-alive connections are closed after T" },
    "send-timeout": { type: "duration", value: "T", default: "60s", min: 1, help: "a response that makes no write progress for T is dropped" },
    spa: { type: "string", value: "FILE", optionalValue: "index.html", complete: "file", help: "single-page app: a page request for no file gets FILE (default index.html)" },
    header: { type: "list", short: "H", value: "'N: V'", help: "add this field to every response (repeatable)" },
    "cache-control": { type: "string", value: "VALUE", help: "Cache-Control of every file response (max-age=3600, no-cache ...)" },
    auth: { type: "list", value: "USER:PASSWORD", help: "require HTTP Basic auth with these credentials (repeatable)" },
    "auth-file": { type: "string", value: "FILE", complete: "file", help: "HTTP Basic credentials, one user:password per line" },
    ...tcpImpairOptions,
    ...serverPcap("each response's decision (304 not modified, 206/416 ranges, 401, 408 head timeout...)"),
    quiet: { type: "boolean", short: "q", help: "no access log" },
  },
});

export const getForm = defineForm({
  name: "get",
  title: "Client options",
  intro: "Options mean what they mean to curl. Without -o, -O, -s or -v the response is printed as received: head, blank line, body.",
  usage: ["get <server_address> <server_port> <filename> [options]", "get <url> [options]"],
  positionals: [
    { name: "url", kind: "text", help: "http:// or https:// URL (the scheme may be left off), or the lab's <server_address>" },
    { name: "server_port", kind: "text", optional: true, help: "with <server_address> and <filename>: the lab's three-argument form" },
    { name: "filename", kind: "text", optional: true, help: "the path on the server, with or without the leading /" },
  ],
  options: {
    request: { type: "string", short: "X", value: "METHOD", help: "the method (default GET; POST when there is a body; HEAD with -I)" },
    data: { type: "list", short: "d", value: "DATA", help: "urlencoded POST body; @FILE reads a file (CR, LF dropped); several -d join with '&'" },
    "data-binary": { type: "list", value: "DATA", help: "like -d, but @FILE is sent byte for byte" },
    "json-data": { type: "list", value: "DATA", hidden: true, help: "--json DATA, as rewritten before parsing" },
    form: { type: "list", short: "F", value: "N=V|N=@F", help: "multipart/form-data field or file upload (;type=T ;filename=F after a file)" },
    user: { type: "string", short: "u", value: "USER:PASS", help: "HTTP Basic credentials (shown as <redacted> by -v)" },
    header: { type: "list", short: "H", value: "'N: v'", help: "add a request header, or replace a default one (repeatable)" },
    head: { type: "boolean", short: "I", help: "HEAD instead of GET: print the status line and headers only" },
    include: { type: "boolean", short: "i", help: "put the response head before the body (stdout, or the -o file)" },
    output: { type: "string", short: "o", value: "FILE", complete: "file", help: "write the body to FILE, nothing on stdout (progress bar on a terminal)" },
    "remote-name": { type: "boolean", short: "O", help: "write the body to the URL's last path segment in the current directory" },
    silent: { type: "boolean", short: "s", help: "no head, no progress bar, no error message (the exit status remains)" },
    "show-error": { type: "boolean", short: "S", help: "with -s, print the error line anyway" },
    verbose: { type: "boolean", short: "v", help: "show the request (> ) and response head (< ) on stderr" },
    "write-out": {
      type: "string",
      short: "w",
      value: "FMT",
      help: "print FMT after the transfer: %{http_code} %{size_download} %{time_total} ...",
      description:
        "Variables: %{http_code} %{response_code} %{size_download} %{time_total} %{time_namelookup} %{time_connect} %{time_appconnect} %{time_starttransfer} %{content_type} %{url_effective} %{num_redirects} %{remote_ip} %{remote_port} %{http_version} %{method} %{size_header}, and %% \\n \\t.",
    },
    proxy: { type: "string", short: "x", value: "URL", help: "send through an HTTP proxy (absolute-form; CONNECT for https)" },
    location: { type: "boolean", short: "L", help: "follow redirects; 303 (and 301/302 after POST) continue with GET, 307/308 resend the body" },
    "max-redirs": { type: "integer", value: "N", default: 10, min: 0, max: 100, label: "max-redirs", help: "at most N redirects with -L" },
    fail: { type: "boolean", short: "f", help: "exit 22 on a status >= 400, as curl does, without printing the body" },
    compressed: { type: "boolean", help: "ask for gzip/br (Accept-Encoding); bodies are decoded for display anyway" },
    raw: { type: "boolean", help: "print the body bytes as they came (chunked framing, compression)" },
    timing: { type: "boolean", help: "print DNS, connect, TLS, first byte and total times on stderr" },
    insecure: { type: "boolean", short: "k", help: "accept any TLS certificate" },
    ca: { type: "string", value: "FILE", complete: "file", help: "trust the CA certificates in FILE (PEM)" },
    cacert: { type: "string", value: "FILE", complete: "file", help: "the same as --ca (curl's spelling)" },
    "max-time": { type: "duration", short: "m", value: "T", min: 1, label: "max-time", help: "give up after T in all (default: no limit; a silent connection is dropped after 30s)" },
    json: { type: "boolean", help: "one JSON document: status, headers, body (text), timing. --json DATA (JSON or @FILE) sends DATA as curl does" },
    diagram,
    pcap: { ...pcap, help: "write the connection as pcapng (TCP segments Wireshark reassembles), the proxy's cache decision as a packet comment; plain http:// only" },
  },
});

export const httpSpec = defineCommand({
  name: "http",
  summary: "web server lab: static file server (serve) and HTTP client (get)",
  title: "the web server lab (a static file server) and an HTTP client that shows the exchange",
  forms: [serveForm, getForm],
  examples: [
    "wirekit http serve ./public --port 8080",
    "wirekit http serve -p 0 --quiet",
    "wirekit http serve ./dist --spa -H 'X-Frame-Options: DENY' --cache-control max-age=3600",
    "wirekit http serve ./private --auth-file users.txt",
    "wirekit http get 127.0.0.1 8080 index.html",
    "wirekit http get http://127.0.0.1:8080/ -v",
    "wirekit http get http://example.test/ -x http://127.0.0.1:8888",
    "wirekit http get http://127.0.0.1:8080/form -d name=ada -d lang=en -i",
    "wirekit http get http://127.0.0.1:8080/upload -F title=notes -F file=@notes.txt -u ada:secret",
    "wirekit http get http://127.0.0.1:8080/data.bin -s -o /dev/null -w '%{http_code} %{size_download}\\n'",
  ],
});

export const proxyForm = defineForm({
  aliases: ["serve"],
  usage: [
    "[serve] [--host 127.0.0.1] [-p 8888] [--cache-dir DIR] [--cache-size 1GiB]",
    "              [--store disk|memory|redis://HOST:PORT] [--max-object-size 100MiB]",
    "              [--allow CIDR ...] [--connect-ports 443]",
    "              [--timeout 30s] [--no-cache] [--quiet] [--pcap FILE [--pcap-max-bytes 100MiB]]",
    "--reverse http://ORIGIN[:PORT] [--origin-host NAME] [-p 8888] [--cache-dir DIR] ...",
  ],
  positionals: [],
  options: {
    host: bindHost("127.0.0.1", "address to bind (any other than loopback needs --allow)"),
    port: bindPort(8888),
    store: {
      type: "string",
      value: "STORE",
      help: "where cached responses live: disk (default, --cache-dir), memory (a bounded in-process LRU, --cache-size, default 256MiB) or redis://[USER:PASSWORD@]HOST:PORT[/DB] (rediss:// for TLS), one cache shared by several proxies; the password may come from WIREKIT_REDIS_PASSWORD",
    },
    "cache-dir": { type: "string", value: "DIR", complete: "directory", help: "where cached responses live (default ~/.cache/wirekit/proxy)" },
    "cache-size": { type: "size", value: "SIZE", label: "cache size", help: "bound on the cache's disk use, LRU eviction (default 1GiB)" },
    "max-object-size": { type: "size", value: "SIZE", label: "max object size", help: "larger responses are relayed but not stored (default 100MiB)" },
    "hot-size": { type: "size", value: "SIZE", label: "hot size", help: "memory for hot small entries in front of the store (default 64MiB; 0 = off: every hit read from the store)" },
    allow: { type: "list", value: "CIDR", help: "clients allowed (repeatable); everyone else gets 403" },
    "allow-to-loopback": { type: "boolean", help: "let clients not on loopback reach this host's own services (loopback, its addresses); without it they get 403" },
    "connect-ports": { type: "string", value: "LIST", default: "443", help: "ports CONNECT may reach, comma-separated" },
    timeout: { type: "duration", value: "T", default: "30s", min: 1, help: "origin inactivity timeout, 504 after it" },
    "no-cache": { type: "boolean", help: "forward only, store nothing" },
    reverse: { type: "string", value: "URL", help: "gateway (reverse proxy) mode: send every request to this origin, http://HOST[:PORT]; obeys CDN-Cache-Control and Wirekit-Cache-Control" },
    "purge-allow": { type: "list", value: "CIDR", help: "clients besides loopback that may purge (PURGE URL, POST /_wirekit/purge); others get 403" },
    "origin-host": { type: "string", value: "NAME", help: "with --reverse: the Host the origin gets (default: the client's Host)" },
    ...serverPcap("each response's cache decision (HIT ttl=31, MISS (fwd=uri-miss), stored...)"),
    quiet: { type: "boolean", short: "q", help: "no access-log line per request" },
  },
});

export const proxySpec = defineCommand({
  name: "proxy",
  summary: "caching web proxy (RFC 9111 cache on disk, CONNECT tunnels)",
  title: "the caching web proxy lab: a forward proxy with a persistent RFC 9111 cache",
  description: `Clients use it as an HTTP proxy (absolute-form requests, curl -x / browser proxy settings),
or the lab's way: http://PROXY:PORT/host[:port]/path. HTTPS goes through CONNECT tunnels.
With --reverse it is a caching gateway in front of one origin instead (as Squid's accel mode or
Varnish): clients ask it for /path, it forwards to the origin, keeps the client's Host (or sends
--origin-host), and obeys Wirekit-Cache-Control, then CDN-Cache-Control (RFC 9213) over Cache-Control.
\`wirekit proxy serve\` is the same as \`wirekit proxy\`.`,
  forms: [proxyForm],
  notes: "Every response carries Cache-Status (RFC 9211); statistics are at http://PROXY:PORT/_wirekit/stats, Prometheus metrics at /_wirekit/metrics.",
  examples: [
    "wirekit proxy --port 8888 --cache-dir /tmp/wk-cache",
    "curl -x http://127.0.0.1:8888 http://127.0.0.1:8080/index.html",
    "wirekit proxy serve --host 0.0.0.0 --allow 192.168.1.0/24 --connect-ports 443,8443",
    "wirekit proxy --reverse http://127.0.0.1:8080 --port 8000 --origin-host www.example.test",
    "wirekit proxy --port 8001 --store redis://127.0.0.1:6379",
  ],
});
