/** Public surface of the render layer: the ladder diagram model and its outputs. */
export { renderLadder, renderLadderMermaid, renderLadderSvg, renderLadderText, ladderFormat, type Fate, type Ladder, type LadderFormat, type LadderRow, type Lifeline } from "./ladder.js";
