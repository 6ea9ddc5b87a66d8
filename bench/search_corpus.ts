/**
 * The stored messages `bench/search.ts` searches: a deterministic corpus of short chat lines in
 * English and Chinese over many conversations, one of them (Tom and Jack) holding a fifth of all
 * messages, with words planted at known rates so that every query's answer size is known.
 */

/** The users: Tom and Jack, and the others who talk among themselves. */
export const OTHER_USERS = 200;

/** How many other conversations share the rest of the messages. */
export const OTHER_PAIRS = 400;

/** One stored message: sender and receiver as user numbers (0 is Tom, 1 is Jack). */
export interface CorpusMessage {
  readonly from: number;
  readonly to: number;
  readonly msg: string;
}

/** The searches measured, with how the corpus plants each text. */
export const PLANTED = {
  /** A common English word: in 5% of every conversation's messages. */
  common: "meeting",
  /** A rare English word: 20 messages of Tom and Jack's conversation, 20 elsewhere. */
  rare: "zanzibar",
  /** A common 2-character Chinese word: in 3% of the messages. */
  chineseCommon: "你好",
  /** A rare 2-character Chinese word: 10 messages of Tom and Jack's conversation. */
  chineseRare: "蜻蜓",
} as const;

const ENGLISH = (
  "the a to and you we it is for on this that with can be at are have will do not but what " +
  "so get just ok yes no now today tomorrow later time call send file code review build test " +
  "deploy fix bug issue lunch coffee home work office team plan report update check done " +
  "thanks please sure great good fine see let know think need want look find start stop " +
  "morning evening night week weekend friday monday project client server design meet " +
  "ticket release branch merge commit doc slide draft budget price order ship box car train"
).split(" ");

const CHINESE = (
  "今天 明天 昨天 下午 上午 晚上 开会 吃饭 工作 项目 客户 问题 时间 地方 电话 文件 " +
  "代码 测试 发布 修复 设计 计划 报告 周末 周一 周五 咖啡 午饭 回家 出发 到了 好的 " +
  "谢谢 没问题 可以 不行 已经 马上 一下 看看 知道 觉得 需要 准备 完成 检查 更新 合并 " +
  "讨论 确认 安排 通知 记得 等等 辛苦 加油 收到 明白"
).split(" ");

/** A small deterministic generator (mulberry32), so every run stores the same corpus. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The other conversations, as [from, to] user numbers (2 and up). */
function otherPairs(random: () => number): [number, number][] {
  const pairs: [number, number][] = [];
  while (pairs.length < OTHER_PAIRS) {
    const a = 2 + Math.floor(random() * OTHER_USERS);
    const b = 2 + Math.floor(random() * OTHER_USERS);
    if (a !== b) pairs.push([a, b]);
  }
  return pairs;
}

function line(random: () => number): string[] {
  const words: string[] = [];
  const count = 3 + Math.floor(random() * 6);
  for (let i = 0; i < count; i++) {
    const list = random() < 0.5 ? ENGLISH : CHINESE;
    words.push(list[Math.floor(random() * list.length)]);
  }
  return words;
}

/**
 * The corpus of `total` messages, in storage order, generated in chunks of `chunk` so that a
 * million lines never sit in memory at once.
 */
export function* corpus(total: number, chunk: number): Generator<CorpusMessage[]> {
  const random = seededRandom(12);
  const pairs = otherPairs(random);
  const ours = Math.floor(total / 5);
  // Planted at even spacing in Tom and Jack's conversation (and for `rare`, in others too).
  const rareEvery = Math.max(1, Math.floor(ours / 20));
  const chineseRareEvery = Math.max(1, Math.floor(ours / 10));
  let oursSoFar = 0;
  let othersSoFar = 0;
  let batch: CorpusMessage[] = [];
  for (let i = 0; i < total; i++) {
    const isOurs = i % 5 === 0;
    const words = line(random);
    if (random() < 0.05) words.splice(Math.floor(random() * words.length), 0, PLANTED.common);
    if (random() < 0.03) words.unshift(PLANTED.chineseCommon);
    let from: number;
    let to: number;
    if (isOurs) {
      [from, to] = random() < 0.5 ? [0, 1] : [1, 0];
      if (oursSoFar % rareEvery === rareEvery - 1) words.push(PLANTED.rare);
      if (oursSoFar % chineseRareEvery === chineseRareEvery - 1) words.push(PLANTED.chineseRare);
      oursSoFar++;
    } else {
      [from, to] = pairs[othersSoFar % pairs.length];
      if (othersSoFar % (rareEvery * 4) === 0) words.push(PLANTED.rare);
      othersSoFar++;
    }
    batch.push({ from, to, msg: words.join(" ") });
    if (batch.length === chunk) {
      yield batch;
      batch = [];
    }
  }
  if (batch.length > 0) yield batch;
}

/** The name of user number `n`. */
export function userName(n: number): string {
  return n === 0 ? "tom" : n === 1 ? "jack" : `user${n}`;
}
