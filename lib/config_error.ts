/** A setting that cannot be used. */
export class ConfigError extends Error {
  readonly key: string;
  constructor(key: string, reason: string) {
    super(`Invalid setting ${key}: ${reason}`);
    this.name = "ConfigError";
    this.key = key;
  }
}
