// prise: request-level WebSockets for Node. This file only re-exports.

// The declarations use Node's types (Buffer, node:stream): consumers need @types/node.
/// <reference types="node" preserve="true" />

export { CloseCode, DEFAULT_MAX_PAYLOAD } from './protocol/constants.js';
export { connect } from './client.js';
export { openSession } from './http2/client.js';
export type { ConnectOptions } from './client.js';
export { ProtocolError, WebsocketError } from './protocol/errors.js';
export type { HandshakeErrorKind, ProtocolErrorCode } from './protocol/errors.js';
export { ConnectError } from './protocol/errors.js';
export type { ConnectErrorCode } from './protocol/errors.js';
export type { ConnectErrorDetails, ConnectErrorHeaders } from './protocol/errors.js';
export { acceptKey, requestedProtocols } from './protocol/handshake.js';
export type { Request, Response, ResponseBody, ResponseHeaders } from './protocol/response.js';
export { attach, serve, shutdown } from './server.js';
export type { AttachOptions, Handler, ServeOptions, ShutdownOptions } from './server.js';
export type { AttachableServer, ListeningServer } from './server.js';
export type { Http2Handler, Http2ServeOptions, ListeningHttp2Server } from './server.js';
export { start } from './start.js';
export type { DeflateSettings, Started, StartOptions } from './start.js';
export type { DeflateOptions, DeflateParams } from './protocol/extensions.js';
export type { CompressionOptions } from './deflate.js';
export { upgrade } from './upgrade.js';
export { Websocket } from './websocket.js';
export type { CloseInfo, Message, ReadyState, WebsocketLimits, WebsocketOptions } from './websocket.js';
export { accept } from './accept.js';
export type { Session } from './start.js';
export type { Origins } from './protocol/origin.js';
export type { UpgradeOptions } from './upgrade.js';
export type { ErrorListener } from './report.js';
export { Topics, SlowSubscriber } from './topics/topics.js';
export type { PublishOptions, TopicsOptions, TopicsStats } from './topics/topics.js';
export type { Broker } from './topics/broker.js';
export { redisBroker } from './topics/redis-broker.js';
export type { RedisBrokerOptions } from './topics/redis-broker.js';
export type { IoredisLike, NodeRedisLike, RedisLike } from './topics/redis-client.js';
