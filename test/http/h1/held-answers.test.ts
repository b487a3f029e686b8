/** HeldAnswers: synchronous answers held to the end of the poll phase, delivered in order, none stranded. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { HeldAnswers, type HeldAnswerTaker } from "../../../src/http/h1/held-answers.js";
import type { HttpResponse } from "../../../src/http/h1/types.js";

const turn = (): Promise<void> => new Promise((r) => setImmediate(r));
const res = (status: number): HttpResponse => ({ status, headers: [] });

test("held answers are delivered at the end of the turn, in the order they were held, not before", async () => {
  const held = new HeldAnswers<string>();
  const got: string[] = [];
  const taker: HeldAnswerTaker<string> = { answered: (ex, r) => got.push(`${ex}:${r.status}`) };
  held.hold(taker, "a", res(200));
  held.hold(taker, "b", res(404));
  held.hold(taker, "c", res(200));
  assert.equal(held.size, 3);
  assert.deepEqual(got, []);
  await turn();
  assert.deepEqual(got, ["a:200", "b:404", "c:200"]);
  assert.equal(held.size, 0);
});

test("an answer held while a batch is delivered goes out with the next turn", async () => {
  const held = new HeldAnswers<string>();
  const got: string[] = [];
  const taker: HeldAnswerTaker<string> = {
    answered: (ex) => {
      got.push(ex);
      if (ex === "first") held.hold(taker, "freed", res(200));
    },
  };
  held.hold(taker, "first", res(200));
  await turn();
  assert.deepEqual(got, ["first"]);
  assert.equal(held.size, 1);
  await turn();
  assert.deepEqual(got, ["first", "freed"]);
});

test("a taker that throws does not strand the answers held after it", async () => {
  const held = new HeldAnswers<string>();
  const got: string[] = [];
  const taker: HeldAnswerTaker<string> = {
    answered: (ex) => {
      if (ex === "bad") throw new Error("taker failed");
      got.push(ex);
    },
  };
  held.hold(taker, "a", res(200));
  held.hold(taker, "bad", res(200));
  held.hold(taker, "c", res(200));
  const errors: unknown[] = [];
  const onError = (err: unknown): void => void errors.push(err);
  process.prependListener("uncaughtException", onError);
  // node:test reports an uncaught exception as a failure unless a listener takes it first
  const listeners = process.listeners("uncaughtException").filter((l) => l !== onError);
  for (const l of listeners) process.off("uncaughtException", l);
  try {
    await turn();
    await turn();
  } finally {
    process.off("uncaughtException", onError);
    for (const l of listeners) process.on("uncaughtException", l);
  }
  assert.equal(errors.length, 1);
  assert.deepEqual(got, ["a", "c"]);
});
