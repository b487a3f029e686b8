/**
 * What a lab's grader provides, and `defineLab`, which turns a lab with its own record type into
 * the uniform `LabCheck` the runner and the CLI use.
 */
import type { Clock } from "../core/clock.js";
import type { StudentNamespace } from "./netns.js";
import { allRequiredPass, judgeAll, type CheckReport, type Requirement, type RequirementLevel } from "./requirement.js";
import { summarize, type StudentResult } from "./runner.js";

/** What a lab's collect step gets. */
export interface LabEnv {
  /** The student's command, placeholders not yet substituted. */
  command: readonly string[];
  /** The program's own fresh working directory (a copy of the submission in batch mode). */
  workdir: string;
  /** The submission folder, for `{dir}`. */
  dir: string;
  /** Time limit of each run of the program, ms. */
  timeoutMs: number;
  /** Seed of the impairments. */
  seed: number;
  /** Wall clock for the timestamps a counterpart writes or checks. @default systemClock */
  clock?: Clock;
  /** `--netns`: the namespace the program runs in (labs with `netns: true` only). */
  netns?: StudentNamespace;
}

/**
 * What goes before the student's command: nothing, or with `--netns` `ip netns exec NS`, once
 * the counterpart's `port` on 127.0.0.1 is let through to the namespace.
 */
export async function studentPrefix(env: LabEnv, port: number): Promise<string[]> {
  if (env.netns === undefined) return [];
  await env.netns.allow(port);
  return env.netns.prefix;
}

/** What collecting left: the record the judges read, and the program's runs. */
export interface Collected<R> {
  record: R;
  runs: StudentResult[];
}

/** A lab's grader. */
export interface Lab<R> {
  name: string;
  /** One line for `wirekit check --list`. */
  summary: string;
  /** Whether the student writes the server (the check is the client) or the client. */
  role: "server" | "client";
  /** A typical command, for --list and the manual. */
  example: string;
  defaultTimeoutMs: number;
  /** The program can run under `--netns`: it is started through `studentPrefix` (or `startServer`), and its counterparts are on 127.0.0.1. @default false */
  netns?: boolean;
  requirements: readonly Requirement<R>[];
  collect(env: LabEnv): Promise<Collected<R>>;
}

/** The requirement list without the judges. */
export interface RequirementInfo {
  id: string;
  text: string;
  level: RequirementLevel;
}

/** A lab as the runner and the CLI see it. */
export interface LabCheck {
  name: string;
  summary: string;
  role: "server" | "client";
  example: string;
  defaultTimeoutMs: number;
  netns: boolean;
  requirements: readonly RequirementInfo[];
  check(env: LabEnv): Promise<CheckReport>;
}

/** Wrap a lab: collect, then judge every requirement. */
export function defineLab<R>(lab: Lab<R>): LabCheck {
  return {
    name: lab.name,
    summary: lab.summary,
    role: lab.role,
    example: lab.example,
    defaultTimeoutMs: lab.defaultTimeoutMs,
    netns: lab.netns ?? false,
    requirements: lab.requirements.map(({ id, text, level }) => ({ id, text, level })),
    async check(env) {
      const { record, runs } = await lab.collect(env);
      const outcomes = judgeAll(lab.requirements, record);
      return { lab: lab.name, seed: env.seed, commands: runs.map((r) => r.command.join(" ")), runs: runs.map(summarize), outcomes, ok: allRequiredPass(outcomes) };
    },
  };
}
