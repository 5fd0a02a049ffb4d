package dev.baton.cli;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.baton.admin.api.AdminJson;
import dev.baton.admin.api.ApiError;
import dev.baton.admin.api.Health;
import dev.baton.admin.api.MaintenanceReport;
import dev.baton.admin.api.ReloadReport;
import dev.baton.admin.api.Status;
import dev.baton.admin.api.SwitchoverReport;
import dev.baton.admin.api.Tls;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The {@code baton} commands against an admin API on real HTTP that answers what the test tells it: what each
 * command sends, and what the operator reads.
 */
class BatonCliTest {
    private HttpServer server;
    private String url;
    /** Each request the server got: method, path, Content-Type, Authorization and body. */
    private final List<List<String>> requests = new CopyOnWriteArrayList<>();
    private volatile int status = 200;
    private volatile String answer = "{}";

    @BeforeEach
    void start() throws IOException {
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.createContext("/", this::answer);
        server.start();
        url = "http://127.0.0.1:" + server.getAddress().getPort();
    }

    @AfterEach
    void stop() {
        server.stop(0);
    }

    private void answer(HttpExchange exchange) throws IOException {
        requests.add(List.of(exchange.getRequestMethod(), exchange.getRequestURI().getPath(),
                String.valueOf(exchange.getRequestHeaders().getFirst("Content-Type")),
                String.valueOf(exchange.getRequestHeaders().getFirst("Authorization")),
                new String(exchange.getRequestBody().readAllBytes(), StandardCharsets.UTF_8)));
        byte[] body = (answer + "\n").getBytes(StandardCharsets.UTF_8);
        exchange.getResponseHeaders().set("Content-Type", "application/json");
        exchange.sendResponseHeaders(status, body.length);
        exchange.getResponseBody().write(body);
        exchange.close();
    }

    private record Run(int exit, String out, String err) {
    }

    private Run baton(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int exit = BatonCli.run(new PrintWriter(out, true), new PrintWriter(err, true), args);
        return new Run(exit, out.toString(), err.toString());
    }

    @Test
    void statusPrintsTheWriterNodesAndClients() {
        answer = AdminJson.write(new Status("0.1.0", "baton-a", 42, "galera", "db1", 3L, null, null, null,
                List.of(new Status.NodeStatus("db1", "127.0.0.1:3311", 1, true, true, null, null, "t", 0.0, 0L, 151L, true,
                                false, null),
                        new Status.NodeStatus("db2", "127.0.0.1:3312", 2, true, false, "connection refused", null, "t", 0.0,
                                0L, null, false, false, null)),
                List.of(new Status.ClientUsage("127.0.0.7", 1, 50, 2)), new Status.Totals(1, 250, 1, 9),
                new Tls("2027-01-01T00:00:00Z", "CN=baton", "1f")));
        Run r = baton("status", "--url", url, "--token", "t0ken");
        assertEquals(0, r.exit(), r.err());
        assertEquals("""
                writer:      db1 (epoch 3)
                instance:    baton-a, galera cluster, up 42 s, version 0.1.0
                connections: 1 of 250 (1 sessions)
                tls:         certificate CN=baton (serial 1f) expires 2027-01-01T00:00:00Z

                NODE         ADDRESS                PRIO STATE     FLOWCTL REASON
                db1          127.0.0.1:3311         1    up*       0.00  \s
                db2          127.0.0.1:3312         2    down      0.00   connection refused

                CLIENT                   CONNECTIONS  LIMIT  REJECTED
                127.0.0.7                          1     50         2
                """, r.out());
        assertEquals(List.of(List.of("GET", "/api/v1/status", "null", "Bearer t0ken", "")), requests);
    }

    @Test
    void jsonPrintsTheAnswerAsItCame() {
        answer = "{\"events\":[]}";
        Run r = baton("--url", url, "events", "--json");
        assertEquals(0, r.exit(), r.err());
        assertEquals("{\"events\":[]}\n", r.out());
        assertEquals("no events yet\n", baton("events", "--url", url).out());
    }

    @Test
    void healthNamesTheWriterOrWhyThereIsNone() {
        answer = AdminJson.write(new Health("ok", "db1", 1, 0, null));
        assertEquals(new Run(0, "ok: writer db1 (epoch 1), 0 client session(s)\n", ""), baton("health", "--url", url));
        status = 503;
        answer = AdminJson.write(new Health.NoWriter("no-writer", "no node is up"));
        assertEquals(new Run(1, "no writer: no node is up\n", ""), baton("health", "--url", url));
    }

    @Test
    void switchoverPostsJsonWithTheDrainTimeoutAndPrintsTheReport() {
        answer = AdminJson.write(new SwitchoverReport("db1", "db2", 4, 812, false, 3, 1, 4, 0, 0,
                List.of(new SwitchoverReport.InstanceDrain("baton-a", 3, 1, 4, 0, 0)), List.of(),
                new SwitchoverReport.SessionMoves("baton-a", 3, Map.of("in a transaction", 1L), 0)));
        Run r = baton("switchover", "db2", "--drain-timeout", "3s", "--url", url, "--token", "t0ken\n");
        assertEquals(0, r.exit(), r.err());
        assertEquals("""
                writer is now db2 (epoch 4, was db1); writes unavailable for 812 ms; sessions: 4 moving to the new writer, 0 closed as not movable, 0 closed in a transaction
                on baton-a: 3 session(s) moved, not moved: in a transaction 1
                drained on 1 instance(s): baton-a
                """, r.out());
        assertEquals(List.of(List.of("POST", "/api/v1/switchover", "application/json", "Bearer t0ken",
                "{\"to\":\"db2\",\"drain-timeout\":\"3s\"}")), requests);
    }

    @Test
    void aDrainTimeoutIsReadLikeTheConfigsDurationsBeforeAnythingIsSent() {
        Run huge = baton("switchover", "db2", "--drain-timeout", "99999999999999999999s", "--url", url);
        assertEquals(2, huge.exit());
        assertEquals("baton: Invalid value for option '--drain-timeout': '99999999999999999999s' is longer than the most "
                + "allowed, 10m (see baton --help)\n", huge.err());
        Run fraction = baton("switchover", "db2", "--drain-timeout", "1.5s", "--url", url);
        assertEquals(2, fraction.exit());
        assertTrue(fraction.err().contains("'1.5s' is not a duration (examples: 500ms, 3s, 1m)"), fraction.err());
        assertEquals(List.of(), requests);
    }

    @Test
    void aRefusalIsOneLineWithTheApisReason() {
        status = 409;
        answer = AdminJson.write(new ApiError("node db2 is in maintenance; take it out first"));
        Run r = baton("switchover", "db2", "--url", url);
        assertEquals(new Run(1, "", "baton: switchover refused: node db2 is in maintenance; take it out first\n"), r);
        assertEquals("{\"to\":\"db2\",\"drain-timeout\":\"10s\"}", requests.get(0).get(4));
    }

    @Test
    void withoutTheTokenTheCommandSaysHowToGiveIt() {
        status = 401;
        answer = AdminJson.write(new ApiError("missing or wrong bearer token"));
        assertEquals(new Run(1, "", "baton: unauthorized: give the admin token with --token or BATON_TOKEN\n"),
                baton("status", "--url", url));
    }

    @Test
    void maintenanceTakesOnOrOffAndSaysWhatHappened() {
        answer = AdminJson.write(new MaintenanceReport("db1", true, new SwitchoverReport("db1", "db2", 5, 700, false, 0, 0,
                0, 0, 0, List.of(), List.of(), null)));
        Run r = baton("maintenance", "db1", "on", "--url", url);
        assertEquals(new Run(0, "node db1 is in maintenance; the writer moved to db2 first (writes unavailable for 700 ms)\n", ""), r);
        assertEquals(List.of("POST", "/api/v1/nodes/db1/maintenance", "application/json", "null", "{\"on\":true}"), requests.get(0));

        Run bad = baton("maintenance", "db1", "maybe", "--url", url);
        assertEquals(2, bad.exit());
        assertTrue(bad.err().contains("must be on or off, not 'maybe'"), bad.err());
        assertEquals(1, requests.size());
    }

    @Test
    void completionIsGeneratedFromTheCommandModel() {
        Run r = baton("completion");
        assertEquals(0, r.exit(), r.err());
        assertTrue(r.out().startsWith("#!/usr/bin/env bash"), r.out());
        for (String word : new String[]{"switchover", "maintenance", "--drain-timeout", "--url", "--json", "completion"}) {
            assertTrue(r.out().contains(word), word);
        }
        assertTrue(r.out().contains("complete -F _complete_baton"), "registers the function for baton");
    }

    @Test
    void reloadPrintsWhatChanged() {
        answer = AdminJson.write(new ReloadReport("/etc/baton/baton.yaml", List.of("quotas.per-client 50 -> 60", "admin.token"),
                List.of(), null));
        Run r = baton("reload", "--url", url, "--token", "t0k");
        assertEquals(new Run(0, "config reloaded from /etc/baton/baton.yaml\n  changed quotas.per-client 50 -> 60\n"
                + "  changed admin.token\n", ""), r);
        assertEquals(List.of("POST", "/api/v1/reload", "application/json", "Bearer t0k", "{}"), requests.get(0));
    }

    @Test
    void reloadOfAnUnchangedFileSaysNothingChanged() {
        answer = AdminJson.write(new ReloadReport("/etc/baton/baton.yaml", List.of(), List.of(), null));
        assertEquals(new Run(0, "config reloaded from /etc/baton/baton.yaml: nothing changed\n", ""), baton("reload", "--url", url));
    }

    @Test
    void aRefusedReloadSaysWhatNeedsARestartAndExitsOne() {
        status = 409;
        answer = AdminJson.write(new ReloadReport("/etc/baton/baton.yaml", List.of(),
                List.of("listen 127.0.0.1:6033 -> 127.0.0.1:7033 needs a restart", "io-threads 2 -> 4 needs a restart"),
                "config reload refused, nothing changed: listen 127.0.0.1:6033 -> 127.0.0.1:7033 needs a restart; io-threads 2 -> 4 needs a restart"));
        Run r = baton("reload", "--url", url);
        assertEquals(new Run(1, "", "baton: config reload refused, Baton runs on unchanged (/etc/baton/baton.yaml):\n"
                + "  listen 127.0.0.1:6033 -> 127.0.0.1:7033 needs a restart\n  io-threads 2 -> 4 needs a restart\n"), r);

        Run json = baton("reload", "--url", url, "--json");
        assertEquals(1, json.exit());
        assertEquals(answer + "\n", json.out());
    }

    @Test
    void aReloadTheApiDoesNotKnowIsReportedAsAnError() {
        status = 404;
        answer = AdminJson.write(new ApiError("no such endpoint: /api/v1/reload"));
        assertEquals(new Run(1, "", "baton: reload refused: no such endpoint: /api/v1/reload\n"), baton("reload", "--url", url));
    }
}
