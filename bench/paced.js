// An open-loop load generator at a fixed rate (wrk2's method), for latency percentiles "at N req/s".
// Request i is due at start + i / rate; its latency runs from that due time to the last byte of its answer, so a
// request the client or the server held back is counted with its wait (no coordinated omission), and the arrivals
// stay evenly spaced instead of autocannon's bursts (its `overallRate` lets each connection send its quota back to
// back at the start of every second, then idle; it also records each answer slower than 1 ms again once per
// millisecond above 1 ms, since its expected interval is ceil(1 / per-connection rate) = 1 ms).
// Like wrk, it writes prepared HTTP/1.1 bytes to keep-alive sockets and reads each answer's length from its
// headers, so the generator's own CPU (on the same cores as the server) stays small: node:http's client cost
// 0.21 ms per request here, more than a third of the server's own time for a single-user prediction.
// Each connection carries one request at a time; a due request waits for a free connection (that wait is counted).
import net from 'node:net';

const HEAD_END = Buffer.from('\r\n\r\n');

/**
 * Sends `body` to `url` (POST) at `rate` requests/s for `seconds`, over up to `connections` keep-alive sockets.
 * Returns { sent, answered, errors, non2xx, p50, p90, p99, p999, max, seconds } with latencies in ms (3 decimals).
 * Answers must carry a Content-Length (fastify's do); a socket error or close counts its request as an error.
 */
export function paced({ url, body, rate, seconds, connections = 20, contentType = 'application/json' }) {
  const target = new URL(url);
  const payload = Buffer.from(body);
  const request = Buffer.concat([
    Buffer.from(`POST ${target.pathname}${target.search} HTTP/1.1\r\nHost: ${target.host}\r\nContent-Type: ${contentType}\r\nContent-Length: ${payload.length}\r\n\r\n`),
    payload,
  ]);
  const total = Math.round(rate * seconds);
  const latencies = new Float64Array(total);
  let sent = 0;
  let done = 0;
  let errors = 0;
  let non2xx = 0;
  const waiting = []; // due times of requests that have come due but wait for a free connection
  const idle = []; // connections with no request out
  let opened = 0;
  return new Promise((resolve) => {
    const start = performance.now();
    const finish = () => {
      for (const c of idle) c.socket.destroy();
      const got = latencies.slice(0, done).sort();
      const at = (q) => (got.length ? Math.round(got[Math.min(got.length - 1, Math.ceil(q * got.length) - 1)] * 1000) / 1000 : NaN);
      resolve({ sent, answered: done - errors, errors, non2xx, p50: at(0.5), p90: at(0.9), p99: at(0.99), p999: at(0.999), max: at(1), seconds: (performance.now() - start) / 1000 });
    };
    const record = (due, failed) => {
      latencies[done++] = performance.now() - due;
      if (failed) errors++;
      if (done === total) finish();
    };
    // A keep-alive connection: takes the oldest waiting request, or goes idle. Writes before the connect are queued by node:net.
    const open = () => {
      opened++;
      const c = { socket: net.connect({ host: target.hostname, port: Number(target.port), noDelay: true }), due: -1, dead: false };
      let buf = null;
      let need = -1; // bytes of the whole answer once its headers are in
      c.take = () => {
        c.due = waiting.shift();
        c.socket.write(request);
      };
      c.socket.on('data', (chunk) => {
        buf = buf ? Buffer.concat([buf, chunk]) : chunk;
        if (need < 0) {
          const end = buf.indexOf(HEAD_END);
          if (end < 0) return;
          const head = buf.toString('latin1', 0, end);
          const len = /\r\ncontent-length:\s*(\d+)/i.exec(head);
          if (!len) throw new Error(`paced: an answer from ${url} without Content-Length: ${head.slice(0, 200)}`);
          const status = Number(head.slice(9, 12));
          if (status < 200 || status >= 300) non2xx++;
          need = end + 4 + Number(len[1]);
        }
        if (buf.length < need) return;
        if (buf.length > need) throw new Error(`paced: ${buf.length - need} bytes after an answer from ${url}`);
        buf = null;
        need = -1;
        const due = c.due;
        c.due = -1;
        record(due, false);
        if (waiting.length) c.take();
        else if (done < total) idle.push(c);
      });
      const fail = () => {
        if (c.dead) return;
        c.dead = true;
        opened--;
        const i = idle.indexOf(c);
        if (i >= 0) idle.splice(i, 1);
        if (c.due >= 0) record(c.due, true);
        if (waiting.length && opened < connections) open().take();
      };
      c.socket.on('error', fail);
      c.socket.on('close', fail);
      return c;
    };
    // Every tick queues each request that has come due and hands the queue to free connections (opening up to `connections`).
    const tick = () => {
      const now = performance.now();
      while (sent < total && start + (sent * 1000) / rate <= now) waiting.push(start + (sent++ * 1000) / rate);
      while (waiting.length && (idle.length || opened < connections)) (idle.pop() ?? open()).take();
      if (sent < total) setTimeout(tick, Math.max(0, start + (sent * 1000) / rate - performance.now()));
    };
    tick();
  });
}
