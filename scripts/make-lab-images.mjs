// Generates the PNG images of lab-site/ (run once; the output is committed). Pure Node: zlib + CRC32.
import { deflateSync } from "node:zlib";
import { Buffer } from "node:buffer";
import { URL } from "node:url";
import { writeFileSync } from "node:fs";

const crcTable = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(buf) {
  let c = 0xffffffff;
  for (const b of buf) c = crcTable[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
function chunk(type, data) {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const td = Buffer.concat([Buffer.from(type, "ascii"), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(td));
  return Buffer.concat([len, td, crc]);
}
function png(w, h, pixel) {
  const raw = Buffer.alloc((w * 3 + 1) * h);
  for (let y = 0; y < h; y++) {
    raw[y * (w * 3 + 1)] = 0; // filter: none
    for (let x = 0; x < w; x++) {
      const [r, g, b] = pixel(x, y);
      const o = y * (w * 3 + 1) + 1 + x * 3;
      raw[o] = r; raw[o + 1] = g; raw[o + 2] = b;
    }
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0); ihdr.writeUInt32BE(h, 4);
  ihdr[8] = 8; ihdr[9] = 2; ihdr[10] = 0; ihdr[11] = 0; ihdr[12] = 0; // 8-bit RGB
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk("IHDR", ihdr), chunk("IDAT", deflateSync(raw, { level: 9 })), chunk("IEND", Buffer.alloc(0))]);
}
let seed = 12345;
const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 16) & 0xff;
const c = (v) => Math.max(0, Math.min(255, Math.round(v)));
const dir = new URL("../lab-site/images/", import.meta.url);
// A plasma of sines, a noisy sunset gradient and concentric rings.
writeFileSync(new URL("plasma.png", dir), png(160, 160, (x, y) => [c(128 + 127 * Math.sin(x / 16)), c(128 + 127 * Math.sin(y / 11 + x / 23)), c(128 + 127 * Math.sin((x + y) / 19))]));
writeFileSync(new URL("sunset.png", dir), png(240, 150, (x, y) => [c(255 - y / 3 + (rnd() & 15)), c(120 - y / 2 + x / 8 + (rnd() & 15)), c(60 + y / 2 + (rnd() & 15))]));
writeFileSync(new URL("rings.png", dir), png(200, 200, (x, y) => {
  const d = Math.hypot(x - 100, y - 100);
  return [c(128 + 127 * Math.cos(d / 4)), c(128 + 127 * Math.cos(d / 7)), c(200 - d)];
}));
