// The text of `prise-ws --help`: every option, each with an example.

export const HELP = `prise-ws: a WebSocket client and server for the terminal and for scripts

Client:  prise-ws [options] <url>
  stdin lines become text messages; incoming messages go to stdout, one per line.
  At a terminal, a prompt with line editing and history (/help lists its commands).
  A URL without a scheme means ws://; http:// and https:// mean ws:// and wss://.
    prise-ws ws://127.0.0.1:8080/chat

  -H, --header 'Name: value'  add a request header (repeatable)
                                prise-ws -H 'Authorization: Bearer t0k3n' wss://example.com/feed
  -p, --protocol <name>       offer a subprotocol (repeatable, best first)
                                prise-ws -p chat.v2 -p chat.v1 ws://127.0.0.1:8080/
      --origin <origin>       send an Origin header
                                prise-ws --origin https://example.com ws://127.0.0.1:8080/
  -k, --insecure              do not check the server's TLS certificate
                                prise-ws -k wss://127.0.0.1:8443/
      --ca <file>             trust the certificates in this PEM file
                                prise-ws --ca ./cert.pem wss://localhost:8443/
      --deflate               offer permessage-deflate compression
                                prise-ws --deflate ws://127.0.0.1:8080/
  -b, --binary                send stdin as binary messages, one per read; binary
                              messages go to stdout as raw bytes (a hex preview on a TTY)
                                prise-ws -b ws://127.0.0.1:8080/ < image.png > copy.png
  -0, --null                  with --binary: messages are cut at NUL bytes, and each
                              incoming message is followed by a NUL
                                printf 'a\\0b\\0' | prise-ws -b -0 ws://127.0.0.1:8080/
      --once                  send stdin's first line, print the first reply, close, exit
                                echo '{"op":"status"}' | prise-ws --once ws://127.0.0.1:8080/
      --no-close              keep listening after EOF on stdin (until the server closes)
                                prise-ws --no-close ws://127.0.0.1:8080/feed < /dev/null
      --ping-interval <s>     send a ping every <s> seconds (decimals allowed)
                                prise-ws --ping-interval 5 ws://127.0.0.1:8080/
      --print-ping-rtt        print each ping's round-trip time on stderr
                                prise-ws --ping-interval 1 --print-ping-rtt ws://127.0.0.1:8080/
      --jsonl                 check that each stdin line is JSON (others are not sent);
                              print each message as one line of JSON (pretty on a TTY;
                              text that is not JSON as a JSON string, binary as
                              {"binary":"<base64>"})
                                prise-ws --jsonl wss://example.com/feed < /dev/null | jq .price
      --connect-timeout <s>   give up on the opening handshake after <s> seconds (default 10)
                                prise-ws --connect-timeout 2 ws://127.0.0.1:8080/
      --http2                 open the WebSocket on an HTTP/2 stream (RFC 8441); no
                              fallback to HTTP/1.1 (ws:// means h2c with prior knowledge)
                                prise-ws --http2 wss://example.com/socket

  EOF on stdin, or Ctrl-C, closes with 1000 (a second Ctrl-C exits at once).
  Exit codes: 0 closed cleanly (1000, or no code), 1 could not connect (refused handshake:
  status and body printed; or no HTTP answer: the reason printed), 2 usage, 3 closed
  abnormally (the code and reason printed on stderr).

Server:  prise-ws --listen [host:]port [options]
  The host defaults to 127.0.0.1; port 0 picks a free port. The address is printed on stderr.
    prise-ws --listen 8080

  -l, --listen [host:]port    listen for WebSockets (and HTTP with --serve-dir)
                                prise-ws --listen 0.0.0.0:8080
      --echo                  send every message back (the default mode)
                                prise-ws --listen 8080 --echo
      --broadcast             send every message to all the other clients
                                prise-ws --listen 8080 --broadcast
      --exec '<command>'      run the command with /bin/sh -c for each connection:
                              messages go to its stdin, one per line, its stdout lines come
                              back as messages, its stderr is logged. Its exit closes the
                              WebSocket (1000, or 1011 if it failed). The client's close
                              gives it EOF and waits (at most 2 s) for it to exit, so its last
                              answers still go out; then SIGTERM, and SIGKILL after
                              --kill-grace. Environment: REMOTE_ADDR,
                              REMOTE_PORT, REQUEST_URI, PATH_INFO, QUERY_STRING,
                              WEBSOCKET_PROTOCOL, PRISE_WS_ID
                                prise-ws --listen 8080 --exec 'tr a-z A-Z'
  -b, --binary                with --exec: messages go to stdin raw, stdout reads come back
                              as binary messages
                                prise-ws --listen 8080 --exec 'gzip -c' --binary
      --kill-grace <s>        with --exec: seconds between SIGTERM and SIGKILL (default 3)
                                prise-ws --listen 8080 --exec ./worker.sh --kill-grace 10
      --max-connections <n>   at most <n> connections at once; more get 503
                                prise-ws --listen 8080 --exec ./worker.sh --max-connections 4
      --serve-dir <dir>       answer plain HTTP GET/HEAD with the files in <dir>
                              (nothing outside it; a directory means its index.html)
                                prise-ws --listen 8080 --serve-dir ./public --path /ws
      --path </path>          the WebSocket endpoint's path (default: every path)
                                prise-ws --listen 8080 --path /ws
      --tls-key <file>        serve wss:// (and https://) with this PEM key ...
      --tls-cert <file>       ... and this PEM certificate
                                prise-ws --listen 8443 --tls-key key.pem --tls-cert cert.pem
  -p, --protocol <name>       a subprotocol the server supports (repeatable); the client's
                              first one among them is chosen, none in common: none
                                prise-ws --listen 8080 -p chat.v2 -p chat.v1
      --origin <origin>       allow browsers from this origin only (repeatable); others get
                              403. Requests without an Origin (not browsers) are allowed
                                prise-ws --listen 8080 --origin https://example.com
      --deflate               accept permessage-deflate compression
                                prise-ws --listen 8080 --deflate
      --http2                 serve HTTP/2 WebSockets (RFC 8441) too: with --tls-key/--tls-cert
                              beside HTTP/1.1 on one port; without TLS, h2c only
                                prise-ws --listen 8443 --http2 --tls-key key.pem --tls-cert cert.pem
  -q, --quiet                 no log line per connection open and close
                                prise-ws --listen 8080 --quiet
      --shutdown-timeout <s>  Ctrl-C closes every connection with 1001 and waits at most
                              <s> seconds (default 5); a second Ctrl-C exits at once
                                prise-ws --listen 8080 --shutdown-timeout 1

  Exit codes: 0 after a shutdown, 1 could not listen, 2 usage.

  -h, --help                  this text
                                prise-ws --help
  -V, --version               the version
                                prise-ws --version
`;
