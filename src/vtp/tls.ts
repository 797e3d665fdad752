/**
 * TLS for VTP: the options a node's `tls-config` gives us, and helpers that
 * choose plain TCP or TLS for servers and clients. TLS is on when a
 * TlsOptions object is given, off when it is undefined.
 */
import { readFileSync } from "node:fs";
import net from "node:net";
import tls from "node:tls";

export interface TlsOptions {
  /** PEM certificate (chain). Required for a server. */
  cert?: string | Buffer;
  /** PEM private key. Required for a server. */
  key?: string | Buffer;
  /** PEM CA certificate(s) to trust instead of the system's. */
  ca?: string | Buffer;
  /** Client: verify the server's certificate (default true). Server: refuse clients without a valid certificate when requestCert is on (default true). */
  rejectUnauthorized?: boolean;
  /** Client: name to check the certificate against (default: the host, unless it is an IP address). */
  servername?: string;
  /** Server: ask clients for a certificate (mutual TLS). Default false. */
  requestCert?: boolean;
}

export interface TlsFiles {
  certFile?: string;
  keyFile?: string;
  caFile?: string;
}

/** Reads PEM files into TlsOptions (synchronously: configuration time, not the hot path). */
export function loadTlsFiles(files: TlsFiles): TlsOptions {
  const out: TlsOptions = {};
  if (files.certFile) out.cert = readFileSync(files.certFile);
  if (files.keyFile) out.key = readFileSync(files.keyFile);
  if (files.caFile) out.ca = readFileSync(files.caFile);
  return out;
}

export interface ServerHandlers {
  /**
   * Called with every TCP connection as soon as it is accepted (before any
   * TLS handshake). Return false to refuse it: the socket is destroyed at once.
   */
  accept?: (raw: net.Socket) => boolean;
  /** Called with a connection ready for VTP (for TLS: after the handshake). */
  onSocket: (socket: net.Socket) => void;
  /** A TLS handshake failed (the socket is already being destroyed). */
  onTlsError?: (err: Error, socket: net.Socket) => void;
  /** TLS: drop a client whose handshake takes longer than this. Default 20000 ms. */
  handshakeTimeoutMs?: number;
}

/**
 * A net.Server, or a tls.Server when `tlsOptions` is given (which must then
 * carry cert and key). Sockets are half-open capable: a peer that sends its
 * event and shuts down its side can still be answered (FramedConnection emits
 * `end`, or closes by itself when nobody listens for it).
 */
export function createServer(tlsOptions: TlsOptions | undefined, handlers: ServerHandlers): net.Server {
  const accept = handlers.accept;
  if (tlsOptions === undefined) {
    const server = net.createServer({ allowHalfOpen: true });
    server.on("connection", (socket: net.Socket) => {
      socket.on("error", noop);
      if (accept !== undefined && !accept(socket)) {
        socket.destroy();
        return;
      }
      handlers.onSocket(socket);
    });
    return server;
  }
  if (tlsOptions.cert === undefined || tlsOptions.key === undefined) {
    throw new Error("a TLS server needs a certificate and a private key");
  }
  const server = tls.createServer({
    cert: tlsOptions.cert,
    key: tlsOptions.key,
    ...(tlsOptions.ca === undefined ? {} : { ca: tlsOptions.ca }),
    requestCert: tlsOptions.requestCert ?? false,
    rejectUnauthorized: tlsOptions.rejectUnauthorized ?? true,
    handshakeTimeout: handlers.handshakeTimeoutMs ?? 20000,
    allowHalfOpen: true,
  });
  server.on("connection", (raw: net.Socket) => {
    raw.on("error", noop);
    if (accept !== undefined && !accept(raw)) raw.destroy();
  });
  server.on("secureConnection", (socket: tls.TLSSocket) => handlers.onSocket(socket));
  server.on("tlsClientError", (err: Error, socket: tls.TLSSocket) => {
    socket.destroy();
    handlers.onTlsError?.(err, socket);
  });
  return server;
}

export interface ConnectOptions {
  host: string;
  port: number;
  tls?: TlsOptions;
}

/**
 * Opens a client connection, plain or TLS. Listen for `readyEvent(tls)`
 * ("connect" or "secureConnect") before treating it as ready.
 */
export function connect(opts: ConnectOptions): net.Socket {
  if (opts.tls === undefined) return net.connect({ host: opts.host, port: opts.port });
  const t = opts.tls;
  const servername = t.servername ?? (net.isIP(opts.host) === 0 ? opts.host : undefined);
  return tls.connect({
    host: opts.host,
    port: opts.port,
    ...(servername === undefined ? {} : { servername }),
    ...(t.cert === undefined ? {} : { cert: t.cert }),
    ...(t.key === undefined ? {} : { key: t.key }),
    ...(t.ca === undefined ? {} : { ca: t.ca }),
    rejectUnauthorized: t.rejectUnauthorized ?? true,
  });
}

/** The event that says a client socket from connect() is ready for VTP. */
export function readyEvent(tlsOptions: TlsOptions | undefined): "connect" | "secureConnect" {
  return tlsOptions === undefined ? "connect" : "secureConnect";
}

export interface OpenOptions extends ConnectOptions {
  /** Give up after this long (connect and handshake). Default 20000 ms. */
  timeoutMs?: number;
  signal?: AbortSignal;
}

/**
 * Connects (and for TLS, completes the handshake), resolving with the ready
 * socket; rejects with the socket's error, a timeout, or the abort reason.
 * On rejection the socket is destroyed; nothing is left open.
 */
export function openSocket(opts: OpenOptions): Promise<net.Socket> {
  return new Promise<net.Socket>((resolve, reject) => {
    const signal = opts.signal;
    if (signal?.aborted) {
      reject(abortError(signal));
      return;
    }
    let socket: net.Socket;
    try {
      socket = connect(opts);
    } catch (err) {
      reject(err);
      return;
    }
    const timeoutMs = opts.timeoutMs ?? 20000;
    const ready = readyEvent(opts.tls);
    const done = (err: Error | null): void => {
      clearTimeout(timer);
      socket.removeListener(ready, onReady);
      socket.removeListener("error", onError);
      socket.removeListener("close", onClose);
      signal?.removeEventListener("abort", onAbort);
      if (err === null) {
        resolve(socket);
      } else {
        socket.on("error", noop);
        socket.destroy();
        reject(err);
      }
    };
    const onReady = (): void => done(null);
    const onError = (err: Error): void => done(err);
    const onClose = (): void =>
      done(new Error(`connection to ${opts.host}:${opts.port} closed while opening`));
    const onAbort = (): void => done(abortError(signal));
    const timer = setTimeout(() => {
      const err = new Error(`connecting to ${opts.host}:${opts.port} timed out after ${timeoutMs} ms`);
      (err as NodeJS.ErrnoException).code = "ETIMEDOUT";
      done(err);
    }, timeoutMs);
    socket.once(ready, onReady);
    socket.once("error", onError);
    socket.once("close", onClose);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

export function abortError(signal: AbortSignal | undefined): Error {
  const reason: unknown = signal?.reason;
  if (reason instanceof Error) return reason;
  const err = new Error(reason === undefined ? "aborted" : `aborted: ${String(reason)}`);
  err.name = "AbortError";
  return err;
}

function noop(): void {}
