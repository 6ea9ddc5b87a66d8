/**
 * Service metrics in the Prometheus text format: counters, gauges read at scrape time, and
 * histograms. Label values are fixed sets chosen by the code (reasons, kinds), never user input.
 */

type Labels = Readonly<Record<string, string>>;

function labelText(labels: Labels): string {
  const entries = Object.entries(labels);
  if (entries.length === 0) return "";
  return `{${entries.map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(",")}}`;
}

/** A monotonically increasing count, optionally split by labels. */
export class Counter {
  readonly #values = new Map<string, number>();
  constructor(readonly name: string, readonly help: string) {}

  inc(labels: Labels = {}, by = 1): void {
    const key = labelText(labels);
    this.#values.set(key, (this.#values.get(key) ?? 0) + by);
  }

  render(): string {
    let text = `# HELP ${this.name} ${this.help}\n# TYPE ${this.name} counter\n`;
    if (this.#values.size === 0) text += `${this.name} 0\n`;
    for (const [labels, value] of this.#values) text += `${this.name}${labels} ${value}\n`;
    return text;
  }
}

/** A value read when scraped. */
export class Gauge {
  constructor(readonly name: string, readonly help: string, readonly read: () => number) {}

  render(): string {
    return `# HELP ${this.name} ${this.help}\n# TYPE ${this.name} gauge\n${this.name} ${this.read()}\n`;
  }
}

/** Observations counted into cumulative buckets, in seconds. */
export class Histogram {
  readonly #counts: number[];
  #sum = 0;
  #count = 0;
  constructor(readonly name: string, readonly help: string, readonly buckets: readonly number[]) {
    this.#counts = buckets.map(() => 0);
  }

  observe(seconds: number): void {
    this.#sum += seconds;
    this.#count++;
    for (let i = 0; i < this.buckets.length; i++) {
      if (seconds <= this.buckets[i]) {
        this.#counts[i]++;
        break;
      }
    }
  }

  render(): string {
    let text = `# HELP ${this.name} ${this.help}\n# TYPE ${this.name} histogram\n`;
    let cumulative = 0;
    for (let i = 0; i < this.buckets.length; i++) {
      cumulative += this.#counts[i];
      text += `${this.name}_bucket{le="${this.buckets[i]}"} ${cumulative}\n`;
    }
    text += `${this.name}_bucket{le="+Inf"} ${this.#count}\n`;
    text += `${this.name}_sum ${this.#sum}\n${this.name}_count ${this.#count}\n`;
    return text;
  }
}

/** Every metric of the service. */
export class Metrics {
  readonly messagesStored = new Counter("chat_messages_stored_total", "Chat messages stored.");
  readonly messagesDelivered = new Counter(
    "chat_messages_delivered_total",
    "Chat messages written to a receiver's socket.",
  );
  readonly framesRejected = new Counter(
    "chat_frames_rejected_total",
    "Client frames rejected, by reason.",
  );
  readonly authFailures = new Counter(
    "chat_auth_failures_total",
    "Failed authentications, by kind (login, token, rate_limited).",
  );
  readonly connectionsRefused = new Counter(
    "chat_connections_refused_total",
    "Chat sockets refused or closed by a limit, by reason.",
  );
  readonly storeFailures = new Counter(
    "chat_store_failures_total",
    "Messages that could not be stored.",
  );
  readonly messagesRefused = new Counter(
    "chat_messages_refused_total",
    "Messages not stored because their sender was over a storage quota, by quota.",
  );
  readonly httpBodiesAborted = new Counter(
    "chat_http_bodies_aborted_total",
    "HTTP requests whose body ended before its end (the client went away).",
  );
  readonly deliveryLatency = new Histogram(
    "chat_delivery_latency_seconds",
    "Time from a message being received to it being written to the peer's socket.",
    [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  );
  readonly #gauges: Gauge[] = [];
  readonly #counters: Counter[] = [];
  // When each live message was stored, to time its delivery; weak, so nothing accumulates.
  readonly #storedAt = new WeakMap<object, number>();

  /** Notes when `message` was received (`performance.now()`), for the latency histogram. */
  markReceived(message: object, receivedAt: number): void {
    this.#storedAt.set(message, receivedAt);
  }

  /** Counts a message written to a socket and times it when it was stored in this process. */
  observeDelivery(message: object): void {
    this.messagesDelivered.inc();
    const storedAt = this.#storedAt.get(message);
    if (storedAt !== undefined) this.deliveryLatency.observe((performance.now() - storedAt) / 1000);
  }

  /** Adds a counter of a part that not every service runs (webhooks); rendered after the rest. */
  counter(name: string, help: string): Counter {
    const counter = new Counter(name, help);
    this.#counters.push(counter);
    return counter;
  }

  /** Adds a gauge read at scrape time. */
  gauge(name: string, help: string, read: () => number): void {
    this.#gauges.push(new Gauge(name, help, read));
  }

  /** The Prometheus text exposition of every metric. */
  render(): string {
    return [
      this.messagesStored,
      this.messagesDelivered,
      this.framesRejected,
      this.authFailures,
      this.connectionsRefused,
      this.storeFailures,
      this.messagesRefused,
      this.httpBodiesAborted,
      this.deliveryLatency,
      ...this.#counters,
      ...this.#gauges,
    ].map((metric) => metric.render()).join("");
  }
}

/** Measures how late timers fire: the event loop's lag, in seconds, for a gauge. */
export class EventLoopLag {
  #lagSeconds = 0;
  #timer: ReturnType<typeof setInterval> | undefined;

  /** Starts sampling every `intervalMs`. */
  start(intervalMs = 500): void {
    let expected = performance.now() + intervalMs;
    this.#timer = setInterval(() => {
      const now = performance.now();
      this.#lagSeconds = Math.max(0, now - expected) / 1000;
      expected = now + intervalMs;
    }, intervalMs);
  }

  /** The lag of the last sample, in seconds. */
  get seconds(): number {
    return this.#lagSeconds;
  }

  stop(): void {
    clearInterval(this.#timer);
  }
}
