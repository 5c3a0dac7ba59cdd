// Preload for node MCP servers started by the tests: every
// net.Server.listen() binds 127.0.0.1, whatever the server asked for
// (server-everything has no host option).  Use through
// NODE_OPTIONS="--require <this file>".
'use strict';
const net = require('net');
const listen = net.Server.prototype.listen;

net.Server.prototype.listen = function (...args) {
    if (typeof args[0] === 'object' && args[0] !== null && !Array.isArray(args[0])) {
        if (args[0].path === undefined) {
            args[0] = Object.assign({}, args[0], { host: '127.0.0.1' });
        }
    } else if (typeof args[0] === 'number' || (typeof args[0] === 'string' && /^\d+$/.test(args[0]))) {
        if (typeof args[1] !== 'string') {
            args.splice(1, 0, '127.0.0.1');
        } else {
            args[1] = '127.0.0.1';
        }
    }
    return listen.apply(this, args);
};
