// The container's HEALTHCHECK: GET /healthz on the gateway in this container. No token is
// needed (the endpoint says only {"status":"ok"}). For a loopback URL over HTTPS the certificate
// is not verified (it names the team's DNS name, not 127.0.0.1); any other URL is verified.
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';

const url = new URL(process.env.GATEHOUSE_HEALTH_URL ?? 'http://127.0.0.1:8080/healthz');
const loopback = ['127.0.0.1', '[::1]', 'localhost'].includes(url.hostname);
const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
const req = send(url, { method: 'GET', timeout: 4000, rejectUnauthorized: !loopback }, (res) => {
  res.resume();
  if (res.statusCode !== 200)
    process.stderr.write(`healthcheck: ${url} answered ${res.statusCode}\n`);
  process.exit(res.statusCode === 200 ? 0 : 1);
});
req.on('timeout', () => req.destroy(new Error('timed out')));
req.on('error', (err) => {
  process.stderr.write(`healthcheck: ${url}: ${err.message}\n`);
  process.exit(1);
});
req.end();
