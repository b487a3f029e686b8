/**
 * What the browser tests of ladder diagrams share: where Chromium is (skipped without it) and the
 * script that measures a rendered SVG in the page (lifelines, every text's box, the actor boxes).
 */
import { existsSync } from "node:fs";

export const CHROMIUM: string | undefined = ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"].find((p) => existsSync(p));
export const skip: string | false = CHROMIUM === undefined ? "chromium is not installed (.ci/run installs it)" : false;

/** What SVG_MEASURE returns: the drawing's size, its lifelines' x, and each text's and actor box's extent. */
export interface SvgLayout {
  root: string;
  parseError: boolean;
  width: number;
  height: number;
  lifelines: number[];
  texts: Array<{ cls: string; text: string; x: number; right: number; y: number; bottom: number; anchor: number }>;
  boxes: Array<{ x: number; right: number }>;
}

/** Evaluated in the page (`page.evaluate(SVG_MEASURE)`); its result is an SvgLayout. */
export const SVG_MEASURE = `(() => {
  const root = document.documentElement;
  const box = (e) => e.getBBox();
  return {
    root: root.localName,
    parseError: document.getElementsByTagName("parsererror").length > 0,
    width: Number(root.getAttribute("width")),
    height: Number(root.getAttribute("height")),
    lifelines: [...new Set([...document.querySelectorAll("line.life")].map((l) => Number(l.getAttribute("x1"))))],
    texts: [...document.querySelectorAll("text")].map((t) => {
      const b = box(t);
      return { cls: t.getAttribute("class") ?? "", text: t.textContent ?? "", x: b.x, right: b.x + b.width, y: b.y, bottom: b.y + b.height, anchor: Number(t.getAttribute("x")) };
    }),
    boxes: [...document.querySelectorAll("rect.actor")].map((r) => ({ x: box(r).x, right: box(r).x + box(r).width })),
  };
})()`;
