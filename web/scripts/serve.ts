/**
 * `pnpm web`: builds the site (build.ts) and serves web/dist on 127.0.0.1, printing the URL.
 *
 *   tsx web/scripts/serve.ts [--port N]      (default 8040; 0 picks a free port)
 */
import { createReadStream, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { extname, join, normalize, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildSite } from './build.js';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.map': 'application/json',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.safetensors': 'application/octet-stream',
  '.png': 'image/png',
};

/** Serves the files under `root` (GET and HEAD; nothing outside it) on 127.0.0.1:`port`. */
export function serveStatic(root: string, port: number): Promise<{ server: Server; url: string }> {
  const base = resolve(root);
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    const file = normalize(join(base, path.endsWith('/') ? `${path}index.html` : path));
    let size = -1;
    try {
      if (file.startsWith(base + sep) || file === base) size = statSync(file).isFile() ? statSync(file).size : -1;
    } catch {
      size = -1;
    }
    if (size < 0 || (req.method !== 'GET' && req.method !== 'HEAD')) {
      res.writeHead(size < 0 ? 404 : 405, { 'content-type': 'text/plain' }).end(size < 0 ? `not found: ${path}\n` : 'method not allowed\n');
      return;
    }
    res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream', 'content-length': size, 'cache-control': 'no-cache' });
    if (req.method === 'HEAD') res.end();
    else createReadStream(file).pipe(res);
  });
  return new Promise((done, failed) => {
    server.once('error', failed);
    server.listen(port, '127.0.0.1', () => {
      const address = server.address();
      const actual = typeof address === 'object' && address ? address.port : port;
      done({ server, url: `http://127.0.0.1:${actual}/` });
    });
  });
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const i = args.indexOf('--port');
  const port = i < 0 ? 8040 : Number(args[i + 1]);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    console.error(`web: --port must be an integer from 0 to 65535, got ${JSON.stringify(args[i + 1])}`);
    process.exit(2);
  }
  try {
    const dist = await buildSite();
    const { url } = await serveStatic(dist, port);
    console.log(`serving ${dist} at ${url}  (Ctrl-C stops)`);
  } catch (e) {
    console.error(`web: ${(e as Error).message.split('\n')[0]}`);
    process.exit(2);
  }
}
