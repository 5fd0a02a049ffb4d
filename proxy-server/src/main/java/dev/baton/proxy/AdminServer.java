package dev.baton.proxy;

import dev.baton.admin.api.AdminJson;
import dev.baton.admin.api.ApiError;
import dev.baton.admin.api.Durations;
import dev.baton.admin.api.Health;
import dev.baton.admin.api.MaintenanceRequest;
import dev.baton.admin.api.ReloadReport;
import dev.baton.admin.api.SwitchoverRequest;
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
import io.netty.handler.codec.http.HttpMessage;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.QueryStringDecoder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The admin HTTP listener: {@code GET /healthz} (200 with the writer when Baton can route, 503 with the reason when
 * it cannot, so a load balancer or an orchestrator can probe Baton itself), {@code GET /metrics} (Prometheus) and the
 * admin API under {@code /api/v1}. Every request is matched against one route table; every refusal is a 4xx with
 * {@code {"error": "..."}} and a log line. Operations that take seconds (switchover, maintenance, check, TLS reload)
 * run on a small pool of threads named {@code baton-admin-N}, never on the event loop.
 */
final class AdminServer implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(AdminServer.class);

    /** The largest request body read; a bigger one is refused with 413. */
    static final int MAX_BODY = 64 * 1024;
    /** Operations running at once; more wait in a short queue, and past that are refused with 503. */
    private static final int WORKERS = 2;
    private static final int QUEUED = 16;
    private static final Duration DEFAULT_DRAIN = Duration.ofSeconds(10);
    private static final Duration MAX_DRAIN = Duration.ofMinutes(10);

    private final BatonProxy proxy;
    private final List<Route> routes;
    private final ThreadPoolExecutor operations;

    AdminServer(BatonProxy proxy) {
        this.proxy = proxy;
        AtomicInteger threads = new AtomicInteger();
        this.operations = new ThreadPoolExecutor(WORKERS, WORKERS, 0, TimeUnit.SECONDS, new ArrayBlockingQueue<>(QUEUED), r -> {
            Thread t = new Thread(r, "baton-admin-" + threads.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
        this.routes = List.of(
                new Route(HttpMethod.GET, "/healthz", false, false, call -> health()),
                new Route(HttpMethod.GET, "/metrics", false, false, call -> metrics()),
                new Route(HttpMethod.GET, "/api/v1/status", true, false, call -> Answer.ok(AdminApi.status(proxy))),
                new Route(HttpMethod.GET, "/api/v1/events", true, false, call -> Answer.ok(AdminApi.events(proxy))),
                // it may ask every node whether the password hashes are readable
                new Route(HttpMethod.GET, "/api/v1/check", true, true, call -> Answer.ok(AdminApi.check(proxy))),
                new Route(HttpMethod.POST, "/api/v1/switchover", true, true, this::switchover),
                new Route(HttpMethod.POST, "/api/v1/nodes/{node}/maintenance", true, true, this::maintenance),
                // reads files
                new Route(HttpMethod.POST, "/api/v1/tls/reload", true, true, call -> Answer.ok(AdminApi.reloadTls(proxy))),
                // reads the config file
                new Route(HttpMethod.POST, "/api/v1/reload", true, true, call -> reload()));
    }

    ServerBootstrap bootstrap(EventLoopGroup group, Transport transport) {
        return new ServerBootstrap()
                .group(group)
                .channel(transport.serverChannel())
                .childHandler(new ChannelInitializer<>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        ch.pipeline().addLast(new HttpServerCodec(), new Aggregator(), new Handler());
                    }
                });
    }

    @Override
    public void close() {
        operations.shutdownNow();
    }

    /** POST /api/v1/switchover {"to": "db2", "drain-timeout": "10s"}. */
    private Answer switchover(Call call) {
        SwitchoverRequest request = call.body(SwitchoverRequest.class);
        if (request.to() == null || request.to().isBlank()) {
            throw new Refusal(HttpResponseStatus.BAD_REQUEST, "\"to\" is required: the node to make the writer, as in "
                    + "{\"to\": \"db2\", \"drain-timeout\": \"10s\"}");
        }
        Duration drain = DEFAULT_DRAIN;
        if (request.drainTimeout() != null) {
            try {
                drain = Durations.parse(request.drainTimeout(), MAX_DRAIN);
            } catch (IllegalArgumentException e) {
                throw new Refusal(HttpResponseStatus.BAD_REQUEST, "\"drain-timeout\": " + e.getMessage());
            }
        }
        return Answer.ok(Switchover.run(proxy, request.to(), drain, call.requestedBy()));
    }

    /** POST /api/v1/reload: 200 with what changed, or 409 with why nothing did. */
    private Answer reload() {
        ReloadReport report = proxy.reload();
        return new Answer(report.error() == null ? HttpResponseStatus.OK : HttpResponseStatus.CONFLICT, "application/json",
                AdminJson.write(report) + "\n");
    }

    /** POST /api/v1/nodes/NODE/maintenance {"on": true}. */
    private Answer maintenance(Call call) {
        MaintenanceRequest request = call.body(MaintenanceRequest.class);
        if (request.on() == null) {
            throw new Refusal(HttpResponseStatus.BAD_REQUEST, "\"on\" is required: {\"on\": true} or {\"on\": false}");
        }
        return Answer.ok(Switchover.maintenance(proxy, call.parameters().get("node"), request.on(), DEFAULT_DRAIN,
                call.requestedBy()));
    }

    private Answer health() {
        Object health = AdminApi.health(proxy);
        return new Answer(health instanceof Health ? HttpResponseStatus.OK : HttpResponseStatus.SERVICE_UNAVAILABLE,
                "application/json", AdminJson.write(health) + "\n");
    }

    private Answer metrics() {
        return new Answer(HttpResponseStatus.OK, "text/plain; version=0.0.4; charset=utf-8", proxy.scrapeMetrics());
    }

    /** With admin.token set, every /api call must carry it; without, only a loopback listener serves /api. */
    private String refusedAccess(ChannelHandlerContext ctx, FullHttpRequest request) {
        String token = proxy.config().adminToken();
        if (token == null) {
            // the config loader refuses this; this guards a config built in code
            return ((InetSocketAddress) ctx.channel().localAddress()).getAddress().isLoopbackAddress() ? null
                    : "no admin.token is configured and the admin listener is not on loopback";
        }
        String header = request.headers().get(HttpHeaderNames.AUTHORIZATION, "");
        String given = header.regionMatches(true, 0, "Bearer ", 0, 7) ? header.substring(7) : "";
        return sameToken(given, token) ? null : "missing or wrong bearer token (send Authorization: Bearer <admin.token>)";
    }

    /**
     * Whether two tokens are the same, surrounding whitespace aside (a token file or variable often ends in a
     * newline), in time that depends on neither: both are hashed first, so not even their lengths leak.
     */
    static boolean sameToken(String given, String configured) {
        try {
            MessageDigest sha = MessageDigest.getInstance("SHA-256");
            byte[] a = sha.digest(given.strip().getBytes(StandardCharsets.UTF_8));
            byte[] b = sha.digest(configured.strip().getBytes(StandardCharsets.UTF_8));
            return MessageDigest.isEqual(a, b);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("this JVM has no SHA-256", e);
        }
    }

    /** One line in Baton's log for every refused request: who asked what, and the answer. */
    private static void logRefusal(ChannelHandlerContext ctx, HttpMethod method, String uri, HttpResponseStatus status,
                                   String message) {
        log.warn("admin API: {} {} from {}: {} {}", method, uri, ctx.channel().remoteAddress(), status.code(), message);
    }

    private final class Handler extends SimpleChannelInboundHandler<FullHttpRequest> {
        @Override
        protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest request) {
            boolean keepAlive = HttpUtil.isKeepAlive(request);
            HttpMethod method = request.method();
            String uri = request.uri();
            if (request.decoderResult().isFailure()) {
                refuse(ctx, method, uri, false, HttpResponseStatus.BAD_REQUEST,
                        "not a valid HTTP request: " + request.decoderResult().cause().getMessage());
                return;
            }
            String path = new QueryStringDecoder(uri).path();
            List<HttpMethod> allowed = new ArrayList<>();
            Route route = null;
            Map<String, String> parameters = null;
            for (Route r : routes) {
                Map<String, String> p = r.match(path);
                if (p != null) {
                    allowed.add(r.method());
                    if (r.method().equals(method)) {
                        route = r;
                        parameters = p;
                    }
                }
            }
            if (allowed.isEmpty()) {
                refuse(ctx, method, uri, keepAlive, HttpResponseStatus.NOT_FOUND, "no such endpoint: " + path);
                return;
            }
            if (route == null) {
                FullHttpResponse response = error(HttpResponseStatus.METHOD_NOT_ALLOWED, "use " + allowed.get(0));
                response.headers().set(HttpHeaderNames.ALLOW, allowed.get(0).name());
                logRefusal(ctx, method, uri, HttpResponseStatus.METHOD_NOT_ALLOWED, "use " + allowed.get(0));
                send(ctx, keepAlive, response);
                return;
            }
            if (route.api()) {
                String refused = refusedAccess(ctx, request);
                if (refused != null) {
                    FullHttpResponse response = error(HttpResponseStatus.UNAUTHORIZED, refused);
                    response.headers().set(HttpHeaderNames.WWW_AUTHENTICATE, "Bearer realm=\"baton\"");
                    logRefusal(ctx, method, uri, HttpResponseStatus.UNAUTHORIZED, refused);
                    send(ctx, keepAlive, response);
                    return;
                }
            }
            if (method.equals(HttpMethod.POST)) {
                CharSequence mime = HttpUtil.getMimeType(request);
                // A browser may POST text/plain or a form anywhere without asking; only application/json is accepted.
                if (mime == null || !"application/json".equalsIgnoreCase(mime.toString().strip())) {
                    refuse(ctx, method, uri, keepAlive, HttpResponseStatus.UNSUPPORTED_MEDIA_TYPE,
                            "send the body as Content-Type: application/json" + (mime == null ? "" : ", not " + mime));
                    return;
                }
            }
            Call call = new Call(request.content().toString(StandardCharsets.UTF_8), parameters,
                    "admin API from " + ctx.channel().remoteAddress());
            Route chosen = route;
            if (!chosen.slow()) {
                answer(ctx, method, uri, keepAlive, chosen, call);
                return;
            }
            try {
                operations.execute(() -> answer(ctx, method, uri, keepAlive, chosen, call));
            } catch (RejectedExecutionException e) {
                refuse(ctx, method, uri, false, HttpResponseStatus.SERVICE_UNAVAILABLE,
                        "busy: " + (WORKERS + QUEUED) + " admin operations are running or waiting; try again later");
            }
        }

        private void answer(ChannelHandlerContext ctx, HttpMethod method, String uri, boolean keepAlive, Route route, Call call) {
            HttpResponseStatus status;
            String message;
            try {
                Answer a = route.handler().handle(call);
                FullHttpResponse response = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, a.status(),
                        Unpooled.copiedBuffer(a.body(), StandardCharsets.UTF_8));
                response.headers().set(HttpHeaderNames.CONTENT_TYPE, a.contentType());
                send(ctx, keepAlive, response);
                return;
            } catch (Refusal e) {
                status = e.status;
                message = e.getMessage();
            } catch (AdminJson.Invalid e) {
                status = HttpResponseStatus.BAD_REQUEST;
                message = "bad request body: " + e.getMessage();
            } catch (IllegalArgumentException e) {
                status = HttpResponseStatus.BAD_REQUEST; // an unknown node, a feature not configured
                message = e.getMessage();
            } catch (IllegalStateException e) {
                status = HttpResponseStatus.CONFLICT; // refused in the cluster's present state
                message = e.getMessage();
            } catch (RuntimeException e) {
                log.error("admin API: {} {} failed", method, uri, e);
                refuse(ctx, method, uri, false, HttpResponseStatus.INTERNAL_SERVER_ERROR, "internal error: " + e);
                return;
            }
            refuse(ctx, method, uri, keepAlive, status, message == null ? status.reasonPhrase() : message);
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            log.debug("admin API: connection from {} failed: {}", ctx.channel().remoteAddress(), cause.toString());
            ctx.close();
        }
    }

    /** HttpObjectAggregator's answer to a body over {@link #MAX_BODY}, as JSON like every other refusal. */
    private static final class Aggregator extends HttpObjectAggregator {
        Aggregator() {
            super(MAX_BODY);
        }

        @Override
        protected void handleOversizedMessage(ChannelHandlerContext ctx, HttpMessage oversized) {
            String uri = oversized instanceof io.netty.handler.codec.http.HttpRequest r ? r.uri() : "?";
            HttpMethod method = oversized instanceof io.netty.handler.codec.http.HttpRequest r ? r.method() : HttpMethod.POST;
            refuse(ctx, method, uri, false, HttpResponseStatus.REQUEST_ENTITY_TOO_LARGE,
                    "request body larger than " + MAX_BODY + " bytes");
        }
    }

    private static void refuse(ChannelHandlerContext ctx, HttpMethod method, String uri, boolean keepAlive,
                               HttpResponseStatus status, String message) {
        logRefusal(ctx, method, uri, status, message);
        send(ctx, keepAlive, error(status, message));
    }

    private static void send(ChannelHandlerContext ctx, boolean keepAlive, FullHttpResponse response) {
        response.headers().setInt(HttpHeaderNames.CONTENT_LENGTH, response.content().readableBytes());
        HttpUtil.setKeepAlive(response, keepAlive);
        var future = ctx.writeAndFlush(response);
        if (!keepAlive) {
            future.addListener(ChannelFutureListener.CLOSE);
        }
    }

    static FullHttpResponse error(HttpResponseStatus status, String message) {
        FullHttpResponse response = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, status,
                Unpooled.copiedBuffer(AdminJson.write(new ApiError(message)) + "\n", StandardCharsets.UTF_8));
        response.headers().set(HttpHeaderNames.CONTENT_TYPE, "application/json");
        return response;
    }

    /**
     * A method and a path template ({@code {name}} matches one non-empty segment) and what answers it.
     *
     * @param api  under the admin token
     * @param slow runs on the operations pool, not on the event loop
     */
    private record Route(HttpMethod method, String template, boolean api, boolean slow, Operation handler) {
        /** The path's parameters when it fits the template, or null. */
        Map<String, String> match(String path) {
            String[] want = template.split("/", -1);
            String[] got = path.split("/", -1);
            if (want.length != got.length) {
                return null;
            }
            Map<String, String> parameters = new LinkedHashMap<>();
            for (int i = 0; i < want.length; i++) {
                if (want[i].startsWith("{")) {
                    if (got[i].isEmpty()) {
                        return null;
                    }
                    parameters.put(want[i].substring(1, want[i].length() - 1), got[i]);
                } else if (!want[i].equals(got[i])) {
                    return null;
                }
            }
            return parameters;
        }
    }

    /** What a route does with a request. */
    private interface Operation {
        Answer handle(Call call);
    }

    /** A request as a route sees it: the body, the path's parameters, and who asked, for the logs and events. */
    private record Call(String body, Map<String, String> parameters, String requestedBy) {
        <T> T body(Class<T> type) {
            return AdminJson.read(type, body);
        }
    }

    /** An answer with its status and body. */
    private record Answer(HttpResponseStatus status, String contentType, String body) {
        static Answer ok(Object record) {
            return new Answer(HttpResponseStatus.OK, "application/json", AdminJson.write(record) + "\n");
        }
    }

    /** A request refused with a 4xx and a message naming what is wrong. */
    private static final class Refusal extends RuntimeException {
        final HttpResponseStatus status;

        Refusal(HttpResponseStatus status, String message) {
            super(message, null, false, false);
            this.status = status;
        }
    }
}
