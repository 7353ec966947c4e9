/**
 * The files the service reads when it starts, read by check-config with the service's own
 * loaders: the page templates (`http.templates_dir`), the sign-in pages' certificate and key
 * (`http.tls_cert_file`, `http.tls_key_file`) and the CA of a `rediss://` store
 * (`sessions.tls_ca_file`). Without this a config passed check-config (and the package's
 * upgrade gate on it) and then failed every start. Nothing is connected to: that is the probe's.
 * Problems carry the config key and the file, never a file's content.
 */
import { createPrivateKey, type KeyObject, X509Certificate } from "node:crypto";
import { readFileSync } from "node:fs";
import type { ResolvedConfig } from "../config/types.ts";
import { readTls } from "../http/listeners.ts";
import { loadTemplates, TemplateError } from "../http/pages/mod.ts";
import { readRedisCa } from "../sessions/redis_connection.ts";
import { errorText } from "../error_text.ts";

/** A file the service could not use, like a config error: its key and what is wrong. */
export interface StartFileProblem {
  /** The config key naming the file, e.g. `http.tls_cert_file`. */
  path: string;
  message: string;
}

type ReadFile = (path: string) => string;

const readUtf8: ReadFile = (path) => readFileSync(path, "utf8");

/** Every problem with the files the service would read at start with `config`; none: it can. */
export async function checkStartFiles(
  config: ResolvedConfig,
  read: ReadFile = readUtf8,
): Promise<StartFileProblem[]> {
  const issues = [...await checkTemplates(config), ...readStartTls(config, read).problems];
  const redis = config.sessions.redis;
  if (redis !== undefined) {
    readRedisCa(redis, recording(read, () => "sessions.tls_ca_file", issues));
  }
  return issues;
}

/**
 * The sign-in pages' certificate and key as the listener reads them, or a problem for each
 * file that cannot be read (both are read, so one run names both), is not PEM, or when the key
 * is not the certificate's (a renewal that replaced one file and not the other).
 */
export function readStartTls(
  config: ResolvedConfig,
  read: ReadFile = readUtf8,
): { tls: ReturnType<typeof readTls>; problems: StartFileProblem[] } {
  const problems: StartFileProblem[] = [];
  const keyOf = (path: string) =>
    path === config.http.tlsCertFile ? "http.tls_cert_file" : "http.tls_key_file";
  const tls = readTls(config, recording(read, keyOf, problems));
  if (tls !== undefined && problems.length === 0) problems.push(...tlsPairProblems(config, tls));
  return { tls: problems.length === 0 ? tls : undefined, problems };
}

/** node:crypto reads both as the listener will; never quotes a file's content. */
function tlsPairProblems(
  config: ResolvedConfig,
  tls: { cert: string; key: string },
): StartFileProblem[] {
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(tls.cert);
  } catch (error) {
    return [{
      path: "http.tls_cert_file",
      message: `${config.http.tlsCertFile} is not a PEM certificate: ${errorText(error)}`,
    }];
  }
  let key: KeyObject;
  try {
    key = createPrivateKey(tls.key);
  } catch (error) {
    return [{
      path: "http.tls_key_file",
      message: `${config.http.tlsKeyFile} is not a PEM private key: ${errorText(error)}`,
    }];
  }
  if (cert.checkPrivateKey(key)) return [];
  return [{
    path: "http.tls_key_file",
    message: `${config.http.tlsKeyFile} is not the key of the certificate in ` +
      `${config.http.tlsCertFile}`,
  }];
}

async function checkTemplates(config: ResolvedConfig): Promise<StartFileProblem[]> {
  try {
    await loadTemplates(config.http.templatesDir);
    return [];
  } catch (error) {
    // A TemplateError names the file; an unreadable one is named by the runtime's message.
    const message = error instanceof TemplateError
      ? error.message
      : `Cannot read a template: ${errorText(error)}`;
    return [{ path: "http.templates_dir", message }];
  }
}

/** `read`, except that a file it cannot read is recorded under its key and reads as "". */
function recording(read: ReadFile, keyOf: (path: string) => string, issues: StartFileProblem[]) {
  return (path: string) => {
    try {
      return read(path);
    } catch (error) {
      issues.push({ path: keyOf(path), message: `Cannot read ${path}: ${errorText(error)}` });
      return "";
    }
  };
}
