/**
 * A body read whole, as long as it stays within `maxBytes`; undefined (the rest cancelled) once
 * it holds more. The IdP's answers (oidc/http.ts) and the browsers' request bodies (http/serve.ts)
 * are read this way, so neither is held in memory past its limit, declared length or not.
 */
export async function readStreamWithin(
  stream: ReadableStream<Uint8Array>,
  maxBytes: number,
): Promise<Uint8Array<ArrayBuffer> | undefined> {
  const reader = stream.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      await reader.cancel().catch(() => {});
      return undefined;
    }
    chunks.push(value);
  }
  const body = new Uint8Array(size);
  let at = 0;
  for (const chunk of chunks) {
    body.set(chunk, at);
    at += chunk.byteLength;
  }
  return body;
}
