/** `wirekit mtr HOST ...`: the mtr view (./mtr-view.ts) with mtr's own option letters. */
import { runMtrView } from "./mtr-view.js";
import { parseForm } from "./spec.js";
import { mtrForm, mtrSpec } from "./specs/traceroute.js";
import type { CliContext } from "./context.js";

export const spec = mtrSpec;

export async function run(argv: string[], ctx: CliContext): Promise<number> {
  const { values: v, positionals } = parseForm(mtrForm, argv);
  const [host = ""] = positionals;
  return runMtrView(
    {
      host,
      report: v.report,
      cycles: v.cycles,
      intervalMs: v.interval,
      waitMs: v.wait,
      maxHops: v["max-hops"],
      firstTtl: v.first,
      udp: v.udp,
      tcp: v.tcp,
      port: v.port,
      paris: v.paris,
      numeric: v.numeric,
      ipv4: v.ipv4,
      ipv6: v.ipv6,
      json: v.json,
      diagram: v.diagram,
      pcap: v.pcap,
    },
    ctx,
  );
}
