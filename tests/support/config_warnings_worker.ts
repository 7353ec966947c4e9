/**
 * A worker that loads each config text it is sent (parseTestConfig) and answers with its
 * warnings: a test can stop a load that never ends (configWarningsWithin) instead of hanging.
 */
import { parseTestConfig } from "./config_toml.ts";

declare const self: {
  onmessage: ((event: MessageEvent<string>) => void) | null;
  postMessage(message: unknown): void;
};

self.onmessage = ({ data: toml }) => {
  self.postMessage(parseTestConfig(toml).warnings.map(({ path, message }) => ({ path, message })));
};
