/**
 * A throwaway self-signed certificate for a check's TLS counterpart (the SMTP sink's STARTTLS,
 * the proxy lab's HTTPS origin), made by openssl into the check's own temporary directory: an
 * EC P-256 key (fast to make) and a certificate for 127.0.0.1 and localhost, valid one day.
 */
import { execFile } from "node:child_process";
import { readFile } from "node:fs/promises";
import { join } from "node:path";

export interface SelfSigned {
  key: Buffer;
  cert: Buffer;
  /** Where the certificate's PEM file is, for a client that wants to trust it. */
  certPath: string;
}

/** Make a key and certificate in `dir`; rejects with a one-line reason when openssl fails or is missing. */
export function makeSelfSigned(dir: string, name = "wirekit-check"): Promise<SelfSigned> {
  const keyPath = join(dir, `${name}-key.pem`);
  const certPath = join(dir, `${name}-cert.pem`);
  const args = ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1", "-keyout", keyPath, "-out", certPath, "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"];
  return new Promise((resolve, reject) => {
    execFile("openssl", args, { timeout: 10_000 }, (err, _stdout, stderr) => {
      if (err !== null) {
        const why = (err as NodeJS.ErrnoException).code === "ENOENT" ? "openssl is not installed" : `openssl failed: ${stderr.trim().split("\n")[0] ?? err.message}`;
        reject(new Error(why));
        return;
      }
      Promise.all([readFile(keyPath), readFile(certPath)]).then(([key, cert]) => resolve({ key, cert, certPath }), reject);
    });
  });
}
