/**
 * A reverse proxy in a few lines, standing in for nginx in front of http.listen: serves `port` on
 * 127.0.0.1 and forwards each request to `target` (its path and headers kept), connecting from
 * 127.0.0.1 as a proxy on the same host does. The Host header becomes the target's, as nginx's
 * `proxy_pass` sets it. With `forwardFor`, it appends the peer's address to X-Forwarded-For, as
 * `$proxy_add_x_forwarded_for` does; without it, it forwards no address at all.
 */
export interface ForwardingRelay {
  stop(): Promise<void>;
}

export function startForwardingRelay(
  port: number,
  target: URL,
  options: { forwardFor: boolean },
): ForwardingRelay {
  const server = Deno.serve(
    { hostname: "127.0.0.1", port, onListen() {} },
    async (request, info) => {
      const url = new URL(request.url);
      const headers = new Headers(request.headers);
      headers.delete("host");
      if (options.forwardFor) {
        const before = headers.get("x-forwarded-for");
        const peer = info.remoteAddr.hostname;
        headers.set("x-forwarded-for", before === null ? peer : `${before}, ${peer}`);
      }
      const answer = await fetch(new URL(url.pathname + url.search, target), {
        method: request.method,
        headers,
        redirect: "manual",
      });
      return new Response(answer.body, { status: answer.status, headers: answer.headers });
    },
  );
  return { stop: () => server.shutdown() };
}
