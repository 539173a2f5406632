// Preload for third-party servers in the benchmark: whatever host they ask for, they listen on
// 127.0.0.1 only (supergateway binds every interface by default; nothing here may).
const net = require('node:net');

const listen = net.Server.prototype.listen;
net.Server.prototype.listen = function loopbackListen(...args) {
  if (typeof args[0] === 'object' && args[0] !== null)
    return listen.call(this, { ...args[0], host: '127.0.0.1' }, ...args.slice(1));
  if (typeof args[0] === 'number' || typeof args[0] === 'string') {
    const [port, ...rest] = args;
    const tail = rest.filter((a) => typeof a === 'function');
    return listen.call(this, Number(port), '127.0.0.1', ...tail);
  }
  return listen.apply(this, args);
};
