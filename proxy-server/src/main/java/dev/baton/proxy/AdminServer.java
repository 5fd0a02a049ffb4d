package dev.baton.proxy;

import dev.baton.routing.WriterChoice;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.QueryStringDecoder;

import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The admin HTTP listener: {@code GET /healthz} (200 with the writer when Baton can route, 503 with the reason when
 * it cannot, so a load balancer or an orchestrator can probe Baton itself) and {@code GET /metrics} (Prometheus).
 */
final class AdminServer {
    private AdminServer() {
    }

    static ServerBootstrap bootstrap(EventLoopGroup group, Transport transport, BatonProxy proxy) {
        return new ServerBootstrap()
                .group(group)
                .channel(transport.serverChannel())
                .childHandler(new ChannelInitializer<>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        ch.pipeline().addLast(new HttpServerCodec(), new HttpObjectAggregator(64 * 1024), new Handler(proxy));
                    }
                });
    }

    private static final class Handler extends SimpleChannelInboundHandler<FullHttpRequest> {
        private final BatonProxy proxy;

        Handler(BatonProxy proxy) {
            this.proxy = proxy;
        }

        @Override
        protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest request) {
            String path = new QueryStringDecoder(request.uri()).path();
            boolean get = request.method().equals(HttpMethod.GET);
            FullHttpResponse response;
            if (path.equals("/metrics") && get) {
                response = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK,
                        Unpooled.copiedBuffer(proxy.scrapeMetrics(), StandardCharsets.UTF_8));
                response.headers().set(HttpHeaderNames.CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8");
                response.headers().setInt(HttpHeaderNames.CONTENT_LENGTH, response.content().readableBytes());
            } else if (path.equals("/healthz") && get) {
                response = health();
            } else if (!path.startsWith("/api/")) {
                response = json(HttpResponseStatus.NOT_FOUND, "{\"error\":\"no such endpoint: " + escape(path) + "\"}");
            } else if (!authorized(request)) {
                response = json(HttpResponseStatus.UNAUTHORIZED, "{\"error\":\"missing or wrong bearer token "
                        + "(send Authorization: Bearer <admin.token>)\"}");
                response.headers().set(HttpHeaderNames.WWW_AUTHENTICATE, "Bearer realm=\"baton\"");
            } else if (path.startsWith("/api/v1/nodes/") && path.endsWith("/maintenance")) {
                if (!request.method().equals(HttpMethod.POST)) {
                    response = json(HttpResponseStatus.METHOD_NOT_ALLOWED, "{\"error\":\"use POST\"}");
                } else {
                    String node = path.substring("/api/v1/nodes/".length(), path.length() - "/maintenance".length());
                    String body = request.content().toString(StandardCharsets.UTF_8);
                    java.util.regex.Matcher on = ON.matcher(body);
                    if (!on.find()) {
                        response = json(HttpResponseStatus.BAD_REQUEST, "{\"error\":\"body must be {\\\"on\\\": true} or {\\\"on\\\": false}\"}");
                    } else {
                        String by = "admin API from " + ctx.channel().remoteAddress();
                        boolean flag = Boolean.parseBoolean(on.group(1));
                        offLoop(ctx, () -> Switchover.maintenance(proxy, node, flag, java.time.Duration.ofSeconds(10), by));
                        return;
                    }
                }
            } else if (path.equals("/api/v1/tls/reload")) {
                if (!request.method().equals(HttpMethod.POST)) {
                    response = json(HttpResponseStatus.METHOD_NOT_ALLOWED, "{\"error\":\"use POST\"}");
                } else {
                    offLoop(ctx, () -> AdminApi.reloadTls(proxy)); // reads files
                    return;
                }
            } else if (path.equals("/api/v1/switchover")) {
                if (!request.method().equals(HttpMethod.POST)) {
                    response = json(HttpResponseStatus.METHOD_NOT_ALLOWED, "{\"error\":\"use POST\"}");
                } else {
                    switchover(ctx, request);
                    return; // answered when the switchover is over
                }
            } else if (!get) {
                response = json(HttpResponseStatus.METHOD_NOT_ALLOWED, "{\"error\":\"use GET\"}");
            } else if (path.equals("/api/v1/status")) {
                response = json(HttpResponseStatus.OK, Json.write(AdminApi.status(proxy)));
            } else if (path.equals("/api/v1/check")) {
                offLoop(ctx, () -> AdminApi.check(proxy)); // it may ask every node whether hashes are readable
                return;
            } else if (path.equals("/api/v1/events")) {
                response = json(HttpResponseStatus.OK, Json.write(AdminApi.events(proxy)));
            } else {
                response = json(HttpResponseStatus.NOT_FOUND, "{\"error\":\"no such endpoint: " + escape(path) + "\"}");
            }
            boolean keepAlive = HttpUtil.isKeepAlive(request);
            HttpUtil.setKeepAlive(response, keepAlive);
            var future = ctx.writeAndFlush(response);
            if (!keepAlive) {
                future.addListener(ChannelFutureListener.CLOSE);
            }
        }

        private static final java.util.regex.Pattern TO = java.util.regex.Pattern.compile("\"to\"\\s*:\\s*\"([^\"]*)\"");
        private static final java.util.regex.Pattern DRAIN =
                java.util.regex.Pattern.compile("\"drain-timeout\"\\s*:\\s*\"(\\d+)(ms|s|m)\"");

        /** POST /api/v1/switchover {"to": "db2", "drain-timeout": "10s"}: runs off the event loop, answers when done. */
        private void switchover(ChannelHandlerContext ctx, FullHttpRequest request) {
            String body = request.content().toString(StandardCharsets.UTF_8);
            java.util.regex.Matcher to = TO.matcher(body);
            if (!to.find()) {
                reply(ctx, json(HttpResponseStatus.BAD_REQUEST, "{\"error\":\"body must be {\\\"to\\\": \\\"NODE\\\", "
                        + "\\\"drain-timeout\\\": \\\"10s\\\"}\"}"));
                return;
            }
            java.time.Duration drain = java.time.Duration.ofSeconds(10);
            java.util.regex.Matcher d = DRAIN.matcher(body);
            if (d.find()) {
                long n = Long.parseLong(d.group(1));
                drain = switch (d.group(2)) {
                    case "ms" -> java.time.Duration.ofMillis(n);
                    case "s" -> java.time.Duration.ofSeconds(n);
                    default -> java.time.Duration.ofMinutes(n);
                };
            } else if (body.contains("drain-timeout")) {
                reply(ctx, json(HttpResponseStatus.BAD_REQUEST, "{\"error\":\"drain-timeout must look like 500ms, 10s or 1m\"}"));
                return;
            }
            if (drain.compareTo(java.time.Duration.ofMinutes(10)) > 0) {
                reply(ctx, json(HttpResponseStatus.BAD_REQUEST, "{\"error\":\"drain-timeout may be at most 10m\"}"));
                return;
            }
            String target = to.group(1);
            java.time.Duration drainTimeout = drain;
            String by = "admin API from " + ctx.channel().remoteAddress();
            offLoop(ctx, () -> Switchover.run(proxy, target, drainTimeout, by));
        }

        private static final java.util.regex.Pattern ON = java.util.regex.Pattern.compile("\"on\"\\s*:\\s*(true|false)");

        /** Runs an operation that may take seconds on a thread of its own and answers when it is done. */
        private void offLoop(ChannelHandlerContext ctx, java.util.function.Supplier<Object> operation) {
            Thread worker = new Thread(() -> {
                FullHttpResponse answer;
                try {
                    answer = json(HttpResponseStatus.OK, Json.write(operation.get()));
                } catch (IllegalArgumentException e) {
                    answer = json(HttpResponseStatus.BAD_REQUEST, "{\"error\":\"" + escape(e.getMessage()) + "\"}");
                } catch (RuntimeException e) {
                    answer = json(HttpResponseStatus.CONFLICT, "{\"error\":\"" + escape(String.valueOf(e.getMessage())) + "\"}");
                }
                FullHttpResponse done = answer;
                ctx.executor().execute(() -> reply(ctx, done));
            }, "baton-admin-operation");
            worker.setDaemon(true);
            worker.start();
        }

        private static void reply(ChannelHandlerContext ctx, FullHttpResponse response) {
            HttpUtil.setKeepAlive(response, false);
            ctx.writeAndFlush(response).addListener(ChannelFutureListener.CLOSE);
        }

        /** With admin.token set, every /api call must carry it; compared in constant time. */
        private boolean authorized(FullHttpRequest request) {
            String token = proxy.config().adminToken();
            if (token == null) {
                return true; // allowed only with a loopback admin.listen (the config loader enforces it)
            }
            String header = request.headers().get(HttpHeaderNames.AUTHORIZATION, "");
            byte[] given = header.startsWith("Bearer ") ? header.substring(7).trim().getBytes(StandardCharsets.UTF_8) : new byte[0];
            return java.security.MessageDigest.isEqual(given, token.getBytes(StandardCharsets.UTF_8));
        }

        private FullHttpResponse health() {
            Map<String, Object> body = new LinkedHashMap<>();
            WriterChoice choice = proxy.topology().currentWriter();
            if (choice instanceof WriterChoice.Writer w) {
                body.put("status", "ok");
                body.put("writer", w.node().name());
                body.put("epoch", w.epoch());
                body.put("sessions", proxy.activeSessions());
                if (proxy.capacityWarning() != null) {
                    body.put("warning", proxy.capacityWarning());
                }
                return json(HttpResponseStatus.OK, Json.write(body));
            }
            body.put("status", "no-writer");
            body.put("reason", ((WriterChoice.NoWriter) choice).reason());
            return json(HttpResponseStatus.SERVICE_UNAVAILABLE, Json.write(body));
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            ctx.close();
        }
    }

    static FullHttpResponse json(HttpResponseStatus status, String body) {
        FullHttpResponse response = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, status,
                Unpooled.copiedBuffer(body + "\n", StandardCharsets.UTF_8));
        response.headers().set(HttpHeaderNames.CONTENT_TYPE, "application/json");
        response.headers().setInt(HttpHeaderNames.CONTENT_LENGTH, response.content().readableBytes());
        return response;
    }

    static String escape(String s) {
        StringBuilder out = new StringBuilder(s.length());
        for (char c : s.toCharArray()) {
            switch (c) {
                case '"' -> out.append("\\\"");
                case '\\' -> out.append("\\\\");
                case '\n' -> out.append("\\n");
                default -> {
                    if (c < 0x20) {
                        out.append(String.format("\\u%04x", (int) c));
                    } else {
                        out.append(c);
                    }
                }
            }
        }
        return out.toString();
    }
}
