package dev.baton.proxy;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import dev.baton.admin.api.AdminJson;
import dev.baton.admin.api.MaintenanceReport;
import dev.baton.admin.api.Status;
import dev.baton.proxy.config.BatonConfig;
import dev.baton.routing.ClusterTopology;
import dev.baton.routing.HostPort;
import dev.baton.routing.Node;
import dev.baton.routing.WriterChoice;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The admin API over real HTTP, on a Baton with a topology the test drives: every bad request gets a 4xx with a JSON
 * error and a log line, never a dropped connection, and nothing in the cluster changes.
 */
class AdminServerTest {
    /** Configured with the newline a token file or variable often ends in. */
    private static final String TOKEN = "s3cret-token\n";
    private static final Node DB1 = new Node("db1", new HostPort("127.0.0.1", 1), 1);
    private static final Node DB2 = new Node("db2", new HostPort("127.0.0.1", 2), 2);

    private static final RecordingTopology topology = new RecordingTopology();
    private static BatonProxy proxy;
    private static String url;
    private static final ListAppender<ILoggingEvent> logged = new ListAppender<>();

    @BeforeAll
    static void start() throws Exception {
        proxy = BatonProxy.start(WriterChangeTest.config(DB1.address()).withAdminToken(TOKEN), topology);
        url = "http://127.0.0.1:" + proxy.adminAddress().getPort();
        logged.start();
        ((Logger) LoggerFactory.getLogger(AdminServer.class)).addAppender(logged);
    }

    @AfterAll
    static void stop() {
        ((Logger) LoggerFactory.getLogger(AdminServer.class)).detachAppender(logged);
        proxy.close();
    }

    @BeforeEach
    void forget() {
        topology.maintenanceCalls.clear();
        topology.maintenanceFailure = null;
        logged.list.clear();
    }

    private static HttpResponse<String> get(String path) throws Exception {
        return send(HttpRequest.newBuilder(URI.create(url + path)).header("Authorization", "Bearer s3cret-token").GET());
    }

    private static HttpResponse<String> post(String path, String contentType, String body) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(url + path)).header("Authorization", "Bearer s3cret-token")
                .POST(HttpRequest.BodyPublishers.ofString(body));
        if (contentType != null) {
            b.header("Content-Type", contentType);
        }
        return send(b);
    }

    private static HttpResponse<String> send(HttpRequest.Builder request) throws Exception {
        return HttpClient.newHttpClient().send(request.build(), HttpResponse.BodyHandlers.ofString());
    }

    private static String error(HttpResponse<String> r) {
        assertEquals("application/json", r.headers().firstValue("Content-Type").orElse(""), r.body());
        return AdminJson.read(dev.baton.admin.api.ApiError.class, r.body()).error();
    }

    @Test
    void statusIsTheRecordTheCommandLineReads() throws Exception {
        HttpResponse<String> r = get("/api/v1/status");
        assertEquals(200, r.statusCode(), r.body());
        Status status = AdminJson.read(Status.class, r.body());
        assertEquals("db1", status.writer());
        assertEquals(List.of("db1", "db2"), status.nodes().stream().map(Status.NodeStatus::name).toList());
        assertTrue(r.body().contains("\"writer\":\"db1\",\"epoch\":1,\"no_writer_reason\":null"), r.body());
    }

    @Test
    void healthNeedsNoTokenAndNamesTheWriter() throws Exception {
        HttpResponse<String> r = send(HttpRequest.newBuilder(URI.create(url + "/healthz")));
        assertEquals(200, r.statusCode());
        assertEquals("{\"status\":\"ok\",\"writer\":\"db1\",\"epoch\":1,\"sessions\":0,\"warning\":null}\n", r.body());
    }

    @Test
    void aTokenIsComparedWithoutTheNewlineItWasConfiguredWith() throws Exception {
        assertEquals(200, get("/api/v1/events").statusCode());
        HttpResponse<String> none = send(HttpRequest.newBuilder(URI.create(url + "/api/v1/status")));
        assertEquals(401, none.statusCode());
        assertEquals("missing or wrong bearer token (send Authorization: Bearer <admin.token>)", error(none));
        HttpResponse<String> wrong = send(HttpRequest.newBuilder(URI.create(url + "/api/v1/status"))
                .header("Authorization", "Bearer s3cret-toke"));
        assertEquals(401, wrong.statusCode());
        assertTrue(logged.list.stream().anyMatch(e -> e.getFormattedMessage().contains("GET /api/v1/status from /127.0.0.1:")
                && e.getFormattedMessage().endsWith(": 401 missing or wrong bearer token (send Authorization: Bearer <admin.token>)")),
                logged.list.toString());
    }

    @Test
    void anUnknownPathIsNotFound() throws Exception {
        HttpResponse<String> r = get("/api/v1/nodes");
        assertEquals(404, r.statusCode());
        assertEquals("no such endpoint: /api/v1/nodes", error(r));
    }

    @Test
    void maintenanceWithoutANodeNameIsNotFoundRatherThanADroppedConnection() throws Exception {
        HttpResponse<String> r = post("/api/v1/nodes/maintenance", "application/json", "{\"on\":true}");
        assertEquals(404, r.statusCode());
        assertEquals("no such endpoint: /api/v1/nodes/maintenance", error(r));
        assertEquals(404, post("/api/v1/nodes//maintenance", "application/json", "{\"on\":true}").statusCode());
        assertEquals(List.of(), topology.maintenanceCalls);
    }

    @Test
    void theWrongMethodIsRefusedNamingTheRightOne() throws Exception {
        HttpResponse<String> r = get("/api/v1/switchover");
        assertEquals(405, r.statusCode());
        assertEquals("use POST", error(r));
        assertEquals("POST", r.headers().firstValue("Allow").orElse(""));
        assertEquals(405, post("/api/v1/status", "application/json", "{}").statusCode());
    }

    @Test
    void aPostThatIsNotJsonIsRefusedSoABrowserPageCannotSendOne() throws Exception {
        HttpResponse<String> plain = post("/api/v1/switchover", "text/plain", "{\"to\":\"db2\"}");
        assertEquals(415, plain.statusCode());
        assertEquals("send the body as Content-Type: application/json, not text/plain", error(plain));
        HttpResponse<String> form = post("/api/v1/nodes/db1/maintenance", "application/x-www-form-urlencoded", "on=true");
        assertEquals(415, form.statusCode());
        HttpResponse<String> none = post("/api/v1/tls/reload", null, "");
        assertEquals(415, none.statusCode());
        assertEquals("send the body as Content-Type: application/json", error(none));
        assertEquals(List.of(), topology.maintenanceCalls);
        assertEquals(WriterChoice.Writer.class, topology.currentWriter().getClass());
    }

    @Test
    void aCharsetParameterIsAccepted() throws Exception {
        HttpResponse<String> r = post("/api/v1/nodes/db2/maintenance", "application/json; charset=utf-8", "{\"on\":true}");
        assertEquals(200, r.statusCode(), r.body());
        assertEquals(new MaintenanceReport("db2", true, null), AdminJson.read(MaintenanceReport.class, r.body()));
    }

    @Test
    void aKeyInsideAnotherObjectIsNotTakenForTheTarget() throws Exception {
        HttpResponse<String> r = post("/api/v1/switchover", "application/json", "{\"x\":{\"to\":\"db2\"}}");
        assertEquals(400, r.statusCode());
        assertEquals("bad request body: unknown key \"x\" (known: to, drain-timeout)", error(r));
    }

    @Test
    void missingAndMistypedFieldsAreNamed() throws Exception {
        HttpResponse<String> noTarget = post("/api/v1/switchover", "application/json", "{}");
        assertEquals(400, noTarget.statusCode());
        assertEquals("\"to\" is required: the node to make the writer, as in {\"to\": \"db2\", \"drain-timeout\": \"10s\"}",
                error(noTarget));
        HttpResponse<String> noFlag = post("/api/v1/nodes/db2/maintenance", "application/json", "{}");
        assertEquals(400, noFlag.statusCode());
        assertEquals("\"on\" is required: {\"on\": true} or {\"on\": false}", error(noFlag));
        HttpResponse<String> word = post("/api/v1/nodes/db2/maintenance", "application/json", "{\"on\":\"yes\"}");
        assertEquals(400, word.statusCode());
        assertEquals("bad request body: \"on\" must be true or false, not a string", error(word));
        assertEquals(List.of(), topology.maintenanceCalls);
    }

    @Test
    void bodiesThatAreNotJsonAreBadRequests() throws Exception {
        HttpResponse<String> cut = post("/api/v1/switchover", "application/json", "{\"to\": \"db2\"");
        assertEquals(400, cut.statusCode());
        assertTrue(error(cut).startsWith("bad request body: not valid JSON: "), cut.body());
        HttpResponse<String> empty = post("/api/v1/switchover", "application/json", "");
        assertEquals(400, empty.statusCode());
        assertEquals("bad request body: expected a JSON object", error(empty));
    }

    @Test
    void aDrainTimeoutTooLongToCountIsABadRequest() throws Exception {
        HttpResponse<String> huge = post("/api/v1/switchover", "application/json",
                "{\"to\":\"db2\",\"drain-timeout\":\"99999999999999999999s\"}");
        assertEquals(400, huge.statusCode());
        assertEquals("\"drain-timeout\": '99999999999999999999s' is longer than the most allowed, 10m", error(huge));
        HttpResponse<String> fraction = post("/api/v1/switchover", "application/json", "{\"to\":\"db2\",\"drain-timeout\":\"1.5s\"}");
        assertEquals(400, fraction.statusCode());
        assertEquals("\"drain-timeout\": '1.5s' is not a duration (examples: 500ms, 3s, 1m)", error(fraction));
    }

    @Test
    void aBodyTooLargeIsRefusedWithJson() throws Exception {
        byte[] body = ("{\"to\":\"" + "x".repeat(AdminServer.MAX_BODY) + "\"}").getBytes(StandardCharsets.UTF_8);
        try (Socket socket = new Socket("127.0.0.1", proxy.adminAddress().getPort())) {
            OutputStream out = socket.getOutputStream();
            out.write(("POST /api/v1/switchover HTTP/1.1\r\nHost: baton\r\nAuthorization: Bearer s3cret-token\r\n"
                    + "Content-Type: application/json\r\nContent-Length: " + body.length + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            out.flush();
            InputStream in = socket.getInputStream();
            String answer = new String(in.readAllBytes(), StandardCharsets.UTF_8);
            assertTrue(answer.startsWith("HTTP/1.1 413 Request Entity Too Large\r\n"), answer);
            assertTrue(answer.endsWith("\r\n\r\n{\"error\":\"request body larger than 65536 bytes\"}\n"), answer);
        }
    }

    @Test
    void refusalsInTheClustersStateAreConflictsWithTheReason() throws Exception {
        HttpResponse<String> r = post("/api/v1/switchover", "application/json", "{\"to\":\"db2\",\"drain-timeout\":\"1s\"}");
        assertEquals(409, r.statusCode());
        assertEquals("the test topology has no planned switchover", error(r));
        HttpResponse<String> unknown = post("/api/v1/nodes/db9/maintenance", "application/json", "{\"on\":true}");
        assertEquals(400, unknown.statusCode());
        assertEquals("unknown node 'db9' (nodes: [db1, db2])", error(unknown));
    }

    @Test
    void anOperationThatFailsUnexpectedlyIsAnswered() throws Exception {
        topology.maintenanceFailure = new NullPointerException();
        HttpResponse<String> r = post("/api/v1/nodes/db2/maintenance", "application/json", "{\"on\":true}");
        assertEquals(500, r.statusCode());
        assertEquals("internal error: java.lang.NullPointerException", error(r));
    }

    @Test
    void longOperationsRunOnTheAdminPool() throws Exception {
        for (int i = 0; i < 3; i++) {
            assertEquals(200, post("/api/v1/nodes/db2/maintenance", "application/json", "{\"on\":false}").statusCode());
        }
        assertEquals(3, topology.maintenanceCalls.size());
        for (String thread : topology.maintenanceCalls) {
            assertTrue(Set.of("baton-admin-1", "baton-admin-2").contains(thread), thread);
        }
    }

    /** Two nodes, db1 the writer; maintenance recorded with the thread that asked, or failing as told. */
    private static final class RecordingTopology implements ClusterTopology {
        final List<String> maintenanceCalls = new CopyOnWriteArrayList<>();
        volatile RuntimeException maintenanceFailure;

        @Override
        public String type() {
            return "test";
        }

        @Override
        public List<Node> nodes() {
            return List.of(DB1, DB2);
        }

        @Override
        public void start() {
        }

        @Override
        public WriterChoice currentWriter() {
            return new WriterChoice.Writer(DB1, 1);
        }

        @Override
        public WriterChoice.Writer beginHandover(Node node, java.time.Duration drain, String requestedBy,
                                                 java.time.Duration timeout) {
            throw new IllegalStateException("the test topology has no planned switchover");
        }

        @Override
        public void setMaintenance(Node node, boolean on, String requestedBy, java.time.Duration timeout) {
            if (maintenanceFailure != null) {
                throw maintenanceFailure;
            }
            maintenanceCalls.add(Thread.currentThread().getName());
        }

        @Override
        public void close() {
        }
    }
}
